/**
 * `oauthTokenExpiresAt` / `oauthRefreshNeeded` follow every OAuth 2.0 token the service obtains or
 * fails to obtain for a connector, whoever asked (a test, a health check, an ingestion run).
 * Observed state: it does not bump the connector's version and is not audited.
 */
import type { OAuthTokenInfo } from '../../adapters/spi.js';

interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** Collects what token requests reported during one adapter call; the last word wins. */
export class OAuthObserver {
  last: OAuthTokenInfo | null = null;
  readonly listener = (info: OAuthTokenInfo): void => {
    this.last = info;
  };
}

/** Writes the connector's token state from what was observed; nothing when no token was involved. */
export async function recordOAuthState(db: Queryable, connectorId: string, info: OAuthTokenInfo | null): Promise<void> {
  if (!info) return;
  if (info.failed) {
    await db.query('UPDATE connectors SET oauth_refresh_needed = true WHERE id = $1 AND NOT oauth_refresh_needed', [connectorId]);
    return;
  }
  await db.query(
    `UPDATE connectors SET oauth_token_expires_at = $2, oauth_refresh_needed = false
      WHERE id = $1 AND (oauth_token_expires_at IS DISTINCT FROM $2 OR oauth_refresh_needed)`,
    [connectorId, info.expiresAt],
  );
}
