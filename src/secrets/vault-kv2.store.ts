/**
 * {@link SecretStore} on HashiCorp Vault's KV secrets engine, version 2, over its HTTP API.
 *
 * Paths (`<mount>` may have several segments; every segment is URL-encoded):
 * - write:    `POST   /v1/<mount>/data/tenants/<tenant>/connectors/<id>/credentials` `{ options: { cas }, data }`
 * - read:     `GET    /v1/<mount>/data/...[?version=N]` → `data.data`, `data.metadata.version`
 * - metadata: `GET    /v1/<mount>/metadata/...` → `data.current_version`, `data.versions`
 * - purge:    `DELETE /v1/<mount>/metadata/...` (every version and the metadata; 204 even when absent)
 *
 * Vault answers, and what they become:
 * - 400 "check-and-set parameter did not match the current version" → `CAS_CONFLICT`;
 *   400 "check-and-set parameter required for this call" (`cas_required` on the mount or key) on
 *   an unconditional write → the current version is read and the write repeated with it as `cas`.
 * - 401/403 → `FORBIDDEN`.
 * - 404 with `{"errors":[]}` → no such secret or version (`undefined`; purge is idempotent); 404 with
 *   the version's `metadata` in `data` → that version was deleted or destroyed (`undefined`);
 *   404 with an error message (e.g. "no handler for route", an unknown mount) → `BAD_RESPONSE`.
 * - 412 (performance standby not caught up), 429, 5xx, redirects (standby without request
 *   forwarding) and transport failures → retried with backoff, then `UNAVAILABLE`. Writes are
 *   retried only when Vault cannot have applied them (connection refused, 429, 503).
 *
 * Vault is configured by the operator, so the connectors' egress guard does not apply; timeouts
 * and retries do. Neither the token nor secret data appear in errors or logs; Vault's own error
 * strings are only matched, never repeated.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { got } from 'got';
import type { Got } from 'got';
import type { Logger } from '../server/logger.js';
import {
  fieldsOf,
  relativeSecretPath,
  SecretStoreError,
  validateCas,
  validateData,
  validateRef,
  validateVersion,
  type SecretRef,
  type SecretStore,
  type SecretVersionInfo,
} from './contract.js';

const CAS_MISMATCH = 'check-and-set parameter did not match the current version';
const CAS_REQUIRED = 'check-and-set parameter required for this call';
const RETRY_STATUSES = new Set([412, 429, 500, 502, 503, 504]);
/** Statuses after which Vault has certainly not applied a write. */
const WRITE_RETRY_STATUSES = new Set([429, 503]);
const RETRY_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT']);
/** Transport failures before anything was sent. */
const UNSENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);
const CONNECT_TIMEOUT_EVENTS = new Set(['lookup', 'connect', 'secureConnect', 'socket']);
const METADATA_FIELD_READS = 4;

export interface VaultKv2StoreOptions {
  /** `VAULT_ADDR`, e.g. `https://vault.internal:8200`. */
  addr: string;
  /** `VAULT_TOKEN`, sent as `X-Vault-Token` and nowhere else. */
  token: string;
  /** `VAULT_KV_MOUNT`; default `secret`. */
  mount?: string;
  /** Vault Enterprise namespace, sent as `X-Vault-Namespace`. */
  namespace?: string;
  logger: Logger;
  /** DNS + TCP + TLS budget of one attempt. Default 5 s. */
  connectTimeoutMs?: number;
  /** Budget of one attempt. Default 10 s. */
  timeoutMs?: number;
  /** Extra attempts after a retryable failure. Default 2. */
  retries?: number;
  /** First backoff step, doubled per attempt with jitter. Default 200 ms. */
  retryBaseDelayMs?: number;
}

interface VaultAnswer {
  status: number;
  body: unknown;
}

interface CallOptions {
  method: 'GET' | 'POST' | 'DELETE';
  kind: 'data' | 'metadata';
  ref: SecretRef;
  version?: number;
  json?: unknown;
  /** What the call is doing, for messages. */
  op: string;
}

