import type { Principal } from '../../auth/principal.js';
import { byIdLoader, childPageLoader, type ChildPageKey } from '../../graphql/batch.js';
import type { AuditService } from './audit.service.js';

export type ConnectorAuditKey = ChildPageKey;

export function createAuditLoaders(service: AuditService, principal: Principal) {
  return {
    auditEvent: byIdLoader((ids) => service.findByIds(principal, ids)),
    connectorAuditEvents: childPageLoader((ids, window) => service.listForConnectors(principal, ids, window)),
  };
}
