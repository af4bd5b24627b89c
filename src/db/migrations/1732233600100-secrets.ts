import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The local secret store: encrypted, versioned connector credentials (src/secrets/local.store.ts). */
export class Secrets1732233600100 implements MigrationInterface {
  name = 'Secrets1732233600100';

  async up(q: QueryRunner): Promise<void> {
    // No foreign key to connectors: the store is keyed by reference like Vault is, and a purge of
    // secrets must not depend on the connector row still existing.
    await q.query(`
      CREATE TABLE connector_secrets (
        tenant_id text NOT NULL,
        connector_id varchar(40) NOT NULL,
        version int NOT NULL CHECK (version > 0),
        key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
        nonce bytea NOT NULL CHECK (octet_length(nonce) = 12),
        ciphertext bytea NOT NULL,
        auth_tag bytea NOT NULL CHECK (octet_length(auth_tag) = 16),
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (tenant_id, connector_id, version)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE connector_secrets`);
  }
}
