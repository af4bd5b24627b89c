import type { ApplicationEntity } from './application.entity.js';
import type { Application } from './application.type.js';

export function toApplication(e: ApplicationEntity): Application {
  return {
    id: e.id,
    tenantId: e.tenantId,
    name: e.name,
    description: e.description,
    version: e.version,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    isDeleted: e.isDeleted,
  };
}
