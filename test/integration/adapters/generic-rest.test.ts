/**
 * The `generic_rest` adapter against real loopback upstreams, and OAuth 2.0 client credentials
 * against a real authorization server (oidc-provider) started here.
 *
 * Every secret in this file contains SENTINEL; upstreams echo what they receive into records and
 * error bodies, and the last test asserts that SENTINEL reached no result, error or log line.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { isConnectorError } from '../../../src/errors/connector-error.js';
import { genericRestAdapter } from '../../../src/adapters/generic-rest/index.js';
import { getAdapter, listAdapters } from '../../../src/adapters/registry.js';
import { createHttpClient } from '../../../src/adapters/http/client.js';
import type { HttpClient } from '../../../src/adapters/http/client.js';
import { createOAuthTokenCache, OAuthTokenError, sendAuthorized } from '../../../src/adapters/http/auth.js';
import type { OAuthTokenCache } from '../../../src/adapters/http/auth.js';
import type { AdapterContext, AuthType, CheckResult, ConnectionInput, Credentials, RecordBatch } from '../../../src/adapters/spi.js';

const SENTINEL = 'S3NT1NEL-91b2e4f0c7';
const GOOD_KEY = `${SENTINEL}-api-key`;
const WRONG_KEY = `${SENTINEL}-wrong-key`;
const USERNAME = 'analyst';
const PASSWORD = `${SENTINEL}-password`;
const BEARER = `${SENTINEL}-bearer-token`;
const CLIENT_SECRET = `${SENTINEL}-client-secret`;
const MiB = 1024 * 1024;

/** Everything produced by the code under test, checked for SENTINEL at the end. */
const produced: unknown[] = [];
const logs: string[] = [];

// ---------------------------------------------------------------------------------------------
// loopback upstreams

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

interface Upstream {
  port: number;
  url: string;
  requests: string[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

async function startUpstream(host = '127.0.0.1', initial?: Handler): Promise<Upstream> {
  let handler: Handler = initial ?? ((_req, res) => json(res, 200, []));
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    void Promise.resolve(handler(req, res, new URL(req.url!, `http://${req.headers.host}`))).catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${host}:${port}`,
    requests,
    handle(h) {
      handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** What the request authenticated with, or null; echoed back by the API to test redaction. */
function presented(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) return Buffer.from(auth.slice(6), 'base64').toString('utf8');
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  return (req.headers['x-api-key'] as string | undefined) ?? url.searchParams.get('api_key');
}

const GOOD_CREDENTIALS = new Set([GOOD_KEY, `${USERNAME}:${PASSWORD}`, BEARER]);

/** A paged API: 3 pages of 4 records; page 1 links absolutely, page 2 relatively. */
const pagedApi: Handler = (req, res, url) => {
  const credential = presented(req, url);
  if (!credential || !GOOD_CREDENTIALS.has(credential)) {
    return json(res, 401, { error: `invalid credential ${credential}` });
  }
  const page = Number(url.searchParams.get('page') ?? '1');
  const records = Array.from({ length: 4 }, (_, i) => ({ id: `${page}-${i}`, page, kind: 'widget', seen: credential }));
  const headers: Record<string, string> = {};
  if (page === 1) headers.link = `<http://${req.headers.host}/items?page=2>; rel="next", <http://${req.headers.host}/items?page=3>; rel="last"`;
  if (page === 2) headers.link = '</items?page=3>; rel="next"';
  json(res, 200, { data: { items: records }, page }, headers);
};

// ---------------------------------------------------------------------------------------------
// fixtures

let api: Upstream;
let client: HttpClient;
let tokens: OAuthTokenCache;
const clients: HttpClient[] = [];

function ctx(overrides: Partial<AdapterContext> = {}): AdapterContext {
  return { http: client, oauthTokens: tokens, ...overrides };
}

function input(config: Record<string, unknown>, authType: AuthType = 'NONE', credentials: Credentials = {}): ConnectionInput {
  return { config, authType, credentials };
}

async function check(c: AdapterContext, i: ConnectionInput): Promise<CheckResult> {
  const result = await genericRestAdapter.check(c, i);
  produced.push(result);
  return result;
}

async function readAll(c: AdapterContext, i: ConnectionInput, cursor: Record<string, unknown> | null = null): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const batch of genericRestAdapter.read(c, i, cursor)) batches.push(batch);
  produced.push(batches);
  return batches;
}

