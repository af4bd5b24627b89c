/**
 * The shared HTTP client of the adapter layer (ARCHITECTURE.md §5).
 *
 * One got instance per client, used in stream mode so the client owns every byte: connect and
 * whole-call timeouts, bounded retries with backoff and `Retry-After`, a response-size cap
 * enforced while streaming, the egress guard on every hop, and failures converted into scrubbed
 * {@link HttpClientError}s. got's own errors carry the request options (headers included) and
 * never leave this module.
 *
 * Status → error mapping (thrown after retries, `status` set):
 *
 * | upstream answer                         | code            | retryable |
 * |-----------------------------------------|-----------------|-----------|
 * | 401, 403                                | AUTH_FAILED     | false     |
 * | 429                                     | RATE_LIMITED    | true, `retryAfterMs` from `Retry-After` |
 * | 429/503 whose `Retry-After` exceeds the cap | RATE_LIMITED | true, `retryAfterMs` (not waited for) |
 * | 408                                     | TIMEOUT         | true      |
 * | 500, 502, 503, 504 (after retries)      | UNREACHABLE     | true (503 keeps `retryAfterMs`) |
 * | 400, 404, 405, 410, 422                 | CONFIG_INVALID  | false (the configured request is wrong) |
 * | any other 3xx/4xx/5xx                   | BAD_RESPONSE    | false     |
 * | 2xx with malformed JSON / over the cap  | BAD_RESPONSE    | false     |
 *
 * Transport failures: DNS failures, refused/reset connections → UNREACHABLE (retryable, except
 * NXDOMAIN and TLS verification failures); connect or whole-call timeouts → TIMEOUT; a
 * destination refused by the egress guard → EGRESS_DENIED; the caller's AbortSignal → TIMEOUT
 * (`aborted: true`).
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientRequest, IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { got } from 'got';
import type { Got, Request as GotRequest } from 'got';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type { ConnectorErrorCode } from '../../errors/connector-error.js';
import { assertUrlAllowed, createEgressPolicy, createGuardedLookup } from './egress.js';
import type { EgressPolicy, LookupFunction } from './egress.js';
import { traceUpstreamCall } from '../../tracing/http-client.js';

const MiB = 1024 * 1024;

export const HTTP_CLIENT_DEFAULTS = {
  connectTimeoutMs: 5_000,
  timeoutMs: 15_000,
  retries: 2,
  retryBaseDelayMs: 250,
  maxRetryDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
  maxResponseBytes: 10 * MiB,
  maxRedirects: 5,
  userAgent: 'connector-subgraph/0.1',
} as const;

/** Error bodies are read only this far (they are never returned whole, only parsed for error codes). */
const ERROR_BODY_LIMIT = 64 * 1024;
/** Secret values shorter than this cannot be told apart from ordinary text and are not scrubbed. */
const MIN_SECRET_LENGTH = 4;
const REDACTED = '[REDACTED]';

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_AFTER_STATUSES = new Set([429, 503]);
/** Transport errors worth another attempt: nothing reached the application, or it is transient. */
const RETRY_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'ETIMEDOUT',
]);
const DNS_PERMANENT_CODES = new Set(['ENOTFOUND', 'EAI_NONAME', 'EAI_FAIL', 'ENODATA']);
const CONNECT_TIMEOUT_EVENTS = new Set(['lookup', 'connect', 'secureConnect', 'socket']);
/** Headers that may follow a redirect to another origin; everything else may carry a credential. */
const CROSS_ORIGIN_SAFE_HEADERS = new Set(['accept', 'accept-encoding', 'accept-language', 'user-agent', 'content-type']);
/** Query parameters whose values are redacted wherever a URL shows up in a message. */
const SECRET_PARAM_RE =
  /([?&;](?:api[_-]?key|apikey|key|token|access[_-]?token|refresh[_-]?token|id[_-]?token|client[_-]?secret|secret|password|passwd|pwd|auth|authorization|sig|signature|code|session(?:id)?|private[_-]?key|x-api-key)=)[^&#\s"'<>]*/gi;

export interface HttpClientOptions {
  /** Extra destinations that are allowed although private (`EGRESS_ALLOW`): CIDRs, IPs, host names. */
  egressAllow?: string[];
  /** Budget for DNS + TCP + TLS of one attempt. Default 5 s. */
  connectTimeoutMs?: number;
  /** Default budget of a whole call, retries and waits included. Default 15 s. */
  timeoutMs?: number;
  /** Extra attempts for idempotent requests. Default 2. */
  retries?: number;
  /** First backoff step; doubles per attempt with jitter, capped at 5 s. Default 250 ms. */
  retryBaseDelayMs?: number;
  /** Longest `Retry-After` the client waits; a longer one fails at once with `retryAfterMs`. Default 30 s. */
  maxRetryAfterMs?: number;
  /** Response bodies larger than this are aborted while downloading. Default 10 MiB. */
  maxResponseBytes?: number;
  maxRedirects?: number;
  userAgent?: string;
  /** Resolver wrapped by the egress guard (default `dns.lookup`); tests inject one for test names. */
  dnsLookup?: LookupFunction;
  /** Keep connections alive between calls (default true); call `close()` when done. */
  keepAlive?: boolean;
}

export interface HttpRequest {
  method?: string;
  url: string | URL;
  headers?: Record<string, string>;
  /** Added to the URL's query, replacing parameters of the same name. */
  searchParams?: Record<string, string | number>;
  json?: unknown;
  form?: Record<string, string>;
  /** A body sent exactly as given (e.g. one that was signed); set its content-type in `headers`. */
  body?: string;
  /** `json` (default) parses the body; `text` returns it as a string. */
  responseType?: 'json' | 'text';
  /** Values that must never appear in a message (credentials, tokens). */
  secrets?: readonly string[];
  signal?: AbortSignal;
  /** Allows retries for methods other than GET/HEAD/OPTIONS (e.g. an OAuth token POST); false forbids them. */
  idempotent?: boolean;
  /** Budget of this call, retries included (default: the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Overrides the client's response-size cap for this call. */
  maxResponseBytes?: number;
  /** false: non-2xx final responses are returned instead of thrown (body parsed best-effort). */
  throwHttpErrors?: boolean;
}

/** High-resolution phases of the final attempt, in milliseconds (`performance.now`). */
export interface RequestTimings {
  /** From the start of the attempt until the socket was usable (DNS + TCP + TLS); null if it never was. */
  connectMs: number | null;
  /** A kept-alive socket was reused: `connectMs` is then only the wait for it. */
  reusedSocket: boolean;
  /** From connected until the response headers arrived (request sent, server processing). */
  waitMs: number | null;
  /** From the response headers until the last body byte. */
  downloadMs: number | null;
  /** The whole attempt. */
  totalMs: number;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  /** The final URL (after redirects). */
  url: string;
  /** The whole call, retries and waits included. */
  latencyMs: number;
  attempts: number;
  timings: RequestTimings;
}

/** Where a failed call stopped: before a usable socket, before a usable response, or in the body. */
export type HttpFailurePhase = 'connect' | 'response' | 'body';

export interface HttpClientErrorOptions {
  retryable?: boolean;
  retryAfterMs?: number;
  status?: number;
  phase: HttpFailurePhase;
  timings?: RequestTimings;
  attempts?: number;
  /** The transport error code (`ECONNREFUSED`, ...), never a message. */
  networkCode?: string;
  /** The caller's AbortSignal ended the call. */
  aborted?: boolean;
}

/** A scrubbed ConnectorError with where and how the call failed (for test-step attribution). */
export class HttpClientError extends ConnectorError {
  readonly phase: HttpFailurePhase;
  readonly timings?: RequestTimings;
  attempts: number;
  readonly networkCode?: string;
  readonly aborted: boolean;

  constructor(code: ConnectorErrorCode, message: string, options: HttpClientErrorOptions) {
    super(code, message, { retryable: options.retryable, retryAfterMs: options.retryAfterMs, status: options.status });
    this.name = 'HttpClientError';
    this.phase = options.phase;
    this.timings = options.timings;
    this.attempts = options.attempts ?? 1;
    this.networkCode = options.networkCode;
    this.aborted = options.aborted ?? false;
  }
}

export interface HttpClient {
  /** Sends one call (with retries); resolves with a 2xx response or throws {@link HttpClientError}. */
  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>>;
  /** The egress policy in force (shared with link and auth helpers). */
  readonly egress: EgressPolicy;
  /** Scrubs `text` of the given secrets and of URL credentials (same as {@link scrubSecrets}). */
  scrub(text: string, secrets?: readonly string[]): string;
  /** Closes kept-alive sockets. */
  close(): void;
}

/**
 * Removes secret values from text that may be shown or logged: each secret (and its URL-, form-
 * and base64-encoded forms), URL userinfo, values of well-known secret query parameters and
 * `Bearer`/`Basic` credentials.
 */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = String(text);
  const variants = new Set<string>();
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < MIN_SECRET_LENGTH) continue;
    variants.add(s);
    variants.add(encodeURIComponent(s));
    variants.add(encodeURIComponent(s).replace(/%20/g, '+'));
    variants.add(Buffer.from(s, 'utf8').toString('base64'));
    variants.add(Buffer.from(s, 'utf8').toString('base64url'));
    variants.add(JSON.stringify(s).slice(1, -1));
  }
  for (const v of [...variants].filter((x) => x.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length)) {
    out = out.split(v).join(REDACTED);
  }
  out = out.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@?#]+@/gi, `$1${REDACTED}@`);
  out = out.replace(SECRET_PARAM_RE, `$1${REDACTED}`);
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]{4,}=*/g, `$1 ${REDACTED}`);
  return out;
}

