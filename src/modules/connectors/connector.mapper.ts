import { getAdapter } from '../../adapters/registry.js';
import type { ConnectorEntity } from './connector.entity.js';
import type { Connector } from './connector.type.js';
import { toConnectionTestResult } from './connector.projection.js';
import { redactConfig } from './provider-catalog.js';
import { alertsSnoozed } from './connector.service.js';

export { toConnectionTestResult };

/** Entity → GraphQL type. Secret references stay behind; `vaultPath` is filtered by role in the resolver. */
export function toConnector(e: ConnectorEntity): Connector {
  return {
    id: e.id,
    tenantId: e.tenantId,
    appId: e.appId,
    applicationId: e.applicationId,
    name: e.name,
    type: e.type,
    provider: e.provider,
    scope: e.scope,
    ownerId: e.ownerId,
    groupId: e.groupId,
    userId: e.userId,
    config: redactConfig(getAdapter(e.provider)?.spec, e.config),
    authType: e.authType,
    vaultPath: e.vaultPath,
    credentialFields: e.credentialFields,
    credentialVersion: e.credentialVersion,
    credentialLastRotatedAt: e.credentialLastRotatedAt,
    nextRotationDue: e.nextRotationDue,
    oauthRefreshNeeded: e.oauthRefreshNeeded,
    oauthTokenExpiresAt: e.oauthTokenExpiresAt,
    enabled: e.enabled,
    enabledChangedAt: e.enabledChangedAt,
    enabledChangedBy: e.enabledChangedBy,
    enabledReason: e.enabledReason,
    syncStatus: e.syncStatus,
    runState: e.runState,
    lastSyncAt: e.lastSyncAt,
    lastCheckedAt: e.lastCheckedAt,
    consecutiveErrors: e.consecutiveErrors,
    lastError: e.lastError,
    metrics: {
      totalSynced: e.metrics?.totalSynced ?? 0,
      last24h: e.metrics?.last24h ?? 0,
      avgLatencyMs: e.metrics?.avgLatencyMs ?? null,
    },
    eventTypes: e.eventTypes,
    webhookEndpointId: e.webhookEndpointId,
    tags: e.tags,
    lastTest: e.lastTest ? toConnectionTestResult(e.lastTest) : null,
    version: e.version,
    schemaVersion: e.schemaVersion,
    source: e.source,
    sourceType: e.sourceType,
    alertsSnoozedUntil: alertsSnoozed(e) ? e.alertsSnoozedUntil : null,
    alertsSnoozeReason: alertsSnoozed(e) ? e.alertsSnoozeReason : null,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    createdBy: e.createdBy,
    updatedBy: e.updatedBy,
    isDeleted: e.isDeleted,
    deletedAt: e.deletedAt,
    deletedBy: e.deletedBy,
  };
}
