/**
 * The `nvd` adapter against the loopback fake of the NVD CVE API 2.0 (test/helpers/nvd-server.ts):
 * paging, 120-day windows, the client-side rate limiter, NVD's failure answers, cursors, check.
 *
 * Every API key here contains SENTINEL; the last test asserts that it reached no URL the server
 * saw, and no result, record, cursor, error or log line.
 */
import { jest } from '@jest/globals';
import { isConnectorError } from '../../../src/errors/connector-error.js';
import { createNvdAdapter, createNvdLimiterRegistry, defaultNvdLimiters, nvdAdapter, parseConfig, SlidingWindowLimiter } from '../../../src/adapters/nvd/index.js';
import type { NvdAdapterOptions, NvdCursor } from '../../../src/adapters/nvd/index.js';
import { normalizeCve } from '../../../src/adapters/nvd/mapper.js';
import type { NvdCve } from '../../../src/adapters/nvd/types.js';
import { getAdapter, listAdapters } from '../../../src/adapters/registry.js';
import { createHttpClient } from '../../../src/adapters/http/client.js';
import type { HttpClient } from '../../../src/adapters/http/client.js';
import type { Adapter, AdapterContext, AuthType, CheckResult, ConnectionInput, Credentials, RecordBatch, ReadCursor } from '../../../src/adapters/spi.js';
import { makeCve, NVD_PATH, startNvdServer } from '../../helpers/nvd-server.js';
import type { NvdServer } from '../../helpers/nvd-server.js';

const SENTINEL = 'S3NT1NEL-5d0c7a21e9';
const GOOD_KEY = `${SENTINEL}-nvd-key`;
const WRONG_KEY = `${SENTINEL}-revoked-key`;
const NOW = new Date('2024-07-19T00:00:00.000Z');
const APRIL = new Date('2024-04-01T00:00:00.000Z');

const produced: unknown[] = [];
const logs: string[] = [];
const servers: NvdServer[] = [];
/** Every request any fake saw, kept across the per-test clearing. */
const seenRequests: NvdServer['requests'] = [];

let client: HttpClient;
let nvd: NvdServer;

/** Fast backoff and generous limits unless a test is about them. */
function adapter(options: NvdAdapterOptions = {}): Adapter {
  return createNvdAdapter({
    rateLimits: { withoutKey: 1000, withKey: 1000, windowMs: 1000 },
    ...options,
    retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 2000, ...options.retry },
  });
}

function ctx(overrides: Partial<AdapterContext> = {}): AdapterContext {
  return { http: client, now: () => NOW, ...overrides };
}

function input(config: Record<string, unknown>, authType: AuthType = 'API_KEY', credentials: Credentials = { apiKey: GOOD_KEY }): ConnectionInput {
  return { config: { baseUrl: nvd.url, ...config }, authType, credentials };
}

async function readAll(a: Adapter, c: AdapterContext, i: ConnectionInput, cursor: ReadCursor = null): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const batch of a.read(c, i, cursor)) batches.push(batch);
  produced.push(batches);
  return batches;
}

async function readFailure(a: Adapter, c: AdapterContext, i: ConnectionInput, batches: RecordBatch[] = []) {
  try {
    for await (const batch of a.read(c, i, null)) batches.push(batch);
  } catch (e) {
    expect(isConnectorError(e)).toBe(true);
    const err = e as Error & { code: string; retryAfterMs?: number; status?: number };
    produced.push({ message: err.message, stack: err.stack, json: JSON.stringify(err), code: err.code }, batches);
    return err;
  }
  throw new Error('expected the read to fail');
}

async function check(a: Adapter, c: AdapterContext, i: ConnectionInput, options?: { cheap?: boolean }): Promise<CheckResult> {
  const result = await a.check(c, i, options);
  produced.push(result);
  return result;
}

function step(result: CheckResult, name: string) {
  const s = result.steps.find((x) => x.name === name);
  expect(s).toBeDefined();
  return s!;
}

function expectNotRunAfter(result: CheckResult, failed: string) {
  const names = result.steps.map((s) => s.name);
  for (const s of result.steps.slice(names.indexOf(failed as never) + 1)) {
    expect(s).toMatchObject({ passed: false, latencyMs: null, message: `not run: ${failed} failed`, errorCode: null });
  }
  expect(result.success).toBe(false);
  expect(result.sample).toEqual([]);
}

