/**
 * The shared HTTP client against real loopback servers: retries, Retry-After, timeouts, the size
 * cap, TLS verification, the egress guard (literal, resolved and redirected destinations) and
 * secret scrubbing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LookupAddress } from 'node:dns';
import { createHttpClient, HttpClientError, parseRetryAfter, scrubSecrets } from '../../../src/adapters/http/client.js';
import type { HttpClient } from '../../../src/adapters/http/client.js';
import type { LookupFunction } from '../../../src/adapters/http/egress.js';
import { findLink, parseLinkHeader } from '../../../src/adapters/http/link.js';

const SENTINEL = 'S3NT1NEL-4c1d9e7b0a';
const MiB = 1024 * 1024;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Upstream {
  port: number;
  url: string;
  /** `METHOD path` of every request received. */
  requests: string[];
  headers: http.IncomingHttpHeaders[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

async function startUpstream(host = '127.0.0.1', tls?: { key: Buffer; cert: Buffer }): Promise<Upstream> {
  let handler: Handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('[]');
  };
  const requests: string[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    headers.push(req.headers);
    handler(req, res);
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, listener) : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    url: `${tls ? 'https' : 'http'}://${hostPart}:${port}`,
    requests,
    headers,
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

const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...extra });
  res.end(JSON.stringify(body));
};

async function failure(promise: Promise<unknown>): Promise<HttpClientError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(HttpClientError);
    const err = e as HttpClientError;
    // Scrubbed everywhere, and no got error (with its request options) behind it.
    expect(err.message).not.toContain(SENTINEL);
    expect(String(err.stack)).not.toContain(SENTINEL);
    expect(JSON.stringify(err)).not.toContain(SENTINEL);
    expect((err as { cause?: unknown }).cause).toBeUndefined();
    expect((err as { options?: unknown }).options).toBeUndefined();
    return err;
  }
  throw new Error('expected the request to fail');
}

const waitFor = async (predicate: () => boolean, ms = 2000) => {
  const until = Date.now() + ms;
  while (!predicate() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
};

let up: Upstream;
let client: HttpClient;
const clients: HttpClient[] = [];
const make = (options: Parameters<typeof createHttpClient>[0]) => {
  const c = createHttpClient(options);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  up = await startUpstream();
  client = make({ egressAllow: ['127.0.0.1/32'], retryBaseDelayMs: 20, connectTimeoutMs: 1000 });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await up.close();
});

beforeEach(() => {
  up.requests.length = 0;
  up.headers.length = 0;
});

