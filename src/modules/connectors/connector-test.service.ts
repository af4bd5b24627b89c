import type { DataSource } from 'typeorm';
import type { Notify } from '../notifications/notification.events.js';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import type { AdapterRuntime } from '../../adapters/runtime.js';
import type { CheckResult, CheckStep, ConnectionInput, OAuthTokenInfo, TestStepName } from '../../adapters/spi.js';
import type { NormalizedRecord } from '../../adapters/records.js';
import { isPushProvider } from '../../adapters/registry.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestContext } from '../../context/request-context.js';
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
  /** Announces failed tests and OAuth failures, in their transaction (the notifications module). */
  notify: Notify | null = null;

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
    const ctx = this.runtime.context({ signal, onOAuthToken: (info) => (oauth = info), provider });
    const result = await adapter.check(ctx, input, { cheap: options.cheap });
    return { result, oauth };
  }

  /** A push connector's test: what it has received so far (nothing is contacted). */
  private async pushResult(connector: ConnectorEntity): Promise<CheckResult> {
    const [stats] = await this.dataSource.query(
      'SELECT received, accepted, rejected, dropped_disabled, first_received_at, last_received_at, last_sender, last_error, sample FROM intake_stats WHERE connector_id = $1 AND tenant_id = $2',
      [connector.id, connector.tenantId],
    );
    return pushTestResult(connector.provider, connector.id, connector.config, stats ?? null);
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
    const { result } =
      spec.mode === 'push' ? { result: pushTestResult(spec.id, null, config, null) } : await this.run(spec.id, { config, authType, credentials }, { tenantId: rc.principal.tenantId });
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
    const { result, oauth } = isPushProvider(connector.provider)
      ? { result: await this.pushResult(connector), oauth: null }
      : await this.run(
          connector.provider,
          { config: connector.config, authType: connector.authType, credentials: await this.credentials.resolve(connector), eventTypes: connector.eventTypes },
          { tenantId: rc.principal.tenantId },
        );
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
      if (!stored.success) {
        const failedSteps = stored.steps.filter((s) => !s.passed).map((s) => ({ name: s.name, errorCode: s.errorCode ?? null, message: s.message ?? null }));
        await this.notify?.(m, { type: 'CONNECTOR_TEST_FAILED', connector, data: { testedAt: stored.testedAt, failedSteps } });
      }
      if (patch.oauthRefreshNeeded && !connector.oauthRefreshNeeded) await this.notify?.(m, { type: 'OAUTH_TOKEN_REFRESH_FAILED', connector, data: {} });
    });
    return stored;
  }
}

interface IntakeStatsRow {
  received: string;
  accepted: string;
  rejected: string;
  dropped_disabled: string;
  first_received_at: Date | null;
  last_received_at: Date | null;
  last_sender: string | null;
  last_error: string | null;
  sample: NormalizedRecord[];
}

/**
 * The stepwise test of a push connector, from what its intake saw: until a first message arrived it
 * fails CONNECT and says what to configure on the sender; then CONNECT (messages arrive),
 * AUTHENTICATE (they were routed here: token or sender), SAMPLE_QUERY (some were accepted) and
 * VALIDATE_FORMAT (they decode as the provider's format) pass, with the last records as the sample.
 */
export function pushTestResult(provider: string, connectorId: string | null, config: Record<string, unknown>, stats: IntakeStatsRow | null): CheckResult {
  const senders = Array.isArray(config.senders) && config.senders.length ? (config.senders as string[]).join(', ') : 'none set';
  const where = [
    `HTTP: POST /services/collector/event (Splunk HEC) or /intake/${connectorId ?? '<connectorId>'} with "Authorization: Splunk <intake token>" (createIntakeToken)`,
    `syslog: from one of the senders (${senders}) to this service's syslog listener (SYSLOG_UDP_PORT, SYSLOG_TCP_PORT, SYSLOG_TLS_PORT)`,
  ].join('; ');
  const step = (name: TestStepName, passed: boolean, message: string, extra: Partial<CheckStep> = {}): CheckStep => ({
    name,
    passed,
    latencyMs: passed ? 0 : null,
    message,
    errorCode: null,
    retryable: null,
    remediation: null,
    ...extra,
  });
  const received = Number(stats?.received ?? 0);
  if (!stats || received === 0 || !stats.first_received_at) {
    const steps = [
      step('CONNECT', false, 'No message has arrived yet: a push connector is tested by what its senders send', {
        latencyMs: 0,
        errorCode: 'UNREACHABLE',
        retryable: true,
        remediation: `Point the sender at this connector (${provider}), enable the connector, send a message, then test again. ${where}.`,
      }),
      ...(['AUTHENTICATE', 'SAMPLE_QUERY', 'VALIDATE_FORMAT'] as const).map((name) => step(name, false, 'not run: CONNECT failed')),
    ];
    return { success: false, latencyMs: 0, steps, sample: [], message: 'CONNECT failed: no message has arrived yet' };
  }
  const accepted = Number(stats.accepted);
  const rejected = Number(stats.rejected);
  const decoded = Number(stats.received) - Number(stats.dropped_disabled) - rejected;
  const steps: CheckStep[] = [
    step('CONNECT', true, `${received} message${received === 1 ? '' : 's'} received, the last at ${new Date(stats.last_received_at!).toISOString()}${stats.last_sender ? ` from ${stats.last_sender}` : ''}`),
    step('AUTHENTICATE', true, 'Messages are routed to this connector (intake token or sender address)'),
    step('SAMPLE_QUERY', true, `${accepted} record${accepted === 1 ? '' : 's'} stored, ${Number(stats.dropped_disabled)} dropped while disabled`),
  ];
  if (decoded <= 0 && rejected > 0) {
    steps.push(
      step('VALIDATE_FORMAT', false, `None of the messages decoded as ${provider}: ${stats.last_error ?? 'unknown error'}`, {
        latencyMs: 0,
        errorCode: 'BAD_RESPONSE',
        retryable: false,
        remediation: `Configure the sender to send the format ${provider} reads, or choose the provider that matches what it sends.`,
      }),
    );
    return { success: false, latencyMs: 0, steps, sample: [], message: `VALIDATE_FORMAT failed: ${stats.last_error ?? ''}`.trim() };
  }
  steps.push(step('VALIDATE_FORMAT', true, `${rejected ? `${rejected} message${rejected === 1 ? '' : 's'} could not be decoded (last: ${stats.last_error}); ` : ''}the others decode as ${provider}`));
  return { success: true, latencyMs: 0, steps, sample: (stats.sample ?? []).slice(-5), message: `All 4 steps passed; ${Math.min(5, stats.sample?.length ?? 0)} sample records` };
}
