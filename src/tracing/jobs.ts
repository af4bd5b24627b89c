import { activeSpan, extractContext, injectContext, inSpan, rootContext, SpanKind, tracingEnabled } from './tracing.js';

/** The key of a job's payload that carries the W3C trace context of whoever queued it. */
export const TRACE_FIELD = '_trace';

const MESSAGING = { 'messaging.system': 'pg-boss' } as const;

/**
 * `send <queue>` (PRODUCER) around queuing a job, and the trace context in its payload under
 * `_trace`, so the run continues the trace that queued it. Only inside a trace: the workers' own
 * schedules would otherwise each start a one-span trace every few seconds.
 */
export function tracePublish<D extends object>(queue: string, data: D, send: (payload: D) => Promise<string | null>): Promise<string | null> {
  if (!tracingEnabled() || !activeSpan()) return send(data);
  return inSpan(
    `send ${queue}`,
    { kind: SpanKind.PRODUCER, attributes: { ...MESSAGING, 'messaging.destination.name': queue, 'messaging.operation.type': 'send', 'messaging.operation.name': 'send' } },
    async (span) => {
      const carrier = injectContext();
      const id = await send(carrier ? { ...data, [TRACE_FIELD]: carrier } : data);
      if (id) span.setAttribute('messaging.message.id', id);
      return id;
    },
  );
}

/** `process <queue>` (CONSUMER) around one job's run: a child of the span that queued it, or a new trace. */
export function traceJob<T>(queue: string, job: { id: string; data: unknown }, run: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return run();
  const carrier = (job.data as Record<string, unknown> | null)?.[TRACE_FIELD];
  const parent = extractContext(carrier && typeof carrier === 'object' ? (carrier as Record<string, unknown>) : undefined, rootContext());
  return inSpan(
    `process ${queue}`,
    {
      kind: SpanKind.CONSUMER,
      parent,
      attributes: { ...MESSAGING, 'messaging.destination.name': queue, 'messaging.operation.type': 'process', 'messaging.operation.name': 'process', 'messaging.message.id': job.id },
    },
    run,
  );
}
