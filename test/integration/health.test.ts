import { admin, editor } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { HealthWorker } from '../../src/modules/health/health.worker.js';

const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id syncStatus config credentialVersion } }`;
const CHECK = `mutation($id: ID!) { checkConnectorHealth(id: $id) { syncStatus consecutiveErrors lastError lastCheckedAt metrics { avgLatencyMs } } }`;
const STATE = `query($id: ID!) { connector(id: $id) { enabled enabledReason enabledChangedBy syncStatus lastError consecutiveErrors config credentialVersion
  healthHistory(first: 20) { from to reason } } }`;
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled) { syncStatus } }`;
const WORKERS = { RUN_WORKERS: 'true', JOB_POLL_MS: '500', JOB_MAINTENANCE_SEC: '1' };

const upstreams: RestUpstream[] = [];
const services: TestService[] = [];
afterAll(async () => {
  for (const svc of services) await svc.close();
  for (const up of upstreams) await up.close();
});

async function upstream(records = makeRecords(3)): Promise<RestUpstream> {
  const up = await startRestUpstream({ records });
  upstreams.push(up);
  return up;
}

function input(name: string, up: RestUpstream, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { name, provider: 'generic_rest', enabled: true, config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 3600, ...config }, ...extra };
}

describe('status from checks (checks run on demand)', () => {
  let svc: TestService;
  let ed: string;
  beforeAll(async () => {
    svc = await startTestService('health');
    services.push(svc);
    ed = await editor('t1');
  });

  test('HEALTHY, then DEGRADED and FAILING at the threshold, then HEALTHY after the recovery count; history and audit', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE, { input: input('Monitored', up) }, ed)).createConnector;
    expect(c.syncStatus).toBe('PENDING');
    const check = async () => (await svc.ok(CHECK, { id: c.id }, ed)).checkConnectorHealth;
    expect((await check()).syncStatus).toBe('HEALTHY');
    up.failAlways(401);
    const first = await check();
    expect(first).toMatchObject({ syncStatus: 'HEALTHY', consecutiveErrors: 1 }); // damped
    expect(first.lastError).toMatch(/AUTHENTICATE AUTH_FAILED/);
    expect((await check()).syncStatus).toBe('DEGRADED');
    expect((await check()).syncStatus).toBe('FAILING');
    expect((await check()).syncStatus).toBe('FAILING');
    up.recover();
    expect((await check())).toMatchObject({ syncStatus: 'FAILING', consecutiveErrors: 0 });
    const healthy = await check();
    expect(healthy).toMatchObject({ syncStatus: 'HEALTHY', consecutiveErrors: 0, lastError: null });
    expect(healthy.metrics.avgLatencyMs).toBeGreaterThan(0);
    const state = (await svc.ok(STATE, { id: c.id }, ed)).connector;
    expect(state.healthHistory.map((h: any) => `${h.from}>${h.to}`)).toEqual(['FAILING>HEALTHY', 'DEGRADED>FAILING', 'HEALTHY>DEGRADED', 'PENDING>HEALTHY']);
    expect(state.healthHistory[1].reason).toMatch(/3 consecutive failure/);
    const audit = (await svc.ok(`query($id: ID!) { auditEvents(filter: { targetId: $id, eventType: [HEALTH_STATUS_CHANGED] }) { nodes { actorType changes reason } } }`, { id: c.id }, await admin('t1'))).auditEvents.nodes;
    expect(audit).toHaveLength(4);
    expect(audit.every((e: any) => e.actorType === 'SYSTEM')).toBe(true);
    expect(audit[0].changes).toEqual({ syncStatus: { before: 'FAILING', after: 'HEALTHY' } });
  });

  test('one failure between successes does not change the status', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE, { input: input('Blip', up) }, ed)).createConnector;
    const check = async () => (await svc.ok(CHECK, { id: c.id }, ed)).checkConnectorHealth.syncStatus;
    expect(await check()).toBe('HEALTHY');
    up.failNext(401);
    expect(await check()).toBe('HEALTHY');
    expect(await check()).toBe('HEALTHY');
    up.failNext(401);
    expect(await check()).toBe('HEALTHY');
    expect(await check()).toBe('HEALTHY');
    const history = (await svc.ok(STATE, { id: c.id }, ed)).connector.healthHistory;
    expect(history).toHaveLength(1);
  });

  test('a slow but answering upstream is DEGRADED, not HEALTHY', async () => {
    const up = await upstream();
    up.delayMs = 150;
    const c = (await svc.ok(CREATE, { input: input('Slow', up, { degradedLatencyMs: 50 }) }, ed)).createConnector;
    const res = (await svc.ok(CHECK, { id: c.id }, ed)).checkConnectorHealth;
    expect(res.syncStatus).toBe('DEGRADED');
    expect(res.lastError).toMatch(/latency \d+ ms is above 50 ms/);
  });

  test('a connector that passes checks but delivered no records since activation is not HEALTHY', async () => {
    const up = await upstream([]);
    const c = (await svc.ok(CREATE, { input: input('Quiet', up, { expectRecordsWithinSec: 1 }) }, ed)).createConnector;
    await sleep(1100);
    const res = (await svc.ok(CHECK, { id: c.id }, ed)).checkConnectorHealth;
    expect(res.syncStatus).toBe('DEGRADED');
    expect(res.lastError).toMatch(/no records delivered/);
  });

  test('auto-disable after N failures goes through the toggle as SYSTEM, keeping config and credentials', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE, { input: input('Policy', up, { autoDisableAfterFailures: 2 }, { authType: 'API_KEY', credentials: { apiKey: 'policy-key-1' } }) }, ed)).createConnector;
    up.failAlways(401);
    await svc.ok(CHECK, { id: c.id }, ed);
    await svc.ok(CHECK, { id: c.id }, ed);
    const state = (await svc.ok(STATE, { id: c.id }, ed)).connector;
    expect(state).toMatchObject({ enabled: false, syncStatus: 'PAUSED', enabledChangedBy: 'health-monitor', config: c.config, credentialVersion: 1 });
    expect(state.enabledReason).toMatch(/auto-disabled after 2 consecutive failures/);
    const [event] = await svc.dataSource.query(`SELECT actor_type, reason FROM audit_events WHERE target_id = $1 AND event_type = 'CONNECTOR_DISABLED'`, [c.id]);
    expect(event.actor_type).toBe('SYSTEM');
    expect(event.reason).toMatch(/auto-disabled/);
  });

  test('connectorHealthSummary counts visible connectors by status', async () => {
    const summary = (await svc.ok(`{ connectorHealthSummary { total enabled byStatus { status count } } }`, {}, ed)).connectorHealthSummary;
    const byStatus = Object.fromEntries(summary.byStatus.map((s: any) => [s.status, s.count]));
    const [db] = await svc.dataSource.query(`SELECT count(*)::int AS total, count(*) FILTER (WHERE enabled)::int AS enabled, count(*) FILTER (WHERE sync_status = 'DEGRADED')::int AS degraded FROM connectors WHERE tenant_id = 't1' AND NOT is_deleted`);
    expect(summary.total).toBe(db.total);
    expect(summary.enabled).toBe(db.enabled);
    expect(byStatus.DEGRADED).toBe(db.degraded);
    expect(byStatus.PAUSED).toBeGreaterThanOrEqual(1);
    expect((await svc.ok(`{ connectorHealthSummary { total } }`, {}, await admin('other'))).connectorHealthSummary.total).toBe(0);
  });
});

