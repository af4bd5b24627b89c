/**
 * ArcSight Common Event Format (CEF) → normalized `event` record.
 *
 *   [syslog header ]CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
 *
 * Linear in the line length whatever it contains: separators are found with the native
 * `indexOf`, every backward look is bounded by the previous separator, and no regular expression
 * ever runs on the line itself. The mapping is documented in docs/normalization.md.
 */
import type { EventRecord } from '../records.js';
import {
  excerpt,
  parseEventTimestamp,
  openLine,
  type ParseOptions,
  type ParseResult,
} from './syslog.js';

export type { ParseOptions, ParseResult } from './syslog.js';

// ---------------------------------------------------------------------------------------------
// Pipe-delimited headers (shared with LEEF)
// ---------------------------------------------------------------------------------------------

export interface PipeHeaderScan {
  /** Decoded fields that were terminated by an unescaped `|`. */
  fields: string[];
  /** The decoded text after the last `|` when fewer than `want` fields were found, else null. */
  pending: string | null;
  /** Index just past the last consumed `|`. */
  end: number;
}

function decodeHeaderEscape(c: number): string | null {
  switch (c) {
    case 124:
      return '|';
    case 92:
      return '\\';
    case 110:
      return '\n';
    case 114:
      return '\r';
    case 61:
      return '=';
    default:
      return null;
  }
}

/**
 * Splits up to `want` `|`-terminated header fields starting at `start` (an odd run of
 * backslashes before a `|` escapes it). Escapes: `\|` and `\\`
 * (the CEF standard), plus `\n`, `\r` and `\=` (tolerated); any other backslash is kept as is.
 */
export function scanPipeHeader(s: string, start: number, want: number): PipeHeaderScan {
  const fields: string[] = [];
  let seg = start;
  let search = start;
  while (fields.length < want) {
    const p = s.indexOf('|', search);
    if (p === -1) return { fields, pending: decodeHeaderField(s, seg, s.length), end: s.length };
    // An odd run of backslashes right before the pipe escapes it.
    let b = p - 1;
    while (b >= seg && s.charCodeAt(b) === 92) b--;
    if ((p - 1 - b) % 2 === 1) {
      search = p + 1;
      continue;
    }
    fields.push(decodeHeaderField(s, seg, p));
    seg = search = p + 1;
  }
  return { fields, pending: null, end: seg };
}

function decodeHeaderField(s: string, from: number, to: number): string {
  const first = s.indexOf('\\', from);
  if (first === -1 || first >= to) return s.slice(from, to);
  let out = '';
  let seg = from;
  for (let i = first; i < to; i++) {
    if (s.charCodeAt(i) !== 92 || i + 1 >= to) continue;
    const rep = decodeHeaderEscape(s.charCodeAt(i + 1));
    if (rep === null) continue; // unknown escape: the backslash stays
    out += s.slice(seg, i) + rep;
    i++;
    seg = i + 1;
  }
  return out + s.slice(seg, to);
}

/** Backslash-escapes `\`, CR, LF and one format-specific character (char code `special`). */
function escapeWith(value: string, special: number, escaped: string): string {
  let out = '';
  let seg = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let rep: string | null = null;
    if (c === 92) rep = '\\\\';
    else if (c === special) rep = escaped;
    else if (c === 10) rep = '\\n';
    else if (c === 13) rep = '\\r';
    if (rep !== null) {
      out += value.slice(seg, i) + rep;
      seg = i + 1;
    }
  }
  return seg === 0 ? value : out + value.slice(seg);
}

/** Escapes a CEF (or LEEF) header field: `\` → `\\`, `|` → `\|`, CR/LF → `\r`/`\n`. */
export function escapeCefHeader(value: string): string {
  return escapeWith(value, 124, '\\|');
}

/** Escapes a CEF extension value: `\` → `\\`, `=` → `\=`, LF → `\n`, CR → `\r`. */
export function escapeCefExtensionValue(value: string): string {
  return escapeWith(value, 61, '\\=');
}

// ---------------------------------------------------------------------------------------------
// Severity
// ---------------------------------------------------------------------------------------------

/**
 * Textual CEF severities → 0–10: each word maps to the top of its ArcSight band
 * (Low 0–3, Medium 4–6, High 7–8, Very-High 9–10). `Unknown` → null.
 */
export const CEF_SEVERITY_WORDS: Readonly<Record<string, number | null>> = {
  low: 3,
  medium: 6,
  high: 8,
  'very-high': 10,
  'very high': 10,
  veryhigh: 10,
  unknown: null,
};

