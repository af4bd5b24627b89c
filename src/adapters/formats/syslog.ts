/**
 * Syslog framing for CEF and LEEF lines, plus the pieces both parsers share: the line limit, the
 * result type and the timestamp grammar (a small, explicit subset of Java SimpleDateFormat, the
 * patterns QRadar and ArcSight use). Everything here is pure: no I/O, no globals mutated apart
 * from a bounded cache of compiled date patterns. The only clock read is the default `now` used
 * to infer the year of year-less timestamps (`MMM dd HH:mm:ss`); pass `options.now` to pin it.
 *
 * See docs/normalization.md for the rules in prose.
 */
import type { EventRecord } from '../records.js';

// ---------------------------------------------------------------------------------------------
// Shared types and limits
// ---------------------------------------------------------------------------------------------

export type ParseResult = { ok: true; record: EventRecord } | { ok: false; error: string };

export interface ParseOptions {
  /**
   * Reference time for year-less timestamps (RFC 3164 headers, CEF `rt` as `MMM dd HH:mm:ss`,
   * LEEF patterns without `y`). Default: the current time.
   */
  now?: Date;
}

/** Longest accepted line, in UTF-8 bytes (64 KiB). Longer lines are rejected, not truncated. */
export const MAX_LINE_BYTES = 64 * 1024;

/** UTF-8 length of a string without allocating (lone surrogates count as 3 bytes, like U+FFFD). */
export function utf8Length(s: string): number {
  let bytes = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Error message when the line is over {@link MAX_LINE_BYTES}, else null. */
export function checkLineLength(line: string): string | null {
  // A UTF-16 code unit is at least one UTF-8 byte and at most three.
  if (line.length <= MAX_LINE_BYTES / 3) return null;
  const bytes = line.length > MAX_LINE_BYTES ? line.length : utf8Length(line);
  if (bytes <= MAX_LINE_BYTES) return null;
  const shown = line.length > MAX_LINE_BYTES ? `more than ${MAX_LINE_BYTES}` : String(bytes);
  return `line is ${shown} bytes long; the limit is ${MAX_LINE_BYTES} bytes (64 KiB)`;
}

/** Drops trailing CR/LF (a line read with its terminator). Nothing else is trimmed. */
export function trimLineEnd(line: string): string {
  let end = line.length;
  while (end > 0) {
    const c = line.charCodeAt(end - 1);
    if (c !== 10 && c !== 13) break;
    end--;
  }
  return end === line.length ? line : line.slice(0, end);
}

/** A short, printable excerpt of input for error messages. */
export function excerpt(s: string, max = 40): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

// ---------------------------------------------------------------------------------------------
// Date patterns (Java SimpleDateFormat subset)
// ---------------------------------------------------------------------------------------------

type DateToken =
  | { kind: 'literal'; text: string }
  | { kind: 'space' }
  | { kind: 'field'; letter: string; count: number; fixed: boolean };

export interface DatePattern {
  source: string;
  tokens: DateToken[];
}

export type CompileResult = { ok: true; pattern: DatePattern } | { ok: false; error: string };

/**
 * Letters understood, with Java's meaning: y/Y/u year (yy = two-digit year, 2000–2069 or
 * 1970–1999), M/L month (MMM+ = English name), d day, H 0–23, k 1–24, K 0–11, h 1–12, a AM/PM,
 * m minute, s second, S fraction of a second (any number of digits, read as a decimal fraction),
 * E weekday name (read and ignored), z/Z/X time zone (`Z`, `±hh`, `±hhmm`, `±hh:mm`, `UTC`, `GMT`,
 * `GMT±hh:mm`, and the abbreviations in {@link ZONE_ABBREVIATIONS}). `'…'` quotes a literal and
 * `''` is a single quote. A space in the pattern matches one or more spaces. Any other letter is
 * rejected rather than guessed.
 */
const DATE_LETTERS = new Set(['y', 'Y', 'u', 'M', 'L', 'd', 'H', 'k', 'K', 'h', 'a', 'm', 's', 'S', 'E', 'z', 'Z', 'X']);
const NUMERIC_LETTERS = new Set(['y', 'Y', 'u', 'd', 'H', 'k', 'K', 'h', 'm', 's', 'S']);

function isNumericToken(t: DateToken | undefined): boolean {
  if (!t || t.kind !== 'field') return false;
  if (t.letter === 'M' || t.letter === 'L') return t.count <= 2;
  return NUMERIC_LETTERS.has(t.letter);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function compileDatePattern(source: string): CompileResult {
  const tokens: DateToken[] = [];
  const n = source.length;
  if (n === 0) return { ok: false, error: 'date pattern is empty' };
  if (n > 100) return { ok: false, error: `date pattern '${excerpt(source)}' is longer than 100 characters` };
  let literal = '';
  const flush = () => {
    if (literal !== '') tokens.push({ kind: 'literal', text: literal });
    literal = '';
  };
  let i = 0;
  while (i < n) {
    const ch = source[i]!;
    const c = source.charCodeAt(i);
    if (ch === "'") {
      if (source[i + 1] === "'") {
        literal += "'";
        i += 2;
        continue;
      }
      const close = source.indexOf("'", i + 1);
      if (close === -1) return { ok: false, error: `date pattern '${excerpt(source)}' has an unterminated quote` };
      // Inside quotes '' is also a single quote.
      let j = i + 1;
      let end = close;
      for (;;) {
        literal += source.slice(j, end);
        if (source[end + 1] === "'") {
          literal += "'";
          j = end + 2;
          end = source.indexOf("'", j);
          if (end === -1) return { ok: false, error: `date pattern '${excerpt(source)}' has an unterminated quote` };
        } else break;
      }
      i = end + 1;
      continue;
    }
    if (ch === ' ') {
      flush();
      if (tokens[tokens.length - 1]?.kind !== 'space') tokens.push({ kind: 'space' });
      i++;
      continue;
    }
    if (isAsciiLetter(c)) {
      if (!DATE_LETTERS.has(ch)) {
        return { ok: false, error: `date pattern letter '${ch}' in '${excerpt(source)}' is not supported` };
      }
      flush();
      let j = i + 1;
      while (j < n && source[j] === ch) j++;
      tokens.push({ kind: 'field', letter: ch, count: j - i, fixed: false });
      i = j;
      continue;
    }
    literal += ch;
    i++;
  }
  flush();
  // Adjacent numeric fields (yyyyMMdd) are read with their exact width, like Java does.
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === 'field' && isNumericToken(t) && isNumericToken(tokens[k + 1])) t.fixed = true;
  }
  if (!tokens.some((t) => t.kind === 'field' && (t.letter === 'M' || t.letter === 'L'))) {
    return { ok: false, error: `date pattern '${excerpt(source)}' has no month (M)` };
  }
  if (!tokens.some((t) => t.kind === 'field' && t.letter === 'd')) {
    return { ok: false, error: `date pattern '${excerpt(source)}' has no day of month (d)` };
  }
  return { ok: true, pattern: { source, tokens } };
}

