/**
 * The secret store the configuration selects: the factory is the only file that knows both
 * backends; the contract they share (types, errors, validation) is contract.ts.
 */
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config.js';
import type { Logger } from '../server/logger.js';
import { SecretStoreError, type SecretStore } from './contract.js';
import { LocalSecretStore, resolveMasterKey } from './local.store.js';
import { VaultKv2Store } from './vault-kv2.store.js';

export interface SecretStoreDeps {
  /** Required by the local backend (its table lives in the service's database). */
  dataSource?: DataSource;
  logger: Logger;
}

/**
 * The store the configuration selects (`SECRETS_BACKEND`): `vault` talks to `VAULT_ADDR` with
 * `VAULT_TOKEN` under `VAULT_KV_MOUNT`; `local` encrypts into `connector_secrets` under
 * `SECRETS_MASTER_KEY`, or a key generated into `DATA_DIR/secrets-master-key` on first use.
 */
export function createSecretStore(config: AppConfig, deps: SecretStoreDeps): SecretStore {
  if (config.secrets.backend === 'vault') {
    const { addr, token, mount } = config.secrets.vault;
    if (!addr || !token) throw new SecretStoreError('INVALID_INPUT', 'SECRETS_BACKEND=vault needs VAULT_ADDR and VAULT_TOKEN');
    return new VaultKv2Store({ addr, token, mount, logger: deps.logger });
  }
  if (!deps.dataSource) throw new SecretStoreError('INVALID_INPUT', 'The local secret store needs the database');
  const { key } = resolveMasterKey(config);
  return new LocalSecretStore({ dataSource: deps.dataSource, masterKey: key, logger: deps.logger });
}
