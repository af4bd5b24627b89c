/**
 * Authentication schemes applied to a request: API key (header or query parameter), HTTP Basic
 * (RFC 7617), Bearer (RFC 6750) and OAuth 2.0 client credentials (RFC 6749 §4.4) with an
 * in-memory token cache.
 *
 * Every credential value and every access token is added to the request's `secrets`, so the HTTP
 * client scrubs them from any message it builds. Tokens live only in the cache: never in config,
 * results, logs or errors.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ConnectorError } from '../../errors/connector-error.js';
import type { ConnectorErrorCode } from '../../errors/connector-error.js';
import type { AuthType, Credentials } from '../spi.js';
import { HttpClientError, errorForStatus, scrubSecrets } from './client.js';
import type { HttpClient, HttpFailurePhase, HttpRequest, HttpResponse, RequestTimings } from './client.js';

export type OAuthClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** The non-secret settings the schemes read (a subset of a provider's config). */
export interface AuthSettings {
  /** Header carrying the API key; default `X-API-Key`. Ignored when `apiKeyQueryParam` is set. */
  apiKeyHeader?: string;
  /** Send the API key as this query parameter instead of a header. */
  apiKeyQueryParam?: string;
  /** Written before the API key in its header, e.g. `SSWS ` (Okta) or `Splunk ` (Splunk tokens). */
  apiKeyPrefix?: string;
  /** OAuth 2.0 token endpoint. */
  tokenUrl?: string;
  /** OAuth 2.0 scope (space-separated), sent only when set. */
  scope?: string;
  /** OAuth 2.0 client authentication; default `client_secret_basic` (RFC 6749 §2.3.1). */
  tokenAuthMethod?: OAuthClientAuthMethod;
}

export interface AuthInput {
  authType: AuthType;
  credentials: Credentials;
  settings: AuthSettings;
}

/** What the schemes need from the adapter context. */
export interface AuthContext {
  http: HttpClient;
  /** Token cache; the process-wide {@link defaultOAuthTokenCache} when absent. */
  oauthTokens?: OAuthTokenCache;
  onOAuthToken?: (info: { expiresAt: Date | null; failed?: boolean }) => void;
  signal?: AbortSignal;
}

/** Filled by {@link sendAuthorized}/{@link authorize}: time spent obtaining OAuth tokens. */
export interface AuthMetrics {
  tokenMs: number;
  tokenRequests: number;
}

export const DEFAULT_API_KEY_HEADER = 'X-API-Key';

export const REQUIRED_CREDENTIALS: Record<AuthType, string[]> = {
  NONE: [],
  API_KEY: ['apiKey'],
  BASIC: ['username', 'password'],
  BEARER: ['token'],
  OAUTH2_CLIENT_CREDENTIALS: ['clientId', 'clientSecret'],
};

