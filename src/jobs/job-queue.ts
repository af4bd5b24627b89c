import PgBoss from 'pg-boss';
import type { EntityManager } from 'typeorm';
import type { Logger } from '../server/logger.js';
import { JobLoop } from './job-loop.js';
import { tracePublish } from '../tracing/jobs.js';

/** Queue names; one job per connector at a time (`stately`: one queued and one active per key). */
export const QUEUES = {
  sync: 'connector-sync',
  health: 'connector-health',
  control: 'connector-control',
  maintenance: 'connector-maintenance',
  webhook: 'connector-webhook',
} as const;

/**
 * Job priorities: the queue hands out due jobs by priority, then by the instant they became due.
 * `urgent` is what a person (or a new connector) waits for: the first check and sync of a connector
 * just enabled or created enabled, `syncConnector`, a cursor reset; it passes every overdue
 * scheduled job, however long the backlog.
 */
export const PRIORITY = { scheduled: 0, urgent: 10 } as const;

export interface JobQueueOptions {
  url: string;
  logger: Logger;
  /**
   * The lease of an active job: its worker renews it every third of this while the job runs; one not
   * renewed for this long (its process died) is handed to another worker (docs/capacity.md).
   */
  jobTimeoutSec: number;
  /** How often pg-boss looks for lost jobs. */
  maintenanceIntervalSec: number;
  pollingIntervalMs: number;
}

/** pg-boss in its own schema of the service's PostgreSQL; jobs can be sent inside our transactions. */
export class JobQueue {
  readonly boss: PgBoss;
  readonly pollingIntervalMs: number;
  private started = false;

  constructor(private readonly options: JobQueueOptions) {
    this.pollingIntervalMs = options.pollingIntervalMs;
    this.boss = new PgBoss({
      connectionString: asyncCommit(options.url),
      schema: 'pgboss',
      max: 4,
      application_name: 'connector-subgraph-jobs',
      maintenanceIntervalSeconds: options.maintenanceIntervalSec,
      // No cron: its internal worker is pg-boss's `work()`, which settles jobs without awaiting
      // them (a database restart then ends the process). Periodic work is sent by our workers.
      schedule: false,
    });
    // pg-boss's own loops (expiry, archive) and its pool report here, PostgreSQL restarts included;
    // during a stop, connections ending is expected (e.g. Ctrl-C reaches PostgreSQL too).
    this.boss.on('error', (error) => options.logger[this.started ? 'warn' : 'debug']({ err: error.message }, 'job queue error'));
  }

  /**
   * Runs `handler` for the jobs of `queue`, `concurrency` at once, in our own loop over pg-boss's
   * fetch/complete/fail (never `boss.work()`); start it with `start()`, end it with `stop()`.
   */
  loop<T>(queue: string, concurrency: number, handler: (job: PgBoss.Job<T>) => Promise<void>): JobLoop<T> {
    const stately = STATELY.has(queue);
    return new JobLoop<T>({
      boss: this.boss,
      queue,
      concurrency,
      pollingIntervalMs: this.pollingIntervalMs,
      logger: this.options.logger,
      handler,
      fetch: (batchSize, db) => this.fetchDue<T>(queue, batchSize, stately, db),
      lease: {
        everyMs: Math.max(1000, Math.floor((this.options.jobTimeoutSec * 1000) / 3)),
        renew: (ids) => this.renew(queue, ids),
        sweep: () => this.sweepLapsed(queue),
        defer: (id, delaySec) => this.defer(queue, id, delaySec),
      },
    });
  }

