import type { EntityManager } from 'typeorm';
import type { NormalizedRecord } from '../../adapters/records.js';
import { dedupKeyOf, observedAtOf, recordId, severityOf, titleOf } from '../records/record-identity.js';

export interface SinkBatch {
  tenantId: string;
  connectorId: string;
  runId: string;
  records: NormalizedRecord[];
  /** The generic REST connector's `dedupKey` pointers; unset: each kind's identifying fields. */
  dedupKeyPointers?: readonly string[];
  /** A key seen this recently is a duplicate (`dedupWindowSec`). */
  dedupWindowSec: number;
  /** The adapter's `versionPointer`: a greater version replaces the stored record even within the window. */
  versionPointer?: string;
}

/** A record stored for the first time, or again after its dedup window: what goes downstream. */
export interface StoredRecord {
  id: string;
  kind: string;
  observedAt: Date | null;
  data: NormalizedRecord;
}

export interface SinkResult {
  /** Records stored for the first time, or again after their dedup window. */
  written: number;
  /** Records whose key was seen within the window (or repeated within the batch): counted, not stored. */
  duplicates: number;
  /** The written records, in batch order, for delivery downstream. */
  fresh: StoredRecord[];
}

/**
 * Where normalized records go. The run commits the read cursor only after `accept` returned, in
 * the same transaction, so a crash neither loses nor stores twice an accepted record. (A delivery
 * to a stream happens before that commit: a crash after it replays the batch with the same record
 * ids, for the stream to drop.)
 */
export interface Sink {
  accept(manager: EntityManager, batch: SinkBatch): Promise<SinkResult>;
  /** Drops records older than the retention period; returns how many. */
  expire(manager: EntityManager, olderThan: Date): Promise<number>;
  /** Removes everything a connector delivered (purge). */
  forget(manager: EntityManager, tenantId: string, connectorId: string): Promise<void>;
}

/**
 * A stream the written records are also delivered to (SINK=nats). `deliver` resolves once the
 * stream acknowledged every record; records carry their stable id for the stream to deduplicate.
 */
export interface RecordDelivery {
  deliver(batch: { tenantId: string; connectorId: string; records: StoredRecord[] }): Promise<void>;
  close(): Promise<void>;
}

/**
 * A delivery that failed (the stream unreachable, or not acknowledging): the batch rolls back and
 * the run ends interrupted, not counted against the connector's health.
 */
export class RecordDeliveryError extends Error {
  override name = 'RecordDeliveryError';
}

interface Pending {
  id: string;
  key: string;
  record: NormalizedRecord;
  observedAt: Date | null;
  /** Copies of this key in the batch. */
  copies: number;
}

/** A JSON Pointer (RFC 6901) as a PostgreSQL text[] path for `#>>`. */
function pointerPath(pointer: string | undefined): string[] | null {
  if (!pointer || !pointer.startsWith('/')) return null;
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The record's version at `path` (a string), or null. */
function versionAt(record: NormalizedRecord, path: string[] | null): string | null {
  if (!path) return null;
  let v: unknown = record;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return null;
    v = (v as Record<string, unknown>)[key];
  }
  return typeof v === 'string' ? v : null;
}

/**
 * The stored row stays as it is when its key was seen within the window, unless the incoming
 * record's version (`$12`, a text[] path; NULL: no versions) is greater than the stored one's.
 */
const KEEP_STORED = `(r.last_seen_at > now() - make_interval(secs => $11)
  AND NOT COALESCE((EXCLUDED.record #>> $12::text[]) > COALESCE(r.record #>> $12::text[], ''), false))`;

/**
 * The default sink and the source of the `records` query: `ingested_records`, one row per dedup
 * key per tenant and connector. A key seen within the window moves the stored record's
 * `duplicate_count` and `last_seen_at`; a key seen after it is stored again in place (same id:
 * data, observed and ingested time replaced, count back to the batch's repeats). With a
 * `versionPointer`, a greater version is stored again in place within the window too.
 */
