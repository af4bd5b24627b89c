/**
 * Where CloudTrail puts its log files in the bucket, and the read cursor over them.
 *
 * Layout (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html):
 *
 *     [<prefix>/]AWSLogs/[<o-organization-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/
 *         <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16-character unique string>.json.gz
 *
 * The timestamp in the name is when the file was delivered (UTC, to the minute); a file can hold
 * records of any earlier time. Files of one day prefix sort by delivery minute, then by the
 * meaningless unique string.
 *
 * Cursor: per day prefix, the stamp (`…_<YYYYMMDDTHHmmZ>_`) of the newest file read and the keys
 * read within `settleMinutes` before it. A read lists each day prefix with `StartAfter` = the stamp
 * `settleMinutes` before that position (which sorts before every file of that minute) and skips
 * the keys it already read: a file that becomes visible after a newer one of the same prefix was
 * read (same minute, or up to `settleMinutes` older) is not lost. Per stream (account and region),
 * the cursor keeps the newest day whose listing began; every read lists again the `lookbackDays`
 * days before it, so a file CloudTrail delivers late into an earlier day prefix (after later days
 * were read) is still found. Prefixes older than that window are dropped from the cursor.
 */
import type { ReadCursor } from '../spi.js';
import type { CloudTrailConfig } from './config.js';

export const DAY_MS = 86_400_000;
/** Keys kept per day prefix within the settle window (CloudTrail writes a few files per region every 5 minutes). */
export const MAX_SEEN_KEYS = 2000;

/** `AWSLogs/[o-id/]<account>/CloudTrail/<region>/` under the trail prefix. */
export interface TrailStream {
  account: string;
  region: string;
  organizationId: string | null;
  /** `[<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/` */
  base: string;
}

export function awsLogsRoot(cfg: Pick<CloudTrailConfig, 'prefix'>): string {
  return `${cfg.prefix ? `${cfg.prefix}/` : ''}AWSLogs/`;
}

export function accountRoot(cfg: Pick<CloudTrailConfig, 'prefix'>, account: string, organizationId: string | null): string {
  return `${awsLogsRoot(cfg)}${organizationId ? `${organizationId}/` : ''}${account}/CloudTrail/`;
}

export function streamOf(cfg: Pick<CloudTrailConfig, 'prefix'>, account: string, region: string, organizationId: string | null): TrailStream {
  return { account, region, organizationId, base: `${accountRoot(cfg, account, organizationId)}${region}/` };
}

/** `YYYY-MM-DD` of a UTC day. */
export function dayOf(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return dayOf(new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS));
}

/** Days from `from` to `to`, both included (empty when from > to). */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** `<base>YYYY/MM/DD/` */
export function dayPrefix(stream: TrailStream, day: string): string {
  return `${stream.base}${day.replaceAll('-', '/')}/`;
}

const LOG_FILE = /^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]+)\.json\.gz$/;

export interface LogFileName {
  account: string;
  region: string;
  /** Delivery time, ISO 8601. */
  deliveredAt: string;
  /** The key up to and including `_<stamp>_`: sorts before every file delivered in that minute. */
  stamp: string;
}

/** Parses a log file key; null for anything that is not a CloudTrail log file (digests, markers, folders). */
export function parseLogFileKey(key: string): LogFileName | null {
  const slash = key.lastIndexOf('/');
  const name = key.slice(slash + 1);
  const m = LOG_FILE.exec(name);
  if (!m) return null;
  const [, account, region, ts] = m as unknown as [string, string, string, string];
  const deliveredAt = `${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)}T${ts.slice(9, 11)}:${ts.slice(11, 13)}:00.000Z`;
  if (Number.isNaN(Date.parse(deliveredAt))) return null;
  return { account, region, deliveredAt, stamp: `${key.slice(0, slash + 1)}${account}_CloudTrail_${region}_${ts}_` };
}

/**
 * What the cursor keeps of one day prefix: `stamp`, the newest stamp read (the position), and
 * `seen`, every key read whose stamp is within the settle window before it. Listings start after
 * the stamp `settleMinutes` before the position, so a file that became visible late with a stamp
 * at most that much older than the newest file read is still found, and `seen` tells the ones
 * already read apart.
 */
export interface PrefixPosition {
  stamp: string;
  seen: string[];
}

const STAMP = /^(.*)_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_$/;

