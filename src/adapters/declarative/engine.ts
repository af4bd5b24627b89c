/**
 * The declarative engine: one {@link Adapter} per provider manifest. Every request goes through
 * the shared HTTP client (egress guard, timeouts, retries honouring `Retry-After`, secret
 * scrubbing) and the shared auth schemes (OAuth 2.0 token cache included); the manifest supplies
 * only data: where to ask, how pages follow, where records are, how they map, where the cursor is.
 *
 * Cursor (JSON, committed with each batch): `{ v: 1, streams: { <stream[:partition]>: state } }`,
 * state `{ value?, until?, page?, high?, window? }`: `value` is the last sync's highest cursor value,
 * `until` the end of its time window;
 * `page` (with `window` and `high`) is set while a sync is under way, so a read stopped after any
 * page resumes at the next one with the same time window.
 */
import { ConnectorError } from '../../errors/connector-error.js';
import { credentialSecrets, sendAuthorized, validateAuth } from '../http/auth.js';
import type { AuthInput, AuthMetrics, AuthSettings } from '../http/auth.js';
import type { HttpRequest, HttpResponse } from '../http/client.js';
import { scrubSecrets } from '../http/client.js';
import { nextLinkFromHeaders } from '../http/link.js';
import { assertPageUrlAllowed, sanitizeCursorUrl } from '../kit/page-urls.js';
import { runStepwiseCheck } from '../kit/check-runner.js';
import type { FailureCause } from '../kit/check-runner.js';
import { remediationFor } from '../kit/remediation.js';
import { validateRecords } from '../kit/records.js';
import { createNvdLimiterRegistry, type NvdLimiterRegistry } from '../nvd/limiter.js';
import { OPERATIONAL_PROPERTIES } from '../operations.js';
import type { NormalizedRecord } from '../records.js';
import { parseProviderConfig } from '../schema-validation.js';
import type {
  Adapter,
  AdapterContext,
  AdapterSpec,
  AuthType,
  CheckOptions,
  CheckResult,
  ConnectionInput,
  ConnectorConfig,
  Credentials,
  JsonSchema,
  ReadCursor,
  RecordBatch,
  TestStepName,
} from '../spi.js';
import type { ProviderManifest, StreamDefinition } from './manifest.js';
import { get, mapItem, rowsToObjects, toDate } from './mapping.js';
import { renderPath, renderString, renderValue, type TemplateScope } from './template.js';

const HTTP_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://';
const DEFAULT_CREDENTIAL: Partial<Record<AuthType, string>> = { API_KEY: 'apiKey', BEARER: 'token' };

/** The config every manifest provider has, beside its own settings. */
export interface EngineConfig extends ConnectorConfig {
  baseUrl: string;
  timeoutMs: number;
  initialLookbackSec: number;
  maxPages: number;
  pageSize?: number;
  tokenUrl?: string;
  scope?: string;
  tokenAuthMethod: 'client_secret_basic' | 'client_secret_post';
}

