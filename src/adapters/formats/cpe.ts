/**
 * CPE 2.3 formatted-string binding (NISTIR 7695, CPE Naming 2.3, §6.2):
 *
 *   cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other
 *
 * Rules applied:
 * - exactly 13 colon-separated components; a colon preceded by a backslash (`\:`) is data, not a
 *   separator, and so is any other backslash-escaped character (`\\`, `\+`, `\(`, `\*`, ...);
 * - `*` alone is ANY and `-` alone is NA (kept as `"*"` / `"-"` in the decoded fields, which is how
 *   NVD's match criteria read);
 * - `part` is `a`, `o`, `h` or `*`;
 * - no component is empty, and a trailing lone backslash is an error;
 * - unescaped characters other than letters, digits, `_`, `-` and `.` must be escaped, except the
 *   wildcards: unescaped `*` only as the first and/or last character, unescaped `?` only as a run
 *   at the start and/or end of a value.
 *
 * Decoded values drop the escaping backslashes (`visual_c\+\+` → `visual_c++`,
 * `12.2\(33\)sxi` → `12.2(33)sxi`); the `raw` array keeps every component exactly as written.
 * Caveat of decoding: an escaped asterisk (`\*`, a literal star) decodes to `*`, the same text as
 * ANY; `raw` and `wildcard` tell them apart.
 */

export const CPE23_FIELDS = [
  'part',
  'vendor',
  'product',
  'version',
  'update',
  'edition',
  'language',
  'swEdition',
  'targetSw',
  'targetHw',
  'other',
] as const;

export type Cpe23Field = (typeof CPE23_FIELDS)[number];

export type Cpe23Fields = Record<Cpe23Field, string>;

export interface Cpe23 extends Cpe23Fields {
  /** The 11 components after `cpe:2.3:`, still escaped, in field order. */
  raw: string[];
  /** Fields whose raw value contains an unescaped wildcard (`*` or `?`), i.e. that match patterns. */
  wildcard: Cpe23Field[];
}

export type Cpe23Result = { ok: true; cpe: Cpe23 } | { ok: false; error: string };

const PREFIX = 'cpe:2.3:';
const PARTS = new Set(['a', 'o', 'h', '*']);

/**
 * Splits on unescaped colons. Returns null when the string ends in a lone escaping backslash.
 * Lenient on purpose (no validation of the components): the mapper uses it as a fallback to keep
 * what it can of a criteria string that fails `parseCpe23`.
 */
export function splitCpe23Components(value: string): string[] | null {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\') {
      if (i + 1 >= value.length) return null;
      current += ch + value[i + 1]!;
      i++;
    } else if (ch === ':') {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out;
}

/** Removes the escaping backslashes of one component (`\:` → `:`, `\\` → `\`). */
export function unescapeCpe23Value(raw: string): string {
  return raw.replace(/\\(.)/gs, '$1');
}

function validateComponent(raw: string, field: Cpe23Field): string | null {
  if (raw.length === 0) return `${field} is empty`;
  if (raw === '*' || raw === '-') return null;
  // Tokenise into (escaped?, char) so wildcards can be located among unescaped characters only.
  const tokens: Array<{ ch: string; escaped: boolean }> = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\\') {
      const next = raw[i + 1];
      if (next === undefined) return `${field} ends with a lone backslash`;
      tokens.push({ ch: next, escaped: true });
      i++;
    } else {
      tokens.push({ ch, escaped: false });
    }
  }
  // Leading and trailing wildcard runs: `*` at most once at each end, `?` any number of times.
  let start = 0;
  if (tokens[0] && !tokens[0].escaped && tokens[0].ch === '*') start = 1;
  else while (start < tokens.length && !tokens[start]!.escaped && tokens[start]!.ch === '?') start++;
  let end = tokens.length;
  if (end > start && !tokens[end - 1]!.escaped && tokens[end - 1]!.ch === '*') end -= 1;
  else while (end > start && !tokens[end - 1]!.escaped && tokens[end - 1]!.ch === '?') end--;
  if (start === tokens.length || start >= end) {
    // Only wildcards, e.g. `?`, `??`, `*?`... `**` is not allowed.
    return raw.includes('**') ? `${field} has "**"` : null;
  }
  for (let i = start; i < end; i++) {
    const { ch, escaped } = tokens[i]!;
    if (escaped) continue;
    if (ch === '*' || ch === '?') return `${field} has an unescaped "${ch}" inside the value`;
    if (!/^[A-Za-z0-9_.-]$/.test(ch)) return `${field} has an unescaped "${ch}" (must be written "\\${ch}")`;
  }
  return null;
}

/** Parses a CPE 2.3 formatted string, e.g. NVD's `cpeMatch[].criteria`. */
export function parseCpe23(criteria: string): Cpe23Result {
  if (typeof criteria !== 'string') return { ok: false, error: 'CPE is not a string' };
  if (!criteria.startsWith(PREFIX)) return { ok: false, error: 'CPE 2.3 formatted string must start with "cpe:2.3:"' };
  const components = splitCpe23Components(criteria.slice(PREFIX.length));
  if (components === null) return { ok: false, error: 'CPE ends with a lone backslash' };
  if (components.length !== CPE23_FIELDS.length) {
    return {
      ok: false,
      error: `CPE 2.3 has ${CPE23_FIELDS.length} components after "cpe:2.3:", found ${components.length}`,
    };
  }
  const fields = {} as Cpe23Fields;
  const wildcard: Cpe23Field[] = [];
  for (let i = 0; i < CPE23_FIELDS.length; i++) {
    const field = CPE23_FIELDS[i]!;
    const raw = components[i]!;
    const error = validateComponent(raw, field);
    if (error) return { ok: false, error };
    fields[field] = raw === '*' || raw === '-' ? raw : unescapeCpe23Value(raw);
    if (raw !== '-' && /(^|[^\\])(\\\\)*[*?]/.test(raw)) wildcard.push(field);
  }
  if (!PARTS.has(fields.part)) return { ok: false, error: `part must be a, o, h or *, found "${fields.part}"` };
  return { ok: true, cpe: { ...fields, raw: components, wildcard } };
}
