import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { AuthType, ConnectorType } from '../../adapters/spi.js';
import type { ConnectionTestResultData } from './connector.types.js';
import type { ConnectorScope, HealthStatus, RunState, SourceType } from './connector.enums.js';

export interface ConnectorMetricsData {
  totalSynced: number;
  last24h: number;
  avgLatencyMs: number | null;
}

/** A tenant's connector as stored; what a client sees is built by the mapper. */
@Entity('connectors')
export class ConnectorEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id!: string;

  @Column({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  /** The application whose token created the connector (stamped, never from input). */
  @Column({ name: 'app_id', type: 'text', nullable: true })
  appId!: string | null;

  /** The application the connector belongs to; application tokens see only theirs. */
  @Column({ name: 'application_id', type: 'varchar', length: 40, nullable: true })
  applicationId!: string | null;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  type!: ConnectorType;

  @Column({ type: 'text' })
  provider!: string;

  @Column({ type: 'text' })
  scope!: ConnectorScope;

  @Column({ name: 'owner_id', type: 'text', nullable: true })
  ownerId!: string | null;

  @Column({ name: 'group_id', type: 'text', nullable: true })
  groupId!: string | null;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ type: 'jsonb' })
  config!: Record<string, unknown>;

  @Column({ name: 'auth_type', type: 'text' })
  authType!: AuthType;

  @Column({ name: 'vault_path', type: 'text', nullable: true })
  vaultPath!: string | null;

  @Column({ name: 'credential_fields', type: 'text', array: true })
  credentialFields!: string[];

  @Column({ name: 'credential_version', type: 'int', nullable: true })
  credentialVersion!: number | null;

  @Column({ name: 'credential_last_rotated_at', type: 'timestamptz', nullable: true })
  credentialLastRotatedAt!: Date | null;

  @Column({ name: 'next_rotation_due', type: 'timestamptz', nullable: true })
  nextRotationDue!: Date | null;

  @Column({ name: 'oauth_refresh_needed', type: 'boolean' })
  oauthRefreshNeeded!: boolean;

  @Column({ name: 'oauth_token_expires_at', type: 'timestamptz', nullable: true })
  oauthTokenExpiresAt!: Date | null;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  @Column({ name: 'enabled_changed_at', type: 'timestamptz', nullable: true })
  enabledChangedAt!: Date | null;

  @Column({ name: 'enabled_changed_by', type: 'text', nullable: true })
  enabledChangedBy!: string | null;

  @Column({ name: 'enabled_reason', type: 'text', nullable: true })
  enabledReason!: string | null;

  @Column({ name: 'sync_status', type: 'text' })
  syncStatus!: HealthStatus;

  @Column({ name: 'run_state', type: 'text' })
  runState!: RunState;

  @Column({ name: 'last_sync_at', type: 'timestamptz', nullable: true })
  lastSyncAt!: Date | null;

  @Column({ name: 'last_checked_at', type: 'timestamptz', nullable: true })
  lastCheckedAt!: Date | null;

  /** Flap damping: the status recent results point to, and how many in a row agreed. */
  @Column({ name: 'health_candidate', type: 'text', nullable: true })
  healthCandidate!: HealthStatus | null;

  @Column({ name: 'health_candidate_count', type: 'int' })
  healthCandidateCount!: number;

  /** When the sink last accepted a record from this connector. */
  @Column({ name: 'last_record_at', type: 'timestamptz', nullable: true })
  lastRecordAt!: Date | null;

  @Column({ name: 'consecutive_errors', type: 'int' })
  consecutiveErrors!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ type: 'jsonb' })
  metrics!: ConnectorMetricsData;

  @Column({ name: 'event_types', type: 'text', array: true })
  eventTypes!: string[];

  @Column({ name: 'webhook_endpoint_id', type: 'text', nullable: true })
  webhookEndpointId!: string | null;

  @Column({ type: 'text', array: true })
  tags!: string[];

  @Column({ name: 'last_test', type: 'jsonb', nullable: true })
  lastTest!: ConnectionTestResultData | null;

  @Column({ type: 'int' })
  version!: number;

  @Column({ name: 'schema_version', type: 'int' })
  schemaVersion!: number;

  @Column({ type: 'text' })
  source!: string;

  /** Where the connector's last versioned write came from (the request's source type, or SYSTEM). */
  @Column({ name: 'source_type', type: 'text' })
  sourceType!: SourceType;

  /** Until then, alert notifications and automatic disabling are suppressed (health tracking goes on). */
  @Column({ name: 'alerts_snoozed_until', type: 'timestamptz', nullable: true })
  alertsSnoozedUntil!: Date | null;

  @Column({ name: 'alerts_snooze_reason', type: 'text', nullable: true })
  alertsSnoozeReason!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'created_by', type: 'text', nullable: true })
  createdBy!: string | null;

  @Column({ name: 'updated_by', type: 'text', nullable: true })
  updatedBy!: string | null;

  @Column({ name: 'is_deleted', type: 'boolean' })
  isDeleted!: boolean;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  @Column({ name: 'deleted_by', type: 'text', nullable: true })
  deletedBy!: string | null;
}
