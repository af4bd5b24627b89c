import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fleet operations, part A (issue 20): bulk toggles, alert snoozes and the provenance of writes.
 *
 * - `audit_events.bulk_id`: the `toggleConnectors` call an event belongs to (one id for every
 *   connector it changed), indexed for the `auditEvents(filter: { bulkId })` filter.
 * - `audit_events.source_type`: where the write came from (SYSTEM, API, FRONTEND, BACKEND, SERVER),
 *   as `connectors.source_type` records it for the connector's last write. Older rows stay NULL:
 *   nobody recorded it then.
 * - `connectors.alerts_snoozed_until` / `alerts_snooze_reason`: while the time is in the future,
 *   alert notifications and automatic disabling of the connector are suppressed; health tracking
 *   goes on.
 *
 * Adding columns does not fire the append-only triggers of audit_events (they guard rows).
 */
export class FleetBulk1732233601000 implements MigrationInterface {
  name = 'FleetBulk1732233601000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_events ADD COLUMN bulk_id varchar(40), ADD COLUMN source_type text`);
    await q.query(`CREATE INDEX audit_tenant_bulk ON audit_events (tenant_id, bulk_id, id DESC) WHERE bulk_id IS NOT NULL`);
    await q.query(`ALTER TABLE connectors ADD COLUMN alerts_snoozed_until timestamptz, ADD COLUMN alerts_snooze_reason text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE connectors DROP COLUMN alerts_snooze_reason, DROP COLUMN alerts_snoozed_until`);
    await q.query(`DROP INDEX audit_tenant_bulk`);
    await q.query(`ALTER TABLE audit_events DROP COLUMN source_type, DROP COLUMN bulk_id`);
  }
}
