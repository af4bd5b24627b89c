/** The one place environment variables are read (API.md, "Environment"). */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TracingSettings } from './tracing/tracing.js';

export type SecretsBackend = 'local' | 'vault';

export interface AppConfig {
  port: number;
  host: string;
  /** External PostgreSQL; unset means an embedded PostgreSQL under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  auth: {
    /** HS256 secret; generated into `dataDir` in development when neither it nor a JWKS URL is set. */
    jwtSecret?: string;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. */
    clockToleranceSec: number;
    /** The longest lifetime (`exp` − `iat`) a user token may have. */
    maxTokenLifetimeSec: number;
  };
  /** Refused before execution as QUERY_TOO_COMPLEX (README, "Limits"). */
  queryLimits: QueryLimits;
  rateLimit: RateLimitSettings;
  /** Connection tests (draft, stored, rotation, manual health check) one tenant may run at once. */
  testsPerTenant: number;
  http: {
    /** GraphiQL in a browser at /graphql. */
    graphiql: boolean;
    /** The operator console at /console (docs/console.md). */
    console: boolean;
    /**
     * The console's "sign in for development" endpoint (POST /console/dev-token): only when this
     * process is a development one, i.e. it signs tokens with the secret it generated into DATA_DIR
     * (no AUTH_JWT_SECRET, no AUTH_JWKS_URL) on its embedded database (no DATABASE_URL). No setting
     * turns it on elsewhere; CONSOLE_DEV_SIGN_IN=false turns it off there too.
     */
    consoleDevSignIn: boolean;
    /** Schema introspection (`__schema`, `__type`). Federation's `_service { sdl }` stays available. */
    introspection: boolean;
    /** Federated inline traces (`ftv1`) for a gateway that asks with `apollo-federation-include-trace`. */
    inlineTraces: boolean;
    /** Heavy GraphQL operations one process executes at once; more wait their turn (health endpoints never do). */
    maxConcurrentOperations: number;
    /** An operation of at least this estimated cost is heavy and takes a turn. */
    heavyCost: number;
    /** Operations that may wait for a turn; past that a request is refused at once as RATE_LIMITED (503). */
    maxQueuedOperations: number;
  };
  secrets: {
    backend: SecretsBackend;
    masterKey?: string;
    vault: { addr?: string; token?: string; mount: string };
  };
  /** Hosts/CIDRs connectors may reach although private. */
  egressAllow: string[];
  logLevel: string;
  /** OpenTelemetry tracing (docs/tracing.md): off unless an OTLP endpoint is set. */
  tracing: TracingSettings;
  /** Fastify `trustProxy`: which proxies' X-Forwarded-For is believed for `clientIp`. */
  trustProxy: boolean | string | number;
  /** Adds an `x-sql-statements` response header (tests and benchmarks). */
  exposeSqlCount: boolean;
  /** Where the bootstrap runs background workers (ingestion, health) in this process. */
  runWorkers: boolean;
  jobs: {
    /** JOB_TIMEOUT_SEC: the lease of an active job, renewed every third of it while its process lives; one not renewed for this long is handed to another worker (docs/capacity.md). */
    timeoutSec: number;
    maintenanceIntervalSec: number;
    pollingIntervalMs: number;
    /** Sync runs one worker process executes at once. */
    concurrency: number;
    /** A RUNNING run without a heartbeat for this long is taken as interrupted (its worker beats every third of it). */
    staleRunSec: number;
  };
  sink: { retentionDays: number };
  /** Push intake (HEC and /intake/<connectorId>). */
  intake: {
    /** Largest intake request body, in bytes. */
    maxBodyBytes: number;
    /** Requests per intake token per minute (0: unlimited). */
    requestsPerTokenPerMinute: number;
    /** Messages one process decodes and writes at once; beyond it the intake answers busy (503). */
    maxPending: number;
  };
  /** The syslog receiver (README, "Send by syslog"): each listener off unless its port is set. */
  syslog: SyslogConfig;
  /** SINK=nats: the written records are also published to NATS JetStream; null for SINK=postgres (the default). */
  nats: NatsSettings | null;
  health: {
    /** Checks one worker process runs at once. */
    concurrency: number;
    checkTimeoutMs: number;
  };
  /** Prometheus /metrics (docs/metrics.md): on the main port unless METRICS_PORT moves it or METRICS=off. */
  metrics: MetricsSettings;
  /** Webhook deliveries (docs/notifications.md). */
  webhooks: {
    /** Deliveries one worker process sends at once. */
    concurrency: number;
    /** Budget of one delivery POST. */
    timeoutMs: number;
    /** WEBHOOK_RETRY_SCHEDULE: seconds before each retry; after the last, the delivery failed. */
    retryScheduleSec: number[];
  };
}

