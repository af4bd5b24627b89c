import type { Principal } from '../../auth/principal.js';
import { byIdLoader, pageLoader } from '../../graphql/batch.js';
import type { ConnectorService } from './connector.service.js';

/** Per-request, tenant-scoped: the principal is fixed when the loaders are made. */
export function createConnectorLoaders(service: ConnectorService, principal: Principal) {
  return {
    connector: byIdLoader((ids) => service.findByIds(principal, ids)),
    applicationConnectors: pageLoader((ids, first, after) => service.listForApplications(principal, ids, first, after)),
  };
}
