/**
 * OWASP API Security Top 10 (2023), API1 (Broken Object Level Authorization), for the fleet
 * operations: `toggleConnectors` and `snoozeConnectorAlerts` / `unsnoozeConnectorAlerts`.
 *
 * Tenant B names tenant A's connectors by id and matches them by filter: nothing of A's is read,
 * locked, changed or audited (NOT_FOUND, as for an id that does not exist; a filter simply does not
 * see them). An application's API key reaches only its application's connectors, a non-admin only
 * the scopes it belongs to; B cannot read A's bulk audit events by bulkId.
 */
import { admin, editor } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';

const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`;
const BULK = `mutation($input: BulkToggleInput!) { toggleConnectors(input: $input) { bulkId results { id outcome connector { id tenantId name } } counts { changed notFound } } }`;
const SNOOZE = `mutation($id: ID!, $until: DateTime!, $reason: String!) { snoozeConnectorAlerts(id: $id, until: $until, reason: $reason) { id } }`;
const UNSNOOZE = `mutation($id: ID!) { unsnoozeConnectorAlerts(id: $id) { id } }`;
const rest = (name: string, extra: Record<string, unknown> = {}) => ({ name, provider: 'generic_rest', config: { baseUrl: 'https://api.example.com/v1' }, enabled: true, ...extra });

let svc: TestService;
let a: string[];
let aAdmin: string;
let bEditor: string;
beforeAll(async () => {
  svc = await startTestService('api1_fleet');
  aAdmin = await admin('tenant-a');
  bEditor = await editor('tenant-b');
  a = [];
  for (let i = 0; i < 3; i++) a.push((await svc.ok(CREATE, { input: rest(`A ${i}`) }, aAdmin)).createConnector.id);
  await svc.ok(CREATE, { input: rest('B own') }, bEditor);
});
afterAll(() => svc?.close());

const snapshot = () => svc.dataSource.query(`SELECT id, enabled, version, alerts_snoozed_until FROM connectors WHERE tenant_id = 'tenant-a' ORDER BY id`);
const auditsOfA = async () => (await svc.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = 'tenant-a'`))[0].n;

test('toggleConnectors by ids: another tenant\'s connectors are NOT_FOUND and untouched, in a dry run too', async () => {
  const before = await snapshot();
  const audits = await auditsOfA();
  for (const dryRun of [true, false]) {
    const res = (await svc.ok(BULK, { input: { ids: a, enabled: false, reason: 'b tries', dryRun } }, bEditor)).toggleConnectors;
    expect(res.results.map((r: any) => r.outcome)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
    // Nothing of A's comes back through results.connector either.
    expect(res.results.map((r: any) => r.connector)).toEqual([null, null, null]);
    expect(JSON.stringify(res)).not.toMatch(/tenant-a|"A \d"/);
  }
  expect(await snapshot()).toEqual(before);
  expect(await auditsOfA()).toBe(audits);
});

test('toggleConnectors by filter sees only the caller\'s tenant', async () => {
  const before = await snapshot();
  const res = (await svc.ok(BULK, { input: { filter: { provider: 'generic_rest' }, enabled: false, reason: 'b all' } }, bEditor)).toggleConnectors;
  expect(res.counts.changed).toBe(1);
  expect(res.results.some((r: any) => a.includes(r.id))).toBe(false);
  expect(res.results.every((r: any) => r.connector?.tenantId === 'tenant-b')).toBe(true);
  expect(await snapshot()).toEqual(before);
  // B cannot read A's bulk events by bulkId, nor A B's.
  const mine = (await svc.ok(BULK, { input: { ids: [a[0]], enabled: false, reason: 'a own' } }, aAdmin)).toggleConnectors;
  expect(mine.counts.changed).toBe(1);
  const seen = (await svc.ok(`query($b: ID!) { auditEvents(filter: { bulkId: $b }) { nodes { id } } }`, { b: mine.bulkId }, await admin('tenant-b'))).auditEvents.nodes;
  expect(seen).toEqual([]);
  await svc.ok(BULK, { input: { ids: [a[0]], enabled: true, reason: 'a back' } }, aAdmin);
});

test('an API key reaches only its application\'s connectors; a non-admin only its scopes', async () => {
  const app = (await svc.ok('mutation { createApplication(name: "SOAR") { id } }', {}, aAdmin)).createApplication.id;
  const key = (await svc.ok(`mutation($app: ID!) { createApiKey(applicationId: $app, name: "k", scope: WRITE) { token } }`, { app }, aAdmin)).createApiKey.token;
  const owned = (await svc.ok(CREATE, { input: rest('App owned') }, key)).createConnector.id;
  const grouped = (await svc.ok(CREATE, { input: rest('Group', { scope: 'GROUP', groupId: 'blue' }) }, aAdmin)).createConnector.id;
  const before = await snapshot();
  const byKey = (await svc.ok(BULK, { input: { ids: [a[1], owned], enabled: false, reason: 'key' } }, key)).toggleConnectors;
  expect(byKey.results.map((r: any) => r.outcome)).toEqual(['NOT_FOUND', 'CHANGED']);
  expect(byKey.results.map((r: any) => r.connector?.id ?? null)).toEqual([null, owned]);
  const filtered = (await svc.ok(BULK, { input: { filter: {}, enabled: true, reason: 'key all' } }, key)).toggleConnectors;
  expect(filtered.results.map((r: any) => r.id)).toEqual([owned]);
  const outsider = await editor('tenant-a', { subject: 'outsider', groups: ['red'] });
  const byOutsider = (await svc.ok(BULK, { input: { ids: [grouped], enabled: false, reason: 'not my group' } }, outsider)).toggleConnectors;
  expect(byOutsider.results[0]).toEqual({ id: grouped, outcome: 'NOT_FOUND', connector: null });
  const after = await snapshot();
  expect(after.filter((c: any) => c.id !== owned)).toEqual(before.filter((c: any) => c.id !== owned));
});

test('snoozeConnectorAlerts and unsnoozeConnectorAlerts on another tenant\'s connector: NOT_FOUND, nothing changes', async () => {
  const until = new Date(Date.now() + 3_600_000).toISOString();
  expect((await svc.ok(SNOOZE, { id: a[2], until, reason: 'a snoozes' }, aAdmin)).snoozeConnectorAlerts.id).toBe(a[2]);
  const before = await snapshot();
  const audits = await auditsOfA();
  expect(errorCode(await svc.gql(SNOOZE, { id: a[1], until, reason: 'b snoozes' }, bEditor))).toBe('NOT_FOUND');
  expect(errorCode(await svc.gql(UNSNOOZE, { id: a[2] }, bEditor))).toBe('NOT_FOUND');
  expect(errorCode(await svc.gql(SNOOZE, { id: a[1], until, reason: 'b admin' }, await admin('tenant-b')))).toBe('NOT_FOUND');
  expect(await snapshot()).toEqual(before);
  expect(await auditsOfA()).toBe(audits);
  const read = (await svc.gql(`query($id: ID!) { connector(id: $id) { alertsSnoozedUntil } }`, { id: a[2] }, bEditor)).body.data.connector;
  expect(read).toBeNull();
});
