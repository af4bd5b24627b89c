import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ActorType, AuditEventType } from './audit.enums.js';
import type { SourceType } from '../connectors/connector.enums.js';

export type AuditChanges = Record<string, { before: unknown; after: unknown }>;

/** One audit row. Append-only: the database rejects UPDATE, DELETE and TRUNCATE on the table. */
@Entity('audit_events')
export class AuditEventEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id!: string;

  @Column({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  /** The application the event concerns; application tokens see only these. */
  @Column({ name: 'app_id', type: 'text', nullable: true })
  appId!: string | null;

  @Column({ name: 'event_type', type: 'text' })
  eventType!: AuditEventType;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'actor_type', type: 'text' })
  actorType!: ActorType;

  @Column({ name: 'actor_id', type: 'text', nullable: true })
  actorId!: string | null;

  @Column({ name: 'actor_email', type: 'text', nullable: true })
  actorEmail!: string | null;

  @Column({ name: 'target_type', type: 'text' })
  targetType!: string;

  @Column({ name: 'target_id', type: 'text' })
  targetId!: string;

  /** Set when the event concerns a connector (its own events and credential events). */
  @Column({ name: 'connector_id', type: 'varchar', length: 40, nullable: true })
  connectorId!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  changes!: AuditChanges | null;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ name: 'client_ip', type: 'text', nullable: true })
  clientIp!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  /** The `toggleConnectors` call the event belongs to. */
  @Column({ name: 'bulk_id', type: 'varchar', length: 40, nullable: true })
  bulkId!: string | null;

  /** Where the write came from (SYSTEM, API, FRONTEND, BACKEND, SERVER); NULL on rows older than the column. */
  @Column({ name: 'source_type', type: 'text', nullable: true })
  sourceType!: SourceType | null;
}
