import type { DataSource } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import type { AdapterRuntime } from '../../adapters/runtime.js';
import type { CheckResult, ConnectionInput, OAuthTokenInfo } from '../../adapters/spi.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestContext } from '../../graphql/context.js';
import { actorOf } from '../audit/audit.actor.js';
import type { AuditService } from '../audit/audit.service.js';
import type { CredentialService } from './credential.service.js';
import { ConnectorEntity } from './connector.entity.js';
import type { ConnectorService } from './connector.service.js';
import type { TenantSlots } from '../../server/rate-limits.js';
import type { ConnectionTestResultData } from './connector.types.js';
import { requireAdapter, validateAuthType, validateConfig, validateCredentials } from './provider-catalog.js';

/** A whole connection test may take this long before it is cut off. */
export const TEST_TIMEOUT_MS = 30_000;

export interface DraftTestInput {
  provider: string;
  config?: Record<string, unknown> | null;
  authType?: ConnectionInput['authType'] | null;
  credentials?: Record<string, unknown> | null;
}

/**
 * "Test before you enable": runs the provider's check against the real upstream. A failed test is a
 * result with `success: false`, never an error.
 */
export class ConnectorTestService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly runtime: AdapterRuntime,
    private readonly connectors: ConnectorService,
    private readonly credentials: CredentialService,
    private readonly audit: AuditService,
    /** Tests a person asked for, per tenant at once (TESTS_PER_TENANT); scheduled checks have their own bound. */
    private readonly slots: TenantSlots,
  ) {}

  /**
   * Runs a check with a time bound; reports the OAuth token expiry it saw, if any. With `tenantId`
   * (a test someone asked for) it takes one of the tenant's test slots or is refused as RATE_LIMITED.
   */
  async run(provider: string, input: ConnectionInput, options: { cheap?: boolean; timeoutMs?: number; tenantId?: string } = {}): Promise<{ result: CheckResult; oauth: OAuthTokenInfo | null }> {
    if (options.tenantId) {
      const { tenantId, ...rest } = options;
      return this.withSlot(tenantId, () => this.run(provider, input, rest));
    }
    const adapter = requireAdapter(provider);
    let oauth: OAuthTokenInfo | null = null;
    const signal = AbortSignal.timeout(options.timeoutMs ?? TEST_TIMEOUT_MS);
    const ctx = this.runtime.context({ signal, onOAuthToken: (info) => (oauth = info) });
    const result = await adapter.check(ctx, input, { cheap: options.cheap });
    return { result, oauth };
  }

  /** Runs `fn` in one of the tenant's test slots, or refuses it as RATE_LIMITED when they are all taken. */
  withSlot<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
    return this.slots.run(tenantId, fn);
  }

  /** Tests a draft configuration; nothing is stored or audited. */
  async testDraft(rc: RequestContext, input: DraftTestInput): Promise<ConnectionTestResultData> {
    const spec = requireAdapter(input.provider).spec;
    const authType = input.authType ?? 'NONE';
    validateAuthType(spec, authType);
    const config = validateConfig(spec, input.config ?? {});
    const credentials = authType === 'NONE' && input.credentials == null ? {} : validateCredentials(spec, authType, input.credentials ?? {});
    const { result } = await this.run(spec.id, { config, authType, credentials }, { tenantId: rc.principal.tenantId });
    return { ...result, testedAt: new Date().toISOString() };
  }

  /**
   * Tests a stored connector with its stored config and credentials, stores the result as
   * `lastTest` and records CONNECTOR_TESTED. Observed state: `version` does not change.
   */
  async testStored(rc: RequestContext, id: string): Promise<ConnectionTestResultData> {
    const [connector] = await this.connectors.findByIds(rc.principal, [id]);
    if (!connector) throw AppError.notFound('connector', id);
    if (connector.isDeleted) throw AppError.badInput(`connector ${id} is deleted: restore it before testing it`);
    const credentials = await this.credentials.resolve(connector);
    const { result, oauth } = await this.run(connector.provider, { config: connector.config, authType: connector.authType, credentials }, { tenantId: rc.principal.tenantId });
    const stored: ConnectionTestResultData = { ...result, testedAt: new Date().toISOString() };
    await this.dataSource.transaction(async (m) => {
      const patch: Partial<ConnectorEntity> = { lastTest: stored };
      const token = oauth as OAuthTokenInfo | null;
      if (token && !token.failed) Object.assign(patch, { oauthTokenExpiresAt: token.expiresAt, oauthRefreshNeeded: false });
      if (connector.authType === 'OAUTH2_CLIENT_CREDENTIALS' && !result.success && result.steps.some((s) => s.name === 'AUTHENTICATE' && !s.passed && s.errorCode === 'AUTH_FAILED')) {
        patch.oauthRefreshNeeded = true;
      }
      const updated = await m.update(ConnectorEntity, { id, tenantId: rc.principal.tenantId }, patch as QueryDeepPartialEntity<ConnectorEntity>);
      if (!updated.affected) throw AppError.notFound('connector', id);
      await this.audit.record(m, actorOf(rc), {
        tenantId: rc.principal.tenantId,
        eventType: 'CONNECTOR_TESTED',
        targetType: 'Connector',
        targetId: id,
        connectorId: id,
        appId: connector.applicationId,
        changes: {
          lastTest: {
            before: connector.lastTest ? { success: connector.lastTest.success, testedAt: connector.lastTest.testedAt } : null,
            after: { success: stored.success, testedAt: stored.testedAt, failedSteps: stored.steps.filter((s) => !s.passed && s.errorCode).map((s) => `${s.name}:${s.errorCode}`) },
          },
        },
      });
    });
    return stored;
  }
}
