/**
 * OWASP API Security Top 10 (2023), API7: Server Side Request Forgery.
 *
 * A connector's baseUrl (and OAuth tokenUrl) is an attacker-chosen URL the service fetches. With
 * no EGRESS_ALLOW, loopback (in every spelling), private, link-local, CGNAT, unspecified and cloud
 * metadata destinations are refused by the egress guard (src/adapters/http/egress.ts) before any
 * socket opens: the CONNECT step fails with EGRESS_DENIED, at once, and the loopback listeners
 * standing behind those addresses see no connection. With only the first hop allow-listed, a
 * redirect to a refused address is refused on the redirect.
 *
 * No test here sends traffic anywhere but 127.0.0.0/8 and ::1: every other address is one the
 * guard must refuse before connecting, and the time bound below would catch an attempt.
 */
import dns from 'node:dns/promises';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { admin, editor } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';

const RESULT = 'success latencyMs message steps { name passed latencyMs message errorCode retryable remediation }';
const TEST_DRAFT = `mutation($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { ${RESULT} } }`;
/**
 * Every test request gives the connector a long budget (TIMEOUT_MS). A refusal before connecting takes no
 * network round trip, so it answers in a fraction of it; a connect attempt to an unroutable address
 * (10.0.0.1, 169.254.169.254) would wait the whole budget. The bound separates the two without depending on
 * how loaded the machine is (a 1 s bound failed once on a busy CI machine).
 */
const TIMEOUT_MS = 30000;
const REFUSAL_MS = TIMEOUT_MS / 3;

interface Listener {
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** A TCP listener that only counts connections: proof that no socket reached it. */
async function listen(host: string, port = 0): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0 };
  const server = net.createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  } as Listener;
}

let strict: TestService; // EGRESS_ALLOW empty
let ed: string;
let v4: Listener; // 127.0.0.1
let v6: Listener; // ::1, same port when possible

beforeAll(async () => {
  strict = await startTestService('security_api7', { EGRESS_ALLOW: '' });
  ed = await editor('ssrf');
  v4 = await listen('127.0.0.1');
  v6 = await listen('::1', v4.port).catch(() => listen('::1'));
});

afterAll(async () => {
  await strict?.close();
  await v4?.close();
  await v6?.close();
});

async function draftTest(svc: TestService, config: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const t0 = performance.now();
  const res = await svc.gql(TEST_DRAFT, { input: { provider: 'generic_rest', config: { timeoutMs: TIMEOUT_MS, ...config }, ...extra } }, ed);
  const elapsed = performance.now() - t0;
  expect(res.body.errors).toBeUndefined();
  return { result: res.body.data.testConnectorConfig, elapsed };
}

function expectRefusedAtConnect(result: any, elapsed: number, host?: string): void {
  expect(result.success).toBe(false);
  const [connect, ...rest] = result.steps;
  expect(connect).toMatchObject({ name: 'CONNECT', passed: false, errorCode: 'EGRESS_DENIED', retryable: false });
  expect(connect.message).toMatch(/^Egress to .+ refused: it resolves to (a|an) .+ address, which connectors may not reach/);
  if (host) expect(connect.message).toContain(`Egress to ${host} refused`);
  expect(connect.remediation).toMatch(/EGRESS_ALLOW/);
  for (const step of rest) expect(step).toMatchObject({ passed: false, latencyMs: null, message: 'not run: CONNECT failed' });
  expect(connect.latencyMs).toBeLessThan(REFUSAL_MS);
  expect(elapsed).toBeLessThan(REFUSAL_MS);
}