async function readFailure(c: AdapterContext, i: ConnectionInput, batches: RecordBatch[] = []) {
  try {
    for await (const batch of genericRestAdapter.read(c, i, null)) batches.push(batch);
  } catch (e) {
    expect(isConnectorError(e)).toBe(true);
    const err = e as Error & { code: string };
    produced.push({ message: err.message, stack: err.stack, json: JSON.stringify(err), code: err.code });
    return err;
  }
  throw new Error('expected the read to fail');
}

/** The next page a read's cursor holds (the engine's cursor: one stream, `record`). */
function nextUrlOf(cursor: Record<string, unknown> | null): string | null {
  const streams = (cursor?.streams ?? {}) as Record<string, { page?: { url?: string } }>;
  return streams.record?.page?.url ?? null;
}

function step(result: CheckResult, name: string) {
  const s = result.steps.find((x) => x.name === name);
  expect(s).toBeDefined();
  return s!;
}

function expectAllPassed(result: CheckResult) {
  expect(result.steps.map((s) => [s.name, s.passed])).toEqual([
    ['CONNECT', true],
    ['AUTHENTICATE', true],
    ['SAMPLE_QUERY', true],
    ['VALIDATE_FORMAT', true],
  ]);
  expect(result.success).toBe(true);
  for (const s of result.steps) {
    expect(typeof s.latencyMs).toBe('number');
    expect(s.latencyMs!).toBeGreaterThanOrEqual(0);
    expect(s.errorCode).toBeNull();
    expect(s.message).toBeTruthy();
  }
  const sum = result.steps.reduce((acc, s) => acc + (s.latencyMs ?? 0), 0);
  expect(result.latencyMs).toBeGreaterThanOrEqual(sum);
  expect(result.sample.length).toBeLessThanOrEqual(5);
}

function expectNotRunAfter(result: CheckResult, failed: string) {
  const names = result.steps.map((s) => s.name);
  for (const s of result.steps.slice(names.indexOf(failed as never) + 1)) {
    expect(s).toEqual({
      name: s.name,
      passed: false,
      latencyMs: null,
      message: `not run: ${failed} failed`,
      errorCode: null,
      retryable: null,
      remediation: null,
    });
  }
  expect(result.success).toBe(false);
  expect(result.sample).toEqual([]);
}

beforeAll(async () => {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
  }
  api = await startUpstream('127.0.0.1', pagedApi);
  client = createHttpClient({ egressAllow: ['127.0.0.1/32'], retryBaseDelayMs: 20, connectTimeoutMs: 1000 });
  clients.push(client);
});

