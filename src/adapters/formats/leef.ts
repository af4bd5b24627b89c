/**
 * IBM QRadar Log Event Extended Format (LEEF) 1.0 and 2.0 → normalized `event` record.
 *
 *   [syslog header ]LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value…
 *   [syslog header ]LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|key=value<D>key=value…
 *
 * Linear in the line length: the header is one character scan, attributes are split with
 * `indexOf`. The mapping is documented in docs/normalization.md.
 */
import type { EventRecord } from '../records.js';
import { escapeCefHeader, parsePort, scanPipeHeader, setOwn } from './cef.js';
import {
  compileDatePatternCached,
  epochMillisToIso,
  excerpt,
  parseEventTimestamp,
  parseWithPattern,
  openLine,
  type ParseOptions,
  type ParseResult,
} from './syslog.js';

export type { ParseOptions, ParseResult } from './syslog.js';

/** LEEF header fields use the same escapes as CEF headers (`\|`, `\\`; `\n`, `\r` tolerated). */
export const escapeLeefHeader = escapeCefHeader;

export type DelimiterResult = { ok: true; delimiter: string } | { ok: false; error: string };

/**
 * A LEEF 2.0 DelimiterCharacter field: a single character (`^`), or its code in hex with an
 * `x`/`0x` prefix and 1–4 hex digits (`x5E`, `0x5E`, `x09`). Empty means tab. `=` is refused.
 */
export function parseLeefDelimiter(field: string): DelimiterResult {
  if (field === '') return { ok: true, delimiter: '\t' };
  let delimiter: string | null = null;
  if (field.length === 1) delimiter = field;
  else {
    const m = /^(?:0[xX]|[xX])([0-9a-fA-F]{1,4})$/.exec(field);
    if (m) delimiter = String.fromCharCode(parseInt(m[1]!, 16));
  }
  if (delimiter === null) return { ok: false, error: `LEEF 2.0 delimiter '${excerpt(field, 12)}' is not a character or hex code` };
  if (delimiter === '=') return { ok: false, error: "LEEF 2.0 delimiter '=' cannot be used (it separates keys from values)" };
  if (delimiter === '\n' || delimiter === '\r') return { ok: false, error: 'LEEF 2.0 delimiter cannot be a line break' };
  return { ok: true, delimiter };
}

/** Longest DelimiterCharacter field looked for before deciding the header omitted it. */
const MAX_DELIMITER_FIELD = 8;

function orNull(s: string): string | null {
  return s === '' ? null : s;
}

interface Slot {
  key: string;
  value: string;
}

/**
 * Parses one LEEF line (optionally behind a syslog header). Never throws.
 *
 * Header: `eventId` and `name` both come from EventID (LEEF has no separate name). Attributes:
 * `src`, `dst`, `srcPort`, `dstPort` (numbers), `usrName` → user, `sev` (0–10) → severity,
 * `cat` → category, `devTime` (+ `devTimeFormat`) → timestamp; all others stay in `extensions`
 * verbatim (LEEF defines no value escapes). A `sev`, port or `devTime` that does not parse leaves
 * the field null, keeps the raw attribute(s) in `extensions` and adds a message to `warnings`.
 */