const ids = (batches: RecordBatch[]) => batches.map((b) => b.records.map((r) => r.id));
/** NVD writes zone-less UTC timestamps. */
const nvdTime = (iso: string) => iso.replace(/Z$/, '');
const cveAt = (id: string, lastModified: string, extra: Partial<NvdCve> = {}) =>
  makeCve({ id, lastModified: nvdTime(lastModified), published: '2024-01-02T03:04:05.678', ...extra });

beforeAll(async () => {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
  }
  client = createHttpClient({ egressAllow: ['127.0.0.1/32'], retryBaseDelayMs: 20, connectTimeoutMs: 1000 });
  nvd = await startNvdServer({ apiKeys: [GOOD_KEY], rateLimit: false });
  servers.push(nvd);
});

beforeEach(() => {
  nvd.setCves([]);
  nvd.clearRequests();
});

afterEach(() => {
  for (const s of servers) seenRequests.push(...s.requests);
});

afterAll(async () => {
  client.close();
  for (const s of servers) await s.close();
  jest.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------

describe('spec, registry and configuration', () => {
  test('the registry lists nvd as the VULNERABILITY provider', () => {
    expect(getAdapter('nvd')).toBe(nvdAdapter);
    expect(listAdapters('VULNERABILITY')).toEqual([nvdAdapter]);
    expect(listAdapters().map((a) => a.spec.id)).toEqual(expect.arrayContaining(['generic_rest', 'nvd']));
  });

  test('spec: auth types NONE and API_KEY, apiKey write-only, eventTypes vulnerability', () => {
    const { spec } = nvdAdapter;
    expect(spec).toMatchObject({ id: 'nvd', type: 'VULNERABILITY', eventTypes: ['vulnerability'], authTypes: ['NONE', 'API_KEY'] });
    expect(spec.requiredCredentials).toEqual({ NONE: [], API_KEY: ['apiKey'] });
    expect(spec.credentialsSchema).toMatchObject({ additionalProperties: false, properties: { apiKey: { type: 'string', writeOnly: true } } });
    expect(spec.configSchema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      additionalProperties: false,
      properties: {
        baseUrl: { default: 'https://services.nvd.nist.gov' },
        resultsPerPage: { minimum: 1, maximum: 2000, default: 2000 },
        startDate: { format: 'date-time' },
        dateField: { enum: ['lastModified', 'published'], default: 'lastModified' },
      },
    });
    expect(Object.keys(spec.configSchema.properties as object)).toEqual(expect.arrayContaining(['syncIntervalSec', 'healthCheckIntervalSec']));
  });

  test('parseConfig fills defaults and refuses what NVD cannot take', () => {
    expect(parseConfig({})).toMatchObject({ baseUrl: 'https://services.nvd.nist.gov', resultsPerPage: 2000, dateField: 'lastModified' });
    for (const [config, pattern] of [
      [{ resultsPerPage: 0 }, /resultsPerPage/],
      [{ resultsPerPage: 2001 }, /resultsPerPage/],
      [{ dateField: 'modified' }, /dateField/],
      [{ startDate: '2024-01-01T00:00:00' }, /startDate/], // no offset: NVD rejects those
      [{ startDate: 'yesterday' }, /startDate/],
      [{ apiKey: 'x' }, /unknown property "apiKey"/],
      [{ baseUrl: 'ftp://services.nvd.nist.gov' }, /baseUrl/],
      [{ baseUrl: 'https://u:p@services.nvd.nist.gov' }, /credentials/],
    ] as const) {
      expect(() => parseConfig(config)).toThrow(pattern);
    }
  });

  test('the default limiters carry the documented numbers: 5 / 50 per rolling 30 s', () => {
    expect(defaultNvdLimiters.limits).toEqual({ withoutKey: 5, withKey: 50, windowMs: 30_000 });
    const registry = createNvdLimiterRegistry();
    const anon = registry.limiterFor('https://services.nvd.nist.gov', null);
    expect(anon.limit).toBe(5);
    expect(anon.windowMs).toBe(30_000);
    expect(registry.limiterFor('https://services.nvd.nist.gov', 'k1-abcdef').limit).toBe(50);
  });

  test('limiters are shared per (baseUrl, key or anonymous), not per call', () => {
    const registry = createNvdLimiterRegistry();
    const a = registry.limiterFor('https://services.nvd.nist.gov', 'key-one-1234');
    expect(registry.limiterFor('https://SERVICES.nvd.nist.gov/', 'key-one-1234')).toBe(a);
    expect(registry.limiterFor('https://services.nvd.nist.gov', 'key-two-1234')).not.toBe(a);
    expect(registry.limiterFor('https://mirror.example', 'key-one-1234')).not.toBe(a);
    expect(registry.limiterFor('https://services.nvd.nist.gov', null)).toBe(registry.limiterFor('https://services.nvd.nist.gov', ''));
    expect(registry.size).toBe(4);
  });
});

describe('read', () => {
  test('pages by startIndex: 7 CVEs, resultsPerPage 3 → 3 requests, one batch each, totalResults respected', async () => {
    const cves = Array.from({ length: 7 }, (_, i) => cveAt(`CVE-2024-200${i}`, `2024-03-0${i + 1}T12:00:00.000Z`));
    nvd.setCves(cves);
    const i = input({ resultsPerPage: 3, startDate: '2024-03-01T00:00:00Z' });
    const batches = await readAll(adapter(), ctx({ now: () => APRIL }), i);
    expect(ids(batches)).toEqual([cves.slice(0, 3).map((c) => c.id), cves.slice(3, 6).map((c) => c.id), [cves[6]!.id]]);
    expect(batches[0]!.records[0]).toEqual(normalizeCve(cves[0]!));
    expect(nvd.requests.map((r) => [r.path, r.query.startIndex, r.query.resultsPerPage])).toEqual([
      [NVD_PATH, '0', '3'],
      [NVD_PATH, '3', '3'],
      [NVD_PATH, '6', '3'],
    ]);
    for (const r of nvd.requests) {
      expect(r.query).toMatchObject({ lastModStartDate: '2024-03-01T00:00:00.000Z', lastModEndDate: APRIL.toISOString() });
      expect(r.headers.apikey).toBe(GOOD_KEY);
      expect(r.status).toBe(200);
    }
    const cursors = batches.map((b) => b.cursor as NvdCursor);
    expect(cursors.map((c) => c.window?.startIndex ?? null)).toEqual([3, 6, null]);
    expect(cursors[2]).toEqual({
      dateField: 'lastModified',
      since: '2024-03-07T12:00:00.000Z',
      lastModified: '2024-03-07T12:00:00.000Z',
      boundaryKeys: [`${cves[6]!.id}|2024-03-07T12:00:00.000Z`],
      window: null,
    });
  });

  test('a cursor taken mid-window resumes at its startIndex', async () => {
    const cves = Array.from({ length: 7 }, (_, i) => cveAt(`CVE-2024-210${i}`, `2024-03-0${i + 1}T12:00:00.000Z`));
    nvd.setCves(cves);
    const i = input({ resultsPerPage: 3, startDate: '2024-03-01T00:00:00Z' });
    const a = adapter();
    const first = await readAll(a, ctx({ now: () => APRIL }), i);
    nvd.clearRequests();
    const resumed = await readAll(a, ctx({ now: () => APRIL }), i, first[0]!.cursor);
    expect(ids(resumed)).toEqual([cves.slice(3, 6).map((c) => c.id), [cves[6]!.id]]);
    expect(nvd.requests.map((r) => [r.query.startIndex, r.query.lastModStartDate])).toEqual([
      ['3', '2024-03-01T00:00:00.000Z'],
      ['6', '2024-03-01T00:00:00.000Z'],
    ]);
  });

  test('a 200-day range is split into two ≤120-day windows; a CVE on the shared boundary is delivered once', async () => {
    const boundary = '2024-04-30T00:00:00.000Z';
    nvd.setCves([
      cveAt('CVE-2024-3001', '2024-02-01T00:00:00.000Z'),
      cveAt('CVE-2024-3002', boundary),
      cveAt('CVE-2024-3003', '2024-06-01T00:00:00.000Z'),
    ]);
    const batches = await readAll(adapter(), ctx(), input({ startDate: '2024-01-01T00:00:00Z' }));
    expect(nvd.requests.map((r) => [r.query.lastModStartDate, r.query.lastModEndDate, r.query.startIndex, r.query.resultsPerPage])).toEqual([
      ['2024-01-01T00:00:00.000Z', boundary, '0', '2000'],
      [boundary, NOW.toISOString(), '0', '2000'],
    ]);
    // NVD includes both bounds: the boundary CVE was in both answers, but is delivered once.
    expect(nvd.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(ids(batches)).toEqual([['CVE-2024-3001', 'CVE-2024-3002'], ['CVE-2024-3003']]);
    for (const r of nvd.requests) expect(r.rawQuery).not.toContain('+');
  });

  test('dateField published filters with pubStartDate/pubEndDate', async () => {
    nvd.setCves([cveAt('CVE-2024-3101', '2024-07-01T00:00:00.000Z', { published: '2024-07-01T00:00:00.000' })]);
    const batches = await readAll(adapter(), ctx(), input({ dateField: 'published', startDate: '2024-06-01T00:00:00Z' }));
    expect(ids(batches)).toEqual([['CVE-2024-3101']]);
    expect(nvd.requests).toHaveLength(1);
    expect(nvd.requests[0]!.query).toEqual({
      pubStartDate: '2024-06-01T00:00:00.000Z',
      pubEndDate: NOW.toISOString(),
      resultsPerPage: '2000',
      startIndex: '0',
    });
    expect(batches[0]!.cursor).toMatchObject({ dateField: 'published', since: '2024-07-01T00:00:00.000Z' });
  });

  test('without startDate an initial sync starts 30 days before now', async () => {
    await readAll(adapter(), ctx(), input({}));
    expect(nvd.requests).toHaveLength(1);
    expect(nvd.requests[0]!.query.lastModStartDate).toBe('2024-06-19T00:00:00.000Z');
  });

  test('the cursor advances; a read from the committed cursor returns only newer CVEs (and nothing twice)', async () => {
    const a = adapter();
    const i = input({ startDate: '2024-02-01T00:00:00Z', resultsPerPage: 2 });
    const tie = '2024-03-05T16:20:11.456Z';
    const old = cveAt('CVE-2024-4001', '2024-03-01T00:00:00.000Z');
    nvd.setCves([old, cveAt('CVE-2024-4002', tie), cveAt('CVE-2024-4003', tie)]);
    const first = await readAll(a, ctx({ now: () => APRIL }), i);
    expect(ids(first).flat()).toEqual(['CVE-2024-4001', 'CVE-2024-4002', 'CVE-2024-4003']);
    const committed = first.at(-1)!.cursor as NvdCursor;
    expect(committed).toEqual({
      dateField: 'lastModified',
      since: tie,
      lastModified: tie,
      boundaryKeys: [`CVE-2024-4002|${tie}`, `CVE-2024-4003|${tie}`],
      window: null,
    });

    // Later: a new CVE, and the old one modified again; the two at the boundary are unchanged.
    nvd.setCves([
      cveAt('CVE-2024-4001', '2024-06-01T08:00:00.000Z'),
      cveAt('CVE-2024-4002', tie),
      cveAt('CVE-2024-4003', tie),
      cveAt('CVE-2024-4004', '2024-05-01T00:00:00.000Z'),
    ]);
    nvd.clearRequests();
    const second = await readAll(a, ctx(), i, committed);
    expect(nvd.requests[0]!.query.lastModStartDate).toBe(tie); // inclusive: the boundary CVEs came back from NVD...
    expect(nvd.requests.every((r) => r.status === 200)).toBe(true);
    expect(ids(second).flat().sort()).toEqual(['CVE-2024-4001', 'CVE-2024-4004']); // ...but were not delivered again
    expect(second.flatMap((b) => b.records).find((r) => r.id === 'CVE-2024-4001')).toMatchObject({ lastModified: '2024-06-01T08:00:00.000Z' });
    const next = second.at(-1)!.cursor as NvdCursor;
    expect(next).toMatchObject({ since: '2024-06-01T08:00:00.000Z', lastModified: '2024-06-01T08:00:00.000Z', window: null });

    nvd.clearRequests();
    const third = await readAll(a, ctx(), i, next);
    expect(ids(third).flat()).toEqual([]);
    expect(nvd.requests[0]!.query.lastModStartDate).toBe('2024-06-01T08:00:00.000Z');
    expect(third.at(-1)!.cursor).toEqual(next);
  });

  test('a cursor of the other dateField is not reused', async () => {
    const cursor: NvdCursor = { dateField: 'published', since: '2024-07-01T00:00:00.000Z', lastModified: null, boundaryKeys: [], window: null };
    await readAll(adapter(), ctx(), input({ startDate: '2024-05-01T00:00:00Z' }), cursor);
    expect(nvd.requests[0]!.query.lastModStartDate).toBe('2024-05-01T00:00:00.000Z');
  });
});

describe('NVD failure answers', () => {
  const cves = () => [cveAt('CVE-2024-5001', '2024-07-01T00:00:00.000Z'), cveAt('CVE-2024-5002', '2024-07-02T00:00:00.000Z')];
  const cfg = { startDate: '2024-06-01T00:00:00Z' };

  test('a 503 is retried after a backoff and the read completes', async () => {
    nvd.setCves(cves());
    nvd.failNext(503);
    const batches = await readAll(adapter({ retry: { baseDelayMs: 150 } }), ctx(), input(cfg));
    expect(ids(batches)).toEqual([['CVE-2024-5001', 'CVE-2024-5002']]);
    expect(nvd.requests.map((r) => r.status)).toEqual([503, 200]);
    expect(nvd.requests[1]!.time - nvd.requests[0]!.time).toBeGreaterThanOrEqual(140);
  });

  test('a 403 (NVD rate limiting) is retried after a backoff, and the read completes', async () => {
    nvd.setCves(cves());
    nvd.failNext(403, 1, { message: 'Rate limit exceeded' });
    const batches = await readAll(adapter({ retry: { baseDelayMs: 300 } }), ctx(), input(cfg));
    expect(ids(batches)).toEqual([['CVE-2024-5001', 'CVE-2024-5002']]);
    expect(nvd.requests.map((r) => r.status)).toEqual([403, 200]);
    const gap = nvd.requests[1]!.time - nvd.requests[0]!.time;
    expect(gap).toBeGreaterThanOrEqual(290);
    expect(gap).toBeLessThan(1500);
  });

  test('a 429 with Retry-After is retried when Retry-After says, not sooner', async () => {
    nvd.setCves(cves());
    nvd.failNext(429, 1, { headers: { 'retry-after': '1' } });
    await readAll(adapter({ retry: { baseDelayMs: 10 } }), ctx(), input(cfg));
    expect(nvd.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(nvd.requests[1]!.time - nvd.requests[0]!.time).toBeGreaterThanOrEqual(990);
  });

  test('a persistent 403 ends as RATE_LIMITED (retryable) after the configured attempts', async () => {
    nvd.failNext(403, 3, { message: 'Rate limit exceeded' });
    const err = await readFailure(adapter({ retry: { attempts: 3, baseDelayMs: 10 } }), ctx(), input(cfg));
    expect(err).toMatchObject({ code: 'RATE_LIMITED', retryable: true, status: 403 });
    expect(err.message).toMatch(/after 3 attempts/);
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(nvd.requests.map((r) => r.status)).toEqual([403, 403, 403]);
  });

  test('404 "Invalid apiKey." is AUTH_FAILED and not retried', async () => {
    const err = await readFailure(adapter(), ctx(), input(cfg, 'API_KEY', { apiKey: WRONG_KEY }));
    expect(err).toMatchObject({ code: 'AUTH_FAILED', retryable: false, status: 404 });
    expect(nvd.requests.map((r) => r.status)).toEqual([404]);
  });

  test('any other 404 with a message is CONFIG_INVALID carrying that message', async () => {
    nvd.failNext(404, 1, { message: 'Invalid ISO 8601 date/time format, see documentation.' });
    const err = await readFailure(adapter(), ctx(), input(cfg));
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', retryable: false, status: 404 });
    expect(err.message).toContain('Invalid ISO 8601 date/time format, see documentation.');
    expect(nvd.requests).toHaveLength(1);
  });

  test('a 2xx that is not a CVE API page is BAD_RESPONSE', async () => {
    nvd.failNext(200, 1, { body: JSON.stringify({ results: [] }) });
    const err = await readFailure(adapter(), ctx(), input(cfg));
    expect(err).toMatchObject({ code: 'BAD_RESPONSE' });
    expect(err.message).toMatch(/vulnerabilities/);
  });

  test('ctx.signal aborts a request in flight, and a wait for the limiter', async () => {
    nvd.failNext(503, 1, { delayMs: 8000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const t0 = performance.now();
    const err = await readFailure(adapter(), ctx({ signal: controller.signal }), input(cfg));
    expect(err.code).toBe('TIMEOUT');
    // Well inside the upstream's 8 s delay and the limiter's 30 s window: a loaded machine cannot blur it.
    expect(performance.now() - t0).toBeLessThan(4000);

    // One slot per 30 s: the second read waits for the limiter until it is aborted.
    const slow = adapter({ rateLimits: { withKey: 1, withoutKey: 1, windowMs: 30_000 } });
    nvd.clearRequests();
    await readAll(slow, ctx(), input(cfg));
    const waiting = new AbortController();
    setTimeout(() => waiting.abort(), 150);
    const t1 = performance.now();
    expect((await readFailure(slow, ctx({ signal: waiting.signal }), input(cfg))).code).toBe('TIMEOUT');
    expect(performance.now() - t1).toBeLessThan(5000);
    expect(nvd.requests).toHaveLength(1);
  });
});

describe('rate limiter', () => {
  const WINDOW = 1000;
  const LIMIT = 5;
  let limited: NvdServer;

  beforeAll(async () => {
    // The fake enforces the same numbers and answers 403 when they are exceeded.
    limited = await startNvdServer({ rateLimit: { withoutKey: LIMIT, withKey: LIMIT, windowMs: WINDOW } });
    servers.push(limited);
    limited.setCves(Array.from({ length: 6 }, (_, i) => cveAt(`CVE-2024-600${i}`, `2024-07-0${i + 1}T00:00:00.000Z`)));
  });

  beforeEach(async () => {
    limited.clearRequests();
    // A new adapter has a new limiter: let the server's window of the previous test pass first.
    await new Promise((r) => setTimeout(r, WINDOW));
  });

  /** For every request, the number of requests the server saw in the rolling window ending at it. */
  const maxInAnyWindow = (times: number[]) => Math.max(...times.map((t) => times.filter((u) => u > t - WINDOW && u <= t).length));

  const cfg = () => ({ baseUrl: limited.url, resultsPerPage: 1, startDate: '2024-06-01T00:00:00Z' });

  test(`two concurrent reads (12 requests) share one limiter: never more than ${LIMIT} per rolling ${WINDOW} ms`, async () => {
    const a = adapter({ rateLimits: { withoutKey: LIMIT, withKey: LIMIT, windowMs: WINDOW }, retry: { attempts: 1 } });
    const t0 = performance.now();
    const [x, y] = await Promise.all([
      readAll(a, ctx(), { config: cfg(), authType: 'API_KEY', credentials: { apiKey: GOOD_KEY } }),
      readAll(a, ctx(), { config: cfg(), authType: 'API_KEY', credentials: { apiKey: GOOD_KEY } }),
    ]);
    const elapsed = performance.now() - t0;
    expect(ids(x).flat()).toHaveLength(6);
    expect(ids(y).flat()).toHaveLength(6);
    expect(limited.requests).toHaveLength(12);
    expect(limited.requests.every((r) => r.status === 200)).toBe(true);
    expect(maxInAnyWindow(limited.requests.map((r) => r.time))).toBeLessThanOrEqual(LIMIT);
    // 12 requests at 5 per window need two full windows, and not much more.
    expect(elapsed).toBeGreaterThanOrEqual(2 * WINDOW);
    expect(elapsed).toBeLessThan(4 * WINDOW);
  });

  test('the anonymous budget is separate from the keyed one, and enforced the same way', async () => {
    const a = adapter({ rateLimits: { withoutKey: LIMIT, withKey: LIMIT, windowMs: WINDOW }, retry: { attempts: 1 } });
    await Promise.all([
      readAll(a, ctx(), { config: cfg(), authType: 'NONE', credentials: {} }),
      readAll(a, ctx(), { config: cfg(), authType: 'API_KEY', credentials: { apiKey: GOOD_KEY } }),
    ]);
    const anon = limited.requests.filter((r) => r.headers.apikey === undefined);
    const keyed = limited.requests.filter((r) => r.headers.apikey === GOOD_KEY);
    expect([anon.length, keyed.length]).toEqual([6, 6]);
    expect(limited.requests.every((r) => r.status === 200)).toBe(true);
    expect(maxInAnyWindow(anon.map((r) => r.time))).toBeLessThanOrEqual(LIMIT);
    expect(maxInAnyWindow(keyed.map((r) => r.time))).toBeLessThanOrEqual(LIMIT);
    // Separate budgets: the two callers ran side by side, so more than LIMIT requests fell in one window overall.
    expect(maxInAnyWindow(limited.requests.map((r) => r.time))).toBeGreaterThan(LIMIT);
  });

  test('control: a client limit above the server one is caught by the server (so the assertions above can fail)', async () => {
    const loose = adapter({ rateLimits: { withoutKey: 100, withKey: 100, windowMs: WINDOW }, retry: { attempts: 1 } });
    const err = await readFailure(loose, ctx(), { config: cfg(), authType: 'API_KEY', credentials: { apiKey: GOOD_KEY } });
    expect(err.code).toBe('RATE_LIMITED');
    expect(limited.requests.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 403]);
    expect(maxInAnyWindow(limited.requests.map((r) => r.time))).toBeGreaterThan(LIMIT);
  });

  test('SlidingWindowLimiter: counts from completion, FIFO, pause holds every caller', async () => {
    const limiter = new SlidingWindowLimiter({ limit: 2, windowMs: 200 });
    const t0 = performance.now();
    const granted: number[] = [];
    const task = (ms: number) => () => new Promise<void>((r) => setTimeout(r, ms)).then(() => void granted.push(performance.now() - t0));
    // Two slots, both held 100 ms: the third starts a window after they FINISHED (~300 ms), not after they started (~200 ms).
    await Promise.all([limiter.schedule(task(100)), limiter.schedule(task(100)), limiter.schedule(task(0))]);
    expect(granted[2]!).toBeGreaterThanOrEqual(290);
    expect(limiter.state).toMatchObject({ inflight: 0, queued: 0 });
    await new Promise((r) => setTimeout(r, 220));
    limiter.pause(250);
    const p0 = performance.now();
    await limiter.schedule(async () => undefined);
    expect(performance.now() - p0).toBeGreaterThanOrEqual(240);
  });
});

describe('check', () => {
  const recent = () => [
    cveAt('CVE-2024-7001', '2024-07-15T09:00:00.000Z'),
    cveAt('CVE-2024-7002', '2024-07-16T09:00:00.000Z'),
    cveAt('CVE-2024-7003', '2024-01-16T09:00:00.000Z'),
  ];

  test('one request: four passed steps and exactly one normalized sample record', async () => {
    const cves = recent();
    nvd.setCves(cves);
    const result = await check(adapter(), ctx(), input({}));
    expect(result.steps.map((s) => [s.name, s.passed])).toEqual([
      ['CONNECT', true],
      ['AUTHENTICATE', true],
      ['SAMPLE_QUERY', true],
      ['VALIDATE_FORMAT', true],
    ]);
    expect(result.success).toBe(true);
    for (const s of result.steps) {
      expect(s.latencyMs).toBeGreaterThanOrEqual(0);
      expect(s.errorCode).toBeNull();
      expect(s.message).toBeTruthy();
    }
    expect(result.latencyMs).toBeGreaterThanOrEqual(result.steps.reduce((n, s) => n + (s.latencyMs ?? 0), 0));
    expect(result.sample).toEqual([normalizeCve(cves[0]!)]);
    expect(step(result, 'SAMPLE_QUERY').message).toMatch(/2 CVEs changed in the last 7 days/);
    expect(step(result, 'AUTHENTICATE').message).toMatch(/accepted the API key/);
    expect(nvd.requests).toHaveLength(1);
    expect(nvd.requests[0]!.query).toEqual({
      lastModStartDate: '2024-07-12T00:00:00.000Z',
      lastModEndDate: NOW.toISOString(),
      resultsPerPage: '1',
      startIndex: '0',
    });
    expect(nvd.requests[0]!.headers.apikey).toBe(GOOD_KEY);
  });

  test('without a key: no apiKey header; cheap checks keep no sample', async () => {
    nvd.setCves(recent());
    const result = await check(adapter(), ctx(), input({}, 'NONE', {}), { cheap: true });
    expect(result.success).toBe(true);
    expect(result.sample).toEqual([]);
    expect(step(result, 'AUTHENTICATE').message).toMatch(/No API key/);
    expect(nvd.requests).toHaveLength(1);
    expect(nvd.requests[0]!.headers.apikey).toBeUndefined();
  });

  test('an invalid API key fails AUTHENTICATE with AUTH_FAILED and a remediation; later steps not run', async () => {
    const result = await check(adapter(), ctx(), input({}, 'API_KEY', { apiKey: WRONG_KEY }));
    expect(step(result, 'CONNECT').passed).toBe(true);
    const auth = step(result, 'AUTHENTICATE');
    expect(auth).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', retryable: false });
    expect(auth.message).toMatch(/Invalid apiKey/);
    expect(auth.remediation).toMatch(/^NVD rejected the API key: check it or rotate the connector's credentials/);
    expectNotRunAfter(result, 'AUTHENTICATE');
    expect(nvd.requests).toHaveLength(1);
  });

  test('persistent rate limiting fails SAMPLE_QUERY with RATE_LIMITED; the remediation says wait or add a key', async () => {
    nvd.failNext(403, 2, { message: 'Rate limit exceeded' });
    const anon = await check(adapter({ retry: { attempts: 2, baseDelayMs: 10 } }), ctx(), input({}, 'NONE', {}));
    expect(step(anon, 'AUTHENTICATE').passed).toBe(true);
    expect(step(anon, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'RATE_LIMITED', retryable: true });
    expect(step(anon, 'SAMPLE_QUERY').remediation).toMatch(/wait \d+ s and test again, or add an NVD API key/);
    expectNotRunAfter(anon, 'SAMPLE_QUERY');

    nvd.failNext(429, 1, { headers: { 'retry-after': '3600' } });
    const keyed = await check(adapter({ retry: { attempts: 2, baseDelayMs: 10 } }), ctx(), input({}));
    expect(step(keyed, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'RATE_LIMITED' });
    expect(step(keyed, 'SAMPLE_QUERY').remediation).toMatch(/rate limiting this API key .*wait 3600 s/);
  });

  test('a body that is not a CVE API page fails VALIDATE_FORMAT', async () => {
    nvd.failNext(200, 1, { body: JSON.stringify({ totalResults: 1, vulnerabilities: [{ id: 'CVE-2024-1' }] }) });
    const result = await check(adapter(), ctx(), input({}));
    expect(step(result, 'SAMPLE_QUERY').passed).toBe(true);
    expect(step(result, 'VALIDATE_FORMAT')).toMatchObject({ passed: false, errorCode: 'BAD_RESPONSE' });
    expect(step(result, 'VALIDATE_FORMAT').message).toMatch(/vulnerabilities\[0\]/);
    expect(result.sample).toEqual([]);
  });

  test('an invalid configuration or auth type fails CONNECT with CONFIG_INVALID; nothing is contacted', async () => {
    for (const [config, authType, credentials, pattern] of [
      [{ resultsPerPage: 5000 }, 'NONE', {}, /resultsPerPage/],
      [{}, 'API_KEY', {}, /apiKey/],
      [{}, 'BASIC', { username: 'u', password: `${SENTINEL}-pw` }, /NONE and API_KEY/],
    ] as const) {
      const result = await check(adapter(), ctx(), input(config, authType, credentials as Credentials));
      expect(step(result, 'CONNECT')).toMatchObject({ passed: false, errorCode: 'CONFIG_INVALID', retryable: false });
      expect(step(result, 'CONNECT').message).toMatch(pattern);
      expectNotRunAfter(result, 'CONNECT');
    }
    expect(nvd.requests).toHaveLength(0);
  });
});

// Runs last (jest runs tests in file order).
test('the API key appears in no URL the server saw, and in no result, record, cursor, error or log line', () => {
  const seen = seenRequests;
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.some((r) => r.headers.apikey === GOOD_KEY)).toBe(true); // it was sent, in the header
  for (const r of seen) {
    expect(r.rawQuery).not.toContain('S3NT1NEL');
    expect(r.path).not.toContain('S3NT1NEL');
    expect(JSON.stringify(r.query)).not.toMatch(/S3NT1NEL|apiKey/i);
  }
  expect(produced.length).toBeGreaterThan(20);
  const everything = JSON.stringify(produced) + logs.join('\n');
  expect(everything).not.toContain('S3NT1NEL');
});
