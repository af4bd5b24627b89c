/**
 * The operator console as served (src/console/console.routes.ts, docs/console.md): the page under
 * the service's CSP (scripts from this origin only, no inline script), its assets content-addressed
 * and cached for good, nothing when CONSOLE=false, the `me` query it builds its buttons on, and the
 * development sign-in endpoint: absent unless the process is a development one, a POST of JSON only,
 * minting exactly what `npm run token` mints, from loopback only, rate-limited.
 */
import { mkdtempSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import { startService, type Service } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config.js';
import { DEV_TOKENS_PER_MINUTE, fromLoopback } from '../../src/console/console.routes.js';
import { createLogger } from '../../src/server/logger.js';
import { createTestDatabase } from '../helpers/database.js';
import { LogCapture } from '../helpers/logs.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { admin, editor, TEST_JWT_SECRET, viewer } from '../helpers/tokens.js';

let svc: TestService;
let off: TestService;
let dev: Service;

/**
 * A service as a development process has it: dev sign-in on. A development process has no
 * AUTH_JWT_SECRET and no DATABASE_URL (config.ts); the test keeps both (a test database, the test
 * secret) and turns the switch the configuration computes.
 */
async function startDevService(host = '127.0.0.1'): Promise<Service> {
  const config = loadConfig({
    DATABASE_URL: await createTestDatabase(`console-dev-${host === '127.0.0.1' ? 'local' : 'open'}`),
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'connector-console-')),
    PORT: '0',
    HOST: host,
    RUN_WORKERS: 'false',
    LOG_LEVEL: 'warn',
    // Believes X-Forwarded-For from anyone: the peer check must still read the socket.
    TRUST_PROXY: 'true',
  });
  config.http.consoleDevSignIn = true;
  return startService(config, createLogger(config.logLevel, new LogCapture()));
}

beforeAll(async () => {
  svc = await startTestService('console');
  off = await startTestService('console-off', { CONSOLE: 'false' });
  dev = await startDevService();
});
afterAll(async () => {
  await svc?.close();
  await off?.close();
  await dev?.close();
});

