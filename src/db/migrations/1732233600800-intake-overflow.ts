import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Syslog datagrams a push connector lost because its queue was full (UDP cannot be held back). */
export class IntakeOverflow1732233600800 implements MigrationInterface {
  name = 'IntakeOverflow1732233600800';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE intake_stats ADD COLUMN dropped_overflow bigint NOT NULL DEFAULT 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE intake_stats DROP COLUMN dropped_overflow');
  }
}
