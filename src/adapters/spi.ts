/**
 * The adapter contract (ARCHITECTURE.md §5): spec / check / read.
 *
 * Adapters never touch the database and never see a tenant or a secret reference: the service
 * resolves secrets and hands them in. Every HTTP call goes through the shared client in
 * `./http`, which maps failures to `ConnectorError`.
 */
import type { ConnectorErrorCode } from '../errors/connector-error.js';
import type { NormalizedRecord } from './records.js';

export const CONNECTOR_TYPES = [
  'SIEM',
  'THREAT_INTEL',
  'OSINT',
  'BLOCKCHAIN',
  'CLOUD_LOGS',
  'ENDPOINT',
  'NETWORK',
  'VULNERABILITY',
  'CUSTOM_API',
] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

export const AUTH_TYPES = ['NONE', 'API_KEY', 'BASIC', 'BEARER', 'OAUTH2_CLIENT_CREDENTIALS'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

export const TEST_STEP_NAMES = ['CONNECT', 'AUTHENTICATE', 'SAMPLE_QUERY', 'VALIDATE_FORMAT'] as const;
export type TestStepName = (typeof TEST_STEP_NAMES)[number];

/** A JSON Schema (draft 2020-12 subset). Secret properties carry `writeOnly: true`. */
export type JsonSchema = Record<string, unknown>;

export type ConnectorConfig = Record<string, unknown>;
/** Secret values, keyed by the credentials schema's property names. Never logged or returned. */
export type Credentials = Record<string, string>;

/**
 * One message a push source sent us: a syslog message (its header already read), one HEC event,
 * or one line posted to `/intake/<connectorId>`. Decoding it never touches the network.
 */
export interface PushMessage {
  transport: 'udp' | 'tcp' | 'tls' | 'hec' | 'http';
  /** The sender's IP address. */
  remoteAddress: string;
  receivedAt: Date;
  /** Syslog HOSTNAME / HEC `host`, when the message says. */
  hostname: string | null;
  /** Syslog APP-NAME (RFC 3164 tag) / HEC `source`, when the message says. */
  appName: string | null;
  /** The syslog timestamp / HEC `time`, ISO 8601, when the message says. */
  timestamp: string | null;
  /**
   * The payload: a raw line or a HEC event that is a string; for syslog, the whole line when it
   * carries CEF or LEEF (their parsers read the header themselves and keep it), else the MSG after
   * the header.
   */
  text: string | null;
  /** A HEC event or NDJSON line that is a JSON object. */
  json: Record<string, unknown> | null;
}

export type DecodeResult = { ok: true; record: NormalizedRecord } | { ok: false; error: string };

/** Static description of a provider. */
export interface AdapterSpec {
  /** The `provider` value stored on a connector, e.g. `generic_rest`. */
  id: string;
  type: ConnectorType;
  name: string;
  description: string;
  authTypes: AuthType[];
  /** JSON Schema of the non-secret configuration. */
  configSchema: JsonSchema;
  /** JSON Schema of the credentials object; every property is secret (`writeOnly: true`). */
  credentialsSchema: JsonSchema;
  /** Which credential fields each auth type requires. */
  requiredCredentials: Partial<Record<AuthType, string[]>>;
  /** Credential fields an auth type also accepts when given (e.g. an AWS session token). */
  optionalCredentials?: Partial<Record<AuthType, string[]>>;
  eventTypes: string[];
  /** `poll` (default): the service reads the upstream; `push`: the upstream sends to our intake. */
  mode?: 'poll' | 'push';
  /** Where the vendor documents the API the provider reads. */
  documentationUrl?: string;
  /** Kinds of normalized records the provider produces (`event`, `indicator`, ...). */
  recordKinds?: string[];
  /**
   * Hand-written providers: Markdown for docs/providers.md under the provider's own heading (how it
   * reads, its cursor, and the record mapping), since no manifest describes them.
   */
  notes?: string;
  /** Version of the config schema; a connector's `schemaVersion` (default 1). */
  configVersion?: number;
  /** Rules a config must follow beyond its JSON Schema (checked at create and update; path relative to config). */
  configProblems?(config: ConnectorConfig): Array<{ path: string; message: string }>;
  /** Upgrades a stored config of an older `schemaVersion` to {@link configVersion} (manifest migrations). */
  migrateConfig?(config: ConnectorConfig, fromVersion: number): ConnectorConfig;
}

/** What a check or a read works with; resolved by the service just before the call. */
export interface ConnectionInput {
  config: ConnectorConfig;
  authType: AuthType;
  credentials: Credentials;
  /** The connector's event types: the streams to read (all when absent or empty). */
  eventTypes?: readonly string[];
}

export interface OAuthTokenInfo {
  expiresAt: Date | null;
  /** The token endpoint refused to issue a token (the client credentials need attention). */
  failed?: boolean;
}

/** Services the adapter may use; everything outside the process goes through `http`. */
export interface AdapterContext {
  /** The shared HTTP client (timeouts, retries, egress guard, secret scrubbing). */
  http: import('./http/client.js').HttpClient;
  /** Aborts an in-flight check or read (toggle off, shutdown, per-check timeout). */
  signal?: AbortSignal;
  /** Called when an OAuth 2.0 access token was obtained, so the service can keep `oauthTokenExpiresAt` current. */
  onOAuthToken?: (info: OAuthTokenInfo) => void;
  /** OAuth 2.0 access-token cache, one per process (`createOAuthTokenCache`); a module default when absent. */
  oauthTokens?: import('./http/auth.js').OAuthTokenCache;
  now?: () => Date;
}

export interface CheckStep {
  name: TestStepName;
  passed: boolean;
  /** High-resolution milliseconds. */
  latencyMs: number | null;
  message: string | null;
  errorCode: ConnectorErrorCode | null;
  retryable: boolean | null;
  remediation: string | null;
}

export interface CheckResult {
  success: boolean;
  /** Sum of the whole check, measured around every step (≥ the sum of step latencies). */
  latencyMs: number;
  steps: CheckStep[];
  /** At most 5 normalized records; never contains credentials. */
  sample: NormalizedRecord[];
  message: string | null;
}

export interface CheckOptions {
  /** Health checks ask for the cheap steps only (no more than one small request). */
  cheap?: boolean;
  /** Upper bound on sample records (≤ 5). */
  sampleSize?: number;
}

/** One batch read from the upstream, with the cursor to commit once a sink accepted it. */
export interface RecordBatch {
  records: NormalizedRecord[];
  cursor: ReadCursor;
  /** JSON Pointers into these records that identify the same finding (default: the kind's fields). */
  dedupKey?: readonly string[];
  /**
   * JSON Pointer to a version of the record that orders as text (e.g. a fixed-width UTC timestamp):
   * a record whose version is greater than the stored one's replaces it, even within the dedup
   * window (a revoked or modified STIX object updates its record). Unset: the window decides.
   */
  versionPointer?: string;
}

/** Adapter-defined, JSON-serialisable position in the upstream. */
export type ReadCursor = Record<string, unknown> | null;

export interface Adapter {
  readonly spec: AdapterSpec;
  /** Runs the named steps; never throws for upstream failures (they become failed steps). */
  check(ctx: AdapterContext, input: ConnectionInput, options?: CheckOptions): Promise<CheckResult>;
  /** Reads from `cursor` (null: from the start) in batches; throws `ConnectorError` on failure. */
  read(ctx: AdapterContext, input: ConnectionInput, cursor: ReadCursor): AsyncIterable<RecordBatch>;
  /** Push providers: one received message as a normalized record (pure; never throws). */
  decode?(message: PushMessage, config: ConnectorConfig): DecodeResult;
  /**
   * Providers with a time cursor: the cursor a read starts from to deliver what changed at or after
   * `from` (`resetConnectorCursor`). Pure; throws `ConnectorError` CONFIG_INVALID, with a message
   * for the caller, when the connector's streams cannot be read from a point in time.
   */
  cursorFrom?(input: ConnectionInput, from: Date): ReadCursor;
}