describe('API7:2023 Server Side Request Forgery', () => {
  describe('testConnectorConfig without EGRESS_ALLOW refuses before any socket opens', () => {
    // [baseUrl, the host the refusal names, the range it gives]
    const loopback = (): Array<[string, string, RegExp]> => [
      [`http://127.0.0.1:${v4.port}/`, '127.0.0.1', /a loopback address/],
      [`http://127.1:${v4.port}/`, '127.0.0.1', /a loopback address/],
      [`http://2130706433:${v4.port}/`, '127.0.0.1', /a loopback address/],
      [`http://0x7f000001:${v4.port}/`, '127.0.0.1', /a loopback address/],
      [`http://017700000001:${v4.port}/`, '127.0.0.1', /a loopback address/],
      [`http://0177.0.0.1:${v4.port}/`, '127.0.0.1', /a loopback address/],
      [`http://127.0.0.2:${v4.port}/`, '127.0.0.2', /a loopback address/],
      [`http://[::1]:${v6.port}/`, '[::1]', /a loopback address/],
      [`http://[::ffff:127.0.0.1]:${v4.port}/`, '[::ffff:7f00:1]', /a loopback address/],
      [`http://[0:0:0:0:0:ffff:7f00:1]:${v4.port}/`, '[::ffff:7f00:1]', /a loopback address/],
      [`http://[::127.0.0.1]:${v4.port}/`, '[::7f00:1]', /a loopback address/],
      [`http://[64:ff9b::7f00:1]:${v4.port}/`, '[64:ff9b::7f00:1]', /a loopback address/],
      [`http://[2002:7f00:1::1]:${v4.port}/`, '[2002:7f00:1::1]', /a loopback address/],
      [`http://0.0.0.0:${v4.port}/`, '0.0.0.0', / unspecified address/],
      [`http://0:${v4.port}/`, '0.0.0.0', / unspecified address/],
      [`http://[::]:${v6.port}/`, '[::]', / unspecified address/],
      [`http://localhost:${v4.port}/`, 'localhost', /a loopback address/],
      [`http://LOCALHOST:${v4.port}/`, 'localhost', /a loopback address/],
    ];

    test('loopback and its encodings → EGRESS_DENIED at CONNECT; the listeners behind them see no connection', async () => {
      const cases = loopback();
      for (const [baseUrl, host, range] of cases) {
        const { result, elapsed } = await draftTest(strict, { baseUrl, path: '/latest' });
        expectRefusedAtConnect(result, elapsed, host);
        expect([baseUrl, result.steps[0].message]).toEqual([baseUrl, expect.stringMatching(range)]);
      }
      expect(v4.connections).toBe(0);
      expect(v6.connections).toBe(0);
    });

    test.each([
      ['http://10.0.0.1/', '10.0.0.1', /a private address/],
      ['http://10.255.255.254:8080/', '10.255.255.254', /a private address/],
      ['http://172.16.0.1/', '172.16.0.1', /a private address/],
      ['http://172.31.255.1/', '172.31.255.1', /a private address/],
      ['http://192.168.1.1/', '192.168.1.1', /a private address/],
      ['http://[::ffff:10.0.0.1]/', '[::ffff:a00:1]', /a private address/],
      ['http://[fd12:3456::1]/', '[fd12:3456::1]', /a uniqueLocal address/],
      ['http://100.64.0.1/', '100.64.0.1', /a carrierGradeNat address/],
      ['http://169.254.1.1/', '169.254.1.1', /a linkLocal address/],
      ['http://[fe80::1]/', '[fe80::1]', /a linkLocal address/],
      ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', '169.254.169.254', /a cloud metadata address/],
      ['http://[::ffff:169.254.169.254]/latest/meta-data/', '[::ffff:a9fe:a9fe]', /a cloud metadata address/],
      ['http://2852039166/latest/meta-data/', '169.254.169.254', /a cloud metadata address/],
      ['http://[fd00:ec2::254]/latest/meta-data/', '[fd00:ec2::254]', /a cloud metadata address/],
      ['http://169.254.170.2/v2/credentials', '169.254.170.2', /a cloud metadata address/],
      ['http://100.100.100.200/latest/meta-data/', '100.100.100.200', /a cloud metadata address/],
      ['http://168.63.129.16/machine?comp=goalstate', '168.63.129.16', /a cloud metadata address/],
      ['http://192.0.0.192/opc/v1/instance/', '192.0.0.192', /a cloud metadata address/],
      ['https://[fd00:ec2::254]:443/', '[fd00:ec2::254]', /a cloud metadata address/],
    ])('%s → EGRESS_DENIED at CONNECT (%s)', async (url, host, range) => {
      const u = new URL(url);
      const { result, elapsed } = await draftTest(strict, { baseUrl: u.origin, path: u.pathname, ...(u.search ? { query: Object.fromEntries(u.searchParams) } : {}) });
      expectRefusedAtConnect(result, elapsed, host);
      expect(result.steps[0].message).toMatch(range);
    });

    test('metadata.google.internal: refused after resolution if it resolves, else CONNECT fails on the name', async () => {
      let addresses: string[] = [];
      try {
        addresses = (await dns.lookup('metadata.google.internal', { all: true })).map((a) => a.address);
      } catch {
        addresses = [];
      }
      // A resolver answering with a public address would make the service connect to it: refuse to run that.
      for (const address of addresses) expect([address, /^(169\.254\.|127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|fd00:ec2::254$)/.test(address)]).toEqual([address, true]);
      const t0 = performance.now();
      const { result } = await draftTest(strict, { baseUrl: 'http://metadata.google.internal', path: '/computeMetadata/v1/' });
      const elapsed = performance.now() - t0;
      expect(result.success).toBe(false);
      const connect = result.steps[0];
      expect(connect).toMatchObject({ name: 'CONNECT', passed: false });
      if (addresses.length > 0) {
        expectRefusedAtConnect(result, elapsed, 'metadata.google.internal');
      } else {
        expect(['UNREACHABLE', 'TIMEOUT']).toContain(connect.errorCode);
        expect(connect.message).toMatch(/metadata\.google\.internal/);
        for (const step of result.steps.slice(1)) expect(step.passed).toBe(false);
      }
    });

    test('an OAuth tokenUrl at a metadata or loopback address is refused the same way, before the token request', async () => {
      for (const tokenUrl of ['http://169.254.169.254/latest/api/token', `http://127.0.0.1:${v4.port}/token`, `http://[::1]:${v6.port}/token`]) {
        const t0 = performance.now();
        const { result } = await draftTest(
          strict,
          { baseUrl: 'http://169.254.169.254', tokenUrl },
          { authType: 'OAUTH2_CLIENT_CREDENTIALS', credentials: { clientId: 'ssrf-client', clientSecret: 'ssrf-client-secret' } },
        );
        const elapsed = performance.now() - t0;
        expect(result.success).toBe(false);
        expect(result.steps[0]).toMatchObject({ name: 'CONNECT', passed: false, errorCode: 'EGRESS_DENIED', retryable: false });
        expect(result.steps[0].message).toMatch(/refused: it resolves to (a|an) .+ address/);
        expect(elapsed).toBeLessThan(REFUSAL_MS);
      }
      expect(v4.connections).toBe(0);
      expect(v6.connections).toBe(0);
    });

    test('a stored connector at the metadata address: testConnector and checkConnectorHealth are refused too', async () => {
      const ad = await admin('ssrf');
      const created = (await strict.ok(
        `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`,
        { input: { name: 'metadata', provider: 'generic_rest', enabled: true, config: { baseUrl: 'http://169.254.169.254', path: '/latest/meta-data/', timeoutMs: TIMEOUT_MS } } },
        ad,
      )).createConnector;
      const t0 = performance.now();
      const tested = (await strict.ok(`mutation($id: ID!) { testConnector(id: $id) { ${RESULT} } }`, { id: created.id }, ed)).testConnector;
      expectRefusedAtConnect(tested, performance.now() - t0, '169.254.169.254');
      const t1 = performance.now();
      const checked = (await strict.ok(`mutation($id: ID!) { checkConnectorHealth(id: $id) { syncStatus lastError } }`, { id: created.id }, ed)).checkConnectorHealth;
      expect(performance.now() - t1).toBeLessThan(REFUSAL_MS);
      expect(checked.lastError).toMatch(/Egress to 169\.254\.169\.254 refused/);
    });
  });

  describe('an allow-listed first hop that redirects to a refused address', () => {
    let open: TestService; // EGRESS_ALLOW=127.0.0.1/32
    let redirector: http.Server;
    let redirectorUrl = '';
    let hits: string[] = [];
    let other: Listener; // 127.0.0.2: loopback, but outside the /32

    beforeAll(async () => {
      open = await startTestService('security_api7_redirect', { EGRESS_ALLOW: '127.0.0.1/32' });
      other = await listen('127.0.0.2');
      redirector = http.createServer((req, res) => {
        hits.push(req.url ?? '');
        const [, status, ...rest] = (req.url ?? '').split('/');
        const target = decodeURIComponent(rest.join('/'));
        if (status === 'ok') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end('[{"id":1}]');
        }
        res.writeHead(Number(status), { location: target });
        res.end();
      });
      await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
      redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await open?.close();
      await other?.close();
      redirector?.closeAllConnections();
      await new Promise<void>((resolve) => (redirector ? redirector.close(() => resolve()) : resolve()));
    });

    beforeEach(() => {
      hits = [];
    });

    test('control: the allow-listed upstream itself is reachable and passes', async () => {
      const { result } = await draftTest(open, { baseUrl: redirectorUrl, path: '/ok' });
      expect(result.success).toBe(true);
      expect(hits).toEqual(['/ok']);
    });

    test.each([
      [302, 'http://169.254.169.254/', '169.254.169.254', /a cloud metadata address/],
      [302, 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', '169.254.169.254', /a cloud metadata address/],
      [301, 'http://[fd00:ec2::254]/latest/meta-data/', '[fd00:ec2::254]', /a cloud metadata address/],
      [307, 'http://10.0.0.1/admin', '10.0.0.1', /a private address/],
      [308, 'http://192.168.0.1/', '192.168.0.1', /a private address/],
      [303, 'http://0x7f000002/', '127.0.0.2', /a loopback address/],
    ])('%s to %s → refused on the redirect (EGRESS_DENIED names %s)', async (status, target, host, range) => {
      const path = `/${status}/${encodeURIComponent(target)}`;
      const { result, elapsed } = await draftTest(open, { baseUrl: redirectorUrl, path });
      expect(hits).toEqual([path]); // the allowed first hop was requested
      expectRefusedAtConnect(result, elapsed, host);
      expect(result.steps[0].message).toMatch(range);
    });

    test('redirects to loopback addresses outside the allow list never reach their listeners', async () => {
      const targets = [`http://127.0.0.2:${other.port}/x`, `http://[::1]:${v6.port}/x`, `http://[::ffff:127.0.0.2]:${other.port}/x`];
      for (const target of targets) {
        const path = `/302/${encodeURIComponent(target)}`;
        const { result, elapsed } = await draftTest(open, { baseUrl: redirectorUrl, path });
        expectRefusedAtConnect(result, elapsed);
      }
      expect(other.connections).toBe(0);
      expect(v6.connections).toBe(0);
    });

    test('a redirect chain that reaches a refused address after allowed hops is refused at that hop', async () => {
      const final = 'http://169.254.169.254/latest/meta-data/';
      const second = `${redirectorUrl}/302/${encodeURIComponent(final)}`;
      const path = `/302/${encodeURIComponent(second)}`;
      const { result, elapsed } = await draftTest(open, { baseUrl: redirectorUrl, path });
      expect(hits).toHaveLength(2);
      expectRefusedAtConnect(result, elapsed, '169.254.169.254');
    });
  });
});

