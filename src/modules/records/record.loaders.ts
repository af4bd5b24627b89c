import type { Principal } from '../../auth/principal.js';
import { byIdLoader, SlicedLoader } from '../../graphql/batch.js';
import type { ConnectorRecordsArgs, RecordRow, RecordService } from './record.service.js';

export interface ConnectorRecordsKey extends ConnectorRecordsArgs {
  connectorId: string;
}

const argsKey = (k: ConnectorRecordsArgs) =>
  JSON.stringify([k.window.limit, k.window.backward, k.window.after, k.window.before, k.kind, k.since?.toISOString() ?? null, k.until?.toISOString() ?? null]);

/** Per-request, tenant-scoped: the principal is fixed when the loaders are made. */
export function createRecordLoaders(service: RecordService, principal: Principal) {
  return {
    /** Record id → the record or null (missing, another tenant's, or its connector invisible or deleted). */
    record: byIdLoader((ids) => service.findByIds(principal, ids)),
    /**
     * `Connector.records`: keys with the same arguments share one statement (a lateral join over
     * their connectors); the page (size, direction, bounds) is part of the arguments.
     */
    connectorRecords: new SlicedLoader<ConnectorRecordsKey, RecordRow[], string>(
      async (keys) => {
        const groups = new Map<string, { args: ConnectorRecordsArgs; ids: Set<string> }>();
        for (const key of keys) {
          const group = argsKey(key);
          if (!groups.has(group)) groups.set(group, { args: { window: key.window, kind: key.kind, since: key.since, until: key.until }, ids: new Set() });
          groups.get(group)!.ids.add(key.connectorId);
        }
        const results = new Map<string, Map<string, RecordRow[]>>();
        await Promise.all([...groups].map(async ([group, { args, ids }]) => results.set(group, await service.listForConnectors(principal, [...ids], args))));
        return keys.map((key) => results.get(argsKey(key))!.get(key.connectorId) ?? []);
      },
      { cacheKeyFn: (key) => `${key.connectorId}:${argsKey(key)}` },
    ),
  };
}