export class PostgresSink implements Sink {
  async accept(manager: EntityManager, batch: SinkBatch): Promise<SinkResult> {
    if (!batch.records.length) return { written: 0, duplicates: 0, fresh: [] };
    // Repeats within the batch collapse first: one row per key, the first copy kept.
    // With versions, the newest copy is kept instead.
    const byKey = new Map<string, Pending>();
    const path = pointerPath(batch.versionPointer);
    for (const record of batch.records) {
      const key = dedupKeyOf(record, batch.dedupKeyPointers);
      const seen = byKey.get(key);
      if (seen) {
        seen.copies += 1;
        const version = versionAt(record, path);
        if (version !== null && version > (versionAt(seen.record, path) ?? '')) {
          seen.record = record;
          seen.observedAt = observedAtOf(record);
        }
      } else byKey.set(key, { id: recordId(batch.tenantId, batch.connectorId, key), key, record, observedAt: observedAtOf(record), copies: 1 });
    }
    const pending = [...byKey.values()];
    // Written in key order: concurrent batches of one connector lock the rows they share in the same
    // order and wait for each other instead of deadlocking. `fresh` keeps the order of arrival.
    const ordered = [...pending].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // `ingested_at = now()` after the statement: inserted, or stored again after the window.
    const rows: Array<{ id: string; fresh: boolean }> = await manager.query(
      `INSERT INTO ingested_records AS r (id, tenant_id, connector_id, dedup_key, kind, record, run_id, observed_at, severity, title, duplicate_count, ingested_at, last_seen_at)
       SELECT u.id, $1, $2, u.k, u.r->>'kind', u.r, $3, u.o, u.s, u.t, u.c - 1, now(), now()
       FROM unnest($4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::real[], $9::text[], $10::int[]) AS u(id, k, r, o, s, t, c)
       ON CONFLICT (tenant_id, connector_id, dedup_key) DO UPDATE SET
         duplicate_count = CASE WHEN ${KEEP_STORED} THEN r.duplicate_count + EXCLUDED.duplicate_count + 1 ELSE EXCLUDED.duplicate_count END,
         record = CASE WHEN ${KEEP_STORED} THEN r.record ELSE EXCLUDED.record END,
         kind = CASE WHEN ${KEEP_STORED} THEN r.kind ELSE EXCLUDED.kind END,
         observed_at = CASE WHEN ${KEEP_STORED} THEN r.observed_at ELSE EXCLUDED.observed_at END,
         severity = CASE WHEN ${KEEP_STORED} THEN r.severity ELSE EXCLUDED.severity END,
         title = CASE WHEN ${KEEP_STORED} THEN r.title ELSE EXCLUDED.title END,
         run_id = CASE WHEN ${KEEP_STORED} THEN r.run_id ELSE EXCLUDED.run_id END,
         ingested_at = CASE WHEN ${KEEP_STORED} THEN r.ingested_at ELSE now() END,
         last_seen_at = now()
       RETURNING r.id, r.ingested_at = now() AS fresh`,
      [
        batch.tenantId,
        batch.connectorId,
        batch.runId,
        ordered.map((p) => p.id),
        ordered.map((p) => p.key),
        ordered.map((p) => JSON.stringify(p.record)),
        ordered.map((p) => p.observedAt),
        ordered.map((p) => severityOf(p.record)),
        ordered.map((p) => titleOf(p.record)),
        ordered.map((p) => p.copies),
        batch.dedupWindowSec,
        path,
      ],
    );
    const freshIds = new Set(rows.filter((row) => row.fresh).map((row) => row.id));
    const fresh = pending.filter((p) => freshIds.has(p.id)).map((p) => ({ id: p.id, kind: p.record.kind, observedAt: p.observedAt, data: p.record }));
    return { written: fresh.length, duplicates: batch.records.length - fresh.length, fresh };
  }

  async expire(manager: EntityManager, olderThan: Date): Promise<number> {
    const result = await manager.query('DELETE FROM ingested_records WHERE ingested_at < $1', [olderThan]);
    return Array.isArray(result) ? Number(result[1] ?? 0) : 0;
  }

  async forget(manager: EntityManager, tenantId: string, connectorId: string): Promise<void> {
    await manager.query('DELETE FROM ingested_records WHERE tenant_id = $1 AND connector_id = $2', [tenantId, connectorId]);
  }
}
