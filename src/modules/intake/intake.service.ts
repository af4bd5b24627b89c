/**
 * The intake: what push sources send (HEC, `/intake/<connectorId>`, syslog) becomes records of
 * exactly one push connector, through the same store, dedup window and downstream delivery as a
 * polled run's batches.
 *
 * - A disabled, deleted or unknown connector takes nothing; what it was sent is counted as dropped.
 * - Decoding is the provider's (`adapter.decode`); a message it cannot read is rejected and counted,
 *   and never stops the others.
 * - Back-pressure, not loss: at most `maxPending` messages are being written at once in this
 *   process; beyond that a submission is refused as busy (HEC code 9, HTTP 503 with Retry-After)
 *   before anything is written, so the sender keeps it and retries.
 * - Accepted records are committed, with the connector's intake counters, before `submit` resolves:
 *   an acknowledgement means stored.
 */
import type { DataSource } from 'typeorm';
import { getAdapter } from '../../adapters/registry.js';
import type { NormalizedRecord } from '../../adapters/records.js';
import type { PushMessage } from '../../adapters/spi.js';
import { operationalSettings } from '../../adapters/operations.js';
import type { Principal } from '../../auth/principal.js';
import { SqlParams } from '../../db/sql.js';
import type { Logger } from '../../server/logger.js';
import { connectorVisibility } from '../connectors/connector.visibility.js';
import { RecordDeliveryError, type RecordDelivery, type Sink } from '../ingestion/sink.js';

/** Records kept per connector as the sample a connection test shows. */
export const SAMPLE_SIZE = 5;

export interface IntakeTarget {
  tenantId: string;
  connectorId: string;
}

export type IntakeOutcome =
  | { status: 'accepted'; accepted: number; duplicates: number; rejected: Array<{ index: number; error: string }> }
  | { status: 'disabled' | 'not_found' | 'not_push' }
  | { status: 'busy'; retryAfterSec: number };

export interface IntakeOptions {
  /** Messages being decoded and written at once in this process, at most. */
  maxPending: number;
}