function configSchemaOf(m: ProviderManifest): JsonSchema {
  const paged = m.streams.map((s) => s.pagination).filter((p) => p?.limit !== undefined);
  const maxLimit = Math.max(1, ...paged.map((p) => p!.maxLimit ?? p!.limit!));
  const oauth = m.auth.OAUTH2_CLIENT_CREDENTIALS;
  const properties: Record<string, JsonSchema> = {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: HTTP_URL_PATTERN,
      maxLength: 2048,
      default: m.baseUrl,
      description: `Base URL of the ${m.name} API (default: the vendor's public endpoint); set it for on-premises installs, sovereign clouds or a replica. No credentials in the URL.`,
    },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 120000, default: 15000, description: 'Budget of one request, retries included.' },
    syncIntervalSec: { type: 'integer', minimum: 1, maximum: 604800, default: 300, description: 'Seconds between ingestion runs.' },
    healthCheckIntervalSec: { type: 'integer', minimum: 1, maximum: 86400, default: 300, description: 'Seconds between scheduled health checks.' },
    degradedLatencyMs: { type: 'integer', minimum: 1, maximum: 120000, default: 5000, description: 'A passing health check slower than this marks the connector DEGRADED.' },
    failureThreshold: { type: 'integer', minimum: 1, maximum: 100, default: 3, description: 'Consecutive failed checks or runs before the connector is FAILING.' },
    initialLookbackSec: {
      type: 'integer',
      minimum: 0,
      maximum: 31536000,
      default: 86400,
      description: 'How far back the first sync of a time-windowed stream reaches.',
    },
    maxPages: { type: 'integer', minimum: 1, maximum: 10000, default: 50, description: 'Pages read per stream in one ingestion run; the next run resumes after the last.' },
    ...OPERATIONAL_PROPERTIES,
    ...((m.config?.properties ?? {}) as Record<string, JsonSchema>),
  };
  if (paged.length) {
    properties.pageSize = { type: 'integer', minimum: 1, maximum: maxLimit, description: `Records requested per page (default: the stream's documented page size; at most ${maxLimit}).` };
  }
  if (oauth) {
    properties.tokenUrl = {
      type: 'string',
      format: 'uri',
      pattern: HTTP_URL_PATTERN,
      maxLength: 2048,
      description: `OAuth 2.0 token endpoint (OAUTH2_CLIENT_CREDENTIALS)${oauth.tokenUrl ? `; default ${oauth.tokenUrl}` : ''}.`,
    };
    properties.scope = { type: 'string', maxLength: 1024, description: `OAuth 2.0 scope${oauth.scope ? `; default ${oauth.scope}` : ''}.` };
    properties.tokenAuthMethod = {
      type: 'string',
      enum: ['client_secret_basic', 'client_secret_post'],
      maxLength: 32,
      default: oauth.tokenAuthMethod ?? 'client_secret_basic',
      description: 'How the client authenticates to the token endpoint.',
    };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: m.name,
    type: 'object',
    additionalProperties: false,
    properties,
    ...(m.config?.required?.length ? { required: m.config.required } : {}),
  };
}

function credentialsOf(m: ProviderManifest): { schema: JsonSchema; required: Partial<Record<AuthType, string[]>> } {
  const properties: Record<string, JsonSchema> = {};
  const required: Partial<Record<AuthType, string[]>> = {};
  const secret = (description: string) => ({ type: 'string', minLength: 1, maxLength: 8192, writeOnly: true, description });
  for (const [type, auth] of Object.entries(m.auth) as Array<[AuthType, NonNullable<ProviderManifest['auth'][AuthType]>]>) {
    switch (type) {
      case 'NONE':
        required.NONE = [];
        break;
      case 'API_KEY':
      case 'BEARER': {
        const field = auth.credential ?? DEFAULT_CREDENTIAL[type]!;
        properties[field] = secret(auth.description ?? (type === 'API_KEY' ? 'API key (API_KEY).' : 'Bearer token (BEARER).'));
        required[type] = [field];
        break;
      }
      case 'BASIC':
        properties.username = secret(auth.description ?? 'User name (BASIC).');
        properties.password = secret('Password (BASIC).');
        required.BASIC = ['username', 'password'];
        break;
      case 'OAUTH2_CLIENT_CREDENTIALS':
        properties.clientId = secret('OAuth 2.0 client id (OAUTH2_CLIENT_CREDENTIALS).');
        properties.clientSecret = secret('OAuth 2.0 client secret (OAUTH2_CLIENT_CREDENTIALS).');
        required.OAUTH2_CLIENT_CREDENTIALS = ['clientId', 'clientSecret'];
        break;
    }
  }
  return {
    schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', title: `${m.name} credentials`, type: 'object', additionalProperties: false, properties },
    required,
  };
}

/**
 * Upgrades a stored config written for `fromVersion` of the manifest: each later migration renames
 * keys, converts values through a table, removes keys and sets new ones (a set never overwrites
 * what is there). Returns a new object.
 */
export function migrateConfig(m: ProviderManifest, config: ConnectorConfig, fromVersion: number): ConnectorConfig {
  const out: ConnectorConfig = structuredClone(config);
  for (const migration of m.migrations ?? []) {
    if (migration.to <= fromVersion) continue;
    for (const [from, to] of Object.entries(migration.rename ?? {})) {
      if (Object.prototype.hasOwnProperty.call(out, from)) {
        if (!Object.prototype.hasOwnProperty.call(out, to)) out[to] = out[from];
        delete out[from];
      }
    }
    for (const [from, { to, values }] of Object.entries(migration.convert ?? {})) {
      if (!Object.prototype.hasOwnProperty.call(out, from)) continue;
      const old = out[from];
      delete out[from];
      const key = typeof old === 'string' || typeof old === 'number' ? String(old) : null;
      // A value the table does not know is kept as it was: the schema then says whether it still fits.
      out[to] = key !== null && Object.prototype.hasOwnProperty.call(values, key) ? structuredClone(values[key]) : old;
    }
    for (const key of migration.remove ?? []) delete out[key];
    for (const [key, value] of Object.entries(migration.set ?? {})) if (!Object.prototype.hasOwnProperty.call(out, key)) out[key] = structuredClone(value);
  }
  return out;
}

