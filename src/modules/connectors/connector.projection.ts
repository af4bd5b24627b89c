import { getAdapter } from '../../adapters/registry.js';
import type { ConnectionTestResult, Connector } from './connector.type.js';
import type { ConnectionTestResultData } from './connector.types.js';
import { redactConfig } from './provider-catalog.js';

/**
 * Field-aware reads of connectors: the columns a set of `Connector` fields needs, and a mapper
 * compiled once per set that turns a raw row straight into the GraphQL object (one copy, only the
 * selected properties), instead of hydrating every column into an entity and copying that again.
 *
 * The projection decides only what is read and copied: the visibility condition and the
 * soft-delete filter stay in the statement (connector.visibility.ts, ConnectorService), and fields
 * with access rules keep their resolvers (`vaultPath` is read here, nulled by `@NullUnless`).
 */

/** A plain field: the columns it needs and the expression (of row `r`) that computes it. */
interface FieldRule {
  columns: readonly string[];
  expr: string;
}

const column = (name: string): FieldRule => ({ columns: [name], expr: `r.${name}` });

/**
 * Every plain `Connector` field (connector.type.ts). `config` is redacted with the provider's
 * schema; the snooze fields are null once the snooze has ended (as `toConnector` always did).
 */
const PLAIN: Record<string, FieldRule> = {
  id: column('id'),
  tenantId: column('tenant_id'),
  appId: column('app_id'),
  applicationId: column('application_id'),
  name: column('name'),
  type: column('type'),
  provider: column('provider'),
  scope: column('scope'),
  ownerId: column('owner_id'),
  groupId: column('group_id'),
  userId: column('user_id'),
  config: { columns: ['provider', 'config'], expr: 'h.config(r.provider, r.config)' },
  authType: column('auth_type'),
  vaultPath: column('vault_path'),
  credentialFields: column('credential_fields'),
  credentialVersion: column('credential_version'),
  credentialLastRotatedAt: column('credential_last_rotated_at'),
  nextRotationDue: column('next_rotation_due'),
  oauthRefreshNeeded: column('oauth_refresh_needed'),
  oauthTokenExpiresAt: column('oauth_token_expires_at'),
  enabled: column('enabled'),
  enabledChangedAt: column('enabled_changed_at'),
  enabledChangedBy: column('enabled_changed_by'),
  enabledReason: column('enabled_reason'),
  syncStatus: column('sync_status'),
  runState: column('run_state'),
  lastSyncAt: column('last_sync_at'),
  lastCheckedAt: column('last_checked_at'),
  consecutiveErrors: column('consecutive_errors'),
  lastError: column('last_error'),
  metrics: {
    columns: ['metrics'],
    expr: '{ totalSynced: r.metrics?.totalSynced ?? 0, last24h: r.metrics?.last24h ?? 0, avgLatencyMs: r.metrics?.avgLatencyMs ?? null }',
  },
  eventTypes: column('event_types'),
  webhookEndpointId: column('webhook_endpoint_id'),
  tags: column('tags'),
  lastTest: { columns: ['last_test'], expr: 'r.last_test ? h.lastTest(r.last_test) : null' },
  version: column('version'),
  schemaVersion: column('schema_version'),
  source: column('source'),
  sourceType: column('source_type'),
  alertsSnoozedUntil: { columns: ['alerts_snoozed_until'], expr: 'h.snoozed(r.alerts_snoozed_until) ? r.alerts_snoozed_until : null' },
  alertsSnoozeReason: { columns: ['alerts_snoozed_until', 'alerts_snooze_reason'], expr: 'h.snoozed(r.alerts_snoozed_until) ? r.alerts_snooze_reason : null' },
  createdAt: column('created_at'),
  updatedAt: column('updated_at'),
  createdBy: column('created_by'),
  updatedBy: column('updated_by'),
  isDeleted: column('is_deleted'),
  deletedAt: column('deleted_at'),
  deletedBy: column('deleted_by'),
};

/**
 * The field resolvers of this module on `Connector` and the plain fields they read of their root.
 * A selected field that is neither plain nor listed here (another module's field resolver) gets
 * the whole object, so no resolver ever sees a property missing.
 */
const RESOLVED: Record<string, readonly string[]> = {
  application: ['applicationId'],
  auditEvents: ['id'],
};

export function toConnectionTestResult(data: ConnectionTestResultData): ConnectionTestResult {
  return {
    success: data.success,
    testedAt: new Date(data.testedAt),
    latencyMs: data.latencyMs,
    steps: data.steps,
    sample: data.sample,
    message: data.message,
  };
}

/** What the compiled mappers call: kept in one object so the generated code closes over nothing else. */
const helpers = {
  config: (provider: string, config: Record<string, unknown>) => redactConfig(getAdapter(provider)?.spec, config),
  lastTest: toConnectionTestResult,
  snoozed: snoozedAt,
};

/** Whether a snooze ending at `until` is still on at `now` (ConnectorService's alertsSnoozed too). */
export function snoozedAt(until: Date | null | undefined, now: Date = new Date()): boolean {
  return until !== null && until !== undefined && until.getTime() > now.getTime();
}

export interface ConnectorProjection {
  /** Sorted field names, the cache key. */
  readonly key: string;
  /** The quoted select list for table alias `c` (always with `id`). */
  readonly columns: string;
  /** Raw row (snake_case, as pg returns it) → the GraphQL object with the projection's fields. */
  readonly map: (row: Record<string, unknown>) => Connector;
}

const cache = new Map<string, ConnectorProjection>();
/** Distinct selections are few (the documents clients send); past this, new ones are not kept. */
const CACHE_MAX = 500;

function compile(fields: readonly string[]): ConnectorProjection {
  const key = fields.join(',');
  const columns = new Set<string>(['id']);
  const props = new Set<string>(['id']);
  for (const field of fields) {
    for (const prop of PLAIN[field] ? [field] : (RESOLVED[field] ?? [])) {
      props.add(prop);
      for (const c of PLAIN[prop]!.columns) columns.add(c);
    }
  }
  const body = `return (r) => ({ ${[...props].map((p) => `${p}: ${PLAIN[p]!.expr}`).join(', ')} });`;
  // Compiled once per distinct selection: a straight object literal V8 keeps monomorphic.
  const map = new Function('h', body)(helpers) as (row: Record<string, unknown>) => Connector;
  return { key, columns: [...columns].map((c) => `c."${c}"`).join(', '), map };
}

/** Every field: what reads without a selection (services, other modules' loads) get. */
export const FULL_PROJECTION: ConnectorProjection = compile(Object.keys(PLAIN).sort());

/**
 * The projection for these selected `Connector` fields (`__typename` and unknown names allowed);
 * null, or a field resolved elsewhere, means every field.
 */
export function connectorProjection(fields: Iterable<string> | null): ConnectorProjection {
  if (!fields) return FULL_PROJECTION;
  const wanted = new Set<string>();
  for (const field of fields) {
    if (field === '__typename') continue;
    if (!PLAIN[field] && !RESOLVED[field]) return FULL_PROJECTION;
    wanted.add(field);
  }
  const sorted = [...wanted].sort();
  const key = sorted.join(',');
  let projection = cache.get(key);
  if (!projection) {
    projection = compile(sorted);
    if (cache.size < CACHE_MAX) cache.set(key, projection);
  }
  return projection;
}