describe('API7:2023 for the declarative catalog', () => {
  const TEST_NAMED = TEST_DRAFT;

  test('every named provider refuses a metadata or loopback upstream URL before connecting, whatever its auth', async () => {
    const { listAdapters } = await import('../../src/adapters/registry.js');
    const named = listAdapters().filter((a) => a.spec.documentationUrl && a.spec.id !== 'nvd' && a.spec.mode !== 'push');
    expect(named.length).toBeGreaterThanOrEqual(15);
    for (const { spec } of named) {
      const required = (spec.configSchema.required as string[] | undefined) ?? [];
      const props = spec.configSchema.properties as Record<string, { type?: string; default?: unknown }>;
      // Where the upstream is: baseUrl, or the contract's rpcUrl (ethereum) or endpoint (aws_cloudtrail).
      const urlKey = ['baseUrl', 'rpcUrl', 'endpoint'].find((k) => k in props);
      expect([spec.id, urlKey]).toEqual([spec.id, expect.any(String)]);
      const config: Record<string, unknown> = { [urlKey!]: `http://127.0.0.1:${v4.port}/`, timeoutMs: TIMEOUT_MS };
      // Required settings without defaults, filled with values the schema accepts.
      if (required.includes('addresses')) config.addresses = ['0x' + 'a'.repeat(40)];
      for (const key of required) if (!(key in config) && props[key]!.default === undefined) config[key] = 'x1';
      const authType = spec.authTypes.includes('API_KEY') ? 'API_KEY' : spec.authTypes[0]!;
      const credentials = Object.fromEntries((spec.requiredCredentials[authType] ?? []).map((k) => [k, `secret-${k}-0123456789`]));
      if (authType === 'OAUTH2_CLIENT_CREDENTIALS') config.tokenUrl = 'http://169.254.169.254/latest/meta-data/';
      const t0 = performance.now();
      const res = await strict.gql(TEST_NAMED, { input: { provider: spec.id, config, authType, credentials } }, ed);
      expect([spec.id, res.body.errors]).toEqual([spec.id, undefined]);
      const result = res.body.data.testConnectorConfig;
      if (authType === 'OAUTH2_CLIENT_CREDENTIALS') {
        // OAuth-only providers ask the token endpoint first: refused there, before any socket.
        expect(result.steps[0]).toMatchObject({ name: 'CONNECT', passed: false, errorCode: 'EGRESS_DENIED' });
        expect(result.steps[0].message).toContain('Egress to 169.254.169.254 refused');
        expect(performance.now() - t0).toBeLessThan(REFUSAL_MS);
      } else expectRefusedAtConnect(result, performance.now() - t0, '127.0.0.1');
      for (const secret of Object.values(credentials)) expect(JSON.stringify(result)).not.toContain(secret);
    }
    expect(v4.connections).toBe(0);
  });

  test('a next-page URL from the upstream cannot send the connector to another origin', async () => {
    const { createHttpClient } = await import('../../src/adapters/http/client.js');
    const { getAdapter } = await import('../../src/adapters/registry.js');
    // An OTX-shaped upstream whose first page links to another loopback host.
    const evil = `http://127.0.0.2:${other.port}/api/v1/indicators/export?page=2`;
    const upstream = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ count: 2, next: evil, previous: null, results: [{ id: 1, indicator: '198.51.100.1', type: 'IPv4', title: '', description: '', content: '' }] }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const client = createHttpClient({ egressAllow: ['127.0.0.1/32'] });
    try {
      const config = { baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` };
      const read = async () => {
        for await (const _batch of getAdapter('alienvault_otx')!.read({ http: client }, { config, authType: 'API_KEY', credentials: { apiKey: 'otx-key-0123456789' } }, null)) {
          // the first page is yielded only after its next link was checked
        }
      };
      await expect(read()).rejects.toMatchObject({ code: 'EGRESS_DENIED' });
      expect(other.connections).toBe(0);
    } finally {
      client.close();
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });

  let other: Listener;
  beforeAll(async () => {
    other = await listen('127.0.0.2');
  });
  afterAll(async () => other?.close());
});
