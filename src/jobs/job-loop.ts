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
}

/**
 * Our own worker loop over pg-boss's public `fetch` / `complete` / `fail`, instead of `boss.work()`
 * (pg-boss 10 settles jobs there without awaiting, so a database going away mid-job ends the
 * process on an unhandled rejection). Every settlement is awaited; one that fails because
 * PostgreSQL is unreachable is logged and retried until the job would expire anyway (pg-boss then
 * retries the job itself). The loop fetches again at once after a full batch, waits the polling
 * interval only when the queue ran dry, backs off while PostgreSQL is unreachable, and stops by
 * waiting (bounded) for the jobs in flight.
 */
export class JobLoop<T = unknown> {
  private readonly active = new Set<Promise<void>>();
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
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const { queue, concurrency, pollingIntervalMs, logger } = this.options;
    let failures = 0;
    while (!this.stopping) {
      try {
        if (this.active.size >= concurrency) {
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
    const jobs = await this.options.boss.fetch<T>(this.options.queue, { batchSize, db });
    if (failure) {
      if (isDatabaseUnavailable(failure)) return 'unreachable';
      // e.g. a stately queue's unique index when a key's next job is due while its current one runs
      this.options.logger.debug({ queue: this.options.queue, err: String((failure as Error).message ?? failure) }, 'job queue: fetch found nothing it could take');
      return [];
    }
    return jobs ?? [];
  }

  private track(job: PgBoss.Job<T>): void {
    const done: Promise<void> = this.execute(job).finally(() => this.active.delete(done));
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
