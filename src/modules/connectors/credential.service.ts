import type { Credentials } from '../../adapters/spi.js';
import { AppError } from '../../errors/app-error.js';
import type { Logger } from '../../server/logger.js';
import { isSecretStoreError, type SecretRef, type SecretStore, type SecretVersionInfo } from '../../secrets/contract.js';
import type { ConnectorEntity } from './connector.entity.js';

/**
 * A connector's write-only credentials in the secret store. They are resolved only at the moment
 * an adapter needs them, handed in and dropped: never stored on the entity, in config, in caches
 * or in errors.
 */
export class CredentialService {
  constructor(
    private readonly store: SecretStore,
    private readonly logger: Logger,
  ) {}

  get backend(): string {
    return this.store.backend;
  }

  private ref(tenantId: string, connectorId: string): SecretRef {
    return { tenantId, connectorId };
  }

  /** The path stamped on the connector (`vaultPath`). */
  pathFor(tenantId: string, connectorId: string): string {
    return this.store.pathFor(this.ref(tenantId, connectorId));
  }

  /** Maps store failures onto the API's closed set; messages never carry values. */
  private fail(error: unknown, doing: string): never {
    if (isSecretStoreError(error, 'CAS_CONFLICT')) {
      throw new AppError('VERSION_CONFLICT', `the credentials changed while ${doing}: reload the connector and try again`);
    }
    this.logger.error({ err: isSecretStoreError(error) ? error.message : String(error), doing }, 'secret store failure');
    throw new AppError('INTERNAL_SERVER_ERROR', `the secret store failed while ${doing}; nothing was changed`);
  }

  /** Writes a new version; `cas` is the latest version expected in the store (0: none yet). */
  async write(tenantId: string, connectorId: string, credentials: Credentials, cas: number): Promise<SecretVersionInfo> {
    try {
      return await this.store.write(this.ref(tenantId, connectorId), credentials, { cas });
    } catch (error) {
      this.fail(error, 'storing credentials');
    }
  }

  /** The newest version in the store (which may be a candidate that failed its test), 0 if none. */
  async latestVersion(tenantId: string, connectorId: string): Promise<number> {
    try {
      return (await this.store.metadata(this.ref(tenantId, connectorId)))?.currentVersion ?? 0;
    } catch (error) {
      this.fail(error, 'reading credential metadata');
    }
  }

  /** The connector's active version, or a given one (rollback, rotation candidates). */
  async resolve(connector: ConnectorEntity, version: number | null = connector.credentialVersion): Promise<Credentials> {
    if (!version) return {};
    try {
      const found = await this.store.read(this.ref(connector.tenantId, connector.id), version);
      if (!found) {
        this.logger.warn({ connectorId: connector.id, version }, 'credential version missing from the secret store');
        return {};
      }
      return found.data;
    } catch (error) {
      this.fail(error, 'reading credentials');
    }
  }

  /** Removes every version (purge, or a creation that did not commit). */
  async destroy(tenantId: string, connectorId: string): Promise<void> {
    try {
      await this.store.destroyAll(this.ref(tenantId, connectorId));
    } catch (error) {
      this.fail(error, 'removing credentials');
    }
  }
}