/** `host/path` of a URL, without userinfo or query: the only part of a URL messages show. */
export function describeUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

/** Parses `Retry-After` (delta-seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The error a final non-2xx response maps to (see the table at the top of this module). */
export function errorForStatus(
  status: number,
  url: string | URL,
  secrets: readonly string[] = [],
  extra: { retryAfterMs?: number; timings?: RequestTimings; attempts?: number } = {},
): HttpClientError {
  const where = describeUrl(url);
  const host = (() => {
    try {
      return new URL(String(url)).host;
    } catch {
      return where;
    }
  })();
  const base = { status, phase: 'response' as const, timings: extra.timings, attempts: extra.attempts, retryAfterMs: extra.retryAfterMs };
  const mk = (code: ConnectorErrorCode, message: string, retryable?: boolean) =>
    new HttpClientError(code, scrubSecrets(message, secrets), { ...base, retryable });
  const wait = extra.retryAfterMs !== undefined ? ` (retry after ${Math.ceil(extra.retryAfterMs / 1000)} s)` : '';
  switch (status) {
    case 401:
    case 403:
      return mk('AUTH_FAILED', `${host} rejected the credentials (HTTP ${status})`, false);
    case 429:
      return mk('RATE_LIMITED', `${host} is rate limiting requests (HTTP 429)${wait}`, true);
    case 408:
      return mk('TIMEOUT', `${host} timed out the request (HTTP 408)`, true);
    case 500:
    case 502:
    case 503:
    case 504:
      return mk('UNREACHABLE', `${host} is failing (HTTP ${status})${wait}`, true);
    case 404:
    case 410:
      return mk('CONFIG_INVALID', `${where} does not exist (HTTP ${status}): check the base URL and path`, false);
    case 400:
    case 405:
    case 422:
      return mk('CONFIG_INVALID', `${where} refused the request as configured (HTTP ${status}): check the path and query parameters`, false);
    default:
      return mk('BAD_RESPONSE', `${where} answered with an unexpected HTTP ${status}`, false);
  }
}