describe('scheduled monitoring', () => {
  test('disabled connectors are PAUSED and never checked', async () => {
    const svc = await startTestService('health_paused', { ...WORKERS });
    services.push(svc);
    const ed = await editor('t1');
    const up = await upstream();
    const c = (await svc.ok(CREATE, { input: input('Pausable', up, { healthCheckIntervalSec: 1 }) }, ed)).createConnector;
    await waitFor('a scheduled check', async () => (await svc.ok(STATE, { id: c.id }, ed)).connector.syncStatus === 'HEALTHY');
    expect((await svc.ok(TOGGLE, { id: c.id, enabled: false }, ed)).toggleConnector.syncStatus).toBe('PAUSED');
    await sleep(500);
    const seen = up.requests.length;
    await sleep(2500);
    expect(up.requests.length).toBe(seen);
    expect((await svc.ok(CHECK, { id: c.id }, ed)).checkConnectorHealth.syncStatus).toBe('PAUSED');
    expect(up.requests.length).toBe(seen);
  });

  test('a duplicate flood trips the guard: DEGRADED with a clear lastError, then auto-disabled', async () => {
    const svc = await startTestService('health_flood', { ...WORKERS });
    services.push(svc);
    const ed = await editor('t1');
    const up = await upstream(makeRecords(20, 'flood'));
    const c = (await svc.ok(CREATE, { input: input('Flooding SIEM', up, { syncIntervalSec: 1, duplicateFloodRatio: 0.5, duplicateFloodMinRecords: 10, duplicateFloodAutoDisable: true }) }, ed)).createConnector;
    const state = await waitFor('the guard to trip', async () => {
      const s = (await svc.ok(STATE, { id: c.id }, ed)).connector;
      return !s.enabled && s;
    }, 20_000);
    expect(state.enabledReason).toMatch(/duplicate-flood guard: duplicate flood: 100% of 20 records/);
    expect(state.healthHistory[0]).toMatchObject({ to: 'DEGRADED', reason: expect.stringMatching(/duplicate flood/) });
    const [row] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1`, [c.id]);
    expect(row.n).toBe(20);
  });

  test('1,000 enabled connectors against a slow upstream: the concurrency bound holds and every check finishes within the cycle', async () => {
    const svc = await startTestService('health_scale', { RUN_WORKERS: 'false', JOB_POLL_MS: '500' });
    services.push(svc);
    const up = await upstream();
    up.delayMs = 100;
    const config = JSON.stringify({ baseUrl: up.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 60, maxPages: 1, recordsPointer: '', timeoutMs: 15000, tokenAuthMethod: 'client_secret_basic', apiKeyHeader: 'X-API-Key' });
    await svc.dataSource.query(
      `INSERT INTO connectors (id, tenant_id, name, type, provider, config, enabled, sync_status, enabled_changed_at, created_at, updated_at)
       SELECT 'cnn_' || lpad(upper(to_hex(g)), 26, '0'), 'scale', 'c' || g, 'CUSTOM_API', 'generic_rest', $1::jsonb, true, 'PENDING', now(), now(), now()
       FROM generate_series(1, 1000) g`,
      [config],
    );
    const concurrency = 20;
    const worker = new HealthWorker(svc.services.queue, svc.services.health, svc.services.ingestion, svc.app.log as never, concurrency, 30);
    const started = Date.now();
    await worker.start();
    try {
      await waitFor('every connector checked', async () => {
        const [{ n }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM connectors WHERE tenant_id = 'scale' AND last_checked_at IS NOT NULL`);
        return n === 1000;
      }, 60_000, 250);
    } finally {
      await worker.stop();
    }
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(60_000); // the cycle: healthCheckIntervalSec
    expect(up.maxInFlight).toBeLessThanOrEqual(concurrency);
    expect(up.maxInFlight).toBeGreaterThan(1);
    const [{ healthy }] = await svc.dataSource.query(`SELECT count(*)::int AS healthy FROM connectors WHERE tenant_id = 'scale' AND sync_status = 'HEALTHY'`);
    expect(healthy).toBe(1000);
  }, 90_000);
});