/** METRICS_*: who may scrape /metrics, where, and how often (docs/metrics.md). */
export interface MetricsSettings {
  /** METRICS=off: no /metrics anywhere and no instrumentation; on by default. */
  enabled: boolean;
  /** METRICS_TOKEN: the bearer token every scrape must send; when set, /metrics is also served on the main port. */
  token?: string;
  /** METRICS_PORT: a listener of its own for /metrics (the only one `npm run worker` has). */
  port?: number;
  /** METRICS_HOST: where that listener binds; loopback by default. */
  host: string;
  /** METRICS_RATE_LIMIT: scrapes per minute from one address. */
  requestsPerMinute: number;
  /** METRICS_CACHE_SEC: how long figures read from the database at scrape time are reused. */
  cacheSec: number;
  /** METRICS_MAX_OPERATIONS: distinct GraphQL operation names labelled; later ones are "other". */
  maxOperations: number;
}

/** SYSLOG_*: where the syslog receiver listens; a port left unset means no listener on that transport. */
export interface SyslogConfig {
  host: string;
  udpPort?: number;
  tcpPort?: number;
  /** RFC 5425 syslog over TLS; needs `tlsCert` and `tlsKey` (PEM files). */
  tlsPort?: number;
  tlsCert?: string;
  tlsKey?: string;
  /** SYSLOG_QUEUE_MAX: messages queued per connector before TCP senders are paused and UDP datagrams dropped. */
  queueMax: number;
}

/** SINK=nats (README, "Records to NATS JetStream"). */
export interface NatsSettings {
  /** NATS_URL: one or more comma-separated nats:// or tls:// URLs, without their credentials. */
  servers: string[];
  /** From NATS_URL's user:password@ or token@ part; never logged. */
  user?: string;
  pass?: string;
  token?: string;
  /** NATS_STREAM: the stream created (or updated) at start-up with subjects `connectors.>`. */
  stream: string;
  /** NATS_STREAM_MAX_AGE_DAYS: messages older than this are dropped by the stream. */
  maxAgeDays: number;
  /** NATS_DUPLICATE_WINDOW_SEC: a Nats-Msg-Id seen again within this window is dropped by the broker. */
  duplicateWindowSec: number;
  /** NATS_STREAM_REPLICAS: copies of the stream in a NATS cluster. */
  replicas: number;
  /** NATS_TIMEOUT_MS: connecting, stream management, and each publish acknowledgement. */
  timeoutMs: number;
}

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  /** Estimated cost: each field 1, list fields times their page size, `_entities` times its representations. */
  maxCost: number;
  maxRepresentations: number;
}

