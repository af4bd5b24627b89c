import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Intake tokens: what a push source (a HEC client, a collector posting to `/intake/...`) presents.
 * Metadata only: the token is shown once by `createIntakeToken`; the row keeps its SHA-256, which
 * is also how a presented token is found. Purging a connector removes its tokens with it.
 */
export class IntakeTokens1732233600600 implements MigrationInterface {
  name = 'IntakeTokens1732233600600';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE intake_tokens (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        connector_id varchar(40) NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
        name text NOT NULL,
        prefix text NOT NULL,
        token_sha256 char(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text,
        revoked_at timestamptz,
        revoked_by text,
        last_used_at timestamptz
      )`);
    // Authentication looks a token up by its hash; listing goes by connector within a tenant.
    await q.query(`CREATE UNIQUE INDEX intake_tokens_sha256 ON intake_tokens (token_sha256)`);
    await q.query(`CREATE INDEX intake_tokens_tenant_connector ON intake_tokens (tenant_id, connector_id, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE intake_tokens`);
  }
}
