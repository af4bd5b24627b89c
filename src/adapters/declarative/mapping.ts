/**
 * From one upstream item to a normalized record, as a manifest's `map` says: each output field is a
 * pointer, a list of pointers (first present wins) or a field spec (constant, lookup table,
 * scaling, type coercion, indicator-type detection). Pure; the upstream item is never modified.
 */
import { isIP } from 'node:net';
import jsonpointer from 'jsonpointer';
import type { NormalizedRecord } from '../records.js';
import { redactSecrets } from '../kit/records.js';
import type { FieldDefinition, FieldSpec, Pointer, RecordKindName, StreamDefinition } from './manifest.js';

/** What every record of a kind carries, null until mapped (docs/normalization.md). */
export const KIND_DEFAULTS: Record<RecordKindName, () => Record<string, unknown>> = {
  event: () => ({
    format: 'JSON',
    vendor: null,
    product: null,
    productVersion: null,
    eventId: null,
    name: null,
    severity: null,
    timestamp: null,
    src: null,
    dst: null,
    srcPort: null,
    dstPort: null,
    user: null,
    extensions: {},
  }),
  indicator: () => ({ type: null, value: null, firstSeen: null, confidence: null, labels: [] }),
  vulnerability: () => ({ id: null, published: null, lastModified: null, status: null, description: null, severity: null, cvss: [], cwes: [], cpes: [], references: [] }),
  transaction: () => ({ chain: null, hash: null, blockNumber: null, from: null, to: null, value: null, timestamp: null }),
  record: () => ({}),
};

export function get(item: unknown, pointer: Pointer): unknown {
  if (pointer === '') return item;
  if (item === null || typeof item !== 'object') return undefined;
  try {
    return jsonpointer.get(item as object, pointer);
  } catch {
    return undefined;
  }
}

const present = (v: unknown) => v !== undefined && v !== null && v !== '';

function first(item: unknown, from: Pointer | Pointer[]): unknown {
  for (const pointer of Array.isArray(from) ? from : [from]) {
    const value = get(item, pointer);
    if (present(value)) return value;
  }
  return null;
}

/** Parses a timestamp: ISO 8601 text, or epoch seconds / milliseconds (told apart by magnitude). */
export function toDate(value: unknown, unit?: 'epoch_s' | 'epoch_ms'): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  let n: number | null = null;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) n = Number(value);
  if (n !== null) {
    if (!Number.isFinite(n)) return null;
    const ms = unit === 'epoch_ms' ? n : unit === 'epoch_s' ? n * 1000 : Math.abs(n) < 1e11 ? n * 1000 : n;
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  if (typeof value !== 'string' || value.length > 64) return null;
  // A date-time without a zone is UTC here (Date would read it as the host's local time).
  const text = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value.trim()) ? `${value.trim().replace(' ', 'T')}Z` : value.trim();
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

const HEX = /^[0-9a-f]+$/i;

/** The indicator type of a value: ipv4, ipv6, url, email, md5, sha1, sha256, domain, or null. */
export function detectIndicatorType(value: unknown): string | null {
  if (typeof value !== 'string' || !value) return null;
  const v = value.trim();
  const ip = isIP(v);
  if (ip === 4) return 'ipv4';
  if (ip === 6) return 'ipv6';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return 'url';
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v)) return 'email';
  if (HEX.test(v)) {
    if (v.length === 32) return 'md5';
    if (v.length === 40) return 'sha1';
    if (v.length === 64) return 'sha256';
  }
  if (/^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i.test(v)) return 'domain';
  return null;
}

function lookupTable(map: Record<string, unknown>, value: unknown): { hit: boolean; value: unknown } {
  if (value === null || value === undefined || typeof value === 'object') return { hit: false, value: null };
  const key = String(value);
  if (Object.prototype.hasOwnProperty.call(map, key)) return { hit: true, value: map[key] };
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(map)) if (k.toLowerCase() === lower) return { hit: true, value: v };
  return { hit: false, value: null };
}

