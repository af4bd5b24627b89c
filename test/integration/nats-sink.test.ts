/**
 * SINK=nats against a real `nats-server -js` (Debian's package; .ci/run installs it): records a run
 * writes are published to JetStream once, acknowledged before the batch commits, and a worker that
 * dies between the acknowledgement and the commit replays the batch without a second copy reaching
 * a consumer.
 */
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ConfigError, loadConfig } from '../../src/config.js';
import { NatsDelivery, recordSubject, subjectToken } from '../../src/modules/ingestion/nats-delivery.js';
import { createLogger } from '../../src/server/logger.js';
import { CREATE } from '../helpers/fixtures.js';
import { NatsServer, natsServerInstalled, StreamWatcher, type SeenMessage } from '../helpers/nats.js';
import { freePort } from '../helpers/ports.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { editor } from '../helpers/tokens.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { sleep, waitFor } from '../helpers/wait.js';

const STREAM = 'CONNECTOR_RECORDS';
const WORKER_ENV = { RUN_WORKERS: 'true', JOB_POLL_MS: '500', JOB_MAINTENANCE_SEC: '1', JOB_TIMEOUT_SEC: '3', STALE_RUN_SEC: '2' };

if (!natsServerInstalled()) throw new Error('nats-server is not installed: apt-get install -y nats-server (.ci/run does it)');

let nats: NatsServer;
let nc: NatsConnection;
let watcher: StreamWatcher;
let ed: string;
const upstreams: RestUpstream[] = [];
const services: TestService[] = [];
const children: ChildProcess[] = [];

async function upstream(records: Record<string, unknown>[], pageSize = 10): Promise<RestUpstream> {
  const up = await startRestUpstream({ records, pageSize });
  upstreams.push(up);
  return up;
}

async function service(label: string, env: Record<string, string> = {}): Promise<TestService> {
  const svc = await startTestService(label, { SINK: 'nats', NATS_URL: nats.url, ...env });
  services.push(svc);
  return svc;
}

function restConnector(name: string, up: RestUpstream) {
  return { name, provider: 'generic_rest', enabled: true, config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 3600 } };
}

async function runs(svc: TestService, connectorId: string): Promise<Array<{ status: string; records_read: number; records_written: number; duplicates: number; error: string | null }>> {
  return svc.dataSource.query(`SELECT status, records_read, records_written, duplicates, error FROM ingestion_runs WHERE connector_id = $1 AND status <> 'QUEUED' ORDER BY id`, [connectorId]);
}

