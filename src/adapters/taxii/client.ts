/**
 * TAXII 2.1 requests (OASIS TAXII Version 2.1): every request sends `Accept:
 * application/taxii+json;version=2.1` (§1.6.8), authenticates with the connector's scheme
 * (through the shared `authorize`: Basic, API key, Bearer, OAuth 2.0 client credentials with the
 * token cache), and turns a non-2xx answer into a `ConnectorError` that carries the server's error
 * message resource (§3.6.1: `title`, `description`, `http_status`, `error_code`), scrubbed.
 *
 * 429 and 503 with `Retry-After` are waited out by the shared HTTP client when short; a longer
 * wait fails RATE_LIMITED with `retryAfterMs`.
 */
import { ConnectorError } from '../../errors/connector-error.js';
import { authorize } from '../http/auth.js';
import type { AuthInput, AuthMetrics } from '../http/auth.js';
import { HttpClientError, parseRetryAfter, scrubSecrets } from '../http/client.js';
import type { HttpResponse } from '../http/client.js';
import { defaultOAuthTokenCache } from '../http/auth.js';
import type { AdapterContext, ConnectionInput } from '../spi.js';
import { TAXII_MEDIA_TYPE } from './config.js';
import type { TaxiiConfig } from './config.js';

/** Which TAXII resource a request was for (it decides what a 404 means). */
export type TaxiiResource = 'discovery' | 'api-root' | 'collections' | 'collection' | 'objects';

/** Responses larger than this are refused (pages of objects are bounded by `limit`). */
export const TAXII_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** A TAXII error answer (or an answer a TAXII client cannot use), with the server's error message. */
export class TaxiiError extends HttpClientError {
  /** §3.6.1 `title` (scrubbed, one line), when the server sent an error message resource. */
  readonly taxiiTitle?: string;
  /** Set when the request carried a `next` token (a 400/404 then usually means it expired). */
  readonly withNext: boolean;
  constructor(
    code: ConstructorParameters<typeof HttpClientError>[0],
    message: string,
    options: ConstructorParameters<typeof HttpClientError>[2] & { resource: TaxiiResource; taxiiTitle?: string; withNext?: boolean; remediation?: string },
  ) {
    super(code, message, options);
    this.name = 'TaxiiError';
    this.resource = options.resource;
    this.taxiiTitle = options.taxiiTitle;
    this.withNext = options.withNext ?? false;
    this.remediation = options.remediation;
  }
  readonly resource: TaxiiResource;
  /** A remediation the adapter knows better than the table (e.g. the collections there are). */
  readonly remediation?: string;
}

export function authInput(cfg: TaxiiConfig, input: ConnectionInput): AuthInput {
  return {
    authType: input.authType,
    credentials: input.credentials ?? {},
    settings: {
      apiKeyHeader: cfg.apiKeyHeader,
      apiKeyPrefix: cfg.apiKeyPrefix,
      tokenUrl: cfg.tokenUrl,
      scope: cfg.scope,
      tokenAuthMethod: cfg.tokenAuthMethod,
    },
  };
}

/** One line, bounded, scrubbed: safe to put in a message. */
function clean(value: unknown, secrets: readonly string[], max = 300): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, max);
  return text ? scrubSecrets(text, secrets) : undefined;
}

