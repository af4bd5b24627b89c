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

export interface JobQueueOptions {
  url: string;
  logger: Logger;
  /** A job still active after this long is considered lost (worker crash) and retried. */
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
      connectionString: options.url,
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
    return new JobLoop<T>({ boss: this.boss, queue, concurrency, pollingIntervalMs: this.pollingIntervalMs, logger: this.options.logger, handler });
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.boss.start();
    const common = { expireInSeconds: this.options.jobTimeoutSec, retryLimit: 2, retryDelay: 1, retentionDays: 1 };
    await this.ensureQueue({ name: QUEUES.sync, policy: 'stately', ...common });
    await this.ensureQueue({ name: QUEUES.health, policy: 'stately', ...common, expireInSeconds: 120 });
    await this.ensureQueue({ name: QUEUES.control, policy: 'standard', ...common });
    await this.ensureQueue({ name: QUEUES.maintenance, policy: 'singleton', ...common });
    // Deliveries schedule their own retries (notification.service.ts); the queue's retries cover a lost worker.
    await this.ensureQueue({ name: QUEUES.webhook, policy: 'standard', ...common, expireInSeconds: 120 });
    this.started = true;
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
