import pg from 'pg';
import { hostname } from 'node:os';
import { ulid } from 'ulid';
import { unavailableBackoffMs } from '../../db/unavailable.js';
import type { JobLoop } from '../../jobs/job-loop.js';
import { QUEUES, type JobQueue } from '../../jobs/job-queue.js';
import type { Logger } from '../../server/logger.js';
import { CONTROL_CHANNEL, type ControlJob, type IngestionService, type SyncJob } from './ingestion.service.js';

/** Longest wait between attempts to reconnect the control channel. */

/**
 * Runs sync jobs from the queue. Any number of processes may run one on the same database: the
 * queue hands each job to one worker, and a stop NOTIFY aborts a run wherever it is. The LISTEN
 * connection of that control channel reconnects by itself when PostgreSQL restarts.
 */
export class IngestionWorker {
  readonly id = `${hostname()}:${process.pid}:${ulid().slice(-6)}`;
  private readonly inFlight = new Map<string, AbortController>();
  private readonly lifetime = new AbortController();
  private listener: pg.Client | null = null;
  private loops: Array<JobLoop<SyncJob> | JobLoop<ControlJob>> = [];
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectAttempts = 0;
  private heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly queue: JobQueue,
    private readonly ingestion: IngestionService,
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly concurrency: number,
  ) {}

  async start(): Promise<void> {
    await this.listen();
    this.loops = [
      this.queue.loop<SyncJob>(QUEUES.sync, this.concurrency, (job) => this.run(job.data, job.id)),
      this.queue.loop<ControlJob>(QUEUES.control, 1, (job) => this.ingestion.settleStop(job.data)),
    ];
    for (const loop of this.loops) loop.start();
    // Runs in flight beat while this process lives; once it dies they go stale within STALE_RUN_SEC.
    this.heartbeatTimer = setInterval(() => void this.beat(), this.ingestion.heartbeatEveryMs);
    this.heartbeatTimer.unref();
  }

  private async beat(): Promise<void> {
    try {
      await this.ingestion.heartbeat(this.id, [...this.inFlight.keys()]);
    } catch (error) {
      this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'could not beat for the runs in flight; next time');
    }
  }

  private get stopped(): boolean {
    return this.lifetime.signal.aborted;
  }

  /** Connects a client and LISTENs on the control channel; once it is lost, reconnects with backoff. */
  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'connector-subgraph-control' });
    let live = false;
    const lost = (error?: Error) => {
      if (!live) return;
      live = false;
      if (this.listener === client) this.listener = null;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn({ err: error?.message ?? 'connection ended' }, 'control channel lost; reconnecting');
      this.scheduleReconnect();
    };
    // Always a listener: an 'error' event without one would end the process.
    client.on('error', (error) => (live ? lost(error) : this.logger.debug({ err: error.message }, 'control channel error')));
    client.on('end', () => lost());
    client.on('notification', (message) => this.onControl(message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${CONTROL_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    live = true;
    this.listener = client;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectAttempts += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, unavailableBackoffMs(this.reconnectAttempts));
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.listen();
    } catch (error) {
      this.logger.debug({ err: error instanceof Error ? error.message : String(error), attempt: this.reconnectAttempts }, 'control channel: reconnect failed');
      this.scheduleReconnect();
      return;
    }
    this.logger.info({ attempts: this.reconnectAttempts }, 'control channel listening again');
    this.reconnectAttempts = 0;
    await this.abortDisabledRuns();
  }

  /** A stop NOTIFY sent while the channel was down is lost: abort runs of connectors disabled since. */
  private async abortDisabledRuns(): Promise<void> {
    const ids = [...this.inFlight.keys()];
    if (!ids.length || !this.listener) return;
    try {
      const { rows } = await this.listener.query<{ id: string }>('SELECT id FROM connectors WHERE id = ANY($1) AND (NOT enabled OR is_deleted)', [ids]);
      for (const { id } of rows) this.inFlight.get(id)?.abort(new Error('connector disabled'));
    } catch (error) {
      this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'control channel: could not check in-flight runs');
    }
  }

  private async run(job: SyncJob, jobId: string): Promise<void> {
    // An expired job handed back to us while its first attempt still runs here: not twice at once.
    if (this.inFlight.has(job.connectorId)) throw new Error('a run of this connector is still in flight in this worker');
    const controller = new AbortController();
    this.inFlight.set(job.connectorId, controller);
    try {
      await this.ingestion.execute(job, jobId, this.id, controller.signal, this.lifetime.signal);
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
    this.lifetime.abort();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const controller of this.inFlight.values()) controller.abort(new Error('worker stopping'));
    await Promise.all(this.loops.map((loop) => loop.stop()));
    this.loops = [];
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }
}