  /**
   * Up to `batchSize` due jobs, made active: by priority, then oldest due first (`start_after`, through
   * the `job_fetch_due` index, so a fetch reads about as many index entries as it takes however long
   * the backlog). On a stately queue, a key whose job is active is skipped (pg-boss's own fetch
   * would fail the whole batch on the unique index and take nothing).
   */
  private async fetchDue<T>(queue: string, batchSize: number, stately: boolean, db: PgBoss.Db): Promise<PgBoss.Job<T>[]> {
    const skipActive = stately
      ? `AND NOT EXISTS (SELECT 1 FROM pgboss.job a WHERE a.name = $1 AND a.state = 'active' AND a.policy = 'stately' AND COALESCE(a.singleton_key, '') = COALESCE(j.singleton_key, ''))`
      : '';
    const { rows } = await db.executeSql(
      `WITH next AS (
         SELECT j.id, j.singleton_key FROM pgboss.job j
          WHERE j.name = $1 AND j.state < 'active' AND j.start_after < now() ${skipActive}
          ORDER BY j.priority DESC, j.start_after, j.id
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       ), grouped AS (
         SELECT id, row_number() OVER (PARTITION BY CASE WHEN $3::bool THEN COALESCE(singleton_key, id::text) ELSE id::text END) AS n FROM next
       )
       UPDATE pgboss.job j SET state = 'active', started_on = now(),
              retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
         FROM grouped g
        WHERE j.name = $1 AND j.id = g.id AND g.n = 1
       RETURNING j.id, j.name, j.data, EXTRACT(epoch FROM j.expire_in) AS "expireInSeconds"`,
      [queue, batchSize, stately],
    );
    return rows as PgBoss.Job<T>[];
  }

  /** Renews the lease of jobs this process runs: each expires a full lease from now. */
  private async renew(queue: string, ids: string[]): Promise<void> {
    await this.boss.getDb().executeSql(
      `UPDATE pgboss.job SET expire_in = (now() - started_on) + make_interval(secs => $3) WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'`,
      [queue, ids, this.options.jobTimeoutSec],
    );
  }

  /**
   * Active jobs whose lease lapsed (their process died, or lost the database for longer than a
   * lease) go back to the queue at once, due now: any worker takes them at its next fetch. Within
   * the retry limit; past it they fail (the maintenance's reconcile queues the connector again).
   * One statement, so two processes sweeping at once cannot take a job twice or touch one renewed.
   */
  private async sweepLapsed(queue: string): Promise<number> {
    const { rows } = await this.boss.getDb().executeSql(
      `UPDATE pgboss.job j SET
              state = CASE WHEN j.retry_count < j.retry_limit THEN 'retry'::pgboss.job_state ELSE 'failed'::pgboss.job_state END,
              start_after = now(), completed_on = CASE WHEN j.retry_count < j.retry_limit THEN NULL ELSE now() END,
              output = '{"value":{"message":"lease lapsed: the worker that held this job stopped renewing it"}}'::jsonb
        WHERE j.name = $1 AND j.state = 'active' AND j.started_on + j.expire_in < now()
          AND ${NO_RETRY_TWIN}
       RETURNING j.id`,
      [queue],
    );
    if (rows.length) this.options.logger.warn({ queue, jobs: rows.length }, 'job queue: leases lapsed (a worker stopped); jobs handed to the next worker');
    return rows.length;
  }

  /** A job put back without counting a retry: due again in `delaySec` (its upstream is busy here). */
  private async defer(queue: string, id: string, delaySec: number): Promise<void> {
    await this.boss.getDb().executeSql(
      `UPDATE pgboss.job j SET state = 'retry', started_on = NULL, start_after = now() + make_interval(secs => $3)
        WHERE j.name = $1 AND j.id = $2 AND j.state = 'active'
          AND ${NO_RETRY_TWIN}`,
      [queue, id, delaySec],
    );
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.boss.start();
    const common = { expireInSeconds: this.options.jobTimeoutSec, retryLimit: 2, retryDelay: 1, retentionDays: 1 };
    await this.ensureQueue({ name: QUEUES.sync, policy: 'stately', ...common });
    await this.ensureQueue({ name: QUEUES.health, policy: 'stately', ...common });
    await this.ensureQueue({ name: QUEUES.control, policy: 'standard', ...common });
    await this.ensureQueue({ name: QUEUES.maintenance, policy: 'singleton', ...common });
    // Deliveries schedule their own retries (notification.service.ts); the queue's retries cover a lost worker.
    await this.ensureQueue({ name: QUEUES.webhook, policy: 'standard', ...common, expireInSeconds: 120 });
    await this.ensureFetchIndex();
    this.started = true;
  }

