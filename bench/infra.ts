/** Processes and the database of a benchmark run: PostgreSQL, the service and floor children, CPU accounting. */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/server/logger.js';

export interface BenchDatabase {
  /** The fresh database the service, the floor and the seed share. */
  url: string;
  embedded: boolean;
  /** The embedded postmaster, for CPU accounting of its backends. */
  postmasterPid: number | null;
  version: string;
  stop(): Promise<void>;
}

/**
 * Embedded PostgreSQL under `workDir/pg-data` (kept between runs: only the first run pays initdb),
 * or the server of DATABASE_URL; either way a new, empty database for this run.
 */
export async function startBenchDatabase(workDir: string, databaseUrl: string | undefined): Promise<BenchDatabase> {
  const logger = createLogger('warn');
  const dataDir = join(workDir, 'pg-data');
  const embedded = databaseUrl ? undefined : await startEmbeddedPostgres(dataDir, logger);
  const serverUrl = databaseUrl ?? embedded!.url;
  const name = embedded ? 'connector_bench' : `connector_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  let version: string;
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let postmasterPid: number | null = null;
  const pidFile = join(dataDir, 'pg', 'postmaster.pid');
  if (embedded && existsSync(pidFile)) postmasterPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return {
    url: url.toString(),
    embedded: Boolean(embedded),
    postmasterPid,
    version,
    async stop() {
      if (!embedded) {
        const client = new pg.Client({ connectionString: serverUrl });
        await client.connect();
        try {
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await client.end();
        }
      }
      await embedded?.stop();
    },
  };
}

export interface Child {
  process: ChildProcess;
  url: string;
  startMs: number;
  /** Sends a message and waits for the reply of `replyType`. */
  request<T>(message: object, replyType: string): Promise<T>;
  stop(): Promise<void>;
}

/** Forks a compiled bench module that answers {type:'ready', url} over IPC. */
export async function forkChild(modulePath: string, env: Record<string, string>, execArgv: string[] = []): Promise<Child> {
  const child = fork(modulePath, [], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ url: string; ms: number }>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${modulePath} exited with ${code} before it was ready`));
    child.once('exit', onExit);
    child.on('message', function onMessage(message: { type: string; url: string; ms: number; message?: string }) {
      if (message.type === 'ready') {
        child.off('exit', onExit);
        child.off('message', onMessage);
        resolve(message);
      } else if (message.type === 'error') reject(new Error(message.message));
    });
  });
  return {
    process: child,
    url: ready.url,
    startMs: ready.ms,
    request<T>(message: object, replyType: string): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const onMessage = (reply: { type: string; message?: string }) => {
          if (reply.type === replyType) {
            child.off('message', onMessage);
            resolve(reply as T);
          } else if (reply.type === 'error') {
            child.off('message', onMessage);
            reject(new Error(reply.message));
          }
        };
        child.on('message', onMessage);
        child.send(message);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const TICKS_PER_SECOND = 100;

/** utime + stime of a process in ms (Linux /proc), or 0 once it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU ms of the postmaster's children (its backends and background workers), by pid. */
export function postgresCpuMs(postmasterPid: number | null): Map<number, number> {
  const byPid = new Map<number, number>();
  if (!postmasterPid) return byPid;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== postmasterPid) continue;
      byPid.set(Number(entry), ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
    } catch {
      // gone between readdir and read
    }
  }
  return byPid;
}

/** CPU ms the postmaster's children spent between two snapshots (new processes count from zero). */
export function postgresCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

/** One GraphQL POST, as autocannon sends it. */
export async function postGraphQL(baseUrl: string, body: object, token: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text) as HttpResult['json'] };
}

/** The fixed HS256 secret of every benchmark's service and floor. */
export const BENCH_JWT_SECRET = 'bench-secret-that-is-at-least-32-characters-long-0123';

/**
 * The environment of the service under measurement: no background workers, statement counts on,
 * quiet logs, a free loopback port, and rate limits off (one caller sends thousands of requests a
 * second here; the limits would answer most of them).
 */
export function benchServiceEnv(databaseUrl: string, workDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    RUN_WORKERS: 'false',
    EXPOSE_SQL_COUNT: 'true',
    LOG_LEVEL: 'warn',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: join(workDir, 'service-data'),
    RATE_LIMIT_PER_PRINCIPAL: '0',
    RATE_LIMIT_PER_TENANT: '0',
    RATE_LIMIT_ANONYMOUS: '0',
    // Like the rate limits: the floors keep no metrics, so neither does the measured service.
    METRICS: 'off',
    ...extra,
  };
}

/**
 * Replaces the generated section `name` of bench/RESULTS.md (between `<!-- name:begin` and
 * `<!-- name:end -->`, the hand-written text around it kept), or appends it.
 */
export function writeResultsSection(file: string, name: string, lines: string[]): void {
  const text = readFileSync(file, 'utf8');
  const endMarker = `<!-- ${name}:end -->`;
  const body = [`<!-- ${name}:begin: generated by \`npm run bench:${name}\`; everything up to ${name}:end is replaced on each run -->`, ...lines, endMarker].join('\n');
  const begin = text.indexOf(`<!-- ${name}:begin`);
  const end = text.indexOf(endMarker);
  writeFileSync(file, begin >= 0 && end > begin ? text.slice(0, begin) + body + text.slice(end + endMarker.length) : `${text.trimEnd()}\n\n${body}\n`);
}

/** A numeric command-line option `--name=value`, or `fallback`. */
export function option(name: string, fallback: number): number {
  return Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
}
