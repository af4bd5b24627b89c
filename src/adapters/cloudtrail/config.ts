/**
 * Configuration and credentials of the `aws_cloudtrail` provider: the S3 bucket a trail delivers
 * to, where in it, and how to sign (SigV4 access keys, optionally a role to assume).
 */
import { ConnectorError } from '../../errors/connector-error.js';
import { OPERATIONAL_PROPERTIES } from '../operations.js';
import { bareUrlProblems, parseProviderConfig, renameSetting } from '../schema-validation.js';
import type { AuthType, ConnectorConfig, JsonSchema } from '../spi.js';

export interface CloudTrailConfig {
  bucket: string;
  region: string;
  /** The trail's S3 key prefix (without a trailing slash), '' when none. */
  prefix: string;
  /** Organization trails: `o-…`; unset: found by listing (both layouts are read). */
  organizationId?: string;
  /** Accounts to read; empty: every account found under AWSLogs/. */
  accounts: string[];
  /** Regions to read; empty: every region found under each account's CloudTrail/. */
  regions: string[];
  /** Custom S3 endpoint (MinIO, on-premises, a replica); unset: AWS's endpoint for `region`. */
  endpoint?: string;
  forcePathStyle: boolean;
  roleArn?: string;
  externalId?: string;
  roleSessionName: string;
  /** STS endpoint for AssumeRole; unset: AWS's regional STS endpoint. */
  stsEndpoint?: string;
  /** Where an initial sync begins (UTC day); unset: `lookbackDays` before the first read. */
  startDate?: string;
  /** Days before the newest day read that every read lists again (late-arriving files). */
  lookbackDays: number;
  /** Minutes before the newest file read in a day prefix that the next listing starts at (late-visible files). */
  settleMinutes: number;
  /** MaxKeys of one ListObjectsV2 page. */
  maxKeys: number;
  /** Largest log file read, compressed (ContentLength) and decompressed. */
  maxObjectBytes: number;
  maxAttempts: number;
  timeoutMs: number;
  syncIntervalSec: number;
  healthCheckIntervalSec: number;
  degradedLatencyMs: number;
  failureThreshold: number;
}

