import type DataLoader from 'dataloader';
import type { Principal } from '../../auth/principal.js';
import { byIdLoader, childPageLoader, type ChildPageKey } from '../../graphql/batch.js';
import { FULL_PROJECTION, type ConnectorProjection } from './connector.projection.js';
import type { ConnectorService } from './connector.service.js';
import type { Connector } from './connector.type.js';

/**
 * Connectors by id as GraphQL objects, one DataLoader per projection (connector.projection.ts):
 * the loads of one selection (every `_entities` reference of a request, say) share one statement
 * that reads only that selection's columns. `clear` forgets an id in all of them.
 */
export interface ConnectorByIdLoader {
  load(id: string, projection?: ConnectorProjection): Promise<Connector | null>;
  clear(id: string): void;
}

function projectedLoader(service: ConnectorService, principal: Principal): ConnectorByIdLoader {
  const loaders = new Map<string, DataLoader<string, Connector | null>>();
  return {
    load(id, projection = FULL_PROJECTION) {
      let loader = loaders.get(projection.key);
      if (!loader) {
        loader = byIdLoader((ids) => service.readByIds(principal, ids, projection));
        loader.name = 'connector';
        loaders.set(projection.key, loader);
      }
      return loader.load(id);
    },
    clear(id) {
      for (const loader of loaders.values()) loader.clear(id);
    },
  };
}

export type ApplicationConnectorsKey = ChildPageKey;

/** A page of an application's connectors with a projection's fields; one statement per projection and page. */
function applicationConnectorsLoader(service: ConnectorService, principal: Principal) {
  const loaders = new Map<string, DataLoader<ApplicationConnectorsKey, Connector[], string>>();
  return (projection: ConnectorProjection = FULL_PROJECTION): DataLoader<ApplicationConnectorsKey, Connector[], string> => {
    let loader = loaders.get(projection.key);
    if (!loader) {
      loader = childPageLoader((ids, window) => service.listForApplications(principal, ids, window, projection));
      loader.name = 'applicationConnectors';
      loaders.set(projection.key, loader);
    }
    return loader;
  };
}

/** Per-request, tenant-scoped: the principal is fixed when the loaders are made. */
export function createConnectorLoaders(service: ConnectorService, principal: Principal) {
  return {
    connector: projectedLoader(service, principal),
    applicationConnectors: applicationConnectorsLoader(service, principal),
  };
}
