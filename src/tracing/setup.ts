/**
 * The SDK side of tracing: a NodeTracerProvider with the OTLP/HTTP exporter behind a batch span
 * processor, registered as the global provider with the W3C trace-context propagator. Only the
 * entry points (bootstrap.ts, worker.ts) import this module; everything else uses tracing.ts.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { setTracingEnabled, tracingEnabled, type TracingSettings } from './tracing.js';

export interface TracingOptions {
  /** Span processors used instead of the OTLP exporter (tests: SimpleSpanProcessor over an InMemorySpanExporter). */
  spanProcessors?: SpanProcessor[];
  /** `service.instance.role` on the resource: `api` (npm start) or `worker` (npm run worker). */
  role?: 'api' | 'worker';
}

/** The running provider; `shutdown` flushes what is buffered, then unregisters it. */
export interface Tracing {
  readonly provider: NodeTracerProvider;
  shutdown(): Promise<void>;
}

/**
 * Registers a tracer provider when an endpoint is configured (or processors are given); otherwise
 * registers nothing and returns null, leaving the API's no-op tracer in place. One provider per
 * process: while one is registered, another call returns null.
 */
export function startTracing(settings: TracingSettings, options: TracingOptions = {}): Tracing | null {
  if (tracingEnabled()) return null;
  const processors = options.spanProcessors ?? (settings.endpoint ? [new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.endpoint }))] : []);
  if (!processors.length) return null;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: '0.1.0',
      ...(options.role ? { 'service.instance.role': options.role } : {}),
    }),
    spanProcessors: processors,
  });
  // W3C trace context only (no baggage): what the router sends, and nothing more a caller can stuff in.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  setTracingEnabled(true);
  let closing: Promise<void> | undefined;
  return {
    provider,
    shutdown() {
      closing ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          setTracingEnabled(false);
          trace.disable();
          context.disable();
          propagation.disable();
        }
      })();
      return closing;
    },
  };
}
