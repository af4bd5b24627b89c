import type { Principal } from '../../auth/principal.js';
import { byIdLoader, pageLoader } from '../../graphql/batch.js';
import type { AuditService } from './audit.service.js';

export function createAuditLoaders(service: AuditService, principal: Principal) {
  return {
    auditEvent: byIdLoader((ids) => service.findByIds(principal, ids)),
    connectorAuditEvents: pageLoader((ids, first, after) => service.listForConnectors(principal, ids, first, after)),
  };
}
