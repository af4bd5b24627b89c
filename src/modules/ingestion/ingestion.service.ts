import type { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { OAuthObserver, recordOAuthState } from '../connectors/oauth-state.js';
import type { Notify } from '../notifications/notification.events.js';
import { operationalSettings } from '../../adapters/operations.js';
import { heldUntil, nextRunAt } from '../../adapters/schedule.js';
import { AppError } from '../../errors/app-error.js';
import { cleanReason } from '../connectors/connector.validation.js';
import { getAdapter, isPushProvider, PUSH_PROVIDER_IDS } from '../../adapters/registry.js';
import type { AdapterRuntime } from '../../adapters/runtime.js';
import type { ReadCursor, RecordBatch } from '../../adapters/spi.js';
import type { Principal } from '../../auth/principal.js';
import { createLatestPerParent } from '../../db/latest-per-parent.js';
import { SqlParams } from '../../db/sql.js';
import { newId } from '../../db/ids.js';
import { isDatabaseUnavailable, pause, unavailableBackoffMs } from '../../db/unavailable.js';
import { isConnectorError } from '../../errors/connector-error.js';
import { PRIORITY, QUEUES, type JobQueue } from '../../jobs/job-queue.js';
import { upstreamHost } from '../../jobs/host-gate.js';
import { JobDeferred } from '../../jobs/job-loop.js';
import type { Logger } from '../../server/logger.js';
import { actorOf, systemActor } from '../audit/audit.actor.js';
import type { RequestContext } from '../../context/request-context.js';
import type { AuditService } from '../audit/audit.service.js';
import { ConnectorEntity } from '../connectors/connector.entity.js';
import type { ConnectorService } from '../connectors/connector.service.js';
import type { CredentialService } from '../connectors/credential.service.js';
import { IngestionRunEntity } from './ingestion-run.entity.js';
import { RecordDeliveryError, type RecordDelivery, type Sink } from './sink.js';

const MAX_ERROR_LENGTH = 1000;
export const CONTROL_CHANNEL = 'connector_control';
const INTERRUPTED_BY_DATABASE = 'interrupted: the database was unreachable; the next run resumes from the last committed cursor';

/** Why a run was cut off by our own infrastructure (not the upstream), and when to try again. */
interface Interruption {
  reason: string;
  retryAfterSec: number;
}
const DATABASE_GONE: Interruption = { reason: INTERRUPTED_BY_DATABASE, retryAfterSec: 1 };
/** When a sync for a slow upstream host that already has one running here comes back. */
const SLOW_HOST_SYNC_DEFER_SEC = 15;
/** A stream outage lasts longer than a database restart: the next run waits a little. */
const DELIVERY_RETRY_SEC = 30;
const RESET_SUPERSEDED = 'superseded: the cursor was reset while the run was in flight; the next run reads from the reset position';
/** Longest wait between attempts to record a run's end while PostgreSQL is unreachable. */

export interface SyncJob {
  connectorId: string;
  tenantId: string;
  trigger: 'enable' | 'schedule' | 'manual';
}

export interface ControlJob {
  connectorId: string;
  action: 'settle-stop';
}

export interface IngestionOptions {
  /** A RUNNING run whose heartbeat is older than this is taken as interrupted. */
  staleRunSec: number;
}

/** Outcome of one run, for health and metrics. */
export interface RunOutcome {
  ok: boolean;
  error: string | null;
  read: number;
  written: number;
  duplicates: number;
}

export type RunOutcomeListener = (m: EntityManager, connector: ConnectorEntity, outcome: RunOutcome) => Promise<Partial<ConnectorEntity>>;

function describeError(error: unknown): string {
  const text = isConnectorError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return text.slice(0, MAX_ERROR_LENGTH);
}

/** Cursor keys that say where a read stands (times, counters, versions); page tokens, URLs and keys never. */
const CURSOR_POSITION_KEYS = new Set(['v', 'dateField', 'since', 'lastModified', 'value', 'until', 'high']);

/** What a cursor says about where reading stands, for the audit trail: positions only, never tokens or URLs. */
export function cursorSummary(cursor: unknown): Record<string, unknown> | null {
  if (!cursor || typeof cursor !== 'object' || Array.isArray(cursor)) return null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(cursor)) {
    if (key === 'streams' && value && typeof value === 'object') {
      out.streams = Object.fromEntries(Object.entries(value).slice(0, 50).map(([name, state]) => [name.slice(0, 100), cursorSummary(state)]));
    } else if (CURSOR_POSITION_KEYS.has(key) && (typeof value === 'number' || typeof value === 'string')) {
      out[key] = typeof value === 'string' ? value.slice(0, 64) : value;
    } else if ((key === 'page' || key === 'window') && value) {
      out.inProgress = true;
    }
  }
  return out;
}

/**
 * Pipeline control: what enabling and disabling do to ingestion (inside the toggle's transaction),
 * and the run itself (read → normalize → sink, cursor committed after the sink accepted).
 */
