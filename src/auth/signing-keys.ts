import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { DataSource, EntityManager } from 'typeorm';
import { ulid } from 'ulid';
import type { AppConfig } from '../config.js';
import { resolveMasterKey } from '../secrets/local.store.js';
import type { Logger } from '../server/logger.js';
import { SigningKeyEntity } from './signing-key.entity.js';

/** `iss` of every token the service signs itself (application API keys). */
export const SERVICE_ISSUER = 'urn:connector-subgraph';
/** What new keys use; verification accepts only these asymmetric algorithms. */
export const SIGNING_ALGORITHM = 'ES256';
export const SERVICE_TOKEN_ALGORITHMS = ['ES256', 'EdDSA'];

const HKDF_SALT = Buffer.from('connector-subgraph/signing-keys', 'utf8');
const HKDF_INFO = 'signing-keys/v1';
/** Serializes first-start generation and rotation across replicas and the CLI. */
const ADVISORY_LOCK = 0x5349_474b;
/**
 * An unknown kid reloads the public keys (another replica or the CLI rotated). Loads start at most
 * this often; a request with an unknown kid waits for the next one rather than being refused.
 */
const RELOAD_INTERVAL_MS = 250;

/** A published verification key: public parameters only. */
export interface PublicSigningJwk extends JWK {
  kid: string;
  alg: string;
  use: 'sig';
}

export interface SigningKeyStoreOptions {
  /** The service's master key: the AES-256-GCM key for private JWKs is derived from it with HKDF. */
  masterKey: Buffer;
  /** `iss` of signed tokens; defaults to SERVICE_ISSUER. */
  issuer?: string;
  logger?: Logger;
}

/**
 * The secret store's master key (SECRETS_MASTER_KEY, else DATA_DIR/secrets-master-key), under
 * its own HKDF salt: one key for operators to keep, separate keys in use.
 */
export function signingKeyOptions(config: AppConfig, logger?: Logger): SigningKeyStoreOptions {
  return { masterKey: resolveMasterKey(config).key, logger };
}

function publicPart(jwk: JWK, kid: string, alg: string): PublicSigningJwk {
  const { kty, crv, x, y } = jwk;
  return { kty, crv, x, ...(y ? { y } : {}), kid, alg, use: 'sig' };
}

/**
 * The service's own asymmetric signing keys, in the `signing_keys` table. Exactly one key is
 * active and signs new tokens; rotation adds a new active key and retires the previous one, whose
 * public key stays published and keeps verifying the tokens it signed. Private JWKs are stored
 * only as AES-256-GCM ciphertext (the kid is the additional data), under a key derived from the
 * master key; they never leave this class.
 */
