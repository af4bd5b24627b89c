import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { getAdapter } from '../../adapters/registry.js';
import type { Principal } from '../../auth/principal.js';
import { columnList, createHydrator } from '../../db/hydrate.js';
import { newId, type IdPrefix } from '../../db/ids.js';
import { SqlParams } from '../../db/sql.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestContext } from '../../context/request-context.js';
import { LAST_USED_RESOLUTION_MS } from '../applications/api-key.service.js';
import { actorOf } from '../audit/audit.actor.js';
import { diffChanges } from '../audit/audit.changes.js';
import type { AuditRecordInput, AuditService } from '../audit/audit.service.js';
import { cleanName } from '../connectors/connector.validation.js';
import { connectorVisibility } from '../connectors/connector.visibility.js';
import { IntakeTokenEntity } from './intake-token.entity.js';

/** What every intake token starts with; the rest is 32 random bytes in base64url (43 characters). */
export const INTAKE_TOKEN_PREFIX = 'hec_';
/** Length of the display prefix: the first characters after `hec_`. */
export const PREFIX_LENGTH = 8;
/** `lastUsedAt` is written at most this often per token, as for API keys. */
export { LAST_USED_RESOLUTION_MS };

const TOKEN_PATTERN = /^hec_[A-Za-z0-9_-]{43}$/;
const ID_PREFIX: IdPrefix = 'itk';
const TARGET_TYPE: AuditRecordInput['targetType'] = 'IntakeToken';

/** Who a live intake token speaks for. */
export interface IntakeIdentity {
  tokenId: string;
  tenantId: string;
  connectorId: string;
}

/** What `createIntakeToken` returns: the stored token and the token itself, which exists nowhere else. */
export interface CreatedIntakeTokenResult {
  intakeToken: IntakeTokenEntity;
  token: string;
}

interface ConnectorRow {
  id: string;
  provider: string;
  is_deleted: boolean;
  application_id: string | null;
}

