/**
 * Webhook endpoints of a tenant (and, for application tokens, of one application): where
 * notifications go. Admins create, change, delete them and rotate their signing secret, each in one
 * transaction with its audit event. The signing secret is in the secret store, shown once.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { assertUrlAllowed, type EgressPolicy } from '../../adapters/http/egress.js';
import type { Principal } from '../../auth/principal.js';
import type { RequestContext } from '../../context/request-context.js';
import { newId } from '../../db/ids.js';
import { SqlParams } from '../../db/sql.js';
import { AppError } from '../../errors/app-error.js';
import { isConnectorError } from '../../errors/connector-error.js';
import { rateLimited } from '../../server/rate-limits.js';
import { actorOf } from '../audit/audit.actor.js';
import { diffChanges } from '../audit/audit.changes.js';
import type { AuditService } from '../audit/audit.service.js';
import { cleanName } from '../connectors/connector.validation.js';
import { connectorVisibility } from '../connectors/connector.visibility.js';
import type { WebhookSecrets } from './webhook-secrets.js';
import { SUBSCRIBABLE_EVENTS, type NotificationEventName } from './notification.events.js';
import { mintWebhookSecret } from './webhook.signing.js';

/**
 * The most endpoints a tenant may have (application endpoints included): creating one more is
 * BAD_USER_INPUT. It bounds `webhookEndpoints`, which answers them all in one list.
 */
export const ENDPOINTS_PER_TENANT = 100;
/** Class id of the advisory lock that serializes endpoint creation per tenant (`pg_advisory_xact_lock(int, int)`), so the cap holds under concurrent creates. */
export const CREATE_LOCK_CLASS = 0x7768;
const CREATE_LOCK_WAIT_MS = 5000;
/** PostgreSQL's lock_not_available: lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03';
const MAX_URL_LENGTH = 2048;
const MAX_CONNECTOR_IDS = 1000;

export interface WebhookEndpointRow {
  id: string;
  tenantId: string;
  applicationId: string | null;
  name: string;
  url: string;
  eventTypes: NotificationEventName[];
  connectorIds: string[] | null;
  enabled: boolean;
  failingSince: Date | null;
  disabledReason: string | null;
  secretVersion: number;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date;
  updatedBy: string | null;
  version: number;
}

export const ENDPOINT_COLUMNS = `e.id, e.tenant_id, e.application_id, e.name, e.url, e.event_types, e.connector_ids, e.enabled, e.failing_since,
  e.disabled_reason, e.secret_version, e.created_at, e.created_by, e.updated_at, e.updated_by, e.version`;

export function toEndpoint(row: Record<string, unknown>): WebhookEndpointRow {
  return {
    id: row.id as string,
    tenantId: row.tenant_id as string,
    applicationId: (row.application_id as string | null) ?? null,
    name: row.name as string,
    url: row.url as string,
    eventTypes: row.event_types as NotificationEventName[],
    connectorIds: (row.connector_ids as string[] | null) ?? null,
    enabled: row.enabled as boolean,
    failingSince: (row.failing_since as Date | null) ?? null,
    disabledReason: (row.disabled_reason as string | null) ?? null,
    secretVersion: Number(row.secret_version),
    createdAt: row.created_at as Date,
    createdBy: (row.created_by as string | null) ?? null,
    updatedAt: row.updated_at as Date,
    updatedBy: (row.updated_by as string | null) ?? null,
    version: Number(row.version),
  };
}

/** What the caller may see of endpoints (alias `e`): its tenant, and its application for application tokens. */
export function endpointVisibility(principal: Principal, sql: SqlParams, alias = 'e'): string {
  const parts = [`${alias}.tenant_id = ${sql.param(principal.tenantId)}`];
  if (principal.appId) parts.push(`${alias}.application_id = ${sql.param(principal.appId)}`);
  return parts.join(' AND ');
}

