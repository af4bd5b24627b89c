import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import type { NatsSettings } from '../../config.js';
import type { Logger } from '../../server/logger.js';
import { RecordDeliveryError, type RecordDelivery, type StoredRecord } from './sink.js';

/** Every record subject starts with this token; the stream captures `connectors.>`. */
export const SUBJECT_ROOT = 'connectors';
const MAX_REASON_LENGTH = 300;

/**
 * One value as one valid subject token: ASCII letters, digits, `_` and `-` stay as they are; every
 * other UTF-8 byte (`.`, `*`, `>`, spaces, `%`, non-ASCII…) becomes `%XX` (upper-case hex), and
 * the empty string becomes `%`. The mapping is one-to-one, so two tenants never share a subject.
 */
export function subjectToken(value: string): string {
  if (!value) return '%';
  let token = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    token += /[A-Za-z0-9_-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return token;
}

/** `connectors.<tenant>.<connectorId>.<kind>`, each part one token (`subjectToken`). */
export function recordSubject(tenantId: string, connectorId: string, kind: string): string {
  return [SUBJECT_ROOT, subjectToken(tenantId), subjectToken(connectorId), subjectToken(kind)].join('.');
}

/** The message body of one record. */
export function recordMessage(tenantId: string, connectorId: string, record: StoredRecord): string {
  return JSON.stringify({
    id: record.id,
    tenantId,
    connectorId,
    kind: record.kind,
    observedAt: record.observedAt ? record.observedAt.toISOString() : null,
    data: record.data,
  });
}

/** A failed delivery to NATS: no `code` and no `cause`, so it is never taken for our database going away. */
export class NatsDeliveryError extends RecordDeliveryError {
  override name = 'NatsDeliveryError';
}

/**
 * SINK=nats: the records a batch wrote are published to JetStream, one message per record on
 * `connectors.<tenant>.<connectorId>.<kind>` with `Nats-Msg-Id: <record id>`, and `deliver`
 * resolves once the stream acknowledged every one. The ingestion run awaits it inside the batch's
 * transaction, before the cursor is written: a crash between the acknowledgement and the commit
 * replays the batch, and the stream drops the replayed messages as duplicates (same ids, within
 * `duplicateWindowSec`).
 */
export class NatsDelivery implements RecordDelivery {
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private closing = false;

  constructor(
    private readonly settings: NatsSettings,
    private readonly logger: Logger,
  ) {}

  /** Where we connect, without credentials (they were taken out of NATS_URL). */
  get servers(): string {
    return this.settings.servers.join(', ');
  }

  /** Connects, and creates the stream or brings what we own of its config up to date. */
  async connect(): Promise<void> {
    if (this.nc) return;
    const { servers, user, pass, token, timeoutMs } = this.settings;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        user,
        pass,
        token,
        name: 'connector-subgraph',
        timeout: timeoutMs,
        // Reconnect forever: an outage fails the batches meanwhile (their runs retry), never the process.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        ...(servers.some((s) => s.startsWith('tls://')) ? { tls: {} } : {}),
      });
    } catch (error) {
      throw new NatsDeliveryError(`SINK=nats: cannot connect to NATS at ${this.servers} (NATS_URL): ${this.reason(error)}`);
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
      const change = await this.ensureStream(jsm);
      this.js = jetstream(nc, { timeout: timeoutMs });
      this.nc = nc;
      this.logger.info({ servers: this.settings.servers, stream: this.settings.stream, stream_config: change }, 'SINK=nats: connected to NATS JetStream');
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw new NatsDeliveryError(`SINK=nats: cannot set up the JetStream stream ${this.settings.stream} on ${this.servers} (is JetStream enabled, nats-server -js?): ${this.reason(error)}`);
    }
    void this.watch(nc);
  }

  /** The stream's config as we want it: the subjects, the age limit, the duplicate window, the replicas. */
  private wanted(): Pick<StreamConfig, 'subjects' | 'max_age' | 'duplicate_window' | 'num_replicas'> {
    return {
      subjects: [`${SUBJECT_ROOT}.>`],
      max_age: nanos(this.settings.maxAgeDays * 86_400_000),
      duplicate_window: nanos(this.settings.duplicateWindowSec * 1000),
      num_replicas: this.settings.replicas,
    };
  }

  private async ensureStream(jsm: JetStreamManager): Promise<'created' | 'updated' | 'unchanged'> {
    const wanted = this.wanted();
    let current: StreamConfig;
    try {
      current = (await jsm.streams.info(this.settings.stream)).config;
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
      await jsm.streams.add({ name: this.settings.stream, ...wanted });
      return 'created';
    }
    const same =
      current.subjects?.length === wanted.subjects.length &&
      current.subjects.every((s, i) => s === wanted.subjects[i]) &&
      current.max_age === wanted.max_age &&
      current.duplicate_window === wanted.duplicate_window &&
      current.num_replicas === wanted.num_replicas;
    if (same) return 'unchanged';
    await jsm.streams.update(this.settings.stream, { ...current, ...wanted });
    return 'updated';
  }

  /** Logs disconnects and reconnects (the client reconnects by itself). */
  private async watch(nc: NatsConnection): Promise<void> {
    try {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this.logger.warn({ servers: this.settings.servers }, 'SINK=nats: disconnected from NATS; reconnecting');
        else if (status.type === 'reconnect') this.logger.info({ servers: this.settings.servers }, 'SINK=nats: reconnected to NATS');
        else if (status.type === 'error') this.logger.warn({ err: this.reason((status as { error?: unknown }).error) }, 'SINK=nats: NATS reported an error');
      }
    } catch {
      // the connection closed
    }
    if (!this.closing) this.logger.error({ servers: this.settings.servers }, 'SINK=nats: the NATS connection closed; deliveries fail until the process restarts');
  }

  async deliver(batch: { tenantId: string; connectorId: string; records: StoredRecord[] }): Promise<void> {
    const js = this.js;
    if (!js || this.nc?.isClosed()) throw new NatsDeliveryError('NATS delivery failed: not connected to NATS');
    if (!batch.records.length) return;
    const { stream, timeoutMs } = this.settings;
    // Pipelined: every message is sent before the first acknowledgement is awaited.
    const results = await Promise.allSettled(
      batch.records.map((record) =>
        js.publish(recordSubject(batch.tenantId, batch.connectorId, String(record.kind ?? '')), recordMessage(batch.tenantId, batch.connectorId, record), {
          msgID: record.id,
          expect: { streamName: stream },
          timeout: timeoutMs,
        }),
      ),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) {
      throw new NatsDeliveryError(`NATS delivery failed: ${failed.length} of ${batch.records.length} records not acknowledged by stream ${stream}: ${this.reason(failed[0]!.reason)}`);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const nc = this.nc;
    this.nc = null;
    this.js = null;
    if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
  }

  /** An error's message, short, with NATS_URL's credentials masked should the client ever echo them. */
  private reason(error: unknown): string {
    let text = error instanceof Error ? `${error.message}` : String(error);
    for (const secret of [this.settings.pass, this.settings.token]) if (secret) text = text.split(secret).join('***');
    text = text.replace(/\/\/[^/@\s]+@/g, '//***@');
    return text.slice(0, MAX_REASON_LENGTH) || 'unknown error';
  }
}
