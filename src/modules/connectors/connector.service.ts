import type { DataSource, EntityManager } from 'typeorm';
import pLimit from 'p-limit';
import type { Notify } from '../notifications/notification.events.js';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import type { Principal } from '../../auth/principal.js';
import { isAdmin } from '../../auth/principal.js';
import { columnList, createHydrator } from '../../db/hydrate.js';
import { latestPerParentMapped } from '../../db/latest-per-parent.js';
import { newId } from '../../db/ids.js';
import { operationalSettings } from '../../adapters/operations.js';
import type { SecretVersionInfo } from '../../secrets/contract.js';
import { SqlParams } from '../../db/sql.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestContext, SourceType } from '../../context/request-context.js';
import { bindList, keysetSql, pageWindow, type CursorBinding, type PageArgs, type PageWindow } from '../../context/cursors.js';
import { actorOf, systemActor, type Actor } from '../audit/audit.actor.js';
import { isPushProvider, listAdapters } from '../../adapters/registry.js';
import { PUSH_ROUTES_CHANNEL } from '../intake/syslog/channel.js';
import { diffChanges } from '../audit/audit.changes.js';
import type { AuditService } from '../audit/audit.service.js';
import type { ApplicationService } from '../applications/application.service.js';
import type { Logger } from '../../server/logger.js';
import type { CredentialService } from './credential.service.js';
import { ConnectorEntity } from './connector.entity.js';
import type { ConnectorScope, RunState } from './connector.enums.js';
import type { BulkToggleInput, ConnectorFilter, CreateConnectorInput, UpdateConnectorInput } from './connector.inputs.js';
import { cleanEventTypes, cleanId, cleanName, cleanReason, cleanSource, cleanTags, DEFAULT_SOURCE, LIMITS, requireReason } from './connector.validation.js';
import { connectorVisibility } from './connector.visibility.js';
import { FULL_PROJECTION, snoozedAt, type ConnectorProjection } from './connector.projection.js';
import type { BulkOutcome, Connector } from './connector.type.js';
import { redactConfig, requireAdapter, validateAuthType, validateConfig, validateCredentials } from './provider-catalog.js';

export const CONNECTOR_PAGE_MAX = 200;
/** A connector's keyset position in its lists: its id. */
const CONNECTOR_KEY = /^cnn_[0-9A-Z]{26}$/;

/** Fields whose changes are recorded in CONNECTOR_CREATED / CONNECTOR_UPDATED events. */
const AUDITED = [
  'name',
  'provider',
  'type',
  'scope',
  'groupId',
  'userId',
  'applicationId',
  'config',
  'authType',
  'eventTypes',
  'tags',
  'webhookEndpointId',
  'enabled',
  'source',
] as const satisfies readonly (keyof ConnectorEntity)[];

/** Set by every versioned write, after the patch's own columns. */
const VERSIONED = new Set(['version', 'updatedAt', 'updatedBy', 'sourceType']);

/** At most this many connectors per `toggleConnectors` call. */
export const BULK_TOGGLE_MAX = 1000;
/** Per-connector toggles of one bulk call in flight at once (each its own transaction and pool connection). */
export const BULK_TOGGLE_CONCURRENCY = 8;
/** A snooze ends at most this far ahead. */
export const SNOOZE_MAX_DAYS = 30;

export interface BulkToggleResult {
  bulkId: string;
  dryRun: boolean;
  results: Array<{ connectorId: string; outcome: BulkOutcome; error: string | null }>;
}

/** True while the connector's alerts are snoozed: alert notifications and automatic disabling are suppressed. */
export function alertsSnoozed(c: Pick<ConnectorEntity, 'alertsSnoozedUntil'>, now: Date = new Date()): boolean {
  return snoozedAt(c.alertsSnoozedUntil, now);
}

/** Who a versioned write is by: `updatedBy`, and where it came from (`sourceType`). */
interface WriteBy {
  subject: string;
  sourceType: SourceType;
}

const byCaller = (rc: RequestContext): WriteBy => ({ subject: rc.principal.subject, sourceType: rc.meta.sourceType });

interface ToggleOptions {
  /** The toggleConnectors call this toggle belongs to, recorded on its audit event. */
  bulkId?: string;
  /** The bulk call's filter: under the lock the connector must still match it. */
  matching?: ConnectorFilter | null;
}

/** What ingestion does when a connector's desired state changes, inside the same transaction. */
export interface PipelineHooks {
  onEnabled(m: EntityManager, connector: ConnectorEntity): Promise<void>;
  /** Returns the run state to set: STOPPED, or STOPPING while a run is still in flight. */
  onDisabled(m: EntityManager, connector: ConnectorEntity): Promise<RunState>;
  /** Removes what ingestion kept for the connector (records, cursor, runs). */
  onPurged(m: EntityManager, connector: ConnectorEntity): Promise<void>;
}

/**
 * Tells every process's syslog router (src/modules/intake/syslog/router.ts) that a push connector's
 * routing changed; delivered when the transaction commits, so the router reads the committed row.
 */
async function notifyPushRoutes(m: EntityManager, connector: Pick<ConnectorEntity, 'id' | 'provider'>): Promise<void> {
  if (!isPushProvider(connector.provider)) return;
  await m.query('SELECT pg_notify($1, $2)', [PUSH_ROUTES_CHANNEL, connector.id]);
}

/** A background component acting on a tenant's connector (health policies). */
export interface SystemCaller {
  actor: Actor;
  tenantId: string;
  /** A policy disabling the connector: announced as connector.auto_disabled with its figures. */
  policy?: AutoDisablePolicy;
}

export interface AutoDisablePolicy {
  name: 'consecutive_failures' | 'duplicate_flood';
  figures: Record<string, number>;
}

interface ScopeFields {
  scope: ConnectorScope;
  groupId: string | null;
  userId: string | null;
}

