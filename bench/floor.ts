/**
 * The raw floor: plain node:http + pg + JSON.stringify, answering the benchmark's four GraphQL
 * operations (recognized by their exact text, bench/scenarios.ts) with the statements the service
 * runs for them — same text, same parameters, same order, same transaction — and the same JSON
 * the service returns. What it leaves out is the framework: no GraphQL parsing, validation or
 * execution, no Fastify, no Apollo plugins, no TypeORM, no DataLoader, no per-request logger.
 * It still verifies the HS256 bearer token (node:crypto) and applies the same visibility rules.
 *
 * The statements are copies of what the service produced when this file was written (captured
 * with LOG_LEVEL=trace): `npm run bench` captures the service's statements again and compares
 * them with the floor's, so a change in src/ shows up as "SQL differs" instead of a wrong ratio.
 *
 * Standalone: DATABASE_URL=… AUTH_JWT_SECRET=… PORT=4100 node dist/bench/floor.js
 * Forked by bench/run.ts: answers the same IPC as bench/service-child.ts (ready, capture, profile, stop).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { monotonicFactory } from 'ulid';
import { createProfiler } from './profiler.js';
import { bindList, encodeBoundCursor } from '../src/context/cursors.js';
import { LIST_FIRST, OPERATIONS, TOGGLE_MUTATION, type GraphQLBody } from './scenarios.js';

/** pg-boss builds its insert statement from this plan; the service's queue.send runs the same text. */
const pgBossPlans = createRequire(import.meta.url)('pg-boss/src/plans.js') as { insertJob(schema: string): string; insertJobs(schema: string): string };
const INSERT_JOB = pgBossPlans.insertJob('pgboss');
/** pg-boss's own batch insert (boss.insert): the minimal floor queues the sync and the health check in one statement. */
const INSERT_JOBS = pgBossPlans.insertJobs('pgboss');

/**
 * What the floor replays:
 * - `same`: the service's own statements (same text, same parameters), the reference the bench always had;
 * - `minimal`: the least work that produces the same response and keeps ingestion correct: reads select
 *   only the columns the 20 fields need; a toggle locks the row reading what it needs, queues or removes
 *   the ingestion work in one statement, and updates only the changed columns together with the audit
 *   row and the outbox event (CTEs) in one more;
 * - `three`: reads as `minimal`; a toggle is SELECT … FOR UPDATE + UPDATE of the changed columns + audit
 *   INSERT and nothing else (no ingestion queue, no outbox: not correct, the absolute floor of a toggle).
 */
export type FloorMode = 'same' | 'minimal' | 'three';

/** connectors' columns in the entity's order (ConnectorEntity), as the service selects and updates them. */
const CONNECTOR_COLUMNS = [
  'id', 'tenant_id', 'app_id', 'application_id', 'name', 'type', 'provider', 'scope', 'owner_id', 'group_id', 'user_id', 'config',
  'auth_type', 'vault_path', 'credential_fields', 'credential_version', 'credential_last_rotated_at', 'next_rotation_due',
  'oauth_refresh_needed', 'oauth_token_expires_at', 'enabled', 'enabled_changed_at', 'enabled_changed_by', 'enabled_reason',
  'sync_status', 'run_state', 'last_sync_at', 'last_checked_at', 'health_candidate', 'health_candidate_count', 'last_record_at',
  'consecutive_errors', 'last_error', 'metrics', 'event_types', 'webhook_endpoint_id', 'tags', 'last_test', 'version',
  'schema_version', 'source', 'source_type', 'alerts_snoozed_until', 'alerts_snooze_reason', 'created_at', 'updated_at', 'created_by', 'updated_by', 'is_deleted', 'deleted_at', 'deleted_by',
] as const;
const SELECT_COLUMNS = CONNECTOR_COLUMNS.map((c) => `c."${c}"`).join(', ');
/**
 * The columns the service reads for the 20 fields, in its order (connector.projection.ts: `id`,
 * then by field name), copied from its trace log: what the same-SQL floor replays.
 */
