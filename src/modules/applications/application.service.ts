import type { DataSource, EntityManager } from 'typeorm';
import type { Principal } from '../../auth/principal.js';
import { newId } from '../../db/ids.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestContext } from '../../context/request-context.js';
import { bindList, keysetSql, pageWindow, type CursorBinding, type PageArgs, type PageWindow } from '../../context/cursors.js';
import { actorOf } from '../audit/audit.actor.js';
import { diffChanges } from '../audit/audit.changes.js';
import type { AuditService } from '../audit/audit.service.js';
import { cleanName } from '../connectors/connector.validation.js';
import { ApiKeyEntity } from './api-key.entity.js';
import { revokeKeysOfApplication } from './api-key.revocation.js';
import { ApplicationEntity } from './application.entity.js';

export const APPLICATION_PAGE_MAX = 200;
/** An application's keyset position in `applications`: its id. */
const APPLICATION_KEY = /^app_[0-9A-Z]{26}$/;
const DESCRIPTION_MAX = 2000;

function cleanDescription(value: string | null | undefined): string | null {
  if (value == null) return null;
  const description = value.trim();
  if (description.length > DESCRIPTION_MAX) {
    throw AppError.badInput(`description is ${description.length} characters long; the limit is ${DESCRIPTION_MAX}`, [
      { path: 'description', message: `at most ${DESCRIPTION_MAX} characters` },
    ]);
  }
  return description || null;
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}

