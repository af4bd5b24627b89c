/**
 * `npm run bench:hostile`: the hostile requests of the hardening issue against the real service,
 * and /healthz while 20 clients send allowed heavy queries. Figures, not tests: it writes the
 * section between `hostile:begin` and `hostile:end` of bench/RESULTS.md.
 *
 * The service runs in a child process (bench/service-child.ts) with the default query limits and
 * the rate limits turned off (RATE_LIMIT_*=0), so what is measured is the cost control alone, the
 * worst case; its RSS is read from /proc every 20 ms throughout. Server time is the latency seen on
 * loopback by a client on the same machine (an upper bound of the server's own time).
 *
 * Options: --repeat=20 (requests per attack), --load-duration=10 (seconds of heavy load), --no-write
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { mintDevToken } from '../src/auth/dev-tokens.js';
import { BENCH_JWT_SECRET, benchServiceEnv, forkChild, startBenchDatabase, writeResultsSection, type Child, option } from './infra.js';
import { runLoad } from './load.js';
import { BENCH_GROUPS, BENCH_SUBJECT, BIG_TENANT, seed } from './seed.js';
import { fmt, markdownTable, percentile } from './stats.js';

const REPEAT = option('repeat', 20);
const LOAD_SEC = option('load-duration', 10);
const WRITE = !process.argv.includes('--no-write');
const log = (line: string) => console.log(`[hostile ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Resident set size of a process in MB, from /proc. */
function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN; // the process is gone
  }
}

/** Samples a process's RSS every 20 ms until stopped; returns the peak. */
function watchRss(pid: number): { stop(): number } {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid) || 0)), 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMb(pid));
    },
  };
}

interface Attack {
  id: string;
  what: string;
  body: string;
  token?: string;
  /** Requests sent at once per repetition (the introspection flood sends four together). */
  parallel: number;
}

interface AttackFigure {
  id: string;
  what: string;
  bodyKb: number;
  requests: number;
  status: string;
  code: string;
  statements: string;
  p50: number;
  max: number;
  rssPeakMb: number;
}

async function send(url: string, body: string, token?: string): Promise<{ ms: number; status: number; code: string; statements: string }> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
  } catch {
    // A server may answer 413 and close the connection before the client finished sending.
    return { ms: performance.now() - started, status: 0, code: 'connection closed while sending', statements: '-' };
  }
  const json = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
  return {
    ms: performance.now() - started,
    status: response.status,
    code: json.errors?.[0]?.extensions?.code ?? 'none',
    statements: response.headers.get('x-sql-statements') ?? '?',
  };
}

async function runAttack(service: Child, attack: Attack): Promise<AttackFigure> {
  const watch = watchRss(service.process.pid!);
  try {
    return await repeatAttack(service, attack, watch);
  } finally {
    watch.stop();
  }
}

async function repeatAttack(service: Child, attack: Attack, watch: { stop(): number }): Promise<AttackFigure> {
  // One unmeasured request first: the first of a kind pays for compiling its code paths.
  await send(service.url, attack.body, attack.token);
  const times: number[] = [];
  const statuses = new Set<string>();
  const codes = new Set<string>();
  const statements = new Set<string>();
  for (let i = 0; i < REPEAT; i++) {
    const results = await Promise.all(Array.from({ length: attack.parallel }, () => send(service.url, attack.body, attack.token)));
    for (const r of results) {
      times.push(r.ms);
      statuses.add(String(r.status));
      codes.add(r.code);
      statements.add(r.statements);
    }
  }
  const sorted = Float64Array.from(times).sort();
  return {
    id: attack.id,
    what: attack.what,
    bodyKb: Buffer.byteLength(attack.body) / 1024,
    requests: times.length,
    status: [...statuses].join(', '),
    code: [...codes].join(', '),
    statements: [...statements].join(', '),
    p50: percentile(sorted, 50),
    max: sorted[sorted.length - 1]!,
    rssPeakMb: watch.stop(),
  };
}

/** /healthz round trips, one every `everyMs`, until `until` resolves. */
async function pollHealth(url: string, everyMs: number, until: Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const started = performance.now();
    await (await fetch(`${url}/healthz`)).text();
    times.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return times;
}

function summary(times: number[]): { p50: number; p99: number; max: number; n: number } {
  const sorted = Float64Array.from(times).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN, n: times.length };
}

const HEAVY_QUERY = `{ connectors(first: 200) { nodes { id name type provider enabled syncStatus runState tags version createdAt updatedAt
  application { id name } auditEvents(first: 10) { nodes { id eventType occurredAt } } } } }`;

