/**
 * NVD CVE API 2.0 `cve` object → normalized `vulnerability` record (API.md, "Normalized records").
 *
 * Decisions:
 * - `published` / `lastModified`: NVD writes UTC without a zone; we emit ISO 8601 with `Z`
 *   (`2024-01-02T15:15:08.123Z`). Unparsable values become null and are listed in `warnings`.
 * - `description`: the first description whose `lang` is `en` (or `en-*`); null if none.
 * - `cvss`: every metric NVD lists, highest version first (V40, V31, V30, V2), NVD's order within a
 *   version. v2 takes `baseSeverity` from beside `cvssData` (where NVD puts it); v3.x/v4.0 from
 *   inside `cvssData`; each falls back to the other place if its own is missing. A vector that
 *   fails `parseCvssVector` (checked against the metric's version) is kept with `vectorError`.
 *   A metric without a numeric baseScore gets one computed from its vector when that is possible
 *   (v2/v3.x); otherwise it is left out and reported in `warnings`.
 * - `severity`: `baseSeverity` of the highest-versioned Primary metric that has one; only when no
 *   Primary metric has a severity, the highest-versioned Secondary one (NVD's own analysis is
 *   Primary; since 2024 many records carry only the CNA's Secondary scores, and null there would
 *   hide a score NVD publishes). Ties within a version: NVD's order.
 * - `cwes`: `CWE-<n>` values from all weaknesses (Primary and Secondary), de-duplicated in order of
 *   appearance. The placeholders `NVD-CWE-Other` / `NVD-CWE-noinfo` (and any other non-CWE value)
 *   are not weaknesses: they go, de-duplicated, into the extra field `cweNotes`.
 * - `cpes`: one entry per `cpeMatch` of every node of every configuration, in order, not
 *   de-duplicated; part/vendor/product/version decoded from the CPE 2.3 criteria, the four range
 *   bounds only when present. An invalid criteria string is kept with `criteriaError`.
 * - `references`: URLs, de-duplicated (exact string), in order.
 * - Extra keys: `sourceIdentifier`, `cweNotes` (always an array), `warnings` (only when non-empty).
 */
import type { CpeMatch, CvssMetric, VulnerabilityRecord } from '../records.js';
import { CPE23_FIELDS, parseCpe23, splitCpe23Components, unescapeCpe23Value } from '../formats/cpe.js';
import { computeCvssBaseScore, parseCvssVector } from '../formats/cvss.js';
import type { NvdCpeMatch, NvdCve, NvdLangString, NvdMetrics } from './types.js';
import { nvdTimestampToIso } from './windows.js';

/** Placeholders NVD uses in `weaknesses` when no specific CWE applies. */
export const NVD_CWE_PLACEHOLDERS = ['NVD-CWE-Other', 'NVD-CWE-noinfo'] as const;

const CWE_ID = /^CWE-\d+$/;

/** Metric keys, highest CVSS version first, with the version assumed when `cvssData.version` is absent. */
const METRIC_KEYS: ReadonlyArray<{ key: keyof NvdMetrics; version: string; severityBeside: boolean }> = [
  { key: 'cvssMetricV40', version: '4.0', severityBeside: false },
  { key: 'cvssMetricV31', version: '3.1', severityBeside: false },
  { key: 'cvssMetricV30', version: '3.0', severityBeside: false },
  { key: 'cvssMetricV2', version: '2.0', severityBeside: true },
];

export interface NvdVulnerabilityRecord extends VulnerabilityRecord {
  sourceIdentifier: string | null;
  /** Non-CWE weakness values such as `NVD-CWE-noinfo`, kept visible but not counted as CWEs. */
  cweNotes: string[];
  /** Problems met while normalizing (never fatal); absent when there were none. */
  warnings?: string[];
}