export interface EndpointInput {
  name?: string | null;
  url?: string | null;
  eventTypes?: NotificationEventName[] | null;
  /** null or absent on create: every connector of the tenant (or application). */
  connectorIds?: string[] | null;
  enabled?: boolean | null;
}

const AUDITED: Array<keyof WebhookEndpointRow> = ['name', 'url', 'eventTypes', 'connectorIds', 'enabled'];

export class WebhookEndpointService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly secrets: WebhookSecrets,
    private readonly egress: EgressPolicy,
  ) {}

  async create(rc: RequestContext, input: EndpointInput): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
    const { principal } = rc;
    const name = cleanName(input.name);
    const url = this.cleanUrl(input.url);
    const eventTypes = cleanEventTypes(input.eventTypes);
    const now = new Date();
    const id = newId('whk', now);
    const secret = mintWebhookSecret();
    return this.dataSource.transaction(async (m) => {
      await this.checkCap(m, principal.tenantId);
      const connectorIds = await this.cleanConnectorIds(m, principal, input.connectorIds);
      const row: WebhookEndpointRow = {
        id,
        tenantId: principal.tenantId,
        applicationId: principal.appId,
        name,
        url,
        eventTypes,
        connectorIds,
        enabled: input.enabled ?? true,
        failingSince: null,
        disabledReason: null,
        secretVersion: 1,
        createdAt: now,
        createdBy: principal.subject,
        updatedAt: now,
        updatedBy: principal.subject,
        version: 1,
      };
      await m.query(
        `INSERT INTO webhook_endpoints (id, tenant_id, application_id, name, url, event_types, connector_ids, enabled, secret_version, created_at, created_by, updated_at, updated_by, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $9, $10, 1)`,
        [id, row.tenantId, row.applicationId, name, url, eventTypes, connectorIds, row.enabled, now, principal.subject],
      );
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'WEBHOOK_ENDPOINT_CREATED',
        targetType: 'WebhookEndpoint',
        targetId: id,
        changes: diffChanges(null, row, AUDITED),
      });
      // Last, so a failed insert leaves no secret behind; a failed write rolls the row back.
      await this.secrets.write(row.tenantId, id, secret, 0);
      return { endpoint: row, secret };
    });
  }

  async update(rc: RequestContext, id: string, input: EndpointInput, expectedVersion?: number | null): Promise<WebhookEndpointRow> {
    const { principal } = rc;
    const patch: Partial<WebhookEndpointRow> = {};
    if (input.name !== undefined) patch.name = cleanName(input.name);
    if (input.url !== undefined) patch.url = this.cleanUrl(input.url);
    if (input.eventTypes !== undefined) patch.eventTypes = cleanEventTypes(input.eventTypes);
    if (input.enabled !== undefined) {
      if (input.enabled === null) throw AppError.badInput('enabled cannot be null', [{ path: 'input.enabled', message: 'must be true or false' }]);
      patch.enabled = input.enabled;
    }
    return this.dataSource.transaction(async (m) => {
      if (input.connectorIds !== undefined) patch.connectorIds = await this.cleanConnectorIds(m, principal, input.connectorIds);
      const before = await this.lock(m, principal, id);
      if (expectedVersion != null && expectedVersion !== before.version) throw AppError.versionConflict('webhook endpoint', id, expectedVersion, before.version);
      const changes = diffChanges(before, { ...before, ...patch }, AUDITED);
      if (!changes || !Object.keys(changes).length) return before;
      const now = new Date();
      const after: WebhookEndpointRow = { ...before, ...patch, updatedAt: now, updatedBy: principal.subject, version: before.version + 1 };
      // Switched on again by a person: the failing mark goes.
      if (patch.enabled === true && !before.enabled) Object.assign(after, { failingSince: null, disabledReason: null });
      await m.query(
        `UPDATE webhook_endpoints SET name = $2, url = $3, event_types = $4, connector_ids = $5, enabled = $6, failing_since = $7, disabled_reason = $8,
                updated_at = $9, updated_by = $10, version = $11 WHERE id = $1`,
        [id, after.name, after.url, after.eventTypes, after.connectorIds, after.enabled, after.failingSince, after.disabledReason, now, principal.subject, after.version],
      );
      await this.audit.record(m, actorOf(rc), { tenantId: principal.tenantId, eventType: 'WEBHOOK_ENDPOINT_UPDATED', targetType: 'WebhookEndpoint', targetId: id, appId: before.applicationId, changes });
      return after;
    });
  }

  /** Deletes the endpoint, its delivery log and its secret. */
  async delete(rc: RequestContext, id: string): Promise<WebhookEndpointRow> {
    const { principal } = rc;
    const deleted = await this.dataSource.transaction(async (m) => {
      const before = await this.lock(m, principal, id);
      await m.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'WEBHOOK_ENDPOINT_DELETED',
        targetType: 'WebhookEndpoint',
        targetId: id,
        appId: before.applicationId,
        changes: diffChanges(before, {}, ['name', 'url']),
      });
      return before;
    });
    await this.secrets.destroy(deleted.tenantId, id);
    return deleted;
  }

  /** A new signing secret (a new version in the secret store), shown once; the old one stops signing at once. */
  async rotateSecret(rc: RequestContext, id: string): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
    const { principal } = rc;
    const secret = mintWebhookSecret();
    return this.dataSource.transaction(async (m) => {
      const before = await this.lock(m, principal, id);
      const written = await this.secrets.write(before.tenantId, id, secret, before.secretVersion);
      const now = new Date();
      const after = { ...before, secretVersion: written, updatedAt: now, updatedBy: principal.subject, version: before.version + 1 };
      await m.query('UPDATE webhook_endpoints SET secret_version = $2, updated_at = $3, updated_by = $4, version = $5 WHERE id = $1', [id, written, now, principal.subject, after.version]);
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'WEBHOOK_SECRET_ROTATED',
        targetType: 'WebhookEndpoint',
        targetId: id,
        appId: before.applicationId,
        changes: { secretVersion: { before: before.secretVersion, after: written } },
      });
      return { endpoint: after, secret };
    });
  }

  async get(principal: Principal, id: string): Promise<WebhookEndpointRow | null> {
    const sql = new SqlParams();
    const [row] = await this.dataSource.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = ${sql.param(id)} AND ${endpointVisibility(principal, sql)}`, sql.values);
    return row ? toEndpoint(row) : null;
  }

  /**
   * Every endpoint the caller can see, newest first: at most ENDPOINTS_PER_TENANT (the cap at
   * creation), so one list without paging; the LIMIT only restates that bound.
   */
  async list(principal: Principal): Promise<WebhookEndpointRow[]> {
    const sql = new SqlParams();
    const rows = await this.dataSource.query(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE ${endpointVisibility(principal, sql)} ORDER BY e.id DESC LIMIT ${sql.param(ENDPOINTS_PER_TENANT)}`,
      sql.values,
    );
    return rows.map(toEndpoint);
  }

  /** The endpoints among `ids` the caller can see (another tenant's or application's are left out), in one statement. */
  async findByIds(principal: Principal, ids: readonly string[]): Promise<WebhookEndpointRow[]> {
    if (!ids.length) return [];
    const sql = new SqlParams();
    const rows = await this.dataSource.query(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = ANY(${sql.param([...new Set(ids)])}::text[]) AND ${endpointVisibility(principal, sql)}`,
      sql.values,
    );
    return rows.map(toEndpoint);
  }

  /** The endpoint, if the caller can see it, locked for the rest of the transaction. */
  async lock(m: EntityManager, principal: Principal, id: string): Promise<WebhookEndpointRow> {
    const sql = new SqlParams();
    const [row] = await m.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = ${sql.param(id)} AND ${endpointVisibility(principal, sql)} FOR UPDATE`, sql.values);
    if (!row) throw AppError.notFound('webhook endpoint', id);
    return toEndpoint(row);
  }

  /**
   * Refuses a new endpoint when the tenant has ENDPOINTS_PER_TENANT already. Creations of one
   * tenant wait for each other here (until their transaction ends), so concurrent ones cannot both
   * take the last place. The wait is bounded: a waiter holds a pooled connection, and the holder
   * needs another one for the secret store, so a burst of creations gives up (RATE_LIMITED, retry)
   * rather than starve the pool.
   */
  private async checkCap(m: EntityManager, tenantId: string): Promise<void> {
    await m.query(`SELECT set_config('lock_timeout', $1, true)`, [`${CREATE_LOCK_WAIT_MS}ms`]);
    try {
      await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CREATE_LOCK_CLASS, tenantId]);
    } catch (error) {
      if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) throw rateLimited('other webhook endpoints of this tenant are being created', 1);
      throw error;
    }
    await m.query(`SET LOCAL lock_timeout TO DEFAULT`);
    const [{ n }] = await m.query('SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1', [tenantId]);
    if (n >= ENDPOINTS_PER_TENANT) {
      throw AppError.badInput(
        `this tenant has ${n} webhook endpoints, the most it may have (${ENDPOINTS_PER_TENANT} per tenant): delete one before creating another`,
        [{ path: 'input', message: `at most ${ENDPOINTS_PER_TENANT} webhook endpoints per tenant` }],
      );
    }
  }

  /** An absolute http(s) URL the egress guard lets us reach; never echoed back in the error. */
  private cleanUrl(value: string | null | undefined): string {
    const bad = (message: string) => AppError.badInput(`url ${message}`, [{ path: 'input.url', message }]);
    if (typeof value !== 'string' || !value.trim()) throw bad('is required');
    if (value.length > MAX_URL_LENGTH) throw bad(`must be at most ${MAX_URL_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      throw bad('must be an absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('must use https (or http)');
    if (url.username || url.password) throw bad('must not carry credentials: the signature authenticates us');
    if (url.hash) throw bad('must not have a fragment');
    try {
      assertUrlAllowed(this.egress, url);
    } catch (error) {
      if (isConnectorError(error)) throw bad(`is not reachable under the egress policy: ${error.message}`);
      throw error;
    }
    return url.toString();
  }

  /** Connector ids the caller can see (all of them, else NOT_FOUND naming the first that is not). */
  private async cleanConnectorIds(m: EntityManager, principal: Principal, value: string[] | null | undefined): Promise<string[] | null> {
    if (value == null) return null;
    if (!Array.isArray(value) || value.length > MAX_CONNECTOR_IDS) {
      throw AppError.badInput(`connectorIds must be a list of at most ${MAX_CONNECTOR_IDS} ids`, [{ path: 'input.connectorIds', message: 'too many' }]);
    }
    const ids = [...new Set(value)];
    if (!ids.length) throw AppError.badInput('connectorIds must name at least one connector, or be null for every connector', [{ path: 'input.connectorIds', message: 'is empty' }]);
    const sql = new SqlParams();
    const rows: Array<{ id: string }> = await m.query(
      `SELECT c.id FROM connectors c WHERE c.id = ANY(${sql.param(ids)}::text[]) AND NOT c.is_deleted AND ${connectorVisibility(principal, 'c', sql)}`,
      sql.values,
    );
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.find((id) => !found.has(id));
    if (missing) throw AppError.notFound('connector', missing);
    return ids.sort();
  }
}

function cleanEventTypes(value: NotificationEventName[] | null | undefined): NotificationEventName[] {
  if (!Array.isArray(value) || !value.length) {
    throw AppError.badInput('eventTypes must name at least one event type', [{ path: 'input.eventTypes', message: 'is empty' }]);
  }
  const unknown = value.find((t) => !SUBSCRIBABLE_EVENTS.includes(t));
  if (unknown) throw AppError.badInput(`eventTypes: ${String(unknown).slice(0, 60)} cannot be subscribed to`, [{ path: 'input.eventTypes', message: 'unknown event type' }]);
  return [...new Set(value)].sort();
}
