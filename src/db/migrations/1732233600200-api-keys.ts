import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Application API keys (metadata only, never the token) and the service's own signing keys. */
export class ApiKeys1732233600200 implements MigrationInterface {
  name = 'ApiKeys1732233600200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        application_id varchar(40) NOT NULL REFERENCES applications (id),
        name text NOT NULL,
        prefix text NOT NULL,
        scope text NOT NULL CHECK (scope IN ('READ', 'WRITE')),
        token_sha256 char(64) NOT NULL,
        kid text NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz,
        revoked_by text,
        last_used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text
      )`);
    // Verification looks a key up by its primary key; listing goes by application within a tenant.
    await q.query(`CREATE INDEX api_keys_tenant_application ON api_keys (tenant_id, application_id, id DESC)`);

    await q.query(`
      CREATE TABLE signing_keys (
        kid text PRIMARY KEY,
        alg text NOT NULL,
        public_jwk jsonb NOT NULL,
        private_jwk_encrypted text NOT NULL,
        active boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        retired_at timestamptz
      )`);
    // One key signs at a time; retired keys stay for verification.
    await q.query(`CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (active) WHERE active`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE signing_keys`);
    await q.query(`DROP TABLE api_keys`);
  }
}
