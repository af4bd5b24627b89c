/**
 * The scheduler under load (issue 25): a connector switched on, or created enabled, jumps a large
 * overdue backlog (its first check and sync are `PRIORITY.urgent`); an upstream that never answers
 * holds one check slot of a process and the other connectors' checks keep their schedule.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { editor } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { CREATE } from '../helpers/fixtures.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { QUEUES } from '../../src/jobs/job-queue.js';

const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled, reason: "scheduler test") { enabled } }`;
const SUMMARY = `{ connectorHealthSummary { enabled checksOverdue oldestCheckWaitSec } }`;

const upstreams: RestUpstream[] = [];
const services: TestService[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const svc of services) await svc.close();
  for (const up of upstreams) await up.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

/** A loopback upstream that accepts every request and never answers; counts the requests open at once. */
async function neverAnswering(): Promise<{ url: string; open: () => number; mostOpen: () => number; requests: () => number }> {
  let open = 0;
  let mostOpen = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    open += 1;
    mostOpen = Math.max(mostOpen, open);
    res.once('close', () => (open -= 1));
    req.resume();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, open: () => open, mostOpen: () => mostOpen, requests: () => requests };
}

async function upstream(records = makeRecords(3)): Promise<RestUpstream> {
  const up = await startRestUpstream({ records });
  upstreams.push(up);
  return up;
}

function input(name: string, up: RestUpstream, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { name, provider: 'generic_rest', config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 3600, ...config }, ...extra };
}

/** Has the connector's first check been recorded, and a sync run succeeded? */
async function checkedAndSynced(svc: TestService, id: string): Promise<boolean> {
  const [row] = await svc.dataSource.query(
    `SELECT c.last_checked_at IS NOT NULL AS checked, EXISTS (SELECT 1 FROM ingestion_runs r WHERE r.connector_id = c.id AND r.status = 'SUCCEEDED') AS synced FROM connectors c WHERE c.id = $1`,
    [id],
  );
  return row.checked && row.synced;
}

test('a connector switched on, or created enabled, is checked and synced within 5 s behind a backlog of thousands of overdue checks and syncs; syncConnector too', async () => {
  const svc = await startTestService('scheduler_backlog', { RUN_WORKERS: 'true', JOB_POLL_MS: '500' });
  services.push(svc);
  const ed = await editor('t1');
  // The backlog: 2,000 enabled connectors of another tenant on an upstream answering in 500 ms, each
  // with a check and a sync overdue by ten minutes, far more than the workers finish in a minute.
  const busy = await upstream();
  busy.delayMs = 500;
  const config = JSON.stringify({ baseUrl: busy.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 3600 });
  const ids: string[] = (
    await svc.dataSource.query(
      `INSERT INTO connectors (id, tenant_id, name, type, provider, config, enabled, sync_status, run_state, enabled_changed_at, last_record_at, created_at, updated_at)
       SELECT 'cnn_BACKLOG' || lpad(g::text, 6, '0'), 'backlog', 'b' || g, 'CUSTOM_API', 'generic_rest', $1::jsonb, true, 'HEALTHY', 'RUNNING',
              now() - interval '3 hours', now(), now() - interval '3 hours', now()
         FROM generate_series(1, 2000) g RETURNING id`,
      [config],
    )
  ).map((r: { id: string }) => r.id);
  // Last checked two hours ago with a one-hour interval: overdue (older than 1.5 × the interval).
  await svc.dataSource.query(`UPDATE connectors SET last_checked_at = now() - interval '2 hours' WHERE tenant_id = 'backlog'`);
  const overdue = new Date(Date.now() - 600_000);
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500);
    await svc.services.queue.boss.insert(slice.map((id) => ({ name: QUEUES.health, data: { connectorId: id }, singletonKey: id, startAfter: overdue })) as never);
    await svc.services.queue.boss.insert(slice.map((id) => ({ name: QUEUES.sync, data: { connectorId: id, tenantId: 'backlog', trigger: 'schedule' }, singletonKey: id, startAfter: overdue })) as never);
  }
  await waitFor('the workers busy with the backlog', () => busy.requests.length >= 50, 30_000);

  const quick = await upstream(makeRecords(5, 'quick'));
  const off = (await svc.ok(CREATE, { input: input('Switched back on', quick) }, ed)).createConnector;
  const enabledAt = Date.now();
  await svc.ok(TOGGLE, { id: off.id, enabled: true }, ed);
  const created = (await svc.ok(CREATE, { input: input('Created enabled', quick, {}, { enabled: true }) }, ed)).createConnector;
  await waitFor('the switched-on and the new connector checked and synced', async () => (await checkedAndSynced(svc, off.id)) && (await checkedAndSynced(svc, created.id)), 5_000, 100);
  const tookSec = (Date.now() - enabledAt) / 1000;
  expect(tookSec).toBeLessThan(5);
  // The backlog was still there: they went ahead of it, not after it.
  const [left] = await svc.dataSource.query(
    `SELECT count(*) FILTER (WHERE name = $1)::int AS checks, count(*) FILTER (WHERE name = $2)::int AS syncs FROM pgboss.job WHERE singleton_key = ANY($3) AND state < 'active' AND start_after <= now()`,
    [QUEUES.health, QUEUES.sync, ids],
  );
  expect(left.syncs).toBeGreaterThan(1000);
  expect(left.checks).toBeGreaterThan(100);
  const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [off.id]);
  expect(n).toBe(5);
  // syncConnector jumps it too.
  const requestedAt = Date.now();
  const run = (await svc.ok(`mutation($id: ID!) { syncConnector(id: $id) { id status } }`, { id: off.id }, ed)).syncConnector;
  expect(run.status).toBe('QUEUED');
  await waitFor('the requested run finished', async () => {
    const [row] = await svc.dataSource.query('SELECT status FROM ingestion_runs WHERE id = $1', [run.id]);
    return row.status === 'SUCCEEDED';
  }, 5_000, 100);
  expect((Date.now() - requestedAt) / 1000).toBeLessThan(5);
  // The backlog's tenant sees its checks overdue and how long the oldest has waited; t1 sees none of it.
  const backlogAdmin = await editor('backlog');
  const backlog = (await svc.ok(SUMMARY, {}, backlogAdmin)).connectorHealthSummary;
  expect(backlog.enabled).toBe(2000);
  expect(backlog.checksOverdue).toBeGreaterThan(100);
  expect(backlog.checksOverdue).toBeLessThanOrEqual(2000);
  expect(backlog.oldestCheckWaitSec).toBeGreaterThanOrEqual(590);
  const mine = (await svc.ok(SUMMARY, {}, ed)).connectorHealthSummary;
  expect(mine).toEqual({ enabled: 2, checksOverdue: 0, oldestCheckWaitSec: 0 });
}, 90_000);