describe('requests and retries', () => {
  test('a JSON GET returns status, body, final URL and high-resolution timings', async () => {
    up.handle((req, res) => json(res, 200, [{ id: 1, q: new URL(req.url!, 'http://x').searchParams.get('q') }]));
    const res = await client.request<{ id: number; q: string }[]>({ url: `${up.url}/items?a=1`, searchParams: { q: 'v w' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ id: 1, q: 'v w' }]);
    expect(res.url).toBe(`${up.url}/items?a=1&q=v+w`);
    expect(res.attempts).toBe(1);
    expect(res.timings.connectMs).not.toBeNull();
    expect(res.timings.totalMs).toBeGreaterThan(0);
    expect(res.latencyMs).toBeGreaterThanOrEqual(res.timings.totalMs);
    expect(Number.isInteger(res.latencyMs)).toBe(false);
    expect(up.headers[0]!['user-agent']).toMatch(/connector-subgraph/);
  });

  test('500 then 200: retried, and succeeds', async () => {
    let n = 0;
    up.handle((_req, res) => (++n === 1 ? json(res, 500, { error: 'boom' }) : json(res, 200, { ok: true })));
    const res = await client.request({ url: `${up.url}/flaky` });
    expect(res.body).toEqual({ ok: true });
    expect(res.attempts).toBe(2);
    expect(up.requests).toHaveLength(2);
  });

  test('persistent 503: bounded retries, then UNREACHABLE with the status', async () => {
    up.handle((_req, res) => json(res, 503, {}));
    const err = await failure(client.request({ url: `${up.url}/down`, secrets: [SENTINEL] }));
    expect(err.code).toBe('UNREACHABLE');
    expect(err.status).toBe(503);
    expect(err.retryable).toBe(true);
    expect(err.attempts).toBe(3);
    expect(up.requests).toHaveLength(3);
  });

  test('429 with Retry-After: 1 waits about a second, then succeeds', async () => {
    let n = 0;
    up.handle((_req, res) => (++n === 1 ? json(res, 429, {}, { 'retry-after': '1' }) : json(res, 200, [1])));
    const t0 = performance.now();
    const res = await client.request({ url: `${up.url}/limited` });
    const elapsed = performance.now() - t0;
    expect(res.body).toEqual([1]);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
  });

  test('a Retry-After beyond the cap fails at once with RATE_LIMITED and retryAfterMs', async () => {
    up.handle((_req, res) => json(res, 429, {}, { 'retry-after': '120' }));
    const t0 = performance.now();
    const err = await failure(client.request({ url: `${up.url}/limited` }));
    expect(performance.now() - t0).toBeLessThan(5000); // Retry-After is 120 s
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryAfterMs).toBe(120_000);
    expect(err.retryable).toBe(true);
    expect(up.requests).toHaveLength(1);
  });

  test('Retry-After as an HTTP date is understood', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  test('POST is retried only when marked idempotent', async () => {
    up.handle((_req, res) => json(res, 502, {}));
    const err = await failure(client.request({ method: 'POST', url: `${up.url}/p`, json: { a: 1 } }));
    expect(err.code).toBe('UNREACHABLE');
    expect(up.requests).toEqual(['POST /p']);
    up.requests.length = 0;
    await failure(client.request({ method: 'POST', url: `${up.url}/p`, form: { a: '1' }, idempotent: true }));
    expect(up.requests).toHaveLength(3);
  });

  test('status mapping: 401/403 → AUTH_FAILED (not retryable), 404 → CONFIG_INVALID, 418 → BAD_RESPONSE', async () => {
    up.handle((req, res) => json(res, Number(req.url!.slice(1)), { echo: req.headers['x-api-key'] }));
    const headers = { 'x-api-key': SENTINEL };
    for (const [status, code, retryable] of [
      [401, 'AUTH_FAILED', false],
      [403, 'AUTH_FAILED', false],
      [404, 'CONFIG_INVALID', false],
      [418, 'BAD_RESPONSE', false],
    ] as const) {
      const err = await failure(client.request({ url: `${up.url}/${status}`, headers, secrets: [SENTINEL] }));
      expect([err.status, err.code, err.retryable]).toEqual([status, code, retryable]);
    }
    expect(up.requests).toHaveLength(4); // none of them retried
  });

  test('throwHttpErrors: false returns the final non-2xx response', async () => {
    up.handle((_req, res) => json(res, 400, { error: 'invalid_client' }));
    const res = await client.request({ method: 'POST', url: `${up.url}/token`, form: {}, throwHttpErrors: false });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_client' });
  });

  test('a refused connection is UNREACHABLE after retries', async () => {
    const gone = await startUpstream();
    const url = `${gone.url}/x`;
    await gone.close();
    const err = await failure(client.request({ url }));
    expect(err.code).toBe('UNREACHABLE');
    expect(err.networkCode).toBe('ECONNREFUSED');
    expect(err.phase).toBe('connect');
    expect(err.attempts).toBe(3);
  });
});