interface Prepared {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer;
  secrets: readonly string[];
  maxBytes: number;
  responseType: 'json' | 'text';
}

interface RawOutcome {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  url: string;
  timings: RequestTimings;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let e: unknown = error;
  while (e && chain.length < 8 && !chain.includes(e)) {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return chain;
}

function isTlsCode(code: string): boolean {
  return /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|DEPTH_ZERO|HOSTNAME_MISMATCH|ALTNAME/.test(code);
}

function originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** Creates the client; one per process is enough (it pools connections). */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const cfg = {
    connectTimeoutMs: options.connectTimeoutMs ?? HTTP_CLIENT_DEFAULTS.connectTimeoutMs,
    timeoutMs: options.timeoutMs ?? HTTP_CLIENT_DEFAULTS.timeoutMs,
    retries: Math.max(0, options.retries ?? HTTP_CLIENT_DEFAULTS.retries),
    retryBaseDelayMs: options.retryBaseDelayMs ?? HTTP_CLIENT_DEFAULTS.retryBaseDelayMs,
    maxRetryAfterMs: options.maxRetryAfterMs ?? HTTP_CLIENT_DEFAULTS.maxRetryAfterMs,
    maxResponseBytes: options.maxResponseBytes ?? HTTP_CLIENT_DEFAULTS.maxResponseBytes,
    maxRedirects: options.maxRedirects ?? HTTP_CLIENT_DEFAULTS.maxRedirects,
    userAgent: options.userAgent ?? HTTP_CLIENT_DEFAULTS.userAgent,
  };
  const policy = createEgressPolicy(options.egressAllow ?? []);
  const lookup = createGuardedLookup(policy, options.dnsLookup);
  const keepAlive = options.keepAlive ?? true;
  const agents = {
    http: new http.Agent({ keepAlive, maxSockets: 64 }),
    https: new https.Agent({ keepAlive, maxSockets: 64 }),
  };

