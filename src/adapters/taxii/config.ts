/**
 * Configuration and credentials of the `taxii21` provider, and the timestamps a TAXII 2.1 client
 * writes (`added_after`) and orders by (STIX `modified`).
 */
import { ConnectorError } from '../../errors/connector-error.js';
import { OPERATIONAL_PROPERTIES } from '../operations.js';
import { parseProviderConfig } from '../schema-validation.js';
import type { AuthType, JsonSchema } from '../spi.js';

export interface TaxiiConfig {
  baseUrl: string;
  discoveryPath: string;
  apiRoot?: string;
  collectionId: string;
  limit: number;
  addedAfter?: string;
  objectTypes?: string[];
  apiKeyHeader: string;
  apiKeyPrefix?: string;
  tokenUrl?: string;
  scope?: string;
  tokenAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  timeoutMs: number;
}

export const TAXII_AUTH_TYPES: AuthType[] = ['NONE', 'BASIC', 'API_KEY', 'BEARER', 'OAUTH2_CLIENT_CREDENTIALS'];

/** TAXII 2.1 §1.6.8: the media type of every TAXII resource, sent in Accept on every request. */
export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';

const HTTP_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://';

export const configSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'TAXII 2.1 collection',
  type: 'object',
  additionalProperties: false,
  required: ['baseUrl', 'collectionId'],
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: HTTP_URL_PATTERN,
      maxLength: 2048,
      description: 'Scheme and host of the TAXII 2.1 server (discovery is at baseUrl + discoveryPath). No credentials in the URL.',
    },
    discoveryPath: { type: 'string', maxLength: 512, pattern: '^/', default: '/taxii2/', description: 'Path of the discovery resource (TAXII 2.1 §4.1).' },
    apiRoot: {
      type: 'string',
      maxLength: 2048,
      description: "The API root to read (an absolute URL, or a path on baseUrl). Default: the discovery's `default` API root, else the first listed one that holds collectionId.",
    },
    collectionId: { type: 'string', minLength: 1, maxLength: 256, description: 'The id of the collection to read (see the test: it lists the collections the account can read).' },
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 500, description: 'Objects asked for per page (`limit`); the server may send fewer.' },
    addedAfter: {
      type: 'string',
      format: 'date-time',
      maxLength: 64,
      description: 'Where the first sync begins (`added_after`, RFC 3339). Default: the whole collection. Later syncs continue from the cursor.',
    },
    objectTypes: {
      type: 'array',
      maxItems: 50,
      items: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,249}$', maxLength: 250 },
      description: 'Only these STIX types (`match[type]`), e.g. ["indicator", "malware"]. Default: every type.',
    },
    apiKeyHeader: { type: 'string', maxLength: 128, default: 'X-API-Key', description: 'Header carrying the API key (API_KEY), e.g. Authorization or X-API-Key.' },
    apiKeyPrefix: { type: 'string', maxLength: 64, description: 'Written before the API key in its header, e.g. "Token ".' },
    tokenUrl: { type: 'string', format: 'uri', pattern: HTTP_URL_PATTERN, maxLength: 2048, description: 'OAuth 2.0 token endpoint (OAUTH2_CLIENT_CREDENTIALS).' },
    scope: { type: 'string', maxLength: 1024, description: 'OAuth 2.0 scope, when the authorization server needs one.' },
    tokenAuthMethod: { type: 'string', enum: ['client_secret_basic', 'client_secret_post'], default: 'client_secret_basic', description: 'How the client authenticates to the token endpoint.' },
    timeoutMs: { type: 'integer', minimum: 1000, maximum: 300000, default: 30000, description: 'Budget of one request to the TAXII server.' },
    syncIntervalSec: { type: 'integer', minimum: 1, maximum: 604800, default: 900, description: 'Seconds between ingestion runs.' },
    healthCheckIntervalSec: { type: 'integer', minimum: 1, maximum: 86400, default: 300, description: 'Seconds between scheduled health checks.' },
    degradedLatencyMs: { type: 'integer', minimum: 1, maximum: 300000, default: 5000, description: 'A passing health check slower than this marks the connector DEGRADED.' },
    failureThreshold: { type: 'integer', minimum: 1, maximum: 100, default: 3, description: 'Consecutive failed checks or runs before the connector is FAILING.' },
    ...OPERATIONAL_PROPERTIES,
  },
};

const secret = (description: string) => ({ type: 'string', minLength: 1, maxLength: 4096, writeOnly: true, description });

export const credentialsSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'TAXII 2.1 credentials',
  type: 'object',
  additionalProperties: false,
  properties: {
    username: secret('HTTP Basic user name (BASIC).'),
    password: secret('HTTP Basic password (BASIC).'),
    apiKey: secret('API key (API_KEY), sent in apiKeyHeader.'),
    token: secret('Bearer token (BEARER).'),
    clientId: secret('OAuth 2.0 client id (OAUTH2_CLIENT_CREDENTIALS).'),
    clientSecret: secret('OAuth 2.0 client secret (OAUTH2_CLIENT_CREDENTIALS).'),
  },
};

export const requiredCredentials: Partial<Record<AuthType, string[]>> = {
  NONE: [],
  BASIC: ['username', 'password'],
  API_KEY: ['apiKey'],
  BEARER: ['token'],
  OAUTH2_CLIENT_CREDENTIALS: ['clientId', 'clientSecret'],
};

export function parseConfig(raw: unknown): TaxiiConfig {
  const cfg = parseProviderConfig<TaxiiConfig>(configSchema, raw);
  if (cfg.addedAfter !== undefined && normalizeTimestamp(cfg.addedAfter) === null) {
    throw new ConnectorError('CONFIG_INVALID', 'Invalid configuration: addedAfter must be an RFC 3339 date-time with a zone, e.g. 2024-01-01T00:00:00Z');
  }
  if (cfg.apiRoot !== undefined) {
    try {
      const url = new URL(cfg.apiRoot, cfg.baseUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      if (url.username || url.password) throw new Error('credentials');
    } catch {
      throw new ConnectorError('CONFIG_INVALID', 'Invalid configuration: apiRoot must be an http(s) URL or a path, without credentials');
    }
  }
  return cfg;
}

export function assertAuthType(authType: AuthType): void {
  if (!TAXII_AUTH_TYPES.includes(authType)) {
    throw new ConnectorError('CONFIG_INVALID', `Auth type ${authType} is not supported by taxii21 (use ${TAXII_AUTH_TYPES.join(', ')})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Timestamps

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 timestamp in UTC with a `Z`, its fraction kept digit for digit (a TAXII server's
 * `X-TAXII-Date-Added-Last` may carry microseconds; sending fewer back would repeat or skip
 * objects). Null when it is not a valid timestamp.
 */
export function normalizeTimestamp(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = RFC3339.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, Math.min(+s!, 59));
  const check = new Date(ms);
  if (check.getUTCMonth() !== +mo! - 1 || check.getUTCDate() !== +d! || +h! > 23 || +mi! > 59 || +s! > 60) return null;
  if (+s! === 60) ms += 1000;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    ms -= sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6))) * 60_000;
  }
  const whole = new Date(ms).toISOString().slice(0, 19);
  return `${whole}${frac ? `.${frac}` : ''}Z`;
}

/** A fixed-width, text-ordered form (nanoseconds) of a timestamp, for comparing versions; null if invalid. */
export function versionKey(value: unknown): string | null {
  const ts = normalizeTimestamp(value);
  if (!ts) return null;
  const frac = ts.length > 20 ? ts.slice(20, -1) : '';
  return `${ts.slice(0, 19)}.${(frac + '000000000').slice(0, 9)}Z`;
}
