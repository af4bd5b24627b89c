/**
 * /metrics after a scripted workload: GraphQL queries (one refused by its cost, one forbidden, one
 * anonymous, more names than the label bound), mutations, a connection test and two ingestion runs
 * against a loopback upstream, HEC intake, a syslog UDP flood into a full queue, anonymous requests
 * past their rate limit. The exposition is read with a strict parser and every family is checked
 * for its counts and labels; no tenant id, connector id or secret appears anywhere in it.
 */
import dgram from 'node:dgram';
import pg from 'pg';
import { formatCef } from '../../src/adapters/formats/index.js';
import { admin, viewer } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { parseExposition, samples, total, type Family } from '../helpers/prometheus.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { sleep, waitFor } from '../helpers/wait.js';

const TENANT = 'tenant-metrics-q7zx';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const CREATE = `mutation CreateFeed($input: CreateConnectorInput!) { createConnector(input: $input) { id version } }`;
const INTAKE_TOKEN = `mutation MintIntakeToken($id: ID!) { createIntakeToken(connectorId: $id, name: "shipper") { token } }`;
const RUNS = `query Runs($id: ID!) { connector(id: $id) { ingestionRuns(first: 5) { status recordsRead duplicates } } }`;

let svc: TestService;
let up: RestUpstream;
let token: string;
let families: Map<string, Family>;
let exposition: string;
const ids: string[] = [];
let intakeToken = '';
let droppedUdp = 0;
let syslogReceived = 0;
let syslogUnmatched = 0;

const cef = (name: string) => formatCef({ vendor: 'Acme', product: 'FW', productVersion: '1.0', eventId: name.replace(/\W/g, ''), name, severity: 7, src: '198.51.100.7', dst: '203.0.113.9', dstPort: 22 });

