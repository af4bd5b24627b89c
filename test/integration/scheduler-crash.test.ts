/**
 * Crash recovery across processes (issue 25): three `npm run worker` processes on one PostgreSQL,
 * one killed with SIGKILL mid-run. Its leases stop being renewed; within a lease (JOB_TIMEOUT_SEC)
 * the others take its jobs over, mark its runs interrupted and resume them from their committed
 * cursors; a connector disabled meanwhile settles to STOPPED once its run is stale (STALE_RUN_SEC).
 * The lease is 15 s here (30 s by default): the bound asserted is the 60 s.
 */
import { spawn, execSync, type ChildProcess } from 'node:child_process';
import { editor } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { CREATE } from '../helpers/fixtures.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { sleep, waitFor } from '../helpers/wait.js';

const LEASE = { JOB_POLL_MS: '500', JOB_TIMEOUT_SEC: '15', STALE_RUN_SEC: '15' };
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled, reason: "crash test") { runState } }`;
const CONNECTORS = 6;
const RECORDS = 60;

const upstreams: RestUpstream[] = [];
const children: ChildProcess[] = [];
let api: TestService;

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await api?.close();
  for (const up of upstreams) await up.close();
});

function startWorker(databaseUrl: string): ChildProcess {
  const child = spawn(process.execPath, ['dist/src/worker.js'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, EGRESS_ALLOW: '127.0.0.1/32', LOG_LEVEL: 'warn', ...LEASE },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

interface Run {
  id: string;
  connector_id: string;
  status: string;
  worker_id: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  records_written: number;
  duplicates: number;
  error: string | null;
}

test('three workers, one killed with SIGKILL mid-run: its runs are taken over within 60 s and resumed from their cursors, none overlaps, none is stuck, nothing is written twice', async () => {
  execSync('npm run build --silent', { stdio: 'ignore' });
  api = await startTestService('scheduler_crash', { RUN_WORKERS: 'false', ...LEASE });
  const ed = await editor('t1');
  const ids: string[] = [];
  for (let i = 0; i < CONNECTORS; i++) {
    const up = await startRestUpstream({ records: makeRecords(RECORDS, `crash${i}`), pageSize: 10 });
    up.delayMs = 400;
    upstreams.push(up);
    const input = { name: `Crash ${i}`, provider: 'generic_rest', enabled: true, config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 5 } };
    ids.push((await api.ok(CREATE, { input }, ed)).createConnector.id);
  }
  const workers = [startWorker(api.databaseUrl), startWorker(api.databaseUrl), startWorker(api.databaseUrl)];
  const runs = async (): Promise<Run[]> =>
    api.dataSource.query(`SELECT id, connector_id, status, worker_id, started_at, finished_at, records_written, duplicates, error FROM ingestion_runs WHERE connector_id = ANY($1) ORDER BY started_at NULLS LAST, id`, [ids]);
  const pidOf = (workerId: string | null) => Number(workerId?.split(':')[1]);

  // Mid-run: the worker with the most runs in flight, each with a batch committed and more to read.
  const victim = await waitFor(
    'a worker with two runs in flight, each past its first batch',
    async () => {
      const running = (await runs()).filter((r) => r.status === 'RUNNING');
      const [{ written }] = await api.dataSource.query(`SELECT count(*)::int AS written FROM ingested_records WHERE connector_id = ANY($1)`, [ids]);
      if (written < 20) return null;
      for (const worker of workers) {
        const mine = running.filter((r) => pidOf(r.worker_id) === worker.pid);
        const [{ n }] = await api.dataSource.query(`SELECT count(DISTINCT connector_id)::int AS n FROM ingested_records WHERE connector_id = ANY($1)`, [mine.map((r) => r.connector_id)]);
        if (mine.length >= 2 && n === mine.length) return { worker, runs: mine };
      }
      return null;
    },
    30_000,
    50,
  );
  victim.worker.kill('SIGKILL');
  await new Promise((r) => victim.worker.once('exit', r));
  const killedAt = Date.now();
  const committedAtKill = new Map<string, number>();
  for (const run of victim.runs) {
    const [{ n }] = await api.dataSource.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [run.connector_id]);
    committedAtKill.set(run.connector_id, n);
    expect(n).toBeLessThan(RECORDS); // killed mid-run
  }
  // One of the killed runs' connectors is disabled meanwhile: STOPPING until its run is stale.
  const [disabled, ...resumed] = victim.runs.map((r) => r.connector_id);
  expect((await api.ok(TOGGLE, { id: disabled, enabled: false }, ed)).toggleConnector.runState).toBe('STOPPING');

  // Taken over within 60 s: every other killed run's connector has a run by a surviving worker that read to the end.
  await waitFor(
    'the killed runs taken over and finished by the surviving workers',
    async () => {
      const all = await runs();
      return resumed.every((id) => all.some((r) => r.connector_id === id && r.status === 'SUCCEEDED' && pidOf(r.worker_id) !== victim.worker.pid));
    },
    60_000,
    250,
  );
  const takeoverSec = (Date.now() - killedAt) / 1000;
  expect(takeoverSec).toBeLessThan(60);
  await waitFor('the disabled connector STOPPED', async () => {
    const [row] = await api.dataSource.query('SELECT run_state FROM connectors WHERE id = $1', [disabled]);
    return row.run_state === 'STOPPED';
  }, 60_000 - (Date.now() - killedAt), 250);
  // Health checks go on for every enabled connector, the killed worker's included.
  const since = new Date(Date.now());
  await waitFor('a health check of every enabled connector after the takeover', async () => {
    const [{ n }] = await api.dataSource.query('SELECT count(*)::int AS n FROM connectors WHERE id = ANY($1) AND enabled AND last_checked_at > $2', [ids, since]);
    return n === CONNECTORS - 1;
  }, 30_000, 250);

  const all = await runs();
  for (const run of victim.runs) {
    const killed = all.find((r) => r.id === run.id)!;
    expect(killed).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/interrupted/) });
  }
  for (const id of ids) {
    const mine = all.filter((r) => r.connector_id === id && r.started_at);
    // Never two runs of one connector at once.
    for (let i = 1; i < mine.length; i++) {
      expect(mine[i - 1]!.finished_at).not.toBeNull();
      expect(mine[i]!.started_at!.getTime()).toBeGreaterThanOrEqual(mine[i - 1]!.finished_at!.getTime());
    }
    const [{ n }] = await api.dataSource.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [id]);
    if (id === disabled) {
      expect(n).toBe(committedAtKill.get(id)); // nothing after the disable
      continue;
    }
    // Everything read once: the records, and the runs' written counts add up to them.
    expect(n).toBe(RECORDS);
    expect(mine.reduce((sum, r) => sum + r.records_written, 0)).toBe(RECORDS);
    if (committedAtKill.has(id)) {
      const after = mine.find((r) => r.status === 'SUCCEEDED')!;
      expect(after).toMatchObject({ records_written: RECORDS - committedAtKill.get(id)!, duplicates: 0 });
    }
  }
  // Nothing stuck: no run left RUNNING, no connector STOPPING, no job held by the dead process.
  await sleep(1000);
  const [{ running }] = await api.dataSource.query(`SELECT count(*)::int AS running FROM ingestion_runs WHERE connector_id = ANY($1) AND status = 'RUNNING'`, [ids]);
  expect(running).toBe(0);
  const [{ stopping }] = await api.dataSource.query(`SELECT count(*)::int AS stopping FROM connectors WHERE id = ANY($1) AND run_state = 'STOPPING'`, [ids]);
  expect(stopping).toBe(0);
  const [{ lapsed }] = await api.dataSource.query(`SELECT count(*)::int AS lapsed FROM pgboss.job WHERE state = 'active' AND started_on + expire_in < now()`);
  expect(lapsed).toBe(0);
}, 150_000);
