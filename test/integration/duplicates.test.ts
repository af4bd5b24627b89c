/**
 * The seed story's flood: a SIEM re-sends one alert 900 times with fresh timestamps and receipt
 * ids among 100 genuine alerts. Deduplication by the fields that identify the finding stores
 * 101 records, counts 899 duplicates on the repeated one, and the flood guard turns the connector
 * DEGRADED (or, with the policy on, switches it off as SYSTEM) while another connector of the same
 * tenant keeps ingesting.
 */
import { randomUUID } from 'node:crypto';
import { startTestService, type TestService } from '../helpers/server.js';
import { editor } from '../helpers/tokens.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const WORKERS = { RUN_WORKERS: 'true', JOB_POLL_MS: '500', JOB_MAINTENANCE_SEC: '1' };
const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`;
const STATE = `query($id: ID!) { connector(id: $id) { enabled enabledReason enabledChangedBy syncStatus metrics { totalSynced }
  ingestionRuns(first: 5) { status recordsRead recordsWritten duplicates } healthHistory(first: 5) { to reason } } }`;

/** 100 genuine alerts and 900 copies of one, each copy with its own receipt id and timestamp, interleaved. */
function siemAlerts(): Record<string, unknown>[] {
  const alerts: Record<string, unknown>[] = [];
  const at = (i: number) => new Date(Date.UTC(2026, 11, 3, 8, 0, 0) + i * 1000).toISOString();
  for (let i = 0; i < 1000; i++) {
    const genuine = i % 10 === 0;
    alerts.push(
      genuine
        ? { receiptId: randomUUID(), timestamp: at(i), signature: `ET SCAN ${i / 10}`, src: `198.51.100.${i / 10}`, dst: '203.0.113.7', severity: 5 }
        : { receiptId: randomUUID(), timestamp: at(i), signature: 'ET POLICY duplicate alert storm', src: '192.0.2.66', dst: '203.0.113.7', severity: 8 },
    );
  }
  return alerts;
}

let svc: TestService;
let token: string;
const upstreams: RestUpstream[] = [];
let steady: RestUpstream;
let steadyId: string;
let feeding: NodeJS.Timeout;

async function upstream(records: Record<string, unknown>[], pageSize: number): Promise<RestUpstream> {
  const up = await startRestUpstream({ records, pageSize });
  upstreams.push(up);
  return up;
}

function siemConnector(name: string, up: RestUpstream, policy: Record<string, unknown>) {
  return {
    name,
    provider: 'generic_rest',
    enabled: true,
    config: {
      baseUrl: up.url,
      path: '/items',
      maxPages: 20,
      syncIntervalSec: 3600,
      healthCheckIntervalSec: 3600,
      dedupKey: ['/signature', '/src', '/dst'],
      duplicateFloodRatio: 0.5,
      duplicateFloodMinRecords: 100,
      ...policy,
    },
  };
}

async function totalSynced(id: string): Promise<number> {
  return (await svc.ok(STATE, { id }, token)).connector.metrics.totalSynced;
}

beforeAll(async () => {
  svc = await startTestService('duplicates', WORKERS);
  token = await editor('t-soc');
  // The other connector of the tenant: a feed that gains five new records a second.
  steady = await upstream(makeRecords(5, 'steady-0'), 50);
  let tick = 0;
  feeding = setInterval(() => steady.records.push(...makeRecords(5, `steady-${++tick}`)), 1000);
  steadyId = (await svc.ok(CREATE, { input: { name: 'Threat feed', provider: 'generic_rest', enabled: true, config: { baseUrl: steady.url, path: '/items', maxPages: 100, syncIntervalSec: 1, healthCheckIntervalSec: 3600 } } }, token)).createConnector.id;
});

afterAll(async () => {
  clearInterval(feeding);
  await svc?.close();
  for (const up of upstreams) await up.close();
});

describe('a SIEM re-sending one alert 900 times with new timestamps and receipt ids', () => {
  test('101 records stored, 899 duplicates counted on the repeated one, DEGRADED; the other connector keeps ingesting', async () => {
    const siem = await upstream(siemAlerts(), 100);
    const steadyBefore = await totalSynced(steadyId);
    const { id } = (await svc.ok(CREATE, { input: siemConnector('SIEM A', siem, {}) }, token)).createConnector;
    const state = await waitFor('the run and the guard', async () => {
      const s = (await svc.ok(STATE, { id }, token)).connector;
      return s.ingestionRuns.some((r: any) => r.status === 'SUCCEEDED') && s.syncStatus === 'DEGRADED' && s;
    }, 30_000);
    expect(state.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED', recordsRead: 1000, recordsWritten: 101, duplicates: 899 });
    expect(state.healthHistory[0]).toMatchObject({ to: 'DEGRADED', reason: expect.stringMatching(/duplicate flood: 90% of 1000 records/) });
    expect(state.enabled).toBe(true);

    const rows = await svc.dataSource.query(
      `SELECT record->>'signature' AS signature, duplicate_count, record->>'receiptId' AS receipt, last_seen_at >= ingested_at AS moved
       FROM ingested_records WHERE connector_id = $1 ORDER BY duplicate_count DESC`,
      [id],
    );
    expect(rows).toHaveLength(101);
    expect(rows[0]).toMatchObject({ signature: 'ET POLICY duplicate alert storm', duplicate_count: 899, moved: true });
    // The stored copy is the first one the SIEM sent.
    expect(rows[0].receipt).toBe(siem.records[1]!.receiptId);
    expect(rows.slice(1).every((r: any) => r.duplicate_count === 0)).toBe(true);

    // What the sink stored is what the graph answers.
    const page = (
      await svc.ok(
        `query($id: ID!) { records(first: 200, filter: { connectorIds: [$id] }) { totalCount nodes { kind title duplicateCount severity data } }
           storm: records(first: 5, filter: { connectorIds: [$id], search: "duplicate alert storm" }) { nodes { duplicateCount connector { id } } } }`,
        { id },
        token,
      )
    );
    expect(page.records.totalCount).toBe(101);
    expect(page.records.nodes).toHaveLength(101);
    expect(page.records.nodes.every((n: any) => n.kind === 'RECORD')).toBe(true);
    expect(page.storm.nodes).toEqual([{ duplicateCount: 899, connector: { id } }]);

    // The other connector of the tenant went on meanwhile, and goes on.
    const steadyDuring = await totalSynced(steadyId);
    expect(steadyDuring).toBeGreaterThan(steadyBefore);
    await waitFor('the other connector to ingest more', async () => (await totalSynced(steadyId)) > steadyDuring, 10_000);
  });

  test('the next run of the same flood: every alert is a duplicate within the window, nothing stored again', async () => {
    const siem = await upstream(siemAlerts(), 100);
    const { id } = (await svc.ok(CREATE, { input: siemConnector('SIEM B', siem, {}) }, token)).createConnector;
    await waitFor('the first run', async () => (await svc.ok(STATE, { id }, token)).connector.ingestionRuns.some((r: any) => r.status === 'SUCCEEDED'), 30_000);
    // A second delivery of the same alerts, with new receipt ids and timestamps once more.
    siem.records = siemAlerts().map((alert, i) => ({ ...alert, signature: siem.records[i]!.signature, src: siem.records[i]!.src }));
    await svc.ok(`mutation { syncConnector(id: "${id}") { id } }`, {}, token);
    const state = await waitFor('the second run', async () => {
      const s = (await svc.ok(STATE, { id }, token)).connector;
      return s.ingestionRuns.filter((r: any) => r.status === 'SUCCEEDED').length >= 2 && s;
    }, 30_000);
    expect(state.ingestionRuns[0]).toMatchObject({ recordsRead: 1000, recordsWritten: 0, duplicates: 1000 });
    const [{ n, storm }] = await svc.dataSource.query(
      `SELECT count(*)::int AS n, max(duplicate_count)::int AS storm FROM ingested_records WHERE connector_id = $1`,
      [id],
    );
    expect(n).toBe(101);
    expect(storm).toBe(899 + 900);
  });

  test('with the policy on, the guard switches the SIEM off as SYSTEM; the other connector keeps ingesting', async () => {
    const siem = await upstream(siemAlerts(), 100);
    const { id } = (await svc.ok(CREATE, { input: siemConnector('SIEM C', siem, { duplicateFloodAutoDisable: true }) }, token)).createConnector;
    const state = await waitFor('the guard to switch it off', async () => {
      const s = (await svc.ok(STATE, { id }, token)).connector;
      return !s.enabled && s;
    }, 30_000);
    expect(state.enabledChangedBy).toBe('health-monitor');
    expect(state.enabledReason).toMatch(/duplicate-flood guard: duplicate flood: 90% of 1000 records/);
    // The actor is SYSTEM (the health monitor), in the audit trail as on the connector.
    const [audit] = await svc.dataSource.query(`SELECT actor_type, actor_id FROM audit_events WHERE target_id = $1 AND event_type = 'CONNECTOR_DISABLED'`, [id]);
    expect(audit).toEqual({ actor_type: 'SYSTEM', actor_id: 'health-monitor' });
    const steadyAfter = await totalSynced(steadyId);
    await waitFor('the other connector to ingest more', async () => (await totalSynced(steadyId)) > steadyAfter, 10_000);
    const other = (await svc.ok(STATE, { id: steadyId }, token)).connector;
    expect(other.enabled).toBe(true);
  });
});

test('the migration derives record ids the way the service does (rows written before it keep theirs)', async () => {
  const { recordId } = await import('../../src/modules/records/record-identity.js');
  const [{ id }] = await svc.dataSource.query(
    `SELECT 'rec_' || upper(substr(encode(sha256(convert_to($1 || chr(31) || $2 || chr(31) || $3, 'UTF8')), 'hex'), 1, 26)) AS id`,
    ['t-soc', 'cnn_X', 'key-1'],
  );
  expect(id).toBe(recordId('t-soc', 'cnn_X', 'key-1'));
});

describe('the dedup window', () => {
  test('dedupWindowSec: 0 counts only repeats within one batch; the next run stores the alerts again in place', async () => {
    const records = [
      { receiptId: 'r1', signature: 'sig', src: '192.0.2.1', dst: '192.0.2.2' },
      { receiptId: 'r2', signature: 'sig', src: '192.0.2.1', dst: '192.0.2.2' },
    ];
    const up = await upstream(records, 10);
    const { id } = (await svc.ok(CREATE, { input: siemConnector('Windowless', up, { dedupWindowSec: 0, duplicateFloodRatio: undefined }) }, token)).createConnector;
    await waitFor('the first run', async () => (await svc.ok(STATE, { id }, token)).connector.ingestionRuns.some((r: any) => r.status === 'SUCCEEDED'), 30_000);
    const [first] = await svc.dataSource.query(`SELECT id, duplicate_count, ingested_at, record->>'receiptId' AS receipt FROM ingested_records WHERE connector_id = $1`, [id]);
    expect(first).toMatchObject({ duplicate_count: 1, receipt: 'r1' });
    up.records = [{ receiptId: 'r3', signature: 'sig', src: '192.0.2.1', dst: '192.0.2.2' }];
    await svc.ok(`mutation { syncConnector(id: "${id}") { id } }`, {}, token);
    const state = await waitFor('the second run', async () => {
      const s = (await svc.ok(STATE, { id }, token)).connector;
      return s.ingestionRuns.filter((r: any) => r.status === 'SUCCEEDED').length >= 2 && s;
    }, 30_000);
    expect(state.ingestionRuns[0]).toMatchObject({ recordsRead: 1, recordsWritten: 1, duplicates: 0 });
    const [second] = await svc.dataSource.query(`SELECT id, duplicate_count, ingested_at, record->>'receiptId' AS receipt FROM ingested_records WHERE connector_id = $1`, [id]);
    expect(second.id).toBe(first.id);
    expect(second).toMatchObject({ duplicate_count: 0, receipt: 'r3' });
    expect(second.ingested_at.getTime()).toBeGreaterThan(first.ingested_at.getTime());
  });
});
