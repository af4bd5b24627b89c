/**
 * OWASP API Security Top 10 (2023), API10: Unsafe Consumption of APIs.
 *
 * The upstreams a connector reads are third parties: they may answer too much, too slowly, in
 * broken or hostile JSON, point the connector elsewhere, echo the credentials back, or ask it to
 * wait forever. Hostile node:http servers on loopback play those parts; the caps and codes are the
 * shared HTTP client's (src/adapters/http/client.ts): a 10 MiB body cap enforced while streaming,
 * a whole-call budget (`timeoutMs`), malformed JSON as BAD_RESPONSE, credentials sent to the
 * configured origin only, secrets scrubbed, and a Retry-After cap (30 s) beyond which it does not
 * wait.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { admin, editor } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { sleep, waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const KEY = `S3NT1NEL-api10-${Math.random().toString(36).slice(2, 12)}`;
const RESULT = 'success latencyMs message sample steps { name passed latencyMs message errorCode retryable remediation }';
const TEST_DRAFT = `mutation($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { ${RESULT} } }`;
const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`;
const PING = '{ connectorProviders { id } }';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Hostile {
  url: string;
  origin: string;
  requests: Array<{ url: string; headers: http.IncomingHttpHeaders }>;
  handle(h: Handler): void;
  close(): Promise<void>;
}

async function hostile(): Promise<Hostile> {
  let handler: Handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
  const requests: Hostile['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    origin: url,
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

let svc: TestService;
let up: Hostile;
let ed: string;
let ad: string;

beforeAll(async () => {
  svc = await startTestService('security_api10');
  up = await hostile();
  ed = await editor('api10');
  ad = await admin('api10');
});

afterAll(async () => {
  await svc?.close();
  await up?.close();
});

beforeEach(() => {
  up.requests.length = 0;
});

async function draft(config: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const t0 = performance.now();
  const res = await svc.gql(TEST_DRAFT, { input: { provider: 'generic_rest', config: { baseUrl: up.url, path: '/items', ...config }, ...extra } }, ed);
  const elapsed = performance.now() - t0;
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return { result: res.body.data.testConnectorConfig, elapsed, body: JSON.stringify(res.body) };
}

const step = (result: any, name: string) => result.steps.find((s: any) => s.name === name);

/** How long a trivial query takes right now: the event loop is free when this stays small. */
async function pingMs(): Promise<number> {
  const t0 = performance.now();
  const res = await svc.gql(PING, {}, ed);
  expect(res.body.errors).toBeUndefined();
  return performance.now() - t0;
}

/** Runs `work` while pinging the service; returns its result and the slowest ping. */
async function whilePinging<T>(work: Promise<T>): Promise<{ value: T; slowestPing: number; pings: number }> {
  let done = false;
  let slowest = 0;
  let pings = 0;
  const pinger = (async () => {
    while (!done) {
      slowest = Math.max(slowest, await pingMs());
      pings += 1;
      await sleep(25);
    }
  })();
  try {
    return { value: await work, slowestPing: slowest, pings };
  } finally {
    done = true;
    await pinger;
  }
}

/** Streams `total` bytes of one endless JSON string, with backpressure; reports what the socket took. */
function streamBody(total: number, declareLength: boolean) {
  const state = { written: 0, closed: false };
  up.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(total) } : {}) });
    res.on('close', () => (state.closed = true));
    res.write('["');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (state.written < total && !state.closed) {
        const ok = res.write(chunk);
        state.written += chunk.length;
        if (!ok) return void res.once('drain', pump);
      }
      if (!state.closed) res.end('"]');
    };
    pump();
  });
  return state;
}

