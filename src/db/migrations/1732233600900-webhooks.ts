import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notifications (docs/notifications.md): webhook endpoints of a tenant, the outbox of events, and a
 * delivery per event and endpoint.
 *
 * - An event row is written in the transaction of the change that caused it, together with its
 *   deliveries and their jobs: a rolled-back change sends nothing, a committed one is never lost.
 * - `dedup_key` makes an event at most once per key (a credential rotation due on a date).
 * - The signing secret lives in the secret store; `secret_version` names its current version.
 */
export class Webhooks1732233600900 implements MigrationInterface {
  name = 'Webhooks1732233600900';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_endpoints (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        application_id varchar(40),
        name text NOT NULL,
        url text NOT NULL,
        event_types text[] NOT NULL,
        connector_ids text[],
        enabled boolean NOT NULL DEFAULT true,
        failing_since timestamptz,
        disabled_reason text,
        secret_version int NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by text,
        version int NOT NULL DEFAULT 1
      )`);
    await q.query(`CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id DESC)`);
    await q.query(`
      CREATE TABLE notification_events (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        application_id varchar(40),
        connector_id varchar(40),
        type text NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        payload jsonb NOT NULL,
        dedup_key text
      )`);
    await q.query(`CREATE UNIQUE INDEX notification_events_dedup ON notification_events (tenant_id, dedup_key) WHERE dedup_key IS NOT NULL`);
    await q.query(`CREATE INDEX notification_events_age ON notification_events (occurred_at)`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id varchar(40) PRIMARY KEY,
        tenant_id text NOT NULL,
        endpoint_id varchar(40) NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        event_id varchar(40) NOT NULL REFERENCES notification_events (id) ON DELETE CASCADE,
        status text NOT NULL,
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_attempt_at timestamptz,
        response_status int,
        latency_ms int,
        error text,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, id DESC)`);
    await q.query(`CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE notification_events`);
    await q.query(`DROP TABLE webhook_endpoints`);
  }
}
