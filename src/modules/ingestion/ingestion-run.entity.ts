import { Column, Entity, PrimaryColumn } from 'typeorm';

export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One ingestion run of one connector: read → normalize → sink. */
@Entity('ingestion_runs')
export class IngestionRunEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 }) id!: string;
  @Column({ name: 'tenant_id', type: 'text' }) tenantId!: string;
  @Column({ name: 'connector_id', type: 'varchar', length: 40 }) connectorId!: string;
  @Column({ type: 'text' }) status!: RunStatus;
  /** What started it: `schedule`, `manual`, `enable`, `retry`. */
  @Column({ type: 'text' }) trigger!: string;
  @Column({ name: 'job_id', type: 'text', nullable: true }) jobId!: string | null;
  @Column({ name: 'worker_id', type: 'text', nullable: true }) workerId!: string | null;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt!: Date | null;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt!: Date | null;
  @Column({ name: 'heartbeat_at', type: 'timestamptz', nullable: true }) heartbeatAt!: Date | null;
  @Column({ name: 'records_read', type: 'int' }) recordsRead!: number;
  @Column({ name: 'records_written', type: 'int' }) recordsWritten!: number;
  @Column({ type: 'int' }) duplicates!: number;
  /** Scrubbed by the adapter layer before it exists. */
  @Column({ type: 'text', nullable: true }) error!: string | null;
}