export class SigningKeyStore {
  readonly issuer: string;
  private readonly encryptionKey: Buffer;
  private readonly logger?: Logger;
  private publicKeys = new Map<string, PublicSigningJwk>();
  private localSet: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });
  private pendingReload: Promise<void> | null = null;
  private lastLoadStarted = 0;
  private loadedFrom = 0;
  private readonly privateKeys = new Map<string, Promise<CryptoKey>>();

  constructor(
    private readonly dataSource: DataSource,
    options: SigningKeyStoreOptions,
  ) {
    if (options.masterKey.length !== 32) throw new Error('the signing key store needs a 32-byte master key');
    this.issuer = options.issuer ?? SERVICE_ISSUER;
    this.logger = options.logger;
    this.encryptionKey = Buffer.from(hkdfSync('sha256', options.masterKey, HKDF_SALT, HKDF_INFO, 32));
  }

  /**
   * Generates the first key on first start (once, whatever the number of replicas) and loads the
   * public keys. An active key this master key cannot decrypt is replaced by a new one; the old
   * public key stays published.
   */
  async ensureActiveKey(): Promise<string> {
    let active = await this.dataSource.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1::bigint)', [ADVISORY_LOCK]);
      const existing = await m.findOneBy(SigningKeyEntity, { active: true });
      return existing ?? (await this.insertKey(m));
    });
    try {
      await this.privateKey(active);
    } catch {
      this.logger?.warn(
        { kid: active.kid },
        'the active signing key cannot be decrypted with this master key (SECRETS_MASTER_KEY differs between replicas or changed?): rotating to a new key',
      );
      active = await this.dataSource.getRepository(SigningKeyEntity).findOneByOrFail({ kid: await this.rotate() });
    }
    await this.load();
    return active.kid;
  }

  /**
   * Adds a new active signing key and retires the current one, which stays published: unexpired
   * tokens it signed keep verifying, new tokens carry the new `kid`. Returns the new kid.
   */
  async rotate(): Promise<string> {
    const row = await this.dataSource.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1::bigint)', [ADVISORY_LOCK]);
      await m.query('UPDATE signing_keys SET active = false, retired_at = now() WHERE active');
      return this.insertKey(m);
    });
    await this.load();
    this.logger?.info({ kid: row.kid }, 'signing key rotated');
    return row.kid;
  }

  /** The published key set: every key's public part with `kid`, `alg` and `use: sig`, newest first. */
  async jwks(): Promise<{ keys: PublicSigningJwk[] }> {
    const rows = await this.dataSource.getRepository(SigningKeyEntity).find({ select: { kid: true, alg: true, publicJwk: true }, order: { createdAt: 'DESC', kid: 'DESC' } });
    return { keys: rows.map((r) => publicPart(r.publicJwk, r.kid, r.alg)) };
  }

  /** Whether `kid` names one of this service's keys (as last loaded). */
  hasKey(kid: string | undefined): boolean {
    return kid !== undefined && this.publicKeys.has(kid);
  }

  /**
   * Signs `claims` with the active key (read from the database each time, so a rotation by another
   * replica or the CLI applies at once), with `iss`, `iat`, a `kid` header and `exp` when given.
   */
  async sign(claims: JWTPayload, expiresAt: Date | null, manager?: EntityManager): Promise<{ token: string; kid: string }> {
    const row = await (manager ?? this.dataSource.manager).findOneBy(SigningKeyEntity, { active: true });
    if (!row) throw new Error('there is no active signing key: ensureActiveKey() runs at start-up');
    let key: CryptoKey;
    try {
      key = await this.privateKey(row);
    } catch {
      throw new Error(`signing key ${row.kid} cannot be decrypted with the configured master key: set the same SECRETS_MASTER_KEY everywhere or run npm run keys:rotate`);
    }
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: row.alg, kid: row.kid, typ: 'JWT' }).setIssuer(this.issuer).setIssuedAt();
    if (expiresAt) jwt.setExpirationTime(Math.floor(expiresAt.getTime() / 1000));
    return { token: await jwt.sign(key), kid: row.kid };
  }

  /**
   * Verifies a token this service signed: ES256/EdDSA only, a known `kid`, this issuer, `exp`
   * and `nbf` with 5 s of tolerance. Throws jose's errors.
   */
  async verify(token: string): Promise<JWTPayload> {
    const getKey: JWTVerifyGetKey = async (header, input) => {
      if (header.kid && !this.publicKeys.has(header.kid)) await this.reload();
      return this.localSet(header, input);
    };
    const { payload } = await jwtVerify(token, getKey, { algorithms: SERVICE_TOKEN_ALGORITHMS, issuer: this.issuer, clockTolerance: 5 });
    return payload;
  }

  private async insertKey(m: EntityManager): Promise<SigningKeyEntity> {
    const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const kid = `sig_${ulid()}`;
    const row = m.create(SigningKeyEntity, {
      kid,
      alg: SIGNING_ALGORITHM,
      publicJwk: publicPart(privateJwk, kid, SIGNING_ALGORITHM),
      privateJwkEncrypted: this.encrypt(kid, JSON.stringify(privateJwk)),
      active: true,
      createdAt: new Date(),
      retiredAt: null,
    });
    await m.insert(SigningKeyEntity, row);
    return row;
  }

  private privateKey(row: SigningKeyEntity): Promise<CryptoKey> {
    let key = this.privateKeys.get(row.kid);
    if (!key) {
      key = (async () => {
        const jwk = JSON.parse(this.decrypt(row.kid, row.privateJwkEncrypted)) as JWK;
        return (await importJWK(jwk, row.alg, { extractable: false })) as CryptoKey;
      })();
      key.catch(() => this.privateKeys.delete(row.kid));
      this.privateKeys.set(row.kid, key);
    }
    return key;
  }

  /** Callers that arrive before the next load starts share it; later ones get a fresh one. */
  private reload(): Promise<void> {
    this.pendingReload ??= (async () => {
      const wait = this.lastLoadStarted + RELOAD_INTERVAL_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
      this.pendingReload = null;
      await this.load();
    })();
    return this.pendingReload;
  }

  private async load(): Promise<void> {
    const started = (this.lastLoadStarted = Date.now());
    const { keys } = await this.jwks();
    // Keys are only ever added: a load that started earlier must not replace a newer one.
    if (started < this.loadedFrom) return;
    this.loadedFrom = started;
    this.publicKeys = new Map(keys.map((k) => [k.kid, k]));
    this.localSet = createLocalJWKSet({ keys });
  }

  private encrypt(kid: string, plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(`signing_keys:${kid}`, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, ciphertext, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  private decrypt(kid: string, sealed: string): string {
    const [version, iv, ciphertext, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || !ciphertext || !tag) throw new Error(`signing key ${kid}: unknown ciphertext format`);
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(`signing_keys:${kid}`, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}
