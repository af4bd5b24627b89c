/**
 * CVSS vector strings: parsing and strict validation for v2.0, v3.0, v3.1 and v4.0, plus the base
 * score formulas of v2.0 and v3.x (used to cross-check upstream scores; NVD supplies baseScore).
 *
 * Why not a library: `@pandatix/js-cvss` 0.4.4 cannot be imported under Node ESM (its `dist` uses
 * extension-less relative imports without `"type": "module"`), and `ae-cvss-calculator` 1.0.13 is a
 * lenient calculator, not a validator: it accepts duplicated metrics (last one wins), a `CVSS:3.0/`
 * prefix on its 3.1 class, and silently fills missing base metrics with `X`. Validation is what we
 * need here, so the metric tables below follow the FIRST specifications directly:
 *   v2.0 https://www.first.org/cvss/v2/guide (§2.4 vectors; no prefix)
 *   v3.0 https://www.first.org/cvss/v3.0/specification-document (§6)
 *   v3.1 https://www.first.org/cvss/v3.1/specification-document (§6)
 *   v4.0 https://www.first.org/cvss/v4.0/specification-document (§7)
 *
 * Rules enforced: known prefix (`CVSS:3.0/`, `CVSS:3.1/`, `CVSS:4.0/`; none for v2.0), every
 * segment `METRIC:VALUE`, no empty segment, every metric known for the version, each metric at most
 * once, every mandatory (base) metric present, every value allowed for its metric (case-sensitive).
 * Metric order is NOT enforced: the specifications prefer the table order but producers (and the
 * v4.0 text itself) are inconsistent about it, so any order is accepted.
 */

export type CvssVersion = '2.0' | '3.0' | '3.1' | '4.0';

export const CVSS_VERSIONS: readonly CvssVersion[] = ['2.0', '3.0', '3.1', '4.0'];

export type CvssParseResult =
  | { ok: true; version: string; metrics: Record<string, string> }
  | { ok: false; error: string };

interface MetricDef {
  readonly values: readonly string[];
  readonly mandatory: boolean;
}

type MetricTable = Readonly<Record<string, MetricDef>>;

const base = (...values: string[]): MetricDef => ({ values, mandatory: true });
const opt = (...values: string[]): MetricDef => ({ values, mandatory: false });

const V2: MetricTable = {
  // Base
  AV: base('L', 'A', 'N'),
  AC: base('H', 'M', 'L'),
  Au: base('M', 'S', 'N'),
  C: base('N', 'P', 'C'),
  I: base('N', 'P', 'C'),
  A: base('N', 'P', 'C'),
  // Temporal
  E: opt('U', 'POC', 'F', 'H', 'ND'),
  RL: opt('OF', 'TF', 'W', 'U', 'ND'),
  RC: opt('UC', 'UR', 'C', 'ND'),
  // Environmental
  CDP: opt('N', 'L', 'LM', 'MH', 'H', 'ND'),
  TD: opt('N', 'L', 'M', 'H', 'ND'),
  CR: opt('L', 'M', 'H', 'ND'),
  IR: opt('L', 'M', 'H', 'ND'),
  AR: opt('L', 'M', 'H', 'ND'),
};

/** v3.0 and v3.1 share their metrics and values; they differ in the Roundup function only. */
const V3: MetricTable = {
  // Base
  AV: base('N', 'A', 'L', 'P'),
  AC: base('L', 'H'),
  PR: base('N', 'L', 'H'),
  UI: base('N', 'R'),
  S: base('U', 'C'),
  C: base('H', 'L', 'N'),
  I: base('H', 'L', 'N'),
  A: base('H', 'L', 'N'),
  // Temporal
  E: opt('X', 'H', 'F', 'P', 'U'),
  RL: opt('X', 'U', 'W', 'T', 'O'),
  RC: opt('X', 'C', 'R', 'U'),
  // Environmental
  CR: opt('X', 'H', 'M', 'L'),
  IR: opt('X', 'H', 'M', 'L'),
  AR: opt('X', 'H', 'M', 'L'),
  MAV: opt('X', 'N', 'A', 'L', 'P'),
  MAC: opt('X', 'L', 'H'),
  MPR: opt('X', 'N', 'L', 'H'),
  MUI: opt('X', 'N', 'R'),
  MS: opt('X', 'U', 'C'),
  MC: opt('X', 'H', 'L', 'N'),
  MI: opt('X', 'H', 'L', 'N'),
  MA: opt('X', 'H', 'L', 'N'),
};

