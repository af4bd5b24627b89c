import DataLoader from 'dataloader';
import type { Principal } from '../auth/principal.js';
import { createApplicationLoaders } from '../modules/applications/application.loaders.js';
import { createAuditLoaders } from '../modules/audit/audit.loaders.js';
import { createConnectorLoaders } from '../modules/connectors/connector.loaders.js';
import { createHealthLoaders } from '../modules/health/health.loaders.js';
import { createIngestionLoaders } from '../modules/ingestion/ingestion.loaders.js';
import { createIntakeLoaders } from '../modules/intake/intake.loaders.js';
import { createWebhookLoaders } from '../modules/notifications/webhook.loaders.js';
import { createRecordLoaders } from '../modules/records/record.loaders.js';
import type { Services } from '../services.js';

export function createLoaders(services: Services, principal: Principal) {
  return named({
    ...createConnectorLoaders(services.connectors, principal),
    ...createApplicationLoaders(services.applications, principal),
    ...createAuditLoaders(services.audit, principal),
    ...createIngestionLoaders(services.ingestion, principal),
    ...createHealthLoaders(services.health, principal),
    ...createRecordLoaders(services.records, principal),
    ...createIntakeLoaders(services.intakeTokens, services.intake, principal),
    ...createWebhookLoaders(services.webhookEndpoints, principal),
  });
}

/** Each loader is named after its key (the name its batch spans carry, docs/tracing.md). */
function named<T extends Record<string, unknown>>(loaders: T): T {
  for (const [key, loader] of Object.entries(loaders)) if (loader instanceof DataLoader && !loader.name) loader.name = key;
  return loaders;
}

export type Loaders = ReturnType<typeof createLoaders>;