export function parseLeef(line: string, options: ParseOptions = {}): ParseResult {
  const opened = openLine(line, 'LEEF:', options);
  if (!opened.ok) return opened;
  const { syslog, body } = opened;

  const scan = scanPipeHeader(body, 5, 5);
  const version = (scan.fields[0] ?? scan.pending ?? '').trim();
  let v2: boolean;
  if (version === '1.0' || version === '1') v2 = false;
  else if (version === '2.0' || version === '2') v2 = true;
  else if (version === '') return { ok: false, error: 'LEEF version is empty (expected LEEF:1.0 or LEEF:2.0)' };
  else return { ok: false, error: `unknown LEEF version ${excerpt(version, 12)}` };

  let fields = scan.fields;
  let rest = '';
  if (fields.length < 5) {
    if (fields.length === 4) fields = [...fields, scan.pending ?? '']; // EventID without a trailing '|': no attributes
    else return { ok: false, error: `LEEF header has ${fields.length + 1} of 5 fields (LEEF:Version|Vendor|Product|Version|EventID|)` };
  } else rest = body.slice(scan.end);

  let delimiter = '\t';
  let attrs = rest;
  if (v2 && rest !== '') {
    // The DelimiterCharacter field is optional: it is present when a short field ends in '|'
    // and holds no '='; otherwise the attributes start right after EventID| (tab-delimited).
    let field: string | null = null;
    if (rest[0] === '|') field = '';
    else if (rest.length >= 2 && rest[1] === '|') field = rest[0]!;
    else {
      const p = rest.indexOf('|', 1);
      if (p !== -1 && p <= MAX_DELIMITER_FIELD && !rest.slice(0, p).includes('=')) field = rest.slice(0, p);
    }
    if (field !== null) {
      const d = parseLeefDelimiter(field);
      if (!d.ok) return d;
      delimiter = d.delimiter;
      attrs = rest.slice(field.length + 1);
    }
  }

  const extensions: Record<string, string> = {};
  let src: string | null = null;
  let dst: string | null = null;
  let srcPortSlot: Slot | null = null;
  let dstPortSlot: Slot | null = null;
  let user: string | null = null;
  let sevSlot: Slot | null = null;
  let category: string | null = null;
  let devTime: string | null = null;
  let devTimeFormat: string | null = null;

  const n = attrs.length;
  let i = 0;
  while (i < n) {
    let end = attrs.indexOf(delimiter, i);
    if (end === -1) end = n;
    if (end > i) {
      const segment = attrs.slice(i, end);
      const eq = segment.indexOf('=');
      if (eq === -1) {
        if (segment.trim() !== '') return { ok: false, error: `LEEF attribute '${excerpt(segment)}' has no '='` };
      } else {
        const key = segment.slice(0, eq).trim();
        if (key === '') return { ok: false, error: `LEEF attribute '${excerpt(segment)}' has an empty key` };
        const value = segment.slice(eq + 1);
        switch (key) {
          case 'src':
            src = orNull(value);
            break;
          case 'dst':
            dst = orNull(value);
            break;
          case 'srcPort':
            srcPortSlot = { key, value };
            break;
          case 'dstPort':
            dstPortSlot = { key, value };
            break;
          case 'usrName':
            user = orNull(value);
            break;
          case 'sev':
            sevSlot = { key, value };
            break;
          case 'cat':
            category = orNull(value);
            break;
          case 'devTime':
            devTime = value;
            break;
          case 'devTimeFormat':
            devTimeFormat = value;
            break;
          default:
            setOwn(extensions, key, value);
        }
      }
    }
    i = end + delimiter.length;
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
  const srcPort = port(srcPortSlot);
  const dstPort = port(dstPortSlot);

  let severity: number | null = null;
  if (sevSlot !== null && sevSlot.value.trim() !== '') {
    const s = sevSlot.value.trim();
    if (s.length <= 2 && /^\d+$/.test(s) && Number(s) <= 10) severity = Number(s);
    else {
      warnings.push(`sev '${excerpt(s)}' is not an integer 0–10`);
      setOwn(extensions, 'sev', sevSlot.value);
    }
  }

  let timestamp: string | null = null;
  if (devTime !== null && devTime.trim() !== '') {
    let problem: string | null = null;
    if (devTimeFormat !== null && devTimeFormat.trim() !== '') {
      const compiled = compileDatePatternCached(devTimeFormat.trim());
      if (!compiled.ok) problem = `devTimeFormat: ${compiled.error}`;
      else {
        timestamp = parseWithPattern(compiled.pattern, devTime, options);
        // Epoch milliseconds are accepted even when a format is given (some sources send both).
        if (timestamp === null) timestamp = epochMillisToIso(devTime);
        if (timestamp === null) problem = `devTime '${excerpt(devTime)}' does not match devTimeFormat '${excerpt(devTimeFormat)}'`;
      }
    } else {
      timestamp = parseEventTimestamp(devTime, options);
      if (timestamp === null) problem = `devTime '${excerpt(devTime)}' is not epoch milliseconds, 'MMM dd yyyy HH:mm:ss' or ISO 8601`;
    }
    if (problem !== null) {
      warnings.push(problem);
      setOwn(extensions, 'devTime', devTime);
      if (devTimeFormat !== null) setOwn(extensions, 'devTimeFormat', devTimeFormat);
    }
  } else {
    if (devTime !== null) setOwn(extensions, 'devTime', devTime);
    if (devTimeFormat !== null) setOwn(extensions, 'devTimeFormat', devTimeFormat);
  }
  if (timestamp === null && syslog) timestamp = syslog.timestamp;

  const eventId = orNull(fields[4]!);
  const record: EventRecord = {
    kind: 'event',
    format: 'LEEF',
    vendor: orNull(fields[1]!),
    product: orNull(fields[2]!),
    productVersion: orNull(fields[3]!),
    eventId,
    name: eventId,
    severity,
    timestamp,
    src,
    dst,
    srcPort,
    dstPort,
    user,
    category,
    extensions,
  };
  if (syslog) record.syslog = syslog;
  if (warnings.length > 0) record.warnings = warnings;
  return { ok: true, record };
}

// ---------------------------------------------------------------------------------------------
// formatLeef
// ---------------------------------------------------------------------------------------------

export interface LeefFormatInput {
  /** Default `2.0`. LEEF 1.0 always uses tab. */
  version?: '1.0' | '2.0';
  /** LEEF 2.0 only; default: the first of tab, `^`, `~`, `` ` ``, U+00A6, U+0001 absent from every key and value. */
  delimiter?: string;
  vendor?: string | null;
  product?: string | null;
  productVersion?: string | null;
  eventId?: string | null;
  /** Integer 0–10; written as `sev`. */
  severity?: number | null;
  /** ISO 8601; written as `devTime` in epoch milliseconds. */
  timestamp?: string | null;
  src?: string | null;
  dst?: string | null;
  srcPort?: number | null;
  dstPort?: number | null;
  user?: string | null;
  category?: string | null;
  extensions?: Record<string, string>;
}

const DELIMITER_CANDIDATES = ['\t', '^', '~', '`', '\u00a6', '\u0001'];

function delimiterField(d: string): string {
  const c = d.charCodeAt(0);
  if (c > 0x20 && c < 0x7f && d !== '|' && d !== '\\') return d;
  return `x${c.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * Writes one LEEF line (no syslog header, no terminator). Record fields go to `src`, `dst`,
 * `srcPort`, `dstPort`, `usrName`, `sev`, `cat` and `devTime` (epoch ms), then `extensions`.
 * Throws a RangeError for what LEEF cannot carry: a line break in a value, a value containing the
 * delimiter, a key with `=`, spaces at its ends or the delimiter, an invalid port or severity.
 */
export function formatLeef(input: LeefFormatInput): string {
  const version = input.version ?? '2.0';
  const pairs: Array<[string, string]> = [];
  if (input.src != null) pairs.push(['src', input.src]);
  if (input.dst != null) pairs.push(['dst', input.dst]);
  for (const [key, p] of [['srcPort', input.srcPort], ['dstPort', input.dstPort]] as const) {
    if (p === null || p === undefined) continue;
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`${key} ${p} is not a port number 0–65535`);
    pairs.push([key, String(p)]);
  }
  if (input.user != null) pairs.push(['usrName', input.user]);
  if (input.severity != null) {
    const s = input.severity;
    if (!Number.isInteger(s) || s < 0 || s > 10) throw new RangeError(`LEEF sev ${s} is not an integer 0–10`);
    pairs.push(['sev', String(s)]);
  }
  if (input.category != null) pairs.push(['cat', input.category]);
  if (input.timestamp != null) {
    const ms = Date.parse(input.timestamp);
    if (Number.isNaN(ms)) throw new RangeError(`timestamp '${excerpt(input.timestamp)}' is not ISO 8601`);
    pairs.push(['devTime', String(ms)]);
  }
  for (const [key, value] of Object.entries(input.extensions ?? {})) pairs.push([key, value]);

  let delimiter: string;
  if (version === '1.0') delimiter = '\t';
  else if (input.delimiter !== undefined) {
    const d = input.delimiter;
    if (d.length !== 1 || d === '=' || d === '\n' || d === '\r') {
      throw new RangeError(`LEEF delimiter '${excerpt(d)}' must be one character other than '=' or a line break`);
    }
    delimiter = d;
  } else {
    const found = DELIMITER_CANDIDATES.find((d) => pairs.every(([k, v]) => !k.includes(d) && !v.includes(d)));
    if (found === undefined) throw new RangeError('no LEEF delimiter candidate is absent from the keys and values');
    delimiter = found;
  }

  for (const [key, value] of pairs) {
    if (key === '' || key.includes('=') || key.trim() !== key || key.includes(delimiter) || /[\r\n]/.test(key)) {
      throw new RangeError(`'${excerpt(key)}' is not a valid LEEF attribute key`);
    }
    if (/[\r\n]/.test(value)) throw new RangeError(`LEEF cannot carry a line break in the value of '${excerpt(key)}'`);
    if (value.includes(delimiter)) throw new RangeError(`the value of '${excerpt(key)}' contains the delimiter '${excerpt(delimiter)}'`);
  }

  const h = (v: string | null | undefined) => escapeLeefHeader(v ?? '');
  let line = `LEEF:${version}|${h(input.vendor)}|${h(input.product)}|${h(input.productVersion)}|${h(input.eventId)}|`;
  if (version === '2.0') line += `${delimiterField(delimiter)}|`;
  line += pairs.map(([k, v]) => `${k}=${v}`).join(delimiter);
  return line;
}