function assetsOf(page: string): string[] {
  return [...page.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
}

function settingsOf(page: string): { devSignIn: boolean } {
  return JSON.parse(/<script type="application\/json" id="console-settings">([^<]*)<\/script>/.exec(page)![1]!);
}

async function mint(url: string, body: unknown, contentType = 'application/json'): Promise<Response> {
  return fetch(`${url}/console/dev-token`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('the console page', () => {
  test('/console is an HTML page under a CSP without inline scripts, its scripts from this origin', async () => {
    const res = await fetch(`${svc.url}/console`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    const page = await res.text();
    expect(page).toContain('<html lang="en">');
    // Every script is a file of this origin; the only inline block is JSON data, which never runs.
    const scripts = [...page.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
    for (const [, attrs, body] of scripts) {
      if (attrs!.includes('type="application/json"')) continue;
      expect(attrs).toMatch(/src="\/console\/assets\/[0-9a-f]{16}\/[a-z-]+\.js"/);
      expect(body).toBe('');
    }
    expect(scripts.map(([, attrs]) => /src="[^"]*\/([^/"]+)"/.exec(attrs!)?.[1]).filter(Boolean)).toEqual(['react.js', 'react-dom.js', 'htm.js', 'console.js']);
    expect(page).not.toMatch(/https?:\/\//);
    expect(settingsOf(page)).toEqual({ devSignIn: false });
    expect((await fetch(`${svc.url}/console/`)).status).toBe(200);
  });

  test('assets are served from node_modules and the repository, content-addressed and immutable', async () => {
    const page = await (await fetch(`${svc.url}/console`)).text();
    const assets = assetsOf(page);
    expect(assets).toHaveLength(5);
    for (const path of assets) {
      const res = await fetch(`${svc.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toMatch(path.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    const app = assets.find((p) => p.endsWith('/console.js'))!;
    // No private API: the console calls POST /graphql and, in development, the sign-in endpoint; nothing else.
    const code = await (await fetch(`${svc.url}${app}`)).text();
    expect([...new Set([...code.matchAll(/fetch\(([^,)]+)/g)].map((m) => m[1]))].sort()).toEqual(["'/console/dev-token'", "'/graphql'"]);
    expect(code).not.toMatch(/XMLHttpRequest|WebSocket|EventSource|sendBeacon|https?:\/\//);
    // An old hash, an unknown file, a path outside: 404.
    expect((await fetch(`${svc.url}${app.replace(/[0-9a-f]{16}/, '0000000000000000')}`)).status).toBe(404);
    expect((await fetch(`${svc.url}/console/assets/${app.split('/')[3]}/package.json`)).status).toBe(404);
    expect((await fetch(`${svc.url}/console/assets/${app.split('/')[3]}/..%2F..%2Fconfig.ts`)).status).toBe(404);
  });

  test('CONSOLE=false: no page, no assets, no dev sign-in', async () => {
    const page = await (await fetch(`${svc.url}/console`)).text();
    expect((await fetch(`${off.url}/console`)).status).toBe(404);
    for (const path of assetsOf(page)) expect((await fetch(`${off.url}${path}`)).status).toBe(404);
    expect((await mint(off.url, { tenant: 't1', role: 'admin' })).status).toBe(404);
    // GraphQL is untouched.
    expect((await off.gql('{ me { tenantId } }', {}, await viewer('t-off'))).body.data.me.tenantId).toBe('t-off');
  });
});

describe('me: what the console builds its buttons on', () => {
  test.each([
    ['viewer', viewer, ['connectors:read'], false, false],
    ['editor', editor, ['connectors:read', 'connectors:write'], true, false],
    ['admin', admin, ['connectors:read', 'connectors:write', 'connectors:admin'], true, true],
  ] as const)('%s', async (role, mintFor, scopes, canWrite, canAdmin) => {
    const data = await svc.ok('{ me { tenantId subject email actorType appId roles scopes canWrite canAdmin } }', {}, await mintFor('t-me'));
    expect(data.me).toEqual({ tenantId: 't-me', subject: `${role}-t-me`, email: `${role}-t-me@t-me.example`, actorType: 'USER', appId: null, roles: [role], scopes, canWrite, canAdmin });
  });

  test('without a token: UNAUTHENTICATED', async () => {
    const res = await svc.gql('{ me { tenantId } }');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('development sign-in (POST /console/dev-token)', () => {
  test('absent where the process is not a development one (a configured secret and database)', async () => {
    expect((await mint(svc.url, { tenant: 't1', role: 'admin' })).status).toBe(404);
  });

  test('a development process offers it on the page and mints a token the API accepts, as npm run token does', async () => {
    expect(settingsOf(await (await fetch(`${dev.url}/console`)).text())).toEqual({ devSignIn: true });
    const res = await mint(dev.url, { tenant: 'acme', role: 'viewer' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { token: string; tenant: string; role: string };
    expect(body).toMatchObject({ tenant: 'acme', role: 'viewer', expiresIn: '8h' });
    const me = await fetch(`${dev.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${body.token}` },
      body: JSON.stringify({ query: '{ me { tenantId subject email roles canWrite } }' }),
    });
    expect(((await me.json()) as any).data.me).toEqual({ tenantId: 'acme', subject: 'dev-acme', email: 'dev@acme.example', roles: ['viewer'], canWrite: false });
    // The viewer it minted may not write: the API refuses, whatever a client shows.
    const create = await fetch(`${dev.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${body.token}` },
      body: JSON.stringify({ query: 'mutation { createConnector(input: { name: "x", provider: "generic_rest", config: { baseUrl: "https://api.example.com" } }) { id } }' }),
    });
    expect(((await create.json()) as any).errors[0].extensions.code).toBe('FORBIDDEN');
  });

  test('bad input gets clear errors; only a JSON POST', async () => {
    const cases: Array<[unknown, string, number, RegExp]> = [
      [{ tenant: 'acme', role: 'owner' }, 'application/json', 400, /role must be one of viewer, editor, admin/],
      [{ tenant: '../etc', role: 'admin' }, 'application/json', 400, /tenant must be 1 to 64/],
      [{ role: 'admin' }, 'application/json', 400, /tenant must be/],
      ['tenant=acme&role=admin', 'text/plain', 415, /application\/json/],
    ];
    for (const [body, type, status, message] of cases) {
      const res = await mint(dev.url, body, type);
      expect(res.status).toBe(status);
      expect(JSON.stringify(await res.json())).toMatch(message);
    }
    expect((await fetch(`${dev.url}/console/dev-token`)).status).toBe(404);
  });

  test('only for a browser on this machine: the socket\'s peer address decides, not a forwarded one', async () => {
    const peer = (remoteAddress: string | undefined) => ({ socket: { remoteAddress } }) as Parameters<typeof fromLoopback>[0];
    for (const local of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(fromLoopback(peer(local))).toBe(true);
    for (const remote of ['10.1.2.3', '192.168.1.20', '::ffff:10.0.0.1', 'fe80::1', '', undefined]) expect(fromLoopback(peer(remote))).toBe(false);
    // Over a real socket from a non-loopback address of this machine, when it has one.
    const address = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!address) return;
    const open = await startDevService('0.0.0.0');
    try {
      const port = new URL(open.url).port;
      const res = await fetch(`http://${address}:${port}/console/dev-token`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '127.0.0.1' }, body: JSON.stringify({ tenant: 'acme', role: 'admin' }) });
      expect(res.status).toBe(403);
      expect(JSON.stringify(await res.json())).toMatch(/this machine only/);
    } finally {
      await open.close();
    }
  });

  test(`rate-limited: at most ${DEV_TOKENS_PER_MINUTE} a minute from one address`, async () => {
    let last: Response | undefined;
    for (let i = 0; i <= DEV_TOKENS_PER_MINUTE; i++) last = await mint(dev.url, { tenant: 'acme', role: 'admin' });
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