export function mintIntakeToken(): string {
  return INTAKE_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function intakeTokenPrefix(token: string): string {
  return token.slice(INTAKE_TOKEN_PREFIX.length, INTAKE_TOKEN_PREFIX.length + PREFIX_LENGTH);
}

function sha256(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function noApplicationTokens(principal: Principal, what: string): void {
  if (principal.appId) throw new AppError('FORBIDDEN', `application tokens cannot ${what}`);
}

/**
 * Intake tokens of push connectors (adapter spec `mode: 'push'`): random bearer secrets a push
 * source presents to the HTTP intake (Splunk HEC clients accept any token string). Shown once,
 * stored as metadata and a SHA-256; created and revoked by admins in one transaction with their
 * audit event. Every presented token is looked up (one indexed SELECT, no cache), so a revocation
 * applies to the next request on every replica.
 */
export class IntakeTokenService {
  private readonly hydrate;
  private readonly columns: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {
    this.hydrate = createHydrator(dataSource, IntakeTokenEntity);
    this.columns = columnList(dataSource, IntakeTokenEntity, 't');
  }

  /** Admins only (the resolver checks the role): a new token for a visible, live push connector. */
  async create(rc: RequestContext, connectorId: string, name: string): Promise<CreatedIntakeTokenResult> {
    const { principal } = rc;
    noApplicationTokens(principal, 'create intake tokens');
    const cleanedName = cleanName(name);
    return this.dataSource.transaction(async (m) => {
      const connector = await this.lockConnector(m, principal, connectorId);
      if (connector.is_deleted) {
        throw AppError.badInput(`connector ${connector.id} is deleted: restore it before creating intake tokens`, [{ path: 'connectorId', message: 'is deleted' }]);
      }
      if (getAdapter(connector.provider)?.spec.mode !== 'push') {
        throw AppError.badInput(`intake tokens are for push connectors; ${connector.provider} is polled`, [{ path: 'connectorId', message: 'is not a push connector' }]);
      }
      const now = new Date();
      const token = mintIntakeToken();
      const row = m.create(IntakeTokenEntity, {
        id: newId(ID_PREFIX, now),
        tenantId: principal.tenantId,
        connectorId: connector.id,
        name: cleanedName,
        prefix: intakeTokenPrefix(token),
        tokenSha256: sha256(token).toString('hex'),
        createdAt: now,
        createdBy: principal.subject,
        revokedAt: null,
        revokedBy: null,
        lastUsedAt: null,
      });
      await m.insert(IntakeTokenEntity, row);
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'INTAKE_TOKEN_CREATED',
        targetType: TARGET_TYPE,
        targetId: row.id,
        connectorId: connector.id,
        appId: connector.application_id,
        changes: diffChanges(null, row, ['name']),
      });
      return { intakeToken: row, token };
    });
  }

  /** Sets `revokedAt`; revoking a revoked token changes nothing and records nothing. */
  async revoke(rc: RequestContext, id: string): Promise<IntakeTokenEntity> {
    const { principal } = rc;
    noApplicationTokens(principal, 'revoke intake tokens');
    return this.dataSource.transaction(async (m) => {
      const sql = new SqlParams();
      const rows: Array<Record<string, unknown>> = await m.query(
        `SELECT ${this.columns}, c.application_id AS connector_application_id
           FROM intake_tokens t JOIN connectors c ON c.id = t.connector_id AND c.tenant_id = t.tenant_id
          WHERE t.id = ${sql.param(id)} AND t.tenant_id = ${sql.param(principal.tenantId)} AND ${connectorVisibility(principal, 'c', sql)}
          FOR UPDATE OF t`,
        sql.values,
      );
      if (!rows.length) throw AppError.notFound('intake token', id);
      const token = this.hydrate(rows[0]!);
      if (token.revokedAt) return token;
      const now = new Date();
      await m.update(IntakeTokenEntity, { id: token.id }, { revokedAt: now, revokedBy: principal.subject });
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'INTAKE_TOKEN_REVOKED',
        targetType: TARGET_TYPE,
        targetId: token.id,
        connectorId: token.connectorId,
        appId: (rows[0]!.connector_application_id as string | null) ?? null,
        changes: diffChanges(token, { revokedAt: now }, ['revokedAt']),
      });
      return Object.assign(token, { revokedAt: now, revokedBy: principal.subject });
    });
  }

  /**
   * The tokens (revoked ones included) of many connectors in one statement, newest first, for
   * `Connector.intakeTokens`; tokens of connectors the caller cannot see are absent.
   */
  async tokensOf(principal: Principal, connectorIds: readonly string[]): Promise<Map<string, IntakeTokenEntity[]>> {
    const sql = new SqlParams();
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT ${this.columns} FROM intake_tokens t JOIN connectors c ON c.id = t.connector_id AND c.tenant_id = t.tenant_id
        WHERE t.tenant_id = ${sql.param(principal.tenantId)} AND t.connector_id = ANY(${sql.param(connectorIds)}::text[])
          AND ${connectorVisibility(principal, 'c', sql)}
        ORDER BY t.id DESC`,
      sql.values,
    );
    const byConnector = new Map<string, IntakeTokenEntity[]>(connectorIds.map((id) => [id, []]));
    for (const row of rows) {
      const token = this.hydrate(row);
      byConnector.get(token.connectorId)?.push(token);
    }
    return byConnector;
  }

  /**
   * Who a presented token speaks for, or null: malformed, unknown and revoked tokens, and tokens of
   * deleted connectors, are refused alike. Touches `lastUsedAt` at most once per minute.
   */
  async authenticate(token: string): Promise<IntakeIdentity | null> {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return null;
    const presented = sha256(token);
    const [row]: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT ${this.columns}, c.is_deleted AS connector_deleted
         FROM intake_tokens t JOIN connectors c ON c.id = t.connector_id AND c.tenant_id = t.tenant_id
        WHERE t.token_sha256 = $1`,
      [presented.toString('hex')],
    );
    if (!row) return null;
    const stored = this.hydrate(row);
    const issued = Buffer.from(stored.tokenSha256, 'hex');
    if (issued.length !== presented.length || !timingSafeEqual(issued, presented)) return null;
    if (stored.revokedAt || row.connector_deleted) return null;
    const now = new Date();
    if (!stored.lastUsedAt || now.getTime() - stored.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) await this.touch(stored.id, now);
    return { tokenId: stored.id, tenantId: stored.tenantId, connectorId: stored.connectorId };
  }

  /** The connector, if the caller can see it, share-locked so a concurrent delete waits for this transaction. */
  private async lockConnector(m: EntityManager, principal: Principal, id: string): Promise<ConnectorRow> {
    const sql = new SqlParams();
    const rows: ConnectorRow[] = await m.query(
      `SELECT c.id, c.provider, c.is_deleted, c.application_id FROM connectors c
        WHERE c.id = ${sql.param(id)} AND ${connectorVisibility(principal, 'c', sql)} FOR SHARE`,
      sql.values,
    );
    if (!rows.length) throw AppError.notFound('connector', id);
    return rows[0]!;
  }

  /** Concurrent requests may both try; the condition lets one write. */
  private async touch(id: string, now: Date): Promise<void> {
    await this.dataSource.query(
      `UPDATE intake_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2::timestamptz - make_interval(secs => $3))`,
      [id, now, LAST_USED_RESOLUTION_MS / 1000],
    );
  }
}