export interface RateLimitSettings {
  windowSec: number;
  /** Requests per window for one user (token `sub`) or one API key; 0 turns it off. */
  perPrincipal: number;
  /** Requests per window for a whole tenant; 0 turns it off. */
  perTenant: number;
  /** Requests per window from one address without a valid token; 0 turns it off. */
  anonymous: number;
  /** `memory`: each process counts on its own; `postgres`: processes sharing the database share the counts. */
  store: 'memory' | 'postgres';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function str(env: Env, key: string): string | undefined {
  const value = env[key]?.trim();
  return value ? value : undefined;
}

function int(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = str(env, key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function bool(env: Env, key: string, fallback: boolean): boolean {
  const raw = str(env, key)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${key} must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, key: string, values: readonly T[], fallback: T): T {
  const raw = str(env, key)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${key} must be one of ${values.join(', ')}, got "${raw}"`);
  return raw as T;
}

function url(env: Env, key: string, protocols: string[]): string | undefined {
  const raw = str(env, key);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${key} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${key} must use ${protocols.join(' or ')}`);
  }
  return raw;
}

function optionalPort(env: Env, key: string): number | undefined {
  return str(env, key) === undefined ? undefined : int(env, key, 0, 0, 65535);
}

function syslogSettings(env: Env): SyslogConfig {
  const settings: SyslogConfig = {
    host: str(env, 'SYSLOG_HOST') ?? '0.0.0.0',
    udpPort: optionalPort(env, 'SYSLOG_UDP_PORT'),
    tcpPort: optionalPort(env, 'SYSLOG_TCP_PORT'),
    tlsPort: optionalPort(env, 'SYSLOG_TLS_PORT'),
    tlsCert: str(env, 'SYSLOG_TLS_CERT'),
    tlsKey: str(env, 'SYSLOG_TLS_KEY'),
    queueMax: int(env, 'SYSLOG_QUEUE_MAX', 10_000, 1, 10_000_000),
  };
  if (settings.tlsPort !== undefined && (!settings.tlsCert || !settings.tlsKey)) {
    throw new ConfigError('SYSLOG_TLS_PORT needs SYSLOG_TLS_CERT and SYSLOG_TLS_KEY (PEM files)');
  }
  for (const key of ['tlsCert', 'tlsKey'] as const) {
    const file = settings[key];
    if (settings.tlsPort !== undefined && file && !existsSync(file)) {
      throw new ConfigError(`${key === 'tlsCert' ? 'SYSLOG_TLS_CERT' : 'SYSLOG_TLS_KEY'} names a file that does not exist`);
    }
  }
  return settings;
}

/** NATS_URL: comma-separated nats:// or tls:// URLs; credentials in them are taken out (never logged). */
function natsSettings(env: Env): NatsSettings | null {
  const sink = oneOf(env, 'SINK', ['postgres', 'nats'] as const, 'postgres');
  if (sink !== 'nats') return null;
  const raw = str(env, 'NATS_URL');
  if (!raw) throw new ConfigError('SINK=nats needs NATS_URL (for example nats://127.0.0.1:4222)');
  const settings: NatsSettings = {
    servers: [],
    stream: str(env, 'NATS_STREAM') ?? 'CONNECTOR_RECORDS',
    maxAgeDays: int(env, 'NATS_STREAM_MAX_AGE_DAYS', 7, 1, 3650),
    duplicateWindowSec: int(env, 'NATS_DUPLICATE_WINDOW_SEC', 3600, 1, 604_800),
    replicas: int(env, 'NATS_STREAM_REPLICAS', 1, 1, 5),
    timeoutMs: int(env, 'NATS_TIMEOUT_MS', 5000, 100, 120_000),
  };
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    let parsed: URL;
    try {
      parsed = new URL(item.includes('://') ? item : `nats://${item}`);
    } catch {
      throw new ConfigError('NATS_URL is not a valid URL (or comma-separated list of them)');
    }
    if (!['nats:', 'tls:'].includes(parsed.protocol) || !parsed.hostname) throw new ConfigError('NATS_URL must use nats:// or tls:// with a host');
    if (parsed.username && parsed.password) {
      settings.user = decodeURIComponent(parsed.username);
      settings.pass = decodeURIComponent(parsed.password);
    } else if (parsed.username) settings.token = decodeURIComponent(parsed.username);
    settings.servers.push(`${parsed.protocol}//${parsed.host}`);
  }
  if (!settings.servers.length) throw new ConfigError('SINK=nats needs NATS_URL (for example nats://127.0.0.1:4222)');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(settings.stream)) throw new ConfigError('NATS_STREAM must be 1 to 64 letters, digits, "_" or "-"');
  if (settings.duplicateWindowSec > settings.maxAgeDays * 86_400) throw new ConfigError('NATS_DUPLICATE_WINDOW_SEC must not exceed NATS_STREAM_MAX_AGE_DAYS');
  return settings;
}

/** METRICS_*: on unless METRICS=off; a token is long enough not to be guessed. */
function metricsSettings(env: Env): MetricsSettings {
  const switched = str(env, 'METRICS')?.toLowerCase();
  if (switched !== undefined && switched !== 'on' && switched !== 'off') throw new ConfigError('METRICS must be on or off');
  const token = str(env, 'METRICS_TOKEN');
  if (token !== undefined && !/^[A-Za-z0-9._~+/=-]{16,512}$/.test(token)) {
    throw new ConfigError('METRICS_TOKEN must be 16 to 512 characters from A-Z a-z 0-9 . _ ~ + / = - (for example: openssl rand -hex 32)');
  }
  return {
    enabled: switched !== 'off',
    token,
    port: optionalPort(env, 'METRICS_PORT'),
    host: str(env, 'METRICS_HOST') ?? '127.0.0.1',
    requestsPerMinute: int(env, 'METRICS_RATE_LIMIT', 60, 1, 1_000_000),
    cacheSec: int(env, 'METRICS_CACHE_SEC', 5, 0, 3600),
    maxOperations: int(env, 'METRICS_MAX_OPERATIONS', 100, 0, 10_000),
  };
}

