import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  at: number;
}

export interface RestUpstreamOptions {
  /** When set, requests must carry it in X-API-Key (401 JSON error otherwise). */
  apiKey?: string;
  records?: Record<string, unknown>[];
  pageSize?: number;
  /** When set, a `since` query parameter (ISO 8601) keeps only records whose field is at or after it. */
  sinceField?: string;
}

/**
 * A loopback custom REST API as a customer's upstream would be: `GET /items?page=N` returns a JSON
 * array page with an RFC 8288 `Link: <…>; rel="next"` header, API-key auth with 401 JSON errors,
 * and switches to fail, slow down or hang. Every request is recorded.
 */
export class RestUpstream {
  readonly requests: SeenRequest[] = [];
  records: Record<string, unknown>[];
  pageSize: number;
  apiKey?: string;
  sinceField?: string;
  /** Milliseconds to wait before answering each request. */
  delayMs = 0;
  /** Requests being answered now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  private failures: Array<{ status: number; body: string }> = [];
  private failing: { status: number } | null = null;
  private server = createServer((req, res) => void this.handle(req, res));
  url = '';

  constructor(options: RestUpstreamOptions = {}) {
    this.records = options.records ?? [];
    this.pageSize = options.pageSize ?? 50;
    this.apiKey = options.apiKey;
    this.sinceField = options.sinceField;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The next `count` requests get `status`. */
  failNext(status: number, count = 1): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, body: JSON.stringify({ error: `upstream error ${status}` }) });
  }

  /** Every request fails with `status` until `recover()`. */
  failAlways(status = 500): void {
    this.failing = { status };
  }

  recover(): void {
    this.failing = null;
    this.failures = [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, headers: req.headers, at: Date.now() });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => (this.inFlight -= 1));
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (res.destroyed) return;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (this.apiKey && req.headers['x-api-key'] !== this.apiKey) return send(401, { error: 'invalid_api_key', message: 'API key missing or invalid' });
    const failure = this.failures.shift() ?? this.failing;
    if (failure) return send(failure.status, { error: `upstream error ${failure.status}` });
    if (url.pathname !== '/items') return send(404, { error: 'not_found' });
    const page = Math.max(1, Number(url.searchParams.get('page') ?? '1'));
    const start = (page - 1) * this.pageSize;
    const since = this.sinceField ? url.searchParams.get('since') : null;
    const field = this.sinceField!;
    const selected = since ? this.records.filter((r) => Date.parse(String(r[field])) >= Date.parse(since)) : this.records;
    const body = selected.slice(start, start + this.pageSize);
    const headers: Record<string, string> = {};
    const keep = since ? `&since=${encodeURIComponent(since)}` : '';
    if (start + this.pageSize < selected.length) headers.link = `<${this.url}/items?page=${page + 1}${keep}>; rel="next"`;
    send(200, body, headers);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export async function startRestUpstream(options: RestUpstreamOptions = {}): Promise<RestUpstream> {
  return new RestUpstream(options).start();
}

export function makeRecords(count: number, prefix = 'rec'): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({ id: `${prefix}-${i}`, value: i, seen: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z` }));
}
