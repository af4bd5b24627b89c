import type { JobLoop } from '../../jobs/job-loop.js';
import { QUEUES, type JobQueue } from '../../jobs/job-queue.js';
import type { DeliveryJob, NotificationService } from './notification.service.js';

/** Runs webhook deliveries from the queue, at most `concurrency` at once per process. */
export class NotificationWorker {
  private loop: JobLoop<DeliveryJob> | null = null;

  constructor(
    private readonly queue: JobQueue,
    private readonly notifications: NotificationService,
    private readonly concurrency: number,
  ) {}

  start(): void {
    this.loop = this.queue.loop<DeliveryJob>(QUEUES.webhook, this.concurrency, (job) => this.notifications.deliver(job.data));
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    this.loop = null;
  }
}
