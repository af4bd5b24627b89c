/**
 * Webhook signing secrets in the secret store (Vault KV v2 or the local encrypted store), under the
 * endpoint's own path (`tenants/<tenant>/webhooks/<id>/signing-secret`). Failures are reported
 * without values, as for connector credentials.
 */
import { AppError } from '../../errors/app-error.js';
import type { Logger } from '../../server/logger.js';
import { isSecretStoreError, type SecretStore } from '../../secrets/contract.js';

const FIELD = 'signingSecret';

export class WebhookSecrets {
  constructor(
    private readonly store: SecretStore,
    private readonly logger: Logger,
  ) {}

  private fail(error: unknown, doing: string): never {
    this.logger.error({ err: isSecretStoreError(error) ? error.message : String(error), doing }, 'secret store failure');
    throw new AppError('INTERNAL_SERVER_ERROR', `the secret store failed while ${doing}; nothing was changed`);
  }

  /** Writes a new version (`cas`: the version expected to be current, 0 for none) and returns its number. */
  async write(tenantId: string, endpointId: string, secret: string, cas: number): Promise<number> {
    try {
      return (await this.store.write({ tenantId, connectorId: endpointId }, { [FIELD]: secret }, { cas })).version;
    } catch (error) {
      this.fail(error, 'storing a webhook signing secret');
    }
  }

  async read(tenantId: string, endpointId: string, version: number): Promise<string | undefined> {
    try {
      return (await this.store.read({ tenantId, connectorId: endpointId }, version))?.data[FIELD];
    } catch (error) {
      this.fail(error, 'reading a webhook signing secret');
    }
  }

  async destroy(tenantId: string, endpointId: string): Promise<void> {
    try {
      await this.store.destroyAll({ tenantId, connectorId: endpointId });
    } catch (error) {
      // The endpoint is gone already; a leftover secret signs nothing. Logged, not thrown.
      this.logger.warn({ endpointId, err: isSecretStoreError(error) ? error.message : String(error) }, 'could not remove a deleted webhook endpoint\'s secret');
    }
  }
}
