/**
 * The embedded secret store: connector credentials AES-256-GCM-encrypted in PostgreSQL
 * (`connector_secrets`), versioned like Vault KV v2.
 *
 * Format of one row (one version):
 * - `key_id`: first 8 bytes of SHA-256 of the master key, hex. A row under another key id is a
 *   rotated-away key (`KEY_MISMATCH`), not corruption.
 * - `nonce`: 12 random bytes, fresh for every encryption.
 * - `ciphertext`, `auth_tag`: AES-256-GCM of the version's JSON (`{"field":"value",...}`), 16-byte tag.
 * - Key: HKDF-SHA256(master key, salt `connector-subgraph/connector-secrets`,
 *   info `connector-secrets/v1 \0 tenant \0 key id`, 32 bytes): one key per tenant.
 * - Additional authenticated data: `connector-secrets/v1 \0 tenant \0 connector \0 version \0 key id`,
 *   so a ciphertext copied to another tenant, connector or version fails authentication (`CORRUPT`).
 *
 * Writers of one secret are serialized by a transaction-scoped advisory lock, so check-and-set is
 * a comparison with the latest version inside the transaction; the primary key catches anything
 * else. All versions are kept (rollback) until `destroyAll` deletes the rows.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DataSource, EntityManager } from 'typeorm';
import { readOrCreateSecretFile, type AppConfig } from '../config.js';
import type { Logger } from '../server/logger.js';
import { ConnectorSecretEntity } from './secret.entity.js';
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

/** Name of the generated master key under `DATA_DIR` when `SECRETS_MASTER_KEY` is unset. */
export const MASTER_KEY_FILE = 'secrets-master-key';
const FORMAT = 'connector-secrets/v1';
const HKDF_SALT = Buffer.from('connector-subgraph/connector-secrets', 'utf8');
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Class id of the advisory locks that serialize writers of one secret (`pg_advisory_xact_lock(int, int)`). */
const LOCK_CLASS = 0x5ec7;
const MAX_CACHED_TENANT_KEYS = 1000;
const WRITE_ATTEMPTS = 5;

/**
 * Decodes a master key given as base64 or base64url; it must be exactly 32 bytes. Throws an
 * `INVALID_INPUT` error naming `source`, never the value.
 */
export function parseMasterKey(text: string, source = 'SECRETS_MASTER_KEY'): Buffer {
  const trimmed = String(text ?? '').trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    throw new SecretStoreError('INVALID_INPUT', `${source} must be 32 bytes encoded as base64 or base64url`);
  }
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) {
    throw new SecretStoreError('INVALID_INPUT', `${source} must decode to 32 bytes, got ${key.length}`);
  }
  return key;
}

/** First 8 bytes of SHA-256 of the master key, hex: identifies a key without revealing it. */
export function keyIdOf(masterKey: Buffer): string {
  return createHash('sha256').update(masterKey).digest().subarray(0, 8).toString('hex');
}

export interface ResolvedMasterKey {
  key: Buffer;
  keyId: string;
  /** `env`: SECRETS_MASTER_KEY; `file`: generated into (or read from) `DATA_DIR/secrets-master-key`. */
  source: 'env' | 'file';
  /** The key file, for `source: 'file'`. */
  file?: string;
}

/** The master key the service uses: `SECRETS_MASTER_KEY`, else the DATA_DIR file (created 0600 on first use). */
export function resolveMasterKey(config: AppConfig): ResolvedMasterKey {
  if (config.secrets.masterKey) {
    const key = parseMasterKey(config.secrets.masterKey);
    return { key, keyId: keyIdOf(key), source: 'env' };
  }
  const file = join(config.dataDir, MASTER_KEY_FILE);
  const key = parseMasterKey(readOrCreateSecretFile(config.dataDir, MASTER_KEY_FILE), file);
  return { key, keyId: keyIdOf(key), source: 'file', file };
}

/** The encrypted columns of one version. */
export interface EncryptedSecret {
  keyId: string;
  nonce: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

/** AES-256-GCM under per-tenant HKDF keys of one master key (see the module comment for the format). */
export class SecretCipher {
  readonly keyId: string;
  readonly #master: Buffer;
  readonly #tenantKeys = new Map<string, Buffer>();