async function scrape(): Promise<string> {
  const response = await fetch(`${svc.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

beforeAll(async () => {
  up = await startRestUpstream({ records: makeRecords(25, 'metrics'), pageSize: 10 });
  svc = await startTestService('metrics', {
    METRICS_TOKEN,
    METRICS_CACHE_SEC: '0',
    METRICS_MAX_OPERATIONS: '12',
    MAX_QUERY_COST: '300',
    RATE_LIMIT_ANONYMOUS: '4',
    RUN_WORKERS: 'true',
    JOB_POLL_MS: '500',
    JOB_MAINTENANCE_SEC: '1',
    SYSLOG_HOST: '127.0.0.1',
    SYSLOG_UDP_PORT: '0',
    SYSLOG_QUEUE_MAX: '20',
  });
  token = await admin(TENANT);

  // Queries, named and anonymous, one forbidden, one refused by its estimated cost.
  await svc.ok(`query ListConnectors { connectors(first: 10) { totalCount nodes { id name } } }`, {}, token);
  await svc.ok(`query ListConnectors { connectors(first: 10) { totalCount nodes { id name } } }`, {}, token);
  await svc.ok(`{ connectorProviders { id } }`, {}, token);
  const forbidden = await svc.gql(`mutation ViewerCreate { createConnector(input: { name: "x", provider: "generic_rest", config: { baseUrl: "${up.url}" } }) { id } }`, {}, await viewer(TENANT));
  expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  const tooBig = await svc.gql(`query TooBig { connectors(first: 200) { nodes { id name } } }`, {}, token);
  expect(tooBig.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');

  // A polled connector: a connection test (and a failing draft test), then two runs (the second all duplicates).
  const feed = (await svc.ok(CREATE, { input: { name: 'Metrics feed secret-name', provider: 'generic_rest', config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600 } } }, token)).createConnector;
  ids.push(feed.id);
  const tested = (await svc.ok(`mutation TestFeed($id: ID!) { testConnector(id: $id) { success } }`, { id: feed.id }, token)).testConnector;
  expect(tested.success).toBe(true);
  const draft = (await svc.ok(`mutation TestDraft($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { success } }`, { input: { provider: 'generic_rest', config: { baseUrl: up.url, path: '/nope' } } }, token)).testConnectorConfig;
  expect(draft.success).toBe(false);
  await svc.ok(`mutation Enable($id: ID!) { toggleConnector(id: $id, enabled: true) { id } }`, { id: feed.id }, token);
  await waitFor('the first run', async () => (await svc.ok(RUNS, { id: feed.id }, token)).connector.ingestionRuns.some((r: any) => r.status === 'SUCCEEDED'));
  await svc.ok(`mutation SyncNow($id: ID!) { syncConnector(id: $id) { id } }`, { id: feed.id }, token);
  await waitFor('the second run', async () => (await svc.ok(RUNS, { id: feed.id }, token)).connector.ingestionRuns.filter((r: any) => r.status === 'SUCCEEDED').length === 2);

  // A push connector: HEC with a duplicate and an unreadable event, and a request without a token.
  const push = (await svc.ok(CREATE, { input: { name: 'Edge FW', provider: 'syslog_cef', enabled: true, config: { senders: ['127.0.0.1/32'], appName: 'metricsfw' } } }, token)).createConnector;
  ids.push(push.id);
  intakeToken = (await svc.ok(INTAKE_TOKEN, { id: push.id }, token)).createIntakeToken.token;
  const events = [cef('Port scan'), cef('Port scan'), 'not a CEF line'].map((event) => JSON.stringify({ event })).join('');
  const hec = await fetch(`${svc.url}/services/collector/event`, { method: 'POST', headers: { authorization: `Splunk ${intakeToken}` }, body: events });
  expect(hec.status).toBe(400);
  expect(await hec.json()).toMatchObject({ code: 6, 'invalid-event-number': 2 });
  expect((await fetch(`${svc.url}/services/collector/event`, { method: 'POST', body: events })).status).toBe(401);

  // Syslog: a datagram nobody's rule matches, then a UDP flood while the connector's writes are held.
  await waitFor('the push connector routed', () => svc.syslog!.hasRoute(push.id), 5000, 20);
  const socket = dgram.createSocket('udp4');
  const port = svc.syslog!.ports.udp!;
  const send = (text: string) => new Promise<void>((r) => socket.send(text, port, '127.0.0.1', () => r()));
  const blocker = new pg.Client({ connectionString: svc.databaseUrl });
  await blocker.connect();
  try {
    await send(`<13>Dec  3 10:00:00 host nobody: ${cef('unrouted')}`);
    await waitFor('the unmatched datagram', () => svc.syslog!.counters.unmatched >= 1, 5000, 20);
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM connectors WHERE id = $1 FOR UPDATE', [push.id]);
    for (let i = 0; i < 300; i++) {
      await send(`<13>Dec  3 10:00:00 host metricsfw: ${cef(`flood ${i}`)}`);
      if (i % 50 === 0) await sleep(5);
    }
    await waitFor('datagrams dropped', () => svc.syslog!.counters.droppedUdp > 0, 10_000, 20);
    await blocker.query('COMMIT');
  } finally {
    socket.close();
    await blocker.end();
  }
  await waitFor('the syslog queue drained', () => svc.syslog!.queued === 0, 15_000, 50);

  // 10 names so far (ListConnectors … MintIntakeToken). A name shaped like an id never becomes a
  // label; neither do names past the bound (METRICS_MAX_OPERATIONS=12): Spread0 and Spread1 do.
  await svc.ok(`query cnn_01ARZ3NDEKTSV4RRFFQ69G5FAV { __typename }`, {}, token);
  for (let i = 0; i < 15; i++) await svc.ok(`query Spread${i} { __typename }`, {}, token);

  // Anonymous requests past RATE_LIMIT_ANONYMOUS (4 a minute).
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await svc.gql(`query Anonymous { __typename }`)).status);
  expect(statuses).toEqual([200, 200, 200, 200, 429]);

  ({ droppedUdp, received: syslogReceived, unmatched: syslogUnmatched } = svc.syslog!.counters);
  exposition = await scrape();
  families = parseExposition(exposition);
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await up?.close();
});

const count = (name: string, labels: Record<string, string> = {}) => total(families, name, labels);

test('every family is declared with its type and help', () => {
  const expected: Record<string, Family['type']> = {
    connector_http_request_duration_seconds: 'histogram',
    connector_graphql_operation_duration_seconds: 'histogram',
    connector_graphql_operation_sql_statements: 'histogram',
    connector_job_queue_depth: 'gauge',
    connector_job_queue_oldest_job_age_seconds: 'gauge',
    connector_connectors: 'gauge',
    connector_ingested_records_total: 'counter',
    connector_ingested_duplicates_total: 'counter',
    connector_ingestion_errors_total: 'counter',
    connector_ingestion_runs_total: 'counter',
    connector_outbound_requests_total: 'counter',
    connector_outbound_request_duration_seconds: 'histogram',
    connector_rate_limit_refusals_total: 'counter',
    connector_query_limit_refusals_total: 'counter',
    connector_intake_refusals_total: 'counter',
    connector_syslog_received_messages_total: 'counter',
    connector_syslog_unmatched_messages_total: 'counter',
    connector_syslog_ambiguous_messages_total: 'counter',
    connector_syslog_udp_dropped_datagrams_total: 'counter',
    connector_syslog_oversized_frames_total: 'counter',
    connector_syslog_framing_errors_total: 'counter',
    connector_syslog_busy_batches_total: 'counter',
    connector_syslog_queued_messages: 'gauge',
    connector_metrics_database_reads_total: 'counter',
    process_cpu_seconds_total: 'counter',
  };
  for (const [name, type] of Object.entries(expected)) {
    expect({ name, type: families.get(name)?.type, help: Boolean(families.get(name)?.help) }).toEqual({ name, type, help: true });
  }
});

test('HTTP requests by route template, method and status class', () => {
  expect(count('connector_http_request_duration_seconds_count', { route: '/graphql', method: 'POST', status_class: '2xx' })).toBeGreaterThanOrEqual(20);
  expect(count('connector_http_request_duration_seconds_count', { route: '/graphql', method: 'POST', status_class: '4xx' })).toBeGreaterThanOrEqual(2);
  expect(count('connector_http_request_duration_seconds_count', { route: '/services/collector/event', method: 'POST', status_class: '4xx' })).toBe(2);
  const routes = new Set(samples(families, 'connector_http_request_duration_seconds_count').map((s) => s.labels.route));
  // Templates, never concrete paths.
  for (const route of routes) expect(route).not.toMatch(/cnn_/);
});

test('GraphQL operations by bounded name and outcome, with SQL statements per operation', () => {
  const ops = 'connector_graphql_operation_duration_seconds_count';
  expect(count(ops, { operation: 'ListConnectors', type: 'query', outcome: 'ok' })).toBe(2);
  expect(count(ops, { operation: 'ViewerCreate', type: 'mutation', outcome: 'FORBIDDEN' })).toBe(1);
  expect(count(ops, { operation: 'TooBig', outcome: 'QUERY_TOO_COMPLEX' })).toBe(1);
  expect(count(ops, { operation: 'CreateFeed', type: 'mutation', outcome: 'ok' })).toBe(2);
  expect(count(ops, { operation: 'anonymous', type: 'query', outcome: 'ok' })).toBe(1);
  expect(count(ops, { operation: 'other' })).toBeGreaterThanOrEqual(1);
  const names = new Set(samples(families, ops).map((s) => s.labels.operation));
  expect(names.has('cnn_01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBe(false);
  names.delete('anonymous');
  names.delete('other');
  names.delete('unresolved');
  expect(names.size).toBe(12);
  const statements = 'connector_graphql_operation_sql_statements';
  expect(count(`${statements}_count`, { operation: 'ListConnectors' })).toBe(2);
  expect(count(`${statements}_sum`, { operation: 'ListConnectors' })).toBeGreaterThanOrEqual(2);
  // `__typename` alone runs no SQL: the zero bucket holds it.
  expect(count(`${statements}_bucket`, { operation: 'Spread0', le: '0' })).toBe(1);
});

test('job queues: depth per state and the oldest waiting job, per queue', () => {
  for (const queue of ['connector-sync', 'connector-health', 'connector-control', 'connector-maintenance']) {
    expect(samples(families, 'connector_job_queue_depth', { queue }).map((s) => s.labels.state).sort()).toEqual(['active', 'ready', 'scheduled']);
    expect(samples(families, 'connector_job_queue_oldest_job_age_seconds', { queue })).toHaveLength(1);
  }
  // The enabled feed's next run is scheduled an hour out.
  expect(count('connector_job_queue_depth', { queue: 'connector-sync', state: 'scheduled' })).toBeGreaterThanOrEqual(1);
});

test('connectors per provider and health status', () => {
  expect(count('connector_connectors', { provider: 'generic_rest' })).toBe(1);
  expect(count('connector_connectors', { provider: 'syslog_cef' })).toBe(1);
  expect(count('connector_connectors')).toBe(2);
});

test('ingestion per provider: polled runs and push intake', () => {
  expect(count('connector_ingested_records_total', { provider: 'generic_rest', mode: 'poll' })).toBe(50);
  expect(count('connector_ingested_duplicates_total', { provider: 'generic_rest', mode: 'poll' })).toBe(25);
  expect(count('connector_ingestion_runs_total', { provider: 'generic_rest', status: 'succeeded' })).toBe(2);
  // HEC: two readable events, one a duplicate, one unreadable; then what the flood's writes stored.
  const pushed = count('connector_ingested_records_total', { provider: 'syslog_cef', mode: 'push' });
  expect(pushed).toBe(2 + (syslogReceived - syslogUnmatched - droppedUdp));
  expect(count('connector_ingested_duplicates_total', { provider: 'syslog_cef', mode: 'push' })).toBe(1);
  expect(count('connector_ingestion_errors_total', { provider: 'syslog_cef', mode: 'push', reason: 'rejected' })).toBe(1);
});

test('outbound HTTP by provider and status class', () => {
  // The test (4 steps over a few calls), the two runs (3 pages each): all 2xx; the draft's path: 404.
  expect(count('connector_outbound_requests_total', { provider: 'generic_rest', status: '2xx' })).toBeGreaterThanOrEqual(7);
  expect(count('connector_outbound_requests_total', { provider: 'generic_rest', status: '4xx' })).toBeGreaterThanOrEqual(1);
  expect(count('connector_outbound_requests_total')).toBe(count('connector_outbound_request_duration_seconds_count'));
  // The upstream saw each call (health checks may still be under way: counted once they end).
  expect(count('connector_outbound_requests_total')).toBeLessThanOrEqual(up.requests.length);
});

test('rate-limit, query-cost and intake refusals', () => {
  expect(count('connector_rate_limit_refusals_total', { limit: 'anonymous' })).toBe(1);
  expect(count('connector_query_limit_refusals_total', { limit: 'max_query_cost' })).toBe(1);
  expect(count('connector_intake_refusals_total', { endpoint: 'hec', status: '400' })).toBe(1);
  expect(count('connector_intake_refusals_total', { endpoint: 'hec', status: '401' })).toBe(1);
});

test('syslog receiver counters, UDP drops for a full queue included', () => {
  expect(droppedUdp).toBeGreaterThan(0);
  expect(count('connector_syslog_udp_dropped_datagrams_total')).toBe(droppedUdp);
  expect(count('connector_syslog_received_messages_total')).toBe(syslogReceived);
  expect(syslogReceived).toBeGreaterThan(droppedUdp);
  expect(count('connector_syslog_unmatched_messages_total')).toBe(syslogUnmatched);
  expect(syslogUnmatched).toBe(1);
  expect(count('connector_syslog_ambiguous_messages_total')).toBe(0);
  expect(count('connector_syslog_queued_messages')).toBe(0);
});

test('no tenant id, connector id, connector name or secret anywhere in the exposition', () => {
  expect(ids).toHaveLength(2);
  for (const needle of [TENANT, ...ids, 'secret-name', 'Edge FW', intakeToken, METRICS_TOKEN, token, /cnn_[0-9A-Z]{26}/, /itk_/]) {
    if (typeof needle === 'string') expect(exposition.includes(needle)).toBe(false);
    else expect(exposition).not.toMatch(needle);
  }
});

describe('a queue nobody works (RUN_WORKERS=false), scraped on METRICS_PORT', () => {
  let idle: TestService;
  beforeAll(async () => {
    idle = await startTestService('metrics_idle', { METRICS_PORT: '0', METRICS_CACHE_SEC: '0' });
  });
  afterAll(async () => idle?.close());

  test('the due sync job is counted as ready and its wait grows as the oldest job age', async () => {
    const bearer = await admin(TENANT);
    await idle.ok(CREATE, { input: { name: 'Waiting feed', provider: 'generic_rest', enabled: true, config: { baseUrl: 'http://127.0.0.1:9', path: '/items' } } }, bearer);
    await sleep(1500);
    const response = await fetch(`${idle.metrics!.url}/metrics`);
    expect(response.status).toBe(200);
    const figures = parseExposition(await response.text());
    expect(total(figures, 'connector_job_queue_depth', { queue: 'connector-sync', state: 'ready' })).toBe(1);
    expect(total(figures, 'connector_job_queue_oldest_job_age_seconds', { queue: 'connector-sync' })).toBeGreaterThanOrEqual(1.4);
    expect(total(figures, 'connector_connectors', { provider: 'generic_rest', status: 'PENDING' })).toBe(1);
    // The main port does not serve it: no METRICS_TOKEN.
    expect((await fetch(`${idle.url}/metrics`)).status).toBe(404);
  });
});