export type SeverityResult = { ok: true; value: number | null } | { ok: false; error: string };

export function parseCefSeverity(raw: string): SeverityResult {
  const s = raw.trim();
  if (s === '') return { ok: false, error: 'CEF severity is empty (expected 0–10 or Low/Medium/High/Very-High/Unknown)' };
  if (s.length <= 2 && /^\d+$/.test(s)) {
    const v = Number(s);
    if (v <= 10) return { ok: true, value: v };
  }
  const word = s.toLowerCase();
  if (Object.prototype.hasOwnProperty.call(CEF_SEVERITY_WORDS, word)) {
    return { ok: true, value: CEF_SEVERITY_WORDS[word]! };
  }
  return { ok: false, error: `severity '${excerpt(s)}' is not 0–10 or Low/Medium/High/Very-High` };
}

// ---------------------------------------------------------------------------------------------
// Extension
// ---------------------------------------------------------------------------------------------

/** Characters allowed in an extension key: A–Z a–z 0–9 _ . - */
const KEY_CHAR = new Uint8Array(128);
for (let c = 48; c <= 57; c++) KEY_CHAR[c] = 1;
for (let c = 65; c <= 90; c++) KEY_CHAR[c] = 1;
for (let c = 97; c <= 122; c++) KEY_CHAR[c] = 1;
KEY_CHAR[95] = 1; // _
KEY_CHAR[46] = 1; // .
KEY_CHAR[45] = 1; // -

function isKeyChar(c: number): boolean {
  return c < 128 && KEY_CHAR[c] === 1;
}

/** True when `key` can be written as a CEF extension key. */
export function isCefKey(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) if (!isKeyChar(key.charCodeAt(i))) return false;
  return true;
}

function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

export type ExtensionScan = { ok: true; keys: string[]; values: string[] } | { ok: false; error: string };

/**
 * Splits a CEF extension into key/value pairs in linear time.
 *
 * A value runs until the last space before the next `key=` (key = one or more of A–Z a–z 0–9 _ . -).
 * Escapes in values: `\\` `\=` `\n` `\r` `\|`; any other backslash is kept literally. An unescaped
 * `=` that does not follow ` key` is kept in the value (tolerated). Leading and trailing spaces of
 * values are trimmed (CEF has no escape for them).
 */
export function scanCefExtension(ext: string): ExtensionScan {
  const keys: string[] = [];
  const values: string[] = [];
  const n = ext.length;
  let i = 0;
  while (i < n && ext.charCodeAt(i) === 32) i++;
  if (i === n) return { ok: true, keys, values };
  const ks = i;
  while (i < n && isKeyChar(ext.charCodeAt(i))) i++;
  if (i === n || ext.charCodeAt(i) !== 61) {
    return { ok: false, error: `CEF extension must start with key=value, found '${excerpt(ext.slice(ks))}'` };
  }
  if (i === ks) return { ok: false, error: `CEF extension has an empty key before '=' at '${excerpt(ext.slice(ks))}'` };
  let key = ext.slice(ks, i);
  let valueStart = i + 1;
  let search = valueStart;
  // Next backslash at or after the current value; value starts only move forward, so the
  // searches for it add up to one pass over the extension.
  let backslash = ext.indexOf('\\', valueStart);
  const value = (from: number, to: number): string => {
    if (backslash !== -1 && backslash < from) backslash = ext.indexOf('\\', from);
    if (backslash === -1 || backslash >= to) return trimSpaces(ext.slice(from, to));
    return trimSpaces(decodeExtensionValue(ext, backslash, from, to));
  };
  // Jump from '=' to '=' with the native indexOf; each backward look stops at the previous '='
  // (not a key character) or at valueStart, so the whole scan stays linear.
  for (;;) {
    const eq = ext.indexOf('=', search);
    if (eq === -1) break;
    search = eq + 1;
    let b = eq - 1;
    while (b >= valueStart && ext.charCodeAt(b) === 92) b--;
    if ((eq - 1 - b) % 2 === 1) continue; // \= is data
    let k = eq - 1;
    while (k >= valueStart && isKeyChar(ext.charCodeAt(k))) k--;
    if (k === eq - 1 || k < valueStart || ext.charCodeAt(k) !== 32) continue; // not " key=": a tolerated '='
    keys.push(key);
    values.push(value(valueStart, k));
    key = ext.slice(k + 1, eq);
    valueStart = eq + 1;
  }
  keys.push(key);
  values.push(value(valueStart, n));
  return { ok: true, keys, values };
}