async function main(): Promise<void> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const work = join(root, 'bench', '.work');
  const db = await startBenchDatabase(work, process.env.DATABASE_URL);
  const service = await forkChild(join(root, 'dist/bench/service-child.js'), benchServiceEnv(db.url, work));
  try {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const seeded = await seed(client);
    await client.end();
    log(`seeded ${seeded.connectors} connectors; service at ${service.url}`);
    const viewer = await mintDevToken({ tenantId: BIG_TENANT, subject: BENCH_SUBJECT, roles: ['viewer'], groups: BENCH_GROUPS }, { secret: BENCH_JWT_SECRET, expiresIn: '2h' });
    const reps = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Connector', id: seeded.visibleIds[i % seeded.visibleIds.length] }));
    const entities = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Connector { application { connectors(first: 200) { nodes { id } } } } } }';
    const attacks: Attack[] = [
      { id: 'depth3', what: 'connectors → application → connectors, three levels of first: 200', parallel: 1, token: viewer, body: JSON.stringify({ query: '{ connectors(first: 200) { nodes { application { connectors(first: 200) { nodes { application { connectors(first: 200) { nodes { id } } } } } } } } }' }) },
      { id: 'aliases', what: '1,000 aliases of connectors(first: 200)', parallel: 1, token: viewer, body: JSON.stringify({ query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: connectors(first: 200) { nodes { id } }`).join(' ')} }` }) },
      { id: 'entities10k', what: '10,000 _entities representations, each selecting application { connectors(first: 200) }', parallel: 1, token: viewer, body: JSON.stringify({ query: entities, variables: { r: reps(10_000) } }) },
      { id: 'entities100k', what: '100,000 _entities representations', parallel: 1, token: viewer, body: JSON.stringify({ query: entities, variables: { r: reps(100_000) } }) },
      { id: 'nesting60', what: 'AuditEvent.connector ↔ Connector.auditEvents nested 60 deep', parallel: 1, token: viewer, body: JSON.stringify({ query: `{ auditEvents(first: 1) { nodes { ${'connector { auditEvents(first: 1) { nodes { '.repeat(30)} id ${'} } }'.repeat(30)} } } }` }) },
      { id: 'introspection', what: 'no token: four requests at once of 16,000 aliased __schema', parallel: 4, body: JSON.stringify({ query: `{ ${Array.from({ length: 16_000 }, (_, i) => `s${i}: __schema { queryType { name } }`).join(' ')} }` }) },
    ];
    const rssStart = rssMb(service.process.pid!);
    const figures: AttackFigure[] = [];
    for (const attack of attacks) {
      const figure = await runAttack(service, attack);
      figures.push(figure);
      log(`${attack.id}: ${figure.code} status ${figure.status}, SQL ${figure.statements}, p50 ${fmt(figure.p50, 1)} ms, max ${fmt(figure.max, 1)} ms, RSS peak ${fmt(figure.rssPeakMb)} MB`);
    }

    const heavyCheck = await send(service.url, JSON.stringify({ query: HEAVY_QUERY }), viewer);
    if (heavyCheck.code !== 'none') throw new Error(`the heavy query is refused (${heavyCheck.code}): it must be an allowed one`);
    log(`heavy query: answered with ${heavyCheck.statements} statements`);
    const idle = summary(await pollHealth(service.url, 25, new Promise((r) => setTimeout(r, 3000))));
    const watch = watchRss(service.process.pid!);
    const load = runLoad({ url: service.url, connections: 20, durationSec: LOAD_SEC, token: viewer, body: JSON.stringify({ query: HEAVY_QUERY }), verifyBody: (b) => !b.includes('"errors"') });
    const loaded = summary(await pollHealth(service.url, 25, load));
    const heavy = await load;
    const loadRssPeak = watch.stop();
    log(`/healthz idle p50 ${fmt(idle.p50, 1)} p99 ${fmt(idle.p99, 1)}; under 20 heavy clients p50 ${fmt(loaded.p50, 1)} p99 ${fmt(loaded.p99, 1)} max ${fmt(loaded.max, 1)} ms; heavy ${fmt(heavy.rps, 1)} req/s, ${heavy.mismatches + heavy.non2xx} failed; RSS peak ${fmt(loadRssPeak)} MB`);

    const lines = [
      `### Hostile requests (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.availableParallelism()} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`,
      '',
      `Default query limits, rate limits off (the worst case). ${REPEAT} repetitions of each attack after one unmeasured warm-up request; times are loopback round trips, an upper bound of server time. Service RSS at the start: ${fmt(rssStart)} MB.`,
      '',
      ...markdownTable(
        ['attack', 'body KB', 'requests', 'HTTP', 'code', 'SQL statements', 'p50 ms', 'max ms', 'RSS peak MB'],
        figures.map((f) => [f.what, fmt(f.bodyKb), String(f.requests), f.status, f.code, f.statements, fmt(f.p50, 1), fmt(f.max, 1), fmt(f.rssPeakMb)]),
        (c) => [1, 2, 6, 7, 8].includes(c),
      ),
      '',
      `/healthz while 20 clients send an allowed heavy query (${LOAD_SEC} s; \`connectors(first: 200)\` with 11 fields, \`application\` and \`auditEvents(first: 10)\` per node; ${fmt(heavy.rps, 1)} req/s, p50 ${fmt(heavy.p50)} ms, ${heavy.mismatches + heavy.non2xx + heavy.errors} failed):`,
      '',
      ...markdownTable(
        ['/healthz', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
        [
          ['idle (the floor)', String(idle.n), fmt(idle.p50, 1), fmt(idle.p99, 1), fmt(idle.max, 1)],
          ['under the heavy load', String(loaded.n), fmt(loaded.p50, 1), fmt(loaded.p99, 1), fmt(loaded.max, 1)],
        ],
      ),
      '',
      `Service RSS peak under the heavy load: ${fmt(loadRssPeak)} MB.`,
    ];
    if (WRITE) {
      writeResultsSection(join(root, 'bench', 'RESULTS.md'), 'hostile', lines);
      log('bench/RESULTS.md updated');
    } else {
      console.log(lines.join('\n'));
    }
  } finally {
    await service.stop();
    await db.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
