import type PgBoss from 'pg-boss';
import { isDatabaseUnavailable, pause, unavailableBackoffMs } from '../db/unavailable.js';
import type { Logger } from '../server/logger.js';
import { traceJob } from '../tracing/jobs.js';

export interface JobLoopOptions<T> {
  boss: PgBoss;
  queue: string;
  /** Jobs this loop runs at once. */
  concurrency: number;
  /** Wait after a fetch that did not fill every free slot (the queue had no more due jobs). */
  pollingIntervalMs: number;
  logger: Logger;
  /** Runs one job; resolving completes it, throwing fails it (pg-boss then retries it per its queue). */
  handler: (job: PgBoss.Job<T>) => Promise<void>;
  /** Longest wait between attempts while PostgreSQL is unreachable. */
  maxBackoffMs?: number;
  /** How long `stop()` waits for jobs in flight. */
  stopTimeoutMs?: number;
  /** Takes up to `batchSize` due jobs (default: pg-boss's `fetch`). */
  fetch?: (batchSize: number, db: PgBoss.Db) => Promise<PgBoss.Job<T>[]>;
  /** Leases: renewed for the jobs in flight, lapsed ones swept back to the queue, both every `everyMs`. */
  lease?: {
    everyMs: number;
    renew(ids: string[]): Promise<void>;
    sweep(): Promise<number>;
    /** Puts a job back, due again in `delaySec`, without counting a retry (a handler threw `JobDeferred`). */
    defer(id: string, delaySec: number): Promise<void>;
  };
}

/** Thrown by a handler that cannot run its job here now (e.g. its upstream host is busy): the job goes back, due in `delaySec`. */
export class JobDeferred extends Error {
  override name = 'JobDeferred';
  constructor(readonly delaySec: number, reason: string) {
    super(reason);
  }
}

/**
 * Our own worker loop over pg-boss's public `fetch` / `complete` / `fail`, instead of `boss.work()`
 * (pg-boss 10 settles jobs there without awaiting, so a database going away mid-job ends the
 * process on an unhandled rejection). Every settlement is awaited; one that fails because
 * PostgreSQL is unreachable is logged and retried until the job would expire anyway (pg-boss then
 * retries the job itself). The loop fetches again as soon as a quarter of its slots are free (so a
 * slow job holds its own slot and nothing else), waits the polling interval only when the queue ran
 * dry, backs off while PostgreSQL is unreachable, and stops by waiting (bounded) for the jobs in
 * flight. With `lease`, the jobs in flight have their lease renewed and the queue's lapsed leases
 * (a dead process's jobs) are put back, every `lease.everyMs`.
 */
export class JobLoop<T = unknown> {
  private readonly active = new Set<Promise<void>>();
  /** Ids of the jobs in flight, for lease renewals. */
  private readonly activeIds = new Set<string>();
  private leaseTimer: NodeJS.Timeout | null = null;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | null = null;
  private readonly stopped: Promise<void>;
  private readonly maxBackoffMs: number;
  private readonly stopTimeoutMs: number;