/** Connector lifecycle: create, update, soft delete, restore, and the scoped reads behind them. */
export class ConnectorService {
  private readonly hydrate;
  private readonly columns: string;
  /** Entity property → column, and the jsonb properties (sent as JSON text). */
  private readonly columnOf: Map<string, string>;
  private readonly jsonColumns: Set<string>;
  /** UPDATE texts by the patched properties (write). */
  private readonly updates = new Map<string, string>();
  /** Set by the ingestion module; without it (no pipeline) toggles change the desired state only. */
  pipeline: PipelineHooks | null = null;
  /** Announces toggles and auto-disables, in their transaction (the notifications module). */
  notify: Notify | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly applications: ApplicationService,
    private readonly credentials: CredentialService,
    private readonly logger: Logger,
  ) {
    this.hydrate = createHydrator(dataSource, ConnectorEntity);
    this.columns = columnList(dataSource, ConnectorEntity, 'c');
    const metadata = dataSource.getMetadata(ConnectorEntity);
    this.columnOf = new Map(metadata.columns.map((c) => [c.propertyName, c.databaseName]));
    this.jsonColumns = new Set(metadata.columns.filter((c) => c.type === 'jsonb' || c.type === 'json').map((c) => c.propertyName));
  }

  /** Audit `changes` for a connector: config values the provider marks secret are redacted. */
  private changes(before: ConnectorEntity | null, after: ConnectorEntity) {
    const spec = requireAdapter(after.provider).spec;
    const redact = (e: ConnectorEntity | null) => (e ? { ...e, config: redactConfig(spec, e.config) } : null);
    return diffChanges(redact(before), redact(after)!, [...AUDITED]);
  }

  private resolveScope(principal: Principal, scope: ConnectorScope, groupId: string | null, userId: string | null): ScopeFields {
    switch (scope) {
      case 'ORG':
        if (groupId || userId) {
          throw AppError.badInput('groupId and userId apply only to GROUP and USER scope', [
            { path: groupId ? 'groupId' : 'userId', message: 'only for GROUP or USER scope' },
          ]);
        }
        return { scope, groupId: null, userId: null };
      case 'GROUP':
        if (!groupId) throw AppError.badInput('scope GROUP needs a groupId', [{ path: 'groupId', message: 'is required for GROUP scope' }]);
        if (userId) throw AppError.badInput('userId applies only to USER scope', [{ path: 'userId', message: 'only for USER scope' }]);
        if (!isAdmin(principal) && !principal.groups.includes(groupId)) {
          throw new AppError('FORBIDDEN', `you are not a member of group ${groupId}`);
        }
        return { scope, groupId, userId: null };
      case 'USER': {
        if (groupId) throw AppError.badInput('groupId applies only to GROUP scope', [{ path: 'groupId', message: 'only for GROUP scope' }]);
        const owner = userId ?? principal.subject;
        if (!isAdmin(principal) && owner !== principal.subject) {
          throw new AppError('FORBIDDEN', 'only admins may create or move connectors into another user\'s scope');
        }
        return { scope, groupId: null, userId: owner };
      }
    }
  }

  /** Application tokens work within their application only. */
  private async resolveApplication(m: EntityManager, principal: Principal, applicationId: string | null): Promise<string | null> {
    if (principal.appId) {
      if (applicationId && applicationId !== principal.appId) throw AppError.notFound('application', applicationId);
      return principal.appId;
    }
    if (!applicationId) return null;
    await this.applications.requireVisible(m, principal, applicationId);
    return applicationId;
  }

  /**
   * `webhookEndpointId` must name a webhook endpoint of the caller's tenant (for an application
   * token: one of its application's, or a tenant-wide one); BAD_USER_INPUT otherwise, the same for
   * an unknown id and another tenant's. One primary-key read in the write's transaction, holding the
   * endpoint (FOR KEY SHARE) so it cannot be deleted before the write commits. Raw SQL on the table:
   * the notifications module imports this one, so importing it back would close a cycle.
   */
  private async requireWebhookEndpoint(m: EntityManager, principal: Principal, id: string | null): Promise<void> {
    if (id === null) return;
    const sql = new SqlParams();
    const where = [`e.id = ${sql.param(id)}`, `e.tenant_id = ${sql.param(principal.tenantId)}`];
    if (principal.appId) where.push(`(e.application_id IS NULL OR e.application_id = ${sql.param(principal.appId)})`);
    const rows: unknown[] = await m.query(`SELECT 1 FROM webhook_endpoints e WHERE ${where.join(' AND ')} FOR KEY SHARE`, sql.values);
    if (!rows.length) {
      throw AppError.badInput(`webhookEndpointId ${id} is not a webhook endpoint you can use`, [{ path: 'webhookEndpointId', message: 'is not a webhook endpoint of your tenant or application' }]);
    }
  }

  /** Locks a visible connector; with `matching`, only while it still matches that filter. */
  private async lockVisible(m: EntityManager, principal: Principal, id: string, matching?: ConnectorFilter | null): Promise<ConnectorEntity> {
    const sql = new SqlParams();
    const where = matching ? this.filterSql(principal, matching, sql).join(' AND ') : connectorVisibility(principal, 'c', sql);
    const rows = await m.query(`SELECT ${this.columns} FROM connectors c WHERE c.id = ${sql.param(id)} AND ${where} FOR UPDATE`, sql.values);
    if (!rows.length) {
      if (matching) throw new AppError('NOT_FOUND', `connector ${id} no longer matches the filter`);
      throw AppError.notFound('connector', id);
    }
    return this.hydrate(rows[0]);
  }

  /** A connector by id for background work, without a lock (the job names it). */
  async loadById(id: string): Promise<ConnectorEntity | null> {
    const rows = await this.dataSource.query(`SELECT ${this.columns} FROM connectors c WHERE c.id = $1`, [id]);
    return rows.length ? this.hydrate(rows[0]) : null;
  }

  /** Locks a connector by id for background work (no caller visibility: the job names it). */
  async lockById(m: EntityManager, id: string, mode: 'UPDATE' | 'SHARE' = 'UPDATE'): Promise<ConnectorEntity | null> {
    const rows = await m.query(`SELECT ${this.columns} FROM connectors c WHERE c.id = $1 FOR ${mode}`, [id]);
    return rows.length ? this.hydrate(rows[0]) : null;
  }

  private checkVersion(row: ConnectorEntity, expectedVersion: number | null | undefined): void {
    if (expectedVersion != null && expectedVersion !== row.version) {
      throw AppError.versionConflict('connector', row.id, expectedVersion, row.version);
    }
  }

  /**
   * A versioned write of the locked row: an UPDATE of the patch's columns and the version fields
   * only, its text built once per set of patched properties (a toggle always sends the same text).
   */
  private async write(
    m: EntityManager,
    before: ConnectorEntity,
    patch: Partial<ConnectorEntity>,
    by: WriteBy,
    /** Its audit event, written by the same statement (a CTE): one round trip less under the row lock. */
    audit?: (after: ConnectorEntity) => { actor: Actor; input: Parameters<AuditService['record']>[2] },
  ): Promise<ConnectorEntity> {
    const after = Object.assign(Object.create(ConnectorEntity.prototype) as ConnectorEntity, before, patch, {
      version: before.version + 1,
      updatedAt: new Date(),
      updatedBy: by.subject,
      sourceType: by.sourceType,
    });
    const keys = Object.keys(patch).filter((k) => !VERSIONED.has(k)) as Array<keyof ConnectorEntity>;
    const statement = this.updateStatement(keys);
    const values: unknown[] = [before.id];
    for (const key of [...keys, ...VERSIONED]) {
      const value = after[key as keyof ConnectorEntity];
      values.push(this.jsonColumns.has(key) && value !== null && value !== undefined ? JSON.stringify(value) : value);
    }
    if (!audit) {
      await m.query(statement, values);
      return after;
    }
    const { actor, input } = audit(after);
    const event = this.audit.prepare(actor, input);
    await m.query(`WITH w AS (${statement}) ${this.audit.insertSql(values.length + 1)}`, [...values, ...event.values]);
    return after;
  }

  private updateStatement(keys: readonly string[]): string {
    const cacheKey = keys.join(',');
    let text = this.updates.get(cacheKey);
    if (!text) {
      const set = [...keys, ...VERSIONED].map((key, i) => {
        const column = this.columnOf.get(key);
        if (!column || key === 'id') throw new Error(`ConnectorEntity has no writable column for ${key}`);
        return `"${column}" = $${i + 2}`;
      });
      text = `UPDATE connectors SET ${set.join(', ')} WHERE id = $1`;
      this.updates.set(cacheKey, text);
    }
    return text;
  }

  async create(rc: RequestContext, input: CreateConnectorInput): Promise<ConnectorEntity> {
    const { principal } = rc;
    const name = cleanName(input.name);
    const adapter = requireAdapter(input.provider);
    const spec = adapter.spec;
    const authType = input.authType ?? 'NONE';
    validateAuthType(spec, authType);
    const config = validateConfig(spec, input.config ?? {});
    const needsCredentials = (spec.requiredCredentials[authType] ?? []).length > 0;
    if (needsCredentials && input.credentials == null) {
      throw AppError.badInput(`authType ${authType} needs credentials`, [{ path: 'credentials', message: `is required for ${authType}` }]);
    }
    const credentials = input.credentials != null ? validateCredentials(spec, authType, input.credentials) : null;
    const scope = this.resolveScope(principal, input.scope ?? 'ORG', cleanId(input.groupId, 'groupId'), cleanId(input.userId, 'userId'));
    const eventTypes = cleanEventTypes(input.eventTypes, spec.eventTypes, spec.id);
    const tags = cleanTags(input.tags);
    const webhookEndpointId = cleanId(input.webhookEndpointId, 'webhookEndpointId');
    const enabled = input.enabled ?? false;
    const source = cleanSource(input.source) ?? DEFAULT_SOURCE;

    const now = new Date();
    const id = newId('cnn', now);
    // The secret is written first so the row never points at nothing; if the row does not commit,
    // the secret is removed again.
    const secret = credentials ? await this.credentials.write(principal.tenantId, id, credentials, 0) : null;
    try {
      return await this.insertNew(rc, input, { id, now, name, spec, authType, config, scope, eventTypes, tags, webhookEndpointId, enabled, source, secret });
    } catch (error) {
      if (secret) {
        await this.credentials.destroy(principal.tenantId, id).catch((cleanup) => this.logger.error({ connectorId: id, err: String(cleanup) }, 'could not remove the credentials of a connector that was not created'));
      }
      throw error;
    }
  }

  private async insertNew(
    rc: RequestContext,
    input: CreateConnectorInput,
    v: {
      id: string;
      now: Date;
      name: string;
      spec: ReturnType<typeof requireAdapter>['spec'];
      authType: ConnectorEntity['authType'];
      config: Record<string, unknown>;
      scope: ScopeFields;
      eventTypes: string[];
      tags: string[];
      webhookEndpointId: string | null;
      enabled: boolean;
      source: string;
      secret: SecretVersionInfo | null;
    },
  ): Promise<ConnectorEntity> {
    const { principal } = rc;
    const { id, now, name, spec, authType, config, scope, eventTypes, tags, webhookEndpointId, enabled, source, secret } = v;
    return this.dataSource.transaction(async (m) => {
      const applicationId = await this.resolveApplication(m, principal, cleanId(input.applicationId, 'applicationId'));
      await this.requireWebhookEndpoint(m, principal, webhookEndpointId);
      const row = m.create(ConnectorEntity, {
        id,
        tenantId: principal.tenantId,
        appId: principal.appId,
        applicationId,
        name,
        type: spec.type,
        provider: spec.id,
        ...scope,
        ownerId: principal.subject,
        config,
        authType,
        vaultPath: secret ? this.credentials.pathFor(principal.tenantId, id) : null,
        credentialFields: secret?.fields ?? [],
        credentialVersion: secret?.version ?? null,
        credentialLastRotatedAt: secret ? now : null,
        nextRotationDue: secret ? new Date(now.getTime() + operationalSettings(config).rotationPeriodDays * 86_400_000) : null,
        oauthRefreshNeeded: false,
        oauthTokenExpiresAt: null,
        enabled,
        enabledChangedAt: enabled ? now : null,
        enabledChangedBy: enabled ? principal.subject : null,
        enabledReason: null,
        syncStatus: enabled ? 'PENDING' : 'PAUSED',
        runState: enabled && this.pipeline ? (isPushProvider(spec.id) ? 'RUNNING' : 'STARTING') : 'STOPPED',
        lastSyncAt: null,
        lastCheckedAt: null,
        consecutiveErrors: 0,
        lastError: null,
        healthCandidate: null,
        healthCandidateCount: 0,
        lastRecordAt: null,
        metrics: { totalSynced: 0, last24h: 0, avgLatencyMs: null },
        eventTypes,
        webhookEndpointId,
        tags,
        lastTest: null,
        version: 1,
        schemaVersion: spec.configVersion ?? 1,
        source,
        sourceType: rc.meta.sourceType,
        alertsSnoozedUntil: null,
        alertsSnoozeReason: null,
        createdAt: now,
        updatedAt: now,
        createdBy: principal.subject,
        updatedBy: principal.subject,
        isDeleted: false,
        deletedAt: null,
        deletedBy: null,
      });
      await m.insert(ConnectorEntity, row as QueryDeepPartialEntity<ConnectorEntity>);
      await notifyPushRoutes(m, row);
      if (enabled) await this.pipeline?.onEnabled(m, row);
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'CONNECTOR_CREATED',
        targetType: 'Connector',
        targetId: row.id,
        connectorId: row.id,
        appId: applicationId,
        changes: {
          ...this.changes(null, row),
          ...(secret ? { credentials: { before: null, after: { changed: true, version: secret.version, fields: secret.fields } } } : {}),
        },
      });
      return row;
    });
  }

  /**
   * Upgrades stored configs written for an older version of their provider's config schema (a
   * manifest's `migrations`) and bumps `schemaVersion`, one connector per transaction, each a
   * SYSTEM CONNECTOR_UPDATED event. A migrated config the current schema still refuses is left as
   * it was and logged: the connector then fails its checks with the schema's message. Runs at
   * start-up; returns how many connectors were upgraded.
   */
  async upgradeConfigs(): Promise<number> {
    let upgraded = 0;
    for (const { spec } of listAdapters()) {
      const target = spec.configVersion ?? 1;
      if (target <= 1 || !spec.migrateConfig) continue;
      const rows: Array<{ id: string }> = await this.dataSource.query(
        'SELECT id FROM connectors WHERE provider = $1 AND schema_version < $2 ORDER BY id',
        [spec.id, target],
      );
      for (const { id } of rows) {
        await this.dataSource.transaction(async (m) => {
          const before = await this.lockById(m, id);
          if (!before || before.schemaVersion >= target) return;
          let config: Record<string, unknown>;
          try {
            config = validateConfig(spec, spec.migrateConfig!(before.config, before.schemaVersion));
          } catch (e) {
            this.logger.warn({ connectorId: id, provider: spec.id, from: before.schemaVersion, to: target, err: (e as Error).message }, 'a stored config could not be upgraded to the current schema');
            return;
          }
          const after = await this.write(m, before, { config, schemaVersion: target }, { subject: 'system:config-migration', sourceType: 'SYSTEM' });
          await this.audit.record(m, systemActor('config-migration'), {
            tenantId: before.tenantId,
            eventType: 'CONNECTOR_UPDATED',
            targetType: 'Connector',
            targetId: id,
            connectorId: id,
            appId: before.applicationId,
            changes: { ...this.changes(before, after), schemaVersion: { before: before.schemaVersion, after: target } },
          });
          upgraded++;
        });
      }
    }
    return upgraded;
  }

  /** Applies the given fields; a request that changes nothing writes nothing and records no event. */
  async update(rc: RequestContext, id: string, expectedVersion: number, input: UpdateConnectorInput): Promise<ConnectorEntity> {
    const { principal } = rc;
    const name = input.name != null ? cleanName(input.name) : undefined;
    const tags = input.tags != null ? cleanTags(input.tags) : undefined;
    const source = cleanSource(input.source);
    return this.dataSource.transaction(async (m) => {
      const before = await this.lockVisible(m, principal, id);
      if (before.isDeleted) throw AppError.badInput(`connector ${id} is deleted: restore it before changing it`);
      this.checkVersion(before, expectedVersion);
      const spec = requireAdapter(before.provider).spec;
      const patch: Partial<ConnectorEntity> = {};
      if (name !== undefined) patch.name = name;
      if (tags !== undefined) patch.tags = tags;
      if (source !== undefined) patch.source = source;
      if (input.authType != null) {
        validateAuthType(spec, input.authType);
        patch.authType = input.authType;
      }
      if (input.config != null) patch.config = validateConfig(spec, input.config);
      if (input.eventTypes != null) patch.eventTypes = cleanEventTypes(input.eventTypes, spec.eventTypes, spec.id);
      if (input.webhookEndpointId !== undefined) {
        const webhookEndpointId = cleanId(input.webhookEndpointId, 'webhookEndpointId');
        // Null clears it; an id that is already stored is no change and is not read again.
        if (webhookEndpointId !== before.webhookEndpointId) await this.requireWebhookEndpoint(m, principal, webhookEndpointId);
        patch.webhookEndpointId = webhookEndpointId;
      }
      if (input.scope != null || input.groupId !== undefined || input.userId !== undefined) {
        const scope = input.scope ?? before.scope;
        const moving = scope !== before.scope;
        Object.assign(
          patch,
          this.resolveScope(
            principal,
            scope,
            input.groupId !== undefined ? cleanId(input.groupId, 'groupId') : moving ? null : before.groupId,
            input.userId !== undefined ? cleanId(input.userId, 'userId') : moving ? null : before.userId,
          ),
        );
      }
      if (input.applicationId !== undefined) {
        patch.applicationId = await this.resolveApplication(m, principal, cleanId(input.applicationId, 'applicationId'));
      }
      const proposed = { ...before, ...patch } as ConnectorEntity;
      const changes = this.changes(before, proposed);
      if (!Object.keys(changes).length) return before;
      const after = await this.write(m, before, patch, byCaller(rc));
      await notifyPushRoutes(m, after);
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'CONNECTOR_UPDATED',
        targetType: 'Connector',
        targetId: id,
        connectorId: id,
        appId: after.applicationId,
        changes,
      });
      return after;
    });
  }

  /**
   * Soft delete: hidden from lists, kept with its configuration and secrets so restore brings it
   * back. A deleted connector is also disabled, so it stops ingesting; restore leaves it disabled.
   */
  async delete(rc: RequestContext, id: string, expectedVersion?: number | null): Promise<ConnectorEntity> {
    const { principal } = rc;
    return this.dataSource.transaction(async (m) => {
      const before = await this.lockVisible(m, principal, id);
      this.checkVersion(before, expectedVersion);
      if (before.isDeleted) return before;
      const now = new Date();
      const runState = before.enabled && this.pipeline ? await this.pipeline.onDisabled(m, before) : before.runState;
      const after = await this.write(
        m,
        before,
        {
          isDeleted: true,
          deletedAt: now,
          deletedBy: principal.subject,
          enabled: false,
          ...(before.enabled ? { enabledChangedAt: now, enabledChangedBy: principal.subject, enabledReason: 'connector deleted' } : {}),
          syncStatus: 'PAUSED',
          runState,
        },
        byCaller(rc),
      );
      await notifyPushRoutes(m, after);
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'CONNECTOR_DELETED',
        targetType: 'Connector',
        targetId: id,
        connectorId: id,
        appId: after.applicationId,
        changes: diffChanges(before, after, ['isDeleted', 'deletedAt', 'deletedBy', 'enabled']),
      });
      return after;
    });
  }

  /**
   * The one-click switch: one transaction that checks the version, sets the desired state with
   * who/when/why, records CONNECTOR_ENABLED/DISABLED and changes the pipeline's desired state.
   * Config and credentials are untouched; toggling to the current state changes nothing.
   */
  async toggle(who: RequestContext | SystemCaller, id: string, enabled: boolean, reason?: string | null, expectedVersion?: number | null): Promise<ConnectorEntity> {
    return (await this.toggleOne(who, id, enabled, cleanReason(reason), expectedVersion)).connector;
  }

  /** `toggle`, telling whether it changed anything; a bulk call runs this once per connector. */
  private async toggleOne(who: RequestContext | SystemCaller, id: string, enabled: boolean, why: string | null, expectedVersion: number | null | undefined, opts: ToggleOptions = {}): Promise<{ connector: ConnectorEntity; changed: boolean }> {
    const actor = 'principal' in who ? actorOf(who) : who.actor;
    return this.dataSource.transaction(async (m) => {
      let before: ConnectorEntity | null;
      if ('principal' in who) before = await this.lockVisible(m, who.principal, id, opts.matching);
      else {
        before = await this.lockById(m, id);
        if (before?.tenantId !== who.tenantId) before = null;
      }
      if (!before) throw AppError.notFound('connector', id);
      if (before.isDeleted) throw AppError.badInput(`connector ${id} is deleted: restore it before enabling it`);
      this.checkVersion(before, expectedVersion);
      if (before.enabled === enabled) return { connector: before, changed: false };
      // A snooze suppresses automatic disabling: the policies check it too, this is the last word under the lock.
      if (!enabled && 'policy' in who && who.policy && alertsSnoozed(before)) {
        this.logger.info({ connectorId: id, policy: who.policy.name, until: before.alertsSnoozedUntil }, 'policy would disable the connector, but its alerts are snoozed');
        return { connector: before, changed: false };
      }
      const now = new Date();
      // A push connector runs from the commit on (the intake reads `enabled`); a polled one once a worker claims its sync.
      const started = isPushProvider(before.provider) ? 'RUNNING' : 'STARTING';
      const runState = !this.pipeline ? before.runState : enabled ? started : await this.pipeline.onDisabled(m, before);
      const patch: Partial<ConnectorEntity> = {
        enabled,
        enabledChangedAt: now,
        enabledChangedBy: actor.id,
        enabledReason: why,
        syncStatus: enabled ? 'PENDING' : 'PAUSED',
        healthCandidate: null,
        healthCandidateCount: 0,
        consecutiveErrors: enabled ? 0 : before.consecutiveErrors,
        runState,
      };
      // The pipeline reads the desired state it is told about (the row is written in the same transaction).
      if (enabled) await this.pipeline?.onEnabled(m, Object.assign(Object.create(ConnectorEntity.prototype) as ConnectorEntity, before, patch));
      // The row and its CONNECTOR_ENABLED/DISABLED event in one statement.
      const after = await this.write(m, before, patch, { subject: actor.id ?? 'system', sourceType: actor.sourceType }, (written) => ({
        actor,
        input: {
          tenantId: before.tenantId,
          eventType: enabled ? 'CONNECTOR_ENABLED' : 'CONNECTOR_DISABLED',
          targetType: 'Connector',
          targetId: id,
          connectorId: id,
          appId: written.applicationId,
          changes: diffChanges(before, written, ['enabled', 'syncStatus']),
          reason: why,
          bulkId: opts.bulkId ?? null,
        },
      }));
      await notifyPushRoutes(m, after);
      await this.notify?.(m, {
        type: 'CONNECTOR_TOGGLED',
        connector: after,
        data: { enabled, reason: why, actor: { type: actor.type, id: actor.id }, ...(opts.bulkId ? { bulkId: opts.bulkId } : {}) },
      });
      if (!enabled && 'policy' in who && who.policy) {
        await this.notify?.(m, { type: 'CONNECTOR_AUTO_DISABLED', connector: after, data: { policy: who.policy.name, figures: who.policy.figures, reason: why } });
      }
      return { connector: after, changed: true };
    });
  }

  /**
   * `toggleConnectors`: up to BULK_TOGGLE_MAX connectors named by id or by the `connectors` filter.
   * One statement reads what the caller can see of them (nothing else is ever touched); each one
   * that would change then goes through the single toggle's path in a transaction of its own, at
   * most BULK_TOGGLE_CONCURRENCY at once, its audit event carrying `bulkId`. A failure on one
   * connector is its result and leaves the others as they are. `dryRun` answers the same read's
   * predictions and writes nothing.
   */
  async toggleMany(rc: RequestContext, input: BulkToggleInput): Promise<BulkToggleResult> {
    const { principal } = rc;
    const byIds = input.ids != null;
    if (byIds === (input.filter != null)) {
      throw AppError.badInput('give exactly one of ids and filter', [{ path: byIds ? 'filter' : 'ids', message: byIds ? 'not with ids' : 'ids or filter is required' }]);
    }
    const why = requireReason(input.reason);
    const versions = input.expectedVersions ?? null;
    if (versions && !byIds) throw AppError.badInput('expectedVersions go with ids', [{ path: 'expectedVersions', message: 'only with ids' }]);
    let ids: string[] = [];
    if (byIds) {
      ids = input.ids!.map((raw, i) => cleanId(raw, `ids.${i}`)!);
      if (!ids.length) throw AppError.badInput('ids must name at least one connector', [{ path: 'ids', message: 'must not be empty' }]);
      if (ids.length > BULK_TOGGLE_MAX) throw AppError.badInput(`at most ${BULK_TOGGLE_MAX} connectors per call, got ${ids.length}`, [{ path: 'ids', message: `at most ${BULK_TOGGLE_MAX}` }]);
      const seen = new Set<string>();
      ids.forEach((id, i) => {
        if (seen.has(id)) throw AppError.badInput(`connector ${id} is named twice`, [{ path: `ids.${i}`, message: 'is a duplicate' }]);
        seen.add(id);
      });
      if (versions && versions.length !== ids.length) {
        throw AppError.badInput(`expectedVersions has ${versions.length} entries for ${ids.length} ids`, [{ path: 'expectedVersions', message: 'must have one entry per id' }]);
      }
    }
    // One read: what the caller can see of the named or matching connectors.
    const sql = new SqlParams();
    const rows: Array<{ id: string; enabled: boolean; version: number; is_deleted: boolean }> = byIds
      ? await this.dataSource.query(
          `SELECT c.id, c.enabled, c.version, c.is_deleted FROM connectors c WHERE c.id = ANY(${sql.param(ids)}::text[]) AND ${connectorVisibility(principal, 'c', sql)}`,
          sql.values,
        )
      : await this.dataSource.query(
          `SELECT c.id, c.enabled, c.version, c.is_deleted FROM connectors c WHERE ${this.filterSql(principal, input.filter, sql).join(' AND ')} ORDER BY c.id DESC LIMIT ${sql.param(BULK_TOGGLE_MAX + 1)}`,
          sql.values,
        );
    if (!byIds) {
      if (rows.length > BULK_TOGGLE_MAX) {
        throw AppError.badInput(`the filter matches more than ${BULK_TOGGLE_MAX} connectors: narrow it, or toggle them in several calls`, [{ path: 'filter', message: `matches more than ${BULK_TOGGLE_MAX}` }]);
      }
      ids = rows.map((r) => r.id);
    }
    const found = new Map(rows.map((r) => [r.id, r]));
    const expected = new Map(versions ? ids.map((id, i) => [id, versions[i]!]) : []);
    const bulkId = newId('blk');
    const results: BulkToggleResult['results'] = ids.map((connectorId) => {
      const row = found.get(connectorId);
      if (!row) return { connectorId, outcome: 'NOT_FOUND', error: `connector ${connectorId} was not found` };
      if (row.is_deleted) return { connectorId, outcome: 'FAILED', error: `connector ${connectorId} is deleted: restore it before enabling it` };
      const version = expected.get(connectorId);
      if (version != null && version !== row.version) {
        return { connectorId, outcome: 'VERSION_CONFLICT', error: `connector ${connectorId} is at version ${row.version}, not ${version}: reload it and try again` };
      }
      if (row.enabled === input.enabled) return { connectorId, outcome: 'UNCHANGED', error: null };
      return { connectorId, outcome: 'CHANGED', error: null };
    });
    if (input.dryRun) return { bulkId, dryRun: true, results };
    const limit = pLimit(BULK_TOGGLE_CONCURRENCY);
    await Promise.all(
      results.map((result, i) => {
        if (result.outcome !== 'CHANGED') return null;
        return limit(async () => {
          try {
            const { changed } = await this.toggleOne(rc, result.connectorId, input.enabled, why, expected.get(result.connectorId), { bulkId, matching: byIds ? null : input.filter });
            if (!changed) results[i] = { ...result, outcome: 'UNCHANGED' };
          } catch (error) {
            results[i] = { ...result, ...this.bulkFailure(result.connectorId, error) };
          }
        });
      }),
    );
    return { bulkId, dryRun: false, results };
  }

  private bulkFailure(connectorId: string, error: unknown): { outcome: BulkOutcome; error: string } {
    if (error instanceof AppError) {
      if (error.code === 'NOT_FOUND') return { outcome: 'NOT_FOUND', error: error.message };
      if (error.code === 'VERSION_CONFLICT') return { outcome: 'VERSION_CONFLICT', error: error.message };
      return { outcome: 'FAILED', error: error.message };
    }
    this.logger.error({ connectorId, err: String(error) }, 'a toggle of a bulk call failed');
    return { outcome: 'FAILED', error: 'internal error: the connector was left as it was' };
  }

  /**
   * Suppresses the connector's alert notifications and automatic disabling until `until` (in the
   * future, at most SNOOZE_MAX_DAYS ahead); health tracking goes on. A versioned write, audited as
   * CONNECTOR_ALERTS_SNOOZED. Snoozing again replaces the time and the reason.
   */
  async snoozeAlerts(rc: RequestContext, id: string, until: Date, reason: string | null | undefined): Promise<ConnectorEntity> {
    const why = requireReason(reason);
    const now = Date.now();
    if (!(until instanceof Date) || Number.isNaN(until.getTime())) throw AppError.badInput('until must be a date-time', [{ path: 'until', message: 'must be a date-time' }]);
    if (until.getTime() <= now) {
      throw AppError.badInput('until must be in the future (unsnoozeConnectorAlerts ends a snooze early)', [{ path: 'until', message: 'must be in the future' }]);
    }
    if (until.getTime() > now + SNOOZE_MAX_DAYS * 86_400_000) {
      throw AppError.badInput(`until must be at most ${SNOOZE_MAX_DAYS} days ahead`, [{ path: 'until', message: `at most ${SNOOZE_MAX_DAYS} days ahead` }]);
    }
    return this.dataSource.transaction(async (m) => {
      const before = await this.lockVisible(m, rc.principal, id);
      if (before.isDeleted) throw AppError.badInput(`connector ${id} is deleted: restore it before snoozing its alerts`);
      const after = await this.write(m, before, { alertsSnoozedUntil: until, alertsSnoozeReason: why }, byCaller(rc));
      await this.audit.record(m, actorOf(rc), {
        tenantId: before.tenantId,
        eventType: 'CONNECTOR_ALERTS_SNOOZED',
        targetType: 'Connector',
        targetId: id,
        connectorId: id,
        appId: after.applicationId,
        changes: diffChanges(alertsSnoozed(before) ? before : { alertsSnoozedUntil: null }, after, ['alertsSnoozedUntil']),
        reason: why,
      });
      return after;
    });
  }

  /** Ends a snooze early (CONNECTOR_ALERTS_UNSNOOZED); a connector that is not snoozed is left as it is. */
  async unsnoozeAlerts(rc: RequestContext, id: string, reason: string | null | undefined): Promise<ConnectorEntity> {
    const why = cleanReason(reason);
    return this.dataSource.transaction(async (m) => {
      const before = await this.lockVisible(m, rc.principal, id);
      if (!alertsSnoozed(before)) return before;
      const after = await this.write(m, before, { alertsSnoozedUntil: null, alertsSnoozeReason: null }, byCaller(rc));
      await this.audit.record(m, actorOf(rc), {
        tenantId: before.tenantId,
        eventType: 'CONNECTOR_ALERTS_UNSNOOZED',
        targetType: 'Connector',
        targetId: id,
        connectorId: id,
        appId: after.applicationId,
        changes: diffChanges(before, after, ['alertsSnoozedUntil']),
        reason: why,
      });
      return after;
    });
  }

  /**
   * Removes a soft-deleted connector for good: its row, what ingestion kept, and every secret
   * version. The audit trail keeps its events.
   */
  async purge(rc: RequestContext, id: string): Promise<boolean> {
    const { principal } = rc;
    const purged = await this.dataSource.transaction(async (m) => {
      const before = await this.lockVisible(m, principal, id);
      if (!before.isDeleted) throw AppError.badInput(`connector ${id} is not deleted: delete it before purging it`);
      await this.pipeline?.onPurged(m, before);
      await m.delete(ConnectorEntity, { id, tenantId: principal.tenantId });
      await notifyPushRoutes(m, before);
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'CONNECTOR_PURGED',
        targetType: 'Connector',
        targetId: id,
        connectorId: id,
        appId: before.applicationId,
        changes: { purged: { before: false, after: true }, name: { before: before.name, after: null } },
      });
      return before;
    });
    if (purged.credentialVersion !== null || purged.vaultPath) await this.credentials.destroy(purged.tenantId, purged.id);
    return true;
  }

  async restore(rc: RequestContext, id: string): Promise<ConnectorEntity> {
    const { principal } = rc;
    return this.dataSource.transaction(async (m) => {
      const before = await this.lockVisible(m, principal, id);
      if (!before.isDeleted) return before;
      const after = await this.write(m, before, { isDeleted: false, deletedAt: null, deletedBy: null }, byCaller(rc));
      await notifyPushRoutes(m, after);
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'CONNECTOR_RESTORED',
        targetType: 'Connector',
        targetId: id,
        connectorId: id,
        appId: after.applicationId,
        changes: diffChanges(before, after, ['isDeleted', 'deletedAt', 'deletedBy']),
      });
      return after;
    });
  }

  /**
   * What a GraphQL read shows of visible connectors by id (deleted ones included): one statement
   * for any number of ids, reading only the columns of `projection`'s fields and mapping each row
   * straight to its object (connector.projection.ts).
   */
  async readByIds(principal: Principal, ids: readonly string[], projection: ConnectorProjection = FULL_PROJECTION): Promise<Connector[]> {
    const sql = new SqlParams();
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${projection.columns} FROM connectors c WHERE c.id = ANY(${sql.param(ids)}::text[]) AND ${connectorVisibility(principal, 'c', sql)}`,
      sql.values,
    );
    return rows.map(projection.map);
  }

  /** Visible connectors by id (deleted ones included) as entities, for the rules of a service; one statement. */
  async findByIds(principal: Principal, ids: readonly string[]): Promise<ConnectorEntity[]> {
    const sql = new SqlParams();
    const rows = await this.dataSource.query(
      `SELECT ${this.columns} FROM connectors c WHERE c.id = ANY(${sql.param(ids)}::text[]) AND ${connectorVisibility(principal, 'c', sql)}`,
      sql.values,
    );
    return rows.map(this.hydrate);
  }

  private filterSql(principal: Principal, filter: ConnectorFilter | null | undefined, sql: SqlParams): string[] {
    const where = [connectorVisibility(principal, 'c', sql)];
    if (!filter?.includeDeleted) where.push('NOT c.is_deleted');
    if (!filter) return where;
    if (filter.type) where.push(`c.type = ${sql.param(filter.type)}`);
    if (filter.provider) where.push(`c.provider = ${sql.param(filter.provider)}`);
    if (filter.enabled != null) where.push(`c.enabled = ${sql.param(filter.enabled)}`);
    if (filter.syncStatus?.length) where.push(`c.sync_status = ANY(${sql.param(filter.syncStatus)}::text[])`);
    if (filter.applicationId) where.push(`c.application_id = ${sql.param(filter.applicationId)}`);
    if (filter.scope) where.push(`c.scope = ${sql.param(filter.scope)}`);
    if (filter.tag) where.push(`c.tags @> ARRAY[${sql.param(filter.tag)}]::text[]`);
    if (filter.search) {
      const search = filter.search.trim().slice(0, LIMITS.search).replace(/[\\%_]/g, (ch) => `\\${ch}`);
      if (search) where.push(`c.name ILIKE ${sql.param(`%${search}%`)}`);
    }
    return where;
  }

  /** The `connectors` list with this filter, for cursors bound to it (cursors.ts). */
  static listBinding(filter: ConnectorFilter | null | undefined): CursorBinding {
    return bindList('connectors', { ...filter }, CONNECTOR_KEY);
  }

  /**
   * Newest first; returns `limit + 1` rows from the window's side (reverse order when it pages
   * backwards) so the caller knows whether more follow.
   */
  async list(principal: Principal, filter: ConnectorFilter | null | undefined, args: PageArgs, projection: ConnectorProjection = FULL_PROJECTION) {
    const window = pageWindow(args, CONNECTOR_PAGE_MAX, ConnectorService.listBinding(filter));
    const sql = new SqlParams();
    const where = this.filterSql(principal, filter, sql);
    const countSql = new SqlParams();
    const countWhere = this.filterSql(principal, filter, countSql);
    const keyset = keysetSql(window, 'c.id', (v) => sql.param(v));
    where.push(...keyset.where);
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${projection.columns} FROM connectors c WHERE ${where.join(' AND ')} ORDER BY c.id ${keyset.order} LIMIT ${sql.param(window.limit + 1)}`,
      sql.values,
    );
    return {
      rows: rows.map(projection.map),
      window,
      count: async (): Promise<number> => {
        const [{ count }] = await this.dataSource.query(`SELECT count(*)::int AS count FROM connectors c WHERE ${countWhere.join(' AND ')}`, countSql.values);
        return count;
      },
    };
  }

  /**
   * The page `Application.connectors` asks for, its cursors bound to the application (a cursor of
   * `connectors` or of another application's list is BAD_USER_INPUT); checked before the batch it joins.
   */
  static applicationWindow(applicationId: string, args: PageArgs): PageWindow {
    return pageWindow(args, CONNECTOR_PAGE_MAX, bindList('application.connectors', { applicationId }, CONNECTOR_KEY));
  }

  /**
   * A page of each application's visible connectors, newest first, one statement for all
   * applications of a request with the same window (`Application.connectors`): `limit + 1` rows
   * per application from the window's side (reverse order when it pages backwards).
   */
  async listForApplications(
    principal: Principal,
    applicationIds: readonly string[],
    window: PageWindow,
    projection: ConnectorProjection = FULL_PROJECTION,
  ): Promise<Map<string, Connector[]>> {
    const sql = new SqlParams();
    const where = [connectorVisibility(principal, 'c', sql), 'NOT c.is_deleted'];
    const keyset = keysetSql(window, 'c.id', (v) => sql.param(v));
    where.push(...keyset.where);
    const query = { table: 'connectors', alias: 'c', parentColumn: 'application_id', parentIds: applicationIds, where, sql, limit: window.limit + 1, order: keyset.order };
    return latestPerParentMapped(this.dataSource, query, projection.columns, projection.map);
  }

  /** Visible, non-deleted connector counts per application (`Application.connectors.totalCount`). */
  async countForApplication(principal: Principal, applicationId: string): Promise<number> {
    const sql = new SqlParams();
    const [{ count }] = await this.dataSource.query(
      `SELECT count(*)::int AS count FROM connectors c WHERE ${connectorVisibility(principal, 'c', sql)} AND NOT c.is_deleted AND c.application_id = ${sql.param(applicationId)}`,
      sql.values,
    );
    return count;
  }
}
