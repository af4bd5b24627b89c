/**
 * API6:2023 Unrestricted Access to Sensitive Business Flows: the flows an attacker (or a nervous
 * operator) would hammer, one toggle, manual syncs and connection tests, stay consistent under a
 * flood: one winner per version, no pile-up of queued work, no run left waiting forever.
 */
import { CREATE, restInput } from '../helpers/fixtures.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { admin, editor } from '../helpers/tokens.js';

let svc: TestService;
let adminToken: string;

beforeAll(async () => {
  svc = await startTestService('api6');
  adminToken = await admin('t-api6');
});
afterAll(() => svc?.close());

const TOGGLE = 'mutation($id: ID!, $on: Boolean!, $v: Int) { toggleConnector(id: $id, enabled: $on, reason: "flood", expectedVersion: $v) { enabled version } }';

describe('API6:2023 Unrestricted Access to Sensitive Business Flows', () => {
  test('20 concurrent toggles at one version: exactly one changes the connector, the rest are VERSION_CONFLICT', async () => {
    const { id, version } = (await svc.ok(CREATE, { input: restInput('contended') }, adminToken)).createConnector;
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => svc.gql(TOGGLE, { id, on: true, v: version }, await editor('t-api6', { subject: `e${i}` }))));
    const changed = results.filter((r) => r.body.data?.toggleConnector?.version === version + 1);
    expect(changed).toHaveLength(1);
    expect(results.filter((r) => errorCode(r) === 'VERSION_CONFLICT')).toHaveLength(19);
    const [{ count }] = await svc.dataSource.query(`SELECT count(*)::int AS count FROM audit_events WHERE target_id = $1 AND event_type = 'CONNECTOR_ENABLED'`, [id]);
    expect(count).toBe(1);
  });

  test('a flood of manual syncs leaves one queued job and no run waiting forever', async () => {
    const { id } = (await svc.ok(CREATE, { input: restInput('synced', { enabled: true }) }, adminToken)).createConnector;
    const results = await Promise.all(Array.from({ length: 25 }, () => svc.gql(`mutation { syncConnector(id: "${id}") { id status } }`, {}, adminToken)));
    for (const res of results) expect(res.body.errors).toBeUndefined();
    const [{ jobs }] = await svc.dataSource.query(`SELECT count(*)::int AS jobs FROM pgboss.job WHERE name = 'connector-sync' AND singleton_key = $1 AND state IN ('created', 'retry')`, [id]);
    expect(jobs).toBe(1);
    const waiting = await svc.dataSource.query(`SELECT id, job_id FROM ingestion_runs WHERE connector_id = $1 AND status = 'QUEUED'`, [id]);
    expect(waiting).toHaveLength(1);
    const [{ job }] = await svc.dataSource.query(`SELECT id::text AS job FROM pgboss.job WHERE name = 'connector-sync' AND singleton_key = $1 AND state = 'created'`, [id]);
    expect(waiting[0].job_id).toBe(job);
  });

  test('syncing a disabled connector is refused and queues nothing', async () => {
    const { id } = (await svc.ok(CREATE, { input: restInput('idle') }, adminToken)).createConnector;
    const res = await svc.gql(`mutation { syncConnector(id: "${id}") { id } }`, {}, adminToken);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    const [{ jobs }] = await svc.dataSource.query(`SELECT count(*)::int AS jobs FROM pgboss.job WHERE singleton_key = $1`, [id]);
    expect(jobs).toBe(0);
  });
});
