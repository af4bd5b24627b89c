/**
 * Fleet operations, part A (issue 20): `toggleConnectors` (bulk toggle by ids or by the
 * `connectors` filter, dry run, per-connector transactions and audit events with one bulkId),
 * `snoozeConnectorAlerts` / `unsnoozeConnectorAlerts` (notifications and auto-disable suppressed
 * until a time, received on a loopback webhook endpoint and verified with `standardwebhooks`), and
 * provenance (`source`, `sourceType` from X-Source-Type, API keys and SYSTEM) on connectors and
 * audit events. Real service, real PostgreSQL, real pg-boss queue.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { admin, editor, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { sleep, waitFor } from '../helpers/wait.js';

const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id version enabled source sourceType } }`;
const BULK = `mutation($input: BulkToggleInput!) { toggleConnectors(input: $input) {
  bulkId dryRun results { id connectorId outcome error } counts { total changed unchanged notFound versionConflict failed } } }`;
const GET = `query($id: ID!) { connector(id: $id) { id enabled version runState syncStatus source sourceType alertsSnoozedUntil alertsSnoozeReason enabledChangedBy consecutiveErrors } }`;
const SNOOZE = `mutation($id: ID!, $until: DateTime!, $reason: String!) { snoozeConnectorAlerts(id: $id, until: $until, reason: $reason) { id version alertsSnoozedUntil alertsSnoozeReason } }`;
const UNSNOOZE = `mutation($id: ID!, $reason: String) { unsnoozeConnectorAlerts(id: $id, reason: $reason) { id version alertsSnoozedUntil alertsSnoozeReason } }`;
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled) { enabled } }`;
const CHECK = `mutation($id: ID!) { checkConnectorHealth(id: $id) { syncStatus enabled } }`;

const rest = (name: string, extra: Record<string, unknown> = {}) => ({ name, provider: 'generic_rest', config: { baseUrl: 'https://api.example.com/v1' }, ...extra });

async function inBatches<T>(n: number, width: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => make(i + j)))));
  return out;
}

describe('toggleConnectors and provenance', () => {
  let svc: TestService;
  let ed: string;
  let adm: string;
  let other: string;
  /** t1's 500 generic_rest connectors: the first 380 enabled. */
  let fleet: Array<{ id: string; version: number; enabled: boolean }>;
  let bystanders: string[];
  let foreign: string[];

  beforeAll(async () => {
    svc = await startTestService('fleet_bulk');
    ed = await editor('t1');
    adm = await admin('t1');
    other = await editor('t2');
    fleet = await inBatches(500, 25, async (i) => (await svc.ok(CREATE, { input: rest(`Fleet ${i}`, { enabled: i < 380 }) }, ed)).createConnector);
    bystanders = await inBatches(3, 3, async (i) => (await svc.ok(CREATE, { input: { name: `NVD ${i}`, provider: 'nvd', enabled: true } }, ed)).createConnector.id);
    foreign = await inBatches(3, 3, async (i) => (await svc.ok(CREATE, { input: rest(`Foreign ${i}`, { enabled: true }) }, other)).createConnector.id);
  }, 180_000);
  afterAll(() => svc?.close());

  const state = async (ids: string[]) =>
    (await svc.dataSource.query(`SELECT id, enabled, version, run_state FROM connectors WHERE id = ANY($1) ORDER BY id`, [ids])) as Array<{ id: string; enabled: boolean; version: number; run_state: string }>;
  const auditCount = async () => (await svc.dataSource.query(`SELECT count(*)::int AS n FROM audit_events`))[0].n as number;

  test('a bulk disable by provider over 500 connectors: the dry run predicts it, then exactly the enabled ones change, each with its own audit event, and every run stops', async () => {
    const ids = fleet.map((c) => c.id);
    const enabledIds = fleet.filter((c) => c.enabled).map((c) => c.id).sort();
    const queued = async () =>
      (await svc.dataSource.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'connector-sync' AND singleton_key = ANY($1) AND state IN ('created', 'retry', 'active')`, [ids]))[0].n as number;
    expect(await queued()).toBe(380);
    const input = { filter: { provider: 'generic_rest' }, enabled: false, reason: 'upstream flooding duplicates' };

    const auditsBefore = await auditCount();
    const stateBefore = await state(ids);
    const dry = await svc.gql(BULK, { input: { ...input, dryRun: true } }, ed);
    expect(dry.body.errors).toBeUndefined();
    const predicted = dry.body.data.toggleConnectors;
    expect(predicted).toMatchObject({ dryRun: true, counts: { total: 500, changed: 380, unchanged: 120, notFound: 0, versionConflict: 0, failed: 0 } });
    expect(dry.statements).toBe(1);
    expect(await auditCount()).toBe(auditsBefore);
    expect(await state(ids)).toEqual(stateBefore);
    expect(await queued()).toBe(380);

    const started = performance.now();
    const res = await svc.gql(BULK, { input }, ed);
    const seconds = (performance.now() - started) / 1000;
    expect(res.body.errors).toBeUndefined();
    const done = res.body.data.toggleConnectors;
    expect(done).toMatchObject({ dryRun: false, counts: { total: 500, changed: 380, unchanged: 120, notFound: 0, versionConflict: 0, failed: 0 } });
    expect(done.bulkId).toMatch(/^blk_/);
    const changed = (r: typeof done) => r.results.filter((x: any) => x.outcome === 'CHANGED').map((x: any) => x.id).sort();
    expect(changed(done)).toEqual(enabledIds);
    expect(changed(predicted)).toEqual(enabledIds);

    // Statements: one read, then per changed connector its own transaction: START, SELECT … FOR UPDATE,
    // the health and sync job DELETEs, the orphaned-run UPDATE, pg_notify with the in-flight count,
    // INGESTION_STOPPED (STARTING → STOPPED), the connector UPDATE with its audit INSERT (one
    // statement), the notification statement, COMMIT.
    const perConnector = (res.statements - 1) / 380;
    expect(perConnector).toBe(10);
    console.log(`bulk disable of 380 of 500: ${seconds.toFixed(2)} s, ${res.statements} statements`);
    expect(seconds).toBeLessThan(20);

    const after = await state(ids);
    expect(after.every((c) => !c.enabled && c.run_state === 'STOPPED')).toBe(true);
    const byId = new Map(stateBefore.map((c) => [c.id, c.version]));
    for (const c of after) expect(c.version).toBe(enabledIds.includes(c.id) ? byId.get(c.id)! + 1 : byId.get(c.id));
    expect(await queued()).toBe(0);
    const events = await svc.dataSource.query(`SELECT connector_id, event_type, reason, actor_id, source_type FROM audit_events WHERE bulk_id = $1`, [done.bulkId]);
    expect(events).toHaveLength(380);
    expect(events.map((e: any) => e.connector_id).sort()).toEqual(enabledIds);
    expect(events.every((e: any) => e.event_type === 'CONNECTOR_DISABLED' && e.reason === input.reason && e.actor_id === 'editor-t1' && e.source_type === 'FRONTEND')).toBe(true);
    // The auditEvents filter: 380 in pages of 100.
    const pageOf = (after: string | null) => svc.ok(`query($b: ID!, $after: String) { auditEvents(filter: { bulkId: $b }, first: 100, after: $after) { nodes { bulkId connectorId: targetId } pageInfo { hasNextPage endCursor } } }`, { b: done.bulkId, after }, ed);
    let seen = 0;
    let cursor: string | null = null;
    for (;;) {
      const page: any = (await pageOf(cursor)).auditEvents;
      seen += page.nodes.length;
      expect(page.nodes.every((n: any) => n.bulkId === done.bulkId)).toBe(true);
      if (!page.pageInfo.hasNextPage) break;
      cursor = page.pageInfo.endCursor;
    }
    expect(seen).toBe(380);
    // Nothing outside the filter moved.
    expect((await state([...bystanders, ...foreign])).every((c) => c.enabled && c.version === 1)).toBe(true);
    for (const c of fleet) c.enabled = false;
  }, 60_000);

  test('ids naming another tenant\'s connector, a connector outside the caller\'s scope, a deleted and an unknown one: those are never touched, the rest proceed', async () => {
    const secret = (await svc.ok(CREATE, { input: rest('Group only', { scope: 'GROUP', groupId: 'red-team', enabled: false }) }, adm)).createConnector;
    const gone = (await svc.ok(CREATE, { input: rest('Gone') }, ed)).createConnector;
    await svc.ok(`mutation($id: ID!) { deleteConnector(id: $id) { id } }`, { id: gone.id }, ed);
    const mine = fleet.slice(0, 3).map((c) => c.id);
    const ids = [mine[0], foreign[0], secret.id, 'cnn_01J00000000000000000000000', gone.id, mine[1], mine[2]];
    const before = await state([foreign[0]!, secret.id, gone.id]);
    const res = (await svc.ok(BULK, { input: { ids, enabled: true, reason: 'upstream fixed' } }, ed)).toggleConnectors;
    expect(res.results.every((r: any) => r.connectorId === r.id)).toBe(true);
    expect(res.results.map((r: any) => [r.id, r.outcome])).toEqual([
      [mine[0], 'CHANGED'],
      [foreign[0], 'NOT_FOUND'],
      [secret.id, 'NOT_FOUND'],
      ['cnn_01J00000000000000000000000', 'NOT_FOUND'],
      [gone.id, 'FAILED'],
      [mine[1], 'CHANGED'],
      [mine[2], 'CHANGED'],
    ]);
    expect(res.results[4].error).toMatch(/deleted/);
    expect(res.counts).toEqual({ total: 7, changed: 3, unchanged: 0, notFound: 3, versionConflict: 0, failed: 1 });
    expect(await state([foreign[0]!, secret.id, gone.id])).toEqual(before);
    expect((await state(mine)).every((c) => c.enabled && c.run_state === 'STARTING')).toBe(true);
    const synced = await svc.dataSource.query(`SELECT singleton_key FROM pgboss.job WHERE name = 'connector-sync' AND singleton_key = ANY($1) AND state = 'created'`, [mine]);
    expect(synced).toHaveLength(3);
    expect((await svc.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE bulk_id = $1`, [res.bulkId]))[0].n).toBe(3);
    // The admin sees the group connector: the same call reaches it.
    expect((await svc.ok(BULK, { input: { ids: [secret.id], enabled: true, reason: 'admin' } }, adm)).toggleConnectors.counts.changed).toBe(1);
    await svc.ok(BULK, { input: { ids: [secret.id, ...mine], enabled: false, reason: 'back off' } }, adm);
  });

  test('expectedVersions: a connector not at its version is a VERSION_CONFLICT, the others change', async () => {
    const [a, b] = await state(fleet.slice(10, 12).map((c) => c.id));
    const res = (await svc.ok(BULK, { input: { ids: [a!.id, b!.id], expectedVersions: [a!.version, b!.version - 1], enabled: true, reason: 'versions' } }, ed)).toggleConnectors;
    expect(res.results.map((r: any) => r.outcome)).toEqual(['CHANGED', 'VERSION_CONFLICT']);
    expect(res.results[1].error).toMatch(new RegExp(`version ${b!.version}, not ${b!.version - 1}`));
    const [a2, b2] = await state([a!.id, b!.id]);
    expect([a2!.enabled, a2!.version, b2!.enabled, b2!.version]).toEqual([true, a!.version + 1, false, b!.version]);
    const dry = (await svc.ok(BULK, { input: { ids: [a!.id, b!.id], expectedVersions: [a!.version, b!.version], enabled: false, reason: 'x', dryRun: true } }, ed)).toggleConnectors;
    expect(dry.results.map((r: any) => r.outcome)).toEqual(['VERSION_CONFLICT', 'UNCHANGED']);
    await svc.ok(BULK, { input: { ids: [a!.id], enabled: false, reason: 'restore' } }, ed);
  });

  test('results carry each connector as it is after the call (null when the caller cannot see it), all of them in one statement', async () => {
    const ids = fleet.slice(40, 44).map((c) => c.id);
    const named = [...ids, foreign[1]!, 'cnn_01J00000000000000000000001'];
    const WITH_CONNECTOR = `mutation($input: BulkToggleInput!) { toggleConnectors(input: $input) { dryRun results { id outcome connector { id enabled version name } } } }`;
    const [before] = await state([ids[0]!]);
    const dry = await svc.gql(WITH_CONNECTOR, { input: { ids: named, enabled: true, reason: 'look', dryRun: true } }, ed);
    expect(dry.body.errors).toBeUndefined();
    // The dry run's one read, plus one for every selected connector.
    expect(dry.statements).toBe(2);
    expect(dry.body.data.toggleConnectors.results[0]).toEqual({ id: ids[0], outcome: 'CHANGED', connector: { id: ids[0], enabled: false, version: before!.version, name: 'Fleet 40' } });
    const res = (await svc.ok(WITH_CONNECTOR, { input: { ids: named, enabled: true, reason: 'on, and show me' } }, ed)).toggleConnectors;
    expect(res.results.map((r: any) => [r.id, r.outcome, r.connector && [r.connector.id, r.connector.enabled]])).toEqual([
      ...ids.map((id) => [id, 'CHANGED', [id, true]]),
      [foreign[1], 'NOT_FOUND', null],
      ['cnn_01J00000000000000000000001', 'NOT_FOUND', null],
    ]);
    expect(res.results[0].connector.version).toBe(before!.version + 1);
    expect(JSON.stringify(res)).not.toContain('Foreign');
    await svc.ok(BULK, { input: { ids, enabled: false, reason: 'off again' } }, ed);
  });

  test('FORBIDDEN is in BulkOutcome, reserved: every connector the caller sees it may switch, as toggleConnector does; what it cannot see is NOT_FOUND in both', async () => {
    const enumType = (await svc.ok(`{ __type(name: "BulkOutcome") { enumValues { name description } } }`, {}, ed)).__type;
    expect(enumType.enumValues.map((v: any) => v.name)).toEqual(['CHANGED', 'UNCHANGED', 'NOT_FOUND', 'FORBIDDEN', 'VERSION_CONFLICT', 'FAILED']);
    expect(enumType.enumValues.find((v: any) => v.name === 'FORBIDDEN').description).toMatch(/^Reserved/);

    // Everything toggleConnector refuses per connector, with the same caller through both mutations.
    const SINGLE = `mutation($id: ID!) { toggleConnector(id: $id, enabled: true, reason: "single") { id } }`;
    const app = (await svc.ok('mutation { createApplication(name: "Bulk scopes") { id } }', {}, adm)).createApplication.id;
    const appToken = await editor('t1', { appId: app, subject: 'bulk-app' });
    const someone = await editor('t1', { subject: 'someone', groups: ['blue'] });
    const theirs = (await svc.ok(CREATE, { input: rest('Their own', { scope: 'USER' }) }, someone)).createConnector.id;
    const blue = (await svc.ok(CREATE, { input: rest('Blue team', { scope: 'GROUP', groupId: 'blue' }) }, someone)).createConnector.id;
    const orgWide = (await svc.ok(CREATE, { input: rest('Org wide') }, adm)).createConnector.id;
    const cases: Array<[string, string, string]> = [
      ["another user's USER connector, for an editor", theirs, ed],
      ['a GROUP connector of a group the editor is not in', blue, ed],
      ["a connector outside an application token's application", orgWide, appToken],
      ["another tenant's connector", foreign[2]!, ed],
    ];
    const watched = [theirs, blue, orgWide, foreign[2]!];
    const before = await state(watched);
    for (const [label, id, token] of cases) {
      expect([label, errorCode(await svc.gql(SINGLE, { id }, token))]).toEqual([label, 'NOT_FOUND']);
      const bulk = (await svc.ok(BULK, { input: { ids: [id], enabled: true, reason: 'bulk' } }, token)).toggleConnectors;
      expect([label, bulk.results[0].outcome]).toEqual([label, 'NOT_FOUND']);
    }
    // Admins see USER and GROUP connectors of everyone: both mutations switch them.
    expect((await svc.ok(BULK, { input: { ids: [theirs, blue], enabled: true, reason: 'admin', dryRun: true } }, adm)).toggleConnectors.results.map((r: any) => r.outcome)).toEqual(['CHANGED', 'CHANGED']);
    // A caller without the editor role (a viewer, a READ API key) is refused the whole call, like toggleConnector.
    const key = (await svc.ok(`mutation($app: ID!) { createApiKey(applicationId: $app, name: "reader", scope: READ) { token } }`, { app }, adm)).createApiKey.token;
    const mine = (await svc.ok(CREATE, { input: rest('App connector', { applicationId: app }) }, adm)).createConnector.id;
    for (const token of [key, await viewer('t1')]) {
      expect(errorCode(await svc.gql(SINGLE, { id: mine }, token))).toBe('FORBIDDEN');
      expect(errorCode(await svc.gql(BULK, { input: { ids: [mine], enabled: true, reason: 'r' } }, token))).toBe('FORBIDDEN');
    }
    expect(await state(watched)).toEqual(before);
    expect(await state([mine])).toEqual([{ id: mine, enabled: false, version: 1, run_state: 'STOPPED' }]);
  });

  test('bad input for toggleConnectors is refused with a precise code before anything changes', async () => {
    // A tenant with 1,001 connectors (copies of one row), for the filter's limit.
    await svc.dataSource.query(
      `INSERT INTO connectors SELECT (jsonb_populate_record(null::connectors, to_jsonb(c) || jsonb_build_object('id', 'cnn_big' || lpad(g::text, 6, '0'), 'tenant_id', 'big'))).*
         FROM connectors c, generate_series(1, 1001) g WHERE c.id = $1`,
      [fleet[0]!.id],
    );
    const big = await editor('big');
    const some = fleet.slice(0, 2).map((c) => c.id);
    const audits = await auditCount();
    const versions = await state(fleet.map((c) => c.id));
    const cases: Array<[Record<string, unknown>, string, RegExp, string?]> = [
      [{ ids: some, filter: { provider: 'generic_rest' }, enabled: true, reason: 'r' }, 'BAD_USER_INPUT', /exactly one/],
      [{ enabled: true, reason: 'r' }, 'BAD_USER_INPUT', /exactly one/],
      [{ ids: [], enabled: true, reason: 'r' }, 'BAD_USER_INPUT', /at least one/],
      [{ ids: Array.from({ length: 1001 }, (_, i) => `cnn_${i}`), enabled: true, reason: 'r' }, 'BAD_USER_INPUT', /at most 1000/],
      [{ ids: [some[0], some[1], some[0]], enabled: true, reason: 'r' }, 'BAD_USER_INPUT', /named twice/],
      [{ ids: some, enabled: true, reason: '   ' }, 'BAD_USER_INPUT', /reason is required/],
      [{ ids: some, enabled: true, reason: 'x'.repeat(1001) }, 'BAD_USER_INPUT', /reason/],
      [{ ids: some, expectedVersions: [1], enabled: true, reason: 'r' }, 'BAD_USER_INPUT', /expectedVersions has 1 entries for 2 ids/],
      [{ filter: { provider: 'generic_rest' }, expectedVersions: [1], enabled: true, reason: 'r' }, 'BAD_USER_INPUT', /go with ids/],
      [{ ids: ['  '], enabled: true, reason: 'r' }, 'BAD_USER_INPUT', /ids\.0/],
      [{ filter: {}, enabled: true, reason: 'r' }, 'BAD_USER_INPUT', /more than 1000/, big],
      [{ ids: some, enabled: true }, 'BAD_USER_INPUT', /reason/],
    ];
    for (const [input, code, message, token] of cases) {
      const res = await svc.gql(BULK, { input }, token ?? ed);
      expect([JSON.stringify(input).slice(0, 80), errorCode(res)]).toEqual([JSON.stringify(input).slice(0, 80), code]);
      expect(res.body.errors![0]!.message).toMatch(message);
    }
    const forbidden = await svc.gql(BULK, { input: { ids: some, enabled: true, reason: 'r' } }, await viewer('t1'));
    expect(errorCode(forbidden)).toBe('FORBIDDEN');
    expect(await auditCount()).toBe(audits);
    expect(await state(fleet.map((c) => c.id))).toEqual(versions);
    expect((await svc.dataSource.query(`SELECT count(*)::int AS n FROM connectors WHERE tenant_id = 'big' AND enabled`))[0].n).toBe(0);
  });

  test('provenance: source on create and update; sourceType from X-Source-Type, FRONTEND by default, API for API keys; recorded on the audit event', async () => {
    const created = await svc.gql(CREATE, { input: rest('Provenance', { source: 'soar.playbook-7' }) }, ed, { 'x-source-type': 'backend' });
    expect(created.body.data.createConnector).toMatchObject({ source: 'soar.playbook-7', sourceType: 'BACKEND' });
    const id = created.body.data.createConnector.id;
    const plain = (await svc.ok(CREATE, { input: rest('Plain') }, ed)).createConnector;
    expect(plain).toMatchObject({ source: 'edm', sourceType: 'FRONTEND' });

    const updated = await svc.gql(`mutation($id: ID!, $input: UpdateConnectorInput!) { updateConnector(id: $id, expectedVersion: 1, input: $input) { source sourceType version } }`, { id, input: { source: 'siem_sync' } }, ed, { 'X-Source-Type': 'SERVER' });
    expect(updated.body.data.updateConnector).toEqual({ source: 'siem_sync', sourceType: 'SERVER', version: 2 });
    const events = await svc.dataSource.query(`SELECT event_type, source_type, changes FROM audit_events WHERE connector_id = $1 ORDER BY id`, [id]);
    expect(events.map((e: any) => [e.event_type, e.source_type])).toEqual([['CONNECTOR_CREATED', 'BACKEND'], ['CONNECTOR_UPDATED', 'SERVER']]);
    expect(events[1].changes.source).toEqual({ before: 'soar.playbook-7', after: 'siem_sync' });
    const viaApi = (await svc.ok(`query($id: ID!) { connector(id: $id) { auditEvents(first: 5) { nodes { eventType sourceType } } } }`, { id }, ed)).connector.auditEvents.nodes;
    expect(viaApi).toEqual([{ eventType: 'CONNECTOR_UPDATED', sourceType: 'SERVER' }, { eventType: 'CONNECTOR_CREATED', sourceType: 'BACKEND' }]);

    // An API key is API, whatever it declares.
    const app = (await svc.ok('mutation($name: String!) { createApplication(name: $name) { id } }', { name: 'SOAR' }, adm)).createApplication.id;
    const key = (await svc.ok(`mutation($app: ID!) { createApiKey(applicationId: $app, name: "soar", scope: WRITE) { token } }`, { app }, adm)).createApiKey.token;
    const byKey = await svc.gql(CREATE, { input: rest('By key') }, key, { 'x-source-type': 'FRONTEND' });
    expect(byKey.body.data.createConnector).toMatchObject({ sourceType: 'API', source: 'edm' });
    const keyId = byKey.body.data.createConnector.id;
    const toggled = await svc.gql(BULK, { input: { ids: [keyId], enabled: true, reason: 'key' } }, key);
    expect(toggled.body.data.toggleConnectors.counts.changed).toBe(1);
    const [ev] = await svc.dataSource.query(`SELECT source_type, actor_type FROM audit_events WHERE connector_id = $1 AND event_type = 'CONNECTOR_ENABLED'`, [keyId]);
    expect(ev).toEqual({ source_type: 'API', actor_type: 'APPLICATION' });
    expect((await svc.ok(GET, { id: keyId }, adm)).connector.sourceType).toBe('API');
  });

  test('bad provenance input is refused and changes nothing', async () => {
    const count = async () => (await svc.dataSource.query(`SELECT count(*)::int AS n FROM connectors`))[0].n;
    const before = await count();
    for (const source of ['', 'UPPER', 'has space', 'x'.repeat(65), 'ünï']) {
      const res = await svc.gql(CREATE, { input: rest('Bad source', { source }) }, ed);
      expect([source, errorCode(res)]).toEqual([source, 'BAD_USER_INPUT']);
      expect(res.body.errors![0]!.message).toMatch(/source must be 1–64/);
    }
    for (const header of ['SYSTEM', 'API', 'mobile', 'FRONTEND,BACKEND']) {
      const res = await svc.gql(CREATE, { input: rest('Bad header') }, ed, { 'x-source-type': header });
      expect([header, errorCode(res)]).toEqual([header, 'BAD_USER_INPUT']);
      expect(res.body.errors![0]!.message).toMatch(/X-Source-Type must be one of FRONTEND, BACKEND, SERVER/);
    }
    expect(await count()).toBe(before);
    const id = fleet[20]!.id;
    const [v] = await state([id]);
    const res = await svc.gql(`mutation($id: ID!, $v: Int!) { updateConnector(id: $id, expectedVersion: $v, input: { source: "Nope!" }) { id } }`, { id, v: v!.version }, ed);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(await state([id])).toEqual([v]);
    // A bad header refuses reads too, and an invalid token still answers UNAUTHENTICATED first.
    expect(errorCode(await svc.gql(GET, { id }, ed, { 'x-source-type': 'robot' }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(GET, { id }, 'not-a-token', { 'x-source-type': 'robot' }))).toBe('UNAUTHENTICATED');
  });

  test('bad input for snoozeConnectorAlerts is refused with a precise code and changes nothing', async () => {
    const id = fleet[30]!.id;
    const [before] = await state([id]);
    const audits = await auditCount();
    const soon = new Date(Date.now() + 3_600_000).toISOString();
    const gone = (await svc.ok(CREATE, { input: rest('Deleted, snoozed') }, ed)).createConnector;
    await svc.ok(`mutation($id: ID!) { deleteConnector(id: $id) { id } }`, { id: gone.id }, ed);
    const auditsAfterDelete = await auditCount();
    expect(auditsAfterDelete).toBe(audits + 2);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ id, until: new Date(Date.now() - 1000).toISOString(), reason: 'r' }, 'BAD_USER_INPUT', /in the future/],
      [{ id, until: new Date(Date.now() + 31 * 86_400_000).toISOString(), reason: 'r' }, 'BAD_USER_INPUT', /at most 30 days/],
      [{ id, until: soon, reason: '' }, 'BAD_USER_INPUT', /reason is required/],
      [{ id, until: 'tomorrow', reason: 'r' }, 'BAD_USER_INPUT', /until|DateTime/],
      [{ id: gone.id, until: soon, reason: 'r' }, 'BAD_USER_INPUT', /deleted/],
      [{ id: foreign[1], until: soon, reason: 'r' }, 'NOT_FOUND', /not found/],
    ];
    for (const [vars, code, message] of cases) {
      const res = await svc.gql(SNOOZE, vars, ed);
      expect([JSON.stringify(vars).slice(0, 90), errorCode(res)]).toEqual([JSON.stringify(vars).slice(0, 90), code]);
      expect(res.body.errors![0]!.message).toMatch(message);
    }
    expect(errorCode(await svc.gql(SNOOZE, { id, until: soon, reason: 'r' }, await viewer('t1')))).toBe('FORBIDDEN');
    expect(errorCode(await svc.gql(UNSNOOZE, { id: foreign[1] }, ed))).toBe('NOT_FOUND');
    expect(await state([id])).toEqual([before]);
    expect(await auditCount()).toBe(auditsAfterDelete);
    // Unsnoozing a connector that is not snoozed changes nothing.
    expect((await svc.ok(UNSNOOZE, { id }, ed)).unsnoozeConnectorAlerts.version).toBe(before!.version);
    expect(await auditCount()).toBe(auditsAfterDelete);
  });
});

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