const SERVICE_READ_COLUMNS = [
  'id', 'application_id', 'auth_type', 'provider', 'config', 'consecutive_errors', 'credential_fields', 'enabled', 'enabled_changed_at', 'last_sync_at',
  'metrics', 'name', 'owner_id', 'run_state', 'scope', 'sync_status', 'tags', 'type', 'updated_at', 'version',
].map((c) => `c."${c}"`).join(', ');
/** The columns the 20 fields of the read scenarios need (bench/scenarios.ts CONNECTOR_FIELDS). */
const READ_COLUMNS = [
  'id', 'name', 'type', 'provider', 'scope', 'application_id', 'owner_id', 'config', 'auth_type', 'credential_fields', 'enabled',
  'enabled_changed_at', 'sync_status', 'run_state', 'last_sync_at', 'consecutive_errors', 'metrics', 'tags', 'version', 'updated_at',
].map((c) => `c."${c}"`).join(', ');
/** What a toggle needs of the locked row: checks, hooks, audit and outbox, and the response. */
const LOCK_COLUMNS_MINIMAL = 'c.id, c.tenant_id, c.application_id, c.name, c.type, c.provider, c.enabled, c.version, c.is_deleted, c.run_state, c.sync_status';
/** Only the columns a toggle changes; the response comes back from RETURNING. */
const TOGGLE_SET = `enabled = $2, enabled_changed_at = $3, enabled_changed_by = $4, enabled_reason = $5, sync_status = $6, health_candidate = NULL,
  health_candidate_count = 0, consecutive_errors = CASE WHEN $2 THEN 0 ELSE consecutive_errors END, run_state = $7, version = version + 1,
  updated_at = $3, updated_by = $4, source_type = $8`;
const TOGGLE_RETURNING = 'RETURNING id, enabled, version, sync_status, run_state, enabled_changed_at';
const AUDIT_VALUES = (from: number) => `(${AUDIT_COLUMNS.map((_, i) => `$${from + i}`).join(', ')})`;
const AUDIT_INSERT_COLUMNS = () => AUDIT_COLUMNS.map((c) => `"${c}"`).join(', ');
/** Minimal floor, step 4: the row, its audit event and its outbox event (as NotificationService.emit writes it) in one statement. */
const TOGGLE_WRITE_MINIMAL = () => `WITH u AS (UPDATE connectors SET ${TOGGLE_SET} WHERE id = $1 ${TOGGLE_RETURNING}),
  s AS (INSERT INTO audit_events (${AUDIT_INSERT_COLUMNS()}) SELECT ${AUDIT_VALUES(9).slice(1, -1)} WHERE $45::boolean),
  a AS (INSERT INTO audit_events (${AUDIT_INSERT_COLUMNS()}) VALUES ${AUDIT_VALUES(27)}),
  n AS (INSERT INTO notification_events (id, tenant_id, application_id, connector_id, type, occurred_at, payload, dedup_key)
        VALUES ($46, $47, $48, $1, $49, $3, $50::jsonb, NULL))
  SELECT * FROM u`;
/** Minimal floor, disable: both queues' queued jobs, the QUEUED runs they leave orphaned, the stop signal and the in-flight count, one statement. */
const DISABLE_PIPELINE_MINIMAL = `WITH del AS (DELETE FROM pgboss.job WHERE name = ANY($2::text[]) AND singleton_key = $1 AND state IN ('created', 'retry') RETURNING id),
  cancelled AS (UPDATE ingestion_runs r SET status = 'CANCELLED', finished_at = $3, error = $4
    WHERE r.connector_id = $1 AND r.status = 'QUEUED'
      AND NOT EXISTS (SELECT 1 FROM pgboss.job j WHERE j.name = 'connector-sync' AND j.id::text = r.job_id AND j.state IN ('created', 'retry', 'active') AND j.id NOT IN (SELECT id FROM del)))
  SELECT pg_notify($5, $6) AS notified, (SELECT count(*)::int FROM ingestion_runs WHERE connector_id = $1 AND status = 'RUNNING') AS running`;