  constructor(masterKey: Buffer) {
    if (!Buffer.isBuffer(masterKey) || masterKey.length !== 32) {
      throw new SecretStoreError('INVALID_INPUT', 'The master key must be 32 bytes');
    }
    this.#master = Buffer.from(masterKey);
    this.keyId = keyIdOf(this.#master);
  }

  #tenantKey(tenantId: string): Buffer {
    let key = this.#tenantKeys.get(tenantId);
    if (!key) {
      const info = Buffer.from(`${FORMAT}\0${tenantId}\0${this.keyId}`, 'utf8');
      key = Buffer.from(hkdfSync('sha256', this.#master, HKDF_SALT, info, 32));
      if (this.#tenantKeys.size >= MAX_CACHED_TENANT_KEYS) this.#tenantKeys.clear();
      this.#tenantKeys.set(tenantId, key);
    }
    return key;
  }

  #aad(tenantId: string, connectorId: string, version: number): Buffer {
    return Buffer.from(`${FORMAT}\0${tenantId}\0${connectorId}\0${version}\0${this.keyId}`, 'utf8');
  }

  encrypt(tenantId: string, connectorId: string, version: number, data: Record<string, string>): EncryptedSecret {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#tenantKey(tenantId), nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.#aad(tenantId, connectorId, version));
    const plaintext = Buffer.from(JSON.stringify(data), 'utf8');
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    plaintext.fill(0);
    return { keyId: this.keyId, nonce, ciphertext, authTag: cipher.getAuthTag() };
  }

  /** Throws `KEY_MISMATCH` for a row of another key and `CORRUPT` when authentication fails. */
  decrypt(tenantId: string, connectorId: string, version: number, row: EncryptedSecret): Record<string, string> {
    if (row.keyId !== this.keyId) {
      throw new SecretStoreError(
        'KEY_MISMATCH',
        `Secret version ${version} is encrypted under master key ${row.keyId}, but the configured key is ${this.keyId}`,
      );
    }
    let plaintext: Buffer;
    try {
      if (row.nonce.length !== NONCE_BYTES || row.authTag.length !== TAG_BYTES) throw new Error('shape');
      const decipher = createDecipheriv('aes-256-gcm', this.#tenantKey(tenantId), row.nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(this.#aad(tenantId, connectorId, version));
      decipher.setAuthTag(row.authTag);
      plaintext = Buffer.concat([decipher.update(row.ciphertext), decipher.final()]);
    } catch {
      throw new SecretStoreError('CORRUPT', `Secret version ${version} failed authentication: the stored ciphertext does not belong to this secret`);
    }
    try {
      const parsed: unknown = JSON.parse(plaintext.toString('utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('shape');
      const entries = Object.entries(parsed as Record<string, unknown>);
      if (entries.some(([, v]) => typeof v !== 'string')) throw new Error('shape');
      return Object.fromEntries(entries) as Record<string, string>;
    } catch {
      throw new SecretStoreError('CORRUPT', `Secret version ${version} decrypted to something other than string fields`);
    } finally {
      plaintext.fill(0);
    }
  }
}

/** A database failure as a SecretStoreError: the SQL state or socket code only (driver messages may quote parameters). */
export function databaseError(error: unknown): SecretStoreError {
  if (error instanceof SecretStoreError) return error;
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  const raw = e?.driverError?.code ?? e?.code;
  const code = typeof raw === 'string' && /^[A-Z0-9_]{2,40}$/.test(raw) ? raw : 'unknown';
  return new SecretStoreError('UNAVAILABLE', `The local secret store's database failed (${code})`);
}

function sqlState(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

export interface LocalSecretStoreOptions {
  dataSource: DataSource;
  /** 32 bytes (see {@link resolveMasterKey}). */
  masterKey: Buffer;
  logger: Logger;
}

/** {@link SecretStore} on the service's PostgreSQL. */
export class LocalSecretStore implements SecretStore {
  readonly backend = 'local' as const;
  readonly #dataSource: DataSource;
  readonly #cipher: SecretCipher;
  readonly #logger: Logger;

  constructor(options: LocalSecretStoreOptions) {
    this.#dataSource = options.dataSource;
    this.#cipher = new SecretCipher(options.masterKey);
    this.#logger = options.logger;
  }

  /** Key id of the master key in use. */
  get keyId(): string {
    return this.#cipher.keyId;
  }

  pathFor(ref: SecretRef): string {
    return `local:${relativeSecretPath(ref)}`;
  }

  async write(ref: SecretRef, data: Record<string, string>, options: { cas?: number } = {}): Promise<SecretVersionInfo> {
    const { tenantId, connectorId } = validateRef(ref);
    const clean = validateData(data);
    const cas = validateCas(options?.cas);
    for (let attempt = 1; ; attempt++) {
      try {
        const info = await this.#dataSource.transaction(async (m) => {
          await this.#lock(m, tenantId, connectorId);
          const latest: Array<{ version: number; key_id: string }> = await m.query(
            `SELECT version, key_id FROM connector_secrets WHERE tenant_id = $1 AND connector_id = $2 ORDER BY version DESC LIMIT 1`,
            [tenantId, connectorId],
          );
          const current = latest[0]?.version ?? 0;
          if (cas !== undefined && cas !== current) {
            throw new SecretStoreError('CAS_CONFLICT', `Check-and-set expected version ${cas}, but the current version is ${current}`);
          }
          // Writing under another key than the existing versions would leave a secret half-readable.
          if (latest[0] && latest[0].key_id !== this.#cipher.keyId) {
            throw new SecretStoreError(
              'KEY_MISMATCH',
              `The secret's versions are encrypted under master key ${latest[0].key_id}, but the configured key is ${this.#cipher.keyId}`,
            );
          }
          const version = current + 1;
          const sealed = this.#cipher.encrypt(tenantId, connectorId, version, clean);
          const inserted: Array<{ created_at: Date }> = await m.query(
            `INSERT INTO connector_secrets (tenant_id, connector_id, version, key_id, nonce, ciphertext, auth_tag)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at`,
            [tenantId, connectorId, version, sealed.keyId, sealed.nonce, sealed.ciphertext, sealed.authTag],
          );
          return { version, createdAt: new Date(inserted[0]!.created_at), fields: fieldsOf(clean) };
        });
        this.#logger.debug({ tenantId, connectorId, version: info.version }, 'secret version written');
        return info;
      } catch (error) {
        if (sqlState(error) === '23505') {
          if (cas !== undefined) throw new SecretStoreError('CAS_CONFLICT', `Check-and-set expected version ${cas}, but another write got there first`);
          if (attempt < WRITE_ATTEMPTS) continue;
        }
        throw databaseError(error);
      }
    }
  }

  async read(ref: SecretRef, version?: number): Promise<{ data: Record<string, string>; version: number } | undefined> {
    const { tenantId, connectorId } = validateRef(ref);
    const wanted = validateVersion(version);
    let row: ConnectorSecretEntity | null;
    try {
      row = await this.#dataSource.getRepository(ConnectorSecretEntity).findOne({
        where: wanted === undefined ? { tenantId, connectorId } : { tenantId, connectorId, version: wanted },
        order: { version: 'DESC' },
      });
    } catch (error) {
      throw databaseError(error);
    }
    if (!row) return undefined;
    return { data: this.#cipher.decrypt(tenantId, connectorId, row.version, row), version: row.version };
  }

  async metadata(ref: SecretRef): Promise<{ currentVersion: number; versions: SecretVersionInfo[] } | undefined> {
    const { tenantId, connectorId } = validateRef(ref);
    let rows: ConnectorSecretEntity[];
    try {
      rows = await this.#dataSource.getRepository(ConnectorSecretEntity).find({
        where: { tenantId, connectorId },
        order: { version: 'ASC' },
      });
    } catch (error) {
      throw databaseError(error);
    }
    if (rows.length === 0) return undefined;
    // Field names are inside the ciphertext: nothing about a secret is stored in the clear.
    const versions = rows.map((row) => ({
      version: row.version,
      createdAt: new Date(row.createdAt),
      fields: fieldsOf(this.#cipher.decrypt(tenantId, connectorId, row.version, row)),
    }));
    return { currentVersion: versions[versions.length - 1]!.version, versions };
  }

  async destroyAll(ref: SecretRef): Promise<void> {
    const { tenantId, connectorId } = validateRef(ref);
    try {
      await this.#dataSource.transaction(async (m) => {
        await this.#lock(m, tenantId, connectorId);
        await m.query(`DELETE FROM connector_secrets WHERE tenant_id = $1 AND connector_id = $2`, [tenantId, connectorId]);
      });
    } catch (error) {
      throw databaseError(error);
    }
    this.#logger.debug({ tenantId, connectorId }, 'secret destroyed');
  }

  async #lock(m: EntityManager, tenantId: string, connectorId: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [LOCK_CLASS, `${tenantId}/${connectorId}`]);
  }
}