/** The stamp `minutes` before `stamp` (same prefix, account and region). */
export function stampBefore(stamp: string, minutes: number): string {
  const m = STAMP.exec(stamp);
  if (!m || minutes <= 0) return stamp;
  const [, head, y, mo, d, h, mi] = m as unknown as [string, string, string, string, string, string, string];
  const t = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi)) - minutes * 60_000).toISOString();
  return `${head}_${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}T${t.slice(11, 13)}${t.slice(14, 16)}Z_`;
}

/**
 * The read position (a {@link ReadCursor}):
 * - `streams`: per stream base (`…/CloudTrail/<region>/`), the newest UTC day whose listing began
 *   (every earlier day of the stream was listed to its end);
 * - `prefixes`: per day prefix, the position in it.
 */
export interface CloudTrailCursor {
  [key: string]: unknown;
  version: 1;
  /** Set by a reset (`cursorFrom`): the first day of streams the cursor has no day for yet. */
  from?: string;
  streams: Record<string, string>;
  prefixes: Record<string, PrefixPosition>;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function emptyCursor(): CloudTrailCursor {
  return { version: 1, streams: {}, prefixes: {} };
}

/** The cursor when it is a well-formed one; otherwise an empty one (the read starts over, deduplicated by eventID). */
export function parseCursor(cursor: ReadCursor): CloudTrailCursor {
  const out = emptyCursor();
  if (!cursor || typeof cursor !== 'object' || cursor.version !== 1) return out;
  if (typeof cursor.from === 'string' && DAY.test(cursor.from)) out.from = cursor.from;
  const streams = cursor.streams && typeof cursor.streams === 'object' ? (cursor.streams as Record<string, unknown>) : {};
  for (const [base, day] of Object.entries(streams)) if (typeof day === 'string' && DAY.test(day)) out.streams[base] = day;
  const prefixes = cursor.prefixes && typeof cursor.prefixes === 'object' ? (cursor.prefixes as Record<string, unknown>) : {};
  for (const [prefix, pos] of Object.entries(prefixes)) {
    const p = pos as Partial<PrefixPosition> | null;
    if (!p || typeof p.stamp !== 'string' || !p.stamp.startsWith(prefix) || !STAMP.test(p.stamp)) continue;
    const seen = Array.isArray(p.seen) ? p.seen.filter((k): k is string => typeof k === 'string' && k.startsWith(prefix)).slice(-MAX_SEEN_KEYS) : [];
    out.prefixes[prefix] = { stamp: p.stamp, seen };
  }
  return out;
}

/** Where the listing of `prefix` starts (`StartAfter`): the stamp `settleMinutes` before its position. */
export function listStart(cursor: CloudTrailCursor, prefix: string, settleMinutes: number): string | undefined {
  const pos = cursor.prefixes[prefix];
  return pos ? stampBefore(pos.stamp, settleMinutes) : undefined;
}

/** Records that `key` (of `file`) was read in `prefix`, and forgets the keys the listing no longer reaches. */
export function markRead(cursor: CloudTrailCursor, prefix: string, key: string, file: LogFileName, settleMinutes: number): void {
  const pos = cursor.prefixes[prefix] ?? { stamp: file.stamp, seen: [] };
  if (file.stamp > pos.stamp) pos.stamp = file.stamp;
  if (!pos.seen.includes(key)) pos.seen.push(key);
  const floor = stampBefore(pos.stamp, settleMinutes);
  pos.seen = pos.seen.filter((k) => k >= floor).sort().slice(-MAX_SEEN_KEYS);
  cursor.prefixes[prefix] = pos;
}

/** Whether `key` was read already: in `seen`, or before the listing start. */
export function alreadyRead(cursor: CloudTrailCursor, prefix: string, key: string, file: LogFileName, settleMinutes: number): boolean {
  const pos = cursor.prefixes[prefix];
  if (!pos) return false;
  if (file.stamp < stampBefore(pos.stamp, settleMinutes)) return true;
  return pos.seen.includes(key);
}

/** Drops the day prefixes of `stream` older than `oldest` (they are no longer listed). */
export function prune(cursor: CloudTrailCursor, stream: TrailStream, oldest: string): void {
  const floor = dayPrefix(stream, oldest);
  for (const prefix of Object.keys(cursor.prefixes)) {
    if (prefix.startsWith(stream.base) && prefix < floor) delete cursor.prefixes[prefix];
  }
}