const patternCache = new Map<string, CompileResult>();
const PATTERN_CACHE_LIMIT = 128;

/** {@link compileDatePattern}, memoized (bounded; LEEF repeats devTimeFormat on every line). */
export function compileDatePatternCached(source: string): CompileResult {
  let hit = patternCache.get(source);
  if (hit) return hit;
  hit = compileDatePattern(source);
  if (patternCache.size >= PATTERN_CACHE_LIMIT) patternCache.clear();
  patternCache.set(source, hit);
  return hit;
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** Time-zone abbreviations accepted (minutes east of UTC). Ambiguous ones (IST, CST in Asia) resolve to the listed meaning. */
export const ZONE_ABBREVIATIONS: Readonly<Record<string, number>> = {
  UTC: 0, UT: 0, GMT: 0, Z: 0, WET: 0, WEST: 60, BST: 60, CET: 60, CEST: 120, MET: 60, MEST: 120,
  EET: 120, EEST: 180, MSK: 180, IST: 330, SGT: 480, HKT: 480, JST: 540, KST: 540,
  AEST: 600, AEDT: 660, ACST: 570, AWST: 480, NZST: 720, NZDT: 780,
  EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420,
  AKST: -540, AKDT: -480, HST: -600, AST: -240, ADT: -180, NST: -210, NDT: -150,
};

function readDigits(s: string, i: number, min: number, max: number): { value: number; end: number; digits: number } | null {
  let j = i;
  let value = 0;
  while (j < s.length && j - i < max) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
    j++;
  }
  if (j - i < min) return null;
  return { value, end: j, digits: j - i };
}