/**
 * The request's secret values to redact from what is kept: not the user name or the client id,
 * which identify rather than authenticate and would mangle ordinary data.
 */
function secretsToRedact(secrets: readonly string[], input: ConnectionInput): string[] {
  const identifiers = new Set([input.credentials?.username, input.credentials?.clientId].filter(Boolean));
  return secrets.filter((s) => !identifiers.has(s));
}

/** 204, or a 2xx without a body: the API has nothing to say, so there are no records. */
function noContent(response: HttpResponse<unknown>): boolean {
  return response.status === 204 || response.body === undefined || response.body === null || response.body === '';
}

// ---------------------------------------------------------------------------------------------
// Cursor state

type CursorValue = number | string;

interface PageState {
  url?: string;
  token?: string;
  offset?: number;
  page?: number;
  after?: unknown[];
  from?: CursorValue;
}

interface StreamState {
  value?: CursorValue;
  /** End of the last completed sync's window (ISO 8601): where the next window starts when the cursor is not a time. */
  until?: string;
  page?: PageState;
  high?: CursorValue;
  window?: { start: string; end: string };
}

interface EngineCursor {
  v: 1;
  streams: Record<string, StreamState>;
}

function parseCursor(cursor: ReadCursor): EngineCursor {
  if (cursor && cursor.v === 1 && cursor.streams && typeof cursor.streams === 'object' && !Array.isArray(cursor.streams)) {
    return structuredClone(cursor) as unknown as EngineCursor;
  }
  return { v: 1, streams: {} };
}

/** Cursor values compare as numbers (integers, epochs) or as instants (datetimes). */
function cursorNumber(stream: StreamDefinition, value: CursorValue): number {
  if (stream.cursor!.type === 'integer') return Number(value);
  return toDate(value, stream.cursor!.type === 'datetime' ? undefined : stream.cursor!.type)?.getTime() ?? Number.NaN;
}

function cursorOf(stream: StreamDefinition, item: unknown): CursorValue | null {
  if (!stream.cursor) return null;
  const raw = get(item, stream.cursor.field);
  if (raw === undefined || raw === null || raw === '') return null;
  if (stream.cursor.type === 'integer') {
    const n = Number(raw);
    return Number.isFinite(n) ? n : null;
  }
  const d = toDate(raw, stream.cursor.type === 'datetime' ? undefined : stream.cursor.type);
  return d ? d.toISOString() : null;
}

function maxCursor(stream: StreamDefinition, a: CursorValue | undefined, b: CursorValue | null): CursorValue | undefined {
  if (b === null) return a;
  if (a === undefined) return b;
  return cursorNumber(stream, b) > cursorNumber(stream, a) ? b : a;
}

// ---------------------------------------------------------------------------------------------
// Compiled provider

export interface ManifestAdapter extends Adapter {
  readonly manifest: ProviderManifest;
}

interface Page {
  response: HttpResponse<unknown>;
  items: Record<string, unknown>[];
  recordSecrets: string[];
}

/** A stream run for one partition (or none). */
interface StreamRun {
  stream: StreamDefinition;
  key: string;
  partition: unknown;
}

/** How a hand-configured provider (generic_rest) adapts the engine; manifests need none of it. */
export interface CompileOptions {
  /** Validates the connector's config instead of the schema generated from the manifest. */
  configSchema?: JsonSchema;
  /** Replaces the manifest's remediation (for a provider whose user wrote the request). */
  remediation?: (step: TestStepName, error: ConnectorError, authType: AuthType, cause?: FailureCause) => string;
  /** The config setting holding the records pointer: a pointer that matches nothing is then the user's CONFIG_INVALID. */
  recordsSetting?: string;
}