/** Decodes s[from, to), whose first backslash is at `first`. */
function decodeExtensionValue(s: string, first: number, from: number, to: number): string {
  let out = '';
  let seg = from;
  for (let i = first; i < to; i++) {
    if (s.charCodeAt(i) !== 92 || i + 1 >= to) continue;
    const d = s.charCodeAt(i + 1);
    let rep: string;
    if (d === 92) rep = '\\';
    else if (d === 61) rep = '=';
    else if (d === 110) rep = '\n';
    else if (d === 114) rep = '\r';
    else if (d === 124) rep = '|';
    else continue; // unknown escape: the backslash stays, the next character is read normally
    out += s.slice(seg, i) + rep;
    i++;
    seg = i + 1;
  }
  return out + s.slice(seg, to);
}

/** Sets an own property, also for `__proto__`. */
export function setOwn(target: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** A port 0–65535 written as 1–5 digits, else null. */
export function parsePort(raw: string): number | null {
  const s = raw.trim();
  if (s.length === 0 || s.length > 5) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  const v = Number(s);
  return v <= 65535 ? v : null;
}

// ---------------------------------------------------------------------------------------------
// parseCef
// ---------------------------------------------------------------------------------------------

interface Slot {
  key: string;
  value: string;
}

function orNull(s: string): string | null {
  return s === '' ? null : s;
}

/**
 * Parses one CEF line (optionally behind a syslog header). Never throws.
 *
 * Mapped keys (removed from `extensions`): `src`/`sourceAddress` → src, `dst`/`destinationAddress`
 * → dst, `spt`/`sourcePort` → srcPort, `dpt`/`destinationPort` → dstPort, `suser`/`sourceUserName`
 * → user, `rt`/`receiptTime` → timestamp, `cat`/`deviceEventCategory` → category. `duser` /
 * `destinationUserName` fill `user` when no source user is given and stay in `extensions`.
 * A port or `rt` that does not parse leaves the field null, keeps the raw pair in `extensions`
 * and adds a message to `warnings`.
 */
export function parseCef(line: string, options: ParseOptions = {}): ParseResult {
  const opened = openLine(line, 'CEF:', options);
  if (!opened.ok) return opened;
  const { syslog, body } = opened;

  const scan = scanPipeHeader(body, 4, 7);
  const version = (scan.fields[0] ?? scan.pending ?? '').trim();
  if (version === '') return { ok: false, error: 'CEF version is empty (expected CEF:0 or CEF:1)' };
  if (version !== '0' && version !== '1') return { ok: false, error: `unknown CEF version ${excerpt(version, 12)}` };
  let fields = scan.fields;
  let extension = '';
  if (fields.length < 7) {
    if (fields.length === 6) fields = [...fields, scan.pending ?? '']; // severity without a trailing '|': no extension
    else return { ok: false, error: `CEF header has ${fields.length + 1} of 7 fields (CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|)` };
  } else extension = body.slice(scan.end);

  const sev = parseCefSeverity(fields[6]!);
  if (!sev.ok) return sev;

  const ext = scanCefExtension(extension);
  if (!ext.ok) return ext;

  const extensions: Record<string, string> = {};
  let src: string | null = null;
  let dst: string | null = null;
  let spt: Slot | null = null;
  let dpt: Slot | null = null;
  let suser: string | null = null;
  let duser: string | null = null;
  let rt: Slot | null = null;
  let category: string | null = null;
  const { keys, values } = ext;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const value = values[k]!;
    switch (key) {
      case 'src':
      case 'sourceAddress':
        src = orNull(value);
        break;
      case 'dst':
      case 'destinationAddress':
        dst = orNull(value);
        break;
      case 'spt':
      case 'sourcePort':
        spt = { key, value };
        break;
      case 'dpt':
      case 'destinationPort':
        dpt = { key, value };
        break;
      case 'suser':
      case 'sourceUserName':
        suser = orNull(value);
        break;
      case 'rt':
      case 'receiptTime':
        rt = { key, value };
        break;
      case 'cat':
      case 'deviceEventCategory':
        category = orNull(value);
        break;
      case 'duser':
      case 'destinationUserName':
        duser = orNull(value);
        setOwn(extensions, key, value);
        break;
      default:
        setOwn(extensions, key, value);
    }
  }

  const warnings: string[] = [];
  const port = (slot: Slot | null): number | null => {
    if (slot === null || slot.value === '') return null;
    const p = parsePort(slot.value);
    if (p === null) {
      warnings.push(`${slot.key} '${excerpt(slot.value)}' is not a port number 0–65535`);
      setOwn(extensions, slot.key, slot.value);
    }
    return p;
  };
  const srcPort = port(spt);
  const dstPort = port(dpt);
  let timestamp: string | null = null;
  if (rt !== null && rt.value !== '') {
    timestamp = parseEventTimestamp(rt.value, options);
    if (timestamp === null) {
      warnings.push(`${rt.key} '${excerpt(rt.value)}' is not epoch milliseconds or a CEF date`);
      setOwn(extensions, rt.key, rt.value);
    }
  }
  if (timestamp === null && syslog) timestamp = syslog.timestamp;

  const record: EventRecord = {
    kind: 'event',
    format: 'CEF',
    vendor: orNull(fields[1]!),
    product: orNull(fields[2]!),
    productVersion: orNull(fields[3]!),
    eventId: orNull(fields[4]!),
    name: orNull(fields[5]!),
    severity: sev.value,
    timestamp,
    src,
    dst,
    srcPort,
    dstPort,
    user: suser ?? duser,
    category,
    extensions,
  };
  if (syslog) record.syslog = syslog;
  if (warnings.length > 0) record.warnings = warnings;
  return { ok: true, record };
}

