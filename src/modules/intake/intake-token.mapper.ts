import type { IntakeTokenEntity } from './intake-token.entity.js';
import type { IntakeToken } from './intake-token.type.js';

export function toIntakeToken(e: IntakeTokenEntity): IntakeToken {
  return {
    id: e.id,
    connectorId: e.connectorId,
    name: e.name,
    prefix: e.prefix,
    createdAt: e.createdAt,
    createdBy: e.createdBy,
    lastUsedAt: e.lastUsedAt,
    revokedAt: e.revokedAt,
  };
}