export function compileManifest(m: ProviderManifest, options: CompileOptions = {}): ManifestAdapter {
  const configSchema = options.configSchema ?? configSchemaOf(m);
  const credentials = credentialsOf(m);
  // Vendors count requests per credential: streams declaring the same limit draw from one budget.
  const limiters = new Map<StreamDefinition, NvdLimiterRegistry>();
  const byLimit = new Map<string, NvdLimiterRegistry>();
  for (const s of m.streams) {
    if (!s.rateLimit) continue;
    const key = `${s.rateLimit.requests}/${s.rateLimit.intervalSec}`;
    if (!byLimit.has(key)) byLimit.set(key, createNvdLimiterRegistry({ withKey: s.rateLimit.requests, withoutKey: s.rateLimit.requests, windowMs: s.rateLimit.intervalSec * 1000 }));
    limiters.set(s, byLimit.get(key)!);
  }
  const checkStream = m.streams.find((s) => s.name === m.check?.stream) ?? m.streams[0]!;

  const spec: AdapterSpec = {
    id: m.id,
    type: m.type,
    name: m.name,
    description: m.description,
    documentationUrl: m.documentationUrl,
    recordKinds: [...new Set(m.streams.map((s) => s.map.kind))],
    configVersion: m.version,
    authTypes: Object.keys(m.auth) as AuthType[],
    configSchema,
    credentialsSchema: credentials.schema,
    requiredCredentials: credentials.required,
    eventTypes: m.streams.map((s) => s.name),
    migrateConfig: (config, fromVersion) => migrateConfig(m, config, fromVersion),
  };

  function parse(input: ConnectionInput): EngineConfig {
    return parseProviderConfig<EngineConfig>(configSchema, input.config);
  }

  function authOf(cfg: EngineConfig, input: ConnectionInput): AuthInput {
    const def = m.auth[input.authType];
    if (!def) throw new ConnectorError('CONFIG_INVALID', `${m.name} does not support auth type ${input.authType} (it supports ${spec.authTypes.join(', ')})`);
    const given: Credentials = input.credentials ?? {};
    const creds: Credentials = { ...given };
    const field = def.credential ?? DEFAULT_CREDENTIAL[input.authType];
    if (input.authType === 'API_KEY' && field && field !== 'apiKey' && given[field] !== undefined) creds.apiKey = given[field]!;
    if (input.authType === 'BEARER' && field && field !== 'token' && given[field] !== undefined) creds.token = given[field]!;
    const settings: AuthSettings = {};
    if (input.authType === 'API_KEY') {
      settings.apiKeyHeader = def.header;
      settings.apiKeyQueryParam = def.query;
      settings.apiKeyPrefix = def.prefix;
    }
    if (input.authType === 'OAUTH2_CLIENT_CREDENTIALS') {
      const tokenUrl = cfg.tokenUrl ?? (def.tokenUrl ? String(renderString(def.tokenUrl, { config: cfg })) : undefined);
      settings.tokenUrl = tokenUrl;
      settings.scope = cfg.scope ?? def.scope;
      settings.tokenAuthMethod = cfg.tokenAuthMethod;
    }
    return { authType: input.authType, credentials: creds, settings };
  }

  function prepare(input: ConnectionInput): { cfg: EngineConfig; auth: AuthInput } {
    const cfg = parse(input);
    const auth = authOf(cfg, input);
    const invalid = validateAuth(auth);
    if (invalid) throw invalid;
    return { cfg, auth };
  }

  function remediation(step: TestStepName, error: ConnectorError, authType: AuthType, cause?: FailureCause): string {
    if (options.remediation) return options.remediation(step, error, authType, cause);
    // The vendor's own words for a refused credential (whatever the status: many answer 403), and
    // for a refused OAuth client, the identity provider's setting.
    if (error.code === 'AUTH_FAILED') {
      const own = m.auth[authType]?.remediation;
      if (own) return own;
    }
    return remediationFor(step, error, authType, cause);
  }

  function pageSize(cfg: EngineConfig, stream: StreamDefinition): number {
    return Math.min(cfg.pageSize ?? stream.pagination?.limit ?? 100, stream.pagination?.maxLimit ?? stream.pagination?.limit ?? Number.MAX_SAFE_INTEGER);
  }

  function runsOf(cfg: EngineConfig, eventTypes: readonly string[] | undefined): StreamRun[] {
    const selected = eventTypes?.length ? m.streams.filter((s) => eventTypes.includes(s.name)) : m.streams;
    const runs: StreamRun[] = [];
    for (const stream of selected) {
      if (stream.partitionBy === undefined) runs.push({ stream, key: stream.name, partition: undefined });
      else {
        const values = cfg[stream.partitionBy];
        for (const partition of Array.isArray(values) ? values : []) runs.push({ stream, key: `${stream.name}:${String(partition)}`, partition });
      }
    }
    return runs;
  }

  /** The time window and template cursor of a sync about to start (or under way). */
  function windowOf(cfg: EngineConfig, run: StreamRun, state: StreamState, now: Date): { start: Date; end: Date; cursor: unknown } {
    if (state.window) {
      const start = new Date(state.window.start);
      return { start, end: new Date(state.window.end), cursor: cursorTemplateValue(run.stream, state, start) };
    }
    const c = run.stream.cursor;
    const lookback = c?.lookback ?? 0;
    let start = new Date(now.getTime() - cfg.initialLookbackSec * 1000);
    if (c && c.type !== 'integer' && state.value !== undefined) {
      const last = cursorNumber(run.stream, state.value);
      if (Number.isFinite(last)) start = new Date(last - lookback * 1000);
    } else if (state.until !== undefined) {
      // Integer cursors (ids, blocks) say nothing about time: the window goes on from the last one.
      const until = new Date(state.until);
      if (!Number.isNaN(until.getTime()) && until < now) start = until;
    }
    return { start, end: now, cursor: cursorTemplateValue(run.stream, state, start) };
  }

  function cursorTemplateValue(stream: StreamDefinition, state: StreamState, windowStart: Date): unknown {
    const c = stream.cursor;
    if (!c) return undefined;
    if (c.type === 'integer') {
      if (state.value === undefined) return c.start ?? 0;
      return Math.max(c.start ?? 0, Number(state.value) - (c.lookback ?? 0));
    }
    return windowStart;
  }

  function scopeOf(cfg: EngineConfig, run: StreamRun, window: { start: Date; end: Date; cursor: unknown }, page: PageState | undefined): TemplateScope {
    let cursor = window.cursor;
    if (page?.from !== undefined) {
      cursor = run.stream.cursor!.type === 'integer' ? Number(page.from) : toDate(page.from);
    }
    return { config: cfg, window: { start: window.start, end: window.end }, cursor, partition: run.partition, limit: pageSize(cfg, run.stream) };
  }

  /** The HTTP request of one page. */
  function requestOf(cfg: EngineConfig, run: StreamRun, scope: TemplateScope, page: PageState | undefined, signal?: AbortSignal): HttpRequest {
    const { request, pagination } = run.stream;
    const method = request.method ?? 'GET';
    const limit = pageSize(cfg, run.stream);
    if (page?.url) {
      return { method, url: page.url, ...(bodyOf(request, scope, {}, method)), timeoutMs: cfg.timeoutMs, signal, idempotent: true };
    }
    const base = new URL(cfg.baseUrl);
    base.pathname = `${base.pathname.replace(/\/+$/, '')}${renderPath(request.path, scope)}`;
    const searchParams: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(request.query ?? {})) {
      const rendered = renderString(String(v), scope);
      if (rendered !== undefined && rendered !== null && rendered !== '') searchParams[k] = typeof rendered === 'number' ? rendered : String(rendered);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers ?? {})) headers[k] = String(renderString(v, scope) ?? '');
    const paging: Record<string, unknown> = {};
    switch (pagination?.type) {
      case 'offset':
        paging[pagination.offsetParam!] = page?.offset ?? 0;
        paging[pagination.limitParam!] = limit;
        break;
      case 'page_number':
        paging[pagination.pageParam!] = page?.page ?? pagination.startPage ?? 1;
        if (pagination.limitParam) paging[pagination.limitParam] = limit;
        break;
      case 'cursor_token':
        if (page?.token !== undefined) paging[pagination.tokenParam!] = page.token;
        if (pagination.limitParam) paging[pagination.limitParam] = limit;
        break;
      case 'range': {
        const start = page?.offset ?? 0;
        headers.Range = `items=${start}-${start + limit - 1}`;
        break;
      }
      case 'search_after':
        if (page?.after) paging.search_after = page.after;
        if (pagination.limitParam) paging[pagination.limitParam] = limit;
        break;
      case 'link':
      case 'next_url':
      case 'incremental':
        if (pagination.limitParam) paging[pagination.limitParam] = limit;
        break;
    }
    const inBody = pagination?.in === 'body';
    if (!inBody) for (const [k, v] of Object.entries(paging)) searchParams[k] = typeof v === 'number' ? v : String(v);
    return {
      method,
      url: base.toString(),
      searchParams,
      headers,
      ...bodyOf(request, scope, inBody ? paging : {}, method),
      timeoutMs: cfg.timeoutMs,
      signal,
      idempotent: true,
    };
  }

  function bodyOf(request: StreamDefinition['request'], scope: TemplateScope, paging: Record<string, unknown>, method: string): Pick<HttpRequest, 'json' | 'form'> {
    if (method === 'GET') return {};
    if (request.form) {
      const form: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.form)) {
        const rendered = renderString(String(v), scope);
        if (rendered !== undefined && rendered !== null) form[k] = String(rendered);
      }
      for (const [k, v] of Object.entries(paging)) form[k] = String(v);
      return { form };
    }
    if (request.json !== undefined) {
      const json = renderValue(request.json, scope);
      return { json: json && typeof json === 'object' && !Array.isArray(json) ? { ...(json as object), ...paging } : json };
    }
    return {};
  }

  /** Applies the stream's body rules: throws the declared error, or says the answer means "no records". */
  function applyErrorRules(stream: StreamDefinition, body: unknown, secrets: readonly string[]): { empty: boolean } {
    for (const rule of stream.errors ?? []) {
      const matches = Object.entries(rule.if).every(([pointer, pattern]) => {
        const value = get(body, pointer);
        return value !== undefined && value !== null && typeof value !== 'object' && new RegExp(pattern).test(String(value));
      });
      if (!matches) continue;
      if (rule.empty) return { empty: true };
      const said = rule.message ? get(body, rule.message) : undefined;
      const text = typeof said === 'string' && said ? `${m.name} answered: ${said.slice(0, 300)}` : `${m.name} refused the request (${rule.code})`;
      throw new ConnectorError(rule.code!, scrubSecrets(text, secrets), { retryable: rule.code === 'RATE_LIMITED' || rule.code === 'UNREACHABLE' });
    }
    return { empty: false };
  }

  function missingRecords(host: string, missing: string): ConnectorError {
    if (options.recordsSetting && typeof checkStream.records === 'string') {
      return new ConnectorError('CONFIG_INVALID', `${options.recordsSetting} "${checkStream.records}" matches nothing in the response of ${host}`);
    }
    return new ConnectorError('BAD_RESPONSE', `${m.name} at ${host}: ${missing}`);
  }

  /** Where the records are in a response: the array, or a message saying what is wrong. */
  function locate(stream: StreamDefinition, body: unknown): { items: unknown } | { missing: string } {
    if (typeof stream.records === 'string') {
      const value = get(body, stream.records);
      return value === undefined ? { missing: `the records pointer "${stream.records}" matches nothing in the response` } : { items: value };
    }
    const rows = get(body, stream.records.rows);
    const columns = get(body, stream.records.columns);
    const objects = rowsToObjects(columns, rows);
    return objects ? { items: objects } : { missing: `no table at "${stream.records.rows}" with columns at "${stream.records.columns}" in the response` };
  }

  async function fetchPage(
    ctx: AdapterContext,
    cfg: EngineConfig,
    auth: AuthInput,
    input: ConnectionInput,
    run: StreamRun,
    request: HttpRequest,
    metrics?: AuthMetrics,
  ): Promise<Page> {
    const limiter = limiters.get(run.stream);
    const credential = auth.credentials.apiKey ?? auth.credentials.token ?? auth.credentials.clientId ?? auth.credentials.username ?? null;
    const send = () => sendAuthorized<unknown>(ctx, auth, request, metrics);
    const response = limiter ? await limiter.limiterFor(cfg.baseUrl, credential).schedule(send, ctx.signal) : await send();
    const recordSecrets = secretsToRedact(response.secrets, input);
    const host = new URL(response.url).host;
    if (noContent(response) || applyErrorRules(run.stream, response.body, recordSecrets).empty) return { response, items: [], recordSecrets };
    const located = locate(run.stream, response.body);
    if ('missing' in located) throw missingRecords(host, located.missing);
    const valid = validateRecords(located.items, typeof run.stream.records === 'string' ? run.stream.records : run.stream.records.rows);
    if (!valid.ok) throw new ConnectorError('BAD_RESPONSE', scrubSecrets(`${m.name} at ${host}: ${valid.message}`, recordSecrets));
    return { response, items: valid.records, recordSecrets };
  }

  /** The next page after `page` (its request state), or null when the stream is done. */
  function nextPage(ctx: AdapterContext, cfg: EngineConfig, input: ConnectionInput, auth: AuthInput, run: StreamRun, current: PageState | undefined, got: Page): PageState | null {
    const p = run.stream.pagination;
    const limit = pageSize(cfg, run.stream);
    const count = got.items.length;
    const total = p?.totalPointer !== undefined ? Number(get(got.response.body, p.totalPointer)) : Number.NaN;
    const follow = (url: string | null): PageState | null => {
      if (!url) return null;
      const absolute = new URL(url, got.response.url).toString();
      assertPageUrlAllowed(ctx, cfg, input, absolute);
      return { url: sanitizeCursorUrl(absolute, { apiKeyQueryParam: auth.settings.apiKeyQueryParam }, input) };
    };
    switch (p?.type ?? 'none') {
      case 'none':
        return null;
      case 'link':
        return follow(nextLinkFromHeaders(got.response.headers, got.response.url));
      case 'next_url': {
        const next = get(got.response.body, p!.nextPointer!);
        return typeof next === 'string' && next ? follow(next) : null;
      }
      case 'cursor_token': {
        const token = get(got.response.body, p!.nextPointer!);
        if (count === 0 || token === undefined || token === null || token === '' || String(token) === current?.token) return null;
        return { token: String(token) };
      }
      case 'offset':
      case 'range': {
        const offset = (current?.offset ?? 0) + count;
        let reported = total;
        if (p!.type === 'range') {
          const range = /items\s+\d+-\d+\/(\d+)/i.exec(String(got.response.headers['content-range'] ?? ''));
          if (range) reported = Number(range[1]);
        }
        if (count < limit || (Number.isFinite(reported) && offset >= reported)) return null;
        return { offset };
      }
      case 'page_number': {
        const pageNo = (current?.page ?? p!.startPage ?? 1) + 1;
        const seen = (pageNo - (p!.startPage ?? 1)) * limit;
        if (count < limit || (Number.isFinite(total) && seen >= total)) return null;
        return { page: pageNo };
      }
      case 'search_after': {
        if (count < limit) return null;
        const after = get(got.items[count - 1], p!.sortPointer!);
        return Array.isArray(after) ? { after } : null;
      }
      case 'incremental': {
        if (count < limit) return null;
        const last = cursorOf(run.stream, got.items[count - 1]);
        if (last === null || (current?.from !== undefined && cursorNumber(run.stream, last) <= cursorNumber(run.stream, current.from))) return null;
        return { from: last };
      }
    }
    return null;
  }

  /** For APIs whose filter is coarser than the cursor: an item older than the window's start was read already. */
  function beforeWindow(stream: StreamDefinition, item: unknown, window: { start: Date; cursor: unknown }): boolean {
    const value = cursorOf(stream, item);
    if (value === null) return false;
    if (stream.cursor!.type === 'integer') return typeof window.cursor === 'number' && Number(value) < window.cursor;
    return cursorNumber(stream, value) < window.start.getTime();
  }

  function mapPage(cfg: EngineConfig, run: StreamRun, got: Page): NormalizedRecord[] {
    return got.items.map((item) => mapItem(item, run.stream, got.recordSecrets, { config: cfg, partition: run.partition }));
  }

  async function* read(ctx: AdapterContext, input: ConnectionInput, cursor: ReadCursor): AsyncGenerator<RecordBatch> {
    const { cfg, auth } = prepare(input);
    const state = parseCursor(cursor);
    const now = ctx.now?.() ?? new Date();
    for (const run of runsOf(cfg, input.eventTypes)) {
      const s: StreamState = state.streams[run.key] ?? {};
      const window = windowOf(cfg, run, s, now);
      let page = s.page;
      if (page?.url) assertPageUrlAllowed(ctx, cfg, input, page.url);
      let high = s.high;
      // A server that links back to a page already read in this run would loop forever.
      const visited = new Set<string>();
      for (let n = 0; n < cfg.maxPages; n++) {
        if (ctx.signal?.aborted) throw new ConnectorError('TIMEOUT', 'The read was aborted');
        const request = requestOf(cfg, run, scopeOf(cfg, run, window, page), page, ctx.signal);
        const got = await fetchPage(ctx, cfg, auth, input, run, request);
        for (const item of got.items) high = maxCursor(run.stream, high, cursorOf(run.stream, item));
        visited.add(sanitizeCursorUrl(got.response.url, { apiKeyQueryParam: auth.settings.apiKeyQueryParam }, input));
        let next = nextPage(ctx, cfg, input, auth, run, page, got);
        if (next?.url && visited.has(next.url)) next = null;
        if (run.stream.cursor?.filter) got.items = got.items.filter((item) => !beforeWindow(run.stream, item, window));
        const records = mapPage(cfg, run, got);
        if (next) {
          state.streams[run.key] = {
            ...(s.value !== undefined ? { value: s.value } : {}),
            ...(high !== undefined ? { high } : {}),
            page: next,
            window: { start: window.start.toISOString(), end: window.end.toISOString() },
          };
        } else {
          const value = high ?? s.value;
          state.streams[run.key] = { ...(value !== undefined ? { value } : {}), until: window.end.toISOString() };
        }
        yield { records, cursor: structuredClone(state) as unknown as ReadCursor, dedupKey: run.stream.dedupKey };
        if (!next) break;
        page = next;
      }
    }
  }

  function check(ctx: AdapterContext, input: ConnectionInput, options: CheckOptions = {}): Promise<CheckResult> {
    let cfg: EngineConfig;
    let auth: AuthInput;
    let run: StreamRun;
    let request: HttpRequest;
    // What the first page holds, read once in fetchFirst: no records (an empty answer), or where they are.
    let located: { empty: true } | ReturnType<typeof locate>;
    return runStepwiseCheck(input, options, {
      prepare: () => {
        ({ cfg, auth } = prepare(input));
        const runs = runsOf(cfg, input.eventTypes?.includes(checkStream.name) || !input.eventTypes?.length ? [checkStream.name] : input.eventTypes);
        if (!runs.length) throw new ConnectorError('CONFIG_INVALID', `${checkStream.partitionBy ?? 'The stream'} lists nothing to read`);
        run = runs[0]!;
        request = requestOf(cfg, run, scopeOf(cfg, run, windowOf(cfg, run, {}, ctx.now?.() ?? new Date()), undefined), undefined, ctx.signal);
      },
      host: () => new URL(String(request.url)).host,
      tokenHost: () => (auth?.settings.tokenUrl ? new URL(auth.settings.tokenUrl).host : null),
      fetchFirst: async (metrics) => {
        const response = await sendAuthorized<unknown>(ctx, auth, request, metrics);
        // A body rule's error (a refused key in a 200) fails the step it belongs to, like an HTTP status would.
        const empty = noContent(response) || applyErrorRules(run.stream, response.body, credentialSecrets(auth.credentials)).empty;
        located = empty ? { empty: true } : locate(run.stream, response.body);
        return { response, recordSecrets: secretsToRedact(response.secrets, input) };
      },
      locate: (response) => {
        const host = new URL(response.url).host;
        if ('empty' in located) return { ok: true, message: `Fetched the first page of ${host} (HTTP ${response.status}): no records yet` };
        if ('missing' in located) return { ok: false, error: missingRecords(host, located.missing) };
        return { ok: true, message: `Fetched the first page of ${run.stream.name} from ${host} (HTTP ${response.status})` };
      },
      validate: (_response, recordSecrets) => {
        if ('empty' in located) return { ok: true, message: '0 records on the first page', sample: () => [] };
        const valid = validateRecords('items' in located ? located.items : undefined, typeof run.stream.records === 'string' ? run.stream.records : run.stream.records.rows);
        if (!valid.ok) return { ok: false, error: new ConnectorError('BAD_RESPONSE', valid.message) };
        return {
          ok: true,
          message: `${valid.records.length} ${run.stream.map.kind === 'record' ? '' : `${run.stream.map.kind} `}record${valid.records.length === 1 ? '' : 's'} on the first page, all JSON objects`,
          sample: (n) => valid.records.slice(0, n).map((item) => mapItem(item, run.stream, recordSecrets, { config: cfg, partition: run.partition })),
        };
      },
      remediation,
    });
  }

  /**
   * A cursor whose next read starts every selected stream's window at `from`: `until` is where a
   * window starts when no cursor value is known (windowOf). Honoured by streams with a datetime or
   * epoch cursor and by streams whose request is windowed on `{{window.start}}`; an integer cursor
   * (ids, blocks) or an unwindowed request says nothing about time, so `from` is refused.
   */
  function cursorFrom(input: ConnectionInput, from: Date): ReadCursor {
    const cfg = parse(input);
    const streams: Record<string, StreamState> = {};
    for (const run of runsOf(cfg, input.eventTypes)) {
      const c = run.stream.cursor;
      const windowed = JSON.stringify(run.stream.request).includes('window.start');
      if (c?.type === 'integer' || (!c && !windowed)) {
        const why = c ? `its cursor ${c.field} is an integer, not a time` : 'its request has no time filter';
        throw new ConnectorError('CONFIG_INVALID', `stream ${run.key} cannot be read from a point in time: ${why}`);
      }
      streams[run.key] = { until: from.toISOString() };
    }
    return { v: 1, streams } satisfies EngineCursor as unknown as ReadCursor;
  }

  return { spec, manifest: m, check, read, cursorFrom };
}
