/**
 * What every vendor replica shares: a loopback HTTP server with a small router, a log of every
 * request, injected rate-limit answers (429 + `Retry-After`, with the vendor's own error body) and
 * a pluggable check of OAuth 2.0 access tokens (tests hand in the real `oidc-provider`).
 *
 * A replica follows its vendor's documented API: paths, auth headers, status codes, paging, rate
 * limits, error bodies and response bodies shaped like the documented examples. It is used by the
 * provider tests and served by `npm run replicas` for people trying the catalog by hand.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReplicaRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The raw body, as text. */
  text: string;
  /** The body parsed as JSON (application/json) or as a form (application/x-www-form-urlencoded). */
  json: unknown;
  form: URLSearchParams | null;
  /** Path parameters of the matched route (`/workspaces/:id/query` → `{ id }`). */
  params: Record<string, string>;
}

export interface SeenReplicaRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

export interface ReplicaResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Objects and arrays are sent as JSON; strings as they are. */
  body?: unknown;
}

export type ReplicaHandler = (req: ReplicaRequest) => ReplicaResponse | Promise<ReplicaResponse>;

/** Checks an OAuth 2.0 access token (tests: `oidc-provider`'s `ClientCredentials.find`). */
export type BearerVerifier = (token: string) => Promise<boolean>;

export interface ReplicaOptions {
  /** Accept OAuth 2.0 access tokens this verifier approves, besides the vendor's native credential. */
  verifyBearer?: BearerVerifier;
  /** Number of upstream items in the dataset (default 25: at least three pages at the default page size). */
  items?: number;
  /** Clock (epoch ms) the dataset's timestamps are built from (default: now at start). */
  now?: number;
}

/** What a test (or `npm run replicas`) needs to point a connector at the replica. */
export interface ReplicaConnection {
  authType: 'NONE' | 'API_KEY' | 'BASIC' | 'BEARER' | 'OAUTH2_CLIENT_CREDENTIALS';
  credentials: Record<string, string>;
  /** Config for `createConnector` (always includes `baseUrl`). */
  config: Record<string, unknown>;
}

export class ReplicaServer {
  readonly requests: SeenReplicaRequest[] = [];
  url = '';
  private readonly routes: Array<{ method: string; pattern: RegExp; keys: string[]; handler: ReplicaHandler }> = [];
  private readonly limited: Array<{ retryAfterSec: number; response: ReplicaResponse }> = [];
  private server: Server = createServer((req, res) => void this.dispatch(req, res));

  constructor(readonly provider: string) {}

  /** Registers a route; `:name` segments become `params.name`. */
  route(method: string, path: string, handler: ReplicaHandler): this {
    const keys: string[] = [];
    const source = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_m, key: string) => {
      keys.push(key);
      return '([^/]+)';
    });
    this.routes.push({ method: method.toUpperCase(), pattern: new RegExp(`^${source}$`), keys, handler });
    return this;
  }

  /**
   * The next `count` requests (to any route) are answered 429 with `Retry-After: retryAfterSec`
   * and `response` (the vendor's documented rate-limit body and headers) before any other check.
   */
  rateLimitNext(retryAfterSec: number, count = 1, response: ReplicaResponse = {}): void {
    for (let i = 0; i < count; i++) this.limited.push({ retryAfterSec, response });
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  async start(host = '127.0.0.1', port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://replica');
    const seen: SeenReplicaRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: text,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(seen);
    let answer: ReplicaResponse;
    try {
      answer = await this.answer(req, url, text);
    } catch (e) {
      answer = { status: 500, body: { error: `replica failure: ${(e as Error).message}` } };
    }
    seen.status = answer.status ?? 200;
    const headers: Record<string, string> = { ...(answer.headers ?? {}) };
    let payload = '';
    if (answer.body !== undefined) {
      if (typeof answer.body === 'string') payload = answer.body;
      else {
        payload = JSON.stringify(answer.body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      }
    }
    res.writeHead(seen.status, headers);
    res.end(payload);
  }

  private async answer(req: IncomingMessage, url: URL, text: string): Promise<ReplicaResponse> {
    const limited = this.limited.shift();
    if (limited) {
      return {
        status: 429,
        ...limited.response,
        headers: { 'retry-after': String(limited.retryAfterSec), ...(limited.response.headers ?? {}) },
      };
    }
    const method = (req.method ?? 'GET').toUpperCase();
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeURIComponent(match[i + 1]!)));
      const type = String(req.headers['content-type'] ?? '');
      let json: unknown = null;
      let form: URLSearchParams | null = null;
      if (type.includes('application/json') && text) {
        try {
          json = JSON.parse(text);
        } catch {
          return { status: 400, body: { error: 'malformed JSON body' } };
        }
      } else if (type.includes('application/x-www-form-urlencoded')) form = new URLSearchParams(text);
      return route.handler({ method, path: url.pathname, query: url.searchParams, headers: req.headers, text, json, form, params });
    }
    return { status: 404, body: { error: `no such endpoint: ${method} ${url.pathname}` } };
  }
}

/** The token of `Authorization: <scheme> <token>` (scheme compared case-insensitively), or null. */
export function authToken(headers: IncomingHttpHeaders, scheme: string): string | null {
  const value = headers.authorization;
  if (typeof value !== 'string') return null;
  const space = value.indexOf(' ');
  if (space < 0 || value.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return null;
  return value.slice(space + 1).trim() || null;
}

/** Whether the request carries an OAuth 2.0 access token the verifier approves. */
export async function hasValidBearer(headers: IncomingHttpHeaders, verify: BearerVerifier | undefined): Promise<boolean> {
  const token = authToken(headers, 'Bearer');
  return token !== null && verify !== undefined && (await verify(token));
}

/** Deterministic pseudo-random numbers (mulberry32), so every run of a replica serves the same data. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A started replica, as the catalog test suite and `npm run replicas` use it. */
export interface StartedReplica {
  server: ReplicaServer;
  /** The base URL to put in the connector's `baseUrl`. */
  url: string;
  /** A connection the replica accepts with the vendor's native credential (config includes `baseUrl`). */
  connection(): ReplicaConnection;
  /** The same connection with a credential the replica refuses the way the vendor does. */
  wrongConnection(): ReplicaConnection;
  /**
   * Extra config for an OAuth 2.0 client-credentials connection (besides `baseUrl`, `tokenUrl`,
   * `scope`, which the suite sets), e.g. a workspace id; `{}` when none is needed.
   */
  oauthConfig?(): Record<string, unknown>;
  /** Appends `n` upstream items newer than every item so far (for incremental reads). */
  addItems(n: number): void;
  /** The upstream items currently served, in the vendor's own shape, oldest first. */
  items(): unknown[];
  close(): Promise<void>;
}

/** One vendor's replica, with the test oracle for its mapping. */
export interface ReplicaModule {
  /** The provider id of the manifest it stands in for. */
  provider: string;
  start(options?: ReplicaOptions): Promise<StartedReplica>;
  /**
   * What the engine must make of one upstream item (a subset of the normalized record: at least
   * kind, the identifying fields, severity and timestamp), written from the vendor's documentation,
   * independently of the manifest.
   */
  expectedRecord(item: unknown): Record<string, unknown>;
  /** A pattern the AUTH_FAILED remediation must match: the vendor's setting to fix. */
  authRemediation: RegExp;
  /** Event types (streams) the manifest declares, when more than one; the suite deselects one. */
  eventTypes?: string[];
  /**
   * Set when the vendor's API answers with the whole feed at once, with neither paging nor a time
   * filter (why, in a sentence): the suite then proves a one-page snapshot instead of paging.
   */
  snapshot?: string;
}