// ---------------------------------------------------------------------------------------------
// formatCef
// ---------------------------------------------------------------------------------------------

/** What {@link formatCef} writes; an `EventRecord` fits. */
export interface CefFormatInput {
  version?: 0 | 1;
  vendor?: string | null;
  product?: string | null;
  productVersion?: string | null;
  eventId?: string | null;
  name?: string | null;
  /** Integer 0–10, a CEF severity word, or null (written as `Unknown`). */
  severity?: number | string | null;
  /** ISO 8601; written as `rt` in epoch milliseconds. */
  timestamp?: string | null;
  src?: string | null;
  dst?: string | null;
  srcPort?: number | null;
  dstPort?: number | null;
  user?: string | null;
  category?: string | null;
  extensions?: Record<string, string>;
}

function severityText(sev: number | string | null | undefined): string {
  if (sev === null || sev === undefined) return 'Unknown';
  if (typeof sev === 'number') {
    if (!Number.isInteger(sev) || sev < 0 || sev > 10) throw new RangeError(`CEF severity ${sev} is not an integer 0–10`);
    return String(sev);
  }
  const r = parseCefSeverity(sev);
  if (!r.ok) throw new RangeError(r.error);
  return sev.trim();
}

/**
 * Writes one CEF line (no syslog header, no line terminator). Record fields go to `src`, `dst`,
 * `spt`, `dpt`, `suser`, `rt` (epoch ms) and `cat`, then `extensions` in their order. Throws a
 * RangeError for what CEF cannot carry: an invalid key, port, severity or timestamp. Leading and
 * trailing spaces of extension values are not preserved by CEF.
 */
export function formatCef(input: CefFormatInput): string {
  const h = (v: string | null | undefined) => escapeCefHeader(v ?? '');
  let line = `CEF:${input.version ?? 0}|${h(input.vendor)}|${h(input.product)}|${h(input.productVersion)}|${h(input.eventId)}|${h(input.name)}|${severityText(input.severity)}|`;
  const pairs: string[] = [];
  const put = (key: string, value: string) => {
    if (!isCefKey(key)) throw new RangeError(`'${excerpt(key)}' is not a valid CEF extension key (A–Z a–z 0–9 _ . -)`);
    pairs.push(`${key}=${escapeCefExtensionValue(value)}`);
  };
  const port = (key: string, p: number | null | undefined) => {
    if (p === null || p === undefined) return;
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`${key} ${p} is not a port number 0–65535`);
    put(key, String(p));
  };
  if (input.src != null) put('src', input.src);
  if (input.dst != null) put('dst', input.dst);
  port('spt', input.srcPort);
  port('dpt', input.dstPort);
  if (input.user != null) put('suser', input.user);
  if (input.timestamp != null) {
    const ms = Date.parse(input.timestamp);
    if (Number.isNaN(ms)) throw new RangeError(`timestamp '${excerpt(input.timestamp)}' is not ISO 8601`);
    put('rt', String(ms));
  }
  if (input.category != null) put('cat', input.category);
  for (const [key, value] of Object.entries(input.extensions ?? {})) put(key, value);
  line += pairs.join(' ');
  return line;
}
