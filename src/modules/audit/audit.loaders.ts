import type { Principal } from '../../auth/principal.js';
import type { PageWindow } from '../../context/cursors.js';
import { byIdLoader, SlicedLoader } from '../../graphql/batch.js';
import type { AuditEventEntity } from './audit-event.entity.js';
import type { AuditService } from './audit.service.js';

export interface ConnectorAuditKey {
  parentId: string;
  window: PageWindow;
}

/** Keys asking for the same page (size, direction, bounds) of different connectors share one statement. */
const pageKey = (w: PageWindow) => JSON.stringify([w.binding.list, w.limit, w.backward, w.after, w.before]);

export function createAuditLoaders(service: AuditService, principal: Principal) {
  return {
    auditEvent: byIdLoader((ids) => service.findByIds(principal, ids)),
    connectorAuditEvents: new SlicedLoader<ConnectorAuditKey, AuditEventEntity[], string>(
      async (keys) => {
        const groups = new Map<string, { window: PageWindow; ids: Set<string> }>();
        for (const key of keys) {
          const group = pageKey(key.window);
          if (!groups.has(group)) groups.set(group, { window: key.window, ids: new Set() });
          groups.get(group)!.ids.add(key.parentId);
        }
        const results = new Map<string, Map<string, AuditEventEntity[]>>();
        await Promise.all([...groups].map(async ([group, { window, ids }]) => results.set(group, await service.listForConnectors(principal, [...ids], window))));
        return keys.map((key) => results.get(pageKey(key.window))!.get(key.parentId) ?? []);
      },
      { cacheKeyFn: (key) => `${key.parentId}:${pageKey(key.window)}` },
    ),
  };
}
