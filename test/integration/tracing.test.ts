import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { randomBytes } from 'node:crypto';
import { editor } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { CREATE, ENTITIES, restInput } from '../helpers/fixtures.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/** Values that must never reach a span: an API key (credentials) and a key in a URL's query string. */
const API_KEY = `K3Y-${randomBytes(8).toString('hex')}`;
const QUERY_KEY = `QK-${randomBytes(8).toString('hex')}`;

const exporter = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor(exporter);
let svc: TestService;
let up: RestUpstream;
let ed: string;

beforeAll(async () => {
  svc = await startTestService('tracing', {}, { tracing: { spanProcessors: [processor] } });
  up = await startRestUpstream({ records: makeRecords(3), apiKey: API_KEY });
  ed = await editor('t1');
});
afterAll(async () => {
  await svc?.close();
  await up?.close();
});

function remoteParent() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

async function spansOf(traceId: string): Promise<ReadableSpan[]> {
  await processor.forceFlush();
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const attributesText = (spans: ReadableSpan[]) => JSON.stringify(spans.map((s) => [s.name, s.attributes, s.status, s.events]));

/** Every span's chain of parents ends at `root`. */
function expectUnder(root: ReadableSpan, spans: ReadableSpan[]): void {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  for (const span of spans) {
    let at: ReadableSpan | undefined = span;
    while (at && at !== root) at = byId.get(parentOf(at) ?? '');
    expect(at).toBe(root);
  }
}

test('an _entities request: the router span → the operation → Query._entities → the loader batch → its SQL', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const input = restInput(`traced ${i}`, { authType: 'API_KEY', credentials: { apiKey: API_KEY } });
    ids.push((await svc.ok(CREATE, { input }, ed)).createConnector.id);
  }
  const remote = remoteParent();
  const res = await svc.gql(`query Entities${ENTITIES.slice('query'.length)}`, { reps: ids.map((id) => ({ __typename: 'Connector', id })) }, ed, { traceparent: remote.traceparent });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data._entities.map((e: any) => e.id)).toEqual(ids);

  const spans = await spansOf(remote.traceId);
  const roots = spans.filter((s) => parentOf(s) === remote.spanId);
  expect(roots).toHaveLength(1);
  const root = roots[0]!;
  expect(root.name).toBe('query Entities');
  expect(root.kind).toBe(SpanKind.SERVER);
  expect(root.attributes).toMatchObject({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'Entities', 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 });
  expectUnder(root, spans);

  const entities = spans.filter((s) => s.name === 'Query._entities');
  expect(entities).toHaveLength(1);
  expect(parentOf(entities[0]!)).toBe(root.spanContext().spanId);
  expect(entities[0]!.attributes).toMatchObject({ 'graphql.entities.count': 3, 'graphql.entities.types': ['Connector'] });

  const batches = spans.filter((s) => s.name.startsWith('dataloader.batch'));
  expect(batches.map((s) => [s.name, s.attributes['dataloader.batch.size']])).toEqual([['dataloader.batch connector', 3]]);
  expect(parentOf(batches[0]!)).toBe(entities[0]!.spanContext().spanId);

  // One span per statement the request ran, the same count x-sql-statements reports; the batch's under it.
  const sql = spans.filter((s) => s.attributes['db.system'] === 'postgresql');
  expect(res.statements).toBeGreaterThan(0);
  expect(sql).toHaveLength(res.statements);
  const batchSql = sql.filter((s) => parentOf(s) === batches[0]!.spanContext().spanId);
  expect(batchSql).toHaveLength(1);
  expect(batchSql[0]!.kind).toBe(SpanKind.CLIENT);
  expect(batchSql[0]!.name).toBe('SELECT connectors');
  expect(batchSql[0]!.attributes['db.statement']).toMatch(/^SELECT .*\$1/);
  expect(batchSql[0]!.attributes['db.operation.name']).toBe('SELECT');

  // No parameter values (ids, tenant), no query text or variables, no token anywhere in the trace.
  const text = attributesText(spans);
  for (const id of ids) expect(text).not.toContain(id);
  expect(text).not.toContain(ed);
  expect(text).not.toContain('representations');
  // Nor in any span since the service started (creating the connectors wrote the API key as a parameter).
  expect(attributesText(exporter.getFinishedSpans())).not.toContain(API_KEY);
});

