import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { HealthStatus } from '../connectors/connector.enums.js';

/** One health status transition of a connector. */
@Entity('health_events')
export class HealthEventEntity {
  @PrimaryColumn({ type: 'varchar', length: 40 }) id!: string;
  @Column({ name: 'tenant_id', type: 'text' }) tenantId!: string;
  @Column({ name: 'connector_id', type: 'varchar', length: 40 }) connectorId!: string;
  @Column({ type: 'timestamptz' }) at!: Date;
  @Column({ name: 'from_status', type: 'text' }) from!: HealthStatus;
  @Column({ name: 'to_status', type: 'text' }) to!: HealthStatus;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
}