async function succeeded(svc: TestService, connectorId: string, count = 1, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${count} succeeded run(s)`, async () => (await runs(svc, connectorId)).filter((r) => r.status === 'SUCCEEDED').length >= count, timeoutMs);
}

async function storedIds(svc: TestService, connectorId: string): Promise<string[]> {
  const rows: Array<{ id: string }> = await svc.dataSource.query('SELECT id FROM ingested_records WHERE connector_id = $1 ORDER BY id', [connectorId]);
  return rows.map((r) => r.id);
}

/** Each record once, on its subject, with its id as Nats-Msg-Id and the body fields. */
function expectOncePerRecord(seen: SeenMessage[], tenantId: string, connectorId: string, ids: string[], upstreamIds: string[]): void {
  expect(seen.map((m) => m.msgId).sort()).toEqual([...ids].sort());
  expect(new Set(seen.map((m) => m.msgId)).size).toBe(seen.length);
  for (const m of seen) {
    expect(m.subject).toBe(recordSubject(tenantId, connectorId, m.body.kind));
    expect(m.body).toMatchObject({ id: m.msgId, tenantId, connectorId, kind: expect.any(String), data: expect.objectContaining({ id: expect.any(String) }) });
    expect(Object.keys(m.body).sort()).toEqual(['connectorId', 'data', 'id', 'kind', 'observedAt', 'tenantId']);
  }
  expect(seen.map((m) => m.body.data.id).sort()).toEqual([...upstreamIds].sort());
}

beforeAll(async () => {
  nats = await new NatsServer().start();
  ed = await editor('t1');
  // The service creates the stream at start-up; the consumer side waits for it.
  await service('nats_sink', WORKER_ENV);
  nc = await nats.client();
  watcher = await new StreamWatcher(nc, STREAM).start();
}, 30_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await watcher?.stop();
  await nc?.close();
  for (const svc of services) await svc.close();
  for (const up of upstreams) await up.close();
  await nats?.close();
}, 30_000);

describe('SINK=nats', () => {
  test('configuration: SINK=nats needs NATS_URL; the stream is created with our subjects, duplicate window and max age', async () => {
    expect(() => loadConfig({ SINK: 'nats' })).toThrow(ConfigError);
    expect(() => loadConfig({ SINK: 'nats' })).toThrow(/NATS_URL/);
    expect(() => loadConfig({ SINK: 'kafka' })).toThrow(/SINK must be one of postgres, nats/);
    expect(loadConfig({}).nats).toBeNull();
    expect(loadConfig({ SINK: 'nats', NATS_URL: 'nats://u:p%40ss@nats.internal:4222' }).nats).toMatchObject({
      servers: ['nats://nats.internal:4222'],
      user: 'u',
      pass: 'p@ss',
      stream: 'CONNECTOR_RECORDS',
      maxAgeDays: 7,
      duplicateWindowSec: 3600,
    });
    expect(subjectToken('acme.corp *>')).toBe('acme%2Ecorp%20%2A%3E');
    expect(subjectToken('t1')).toBe('t1');
    expect(subjectToken('')).toBe('%');

    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(STREAM);
    expect(info.config).toMatchObject({ subjects: ['connectors.>'], duplicate_window: 3600 * 1e9, max_age: 7 * 86_400 * 1e9 });
    // a stream that drifted from what we own is brought back at the next start-up, other settings kept
    await jsm.streams.update(STREAM, { ...info.config, max_age: 86_400 * 1e9, duplicate_window: 60 * 1e9, max_msgs: 1_000_000 });
    const delivery = new NatsDelivery(loadConfig({ SINK: 'nats', NATS_URL: nats.url }).nats!, createLogger('silent'));
    await delivery.connect();
    await delivery.close();
    expect((await jsm.streams.info(STREAM)).config).toMatchObject({ subjects: ['connectors.>'], duplicate_window: 3600 * 1e9, max_age: 7 * 86_400 * 1e9, max_msgs: 1_000_000 });
  });

  test('start-up fails with a clear message, and no password, when NATS is unreachable', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await startTestService('nats_down', { ...WORKER_ENV, SINK: 'nats', NATS_URL: `nats://connector:${nats.password}@127.0.0.1:${port}` }).then(
      () => null,
      (e: Error) => e,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(error?.message).toMatch(new RegExp(`cannot connect to NATS at nats://127\\.0\\.0\\.1:${port} \\(NATS_URL\\)`));
    expect(error?.message).not.toContain(nats.password);
  });

  test('`npm run worker` does not start without NATS: exit 1 with a clear message, no password', async () => {
    execSync('npm run build --silent', { stdio: 'ignore' });
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/src/worker.js'], {
      env: { ...process.env, DATABASE_URL: services[0]!.databaseUrl, LOG_LEVEL: 'info', SINK: 'nats', NATS_URL: `nats://connector:${nats.password}@127.0.0.1:${port}`, ...WORKER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const code = await Promise.race([new Promise((r) => child.once('exit', r)), sleep(15_000).then(() => 'still running')]);
    expect(code).toBe(1);
    expect(output).toContain(`cannot connect to NATS at nats://127.0.0.1:${port} (NATS_URL)`);
    expect(output).not.toContain(nats.password);
  });

  test('a run delivers each written record once, on its subject; the same records again are not published again', async () => {
    const svc = services[0]!;
    const records = makeRecords(25, 'nats');
    const up = await upstream(records, 10);
    const c = (await svc.ok(CREATE, { input: restConnector('NATS feed', up) }, ed)).createConnector;
    await succeeded(svc, c.id);
    const ids = await storedIds(svc, c.id);
    expect(ids).toHaveLength(25);
    await waitFor('25 messages', () => watcher.of(c.id).length >= 25, 10_000);
    expectOncePerRecord(watcher.of(c.id), 't1', c.id, ids, records.map((r) => r.id as string));
    // pages were read one by one (3 batches), and each batch was acknowledged before its commit
    expect((await runs(svc, c.id))[0]).toMatchObject({ status: 'SUCCEEDED', records_read: 25, records_written: 25, duplicates: 0 });

    // the next run is served the same records: duplicates in PostgreSQL, nothing published
    await svc.ok(`mutation($id: ID!) { syncConnector(id: $id) { id } }`, { id: c.id }, ed);
    await succeeded(svc, c.id, 2);
    expect((await runs(svc, c.id))[1]).toMatchObject({ status: 'SUCCEEDED', records_read: 25, records_written: 0, duplicates: 25 });
    await sleep(500);
    expect(watcher.of(c.id)).toHaveLength(25);
  });

  test('NATS down: the batch is not committed, the run ends interrupted with a readable error and no secret, health untouched; once NATS is back the next run delivers it', async () => {
    const svc = services[0]!;
    const records = makeRecords(12, 'outage');
    const up = await upstream(records, 5);
    await nats.stop();
    const c = (await svc.ok(CREATE, { input: restConnector('Outage feed', up) }, ed)).createConnector;
    await waitFor('a failed run', async () => (await runs(svc, c.id)).find((r) => r.status === 'FAILED'), 20_000);
    const [failed] = await runs(svc, c.id);
    expect(failed!.error).toMatch(/^interrupted: NATS delivery failed: 5 of 5 records not acknowledged by stream CONNECTOR_RECORDS: .*; the next run resumes from the last committed cursor$/);
    expect(failed!.records_written).toBe(0);
    // A stream outage says nothing about the connector: its health is untouched.
    const [health] = await svc.dataSource.query('SELECT consecutive_errors, sync_status FROM connectors WHERE id = $1', [c.id]);
    expect(health.consecutive_errors).toBe(0);
    expect(health.sync_status).not.toMatch(/DEGRADED|FAILING/);
    expect(await storedIds(svc, c.id)).toEqual([]);
    const [cursor] = await svc.dataSource.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1', [c.id]);
    expect(cursor).toBeUndefined();
    expect(failed!.error).not.toContain(nats.password);
    expect(svc.logs.text()).not.toContain(nats.password);

    await nats.start();
    await waitFor('the client to reconnect', () => svc.logs.lines.some((l) => l.includes('reconnected to NATS')), 15_000);
    await waitFor('the consumer to resume', async () => {
      await svc.ok(`mutation($id: ID!) { syncConnector(id: $id) { id } }`, { id: c.id }, ed).catch(() => undefined);
      return (await runs(svc, c.id)).some((r) => r.status === 'SUCCEEDED');
    }, 20_000, 1000);
    await waitFor('12 messages', () => watcher.of(c.id).length >= 12, 10_000);
    expectOncePerRecord(watcher.of(c.id), 't1', c.id, await storedIds(svc, c.id), records.map((r) => r.id as string));
  });

  test('a worker killed between the publish acknowledgement and the commit: the batch is replayed, each record reaches the consumer once', async () => {
    execSync('npm run build --silent', { stdio: 'ignore' });
    const api = await service('nats_crash', { ...WORKER_ENV, RUN_WORKERS: 'false' });
    const records = makeRecords(30, 'crash');
    const up = await upstream(records, 10);
    up.delayMs = 300;
    // The cursor of the first batch cannot be written while this transaction holds a SHARE lock on
    // ingestion_cursors (reading it is allowed): the child's batch transaction stops exactly after
    // its records were upserted and JetStream acknowledged them, before its cursor and its commit.
    const blocker = new pg.Client({ connectionString: api.databaseUrl });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE ingestion_cursors IN SHARE MODE');
    const c = (await api.ok(CREATE, { input: restConnector('Crashy NATS feed', up) }, ed)).createConnector;
    const spawnWorker = () => {
      const child = spawn(process.execPath, ['dist/src/worker.js'], {
        env: { ...process.env, DATABASE_URL: api.databaseUrl, EGRESS_ALLOW: '127.0.0.1/32', LOG_LEVEL: 'warn', SINK: 'nats', NATS_URL: nats.url, ...WORKER_ENV },
        stdio: 'ignore',
      });
      children.push(child);
      return child;
    };
    let child = spawnWorker();
    try {
      await waitFor('the first batch acknowledged by JetStream', () => watcher.of(c.id).length >= 10, 20_000);
      await waitFor('the child waiting to write the cursor', async () => {
        const rows = await blocker.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND ltrim(query) ILIKE 'INSERT INTO ingestion_cursors%'`);
        return rows.rowCount === 1;
      }, 5_000);
      const cursors = await blocker.query('SELECT 1 FROM ingestion_cursors WHERE connector_id = $1', [c.id]);
      expect(cursors.rowCount).toBe(0);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    // The dead worker's transaction never commits: its backend finds the client gone and rolls back.
    await waitFor('the killed batch rolled back', async () => {
      const [{ n }] = await api.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND ltrim(query) ILIKE 'INSERT INTO ingestion_cursors%'`);
      return n === 0;
    }, 5_000);
    expect(await storedIds(api, c.id)).toEqual([]);
    const [cursor] = await api.dataSource.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1', [c.id]);
    expect(cursor).toBeUndefined();
    const firstBatch = watcher.of(c.id).map((m) => m.msgId);
    expect(firstBatch).toHaveLength(10);

    // Restart: the next run starts again from no cursor, so the first batch is read and published again.
    up.delayMs = 0;
    child = spawnWorker();
    await succeeded(api, c.id, 1, 30_000);
    const all = await runs(api, c.id);
    expect(all[0]).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/interrupted/) });
    expect(all.find((r) => r.status === 'SUCCEEDED')).toMatchObject({ records_read: 30, records_written: 30, duplicates: 0 });
    const ids = await storedIds(api, c.id);
    expect(ids).toHaveLength(30);
    expect(ids).toEqual(expect.arrayContaining(firstBatch as string[]));
    await waitFor('30 messages', () => watcher.of(c.id).length >= 30, 10_000);
    await sleep(500);
    // the replayed 10 were dropped by the broker (same Nats-Msg-Id within the duplicate window)
    expectOncePerRecord(watcher.of(c.id), 't1', c.id, ids, records.map((r) => r.id as string));
    const stored = await (await jetstreamManager(nc)).streams.info(STREAM, { subjects_filter: `connectors.t1.${c.id}.>` });
    expect(Object.values(stored.state.subjects ?? {}).reduce((n, v) => n + v, 0)).toBe(30);
    // `npm run worker` stops cleanly on SIGTERM, its NATS connection closed
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
