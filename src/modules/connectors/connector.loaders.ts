import type DataLoader from 'dataloader';
import type { Principal } from '../../auth/principal.js';
import type { PageWindow } from '../../context/cursors.js';
import { byIdLoader, SlicedLoader } from '../../graphql/batch.js';
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

export interface ApplicationConnectorsKey {
  parentId: string;
  window: PageWindow;
}

/** Keys asking for the same page (size, direction, bounds) of different applications share one statement. */
const pageKey = (w: PageWindow) => JSON.stringify([w.binding.list, w.limit, w.backward, w.after, w.before]);

/** A page of an application's connectors with a projection's fields; one statement per projection and page. */
function applicationConnectorsLoader(service: ConnectorService, principal: Principal) {
  const loaders = new Map<string, DataLoader<ApplicationConnectorsKey, Connector[], string>>();
  return (projection: ConnectorProjection = FULL_PROJECTION): DataLoader<ApplicationConnectorsKey, Connector[], string> => {
    let loader = loaders.get(projection.key);
    if (!loader) {
      loader = new SlicedLoader<ApplicationConnectorsKey, Connector[], string>(
        async (keys) => {
          const groups = new Map<string, { window: PageWindow; ids: Set<string> }>();
          for (const key of keys) {
            const group = pageKey(key.window);
            if (!groups.has(group)) groups.set(group, { window: key.window, ids: new Set() });
            groups.get(group)!.ids.add(key.parentId);
          }
          const results = new Map<string, Map<string, Connector[]>>();
          await Promise.all([...groups].map(async ([group, { window, ids }]) => results.set(group, await service.listForApplications(principal, [...ids], window, projection))));
          return keys.map((key) => results.get(pageKey(key.window))!.get(key.parentId) ?? []);
        },
        { cacheKeyFn: (key) => `${key.parentId}:${pageKey(key.window)}` },
      );
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
