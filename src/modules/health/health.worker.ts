import type { JobLoop } from '../../jobs/job-loop.js';
import { QUEUES, type JobQueue } from '../../jobs/job-queue.js';
import type { Logger } from '../../server/logger.js';
import type { IngestionService } from '../ingestion/ingestion.service.js';
import type { NotificationService } from '../notifications/notification.service.js';
import type { HealthJob, HealthService } from './health.service.js';

/** Every five minutes: put lost schedules back, apply the sink's retention, announce due rotations. */
const MAINTENANCE_EVERY_SEC = 300;
const MAINTENANCE_KEY = 'maintenance';

/**
 * Runs health checks from the queue, at most `concurrency` at once per process (each bounded by
 * the check timeout), and the periodic maintenance.
 */
export class HealthWorker {
  private loops: Array<JobLoop<HealthJob> | JobLoop<object>> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly queue: JobQueue,
    private readonly health: HealthService,
    private readonly ingestion: IngestionService,
    private readonly logger: Logger,
    private readonly concurrency: number,
    private readonly retentionDays: number,
    /** `credentials.rotation_due` events and the events' retention ride along with maintenance. */
    private readonly notifications: NotificationService | null = null,
  ) {}

  async start(): Promise<void> {
    // A check that could not run (the database went away) fails its job, and the queue retries it.
    this.loops = [
      this.queue.loop<HealthJob>(QUEUES.health, this.concurrency, (job) => this.health.runScheduled(job.data)),
      this.queue.loop<object>(QUEUES.maintenance, 1, () => this.maintain()),
    ];
    for (const loop of this.loops) loop.start();
    // Earlier versions used pg-boss's cron for this; that cron no longer runs (see JobQueue).
    await this.queue.boss.unschedule(QUEUES.maintenance);
    // One maintenance job per five-minute slot across every process (pg-boss throttling by key).
    this.timer = setInterval(() => void this.requestMaintenance(), MAINTENANCE_EVERY_SEC * 1000);
    this.timer.unref();
    await this.maintain();
  }

  private async requestMaintenance(): Promise<void> {
    try {
      await this.queue.boss.sendThrottled(QUEUES.maintenance, {}, {}, MAINTENANCE_EVERY_SEC, MAINTENANCE_KEY);
    } catch (error) {
      this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not queue maintenance; the next interval will');
    }
  }

  private async maintain(): Promise<void> {
    const checks = await this.health.reconcile();
    const syncs = await this.ingestion.reconcile();
    const expired = await this.ingestion.expireRecords(this.retentionDays);
    const rotationsDue = this.notifications ? await this.notifications.sweep(this.retentionDays) : 0;
    if (checks || syncs || expired || rotationsDue) this.logger.info({ checks, syncs, expired, rotationsDue }, 'maintenance');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.loops.map((loop) => loop.stop()));
    this.loops = [];
  }
}
