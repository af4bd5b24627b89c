import type { Credentials } from '../../adapters/spi.js';
import type { ConnectorEntity } from './connector.entity.js';

/**
 * Resolves a connector's credentials at the moment an adapter needs them. They are handed to the
 * adapter and dropped: never stored on the entity, in config, in caches or in errors.
 */
export class CredentialService {
  async resolve(connector: ConnectorEntity): Promise<Credentials> {
    void connector;
    return {};
  }
}