export class IntakeService {
  private pending = 0;
  /** Per connector, messages refused as busy and not yet added to its counters. */
  private readonly busyRefusals = new Map<string, number>();
  /** Told what each accepted submission held (the health monitor's duplicate-flood guard). */
  onAccepted: ((connector: { id: string; config: Record<string, unknown> }, read: number, duplicates: number) => Promise<void>) | null = null;
  /** Told how each submission written ended, under its connector's provider (src/observability/metrics.ts). */
  meter: ((provider: string, outcome: IntakeOutcome, messages: number) => void) | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sink: Sink,
    private readonly delivery: RecordDelivery | null,
    private readonly logger: Logger,
    private readonly options: IntakeOptions,
  ) {}

  /** Messages now in flight (for metrics and tests). */
  get inFlight(): number {
    return this.pending;
  }

  /**
   * `retried`: the caller keeps a refused batch and submits it again (the syslog receiver), so a busy
   * refusal loses nothing and is not counted as `dropped_busy`.
   */
  async submit(target: IntakeTarget, messages: readonly PushMessage[], options: { retried?: boolean } = {}): Promise<IntakeOutcome> {
    if (this.pending + messages.length > this.options.maxPending && this.pending > 0) {
      if (options.retried) return { status: 'busy', retryAfterSec: 1 };
      // Counted in memory and written with the connector's next counters: an overloaded intake
      // adds no write for a refusal, and the answer never waits for the database it is waiting on.
      this.busyRefusals.set(target.connectorId, (this.busyRefusals.get(target.connectorId) ?? 0) + messages.length);
      return { status: 'busy', retryAfterSec: 1 };
    }
    this.pending += messages.length;
    try {
      const { outcome, config, provider } = await this.write(target, messages);
      if (provider) this.meter?.(provider, outcome, messages.length);
      if (outcome.status === 'accepted' && this.onAccepted) {
        await this.onAccepted({ id: target.connectorId, config: config! }, outcome.accepted, outcome.duplicates).catch((e) =>
          this.logger.error({ connectorId: target.connectorId, err: String(e) }, 'the duplicate-flood guard failed on an intake batch'),
        );
      }
      return outcome;
    } catch (error) {
      // The stream (SINK=nats) did not take the records: nothing was committed, the sender retries.
      if (error instanceof RecordDeliveryError) {
        this.logger.warn({ connectorId: target.connectorId, err: error.message }, 'intake refused as busy: records could not be delivered');
        return { status: 'busy', retryAfterSec: 5 };
      }
      throw error;
    } finally {
      this.pending -= messages.length;
    }
  }

  private async write(target: IntakeTarget, messages: readonly PushMessage[]): Promise<{ outcome: IntakeOutcome; config?: Record<string, unknown>; provider?: string }> {
    return this.dataSource.transaction(async (m) => {
      // FOR SHARE: a toggle (FOR UPDATE) waits for this write, and this write sees a committed toggle.
      const [row] = await m.query(
        'SELECT provider, config, enabled, is_deleted FROM connectors WHERE id = $1 AND tenant_id = $2 FOR SHARE',
        [target.connectorId, target.tenantId],
      );
      if (!row || row.is_deleted) return { outcome: { status: 'not_found' as const } };
      const adapter = getAdapter(row.provider);
      if (!adapter?.decode || adapter.spec.mode !== 'push') return { outcome: { status: 'not_push' as const } };
      if (!row.enabled) {
        await this.count(target, { received: messages.length, dropped_disabled: messages.length }, m);
        return { outcome: { status: 'disabled' as const }, provider: row.provider as string };
      }
      const records: NormalizedRecord[] = [];
      const rejected: Array<{ index: number; error: string }> = [];
      messages.forEach((message, index) => {
        const decoded = adapter.decode!(message, row.config);
        if (decoded.ok) records.push(decoded.record);
        else rejected.push({ index, error: decoded.error });
      });
      const result = records.length
        ? await this.sink.accept(m, {
            tenantId: target.tenantId,
            connectorId: target.connectorId,
            runId: 'intake',
            records,
            dedupWindowSec: operationalSettings(row.config).dedupWindowSec,
          })
        : { written: 0, duplicates: 0, fresh: [] };
      if (this.delivery && result.fresh.length) await this.delivery.deliver({ tenantId: target.tenantId, connectorId: target.connectorId, records: result.fresh });
      const last = messages[messages.length - 1];
      await this.count(
        target,
        {
          received: messages.length,
          accepted: records.length,
          duplicates: result.duplicates,
          rejected: rejected.length,
        },
        m,
        {
          sender: last?.remoteAddress ?? null,
          error: rejected.length ? rejected[rejected.length - 1]!.error.slice(0, 500) : null,
          sample: records.slice(-SAMPLE_SIZE),
        },
      );
      return { outcome: { status: 'accepted' as const, accepted: records.length, duplicates: result.duplicates, rejected }, config: row.config, provider: row.provider as string };
    });
  }

  /** Adds to the connector's intake counters (creating its row on the first message). */
  private async count(
    target: IntakeTarget,
    counters: Partial<Record<'received' | 'accepted' | 'duplicates' | 'rejected' | 'dropped_disabled' | 'dropped_busy' | 'dropped_overflow', number>>,
    m: { query(sql: string, params?: unknown[]): Promise<unknown> } = this.dataSource,
    seen?: { sender: string | null; error: string | null; sample: NormalizedRecord[] },
  ): Promise<void> {
    const c = { received: 0, accepted: 0, duplicates: 0, rejected: 0, dropped_disabled: 0, dropped_busy: 0, dropped_overflow: 0, ...counters };
    const refused = this.busyRefusals.get(target.connectorId);
    if (refused) {
      this.busyRefusals.delete(target.connectorId);
      c.dropped_busy += refused;
    }
    await m.query(
      `INSERT INTO intake_stats AS s (connector_id, tenant_id, received, accepted, duplicates, rejected, dropped_disabled, dropped_busy, dropped_overflow,
                                      first_received_at, last_received_at, last_sender, last_error, sample)
       SELECT id, tenant_id, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::bigint, $12::bigint,
              CASE WHEN $3::bigint > 0 THEN now() END, CASE WHEN $3::bigint > 0 THEN now() END, $9::text, $10::text, COALESCE($11::jsonb, '[]'::jsonb)
         FROM connectors WHERE id = $1 AND tenant_id = $2
       ON CONFLICT (connector_id) DO UPDATE SET
         received = s.received + EXCLUDED.received,
         accepted = s.accepted + EXCLUDED.accepted,
         duplicates = s.duplicates + EXCLUDED.duplicates,
         rejected = s.rejected + EXCLUDED.rejected,
         dropped_disabled = s.dropped_disabled + EXCLUDED.dropped_disabled,
         dropped_busy = s.dropped_busy + EXCLUDED.dropped_busy,
         dropped_overflow = s.dropped_overflow + EXCLUDED.dropped_overflow,
         first_received_at = COALESCE(s.first_received_at, EXCLUDED.first_received_at),
         last_received_at = COALESCE(EXCLUDED.last_received_at, s.last_received_at),
         last_sender = COALESCE(EXCLUDED.last_sender, s.last_sender),
         last_error = COALESCE(EXCLUDED.last_error, s.last_error),
         sample = CASE WHEN jsonb_array_length(EXCLUDED.sample) > 0
                       THEN (SELECT COALESCE(jsonb_agg(x.v ORDER BY x.n), '[]'::jsonb) FROM (
                               SELECT v, n FROM jsonb_array_elements(s.sample || EXCLUDED.sample) WITH ORDINALITY AS e(v, n)
                               ORDER BY n DESC LIMIT ${SAMPLE_SIZE}) x)
                       ELSE s.sample END`,
      [
        target.connectorId,
        target.tenantId,
        c.received,
        c.accepted,
        c.duplicates,
        c.rejected,
        c.dropped_disabled,
        c.dropped_busy,
        seen?.sender ?? null,
        seen?.error ?? null,
        seen?.sample.length ? JSON.stringify(seen.sample) : null,
        c.dropped_overflow,
      ],
    );
  }

  /** Counts syslog datagrams the receiver dropped for the connector (its queue was full). */
  async countOverflow(target: IntakeTarget, dropped: number): Promise<void> {
    if (dropped > 0) await this.count(target, { dropped_overflow: dropped });
  }

  /**
   * Intake counters of many connectors in one statement (`Connector.intake`), only of connectors the
   * principal may see; a connector that never received anything has none.
   */
  async statsOf(principal: Principal, connectorIds: readonly string[]): Promise<Map<string, IntakeStats>> {
    const sql = new SqlParams();
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT s.connector_id, s.received, s.accepted, s.duplicates, s.rejected, s.dropped_disabled, s.dropped_busy, s.dropped_overflow,
              s.first_received_at, s.last_received_at, s.last_sender, s.last_error
         FROM intake_stats s JOIN connectors c ON c.id = s.connector_id AND c.tenant_id = s.tenant_id
        WHERE s.tenant_id = ${sql.param(principal.tenantId)} AND s.connector_id = ANY(${sql.param(connectorIds)}::text[])
          AND ${connectorVisibility(principal, 'c', sql)}`,
      sql.values,
    );
    const n = (v: unknown) => Number(v);
    return new Map(
      rows.map((row) => [
        row.connector_id as string,
        {
          received: n(row.received),
          accepted: n(row.accepted),
          duplicates: n(row.duplicates),
          rejected: n(row.rejected),
          droppedDisabled: n(row.dropped_disabled),
          droppedBusy: n(row.dropped_busy),
          droppedOverflow: n(row.dropped_overflow),
          firstReceivedAt: row.first_received_at as Date | null,
          lastReceivedAt: row.last_received_at as Date | null,
          lastSender: row.last_sender as string | null,
          lastError: row.last_error as string | null,
        },
      ]),
    );
  }
}

export interface IntakeStats {
  received: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  droppedDisabled: number;
  droppedBusy: number;
  droppedOverflow: number;
  firstReceivedAt: Date | null;
  lastReceivedAt: Date | null;
  lastSender: string | null;
  lastError: string | null;
}