export class IngestionService {
  private readonly perConnector;
  /** Health folds run outcomes into the connector's status (set by the health module). */
  onRunOutcome: RunOutcomeListener | null = null;
  /** Announces failed runs (ingestion.run_failed) and OAuth failures, in their transaction. */
  notify: Notify | null = null;
  /**
   * The one clock of the scheduling decisions (the next run's start, sync windows, `nextSyncAt`,
   * a reset's `from`). Tests set it to walk across a DST change; runs and audit keep real time.
   */
  clock: () => Date = () => new Date();
  /**
   * Whether an upstream host is slow (the health checks' host gate, wired in src/services.ts): a slow
   * host runs one sync at a time per process, so it holds one sync slot and nothing else.
   */
  slowHost: ((host: string) => boolean) | null = null;
  /** The upstream host of each connector this process ran, and the syncs running per host. */
  private readonly hostOf = new Map<string, string>();
  private readonly syncsPerHost = new Map<string, number>();
  /** Told what each committed batch held and how each run ended (src/observability/metrics.ts). */
  meter: { batch(provider: string, read: number, duplicates: number): void; run(provider: string, status: 'succeeded' | 'failed' | 'cancelled' | 'interrupted'): void } | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly queue: JobQueue,
    private readonly runtime: AdapterRuntime,
    private readonly connectors: ConnectorService,
    private readonly credentials: CredentialService,
    private readonly audit: AuditService,
    private readonly sink: Sink,
    private readonly logger: Logger,
    private readonly options: IngestionOptions,
    /** Where written records also go (SINK=nats), acknowledged before the batch commits. */
    private readonly delivery: RecordDelivery | null = null,
  ) {
    this.perConnector = createLatestPerParent(dataSource, IngestionRunEntity, (r) => r.connectorId);
  }

  /** Enabling: queue a sync now; the worker that picks it up moves STARTING → RUNNING. */
  async onEnabled(m: EntityManager, connector: ConnectorEntity): Promise<void> {
    // A push connector has nothing to poll: the intake takes its messages from this commit on.
    if (isPushProvider(connector.provider)) return;
    // Ahead of every scheduled sync, however long the backlog (disabling removed any queued one; the
    // toggle's statement count stays what it was).
    await this.queue.send(QUEUES.sync, { connectorId: connector.id, tenantId: connector.tenantId, trigger: 'enable' } satisfies SyncJob, {
      singletonKey: connector.id,
      priority: PRIORITY.urgent,
      manager: m,
    });
  }

  /**
   * Disabling: removes queued work, tells every worker to abort an in-flight run (NOTIFY, delivered
   * at commit), and returns the run state to set: STOPPED when nothing runs, else STOPPING until the
   * run has ended.
   */
  async onDisabled(m: EntityManager, connector: ConnectorEntity): Promise<'STOPPED' | 'STOPPING'> {
    await this.removeQueuedRuns(m, connector.id, 'cancelled: the connector was disabled before the run started');
    // One statement for both: the stop signal and whether a run is in flight (a bulk toggle runs this per connector).
    const [{ running }] = await m.query(
      `SELECT pg_notify($1, $2) AS notified, (SELECT count(*)::int FROM ingestion_runs WHERE connector_id = $3 AND status = 'RUNNING') AS running`,
      [CONTROL_CHANNEL, JSON.stringify({ connectorId: connector.id, action: 'stop' }), connector.id],
    );
    if (!running) {
      if (connector.runState !== 'STOPPED') await this.auditStopped(m, connector, 'no run was in flight');
      return 'STOPPED';
    }
    // A worker that died mid-run cannot settle it: check again once such a run would be stale.
    await this.queue.send(QUEUES.control, { connectorId: connector.id, action: 'settle-stop' } satisfies ControlJob, {
      startAfter: this.options.staleRunSec,
      manager: m,
    });
    return 'STOPPING';
  }

  private async auditStopped(m: EntityManager, connector: ConnectorEntity, reason: string): Promise<void> {
    await this.audit.record(m, systemActor('ingestion'), {
      tenantId: connector.tenantId,
      eventType: 'INGESTION_STOPPED',
      targetType: 'Connector',
      targetId: connector.id,
      connectorId: connector.id,
      appId: connector.applicationId,
      changes: { runState: { before: connector.runState, after: 'STOPPED' } },
      reason,
    });
  }

  /** Removes the connector's queued sync jobs, and ends the QUEUED runs that waited for them. */
  private async removeQueuedRuns(m: EntityManager, connectorId: string, reason: string): Promise<void> {
    await this.queue.removeQueued(m, QUEUES.sync, connectorId);
    await this.cancelOrphanedRuns(m, connectorId, reason, new Date());
  }

  /** QUEUED runs whose job is gone (removed, or never created) will never start: they end CANCELLED. */
  private async cancelOrphanedRuns(m: EntityManager, connectorId: string, reason: string, at: Date): Promise<void> {
    await m.query(
      `UPDATE ingestion_runs r SET status = 'CANCELLED', finished_at = $2, error = $3
       WHERE r.connector_id = $1 AND r.status = 'QUEUED'
         AND NOT EXISTS (SELECT 1 FROM pgboss.job j WHERE j.name = $4 AND j.id::text = r.job_id AND j.state IN ('created', 'retry', 'active'))`,
      [connectorId, at, reason, QUEUES.sync],
    );
  }

  /** Purge: the sink's records, the cursor, the runs and any queued work of the connector. */
  async onPurged(m: EntityManager, connector: ConnectorEntity): Promise<void> {
    await this.queue.removeQueued(m, QUEUES.sync, connector.id);
    await this.sink.forget(m, connector.tenantId, connector.id);
    await m.query('DELETE FROM ingestion_cursors WHERE connector_id = $1', [connector.id]);
    await m.query('DELETE FROM ingestion_runs WHERE connector_id = $1', [connector.id]);
  }

  /** `syncConnector`: queue a run now (enabled connectors only; the caller checked visibility). */
  async syncNow(rc: RequestContext, connector: ConnectorEntity): Promise<IngestionRunEntity> {
    return this.dataSource.transaction(async (m) => {
      const now = new Date();
      const run = m.create(IngestionRunEntity, {
        id: newId('run', now),
        tenantId: connector.tenantId,
        connectorId: connector.id,
        status: 'QUEUED',
        trigger: 'manual',
        jobId: null,
        workerId: null,
        startedAt: null,
        finishedAt: null,
        heartbeatAt: null,
        recordsRead: 0,
        recordsWritten: 0,
        duplicates: 0,
        error: null,
      });
      // The next scheduled run is brought forward, not doubled; an earlier request still waiting is
      // superseded by this one.
      await this.queue.removeQueued(m, QUEUES.sync, connector.id);
      const jobId = await this.queue.send(QUEUES.sync, { connectorId: connector.id, tenantId: connector.tenantId, trigger: 'manual' } satisfies SyncJob, {
        singletonKey: connector.id,
        priority: PRIORITY.urgent,
        manager: m,
      });
      await this.cancelOrphanedRuns(m, connector.id, 'cancelled: superseded by a newer sync request', now);
      // A run of this connector is in flight and another already waits behind it: that one serves.
      if (!jobId) {
        run.status = 'CANCELLED';
        run.finishedAt = now;
        run.error = 'a run was already queued for this connector';
      }
      run.jobId = jobId;
      await m.insert(IngestionRunEntity, run as QueryDeepPartialEntity<IngestionRunEntity>);
      await this.audit.record(m, actorOf(rc), {
        tenantId: connector.tenantId,
        eventType: 'INGESTION_REQUESTED',
        targetType: 'Connector',
        targetId: connector.id,
        connectorId: connector.id,
        appId: connector.applicationId,
        changes: { run: { before: null, after: { id: run.id, status: run.status } } },
      });
      return run;
    });
  }

  /**
   * Runs one sync job; never throws for upstream failures (they are recorded on the run). When
   * PostgreSQL goes away mid-run, the run ends as interrupted once it is back (the next run is
   * queued at once and resumes from the last committed cursor); `stopping` (the worker's lifetime)
   * ends that wait. Throws only when the run's end could not be recorded.
   */
  async execute(job: SyncJob, jobId: string, workerId: string, signal: AbortSignal, stopping?: AbortSignal): Promise<void> {
    // A slow upstream host runs one sync at a time in this process: the job comes back later rather
    // than wait in a slot (the host as this process last saw the connector's config).
    const lastHost = this.hostOf.get(job.connectorId);
    if (lastHost && this.slowHost?.(lastHost) && (this.syncsPerHost.get(lastHost) ?? 0) > 0) {
      throw new JobDeferred(SLOW_HOST_SYNC_DEFER_SEC, `upstream ${lastHost} is slow and has a sync running in this process`);
    }
    // Retried like the run's end: a claim whose commit answer was lost is found again as ours.
    const claim = await this.whenDatabaseAnswers(stopping, { connectorId: job.connectorId, jobId }, () => this.claim(job, jobId, workerId));
    if (!claim) return;
    const host = upstreamHost(claim.connector.provider, claim.connector.config);
    this.hostOf.set(claim.connector.id, host);
    this.syncsPerHost.set(host, (this.syncsPerHost.get(host) ?? 0) + 1);
    try {
      await this.runClaimed(claim.connector, claim.run, signal, stopping);
    } finally {
      const left = (this.syncsPerHost.get(host) ?? 1) - 1;
      if (left > 0) this.syncsPerHost.set(host, left);
      else this.syncsPerHost.delete(host);
    }
  }

  /** A claimed run: read, commit batch by batch, record its end. */
  private async runClaimed(connector: ConnectorEntity, run: IngestionRunEntity, signal: AbortSignal, stopping?: AbortSignal): Promise<void> {
    let outcome: RunOutcome = { ok: true, error: null, read: 0, written: 0, duplicates: 0 };
    let cancelled = false;
    /** Set when a reset of the cursor ended this run (its batches were not committed). */
    let superseded = false;
    let interrupted: Interruption | null = null;
    // Whose statement was running when an error came: ours (the database) or the upstream's.
    let stage: 'database' | 'credentials' | 'upstream' = 'database';
    const oauth = new OAuthObserver();
    try {
      const adapter = getAdapter(connector.provider);
      if (!adapter) throw new Error(`provider ${connector.provider} is not available in this build`);
      const [cursorRow] = await this.dataSource.query('SELECT cursor, generation FROM ingestion_cursors WHERE connector_id = $1', [connector.id]);
      // A reset moves the generation: this run's batches commit only while it is the one read here.
      const generation = Number(cursorRow?.generation ?? 0);
      stage = 'credentials';
      const credentials = await this.credentials.resolve(connector);
      const ctx = this.runtime.context({ signal, onOAuthToken: oauth.listener, provider: connector.provider });
      const input = { config: connector.config, authType: connector.authType, credentials, eventTypes: connector.eventTypes };
      stage = 'upstream';
      for await (const batch of adapter.read(ctx, input, (cursorRow?.cursor ?? null) as ReadCursor)) {
        signal.throwIfAborted();
        stage = 'database';
        const accepted = await this.commitBatch(connector, run, batch, generation);
        stage = 'upstream';
        if (accepted === 'superseded') {
          superseded = true;
          break;
        }
        if (!accepted) {
          cancelled = true;
          break;
        }
        outcome.read += batch.records.length;
        this.meter?.batch(connector.provider, batch.records.length, accepted.duplicates);
        outcome.written += accepted.written;
        outcome.duplicates += accepted.duplicates;
      }
    } catch (error) {
      if (signal.aborted) cancelled = true;
      else if (await this.lostDatabase(error, stage)) {
        interrupted = DATABASE_GONE;
        this.logger.warn({ connectorId: connector.id, runId: run.id, err: describeError(error) }, 'ingestion run interrupted: PostgreSQL is unreachable');
      } else if (error instanceof RecordDeliveryError) {
        // The stream (SINK=nats) did not acknowledge: says nothing about the connector's health.
        interrupted = { reason: `interrupted: ${error.message}; the next run resumes from the last committed cursor`, retryAfterSec: DELIVERY_RETRY_SEC };
        this.logger.warn({ connectorId: connector.id, runId: run.id, err: error.message }, 'ingestion run interrupted: records could not be delivered');
      } else {
        outcome = { ...outcome, ok: false, error: describeError(error) };
        this.logger.info({ connectorId: connector.id, runId: run.id, error: outcome.error }, 'ingestion run failed');
      }
    }
    const status = cancelled || superseded ? 'CANCELLED' : interrupted !== null || !outcome.ok ? 'FAILED' : 'SUCCEEDED';
    this.meter?.run(connector.provider, interrupted !== null ? 'interrupted' : (status.toLowerCase() as 'succeeded' | 'failed' | 'cancelled'));
    if (interrupted !== DATABASE_GONE) await recordOAuthState(this.dataSource, connector.id, oauth.last, this.notify).catch((e) => this.logger.warn({ connectorId: connector.id, err: describeError(e) }, 'could not record the OAuth token state'));
    await this.whenDatabaseAnswers(stopping, { connectorId: connector.id, runId: run.id }, () => this.finish(connector.id, run.id, status, outcome, interrupted, superseded ? RESET_SUPERSEDED : undefined));
  }

  /** Whether a run's error means our database went away (not the upstream failing). */
  private async lostDatabase(error: unknown, stage: 'database' | 'credentials' | 'upstream'): Promise<boolean> {
    if (isConnectorError(error) || !isDatabaseUnavailable(error)) return false;
    if (stage === 'database') return true;
    // The secret store may be this database or Vault: ask the database whether it is the one gone.
    try {
      await this.dataSource.query('SELECT 1');
      return false;
    } catch {
      return true;
    }
  }

  /** Runs `action`, retrying with backoff while PostgreSQL is unreachable, until `stopping`. */
  private async whenDatabaseAnswers<R>(stopping: AbortSignal | undefined, context: object, action: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await action();
        if (attempt > 1) this.logger.info({ ...context, attempts: attempt }, 'run state recorded once PostgreSQL was back');
        return result;
      } catch (error) {
        if (!isDatabaseUnavailable(error) || stopping?.aborted) throw error;
        if (attempt === 1) this.logger.warn({ ...context, err: describeError(error) }, 'cannot record a run: PostgreSQL is unreachable; retrying');
        await pause(unavailableBackoffMs(attempt), stopping);
      }
    }
  }

  /** Starts a run if the connector is still enabled; a job queued before a disable never runs. */
  private async claim(job: SyncJob, jobId: string, workerId: string) {
    return this.dataSource.transaction(async (m) => {
      const connector = await this.connectors.lockById(m, job.connectorId);
      if (!connector || !connector.enabled || connector.isDeleted) return null;
      // Outside the sync windows: the job comes back when the next one opens, and nothing runs now.
      const held = heldUntil(operationalSettings(connector.config).schedule, this.clock());
      if (held) {
        await this.hold(m, job, jobId, held);
        return null;
      }
      const now = new Date();
      // Never two runs of one connector at once: a live run elsewhere keeps it; a stale one died. One
      // this very worker claimed for this job (its claim's answer was lost) is this claim's own.
      const [{ live, beatAgeSec }] = await m.query(
        `SELECT count(*)::int AS live, COALESCE(EXTRACT(EPOCH FROM now() - max(heartbeat_at)), 0)::float8 AS "beatAgeSec"
           FROM ingestion_runs WHERE connector_id = $1 AND status = 'RUNNING' AND heartbeat_at > now() - make_interval(secs => $2)
            AND NOT (job_id IS NOT DISTINCT FROM $3 AND worker_id IS NOT DISTINCT FROM $4)`,
        [connector.id, this.options.staleRunSec, jobId, workerId],
      );
      if (live) {
        // Another worker's run is live, or its worker died less than a stale interval ago: this job
        // comes back the moment that run would be stale. A live run's end queues its successor (the
        // queue keeps one of the two); a dead one's is then taken over, resuming from its cursor.
        await this.queue.send(QUEUES.sync, { connectorId: job.connectorId, tenantId: job.tenantId, trigger: job.trigger } satisfies SyncJob, {
          singletonKey: job.connectorId,
          startAfter: Math.max(1, Math.ceil(this.options.staleRunSec - Number(beatAgeSec)) + 1),
          manager: m,
        });
        return null;
      }
      // Runs of other jobs or workers that are still RUNNING died; this worker's own claim of this
      // job (its answer lost) is taken up again below, so the run id a caller was given stays the one.
      await m.query(
        `UPDATE ingestion_runs SET status = 'FAILED', finished_at = $2, error = 'interrupted: the worker stopped before the run finished'
         WHERE connector_id = $1 AND status = 'RUNNING' AND NOT (job_id IS NOT DISTINCT FROM $3 AND worker_id IS NOT DISTINCT FROM $4)`,
        [connector.id, now, jobId, workerId],
      );
      const [queued] = await m.query(
        `SELECT id FROM ingestion_runs WHERE connector_id = $1 AND job_id = $2 AND (status = 'QUEUED' OR (status = 'RUNNING' AND worker_id = $3))`,
        [connector.id, jobId, workerId],
      );
      const run = m.create(IngestionRunEntity, {
        id: queued?.id ?? newId('run', now),
        tenantId: connector.tenantId,
        connectorId: connector.id,
        status: 'RUNNING',
        trigger: job.trigger,
        jobId,
        workerId,
        startedAt: now,
        finishedAt: null,
        heartbeatAt: now,
        recordsRead: 0,
        recordsWritten: 0,
        duplicates: 0,
        error: null,
      });
      if (queued) await m.update(IngestionRunEntity, { id: run.id }, run as QueryDeepPartialEntity<IngestionRunEntity>);
      else await m.insert(IngestionRunEntity, run as QueryDeepPartialEntity<IngestionRunEntity>);
      if (connector.runState !== 'RUNNING') {
        await m.update(ConnectorEntity, { id: connector.id }, { runState: 'RUNNING' });
        await this.audit.record(m, systemActor('ingestion'), {
          tenantId: connector.tenantId,
          eventType: 'INGESTION_STARTED',
          targetType: 'Connector',
          targetId: connector.id,
          connectorId: connector.id,
          appId: connector.applicationId,
          changes: { runState: { before: connector.runState, after: 'RUNNING' } },
        });
      }
      return { connector, run };
    });
  }

  /** Sink + cursor + counters in one transaction, and only while the connector is enabled. */
  private async commitBatch(connector: ConnectorEntity, run: IngestionRunEntity, { records, cursor, dedupKey, versionPointer }: RecordBatch, generation: number) {
    return this.dataSource.transaction(async (m) => {
      const [state] = await m.query('SELECT enabled, is_deleted FROM connectors WHERE id = $1 FOR SHARE', [connector.id]);
      if (!state?.enabled || state.is_deleted) return null;
      // A reset (which locks the connector FOR UPDATE, so not between these statements) wins: this
      // run read an older cursor, and neither its records nor its cursor commit.
      const [current] = await m.query('SELECT generation FROM ingestion_cursors WHERE connector_id = $1', [connector.id]);
      if (Number(current?.generation ?? 0) !== generation) return 'superseded' as const;
      const pointers = connector.config.dedupKey;
      const result = await this.sink.accept(m, {
        tenantId: connector.tenantId,
        connectorId: connector.id,
        runId: run.id,
        records,
        dedupKeyPointers: Array.isArray(pointers) ? (pointers as string[]) : dedupKey,
        dedupWindowSec: operationalSettings(connector.config).dedupWindowSec,
        versionPointer,
      });
      // Delivered and acknowledged before the cursor commits: a crash in between replays the batch,
      // whose records keep their ids, so the stream drops the redelivery.
      if (this.delivery && result.fresh.length) await this.delivery.deliver({ tenantId: connector.tenantId, connectorId: connector.id, records: result.fresh });
      await m.query(
        `INSERT INTO ingestion_cursors (connector_id, tenant_id, cursor, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (connector_id) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()`,
        [connector.id, connector.tenantId, cursor === null ? null : JSON.stringify(cursor)],
      );
      await m.query(
        `UPDATE ingestion_runs SET records_read = records_read + $2, records_written = records_written + $3, duplicates = duplicates + $4, heartbeat_at = now() WHERE id = $1`,
        [run.id, records.length, result.written, result.duplicates],
      );
      if (result.written) await m.query('UPDATE connectors SET last_record_at = now() WHERE id = $1', [connector.id]);
      return result;
    });
  }

  /**
   * Records the outcome, updates the connector, settles a pending stop or schedules the next run.
   * An `interrupted` run (our database went away) says nothing about the connector's health, and
   * its successor is queued at once. Idempotent: a run already ended is left as it is, so a retry
   * after a commit whose answer was lost changes nothing.
   */
  private async finish(
    connectorId: string,
    runId: string,
    status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
    outcome: RunOutcome,
    interrupted: Interruption | null = null,
    /** Why a CANCELLED run ended, when not a disable (a reset of the cursor): its successor starts at once. */
    cancelReason?: string,
  ): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const now = new Date();
      const [current] = await m.query('SELECT status FROM ingestion_runs WHERE id = $1 FOR UPDATE', [runId]);
      if (current?.status !== 'RUNNING') return;
      await m.query(`UPDATE ingestion_runs SET status = $2, finished_at = $3, error = $4 WHERE id = $1`, [
        runId,
        status,
        now,
        status === 'CANCELLED' ? (cancelReason ?? 'cancelled: the connector was disabled') : interrupted ? interrupted.reason : outcome.error,
      ]);
      const connector = await this.connectors.lockById(m, connectorId);
      if (!connector) return;
      const patch: Partial<ConnectorEntity> = {};
      if (status === 'SUCCEEDED') {
        const [{ last24h }] = await m.query(
          `SELECT count(*)::int AS last24h FROM ingested_records WHERE tenant_id = $1 AND connector_id = $2 AND ingested_at > now() - interval '24 hours'`,
          [connector.tenantId, connectorId],
        );
        patch.lastSyncAt = now;
        patch.metrics = { ...connector.metrics, totalSynced: (connector.metrics.totalSynced ?? 0) + outcome.written, last24h };
      }
      if (status !== 'CANCELLED' && !interrupted && this.onRunOutcome) Object.assign(patch, await this.onRunOutcome(m, connector, outcome));
      // A failed upstream, not an interruption (our database, the stream, a stopping worker).
      if (status === 'FAILED' && !interrupted) await this.notify?.(m, { type: 'INGESTION_RUN_FAILED', connector, data: { runId, error: outcome.error } });
      if (!connector.enabled || connector.isDeleted) {
        if (connector.runState === 'STOPPING') {
          patch.runState = 'STOPPED';
          await this.auditStopped(m, connector, 'the in-flight run ended');
        }
      } else {
        await this.queue.send(QUEUES.sync, { connectorId, tenantId: connector.tenantId, trigger: 'schedule' } satisfies SyncJob, {
          singletonKey: connectorId,
          // 1 s, not 0: this run's job is still active until the worker settles it. Else the schedule's next
          // instant (cron or interval, inside the sync windows), at least 1 s away.
          startAfter: interrupted ? interrupted.retryAfterSec : cancelReason ? 1 : this.nextStart(connector),
          manager: m,
        });
      }
      if (Object.keys(patch).length) await m.update(ConnectorEntity, { id: connectorId }, patch as QueryDeepPartialEntity<ConnectorEntity>);
    });
  }

  /** The next scheduled start after a run of `connector` ended now (by the injected clock), at least 1 s away. */
  private nextStart(connector: ConnectorEntity): Date {
    const now = this.clock();
    const next = nextRunAt(operationalSettings(connector.config).schedule, now);
    return new Date(Math.max(next.getTime(), now.getTime() + 1000));
  }

  /**
   * A job due outside the sync windows: queued again for when the next window opens (a QUEUED run
   * waiting for it follows it), in the transaction of the claim that found it early.
   */
  private async hold(m: EntityManager, job: SyncJob, jobId: string, until: Date): Promise<void> {
    const next = await this.queue.send(QUEUES.sync, { connectorId: job.connectorId, tenantId: job.tenantId, trigger: job.trigger } satisfies SyncJob, {
      singletonKey: job.connectorId,
      startAfter: until,
      manager: m,
    });
    if (next) await m.query(`UPDATE ingestion_runs SET job_id = $3 WHERE connector_id = $1 AND job_id = $2 AND status = 'QUEUED'`, [job.connectorId, jobId, next]);
    this.logger.info({ connectorId: job.connectorId, until: until.toISOString() }, 'sync held until its window opens');
  }

  /**
   * `resetConnectorCursor`: the next run reads again from `from` (the adapter's `cursorFrom`) or,
   * without it, from the start. Audited with a summary of the cursor before and after (positions
   * only). An enabled connector queues a run now (within its windows); a disabled one reads from
   * there once enabled. A run in flight is not aborted, but moving the cursor's generation keeps
   * its later batches (and its older cursor) from committing: it ends CANCELLED and the next run
   * starts at once.
   */
  async resetCursor(rc: RequestContext, connector: ConnectorEntity, from: Date | null, reason: string | null): Promise<ConnectorEntity> {
    const why = cleanReason(reason);
    if (!why) throw AppError.badInput('reason is required', [{ path: 'reason', message: 'must not be empty' }]);
    if (from && Number.isNaN(from.getTime())) throw AppError.badInput('from is not a valid date', [{ path: 'from', message: 'is not a valid date' }]);
    if (from && from.getTime() > this.clock().getTime()) throw AppError.badInput('from is in the future', [{ path: 'from', message: 'must not be in the future' }]);
    return this.dataSource.transaction(async (m) => {
      const locked = await this.connectors.lockById(m, connector.id);
      if (!locked || locked.tenantId !== connector.tenantId) throw AppError.notFound('connector', connector.id);
      if (locked.isDeleted) throw AppError.badInput(`connector ${locked.id} is deleted: restore it before resetting its cursor`);
      if (isPushProvider(locked.provider)) {
        throw AppError.badInput(`connector ${locked.id} is a push connector (${locked.provider}): it has no read cursor`);
      }
      const adapter = getAdapter(locked.provider);
      if (!adapter) throw AppError.badInput(`provider ${locked.provider} is not available in this build`);
      let cursor: ReadCursor = null;
      if (from) {
        if (!adapter.cursorFrom) {
          throw AppError.badInput(`provider ${locked.provider} has no time cursor: reset without from to read from the start`, [{ path: 'from', message: 'cannot be honoured by this provider' }]);
        }
        try {
          cursor = adapter.cursorFrom({ config: locked.config, authType: locked.authType, credentials: {}, eventTypes: locked.eventTypes }, from);
        } catch (error) {
          const message = isConnectorError(error) ? error.message : describeError(error);
          throw AppError.badInput(`from cannot be honoured: ${message}`, [{ path: 'from', message: 'cannot be honoured by this connector' }]);
        }
      }
      const [before] = await m.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1 FOR UPDATE', [locked.id]);
      await m.query(
        `INSERT INTO ingestion_cursors (connector_id, tenant_id, cursor, updated_at, generation) VALUES ($1, $2, $3, now(), 1)
         ON CONFLICT (connector_id) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now(), generation = ingestion_cursors.generation + 1`,
        [locked.id, locked.tenantId, cursor === null ? null : JSON.stringify(cursor)],
      );
      if (locked.enabled) {
        // Whatever was queued is brought forward; a run in flight ends at its next batch.
        await this.queue.removeQueued(m, QUEUES.sync, locked.id);
        await this.queue.send(QUEUES.sync, { connectorId: locked.id, tenantId: locked.tenantId, trigger: 'manual' } satisfies SyncJob, { singletonKey: locked.id, priority: PRIORITY.urgent, manager: m });
        await this.cancelOrphanedRuns(m, locked.id, 'cancelled: superseded by a reset of the cursor', new Date());
      }
      await this.audit.record(m, actorOf(rc), {
        tenantId: locked.tenantId,
        eventType: 'CONNECTOR_CURSOR_RESET',
        targetType: 'Connector',
        targetId: locked.id,
        connectorId: locked.id,
        appId: locked.applicationId,
        changes: {
          cursor: { before: cursorSummary(before?.cursor ?? null), after: cursorSummary(cursor) },
          from: { before: null, after: from ? from.toISOString() : 'start' },
        },
        reason: why,
      });
      return locked;
    });
  }

  /** The start of each connector's queued sync job (`nextSyncAt`), one statement for many connectors. */
  async queuedStarts(connectorIds: readonly string[]): Promise<Map<string, Date>> {
    const rows: Array<{ id: string; at: Date }> = await this.dataSource.query(
      `SELECT singleton_key AS id, min(start_after) AS at FROM pgboss.job WHERE name = $1 AND singleton_key = ANY($2::text[]) AND state IN ('created', 'retry') GROUP BY singleton_key`,
      [QUEUES.sync, connectorIds],
    );
    return new Map(rows.map((r) => [r.id, new Date(r.at)]));
  }

  /**
   * When the connector's next run starts: its queued job's start (held to the next window when it
   * falls outside), else (a run in flight, or none queued yet) the schedule's next instant from the
   * clock. Null while disabled or deleted, and for push connectors.
   */
  nextSyncAt(connector: Pick<ConnectorEntity, 'enabled' | 'isDeleted' | 'provider' | 'config'>, queued: Date | null): Date | null {
    if (!connector.enabled || connector.isDeleted || isPushProvider(connector.provider)) return null;
    const schedule = operationalSettings(connector.config).schedule;
    if (queued) return heldUntil(schedule, queued) ?? queued;
    return nextRunAt(schedule, this.clock());
  }

  /**
   * The heartbeat of this worker's runs in flight (every third of `staleRunSec`, from the worker): a
   * run whose process died stops beating, and is stale — taken over by the next claim, or settled
   * by a pending stop — one `staleRunSec` later.
   */
  async heartbeat(workerId: string, connectorIds: string[]): Promise<void> {
    if (!connectorIds.length) return;
    // A run whose row is locked is committing a batch or ending, which sets its heartbeat itself: skipped, not waited for.
    await this.dataSource.query(
      `UPDATE ingestion_runs SET heartbeat_at = now() WHERE id IN (
         SELECT id FROM ingestion_runs WHERE worker_id = $1 AND connector_id = ANY($2::text[]) AND status = 'RUNNING' FOR UPDATE SKIP LOCKED)`,
      [workerId, connectorIds],
    );
  }

  /** Every how many ms a worker beats for its runs in flight. */
  get heartbeatEveryMs(): number {
    return Math.max(500, Math.floor((this.options.staleRunSec * 1000) / 3));
  }

  /** A stop whose run was on a worker that died: settle it once that run is stale. */
  async settleStop(job: ControlJob): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const connector = await this.connectors.lockById(m, job.connectorId);
      if (!connector || connector.enabled || connector.runState !== 'STOPPING') return;
      const [{ live }] = await m.query(
        `SELECT count(*)::int AS live FROM ingestion_runs WHERE connector_id = $1 AND status = 'RUNNING' AND heartbeat_at > now() - make_interval(secs => $2)`,
        [connector.id, this.options.staleRunSec],
      );
      if (live) return;
      await m.query(
        `UPDATE ingestion_runs SET status = 'FAILED', finished_at = now(), error = 'interrupted: the worker stopped before the run finished' WHERE connector_id = $1 AND status = 'RUNNING'`,
        [connector.id],
      );
      await m.update(ConnectorEntity, { id: connector.id }, { runState: 'STOPPED' });
      await this.auditStopped(m, connector, 'the in-flight run was interrupted');
    });
  }

  /** Newest runs of many connectors in one statement (`Connector.ingestionRuns`). */
  async runsFor(principal: Principal, connectorIds: readonly string[], first: number): Promise<Map<string, IngestionRunEntity[]>> {
    const sql = new SqlParams();
    const where = [`r.tenant_id = ${sql.param(principal.tenantId)}`];
    return this.perConnector({ table: 'ingestion_runs', alias: 'r', parentColumn: 'connector_id', parentIds: connectorIds, where, sql, limit: first });
  }


  /**
   * Queues a sync for every enabled connector that has none queued or running (after restarts, lost
   * jobs). A RUNNING run without a heartbeat for `staleRunSec` counts as interrupted, not running:
   * the queued sync's claim then ends it, so no run stays RUNNING forever.
   */
  async reconcile(): Promise<number> {
    const missing: Array<{ id: string; tenant_id: string }> = await this.dataSource.query(
      `SELECT c.id, c.tenant_id FROM connectors c WHERE c.enabled AND NOT c.is_deleted AND c.provider <> ALL($3::text[])
       AND NOT EXISTS (SELECT 1 FROM pgboss.job j WHERE j.name = $1 AND j.singleton_key = c.id AND j.state IN ('created', 'retry', 'active'))
       AND NOT EXISTS (SELECT 1 FROM ingestion_runs r WHERE r.connector_id = c.id AND r.status = 'RUNNING' AND r.heartbeat_at > now() - make_interval(secs => $2))`,
      [QUEUES.sync, this.options.staleRunSec, PUSH_PROVIDER_IDS],
    );
    for (const c of missing) {
      await this.queue.send(QUEUES.sync, { connectorId: c.id, tenantId: c.tenant_id, trigger: 'schedule' } satisfies SyncJob, { singletonKey: c.id });
    }
    return missing.length;
  }

  /** Retention of the sink. */
  async expireRecords(retentionDays: number): Promise<number> {
    return this.dataSource.transaction((m) => this.sink.expire(m, new Date(Date.now() - retentionDays * 86_400_000)));
  }
}
