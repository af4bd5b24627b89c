/**
 * Date windows and timestamp formats for the NVD CVE API 2.0.
 *
 * - A date-range filter (`lastModStartDate`/`lastModEndDate`, `pubStartDate`/`pubEndDate`) needs
 *   both ends and may span at most 120 consecutive days, so longer ranges are split.
 * - Parameters are "extended ISO-8601": `[YYYY]-[MM]-[DD]T[HH]:[MM]:[SS][Z]`, the docs' examples
 *   carrying milliseconds (`2021-08-04T13:00:00.000%2B01:00`). Since July 2025 NVD rejects values
 *   without an offset-from-UTC (404, header `message: Invalid ISO 8601 date/time format, see
 *   documentation.`), although the docs still call it optional. We send UTC with milliseconds and
 *   `Z` — `Date.prototype.toISOString()`, e.g. `2024-01-01T00:00:00.000Z` — which carries the offset
 *   and has no `+` that an unwary client could leave unencoded (a raw `+` decodes to a space).
 * - NVD's response timestamps (`published`, `lastModified`, `timestamp`) have no zone and are UTC.
 */

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface DateWindow {
  start: Date;
  end: Date;
}

function assertValidDate(d: Date, name: string): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new RangeError(`${name} is not a valid Date`);
}

/**
 * Splits [start, end] into contiguous windows of at most `maxDays` days each: the first starts at
 * `start`, each next one starts exactly where the previous ended, the last ends at `end`.
 *
 * Windows share their boundary instant (window i's `end` equals window i+1's `start`) rather than
 * leaving a 1 ms gap: NVD's filters include both ends, so a record modified exactly at a boundary
 * can come back in two windows (harmless, records are keyed by CVE id), but none can fall between.
 * `start === end` gives no window; `start > end` throws.
 */
export function splitDateWindows(start: Date, end: Date, maxDays = 120): DateWindow[] {
  assertValidDate(start, 'start');
  assertValidDate(end, 'end');
  if (!Number.isFinite(maxDays) || maxDays <= 0) throw new RangeError(`maxDays must be a positive number, got ${maxDays}`);
  const startMs = start.getTime();
  const endMs = end.getTime();
  if (startMs > endMs) throw new RangeError('start is after end');
  const maxMs = Math.floor(maxDays * DAY_MS);
  if (maxMs < 1) throw new RangeError(`maxDays is too small: ${maxDays}`);
  const windows: DateWindow[] = [];
  for (let from = startMs; from < endMs; from += maxMs) {
    windows.push({ start: new Date(from), end: new Date(Math.min(from + maxMs, endMs)) });
  }
  return windows;
}

/** The form we send NVD for date parameters: UTC, milliseconds, `Z` (`2024-01-01T00:00:00.000Z`). */
export function formatNvdDate(d: Date): string {
  assertValidDate(d, 'date');
  return d.toISOString();
}

const NVD_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Parses an NVD timestamp. Without a zone (how NVD writes them) it is taken as UTC; with `Z` or
 * `±HH:MM` the offset is honoured. Returns null for anything else, including impossible dates
 * (`2024-02-30T00:00:00`).
 */
export function parseNvdTimestamp(value: string | null | undefined): Date | null {
  if (typeof value !== 'string') return null;
  const m = NVD_TIMESTAMP.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '00', frac = '', zone = 'Z'] = m;
  const ms = Number((frac + '000').slice(0, 3));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi) ||
    check.getUTCSeconds() !== Number(s)
  ) {
    return null;
  }
  let offsetMin = 0;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
    if (oh > 23 || om > 59) return null;
    offsetMin = sign * (oh * 60 + om);
  }
  return new Date(utc - offsetMin * 60_000);
}

/** NVD timestamp → ISO 8601 UTC with `Z` (`2024-01-02T15:15:08.123Z`), or null if unparsable. */
export function nvdTimestampToIso(value: string | null | undefined): string | null {
  const d = parseNvdTimestamp(value);
  return d ? d.toISOString() : null;
}