beforeEach(() => {
  api.handle(pagedApi);
  api.requests.length = 0;
  tokens = createOAuthTokenCache();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await api.close();
  jest.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------

describe('spec and registry', () => {
  test('the registry lists generic_rest explicitly', () => {
    expect(getAdapter('generic_rest')).toBe(genericRestAdapter);
    expect(getAdapter('nope')).toBeUndefined();
    expect(listAdapters()).toContain(genericRestAdapter);
    expect(listAdapters('CUSTOM_API')).toEqual([genericRestAdapter]);
    expect(listAdapters('SIEM').map((a) => a.spec.id)).toEqual(['syslog_cef', 'syslog_leef', 'http_collector', 'splunk', 'microsoft_sentinel', 'ibm_qradar', 'elastic_security']);
  });

  test('spec: all five auth types, secret fields write-only, required credentials per auth type', () => {
    const { spec } = genericRestAdapter;
    expect(spec).toMatchObject({ id: 'generic_rest', type: 'CUSTOM_API', eventTypes: ['record'] });
    expect(spec.authTypes).toEqual(['NONE', 'API_KEY', 'BASIC', 'BEARER', 'OAUTH2_CLIENT_CREDENTIALS']);
    const props = spec.credentialsSchema.properties as Record<string, { writeOnly?: boolean }>;
    expect(Object.keys(props).sort()).toEqual(['apiKey', 'clientId', 'clientSecret', 'password', 'token', 'username']);
    for (const p of Object.values(props)) expect(p.writeOnly).toBe(true);
    expect(spec.requiredCredentials).toMatchObject({
      NONE: [],
      API_KEY: ['apiKey'],
      BASIC: ['username', 'password'],
      BEARER: ['token'],
      OAUTH2_CLIENT_CREDENTIALS: ['clientId', 'clientSecret'],
    });
    expect(spec.configSchema).toMatchObject({ required: ['baseUrl'], additionalProperties: false });
  });
});

describe('check', () => {
  const cfg = () => ({ baseUrl: api.url, path: '/items', recordsPointer: '/data/items' });

  test('API key in a header: all four steps pass, with latencies, and a redacted sample of at most 5', async () => {
    const result = await check(ctx(), input(cfg(), 'API_KEY', { apiKey: GOOD_KEY }));
    expectAllPassed(result);
    expect(result.sample).toHaveLength(4);
    expect(result.sample[0]).toEqual({ kind: 'record', upstreamKind: 'widget', id: '1-0', page: 1, seen: '[REDACTED]' });
    expect(step(result, 'CONNECT').message).toContain('127.0.0.1');
    expect(api.requests).toEqual(['GET /items']);
  });

  test('sample is capped at 5 records', async () => {
    api.handle((_req, res) => json(res, 200, Array.from({ length: 20 }, (_, i) => ({ i }))));
    const result = await check(ctx(), input({ baseUrl: api.url }));
    expectAllPassed(result);
    expect(result.sample).toHaveLength(5);
    expect(step(result, 'VALIDATE_FORMAT').message).toContain('20 records');
  });

  test('Basic and Bearer pass; the API key in a query parameter too', async () => {
    expectAllPassed(await check(ctx(), input(cfg(), 'BASIC', { username: USERNAME, password: PASSWORD })));
    expectAllPassed(await check(ctx(), input(cfg(), 'BEARER', { token: BEARER })));
    expectAllPassed(await check(ctx(), input({ ...cfg(), apiKeyQueryParam: 'api_key' }, 'API_KEY', { apiKey: GOOD_KEY })));
  });

  test('a wrong API key fails AUTHENTICATE (AUTH_FAILED, not retryable, with a remediation); later steps not run', async () => {
    const result = await check(ctx(), input(cfg(), 'API_KEY', { apiKey: WRONG_KEY }));
    expect(step(result, 'CONNECT').passed).toBe(true);
    const auth = step(result, 'AUTHENTICATE');
    expect(auth).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', retryable: false });
    expect(auth.latencyMs).toBeGreaterThanOrEqual(0);
    expect(auth.remediation).toMatch(/API key was rejected/);
    expect(auth.message).toMatch(/401/);
    expectNotRunAfter(result, 'AUTHENTICATE');
    expect(result.message).toMatch(/^AUTHENTICATE failed/);
    expect(api.requests).toHaveLength(1); // 401 is not retried
  });

  test('a wrong Basic password fails AUTHENTICATE the same way', async () => {
    const result = await check(ctx(), input(cfg(), 'BASIC', { username: USERNAME, password: `${PASSWORD}-x` }));
    expect(step(result, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', retryable: false });
    expect(step(result, 'AUTHENTICATE').remediation).toMatch(/username or password/);
    expectNotRunAfter(result, 'AUTHENTICATE');
  });

  test('500 then 200 is retried and passes', async () => {
    let n = 0;
    api.handle((req, res, url) => (++n === 1 ? json(res, 500, {}) : pagedApi(req, res, url)));
    const result = await check(ctx(), input(cfg(), 'API_KEY', { apiKey: GOOD_KEY }));
    expectAllPassed(result);
    expect(step(result, 'CONNECT').message).toMatch(/after 2 attempts/);
    expect(api.requests).toHaveLength(2);
  });

  test('429 with Retry-After: 1 waits about a second and passes', async () => {
    let n = 0;
    api.handle((req, res, url) => (++n === 1 ? json(res, 429, {}, { 'retry-after': '1' }) : pagedApi(req, res, url)));
    const t0 = performance.now();
    const result = await check(ctx(), input(cfg(), 'API_KEY', { apiKey: GOOD_KEY }));
    expectAllPassed(result);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect(result.latencyMs).toBeGreaterThanOrEqual(950);
  });

  test('persistent 429 with a long Retry-After: SAMPLE_QUERY fails RATE_LIMITED, retryable', async () => {
    api.handle((_req, res) => json(res, 429, {}, { 'retry-after': '3600' }));
    const result = await check(ctx(), input(cfg(), 'API_KEY', { apiKey: GOOD_KEY }));
    expect(step(result, 'AUTHENTICATE').passed).toBe(true);
    expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'RATE_LIMITED', retryable: true });
    expect(step(result, 'SAMPLE_QUERY').remediation).toMatch(/3600 s/);
  });

  test('a hanging upstream fails with TIMEOUT within the configured bound', async () => {
    api.handle(() => {});
    const t0 = performance.now();
    const result = await check(ctx(), input({ ...cfg(), timeoutMs: 500 }, 'API_KEY', { apiKey: GOOD_KEY }));
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeLessThan(4000); // 500 ms budget; without it the upstream would hang forever
    expect(step(result, 'CONNECT').passed).toBe(true);
    expect(step(result, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'TIMEOUT', retryable: true });
    expect(step(result, 'AUTHENTICATE').remediation).toMatch(/timeoutMs/);
    expectNotRunAfter(result, 'AUTHENTICATE');
    expect(result.latencyMs).toBeLessThan(1500);
  });

  test('malformed JSON fails SAMPLE_QUERY with BAD_RESPONSE', async () => {
    api.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`[{"id": 1}, {"token": "${SENTINEL}"`);
    });
    const result = await check(ctx(), input(cfg(), 'API_KEY', { apiKey: GOOD_KEY }));
    expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'BAD_RESPONSE', retryable: false });
    expect(step(result, 'SAMPLE_QUERY').remediation).toMatch(/JSON/);
    expectNotRunAfter(result, 'SAMPLE_QUERY');
  });

  test('an object where an array was expected fails VALIDATE_FORMAT', async () => {
    api.handle((_req, res) => json(res, 200, { data: { items: { id: 1 } } }));
    const result = await check(ctx(), input(cfg()));
    expect(step(result, 'SAMPLE_QUERY').passed).toBe(true);
    expect(step(result, 'VALIDATE_FORMAT')).toMatchObject({ passed: false, errorCode: 'BAD_RESPONSE', retryable: false });
    expect(step(result, 'VALIDATE_FORMAT').message).toMatch(/found an object/);
    expect(step(result, 'VALIDATE_FORMAT').remediation).toMatch(/recordsPointer/);
    expect(result.sample).toEqual([]);
  });

  test('an array holding non-objects fails VALIDATE_FORMAT; a pointer that matches nothing fails SAMPLE_QUERY', async () => {
    api.handle((_req, res) => json(res, 200, [{ a: 1 }, 2]));
    expect(step(await check(ctx(), input({ baseUrl: api.url })), 'VALIDATE_FORMAT').message).toMatch(/item 1 is a number/);
    api.handle((_req, res) => json(res, 200, { results: [] }));
    const result = await check(ctx(), input({ baseUrl: api.url, recordsPointer: '/data' }));
    expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'CONFIG_INVALID' });
    expect(step(result, 'SAMPLE_QUERY').remediation).toMatch(/recordsPointer/);
  });

  test('a 50 MB body fails SAMPLE_QUERY with BAD_RESPONSE; the download is aborted early', async () => {
    const state = { written: 0, closed: false };
    api.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('close', () => {
        state.closed = true;
      });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      res.write('[');
      const pump = () => {
        while (state.written < 50 * MiB && !state.closed) {
          state.written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!state.closed) res.end(']');
      };
      pump();
    });
    const result = await check(ctx(), input({ baseUrl: api.url }));
    expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'BAD_RESPONSE' });
    expect(step(result, 'SAMPLE_QUERY').remediation).toMatch(/too large/);
    for (let i = 0; i < 100 && !state.closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(state.closed).toBe(true);
    expect(state.written).toBeLessThan(25 * MiB);
  });

  test('invalid configuration or missing credentials fail CONNECT with CONFIG_INVALID, nothing contacted', async () => {
    for (const [config, authType, credentials, pattern] of [
      [{ baseUrl: 'ftp://example.com' }, 'NONE', {}, /baseUrl/],
      [{ baseUrl: api.url, maxPages: 0 }, 'NONE', {}, /maxPages/],
      [{ baseUrl: api.url, surprise: 1 }, 'NONE', {}, /unknown property "surprise"/],
      [{ baseUrl: `http://user:${SENTINEL}@127.0.0.1:1/` }, 'NONE', {}, /credentials/],
      [{ baseUrl: api.url }, 'API_KEY', {}, /apiKey/],
      [{ baseUrl: api.url }, 'OAUTH2_CLIENT_CREDENTIALS', { clientId: 'a', clientSecret: CLIENT_SECRET }, /tokenUrl/],
    ] as const) {
      const result = await check(ctx(), input(config as Record<string, unknown>, authType, credentials as Credentials));
      expect(step(result, 'CONNECT')).toMatchObject({ passed: false, errorCode: 'CONFIG_INVALID', retryable: false });
      expect(step(result, 'CONNECT').message).toMatch(pattern);
      expectNotRunAfter(result, 'CONNECT');
    }
    expect(api.requests).toHaveLength(0);
  });

  test('egress: a non-allow-listed loopback API or a metadata address fails CONNECT with EGRESS_DENIED', async () => {
    const strict = createHttpClient({});
    clients.push(strict);
    for (const baseUrl of [api.url, 'http://169.254.169.254/latest/meta-data', `http://localhost:${api.port}`]) {
      const result = await check(ctx({ http: strict }), input({ baseUrl }, 'API_KEY', { apiKey: GOOD_KEY }));
      expect(step(result, 'CONNECT')).toMatchObject({ passed: false, errorCode: 'EGRESS_DENIED', retryable: false });
      expect(step(result, 'CONNECT').remediation).toMatch(/EGRESS_ALLOW/);
      expectNotRunAfter(result, 'CONNECT');
    }
    expect(api.requests).toHaveLength(0);
  });

  test('an unreachable host fails CONNECT with UNREACHABLE', async () => {
    const gone = await startUpstream();
    await gone.close();
    const result = await check(ctx(), input({ baseUrl: gone.url }));
    expect(step(result, 'CONNECT')).toMatchObject({ passed: false, errorCode: 'UNREACHABLE', retryable: true });
    expect(step(result, 'CONNECT').remediation).toMatch(/baseUrl/);
  });
});

