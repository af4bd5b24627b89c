/**
 * `npm run demo` as a newcomer runs it, with a short flood delay: built as `predemo` builds it,
 * started in a process group of its own (as a terminal starts it), read from its output: the
 * token and GraphiQL URL it prints work, the twelve connectors exist and ingest, the flood gets
 * the SIEM switched off by SYSTEM (audit trail and health history), and SIGINT to the group (a
 * terminal's Ctrl-C) ends every process it started.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'connector-demo-'));
let demo: ChildProcess;
let output = '';
let exited: Promise<number | null>;

/** Resolves with the first match of `pattern` in the demo's output, once it appears. */
function waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolvePromise, reject) => {
    const check = () => {
      const match = output.match(pattern);
      if (match) {
        clearInterval(timer);
        clearTimeout(limit);
        resolvePromise(match);
      }
    };
    const timer = setInterval(check, 100);
    const limit = setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`no ${pattern} in the demo's output within ${timeoutMs} ms:\n${output.slice(-3000)}`));
    }, timeoutMs);
    check();
  });
}

/** Processes whose command line names the demo's data directory (the embedded PostgreSQL's). */
function leftovers(): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(dataDir) || (demo.pid !== undefined && new RegExp(`^\\s*${demo.pid}\\s`).test(line)));
}

beforeAll(() => {
  // What `npm run predemo` does.
  execFileSync('npm', ['run', 'predemo', '--silent'], { cwd: root, stdio: 'ignore' });
  demo = spawn(process.execPath, ['dist/replicas/demo.js'], {
    cwd: root,
    detached: true,
    env: { ...process.env, PORT: '0', DEMO_UPSTREAM_PORT: '0', DEMO_DATA_DIR: dataDir, DEMO_FLOOD_AFTER_SEC: '3', DEMO_WATCH_MS: '500', DATABASE_URL: '' },
  });
  demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  exited = new Promise((resolveExit) => demo.on('exit', (code) => resolveExit(code)));
}, 120_000);

afterAll(() => {
  if (demo?.pid && demo.exitCode === null) process.kill(-demo.pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

test('prints a working token and URL, seeds twelve ingesting connectors, the flood is switched off by SYSTEM, Ctrl-C leaves nothing', async () => {
  const [, url] = await waitForOutput(/GraphiQL:\s+(http:\/\/\S+\/graphql)/, 60_000);
  const [, token] = await waitForOutput(/Token \(admin, tenant "demo", 8 hours\): (\S+)/, 5_000);
  const [, siemId] = await waitForOutput(/query SiemTrail \{\n\s+connector\(id: "(cnn_\w+)"\)/, 5_000);
  expect(output).toMatch(/# 1\. The health board/);
  expect(output).toMatch(/mutation Toggle \{\n\s+toggleConnector\(id: "cnn_\w+", enabled: true/);
  expect(output.match(/test passed: 4\/4 steps/g)).toHaveLength(12);

  // The operator console, served from dist/ by a real development process (docs/console.md): the
  // page and every asset answer, and its development sign-in mints a token the API accepts.
  const [, consoleUrl] = await waitForOutput(/Console:\s+(http:\/\/\S+\/console) \("Sign in for development"/, 5_000);
  const page = await (await fetch(consoleUrl!)).text();
  const assets = [...page.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  expect(assets).toHaveLength(5);
  for (const asset of assets) expect([asset, (await fetch(new URL(asset, consoleUrl!))).status]).toEqual([asset, 200]);
  const minted = await fetch(`${consoleUrl}/dev-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'demo', role: 'viewer' }) });
  expect(minted.status).toBe(200);
  const viewerToken = ((await minted.json()) as { token: string }).token;
  const me = await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${viewerToken}` }, body: JSON.stringify({ query: '{ me { tenantId roles canWrite } connectors(first: 1) { totalCount } }' }) });
  expect(((await me.json()) as { data: unknown }).data).toEqual({ me: { tenantId: 'demo', roles: ['viewer'], canWrite: false }, connectors: { totalCount: 12 } });

  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(url!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data;
  };

  await waitForOutput(/flood\s+started/, 30_000);
  await waitForOutput(/audit\s+.*CONNECTOR_DISABLED by SYSTEM/, 60_000);
  await waitForOutput(/flood\s+stopped/, 5_000);

  const board = await gql(`{ connectors(first: 20) { totalCount nodes { id provider enabled metrics { totalSynced } } } }`);
  expect(board.connectors.totalCount).toBe(12);
  for (const c of board.connectors.nodes) {
    expect(c.metrics.totalSynced).toBeGreaterThan(0);
    expect(c.enabled).toBe(c.id !== siemId);
  }
  const siem = (
    await gql(`query($id: ID!) { connector(id: $id) { provider enabled syncStatus healthHistory(first: 5) { to reason }
      auditEvents(first: 10) { nodes { eventType actorType reason } } } }`, { id: siemId })
  ).connector;
  expect(siem).toMatchObject({ provider: 'splunk', enabled: false, syncStatus: 'PAUSED' });
  expect(siem.auditEvents.nodes[0]).toMatchObject({ eventType: 'CONNECTOR_DISABLED', actorType: 'SYSTEM', reason: expect.stringMatching(/duplicate-flood guard/) });
  expect(siem.auditEvents.nodes.map((e: { eventType: string }) => e.eventType)).toEqual(expect.arrayContaining(['CONNECTOR_CREATED', 'CONNECTOR_TESTED', 'CONNECTOR_ENABLED']));
  expect(siem.healthHistory[0]).toMatchObject({ to: 'DEGRADED', reason: expect.stringMatching(/duplicate flood/) });

  // The one-click toggle brings it back.
  const back = await gql(`mutation($id: ID!) { toggleConnector(id: $id, enabled: true, reason: "upstream fixed") { enabled enabledChangedBy } }`, { id: siemId });
  expect(back.toggleConnector).toEqual({ enabled: true, enabledChangedBy: 'demo-admin' });

  // Ctrl-C in a terminal: SIGINT to the whole process group.
  expect(leftovers().length).toBeGreaterThan(1);
  process.kill(-demo.pid!, 'SIGINT');
  expect(await exited).toBe(0);
  await new Promise((r) => setTimeout(r, 500));
  expect(leftovers()).toEqual([]);
  expect(output).toMatch(/stop\s+stopped/);
}, 150_000);