describe('timeouts and cancellation', () => {
  test('a hanging upstream fails with TIMEOUT within the configured bound', async () => {
    up.handle(() => {
      /* never answers */
    });
    const t0 = performance.now();
    const err = await failure(client.request({ url: `${up.url}/hang`, timeoutMs: 400 }));
    const elapsed = performance.now() - t0;
    expect(err.code).toBe('TIMEOUT');
    expect(err.phase).toBe('response');
    expect(err.retryable).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(3000); // the upstream never answers
  });

  test('a body that stalls mid-way also times out', async () => {
    up.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[1,');
    });
    const err = await failure(client.request({ url: `${up.url}/stall`, timeoutMs: 300 }));
    expect(err.code).toBe('TIMEOUT');
    expect(err.phase).toBe('body');
    expect(err.status).toBe(200);
  });

  test('an AbortSignal ends the call at once', async () => {
    up.handle(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const t0 = performance.now();
    const err = await failure(client.request({ url: `${up.url}/hang`, signal: controller.signal }));
    expect(performance.now() - t0).toBeLessThan(3000); // the upstream never answers
    expect(err.aborted).toBe(true);
  });
});

describe('response bodies', () => {
  test('malformed JSON → BAD_RESPONSE without quoting the body', async () => {
    up.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"items": [${SENTINEL}`);
    });
    const err = await failure(client.request({ url: `${up.url}/bad` }));
    expect(err.code).toBe('BAD_RESPONSE');
    expect(err.phase).toBe('body');
    expect(err.status).toBe(200);
    expect(err.message).toMatch(/not valid JSON/);
  });

  test('text responses are returned as text', async () => {
    up.handle((_req, res) => res.end('plain'));
    expect((await client.request({ url: `${up.url}/t`, responseType: 'text' })).body).toBe('plain');
  });

  /** Streams `total` bytes with backpressure; reports how much the server managed to hand to the socket. */
  const bigBody = (total: number, declareLength: boolean) => {
    const state = { written: 0, closed: false };
    up.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(total) } : {}) });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      res.on('close', () => {
        state.closed = true;
      });
      const pump = () => {
        while (state.written < total && !state.closed) {
          const ok = res.write(chunk);
          state.written += chunk.length;
          if (!ok) return void res.once('drain', pump);
        }
        if (!state.closed) res.end();
      };
      pump();
    });
    return state;
  };

  test('a 50 MB streamed body is aborted at the cap, long before the server is done', async () => {
    const state = bigBody(50 * MiB, false);
    const before = process.memoryUsage().rss;
    const err = await failure(client.request({ url: `${up.url}/huge` }));
    expect(err.code).toBe('BAD_RESPONSE');
    expect(err.message).toMatch(/exceeded the 10485760-byte limit/);
    await waitFor(() => state.closed);
    expect(state.closed).toBe(true);
    expect(state.written).toBeLessThan(25 * MiB);
    // Loose bound: the client kept at most the cap (10 MiB) plus socket buffers.
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * MiB);
  });

  test('an announced Content-Length over the cap fails before the download', async () => {
    const state = bigBody(50 * MiB, true);
    const small = make({ egressAllow: ['127.0.0.1/32'], maxResponseBytes: 1 * MiB });
    const err = await failure(small.request({ url: `${up.url}/huge` }));
    expect(err.code).toBe('BAD_RESPONSE');
    expect(err.message).toMatch(/announced/);
    await waitFor(() => state.closed);
    expect(state.written).toBeLessThan(10 * MiB);
  });

  test('a per-request cap applies too', async () => {
    bigBody(3 * MiB, false);
    const err = await failure(client.request({ url: `${up.url}/big`, maxResponseBytes: 1 * MiB }));
    expect(err.code).toBe('BAD_RESPONSE');
  });
});

describe('egress guard', () => {
  let strict: HttpClient;
  beforeAll(() => {
    strict = make({ retryBaseDelayMs: 10 });
  });

  test.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fd00:ec2::254]/',
    'http://0x7f000001/',
  ])('%s → EGRESS_DENIED', async (url) => {
    const t0 = performance.now();
    const err = await failure(strict.request({ url }));
    expect(err.code).toBe('EGRESS_DENIED');
    expect(err.retryable).toBe(false);
    expect(err.attempts).toBe(1);
    // Refused before any socket: no attempt was timed (timings exist once a socket is tried), and no
    // connect timeout (5 s by default) was waited out: a bound far from it, robust on a busy machine.
    expect(err.phase).toBe('connect');
    expect(err.timings).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(2500);
  });

  test('a loopback server that is not allow-listed is never contacted', async () => {
    const err = await failure(strict.request({ url: `${up.url}/`, secrets: [SENTINEL] }));
    expect(err.code).toBe('EGRESS_DENIED');
    expect(err.message).toContain('127.0.0.1');
    expect(up.requests).toHaveLength(0);
  });

  test('a host name resolving to loopback (localhost) is refused after resolution', async () => {
    const err = await failure(strict.request({ url: `http://localhost:${up.port}/` }));
    expect(err.code).toBe('EGRESS_DENIED');
    expect(err.message).toContain('localhost');
    expect(up.requests).toHaveLength(0);
  });

  test('the same through an injected resolver (api.example.test → 127.0.0.1)', async () => {
    const resolver: LookupFunction = (hostname, _options, callback) => {
      if (hostname === 'api.example.test') callback(null, [{ address: '127.0.0.1', family: 4 } as LookupAddress]);
      else callback(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), []);
    };
    up.handle((_req, res) => json(res, 200, []));
    const guarded = make({ dnsLookup: resolver });
    const err = await failure(guarded.request({ url: `http://api.example.test:${up.port}/` }));
    expect(err.code).toBe('EGRESS_DENIED');
    expect(up.requests).toHaveLength(0);
    // …and it is only the guard: allow-listed, the same name goes through.
    const open = make({ dnsLookup: resolver, egressAllow: ['127.0.0.1/32'] });
    expect((await open.request({ url: `http://api.example.test:${up.port}/` })).status).toBe(200);
    expect(up.requests).toHaveLength(1);
    const missing = await failure(open.request({ url: `http://missing.example.test:${up.port}/` }));
    expect(missing.code).toBe('UNREACHABLE');
    expect(missing.retryable).toBe(false);
  });

  test('an allowed server redirecting to a non-allowed address is refused at the redirect', async () => {
    const other = await startUpstream('127.0.0.2');
    try {
      up.handle((req, res) => {
        const to = req.url === '/to-v6' ? `http://[::1]:${other.port}/x` : req.url === '/to-meta' ? 'http://169.254.169.254/latest/meta-data/' : `${other.url}/x`;
        res.writeHead(302, { location: to });
        res.end();
      });
      for (const path of ['/to-127.0.0.2', '/to-v6', '/to-meta']) {
        const err = await failure(client.request({ url: `${up.url}${path}` }));
        expect(err.code).toBe('EGRESS_DENIED');
        expect(err.phase).toBe('connect');
      }
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  test('a redirect to a host name that resolves to a refused address is refused by the lookup', async () => {
    const other = await startUpstream('127.0.0.2');
    try {
      const resolver: LookupFunction = (hostname, _options, callback) =>
        callback(null, [{ address: hostname === 'internal.example.test' ? '127.0.0.2' : '127.0.0.1', family: 4 }]);
      const guarded = make({ dnsLookup: resolver, egressAllow: ['127.0.0.1/32'] });
      up.handle((_req, res) => {
        res.writeHead(307, { location: `http://internal.example.test:${other.port}/again` });
        res.end();
      });
      const err = await failure(guarded.request({ url: `http://api.example.test:${up.port}/r` }));
      expect(err.code).toBe('EGRESS_DENIED');
      expect(err.message).toContain('internal.example.test');
      expect(up.requests).toEqual(['GET /r']);
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  test('a cross-origin redirect drops credential headers', async () => {
    const other = await startUpstream();
    try {
      up.handle((_req, res) => {
        res.writeHead(302, { location: `${other.url}/landing` });
        res.end();
      });
      other.handle((_req, res) => json(res, 200, { ok: true }));
      const res = await client.request({ url: `${up.url}/r`, headers: { 'x-api-key': SENTINEL, authorization: `Bearer ${SENTINEL}` } });
      expect(res.url).toBe(`${other.url}/landing`);
      expect(other.headers[0]!['x-api-key']).toBeUndefined();
      expect(other.headers[0]!.authorization).toBeUndefined();
      expect(other.headers[0]!['user-agent']).toBeDefined();
    } finally {
      await other.close();
    }
  });

  test('redirect loops are bounded', async () => {
    up.handle((_req, res) => {
      res.writeHead(302, { location: '/loop' });
      res.end();
    });
    const err = await failure(client.request({ url: `${up.url}/loop` }));
    expect(err.code).toBe('BAD_RESPONSE');
    expect(up.requests.length).toBeLessThanOrEqual(6);
  });
});

describe('TLS', () => {
  // openssl ships with the machine image; the test must run, not skip, where it is missing.
  test('a self-signed certificate is refused (verification stays on)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    const secure = await startUpstream('127.0.0.1', { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) });
    try {
      const err = await failure(client.request({ url: `${secure.url}/` }));
      expect(err.code).toBe('UNREACHABLE');
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/TLS verification/);
      expect(err.phase).toBe('connect');
      expect(secure.requests).toHaveLength(0);
    } finally {
      await secure.close();
    }
  });
});

describe('secret scrubbing', () => {
  test('secrets, their encodings, URL userinfo, secret query parameters and auth headers', () => {
    const text = [
      `key ${SENTINEL}`,
      `enc ${encodeURIComponent(`${SENTINEL}/+`)}`,
      `b64 ${Buffer.from(`${SENTINEL}/+`).toString('base64')}`,
      'url https://alice:hunter22@api.example.com/x',
      'q https://api.example.com/x?page=2&api_key=abc123&access_token=zzz&client_secret=qq',
      'h Authorization: Bearer eyJhbGciOi.xyz',
    ].join('\n');
    const out = scrubSecrets(text, [SENTINEL, `${SENTINEL}/+`]);
    expect(out).not.toContain(SENTINEL);
    expect(out).not.toContain(Buffer.from(`${SENTINEL}/+`).toString('base64'));
    expect(out).not.toContain('hunter22');
    expect(out).not.toContain('abc123');
    expect(out).not.toContain('zzz');
    expect(out).not.toContain('eyJhbGciOi');
    expect(out).toContain('page=2');
    expect(out).toContain('api.example.com');
  });

  test('errors of calls carrying secrets in the URL, headers and body stay clean', async () => {
    const gone = await startUpstream();
    const url = `${gone.url}/x?api_key=${SENTINEL}`;
    await gone.close();
    await failure(client.request({ method: 'POST', url, headers: { authorization: `Bearer ${SENTINEL}` }, json: { s: SENTINEL }, secrets: [SENTINEL] }));
    await failure(client.request({ url: `http://user:${SENTINEL}@169.254.169.254/`, secrets: [SENTINEL] }));
  });
});

describe('Link headers (RFC 8288)', () => {
  test('relative targets resolve against the response URL; several rels; several headers', () => {
    const links = parseLinkHeader(['</items?page=2>; rel="next last"', '<https://other.example/p1>; rel=prev; title="x"'], 'https://api.example.com/v1/items?page=1');
    expect(links).toEqual([
      { url: 'https://api.example.com/items?page=2', rels: ['next'], params: {} },
      { url: 'https://api.example.com/items?page=2', rels: ['last'], params: {} },
      { url: 'https://other.example/p1', rels: ['prev'], params: { title: 'x' } },
    ]);
    expect(findLink('<page3>; rel="next"', 'https://api.example.com/v1/items')).toBe('https://api.example.com/v1/page3');
    expect(findLink('<https://a/b>; rel="prev"', 'https://api.example.com/')).toBeNull();
    expect(findLink('garbage', 'https://api.example.com/')).toBeNull();
    expect(findLink('<javascript:alert(1)>; rel="next"', 'https://api.example.com/')).toBeNull();
    expect(findLink(undefined, 'https://api.example.com/')).toBeNull();
  });
});
