import type { DataSource } from 'typeorm';
import type { Notify } from '../notifications/notification.events.js';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { operationalSettings } from '../../adapters/operations.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestContext } from '../../context/request-context.js';
import { actorOf } from '../audit/audit.actor.js';
import type { AuditService } from '../audit/audit.service.js';
import type { ConnectorTestService } from './connector-test.service.js';
import { ConnectorEntity } from './connector.entity.js';
import type { ConnectorService } from './connector.service.js';
import type { ConnectionTestResultData } from './connector.types.js';
import type { CredentialService } from './credential.service.js';
import { requireAdapter, validateCredentials } from './provider-catalog.js';

export interface RotationOutcome {
  rotated: boolean;
  connector: ConnectorEntity;
  test: ConnectionTestResultData | null;
}

/**
 * Rotation without downtime: write a new version, test the connector with it, and only then make
 * it active. The previous version stays in the store for rollback; a failed candidate never
 * becomes active.
 */
export class CredentialRotationService {
  /** Announces rotations (credentials.rotated), in their transaction (the notifications module). */
  notify: Notify | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly connectors: ConnectorService,
    private readonly credentials: CredentialService,
    private readonly tests: ConnectorTestService,
    private readonly audit: AuditService,
  ) {}

  async rotate(rc: RequestContext, id: string, input: unknown, expectedVersion: number | null | undefined, skipTest: boolean): Promise<RotationOutcome> {
    const { principal } = rc;
    const [current] = await this.connectors.findByIds(principal, [id]);
    if (!current) throw AppError.notFound('connector', id);
    if (current.isDeleted) throw AppError.badInput(`connector ${id} is deleted: restore it before rotating its credentials`);
    if (expectedVersion != null && expectedVersion !== current.version) throw AppError.versionConflict('connector', id, expectedVersion, current.version);
    const spec = requireAdapter(current.provider).spec;
    const credentials = validateCredentials(spec, current.authType, input);

    const latest = await this.credentials.latestVersion(current.tenantId, id);
    const candidate = await this.credentials.write(current.tenantId, id, credentials, latest);

    let test: ConnectionTestResultData | null = null;
    if (!skipTest) {
      const { result } = await this.tests.run(current.provider, { config: current.config, authType: current.authType, credentials }, { tenantId: current.tenantId });
      test = { ...result, testedAt: new Date().toISOString() };
      if (!result.success) return { rotated: false, connector: current, test };
    }

    const connector = await this.dataSource.transaction(async (m) => {
      const before = await this.connectors.lockById(m, id);
      if (!before || before.tenantId !== principal.tenantId) throw AppError.notFound('connector', id);
      if (before.version !== current.version) throw AppError.versionConflict('connector', id, current.version, before.version);
      const now = new Date();
      const patch: Partial<ConnectorEntity> = {
        credentialVersion: candidate.version,
        credentialFields: candidate.fields,
        credentialLastRotatedAt: now,
        nextRotationDue: new Date(now.getTime() + operationalSettings(before.config).rotationPeriodDays * 86_400_000),
        vaultPath: this.credentials.pathFor(before.tenantId, id),
        oauthRefreshNeeded: false,
        version: before.version + 1,
        updatedAt: now,
        updatedBy: principal.subject,
        sourceType: rc.meta.sourceType,
        ...(test ? { lastTest: test } : {}),
      };
      await m.update(ConnectorEntity, { id }, patch as QueryDeepPartialEntity<ConnectorEntity>);
      await this.audit.record(m, actorOf(rc), {
        tenantId: before.tenantId,
        eventType: 'CREDENTIALS_ROTATED',
        targetType: 'Connector',
        targetId: id,
        connectorId: id,
        appId: before.applicationId,
        changes: {
          credentialVersion: { before: before.credentialVersion, after: candidate.version },
          credentialFields: { before: before.credentialFields, after: candidate.fields },
          tested: { before: null, after: !skipTest },
        },
      });
      await this.notify?.(m, { type: 'CREDENTIALS_ROTATED', connector: before, data: { credentialVersion: candidate.version, nextRotationDue: patch.nextRotationDue!.toISOString() } });
      return Object.assign(before, patch);
    });
    return { rotated: true, connector, test };
  }
}