const TOGGLE_UPDATE_THREE = `UPDATE connectors SET ${TOGGLE_SET} WHERE id = $1 ${TOGGLE_RETURNING}`;
/** The columns ConnectorService.toggle writes (its patch, then the versioned write's own four), in its order. */
const TOGGLE_UPDATE_COLUMNS = ['enabled', 'enabled_changed_at', 'enabled_changed_by', 'enabled_reason', 'sync_status', 'health_candidate', 'health_candidate_count', 'consecutive_errors', 'run_state', 'version', 'updated_at', 'updated_by', 'source_type'];
const AUDIT_COLUMNS = ['id', 'tenant_id', 'app_id', 'event_type', 'occurred_at', 'actor_type', 'actor_id', 'actor_email', 'target_type', 'target_id', 'connector_id', 'changes', 'reason', 'request_id', 'client_ip', 'user_agent', 'bulk_id', 'source_type'];
const insertAudit = (first: number) => `INSERT INTO audit_events (${AUDIT_COLUMNS.join(', ')}) VALUES (${AUDIT_COLUMNS.map((_, i) => `$${first + i}`).join(', ')})`;
const INSERT_AUDIT = insertAudit(1);
/** The service's toggle: the row and its CONNECTOR_ENABLED/DISABLED event in one statement (ConnectorService.write). */
const UPDATE_CONNECTOR_WITH_AUDIT = `WITH w AS (UPDATE connectors SET ${TOGGLE_UPDATE_COLUMNS.map((c, i) => `"${c}" = $${i + 2}`).join(', ')} WHERE id = $1) ${insertAudit(TOGGLE_UPDATE_COLUMNS.length + 2)}`;
/** NotificationService.emit for a person's toggle (not snoozable), text copied from the service's trace log. */
const EMIT_TOGGLED = `WITH ev AS (
         INSERT INTO notification_events (id, tenant_id, application_id, connector_id, type, occurred_at, payload, dedup_key)
         SELECT $5::varchar, $6::text, $7::varchar, $8::varchar, $9::text,
                $10::timestamptz, $11::jsonb, $12::text
         ON CONFLICT (tenant_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
         RETURNING id)
       SELECT e.id AS endpoint_id FROM webhook_endpoints e, ev WHERE e.tenant_id = $13 AND e.enabled AND $1 = ANY(e.event_types)
         AND (e.application_id IS NULL OR e.application_id = $2)
         AND (e.connector_ids IS NULL OR $3 = ANY(e.connector_ids)
              OR e.id = (SELECT webhook_endpoint_id FROM connectors WHERE id = $4))`;
const DELETE_QUEUED = `DELETE FROM pgboss.job WHERE name = $1 AND singleton_key = $2 AND state IN ('created', 'retry')`;
// The stop signal and the in-flight count in one statement, as IngestionService.onDisabled sends them.
const NOTIFY_COUNT_RUNNING = `SELECT pg_notify($1, $2) AS notified, (SELECT count(*)::int FROM ingestion_runs WHERE connector_id = $3 AND status = 'RUNNING') AS running`;
// The service's IngestionService.cancelOrphanedRuns, text copied from its trace log.
const CANCEL_ORPHANED_RUNS = `UPDATE ingestion_runs r SET status = 'CANCELLED', finished_at = $2, error = $3
       WHERE r.connector_id = $1 AND r.status = 'QUEUED'
         AND NOT EXISTS (SELECT 1 FROM pgboss.job j WHERE j.name = $4 AND j.id::text = r.job_id AND j.state IN ('created', 'retry', 'active'))`;

type Row = Record<string, unknown>;

interface Principal {
  tenantId: string;
  subject: string;
  email: string | null;
  admin: boolean;
  editor: boolean;
  groups: string[];
  appId: string | null;
}

interface Meta {
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
}

export interface FloorStatement {
  sql: string;
  params: unknown[];
}

class GqlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const ROLE_RANK: Record<string, number> = { viewer: 1, editor: 2, admin: 3 };

function b64url(buffer: Buffer): string {
  return buffer.toString('base64url');
}

