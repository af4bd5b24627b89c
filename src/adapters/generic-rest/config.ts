/**
 * Configuration and credentials of the `generic_rest` provider (API.md, "Provider configuration").
 */
import { OPERATIONAL_PROPERTIES } from '../operations.js';
import { parseProviderConfig } from '../schema-validation.js';
import { ConnectorError } from '../../errors/connector-error.js';
import type { AuthType, JsonSchema } from '../spi.js';
import { DEFAULT_API_KEY_HEADER, REQUIRED_CREDENTIALS } from '../http/auth.js';
import type { OAuthClientAuthMethod } from '../http/auth.js';
import { MANIFEST_SCHEMA, type CursorDefinition, type PaginationDefinition, type StreamDefinition } from '../declarative/manifest.js';

/** The stream parts of the manifest language a custom API may set (manifest.schema.json). */
const STREAM_SCHEMA = ((MANIFEST_SCHEMA.$defs as Record<string, JsonSchema>).stream!.properties ?? {}) as Record<string, JsonSchema>;

export interface GenericRestConfig {
  baseUrl: string;
  path: string;
  query: Record<string, string | number>;
  method: 'GET' | 'POST';
  body?: unknown;
  pagination?: PaginationDefinition;
  cursor?: CursorDefinition;
  map?: StreamDefinition['map'];
  initialLookbackSec: number;
  pageSize?: number;
  recordsPointer: string;
  dedupKey?: string[];
  maxPages: number;
  apiKeyHeader: string;
  apiKeyQueryParam?: string;
  tokenUrl?: string;
  scope?: string;
  tokenAuthMethod: OAuthClientAuthMethod;
  timeoutMs: number;
  syncIntervalSec: number;
  healthCheckIntervalSec: number;
  /** A passing check slower than this counts as DEGRADED. */
  degradedLatencyMs: number;
  /** Consecutive failed checks or runs before the connector is FAILING (DEGRADED until then). */
  failureThreshold: number;
}

const HTTP_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://';

export const configSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Generic REST API',
  type: 'object',
  additionalProperties: false,
  required: ['baseUrl'],
  // The manifest language's definitions, so pagination, cursor and map are checked as in a manifest.
  $defs: MANIFEST_SCHEMA.$defs,
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: HTTP_URL_PATTERN,
      maxLength: 2048,
      description: 'Scheme, host and optional base path of the API, e.g. https://api.example.com/v1. No credentials in the URL.',
    },
    path: {
      type: 'string',
      default: '/',
      pattern: '^/',
      maxLength: 2048,
      description: 'Path of the records endpoint, appended to baseUrl.',
    },
    query: {
      type: 'object',
      default: {},
      maxProperties: 100,
      additionalProperties: { type: ['string', 'number'], maxLength: 2048 },
      description: 'Query parameters of the first page request. Not for secrets: use apiKeyQueryParam and the credentials.',
    },
    method: { type: 'string', enum: ['GET', 'POST'], default: 'GET', maxLength: 4, description: 'HTTP method of the records request.' },
    body: {
      type: 'object',
      maxProperties: 100,
      description: 'JSON body of a POST, templated like the query ({{window.start}}, {{cursor}}, {{config.<key>}}, {{limit}}).',
    },
    pagination: {
      ...STREAM_SCHEMA.pagination,
      description: 'How pages follow, in the manifest language (docs/manifest-language.md); default { type: link } (RFC 8288 Link rel="next").',
    },
    cursor: {
      ...STREAM_SCHEMA.cursor,
      description: 'Incremental reads: the record field whose highest value the next sync starts from (manifest language); default: none.',
    },
    map: {
      ...STREAM_SCHEMA.map,
      description: 'Mapping to a normalized kind (event, indicator, vulnerability, transaction) in the manifest language; default: the upstream object as a RECORD.',
    },
    initialLookbackSec: {
      type: 'integer',
      minimum: 0,
      maximum: 31536000,
      default: 86400,
      description: 'With a time-windowed query: how far back the first sync reaches ({{window.start}}).',
    },
    pageSize: { type: 'integer', minimum: 1, maximum: 100000, description: 'Records per page where pagination has a limit ({{limit}}).' },
    recordsPointer: {
      type: 'string',
      default: '',
      pattern: '^(/([^~]|~[01])*)*$',
      maxLength: 1024,
      description: 'JSON Pointer (RFC 6901) to the records array in each response; "" is the body itself.',
    },
    dedupKey: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: { type: 'string', pattern: '^(/([^~]|~[01])*)+$', maxLength: 256 },
      description: 'JSON Pointers (RFC 6901) into each upstream record whose values identify the same finding, e.g. ["/signature", "/src", "/dst"]. Default: the whole record.',
    },
    maxPages: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 10,
      description: 'Pages followed through Link rel="next" per read.',
    },
    apiKeyHeader: {
      type: 'string',
      default: DEFAULT_API_KEY_HEADER,
      pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
      maxLength: 256,
      description: 'Header carrying the API key (auth type API_KEY).',
    },
    apiKeyQueryParam: {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description: 'Send the API key as this query parameter instead of a header (auth type API_KEY).',
    },
    tokenUrl: {
      type: 'string',
      format: 'uri',
      pattern: HTTP_URL_PATTERN,
      maxLength: 2048,
      description: 'OAuth 2.0 token endpoint (auth type OAUTH2_CLIENT_CREDENTIALS).',
    },
    scope: {
      type: 'string',
      maxLength: 1024,
      description: 'OAuth 2.0 scope, space-separated.',
    },
    tokenAuthMethod: {
      type: 'string',
      enum: ['client_secret_basic', 'client_secret_post'],
      default: 'client_secret_basic',
      description: 'How the client authenticates to the token endpoint.',
    },
    timeoutMs: {
      type: 'integer',
      minimum: 100,
      maximum: 120000,
      default: 15000,
      description: 'Budget of one request to the API, retries included.',
    },
    syncIntervalSec: {
      type: 'integer',
      minimum: 1,
      maximum: 604800,
      default: 300,
      description: 'Seconds between ingestion runs.',
    },
    healthCheckIntervalSec: {
      type: 'integer',
      minimum: 1,
      maximum: 86400,
      default: 300,
      description: 'Seconds between scheduled health checks.',
    },
    degradedLatencyMs: {
      type: 'integer',
      minimum: 1,
      maximum: 120000,
      default: 5000,
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

const secretString = (description: string) => ({ type: 'string', minLength: 1, maxLength: 8192, writeOnly: true, description });

export const credentialsSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Generic REST API credentials',
  type: 'object',
  additionalProperties: false,
  properties: {
    apiKey: secretString('API key (API_KEY).'),
    username: secretString('User name (BASIC).'),
    password: secretString('Password (BASIC).'),
    token: secretString('Bearer token (BEARER).'),
    clientId: secretString('OAuth 2.0 client id (OAUTH2_CLIENT_CREDENTIALS).'),
    clientSecret: secretString('OAuth 2.0 client secret (OAUTH2_CLIENT_CREDENTIALS).'),
  },
};

export const requiredCredentials: Partial<Record<AuthType, string[]>> = { ...REQUIRED_CREDENTIALS };

/** Validates `raw` against {@link configSchema} and fills defaults; throws CONFIG_INVALID. */
export function parseConfig(raw: unknown): GenericRestConfig {
  return parseProviderConfig<GenericRestConfig>(configSchema, raw);
}
