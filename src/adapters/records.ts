/** Normalized record shapes (API.md, "Normalized records"). Extra keys are allowed. */

export interface CvssMetric {
  version: string;
  baseScore: number;
  baseSeverity: string | null;
  vectorString: string;
  source: string | null;
  type: 'Primary' | 'Secondary' | string;
  /** Set when the vector string failed to parse or validate; the metric is kept, not dropped. */
  vectorError?: string;
}

export interface CpeMatch {
  criteria: string;
  part: string;
  vendor: string;
  product: string;
  version: string;
  vulnerable: boolean;
  versionStartIncluding?: string;
  versionStartExcluding?: string;
  versionEndIncluding?: string;
  versionEndExcluding?: string;
  /** Upstream id of the match criteria (NVD `matchCriteriaId`), when given. */
  matchCriteriaId?: string;
  /** Set when `criteria` is not a valid CPE 2.3 string; the fields then hold what could be split out. */
  criteriaError?: string;
}

export interface VulnerabilityRecord {
  kind: 'vulnerability';
  id: string;
  published: string | null;
  lastModified: string | null;
  status: string | null;
  description: string | null;
  severity: string | null;
  cvss: CvssMetric[];
  cwes: string[];
  cpes: CpeMatch[];
  references: string[];
  [extra: string]: unknown;
}

export interface EventRecord {
  kind: 'event';
  format: 'CEF' | 'LEEF' | string;
  vendor: string | null;
  product: string | null;
  productVersion: string | null;
  eventId: string | null;
  name: string | null;
  /** 0–10 */
  severity: number | null;
  timestamp: string | null;
  src: string | null;
  dst: string | null;
  srcPort: number | null;
  dstPort: number | null;
  user: string | null;
  extensions: Record<string, string>;
  [extra: string]: unknown;
}

export interface IndicatorRecord {
  kind: 'indicator';
  type: string;
  value: string;
  firstSeen: string | null;
  confidence: number | null;
  labels: string[];
  [extra: string]: unknown;
}

export interface TransactionRecord {
  kind: 'transaction';
  chain: string;
  hash: string;
  blockNumber: number;
  from: string;
  to: string | null;
  value: string;
  timestamp: string | null;
  [extra: string]: unknown;
}

/** What custom APIs return when no richer mapping applies: the upstream object, as is. */
export interface GenericRecord {
  kind: 'record';
  [key: string]: unknown;
}

export type NormalizedRecord =
  | VulnerabilityRecord
  | EventRecord
  | IndicatorRecord
  | TransactionRecord
  | GenericRecord;
