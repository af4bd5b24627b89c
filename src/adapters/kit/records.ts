/**
 * What every REST provider does with a response: find the records (JSON Pointer, RFC 6901), check
 * that they are JSON objects nested no deeper than the rest of the system walks, and redact the
 * request's secret values from whatever is kept.
 */
import jsonpointer from 'jsonpointer';

/** Secret values shorter than this are not redacted from records (they would mangle ordinary data). */
const MIN_REDACT_LENGTH = 4;
const REDACTED = '[REDACTED]';

export type LocateResult = { found: true; value: unknown } | { found: false };

/** Resolves the records pointer (RFC 6901) in a response body; `""` is the body itself. */
export function locateRecords(body: unknown, pointer: string): LocateResult {
  if (pointer === '') return { found: true, value: body };
  if (body === null || typeof body !== 'object') return { found: false };
  try {
    const value: unknown = jsonpointer.get(body as object, pointer);
    return value === undefined ? { found: false } : { found: true, value };
  } catch {
    return { found: false };
  }
}

export type ValidateResult = { ok: true; records: Record<string, unknown>[] } | { ok: false; message: string };

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Records nested deeper than this are refused: nothing real nests so deep, and every later walk
 * (secret redaction, hashing, the response, PostgreSQL's jsonb) would have to recurse that far.
 */
export const MAX_RECORD_DEPTH = 64;

/** Whether `value` nests deeper than `max` levels; never recurses past `max`. */
function deeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (max === 0) return true;
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (deeperThan(item, max - 1)) return true;
  return false;
}

/** The located value must be an array of JSON objects (not arrays, not primitives), none nested too deep. */
export function validateRecords(value: unknown, pointer: string): ValidateResult {
  const where = pointer === '' ? 'the response body' : `recordsPointer "${pointer}"`;
  if (!Array.isArray(value)) return { ok: false, message: `Expected an array of records at ${where}, found ${describeType(value)}` };
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return { ok: false, message: `Expected every record at ${where} to be a JSON object; item ${i} is ${describeType(item)}` };
    }
    if (deeperThan(item, MAX_RECORD_DEPTH)) {
      return { ok: false, message: `Expected records nested at most ${MAX_RECORD_DEPTH} levels deep at ${where}; item ${i} is nested deeper` };
    }
  }
  return { ok: true, records: value as Record<string, unknown>[] };
}

/**
 * Replaces every occurrence of a secret value in strings (and keys) of a JSON value: an API that
 * echoes the request (headers, query) must not turn a sample or a stored record into a leak.
 */
export function redactSecrets<T>(value: T, secrets: readonly string[]): T {
  const list = [...new Set(secrets.filter((s) => typeof s === 'string' && s.length >= MIN_REDACT_LENGTH))].sort(
    (a, b) => b.length - a.length,
  );
  if (list.length === 0) return value;
  const text = (s: string): string => {
    let out = s;
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return text(v);
    if (v === null || typeof v !== 'object') return v;
    // Validated records are never this deep; whatever is, is dropped rather than passed on unredacted.
    if (depth > MAX_RECORD_DEPTH) return REDACTED;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      // defineProperty: a "__proto__" key from JSON stays data, it does not become the prototype.
      Object.defineProperty(out, text(k), { value: walk(x, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return walk(value, 0) as T;
}