/** Applications group connectors for an integration; application tokens see only their own. */
export class ApplicationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  private scoped(principal: Principal, alias = 'a') {
    const qb = this.dataSource
      .getRepository(ApplicationEntity)
      .createQueryBuilder(alias)
      .where(`${alias}.tenantId = :tenantId`, { tenantId: principal.tenantId });
    if (principal.appId) qb.andWhere(`${alias}.id = :appId`, { appId: principal.appId });
    return qb;
  }

  /** Throws NOT_FOUND unless the application exists, is not deleted and is visible to the caller. */
  async requireVisible(m: EntityManager, principal: Principal, id: string, lock = false): Promise<ApplicationEntity> {
    const qb = m
      .getRepository(ApplicationEntity)
      .createQueryBuilder('a')
      .where('a.id = :id AND a.tenantId = :tenantId AND NOT a.isDeleted', { id, tenantId: principal.tenantId });
    if (principal.appId) qb.andWhere('a.id = :appId', { appId: principal.appId });
    if (lock) qb.setLock('pessimistic_write');
    const row = await qb.getOne();
    if (!row) throw AppError.notFound('application', id);
    return row;
  }

  async findByIds(principal: Principal, ids: readonly string[]): Promise<ApplicationEntity[]> {
    return this.scoped(principal).andWhere('a.id IN (:...ids)', { ids }).getMany();
  }

  /**
   * The API keys (revoked ones included) of many applications in one statement, newest first, for
   * `Application.apiKeys`; keys of applications the caller cannot see are absent.
   */
  async apiKeysOf(principal: Principal, applicationIds: readonly string[]): Promise<Map<string, ApiKeyEntity[]>> {
    const qb = this.dataSource
      .getRepository(ApiKeyEntity)
      .createQueryBuilder('k')
      .where('k.tenantId = :tenantId AND k.applicationId IN (:...ids)', { tenantId: principal.tenantId, ids: applicationIds })
      .orderBy('k.id', 'DESC');
    if (principal.appId) qb.andWhere('k.applicationId = :appId', { appId: principal.appId });
    const byApplication = new Map<string, ApiKeyEntity[]>(applicationIds.map((id) => [id, []]));
    for (const key of await qb.getMany()) byApplication.get(key.applicationId)?.push(key);
    return byApplication;
  }

  /** The `applications` list, for cursors bound to it (cursors.ts); v1 cursors of application ids still page it. */
  static listBinding(): CursorBinding {
    return bindList('applications', {}, APPLICATION_KEY);
  }

  /**
   * Newest first; returns `limit + 1` rows from the window's side (reverse order when it pages
   * backwards) so the caller knows whether more follow.
   */
  async list(principal: Principal, args: PageArgs): Promise<{ rows: ApplicationEntity[]; window: PageWindow; count: () => Promise<number> }> {
    const window = pageWindow(args, APPLICATION_PAGE_MAX, ApplicationService.listBinding());
    const base = () => this.scoped(principal).andWhere('NOT a.isDeleted');
    const params: Record<string, unknown> = {};
    const keyset = keysetSql(window, 'a.id', (v) => {
      const name = `k${Object.keys(params).length}`;
      params[name] = v;
      return `:${name}`;
    });
    const qb = base().orderBy('a.id', keyset.order).take(window.limit + 1);
    for (const condition of keyset.where) qb.andWhere(condition, params);
    return { rows: await qb.getMany(), window, count: () => base().getCount() };
  }

  async create(rc: RequestContext, name: string, description?: string | null): Promise<ApplicationEntity> {
    const { principal } = rc;
    if (principal.appId) throw new AppError('FORBIDDEN', 'application tokens cannot create applications');
    const clean = { name: cleanName(name), description: cleanDescription(description) };
    try {
      return await this.dataSource.transaction(async (m) => {
        const now = new Date();
        const row = m.create(ApplicationEntity, {
          id: newId('app', now),
          tenantId: principal.tenantId,
          ...clean,
          version: 1,
          createdAt: now,
          updatedAt: now,
          createdBy: principal.subject,
          updatedBy: principal.subject,
          isDeleted: false,
          deletedAt: null,
          deletedBy: null,
        });
        await m.insert(ApplicationEntity, row);
        await this.audit.record(m, actorOf(rc), {
          tenantId: principal.tenantId,
          eventType: 'APPLICATION_CREATED',
          targetType: 'Application',
          targetId: row.id,
          appId: row.id,
          changes: diffChanges(null, row, ['name', 'description']),
        });
        return row;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw AppError.badInput(`an application named "${clean.name}" already exists`, [{ path: 'name', message: 'is already used' }]);
      throw error;
    }
  }

  async update(rc: RequestContext, id: string, expectedVersion: number, name?: string | null, description?: string | null): Promise<ApplicationEntity> {
    const { principal } = rc;
    const patch: Partial<ApplicationEntity> = {};
    if (name != null) patch.name = cleanName(name);
    if (description !== undefined) patch.description = cleanDescription(description);
    try {
      return await this.dataSource.transaction(async (m) => {
        const before = await this.requireVisible(m, principal, id, true);
        if (before.version !== expectedVersion) throw AppError.versionConflict('application', id, expectedVersion, before.version);
        const changes = diffChanges(before, { ...before, ...patch }, ['name', 'description']);
        if (!Object.keys(changes).length) return before;
        const after = { ...before, ...patch, version: before.version + 1, updatedAt: new Date(), updatedBy: principal.subject };
        await m.update(ApplicationEntity, { id }, { ...patch, version: after.version, updatedAt: after.updatedAt, updatedBy: after.updatedBy });
        await this.audit.record(m, actorOf(rc), {
          tenantId: principal.tenantId,
          eventType: 'APPLICATION_UPDATED',
          targetType: 'Application',
          targetId: id,
          appId: id,
          changes,
        });
        return Object.assign(new ApplicationEntity(), after);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw AppError.badInput(`an application named "${patch.name}" already exists`, [{ path: 'name', message: 'is already used' }]);
      throw error;
    }
  }

  /**
   * Soft delete. Refused while connectors still belong to the application, so nothing is orphaned:
   * move or delete them first. Its API keys are revoked in the same transaction.
   */
  async delete(rc: RequestContext, id: string): Promise<ApplicationEntity> {
    const { principal } = rc;
    if (principal.appId) throw new AppError('FORBIDDEN', 'application tokens cannot delete applications');
    return this.dataSource.transaction(async (m) => {
      const before = await this.requireVisible(m, principal, id, true);
      const [{ count }] = await m.query(
        'SELECT count(*)::int AS count FROM connectors WHERE tenant_id = $1 AND application_id = $2 AND NOT is_deleted',
        [principal.tenantId, id],
      );
      if (count > 0) {
        throw AppError.badInput(`application ${id} still has ${count} connector(s): move or delete them first`, [
          { path: 'id', message: 'has connectors' },
        ]);
      }
      const now = new Date();
      const after = { ...before, isDeleted: true, deletedAt: now, deletedBy: principal.subject, version: before.version + 1, updatedAt: now, updatedBy: principal.subject };
      await m.update(ApplicationEntity, { id }, { isDeleted: true, deletedAt: now, deletedBy: principal.subject, version: after.version, updatedAt: now, updatedBy: principal.subject });
      await this.audit.record(m, actorOf(rc), {
        tenantId: principal.tenantId,
        eventType: 'APPLICATION_DELETED',
        targetType: 'Application',
        targetId: id,
        appId: id,
        changes: diffChanges(before, after, ['isDeleted', 'deletedAt', 'deletedBy']),
      });
      await revokeKeysOfApplication(m, this.audit, actorOf(rc), principal.tenantId, id, now);
      return Object.assign(new ApplicationEntity(), after);
    });
  }
}