describe('API10:2023 Unsafe Consumption of APIs', () => {
  describe('response size', () => {
    test('a 200 MB streamed body fails SAMPLE_QUERY at the 10 MiB cap, the download is cut, the service stays responsive', async () => {
      const state = streamBody(200 * MiB, false);
      const before = process.memoryUsage().rss;
      const { value, slowestPing, pings } = await whilePinging(draft({}));
      const { result, elapsed, body } = value;
      expect(result.success).toBe(false);
      expect(step(result, 'CONNECT').passed).toBe(true);
      expect(step(result, 'AUTHENTICATE').passed).toBe(true);
      expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'BAD_RESPONSE', retryable: false });
      expect(step(result, 'SAMPLE_QUERY').message).toMatch(/exceeded the 10485760-byte limit; download aborted/);
      expect(step(result, 'SAMPLE_QUERY').remediation).toMatch(/too large/);
      expect(body.length).toBeLessThan(10_000);
      await waitFor('the upstream socket closed', () => state.closed, 5000);
      expect(state.written).toBeLessThan(40 * MiB);
      expect(elapsed).toBeLessThan(10_000);
      expect(process.memoryUsage().rss - before).toBeLessThan(100 * MiB);
      // Responsive throughout and afterwards.
      expect(pings).toBeGreaterThan(0);
      expect(slowestPing).toBeLessThan(1000);
      expect(await pingMs()).toBeLessThan(500);
      expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    });

    test('an announced Content-Length over the cap fails before the download', async () => {
      const state = streamBody(200 * MiB, true);
      const { result } = await draft({});
      expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'BAD_RESPONSE' });
      expect(step(result, 'SAMPLE_QUERY').message).toMatch(/announced a \d+-byte response, over the 10485760-byte limit/);
      await waitFor('the upstream socket closed', () => state.closed, 5000);
      expect(state.written).toBeLessThan(40 * MiB);
    });
  });

  describe('slow upstreams', () => {
    test('a never-ending body (one byte every 100 ms) fails SAMPLE_QUERY with TIMEOUT within the budget, and the socket is closed', async () => {
      let closed = false;
      let bytes = 0;
      up.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[');
        const timer = setInterval(() => {
          bytes += 1;
          res.write(' ');
        }, 100);
        res.on('close', () => {
          closed = true;
          clearInterval(timer);
        });
      });
      const { result, elapsed } = await draft({ timeoutMs: 1500 });
      expect(result.success).toBe(false);
      expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'TIMEOUT' });
      expect(step(result, 'SAMPLE_QUERY').message).toMatch(/did not finish sending its response within 1500 ms/);
      expect(elapsed).toBeGreaterThanOrEqual(1400);
      expect(elapsed).toBeLessThan(4000);
      expect(bytes).toBeGreaterThan(3); // it really was trickling
      await waitFor('the upstream socket closed', () => closed, 3000);
      expect(await pingMs()).toBeLessThan(500);
    });

    test('headers that never come fail AUTHENTICATE with TIMEOUT within the budget', async () => {
      let closed = false;
      up.handle((_req, res) => res.on('close', () => (closed = true)));
      const { result, elapsed } = await draft({ timeoutMs: 1000 });
      expect(step(result, 'CONNECT').passed).toBe(true);
      expect(step(result, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'TIMEOUT' });
      expect(elapsed).toBeLessThan(3500);
      await waitFor('the upstream socket closed', () => closed, 3000);
    });
  });

  describe('hostile JSON', () => {
    test('malformed JSON fails SAMPLE_QUERY with BAD_RESPONSE, without quoting the body', async () => {
      up.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"data": [{"id": 1}, {"id": "${KEY}-in-the-body"`));
      const { result, body } = await draft({ recordsPointer: '/data' });
      expect(step(result, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'BAD_RESPONSE', retryable: false });
      expect(step(result, 'SAMPLE_QUERY').message).toMatch(/is not valid JSON/);
      expect(step(result, 'SAMPLE_QUERY').remediation).toMatch(/must return JSON/);
      expect(body).not.toContain(KEY);
    });

    test('JSON nested 100,000 levels deep: an answer, not a crash; the service stays responsive', async () => {
      const depth = 100_000;
      up.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`${'['.repeat(depth)}${']'.repeat(depth)}`));
      const { result, elapsed } = await draft({});
      expect(result.success).toBe(false);
      expect(step(result, 'SAMPLE_QUERY').passed).toBe(true);
      expect(step(result, 'VALIDATE_FORMAT')).toMatchObject({ passed: false, errorCode: 'BAD_RESPONSE' });
      expect(step(result, 'VALIDATE_FORMAT').message).toMatch(/item 0 is an array/);
      expect(elapsed).toBeLessThan(5000);
      expect(await pingMs()).toBeLessThan(500);
    });

    test('a record holding an object nested 100,000 levels deep: an answer with a bounded sample, not a crash', async () => {
      const depth = 100_000;
      up.handle((_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(`[{"id":"deep","v":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}]`),
      );
      const res = await svc.gql(TEST_DRAFT, { input: { provider: 'generic_rest', config: { baseUrl: up.url, path: '/items' } } }, ed);
      expect(up.requests).toHaveLength(1);
      // The process survived and answers.
      expect(await pingMs()).toBeLessThan(500);
      expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
      // A test result (success or a failed step), not a server error.
      expect({ status: res.status, errors: res.body.errors }).toEqual({ status: 200, errors: undefined });
      const result = res.body.data.testConnectorConfig;
      expect(result.steps.slice(0, 2).map((s: any) => s.passed)).toEqual([true, true]);
      // Either refused as BAD_RESPONSE, or a sample small enough to show.
      expect(JSON.stringify(res.body).length).toBeLessThan(1 * MiB);
    });

    /** A draft test whose upstream echoes the API key it received, `depth` levels deep in one record. */
    async function draftEchoingKeyAt(depth: number) {
      up.handle((req, res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(`[{"id":"echo","v":${'{"a":'.repeat(depth)}${JSON.stringify(`you sent ${req.headers['x-api-key']}`)}${'}'.repeat(depth)}}]`),
      );
      const drafted = await draft({}, { authType: 'API_KEY', credentials: { apiKey: KEY } });
      expect(up.requests[0]!.headers['x-api-key']).toBe(KEY); // it really was echoed
      return drafted;
    }

    test('the API key echoed 60 levels deep in a record is redacted from the sample too', async () => {
      const { result, body } = await draftEchoingKeyAt(60);
      expect(result.success).toBe(true);
      expect(result.sample).toHaveLength(1);
      expect(body).toContain('you sent [REDACTED]');
      expect(body).not.toContain(KEY);
    });

    test('the API key echoed 150 levels deep: the record is refused as too deep, the key shown nowhere', async () => {
      const { result, body } = await draftEchoingKeyAt(150);
      expect(result.success).toBe(false);
      expect(step(result, 'VALIDATE_FORMAT')).toMatchObject({ passed: false, errorCode: 'BAD_RESPONSE' });
      expect(step(result, 'VALIDATE_FORMAT').message).toMatch(/nested at most 64 levels deep/);
      expect(result.sample).toEqual([]);
      expect(body).not.toContain(KEY);
    });
  });

  describe('credentials stay with the configured origin', () => {
    let worker: TestService;
    let other: Hostile; // another origin (another port), recording what arrives
    let home: Hostile;

    beforeAll(async () => {
      worker = await startTestService('security_api10_worker', { RUN_WORKERS: 'true', JOB_POLL_MS: '500', JOB_MAINTENANCE_SEC: '1' });
      other = await hostile();
      home = await hostile();
      other.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[{"id":"from-other"}]'));
    });

    afterAll(async () => {
      await worker?.close();
      await other?.close();
      await home?.close();
    });

    test.each([
      ['the API key in a header', {}],
      ['the API key in a query parameter', { apiKeyQueryParam: 'api_key' }],
    ])('Link rel="next" to another origin with %s: the run fails EGRESS_DENIED and the other origin receives no key', async (_label, extraConfig) => {
      home.handle((_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json', link: `<${other.url}/steal?page=2>; rel="next"` }).end('[{"id":"home-1"}]'),
      );
      const id = (await worker.ok(CREATE, {
        input: {
          name: `linked ${Object.keys(extraConfig).length}`,
          provider: 'generic_rest',
          enabled: true,
          authType: 'API_KEY',
          credentials: { apiKey: KEY },
          config: { baseUrl: home.url, path: '/items', syncIntervalSec: 3600, ...extraConfig },
        },
      }, ad)).createConnector.id;
      const run = await waitFor('a finished run', async () => {
        const [row] = await worker.dataSource.query(`SELECT status, error FROM ingestion_runs WHERE connector_id = $1 AND status IN ('SUCCEEDED', 'FAILED')`, [id]);
        return row;
      }, 20_000);
      // The home origin got the key (it is the configured one)…
      const homeGotKey = home.requests.some((r) => r.headers['x-api-key'] === KEY || r.url.includes(encodeURIComponent(KEY)) || r.url.includes(KEY));
      expect(homeGotKey).toBe(true);
      // …the other origin got nothing carrying it, in any header or in the URL.
      for (const r of other.requests) expect(JSON.stringify(r)).not.toContain(KEY);
      expect(other.requests).toHaveLength(0);
      expect(run.status).toBe('FAILED');
      expect(run.error).toMatch(/^EGRESS_DENIED: .*credentials are only sent to/);
      expect(run.error).not.toContain(KEY);
      home.requests.length = 0;
    });

    test('an upstream echoing the API key in error bodies: the key is nowhere in responses, audit rows, stored state or logs', async () => {
      const echo = (req: IncomingMessage) => JSON.stringify({ error: 'invalid_api_key', message: `key ${req.headers['x-api-key']} is not valid`, received: req.headers, url: req.url });
      const statuses = [401, 403, 400, 500, 418];
      let i = 0;
      home.handle((req, res) => {
        const status = statuses[i++ % statuses.length]!;
        res.writeHead(status, { 'content-type': 'application/json', 'x-echo': String(req.headers['x-api-key']), 'www-authenticate': `ApiKey error="${req.headers['x-api-key']}"` }).end(echo(req));
      });
      const responses: string[] = [];
      const input = { provider: 'generic_rest', authType: 'API_KEY', credentials: { apiKey: KEY }, config: { baseUrl: home.url, path: '/items', timeoutMs: 3000 } };
      for (let n = 0; n < statuses.length; n++) {
        const res = await worker.gql(TEST_DRAFT, { input }, ed);
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data.testConnectorConfig.success).toBe(false);
        responses.push(JSON.stringify(res.body));
      }
      // A stored connector: test, health check and a sync run, so the error is stored and audited.
      const id = (await worker.ok(CREATE, { input: { ...input, name: 'echoing', enabled: true, config: { ...input.config, syncIntervalSec: 3600 } } }, ad)).createConnector.id;
      for (let n = 0; n < 2; n++) responses.push(JSON.stringify((await worker.gql(`mutation($id: ID!) { testConnector(id: $id) { ${RESULT} } }`, { id }, ed)).body));
      responses.push(JSON.stringify((await worker.gql(`mutation($id: ID!) { checkConnectorHealth(id: $id) { syncStatus lastError lastTest { message steps { message } } } }`, { id }, ed)).body));
      await waitFor('a failed run', async () => {
        const [row] = await worker.dataSource.query(`SELECT id FROM ingestion_runs WHERE connector_id = $1 AND status = 'FAILED'`, [id]);
        return row;
      }, 20_000);
      responses.push(JSON.stringify((await worker.gql(`query($id: ID!) { connector(id: $id) { lastError lastTest { message } ingestionRuns { error } healthHistory { reason } auditEvents(first: 100) { nodes { changes reason } } } }`, { id }, ad)).body));
      // It really was sent, and so echoed back, at least once per call above. (A late request of the
      // previous test's connectors, with the key in the query, may also have arrived.)
      expect(home.requests.filter((r) => r.headers['x-api-key'] === KEY).length).toBeGreaterThanOrEqual(statuses.length + 3);

      for (const text of responses) expect(text).not.toContain(KEY);
      const rows = async (sql: string) => ((await worker.dataSource.query(sql)) as Array<{ j: string }>).map((r) => r.j).join('\n');
      const stored = [
        await rows('SELECT row_to_json(a)::text AS j FROM audit_events a'),
        await rows('SELECT row_to_json(c)::text AS j FROM connectors c'),
        await rows('SELECT row_to_json(r)::text AS j FROM ingestion_runs r'),
        await rows('SELECT row_to_json(h)::text AS j FROM health_events h'),
      ].join('\n');
      expect(stored.length).toBeGreaterThan(0);
      expect(stored).toContain(id);
      expect(stored).not.toContain(KEY);
      expect(worker.logs.lines.length).toBeGreaterThan(0);
      expect(worker.logs.text()).not.toContain(KEY);
      expect(svc.logs.text()).not.toContain(KEY);
    });
  });

  describe('rate limiting', () => {
    test.each([
      ['delta-seconds of a day', '86400'],
      ['delta-seconds beyond any timer', '99999999999'],
      ['an HTTP date a year ahead', new Date(Date.now() + 365 * 86_400_000).toUTCString()],
    ])('429 with Retry-After as %s: no wait, RATE_LIMITED at once, one request', async (_label, retryAfter) => {
      up.handle((_req, res) => res.writeHead(429, { 'content-type': 'application/json', 'retry-after': retryAfter }).end('{"error":"slow down"}'));
      const { result, elapsed } = await draft({ timeoutMs: 20_000 });
      expect(result.success).toBe(false);
      const failed = result.steps.find((s: any) => !s.passed && s.errorCode);
      expect(failed).toMatchObject({ errorCode: 'RATE_LIMITED', retryable: true });
      expect(failed.message).toMatch(/rate limiting requests \(HTTP 429\)/);
      expect(failed.remediation).toMatch(/rate limiting/);
      expect(elapsed).toBeLessThan(10_000); // half the 20 s budget: no wait for the Retry-After
      expect(up.requests).toHaveLength(1);
    });

    test('429 with a Retry-After under the cap but beyond the call budget is not waited for either', async () => {
      up.handle((_req, res) => res.writeHead(429, { 'retry-after': '20' }).end());
      const { result, elapsed } = await draft({ timeoutMs: 1500 });
      const failed = result.steps.find((s: any) => !s.passed && s.errorCode);
      expect(failed).toMatchObject({ errorCode: 'RATE_LIMITED', retryable: true });
      expect(elapsed).toBeLessThan(1500);
      expect(up.requests).toHaveLength(1);
    });
  });
});
