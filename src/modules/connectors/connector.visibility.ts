import type { Principal } from '../../auth/principal.js';
import { isAdmin } from '../../auth/principal.js';
import type { SqlParams } from '../../db/sql.js';

/**
 * The SQL condition that limits connectors (table alias `alias`) to what `principal` may see: its
 * tenant, its application for application tokens, and org/group/user scope for non-admins. Every
 * read of connectors goes through here.
 */
export function connectorVisibility(principal: Principal, alias: string, sql: SqlParams): string {
  const parts = [`${alias}.tenant_id = ${sql.param(principal.tenantId)}`];
  if (principal.appId) parts.push(`${alias}.application_id = ${sql.param(principal.appId)}`);
  if (!isAdmin(principal)) {
    parts.push(
      `(${alias}.scope = 'ORG'` +
        ` OR (${alias}.scope = 'GROUP' AND ${alias}.group_id = ANY(${sql.param(principal.groups)}::text[]))` +
        ` OR (${alias}.scope = 'USER' AND ${alias}.user_id = ${sql.param(principal.subject)}))`,
    );
  }
  return parts.join(' AND ');
}