/** HS256 only, exp/nbf with the service's 5 s tolerance, tenant and subject required. */
function verifyToken(header: string | undefined, secret: Buffer): Principal {
  const match = header ? /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim()) : null;
  if (!match) throw new GqlError('UNAUTHENTICATED', 'a valid bearer token is required');
  const [h, p, s] = match[1]!.split('.');
  if (!h || !p || !s) throw new GqlError('UNAUTHENTICATED', 'the token is not valid');
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new GqlError('UNAUTHENTICATED', 'the token signature is not valid');
  const headerJson = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
  if (headerJson.alg !== 'HS256') throw new GqlError('UNAUTHENTICATED', 'the token is signed with an algorithm that is not accepted');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const now = Date.now() / 1000;
  if (typeof claims.exp === 'number' && claims.exp < now - 5) throw new GqlError('UNAUTHENTICATED', 'the token has expired');
  if (typeof claims.nbf === 'number' && claims.nbf > now + 5) throw new GqlError('UNAUTHENTICATED', 'the token is not valid yet');
  if (typeof claims.tenant_id !== 'string' || !claims.tenant_id) throw new GqlError('UNAUTHENTICATED', 'the token has no tenant_id claim');
  if (typeof claims.sub !== 'string' || !claims.sub) throw new GqlError('UNAUTHENTICATED', 'the token has no sub claim');
  const roles = Array.isArray(claims.roles) ? (claims.roles as unknown[]).filter((r): r is string => typeof r === 'string') : [];
  const rank = Math.max(0, ...roles.map((r) => ROLE_RANK[r] ?? 0));
  return {
    tenantId: claims.tenant_id,
    subject: claims.sub,
    email: typeof claims.email === 'string' ? claims.email : null,
    admin: rank >= 3,
    editor: rank >= 2,
    groups: Array.isArray(claims.groups) ? (claims.groups as string[]) : [],
    appId: typeof claims.app_id === 'string' && claims.app_id ? claims.app_id : null,
  };
}

/** The service's connectorVisibility, for alias `c`, appending to `params`. */
function visibility(p: Principal, params: unknown[]): string {
  params.push(p.tenantId);
  let sql = `c.tenant_id = $${params.length}`;
  if (p.appId) {
    params.push(p.appId);
    sql += ` AND c.application_id = $${params.length}`;
  }
  if (!p.admin) {
    params.push(p.groups);
    const groups = params.length;
    params.push(p.subject);
    sql += ` AND (c.scope = 'ORG' OR (c.scope = 'GROUP' AND c.group_id = ANY($${groups}::text[])) OR (c.scope = 'USER' AND c.user_id = $${params.length}))`;
  }
  return sql;
}

/** The 20 fields of bench/scenarios.ts CONNECTOR_FIELDS, in selection order. */
function connectorJson(r: Row): Row {
  const metrics = r.metrics as { totalSynced?: number; last24h?: number; avgLatencyMs?: number | null } | null;
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    provider: r.provider,
    scope: r.scope,
    applicationId: r.application_id,
    ownerId: r.owner_id,
    config: r.config,
    authType: r.auth_type,
    credentialFields: r.credential_fields,
    enabled: r.enabled,
    enabledChangedAt: r.enabled_changed_at,
    syncStatus: r.sync_status,
    runState: r.run_state,
    lastSyncAt: r.last_sync_at,
    consecutiveErrors: r.consecutive_errors,
    metrics: { totalSynced: metrics?.totalSynced ?? 0, last24h: metrics?.last24h ?? 0, avgLatencyMs: metrics?.avgLatencyMs ?? null },
    tags: r.tags,
    version: r.version,
    updatedAt: r.updated_at,
  };
}

function toggleJson(r: Row): Row {
  return { id: r.id, enabled: r.enabled, version: r.version, syncStatus: r.sync_status, runState: r.run_state, enabledChangedAt: r.enabled_changed_at };
}

function encodeCursor(id: string): string {
  return b64url(Buffer.from(`v1:${id}`, 'utf8'));
}

const TOGGLE_COLUMN = TOGGLE_MUTATION.indexOf('toggleConnector(') + 1;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface FloorOptions {
  databaseUrl: string;
  jwtSecret: string;
  port?: number;
  host?: string;
  poolSize?: number;
  mode?: FloorMode;
}

export interface Floor {
  url: string;
  /** Records every statement (text and parameters) until `stopCapture`. */
  startCapture(): void;
  stopCapture(): FloorStatement[];
  close(): Promise<void>;
}

