import type { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { isPushProvider } from '../../adapters/registry.js';
import { recordOAuthState } from '../connectors/oauth-state.js';
import { DEFAULT_HEALTH_CHECK_INTERVAL_SEC, operationalSettings } from '../../adapters/operations.js';
import type { Principal } from '../../auth/principal.js';
import { createLatestPerParent } from '../../db/latest-per-parent.js';
import { newId } from '../../db/ids.js';
import { SqlParams } from '../../db/sql.js';
import { PRIORITY, QUEUES, type JobQueue } from '../../jobs/job-queue.js';
import type { Logger } from '../../server/logger.js';
import { systemActor } from '../audit/audit.actor.js';
import type { AuditService } from '../audit/audit.service.js';
import type { ConnectorTestService } from '../connectors/connector-test.service.js';
import { ConnectorEntity } from '../connectors/connector.entity.js';
import type { HealthStatus } from '../connectors/connector.enums.js';
import { alertsSnoozed, type AutoDisablePolicy, type ConnectorService } from '../connectors/connector.service.js';
import type { Notify } from '../notifications/notification.events.js';
import { connectorVisibility } from '../connectors/connector.visibility.js';
import type { CredentialService } from '../connectors/credential.service.js';
import type { RunOutcome } from '../ingestion/ingestion.service.js';
import { HealthEventEntity } from './health-event.entity.js';
import { decide, movingAverage, type HealthObservation } from './health.rules.js';
import { isDatabaseUnavailable } from '../../db/unavailable.js';
import { HostGate, upstreamHost } from '../../jobs/host-gate.js';
import { JobDeferred } from '../../jobs/job-loop.js';

export interface HealthJob {
  connectorId: string;
}

export interface HealthOptions {
  /** Upper bound of one check. */
  checkTimeoutMs: number;
}

const MONITOR = systemActor('health-monitor');

/**
 * A connector's check is overdue when its last one (or its enabling, or creation, whichever is
 * newest) is older than 1.5 × its `healthCheckIntervalSec`: the fairness promise of the scheduler
 * (docs/capacity.md). SQL over the connectors row aliased `c`.
 */
const OVERDUE_CHECK = (c: string) =>
  `GREATEST(${c}.last_checked_at, ${c}.enabled_changed_at, ${c}.created_at) < now() - make_interval(secs => 1.5 * COALESCE(CASE WHEN jsonb_typeof(${c}.config->'healthCheckIntervalSec') = 'number' THEN (${c}.config->>'healthCheckIntervalSec')::float8 END, ${DEFAULT_HEALTH_CHECK_INTERVAL_SEC}))`;
/** The window the duplicate-flood guard judges a push connector's intake over. */
export const FLOOD_WINDOW_MS = 60_000;

/**
 * Health that tells the truth: scheduled cheap checks and ingestion outcomes feed one damped state
 * machine; transitions are stored and audited; policies disable through the same toggle path.
 */
export class HealthService {
  private readonly perConnector;
  /** Scheduled checks per upstream host: a slow host holds one slot of this process (src/jobs/host-gate.ts). */
  readonly hosts: HostGate;
  /** Announces health transitions (connector.health_changed), in their transaction. */
  notify: Notify | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: JobQueue,
    private readonly connectors: ConnectorService,
    private readonly credentials: CredentialService,
    private readonly tests: ConnectorTestService,
    private readonly audit: AuditService,
    private readonly logger: Logger,
    private readonly options: HealthOptions,
  ) {
    this.perConnector = createLatestPerParent(dataSource, HealthEventEntity, (e) => e.connectorId);
    // A check taking a quarter of its budget (at least 2 s) is slow: its host gets one check at a time.
    this.hosts = new HostGate(Math.max(2000, Math.floor(options.checkTimeoutMs / 4)));
  }

  /** Queues the connector's next check, `delaySec` from now with up to 10 % jitter. */
  async schedule(m: EntityManager | undefined, connectorId: string, delaySec: number, priority: number = PRIORITY.scheduled): Promise<void> {
    const startAfter = Math.max(0, Math.round(delaySec * (1 + Math.random() * 0.1)));
    await this.queue.send(QUEUES.health, { connectorId } satisfies HealthJob, { singletonKey: connectorId, startAfter, priority, manager: m });
  }

  /**
   * The first check of a connector just enabled (or created enabled): now, ahead of every scheduled
   * check however long the backlog (`PRIORITY.urgent`). Disabling removed any queued check.
   */
  async scheduleFirst(m: EntityManager, connectorId: string): Promise<void> {
    await this.schedule(m, connectorId, 0, PRIORITY.urgent);
  }

  async unschedule(m: EntityManager, connectorId: string): Promise<void> {
    await this.queue.removeQueued(m, QUEUES.health, connectorId);
  }

  async onPurged(m: EntityManager, connector: ConnectorEntity): Promise<void> {
    await this.unschedule(m, connector.id);
    await m.query('DELETE FROM health_events WHERE tenant_id = $1 AND connector_id = $2', [connector.tenantId, connector.id]);
  }

  /**
   * A scheduled check (job); `checkNow` skips disabled or deleted connectors. While the connector's
   * upstream host is slow and already has a check running in this process, the job goes back to the
   * queue (due again in half a check budget) instead of waiting in a slot.
   */
  async runScheduled(job: HealthJob): Promise<void> {
    await this.checkNow(job.connectorId, true, true);
  }

  /** Runs one cheap check and folds it into the status; `reschedule` queues the next one; `gated` goes through the host gate. */
  async checkNow(connectorId: string, reschedule: boolean, gated = false): Promise<ConnectorEntity | null> {
    const connector = await this.connectors.loadById(connectorId);
    if (!connector || !connector.enabled || connector.isDeleted) return connector;
    if (isPushProvider(connector.provider)) return this.record(connectorId, await this.pushObservation(connector), reschedule);
    if (!gated) return this.checkUpstream(connector, reschedule);
    const host = upstreamHost(connector.provider, connector.config);
    const release = this.hosts.enter(host);
    if (!release) {
      // A host not yet known is probed by one check; the others come back in a second. A slow one's
      // come back in half a check budget.
      const known = this.hosts.known(host);
      throw new JobDeferred(known ? Math.max(1, Math.ceil(this.options.checkTimeoutMs / 2000)) : 1, `upstream ${host} ${known ? 'is slow and has a check running' : 'is being probed'}`);
    }
    try {
      return await this.checkUpstream(connector, reschedule, release);
    } finally {
      release();
    }
  }

  /** The check itself; `upstreamDone` is told when the upstream's part ended (the host gate times the upstream only). */
  private async checkUpstream(connector: ConnectorEntity, reschedule: boolean, upstreamDone?: () => void): Promise<ConnectorEntity | null> {
    const connectorId = connector.id;
    let observation: HealthObservation;
    try {
      const credentials = await this.credentials.resolve(connector);
      const { result, oauth } = await this.tests.run(
        connector.provider,
        { config: connector.config, authType: connector.authType, credentials, eventTypes: connector.eventTypes },
        { cheap: true, timeoutMs: this.options.checkTimeoutMs },
      );
      upstreamDone?.();
      await recordOAuthState(this.dataSource, connector.id, oauth, this.notify);
      const failed = result.steps.find((s) => !s.passed && s.errorCode);
      observation = {
        ok: result.success,
        latencyMs: result.latencyMs,
        error: failed ? `${failed.name} ${failed.errorCode}: ${failed.message ?? ''}`.trim() : result.success ? null : (result.message ?? 'check failed'),
      };
    } catch (error) {
      // Our database going away (reading the credentials) says nothing about the connector: the
      // job fails and the queue retries it, as when recording the result fails.
      if (isDatabaseUnavailable(error)) throw error;
      observation = { ok: false, latencyMs: null, error: error instanceof Error ? error.message : String(error) };
    }
    return this.record(connectorId, observation, reschedule);
  }

  private async record(connectorId: string, observation: HealthObservation, reschedule: boolean): Promise<ConnectorEntity | null> {
    let autoDisable: string | null = null;
    const updated = await this.dataSource.transaction(async (m) => {
      const connector = await this.connectors.lockById(m, connectorId);
      if (!connector || !connector.enabled || connector.isDeleted) return connector;
      const settings = operationalSettings(connector.config);
      const now = new Date();
      const withRecords = this.withRecordExpectation(connector, observation, now);
      const patch = await this.apply(m, connector, withRecords);
      patch.lastCheckedAt = now;
      // A check that changes nothing but its time is an observation the next check makes again: its
      // commit does not wait for the WAL flush (a PostgreSQL crash may lose the last few; the
      // maintenance's reconcile queues a lost next check). A transition, audited here, stays durable.
      // This is what lets one process keep up with thousands of checks a minute (docs/capacity.md).
      if (patch.syncStatus === connector.syncStatus) await m.query('SET LOCAL synchronous_commit = off');
      patch.metrics = { ...connector.metrics, avgLatencyMs: movingAverage(connector.metrics.avgLatencyMs ?? null, observation.latencyMs) };
      await m.update(ConnectorEntity, { id: connectorId }, patch as QueryDeepPartialEntity<ConnectorEntity>);
      // While the connector's alerts are snoozed the policy does not disable it (the checks go on).
      if (settings.autoDisableAfterFailures && (patch.consecutiveErrors ?? 0) >= settings.autoDisableAfterFailures && !alertsSnoozed(connector, now)) {
        autoDisable = `auto-disabled after ${patch.consecutiveErrors} consecutive failures: ${observation.error ?? ''}`.trim();
      } else if (reschedule) {
        await this.schedule(m, connectorId, settings.healthCheckIntervalSec);
      }
      return Object.assign(connector, patch);
    });
    if (autoDisable && updated) {
      return this.autoDisable(updated, autoDisable, { name: 'consecutive_failures', figures: { consecutiveFailures: updated.consecutiveErrors, limit: operationalSettings(updated.config).autoDisableAfterFailures! } });
    }
    return updated;
  }

  /**
   * A push connector is judged by what it receives: HEALTHY while messages keep arriving, DEGRADED
   * when none came within `expectRecordsWithinSec` (since it was enabled, or since the last one).
   */
  private async pushObservation(connector: ConnectorEntity): Promise<HealthObservation> {
    const [stats] = await this.dataSource.query('SELECT last_received_at FROM intake_stats WHERE connector_id = $1', [connector.id]);
    const now = Date.now();
    const since = Math.max((connector.enabledChangedAt ?? connector.createdAt).getTime(), stats?.last_received_at ? new Date(stats.last_received_at).getTime() : 0);
    const expectSec = operationalSettings(connector.config).expectRecordsWithinSec;
    const silentSec = Math.round((now - since) / 1000);
    if (silentSec > expectSec) {
      const what = stats?.last_received_at ? `no message received in the last ${silentSec} s` : `no message received in the ${silentSec} s since the connector was enabled`;
      return { ok: true, latencyMs: null, error: null, degradedReason: `${what} (expectRecordsWithinSec ${expectSec})` };
    }
    return { ok: true, latencyMs: null, error: null, recordsJudged: true };
  }

  /** A connector that answers but has delivered nothing since it was switched on is not HEALTHY. */
  private withRecordExpectation(connector: ConnectorEntity, observation: HealthObservation, now: Date): HealthObservation {
    if (!observation.ok || observation.degradedReason || observation.recordsJudged) return observation;
    const since = connector.enabledChangedAt ?? connector.createdAt;
    const expectWithinMs = operationalSettings(connector.config).expectRecordsWithinSec * 1000;
    const delivered = connector.lastRecordAt && connector.lastRecordAt >= since;
    if (!delivered && now.getTime() - since.getTime() > expectWithinMs) {
      return { ...observation, degradedReason: `no records delivered in the ${Math.round((now.getTime() - since.getTime()) / 1000)} s since the connector was enabled` };
    }
    return observation;
  }

  /** Folds an observation into the connector's state; stores and audits a transition. */
  private async apply(m: EntityManager, connector: ConnectorEntity, observation: HealthObservation): Promise<Partial<ConnectorEntity>> {
    const settings = operationalSettings(connector.config);
    const decision = decide(
      { status: connector.syncStatus, candidate: connector.healthCandidate, candidateCount: connector.healthCandidateCount, consecutiveErrors: connector.consecutiveErrors },
      observation,
      settings,
    );
    const patch: Partial<ConnectorEntity> = {
      syncStatus: decision.state.status,
      healthCandidate: decision.state.candidate,
      healthCandidateCount: decision.state.candidateCount,
      consecutiveErrors: decision.state.consecutiveErrors,
      lastError: decision.lastError,
    };
    if (decision.transition) await this.recordTransition(m, connector, decision.transition.from, decision.transition.to, decision.transition.reason);
    return patch;
  }

  private async recordTransition(m: EntityManager, connector: ConnectorEntity, from: HealthStatus, to: HealthStatus, reason: string): Promise<void> {
    const now = new Date();
    await m.insert(HealthEventEntity, { id: newId('hev', now), tenantId: connector.tenantId, connectorId: connector.id, at: now, from, to, reason });
    await this.audit.record(m, MONITOR, {
      tenantId: connector.tenantId,
      eventType: 'HEALTH_STATUS_CHANGED',
      targetType: 'Connector',
      targetId: connector.id,
      connectorId: connector.id,
      appId: connector.applicationId,
      changes: { syncStatus: { before: from, after: to } },
      reason,
    });
    await this.notify?.(m, { type: 'CONNECTOR_HEALTH_CHANGED', connector, data: { from, to, reason } });
  }

  /** Ingestion outcomes count as results too; the duplicate-flood guard judges them here. */
  readonly onRunOutcome = async (m: EntityManager, connector: ConnectorEntity, outcome: RunOutcome): Promise<Partial<ConnectorEntity>> => {
    if (!connector.enabled || connector.isDeleted) return {};
    const settings = operationalSettings(connector.config);
    let observation: HealthObservation = { ok: outcome.ok, latencyMs: null, error: outcome.error };
    const flood =
      outcome.ok && settings.duplicateFloodRatio !== null && outcome.read >= settings.duplicateFloodMinRecords && outcome.duplicates / outcome.read > settings.duplicateFloodRatio;
    if (flood) {
      const share = Math.round((outcome.duplicates / outcome.read) * 100);
      observation = { ok: true, latencyMs: null, error: null, immediate: true, degradedReason: `duplicate flood: ${share}% of ${outcome.read} records in the last run were duplicates (limit ${Math.round(settings.duplicateFloodRatio! * 100)}%)` };
    } else if (outcome.ok && outcome.written > 0 && connector.syncStatus === 'DEGRADED' && connector.lastError?.startsWith('no records')) {
      observation = { ok: true, latencyMs: null, error: null };
    } else if (outcome.ok) {
      // A quiet but working run says nothing new about health; checks judge latency and records.
      return { consecutiveErrors: 0 };
    }
    const patch = await this.apply(m, connector, observation);
    const failures = patch.consecutiveErrors ?? 0;
    const reason = alertsSnoozed(connector)
      ? null
      : flood && settings.duplicateFloodAutoDisable
      ? `auto-disabled by the duplicate-flood guard: ${observation.degradedReason}`
      : settings.autoDisableAfterFailures && failures >= settings.autoDisableAfterFailures
        ? `auto-disabled after ${failures} consecutive failures: ${outcome.error ?? ''}`.trim()
        : null;
    if (reason) {
      const policy: AutoDisablePolicy = flood && settings.duplicateFloodAutoDisable
        ? { name: 'duplicate_flood', figures: { read: outcome.read, duplicates: outcome.duplicates, limitRatio: settings.duplicateFloodRatio! } }
        : { name: 'consecutive_failures', figures: { consecutiveFailures: failures, limit: settings.autoDisableAfterFailures! } };
      // The toggle path runs in its own transaction, once this one has committed.
      setImmediate(() => void this.autoDisable(Object.assign({}, connector, patch) as ConnectorEntity, reason, policy).catch((error) => this.logger.error({ err: String(error) }, 'auto-disable failed')));
    }
    return patch;
  };

  /** Per push connector, this process's intake in the current flood window. */
  private readonly intakeWindows = new Map<string, { startedAt: number; read: number; duplicates: number }>();

  /**
   * The duplicate-flood guard for push connectors: there are no runs, so it judges the records this
   * process took for the connector within a window of FLOOD_WINDOW_MS, as it judges a polled run:
   * at least `duplicateFloodMinRecords` read and a share of duplicates over `duplicateFloodRatio`
   * marks the connector DEGRADED at once, and with `duplicateFloodAutoDisable` disables it.
   */
  readonly onIntake = async (connector: { id: string; config: Record<string, unknown> }, read: number, duplicates: number): Promise<void> => {
    const settings = operationalSettings(connector.config);
    if (settings.duplicateFloodRatio === null || read === 0) return;
    const now = Date.now();
    let window = this.intakeWindows.get(connector.id);
    if (!window || now - window.startedAt > FLOOD_WINDOW_MS) {
      window = { startedAt: now, read: 0, duplicates: 0 };
      this.intakeWindows.set(connector.id, window);
    }
    window.read += read;
    window.duplicates += duplicates;
    if (window.read < settings.duplicateFloodMinRecords || window.duplicates / window.read <= settings.duplicateFloodRatio) return;
    const share = Math.round((window.duplicates / window.read) * 100);
    const figures = { read: window.read, duplicates: window.duplicates, limitRatio: settings.duplicateFloodRatio, windowSec: Math.round((now - window.startedAt) / 1000) };
    const degradedReason = `duplicate flood: ${share}% of ${window.read} records received in ${Math.round((now - window.startedAt) / 1000)} s were duplicates (limit ${Math.round(settings.duplicateFloodRatio * 100)}%)`;
    this.intakeWindows.delete(connector.id);
    const updated = await this.dataSource.transaction(async (m) => {
      const current = await this.connectors.lockById(m, connector.id);
      if (!current || !current.enabled || current.isDeleted) return null;
      const patch = await this.apply(m, current, { ok: true, latencyMs: null, error: null, immediate: true, degradedReason });
      await m.update(ConnectorEntity, { id: current.id }, patch as QueryDeepPartialEntity<ConnectorEntity>);
      return Object.assign(current, patch);
    });
    if (updated && settings.duplicateFloodAutoDisable && !alertsSnoozed(updated)) await this.autoDisable(updated, `auto-disabled by the duplicate-flood guard: ${degradedReason}`, { name: 'duplicate_flood', figures });
  };

  /** Policies disable through the same toggle as a person, as SYSTEM with the reason. */
  private async autoDisable(connector: ConnectorEntity, reason: string, policy: AutoDisablePolicy): Promise<ConnectorEntity> {
    this.logger.warn({ connectorId: connector.id, reason }, 'policy disables connector');
    return this.connectors.toggle({ actor: MONITOR, tenantId: connector.tenantId, policy }, connector.id, false, reason.slice(0, 1000));
  }

  /** Newest transitions of many connectors in one statement (`Connector.healthHistory`). */
  async historyFor(principal: Principal, connectorIds: readonly string[], first: number): Promise<Map<string, HealthEventEntity[]>> {
    const sql = new SqlParams();
    const where = [`h.tenant_id = ${sql.param(principal.tenantId)}`];
    return this.perConnector({ table: 'health_events', alias: 'h', parentColumn: 'connector_id', parentIds: connectorIds, where, sql, limit: first });
  }


  /**
   * Counts of visible, non-deleted connectors by status, for a dashboard, and whether their checks
   * keep their schedule: `checksOverdue` (enabled connectors whose last check, or enabling, is older
   * than 1.5 × their interval) and `oldestCheckWaitSec` (how long the longest-waiting due check of
   * these connectors has waited for a worker). Both stay 0 while the workers keep up.
   */
  async summary(principal: Principal): Promise<{ total: number; enabled: number; byStatus: Array<{ status: HealthStatus; count: number }>; checksOverdue: number; oldestCheckWaitSec: number }> {
    const sql = new SqlParams();
    const rows: Array<{ status: HealthStatus; count: number; enabled: number; overdue: number }> = await this.dataSource.query(
      `SELECT c.sync_status AS status, count(*)::int AS count, count(*) FILTER (WHERE c.enabled)::int AS enabled,
              count(*) FILTER (WHERE c.enabled AND ${OVERDUE_CHECK('c')})::int AS overdue
       FROM connectors c WHERE ${connectorVisibility(principal, 'c', sql)} AND NOT c.is_deleted GROUP BY c.sync_status`,
      sql.values,
    );
    const waitSql = new SqlParams();
    const queue = waitSql.param(QUEUES.health);
    const [wait]: Array<{ seconds: number }> = await this.dataSource.query(
      `SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(j.start_after)), 0)::float8 AS seconds
         FROM pgboss.job j JOIN connectors c ON c.id = j.singleton_key
        WHERE j.name = ${queue} AND j.state < 'active' AND j.start_after <= now()
          AND c.enabled AND NOT c.is_deleted AND ${connectorVisibility(principal, 'c', waitSql)}`,
      waitSql.values,
    );
    const order: HealthStatus[] = ['PENDING', 'HEALTHY', 'DEGRADED', 'FAILING', 'PAUSED'];
    return {
      total: rows.reduce((n, r) => n + r.count, 0),
      enabled: rows.reduce((n, r) => n + r.enabled, 0),
      byStatus: order.map((status) => ({ status, count: rows.find((r) => r.status === status)?.count ?? 0 })),
      checksOverdue: rows.reduce((n, r) => n + r.overdue, 0),
      oldestCheckWaitSec: Math.floor(Number(wait?.seconds ?? 0)),
    };
  }

  /** Enabled connectors of every tenant whose check is overdue (the `connector_health_checks_overdue` metric). */
  async overdueChecks(): Promise<number> {
    const [row]: Array<{ overdue: number }> = await this.dataSource.query(`SELECT count(*)::int AS overdue FROM connectors c WHERE c.enabled AND NOT c.is_deleted AND ${OVERDUE_CHECK('c')}`);
    return row?.overdue ?? 0;
  }

  /** Ensures every enabled connector has a check queued (after restarts, restores, lost jobs). */
  async reconcile(): Promise<number> {
    const missing: Array<{ id: string }> = await this.dataSource.query(
      `SELECT c.id FROM connectors c WHERE c.enabled AND NOT c.is_deleted
       AND NOT EXISTS (SELECT 1 FROM pgboss.job j WHERE j.name = $1 AND j.singleton_key = c.id AND j.state IN ('created', 'retry', 'active'))`,
      [QUEUES.health],
    );
    for (const { id } of missing) await this.schedule(undefined, id, 0);
    return missing.length;
  }
}
