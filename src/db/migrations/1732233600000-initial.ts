import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Connectors, applications and the append-only audit trail. */
export class Initial1732233600000 implements MigrationInterface {
  name = 'Initial1732233600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE applications (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        name text NOT NULL,
        description text,
        version int NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        created_by text,
        updated_by text,
        is_deleted boolean NOT NULL DEFAULT false,
        deleted_at timestamptz,
        deleted_by text
      )`);
    await q.query(`CREATE INDEX applications_tenant_id ON applications (tenant_id, id DESC) WHERE NOT is_deleted`);
    await q.query(`CREATE UNIQUE INDEX applications_tenant_name ON applications (tenant_id, lower(name)) WHERE NOT is_deleted`);

    await q.query(`
      CREATE TABLE connectors (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        app_id text,
        application_id varchar(40),
        name text NOT NULL,
        type text NOT NULL,
        provider text NOT NULL,
        scope text NOT NULL DEFAULT 'ORG' CHECK (scope IN ('ORG', 'GROUP', 'USER')),
        owner_id text,
        group_id text,
        user_id text,
        config jsonb NOT NULL DEFAULT '{}',
        auth_type text NOT NULL DEFAULT 'NONE',
        vault_path text,
        credential_fields text[] NOT NULL DEFAULT '{}',
        credential_version int,
        credential_last_rotated_at timestamptz,
        next_rotation_due timestamptz,
        oauth_refresh_needed boolean NOT NULL DEFAULT false,
        oauth_token_expires_at timestamptz,
        enabled boolean NOT NULL DEFAULT false,
        enabled_changed_at timestamptz,
        enabled_changed_by text,
        enabled_reason text,
        sync_status text NOT NULL DEFAULT 'PAUSED',
        run_state text NOT NULL DEFAULT 'STOPPED',
        last_sync_at timestamptz,
        last_checked_at timestamptz,
        consecutive_errors int NOT NULL DEFAULT 0,
        last_error text,
        metrics jsonb NOT NULL DEFAULT '{"totalSynced":0,"last24h":0,"avgLatencyMs":null}',
        event_types text[] NOT NULL DEFAULT '{}',
        webhook_endpoint_id text,
        tags text[] NOT NULL DEFAULT '{}',
        last_test jsonb,
        version int NOT NULL DEFAULT 1,
        schema_version int NOT NULL DEFAULT 1,
        source text NOT NULL DEFAULT 'edm',
        source_type text NOT NULL DEFAULT 'API',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        created_by text,
        updated_by text,
        is_deleted boolean NOT NULL DEFAULT false,
        deleted_at timestamptz,
        deleted_by text,
        CHECK (scope <> 'GROUP' OR group_id IS NOT NULL),
        CHECK (scope <> 'USER' OR user_id IS NOT NULL)
      )`);
    // Ids are ULIDs, so `id DESC` is newest first: lists page by id within a tenant and the
    // filters narrow that same order.
    await q.query(`CREATE INDEX connectors_tenant_id ON connectors (tenant_id, id DESC)`);
    await q.query(`CREATE INDEX connectors_tenant_type ON connectors (tenant_id, type, id DESC)`);
    await q.query(`CREATE INDEX connectors_tenant_provider ON connectors (tenant_id, provider, id DESC)`);
    await q.query(`CREATE INDEX connectors_tenant_enabled ON connectors (tenant_id, enabled, sync_status)`);
    await q.query(`CREATE INDEX connectors_tenant_application ON connectors (tenant_id, application_id, id DESC) WHERE application_id IS NOT NULL`);
    await q.query(`CREATE INDEX connectors_tags ON connectors USING gin (tags)`);

    await q.query(`
      CREATE TABLE audit_events (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        app_id text,
        event_type text NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_type text NOT NULL CHECK (actor_type IN ('USER', 'APPLICATION', 'SYSTEM')),
        actor_id text,
        actor_email text,
        target_type text NOT NULL,
        target_id text NOT NULL,
        connector_id varchar(40),
        changes jsonb,
        reason text,
        request_id text,
        client_ip text,
        user_agent text
      )`);
    // Newest first is `id DESC` (ULIDs minted at occurred_at).
    await q.query(`CREATE INDEX audit_tenant_id ON audit_events (tenant_id, id DESC)`);
    await q.query(`CREATE INDEX audit_tenant_time ON audit_events (tenant_id, occurred_at)`);
    await q.query(`CREATE INDEX audit_tenant_connector ON audit_events (tenant_id, connector_id, id DESC) WHERE connector_id IS NOT NULL`);
    await q.query(`CREATE INDEX audit_tenant_target ON audit_events (tenant_id, target_id, id DESC)`);
    await q.query(`CREATE INDEX audit_tenant_actor ON audit_events (tenant_id, actor_id, id DESC)`);
    await q.query(`CREATE INDEX audit_tenant_email ON audit_events (tenant_id, lower(actor_email), id DESC)`);
    await q.query(`CREATE INDEX audit_tenant_type ON audit_events (tenant_id, event_type, id DESC)`);
    // Append-only, enforced by the database rather than by the code that writes it.
    await q.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
    await q.query(`CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_events_append_only`);
    await q.query(`DROP TABLE connectors`);
    await q.query(`DROP TABLE applications`);
  }
}
