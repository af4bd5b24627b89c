/**
 * `oauthTokenExpiresAt` / `oauthRefreshNeeded` follow every OAuth 2.0 token the service obtains or
 * fails to obtain for a connector, whoever asked (a test, a health check, an ingestion run).
 * Observed state: it does not bump the connector's version and is not audited.
 */
import type { DataSource } from 'typeorm';
import type { OAuthTokenInfo } from '../../adapters/spi.js';
import { connectorRefOfRow, type Notify } from '../notifications/notification.events.js';

/** Collects what token requests reported during one adapter call; the last word wins. */
export class OAuthObserver {
  last: OAuthTokenInfo | null = null;
  readonly listener = (info: OAuthTokenInfo): void => {
    this.last = info;
  };
}

/**
 * Writes the connector's token state from what was observed; nothing when no token was involved.
 * The first failure after a good token is announced (`oauth.token_refresh_failed`), once.
 */
export async function recordOAuthState(db: DataSource, connectorId: string, info: OAuthTokenInfo | null, notify: Notify | null = null): Promise<void> {
  if (!info) return;
  if (info.failed) {
    await db.transaction(async (m) => {
      // An UPDATE answers [rows, count].
      const [[row]] = await m.query(
        `UPDATE connectors SET oauth_refresh_needed = true WHERE id = $1 AND NOT oauth_refresh_needed
         RETURNING id, tenant_id, application_id, name, provider, type`,
        [connectorId],
      );
      if (row && notify) await notify(m, { type: 'OAUTH_TOKEN_REFRESH_FAILED', connector: connectorRefOfRow(row), data: {} });
    });
    return;
  }
  await db.query(
    `UPDATE connectors SET oauth_token_expires_at = $2, oauth_refresh_needed = false
      WHERE id = $1 AND (oauth_token_expires_at IS DISTINCT FROM $2 OR oauth_refresh_needed)`,
    [connectorId, info.expiresAt],
  );
}