test('an upstream call is a CLIENT span under the mutation, without path, query string or headers; log lines carry the trace id', async () => {
  const input = { name: 'traced upstream', provider: 'generic_rest', authType: 'API_KEY', credentials: { apiKey: API_KEY }, config: { baseUrl: up.url, path: '/items', query: { q: QUERY_KEY } } };
  const { id } = (await svc.ok(CREATE, { input }, ed)).createConnector;
  const remote = remoteParent();
  const seen = up.requests.length;
  const logged = svc.logs.lines.length;
  const res = await svc.gql('mutation TryIt($id: ID!) { testConnector(id: $id) { success } }', { id }, ed, { traceparent: remote.traceparent });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data.testConnector.success).toBe(true);

  const spans = await spansOf(remote.traceId);
  const root = spans.find((s) => parentOf(s) === remote.spanId)!;
  expect(root.name).toBe('mutation TryIt');
  expectUnder(root, spans);
  const calls = spans.filter((s) => s.kind === SpanKind.CLIENT && s.attributes['http.request.method']);
  expect(calls.length).toBeGreaterThanOrEqual(1);
  for (const call of calls) {
    expect(call.name).toBe('GET');
    expect(call.attributes).toEqual({
      'http.request.method': 'GET',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(up.url).port),
      'http.response.status_code': 200,
    });
  }
  const text = attributesText(spans);
  expect(text).not.toContain(API_KEY);
  expect(text).not.toContain(QUERY_KEY);
  expect(text).not.toContain('/items');
  // The trace context stays inside: vendors get no traceparent.
  expect(up.requests.slice(seen).every((r) => r.headers.traceparent === undefined)).toBe(true);

  // Log lines written while the request ran carry its trace id and one of its spans' ids.
  const spanIds = new Set(spans.map((s) => s.spanContext().spanId));
  const lines = svc.logs.lines.slice(logged).map((l) => JSON.parse(l)).filter((l) => l.trace_id === remote.traceId);
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.every((l) => spanIds.has(l.span_id))).toBe(true);
  expect(svc.logs.text()).not.toContain(API_KEY);
});

test('a job queued in a request carries the trace: send under the mutation, process under the send', async () => {
  const connector = (await svc.ok(CREATE, { input: restInput('traced job') }, ed)).createConnector;
  const remote = remoteParent();
  const toggled = await svc.gql('mutation On($id: ID!) { toggleConnector(id: $id, enabled: true) { enabled } }', { id: connector.id }, ed, { traceparent: remote.traceparent });
  expect(toggled.body.errors).toBeUndefined();
  const sent = (await spansOf(remote.traceId)).filter((s) => s.name === 'send connector-sync');
  expect(sent).toHaveLength(1);
  expect(sent[0]!.kind).toBe(SpanKind.PRODUCER);
  expect(sent[0]!.attributes).toMatchObject({ 'messaging.system': 'pg-boss', 'messaging.destination.name': 'connector-sync', 'messaging.operation.type': 'send' });
  const jobId = sent[0]!.attributes['messaging.message.id'];
  expect(typeof jobId).toBe('string');

  // RUN_WORKERS=false here: run the queued job with a loop of our own.
  const ran: string[] = [];
  const loop = svc.services.queue.loop<{ connectorId: string }>('connector-sync', 1, async (job) => {
    if (job.data.connectorId === connector.id) ran.push(job.id);
  });
  loop.start();
  try {
    await waitFor('the queued sync job', () => ran.includes(String(jobId)));
  } finally {
    await loop.stop();
  }
  const processed = (await spansOf(remote.traceId)).filter((s) => s.name === 'process connector-sync');
  expect(processed).toHaveLength(1);
  expect(processed[0]!.kind).toBe(SpanKind.CONSUMER);
  expect(parentOf(processed[0]!)).toBe(sent[0]!.spanContext().spanId);
  expect(processed[0]!.attributes['messaging.message.id']).toBe(jobId);
});
