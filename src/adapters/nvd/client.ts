/**
 * Requests of the `nvd` provider: one page of `GET {baseUrl}/rest/json/cves/2.0` at a time,
 * through the shared HTTP client, behind the per-caller rate limiter, with NVD's failure quirks
 * mapped onto ConnectorError codes:
 *
 * | NVD answer                                  | code           | handling |
 * |---------------------------------------------|----------------|----------|
 * | 403 (NVD's rate-limit answer), 429, 503     | RATE_LIMITED   | backoff (Retry-After when sent), limiter paused, retried |
 * | 404 with `message: Invalid apiKey.`         | AUTH_FAILED    | not retried |
 * | 404 with another `message` header           | CONFIG_INVALID | not retried; the message is NVD's reason |
 * | 500, 502, 504, reset/refused connections    | the client's   | backoff, retried |
 * | anything else                               | the client's mapping (`errorForStatus`) |
 *
 * The client's own retries are switched off (`idempotent: false`) so that every attempt, retries
 * included, takes a limiter slot: a retry NVD counts but the limiter does not would break the
 * budget for every other caller sharing the key.
 */
import { performance } from 'node:perf_hooks';
import { ConnectorError } from '../../errors/connector-error.js';
import type { AdapterContext, ConnectionInput } from '../spi.js';
import { authorize } from '../http/auth.js';
import type { AuthInput } from '../http/auth.js';
import { HttpClientError, errorForStatus, parseRetryAfter, scrubSecrets } from '../http/client.js';
import type { HttpResponse } from '../http/client.js';
import { cveEndpoint } from './config.js';
import type { NvdConfig } from './config.js';
import type { NvdLimiterRegistry, SlidingWindowLimiter } from './limiter.js';
import { NVD_API_KEY_HEADER } from './types.js';
import type { NvdCveQuery, NvdCveResponse } from './types.js';

const MiB = 1024 * 1024;
/** A page of 2000 CVEs with configurations runs to tens of megabytes; the client's 10 MiB default is too small. */
export const NVD_MAX_RESPONSE_BYTES = 128 * MiB;
const RATE_LIMIT_STATUSES = new Set([403, 429, 503]);
const TRANSIENT_STATUSES = new Set([500, 502, 504]);
const INVALID_KEY_MESSAGE = /invalid\s*api\s*key/i;

/** Backoff after a rate-limit or transient answer. */
export interface NvdRetryOptions {
  /** Attempts per page, the first included. Default 4. */
  attempts: number;
  /** First delay; doubles per attempt (plus up to 25 % jitter). Default 6 s, the pause NVD recommends between requests. */
  baseDelayMs: number;
  /** Longest delay, and the longest `Retry-After` waited for (a longer one fails at once). Default 60 s. */
  maxDelayMs: number;
}

export const NVD_RETRY_DEFAULTS: Readonly<NvdRetryOptions> = Object.freeze({ attempts: 4, baseDelayMs: 6_000, maxDelayMs: 60_000 });

/** What the requests share beyond the adapter context: the limiters and the backoff policy. */
export interface NvdClientDeps {
  limiters: NvdLimiterRegistry;
  retry: NvdRetryOptions;
}

export interface NvdPage {
  /** The final (2xx) response; `body` is the validated page. */
  response: HttpResponse<NvdCveResponse>;
  /** Attempts made for this page (limiter-counted requests). */
  attempts: number;
  /** Time spent waiting for limiter slots and backoff, in milliseconds. */
  waitedMs: number;
  /** Credential values of the request, for redaction of what is kept. */
  secrets: string[];
}

/** A 2xx answer that is not a CVE API 2.0 page (check: VALIDATE_FORMAT, not SAMPLE_QUERY). */
export class NvdFormatError extends HttpClientError {
  constructor(message: string, options: ConstructorParameters<typeof HttpClientError>[2]) {
    super('BAD_RESPONSE', message, options);
    this.name = 'NvdFormatError';
  }
}

