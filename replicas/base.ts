/**
 * What every vendor replica shares: a loopback HTTP server with a small router, a log of every
 * request, injected rate-limit answers (429 + `Retry-After`, with the vendor's own error body) and
 * a pluggable check of OAuth 2.0 access tokens (tests hand in the real `oidc-provider`); the
 * credential checks vendors have in common; a deterministic `Random` for the datasets and the
 * timelines they are laid out on; and `serve`, which hands a started replica to its users.
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

  /**
   * `rateLimited(retryAfterSec)` builds the answer an injected 429 carries when `rateLimitNext` is
   * given none: the vendor's documented rate-limit body and headers (default: a bare 429).
   */
  constructor(
    readonly provider: string,
    private readonly rateLimited: (retryAfterSec: number) => ReplicaResponse = () => ({}),
  ) {}

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
  rateLimitNext(retryAfterSec: number, count = 1, response: ReplicaResponse = this.rateLimited(retryAfterSec)): void {
    for (let i = 0; i < count; i++) this.limited.push({ retryAfterSec, response });
  }

  /** The absolute URL of `req` on this server, with its query parameters but `without` (for paging links). */
  urlOf(req: ReplicaRequest, without?: string): URL {
    const url = new URL(`${this.url}${req.path}`);
    for (const [k, v] of req.query) if (k !== without) url.searchParams.append(k, v);
    return url;
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

/**
 * Whether the request is authorized by a vendor key or else by an approved OAuth 2.0 access token:
 * `key` is what it sent where the vendor reads its key (a header or a query parameter).
 */
export async function keyOrBearer(req: ReplicaRequest, key: unknown, expected: string, verify: BearerVerifier | undefined): Promise<boolean> {
  return key === expected || hasValidBearer(req.headers, verify);
}

/** The `user:password` of `Authorization: Basic <base64>`, decoded, or null without Basic credentials. */
export function basicCredentials(headers: IncomingHttpHeaders): string | null {
  const token = authToken(headers, 'Basic');
  return token === null ? null : Buffer.from(token, 'base64').toString('utf8');
}

/**
 * A per-minute request quota as vendors count one: each call counts a request in the current
 * wall-clock minute and tells what is left of `limit` and when the minute ends (epoch seconds).
 */
export function minuteQuota(limit: number): () => { remaining: number; resetSec: number } {
  let window = { minute: Math.floor(Date.now() / 60_000), used: 0 };
  return () => {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute !== window.minute) window = { minute, used: 0 };
    window.used++;
    return { remaining: Math.max(0, limit - window.used), resetSec: (window.minute + 1) * 60 };
  };
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

const HEX = '0123456789abcdef';

/**
 * A replica's random source over `seeded()`. A dataset is the same on every run as long as its
 * generator asks for the same draws in the same order: every method here draws left to right, one
 * `next()` per `int`, `pick` or character.
 */
export class Random {
  private readonly draw: () => number;
  constructor(seed: number) {
    this.draw = seeded(seed);
  }
  /** A number in [0, 1). */
  next(): number {
    return this.draw();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.draw() * n);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  /** `n` characters of `alphabet`. */
  chars(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  /** `n` lowercase hex digits. */
  hex(n: number): string {
    return this.chars(n, HEX);
  }
  /** A random (version 4) UUID: 32 hex digits, then the variant digit (8, 9, a or b). */
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[this.int(4)]}${h.slice(17, 20)}-${h.slice(20)}`;
  }
  /**
   * An IPv4 address under `prefix` (one to three leading octets, or first octets to pick one
   * from): the octets it leaves are 0–255, the last one 1–254.
   */
  ipv4(prefix: string | readonly number[]): string {
    const octets = (typeof prefix === 'string' ? prefix : String(this.pick(prefix))).split('.');
    while (octets.length < 3) octets.push(String(this.int(256)));
    octets.push(String(1 + this.int(254)));
    return octets.join('.');
  }
  /**
   * A distinct public-looking IPv4 address per `index` (first octet `first` + index mod `span`),
   * with one draw for the third octet.
   */
  spreadIpv4(index: number, first: number, span: number): string {
    return `${first + (index % span)}.${Math.floor(index / span) % 256}.${this.int(254) + 1}.${(index % 250) + 2}`;
  }
}

/** A UUID (version 4, variant `a`) made of the first 32 digits of a hex string. */
export function uuidFromHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The instants of a dataset's `count` first items, oldest first, all inside a first sync's
 * default 24-hour window: spread over at most 20 hours, at least one second and at most
 * `maxStepSec` apart, the newest ten minutes before `anchor`. `perSecond` is the clock's unit:
 * 1000 for epoch milliseconds, 1 for epoch seconds.
 */
export function recentInstants(count: number, anchor: number, maxStepSec: number, perSecond = 1000): number[] {
  const step = Math.max(perSecond, Math.min(maxStepSec * perSecond, Math.floor((20 * 3600 * perSecond) / Math.max(1, count))));
  return Array.from({ length: count }, (_, i) => anchor - 600 * perSecond - (count - 1 - i) * step);
}

/**
 * Appends `n` items to `list`, one second apart, after the newest one's instant (`timeOf`) or,
 * when the list is empty, after `whenEmpty`; `make(index, at)` builds one.
 */
export function appendEachSecond<T>(list: T[], n: number, timeOf: (item: T) => number, whenEmpty: number, make: (index: number, at: number) => T, perSecond = 1000): void {
  let last = list.length ? timeOf(list[list.length - 1]!) : whenEmpty;
  for (let i = 0; i < n; i++) {
    last += perSecond;
    list.push(make(list.length, last));
  }
}

/**
 * The instant of an item appended after one at `last`: a second later, but not after a second ago
 * (never in the future of the clock the next sync reads), and always after `last`.
 */
export function soonAfter(last: number): number {
  return Math.max(last + 1, Math.min(last + 1000, Date.now() - 1000));
}

/**
 * A dataset of items `step` apart, oldest first, whose `initial` first items end `lag` before
 * `now`; `add(n)` appends the next `n`, on the same steps. `make(index, at)` builds one.
 */
export function series<T>(now: number, initial: number, step: number, lag: number, make: (index: number, at: number) => T): { list: T[]; add(n: number): void } {
  const first = now - lag - (initial - 1) * step;
  const list: T[] = [];
  const add = (n: number) => {
    for (let i = 0; i < n; i++) list.push(make(list.length, first + list.length * step));
  };
  add(initial);
  return { list, add };
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
  /**
   * Where the replica can: the vendor re-sends its newest item `copies` more times (same id, same
   * time, served on every page they fall on), a flood of duplicates (replicas/twelve.ts).
   */
  repeatNewest?(copies: number): void;
  /** Takes every repeat back: the vendor fixed it, each item is served once again. */
  stopRepeating?(): void;
  close(): Promise<void>;
}

/** What a replica's `start` hands to `serve`: its credentials, its config and its dataset. */
export interface ReplicaSetup {
  authType: ReplicaConnection['authType'];
  /** The vendor's native credential. */
  credentials: Record<string, string>;
  /** A credential the replica refuses the way the vendor does. */
  wrongCredentials: Record<string, string>;
  /** Config besides `baseUrl`, read anew for every connection (it may follow the dataset). */
  config?: () => Record<string, unknown>;
  /** What `oauthConfig()` answers: `config` unless given; null leaves `oauthConfig` out. */
  oauthConfig?: (() => Record<string, unknown>) | null;
  addItems(n: number): void;
  items(): unknown[];
  repeatNewest?(copies: number): void;
  stopRepeating?(): void;
}

/** Starts `server` and hands it out as a StartedReplica with `setup`'s connections and dataset. */
export async function serve(server: ReplicaServer, setup: ReplicaSetup): Promise<StartedReplica> {
  await server.start();
  const config = setup.config ?? (() => ({}));
  const oauthConfig = setup.oauthConfig === undefined ? config : setup.oauthConfig;
  const connection = (credentials: Record<string, string>): ReplicaConnection => ({
    authType: setup.authType,
    credentials: { ...credentials },
    config: { baseUrl: server.url, ...config() },
  });
  return {
    server,
    url: server.url,
    connection: () => connection(setup.credentials),
    wrongConnection: () => connection(setup.wrongCredentials),
    ...(oauthConfig ? { oauthConfig } : {}),
    addItems: (n) => setup.addItems(n),
    items: () => setup.items(),
    ...(setup.repeatNewest && setup.stopRepeating ? { repeatNewest: setup.repeatNewest, stopRepeating: setup.stopRepeating } : {}),
    close: () => server.close(),
  };
}

/**
 * The credentials of a vendor that takes Microsoft Entra ID access tokens only: client credentials
 * are the native scheme (the suite fills in the client and the token URL), and Entra ID refuses a
 * wrong client secret at its token endpoint (AADSTS7000215), so the suite sends one.
 */
export const ENTRA_ID_CLIENT: Pick<ReplicaSetup, 'authType' | 'credentials' | 'wrongCredentials'> = {
  authType: 'OAUTH2_CLIENT_CREDENTIALS',
  credentials: { clientId: '', clientSecret: '' },
  wrongCredentials: { clientId: 'a4c2e6f8-0000-4000-8000-00000000dead', clientSecret: 'wrong-client-secret' },
};

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
