import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal.js';
import { isAdmin } from '../../auth/principal.js';
import { columnList, createHydrator } from '../../db/hydrate.js';
import { createLatestPerParent } from '../../db/latest-per-parent.js';
import { newId } from '../../db/ids.js';
import { SqlParams } from '../../db/sql.js';
import { AppError } from '../../errors/app-error.js';
import { bindList, keysetSql, pageWindow, type CursorBinding, type PageArgs, type PageWindow } from '../../context/cursors.js';
import { connectorVisibility } from '../connectors/connector.visibility.js';
import type { Actor } from './audit.actor.js';
import { AuditEventEntity, type AuditChanges } from './audit-event.entity.js';
import type { AuditEventType } from './audit.enums.js';

export interface AuditRecordInput {
  tenantId: string;
  eventType: AuditEventType;
  targetType: 'Connector' | 'Application' | 'ApiKey' | 'IntakeToken' | 'WebhookEndpoint';
  targetId: string;
  connectorId?: string | null;
  /** The application the event concerns; defaults to the actor's application. */
  appId?: string | null;
  changes?: AuditChanges | null;
  reason?: string | null;
  /** The `toggleConnectors` call the event belongs to. */
  bulkId?: string | null;
}

export interface AuditFilter {
  eventType?: AuditEventType[] | null;
  startDate?: Date | null;
  endDate?: Date | null;
  userEmail?: string | null;
  actorId?: string | null;
  targetId?: string | null;
  bulkId?: string | null;
}

export const AUDIT_PAGE_MAX = 100;
const AUDIT_KEY = /^aud_[0-9A-Z]{26}$/;

/** Every column of audit_events, in AuditEventEntity's order; the VALUES' placeholders from `$first`. */
function insertAuditSql(first: number): string {
  return `INSERT INTO audit_events (id, tenant_id, app_id, event_type, occurred_at, actor_type, actor_id, actor_email, target_type, target_id, connector_id, changes, reason, request_id, client_ip, user_agent, bulk_id, source_type) VALUES (${Array.from({ length: 18 }, (_, i) => `$${first + i}`).join(', ')})`;
}
const INSERT_AUDIT = insertAuditSql(1);

/** Records audit rows inside the caller's transaction and reads them back, tenant-scoped. */
export class AuditService {
  private readonly hydrate;
  private readonly columns: string;
  private readonly perConnector;

  constructor(private readonly dataSource: DataSource) {
    this.hydrate = createHydrator(dataSource, AuditEventEntity);
    this.perConnector = createLatestPerParent(dataSource, AuditEventEntity, (e) => e.connectorId!);
    this.columns = columnList(dataSource, AuditEventEntity, 'a');
  }

  /**
   * Writes one audit row with `manager`, the transaction of the change it records: a rolled-back
   * change leaves no event. Callers pass `changes` already free of secret values.
   */
  async record(manager: EntityManager, actor: Actor, input: AuditRecordInput): Promise<AuditEventEntity> {
    const { row, values } = this.prepare(actor, input);
    // Constant text, no query builder: an audit row is written inside most mutations' transactions.
    await manager.query(INSERT_AUDIT, values);
    return row;
  }

  /**
   * The row `record` writes and its statement's parameters, for a caller that writes it as part of
   * its own statement (`insertSql(first)`: the INSERT with placeholders from `$first`), still in
   * the caller's transaction.
   */
  prepare(actor: Actor, input: AuditRecordInput): { row: AuditEventEntity; values: unknown[] } {
    const now = new Date();
    const row: AuditEventEntity = Object.assign(Object.create(AuditEventEntity.prototype) as AuditEventEntity, {
      id: newId('aud', now),
      tenantId: input.tenantId,
      appId: input.appId !== undefined ? input.appId : actor.appId,
      eventType: input.eventType,
      occurredAt: now,
      actorType: actor.type,
      actorId: actor.id,
      actorEmail: actor.email,
      targetType: input.targetType,
      targetId: input.targetId,
      connectorId: input.connectorId ?? null,
      changes: input.changes && Object.keys(input.changes).length ? input.changes : null,
      reason: input.reason ?? null,
      requestId: actor.requestId,
      clientIp: actor.clientIp,
      userAgent: actor.userAgent,
      bulkId: input.bulkId ?? null,
      sourceType: actor.sourceType,
    });
    const values = [
      row.id, row.tenantId, row.appId, row.eventType, row.occurredAt, row.actorType, row.actorId, row.actorEmail, row.targetType, row.targetId,
      row.connectorId, row.changes === null ? null : JSON.stringify(row.changes), row.reason, row.requestId, row.clientIp, row.userAgent, row.bulkId, row.sourceType,
    ];
    return { row, values };
  }

