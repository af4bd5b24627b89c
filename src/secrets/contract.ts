/**
 * The secret-store contract: versioned credentials of one connector, kept either in HashiCorp
 * Vault KV v2 or, by default, AES-256-GCM-encrypted in PostgreSQL. Both stores implement it and
 * take their types, errors and validation from this file only; the factory that picks one is
 * secret-store.ts, which is the only file that imports the stores.
 *
 * Every write creates a new version (1, 2, 3, ...), older
 * versions stay readable for rollback, a check-and-set version makes a write conditional, and
 * `destroyAll` purges everything. Nothing here ever puts a secret value or a Vault token into an
 * error message or a log line.
 */
import { isWellFormedId } from '../db/ids.js';

/**
 * Which secret: a connector's credentials (`cnn_…`), or a webhook endpoint's signing secret
 * (`whk_…`, docs/notifications.md), inside its tenant. The id's prefix says which.
 */
export interface SecretRef {
  tenantId: string;
  connectorId: string;
}

/** One version of a secret, without its values. */
export interface SecretVersionInfo {
  /** 1 for the first write, +1 for every write after it. */
  version: number;
  createdAt: Date;
  /** Names of the fields the version holds (sorted); empty when the version is destroyed. */
  fields: string[];
  /** Vault only: the version was soft-deleted or destroyed and can no longer be read. */
  destroyed?: boolean;
}

export type SecretsBackendName = 'local' | 'vault';

export interface SecretStore {
  readonly backend: SecretsBackendName;
  /**
   * Path stamped on the connector (`vaultPath`): for Vault the KV v2 data path
   * (`<mount>/data/tenants/<tenant>/connectors/<id>/credentials`); for the local store a
   * descriptive logical path (`local:tenants/<tenant>/connectors/<id>/credentials`).
   * Throws `INVALID_REF` for a malformed tenant or connector id.
   */
  pathFor(ref: SecretRef): string;
  /**
   * Writes `data` as a new version and returns it. `cas` is the version the caller expects to be
   * current (0 = the secret must not exist yet); when another version is current the write
   * changes nothing and throws `CAS_CONFLICT`. Without `cas` the write is unconditional.
   */
  write(ref: SecretRef, data: Record<string, string>, options?: { cas?: number }): Promise<SecretVersionInfo>;
  /**
   * Reads the given version, or the latest when `version` is omitted. Undefined when the secret,
   * or that version, does not exist (or, in Vault, was deleted or destroyed).
   */
  read(ref: SecretRef, version?: number): Promise<{ data: Record<string, string>; version: number } | undefined>;
  /** The current version and every version still known, oldest first; undefined when none. */
  metadata(ref: SecretRef): Promise<{ currentVersion: number; versions: SecretVersionInfo[] } | undefined>;
  /** Removes every version and the metadata (purge). Idempotent. */
  destroyAll(ref: SecretRef): Promise<void>;
}

/**
 * Why a secret-store call failed. Messages name the backend and the reason, never a secret value
 * or a token.
 *
 * - `CAS_CONFLICT`: the check-and-set version did not match the current version; nothing changed.
 * - `UNAVAILABLE`: the backend could not be reached or failed (after retries); `retryable`.
 * - `FORBIDDEN`: Vault refused the token (HTTP 403).
 * - `CORRUPT`: stored ciphertext failed authentication (tampered, or moved to another row).
 * - `KEY_MISMATCH`: local store only, the row was encrypted under another master key.
 * - `INVALID_REF`: the tenant or connector id is malformed (nothing was sent anywhere).
 * - `INVALID_INPUT`: the data, version or `cas` argument is malformed.
 * - `BAD_RESPONSE`: Vault answered something the KV v2 API does not (e.g. an unknown mount).
 */
export type SecretStoreErrorCode =
  | 'CAS_CONFLICT'
  | 'UNAVAILABLE'
  | 'FORBIDDEN'
  | 'CORRUPT'
  | 'KEY_MISMATCH'
  | 'INVALID_REF'
  | 'INVALID_INPUT'
  | 'BAD_RESPONSE';

export class SecretStoreError extends Error {
  override name = 'SecretStoreError';
  readonly code: SecretStoreErrorCode;
  /** Worth trying again later (`UNAVAILABLE`). */
  readonly retryable: boolean;
  /** The HTTP status Vault answered, when it answered. */
  readonly status?: number;

  constructor(code: SecretStoreErrorCode, message: string, options: { status?: number; retryable?: boolean } = {}) {
    super(message);
    this.code = code;
    this.retryable = options.retryable ?? code === 'UNAVAILABLE';
    this.status = options.status;
  }
}

