/**
 * OWASP API Security Top 10 (2023), API1: Broken Object Level Authorization.
 *
 * Two tenants, each with applications, connectors (enabled, disabled, soft-deleted, with
 * credentials), audit events and API keys. For every read path, another tenant's ids are invisible;
 * for every write mutation, another tenant's id answers NOT_FOUND and changes nothing (rows compared
 * before and after, and the upstream sees no request). An application API key sees only its own
 * application's objects.
 */
import { admin, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type GqlResponse, type TestService } from '../helpers/server.js';
import { startRestUpstream, makeRecords, type RestUpstream } from '../helpers/upstream.js';

const A = 'bola-tenant-a';
const B = 'bola-tenant-b';

const CREATE_APP = 'mutation($name: String!) { createApplication(name: $name) { id } }';
const CREATE_CONNECTOR = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id version } }`;
const DELETE_CONNECTOR = 'mutation($id: ID!) { deleteConnector(id: $id) { id isDeleted } }';
const CREATE_KEY = `mutation($app: ID!, $name: String!, $scope: ApiKeyScope) {
  createApiKey(applicationId: $app, name: $name, scope: $scope) { token apiKey { id } } }`;

let svc: TestService;
let up: RestUpstream;
let aAdmin: string;
let bAdmin: string;
let bViewer: string;

/** Tenant A's objects, the targets of every attempt. */
const a = {
  app: '',
  otherApp: '',
  enabled: '', // enabled, API_KEY credentials, in `app`
  disabled: '', // disabled, in `app`
  deleted: '', // soft-deleted
  inOtherApp: '', // in `otherApp`
  key: '',
  keyToken: '',
  events: [] as string[],
};
/** Tenant B's own objects (positive controls). */
const b = { app: '', connector: '', key: '', events: [] as string[] };

function restInput(name: string, extra: Record<string, unknown> = {}) {
  return { name, provider: 'generic_rest', config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600 }, ...extra };
}

async function createConnector(token: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await svc.ok(CREATE_CONNECTOR, { input: restInput(name, extra) }, token)).createConnector.id;
}

async function eventIds(tenant: string): Promise<string[]> {
  return (await svc.dataSource.query('SELECT id FROM audit_events WHERE tenant_id = $1 ORDER BY id', [tenant])).map((r: any) => r.id);
}

/** Every row tenant A owns in every table a mutation could touch, as JSON text. */
async function snapshotOfA(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of ['connectors', 'applications', 'api_keys', 'connector_secrets', 'audit_events', 'ingestion_runs', 'health_events', 'ingestion_cursors']) {
    const columns: Array<{ column_name: string }> = await svc.dataSource.query(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
      [table],
    );
    const names = columns.map((c) => c.column_name);
    let where = 'true';
    if (names.includes('tenant_id')) where = `t.tenant_id = '${A}'`;
    else if (names.includes('connector_id')) where = `t.connector_id IN (SELECT id FROM connectors WHERE tenant_id = '${A}')`;
    const rows: Array<{ j: string }> = await svc.dataSource.query(`SELECT row_to_json(t)::text AS j FROM "${table}" t WHERE ${where} ORDER BY 1`);
    out[table] = rows.map((r) => r.j);
  }
  // Jobs queued for ingestion or health checks (pg-boss).
  const jobs: Array<{ j: string }> = await svc.dataSource.query(`SELECT row_to_json(j)::text AS j FROM pgboss.job j ORDER BY 1`);
  out.jobs = jobs.map((r) => r.j);
  return out;
}

function ids(nodes: Array<{ id: string }>): string[] {
  return nodes.map((n) => n.id);
}

function aIds(): string[] {
  return [a.app, a.otherApp, a.enabled, a.disabled, a.deleted, a.inOtherApp, a.key, ...a.events];
}

function expectNoForeignIds(res: GqlResponse | unknown): void {
  const text = JSON.stringify(res);
  for (const id of aIds()) expect([id, text.includes(id)]).toEqual([id, false]);
}

beforeAll(async () => {
  up = await startRestUpstream({ records: makeRecords(3) });
  svc = await startTestService('security_api1');
  aAdmin = await admin(A);
  bAdmin = await admin(B);
  bViewer = await viewer(B);

  a.app = (await svc.ok(CREATE_APP, { name: 'A integration' }, aAdmin)).createApplication.id;
  a.otherApp = (await svc.ok(CREATE_APP, { name: 'A other integration' }, aAdmin)).createApplication.id;
  a.enabled = await createConnector(aAdmin, 'A enabled', { applicationId: a.app, enabled: true, authType: 'API_KEY', credentials: { apiKey: 'tenant-a-upstream-key' } });
  a.disabled = await createConnector(aAdmin, 'A disabled', { applicationId: a.app });
  a.deleted = await createConnector(aAdmin, 'A deleted');
  await svc.ok(DELETE_CONNECTOR, { id: a.deleted }, aAdmin);
  a.inOtherApp = await createConnector(aAdmin, 'A in other app', { applicationId: a.otherApp });
  const key = (await svc.ok(CREATE_KEY, { app: a.app, name: 'A read key', scope: 'READ' }, aAdmin)).createApiKey;
  a.key = key.apiKey.id;
  a.keyToken = key.token;

  b.app = (await svc.ok(CREATE_APP, { name: 'B integration' }, bAdmin)).createApplication.id;
  b.connector = await createConnector(bAdmin, 'B connector', { applicationId: b.app });
  b.key = (await svc.ok(CREATE_KEY, { app: b.app, name: 'B key', scope: 'WRITE' }, bAdmin)).createApiKey.apiKey.id;

  a.events = await eventIds(A);
  b.events = await eventIds(B);
  expect(a.events.length).toBeGreaterThanOrEqual(8);
  expect(b.events.length).toBeGreaterThanOrEqual(3);
});

afterAll(async () => {
  await svc?.close();
  await up?.close();
});

describe('API1:2023 Broken Object Level Authorization', () => {
  describe("reads: tenant B never sees tenant A's objects", () => {
    test.each([
      ['enabled', () => a.enabled],
      ['disabled', () => a.disabled],
      ['soft-deleted', () => a.deleted],
      ['in another application', () => a.inOtherApp],
    ])('connector(id) of an %s connector → null for B (admin and viewer), the connector for A', async (_label, id) => {
      const query = 'query($id: ID!) { connector(id: $id) { id name tenantId } }';
      for (const token of [bAdmin, bViewer]) {
        const res = await svc.gql(query, { id: id() }, token);
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data.connector).toBeNull();
      }
      expect((await svc.ok(query, { id: id() }, aAdmin)).connector).toMatchObject({ id: id(), tenantId: A });
    });

    test('connectors list: only B connectors, whatever the filter', async () => {
      const query = `query($filter: ConnectorFilter) { connectors(filter: $filter, first: 200) { totalCount nodes { id tenantId } } }`;
      const filters = [
        {},
        { includeDeleted: true },
        { applicationId: a.app },
        { applicationId: a.app, includeDeleted: true },
        { search: 'A ' },
        { enabled: true },
        { provider: 'generic_rest', includeDeleted: true },
      ];
      for (const filter of filters) {
        const list = (await svc.ok(query, { filter }, bAdmin)).connectors;
        for (const node of list.nodes) expect(node.tenantId).toBe(B);
        expectNoForeignIds(list);
        expect(list.totalCount).toBe(list.nodes.length);
      }
      expect(ids((await svc.ok(query, {}, bAdmin)).connectors.nodes)).toEqual([b.connector]);
      // Positive control: the same query as A lists them.
      expect(ids((await svc.ok(query, { filter: { includeDeleted: true } }, aAdmin)).connectors.nodes)).toEqual(
        expect.arrayContaining([a.enabled, a.disabled, a.deleted, a.inOtherApp]),
      );
    });

    test('application(id) and applications', async () => {
      const one = 'query($id: ID!) { application(id: $id) { id name } }';
      for (const id of [a.app, a.otherApp]) {
        expect((await svc.ok(one, { id }, bAdmin)).application).toBeNull();
        expect((await svc.ok(one, { id }, bViewer)).application).toBeNull();
        expect((await svc.ok(one, { id }, aAdmin)).application).toMatchObject({ id });
      }
      const list = (await svc.ok('{ applications(first: 200) { totalCount nodes { id tenantId } } }', {}, bAdmin)).applications;
      expect(list).toEqual({ totalCount: 1, nodes: [{ id: b.app, tenantId: B }] });
    });

    test('auditEvents (every filter) and auditEvent(id)', async () => {
      const query = `query($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 100) { nodes { id tenantId targetId } } }`;
      const filters = [
        {},
        { targetId: a.enabled },
        { targetId: a.app },
        { targetId: a.key },
        { actorId: `admin-${A}` },
        { userEmail: `admin-${A}@${A}.example` },
        { eventType: ['CONNECTOR_CREATED', 'APPLICATION_CREATED', 'API_KEY_CREATED', 'CONNECTOR_DELETED'] },
      ];
      for (const filter of filters) {
        const nodes = (await svc.ok(query, { filter }, bAdmin)).auditEvents.nodes;
        for (const node of nodes) expect(node.tenantId).toBe(B);
        expectNoForeignIds(nodes);
      }
      expect(ids((await svc.ok(query, {}, bAdmin)).auditEvents.nodes).sort()).toEqual([...b.events].sort());
      const single = 'query($id: ID!) { auditEvent(id: $id) { id } }';
      for (const id of a.events) expect((await svc.ok(single, { id }, bAdmin)).auditEvent).toBeNull();
      // Positive control.
      expect((await svc.ok(single, { id: a.events[0] }, aAdmin)).auditEvent).toEqual({ id: a.events[0] });
    });

    test("Connector.auditEvents holds only the reader's tenant's events, even for an event of tenant A naming B's connector", async () => {
      // A row of tenant A that names B's connector (an id collision, planted in the database): the
      // per-connector loader must filter by tenant, not by connector id alone.
      const [planted] = await svc.dataSource.query(
        `INSERT INTO audit_events (id, tenant_id, event_type, actor_type, actor_id, target_type, target_id, connector_id, reason)
         VALUES ('aud_01ARZ3NDEKTSV4RRFFQ69G5FAX', $1, 'CONNECTOR_UPDATED', 'USER', 'admin-a', 'Connector', $2, $3, 'tenant A secret reason')
         RETURNING id`,
        [A, b.connector, b.connector],
      );
      const query = `query($id: ID!) { connector(id: $id) { id auditEvents(first: 100) { nodes { id tenantId reason } } } }`;
      const events = (await svc.ok(query, { id: b.connector }, bAdmin)).connector.auditEvents.nodes;
      expect(events.length).toBeGreaterThan(0);
      for (const e of events) expect(e.tenantId).toBe(B);
      expect(ids(events)).not.toContain(planted.id);
      expect(JSON.stringify(events)).not.toContain('tenant A secret reason');
      // Nor through the list, nor by id.
      const listed = (await svc.ok(`{ auditEvents(first: 100) { nodes { id } } }`, {}, bAdmin)).auditEvents.nodes;
      expect(ids(listed)).not.toContain(planted.id);
      expect((await svc.ok('query($id: ID!) { auditEvent(id: $id) { id } }', { id: planted.id }, bAdmin)).auditEvent).toBeNull();
      // And B's own connectors listed with their events show none of A's.
      const all = (await svc.ok(`{ connectors(first: 50) { nodes { id auditEvents(first: 100) { nodes { id tenantId } } } } }`, {}, bAdmin)).connectors;
      expectNoForeignIds(all);
      expect(JSON.stringify(all)).not.toContain(planted.id);
    });

    test("Application.connectors holds only the reader's tenant's connectors, even for a connector of tenant A naming B's application", async () => {
      const planted = await createConnector(aAdmin, 'A planted in B app');
      await svc.dataSource.query('UPDATE connectors SET application_id = $2 WHERE id = $1 AND tenant_id = $3', [planted, b.app, A]);
      const query = `query($id: ID!) { application(id: $id) { id connectors(first: 100) { totalCount nodes { id tenantId } } } }`;
      const app = (await svc.ok(query, { id: b.app }, bAdmin)).application;
      expect(app.connectors).toEqual({ totalCount: 1, nodes: [{ id: b.connector, tenantId: B }] });
      const list = (await svc.ok(`{ applications { nodes { id connectors { totalCount nodes { id } } } } }`, {}, bAdmin)).applications;
      expect(JSON.stringify(list)).not.toContain(planted);
      expectNoForeignIds(list);
      // The connector filter by application does not reveal it either.
      const filtered = (await svc.ok(`query($app: ID!) { connectors(filter: { applicationId: $app }) { totalCount nodes { id } } }`, { app: b.app }, bAdmin)).connectors;
      expect(filtered).toEqual({ totalCount: 1, nodes: [{ id: b.connector }] });
    });

    test("applications and Application.connectors paged both ways, with B's own cursors or A's, reach nothing of A", async () => {
      // Tenant A's connector naming B's application (planted, as above) must stay out of every page.
      const planted = await createConnector(aAdmin, 'A planted for paging');
      await svc.dataSource.query('UPDATE connectors SET application_id = $2 WHERE id = $1 AND tenant_id = $3', [planted, b.app, A]);
      const APPS = `query($first: Int, $after: String, $last: Int, $before: String) { applications(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id tenantId connectors(last: 50) { totalCount nodes { id tenantId } } } } }`;
      const APP_CONNECTORS = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { application(id: $id) { id connectors(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id tenantId } } } }`;
      const aAppsCursor = (await svc.ok(APPS, { first: 1 }, aAdmin)).applications.pageInfo.endCursor;
      const aConnectorsCursor = (await svc.ok(APP_CONNECTORS, { id: a.app, first: 1 }, aAdmin)).application.connectors.pageInfo.endCursor;
      expect(aAppsCursor && aConnectorsCursor).toBeTruthy();

      for (const args of [{ last: 1 }, { last: 50 }, { first: 1 }, { first: 1, after: aAppsCursor }, { last: 1, before: aAppsCursor }]) {
        const res = await svc.gql(APPS, args, bAdmin);
        expect(res.body.errors).toBeUndefined();
        const list = res.body.data.applications;
        for (const node of list.nodes) {
          expect(node.tenantId).toBe(B);
          for (const c of node.connectors.nodes) expect(c.tenantId).toBe(B);
        }
        expect(list.totalCount).toBe(1);
        expect(JSON.stringify(list)).not.toContain(planted);
        expectNoForeignIds(list);
      }
      // B's own application, paged backwards and forwards: only B's connector.
      for (const args of [{ last: 1 }, { last: 50 }, { first: 50 }]) {
        const app = (await svc.ok(APP_CONNECTORS, { id: b.app, ...args }, bAdmin)).application;
        expect(app.connectors).toMatchObject({ totalCount: 1, nodes: [{ id: b.connector, tenantId: B }] });
      }
      // A's cursor of A's application is no cursor of B's: BAD_USER_INPUT, and nothing of A in the answer.
      for (const args of [{ first: 5, after: aConnectorsCursor }, { last: 5, before: aConnectorsCursor }]) {
        const res = await svc.gql(APP_CONNECTORS, { id: b.app, ...args }, bAdmin);
        expect(errorCode(res)).toBe('BAD_USER_INPUT');
        expectNoForeignIds(res.body);
      }
      // A's application paged backwards by B: null, as application(id) is.
      expect((await svc.ok(APP_CONNECTORS, { id: a.app, last: 50 }, bAdmin)).application).toBeNull();
    });

    test('_entities: foreign Connector, Application and AuditEvent ids resolve to null, one statement per type', async () => {
      const fields = `... on Connector { id name tenantId } ... on Application { id name tenantId } ... on AuditEvent { id tenantId reason }`;
      const query = `query($reps: [_Any!]!) { _entities(representations: $reps) { ${fields} } }`;
      const byType: Array<[string, string[]]> = [
        ['Connector', [a.enabled, a.disabled, a.deleted, a.inOtherApp]],
        ['Application', [a.app, a.otherApp]],
        ['AuditEvent', a.events],
      ];
      for (const [typename, list] of byType) {
        const reps = list.map((id) => ({ __typename: typename, id }));
        const res = await svc.gql(query, { reps }, bAdmin);
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data._entities).toEqual(list.map(() => null));
        expect([typename, res.statements]).toEqual([typename, 1]);
        // Positive control: the same representations resolve for tenant A.
        const own = await svc.gql(query, { reps }, aAdmin);
        expect(own.body.data._entities.map((e: any) => e?.id)).toEqual(list);
        expect([typename, own.statements]).toEqual([typename, 1]);
      }
      // Nested fields of a foreign entity are never reached.
      const nested = await svc.gql(
        `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Connector { id auditEvents(first: 100) { nodes { id } } application { id } } ... on Application { id connectors { nodes { id } } } } }`,
        { reps: [{ __typename: 'Connector', id: a.enabled }, { __typename: 'Application', id: a.app }] },
        bAdmin,
      );
      expect(nested.body.errors).toBeUndefined();
      expect(nested.body.data._entities).toEqual([null, null]);
      expect(nested.statements).toBe(2);
      // Mixed with B's own objects in one request: B's resolve, A's are null; one statement per type.
      const mixed = [
        { __typename: 'Connector', id: a.enabled },
        { __typename: 'Connector', id: b.connector },
        { __typename: 'Application', id: a.app },
        { __typename: 'Application', id: b.app },
        { __typename: 'AuditEvent', id: a.events[0] },
        { __typename: 'AuditEvent', id: b.events[0] },
      ];
      const res = await svc.gql(`query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Connector { id } ... on Application { id } ... on AuditEvent { id } } }`, { reps: mixed }, bAdmin);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data._entities).toEqual([null, { id: b.connector }, null, { id: b.app }, null, { id: b.events[0] }]);
      expect(res.statements).toBe(3);
    });

    test('connectorHealthSummary counts only B connectors', async () => {
      const summary = (await svc.ok('{ connectorHealthSummary { total enabled } }', {}, bAdmin)).connectorHealthSummary;
      expect(summary).toEqual({ total: 1, enabled: 0 });
    });

    test("connectorHealthSummary's schedule figures (checksOverdue, oldestCheckWaitSec) count only B connectors", async () => {
      // A's enabled connector has a check waiting for an hour (no workers run here).
      await svc.dataSource.query(`UPDATE pgboss.job SET start_after = now() - interval '1 hour' WHERE name = 'connector-health' AND singleton_key = $1 AND state < 'active'`, [a.enabled]);
      const query = '{ connectorHealthSummary { checksOverdue oldestCheckWaitSec } }';
      expect((await svc.ok(query, {}, aAdmin)).connectorHealthSummary.oldestCheckWaitSec).toBeGreaterThanOrEqual(3590);
      expect((await svc.ok(query, {}, bAdmin)).connectorHealthSummary).toEqual({ checksOverdue: 0, oldestCheckWaitSec: 0 });
    });
  });

  describe("writes: every mutation on tenant A's ids answers NOT_FOUND to tenant B and changes nothing", () => {
    const cases: Array<[string, string, () => Record<string, unknown>]> = [
      ['updateConnector', 'mutation($id: ID!) { updateConnector(id: $id, expectedVersion: 1, input: { name: "pwned by B" }) { id } }', () => ({ id: a.disabled })],
      ['updateConnector (enabled)', 'mutation($id: ID!) { updateConnector(id: $id, expectedVersion: 1, input: { config: { baseUrl: "http://127.0.0.1:1/evil" } }) { id } }', () => ({ id: a.enabled })],
      ['toggleConnector on', 'mutation($id: ID!) { toggleConnector(id: $id, enabled: true, reason: "B") { id } }', () => ({ id: a.disabled })],
      ['toggleConnector off', 'mutation($id: ID!) { toggleConnector(id: $id, enabled: false, reason: "B") { id } }', () => ({ id: a.enabled })],
      ['deleteConnector', 'mutation($id: ID!) { deleteConnector(id: $id) { id } }', () => ({ id: a.enabled })],
      ['restoreConnector', 'mutation($id: ID!) { restoreConnector(id: $id) { id } }', () => ({ id: a.deleted })],
      ['purgeConnector', 'mutation($id: ID!) { purgeConnector(id: $id) }', () => ({ id: a.deleted })],
      ['testConnector', 'mutation($id: ID!) { testConnector(id: $id) { success } }', () => ({ id: a.enabled })],
      ['rotateCredentials', 'mutation($id: ID!) { rotateCredentials(id: $id, credentials: { apiKey: "b-chosen-key" }) { rotated } }', () => ({ id: a.enabled })],
      ['rotateCredentials (skipTest)', 'mutation($id: ID!) { rotateCredentials(id: $id, credentials: { apiKey: "b-chosen-key" }, skipTest: true) { rotated } }', () => ({ id: a.enabled })],
      ['checkConnectorHealth', 'mutation($id: ID!) { checkConnectorHealth(id: $id) { id syncStatus } }', () => ({ id: a.enabled })],
      ['syncConnector', 'mutation($id: ID!) { syncConnector(id: $id) { id } }', () => ({ id: a.enabled })],
      ['updateApplication', 'mutation($id: ID!) { updateApplication(id: $id, expectedVersion: 1, name: "pwned by B") { id } }', () => ({ id: a.app })],
      ['deleteApplication', 'mutation($id: ID!) { deleteApplication(id: $id) { id } }', () => ({ id: a.otherApp })],
      ['createApiKey on a foreign application', 'mutation($id: ID!) { createApiKey(applicationId: $id, name: "B key into A", scope: WRITE) { token } }', () => ({ id: a.app })],
      ['revokeApiKey', 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }', () => ({ id: a.key })],
      ['createConnector into a foreign application', 'mutation($id: ID!) { createConnector(input: { name: "B into A", provider: "generic_rest", applicationId: $id, config: { baseUrl: "http://127.0.0.1:1" } }) { id } }', () => ({ id: a.app })],
      ["updateConnector moving B's connector into A's application", 'mutation($id: ID!, $app: ID!) { updateConnector(id: $id, expectedVersion: 1, input: { applicationId: $app }) { id } }', () => ({ id: b.connector, app: a.app })],
    ];

    test.each(cases)('%s → NOT_FOUND, rows unchanged, upstream untouched', async (_name, query, variables) => {
      const before = await snapshotOfA();
      const bConnectorBefore = await svc.dataSource.query('SELECT row_to_json(c)::text AS j FROM connectors c WHERE id = $1', [b.connector]);
      const seen = up.requests.length;
      const res = await svc.gql(query, variables(), bAdmin);
      expect(errorCode(res)).toBe('NOT_FOUND');
      expect(res.body.data ?? null).toBeNull();
      // The error names nothing of tenant A beyond the id B sent.
      expect(JSON.stringify(res.body)).not.toMatch(/tenant-a|A enabled|A integration|tenant-a-upstream-key/);
      expect(await snapshotOfA()).toEqual(before);
      expect(await svc.dataSource.query('SELECT row_to_json(c)::text AS j FROM connectors c WHERE id = $1', [b.connector])).toEqual(bConnectorBefore);
      expect(up.requests.length).toBe(seen);
    });

    test('the same mutations succeed for tenant A (the ids and documents are valid)', async () => {
      // One representative per kind of target, run last-but-safe: none of them deletes A's objects.
      const seen = up.requests.length;
      expect((await svc.ok('mutation($id: ID!) { testConnector(id: $id) { success } }', { id: a.enabled }, aAdmin)).testConnector.success).toBe(true);
      expect(up.requests.length).toBe(seen + 1);
      expect((await svc.ok('mutation($id: ID!) { updateApplication(id: $id, expectedVersion: 1, name: "A integration renamed") { id } }', { id: a.app }, aAdmin)).updateApplication.id).toBe(a.app);
      expect((await svc.ok('mutation($id: ID!) { restoreConnector(id: $id) { id isDeleted } }', { id: a.deleted }, aAdmin)).restoreConnector).toEqual({ id: a.deleted, isDeleted: false });
      await svc.ok(DELETE_CONNECTOR, { id: a.deleted }, aAdmin);
    });
  });

  describe('application API keys', () => {
    test("a READ key of tenant A's application sees only that application's connectors, applications and events", async () => {
      const key = a.keyToken;
      const list = (await svc.ok(`{ connectors(first: 200, filter: { includeDeleted: true }) { totalCount nodes { id applicationId } } }`, {}, key)).connectors;
      expect(ids(list.nodes).sort()).toEqual([a.enabled, a.disabled].sort());
      expect(list.totalCount).toBe(2);
      const get = 'query($id: ID!) { connector(id: $id) { id } }';
      for (const id of [a.inOtherApp, a.deleted, b.connector]) expect((await svc.ok(get, { id }, key)).connector).toBeNull();
      expect((await svc.ok(get, { id: a.enabled }, key)).connector).toEqual({ id: a.enabled });
      const other = (await svc.ok(`query($app: ID!) { connectors(filter: { applicationId: $app }) { totalCount nodes { id } } }`, { app: a.otherApp }, key)).connectors;
      expect(other).toEqual({ totalCount: 0, nodes: [] });
      const apps = 'query($id: ID!) { application(id: $id) { id connectors { nodes { id } } } }';
      expect((await svc.ok(apps, { id: a.otherApp }, key)).application).toBeNull();
      expect((await svc.ok(apps, { id: b.app }, key)).application).toBeNull();
      const own = (await svc.ok(apps, { id: a.app }, key)).application;
      expect(ids(own.connectors.nodes).sort()).toEqual([a.enabled, a.disabled].sort());
      expect(ids((await svc.ok('{ applications { nodes { id } } }', {}, key)).applications.nodes)).toEqual([a.app]);
      const entities = (await svc.ok(`query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Connector { id } ... on Application { id } } }`, {
        reps: [
          { __typename: 'Connector', id: a.inOtherApp },
          { __typename: 'Connector', id: b.connector },
          { __typename: 'Application', id: a.otherApp },
          { __typename: 'Connector', id: a.enabled },
        ],
      }, key))._entities;
      expect(entities).toEqual([null, null, null, { id: a.enabled }]);
      const events = (await svc.ok(`{ auditEvents(first: 100) { nodes { id appId connector { id } } } }`, {}, key)).auditEvents.nodes;
      expect(events.length).toBeGreaterThan(0);
      for (const e of events) expect(e.appId).toBe(a.app);
      const visible = new Set([a.enabled, a.disabled]);
      for (const e of events) expect(visible.has(e.connector?.id)).toBe(true);
      const [otherAppEvent] = await svc.dataSource.query(`SELECT id FROM audit_events WHERE target_id = $1`, [a.inOtherApp]);
      expect(ids(events)).not.toContain(otherAppEvent.id);
      expect((await svc.ok('query($id: ID!) { auditEvent(id: $id) { id } }', { id: otherAppEvent.id }, key)).auditEvent).toBeNull();
    });
  });
});