const V4: MetricTable = {
  // Base
  AV: base('N', 'A', 'L', 'P'),
  AC: base('L', 'H'),
  AT: base('N', 'P'),
  PR: base('N', 'L', 'H'),
  UI: base('N', 'P', 'A'),
  VC: base('H', 'L', 'N'),
  VI: base('H', 'L', 'N'),
  VA: base('H', 'L', 'N'),
  SC: base('H', 'L', 'N'),
  SI: base('H', 'L', 'N'),
  SA: base('H', 'L', 'N'),
  // Threat
  E: opt('X', 'A', 'P', 'U'),
  // Environmental (security requirements)
  CR: opt('X', 'H', 'M', 'L'),
  IR: opt('X', 'H', 'M', 'L'),
  AR: opt('X', 'H', 'M', 'L'),
  // Environmental (modified base)
  MAV: opt('X', 'N', 'A', 'L', 'P'),
  MAC: opt('X', 'L', 'H'),
  MAT: opt('X', 'N', 'P'),
  MPR: opt('X', 'N', 'L', 'H'),
  MUI: opt('X', 'N', 'P', 'A'),
  MVC: opt('X', 'H', 'L', 'N'),
  MVI: opt('X', 'H', 'L', 'N'),
  MVA: opt('X', 'H', 'L', 'N'),
  MSC: opt('X', 'H', 'L', 'N'),
  // Safety (S) is only a value of the modified subsequent-system integrity/availability metrics.
  MSI: opt('X', 'S', 'H', 'L', 'N'),
  MSA: opt('X', 'S', 'H', 'L', 'N'),
  // Supplemental
  S: opt('X', 'N', 'P'),
  AU: opt('X', 'N', 'Y'),
  R: opt('X', 'A', 'U', 'I'),
  V: opt('X', 'D', 'C'),
  RE: opt('X', 'L', 'M', 'H'),
  U: opt('X', 'Clear', 'Green', 'Amber', 'Red'),
};

const TABLES: Readonly<Record<CvssVersion, MetricTable>> = { '2.0': V2, '3.0': V3, '3.1': V3, '4.0': V4 };

/** `"2"`, `"2.0"`, `"3.1"`... → the canonical version string, or null when unsupported. */
export function normalizeCvssVersion(version: string): CvssVersion | null {
  const v = version.trim();
  if (v === '2' || v === '2.0') return '2.0';
  if (v === '3' || v === '3.0') return '3.0';
  if (v === '3.1') return '3.1';
  if (v === '4' || v === '4.0') return '4.0';
  return null;
}

/**
 * Parses and validates a CVSS vector string. The version comes from the prefix (`CVSS:3.1/...`);
 * a vector without prefix is v2.0. With `expectedVersion` (e.g. NVD's `cvssData.version`), a vector
 * of another version is an error.
 */
export function parseCvssVector(vector: string, expectedVersion?: string): CvssParseResult {
  if (typeof vector !== 'string') return { ok: false, error: 'vector is not a string' };
  if (vector.length === 0) return { ok: false, error: 'vector is empty' };
  if (vector.trim() !== vector) return { ok: false, error: 'vector has leading or trailing whitespace' };

  let version: CvssVersion;
  let body: string;
  if (vector.startsWith('CVSS:')) {
    const slash = vector.indexOf('/');
    const label = slash === -1 ? vector.slice(5) : vector.slice(5, slash);
    const v = label === '3.0' || label === '3.1' || label === '4.0' ? label : null;
    if (v === null) return { ok: false, error: `unsupported CVSS version prefix "CVSS:${label}"` };
    if (slash === -1) return { ok: false, error: `no metrics after "CVSS:${label}"` };
    version = v;
    body = vector.slice(slash + 1);
  } else {
    version = '2.0';
    body = vector;
  }

  if (expectedVersion !== undefined) {
    const expected = normalizeCvssVersion(expectedVersion);
    if (expected === null) return { ok: false, error: `unsupported expected CVSS version "${expectedVersion}"` };
    if (expected !== version) {
      return { ok: false, error: `vector is CVSS ${version} but version ${expected} was expected` };
    }
  }

  const table = TABLES[version];
  const metrics: Record<string, string> = {};
  const segments = body.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.length === 0) return { ok: false, error: `empty metric at position ${i + 1}` };
    const parts = segment.split(':');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      return { ok: false, error: `malformed metric "${segment}" (expected METRIC:VALUE)` };
    }
    const [name, value] = parts as [string, string];
    const def = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
    if (!def) return { ok: false, error: `unknown metric "${name}" for CVSS ${version}` };
    if (Object.prototype.hasOwnProperty.call(metrics, name)) {
      return { ok: false, error: `metric "${name}" appears more than once` };
    }
    if (!def.values.includes(value)) {
      return {
        ok: false,
        error: `invalid value "${value}" for metric "${name}" (allowed: ${def.values.join(', ')})`,
      };
    }
    metrics[name] = value;
  }

  const missing = Object.keys(table).filter((name) => table[name]!.mandatory && !(name in metrics));
  if (missing.length > 0) {
    return { ok: false, error: `missing mandatory base metric(s): ${missing.join(', ')}` };
  }
  return { ok: true, version, metrics };
}

