import { QUEUES, type JobQueue } from '../../jobs/job-queue.js';
import type { Logger } from '../../server/logger.js';
import type { IngestionService } from '../ingestion/ingestion.service.js';
import type { HealthJob, HealthService } from './health.service.js';

/** Every five minutes: put lost schedules back and apply the sink's retention. */
const MAINTENANCE_CRON = '*/5 * * * *';

/**
 * Runs health checks from the queue, at most `concurrency` at once per process (each bounded by
 * the check timeout), and the periodic maintenance.
 */
export class HealthWorker {
  private workIds: string[] = [];

  constructor(
    private readonly queue: JobQueue,
    private readonly health: HealthService,
    private readonly ingestion: IngestionService,
    private readonly logger: Logger,
    private readonly concurrency: number,
    private readonly retentionDays: number,
  ) {}

  async start(): Promise<void> {
    this.workIds.push(
      await this.queue.boss.work<HealthJob>(QUEUES.health, { batchSize: this.concurrency, pollingIntervalSeconds: this.queue.pollingIntervalSec }, async (jobs) => {
        await Promise.all(jobs.map((job) => this.health.runScheduled(job.data).catch((error) => this.logger.warn({ err: String(error), connectorId: job.data.connectorId }, 'health check failed to run'))));
      }),
    );
    this.workIds.push(
      await this.queue.boss.work(QUEUES.maintenance, { pollingIntervalSeconds: this.queue.pollingIntervalSec }, async () => {
        await this.maintain();
      }),
    );
    await this.queue.boss.schedule(QUEUES.maintenance, MAINTENANCE_CRON, {});
    await this.maintain();
  }

  private async maintain(): Promise<void> {
    const checks = await this.health.reconcile();
    const syncs = await this.ingestion.reconcile();
    const expired = await this.ingestion.expireRecords(this.retentionDays);
    if (checks || syncs || expired) this.logger.info({ checks, syncs, expired }, 'maintenance');
  }

  async stop(): Promise<void> {
    await Promise.all(this.workIds.map((id) => this.queue.boss.offWork({ id }).catch(() => undefined)));
    this.workIds = [];
  }
}
