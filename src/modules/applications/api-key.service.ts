import { createHash, timingSafeEqual } from 'node:crypto';
import type { ProtectedHeaderParameters } from 'jose';
import type { DataSource } from 'typeorm';
import type { Principal } from '../../auth/principal.js';
import type { SigningKeyStore } from '../../auth/signing-keys.js';
import type { ServiceTokenAuthenticator } from '../../auth/verifier.js';
import { columnList, createHydrator } from '../../db/hydrate.js';
import { isWellFormedId, newId } from '../../db/ids.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestContext } from '../../context/request-context.js';
import { actorOf } from '../audit/audit.actor.js';
import { diffChanges } from '../audit/audit.changes.js';
import type { AuditService } from '../audit/audit.service.js';
import { cleanName } from '../connectors/connector.validation.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { API_KEY_SCOPES, ROLES_OF_SCOPE, type ApiKeyScope } from './api-key.scope.js';
import type { ApplicationService } from './application.service.js';

export const EXPIRES_IN_DAYS_MIN = 1;
export const EXPIRES_IN_DAYS_MAX = 3650;
/** `lastUsedAt` is written at most this often per key. */
export const LAST_USED_RESOLUTION_MS = 60_000;
/** Length of the display prefix: the first characters of the token's signature segment. */
export const PREFIX_LENGTH = 8;

const DAY_MS = 86_400_000;

/** What `createApiKey` returns: the stored key and the token, which exists nowhere else. */
export interface CreatedApiKeyResult {
  key: ApiKeyEntity;
  token: string;
}

function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The display prefix: the first PREFIX_LENGTH characters after the token's last `.` (its
 * signature), which differ per token, unlike the JWT header and payload openings. Too short to
 * help forge or guess anything; enough to tell which stored key a token in hand is.
 */
export function displayPrefix(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1).slice(0, PREFIX_LENGTH);
}

function unauthenticated(message: string): AppError {
  return new AppError('UNAUTHENTICATED', message);
}

function cleanScope(value: string | null | undefined): ApiKeyScope {
  const scope = value ?? 'READ';
  if (!(API_KEY_SCOPES as readonly string[]).includes(scope)) {
    throw AppError.badInput(`scope must be one of ${API_KEY_SCOPES.join(', ')}`, [{ path: 'scope', message: 'unknown scope' }]);
  }
  return scope as ApiKeyScope;
}

function cleanExpiresInDays(value: number | null | undefined): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < EXPIRES_IN_DAYS_MIN || value > EXPIRES_IN_DAYS_MAX) {
    throw AppError.badInput(`expiresInDays must be from ${EXPIRES_IN_DAYS_MIN} to ${EXPIRES_IN_DAYS_MAX}, got ${value}`, [
      { path: 'expiresInDays', message: `must be from ${EXPIRES_IN_DAYS_MIN} to ${EXPIRES_IN_DAYS_MAX}` },
    ]);
  }
  return value;
}

function noApplicationTokens(principal: Principal, what: string): void {
  if (principal.appId) throw new AppError('FORBIDDEN', `application tokens cannot ${what}`);
}

/**
 * Application API keys: JWTs the service signs with its own key (SigningKeyStore), shown once,
 * stored as metadata and a SHA-256 of the token. Every request with such a token looks the key up
 * (one primary-key SELECT, no cache), so revocation, expiry and application deletion apply to the
 * next request on every replica.
 */
