import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each push connector received: counters since creation, when the last message came, the last
 * decoding error and a few recent records (the sample a connection test shows). One row per push
 * connector, written by the intake; observed state, so not on the connectors row.
 */
export class IntakeStats1732233600700 implements MigrationInterface {
  name = 'IntakeStats1732233600700';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE intake_stats (
        connector_id varchar(40) PRIMARY KEY REFERENCES connectors (id) ON DELETE CASCADE,
        tenant_id text NOT NULL,
        received bigint NOT NULL DEFAULT 0,
        accepted bigint NOT NULL DEFAULT 0,
        duplicates bigint NOT NULL DEFAULT 0,
        rejected bigint NOT NULL DEFAULT 0,
        dropped_disabled bigint NOT NULL DEFAULT 0,
        dropped_busy bigint NOT NULL DEFAULT 0,
        first_received_at timestamptz,
        last_received_at timestamptz,
        last_sender text,
        last_error text,
        sample jsonb NOT NULL DEFAULT '[]'::jsonb
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE intake_stats');
  }
}
