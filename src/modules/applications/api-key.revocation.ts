import type { EntityManager } from 'typeorm';
import type { Actor } from '../audit/audit.actor.js';
import type { AuditService } from '../audit/audit.service.js';

/**
 * Sets `revokedAt` on every unrevoked key of an application and audits each, with `m` (the
 * deletion's transaction). Returns the revoked ids.
 */
export async function revokeKeysOfApplication(m: EntityManager, audit: AuditService, actor: Actor, tenantId: string, applicationId: string, now: Date): Promise<string[]> {
  const [rows] = (await m.query(
    `UPDATE api_keys SET revoked_at = $3, revoked_by = $4 WHERE tenant_id = $1 AND application_id = $2 AND revoked_at IS NULL RETURNING id`,
    [tenantId, applicationId, now, actor.id],
  )) as [Array<{ id: string }>, number];
  for (const { id } of rows) {
    await audit.record(m, actor, {
      tenantId,
      eventType: 'API_KEY_REVOKED',
      targetType: 'ApiKey',
      targetId: id,
      appId: applicationId,
      changes: { revokedAt: { before: null, after: now.toISOString() } },
      reason: 'application deleted',
    });
  }
  return rows.map((r) => r.id);
}
