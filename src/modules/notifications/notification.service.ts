/**
 * Notifications: events about connectors, delivered to webhook endpoints per the Standard Webhooks
 * specification.
 *
 * - `emit` runs inside the transaction of the change that caused the event (outbox): the event row,
 *   one delivery per matching endpoint and each delivery's job commit with the change or not at all.
 *   A crash after the commit leaves the jobs in the queue: they run after the restart.
 * - A delivery is a job of its own: POST through the shared HTTP client (egress guard, timeouts),
 *   signed with the endpoint's secret. Not 2xx: retried on the schedule (about a day, with jitter);
 *   after the last attempt the delivery fails and the endpoint is switched off as failing, audited.
 * - Deliveries are at least once; receivers deduplicate by `webhook-id` (the event id).
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { HttpClient } from '../../adapters/http/client.js';
import type { Principal } from '../../auth/principal.js';
import type { RequestContext } from '../../context/request-context.js';
import { bindList, keysetSql, pageWindow, type CursorBinding, type PageArgs, type PageWindow } from '../../context/cursors.js';
import { newId } from '../../db/ids.js';
import { SqlParams } from '../../db/sql.js';
import { AppError } from '../../errors/app-error.js';
import { QUEUES, type JobQueue } from '../../jobs/job-queue.js';
import type { Logger } from '../../server/logger.js';
import { systemActor } from '../audit/audit.actor.js';
import type { AuditService } from '../audit/audit.service.js';
import { endpointVisibility, type WebhookEndpointService } from './webhook-endpoint.service.js';
import type { WebhookSecrets } from './webhook-secrets.js';
import { NOTIFICATION_EVENT_TYPES, connectorRefOfRow, isSnoozable, type ConnectorRef, type NotificationEventName, type NotificationInput } from './notification.events.js';
import { signWebhook } from './webhook.signing.js';

export const DELIVERY_PAGE_MAX = 100;
const DELIVERY_KEY = /^dlv_[0-9A-Z]{26}$/;
export const DELIVERY_STATUSES = ['PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'SKIPPED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryJob {
  deliveryId: string;
}

export interface NotificationOptions {
  /** Waits before each retry, in seconds; after the last one the delivery has failed. */
  retryScheduleSec: number[];
  /** Budget of one POST. */
  timeoutMs: number;
}

const MONITOR = systemActor('webhooks');
const ERROR_MAX = 500;

