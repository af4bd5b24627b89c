/**
 * From a `generic_rest` response to normalized records.
 *
 * Each upstream object becomes a {@link GenericRecord}: its own keys spread at the top level with
 * `kind: 'record'`. An upstream key named `kind` would be overwritten, so it is kept as
 * `upstreamKind`.
 */
import type { GenericRecord } from '../records.js';
import { redactSecrets } from '../kit/records.js';


export function normalizeRecord(upstream: Record<string, unknown>): GenericRecord {
  const { kind, ...rest } = upstream;
  const record: GenericRecord = { ...rest, kind: 'record' };
  if (kind !== undefined) record.upstreamKind = kind;
  return record;
}

/** Normalizes and redacts a page of validated records. */
export function mapRecords(records: Record<string, unknown>[], secrets: readonly string[]): GenericRecord[] {
  return records.map((r) => redactSecrets(normalizeRecord(r), secrets));
}
