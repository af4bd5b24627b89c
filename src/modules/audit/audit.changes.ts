import { isDeepStrictEqual } from 'node:util';
import type { AuditChanges } from './audit-event.entity.js';

/**
 * `{ field: { before, after } }` for the listed fields that differ. Values are JSON-safe (dates as
 * ISO strings); callers pass already-redacted values for anything secret.
 */
export function diffChanges<T extends object>(before: Partial<T> | null, after: Partial<T>, fields: (keyof T & string)[]): AuditChanges {
  const changes: AuditChanges = {};
  for (const field of fields) {
    const a = before ? jsonSafe(before[field]) : null;
    const b = jsonSafe(after[field]);
    if (!isDeepStrictEqual(a, b)) changes[field] = { before: a, after: b };
  }
  return changes;
}

function jsonSafe(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  return value;
}