function asArray<T>(value: T[] | null | undefined): T[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function englishDescription(descriptions: NvdLangString[] | undefined): string | null {
  for (const d of asArray(descriptions)) {
    if (!d || typeof d.value !== 'string') continue;
    const lang = typeof d.lang === 'string' ? d.lang.toLowerCase() : '';
    if (lang === 'en' || lang.startsWith('en-')) return d.value;
  }
  return null;
}

function mapMetrics(metrics: NvdMetrics | undefined, warnings: string[]): CvssMetric[] {
  const out: CvssMetric[] = [];
  if (!metrics || typeof metrics !== 'object') return out;
  for (const { key, version: defaultVersion, severityBeside } of METRIC_KEYS) {
    for (const metric of asArray(metrics[key] as Array<Record<string, unknown>> | undefined)) {
      if (!metric || typeof metric !== 'object') continue;
      const data = (metric.cvssData && typeof metric.cvssData === 'object' ? metric.cvssData : {}) as Record<
        string,
        unknown
      >;
      const version = str(data.version) ?? defaultVersion;
      const vectorString = typeof data.vectorString === 'string' ? data.vectorString : '';
      const inside = str(data.baseSeverity);
      const beside = str(metric.baseSeverity);
      const baseSeverity = severityBeside ? (beside ?? inside) : (inside ?? beside);
      const parsed = parseCvssVector(vectorString, version);
      let baseScore = typeof data.baseScore === 'number' && Number.isFinite(data.baseScore) ? data.baseScore : null;
      if (baseScore === null) {
        baseScore = parsed.ok ? computeCvssBaseScore(vectorString) : null;
        if (baseScore === null) {
          warnings.push(`${key} metric from ${str(metric.source) ?? 'unknown source'} has no baseScore; skipped`);
          continue;
        }
        warnings.push(`${key} metric from ${str(metric.source) ?? 'unknown source'} has no baseScore; computed from its vector`);
      }
      const entry: CvssMetric = {
        version,
        baseScore,
        baseSeverity,
        vectorString,
        source: str(metric.source),
        type: str(metric.type) ?? 'Secondary',
      };
      if (!parsed.ok) entry.vectorError = parsed.error;
      out.push(entry);
    }
  }
  return out;
}

/** Metrics are already ordered highest version first (see `mapMetrics`). */
function pickSeverity(cvss: CvssMetric[]): string | null {
  for (const type of ['Primary', 'Secondary']) {
    const hit = cvss.find((m) => m.type === type && m.baseSeverity !== null);
    if (hit) return hit.baseSeverity;
  }
  return null;
}

function mapWeaknesses(cve: NvdCve): { cwes: string[]; cweNotes: string[] } {
  const cwes: string[] = [];
  const notes: string[] = [];
  for (const weakness of asArray(cve.weaknesses)) {
    for (const d of asArray(weakness?.description)) {
      const value = typeof d?.value === 'string' ? d.value.trim() : '';
      if (!value) continue;
      const target = CWE_ID.test(value) ? cwes : notes;
      if (!target.includes(value)) target.push(value);
    }
  }
  return { cwes, cweNotes: notes };
}

function mapCpeMatch(match: NvdCpeMatch): CpeMatch {
  const criteria = typeof match.criteria === 'string' ? match.criteria : '';
  const parsed = parseCpe23(criteria);
  let entry: CpeMatch;
  if (parsed.ok) {
    const { part, vendor, product, version } = parsed.cpe;
    entry = { criteria, part, vendor, product, version, vulnerable: match.vulnerable === true };
  } else {
    // Keep what can be split out so the entry is still useful; flag it.
    const body = criteria.startsWith('cpe:2.3:') ? criteria.slice('cpe:2.3:'.length) : '';
    const parts = (body && splitCpe23Components(body)) || [];
    const field = (i: number): string => {
      const raw = parts[i];
      return raw === undefined ? '' : raw === '*' || raw === '-' ? raw : unescapeCpe23Value(raw);
    };
    entry = {
      criteria,
      part: field(CPE23_FIELDS.indexOf('part')),
      vendor: field(CPE23_FIELDS.indexOf('vendor')),
      product: field(CPE23_FIELDS.indexOf('product')),
      version: field(CPE23_FIELDS.indexOf('version')),
      vulnerable: match.vulnerable === true,
      criteriaError: parsed.error,
    };
  }
  for (const bound of ['versionStartIncluding', 'versionStartExcluding', 'versionEndIncluding', 'versionEndExcluding'] as const) {
    const value = match[bound];
    if (typeof value === 'string' && value.length > 0) entry[bound] = value;
  }
  if (typeof match.matchCriteriaId === 'string' && match.matchCriteriaId.length > 0) {
    entry.matchCriteriaId = match.matchCriteriaId;
  }
  return entry;
}

function mapConfigurations(cve: NvdCve): CpeMatch[] {
  const out: CpeMatch[] = [];
  for (const configuration of asArray(cve.configurations)) {
    for (const node of asArray(configuration?.nodes)) {
      for (const match of asArray(node?.cpeMatch)) {
        if (match && typeof match === 'object') out.push(mapCpeMatch(match));
      }
    }
  }
  return out;
}

function mapReferences(cve: NvdCve): string[] {
  const seen = new Set<string>();
  for (const ref of asArray(cve.references)) {
    if (ref && typeof ref.url === 'string' && ref.url.length > 0) seen.add(ref.url);
  }
  return [...seen];
}

/** Normalizes one NVD `cve` object. Never throws on missing optional parts. */
export function normalizeCve(cve: NvdCve): NvdVulnerabilityRecord {
  const warnings: string[] = [];
  const published = nvdTimestampToIso(cve.published);
  if (cve.published !== undefined && published === null) warnings.push(`unparsable published timestamp "${cve.published}"`);
  const lastModified = nvdTimestampToIso(cve.lastModified);
  if (cve.lastModified !== undefined && lastModified === null) {
    warnings.push(`unparsable lastModified timestamp "${cve.lastModified}"`);
  }
  const cvss = mapMetrics(cve.metrics, warnings);
  const { cwes, cweNotes } = mapWeaknesses(cve);
  const record: NvdVulnerabilityRecord = {
    kind: 'vulnerability',
    id: cve.id,
    published,
    lastModified,
    status: str(cve.vulnStatus),
    description: englishDescription(cve.descriptions),
    severity: pickSeverity(cvss),
    cvss,
    cwes,
    cpes: mapConfigurations(cve),
    references: mapReferences(cve),
    sourceIdentifier: str(cve.sourceIdentifier),
    cweNotes,
  };
  if (warnings.length > 0) record.warnings = warnings;
  return record;
}