  /**
   * The index of `fetchDue`'s order (pg-boss's own orders by creation and reads every due job per
   * fetch). On the partitioned job table, so every queue's partition has it. Processes starting at
   * once may race to create it: the loser's error is harmless.
   */
  private async ensureFetchIndex(): Promise<void> {
    try {
      await this.boss.getDb().executeSql(`CREATE INDEX IF NOT EXISTS job_fetch_due ON pgboss.job (name, priority DESC, start_after, id) WHERE state < 'active'`, []);
    } catch (error) {
      this.options.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'job queue: fetch index created elsewhere meanwhile');
    }
  }

  /** Creates the queue, or brings an existing one's settings up to this process's configuration. */
  private async ensureQueue(queue: PgBoss.Queue): Promise<void> {
    if (!(await this.boss.getQueue(queue.name))) await this.boss.createQueue(queue.name, queue);
    else await this.boss.updateQueue(queue.name, queue);
  }

  /** Sends a job; with `manager` it is part of that transaction and exists only if it commits. */
  async send(queue: string, data: object, options: PgBoss.SendOptions & { manager?: EntityManager } = {}): Promise<string | null> {
    const { manager, ...sendOptions } = options;
    // Inside a trace, the payload also carries its W3C trace context (docs/tracing.md).
    return tracePublish(queue, data, (payload) => this.boss.send(queue, payload, { ...sendOptions, ...(manager ? { db: dbOf(manager) } : {}) }));
  }

  /** Deletes jobs not yet started for a key, inside `manager`'s transaction. */
  async removeQueued(manager: EntityManager, queue: string, key: string): Promise<void> {
    await manager.query(`DELETE FROM pgboss.job WHERE name = $1 AND singleton_key = $2 AND state IN ('created', 'retry')`, [queue, key]);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    // Our loops have stopped already; pg-boss has no workers of its own left to wait for.
    await this.boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'job queue did not stop cleanly'));
  }
}

/**
 * For putting active job `j` back in `retry` ($1: its queue): a stately key holds at most one job
 * waiting (pg-boss's unique index), so a job whose key already has one waiting stays where it is.
 */
const NO_RETRY_TWIN = `NOT EXISTS (SELECT 1 FROM pgboss.job r WHERE r.name = $1 AND r.state = 'retry' AND r.id <> j.id AND j.policy = 'stately' AND r.policy = 'stately'
                            AND COALESCE(r.singleton_key, '') = COALESCE(j.singleton_key, ''))`;

/** Queues with one job per key queued and one active (`stately`). */
const STATELY = new Set<string>([QUEUES.sync, QUEUES.health]);

/**
 * pg-boss's own connections commit without waiting for the WAL flush: they only move job states
 * (fetch, complete, fail, lease renewals) and send jobs outside our transactions. A PostgreSQL crash
 * may lose the last such commits: a completed job then runs again (runs resume from their committed
 * cursor, checks are idempotent) and a lost send is queued again by the maintenance's reconcile.
 * Jobs sent inside our transactions use our connection and stay durable with them.
 */
function asyncCommit(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.searchParams.has('options')) parsed.searchParams.set('options', '-c synchronous_commit=off');
    return parsed.toString();
  } catch {
    return url;
  }
}

/** pg-boss's `db` option over a TypeORM transaction. */
function dbOf(manager: EntityManager): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      if (!manager.queryRunner) throw new Error('jobs can join a transaction only');
      const result = await manager.queryRunner.query(text, values, true);
      return { rows: (result.records as unknown[]) ?? [] };
    },
  };
}