export async function startFloor(options: FloorOptions): Promise<Floor> {
  const mode: FloorMode = options.mode ?? 'same';
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 20, application_name: `bench-floor-${mode}` });
  const readColumns = mode === 'same' ? SERVICE_READ_COLUMNS : READ_COLUMNS;
  // The service's cursors are bound to the list and its filter (src/context/cursors.ts): same binding, same text.
  const listBinding = bindList('connectors', {}, /^cnn_[0-9A-Z]{26}$/);
  const secret = Buffer.from(options.jwtSecret, 'utf8');
  const nextUlid = monotonicFactory();
  let captured: FloorStatement[] | null = null;

  type Db = pg.Pool | pg.PoolClient;
  const run = async (db: Db, counter: { n: number }, sql: string, params: unknown[] = []): Promise<Row[]> => {
    counter.n++;
    captured?.push({ sql, params });
    return (await db.query(sql, params)).rows as Row[];
  };

  async function list(p: Principal, counter: { n: number }): Promise<Row> {
    const params: unknown[] = [];
    const where = `${visibility(p, params)} AND NOT c.is_deleted`;
    params.push(LIST_FIRST + 1);
    const rows = await run(pool, counter, `SELECT ${readColumns} FROM connectors c WHERE ${where} ORDER BY c.id DESC LIMIT $${params.length}`, params);
    const nodes = rows.slice(0, LIST_FIRST);
    return {
      connectors: {
        nodes: nodes.map(connectorJson),
        pageInfo: { hasNextPage: rows.length > LIST_FIRST, endCursor: nodes.length ? encodeBoundCursor(listBinding, nodes[nodes.length - 1]!.id as string) : null },
      },
    };
  }

  async function byIds(p: Principal, counter: { n: number }, ids: string[]): Promise<Map<string, Row>> {
    const params: unknown[] = [ids];
    const rows = await run(pool, counter, `SELECT ${readColumns} FROM connectors c WHERE c.id = ANY($1::text[]) AND ${visibility(p, params)}`, params);
    return new Map(rows.map((r) => [r.id as string, r]));
  }

  async function toggle(p: Principal, meta: Meta, counter: { n: number }, vars: Record<string, unknown>): Promise<Row> {
    return mode === 'same' ? toggleSame(p, meta, counter, vars) : toggleLean(p, meta, counter, vars, mode === 'three');
  }

  /**
   * `minimal` and `three`: lock reading only what a toggle needs, then (minimal) the ingestion work
   * in one statement and the row + audit + outbox in one more; (three) UPDATE and audit INSERT only.
   */
  async function toggleLean(p: Principal, meta: Meta, counter: { n: number }, vars: Record<string, unknown>, three: boolean): Promise<Row> {
    if (!p.editor) throw new GqlError('FORBIDDEN', 'this operation needs the editor role');
    const id = String(vars.id);
    const enabled = vars.enabled === true;
    const reason = typeof vars.reason === 'string' && vars.reason.trim() ? vars.reason.trim().slice(0, 500) : null;
    const expectedVersion = typeof vars.expectedVersion === 'number' ? vars.expectedVersion : null;
    const client = await pool.connect();
    try {
      await run(client, counter, 'START TRANSACTION');
      try {
        const params: unknown[] = [id];
        const [before] = await run(client, counter, `SELECT ${LOCK_COLUMNS_MINIMAL} FROM connectors c WHERE c.id = $1 AND ${visibility(p, params)} FOR UPDATE`, params);
        if (!before) throw new GqlError('NOT_FOUND', `connector ${id} was not found`);
        if (before.is_deleted) throw new GqlError('BAD_USER_INPUT', `connector ${id} is deleted: restore it before enabling it`);
        if (expectedVersion !== null && expectedVersion !== before.version) {
          throw new GqlError('VERSION_CONFLICT', `connector ${id} is at version ${before.version}, not ${expectedVersion}: reload it and try again`, { currentVersion: before.version });
        }
        if (before.enabled === enabled) {
          await run(client, counter, 'COMMIT');
          const [row] = await run(pool, counter, 'SELECT id, enabled, version, sync_status, run_state, enabled_changed_at FROM connectors WHERE id = $1', [id]);
          return row!;
        }
        const now = new Date();
        const syncStatus = enabled ? 'PENDING' : 'PAUSED';
        let runState = enabled ? 'STARTING' : 'STOPPED';
        const changes: Row = { enabled: { before: before.enabled, after: enabled } };
        if (before.sync_status !== syncStatus) changes.syncStatus = { before: before.sync_status, after: syncStatus };
        const auditRow = (eventType: string, ch: Row, actorType: string, actorId: string, email: string | null, why: string | null, m: Meta | null) => [
          `aud_${nextUlid()}`, before.tenant_id, before.application_id, eventType, now, actorType, actorId, email, 'Connector', id, id,
          JSON.stringify(ch), why, m?.requestId ?? null, m?.clientIp ?? null, m?.userAgent ?? null, null, m ? 'FRONTEND' : 'SYSTEM',
        ];
        const set = [id, enabled, now, p.subject, reason, syncStatus];
        if (three) {
          const [after] = await run(client, counter, TOGGLE_UPDATE_THREE, [...set, runState, 'FRONTEND']);
          await run(client, counter, INSERT_AUDIT, auditRow(enabled ? 'CONNECTOR_ENABLED' : 'CONNECTOR_DISABLED', changes, 'USER', p.subject, p.email, reason, meta));
          await run(client, counter, 'COMMIT');
          return after!;
        }
        if (enabled) {
          // Both urgent jobs in one insert (disabling removed what was queued, as in the service).
          const jobs = [
            { name: 'connector-sync', data: { connectorId: id, tenantId: before.tenant_id, trigger: 'enable' }, singletonKey: id, priority: 10 },
            { name: 'connector-health', data: { connectorId: id }, singletonKey: id, priority: 10 },
          ];
          await run(client, counter, INSERT_JOBS, [JSON.stringify(jobs), null, null, null, null, null]);
        } else {
          const [{ running }] = (await run(client, counter, DISABLE_PIPELINE_MINIMAL, [
            id, ['connector-health', 'connector-sync'], now, 'cancelled: the connector was disabled before the run started',
            'connector_control', JSON.stringify({ connectorId: id, action: 'stop' }),
          ])) as [{ running: number }];
          if (running) throw new Error('the floor does not model stopping a running ingestion run');
        }
        const stopped = !enabled && before.run_state !== 'STOPPED';
        const eventId = `evt_${nextUlid()}`;
        const payload = {
          id: eventId,
          type: 'connector.toggled',
          timestamp: now.toISOString(),
          data: {
            tenantId: before.tenant_id,
            connector: { id, name: before.name, provider: before.provider, type: before.type, applicationId: before.application_id },
            enabled,
            reason,
            actor: { type: 'USER', id: p.subject },
          },
        };
        const [after] = await run(client, counter, TOGGLE_WRITE_MINIMAL(), [
          ...set, runState, 'FRONTEND',
          ...auditRow('INGESTION_STOPPED', { runState: { before: before.run_state, after: 'STOPPED' } }, 'SYSTEM', 'ingestion', null, 'no run was in flight', null),
          ...auditRow(enabled ? 'CONNECTOR_ENABLED' : 'CONNECTOR_DISABLED', changes, 'USER', p.subject, p.email, reason, meta),
          stopped, eventId, before.tenant_id, before.application_id, payload.type, JSON.stringify(payload),
        ]);
        runState = after!.run_state as string;
        await run(client, counter, 'COMMIT');
        return after!;
      } catch (error) {
        await run(client, counter, 'ROLLBACK');
        throw error;
      }
    } finally {
      client.release();
    }
  }

  async function toggleSame(p: Principal, meta: Meta, counter: { n: number }, vars: Record<string, unknown>): Promise<Row> {
    if (!p.editor) throw new GqlError('FORBIDDEN', 'this operation needs the editor role');
    const id = String(vars.id);
    const enabled = vars.enabled === true;
    const reason = typeof vars.reason === 'string' && vars.reason.trim() ? vars.reason.trim().slice(0, 500) : null;
    const expectedVersion = typeof vars.expectedVersion === 'number' ? vars.expectedVersion : null;
    const client = await pool.connect();
    try {
      await run(client, counter, 'START TRANSACTION');
      try {
        // As ConnectorService.lockVisible: the visibility's parameters first, then the id.
        const params: unknown[] = [];
        const visible = visibility(p, params);
        params.push(id);
        const [before] = await run(client, counter, `SELECT ${SELECT_COLUMNS} FROM connectors c WHERE c.id = $${params.length} AND ${visible} FOR UPDATE`, params);
        if (!before) throw new GqlError('NOT_FOUND', `connector ${id} was not found`);
        if (before.is_deleted) throw new GqlError('BAD_USER_INPUT', `connector ${id} is deleted: restore it before enabling it`);
        if (expectedVersion !== null && expectedVersion !== before.version) {
          throw new GqlError('VERSION_CONFLICT', `connector ${id} is at version ${before.version}, not ${expectedVersion}: reload it and try again`, { currentVersion: before.version });
        }
        if (before.enabled === enabled) {
          await run(client, counter, 'COMMIT');
          return before;
        }
        const now = new Date();
        const audit = (eventType: string, changes: Row, actor: { type: string; id: string; email: string | null }, why: string | null, m: Meta | null) =>
          run(client, counter, INSERT_AUDIT, [
            `aud_${nextUlid()}`, before.tenant_id, before.application_id, eventType, new Date(), actor.type, actor.id, actor.email, 'Connector', id, id,
            JSON.stringify(changes), why, m?.requestId ?? null, m?.clientIp ?? null, m?.userAgent ?? null, null, m ? 'FRONTEND' : 'SYSTEM',
          ]);
        let runState = before.run_state as string;
        if (enabled) runState = 'STARTING';
        else {
          await run(client, counter, DELETE_QUEUED, ['connector-health', id]);
          await run(client, counter, DELETE_QUEUED, ['connector-sync', id]);
          await run(client, counter, CANCEL_ORPHANED_RUNS, [id, new Date(), 'cancelled: the connector was disabled before the run started', 'connector-sync']);
          const [{ running }] = (await run(client, counter, NOTIFY_COUNT_RUNNING, ['connector_control', JSON.stringify({ connectorId: id, action: 'stop' }), id])) as [{ running: number }];
          if (running) throw new Error('the floor does not model stopping a running ingestion run');
          if (runState !== 'STOPPED') {
            await audit('INGESTION_STOPPED', { runState: { before: runState, after: 'STOPPED' } }, { type: 'SYSTEM', id: 'ingestion', email: null }, 'no run was in flight', null);
          }
          runState = 'STOPPED';
        }
        const after: Row = {
          ...before,
          enabled,
          enabled_changed_at: now,
          enabled_changed_by: p.subject,
          enabled_reason: reason,
          sync_status: enabled ? 'PENDING' : 'PAUSED',
          health_candidate: null,
          health_candidate_count: 0,
          consecutive_errors: enabled ? 0 : before.consecutive_errors,
          run_state: runState,
          version: (before.version as number) + 1,
          updated_at: new Date(),
          updated_by: p.subject,
          source_type: 'FRONTEND',
        };
        if (enabled) {
          // IngestionService.onEnabled and HealthService.scheduleFirst: the urgent first sync and check (disabling removed what was queued).
          const job = (name: string, data: object) => [null, name, data, 10, null, id, null, 0, null, null, null, null, null, null, null, null, null, null, null];
          await run(client, counter, INSERT_JOB, job('connector-sync', { connectorId: id, tenantId: before.tenant_id, trigger: 'enable' }));
          await run(client, counter, INSERT_JOB, job('connector-health', { connectorId: id }));
        }
        const changes: Row = { enabled: { before: before.enabled, after: enabled } };
        if (before.sync_status !== after.sync_status) changes.syncStatus = { before: before.sync_status, after: after.sync_status };
        await run(client, counter, UPDATE_CONNECTOR_WITH_AUDIT, [
          id, ...TOGGLE_UPDATE_COLUMNS.map((c) => after[c]),
          `aud_${nextUlid()}`, before.tenant_id, before.application_id, enabled ? 'CONNECTOR_ENABLED' : 'CONNECTOR_DISABLED', new Date(), 'USER', p.subject, p.email, 'Connector', id, id,
          JSON.stringify(changes), reason, meta.requestId, meta.clientIp, meta.userAgent, null, 'FRONTEND',
        ]);
        const eventId = `evt_${nextUlid()}`;
        const payload = {
          id: eventId,
          type: 'connector.toggled',
          timestamp: now.toISOString(),
          data: {
            tenantId: before.tenant_id,
            connector: { id, name: before.name, provider: before.provider, type: before.type, applicationId: before.application_id },
            enabled,
            reason,
            actor: { type: 'USER', id: p.subject },
          },
        };
        await run(client, counter, EMIT_TOGGLED, [
          'CONNECTOR_TOGGLED', before.application_id, id, id,
          eventId, before.tenant_id, before.application_id, id, payload.type, now, JSON.stringify(payload), null,
          before.tenant_id,
        ]);
        await run(client, counter, 'COMMIT');
        return after;
      } catch (error) {
        await run(client, counter, 'ROLLBACK');
        throw error;
      }
    } finally {
      client.release();
    }
  }

  async function execute(body: GraphQLBody, p: Principal, meta: Meta, counter: { n: number }): Promise<Row> {
    const vars = body.variables ?? {};
    switch (OPERATIONS.get(body.query)) {
      case 'list':
        return list(p, counter);
      case 'byId': {
        const id = String(vars.id);
        const row = (await byIds(p, counter, [id])).get(id);
        return { connector: row ? connectorJson(row) : null };
      }
      case 'entities': {
        const reps = (vars.representations ?? []) as Array<{ __typename?: string; id?: string }>;
        const ids = [...new Set(reps.filter((r) => r.__typename === 'Connector' && typeof r.id === 'string').map((r) => r.id!))];
        const rows = ids.length ? await byIds(p, counter, ids) : new Map<string, Row>();
        return { _entities: reps.map((r) => (r.__typename === 'Connector' && rows.has(r.id!) ? connectorJson(rows.get(r.id!)!) : null)) };
      }
      case 'toggle':
        return { toggleConnector: toggleJson(await toggle(p, meta, counter, vars)) };
      default:
        throw new GqlError('BAD_USER_INPUT', 'the floor answers only the benchmark operations');
    }
  }

  const send = (res: ServerResponse, status: number, payload: string, requestId: string, statements: number) => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      'x-request-id': requestId,
      'x-sql-statements': String(statements),
    });
    res.end(payload);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    if (req.method === 'GET' && req.url === '/readyz') return send(res, 200, '{"status":"ready"}', requestId, 0);
    if (req.method !== 'POST' || req.url !== '/graphql') return send(res, 404, '{"error":"not found"}', requestId, 0);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const counter = { n: 0 };
      let body: GraphQLBody | undefined;
      void (async () => {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GraphQLBody;
          const principal = verifyToken(req.headers.authorization, secret);
          const meta: Meta = { requestId, clientIp: req.socket.remoteAddress ?? null, userAgent: req.headers['user-agent']?.slice(0, 512) ?? null };
          const data = await execute(body, principal, meta, counter);
          send(res, 200, JSON.stringify({ data }), requestId, counter.n);
        } catch (error) {
          const known = error instanceof GqlError;
          const code = known ? error.code : 'INTERNAL_SERVER_ERROR';
          const message = known ? error.message : `Internal server error (request ${requestId})`;
          if (!known) console.error('floor:', error);
          const isToggle = body?.query === TOGGLE_MUTATION;
          const located = isToggle ? { locations: [{ line: 1, column: TOGGLE_COLUMN }], path: ['toggleConnector'] } : {};
          send(res, 200, JSON.stringify({ errors: [{ message, ...located, extensions: { code, ...(known ? error.extra : { requestId }) } }], data: null }), requestId, counter.n);
        }
      })();
    });
  });
  server.keepAliveTimeout = 72_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    startCapture() {
      captured = [];
    },
    stopCapture() {
      const statements = captured ?? [];
      captured = null;
      return statements;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const databaseUrl = process.env.DATABASE_URL;
  const jwtSecret = process.env.AUTH_JWT_SECRET;
  if (!databaseUrl || !jwtSecret) {
    console.error('floor: set DATABASE_URL and AUTH_JWT_SECRET');
    process.exit(2);
  }
  const mode = (process.env.FLOOR_MODE ?? 'same') as FloorMode;
  if (!['same', 'minimal', 'three'].includes(mode)) throw new Error(`FLOOR_MODE must be same, minimal or three, not ${mode}`);
  const floor = await startFloor({ databaseUrl, jwtSecret, port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1', mode });
  if (process.send) {
    const send = (message: object) => process.send!(message);
    const profiler = createProfiler();
    process.on('message', (message: { type: string; file?: string }) => {
      void (async () => {
        switch (message.type) {
          case 'capture-start':
            floor.startCapture();
            return send({ type: 'ok' });
          case 'capture-stop':
            return send({ type: 'captured', statements: floor.stopCapture(), traceLines: 0 });
          case 'profile-start':
            await profiler.start();
            return send({ type: 'ok' });
          case 'profile-stop':
            await profiler.stop(message.file!);
            return send({ type: 'profiled', file: message.file });
          case 'stop':
            await floor.close();
            process.exit(0);
        }
      })().catch((error: unknown) => send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
    });
    process.on('disconnect', () => void floor.close().finally(() => process.exit(0)));
    send({ type: 'ready', url: floor.url, ms: Date.now() - started });
  } else console.log(`floor listening on ${floor.url}/graphql`);
}