// ---------------------------------------------------------------------------------------------
// Base scores (v2.0 and v3.x). v4.0 scoring needs the macro-vector lookup tables; it is left out
// on purpose because NVD supplies baseScore and nothing here depends on recomputing it.

const V2_W = {
  AV: { L: 0.395, A: 0.646, N: 1.0 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  CIA: { N: 0.0, P: 0.275, C: 0.66 },
} as const;

const V3_W = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  PR_U: { N: 0.85, L: 0.62, H: 0.27 },
  PR_C: { N: 0.85, L: 0.68, H: 0.5 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

function w<T extends Record<string, number>>(table: T, key: string | undefined): number {
  const value = key !== undefined ? (table as Record<string, number>)[key] : undefined;
  if (value === undefined) throw new Error(`no weight for "${key}"`);
  return value;
}

/** CVSS v3.1 Roundup (specification Appendix A): avoids floating-point artefacts. */
function roundup31(x: number): number {
  const intInput = Math.round(x * 100000);
  return intInput % 10000 === 0 ? intInput / 100000 : (Math.floor(intInput / 10000) + 1) / 10;
}

/** CVSS v3.0 Roundup: smallest number with one decimal ≥ x. */
function roundup30(x: number): number {
  return Math.ceil(Number((x * 10).toFixed(6))) / 10;
}

/**
 * Base score of a valid parsed vector for v2.0, v3.0 and v3.1; null for v4.0 (not implemented) or
 * an invalid vector.
 */
export function computeCvssBaseScore(vector: string): number | null {
  const parsed = parseCvssVector(vector);
  if (!parsed.ok) return null;
  const m = parsed.metrics;
  switch (parsed.version) {
    case '2.0': {
      const impact = 10.41 * (1 - (1 - w(V2_W.CIA, m.C)) * (1 - w(V2_W.CIA, m.I)) * (1 - w(V2_W.CIA, m.A)));
      const exploitability = 20 * w(V2_W.AV, m.AV) * w(V2_W.AC, m.AC) * w(V2_W.Au, m.Au);
      const f = impact === 0 ? 0 : 1.176;
      const score = (0.6 * impact + 0.4 * exploitability - 1.5) * f;
      return Math.round(Number((score * 10).toFixed(6))) / 10;
    }
    case '3.0':
    case '3.1': {
      const roundup = parsed.version === '3.1' ? roundup31 : roundup30;
      const changed = m.S === 'C';
      const iss = 1 - (1 - w(V3_W.CIA, m.C)) * (1 - w(V3_W.CIA, m.I)) * (1 - w(V3_W.CIA, m.A));
      const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
      const pr = changed ? w(V3_W.PR_C, m.PR) : w(V3_W.PR_U, m.PR);
      const exploitability = 8.22 * w(V3_W.AV, m.AV) * w(V3_W.AC, m.AC) * pr * w(V3_W.UI, m.UI);
      if (impact <= 0) return 0;
      return changed
        ? roundup(Math.min(1.08 * (impact + exploitability), 10))
        : roundup(Math.min(impact + exploitability, 10));
    }
    default:
      return null;
  }
}

/**
 * Qualitative severity of a base score: v3.x/v4.0 use NONE/LOW/MEDIUM/HIGH/CRITICAL; v2.0 has no
 * official rating, NVD's is LOW (0–3.9) / MEDIUM (4–6.9) / HIGH (7–10).
 */
export function cvssSeverityFromScore(score: number, version: string): string | null {
  if (!Number.isFinite(score) || score < 0 || score > 10) return null;
  if (normalizeCvssVersion(version) === '2.0') return score < 4 ? 'LOW' : score < 7 ? 'MEDIUM' : 'HIGH';
  if (score === 0) return 'NONE';
  if (score < 4) return 'LOW';
  if (score < 7) return 'MEDIUM';
  if (score < 9) return 'HIGH';
  return 'CRITICAL';
}