function coerce(value: unknown, type: FieldSpec['type']): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case undefined:
      return value;
    case 'string':
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    case 'number': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      return Number.isFinite(n) ? n : null;
    }
    case 'integer': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      return Number.isFinite(n) ? Math.trunc(n) : null;
    }
    case 'datetime':
      return toDate(value)?.toISOString() ?? null;
    case 'epoch_s':
    case 'epoch_ms':
      return toDate(value, type)?.toISOString() ?? null;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 1 || value === '1') return true;
      if (value === 'false' || value === 0 || value === '0') return false;
      return null;
    case 'string[]':
      return (Array.isArray(value) ? value : [value]).filter(present).map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)));
  }
}

/** What a mapping may read besides the item: the connector's config and the stream's partition. */
export interface MappingContext {
  config?: Record<string, unknown>;
  partition?: unknown;
}

function fromContext(context: MappingContext, name: string): unknown {
  if (name === 'partition') return context.partition ?? null;
  const key = name.slice('config.'.length);
  const config = context.config ?? {};
  return Object.prototype.hasOwnProperty.call(config, key) ? config[key] : null;
}

export function evaluateField(item: unknown, def: FieldDefinition, context: MappingContext = {}): unknown {
  if (typeof def === 'string' || Array.isArray(def)) return first(item, def) ?? null;
  let value: unknown =
    'value' in def ? def.value : def.context !== undefined ? fromContext(context, def.context) : def.from !== undefined ? first(item, def.from) : null;
  if (def.each !== undefined && Array.isArray(value)) value = value.map((v) => get(v, def.each!)).filter(present);
  if (def.map) {
    const found = Array.isArray(value) ? { hit: true, value: value.map((v) => lookupTable(def.map!, v).value ?? v) } : lookupTable(def.map, value);
    if (found.hit) value = found.value;
    else if (def.detect === 'indicator') value = detectIndicatorType(value);
    else value = null;
  } else if (def.detect === 'indicator') value = detectIndicatorType(value);
  if (!present(value) && def.default !== undefined) value = def.default;
  value = coerce(value, def.type);
  if (def.scale && typeof value === 'number') {
    const [fromMin, fromMax, toMin, toMax] = def.scale;
    const ratio = fromMax === fromMin ? 0 : (value - fromMin) / (fromMax - fromMin);
    const scaled = toMin + Math.min(1, Math.max(0, ratio)) * (toMax - toMin);
    value = Math.round(scaled * 100) / 100;
  }
  return value === undefined ? null : value;
}

/**
 * One upstream item as a normalized record: the kind's fields (null until mapped), the mapped
 * fields, the stream as `eventType`, and the upstream item under `raw`; all redacted of the
 * request's secret values. Kind `record` is the upstream object itself with the mapped fields on top.
 */
export function mapItem(item: Record<string, unknown>, stream: StreamDefinition, secrets: readonly string[], context: MappingContext = {}): NormalizedRecord {
  const kind = stream.map.kind;
  if (kind === 'record') {
    // The upstream object as it is, plus what is mapped; its own `kind` is kept as `upstreamKind`.
    const { kind: upstreamKind, ...rest } = item;
    const record: Record<string, unknown> = { ...rest };
    for (const [field, def] of Object.entries(stream.map.fields)) record[field] = evaluateField(item, def, context);
    record.kind = 'record';
    if (upstreamKind !== undefined) record.upstreamKind = upstreamKind;
    return redactSecrets(record, secrets) as NormalizedRecord;
  }
  const record: Record<string, unknown> = KIND_DEFAULTS[kind]();
  for (const [field, def] of Object.entries(stream.map.fields)) record[field] = evaluateField(item, def, context);
  record.kind = kind;
  record.eventType = stream.name;
  record.raw = item;
  return redactSecrets(record, secrets) as NormalizedRecord;
}

/** Rows of a tabular answer (`{ columns: [{ name }], rows: [[...]] }`) as objects. */
export function rowsToObjects(columns: unknown, rows: unknown): Record<string, unknown>[] | null {
  if (!Array.isArray(columns) || !Array.isArray(rows)) return null;
  const names = columns.map((c) => (c && typeof c === 'object' ? String((c as { name?: unknown }).name ?? '') : String(c)));
  const out: Record<string, unknown>[] = [];
  for (const row of rows) {
    if (!Array.isArray(row)) return null;
    const obj: Record<string, unknown> = {};
    names.forEach((name, i) => Object.defineProperty(obj, name, { value: row[i] ?? null, enumerable: true, writable: true, configurable: true }));
    out.push(obj);
  }
  return out;
}
