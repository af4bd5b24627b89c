import pg from 'pg';
import { admin, editor, token, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { CREATE, DELETE, ENTITIES, RESTORE, UPDATE, restInput } from '../helpers/fixtures.js';

let svc: TestService;
let ed: string;
let adm: string;

const EVENTS = `query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id eventType occurredAt actorType actorId actorEmail targetType targetId changes reason requestId clientIp userAgent appId connector { id name } }
  } }`;

beforeAll(async () => {
  svc = await startTestService('audit');
  ed = await editor('t1', { subject: 'ed', email: 'ed@t1.example' });
  adm = await admin('t1', { subject: 'boss', email: 'boss@t1.example' });
});
afterAll(() => svc?.close());

async function eventsFor(targetId: string) {
  return (await svc.ok(EVENTS, { filter: { targetId }, first: 100 }, adm)).auditEvents.nodes;
}

async function auditCount(): Promise<number> {
  const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM audit_events');
  return n;
}

describe('each mutation records exactly one event', () => {
  test('connector create, update, delete, restore', async () => {
    const headers = { 'x-request-id': 'req-create', 'user-agent': 'audit-test/1.0' };
    const res = await svc.gql(CREATE, { input: restInput('Audited', { tags: ['a'] }) }, ed, headers);
    const c = res.body.data.createConnector;
    let events = await eventsFor(c.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      eventType: 'CONNECTOR_CREATED',
      actorType: 'USER',
      actorId: 'ed',
      actorEmail: 'ed@t1.example',
      targetType: 'Connector',
      targetId: c.id,
      requestId: 'req-create',
      userAgent: 'audit-test/1.0',
      connector: { id: c.id, name: 'Audited' },
    });
    expect(events[0].clientIp).toBe('127.0.0.1');
    expect(events[0].changes.name).toEqual({ before: null, after: 'Audited' });
    expect(events[0].changes.tags).toEqual({ before: null, after: ['a'] });

    await svc.ok(UPDATE, { id: c.id, v: 1, input: { name: 'Audited 2' } }, ed);
    events = await eventsFor(c.id);
    expect(events.map((e: any) => e.eventType)).toEqual(['CONNECTOR_UPDATED', 'CONNECTOR_CREATED']);
    expect(events[0].changes).toEqual({ name: { before: 'Audited', after: 'Audited 2' } });

    await svc.ok(DELETE, { id: c.id }, ed);
    await svc.ok(RESTORE, { id: c.id }, ed);
    events = await eventsFor(c.id);
    expect(events.map((e: any) => e.eventType)).toEqual(['CONNECTOR_RESTORED', 'CONNECTOR_DELETED', 'CONNECTOR_UPDATED', 'CONNECTOR_CREATED']);
    expect(events[1].changes.isDeleted).toEqual({ before: false, after: true });
  });

  test('application create, update, delete', async () => {
    const app = (await svc.ok('mutation { createApplication(name: "SOAR", description: "playbooks") { id version } }', {}, adm)).createApplication;
    await svc.ok('mutation($id: ID!) { updateApplication(id: $id, expectedVersion: 1, name: "SOAR 2") { id } }', { id: app.id }, adm);
    await svc.ok('mutation($id: ID!) { deleteApplication(id: $id) { id } }', { id: app.id }, adm);
    const events = await eventsFor(app.id);
    expect(events.map((e: any) => e.eventType)).toEqual(['APPLICATION_DELETED', 'APPLICATION_UPDATED', 'APPLICATION_CREATED']);
    expect(events.every((e: any) => e.targetType === 'Application' && e.actorId === 'boss' && e.appId === app.id)).toBe(true);
    expect(events[1].changes).toEqual({ name: { before: 'SOAR', after: 'SOAR 2' } });
  });

  test('failed mutations (validation, version conflict, forbidden, not found) record nothing', async () => {
    const c = (await svc.ok(CREATE, { input: restInput('Guarded') }, ed)).createConnector;
    const before = await auditCount();
    expect(errorCode(await svc.gql(CREATE, { input: restInput('') }, ed))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(UPDATE, { id: c.id, v: 7, input: { name: 'x' } }, ed))).toBe('VERSION_CONFLICT');
    expect(errorCode(await svc.gql(UPDATE, { id: c.id, v: 1, input: { config: { baseUrl: 'nope' } } }, ed))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(DELETE, { id: c.id }, await viewer('t1')))).toBe('FORBIDDEN');
    expect(errorCode(await svc.gql('mutation { createApplication(name: "x") { id } }', {}, ed))).toBe('FORBIDDEN');
    expect(errorCode(await svc.gql(DELETE, { id: 'cnn_01ARZ3NDEKTSV4RRFFQ69G5FAV' }, ed))).toBe('NOT_FOUND');
    expect(await auditCount()).toBe(before);
  });
});

