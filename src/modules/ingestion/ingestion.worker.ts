import pg from 'pg';
import { hostname } from 'node:os';
import { ulid } from 'ulid';
import { QUEUES, type JobQueue } from '../../jobs/job-queue.js';
import type { Logger } from '../../server/logger.js';
import { CONTROL_CHANNEL, type ControlJob, type IngestionService, type SyncJob } from './ingestion.service.js';

/**
 * Runs sync jobs from the queue. Any number of processes may run one on the same database: the
 * queue hands each job to one worker, and a stop NOTIFY aborts a run wherever it is.
 */
export class IngestionWorker {
  readonly id = `${hostname()}:${process.pid}:${ulid().slice(-6)}`;
  private readonly inFlight = new Map<string, AbortController>();
  private listener: pg.Client | null = null;
  private workIds: string[] = [];

  constructor(
    private readonly queue: JobQueue,
    private readonly ingestion: IngestionService,
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly concurrency: number,
  ) {}

  async start(): Promise<void> {
    this.listener = new pg.Client({ connectionString: this.databaseUrl, application_name: 'connector-subgraph-control' });
    this.listener.on('notification', (message) => this.onControl(message.payload));
    this.listener.on('error', (error) => this.logger.warn({ err: error.message }, 'control channel error'));
    await this.listener.connect();
    await this.listener.query(`LISTEN ${CONTROL_CHANNEL}`);
    const options = { batchSize: 1, pollingIntervalSeconds: this.queue.pollingIntervalSec };
    for (let i = 0; i < this.concurrency; i++) {
      this.workIds.push(await this.queue.boss.work<SyncJob>(QUEUES.sync, options, async ([job]) => this.run(job!.data, job!.id)));
    }
    this.workIds.push(await this.queue.boss.work<ControlJob>(QUEUES.control, options, async ([job]) => this.ingestion.settleStop(job!.data)));
  }

  private async run(job: SyncJob, jobId: string): Promise<void> {
    const controller = new AbortController();
    this.inFlight.set(job.connectorId, controller);
    try {
      await this.ingestion.execute(job, jobId, this.id, controller.signal);
    } finally {
      if (this.inFlight.get(job.connectorId) === controller) this.inFlight.delete(job.connectorId);
    }
  }

  private onControl(payload: string | undefined): void {
    try {
      const message = JSON.parse(payload ?? '{}') as { connectorId?: string; action?: string };
      if (message.action === 'stop' && message.connectorId) this.inFlight.get(message.connectorId)?.abort(new Error('connector disabled'));
    } catch {
      this.logger.warn('ignored a malformed control message');
    }
  }

  async stop(): Promise<void> {
    for (const controller of this.inFlight.values()) controller.abort(new Error('worker stopping'));
    await Promise.all(this.workIds.map((id) => this.queue.boss.offWork({ id }).catch(() => undefined)));
    this.workIds = [];
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
  }
}