export function nvdAuthInput(input: ConnectionInput): AuthInput {
  return { authType: input.authType, credentials: input.credentials ?? {}, settings: { apiKeyHeader: NVD_API_KEY_HEADER } };
}

/** The API key actually sent (null for NONE), which selects the limiter. */
export function sentApiKey(input: ConnectionInput): string | null {
  return input.authType === 'API_KEY' ? (input.credentials?.apiKey ?? null) : null;
}

export function limiterFor(deps: NvdClientDeps, cfg: NvdConfig, input: ConnectionInput): SlidingWindowLimiter {
  return deps.limiters.limiterFor(cfg.baseUrl, sentApiKey(input));
}

/** The query parameters of a CVE query, without the unset ones. */
export function searchParams(query: NvdCveQuery): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === false) continue;
    out[k] = v === true ? '' : (v as string | number);
  }
  return out;
}

export type PageCheck = { ok: true; page: NvdCveResponse } | { ok: false; message: string };

/** Checks the CVE API envelope: `totalResults`, `startIndex` and a `vulnerabilities` array of `{ cve: { id } }`. */
export function validateCvePage(body: unknown): PageCheck {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, message: 'Expected an NVD CVE API 2.0 response object' };
  }
  const page = body as Partial<NvdCveResponse>;
  if (!Array.isArray(page.vulnerabilities)) return { ok: false, message: 'The NVD response has no vulnerabilities array' };
  if (typeof page.totalResults !== 'number' || !Number.isInteger(page.totalResults) || page.totalResults < 0) {
    return { ok: false, message: 'The NVD response has no valid totalResults' };
  }
  if (page.startIndex !== undefined && (typeof page.startIndex !== 'number' || !Number.isInteger(page.startIndex) || page.startIndex < 0)) {
    return { ok: false, message: 'The NVD response has an invalid startIndex' };
  }
  for (let i = 0; i < page.vulnerabilities.length; i++) {
    const item = page.vulnerabilities[i] as unknown as { cve?: { id?: unknown } } | null;
    const cve = item && typeof item === 'object' ? item.cve : undefined;
    if (!cve || typeof cve !== 'object' || Array.isArray(cve) || typeof cve.id !== 'string' || cve.id.length === 0) {
      return { ok: false, message: `vulnerabilities[${i}] is not an object with a cve.id` };
    }
  }
  return { ok: true, page: page as NvdCveResponse };
}

function header(headers: HttpResponse['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** NVD's `message` header, made safe to show: one line, bounded, scrubbed. */
function upstreamMessage(headers: HttpResponse['headers'], secrets: readonly string[]): string | undefined {
  const raw = header(headers, 'message');
  if (!raw) return undefined;
  const text = raw.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 300);
  return text ? scrubSecrets(text, secrets) : undefined;
}

function aborted(host: string): HttpClientError {
  return new HttpClientError('TIMEOUT', `The request to ${host} was aborted`, { phase: 'connect', aborted: true });
}

function sleep(ms: number, signal: AbortSignal | undefined, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted(host));
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted(host));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function backoff(retry: NvdRetryOptions, attempt: number): number {
  const exp = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.min(retry.maxDelayMs, Math.round(exp + Math.random() * exp * 0.25));
}

/** Transport failures worth another attempt (the client's retry rule, which is off here). */
function transient(e: HttpClientError): boolean {
  if (e.aborted || !e.retryable) return false;
  if (e.code === 'UNREACHABLE' && e.status === undefined) return e.networkCode !== undefined && e.networkCode !== 'UNKNOWN';
  return e.code === 'TIMEOUT' && e.phase === 'connect' && e.networkCode !== undefined;
}

/**
 * Fetches one page of CVEs. Waits for a limiter slot before every attempt; backs off on NVD's
 * rate-limit answers (pausing the shared limiter, so other callers of the same key wait too) and
 * on transient failures. Throws {@link HttpClientError} (scrubbed) or a TIMEOUT ConnectorError
 * when `ctx.signal` aborts while waiting.
 */