  insertSql(first: number): string {
    return insertAuditSql(first);
  }

  /**
   * What `principal` may read: its tenant, its application's events for application tokens, and
   * for non-admins only events of connectors they can see.
   */
  private visibility(principal: Principal, sql: SqlParams): string {
    const parts = [`a.tenant_id = ${sql.param(principal.tenantId)}`];
    if (principal.appId) parts.push(`a.app_id = ${sql.param(principal.appId)}`);
    if (!isAdmin(principal) || principal.appId) {
      parts.push(`EXISTS (SELECT 1 FROM connectors c WHERE c.id = a.connector_id AND ${connectorVisibility(principal, 'c', sql)})`);
    }
    return parts.join(' AND ');
  }

  /** The `auditEvents` list with this filter, for cursors bound to it (cursors.ts). */
  static listBinding(filter: AuditFilter): CursorBinding {
    return bindList('auditEvents', { ...filter }, AUDIT_KEY);
  }

  /** The page `Connector.auditEvents` asks for (checked before the batch it joins). */
  static connectorWindow(connectorId: string, args: PageArgs): PageWindow {
    return pageWindow(args, AUDIT_PAGE_MAX, bindList('connector.auditEvents', { connectorId }, AUDIT_KEY), 20);
  }

  /** Newest first: `limit + 1` rows from the window's side (reverse order when it pages backwards). */
  async list(principal: Principal, filter: AuditFilter, args: PageArgs): Promise<{ rows: AuditEventEntity[]; window: PageWindow }> {
    const window = pageWindow(args, AUDIT_PAGE_MAX, AuditService.listBinding(filter));
    const sql = new SqlParams();
    const where = [this.visibility(principal, sql)];
    if (filter.eventType?.length) where.push(`a.event_type = ANY(${sql.param(filter.eventType)}::text[])`);
    if (filter.startDate && filter.endDate && filter.startDate >= filter.endDate) {
      throw AppError.badInput('startDate must be before endDate', [{ path: 'filter.startDate', message: 'must be before endDate' }]);
    }
    if (filter.startDate) where.push(`a.occurred_at >= ${sql.param(filter.startDate)}`);
    if (filter.endDate) where.push(`a.occurred_at < ${sql.param(filter.endDate)}`);
    if (filter.userEmail) where.push(`lower(a.actor_email) = lower(${sql.param(filter.userEmail)})`);
    if (filter.actorId) where.push(`a.actor_id = ${sql.param(filter.actorId)}`);
    if (filter.targetId) where.push(`a.target_id = ${sql.param(filter.targetId)}`);
    if (filter.bulkId) where.push(`a.bulk_id = ${sql.param(filter.bulkId)}`);
    const keyset = keysetSql(window, 'a.id', (v) => sql.param(v));
    where.push(...keyset.where);
    const rows = await this.dataSource.query(
      `SELECT ${this.columns} FROM audit_events a WHERE ${where.join(' AND ')} ORDER BY a.id ${keyset.order} LIMIT ${sql.param(window.limit + 1)}`,
      sql.values,
    );
    return { rows: rows.map(this.hydrate), window };
  }

  /** One statement for any number of ids; misses (other tenant, invisible) are absent. */
  async findByIds(principal: Principal, ids: readonly string[]): Promise<AuditEventEntity[]> {
    const sql = new SqlParams();
    const rows = await this.dataSource.query(
      `SELECT ${this.columns} FROM audit_events a WHERE a.id = ANY(${sql.param(ids)}::text[]) AND ${this.visibility(principal, sql)}`,
      sql.values,
    );
    return rows.map(this.hydrate);
  }

  /**
   * The newest `first + 1` events of each connector after a cursor, for `Connector.auditEvents`:
   * one statement for all connectors of a request. The connectors are already visible to the caller.
   */
  async listForConnectors(principal: Principal, connectorIds: readonly string[], window: PageWindow): Promise<Map<string, AuditEventEntity[]>> {
    const sql = new SqlParams();
    const where = [`a.tenant_id = ${sql.param(principal.tenantId)}`];
    if (principal.appId) where.push(`a.app_id = ${sql.param(principal.appId)}`);
    const keyset = keysetSql(window, 'a.id', (v) => sql.param(v));
    where.push(...keyset.where);
    return this.perConnector({ table: 'audit_events', alias: 'a', parentColumn: 'connector_id', parentIds: connectorIds, where, sql, limit: window.limit + 1, order: keyset.order });
  }

}
