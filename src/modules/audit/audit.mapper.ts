import type { AuditEventEntity } from './audit-event.entity.js';
import type { AuditEvent } from './audit-event.type.js';

export function toAuditEvent(e: AuditEventEntity): AuditEvent {
  return {
    id: e.id,
    tenantId: e.tenantId,
    appId: e.appId,
    eventType: e.eventType,
    occurredAt: e.occurredAt,
    actorType: e.actorType,
    actorId: e.actorId,
    actorEmail: e.actorEmail,
    targetType: e.targetType,
    targetId: e.targetId,
    connectorId: e.connectorId,
    changes: e.changes,
    reason: e.reason,
    requestId: e.requestId,
    clientIp: e.clientIp,
    userAgent: e.userAgent,
    bulkId: e.bulkId,
    sourceType: e.sourceType,
  };
}