export const CLOUDTRAIL_AUTH_TYPES: AuthType[] = ['API_KEY'];
const MiB = 1024 * 1024;
const HTTP_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://';
export const ACCOUNT_ID = /^\d{12}$/;
export const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
export const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export const configSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'AWS CloudTrail (S3)',
  type: 'object',
  additionalProperties: false,
  required: ['bucket'],
  properties: {
    bucket: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'The S3 bucket the trail delivers its log files to (S3 itself judges the name: a wrong one comes back as NoSuchBucket or InvalidBucketName).',
    },
    region: {
      type: 'string',
      pattern: '^[a-z]{2}(-[a-z]+)+-\\d{1,2}$',
      maxLength: 32,
      default: 'us-east-1',
      description: "The bucket's AWS Region (requests are signed for it).",
    },
    prefix: {
      type: 'string',
      maxLength: 512,
      pattern: '^[^\\u0000-\\u001f]*$',
      default: '',
      description: "The trail's S3 key prefix, if it has one (the part before AWSLogs/).",
    },
    organizationId: {
      type: 'string',
      pattern: '^o-[a-z0-9]{10,32}$',
      description: 'Organization trails deliver under AWSLogs/<o-id>/<account>/. Unset: both layouts are found by listing.',
    },
    accounts: {
      type: 'array',
      maxItems: 500,
      uniqueItems: true,
      items: { type: 'string', pattern: '^\\d{12}$' },
      default: [],
      description: 'Account ids to read. Empty: every account found under AWSLogs/.',
    },
    regions: {
      type: 'array',
      maxItems: 64,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[a-z]{2}(-[a-z]+)+-\\d{1,2}$' },
      default: [],
      description: 'Regions to read. Empty: every region found under each account.',
    },
    endpoint: {
      type: 'string',
      format: 'uri',
      pattern: HTTP_URL_PATTERN,
      maxLength: 2048,
      description: 'A custom S3 endpoint (MinIO, an on-premises or S3-compatible store, a replica). Unset: AWS S3 in region. No credentials, query or fragment in the URL.',
    },
    forcePathStyle: {
      type: 'boolean',
      default: false,
      description: 'Address the bucket in the path (https://host/bucket/key) rather than the host name; most S3-compatible stores need it.',
    },
    roleArn: {
      type: 'string',
      pattern: '^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]{1,512}$',
      maxLength: 2048,
      description: 'A role to assume (STS AssumeRole) with the access keys before reading, e.g. a read-only role in the log archive account.',
    },
    externalId: {
      type: 'string',
      minLength: 2,
      maxLength: 1224,
      pattern: '^[\\w+=,.@:/-]+$',
      description: "The role's external id, when its trust policy requires one.",
    },
    roleSessionName: {
      type: 'string',
      pattern: '^[\\w+=,.@-]{2,64}$',
      default: 'connector-subgraph',
      description: 'The session name of the assumed role (shows up in the trail as the caller).',
    },
    stsEndpoint: {
      type: 'string',
      format: 'uri',
      pattern: HTTP_URL_PATTERN,
      maxLength: 2048,
      description: 'A custom STS endpoint for AssumeRole (VPC endpoint, sovereign cloud). Unset: the regional STS endpoint.',
    },
    startDate: {
      type: 'string',
      format: 'date',
      description: 'The first UTC day an initial sync reads (YYYY-MM-DD). Default: lookbackDays before the first read.',
    },
    lookbackDays: {
      type: 'integer',
      minimum: 0,
      maximum: 14,
      default: 2,
      description: 'Each read lists again the day prefixes this many days before the newest day it read, so files CloudTrail delivers late into an earlier day are still read.',
    },
    settleMinutes: {
      type: 'integer',
      minimum: 0,
      maximum: 1440,
      default: 60,
      description: 'Each day prefix is listed again from this many minutes before the newest file read in it, so a file that becomes visible after a newer one was read is still found (1440: the whole day).',
    },
    maxKeys: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 1000,
      description: 'Keys per ListObjectsV2 page.',
    },
    maxObjectBytes: {
      type: 'integer',
      minimum: 1024,
      maximum: 1024 * MiB,
      default: 256 * MiB,
      description: 'Largest log file read, compressed and decompressed; a larger one fails the read (BAD_RESPONSE).',
    },
    maxAttempts: {
      type: 'integer',
      minimum: 1,
      maximum: 10,
      default: 3,
      description: "Attempts per S3 request (the SDK's standard retry: throttling such as SlowDown and 5xx are retried with backoff).",
    },
    timeoutMs: {
      type: 'integer',
      minimum: 100,
      maximum: 300000,
      default: 30000,
      description: 'Budget of one S3 request (connection and response).',
    },
    syncIntervalSec: { type: 'integer', minimum: 1, maximum: 604800, default: 300, description: 'Seconds between ingestion runs (CloudTrail delivers about every 5 minutes).' },
    healthCheckIntervalSec: { type: 'integer', minimum: 1, maximum: 86400, default: 300, description: 'Seconds between scheduled health checks.' },
    degradedLatencyMs: { type: 'integer', minimum: 1, maximum: 300000, default: 10000, description: 'A passing health check slower than this marks the connector DEGRADED.' },
    failureThreshold: { type: 'integer', minimum: 1, maximum: 100, default: 3, description: 'Consecutive failed checks or runs before the connector is FAILING.' },
    ...OPERATIONAL_PROPERTIES,
  },
};