/** Reads a numeric offset `±hh`, `±hhmm`, `±hh:mm` at i. */
function readOffset(s: string, i: number): { minutes: number; end: number } | null {
  const sign = s[i];
  if (sign !== '+' && sign !== '-') return null;
  const hh = readDigits(s, i + 1, 1, 2);
  if (!hh) return null;
  let end = hh.end;
  let mm = 0;
  if (s[end] === ':') {
    const m = readDigits(s, end + 1, 2, 2);
    if (!m) return null;
    mm = m.value;
    end = m.end;
  } else if (hh.digits === 2) {
    const m = readDigits(s, end, 2, 2);
    if (m) {
      mm = m.value;
      end = m.end;
    }
  }
  if (hh.value > 18 || mm > 59) return null;
  const minutes = hh.value * 60 + mm;
  return { minutes: sign === '-' ? -minutes : minutes, end };
}

/** Reads a time zone at i: `Z`, numeric offset, `UTC`/`GMT` with optional offset, or an abbreviation. */
function readZone(s: string, i: number): { minutes: number; end: number } | null {
  const off = readOffset(s, i);
  if (off) return off;
  let j = i;
  while (j < s.length && isAsciiLetter(s.charCodeAt(j))) j++;
  if (j === i) return null;
  const word = s.slice(i, j).toUpperCase();
  const base = ZONE_ABBREVIATIONS[word];
  if (base === undefined) return null;
  if (word === 'UTC' || word === 'GMT' || word === 'UT') {
    const extra = readOffset(s, j);
    if (extra) return { minutes: extra.minutes, end: extra.end };
  }
  return { minutes: base, end: j };
}

interface DateParts {
  year: number | null;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millis: number;
  offset: number | null;
}

