import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ingested records become `Record`s of the graph: a stable id, when the source saw them, how often
 * a duplicate arrived and when last, and the columns the `records` filters use, each with an index.
 * The id is derived from tenant, connector and dedup key (modules/records/record-identity.ts), so a batch
 * replayed after a crash gets the same ids, and a stream downstream can drop the redelivery.
 */
export class Records1732233600500 implements MigrationInterface {
  name = 'Records1732233600500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`
      ALTER TABLE ingested_records
        ADD COLUMN id varchar(40),
        ADD COLUMN observed_at timestamptz,
        ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN duplicate_count int NOT NULL DEFAULT 0,
        ADD COLUMN severity real,
        ADD COLUMN title text`);
    // Rows written before this migration: the same derivation as record-identity.ts, in SQL.
    await q.query(`UPDATE ingested_records SET last_seen_at = ingested_at,
      id = 'rec_' || upper(substr(encode(sha256(convert_to(tenant_id || chr(31) || connector_id || chr(31) || dedup_key, 'UTF8')), 'hex'), 1, 26))`);
    await q.query(`ALTER TABLE ingested_records ALTER COLUMN id SET NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX ingested_records_id ON ingested_records (id)`);
    await q.query(`DROP INDEX ingested_records_age`);
    // Newest first, per connector and per tenant; the kind and severity filters; search in titles.
    await q.query(`CREATE INDEX ingested_records_connector_page ON ingested_records (tenant_id, connector_id, ingested_at DESC, id DESC)`);
    await q.query(`CREATE INDEX ingested_records_tenant_page ON ingested_records (tenant_id, ingested_at DESC, id DESC)`);
    await q.query(`CREATE INDEX ingested_records_kind_page ON ingested_records (tenant_id, kind, ingested_at DESC, id DESC)`);
    await q.query(`CREATE INDEX ingested_records_severity ON ingested_records (tenant_id, severity DESC) WHERE severity IS NOT NULL`);
    await q.query(`CREATE INDEX ingested_records_title_search ON ingested_records USING gin (title gin_trgm_ops)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of ['ingested_records_title_search', 'ingested_records_severity', 'ingested_records_kind_page', 'ingested_records_tenant_page', 'ingested_records_connector_page', 'ingested_records_id']) {
      await q.query(`DROP INDEX ${index}`);
    }
    await q.query(`CREATE INDEX ingested_records_age ON ingested_records (tenant_id, connector_id, ingested_at)`);
    await q.query(`ALTER TABLE ingested_records DROP COLUMN id, DROP COLUMN observed_at, DROP COLUMN last_seen_at, DROP COLUMN duplicate_count, DROP COLUMN severity, DROP COLUMN title`);
  }
}
