/**
 * Scenario (f): `node dist/src/main.js` (what `npm start` runs after its build) on a free port
 * until /readyz answers 200. Cold: a fresh DATA_DIR, so initdb, the first start of the embedded
 * PostgreSQL, CREATE DATABASE and every migration are inside the figure. Warm: the same DATA_DIR
 * again (PostgreSQL start only, migrations already applied).
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

export interface ColdStartFigure {
  kind: 'cold' | 'warm';
  round: number;
  /** Spawn → first 200 from /readyz. */
  readyMs: number;
  /** From the service's own log: embedded PostgreSQL ready (initdb included when cold). */
  postgresMs: number | null;
  /** From the service's own log: startService, from config to listening. */
  startServiceMs: number | null;
  /** SIGTERM → exit (graceful stop, embedded PostgreSQL stopped). */
  stopMs: number;
  /** Resident set size at readiness, MB. */
  rssMb: number | null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function rssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 1024) : null;
  } catch {
    return null;
  }
}

async function startOnce(root: string, dataDir: string, kind: 'cold' | 'warm', round: number, jwtSecret: string): Promise<ColdStartFigure> {
  const port = await freePort();
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'DATABASE_URL') env[key] = value;
  Object.assign(env, { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', AUTH_JWT_SECRET: jwtSecret });
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let postgresMs: number | null = null;
  let startServiceMs: number | null = null;
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    remember(line);
    try {
      const entry = JSON.parse(line) as { msg?: string; ms?: number };
      if (entry.msg === 'embedded PostgreSQL ready') postgresMs = entry.ms ?? null;
      else if (entry.msg?.startsWith('connector subgraph ready')) startServiceMs = entry.ms ?? null;
    } catch {
      // not a log line
    }
  });
  createInterface({ input: child.stderr! }).on('line', remember);
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => ((exited = true), resolve(code))));
  let readyMs = NaN;
  const deadline = started + 120_000;
  while (performance.now() < deadline && !exited) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) {
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const rss = rssMb(child.pid!);
  if (!Number.isFinite(readyMs)) {
    child.kill('SIGKILL');
    throw new Error(`${kind} start did not become ready:\n${tail.join('\n')}`);
  }
  const stopping = performance.now();
  child.kill('SIGTERM');
  await exit;
  return { kind, round, readyMs, postgresMs, startServiceMs, stopMs: performance.now() - stopping, rssMb: rss };
}

/** `rounds` × (cold on a fresh DATA_DIR, then warm on the same one). */
export async function runColdStarts(root: string, workDir: string, rounds: number, jwtSecret: string): Promise<ColdStartFigure[]> {
  const figures: ColdStartFigure[] = [];
  for (let round = 1; round <= rounds; round++) {
    const dataDir = join(workDir, `cold-start-${round}`);
    rmSync(dataDir, { recursive: true, force: true });
    figures.push(await startOnce(root, dataDir, 'cold', round, jwtSecret));
    figures.push(await startOnce(root, dataDir, 'warm', round, jwtSecret));
    rmSync(dataDir, { recursive: true, force: true });
  }
  return figures;
}