test('a failure after the change inside the transaction leaves neither the change nor the event', async () => {
  const c = (await svc.ok(CREATE, { input: restInput('Atomic') }, ed)).createConnector;
  const before = await auditCount();
  // The audit insert fails after the connector row was updated in the same transaction.
  await svc.dataSource.query(`ALTER TABLE audit_events ADD CONSTRAINT no_updates CHECK (event_type <> 'CONNECTOR_UPDATED') NOT VALID`);
  try {
    const res = await svc.gql(UPDATE, { id: c.id, v: 1, input: { name: 'Half-written' } }, ed);
    expect(errorCode(res)).toBe('INTERNAL_SERVER_ERROR');
  } finally {
    await svc.dataSource.query('ALTER TABLE audit_events DROP CONSTRAINT no_updates');
  }
  const [row] = await svc.dataSource.query('SELECT name, version FROM connectors WHERE id = $1', [c.id]);
  expect(row).toEqual({ name: 'Atomic', version: 1 });
  expect(await auditCount()).toBe(before);
});

test('the database rejects UPDATE, DELETE and TRUNCATE on audit rows', async () => {
  const client = new pg.Client({ connectionString: svc.databaseUrl });
  await client.connect();
  try {
    await expect(client.query(`UPDATE audit_events SET reason = 'tampered'`)).rejects.toThrow(/append-only/);
    await expect(client.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    await expect(client.query('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
  } finally {
    await client.end();
  }
  expect(await auditCount()).toBeGreaterThan(0);
});

describe('querying the trail', () => {
  const tenant = 'paging-audit';
  let t: string;
  const created: string[] = [];

  beforeAll(async () => {
    t = await admin(tenant, { subject: 'pager', email: 'Pager@Example.com' });
    const other = await editor(tenant, { subject: 'other', email: 'other@example.com' });
    for (let i = 0; i < 125; i++) {
      const c = (await svc.ok(CREATE, { input: restInput(`c${i}`) }, i % 5 === 0 ? other : t)).createConnector;
      created.push(c.id);
      await svc.ok(UPDATE, { id: c.id, v: 1, input: { name: `c${i}-renamed` } }, t);
    }
  });

  test('250 events paged by 100 are each seen once, newest first', async () => {
    const seen: any[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await svc.ok(EVENTS, { first: 100, after }, t)).auditEvents;
      seen.push(...page.nodes);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(250);
    expect(new Set(seen.map((e) => e.id)).size).toBe(250);
    const ids = seen.map((e) => e.id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(seen[0]).toMatchObject({ eventType: 'CONNECTOR_UPDATED', targetId: created[124] });
    expect(seen[249]).toMatchObject({ eventType: 'CONNECTOR_CREATED', targetId: created[0] });
  });

  test('filters, alone and combined', async () => {
    const count = async (filter: object) => {
      let total = 0;
      let after: string | null = null;
      for (;;) {
        const page: any = (await svc.ok(EVENTS, { filter, first: 100, after }, t)).auditEvents;
        total += page.nodes.length;
        if (!page.pageInfo.hasNextPage) return total;
        after = page.pageInfo.endCursor;
      }
    };
    expect(await count({ eventType: ['CONNECTOR_CREATED'] })).toBe(125);
    expect(await count({ eventType: ['CONNECTOR_CREATED', 'CONNECTOR_UPDATED'] })).toBe(250);
    expect(await count({ eventType: ['CONNECTOR_DELETED'] })).toBe(0);
    expect(await count({ userEmail: 'pager@example.com' })).toBe(225);
    expect(await count({ actorId: 'other' })).toBe(25);
    expect(await count({ targetId: created[3] })).toBe(2);
    expect(await count({ actorId: 'other', eventType: ['CONNECTOR_UPDATED'] })).toBe(0);
    expect(await count({ userEmail: 'other@example.com', eventType: ['CONNECTOR_CREATED'], targetId: created[5] })).toBe(1);
  });

  test('startDate is inclusive and endDate exclusive', async () => {
    const all: any[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await svc.ok(EVENTS, { first: 100, after }, t)).auditEvents;
      all.push(...page.nodes);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const pivot = all[100]; // some event in the middle
    const at = pivot.occurredAt;
    const sameInstant = all.filter((e) => e.occurredAt === at).length;
    const newer = all.filter((e) => e.occurredAt > at).length;
    const older = all.filter((e) => e.occurredAt < at).length;
    const countIn = async (filter: object) => {
      let total = 0;
      let cursor: string | null = null;
      for (;;) {
        const page: any = (await svc.ok(EVENTS, { filter, first: 100, after: cursor }, t)).auditEvents;
        total += page.nodes.length;
        if (!page.pageInfo.hasNextPage) return total;
        cursor = page.pageInfo.endCursor;
      }
    };
    expect(await countIn({ startDate: at })).toBe(newer + sameInstant);
    expect(await countIn({ endDate: at })).toBe(older);
    expect(await countIn({ startDate: at, endDate: new Date(new Date(at).getTime() + 1).toISOString() })).toBe(sameInstant);
    expect(errorCode(await svc.gql(EVENTS, { filter: { startDate: at, endDate: at } }, t))).toBe('BAD_USER_INPUT');
  });

  test('first above 100 → BAD_USER_INPUT; a bad date → BAD_USER_INPUT', async () => {
    expect(errorCode(await svc.gql(EVENTS, { first: 101 }, t))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(EVENTS, { filter: { startDate: 'yesterday' } }, t))).toBe('BAD_USER_INPUT');
  });

  test('Connector.auditEvents for many connectors is one statement', async () => {
    const res = await svc.gql(
      `{ connectors(first: 50) { nodes { id auditEvents(first: 1) { nodes { eventType targetId } pageInfo { hasNextPage } } } } }`,
      {},
      t,
    );
    expect(res.body.errors).toBeUndefined();
    const nodes = res.body.data.connectors.nodes;
    expect(nodes).toHaveLength(50);
    for (const n of nodes) {
      expect(n.auditEvents.nodes).toEqual([{ eventType: 'CONNECTOR_UPDATED', targetId: n.id }]);
      expect(n.auditEvents.pageInfo.hasNextPage).toBe(true);
    }
    // the page of connectors, then one statement for every connector's events
    expect(res.statements).toBe(2);
  });
});

describe('tenant isolation of the trail', () => {
  let eventId: string;
  let connectorId: string;

  beforeAll(async () => {
    connectorId = (await svc.ok(CREATE, { input: restInput('Iso') }, ed)).createConnector.id;
    eventId = (await eventsFor(connectorId))[0].id;
  });

  test('auditEvents, auditEvent and _entities do not cross tenants', async () => {
    const other = await admin('t2');
    const list = (await svc.ok(EVENTS, { first: 100 }, other)).auditEvents.nodes;
    expect(list).toEqual([]);
    expect((await svc.ok('query($id: ID!) { auditEvent(id: $id) { id } }', { id: eventId }, other)).auditEvent).toBeNull();
    expect((await svc.ok('query($id: ID!) { auditEvent(id: $id) { id } }', { id: eventId }, adm)).auditEvent).toEqual({ id: eventId });
    const reps = [{ __typename: 'AuditEvent', id: eventId }];
    const q = 'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on AuditEvent { id eventType } } }';
    expect((await svc.ok(q, { reps }, other))._entities).toEqual([null]);
    expect((await svc.ok(q, { reps }, adm))._entities).toEqual([{ id: eventId, eventType: 'CONNECTOR_CREATED' }]);
  });

  test("non-admins see only events of connectors they can see; app tokens only their application's", async () => {
    const alice = await editor('t1', { subject: 'alice' });
    const hidden = (await svc.ok(CREATE, { input: restInput('Alice private', { scope: 'USER' }) }, alice)).createConnector;
    const bob = await viewer('t1', { subject: 'bob' });
    const bobSees = (await svc.ok(EVENTS, { filter: { targetId: hidden.id } }, bob)).auditEvents.nodes;
    expect(bobSees).toEqual([]);
    const aliceSees = (await svc.ok(EVENTS, { filter: { targetId: hidden.id } }, alice)).auditEvents.nodes;
    expect(aliceSees).toHaveLength(1);

    const app = (await svc.ok('mutation { createApplication(name: "Iso app") { id } }', {}, adm)).createApplication;
    const inApp = (await svc.ok(CREATE, { input: restInput('In app', { applicationId: app.id }) }, adm)).createConnector;
    const appToken = await token({ tenantId: 't1', subject: 'key_1', roles: ['viewer'], appId: app.id });
    const appSees = (await svc.ok(EVENTS, { first: 100 }, appToken)).auditEvents.nodes;
    expect(appSees.map((e: any) => e.targetId)).toEqual([inApp.id]);
    const entities = (await svc.ok(ENTITIES, { reps: [{ __typename: 'Connector', id: connectorId }] }, appToken))._entities;
    expect(entities).toEqual([null]);
  });
});

test('clientIp honours X-Forwarded-For only from a configured trusted proxy', async () => {
  const behindProxy = await startTestService('audit_proxy', { TRUST_PROXY: '127.0.0.1' });
  try {
    const t = await editor('t9');
    const headers = { 'x-forwarded-for': '203.0.113.7' };
    const c = (await behindProxy.gql(CREATE, { input: restInput('Proxied') }, t, headers)).body.data.createConnector;
    const [row] = await behindProxy.dataSource.query('SELECT client_ip FROM audit_events WHERE target_id = $1', [c.id]);
    expect(row.client_ip).toBe('203.0.113.7');
  } finally {
    await behindProxy.close();
  }
  // without TRUST_PROXY the header is ignored
  const c2 = (await svc.gql(CREATE, { input: restInput('Direct') }, ed, { 'x-forwarded-for': '203.0.113.8' })).body.data.createConnector;
  const [direct] = await svc.dataSource.query('SELECT client_ip FROM audit_events WHERE target_id = $1', [c2.id]);
  expect(direct.client_ip).toBe('127.0.0.1');
});
