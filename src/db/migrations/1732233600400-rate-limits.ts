import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Shared request counts for `RATE_LIMIT_STORE=postgres`, in the shape rate-limiter-flexible reads
 * and writes (key, points used, expiry in epoch milliseconds). Unlogged: counts are worth nothing
 * after a crash, and writing them to the WAL would cost every request.
 */
export class RateLimits1732233600400 implements MigrationInterface {
  name = 'RateLimits1732233600400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE UNLOGGED TABLE rate_limits (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_limits`);
  }
}
