/**
 * Next-page URLs an upstream hands back (RFC 8288 links, next URLs in the body): where a connector
 * may follow them, and what of them may be kept in a cursor.
 */
import { ConnectorError } from '../../errors/connector-error.js';
import type { AdapterContext, ConnectionInput } from '../spi.js';
import { credentialSecrets } from '../http/auth.js';
import { scrubSecrets } from '../http/client.js';
import { assertUrlAllowed } from '../http/egress.js';

/**
 * Refuses a page URL the connector must not call: a destination refused by the egress guard, or
 * — when credentials are sent — any origin other than `baseUrl`'s, so an upstream cannot make the
 * connector hand its credentials to another host. Both are EGRESS_DENIED.
 */
export function assertPageUrlAllowed(ctx: AdapterContext, cfg: { baseUrl: string }, input: ConnectionInput, url: string): void {
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
export function sanitizeCursorUrl(url: string, cfg: { apiKeyQueryParam?: string }, input: ConnectionInput): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  if (cfg.apiKeyQueryParam) u.searchParams.delete(cfg.apiKeyQueryParam);
  const secrets = new Set(credentialSecrets(input.credentials));
  for (const [k, v] of [...u.searchParams]) if (secrets.has(v)) u.searchParams.delete(k);
  return u.toString();
}