describe('read', () => {
  const cfg = (extra: Record<string, unknown> = {}) => ({ baseUrl: api.url, path: '/items', recordsPointer: '/data/items', ...extra });

  test('follows Link rel="next" over 3 pages, one batch per page, with resumable cursors', async () => {
    const batches = await readAll(ctx(), input(cfg(), 'API_KEY', { apiKey: GOOD_KEY }));
    expect(batches.map((b) => b.records.map((r) => r.id))).toEqual([
      ['1-0', '1-1', '1-2', '1-3'],
      ['2-0', '2-1', '2-2', '2-3'],
      ['3-0', '3-1', '3-2', '3-3'],
    ]);
    expect(batches.map((b) => nextUrlOf(b.cursor))).toEqual([
      `${api.url}/items?page=2`,
      `${api.url}/items?page=3`, // a relative link, resolved against the response URL
      null,
    ]);
    // After the last page the cursor holds no page: the next sync starts from the first one again.
    expect(batches[2]!.cursor).toEqual({ v: 1, streams: { record: { until: expect.any(String) } } });
    expect(batches[0]!.records[0]).toEqual({ kind: 'record', upstreamKind: 'widget', id: '1-0', page: 1, seen: '[REDACTED]' });
    expect(api.requests).toEqual(['GET /items', 'GET /items?page=2', 'GET /items?page=3']);

    api.requests.length = 0;
    const resumed = await readAll(ctx(), input(cfg(), 'API_KEY', { apiKey: GOOD_KEY }), batches[0]!.cursor);
    expect(resumed.map((b) => b.records[0]!.id)).toEqual(['2-0', '3-0']);
    expect(api.requests).toEqual(['GET /items?page=2', 'GET /items?page=3']);
  });

  test('stops at maxPages with a cursor pointing at the next page', async () => {
    const batches = await readAll(ctx(), input(cfg({ maxPages: 2 }), 'BEARER', { token: BEARER }));
    expect(batches).toHaveLength(2);
    expect(nextUrlOf(batches[1]!.cursor)).toBe(`${api.url}/items?page=3`);
  });

  test('an API key sent as a query parameter is re-added per page and never stored in a cursor', async () => {
    api.handle((req, res, url) => {
      const page = Number(url.searchParams.get('page') ?? '1');
      if (url.searchParams.getAll('api_key').join() !== GOOD_KEY) return json(res, 401, {});
      const headers: Record<string, string> = page < 2 ? { link: `</items?page=${page + 1}&api_key=${encodeURIComponent(GOOD_KEY)}>; rel="next"` } : {};
      json(res, 200, [{ page }], headers);
    });
    const batches = await readAll(ctx(), input({ baseUrl: api.url, path: '/items', apiKeyQueryParam: 'api_key' }, 'API_KEY', { apiKey: GOOD_KEY }));
    expect(batches.map((b) => b.records[0]!.page)).toEqual([1, 2]);
    expect(nextUrlOf(batches[0]!.cursor)).toBe(`${api.url}/items?page=2`);
    expect(JSON.stringify(batches.map((b) => b.cursor))).not.toContain(GOOD_KEY);
  });

  test('a Link pointing at a private address is refused (EGRESS_DENIED) and never requested', async () => {
    const internal = await startUpstream('127.0.0.2');
    try {
      for (const target of [`${internal.url}/items`, 'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/items', 'http://[::1]/items']) {
        api.handle((_req, res) => json(res, 200, [{ id: 1 }], { link: `<${target}>; rel="next"` }));
        const batches: RecordBatch[] = [];
        const err = await readFailure(ctx(), input({ baseUrl: api.url }), batches);
        expect(err.code).toBe('EGRESS_DENIED');
        expect(batches).toEqual([]);
      }
      expect(internal.requests).toHaveLength(0);
    } finally {
      await internal.close();
    }
  });

  test('with credentials, a Link to another origin is refused; without, it is followed', async () => {
    const other = await startUpstream('127.0.0.1', (_req, res) => json(res, 200, [{ id: 'other' }]));
    try {
      api.handle((_req, res) => json(res, 200, [{ id: 'home' }], { link: `<${other.url}/more>; rel="next"` }));
      const err = await readFailure(ctx(), input({ baseUrl: api.url }, 'API_KEY', { apiKey: GOOD_KEY }));
      expect(err.code).toBe('EGRESS_DENIED');
      expect(err.message).toMatch(/credentials are only sent to/);
      expect(other.requests).toHaveLength(0);
      const batches = await readAll(ctx(), input({ baseUrl: api.url }));
      expect(batches.map((b) => b.records[0]!.id)).toEqual(['home', 'other']);
    } finally {
      await other.close();
    }
  });

  test('a cursor stored before the engine ({ nextUrl }) still resumes at its page', async () => {
    api.requests.length = 0;
    const batches = await readAll(ctx(), input(cfg(), 'API_KEY', { apiKey: GOOD_KEY }), { nextUrl: `${api.url}/items?page=3` });
    expect(batches.map((b) => b.records[0]!.id)).toEqual(['3-0']);
    expect(api.requests).toEqual(['GET /items?page=3']);
  });

  test('a resumed cursor is checked like a Link', async () => {
    const c = ctx();
    const i = input(cfg(), 'API_KEY', { apiKey: GOOD_KEY });
    await expect(async () => {
      for await (const _ of genericRestAdapter.read(c, i, { v: 1, streams: { record: { page: { url: 'http://169.254.169.254/latest/meta-data/' } } } })) {
        /* nothing */
      }
    }).rejects.toMatchObject({ code: 'EGRESS_DENIED' });
  });

  test('upstream failures are thrown as scrubbed ConnectorErrors', async () => {
    const err = await readFailure(ctx(), input(cfg(), 'API_KEY', { apiKey: WRONG_KEY }));
    expect(err.code).toBe('AUTH_FAILED');
    api.handle((_req, res) => json(res, 200, { data: { items: 'nope' } }));
    expect((await readFailure(ctx(), input(cfg()))).code).toBe('BAD_RESPONSE');
  });
});

