/**
 * `npm run bench:scale`: how many health checks and syncs the workers complete per minute against
 * the number of enabled connectors, for one and for several `npm run worker` processes on one
 * PostgreSQL, and whether every connector is checked on time. Figures, not tests: writes the section
 * between `scale:begin` and `scale:end` of bench/RESULTS.md.
 *
 * Each scenario (connectors × processes):
 * - a fresh database in an embedded PostgreSQL of its own (bench/.work/scale), migrated, with N
 *   enabled generic_rest connectors of one tenant (health check every --interval s, default 60; sync
 *   every --sync-interval s, default 300, the README's default) pointing at a fast loopback upstream
 *   served by this process (`GET /items`: one record);
 * - the fleet as it is once it has been running: each connector's next check queued at a random
 *   instant of the coming interval (and its last check one interval before), its next sync at a
 *   random instant of the coming sync interval;
 * - P worker processes (`node dist/src/worker.js`, the README's defaults otherwise) started at once;
 *   after --warm s, the completed checks and syncs are counted over --measure s, with how late each
 *   check started against the instant it was due (`started_on - start_after` of its job), and at the
 *   end the share of connectors whose last check is within 1.5 × and 1 × the interval.
 *
 * Options: --connectors=1000,5000,10000 --processes=1,3 --interval=60 --sync-interval=300
 *          --warm=60 --measure=120 --no-write --activity (prints the statements PostgreSQL is busy with)
 *          --worker-env=HEALTH_CONCURRENCY=12,INGEST_CONCURRENCY=4 (the workers' settings other than the defaults)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import 'reflect-metadata';
import { openDatabase } from '../src/db/data-source.js';
import { QUEUES, JobQueue } from '../src/jobs/job-queue.js';
import { createLogger } from '../src/server/logger.js';
import { BENCH_JWT_SECRET, option, postgresCpuDelta, postgresCpuMs, processCpuMs, startBenchDatabase, writeResultsSection } from './infra.js';
import { fmt, markdownTable, percentile } from './stats.js';

const list = (name: string, fallback: number[]) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return raw ? raw.split(',').map(Number) : fallback;
};
const CONNECTORS = list('connectors', [1000, 5000, 10000]);
const PROCESSES = list('processes', [1, 3]);
const INTERVAL = option('interval', 60);
const SYNC_INTERVAL = option('sync-interval', 300);
const WARM = option('warm', 60);
const MEASURE = option('measure', 120);
const WRITE = !process.argv.includes('--no-write');
/** --worker-env=HEALTH_CONCURRENCY=12,INGEST_CONCURRENCY=4: settings of the worker processes other than the defaults. */
const WORKER_ENV: Record<string, string> = Object.fromEntries(
  (process.argv.find((a) => a.startsWith('--worker-env='))?.slice('--worker-env='.length) ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
/** --activity: samples pg_stat_activity during the measurement and prints where PostgreSQL spends it. */
const ACTIVITY = process.argv.includes('--activity');
const TENANT = 'bench-scale';
const log = (line: string) => console.log(`[scale ${new Date().toISOString().slice(11, 19)}] ${line}`);

interface Figures {
  connectors: number;
  processes: number;
  checksPerMin: number;
  syncsPerMin: number;
  lateP50: number;
  lateP99: number;
  lateMax: number;
  within15: number;
  within10: number;
  neverChecked: number;
  workerCpu: number;
  pgCpu: number;
  upstreamPerSec: number;
}

/** The fast upstream: every request answered at once with one record. */
async function startUpstream(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const body = JSON.stringify([{ id: 'scale-1', value: 1, seen: '2026-01-01T00:00:00Z' }]);
  const server = createServer((req, res) => {
    requests += 1;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Migrations and queues, then N enabled connectors with their next check and sync spread over the coming interval. */
async function seed(url: string, n: number, upstreamUrl: string): Promise<void> {
  const logger = createLogger('warn');
  const dataSource = await openDatabase({ url, logger });
  const queue = new JobQueue({ url, logger, jobTimeoutSec: 3600, maintenanceIntervalSec: 60, pollingIntervalMs: 2000 });
  await queue.start();
  try {
    const config = { baseUrl: upstreamUrl, path: '/items', healthCheckIntervalSec: INTERVAL, syncIntervalSec: SYNC_INTERVAL };
    await dataSource.query(
      `INSERT INTO connectors (id, tenant_id, name, type, provider, config, enabled, sync_status, run_state, enabled_changed_at, last_record_at, created_at, updated_at)
       SELECT 'cnn_SCALE' || lpad(g::text, 6, '0'), $1, 'Scale ' || g, 'CUSTOM_API', 'generic_rest', $2::jsonb, true, 'HEALTHY', 'RUNNING',
              now() - interval '1 day', now(), now() - interval '1 day', now()
         FROM generate_series(1, $3) g`,
      [TENANT, JSON.stringify(config), n],
    );
    const ids: string[] = (await dataSource.query(`SELECT id FROM connectors WHERE tenant_id = $1 ORDER BY id`, [TENANT])).map((r: { id: string }) => r.id);
    const now = Date.now();
    const checks = ids.map((id) => ({ id, at: new Date(now + Math.random() * INTERVAL * 1000) }));
    for (let i = 0; i < ids.length; i += 1000) {
      const slice = checks.slice(i, i + 1000);
      await queue.boss.insert(slice.map((c) => ({ name: QUEUES.health, data: { connectorId: c.id }, singletonKey: c.id, startAfter: c.at })) as never);
      await queue.boss.insert(ids.slice(i, i + 1000).map((id) => ({ name: QUEUES.sync, data: { connectorId: id, tenantId: TENANT, trigger: 'schedule' }, singletonKey: id, startAfter: new Date(now + Math.random() * SYNC_INTERVAL * 1000) })) as never);
    }
    // The last check one interval before the next one: a connector checked on time has a recent one.
    await dataSource.query(
      `UPDATE connectors c SET last_checked_at = j.start_after - make_interval(secs => $2) FROM pgboss.job j
        WHERE j.name = $1 AND j.singleton_key = c.id AND j.state = 'created'`,
      [QUEUES.health, INTERVAL],
    );
    await dataSource.query('ANALYZE');
  } finally {
    await queue.stop();
    await dataSource.destroy();
  }
}

function startWorker(root: string, url: string, index: number, logDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'worker.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: url,
      AUTH_JWT_SECRET: BENCH_JWT_SECRET,
      EGRESS_ALLOW: '127.0.0.1/32',
      LOG_LEVEL: 'info',
      DATA_DIR: join(logDir, 'service-data'),
      ...WORKER_ENV,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(join(logDir, `worker-${index}.log`));
  child.stderr!.pipe(out);
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out.write(chunk);
      if (buffer === null) return;
      buffer += chunk.toString();
      if (buffer.includes('workers started')) {
        buffer = null as never;
        resolvePromise(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`worker ${index} exited with ${code} before it started (see ${logDir})`)));
  });
}

/** What the database's active backends run, sampled every 20 ms: the most frequent statements. */
async function sampleActivity(url: string, ms: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const counts = new Map<string, number>();
  let samples = 0;
  const end = Date.now() + ms;
  try {
    while (Date.now() < end) {
      const { rows } = await client.query(
        `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS q, coalesce(wait_event_type, 'CPU') AS w FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND datname = current_database()`,
      );
      samples += 1;
      for (const r of rows) counts.set(`${r.w} | ${r.q}`, (counts.get(`${r.w} | ${r.q}`) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await client.end();
  }
  return [`${samples} samples of active statements:`, ...[...counts].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, v]) => `${(v / samples).toFixed(2)} ${k}`)];
}

async function count(client: pg.Client, from: Date, to: Date): Promise<{ checks: number; syncs: number }> {
  const [{ checks }] = (await client.query(`SELECT count(*)::int AS checks FROM pgboss.job WHERE name = $1 AND state = 'completed' AND completed_on > $2 AND completed_on <= $3`, [QUEUES.health, from, to])).rows;
  const [{ syncs }] = (await client.query(`SELECT count(*)::int AS syncs FROM ingestion_runs WHERE status = 'SUCCEEDED' AND finished_at > $1 AND finished_at <= $2`, [from, to])).rows;
  return { checks, syncs };
}

async function scenario(root: string, serverUrl: string, postmasterPid: number | null, n: number, p: number, upstream: Awaited<ReturnType<typeof startUpstream>>): Promise<Figures> {
  const url = await createDatabase(serverUrl, 'connector_scale');
  await seed(url, n, upstream.url);
  const logDir = join(root, 'bench', '.work', 'scale', `logs-${n}-${p}`);
  mkdirSync(logDir, { recursive: true });
  log(`${n} connectors, ${p} process(es): seeded; starting workers`);
  const workers = await Promise.all(Array.from({ length: p }, (_, i) => startWorker(root, url, i, logDir)));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await new Promise((r) => setTimeout(r, WARM * 1000));
    const from = new Date();
    const cpuBefore = workers.map((w) => processCpuMs(w.pid!));
    const pgBefore = postgresCpuMs(postmasterPid);
    const upstreamBefore = upstream.requests();
    const activity = ACTIVITY ? sampleActivity(url, MEASURE * 1000) : null;
    for (let t = 0; t < MEASURE; t += 30) {
      await new Promise((r) => setTimeout(r, Math.min(30, MEASURE - t) * 1000));
      const so_far = await count(client, from, new Date());
      log(`  +${Math.min(t + 30, MEASURE)} s: ${so_far.checks} checks, ${so_far.syncs} syncs`);
    }
    const to = new Date();
    if (activity) for (const line of await activity) log(`  ${line}`);
    if (activity) {
      const { rows } = await client.query(
        `SELECT name, count(*)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_on - started_on))::float8 AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_on - started_on))::float8 AS p99
           FROM pgboss.job WHERE state = 'completed' AND completed_on > $1 GROUP BY name`,
        [from],
      );
      for (const r of rows) log(`  ${r.name}: ${r.n} jobs, run time p50 ${(r.p50 * 1000).toFixed(0)} ms, p99 ${(r.p99 * 1000).toFixed(0)} ms`);
    }
    const seconds = (to.getTime() - from.getTime()) / 1000;
    const workerCpu = workers.reduce((sum, w, i) => sum + processCpuMs(w.pid!) - cpuBefore[i]!, 0);
    const pgCpu = postgresCpuDelta(pgBefore, postgresCpuMs(postmasterPid));
    const { checks, syncs } = await count(client, from, to);
    const late = (
      await client.query(`SELECT extract(epoch FROM started_on - start_after)::float8 AS late FROM pgboss.job WHERE name = $1 AND started_on > $2 AND started_on <= $3 AND state = 'completed' ORDER BY 1`, [QUEUES.health, from, to])
    ).rows.map((r: { late: number }) => Math.max(0, r.late));
    const [share] = (
      await client.query(
        `SELECT count(*) FILTER (WHERE last_checked_at >= now() - make_interval(secs => $2 * 1.5))::int AS within15,
                count(*) FILTER (WHERE last_checked_at >= now() - make_interval(secs => $2))::int AS within10,
                count(*) FILTER (WHERE last_checked_at IS NULL OR last_checked_at < $3)::int AS never
           FROM connectors WHERE tenant_id = $1 AND enabled`,
        [TENANT, INTERVAL, from],
      )
    ).rows;
    return {
      connectors: n,
      processes: p,
      checksPerMin: (checks / seconds) * 60,
      syncsPerMin: (syncs / seconds) * 60,
      lateP50: percentile(late, 50),
      lateP99: percentile(late, 99),
      lateMax: late.length ? late[late.length - 1]! : NaN,
      within15: share.within15 / n,
      within10: share.within10 / n,
      neverChecked: share.never,
      workerCpu: workerCpu / (seconds * 1000),
      pgCpu: pgCpu / (seconds * 1000),
      upstreamPerSec: (upstream.requests() - upstreamBefore) / seconds,
    };
  } finally {
    await client.end();
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((r) => {
            if (w.exitCode !== null) return r();
            const timer = setTimeout(() => w.kill('SIGKILL'), 15_000);
            w.once('exit', () => (clearTimeout(timer), r()));
            w.kill('SIGTERM');
          }),
      ),
    );
  }
}