  const instance: Got = got.extend({
    agent: agents,
    dnsLookup: lookup as never,
    // The client retries itself (it needs Retry-After caps and a whole-call deadline).
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: true,
    maxRedirects: cfg.maxRedirects,
    decompress: true,
    enableUnixSockets: false,
    http2: false,
    https: { rejectUnauthorized: true },
    timeout: { lookup: cfg.connectTimeoutMs, connect: cfg.connectTimeoutMs, secureConnect: cfg.connectTimeoutMs },
    hooks: {
      beforeRedirect: [
        (updated) => {
          const target = updated.url as URL;
          // Literal IPs never reach the guarded lookup, so every hop is checked here first.
          assertUrlAllowed(policy, target);
          const origin = (updated.context as { egressOrigin?: string }).egressOrigin;
          if (origin && originOf(target) !== origin) {
            for (const name of Object.keys(updated.headers)) {
              if (!CROSS_ORIGIN_SAFE_HEADERS.has(name.toLowerCase())) delete updated.headers[name];
            }
          }
        },
      ],
    },
  });

  const backoff = (attempt: number): number => {
    const exp = Math.min(HTTP_CLIENT_DEFAULTS.maxRetryDelayMs, cfg.retryBaseDelayMs * 2 ** (attempt - 1));
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  };

