import { registerEnumType } from 'type-graphql';

/** The kinds of normalized records, as stored in `ingested_records.kind` (lower case). */
export const RECORD_KINDS = ['event', 'indicator', 'vulnerability', 'transaction', 'record'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/**
 * GraphQL `RecordKind`: the names are the upper-case values clients send and receive, the values
 * the lower-case kinds of the table, so resolvers and SQL work with the stored spelling only.
 */
export const RecordKindEnum = Object.fromEntries(RECORD_KINDS.map((kind) => [kind.toUpperCase(), kind])) as {
  EVENT: 'event';
  INDICATOR: 'indicator';
  VULNERABILITY: 'vulnerability';
  TRANSACTION: 'transaction';
  RECORD: 'record';
};
registerEnumType(RecordKindEnum, { name: 'RecordKind', description: 'What a normalized record is; RECORD: an upstream object with no richer mapping.' });

/** A stored kind as the enum's value; anything unknown is a plain RECORD. */
export function toRecordKind(kind: string): RecordKind {
  return (RECORD_KINDS as readonly string[]).includes(kind) ? (kind as RecordKind) : 'record';
}
