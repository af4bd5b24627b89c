import { inSpan, markError, SpanKind, tracingEnabled } from './tracing.js';

/**
 * One CLIENT span per upstream call of the adapters' HTTP client (retries included): method,
 * scheme, host and port, the final status and how many times it was re-sent. Never the path, query
 * string or headers (API keys travel in all three), and no `traceparent` goes to the vendor.
 */
export function traceUpstreamCall<R extends { status: number; attempts: number }>(req: { method?: string; url: string | URL }, call: () => Promise<R>): Promise<R> {
  if (!tracingEnabled()) return call();
  let url: URL;
  try {
    url = new URL(String(req.url));
  } catch {
    return call();
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return inSpan(
    method,
    { kind: SpanKind.CLIENT, attributes: { 'http.request.method': method, 'url.scheme': url.protocol.replace(':', ''), 'server.address': url.hostname, 'server.port': port } },
    async (span) => {
      try {
        const response = await call();
        span.setAttribute('http.response.status_code', response.status);
        if (response.attempts > 1) span.setAttribute('http.request.resend_count', response.attempts - 1);
        if (response.status >= 400) markError(span, { code: String(response.status) });
        return response;
      } catch (error) {
        const { status, attempts } = error as { status?: unknown; attempts?: unknown };
        if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
        if (typeof attempts === 'number' && attempts > 1) span.setAttribute('http.request.resend_count', attempts - 1);
        throw error;
      }
    },
  );
}
