import { createHash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';
import type { EntityManager } from 'typeorm';
import type { NormalizedRecord } from '../../adapters/records.js';

export interface SinkBatch {
  tenantId: string;
  connectorId: string;
  runId: string;
  records: NormalizedRecord[];
}

export interface SinkResult {
  /** Records stored for the first time. */
  written: number;
  /** Records already stored (or repeated within the batch): counted, not stored twice. */
  duplicates: number;
}

/**
 * Where normalized records go. The run commits the read cursor only after `accept` returned; a
 * sink that can write inside `manager`'s transaction (the PostgreSQL default) makes record and
 * cursor one atomic step, so a crash neither loses nor re-emits an accepted record. A sink outside
 * the database (a message broker) acks first and gives at-least-once delivery.
 */
export interface Sink {
  accept(manager: EntityManager, batch: SinkBatch): Promise<SinkResult>;
  /** Drops records older than the retention period; returns how many. */
  expire(manager: EntityManager, olderThan: Date): Promise<number>;
  /** Removes everything a connector delivered (purge). */
  forget(manager: EntityManager, tenantId: string, connectorId: string): Promise<void>;
}

const stableJson = configure({ deterministic: true, bigint: true });

/** A record's identity for deduplication: the hash of its canonical JSON. */
export function dedupKey(record: NormalizedRecord): string {
  return createHash('sha256').update(stableJson(record) ?? '').digest('base64url');
}

/** The default sink: `ingested_records`, one row per distinct record per tenant and connector. */
export class PostgresSink implements Sink {
  async accept(manager: EntityManager, batch: SinkBatch): Promise<SinkResult> {
    if (!batch.records.length) return { written: 0, duplicates: 0 };
    const keys = batch.records.map(dedupKey);
    const rows: unknown[] = await manager.query(
      `INSERT INTO ingested_records (tenant_id, connector_id, dedup_key, kind, record, run_id)
       SELECT $1, $2, k, r->>'kind', r, $3 FROM unnest($4::text[], $5::jsonb[]) AS u(k, r)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [batch.tenantId, batch.connectorId, batch.runId, keys, batch.records.map((r) => JSON.stringify(r))],
    );
    return { written: rows.length, duplicates: batch.records.length - rows.length };
  }

  async expire(manager: EntityManager, olderThan: Date): Promise<number> {
    const result = await manager.query('DELETE FROM ingested_records WHERE ingested_at < $1', [olderThan]);
    return Array.isArray(result) ? Number(result[1] ?? 0) : 0;
  }

  async forget(manager: EntityManager, tenantId: string, connectorId: string): Promise<void> {
    await manager.query('DELETE FROM ingested_records WHERE tenant_id = $1 AND connector_id = $2', [tenantId, connectorId]);
  }
}
