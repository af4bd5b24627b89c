/**
 * The read cursor of the `nvd` provider and how a read plans its windows from it.
 *
 * NVD's date filters include both ends, so a read starts exactly at the newest date it has
 * delivered (`since`) and skips the records it delivered at that very date (`boundaryKeys`):
 * nothing modified at the same millisecond is lost, and nothing already delivered comes back.
 * Starting at the newest record seen rather than at the end of the last read also gives records
 * NVD indexes late (with a date a little in the past) a second chance.
 */
import type { ReadCursor } from '../spi.js';
import type { NvdDateField } from './config.js';
import { NVD_MAX_RANGE_DAYS } from './types.js';
import { splitDateWindows } from './windows.js';
import type { DateWindow } from './windows.js';

/** Boundary keys kept at most; beyond that a few duplicates at the boundary are possible (harmless: keyed by CVE id). */
export const MAX_BOUNDARY_KEYS = 1000;

/** A window a read stopped inside of, and the `startIndex` of its next page. */
export interface NvdCursorWindow {
  start: string;
  end: string;
  startIndex: number;
}

/**
 * JSON-serialisable position of a read (a {@link ReadCursor}).
 *
 * - `dateField`: what the windows filter on; a cursor of the other field is ignored.
 * - `since`: ISO 8601 UTC; the next read's inclusive lower bound: the newest `dateField` value
 *   delivered, or where the sync started while nothing has been delivered.
 * - `lastModified`: the newest `lastModified` delivered (null before any record).
 * - `boundaryKeys`: dedupe keys (`<CVE id>|<lastModified>`) of the records delivered whose
 *   `dateField` equals `since`.
 * - `window`: set while a read stopped inside a window: the next read resumes there, at
 *   `startIndex`, before going on from the window's end to its own "now".
 */
export interface NvdCursor {
  [key: string]: unknown;
  dateField: NvdDateField;
  since: string;
  lastModified: string | null;
  boundaryKeys: string[];
  window: NvdCursorWindow | null;
}

function isIso(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

/** The cursor if it is a well-formed one of this `dateField`; otherwise null (the read starts over). */
export function parseCursor(cursor: ReadCursor, dateField: NvdDateField): NvdCursor | null {
  if (!cursor || typeof cursor !== 'object' || cursor.dateField !== dateField || !isIso(cursor.since)) return null;
  const lastModified = isIso(cursor.lastModified) ? new Date(cursor.lastModified).toISOString() : null;
  const boundaryKeys = Array.isArray(cursor.boundaryKeys)
    ? cursor.boundaryKeys.filter((k): k is string => typeof k === 'string').slice(0, MAX_BOUNDARY_KEYS)
    : [];
  let window: NvdCursorWindow | null = null;
  const w = cursor.window as Partial<NvdCursorWindow> | null | undefined;
  if (w && typeof w === 'object' && isIso(w.start) && isIso(w.end) && Number.isInteger(w.startIndex) && w.startIndex! >= 0) {
    const start = new Date(w.start);
    const end = new Date(w.end);
    if (start.getTime() <= end.getTime()) window = { start: start.toISOString(), end: end.toISOString(), startIndex: w.startIndex! };
  }
  return { dateField, since: new Date(cursor.since).toISOString(), lastModified, boundaryKeys, window };
}

/** A window to read, from `startIndex`. */
export interface PlannedWindow extends DateWindow {
  startIndex: number;
}

/**
 * The windows of a read: first the one the cursor stopped in (from its `startIndex`), then
 * ≤120-day windows from there (or from `since`) up to `until`.
 */
export function planWindows(cursor: NvdCursor, until: Date): PlannedWindow[] {
  const out: PlannedWindow[] = [];
  let from = new Date(cursor.since);
  if (cursor.window) {
    const start = new Date(cursor.window.start);
    const end = new Date(cursor.window.end);
    splitDateWindows(start, end, NVD_MAX_RANGE_DAYS).forEach((w, i) => out.push({ ...w, startIndex: i === 0 ? cursor.window!.startIndex : 0 }));
    if (start.getTime() === end.getTime()) out.push({ start, end, startIndex: cursor.window.startIndex });
    from = end;
  }
  if (from.getTime() < until.getTime()) {
    for (const w of splitDateWindows(from, until, NVD_MAX_RANGE_DAYS)) out.push({ ...w, startIndex: 0 });
  }
  return out;
}

/** `<CVE id>|<lastModified>`: one version of one CVE. */
export function dedupeKey(id: string, lastModified: string | null): string {
  return `${id}|${lastModified ?? ''}`;
}

/** Moves `since` forward to `value` (when newer) and keeps the keys delivered at exactly `since`. */
export function advance(cursor: NvdCursor, value: string | null, key: string): void {
  if (value === null) return;
  const t = Date.parse(value);
  const s = Date.parse(cursor.since);
  if (t > s) {
    cursor.since = new Date(t).toISOString();
    cursor.boundaryKeys = [key];
  } else if (t === s && !cursor.boundaryKeys.includes(key) && cursor.boundaryKeys.length < MAX_BOUNDARY_KEYS) {
    cursor.boundaryKeys.push(key);
  }
}