class Receiver {
  readonly requests: Received[] = [];
  private server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      this.requests.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  url = '';
  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }
  /** Every delivery, its signature verified. */
  events(secret: string): Array<{ type: string; data: any }> {
    const wh = new Webhook(secret);
    return this.requests.map((r) => wh.verify(r.body, r.headers as Record<string, string>) as any);
  }
  ofType(secret: string, type: string) {
    return this.events(secret).filter((e) => e.type === type);
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('snoozeConnectorAlerts', () => {
  let svc: TestService;
  let ed: string;
  let adm: string;
  const closing: Array<{ close(): Promise<unknown> }> = [];
  beforeAll(async () => {
    svc = await startTestService('fleet_snooze', { RUN_WORKERS: 'true', JOB_POLL_MS: '500', WEBHOOK_RETRY_SCHEDULE: '0.2,0.2' });
    closing.push(svc);
    ed = await editor('t1');
    adm = await admin('t1');
  });
  afterAll(async () => {
    for (const c of closing.reverse()) await c.close();
  });

  async function setUp(name: string): Promise<{ id: string; up: RestUpstream; r: Receiver; secret: string }> {
    const up = await startRestUpstream({ records: makeRecords(3) });
    closing.push(up);
    const input = {
      name,
      provider: 'generic_rest',
      authType: 'API_KEY',
      credentials: { apiKey: 'snooze-key-1' },
      config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 3600, autoDisableAfterFailures: 2 },
    };
    const { id } = (await svc.ok(CREATE, { input }, ed)).createConnector;
    await svc.ok(TOGGLE, { id, enabled: true }, ed);
    await waitFor('first sync', async () => ((await svc.dataSource.query(`SELECT 1 FROM ingestion_runs WHERE connector_id = $1 AND status = 'SUCCEEDED'`, [id])).length ? true : null));
    // And the health check enabling schedules at once (PENDING → HEALTHY), before anyone subscribes.
    await waitFor('first check', async () => ((await svc.dataSource.query(`SELECT 1 FROM connectors WHERE id = $1 AND sync_status = 'HEALTHY'`, [id])).length ? true : null));
    const r = await new Receiver().start();
    closing.push(r);
    const created = (await svc.ok(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }`,
      { input: { name: `pager ${name}`, url: r.url, eventTypes: ['CONNECTOR_HEALTH_CHANGED', 'CONNECTOR_AUTO_DISABLED', 'CONNECTOR_TOGGLED'], connectorIds: [id] } },
      adm,
    )).createWebhookEndpoint;
    return { id, up, r, secret: created.secret };
  }
  const events = async (id: string) => (await svc.dataSource.query(`SELECT type FROM notification_events WHERE connector_id = $1 ORDER BY id`, [id])).map((e: any) => e.type);

  test('while snoozed: health is tracked, but no alert is sent and the policy does not disable; a person\'s toggle is still sent; after `until` both resume', async () => {
    const { id, up, r, secret } = await setUp('Snoozed');
    const until = new Date(Date.now() + 8000);
    const snoozed = await svc.gql(SNOOZE, { id, until: until.toISOString(), reason: 'vendor maintenance window' }, ed, { 'x-source-type': 'BACKEND' });
    expect(snoozed.body.errors).toBeUndefined();
    expect(snoozed.body.data.snoozeConnectorAlerts).toMatchObject({ alertsSnoozedUntil: until.toISOString(), alertsSnoozeReason: 'vendor maintenance window' });
    const [audit] = await svc.dataSource.query(`SELECT reason, source_type, changes FROM audit_events WHERE connector_id = $1 AND event_type = 'CONNECTOR_ALERTS_SNOOZED'`, [id]);
    expect(audit).toMatchObject({ reason: 'vendor maintenance window', source_type: 'BACKEND', changes: { alertsSnoozedUntil: { before: null, after: until.toISOString() } } });

    // A person's toggles are announced during a snooze.
    await svc.ok(TOGGLE, { id, enabled: false }, ed);
    await svc.ok(TOGGLE, { id, enabled: true }, ed);
    await waitFor('two toggles', () => (r.ofType(secret, 'connector.toggled').length >= 2 ? true : null));

    const eventsBefore = await events(id);
    up.failAlways(401);
    for (let i = 0; i < 4; i++) await svc.ok(CHECK, { id }, ed);
    const during = (await svc.ok(GET, { id }, ed)).connector;
    expect(during).toMatchObject({ enabled: true, syncStatus: 'FAILING', alertsSnoozeReason: 'vendor maintenance window' });
    expect(during.consecutiveErrors).toBeGreaterThanOrEqual(4);
    const [transitions] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM health_events WHERE connector_id = $1 AND to_status = 'FAILING'`, [id]);
    expect(transitions.n).toBeGreaterThanOrEqual(1);
    expect(await events(id)).toEqual(eventsBefore);
    await sleep(1000);
    expect(r.ofType(secret, 'connector.health_changed')).toHaveLength(0);
    expect(r.ofType(secret, 'connector.auto_disabled')).toHaveLength(0);

    await sleep(Math.max(0, until.getTime() - Date.now() + 300));
    expect((await svc.ok(GET, { id }, ed)).connector.alertsSnoozedUntil).toBeNull();
    const res = (await svc.ok(CHECK, { id }, ed)).checkConnectorHealth;
    expect(res.enabled).toBe(false);
    await waitFor('auto_disabled', () => (r.ofType(secret, 'connector.auto_disabled').length ? true : null));
    expect(r.ofType(secret, 'connector.auto_disabled')[0]!.data).toMatchObject({ policy: 'consecutive_failures', connector: { id } });
    await waitFor('the SYSTEM toggle', () => (r.ofType(secret, 'connector.toggled').some((e) => e.data.actor.type === 'SYSTEM') ? true : null));
    const state = (await svc.ok(GET, { id }, ed)).connector;
    expect(state).toMatchObject({ enabled: false, enabledChangedBy: 'health-monitor', sourceType: 'SYSTEM' });
    const [disabled] = await svc.dataSource.query(`SELECT source_type, actor_type FROM audit_events WHERE connector_id = $1 AND event_type = 'CONNECTOR_DISABLED' ORDER BY id DESC LIMIT 1`, [id]);
    expect(disabled).toEqual({ source_type: 'SYSTEM', actor_type: 'SYSTEM' });
  }, 60_000);

  test('unsnoozeConnectorAlerts ends a snooze early: audited, and the next failures disable and alert at once', async () => {
    const { id, up, r, secret } = await setUp('Unsnoozed');
    await svc.ok(SNOOZE, { id, until: new Date(Date.now() + 3_600_000).toISOString(), reason: 'noisy' }, ed);
    const ended = (await svc.ok(UNSNOOZE, { id, reason: 'fixed upstream' }, ed)).unsnoozeConnectorAlerts;
    expect(ended).toMatchObject({ alertsSnoozedUntil: null, alertsSnoozeReason: null });
    const types = (await svc.dataSource.query(`SELECT event_type, reason FROM audit_events WHERE connector_id = $1 AND event_type LIKE 'CONNECTOR_ALERTS_%' ORDER BY id`, [id]));
    expect(types).toEqual([{ event_type: 'CONNECTOR_ALERTS_SNOOZED', reason: 'noisy' }, { event_type: 'CONNECTOR_ALERTS_UNSNOOZED', reason: 'fixed upstream' }]);
    up.failAlways(401);
    await svc.ok(CHECK, { id }, ed);
    await svc.ok(CHECK, { id }, ed);
    expect((await svc.ok(GET, { id }, ed)).connector.enabled).toBe(false);
    await waitFor('health_changed and auto_disabled', () => (r.ofType(secret, 'connector.health_changed').length && r.ofType(secret, 'connector.auto_disabled').length ? true : null));
  }, 60_000);
});