export class ApiKeyService implements ServiceTokenAuthenticator {
  private readonly hydrate;
  private readonly columns: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly applications: ApplicationService,
    readonly signingKeys: SigningKeyStore,
  ) {
    this.hydrate = createHydrator(dataSource, ApiKeyEntity);
    this.columns = columnList(dataSource, ApiKeyEntity, 'k');
  }

  /** Admins only (the resolver checks the role); application tokens may not mint keys. */
  async create(rc: RequestContext, applicationId: string, name: string, scope?: string | null, expiresInDays?: number | null): Promise<CreatedApiKeyResult> {
    const { principal } = rc;
    noApplicationTokens(principal, 'create API keys');
    const clean = { name: cleanName(name), scope: cleanScope(scope), days: cleanExpiresInDays(expiresInDays) };
    return this.dataSource.transaction(async (m) => {
      const application = await this.applications.requireVisible(m, principal, applicationId, true);
      const now = new Date();
      const id = newId('key', now);
      const expiresAt = clean.days ? new Date(Math.floor((now.getTime() + clean.days * DAY_MS) / 1000) * 1000) : null;
      const { token, kid } = await this.signingKeys.sign(
        { sub: id, jti: id, tenant_id: principal.tenantId, app_id: application.id, scope: clean.scope },
        expiresAt,
        m,
      );
      const key = m.create(ApiKeyEntity, {
        id,
        tenantId: principal.tenantId,
        applicationId: application.id,
        name: clean.name,
        prefix: displayPrefix(token),
        scope: clean.scope,
        tokenSha256: sha256Hex(token),
        kid,
        expiresAt,
        revokedAt: null,
        revokedBy: null,
        lastUsedAt: null,
        createdAt: now,
        createdBy: principal.subject,
      });
      await m.insert(ApiKeyEntity, key);
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'API_KEY_CREATED',
        targetType: 'ApiKey',
        targetId: id,
        appId: application.id,
        changes: diffChanges(null, key, ['name', 'scope', 'expiresAt']),
      });
      return { key, token };
    });
  }

  /** Sets `revokedAt`; revoking a revoked key changes nothing and records nothing. */
  async revoke(rc: RequestContext, id: string): Promise<ApiKeyEntity> {
    const { principal } = rc;
    noApplicationTokens(principal, 'revoke API keys');
    return this.dataSource.transaction(async (m) => {
      const key = await m
        .getRepository(ApiKeyEntity)
        .createQueryBuilder('k')
        .where('k.id = :id AND k.tenantId = :tenantId', { id, tenantId: principal.tenantId })
        .setLock('pessimistic_write')
        .getOne();
      if (!key) throw AppError.notFound('API key', id);
      if (key.revokedAt) return key;
      const now = new Date();
      await m.update(ApiKeyEntity, { id }, { revokedAt: now, revokedBy: principal.subject });
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'API_KEY_REVOKED',
        targetType: 'ApiKey',
        targetId: id,
        appId: key.applicationId,
        changes: diffChanges(key, { revokedAt: now }, ['revokedAt']),
      });
      return Object.assign(key, { revokedAt: now, revokedBy: principal.subject });
    });
  }

  recognizes(header: ProtectedHeaderParameters, issuer: string | undefined): boolean {
    return issuer === this.signingKeys.issuer || this.signingKeys.hasKey(header.kid);
  }

  /**
   * Verifies an application token (signature, issuer, expiry) and looks its key up: unknown,
   * revoked or expired keys, a token other than the one issued for the key, and deleted
   * applications are UNAUTHENTICATED. Touches `lastUsedAt` at most once per minute.
   */
  async authenticate(token: string): Promise<Principal> {
    const payload = await this.signingKeys.verify(token);
    const id = payload.sub;
    if (typeof id !== 'string' || !isWellFormedId(id, 'key')) throw unauthenticated('the token does not name an API key');
    const [row]: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT ${this.columns}, a.is_deleted AS application_deleted
         FROM api_keys k JOIN applications a ON a.id = k.application_id AND a.tenant_id = k.tenant_id
        WHERE k.id = $1`,
      [id],
    );
    if (!row) throw unauthenticated('the API key does not exist');
    const key = this.hydrate(row);
    const issued = Buffer.from(key.tokenSha256, 'hex');
    const presented = createHash('sha256').update(token, 'utf8').digest();
    if (issued.length !== presented.length || !timingSafeEqual(issued, presented)) {
      throw unauthenticated('the token is not the one issued for this API key');
    }
    if (payload.tenant_id !== key.tenantId || payload.app_id !== key.applicationId || payload.scope !== key.scope) {
      throw unauthenticated('the token does not match its API key');
    }
    if (key.revokedAt) throw unauthenticated('the API key has been revoked');
    const now = new Date();
    if (key.expiresAt && key.expiresAt <= now) throw unauthenticated('the API key has expired');
    if (row.application_deleted) throw unauthenticated("the API key's application has been deleted");
    if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) await this.touch(key.id, now);
    return {
      tenantId: key.tenantId,
      subject: key.id,
      email: null,
      roles: [...ROLES_OF_SCOPE[key.scope]],
      groups: [],
      appId: key.applicationId,
      actorType: 'APPLICATION',
    };
  }

  /** Concurrent requests may both try; the condition lets one write. */
  private async touch(id: string, now: Date): Promise<void> {
    await this.dataSource.query(
      `UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2::timestamptz - make_interval(secs => $3))`,
      [id, now, LAST_USED_RESOLUTION_MS / 1000],
    );
  }
}
