import type { RecordRow } from './record.service.js';
import type { RecordNode } from './record.type.js';

export function toRecord(row: RecordRow): RecordNode {
  return {
    id: row.id,
    connectorId: row.connectorId,
    kind: row.kind,
    observedAt: row.observedAt,
    ingestedAt: row.ingestedAt,
    dedupKey: row.dedupKey,
    duplicateCount: row.duplicateCount,
    lastSeenAt: row.lastSeenAt,
    data: row.data,
    severity: row.severity,
    title: row.title,
  };
}