function errorsOf(body: unknown): string[] | undefined {
  const errors = (body as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function parseTime(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class VaultKv2Store implements SecretStore {
  readonly backend = 'vault' as const;
  readonly mount: string;
  readonly #base: string;
  readonly #mountPath: string;
  readonly #token: string;
  readonly #namespace?: string;
  readonly #logger: Logger;
  readonly #retries: number;
  readonly #retryBaseDelayMs: number;
  readonly #agents: { http: http.Agent; https: https.Agent };
  readonly #got: Got;

  constructor(options: VaultKv2StoreOptions) {
    let addr: URL;
    try {
      addr = new URL(options.addr);
    } catch {
      throw new SecretStoreError('INVALID_INPUT', 'VAULT_ADDR is not a valid URL');
    }
    if (addr.protocol !== 'http:' && addr.protocol !== 'https:') throw new SecretStoreError('INVALID_INPUT', 'VAULT_ADDR must use http or https');
    if (addr.username || addr.password || addr.search || addr.hash) {
      throw new SecretStoreError('INVALID_INPUT', 'VAULT_ADDR must not carry credentials, a query or a fragment');
    }
    if (!options.token) throw new SecretStoreError('INVALID_INPUT', 'VAULT_TOKEN is not set');
    const segments = (options.mount ?? 'secret').split('/').filter(Boolean);
    if (segments.length === 0 || segments.some((s) => s === '.' || s === '..')) {
      throw new SecretStoreError('INVALID_INPUT', 'VAULT_KV_MOUNT is not a valid mount path');
    }
    this.mount = segments.join('/');
    this.#mountPath = segments.map(encodeURIComponent).join('/');
    this.#base = `${addr.origin}${addr.pathname.replace(/\/+$/, '')}/v1`;
    this.#token = options.token;
    this.#namespace = options.namespace || undefined;
    this.#logger = options.logger;
    this.#retries = Math.max(0, options.retries ?? 2);
    this.#retryBaseDelayMs = Math.max(0, options.retryBaseDelayMs ?? 200);
    const connect = options.connectTimeoutMs ?? 5_000;
    this.#agents = { http: new http.Agent({ keepAlive: true, maxSockets: 32 }), https: new https.Agent({ keepAlive: true, maxSockets: 32 }) };
    this.#got = got.extend({
      agent: this.#agents,
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      decompress: true,
      http2: false,
      enableUnixSockets: false,
      https: { rejectUnauthorized: true },
      timeout: { lookup: connect, connect, secureConnect: connect, request: options.timeoutMs ?? 10_000 },
      responseType: 'text',
    });
  }

  pathFor(ref: SecretRef): string {
    return `${this.mount}/data/${relativeSecretPath(ref)}`;
  }

  async write(ref: SecretRef, data: Record<string, string>, options: { cas?: number } = {}): Promise<SecretVersionInfo> {
    validateRef(ref);
    const clean = validateData(data);
    let cas = validateCas(options?.cas);
    const conditional = cas !== undefined;
    for (let attempt = 1; ; attempt++) {
      const { status, body } = await this.#call({
        method: 'POST',
        kind: 'data',
        ref,
        json: cas === undefined ? { data: clean } : { options: { cas }, data: clean },
        op: 'write',
      });
      if (status === 200) {
        const d = (body as { data?: unknown } | null)?.data;
        const version = isRecord(d) ? d.version : undefined;
        if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
          throw this.#badResponse('write', status);
        }
        this.#logger.debug({ tenantId: ref.tenantId, connectorId: ref.connectorId, version }, 'vault secret version written');
        return { version, createdAt: parseTime(isRecord(d) ? d.created_time : undefined) ?? new Date(), fields: fieldsOf(clean) };
      }
      const errors = errorsOf(body) ?? [];
      if (status === 400 && errors.includes(CAS_MISMATCH)) {
        if (conditional) throw new SecretStoreError('CAS_CONFLICT', `Vault: check-and-set expected version ${cas}, which is not the current version`, { status });
        // An unconditional write on a cas_required mount lost a race: read the new version and go again.
      } else if (status === 400 && errors.includes(CAS_REQUIRED) && !conditional) {
        // cas_required: an unconditional write becomes "whatever is current now".
      } else if (status === 204) {
        throw new SecretStoreError('BAD_RESPONSE', `Vault wrote without a version: is ${this.mount} a KV version 2 mount?`, { status });
      } else {
        throw this.#statusError('write', status, body);
      }
      if (attempt >= 3) throw new SecretStoreError('CAS_CONFLICT', 'Vault: the secret kept changing during an unconditional write', { status });
      cas = (await this.metadataRaw(ref))?.currentVersion ?? 0;
    }
  }

  async read(ref: SecretRef, version?: number): Promise<{ data: Record<string, string>; version: number } | undefined> {
    validateRef(ref);
    const wanted = validateVersion(version);
    const { status, body } = await this.#call({ method: 'GET', kind: 'data', ref, version: wanted, op: 'read' });
    if (status === 404) return this.#notFound('read', status, body);
    if (status !== 200) throw this.#statusError('read', status, body);
    const d = (body as { data?: unknown } | null)?.data;
    if (!isRecord(d)) throw this.#badResponse('read', status);
    const meta = d.metadata;
    const v = isRecord(meta) ? meta.version : undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw this.#badResponse('read', status);
    // A deleted or destroyed version comes with `data: null` (Vault answers 404 for it; be lenient).
    if (d.data === null || (isRecord(meta) && (meta.destroyed === true || this.#deleted(meta.deletion_time)))) return undefined;
    if (!isRecord(d.data)) throw this.#badResponse('read', status);
    const entries = Object.entries(d.data);
    if (entries.some(([, value]) => typeof value !== 'string')) {
      throw new SecretStoreError('CORRUPT', `Vault secret version ${v} holds fields that are not strings`);
    }
    return { data: Object.fromEntries(entries) as Record<string, string>, version: v };
  }

  async metadata(ref: SecretRef): Promise<{ currentVersion: number; versions: SecretVersionInfo[] } | undefined> {
    const raw = await this.metadataRaw(ref);
    if (!raw) return undefined;
    // KV v2 metadata carries no field names: take them from each live version (values are dropped at once).
    const versions = [...raw.versions];
    const live = versions.filter((v) => !v.destroyed);
    for (let i = 0; i < live.length; i += METADATA_FIELD_READS) {
      await Promise.all(
        live.slice(i, i + METADATA_FIELD_READS).map(async (info) => {
          const found = await this.read(ref, info.version);
          if (found) info.fields = fieldsOf(found.data);
          else info.destroyed = true;
        }),
      );
    }
    return { currentVersion: raw.currentVersion, versions };
  }

  /** Metadata as Vault keeps it: versions without field names (one request). */
  async metadataRaw(ref: SecretRef): Promise<{ currentVersion: number; versions: SecretVersionInfo[] } | undefined> {
    validateRef(ref);
    const { status, body } = await this.#call({ method: 'GET', kind: 'metadata', ref, op: 'read metadata' });
    if (status === 404) return this.#notFound('read metadata', status, body);
    if (status !== 200) throw this.#statusError('read metadata', status, body);
    const d = (body as { data?: unknown } | null)?.data;
    if (!isRecord(d) || typeof d.current_version !== 'number' || !isRecord(d.versions)) throw this.#badResponse('read metadata', status);
    const versions: SecretVersionInfo[] = [];
    for (const [key, value] of Object.entries(d.versions)) {
      const version = Number(key);
      if (!Number.isSafeInteger(version) || version < 1 || !isRecord(value)) throw this.#badResponse('read metadata', status);
      const info: SecretVersionInfo = { version, createdAt: parseTime(value.created_time) ?? new Date(0), fields: [] };
      if (value.destroyed === true || this.#deleted(value.deletion_time)) info.destroyed = true;
      versions.push(info);
    }
    versions.sort((a, b) => a.version - b.version);
    return { currentVersion: d.current_version, versions };
  }

  async destroyAll(ref: SecretRef): Promise<void> {
    validateRef(ref);
    const { status, body } = await this.#call({ method: 'DELETE', kind: 'metadata', ref, op: 'destroy' });
    if (status === 204 || status === 200) return;
    if (status === 404 && (errorsOf(body)?.length ?? 0) === 0) return;
    throw this.#statusError('destroy', status, body);
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  /** `deletion_time` set and in the past: the version is soft-deleted (a future one is only scheduled). */
  #deleted(deletionTime: unknown): boolean {
    const at = parseTime(deletionTime);
    return at !== undefined && at.getTime() <= Date.now();
  }

  #notFound(op: string, status: number, body: unknown): undefined {
    const errors = errorsOf(body);
    const d = (body as { data?: unknown } | null)?.data;
    // `{"errors":[]}`: nothing there; `data.metadata`: the version was deleted or destroyed.
    if ((errors && errors.length === 0) || (isRecord(d) && isRecord(d.metadata))) return undefined;
    throw new SecretStoreError('BAD_RESPONSE', `Vault could not route the ${op} (HTTP 404): check VAULT_KV_MOUNT (${this.mount}) and that it is a KV version 2 mount`, { status });
  }

  #badResponse(op: string, status: number): SecretStoreError {
    return new SecretStoreError('BAD_RESPONSE', `Vault answered the ${op} with an unexpected body (HTTP ${status})`, { status });
  }

  #statusError(op: string, status: number, body: unknown): SecretStoreError {
    if (status === 401 || status === 403) {
      return new SecretStoreError('FORBIDDEN', `Vault refused the ${op} (HTTP ${status}): check VAULT_TOKEN and its policy for ${this.mount}`, { status });
    }
    if (RETRY_STATUSES.has(status) || (status >= 300 && status < 400)) {
      return new SecretStoreError('UNAVAILABLE', `Vault is unavailable for the ${op} (HTTP ${status})`, { status });
    }
    if (status === 400) {
      const hint = errorsOf(body)?.some((e) => e.includes('check-and-set')) ? ' (check-and-set)' : '';
      return new SecretStoreError('BAD_RESPONSE', `Vault refused the ${op} as invalid${hint} (HTTP 400)`, { status });
    }
    return new SecretStoreError('BAD_RESPONSE', `Vault answered the ${op} with HTTP ${status}`, { status });
  }

  #url(kind: 'data' | 'metadata', ref: SecretRef): string {
    return `${this.#base}/${this.#mountPath}/${kind}/${relativeSecretPath(ref)}`;
  }

  #backoff(attempt: number): number {
    const exp = Math.min(5_000, this.#retryBaseDelayMs * 2 ** (attempt - 1));
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }

  async #call(c: CallOptions): Promise<VaultAnswer> {
    const url = this.#url(c.kind, c.ref);
    const headers: Record<string, string> = {
      'x-vault-token': this.#token,
      'x-vault-request': 'true',
      accept: 'application/json',
      'user-agent': 'connector-subgraph/0.1',
    };
    if (this.#namespace) headers['x-vault-namespace'] = this.#namespace;
    let body: string | undefined;
    if (c.json !== undefined) {
      body = JSON.stringify(c.json);
      headers['content-type'] = 'application/json';
    }
    const isWrite = c.method === 'POST';
    const started = performance.now();
    const log = { op: c.op, tenantId: c.ref.tenantId, connectorId: c.ref.connectorId, ...(c.version ? { version: c.version } : {}) };
    for (let attempt = 1; ; attempt++) {
      let status: number;
      let text: string;
      try {
        const response = await this.#got(url, {
          method: c.method,
          headers,
          body,
          searchParams: c.version !== undefined ? { version: String(c.version) } : undefined,
        });
        status = response.statusCode;
        text = response.body;
      } catch (error) {
        // got's errors carry the request options (the token among them): keep only the code.
        const { code, unsent } = this.#transport(error);
        const retry = RETRY_NETWORK_CODES.has(code) && (!isWrite || unsent);
        if (retry && attempt <= this.#retries) {
          this.#logger.warn({ ...log, attempt, code }, 'vault request failed, retrying');
          await sleep(this.#backoff(attempt));
          continue;
        }
        const maybe = isWrite && !unsent ? '; the write may or may not have been applied' : '';
        throw new SecretStoreError('UNAVAILABLE', `Vault could not be reached for the ${c.op} (${code})${maybe}`);
      }
      const retryable = (isWrite ? WRITE_RETRY_STATUSES : RETRY_STATUSES).has(status);
      if (retryable && attempt <= this.#retries) {
        this.#logger.warn({ ...log, attempt, status }, 'vault answered with a retryable status, retrying');
        await sleep(this.#backoff(attempt));
        continue;
      }
      let parsed: unknown = null;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          if (status >= 200 && status < 300) throw this.#badResponse(c.op, status);
        }
      }
      this.#logger.debug({ ...log, status, attempts: attempt, ms: Math.round(performance.now() - started) }, 'vault request');
      return { status, body: parsed };
    }
  }

  #transport(error: unknown): { code: string; unsent: boolean } {
    const e = error as { code?: unknown; name?: unknown; event?: unknown };
    const raw = typeof e?.code === 'string' ? e.code : 'UNKNOWN';
    const code = /^[A-Z0-9_]{2,40}$/.test(raw) ? raw : 'UNKNOWN';
    const connectTimeout = e?.name === 'TimeoutError' && CONNECT_TIMEOUT_EVENTS.has(String(e.event));
    return { code: connectTimeout ? 'ETIMEDOUT' : code, unsent: UNSENT_NETWORK_CODES.has(code) || connectTimeout };
  }
}