export function isSecretStoreError(error: unknown, code?: SecretStoreErrorCode): error is SecretStoreError {
  return error instanceof SecretStoreError && (code === undefined || error.code === code);
}

/** Tenant ids: no `/`, `%` or anything else that could change the meaning of a path. */
const TENANT_RE = /^[A-Za-z0-9_.:@-]{1,200}$/;
/** Field names of a secret: what a credentials JSON Schema can name, nothing that parses as a path or a prototype. */
const FIELD_RE = /^[A-Za-z0-9_.-]{1,128}$/;
const FORBIDDEN_FIELDS = new Set(['__proto__', 'constructor', 'prototype']);
/** Upper bound of one version's JSON: credentials are small, anything bigger is a mistake. */
export const MAX_SECRET_BYTES = 64 * 1024;
export const MAX_FIELDS = 64;

/**
 * Checks a ref and returns it with its parts typed; throws `INVALID_REF` otherwise. Tenants are
 * 1–200 characters of `[A-Za-z0-9_.:@-]` and not only dots (`.` and `..` are path segments);
 * owner ids are `cnn_` (connectors) or `whk_` (webhook endpoints) + 26 Crockford base32 characters.
 * The offending value is not echoed.
 */
export function validateRef(ref: SecretRef): SecretRef {
  if (!ref || typeof ref !== 'object') throw new SecretStoreError('INVALID_REF', 'The secret reference is missing');
  const { tenantId, connectorId } = ref;
  if (typeof tenantId !== 'string' || !TENANT_RE.test(tenantId) || /^\.+$/.test(tenantId)) {
    throw new SecretStoreError('INVALID_REF', 'The tenant id is not valid for a secret path');
  }
  if (typeof connectorId !== 'string' || !(isWellFormedId(connectorId, 'cnn') || isWellFormedId(connectorId, 'whk'))) {
    throw new SecretStoreError('INVALID_REF', 'The connector id is not a well-formed connector id');
  }
  return { tenantId, connectorId };
}

/**
 * `tenants/<tenant>/connectors/<id>/credentials`, or `tenants/<tenant>/webhooks/<id>/signing-secret`
 * for an endpoint; each segment URL-encoded (validation already excludes `/`).
 */
export function relativeSecretPath(ref: SecretRef): string {
  const { tenantId, connectorId } = validateRef(ref);
  const owner = connectorId.startsWith('whk_') ? `webhooks/${encodeURIComponent(connectorId)}/signing-secret` : `connectors/${encodeURIComponent(connectorId)}/credentials`;
  return `tenants/${encodeURIComponent(tenantId)}/${owner}`;
}

/** Checks the data of a write: a plain object of string fields; never echoes a value. */
export function validateData(data: Record<string, string>): Record<string, string> {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new SecretStoreError('INVALID_INPUT', 'Secret data must be an object of string fields');
  }
  const out: Record<string, string> = Object.create(null);
  const keys = Object.keys(data);
  if (keys.length > MAX_FIELDS) throw new SecretStoreError('INVALID_INPUT', `A secret holds at most ${MAX_FIELDS} fields`);
  for (const key of keys) {
    if (!FIELD_RE.test(key) || FORBIDDEN_FIELDS.has(key)) {
      throw new SecretStoreError('INVALID_INPUT', 'A secret field name must be 1–128 characters of [A-Za-z0-9_.-]');
    }
    const value = data[key];
    if (typeof value !== 'string') throw new SecretStoreError('INVALID_INPUT', `Secret field "${key}" must be a string`);
    out[key] = value;
  }
  if (Buffer.byteLength(JSON.stringify(out), 'utf8') > MAX_SECRET_BYTES) {
    throw new SecretStoreError('INVALID_INPUT', `A secret version is limited to ${MAX_SECRET_BYTES} bytes`);
  }
  return out;
}

/** `undefined` or a non-negative integer (0 = must not exist); throws `INVALID_INPUT` otherwise. */
export function validateCas(cas: number | undefined): number | undefined {
  if (cas === undefined || cas === null) return undefined;
  if (!Number.isSafeInteger(cas) || cas < 0) throw new SecretStoreError('INVALID_INPUT', 'cas must be a non-negative integer');
  return cas;
}

/** `undefined` (latest) or a positive integer; throws `INVALID_INPUT` otherwise. */
export function validateVersion(version: number | undefined): number | undefined {
  if (version === undefined || version === null) return undefined;
  if (!Number.isSafeInteger(version) || version < 1) throw new SecretStoreError('INVALID_INPUT', 'version must be a positive integer');
  return version;
}

/** Sorted field names of a version. */
export function fieldsOf(data: Record<string, unknown>): string[] {
  return Object.keys(data).sort();
}