  const prepare = (req: HttpRequest): Prepared => {
    const secrets = req.secrets ?? [];
    let url: URL;
    try {
      url = new URL(String(req.url));
    } catch {
      throw new HttpClientError('CONFIG_INVALID', 'The request URL is not a valid absolute URL', { phase: 'connect' });
    }
    // `set`: a parameter given here replaces one the URL already has (e.g. an API key echoed in a next link).
    for (const [k, v] of Object.entries(req.searchParams ?? {})) url.searchParams.set(k, String(v));
    try {
      assertUrlAllowed(policy, url);
    } catch (e) {
      const ce = e as ConnectorError;
      throw new HttpClientError(ce.code, scrubSecrets(ce.message, secrets), { phase: 'connect' });
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = { 'user-agent': cfg.userAgent };
    const responseType = req.responseType ?? 'json';
    if (responseType === 'json') headers.accept = 'application/json';
    let body: Buffer | undefined;
    if (req.json !== undefined) {
      body = Buffer.from(JSON.stringify(req.json), 'utf8');
      headers['content-type'] = 'application/json';
    } else if (req.form !== undefined) {
      body = Buffer.from(new URLSearchParams(req.form).toString(), 'utf8');
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (req.body !== undefined) {
      body = Buffer.from(req.body, 'utf8');
    } else if (method !== 'GET' && method !== 'HEAD') {
      body = Buffer.alloc(0);
    }
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    return {
      method,
      url,
      headers,
      body,
      secrets,
      maxBytes: req.maxResponseBytes ?? cfg.maxResponseBytes,
      responseType,
    };
  };

  /** Converts anything got or the socket threw into a scrubbed HttpClientError. */
  const convert = (
    error: unknown,
    p: Prepared,
    phase: HttpFailurePhase,
    status: number | undefined,
    timings: RequestTimings,
  ): HttpClientError => {
    const host = p.url.host;
    const scrub = (m: string) => scrubSecrets(m, p.secrets);
    const chain = causeChain(error);
    const own = chain.find(isConnectorError);
    if (own) {
      const c = own as ConnectorError;
      return new HttpClientError(c.code, scrub(c.message), {
        phase: c.code === 'EGRESS_DENIED' ? 'connect' : phase,
        status,
        timings,
        retryable: c.retryable,
        retryAfterMs: c.retryAfterMs,
      });
    }
    const codes = chain.map((e) => (e as { code?: unknown }).code).filter((c): c is string => typeof c === 'string');
    const names = chain.map((e) => (e as { name?: unknown }).name);
    const code = codes.find((c) => c !== 'ERR_GOT_REQUEST_ERROR') ?? codes[0] ?? 'UNKNOWN';
    const safeCode = /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'UNKNOWN';
    const base = { status, timings, networkCode: safeCode };

    if (names.includes('TimeoutError')) {
      const event = String((chain.find((e) => (e as { event?: unknown }).event) as { event?: unknown } | undefined)?.event ?? '');
      if (CONNECT_TIMEOUT_EVENTS.has(event)) {
        return new HttpClientError('TIMEOUT', scrub(`Connecting to ${host} timed out after ${cfg.connectTimeoutMs} ms`), {
          ...base,
          phase: 'connect',
        });
      }
      return new HttpClientError('TIMEOUT', scrub(`${host} did not answer in time`), { ...base, phase });
    }
    if (safeCode === 'ERR_TOO_MANY_REDIRECTS') {
      return new HttpClientError('BAD_RESPONSE', scrub(`${host} redirected more than ${cfg.maxRedirects} times`), {
        ...base,
        phase: 'response',
      });
    }
    if (isTlsCode(safeCode)) {
      return new HttpClientError('UNREACHABLE', scrub(`TLS verification of ${host} failed (${safeCode})`), {
        ...base,
        phase: 'connect',
        retryable: false,
      });
    }
    if (DNS_PERMANENT_CODES.has(safeCode)) {
      return new HttpClientError('UNREACHABLE', scrub(`The host name ${p.url.hostname} could not be resolved (${safeCode})`), {
        ...base,
        phase: 'connect',
        retryable: false,
      });
    }
    if (safeCode.startsWith('HPE_')) {
      return new HttpClientError('BAD_RESPONSE', scrub(`${host} sent a malformed HTTP response (${safeCode})`), {
        ...base,
        phase: status === undefined ? 'response' : phase,
      });
    }
    if (safeCode === 'ERR_INVALID_CHAR' || safeCode === 'ERR_INVALID_HTTP_TOKEN' || safeCode === 'ERR_INVALID_URL') {
      return new HttpClientError('CONFIG_INVALID', scrub(`The request to ${host} has an invalid header or URL (${safeCode})`), {
        ...base,
        phase: 'connect',
      });
    }
    const during = phase === 'connect' ? 'connecting to' : phase === 'response' ? 'waiting for' : 'reading the response of';
    return new HttpClientError('UNREACHABLE', scrub(`Network error while ${during} ${host} (${safeCode})`), {
      ...base,
      phase,
      retryable: safeCode === 'UNKNOWN' ? false : undefined,
    });
  };

  const attemptOnce = (p: Prepared, deadline: number, budgetMs: number, signal?: AbortSignal): Promise<RawOutcome> =>
    new Promise<RawOutcome>((resolve, reject) => {
      const start = performance.now();
      let connectedAt: number | undefined;
      let responseAt: number | undefined;
      let reusedSocket = false;
      let status: number | undefined;
      let headers: IncomingHttpHeaders = {};
      let finalUrl = p.url.toString();
      let phase: HttpFailurePhase = 'connect';
      let limit = p.maxBytes;
      let bytes = 0;
      const chunks: Buffer[] = [];
      let settled = false;
      let stream: GotRequest | undefined;

      const timings = (): RequestTimings => {
        const end = performance.now();
        return {
          connectMs: connectedAt !== undefined ? connectedAt - start : null,
          reusedSocket,
          waitMs: connectedAt !== undefined && responseAt !== undefined ? responseAt - connectedAt : null,
          downloadMs: responseAt !== undefined ? end - responseAt : null,
          totalMs: end - start,
        };
      };
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: HttpClientError) => {
        if (settled) return;
        settled = true;
        cleanup();
        stream?.destroy();
        reject(err);
      };
      const succeed = () => {
        if (settled) return;
        settled = true;
        cleanup();
        resolve({ status: status ?? 0, headers, body: Buffer.concat(chunks), url: finalUrl, timings: timings() });
        // A truncated error body leaves the download running: stop it.
        if (!stream?.readableEnded) stream?.destroy();
      };
      const timer = setTimeout(
        () =>
          fail(
            new HttpClientError(
              'TIMEOUT',
              scrubSecrets(
                phase === 'connect'
                  ? `Connecting to ${p.url.host} timed out (call budget ${budgetMs} ms)`
                  : phase === 'response'
                    ? `${p.url.host} did not answer within ${budgetMs} ms`
                    : `${p.url.host} did not finish sending its response within ${budgetMs} ms`,
                p.secrets,
              ),
              { phase, status, timings: timings() },
            ),
          ),
        Math.max(0, deadline - performance.now()),
      );
      const onAbort = () =>
        fail(
          new HttpClientError('TIMEOUT', scrubSecrets(`The request to ${p.url.host} was aborted`, p.secrets), {
            phase,
            status,
            timings: timings(),
            aborted: true,
          }),
        );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });

      try {
        stream = instance.stream(p.url, {
          method: p.method as never,
          headers: p.headers,
          body: p.body,
          context: { egressOrigin: originOf(p.url) },
        });
      } catch (e) {
        return fail(convert(e, p, 'connect', undefined, timings()));
      }
      stream.on('request', (req: ClientRequest) => {
        // Each redirect hop has its own request and socket; the last one is what counts.
        connectedAt = undefined;
        reusedSocket = false;
        phase = 'connect';
        req.once('socket', (socket: Socket) => {
          const mark = () => {
            connectedAt = performance.now();
            if (phase === 'connect') phase = 'response';
          };
          if (!socket.connecting) {
            reusedSocket = true;
            mark();
          } else if (socket instanceof TLSSocket) socket.once('secureConnect', mark);
          else socket.once('connect', mark);
        });
      });
      stream.on('response', (res: http.IncomingMessage & { url?: string }) => {
        responseAt = performance.now();
        if (connectedAt === undefined) connectedAt = responseAt;
        status = res.statusCode ?? 0;
        headers = res.headers;
        finalUrl = res.url ?? finalUrl;
        const ok = status >= 200 && status < 300;
        phase = ok ? 'body' : 'response';
        limit = ok ? p.maxBytes : Math.min(p.maxBytes, ERROR_BODY_LIMIT);
        const declared = Number(res.headers['content-length']);
        if (ok && Number.isFinite(declared) && declared > p.maxBytes) {
          fail(
            new HttpClientError(
              'BAD_RESPONSE',
              scrubSecrets(`${describeUrl(finalUrl)} announced a ${declared}-byte response, over the ${p.maxBytes}-byte limit`, p.secrets),
              { phase: 'body', status, timings: timings() },
            ),
          );
        }
      });
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        bytes += chunk.length;
        if (bytes <= limit) {
          chunks.push(chunk);
          return;
        }
        if (phase !== 'body') return succeed(); // error bodies are only inspected, a prefix will do
        fail(
          new HttpClientError(
            'BAD_RESPONSE',
            scrubSecrets(`The response of ${describeUrl(finalUrl)} exceeded the ${p.maxBytes}-byte limit; download aborted`, p.secrets),
            { phase: 'body', status, timings: timings() },
          ),
        );
      });
      stream.on('end', succeed);
      stream.on('error', (error: unknown) => fail(convert(error, p, phase, status, timings())));
    });

  const parseBody = (raw: RawOutcome, p: Prepared, strict: boolean): unknown => {
    if (p.responseType === 'text') return raw.body.toString('utf8');
    if (raw.body.length === 0 && (p.method === 'HEAD' || raw.status === 204 || raw.status === 304 || !strict)) return null;
    let text = raw.body.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    try {
      return JSON.parse(text);
    } catch {
      // The parser's message quotes the body, which may echo anything: say only where it broke.
      if (!strict) return text;
      throw new HttpClientError('BAD_RESPONSE', scrubSecrets(`The response of ${describeUrl(raw.url)} is not valid JSON`, p.secrets), {
        phase: 'body',
        status: raw.status,
        timings: raw.timings,
      });
    }
  };

  const request = async <T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> => {
    const started = performance.now();
    const p = prepare(req);
    const budgetMs = req.timeoutMs ?? cfg.timeoutMs;
    const deadline = started + budgetMs;
    const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.has(p.method);
    const maxAttempts = idempotent ? 1 + cfg.retries : 1;
    const aborted = () =>
      new HttpClientError('TIMEOUT', scrubSecrets(`The request to ${p.url.host} was aborted`, p.secrets), {
        phase: 'connect',
        aborted: true,
      });
    const wait = async (ms: number) => {
      try {
        await sleep(ms, req.signal);
      } catch {
        throw aborted();
      }
    };
    const fits = (delay: number) => performance.now() + delay < deadline;

    for (let attempt = 1; ; attempt++) {
      let raw: RawOutcome;
      try {
        raw = await attemptOnce(p, deadline, budgetMs, req.signal);
      } catch (e) {
        const err = e as HttpClientError;
        err.attempts = attempt;
        const transient =
          !err.aborted &&
          ((err.code === 'UNREACHABLE' && err.retryable && RETRY_NETWORK_CODES.has(err.networkCode ?? '')) ||
            (err.code === 'TIMEOUT' && err.phase === 'connect' && err.networkCode !== undefined));
        if (transient && attempt < maxAttempts) {
          const delay = backoff(attempt);
          if (fits(delay)) {
            await wait(delay);
            continue;
          }
        }
        throw err;
      }

      const { status } = raw;
      const responseHeaders = raw.headers as Record<string, string | string[] | undefined>;
      if (status >= 200 && status < 300) {
        const body = parseBody(raw, p, true) as T;
        return { status, headers: responseHeaders, body, url: raw.url, latencyMs: performance.now() - started, attempts: attempt, timings: raw.timings };
      }

      const retryAfterMs = RETRY_AFTER_STATUSES.has(status) ? parseRetryAfter(raw.headers['retry-after']) : undefined;
      const statusError = () => errorForStatus(status, raw.url, p.secrets, { retryAfterMs, timings: raw.timings, attempts: attempt });
      if (RETRY_STATUSES.has(status)) {
        if (retryAfterMs !== undefined && retryAfterMs > cfg.maxRetryAfterMs) {
          const err = statusError();
          // 503 with a long Retry-After is a rate limit in all but name.
          if (status === 503) {
            throw new HttpClientError('RATE_LIMITED', err.message, { phase: 'response', status, retryAfterMs, timings: raw.timings, attempts: attempt });
          }
          throw err;
        }
        if (attempt < maxAttempts) {
          const delay = retryAfterMs ?? backoff(attempt);
          if (fits(delay)) {
            await wait(delay);
            continue;
          }
        }
        if (req.throwHttpErrors !== false) throw statusError();
      } else if (req.throwHttpErrors !== false) {
        throw statusError();
      }
      const body = parseBody(raw, p, false) as T;
      return { status, headers: responseHeaders, body, url: raw.url, latencyMs: performance.now() - started, attempts: attempt, timings: raw.timings };
    }
  };

  return {
    // A CLIENT span per call while tracing is on (docs/tracing.md).
    request: (req) => traceUpstreamCall(req, () => request(req)),
    egress: policy,
    scrub: scrubSecrets,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
