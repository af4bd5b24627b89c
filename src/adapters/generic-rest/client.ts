/**
 * Requests of the `generic_rest` provider: one page at a time, authenticated, with the next page
 * taken from `Link: <...>; rel="next"`.
 */
import { ConnectorError } from '../../errors/connector-error.js';
import type { AdapterContext, ConnectionInput } from '../spi.js';
import { credentialSecrets, sendAuthorized } from '../http/auth.js';
import type { AuthInput, AuthMetrics } from '../http/auth.js';
import type { HttpResponse } from '../http/client.js';
import { scrubSecrets } from '../http/client.js';
import { assertUrlAllowed } from '../http/egress.js';
import { nextLinkFromHeaders } from '../http/link.js';
import { authSettings } from './config.js';
import type { GenericRestConfig } from './config.js';

export interface PageResult {
  response: HttpResponse<unknown>;
  /** The next page, already checked by {@link assertPageUrlAllowed} and stripped of the API key. */
  nextUrl: string | null;
  /** Secret values of this request (credentials, access token) to redact from records. */
  recordSecrets: string[];
}

export function authInput(cfg: GenericRestConfig, input: ConnectionInput): AuthInput {
  return { authType: input.authType, credentials: input.credentials ?? {}, settings: authSettings(cfg) };
}

/**
 * Refuses a page URL the connector must not call: a destination refused by the egress guard, or
 * — when credentials are sent — any origin other than `baseUrl`'s, so an upstream cannot make the
 * connector hand its credentials to another host. Both are EGRESS_DENIED.
 */
export function assertPageUrlAllowed(ctx: AdapterContext, cfg: Pick<GenericRestConfig, 'baseUrl'>, input: ConnectionInput, url: string): void {
  const secrets = credentialSecrets(input.credentials);
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new ConnectorError('BAD_RESPONSE', 'The next-page link is not a valid URL');
  }
  try {
    assertUrlAllowed(ctx.http.egress, target);
  } catch (e) {
    const err = e as ConnectorError;
    throw new ConnectorError(err.code, scrubSecrets(`Next-page link refused: ${err.message}`, secrets));
  }
  const base = new URL(cfg.baseUrl);
  if (input.authType !== 'NONE' && target.origin !== base.origin) {
    throw new ConnectorError(
      'EGRESS_DENIED',
      scrubSecrets(`Next-page link refused: it points to ${target.host}, but credentials are only sent to ${base.host}`, secrets),
    );
  }
}

/** Removes what must not be stored in a cursor: the API key query parameter and userinfo. */
export function sanitizeCursorUrl(url: string, cfg: Pick<GenericRestConfig, 'apiKeyQueryParam'>, input: ConnectionInput): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  if (cfg.apiKeyQueryParam) u.searchParams.delete(cfg.apiKeyQueryParam);
  const secrets = new Set(credentialSecrets(input.credentials));
  for (const [k, v] of [...u.searchParams]) if (secrets.has(v)) u.searchParams.delete(k);
  return u.toString();
}

/** Fetches one page (its URL already checked) and, unless `followLinks` is false, checks and returns the next one. */
export async function fetchPage(
  ctx: AdapterContext,
  cfg: GenericRestConfig,
  input: ConnectionInput,
  url: string,
  options: { metrics?: AuthMetrics; followLinks?: boolean } = {},
): Promise<PageResult> {
  const auth = authInput(cfg, input);
  const response = await sendAuthorized<unknown>(ctx, auth, { url, timeoutMs: cfg.timeoutMs, signal: ctx.signal }, options.metrics);
  const identifiers = new Set([input.credentials?.username, input.credentials?.clientId].filter(Boolean));
  const recordSecrets = response.secrets.filter((s) => !identifiers.has(s));
  const link = options.followLinks === false ? null : nextLinkFromHeaders(response.headers, response.url);
  let nextUrl: string | null = null;
  if (link) {
    assertPageUrlAllowed(ctx, cfg, input, link);
    nextUrl = sanitizeCursorUrl(link, cfg, input);
  }
  return { response, nextUrl, recordSecrets };
}