export const credentialsSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'AWS CloudTrail credentials',
  type: 'object',
  additionalProperties: false,
  properties: {
    accessKeyId: {
      type: 'string',
      minLength: 4,
      maxLength: 128,
      writeOnly: true,
      description: 'AWS access key id (AKIA… for an IAM user, ASIA… for temporary credentials).',
    },
    secretAccessKey: { type: 'string', minLength: 4, maxLength: 256, writeOnly: true, description: 'The secret access key.' },
    sessionToken: {
      type: 'string',
      minLength: 4,
      maxLength: 8192,
      writeOnly: true,
      description: 'Optional: the session token of temporary credentials (ASIA… keys).',
    },
  },
};

export const requiredCredentials: Partial<Record<AuthType, string[]>> = { API_KEY: ['accessKeyId', 'secretAccessKey'] };
export const optionalCredentials: Partial<Record<AuthType, string[]>> = { API_KEY: ['sessionToken'] };

/**
 * Version of {@link configSchema}: 2 renamed the custom S3 endpoint `baseUrl` → `endpoint` (the
 * published API contract's name). Stored configs are upgraded at start-up ({@link migrateCloudTrailConfig}).
 */
export const CLOUDTRAIL_CONFIG_VERSION = 2;

/** Upgrades a stored config of `fromVersion` to {@link CLOUDTRAIL_CONFIG_VERSION}; returns a new object. */
export function migrateCloudTrailConfig(config: ConnectorConfig, fromVersion: number): ConnectorConfig {
  return fromVersion < 2 ? renameSetting(config, 'baseUrl', 'endpoint') : structuredClone(config);
}

/**
 * Config rules beyond the JSON Schema (checked at create and update, and by {@link parseConfig}):
 * `endpoint` is where S3 requests go, so it carries no query or fragment (userinfo and
 * secret-looking query parameters are refused in every URL by configProblems).
 */
export function cloudTrailConfigProblems(config: ConnectorConfig): Array<{ path: string; message: string }> {
  return bareUrlProblems(config, 'endpoint');
}

/** Validates `raw` against {@link configSchema} and fills defaults; throws CONFIG_INVALID. */
export function parseConfig(raw: unknown): CloudTrailConfig {
  const cfg = parseProviderConfig<CloudTrailConfig>(configSchema, raw);
  const problems = cloudTrailConfigProblems(cfg as unknown as ConnectorConfig);
  if (problems.length) throw new ConnectorError('CONFIG_INVALID', `Invalid configuration: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);
  if (cfg.stsEndpoint !== undefined) {
    const sts = new URL(cfg.stsEndpoint);
    if (sts.username || sts.password || sts.search || sts.hash) {
      throw new ConnectorError('CONFIG_INVALID', 'Invalid configuration: stsEndpoint must not contain credentials, a query or a fragment');
    }
  }
  cfg.prefix = cfg.prefix.replace(/^\/+|\/+$/g, '');
  if (cfg.startDate !== undefined && Number.isNaN(Date.parse(`${cfg.startDate}T00:00:00Z`))) {
    throw new ConnectorError('CONFIG_INVALID', 'Invalid configuration: startDate is not a valid date (YYYY-MM-DD)');
  }
  if (cfg.externalId !== undefined && cfg.roleArn === undefined) {
    throw new ConnectorError('CONFIG_INVALID', 'Invalid configuration: externalId needs roleArn');
  }
  return cfg;
}

/** The access keys to sign with; refuses what cannot sign before anything is contacted. */
export function awsCredentials(authType: AuthType, credentials: Record<string, string> | undefined): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  if (!CLOUDTRAIL_AUTH_TYPES.includes(authType)) {
    throw new ConnectorError('CONFIG_INVALID', `The aws_cloudtrail provider signs with AWS access keys (auth type API_KEY), not ${String(authType)}`);
  }
  const { accessKeyId, secretAccessKey, sessionToken } = credentials ?? {};
  if (!accessKeyId || !secretAccessKey) {
    throw new ConnectorError('CONFIG_INVALID', 'The credentials need accessKeyId and secretAccessKey');
  }
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}