function matchPattern(p: DatePattern, s: string): DateParts | null {
  const parts: DateParts = { year: null, month: 0, day: 0, hour: 0, minute: 0, second: 0, millis: 0, offset: null };
  let pm: boolean | null = null;
  let hourLetter = 'H';
  let i = 0;
  const n = s.length;
  for (const t of p.tokens) {
    if (t.kind === 'space') {
      if (s.charCodeAt(i) !== 32) return null;
      while (i < n && s.charCodeAt(i) === 32) i++;
      continue;
    }
    if (t.kind === 'literal') {
      if (!s.startsWith(t.text, i)) return null;
      i += t.text.length;
      continue;
    }
    const { letter, count, fixed } = t;
    switch (letter) {
      case 'M':
      case 'L': {
        if (count >= 3) {
          let j = i;
          while (j < n && isAsciiLetter(s.charCodeAt(j))) j++;
          const word = s.slice(i, j).toLowerCase();
          let month = 0;
          if (word.length >= 3) {
            for (let m = 0; m < 12; m++) {
              const full = MONTHS[m]!;
              if (word === full || word === full.slice(0, 3) || (word === 'sept' && m === 8)) {
                month = m + 1;
                break;
              }
            }
          }
          if (month === 0) return null;
          parts.month = month;
          i = j;
        } else {
          const d = readDigits(s, i, fixed ? count : 1, fixed ? count : 2);
          if (!d) return null;
          parts.month = d.value;
          i = d.end;
        }
        break;
      }
      case 'E': {
        let j = i;
        while (j < n && isAsciiLetter(s.charCodeAt(j))) j++;
        if (j - i < 2) return null;
        i = j;
        break;
      }
      case 'a': {
        const word = s.slice(i, i + 2).toUpperCase();
        if (word === 'AM') pm = false;
        else if (word === 'PM') pm = true;
        else return null;
        i += 2;
        break;
      }
      case 'z':
      case 'Z':
      case 'X': {
        const z = readZone(s, i);
        if (!z) return null;
        parts.offset = z.minutes;
        i = z.end;
        break;
      }
      case 'S': {
        const d = readDigits(s, i, fixed ? count : 1, fixed ? count : 9);
        if (!d) return null;
        const text = s.slice(i, d.end);
        parts.millis = Number((text + '00').slice(0, 3));
        i = d.end;
        break;
      }
      default: {
        const isYear = letter === 'y' || letter === 'Y' || letter === 'u';
        const max = isYear ? 4 : 2;
        const d = readDigits(s, i, fixed ? count : 1, fixed ? count : max);
        if (!d) return null;
        i = d.end;
        if (isYear) {
          parts.year = count === 2 && d.digits === 2 ? (d.value < 70 ? 2000 + d.value : 1900 + d.value) : d.value;
        } else if (letter === 'd') parts.day = d.value;
        else if (letter === 'm') parts.minute = d.value;
        else if (letter === 's') parts.second = d.value;
        else {
          parts.hour = d.value;
          hourLetter = letter;
        }
      }
    }
  }
  if (i !== n) return null;
  // Hours: H 0–23, k 1–24, K 0–11 (+12 PM), h 1–12 (12 AM = 0).
  let h = parts.hour;
  switch (hourLetter) {
    case 'k':
      if (h < 1 || h > 24) return null;
      h = h % 24;
      break;
    case 'K':
      if (h > 11) return null;
      if (pm) h += 12;
      break;
    case 'h':
      if (h < 1 || h > 12) return null;
      h = (h % 12) + (pm ? 12 : 0);
      break;
    default:
      if (h > 23) return null;
      if (pm && h < 12) h += 12;
  }
  parts.hour = h;
  if (parts.month < 1 || parts.month > 12 || parts.day < 1 || parts.day > 31) return null;
  if (parts.minute > 59 || parts.second > 59) return null;
  return parts;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function epochOf(parts: DateParts, year: number): number | null {
  if (year < 0 || year > 9999 || parts.day > daysInMonth(year, parts.month)) return null;
  let ms: number;
  if (year >= 100) ms = Date.UTC(year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second, parts.millis);
  else {
    // Date.UTC maps years 0–99 to 1900–1999.
    const d = new Date(0);
    d.setUTCFullYear(year, parts.month - 1, parts.day);
    d.setUTCHours(parts.hour, parts.minute, parts.second, parts.millis);
    ms = d.getTime();
  }
  return ms - (parts.offset ?? 0) * 60_000;
}

/** How far in the future a year-less timestamp may be before it is taken to be last year's. */
const FUTURE_TOLERANCE_MS = 2 * 24 * 3600 * 1000;

function toIso(parts: DateParts, now: Date | undefined): string | null {
  let ms: number | null;
  if (parts.year !== null) ms = epochOf(parts, parts.year);
  else {
    // No year: the latest of next/this/last year that is not more than two days ahead of now.
    const ref = (now ?? new Date()).getTime();
    const y0 = new Date(ref).getUTCFullYear();
    ms = null;
    for (const y of [y0 + 1, y0, y0 - 1]) {
      const candidate = epochOf(parts, y);
      if (candidate !== null && candidate <= ref + FUTURE_TOLERANCE_MS) {
        ms = candidate;
        break;
      }
    }
  }
  if (ms === null || !Number.isFinite(ms)) return null;
  const date = new Date(ms);
  const y = date.getUTCFullYear();
  if (y < 0 || y > 9999) return null;
  return date.toISOString();
}

/** Parses `value` with a compiled pattern; ISO 8601 (UTC) or null when it does not match. No zone means UTC. */
export function parseWithPattern(pattern: DatePattern, value: string, options: ParseOptions = {}): string | null {
  const parts = matchPattern(pattern, value.trim());
  return parts ? toIso(parts, options.now) : null;
}

/** Epoch milliseconds (1–15 digits, optional minus sign) to ISO 8601, else null. */
export function epochMillisToIso(value: string): string | null {
  let a = 0;
  let b = value.length;
  while (a < b && value.charCodeAt(a) === 32) a++;
  while (b > a && value.charCodeAt(b - 1) === 32) b--;
  const neg = a < b && value.charCodeAt(a) === 45;
  const digitsFrom = neg ? a + 1 : a;
  if (b - digitsFrom < 1 || b - digitsFrom > 15) return null;
  let ms = 0;
  for (let i = digitsFrom; i < b; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    ms = ms * 10 + (c - 48);
  }
  if (ms > 253402300799999) return null; // beyond 9999-12-31
  const d = new Date(neg ? -ms : ms);
  return d.getUTCFullYear() < 0 ? null : d.toISOString();
}

/** The CEF date formats (CEF Implementation Standard, "Date Formats"), tried in this order. */
export const CEF_DATE_PATTERNS: readonly string[] = [
  'MMM dd yyyy HH:mm:ss',
  'MMM dd HH:mm:ss',
  'MMM dd yyyy HH:mm:ss.SSS',
  'MMM dd yyyy HH:mm:ss zzz',
  'MMM dd yyyy HH:mm:ss.SSS zzz',
  'MMM dd HH:mm:ss.SSS',
  'MMM dd HH:mm:ss zzz',
  'MMM dd HH:mm:ss.SSS zzz',
];

/** ISO 8601 / RFC 3339 shapes accepted wherever a free-form timestamp is expected. */
export const ISO_DATE_PATTERNS: readonly string[] = [
  "yyyy-MM-dd'T'HH:mm:ssX",
  "yyyy-MM-dd'T'HH:mm:ss.SX",
  "yyyy-MM-dd'T'HH:mm:ss",
  "yyyy-MM-dd'T'HH:mm:ss.S",
  'yyyy-MM-dd HH:mm:ssX',
  'yyyy-MM-dd HH:mm:ss.SX',
  'yyyy-MM-dd HH:mm:ss',
  'yyyy-MM-dd HH:mm:ss.S',
];

function compileAll(list: readonly string[]): DatePattern[] {
  return list.map((p) => {
    const r = compileDatePattern(p);
    if (!r.ok) throw new Error(r.error); // programming error in the constant lists
    return r.pattern;
  });
}

const CEF_PATTERNS = compileAll(CEF_DATE_PATTERNS);
const ISO_PATTERNS = compileAll(ISO_DATE_PATTERNS);

/** An RFC 3339 / ISO 8601 timestamp (`T` or space, optional fraction and zone; no zone = UTC). */
export function parseIsoTimestamp(value: string, options: ParseOptions = {}): string | null {
  const v = value.trim();
  for (const p of ISO_PATTERNS) {
    const parts = matchPattern(p, v);
    if (parts) return toIso(parts, options.now);
  }
  return null;
}

/**
 * A CEF `rt`/`end`-style timestamp, or LEEF `devTime` without `devTimeFormat`: epoch
 * milliseconds, one of {@link CEF_DATE_PATTERNS}, or ISO 8601. Null when none applies.
 */
export function parseEventTimestamp(value: string, options: ParseOptions = {}): string | null {
  const v = value.trim();
  if (v === '') return null;
  const c = v.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 45) {
    const epoch = epochMillisToIso(v);
    if (epoch !== null) return epoch;
    return parseIsoTimestamp(v, options);
  }
  for (const p of CEF_PATTERNS) {
    const parts = matchPattern(p, v);
    if (parts) return toIso(parts, options.now);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Syslog prefixes
// ---------------------------------------------------------------------------------------------

export interface SyslogHeader {
  /** `rfc5424`, `rfc3164`, or `pri` when only `<PRI>` precedes the payload. */
  format: 'rfc3164' | 'rfc5424' | 'pri';
  priority: number | null;
  facility: number | null;
  /** Syslog severity 0 (emergency) – 7 (debug); unrelated to the event's 0–10 severity. */
  severity: number | null;
  /** ISO 8601 (UTC) or null (RFC 5424 `-`, or no timestamp). */
  timestamp: string | null;
  host: string | null;
  /** RFC 5424 APP-NAME, or the RFC 3164 tag (`app[pid]:`) without its colon. */
  appName: string | null;
  procId: string | null;
  msgId: string | null;
  /** RFC 5424 STRUCTURED-DATA as written (null for `-`). */
  structuredData: string | null;
}

export type SyslogStripResult =
  | { ok: true; header: SyslogHeader | null; body: string }
  | { ok: false; error: string };

function startsWithPayload(s: string, i: number): boolean {
  return s.startsWith('CEF:', i) || s.startsWith('LEEF:', i);
}

function monthAt(s: string, i: number): boolean {
  if (i + 3 >= s.length || s.charCodeAt(i + 3) !== 32) return false;
  const word = s.slice(i, i + 3).toLowerCase();
  return MONTHS.some((m) => m.startsWith(word));
}

/** Index of the next space at or after i, or s.length. */
function nextSpace(s: string, i: number): number {
  const j = s.indexOf(' ', i);
  return j === -1 ? s.length : j;
}

function emptyHeader(format: SyslogHeader['format'], priority: number | null): SyslogHeader {
  return {
    format,
    priority,
    facility: priority === null ? null : priority >> 3,
    severity: priority === null ? null : priority & 7,
    timestamp: null,
    host: null,
    appName: null,
    procId: null,
    msgId: null,
    structuredData: null,
  };
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/**
 * Removes an optional syslog header in front of `CEF:`/`LEEF:` and returns what it said.
 *
 * - `<PRI>` alone (`<134>CEF:0|…`);
 * - RFC 3164: `[<PRI>]Mmm dd [yyyy ]hh:mm:ss[.fff] [host ][tag: ]` — no year means the year is
 *   inferred (see {@link ParseOptions.now}), no zone means UTC;
 * - RFC 5424: `<PRI>1 TIMESTAMP HOST APP-NAME PROCID MSGID SD [BOM]`, where `-` is nil and SD is `-`
 *   or one or more `[id k="v"]` elements. QRadar's short form `<PRI>1 TIMESTAMP HOST CEF:…` is also
 *   accepted: the header stops wherever `CEF:`/`LEEF:` begins.
 *
 * A line that starts with neither `<` nor a month name is returned unchanged with `header: null`.
 * A `<…>` or month-name start that is not a valid header is an error (never silently skipped).
 */
export function stripSyslogPrefix(line: string, options: ParseOptions = {}): SyslogStripResult {
  if (startsWithPayload(line, 0)) return { ok: true, header: null, body: line };
  let i = 0;
  let priority: number | null = null;
  if (line.charCodeAt(0) === 60 /* < */) {
    const d = readDigits(line, 1, 1, 3);
    if (!d || line[d.end] !== '>') {
      return { ok: false, error: `syslog priority must be 1–3 digits in angle brackets, found '${excerpt(line, 8)}'` };
    }
    if (d.value > 191) return { ok: false, error: `syslog priority <${d.value}> is out of range 0–191` };
    priority = d.value;
    i = d.end + 1;
    if (startsWithPayload(line, i)) return { ok: true, header: emptyHeader('pri', priority), body: line.slice(i) };
    const v = readDigits(line, i, 1, 2);
    if (v && line[v.end] === ' ') {
      if (v.value !== 1) return { ok: false, error: `syslog version ${v.value} is not supported (RFC 5424 defines version 1)` };
      return parse5424(line, v.end + 1, priority, options);
    }
    if (monthAt(line, i)) return parse3164(line, i, priority, options);
    return {
      ok: false,
      error: `syslog header after <${priority}> is neither RFC 3164 ('Mmm dd hh:mm:ss host') nor RFC 5424 ('1 TIMESTAMP HOST …'): '${excerpt(line.slice(i))}'`,
    };
  }
  if (monthAt(line, 0)) {
    const c = line.charCodeAt(4);
    // "Jan 18 …" / "Jan  8 …": only then is this an RFC 3164 header without PRI.
    if (c === 32 || (c >= 48 && c <= 57)) return parse3164(line, 0, null, options);
  }
  return { ok: true, header: null, body: line };
}

function parse3164(line: string, start: number, priority: number | null, options: ParseOptions): SyslogStripResult {
  const header = emptyHeader('rfc3164', priority);
  let i = start;
  const month = line.slice(i, i + 3);
  i += 3;
  while (line.charCodeAt(i) === 32) i++;
  const dayEnd = nextSpace(line, i);
  const day = line.slice(i, dayEnd);
  i = dayEnd;
  while (line.charCodeAt(i) === 32) i++;
  let yearPart = '';
  const maybeYear = readDigits(line, i, 4, 4);
  if (maybeYear && line[maybeYear.end] === ' ') {
    yearPart = ` ${line.slice(i, maybeYear.end)}`;
    i = maybeYear.end + 1;
  }
  const timeEnd = nextSpace(line, i);
  const time = line.slice(i, timeEnd);
  const stamp = `${month} ${day}${yearPart} ${time}`;
  const iso = /^\d{1,2}$/.test(day) && time.includes(':') ? parseEventTimestamp(stamp, options) : null;
  if (iso === null) return { ok: false, error: `RFC 3164 timestamp '${excerpt(stamp)}' is not 'Mmm dd hh:mm:ss'` };
  header.timestamp = iso;
  i = timeEnd;
  if (i < line.length) i++; // the space after the time
  if (i < line.length && !startsWithPayload(line, i)) {
    const hostEnd = nextSpace(line, i);
    header.host = line.slice(i, hostEnd);
    i = Math.min(hostEnd + 1, line.length);
    if (i < line.length && !startsWithPayload(line, i)) {
      const tagEnd = nextSpace(line, i);
      const tag = line.slice(i, tagEnd);
      const m = /^([A-Za-z0-9_./-]{1,48})(?:\[([^\]\s]{1,32})\])?:$/.exec(tag);
      if (m) {
        header.appName = m[1]!;
        header.procId = m[2] ?? null;
        i = Math.min(tagEnd + 1, line.length);
      }
    }
  }
  return { ok: true, header, body: line.slice(i) };
}

function nil(s: string): string | null {
  return s === '-' ? null : s;
}

function parse5424(line: string, start: number, priority: number, options: ParseOptions): SyslogStripResult {
  const header = emptyHeader('rfc5424', priority);
  let i = start;
  const n = line.length;
  // TIMESTAMP HOST APP-NAME PROCID MSGID, each followed by one space; stop early at CEF:/LEEF:.
  const names = ['timestamp', 'host', 'appName', 'procId', 'msgId'] as const;
  for (const name of names) {
    if (i >= n) return { ok: true, header, body: '' };
    if (name !== 'timestamp' && startsWithPayload(line, i)) return { ok: true, header, body: line.slice(i) };
    const end = nextSpace(line, i);
    const token = line.slice(i, end);
    if (token === '') return { ok: false, error: `RFC 5424 header has an empty ${name} field (two spaces in a row)` };
    if (name === 'timestamp') {
      if (token !== '-') {
        const iso = parseIsoTimestamp(token, options);
        if (iso === null) return { ok: false, error: `RFC 5424 timestamp '${excerpt(token)}' is not RFC 3339` };
        header.timestamp = iso;
      }
    } else header[name] = nil(token);
    i = Math.min(end + 1, n);
  }
  if (i >= n) return { ok: true, header, body: '' };
  if (startsWithPayload(line, i)) return { ok: true, header, body: line.slice(i) };
  // STRUCTURED-DATA: "-" or [id param="value" …]… with \" \\ \] escapes inside values.
  if (line[i] === '-') {
    i++;
  } else if (line[i] === '[') {
    const sdStart = i;
    while (i < n && line[i] === '[') {
      let inQuotes = false;
      i++;
      let closed = false;
      while (i < n) {
        const c = line.charCodeAt(i);
        if (inQuotes) {
          if (c === 92) i += 2;
          else {
            if (c === 34) inQuotes = false;
            i++;
          }
          continue;
        }
        if (c === 34) inQuotes = true;
        else if (c === 93) {
          closed = true;
          i++;
          break;
        }
        i++;
      }
      if (!closed) return { ok: false, error: 'RFC 5424 structured data is not terminated by \']\'' };
    }
    header.structuredData = line.slice(sdStart, i);
  } else {
    return { ok: false, error: `RFC 5424 structured data must be '-' or '[…]', found '${excerpt(line.slice(i))}'` };
  }
  if (i < n) {
    if (line[i] !== ' ') return { ok: false, error: `RFC 5424 structured data must be followed by a space, found '${excerpt(line.slice(i))}'` };
    i++;
  }
  return { ok: true, header, body: stripBom(line.slice(i)) };
}

/**
 * The common start of CEF and LEEF parsing: a string within the length limit, an optional syslog
 * header, then `prefix` (`CEF:` or `LEEF:`). Returns the body from the prefix on.
 */
export function openLine(
  line: unknown,
  prefix: 'CEF:' | 'LEEF:',
  options: ParseOptions,
): { ok: true; syslog: SyslogHeader | null; body: string } | { ok: false; error: string } {
  if (typeof line !== 'string') return { ok: false, error: 'line is not a string' };
  const tooLong = checkLineLength(line);
  if (tooLong) return { ok: false, error: tooLong };
  const stripped = stripSyslogPrefix(trimLineEnd(line), options);
  if (!stripped.ok) return stripped;
  const { header: syslog, body } = stripped;
  if (!body.startsWith(prefix)) {
    const where = syslog ? 'after the syslog header' : 'at the start of the line';
    return { ok: false, error: `expected '${prefix}' ${where}, found '${excerpt(body)}'` };
  }
  return { ok: true, syslog, body };
}
