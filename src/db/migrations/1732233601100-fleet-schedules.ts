import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cursor resets (`resetConnectorCursor`): `generation` moves with every reset of a connector's
 * cursor. A run remembers the generation it read and commits its batches only while it is
 * unchanged, so a run in flight during a reset cannot write its older cursor over the reset one.
 * (Schedules and sync windows need no column: they are part of the connector's config.)
 */
export class FleetSchedules1732233601100 implements MigrationInterface {
  name = 'FleetSchedules1732233601100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ingestion_cursors ADD COLUMN generation integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ingestion_cursors DROP COLUMN generation`);
  }
}