async function main(): Promise<void> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const work = join(root, 'bench', '.work', 'scale');
  mkdirSync(work, { recursive: true });
  const db = await startBenchDatabase(work, process.env.DATABASE_URL);
  const serverUrl = (() => {
    const u = new URL(db.url);
    u.pathname = '/postgres';
    return u.toString();
  })();
  const upstream = await startUpstream();
  const figures: Figures[] = [];
  try {
    for (const n of CONNECTORS) {
      for (const p of PROCESSES) {
        const f = await scenario(root, serverUrl, db.postmasterPid, n, p, upstream);
        figures.push(f);
        log(`${n} × ${p}: ${f.checksPerMin.toFixed(0)} checks/min (needed ${((n / INTERVAL) * 60).toFixed(0)}), ${f.syncsPerMin.toFixed(0)} syncs/min, late p50 ${f.lateP50.toFixed(1)} s p99 ${f.lateP99.toFixed(1)} s max ${f.lateMax.toFixed(1)} s, within 1.5× ${(f.within15 * 100).toFixed(1)} %, workers ${(f.workerCpu * 100).toFixed(0)} % CPU, PostgreSQL ${(f.pgCpu * 100).toFixed(0)} %`);
      }
    }
  } finally {
    await upstream.close();
    await db.stop();
  }
  const lines = [
    `### Scheduler throughput (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.availableParallelism()} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`,
    '',
    `Enabled generic_rest connectors against a fast loopback upstream, health check every ${INTERVAL} s, sync every ${SYNC_INTERVAL} s, the fleet's next checks and syncs spread over the coming interval; \`npm run worker\` processes with the README's defaults${Object.keys(WORKER_ENV).length ? ` except ${Object.entries(WORKER_ENV).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}; counted over ${MEASURE} s after ${WARM} s of warm-up. "needed" is connectors × 60 / interval (each next check is queued 1 to 1.1 intervals after the last, so the steady rate is about 5 % lower). "late" is how long after its due instant a check started. "on time" is the share of connectors whose last check is within 1.5 × (and 1 ×) the interval at the end. CPU in cores (1.00 = one core of the two).`,
    '',
    ...markdownTable(
      ['connectors', 'processes', 'checks/min', 'needed', 'syncs/min', 'late p50 s', 'late p99 s', 'late max s', 'on time 1.5×', 'on time 1×', 'workers CPU', 'PostgreSQL CPU'],
      figures.map((f) => [
        fmt(f.connectors),
        String(f.processes),
        fmt(f.checksPerMin),
        fmt((f.connectors / INTERVAL) * 60),
        fmt(f.syncsPerMin),
        f.lateP50.toFixed(1),
        f.lateP99.toFixed(1),
        f.lateMax.toFixed(1),
        `${(f.within15 * 100).toFixed(1)} %`,
        `${(f.within10 * 100).toFixed(1)} %`,
        f.workerCpu.toFixed(2),
        f.pgCpu.toFixed(2),
      ]),
    ),
  ];
  if (WRITE) {
    writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'scale', lines);
    log('bench/RESULTS.md updated');
  } else {
    console.log(lines.join('\n'));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
