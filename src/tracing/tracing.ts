/**
 * OpenTelemetry tracing (docs/tracing.md): off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, or a test hands in its own span processors.
 *
 * Spans are made by hand at our own choke points (the /graphql route, `_entities`, DataLoader
 * batches, TypeORM queries, the job queue, the HTTP client) through `@opentelemetry/api`; nothing
 * is patched. While tracing is off every helper here returns after one boolean check, and the API's
 * global tracer is the no-op one.
 */
import { context, propagation, trace, SpanKind, SpanStatusCode, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';

export { SpanKind, SpanStatusCode };
export type { Attributes, Span };

/** OTEL_* settings from config.ts. */
export interface TracingSettings {
  /** Where the OTLP/HTTP exporter posts spans (a full `/v1/traces` URL); unset: tracing off. */
  endpoint?: string;
  serviceName: string;
}

const TRACER_NAME = 'connector-subgraph';
let enabled = false;
let tracer: Tracer = trace.getTracer(TRACER_NAME);

/** True while a provider of ours is registered; every span helper checks this first. */
export function tracingEnabled(): boolean {
  return enabled;
}

/** Called by setup.ts once its provider is registered (true) or unregistered (false). */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
  tracer = trace.getTracer(TRACER_NAME);
}

/** Options of {@link inSpan}. */
export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context (default: the active one). */
  parent?: Context;
}

/**
 * Runs `fn` in a new active span, ended when `fn` settles; a throw marks it ERROR with the error's
 * class name only (messages may quote upstream bodies; the log line with the same trace id has
 * them). With tracing off, `fn` runs as is.
 */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!enabled) return fn(NOOP_SPAN);
  const span = tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, options.parent ?? context.active());
  return context.with(trace.setSpan(options.parent ?? context.active(), span), async () => {
    try {
      return await fn(span);
    } catch (error) {
      markError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Starts a span that the caller ends (for callbacks that come in pairs, e.g. before/after a query). */
export function startSpan(name: string, options: SpanOptions = {}): Span | undefined {
  if (!enabled) return undefined;
  return tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, options.parent ?? context.active());
}

/** Sets ERROR with `error.type` (the error's code or class name), never its message. */
export function markError(span: Span, error: unknown): void {
  const type = errorType(error);
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : 'Error';
}

/** The W3C trace context of the active span, to carry in a job's payload; undefined when off. */
export function injectContext(): Record<string, string> | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** The context a carrier (request headers, a job's `_trace`) names as parent; the active one without it. */
export function extractContext(carrier: Record<string, unknown> | undefined | null, base: Context = context.active()): Context {
  if (!enabled || !carrier) return base;
  return propagation.extract(base, carrier, {
    get: (c, key) => {
      const value = c[key];
      return typeof value === 'string' || Array.isArray(value) ? (value as string | string[]) : undefined;
    },
    keys: (c) => Object.keys(c),
  });
}

/** The root context (a new trace), for work that must not nest under whatever happens to be active. */
export function rootContext(): Context {
  return trace.deleteSpan(context.active());
}

/** `trace_id` / `span_id` of the active span, for log lines (pino mixin); empty while none is. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  if (!enabled) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return trace.isSpanContextValid(span.spanContext()) ? { trace_id: traceId, span_id: spanId } : {};
}

/** The active span when tracing is on and one is recording (to add attributes to it). */
export function activeSpan(): Span | undefined {
  if (!enabled) return undefined;
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

const NOOP_SPAN: Span = trace.wrapSpanContext({ traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: 0 });
