/**
 * API8 (security misconfiguration) and API4 (resource consumption) for /metrics: by default open on
 * the service port as the API contract says (no tenant or connector in any label, rate-limited),
 * METRICS=off removes it; with METRICS_TOKEN it answers only that bearer token (compared in constant time); with
 * METRICS_PORT alone it is not on the public port at all; a flood of scrapes is rate-limited per
 * address, and however many scrapes arrive the database figures are read once per METRICS_CACHE_SEC.
 */
import { ConfigError, loadConfig } from '../../src/config.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { parseExposition, total } from '../helpers/prometheus.js';
import { admin } from '../helpers/tokens.js';

const METRICS_TOKEN = 'scrape-token-for-the-security-suite-0001';
const services: TestService[] = [];
let plain: TestService;
let off: TestService;
let guarded: TestService;
let separate: TestService;

beforeAll(async () => {
  plain = await startTestService('api8_metrics');
  services.push(plain);
  const shared = { DATABASE_URL: plain.databaseUrl };
  off = await startTestService('api8_metrics', { ...shared, METRICS: 'off' });
  services.push(off);
  guarded = await startTestService('api8_metrics', { ...shared, METRICS_TOKEN, METRICS_RATE_LIMIT: '100', METRICS_CACHE_SEC: '60' });
  services.push(guarded);
  separate = await startTestService('api8_metrics', { ...shared, METRICS_PORT: '0', METRICS_RATE_LIMIT: '10' });
  services.push(separate);
}, 60_000);
afterAll(async () => {
  for (const svc of services) await svc.close();
});

test('by default open on the service port, with no tenant, connector or name in any label; no listener of its own', async () => {
  expect(loadConfig({}).metrics).toMatchObject({ enabled: true, token: undefined, port: undefined, host: '127.0.0.1' });
  // Something tenant-shaped to leak: a connector with a recognisable name, read through GraphQL.
  const name = 'leak-probe-connector-name';
  const { createConnector } = await plain.ok(`mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`, {
    input: { name, provider: 'generic_rest', config: { baseUrl: 'https://api.example.com' } },
  }, await admin('tenant-leak-probe'));
  const response = await fetch(`${plain.url}/metrics`);
  expect(response.status).toBe(200);
  expect(plain.metrics!.url).toBeNull();
  const text = await response.text();
  expect(parseExposition(text).has('connector_graphql_operation_duration_seconds')).toBe(true);
  expect(text).not.toContain('tenant-leak-probe');
  expect(text).not.toContain(name);
  expect(text).not.toContain(createConnector.id);
});

test('METRICS=off: no /metrics, no instrumentation; anything else than on or off is refused at start-up', async () => {
  expect(off.metrics).toBeNull();
  expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
  expect(() => loadConfig({ METRICS: 'maybe' })).toThrow(/METRICS must be on or off/);
});

test('a short or malformed METRICS_TOKEN is refused at start-up', () => {
  expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(ConfigError);
  expect(() => loadConfig({ METRICS_TOKEN: 'has spaces in it but is long' })).toThrow(/METRICS_TOKEN/);
});

test('with METRICS_TOKEN: refused without it, with another token of the same length or another scheme; served with it', async () => {
  const get = (authorization?: string) => fetch(`${guarded.url}/metrics`, { headers: authorization ? { authorization } : {} });
  const wrong = METRICS_TOKEN.slice(0, -1) + (METRICS_TOKEN.endsWith('1') ? '2' : '1');
  for (const authorization of [undefined, `Bearer ${wrong}`, `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`, `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN]) {
    const response = await get(authorization);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    const body = await response.text();
    expect(body).not.toContain(METRICS_TOKEN);
    expect(body).not.toContain('connector_');
  }
  const ok = await get(`Bearer ${METRICS_TOKEN}`);
  expect(ok.status).toBe(200);
  expect(ok.headers.get('cache-control')).toBe('no-store');
  expect(parseExposition(await ok.text()).has('connector_http_request_duration_seconds')).toBe(true);
  // Never logged.
  expect(guarded.logs.text()).not.toContain(METRICS_TOKEN);
});

test('a scrape storm reads the database once per METRICS_CACHE_SEC', async () => {
  const scrape = async () => parseExposition(await (await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text());
  const before = total(await scrape(), 'connector_metrics_database_reads_total');
  const storm = await Promise.all(Array.from({ length: 30 }, scrape));
  expect(before).toBe(1);
  for (const figures of storm) expect(total(figures, 'connector_metrics_database_reads_total')).toBe(1);
});

test('with METRICS_PORT only: not on the public port; the listener serves GET /metrics and nothing else', async () => {
  expect((await fetch(`${separate.url}/metrics`)).status).toBe(404);
  expect(separate.metrics!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((await fetch(`${separate.metrics!.url}/graphql`)).status).toBe(404);
  expect((await fetch(`${separate.metrics!.url}/metrics`, { method: 'POST' })).status).toBe(404);
  expect((await fetch(`${separate.metrics!.url}/metrics`)).status).toBe(200);
});

test('a flood of scrapes from one address is refused past METRICS_RATE_LIMIT, with Retry-After, and counted', async () => {
  // One of the ten a minute went to the previous case (404s are not scrapes and are not counted).
  const answers = await Promise.all(Array.from({ length: 30 }, () => fetch(`${separate.metrics!.url}/metrics`)));
  const statuses = answers.map((r) => r.status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(9);
  expect(statuses.filter((s) => s === 429)).toHaveLength(21);
  const refused = answers.find((r) => r.status === 429)!;
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  await Promise.all(answers.map((r) => r.text()));
  // Counted: read from the service's own registry, since its scrapes are used up for the minute.
  const families = parseExposition(await separate.metrics!.registry.metrics());
  expect(total(families, 'connector_rate_limit_refusals_total', { limit: 'metrics' })).toBe(21);
});
