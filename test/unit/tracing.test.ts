import { trace } from '@opentelemetry/api';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startTracing } from '../../src/tracing/setup.js';
import { inSpan, tracingEnabled } from '../../src/tracing/tracing.js';

function logLines(run: (log: ReturnType<typeof createLogger>) => void | Promise<void>): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _e, cb) => (lines.push(chunk.toString()), cb()) });
  return Promise.resolve(run(createLogger('info', sink))).then(() => lines.map((l) => JSON.parse(l)));
}

test('with no endpoint configured, no provider is registered: the API keeps its no-op tracer', async () => {
  const config = loadConfig({});
  expect(config.tracing).toEqual({ serviceName: 'connector-subgraph', endpoint: undefined });
  expect(startTracing(config.tracing)).toBeNull();
  expect(tracingEnabled()).toBe(false);
  const span = trace.getTracer('probe').startSpan('probe');
  expect(span.isRecording()).toBe(false);
  expect(trace.isSpanContextValid(span.spanContext())).toBe(false);
  span.end();
  // Our helpers run the work as is, and log lines carry no trace fields.
  const lines = await logLines((log) => inSpan('work', {}, async () => log.info('inside')));
  expect(lines[0]).not.toHaveProperty('trace_id');
});

test('OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none keep it off; the endpoints follow the OTLP rules', () => {
  expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing.endpoint).toBe('http://collector:4318/v1/traces');
  expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom' }).tracing.endpoint).toBe('http://collector:4318/custom');
  expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).tracing.endpoint).toBeUndefined();
  expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).tracing.endpoint).toBeUndefined();
  expect(loadConfig({ OTEL_SERVICE_NAME: 'connectors-eu' }).tracing.serviceName).toBe('connectors-eu');
  expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
});

test('with an endpoint: spans go by OTLP/HTTP to it on shutdown (batch processor), and log lines carry the trace id', async () => {
  const received: Array<{ path: string; body: string }> = [];
  const collector = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  try {
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const tracing = startTracing(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'tracing-unit' }).tracing, { role: 'worker' });
    expect(tracing).not.toBeNull();
    expect(tracingEnabled()).toBe(true);
    let traceId = '';
    const lines = await logLines((log) =>
      inSpan('unit-work', {}, async (span) => {
        traceId = span.spanContext().traceId;
        log.info('inside');
      }),
    );
    expect(lines[0]).toMatchObject({ trace_id: traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    // Batched: nothing sent yet; shutdown flushes.
    expect(received).toHaveLength(0);
    await tracing!.shutdown();
    expect(tracingEnabled()).toBe(false);
    expect(received.map((r) => r.path)).toEqual(['/v1/traces']);
    expect(received[0]!.body).toContain('unit-work');
    expect(received[0]!.body).toContain('tracing-unit');
    expect(received[0]!.body).toContain(traceId);
    // Unregistered again: back to the no-op tracer.
    expect(trace.getTracer('probe').startSpan('after').isRecording()).toBe(false);
  } finally {
    collector.closeAllConnections();
    await new Promise<void>((resolve) => collector.close(() => resolve()));
  }
});