/**
 * The standard OpenTelemetry variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or
 * OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) turn tracing on; OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none keep it off.
 */
function tracingSettings(env: Env): TracingSettings {
  const serviceName = str(env, 'OTEL_SERVICE_NAME') ?? 'connector-subgraph';
  const off = str(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true' || str(env, 'OTEL_TRACES_EXPORTER')?.toLowerCase() === 'none';
  const traces = url(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']);
  const base = url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']);
  const endpoint = traces ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  return { serviceName, endpoint: off ? undefined : endpoint };
}

function trustProxy(env: Env): boolean | string | number {
  const raw = str(env, 'TRUST_PROXY');
  if (raw === undefined) return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (['true', 'false'].includes(raw.toLowerCase())) return raw.toLowerCase() === 'true';
  return raw;
}

/** Reads and validates the environment; throws `ConfigError` with the variable's name. */
export function loadConfig(env: Env = process.env): AppConfig {
  const backend = (str(env, 'SECRETS_BACKEND') ?? 'local').toLowerCase();
  if (backend !== 'local' && backend !== 'vault') {
    throw new ConfigError(`SECRETS_BACKEND must be "local" or "vault", got "${backend}"`);
  }
  const config: AppConfig = {
    port: int(env, 'PORT', 4001, 0, 65535),
    host: str(env, 'HOST') ?? '0.0.0.0',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: resolve(str(env, 'DATA_DIR') ?? '.data'),
    auth: {
      jwtSecret: str(env, 'AUTH_JWT_SECRET'),
      jwksUrl: url(env, 'AUTH_JWKS_URL', ['https:', 'http:']),
      issuer: str(env, 'AUTH_ISSUER'),
      audience: str(env, 'AUTH_AUDIENCE'),
      clockToleranceSec: int(env, 'AUTH_CLOCK_TOLERANCE_SEC', 5, 0, 300),
      maxTokenLifetimeSec: int(env, 'AUTH_MAX_TOKEN_LIFETIME_SEC', 86400, 60, 31_536_000),
    },
    queryLimits: {
      maxDepth: int(env, 'MAX_QUERY_DEPTH', 15, 2, 100),
      maxAliases: int(env, 'MAX_QUERY_ALIASES', 30, 0, 1000),
      maxTokens: int(env, 'MAX_QUERY_TOKENS', 5000, 100, 100_000),
      maxDirectives: int(env, 'MAX_QUERY_DIRECTIVES', 50, 0, 1000),
      maxCost: int(env, 'MAX_QUERY_COST', 20_000, 10, 10_000_000),
      maxRepresentations: int(env, 'MAX_ENTITY_REPRESENTATIONS', 1000, 1, 100_000),
    },
    rateLimit: {
      windowSec: int(env, 'RATE_LIMIT_WINDOW_SEC', 60, 1, 3600),
      perPrincipal: int(env, 'RATE_LIMIT_PER_PRINCIPAL', 3000, 0, 10_000_000),
      perTenant: int(env, 'RATE_LIMIT_PER_TENANT', 12_000, 0, 10_000_000),
      anonymous: int(env, 'RATE_LIMIT_ANONYMOUS', 300, 0, 10_000_000),
      store: oneOf(env, 'RATE_LIMIT_STORE', ['memory', 'postgres'] as const, 'memory'),
    },
    testsPerTenant: int(env, 'TESTS_PER_TENANT', 4, 1, 256),
    http: {
      graphiql: bool(env, 'GRAPHIQL', true),
      console: bool(env, 'CONSOLE', true),
      consoleDevSignIn: !str(env, 'DATABASE_URL') && !str(env, 'AUTH_JWT_SECRET') && !str(env, 'AUTH_JWKS_URL') && bool(env, 'CONSOLE_DEV_SIGN_IN', true),
      introspection: bool(env, 'INTROSPECTION', true),
      inlineTraces: bool(env, 'FEDERATION_INLINE_TRACES', false),
      maxConcurrentOperations: int(env, 'GRAPHQL_CONCURRENCY', 2, 1, 1024),
      maxQueuedOperations: int(env, 'GRAPHQL_QUEUE', 256, 0, 100_000),
      heavyCost: int(env, 'GRAPHQL_HEAVY_COST', 1000, 0, 10_000_000),
    },
    secrets: {
      backend,
      masterKey: str(env, 'SECRETS_MASTER_KEY'),
      vault: {
        addr: url(env, 'VAULT_ADDR', ['https:', 'http:']),
        token: str(env, 'VAULT_TOKEN'),
        mount: str(env, 'VAULT_KV_MOUNT') ?? 'secret',
      },
    },
    egressAllow: (str(env, 'EGRESS_ALLOW') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    logLevel: str(env, 'LOG_LEVEL') ?? 'info',
    tracing: tracingSettings(env),
    trustProxy: trustProxy(env),
    exposeSqlCount: bool(env, 'EXPOSE_SQL_COUNT', false),
    runWorkers: bool(env, 'RUN_WORKERS', true),
    jobs: {
      timeoutSec: int(env, 'JOB_TIMEOUT_SEC', 30, 1, 86400),
      maintenanceIntervalSec: int(env, 'JOB_MAINTENANCE_SEC', 60, 1, 3600),
      pollingIntervalMs: int(env, 'JOB_POLL_MS', 2000, 500, 60000),
      concurrency: int(env, 'INGEST_CONCURRENCY', 8, 1, 64),
      staleRunSec: int(env, 'STALE_RUN_SEC', 30, 1, 86400),
    },
    sink: { retentionDays: int(env, 'SINK_RETENTION_DAYS', 30, 1, 3650) },
    intake: {
      maxBodyBytes: int(env, 'INTAKE_MAX_BODY_BYTES', 4 * 1024 * 1024, 1024, 100 * 1024 * 1024),
      requestsPerTokenPerMinute: int(env, 'INTAKE_RATE_LIMIT_PER_TOKEN', 6000, 0, 10_000_000),
      maxPending: int(env, 'INTAKE_MAX_PENDING', 20000, 1, 10_000_000),
    },
    syslog: syslogSettings(env),
    nats: natsSettings(env),
    health: {
      concurrency: int(env, 'HEALTH_CONCURRENCY', 32, 1, 256),
      checkTimeoutMs: int(env, 'HEALTH_CHECK_TIMEOUT_MS', 10000, 100, 120000),
    },
    metrics: metricsSettings(env),
    webhooks: {
      concurrency: int(env, 'WEBHOOK_CONCURRENCY', 4, 1, 64),
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10000, 100, 60000),
      retryScheduleSec: retrySchedule(str(env, 'WEBHOOK_RETRY_SCHEDULE')),
    },
  };
  if (config.auth.jwtSecret && config.auth.jwtSecret.length < 32) {
    throw new ConfigError('AUTH_JWT_SECRET must be at least 32 characters');
  }
  if (backend === 'vault' && (!config.secrets.vault.addr || !config.secrets.vault.token)) {
    throw new ConfigError('SECRETS_BACKEND=vault needs VAULT_ADDR and VAULT_TOKEN');
  }
  return config;
}

/** Standard Webhooks' suggested waits: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 h in all). */
export const DEFAULT_RETRY_SCHEDULE_SEC = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** The default schedule unless WEBHOOK_RETRY_SCHEDULE lists the waits, in seconds. */
function retrySchedule(value: string | undefined): number[] {
  if (value === undefined) return [...DEFAULT_RETRY_SCHEDULE_SEC];
  const waits = value.split(',').map((part) => Number(part.trim()));
  if (waits.length > 20 || waits.some((w) => !Number.isFinite(w) || w < 0.05 || w > 172_800)) {
    throw new ConfigError('WEBHOOK_RETRY_SCHEDULE must list at most 20 waits in seconds (0.05 to 172800), separated by commas');
  }
  return waits;
}

/** Creates `dir` (and parents) traversable by the embedded PostgreSQL's OS user. */
export function ensureDataDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o755 });
}

/**
 * Reads a generated development secret from `dataDir/name`, creating it (0600) on first use.
 * Used for the dev JWT secret, the local secret store's master key and the embedded DB password.
 */
export function readOrCreateSecretFile(dataDir: string, name: string, bytes = 32): string {
  ensureDataDir(dataDir);
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = randomBytes(bytes).toString('base64url');
  writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return value;
}

/** The HS256 secret in force: configured, or generated into DATA_DIR when no verifier is configured. */
export function resolveJwtSecret(config: AppConfig): string | undefined {
  if (config.auth.jwtSecret) return config.auth.jwtSecret;
  if (config.auth.jwksUrl) return undefined;
  return readOrCreateSecretFile(config.dataDir, 'dev-jwt-secret');
}
