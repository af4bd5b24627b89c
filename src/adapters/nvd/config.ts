/**
 * Configuration and credentials of the `nvd` provider (API.md, "Provider configuration").
 */
import { OPERATIONAL_PROPERTIES } from '../operations.js';
import { parseProviderConfig } from '../schema-validation.js';
import { ConnectorError } from '../../errors/connector-error.js';
import type { AuthType, JsonSchema } from '../spi.js';
import { NVD_CVE_PATH, NVD_DEFAULT_BASE_URL, NVD_MAX_RESULTS_PER_PAGE } from './types.js';

export type NvdDateField = 'lastModified' | 'published';

export interface NvdConfig {
  baseUrl: string;
  resultsPerPage: number;
  /** Where an initial sync begins (ISO 8601 with offset); unset: 30 days before the read. */
  startDate?: string;
  /** Which date the windows filter on: `lastModStartDate`/`lastModEndDate` or `pubStartDate`/`pubEndDate`. */
  dateField: NvdDateField;
  timeoutMs: number;
  syncIntervalSec: number;
  healthCheckIntervalSec: number;
  /** A passing check slower than this counts as DEGRADED. */
  degradedLatencyMs: number;
  /** Consecutive failed checks or runs before the connector is FAILING (DEGRADED until then). */
  failureThreshold: number;
}

export const NVD_AUTH_TYPES: AuthType[] = ['NONE', 'API_KEY'];
/** Days before the read that an initial sync starts from when `startDate` is not set. */
export const DEFAULT_START_DAYS = 30;

const HTTP_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://';

export const configSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'NVD CVE API 2.0',
  type: 'object',
  additionalProperties: false,
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: HTTP_URL_PATTERN,
      maxLength: 2048,
      default: NVD_DEFAULT_BASE_URL,
      description: `Scheme and host of the NVD API (${NVD_CVE_PATH} is appended), or of a mirror or proxy that serves it. No credentials in the URL.`,
    },
    resultsPerPage: {
      type: 'integer',
      minimum: 1,
      maximum: NVD_MAX_RESULTS_PER_PAGE,
      default: NVD_MAX_RESULTS_PER_PAGE,
      description: 'CVEs per request (NVD allows at most 2000). One batch per page.',
    },
    startDate: {
      type: 'string',
      format: 'date-time',
      maxLength: 64,
      description: `Where an initial sync begins (ISO 8601 date-time with an offset, e.g. 2024-01-01T00:00:00Z). Default: ${DEFAULT_START_DAYS} days before the first read. Later reads continue from the cursor.`,
    },
    dateField: {
      type: 'string',
      enum: ['lastModified', 'published'],
      default: 'lastModified',
      description: 'lastModified: every new or changed CVE (lastModStartDate/lastModEndDate); published: new CVEs only (pubStartDate/pubEndDate).',
    },
    timeoutMs: {
      type: 'integer',
      minimum: 1000,
      maximum: 300000,
      default: 60000,
      description: 'Budget of one request to NVD (pages of 2000 CVEs are several megabytes and NVD can be slow).',
    },
    syncIntervalSec: {
      type: 'integer',
      minimum: 1,
      maximum: 604800,
      default: 7200,
      description: 'Seconds between ingestion runs (NVD asks clients not to sync more often than every two hours).',
    },
    healthCheckIntervalSec: {
      type: 'integer',
      minimum: 1,
      maximum: 86400,
      default: 900,
      description: 'Seconds between scheduled health checks (each costs one request of the rate limit).',
    },
    degradedLatencyMs: {
      type: 'integer',
      minimum: 1,
      maximum: 300000,
      default: 10000,
      description: 'A passing health check slower than this marks the connector DEGRADED.',
    },
    failureThreshold: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: 3,
      description: 'Consecutive failed checks or runs before the connector is FAILING.',
    },
    ...OPERATIONAL_PROPERTIES,
  },
};

export const credentialsSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'NVD CVE API 2.0 credentials',
  type: 'object',
  additionalProperties: false,
  properties: {
    apiKey: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      writeOnly: true,
      description: 'NVD API key (API_KEY), sent in the apiKey request header; raises the rate limit from 5 to 50 requests per 30 s.',
    },
  },
};

export const requiredCredentials: Partial<Record<AuthType, string[]>> = { NONE: [], API_KEY: ['apiKey'] };

/** Validates `raw` against {@link configSchema} and fills defaults; throws CONFIG_INVALID. */
export function parseConfig(raw: unknown): NvdConfig {
  const cfg = parseProviderConfig<NvdConfig>(configSchema, raw);
  if (cfg.startDate !== undefined && Number.isNaN(Date.parse(cfg.startDate))) {
    throw new ConnectorError('CONFIG_INVALID', 'Invalid configuration: startDate is not a valid date-time');
  }
  return cfg;
}

/** Refuses auth types NVD has no use for, before anything is contacted. */
export function assertAuthType(authType: AuthType): void {
  if (!NVD_AUTH_TYPES.includes(authType)) {
    throw new ConnectorError('CONFIG_INVALID', `The nvd provider supports the auth types ${NVD_AUTH_TYPES.join(' and ')}, not ${String(authType)}`);
  }
}

/** `GET {baseUrl}/rest/json/cves/2.0`, keeping a base path (a mirror or proxy under a prefix). */
export function cveEndpoint(cfg: NvdConfig): string {
  const base = new URL(cfg.baseUrl);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}${NVD_CVE_PATH}`;
  return base.toString();
}