// ---------------------------------------------------------------------------------------------
// OAuth 2.0 client credentials against a real authorization server

interface ProviderLike {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  ClientCredentials: { find(token: string): Promise<{ isExpired: boolean; destroy(): Promise<void> } | undefined> };
}

describe('OAuth 2.0 client credentials (oidc-provider)', () => {
  let as: Upstream;
  let resource: Upstream;
  let provider: ProviderLike;
  let tokenRequests = 0;
  let lastToken: string | null = null;

  beforeAll(async () => {
    const specifier: string = 'oidc-provider';
    const { default: Provider } = (await import(specifier)) as { default: new (issuer: string, config: unknown) => ProviderLike };
    as = await startUpstream();
    provider = new Provider(as.url, {
      clients: [
        { client_id: 'ingest', client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'read' },
        {
          client_id: 'ingest-post',
          client_secret: CLIENT_SECRET,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
      features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
      scopes: ['read'],
      ttl: { ClientCredentials: 2 },
    });
    const callback = provider.callback();
    as.handle((req, res) => {
      if (req.method === 'POST' && req.url === '/token') tokenRequests++;
      callback(req, res);
    });
    // The protected API checks each access token with the authorization server itself.
    resource = await startUpstream('127.0.0.1', async (req, res) => {
      const auth = req.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      const grant = token ? await provider.ClientCredentials.find(token) : undefined;
      if (!grant || grant.isExpired) return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      lastToken = token;
      json(res, 200, [{ id: 1 }, { id: 2 }]);
    });
  });

  afterAll(async () => {
    await resource?.close();
    await as?.close();
  });

  const oauth = (extra: Record<string, unknown> = {}, clientId = 'ingest', clientSecret = CLIENT_SECRET) =>
    input({ baseUrl: resource.url, tokenUrl: `${as.url}/token`, scope: 'read', maxPages: 1, ...extra }, 'OAUTH2_CLIENT_CREDENTIALS', { clientId, clientSecret });

  test('check passes; AUTHENTICATE includes the token request; the expiry is reported', async () => {
    const before = tokenRequests;
    const expiries: (Date | null)[] = [];
    const result = await check(ctx({ onOAuthToken: (i) => expiries.push(i.expiresAt) }), oauth());
    expectAllPassed(result);
    expect(step(result, 'AUTHENTICATE').message).toMatch(/Obtained an access token/);
    expect(tokenRequests - before).toBe(1);
    expect(expiries).toHaveLength(1);
    expect(expiries[0]!.getTime()).toBeGreaterThan(Date.now());
    expect(expiries[0]!.getTime()).toBeLessThanOrEqual(Date.now() + 2100);
  });

  test('one token serves 10 calls; after it expires a new one is fetched', async () => {
    const before = tokenRequests;
    for (let i = 0; i < 10; i++) expect(await readAll(ctx(), oauth())).toHaveLength(1);
    expect(tokenRequests - before).toBe(1);
    expect(tokens.stats).toEqual({ fetches: 1, hits: 9 });
    await new Promise((r) => setTimeout(r, 1900)); // token lifetime is 2 s, refreshed 10 % early
    await readAll(ctx(), oauth());
    expect(tokenRequests - before).toBe(2);
    expect(tokens.stats.fetches).toBe(2);
  });

  test('a 401 from the API for a cached token re-fetches the token once', async () => {
    const c = ctx();
    await readAll(c, oauth());
    const before = tokenRequests;
    const grant = await provider.ClientCredentials.find(lastToken!);
    await grant!.destroy(); // revoked at the authorization server: the cached copy is now stale
    resource.requests.length = 0;
    const batches = await readAll(c, oauth());
    expect(batches[0]!.records).toHaveLength(2);
    expect(tokenRequests - before).toBe(1);
    expect(resource.requests).toHaveLength(2);
  });

  test('client_secret_post works as well', async () => {
    expectAllPassed(await check(ctx(), oauth({ tokenAuthMethod: 'client_secret_post', scope: undefined }, 'ingest-post')));
  });

  test('a wrong client secret fails AUTHENTICATE with AUTH_FAILED and a remediation; the API is not called', async () => {
    resource.requests.length = 0;
    const result = await check(ctx(), oauth({}, 'ingest', `${CLIENT_SECRET}-wrong`));
    expect(step(result, 'CONNECT')).toMatchObject({ passed: true });
    expect(step(result, 'CONNECT').message).toMatch(/token endpoint/);
    const auth = step(result, 'AUTHENTICATE');
    expect(auth).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', retryable: false });
    expect(auth.message).toMatch(/invalid_client/);
    expect(auth.remediation).toMatch(/clientSecret/);
    expectNotRunAfter(result, 'AUTHENTICATE');
    expect(resource.requests).toHaveLength(0);

    const err = await readFailure(ctx(), oauth({}, 'ingest', `${CLIENT_SECRET}-wrong`));
    expect(err).toBeInstanceOf(OAuthTokenError);
    expect(err.code).toBe('AUTH_FAILED');
  });

  test('an unreachable token endpoint fails CONNECT', async () => {
    const gone = await startUpstream();
    await gone.close();
    const result = await check(ctx(), oauth({ tokenUrl: `${gone.url}/token` }));
    expect(step(result, 'CONNECT')).toMatchObject({ passed: false, errorCode: 'UNREACHABLE' });
    expect(step(result, 'CONNECT').remediation).toMatch(/token endpoint/);
  });

  test('sendAuthorized can be used directly; concurrent callers share one token request', async () => {
    const before = tokenRequests;
    const auth = { authType: 'OAUTH2_CLIENT_CREDENTIALS' as const, credentials: { clientId: 'ingest', clientSecret: CLIENT_SECRET }, settings: { tokenUrl: `${as.url}/token`, scope: 'read' } };
    const responses = await Promise.all(Array.from({ length: 5 }, () => sendAuthorized(ctx(), auth, { url: `${resource.url}/` })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(tokenRequests - before).toBe(1);
    // The response says which secrets it used (so callers can redact) but the token is nowhere else.
    produced.push(responses.map(({ secrets: _s, ...rest }) => rest));
  });
});

// Runs last (jest runs tests in file order).
// ---------------------------------------------------------------------------------------------
// The manifest language in a custom API: offset paging, an incremental cursor, a mapping

describe('a custom API configured in the manifest language', () => {
  let alerts: Upstream;
  const rows = Array.from({ length: 23 }, (_, i) => ({
    alert_id: `A-${100 + i}`,
    created: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    level: ['low', 'medium', 'high', 'critical'][i % 4],
    signature: `sig ${i % 5}`,
    source_ip: `198.51.100.${i}`,
  }));
  beforeAll(async () => {
    // GET /v2/alerts?since=&offset=&limit= → { data: [...], total }, oldest first.
    alerts = await startUpstream('127.0.0.1', (_req, res, url) => {
      const since = url.searchParams.get('since');
      const offset = Number(url.searchParams.get('offset'));
      const limit = Number(url.searchParams.get('limit'));
      const matching = rows.filter((r) => !since || r.created >= since);
      json(res, 200, { data: matching.slice(offset, offset + limit), total: matching.length });
    });
  });
  afterAll(() => alerts.close());

  const custom = (extra: Record<string, unknown> = {}) =>
    input({
      baseUrl: alerts.url,
      path: '/v2/alerts',
      query: { since: '{{window.start}}' },
      recordsPointer: '/data',
      pagination: { type: 'offset', offsetParam: 'offset', limitParam: 'limit', limit: 10, totalPointer: '/total' },
      cursor: { field: '/created', type: 'datetime', lookback: 0 },
      map: {
        kind: 'event',
        fields: {
          eventId: '/alert_id',
          name: '/signature',
          severity: { from: '/level', map: { low: 3, medium: 5, high: 8, critical: 10 } },
          timestamp: { from: '/created', type: 'datetime' },
          src: '/source_ip',
        },
      },
      initialLookbackSec: 31536000,
      ...extra,
    });

  test('pages by offset, maps to events, and the next sync starts after the highest cursor value', async () => {
    alerts.requests.length = 0;
    const batches = await readAll(ctx(), custom());
    expect(batches.map((b) => b.records.length)).toEqual([10, 10, 3]);
    expect(batches[0]!.records[2]).toMatchObject({ kind: 'event', eventType: 'record', eventId: 'A-102', name: 'sig 2', severity: 8, src: '198.51.100.2', timestamp: '2026-01-01T00:02:00.000Z' });
    expect(alerts.requests.map((r) => new URL(r.slice(4), alerts.url).searchParams.get('offset'))).toEqual(['0', '10', '20']);

    const next = await readAll(ctx(), custom(), batches.at(-1)!.cursor);
    // lookback 0: the window starts at the last record read, which the store sees again as a duplicate
    expect(next.flatMap((b) => b.records.map((r) => r.eventId))).toEqual(['A-122']);
  });

  test('the sample of a stepwise test is mapped the same way', async () => {
    const result = await check(ctx(), custom());
    expectAllPassed(result);
    expect(result.sample[0]).toMatchObject({ kind: 'event', eventId: 'A-100', severity: 3 });
  });

  test('a template naming something that does not exist fails CONNECT with CONFIG_INVALID, nothing requested', async () => {
    alerts.requests.length = 0;
    const result = await check(ctx(), custom({ query: { since: '{{credentials.apiKey}}' } }));
    expect(step(result, 'CONNECT')).toMatchObject({ passed: false, errorCode: 'CONFIG_INVALID' });
    expect(step(result, 'CONNECT').message).toMatch(/unknown template name "credentials.apiKey"/);
    expect(alerts.requests).toEqual([]);
  });
});

test('the sentinel secret appears in no result, error, stack or log line', () => {
  expect(produced.length).toBeGreaterThan(20);
  const everything = JSON.stringify(produced) + logs.join('\n');
  expect(everything).not.toContain('S3NT1NEL');
});
