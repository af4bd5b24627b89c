import type { ApiKeyEntity } from './api-key.entity.js';
import type { ApiKey } from './api-key.type.js';

export function toApiKey(e: ApiKeyEntity): ApiKey {
  return {
    id: e.id,
    name: e.name,
    prefix: e.prefix,
    scope: e.scope,
    expiresAt: e.expiresAt,
    revokedAt: e.revokedAt,
    lastUsedAt: e.lastUsedAt,
    createdAt: e.createdAt,
  };
}