function header(headers: HttpResponse['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface TaxiiResponse<T = unknown> extends HttpResponse<T> {
  secrets: string[];
}

export interface TaxiiRequest {
  url: string;
  resource: TaxiiResource;
  searchParams?: Record<string, string | number>;
  metrics?: AuthMetrics;
}

/**
 * GET a TAXII resource. A 401 for a cached OAuth 2.0 token drops it and retries once with a new
 * one. Throws {@link TaxiiError} for an error answer, HttpClientError for transport failures.
 */
export async function taxiiGet<T = unknown>(ctx: AdapterContext, cfg: TaxiiConfig, input: ConnectionInput, req: TaxiiRequest): Promise<TaxiiResponse<T>> {
  const auth = authInput(cfg, input);
  const base = {
    url: req.url,
    headers: { accept: TAXII_MEDIA_TYPE },
    searchParams: req.searchParams,
    signal: ctx.signal,
    timeoutMs: cfg.timeoutMs,
    maxResponseBytes: TAXII_MAX_RESPONSE_BYTES,
    throwHttpErrors: false,
  };
  let authorized = await authorize(ctx, auth, base, req.metrics);
  let res = await ctx.http.request<unknown>(authorized.request);
  if (res.status === 401 && authorized.oauth) {
    (ctx.oauthTokens ?? defaultOAuthTokenCache).invalidate(authorized.oauth.key, authorized.oauth.token.accessToken);
    if (authorized.oauth.fromCache) {
      authorized = await authorize(ctx, auth, base, req.metrics);
      res = await ctx.http.request<unknown>(authorized.request);
    }
  }
  const secrets = authorized.request.secrets;
  if (res.status >= 200 && res.status < 300) {
    const type = (header(res.headers, 'content-type') ?? '').toLowerCase();
    if (type && !type.includes('application/taxii+json') && !type.includes('application/json')) {
      throw new TaxiiError('BAD_RESPONSE', scrubSecrets(`${new URL(req.url).host} answered ${clean(type, secrets, 80)}, not ${TAXII_MEDIA_TYPE}: is baseUrl a TAXII 2.1 server?`, secrets), {
        phase: 'body',
        status: res.status,
        timings: res.timings,
        attempts: res.attempts,
        resource: req.resource,
      });
    }
    if (res.body === null || typeof res.body !== 'object' || Array.isArray(res.body)) {
      throw new TaxiiError('BAD_RESPONSE', `${new URL(req.url).host} did not answer with a TAXII 2.1 resource (a JSON object)`, {
        phase: 'body',
        status: res.status,
        timings: res.timings,
        attempts: res.attempts,
        resource: req.resource,
      });
    }
    return { ...(res as HttpResponse<T>), secrets };
  }
  throw errorOf(res, req, secrets);
}

/** The ConnectorError of a TAXII error answer (§3.6.1 error message resource in the body, when sent). */
function errorOf(res: HttpResponse<unknown>, req: TaxiiRequest, secrets: readonly string[]): TaxiiError {
  const host = new URL(req.url).host;
  const body = res.body && typeof res.body === 'object' && !Array.isArray(res.body) ? (res.body as Record<string, unknown>) : {};
  const title = clean(body.title, secrets);
  const description = clean(body.description, secrets);
  const errorCode = clean(body.error_code, secrets, 64);
  const said = title ? `: ${title}${description ? ` (${description})` : ''}${errorCode ? ` [${errorCode}]` : ''}` : '';
  const status = res.status;
  const withNext = req.searchParams?.next !== undefined;
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(header(res.headers, 'retry-after')) : undefined;
  const opts = { phase: 'response' as const, status, timings: res.timings, attempts: res.attempts, resource: req.resource, taxiiTitle: title, withNext, retryAfterMs };
  const what = { discovery: 'the discovery resource', 'api-root': 'the API root', collections: 'the collections', collection: 'the collection', objects: 'the objects of the collection' }[req.resource];
  const mk = (code: ConnectorError['code'], message: string, retryable: boolean) => new TaxiiError(code, scrubSecrets(message, secrets), { ...opts, retryable });
  switch (status) {
    case 401:
      return mk('AUTH_FAILED', `The TAXII server ${host} refused the credentials (HTTP 401${said})`, false);
    case 403:
      return mk('AUTH_FAILED', `The TAXII server ${host} denied access to ${what} (HTTP 403${said})`, false);
    case 404:
      return mk('CONFIG_INVALID', `The TAXII server ${host} has no ${what} at ${new URL(req.url).pathname} (HTTP 404${said})`, false);
    case 406:
      return mk('CONFIG_INVALID', `The server ${host} does not serve ${TAXII_MEDIA_TYPE} (HTTP 406${said})`, false);
    case 400:
    case 416:
    case 422:
      return mk('CONFIG_INVALID', `The TAXII server ${host} refused the request for ${what} (HTTP ${status}${said})`, false);
    case 429:
      return mk('RATE_LIMITED', `The TAXII server ${host} is rate limiting requests (HTTP 429${said})`, true);
    case 408:
      return mk('TIMEOUT', `The TAXII server ${host} timed out the request (HTTP 408${said})`, true);
    default:
      if (status >= 500) return mk('UNREACHABLE', `The TAXII server ${host} is failing (HTTP ${status}${said})`, true);
      return mk('BAD_RESPONSE', `The TAXII server ${host} answered an unexpected HTTP ${status}${said}`, false);
  }
}

/** The TAXII headers of an objects page (§5.3): dates of the first and last object in it. */
export function dateAdded(res: HttpResponse<unknown>): { first?: string; last?: string } {
  return { first: header(res.headers, 'x-taxii-date-added-first'), last: header(res.headers, 'x-taxii-date-added-last') };
}

/** The message of an error, safe to keep. */
export function asConnectorError(error: unknown, secrets: readonly string[]): ConnectorError {
  if (error instanceof ConnectorError) return error;
  return new ConnectorError('UNREACHABLE', scrubSecrets('Unexpected failure while talking to the TAXII server', secrets), { retryable: true });
}
