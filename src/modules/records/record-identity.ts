/**
 * What a normalized record is, for storage and the graph: the key that tells duplicates apart, the
 * stable id derived from it, when the source saw it, and the severity and title the `records`
 * filters use. Pure functions of the record and the connector's config.
 */
import { createHash } from 'node:crypto';
import jsonpointer from 'jsonpointer';
import { configure } from 'safe-stable-stringify';
import type { NormalizedRecord } from '../../adapters/records.js';

const stableJson = configure({ deterministic: true, bigint: true });

function hash(value: unknown): string {
  return createHash('sha256').update(stableJson(value) ?? '').digest('base64url');
}

const str = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

/**
 * The fields that identify the same finding, by kind (a SIEM re-sending an alert changes its
 * timestamp and receipt id, not these). `pointers`: the generic REST connector's `dedupKey`.
 * Where none of the identifying fields is present, the whole record is its own key.
 */
export function identifyingFields(record: NormalizedRecord, pointers?: readonly string[]): unknown {
  if (pointers?.length) {
    return pointers.map((pointer) => {
      try {
        return jsonpointer.get(record as object, pointer) ?? null;
      } catch {
        return null;
      }
    });
  }
  const r = record as Record<string, unknown>;
  let fields: unknown[] | null = null;
  switch (record.kind) {
    case 'event':
      fields = [r.format, r.vendor, r.product, r.eventId, r.name, r.src, r.dst];
      break;
    case 'vulnerability':
      fields = [r.id, r.lastModified];
      break;
    case 'indicator':
      fields = [r.type, r.value];
      break;
    case 'transaction':
      // A native transfer and the token transfers of one transaction share the hash.
      fields = [r.chain, r.hash, r.token ?? null, r.logIndex ?? null];
      break;
  }
  return fields && fields.some((f) => f !== null && f !== undefined && f !== '') ? [record.kind, ...fields] : record;
}

export function dedupKeyOf(record: NormalizedRecord, pointers?: readonly string[]): string {
  return hash(identifyingFields(record, pointers));
}

/** `rec_` and 26 hex digits of SHA-256 over tenant, connector and key (the migration derives the same). */
export function recordId(tenantId: string, connectorId: string, dedupKey: string): string {
  return `rec_${createHash('sha256').update(`${tenantId}\u001f${connectorId}\u001f${dedupKey}`).digest('hex').slice(0, 26).toUpperCase()}`;
}

function date(value: unknown): Date | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

/** When the source saw it: the record's own timestamp, where it has one. */
export function observedAtOf(record: NormalizedRecord): Date | null {
  const r = record as Record<string, unknown>;
  switch (record.kind) {
    case 'event':
    case 'transaction':
      return date(r.timestamp);
    case 'vulnerability':
      return date(r.lastModified) ?? date(r.published);
    case 'indicator':
      return date(r.firstSeen);
    default:
      for (const key of ['timestamp', '@timestamp', 'time', 'observedAt', 'created_at', 'createdAt', 'date']) {
        const found = date(r[key]);
        if (found) return found;
      }
      return null;
  }
}

/** 0–10: an event's severity, a vulnerability's highest CVSS base score; null otherwise. */
export function severityOf(record: NormalizedRecord): number | null {
  const r = record as Record<string, unknown>;
  const bounded = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 10 ? value : null);
  if (record.kind === 'vulnerability') {
    const scores = (Array.isArray(r.cvss) ? r.cvss : []).map((m) => bounded((m as { baseScore?: unknown }).baseScore)).filter((x): x is number => x !== null);
    return scores.length ? Math.max(...scores) : null;
  }
  return bounded(r.severity);
}

const TITLE_MAX = 300;

/** A line to search and show: the event's name, the CVE and its description, the indicator, the hash. */
export function titleOf(record: NormalizedRecord): string | null {
  const r = record as Record<string, unknown>;
  let title: string | null;
  switch (record.kind) {
    case 'event':
      title = str(r.name) ?? str(r.eventId);
      break;
    case 'vulnerability':
      title = [str(r.id), str(r.description)].filter(Boolean).join(' ') || null;
      break;
    case 'indicator':
      title = [str(r.type), str(r.value)].filter(Boolean).join(' ') || null;
      break;
    case 'transaction':
      title = str(r.hash);
      break;
    default:
      title = str(r.title) ?? str(r.name) ?? str(r.summary) ?? str(r.message) ?? str(r.signature) ?? (typeof r.id === 'string' || typeof r.id === 'number' ? String(r.id) : null);
  }
  return title ? title.slice(0, TITLE_MAX) : null;
}
