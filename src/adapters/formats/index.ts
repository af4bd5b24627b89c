/**
 * CEF and LEEF line parsers (pure, linear-time) and the formatters used to emit test data.
 * docs/normalization.md describes how each source field lands in the `event` record.
 */
import { parseCef } from './cef.js';
import { parseLeef } from './leef.js';
import { excerpt, type ParseOptions, type ParseResult } from './syslog.js';

export {
  parseCef,
  formatCef,
  escapeCefHeader,
  escapeCefExtensionValue,
  parseCefSeverity,
  scanCefExtension,
  isCefKey,
  CEF_SEVERITY_WORDS,
  type CefFormatInput,
} from './cef.js';
export { parseLeef, formatLeef, escapeLeefHeader, parseLeefDelimiter, type LeefFormatInput } from './leef.js';
export {
  MAX_LINE_BYTES,
  stripSyslogPrefix,
  compileDatePattern,
  parseWithPattern,
  parseEventTimestamp,
  parseIsoTimestamp,
  CEF_DATE_PATTERNS,
  ZONE_ABBREVIATIONS,
  type ParseOptions,
  type ParseResult,
  type SyslogHeader,
  type SyslogStripResult,
} from './syslog.js';

export type LineFormat = 'CEF' | 'LEEF';

/**
 * Parses one line as CEF or LEEF (format name case-insensitive). Never throws: anything
 * unexpected, including a bug in a parser, comes back as `{ ok: false, error }`.
 */
export function parseLine(format: LineFormat, line: string, options?: ParseOptions): ParseResult {
  try {
    const f = typeof format === 'string' ? format.toUpperCase() : '';
    if (f === 'CEF') return parseCef(line, options);
    if (f === 'LEEF') return parseLeef(line, options);
    return { ok: false, error: `unknown line format '${excerpt(String(format))}' (expected CEF or LEEF)` };
  } catch (error) {
    return { ok: false, error: `internal parser error: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Parses each line independently: one result per input line, in order; a bad line never stops the batch. */
export function parseLines(format: LineFormat, lines: readonly string[], options?: ParseOptions): ParseResult[] {
  const out: ParseResult[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) out[i] = parseLine(format, lines[i]!, options);
  return out;
}