const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Every credential value worth scrubbing, plus derived forms (the Basic header payload). */
export function credentialSecrets(credentials: Credentials | undefined): string[] {
  const values = Object.values(credentials ?? {}).filter((v): v is string => typeof v === 'string' && v.length > 0);
  const out = new Set(values);
  if (credentials?.username !== undefined && credentials.password !== undefined) {
    out.add(Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64'));
  }
  if (credentials?.clientId !== undefined && credentials.clientSecret !== undefined) {
    out.add(Buffer.from(`${formEncode(credentials.clientId)}:${formEncode(credentials.clientSecret)}`, 'utf8').toString('base64'));
  }
  return [...out];
}

/**
 * Checks that the credentials and settings an auth type needs are present and usable, before any
 * request. Returns a CONFIG_INVALID error (naming fields, never values) or null.
 */
export function validateAuth(input: AuthInput): ConnectorError | null {
  const { authType, credentials, settings } = input;
  const required = REQUIRED_CREDENTIALS[authType];
  if (!required) return new ConnectorError('CONFIG_INVALID', `Unsupported auth type ${String(authType)}`);
  const missing = required.filter((k) => typeof credentials?.[k] !== 'string' || credentials[k]!.length === 0);
  if (missing.length > 0) {
    return new ConnectorError('CONFIG_INVALID', `Missing credentials for ${authType}: ${missing.join(', ')}`);
  }
  for (const k of required) {
    if (/[\r\n\0]/.test(credentials[k]!)) return new ConnectorError('CONFIG_INVALID', `Credential ${k} contains control characters`);
  }
  if (authType === 'BASIC' && credentials.username!.includes(':')) {
    return new ConnectorError('CONFIG_INVALID', 'The Basic auth username must not contain ":" (RFC 7617)');
  }
  if (authType === 'API_KEY' && !settings.apiKeyQueryParam) {
    const header = settings.apiKeyHeader ?? DEFAULT_API_KEY_HEADER;
    if (!HEADER_NAME_RE.test(header)) return new ConnectorError('CONFIG_INVALID', 'apiKeyHeader is not a valid HTTP header name');
  }
  if (authType === 'OAUTH2_CLIENT_CREDENTIALS') {
    if (!settings.tokenUrl) return new ConnectorError('CONFIG_INVALID', 'tokenUrl is required for OAuth 2.0 client credentials');
    let url: URL;
    try {
      url = new URL(settings.tokenUrl);
    } catch {
      return new ConnectorError('CONFIG_INVALID', 'tokenUrl is not a valid URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return new ConnectorError('CONFIG_INVALID', 'tokenUrl must be an http(s) URL');
    if (url.username || url.password) return new ConnectorError('CONFIG_INVALID', 'tokenUrl must not contain credentials');
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// OAuth 2.0 token cache

export interface OAuthAccessToken {
  accessToken: string;
  tokenType: 'Bearer';
  /** Epoch milliseconds, or null when the server sent no `expires_in`. */
  expiresAt: number | null;
  scope?: string;
}

/** Identifies a token: the secret takes part only as a keyed hash. */
export interface OAuthTokenKey {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  authMethod?: OAuthClientAuthMethod;
}

export interface OAuthTokenCacheOptions {
  /** Clock in epoch ms (tests inject one). */
  now?: () => number;
  /** Most a token is refreshed ahead of its expiry; the lead is at most 10 % of its lifetime. Default 30 s. */
  refreshSkewMs?: number;
  /** Lifetime assumed when the server sends no `expires_in`. Default 5 min. */
  defaultTtlMs?: number;
  /** Entries kept at most (oldest evicted first). Default 1000. */
  maxEntries?: number;
}

export interface OAuthTokenCache {
  /** A valid cached token for `key`, or the result of `fetch` (concurrent callers share one fetch). */
  getOrFetch(key: OAuthTokenKey, fetch: () => Promise<OAuthAccessToken>): Promise<{ token: OAuthAccessToken; fromCache: boolean }>;
  /** Drops the entry (only if it still holds `accessToken`, when given). */
  invalidate(key: OAuthTokenKey, accessToken?: string): void;
  clear(): void;
  readonly size: number;
  /** Counters for health metrics and tests. */
  readonly stats: { hits: number; fetches: number };
}

interface CacheEntry {
  token: OAuthAccessToken;
  refreshAt: number;
}

/** Creates a token cache; the service holds one per process. */
export function createOAuthTokenCache(options: OAuthTokenCacheOptions = {}): OAuthTokenCache {
  const now = options.now ?? Date.now;
  const skewMax = options.refreshSkewMs ?? 30_000;
  const defaultTtl = options.defaultTtlMs ?? 5 * 60_000;
  const maxEntries = options.maxEntries ?? 1000;
  // Keyed hash with a per-cache key: a heap dump of the map does not allow guessing weak secrets offline.
  const hmacKey = randomBytes(32);
  const entries = new Map<string, CacheEntry>();
  const inflight = new Map<string, Promise<OAuthAccessToken>>();
  const stats = { hits: 0, fetches: 0 };

  const keyOf = (k: OAuthTokenKey): string =>
    JSON.stringify([
      k.tokenUrl,
      k.clientId,
      createHmac('sha256', hmacKey).update(k.clientSecret, 'utf8').digest('base64url'),
      k.scope ?? '',
      k.authMethod ?? 'client_secret_basic',
    ]);

  const store = (id: string, token: OAuthAccessToken) => {
    const t = now();
    const expiresAt = token.expiresAt ?? t + defaultTtl;
    const lifetime = Math.max(0, expiresAt - t);
    const refreshAt = expiresAt - Math.min(skewMax, lifetime * 0.1);
    entries.delete(id);
    entries.set(id, { token, refreshAt });
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
  };

  return {
    async getOrFetch(key, fetch) {
      const id = keyOf(key);
      const hit = entries.get(id);
      if (hit && now() < hit.refreshAt) {
        stats.hits++;
        return { token: hit.token, fromCache: true };
      }
      if (hit) entries.delete(id);
      let pending = inflight.get(id);
      const shared = pending !== undefined;
      if (!pending) {
        stats.fetches++;
        pending = fetch().then(
          (token) => {
            store(id, token);
            return token;
          },
        );
        inflight.set(id, pending);
        const clear = () => inflight.delete(id);
        pending.then(clear, clear);
      }
      const token = await pending;
      return { token, fromCache: shared };
    },
    invalidate(key, accessToken) {
      const id = keyOf(key);
      const hit = entries.get(id);
      if (hit && (accessToken === undefined || hit.token.accessToken === accessToken)) entries.delete(id);
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
    stats,
  };
}

/** The process-wide cache used when the adapter context brings none. */
export const defaultOAuthTokenCache: OAuthTokenCache = createOAuthTokenCache();

/** A failure of the token request itself (as opposed to the resource request). */
export class OAuthTokenError extends HttpClientError {
  /** The RFC 6749 §5.2 error code, when the server sent a well-formed one. */
  readonly oauthError?: string;

  constructor(
    code: ConnectorErrorCode,
    message: string,
    options: { phase: HttpFailurePhase; status?: number; retryable?: boolean; retryAfterMs?: number; timings?: RequestTimings; oauthError?: string },
  ) {
    super(code, message, options);
    this.name = 'OAuthTokenError';
    this.oauthError = options.oauthError;
  }
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * Requests a token with the client credentials grant. Throws {@link OAuthTokenError}: AUTH_FAILED
 * when the server refuses the client (`invalid_client`, `unauthorized_client`, `invalid_grant`,
 * 401/403), CONFIG_INVALID for `invalid_scope`/`unsupported_grant_type`/`invalid_request`, the
 * client's usual mapping otherwise.
 */
export async function requestClientCredentialsToken(
  http: HttpClient,
  key: OAuthTokenKey,
  options: { signal?: AbortSignal; timeoutMs?: number; now?: () => number } = {},
): Promise<OAuthAccessToken> {
  const secrets = credentialSecrets({ clientId: key.clientId, clientSecret: key.clientSecret });
  const form: Record<string, string> = { grant_type: 'client_credentials' };
  if (key.scope) form.scope = key.scope;
  const headers: Record<string, string> = {};
  if ((key.authMethod ?? 'client_secret_basic') === 'client_secret_basic') {
    headers.authorization = `Basic ${Buffer.from(`${formEncode(key.clientId)}:${formEncode(key.clientSecret)}`, 'utf8').toString('base64')}`;
  } else {
    form.client_id = key.clientId;
    form.client_secret = key.clientSecret;
  }
  const host = (() => {
    try {
      return new URL(key.tokenUrl).host;
    } catch {
      return 'the token endpoint';
    }
  })();
  const scrub = (m: string) => scrubSecrets(m, secrets);

  let res: HttpResponse<unknown>;
  try {
    res = await http.request<unknown>({
      method: 'POST',
      url: key.tokenUrl,
      form,
      headers,
      secrets,
      // Asking for a client-credentials token again has no side effect worth protecting.
      idempotent: true,
      throwHttpErrors: false,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      maxResponseBytes: 64 * 1024,
    });
  } catch (e) {
    const err = e as HttpClientError;
    throw new OAuthTokenError(err.code, scrub(`Token request to ${host} failed: ${err.message}`), {
      phase: err.phase ?? 'connect',
      status: err.status,
      retryable: err.retryable,
      retryAfterMs: err.retryAfterMs,
      timings: err.timings,
    });
  }

  const body = (res.body && typeof res.body === 'object' ? res.body : {}) as Record<string, unknown>;
  if (res.status < 200 || res.status >= 300) {
    const raw = typeof body.error === 'string' ? body.error : undefined;
    const oauthError = raw && /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(raw) ? raw : undefined;
    const base = { phase: 'response' as const, status: res.status, timings: res.timings, oauthError };
    if (oauthError === 'invalid_client' || oauthError === 'unauthorized_client' || oauthError === 'invalid_grant' || res.status === 401 || res.status === 403) {
      throw new OAuthTokenError(
        'AUTH_FAILED',
        scrub(`The authorization server ${host} rejected the client credentials (${oauthError ?? `HTTP ${res.status}`})`),
        { ...base, retryable: false },
      );
    }
    if (oauthError === 'invalid_scope' || oauthError === 'unsupported_grant_type' || oauthError === 'invalid_request') {
      throw new OAuthTokenError('CONFIG_INVALID', scrub(`The authorization server ${host} refused the token request (${oauthError})`), {
        ...base,
        retryable: false,
      });
    }
    const mapped = errorForStatus(res.status, key.tokenUrl, secrets, { timings: res.timings });
    throw new OAuthTokenError(mapped.code, scrub(`Token request failed: ${mapped.message}`), {
      ...base,
      retryable: mapped.retryable,
      retryAfterMs: mapped.retryAfterMs,
    });
  }

  const accessToken = body.access_token;
  const tokenType = typeof body.token_type === 'string' ? body.token_type : 'Bearer';
  if (typeof accessToken !== 'string' || accessToken.length === 0 || /[\s\0]/.test(accessToken)) {
    throw new OAuthTokenError('BAD_RESPONSE', scrub(`The token response of ${host} has no usable access_token`), {
      phase: 'body',
      status: res.status,
      timings: res.timings,
    });
  }
  if (tokenType.toLowerCase() !== 'bearer') {
    throw new OAuthTokenError('BAD_RESPONSE', scrub(`The token endpoint ${host} issued an unsupported token type`), {
      phase: 'body',
      status: res.status,
      timings: res.timings,
    });
  }
  const expiresIn = typeof body.expires_in === 'string' ? Number(body.expires_in) : body.expires_in;
  const now = options.now ?? Date.now;
  return {
    accessToken,
    tokenType: 'Bearer',
    expiresAt: typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? now() + expiresIn * 1000 : null,
    scope: typeof body.scope === 'string' ? body.scope : key.scope,
  };
}

function oauthKey(input: AuthInput): OAuthTokenKey {
  return {
    tokenUrl: input.settings.tokenUrl!,
    clientId: input.credentials.clientId!,
    clientSecret: input.credentials.clientSecret!,
    scope: input.settings.scope || undefined,
    authMethod: input.settings.tokenAuthMethod ?? 'client_secret_basic',
  };
}

/** A request ready to send, and for OAuth the token it carries (to invalidate on a 401). */
export interface AuthorizedRequest {
  request: HttpRequest & { secrets: string[] };
  oauth?: { key: OAuthTokenKey; token: OAuthAccessToken; fromCache: boolean };
}

/**
 * Applies the scheme to a copy of `req` (headers, query) and extends its `secrets`. For OAuth 2.0
 * this obtains a token (cache first) and reports its expiry through `ctx.onOAuthToken` on every
 * use, cached or fresh (two connectors may share one cached token). Throws
 * CONFIG_INVALID for missing credentials and {@link OAuthTokenError} for token failures.
 */
export async function authorize(ctx: AuthContext, input: AuthInput, req: HttpRequest, metrics?: AuthMetrics): Promise<AuthorizedRequest> {
  const invalid = validateAuth(input);
  if (invalid) throw invalid;
  const { authType, credentials, settings } = input;
  const secrets = [...(req.secrets ?? []), ...credentialSecrets(credentials)];
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  const searchParams: Record<string, string | number> = { ...(req.searchParams ?? {}) };
  let oauth: AuthorizedRequest['oauth'];

  switch (authType) {
    case 'NONE':
      break;
    case 'API_KEY':
      if (settings.apiKeyQueryParam) searchParams[settings.apiKeyQueryParam] = credentials.apiKey!;
      else headers[settings.apiKeyHeader ?? DEFAULT_API_KEY_HEADER] = `${settings.apiKeyPrefix ?? ''}${credentials.apiKey!}`;
      break;
    case 'BASIC': {
      const encoded = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
      headers.authorization = `Basic ${encoded}`;
      break;
    }
    case 'BEARER':
      headers.authorization = `Bearer ${credentials.token}`;
      break;
    case 'OAUTH2_CLIENT_CREDENTIALS': {
      const key = oauthKey(input);
      const cache = ctx.oauthTokens ?? defaultOAuthTokenCache;
      const t0 = performance.now();
      let fetched = false;
      let result: Awaited<ReturnType<OAuthTokenCache['getOrFetch']>>;
      try {
        result = await cache.getOrFetch(key, () => {
          fetched = true;
          return requestClientCredentialsToken(ctx.http, key, { signal: ctx.signal ?? req.signal, timeoutMs: req.timeoutMs });
        });
      } catch (e) {
        // Refused (not unreachable): the connector's client credentials need a refresh.
        if (e instanceof OAuthTokenError && (e.code === 'AUTH_FAILED' || e.code === 'CONFIG_INVALID')) ctx.onOAuthToken?.({ expiresAt: null, failed: true });
        throw e;
      } finally {
        if (metrics) {
          metrics.tokenMs += performance.now() - t0;
          if (fetched) metrics.tokenRequests++;
        }
      }
      ctx.onOAuthToken?.({ expiresAt: result.token.expiresAt === null ? null : new Date(result.token.expiresAt) });
      secrets.push(result.token.accessToken);
      headers.authorization = `Bearer ${result.token.accessToken}`;
      oauth = { key, token: result.token, fromCache: result.fromCache };
      break;
    }
    default:
      throw new ConnectorError('CONFIG_INVALID', `Unsupported auth type ${String(authType)}`);
  }
  return { request: { ...req, headers, searchParams, secrets }, oauth };
}

/**
 * Sends `req` with the connector's authentication; the result carries the secrets the request
 * used (credentials, access token) so callers can redact them from what they keep. With OAuth 2.0, a 401 from the resource for a
 * cached token drops that token and retries once with a fresh one (a token rejected right after
 * issue is a configuration problem, not staleness, and is not retried).
 */
export async function sendAuthorized<T = unknown>(
  ctx: AuthContext,
  input: AuthInput,
  req: HttpRequest,
  metrics?: AuthMetrics,
): Promise<HttpResponse<T> & { secrets: string[] }> {
  const first = await authorize(ctx, input, req, metrics);
  try {
    const res = await ctx.http.request<T>(first.request);
    return { ...res, secrets: first.request.secrets };
  } catch (e) {
    const stale = first.oauth && e instanceof HttpClientError && e.status === 401;
    if (!stale) throw e;
    (ctx.oauthTokens ?? defaultOAuthTokenCache).invalidate(first.oauth!.key, first.oauth!.token.accessToken);
    if (!first.oauth!.fromCache) throw e;
    const second = await authorize(ctx, input, req, metrics);
    const res = await ctx.http.request<T>(second.request);
    return { ...res, secrets: second.request.secrets };
  }
}