export async function fetchCvePage(ctx: AdapterContext, deps: NvdClientDeps, cfg: NvdConfig, input: ConnectionInput, query: NvdCveQuery): Promise<NvdPage> {
  const url = cveEndpoint(cfg);
  const host = new URL(url).host;
  const signal = ctx.signal;
  const { request } = await authorize(ctx, nvdAuthInput(input), {
    url,
    searchParams: searchParams(query),
    signal,
    timeoutMs: cfg.timeoutMs,
    maxResponseBytes: NVD_MAX_RESPONSE_BYTES,
    throwHttpErrors: false,
    idempotent: false,
  });
  const secrets = request.secrets;
  const limiter = limiterFor(deps, cfg, input);
  const attempts = Math.max(1, deps.retry.attempts);
  let waitedMs = 0;

  for (let attempt = 1; ; attempt++) {
    const w0 = performance.now();
    const release = await limiter.acquire(signal);
    waitedMs += performance.now() - w0;
    let res: HttpResponse<unknown>;
    try {
      res = await ctx.http.request<unknown>(request);
    } catch (e) {
      if (e instanceof HttpClientError) {
        e.attempts = attempt;
        if (transient(e) && attempt < attempts) {
          release();
          const delay = backoff(deps.retry, attempt);
          const s0 = performance.now();
          await sleep(delay, signal, host);
          waitedMs += performance.now() - s0;
          continue;
        }
      }
      throw e;
    } finally {
      release();
    }

    const { status } = res;
    if (status >= 200 && status < 300) {
      const valid = validateCvePage(res.body);
      if (!valid.ok) {
        throw new NvdFormatError(scrubSecrets(`${host}: ${valid.message}`, secrets), {
          phase: 'body',
          status,
          timings: res.timings,
          attempts: attempt,
        });
      }
      return { response: { ...res, body: valid.page, attempts: attempt }, attempts: attempt, waitedMs, secrets };
    }

    const message = upstreamMessage(res.headers, secrets);
    const base = { phase: 'response' as const, status, timings: res.timings, attempts: attempt };
    if (status === 404 && message) {
      if (INVALID_KEY_MESSAGE.test(message)) {
        throw new HttpClientError('AUTH_FAILED', `NVD (${host}) rejected the API key (HTTP 404: ${message})`, { ...base, retryable: false });
      }
      throw new HttpClientError('CONFIG_INVALID', `NVD (${host}) refused the request (HTTP 404): ${message}`, { ...base, retryable: false });
    }

    if (RATE_LIMIT_STATUSES.has(status)) {
      const retryAfterMs = parseRetryAfter(header(res.headers, 'retry-after'));
      const tooLong = retryAfterMs !== undefined && retryAfterMs > deps.retry.maxDelayMs;
      if (attempt < attempts && !tooLong) {
        const delay = retryAfterMs ?? backoff(deps.retry, attempt);
        // Everyone sharing this key backs off, not only this request.
        limiter.pause(delay);
        continue;
      }
      const wait = retryAfterMs ?? deps.limiters.limits.windowMs;
      const reason = message ? `: ${message}` : '';
      throw new HttpClientError(
        'RATE_LIMITED',
        `NVD (${host}) is rate limiting requests (HTTP ${status}${reason}) after ${attempt} attempt${attempt === 1 ? '' : 's'}`,
        { ...base, retryable: true, retryAfterMs: wait },
      );
    }

    if (TRANSIENT_STATUSES.has(status) && attempt < attempts) {
      const s0 = performance.now();
      await sleep(backoff(deps.retry, attempt), signal, host);
      waitedMs += performance.now() - s0;
      continue;
    }
    throw errorForStatus(status, res.url, secrets, { timings: res.timings, attempts: attempt });
  }
}

/** A ConnectorError for anything unexpected, scrubbed (never the original message). */
export function asConnectorError(error: unknown, secrets: readonly string[]): ConnectorError {
  if (error instanceof ConnectorError) return error;
  return new ConnectorError('UNREACHABLE', scrubSecrets('Unexpected failure while talking to NVD', secrets), { retryable: true });
}