  constructor(private readonly options: JobLoopOptions<T>) {
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.stopped = new Promise((resolve) => this.stopController.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Aborted when `stop()` begins. */
  get signal(): AbortSignal {
    return this.stopController.signal;
  }

  /** Jobs being run right now. */
  get inFlight(): number {
    return this.active.size;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    const lease = this.options.lease;
    if (lease) {
      this.leaseTimer = setInterval(() => void this.tendLeases(), lease.everyMs);
      this.leaseTimer.unref();
    }
  }

  private tending = false;

  /** Renews the leases of the jobs in flight, then puts lapsed ones of the queue back; never throws. */
  private async tendLeases(): Promise<void> {
    const lease = this.options.lease;
    if (!lease || this.tending || this.stopping) return;
    this.tending = true;
    try {
      if (this.activeIds.size) await lease.renew([...this.activeIds]);
      await lease.sweep();
    } catch (error) {
      this.options.logger.debug({ queue: this.options.queue, err: error instanceof Error ? error.message : String(error) }, 'job queue: could not tend leases; next time');
    } finally {
      this.tending = false;
    }
  }

  private async run(): Promise<void> {
    const { queue, concurrency, pollingIntervalMs, logger } = this.options;
    // Fetch when this many slots are free: one fetch per job would cost a transaction each.
    const minBatch = Math.max(1, Math.floor(concurrency / 4));
    let failures = 0;
    while (!this.stopping) {
      try {
        if (this.active.size > concurrency - minBatch) {
          await Promise.race([...this.active, this.stopped]);
          continue;
        }
        const free = concurrency - this.active.size;
        const jobs = await this.fetch(free);
        if (jobs === 'unreachable') {
          failures += 1;
          if (failures === 1) logger.warn({ queue }, 'job queue: PostgreSQL is unreachable, backing off');
          await this.pause(this.backoff(failures));
          continue;
        }
        if (failures) {
          logger.info({ queue, attempts: failures }, 'job queue: PostgreSQL is reachable again');
          failures = 0;
        }
        for (const job of jobs) this.track(job);
        if (jobs.length < free) await this.pause(pollingIntervalMs);
      } catch (error) {
        // Nothing above should throw; if it does, keep the loop alive and slow it down.
        failures += 1;
        logger.warn({ queue, err: error }, 'job queue: worker loop error');
        await this.pause(this.backoff(failures));
      }
    }
  }

  /** Up to `batchSize` due jobs, or 'unreachable' (pg-boss's fetch swallows errors: we watch its SQL). */
  private async fetch(batchSize: number): Promise<PgBoss.Job<T>[] | 'unreachable'> {
    let failure: unknown = null;
    const base = this.options.boss.getDb();
    const db: PgBoss.Db = {
      async executeSql(text, values) {
        try {
          return await base.executeSql(text, values);
        } catch (error) {
          failure = error;
          throw error;
        }
      },
    };
    let jobs: PgBoss.Job<T>[] | null = null;
    try {
      jobs = this.options.fetch ? await this.options.fetch(batchSize, db) : await this.options.boss.fetch<T>(this.options.queue, { batchSize, db });
    } catch (error) {
      failure ??= error;
    }
    if (failure) {
      if (isDatabaseUnavailable(failure)) return 'unreachable';
      // e.g. a stately queue's unique index when a key's next job is due while its current one runs
      this.options.logger.debug({ queue: this.options.queue, err: String((failure as Error).message ?? failure) }, 'job queue: fetch found nothing it could take');
      return [];
    }
    return jobs ?? [];
  }

  private track(job: PgBoss.Job<T>): void {
    this.activeIds.add(job.id);
    const done: Promise<void> = this.execute(job).finally(() => {
      this.active.delete(done);
      this.activeIds.delete(job.id);
    });
    this.active.add(done);
  }

  /** Runs a job and settles it; never rejects. */
  private async execute(job: PgBoss.Job<T>): Promise<void> {
    const { queue, logger } = this.options;
    const fetchedAt = Date.now();
    let failure: { name: string; message: string } | null = null;
    try {
      await traceJob(queue, job, () => this.options.handler(job));
    } catch (error) {
      if (error instanceof JobDeferred && this.options.lease) {
        logger.debug({ queue, jobId: job.id, delaySec: error.delaySec, reason: error.message }, 'job deferred');
        try {
          await this.options.lease.defer(job.id, error.delaySec);
          return;
        } catch (deferError) {
          // Not put back: failing it lets the queue retry it.
          error = deferError;
        }
      }
      failure = error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
      logger.warn({ queue, jobId: job.id, err: error }, 'job failed; the queue will retry it');
    }
    // pg-boss expires (and retries) an unsettled job after expireInSeconds: settle before that only.
    const expireMs = (Number(job.expireInSeconds) || 60) * 1000;
    const deadline = fetchedAt + expireMs - Math.min(5000, expireMs / 10);
    for (let attempt = 1; ; attempt++) {
      try {
        if (failure) await this.options.boss.fail(queue, job.id, failure);
        else await this.options.boss.complete(queue, job.id);
        if (attempt > 1) logger.info({ queue, jobId: job.id, attempts: attempt }, 'job settled once PostgreSQL was back');
        return;
      } catch (error) {
        const delay = this.backoff(attempt);
        const giveUp = !isDatabaseUnavailable(error) || this.stopping || Date.now() + delay >= deadline;
        logger.warn(
          { queue, jobId: job.id, attempt, err: error instanceof Error ? error.message : String(error) },
          giveUp ? 'could not settle job; pg-boss will expire and retry it' : 'could not settle job; retrying',
        );
        if (giveUp) return;
        await this.pause(delay);
      }
    }
  }

  private backoff(attempt: number): number {
    return unavailableBackoffMs(attempt, this.maxBackoffMs);
  }

  /** Waits `ms`, or less when the loop is stopped meanwhile. */
  private pause(ms: number): Promise<void> {
    return pause(ms, this.stopController.signal);
  }

  /** Stops fetching, then waits up to `stopTimeoutMs` for the jobs in flight to end and settle. */
  async stop(): Promise<void> {
    this.stopController.abort();
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
    await this.loop;
    if (!this.active.size) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(this.active).then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.stopTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) this.options.logger.warn({ queue: this.options.queue, inFlight: this.active.size }, 'job queue: stopped without waiting for jobs still in flight');
  }
}