export interface DeliveryRow {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: NotificationEventName;
  connectorId: string | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  responseStatus: number | null;
  latencyMs: number | null;
  error: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

const DELIVERY_COLUMNS = `d.id, d.endpoint_id, d.event_id, ev.type AS event_type, ev.connector_id, d.status, d.attempts, d.next_attempt_at, d.last_attempt_at,
  d.response_status, d.latency_ms, d.error, d.delivered_at, d.created_at`;

const WIRE_TO_NAME = new Map(Object.entries(NOTIFICATION_EVENT_TYPES).map(([name, wire]) => [wire as string, name as NotificationEventName]));

function toDelivery(row: Record<string, unknown>): DeliveryRow {
  return {
    id: row.id as string,
    endpointId: row.endpoint_id as string,
    eventId: row.event_id as string,
    eventType: WIRE_TO_NAME.get(row.event_type as string)!,
    connectorId: (row.connector_id as string | null) ?? null,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: (row.next_attempt_at as Date | null) ?? null,
    lastAttemptAt: (row.last_attempt_at as Date | null) ?? null,
    responseStatus: row.response_status === null ? null : Number(row.response_status),
    latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
    error: (row.error as string | null) ?? null,
    deliveredAt: (row.delivered_at as Date | null) ?? null,
    createdAt: row.created_at as Date,
  };
}

/** ±20 % around the scheduled wait, so endpoints that failed together are not retried together. */
function withJitter(sec: number): number {
  return Math.max(0, sec * (0.8 + Math.random() * 0.4));
}

export class NotificationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: JobQueue,
    private readonly http: HttpClient,
    private readonly secrets: WebhookSecrets,
    private readonly endpoints: WebhookEndpointService,
    private readonly audit: AuditService,
    private readonly logger: Logger,
    private readonly options: NotificationOptions,
  ) {}

  /**
   * Writes the event and a delivery (with its job) for each enabled endpoint of the connector's
   * tenant that subscribed to the type: tenant-wide endpoints, endpoints naming the connector, and
   * the connector's own `webhookEndpointId`; application endpoints see their application's
   * connectors only. Runs in `m`, the transaction of the change. With no endpoint: one statement.
   *
   * Snoozed alerts: an alert the system raises (`isSnoozable`) about a connector whose
   * `alerts_snoozed_until` is still ahead is not written at all, in the same one statement. Checked
   * here rather than at each call site, so no alert path can forget it.
   */
  async emit(m: EntityManager, input: NotificationInput & { only?: { endpointId: string } }): Promise<string[]> {
    const now = new Date();
    const eventId = newId('evt', now);
    const c = input.connector;
    const payload = {
      id: eventId,
      type: NOTIFICATION_EVENT_TYPES[input.type],
      timestamp: now.toISOString(),
      data: {
        tenantId: c.tenantId,
        ...(c.id ? { connector: { id: c.id, name: c.name, provider: c.provider, type: c.type, applicationId: c.applicationId } } : {}),
        ...input.data,
      },
    };
    const sql = new SqlParams();
    const snoozeGuard = !input.only && isSnoozable(input)
      ? `\n         WHERE NOT EXISTS (SELECT 1 FROM connectors s WHERE s.id = ${sql.param(c.id)} AND s.alerts_snoozed_until > statement_timestamp())`
      : '';
    const endpointFilter = input.only
      ? `e.id = ${sql.param(input.only.endpointId)}`
      : `e.enabled AND ${sql.param(input.type)} = ANY(e.event_types)
         AND (e.application_id IS NULL OR e.application_id = ${sql.param(c.applicationId)})
         AND (e.connector_ids IS NULL OR ${sql.param(c.id)} = ANY(e.connector_ids)
              OR e.id = (SELECT webhook_endpoint_id FROM connectors WHERE id = ${sql.param(c.id)}))`;
    const rows: Array<{ endpoint_id: string }> = await m.query(
      `WITH ev AS (
         INSERT INTO notification_events (id, tenant_id, application_id, connector_id, type, occurred_at, payload, dedup_key)
         SELECT ${sql.param(eventId)}::varchar, ${sql.param(c.tenantId)}::text, ${sql.param(c.applicationId)}::varchar, ${sql.param(c.id || null)}::varchar, ${sql.param(payload.type)}::text,
                ${sql.param(now)}::timestamptz, ${sql.param(JSON.stringify(payload))}::jsonb, ${sql.param(input.dedupKey ?? null)}::text${snoozeGuard}
         ON CONFLICT (tenant_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
         RETURNING id)
       SELECT e.id AS endpoint_id FROM webhook_endpoints e, ev WHERE e.tenant_id = ${sql.param(c.tenantId)} AND ${endpointFilter}`,
      sql.values,
    );
    if (!rows.length) return [];
    const deliveryIds = rows.map(() => newId('dlv', now));
    await m.query(
      `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, next_attempt_at, created_at)
       SELECT u.id, $1, u.endpoint_id, $2, 'PENDING', $3, $3 FROM unnest($4::text[], $5::text[]) AS u(id, endpoint_id)`,
      [c.tenantId, eventId, now, deliveryIds, rows.map((r) => r.endpoint_id)],
    );
    for (const deliveryId of deliveryIds) await this.queue.send(QUEUES.webhook, { deliveryId } satisfies DeliveryJob, { manager: m });
    return deliveryIds;
  }

  /** A delivery job: one attempt, then the next one scheduled, or the outcome recorded. */
  async deliver(job: DeliveryJob): Promise<void> {
    await this.attempt(job.deliveryId, true);
  }

  /**
   * POSTs the event once and records the outcome. `retry`: a failure schedules the next attempt
   * (and the last one switches the endpoint off); without it (a test webhook) it just fails.
   */
  private async attempt(deliveryId: string, retry: boolean): Promise<DeliveryRow | null> {
    const [row] = await this.dataSource.query(
      `SELECT d.status, d.attempts, d.tenant_id, e.id AS endpoint_id, e.url, e.enabled, e.secret_version, ev.id AS event_id, ev.occurred_at, ev.payload
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN notification_events ev ON ev.id = d.event_id
        WHERE d.id = $1`,
      [deliveryId],
    );
    // Gone with its endpoint, or settled already (a job run twice after a crash).
    if (!row || (row.status !== 'PENDING' && row.status !== 'RETRYING')) return null;
    if (!row.enabled) {
      await this.dataSource.query(`UPDATE webhook_deliveries SET status = 'SKIPPED', error = 'the endpoint is disabled', next_attempt_at = NULL WHERE id = $1 AND status IN ('PENDING', 'RETRYING')`, [deliveryId]);
      return this.delivery(deliveryId);
    }
    const secret = await this.secrets.read(row.tenant_id, row.endpoint_id, Number(row.secret_version));
    // Compact JSON, the same bytes on every attempt and redelivery (jsonb keeps one key order).
    const body = JSON.stringify(row.payload);
    const started = new Date();
    let status: number | null = null;
    let error: string | null = null;
    const t0 = performance.now();
    if (!secret) {
      error = 'the signing secret is missing from the secret store';
    } else {
      try {
        const response = await this.http.request<string>({
          method: 'POST',
          url: row.url,
          headers: { 'content-type': 'application/json', ...signWebhook(secret, row.event_id, started, body) },
          body,
          responseType: 'text',
          throwHttpErrors: false,
          idempotent: false,
          timeoutMs: this.options.timeoutMs,
          maxResponseBytes: 64 * 1024,
          secrets: [secret],
        });
        status = response.status;
        if (status < 200 || status >= 300) error = `the endpoint answered HTTP ${status}`;
      } catch (e) {
        error = this.http.scrub(e instanceof Error ? e.message : String(e), [secret]).slice(0, ERROR_MAX);
      }
    }
    const latencyMs = Math.round(performance.now() - t0);
    await this.dataSource.transaction(async (m) => {
      const [current] = await m.query(`SELECT attempts, status FROM webhook_deliveries WHERE id = $1 FOR UPDATE`, [deliveryId]);
      if (!current || (current.status !== 'PENDING' && current.status !== 'RETRYING')) return;
      const attempts = Number(current.attempts) + 1;
      const common = [deliveryId, attempts, started, status, latencyMs, error];
      if (!error) {
        await m.query(
          `UPDATE webhook_deliveries SET status = 'SUCCEEDED', attempts = $2, last_attempt_at = $3, response_status = $4, latency_ms = $5, error = $6, delivered_at = now(), next_attempt_at = NULL WHERE id = $1`,
          common,
        );
        return;
      }
      const waitSec = retry ? this.options.retryScheduleSec[attempts - 1] : undefined;
      if (waitSec !== undefined) {
        const delaySec = withJitter(waitSec);
        await m.query(
          `UPDATE webhook_deliveries SET status = 'RETRYING', attempts = $2, last_attempt_at = $3, response_status = $4, latency_ms = $5, error = $6,
                  next_attempt_at = now() + make_interval(secs => $7) WHERE id = $1`,
          [...common, delaySec],
        );
        // pg-boss counts whole seconds; below one second a date says it exactly.
        await this.queue.send(QUEUES.webhook, { deliveryId } satisfies DeliveryJob, { manager: m, startAfter: new Date(Date.now() + delaySec * 1000) });
        return;
      }
      await m.query(
        `UPDATE webhook_deliveries SET status = 'FAILED', attempts = $2, last_attempt_at = $3, response_status = $4, latency_ms = $5, error = $6, next_attempt_at = NULL WHERE id = $1`,
        common,
      );
      if (retry) await this.disableFailing(m, row.endpoint_id, row.tenant_id, attempts, error);
    });
    return this.delivery(deliveryId);
  }

  /** Every attempt of a delivery failed: the endpoint is switched off as failing, audited as SYSTEM. */
  private async disableFailing(m: EntityManager, endpointId: string, tenantId: string, attempts: number, error: string): Promise<void> {
    const reason = `disabled after ${attempts} failed delivery attempts; last: ${error}`.slice(0, 1000);
    // An UPDATE answers [rows, count].
    const [[endpoint]] = await m.query(
      `UPDATE webhook_endpoints SET enabled = false, failing_since = now(), disabled_reason = $2, updated_at = now(), updated_by = 'system', version = version + 1
        WHERE id = $1 AND enabled RETURNING application_id`,
      [endpointId, reason],
    );
    if (!endpoint) return;
    this.logger.warn({ endpointId, attempts }, 'webhook endpoint disabled: deliveries keep failing');
    await this.audit.record(m, MONITOR, {
      tenantId,
      eventType: 'WEBHOOK_ENDPOINT_DISABLED',
      targetType: 'WebhookEndpoint',
      targetId: endpointId,
      appId: endpoint.application_id,
      changes: { enabled: { before: true, after: false } },
      reason,
    });
  }

  /** Sends a `webhook.test` event to one endpoint now and answers with the attempt's outcome (no retries). */
  async sendTest(rc: RequestContext, endpointId: string): Promise<DeliveryRow> {
    const { principal } = rc;
    const [deliveryId] = await this.dataSource.transaction(async (m) => {
      const endpoint = await this.endpoints.lock(m, principal, endpointId);
      if (!endpoint.enabled) throw AppError.badInput(`webhook endpoint ${endpointId} is disabled: enable it before testing it`, [{ path: 'endpointId', message: 'is disabled' }]);
      const connector: ConnectorRef = { id: '', tenantId: endpoint.tenantId, applicationId: endpoint.applicationId, name: '', provider: '', type: '' };
      return this.emit(m, { type: 'WEBHOOK_TEST', connector, data: { endpointId, message: 'a test event sent by sendTestWebhook' }, only: { endpointId } });
    });
    return (await this.attempt(deliveryId!, false)) ?? (await this.delivery(deliveryId!))!;
  }

  /** Sends a delivery's event again to its endpoint, as a new delivery with the same `webhook-id`. */
  async redeliver(rc: RequestContext, deliveryId: string): Promise<DeliveryRow> {
    const { principal } = rc;
    const id = await this.dataSource.transaction(async (m) => {
      const sql = new SqlParams();
      const [row] = await m.query(
        `SELECT d.endpoint_id, d.event_id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
          WHERE d.id = ${sql.param(deliveryId)} AND ${endpointVisibility(principal, sql)}`,
        sql.values,
      );
      if (!row) throw AppError.notFound('webhook delivery', deliveryId);
      const endpoint = await this.endpoints.lock(m, principal, row.endpoint_id);
      if (!endpoint.enabled) throw AppError.badInput(`webhook endpoint ${endpoint.id} is disabled: enable it before redelivering`, [{ path: 'deliveryId', message: 'its endpoint is disabled' }]);
      const now = new Date();
      const newDelivery = newId('dlv', now);
      await m.query(
        `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'PENDING', $5, $5)`,
        [newDelivery, endpoint.tenantId, endpoint.id, row.event_id, now],
      );
      await this.queue.send(QUEUES.webhook, { deliveryId: newDelivery } satisfies DeliveryJob, { manager: m });
      return newDelivery;
    });
    return (await this.delivery(id))!;
  }

  /** An endpoint's delivery log with this status filter, for cursors bound to it (cursors.ts): a cursor of another endpoint or filter is refused. */
  static deliveriesBinding(endpointId: string, status?: DeliveryStatus[] | null): CursorBinding {
    return bindList('webhookDeliveries', { endpointId, status: status?.length ? [...new Set(status)].sort() : null }, DELIVERY_KEY);
  }

  /**
   * The delivery log of an endpoint the caller can see, newest first: `limit + 1` rows from the
   * window's side (reverse order when it pages backwards), in one statement after the endpoint's check.
   */
  async deliveries(principal: Principal, endpointId: string, args: PageArgs, status?: DeliveryStatus[] | null): Promise<{ rows: DeliveryRow[]; window: PageWindow }> {
    const window = pageWindow(args, DELIVERY_PAGE_MAX, NotificationService.deliveriesBinding(endpointId, status));
    if (!(await this.endpoints.get(principal, endpointId))) throw AppError.notFound('webhook endpoint', endpointId);
    const sql = new SqlParams();
    const where = [`d.tenant_id = ${sql.param(principal.tenantId)}`, `d.endpoint_id = ${sql.param(endpointId)}`];
    if (status?.length) where.push(`d.status = ANY(${sql.param(status)}::text[])`);
    const keyset = keysetSql(window, 'd.id', (v) => sql.param(v));
    where.push(...keyset.where);
    const rows = await this.dataSource.query(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN notification_events ev ON ev.id = d.event_id
        WHERE ${where.join(' AND ')} ORDER BY d.id ${keyset.order} LIMIT ${sql.param(window.limit + 1)}`,
      sql.values,
    );
    return { rows: rows.map(toDelivery), window };
  }

  private async delivery(id: string): Promise<DeliveryRow | null> {
    const [row] = await this.dataSource.query(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN notification_events ev ON ev.id = d.event_id WHERE d.id = $1`, [id]);
    return row ? toDelivery(row) : null;
  }

  /**
   * `credentials.rotation_due` for every live connector whose `nextRotationDue` has passed: at most
   * one event per connector and due date, however often this runs (the event's dedup key).
   * Also drops events older than `retentionDays` (their deliveries with them). Returns events sent.
   */
  async sweep(retentionDays: number): Promise<number> {
    const due: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT c.id, c.tenant_id, c.application_id, c.name, c.provider, c.type, c.next_rotation_due,
              'rotation_due:' || c.id || ':' || to_char(c.next_rotation_due AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS dedup_key
         FROM connectors c
        WHERE NOT c.is_deleted AND c.next_rotation_due <= now()
          AND NOT EXISTS (SELECT 1 FROM notification_events n WHERE n.tenant_id = c.tenant_id
                           AND n.dedup_key = 'rotation_due:' || c.id || ':' || to_char(c.next_rotation_due AT TIME ZONE 'UTC', 'YYYY-MM-DD'))
        LIMIT 1000`,
    );
    let sent = 0;
    for (const c of due) {
      await this.dataSource.transaction(async (m) => {
        await this.emit(m, {
          type: 'CREDENTIALS_ROTATION_DUE',
          connector: connectorRefOfRow(c),
          data: { nextRotationDue: (c.next_rotation_due as Date).toISOString() },
          dedupKey: c.dedup_key as string,
        });
      });
      sent++;
    }
    await this.dataSource.query(`DELETE FROM notification_events WHERE occurred_at < now() - make_interval(days => $1)`, [retentionDays]);
    return sent;
  }
}