test('an upstream that never answers holds one check slot: the other connectors keep their schedule', async () => {
  const INTERVAL = 6;
  const svc = await startTestService('scheduler_hang', { RUN_WORKERS: 'true', JOB_POLL_MS: '500', HEALTH_CONCURRENCY: '4', HEALTH_CHECK_TIMEOUT_MS: '4000' });
  services.push(svc);
  const ed = await editor('t1');
  const hanging = await neverAnswering();
  const fast = await upstream();
  // Eight connectors on the upstream that never answers, switched on without a sync (it would hang
  // in a sync slot and be counted at the upstream too): their checks only, due now.
  const stuck: string[] = (
    await svc.dataSource.query(
      `INSERT INTO connectors (id, tenant_id, name, type, provider, config, enabled, sync_status, run_state, enabled_changed_at, created_at, updated_at)
       SELECT 'cnn_HANGING' || g, 't1', 'Hanging ' || g, 'CUSTOM_API', 'generic_rest', $1::jsonb, true, 'PENDING', 'RUNNING', now(), now(), now()
         FROM generate_series(1, 8) g RETURNING id`,
      [JSON.stringify({ baseUrl: hanging.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: INTERVAL })],
    )
  ).map((r: { id: string }) => r.id);
  await svc.services.queue.boss.insert(stuck.map((id) => ({ name: QUEUES.health, data: { connectorId: id }, singletonKey: id })) as never);
  const fine: string[] = [];
  for (let i = 0; i < 10; i++) fine.push((await svc.ok(CREATE, { input: input(`Fast ${i}`, fast, { healthCheckIntervalSec: INTERVAL }, { enabled: true }) }, ed)).createConnector.id);
  // Past the first cycle: every fast connector has been checked once.
  await waitFor('every fast connector checked', async () => {
    const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM connectors WHERE id = ANY($1) AND last_checked_at IS NOT NULL', [fine]);
    return n === fine.length;
  }, 30_000);
  const from = new Date();
  const hangingBefore = hanging.requests();
  await sleep(4 * INTERVAL * 1000);
  const to = new Date();
  const checks: Array<{ key: string; at: Date }> = await svc.dataSource.query(
    `SELECT singleton_key AS key, completed_on AS at FROM pgboss.job WHERE name = $1 AND state = 'completed' AND singleton_key = ANY($2) AND completed_on BETWEEN $3 AND $4 ORDER BY completed_on`,
    [QUEUES.health, fine, from, to],
  );
  // Each fast connector: checked throughout the window, never more than 1.5 × its interval apart.
  for (const id of fine) {
    const times = [from.getTime(), ...checks.filter((c) => c.key === id).map((c) => new Date(c.at).getTime()), to.getTime()];
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1.5 * INTERVAL * 1000);
  }
  // The host that never answers was asked again and again, but never more than once at a time, and
  // its checks timed out.
  expect(hanging.requests() - hangingBefore).toBeGreaterThanOrEqual(2);
  expect(hanging.mostOpen()).toBe(1);
  const [{ failing }] = await svc.dataSource.query(`SELECT count(*)::int AS failing FROM connectors WHERE id = ANY($1) AND consecutive_errors > 0`, [stuck]);
  expect(failing).toBeGreaterThan(0);
}, 120_000);
