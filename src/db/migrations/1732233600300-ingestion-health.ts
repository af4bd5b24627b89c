import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Ingestion runs, cursors and the PostgreSQL sink; health history and the monitor's state. */
export class IngestionHealth1732233600300 implements MigrationInterface {
  name = 'IngestionHealth1732233600300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ingestion_runs (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        connector_id varchar(40) NOT NULL,
        status text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
        trigger text NOT NULL,
        job_id text,
        worker_id text,
        started_at timestamptz,
        finished_at timestamptz,
        heartbeat_at timestamptz,
        records_read int NOT NULL DEFAULT 0,
        records_written int NOT NULL DEFAULT 0,
        duplicates int NOT NULL DEFAULT 0,
        error text
      )`);
    await q.query(`CREATE INDEX ingestion_runs_connector ON ingestion_runs (tenant_id, connector_id, id DESC)`);
    await q.query(`CREATE INDEX ingestion_runs_running ON ingestion_runs (connector_id) WHERE status = 'RUNNING'`);

    // The position of each connector's read, committed with the batch the sink accepted.
    await q.query(`
      CREATE TABLE ingestion_cursors (
        connector_id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        cursor jsonb,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    // The PostgreSQL sink: normalized records per tenant and connector, one row per distinct record.
    await q.query(`
      CREATE TABLE ingested_records (
        tenant_id text NOT NULL,
        connector_id varchar(40) NOT NULL,
        dedup_key text NOT NULL,
        kind text NOT NULL,
        record jsonb NOT NULL,
        run_id varchar(40) NOT NULL,
        ingested_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, connector_id, dedup_key)
      )`);
    await q.query(`CREATE INDEX ingested_records_age ON ingested_records (tenant_id, connector_id, ingested_at)`);

    await q.query(`
      CREATE TABLE health_events (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        connector_id varchar(40) NOT NULL,
        at timestamptz NOT NULL,
        from_status text NOT NULL,
        to_status text NOT NULL,
        reason text
      )`);
    await q.query(`CREATE INDEX health_events_connector ON health_events (tenant_id, connector_id, id DESC)`);

    // Flap damping: the status the recent results point to and how many agree in a row.
    await q.query(`ALTER TABLE connectors ADD COLUMN health_candidate text, ADD COLUMN health_candidate_count int NOT NULL DEFAULT 0, ADD COLUMN last_record_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE connectors DROP COLUMN health_candidate, DROP COLUMN health_candidate_count, DROP COLUMN last_record_at`);
    await q.query(`DROP TABLE health_events`);
    await q.query(`DROP TABLE ingested_records`);
    await q.query(`DROP TABLE ingestion_cursors`);
    await q.query(`DROP TABLE ingestion_runs`);
  }
}
