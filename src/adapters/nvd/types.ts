/**
 * NVD CVE API 2.0 response (https://nvd.nist.gov/developers/vulnerabilities, JSON schema
 * https://csrc.nist.gov/schema/nvd/api/2.0/cve_api_json_2.0.schema).
 *
 * Everything the schema does not require, and a few things it does, are optional here: the mapper
 * must survive records NVD has not analysed yet (no metrics, weaknesses or configurations).
 *
 * Timestamps (`published`, `lastModified`, `timestamp`, ...) come WITHOUT a zone, e.g.
 * `2024-01-02T15:15:08.123`; they are UTC.
 */

export interface NvdCveResponse {
  /** Number of CVEs in this page (not the requested page size). */
  resultsPerPage: number;
  startIndex: number;
  totalResults: number;
  /** `NVD_CVE` */
  format: string;
  /** `2.0` */
  version: string;
  timestamp: string;
  vulnerabilities: NvdVulnerabilityItem[];
}

export interface NvdVulnerabilityItem {
  cve: NvdCve;
}

export interface NvdLangString {
  lang: string;
  value: string;
}

export interface NvdCve {
  /** e.g. `CVE-2024-0001` */
  id: string;
  sourceIdentifier?: string;
  published?: string;
  lastModified?: string;
  /** `Received`, `Awaiting Analysis`, `Undergoing Analysis`, `Analyzed`, `Modified`, `Deferred`, `Rejected`... */
  vulnStatus?: string;
  evaluatorComment?: string;
  evaluatorSolution?: string;
  evaluatorImpact?: string;
  cisaExploitAdd?: string;
  cisaActionDue?: string;
  cisaRequiredAction?: string;
  cisaVulnerabilityName?: string;
  cveTags?: NvdCveTag[];
  descriptions?: NvdLangString[];
  metrics?: NvdMetrics;
  weaknesses?: NvdWeakness[];
  configurations?: NvdConfiguration[];
  references?: NvdReference[];
  vendorComments?: NvdVendorComment[];
}

export interface NvdCveTag {
  sourceIdentifier: string;
  tags: string[];
}

export interface NvdMetrics {
  cvssMetricV40?: NvdCvssMetricV40[];
  cvssMetricV31?: NvdCvssMetricV3[];
  cvssMetricV30?: NvdCvssMetricV3[];
  cvssMetricV2?: NvdCvssMetricV2[];
}

export type NvdMetricType = 'Primary' | 'Secondary';

/** CVSS v2 metric: `baseSeverity` and the sub-scores sit BESIDE `cvssData`, not inside it. */
export interface NvdCvssMetricV2 {
  source: string;
  type: NvdMetricType | string;
  cvssData: NvdCvssDataV2;
  baseSeverity?: string;
  exploitabilityScore?: number;
  impactScore?: number;
  acInsufInfo?: boolean;
  obtainAllPrivilege?: boolean;
  obtainUserPrivilege?: boolean;
  obtainOtherPrivilege?: boolean;
  userInteractionRequired?: boolean;
}

export interface NvdCvssDataV2 {
  /** `2.0` */
  version: string;
  vectorString: string;
  baseScore: number;
  accessVector?: string;
  accessComplexity?: string;
  authentication?: string;
  confidentialityImpact?: string;
  integrityImpact?: string;
  availabilityImpact?: string;
  [key: string]: unknown;
}

/** CVSS v3.0 and v3.1 metric: `baseSeverity` is inside `cvssData`. */
export interface NvdCvssMetricV3 {
  source: string;
  type: NvdMetricType | string;
  cvssData: NvdCvssDataV3;
  exploitabilityScore?: number;
  impactScore?: number;
}

export interface NvdCvssDataV3 {
  /** `3.0` or `3.1` */
  version: string;
  vectorString: string;
  baseScore: number;
  baseSeverity: string;
  attackVector?: string;
  attackComplexity?: string;
  privilegesRequired?: string;
  userInteraction?: string;
  scope?: string;
  confidentialityImpact?: string;
  integrityImpact?: string;
  availabilityImpact?: string;
  [key: string]: unknown;
}

/** CVSS v4.0 metric: `baseSeverity` is inside `cvssData`; no sub-scores. */
export interface NvdCvssMetricV40 {
  source: string;
  type: NvdMetricType | string;
  cvssData: NvdCvssDataV40;
}

export interface NvdCvssDataV40 {
  /** `4.0` */
  version: string;
  vectorString: string;
  baseScore: number;
  baseSeverity: string;
  attackVector?: string;
  attackComplexity?: string;
  attackRequirements?: string;
  privilegesRequired?: string;
  userInteraction?: string;
  vulnConfidentialityImpact?: string;
  vulnIntegrityImpact?: string;
  vulnAvailabilityImpact?: string;
  subConfidentialityImpact?: string;
  subIntegrityImpact?: string;
  subAvailabilityImpact?: string;
  exploitMaturity?: string;
  [key: string]: unknown;
}

export interface NvdWeakness {
  source: string;
  type: NvdMetricType | string;
  /** Values are `CWE-<n>` or the placeholders `NVD-CWE-Other` / `NVD-CWE-noinfo`. */
  description: NvdLangString[];
}

export interface NvdConfiguration {
  operator?: 'AND' | 'OR' | string;
  negate?: boolean;
  nodes: NvdNode[];
}

export interface NvdNode {
  operator: 'AND' | 'OR' | string;
  negate?: boolean;
  cpeMatch: NvdCpeMatch[];
}

export interface NvdCpeMatch {
  vulnerable: boolean;
  /** CPE 2.3 formatted string (match criteria, may contain wildcards). */
  criteria: string;
  matchCriteriaId?: string;
  versionStartExcluding?: string;
  versionStartIncluding?: string;
  versionEndExcluding?: string;
  versionEndIncluding?: string;
}

export interface NvdReference {
  url: string;
  source?: string;
  tags?: string[];
}

export interface NvdVendorComment {
  organization: string;
  comment: string;
  lastModified: string;
}

/** Query parameters of `GET /rest/json/cves/2.0` used by the connector (all optional). */
export interface NvdCveQuery {
  lastModStartDate?: string;
  lastModEndDate?: string;
  pubStartDate?: string;
  pubEndDate?: string;
  resultsPerPage?: number;
  startIndex?: number;
  cveId?: string;
  noRejected?: boolean;
}

export const NVD_CVE_PATH = '/rest/json/cves/2.0';
export const NVD_DEFAULT_BASE_URL = 'https://services.nvd.nist.gov';
export const NVD_MAX_RESULTS_PER_PAGE = 2000;
export const NVD_MAX_RANGE_DAYS = 120;
/** The `apiKey` request header (NVD reads the key from a header, not from the query string). */
export const NVD_API_KEY_HEADER = 'apiKey';
