import type { DataSource } from 'typeorm';
import { createAdapterRuntime } from './adapters/runtime.js';
import type { AppConfig } from './config.js';
import { SigningKeyStore, signingKeyOptions } from './auth/signing-keys.js';
import { JobQueue } from './jobs/job-queue.js';
import { ApiKeyService } from './modules/applications/api-key.service.js';
import { ApplicationService } from './modules/applications/application.service.js';
import { AuditService } from './modules/audit/audit.service.js';
import { ConnectorTestService } from './modules/connectors/connector-test.service.js';
import { TenantSlots } from './server/rate-limits.js';
import { RecordService } from './modules/records/record.service.js';
import { CredentialRotationService } from './modules/connectors/credential-rotation.service.js';
import { ConnectorService } from './modules/connectors/connector.service.js';
import { CredentialService } from './modules/connectors/credential.service.js';
import { createSecretStore } from './secrets/secret-store.js';
import { HealthService } from './modules/health/health.service.js';
import { IngestionService } from './modules/ingestion/ingestion.service.js';
import { PostgresSink } from './modules/ingestion/sink.js';
import { NatsDelivery } from './modules/ingestion/nats-delivery.js';
import { IntakeService } from './modules/intake/intake.service.js';
import { IntakeTokenService } from './modules/intake/intake-token.service.js';
import type { Logger } from './server/logger.js';
import type { Notify } from './modules/notifications/notification.events.js';
import { NotificationService } from './modules/notifications/notification.service.js';
import { WebhookEndpointService } from './modules/notifications/webhook-endpoint.service.js';
import { WebhookSecrets } from './modules/notifications/webhook-secrets.js';

/** The business layer, one instance per process; resolvers reach it through the context. */
export function createServices(dataSource: DataSource, config: AppConfig, databaseUrl: string, logger: Logger) {
  const runtime = createAdapterRuntime({ egressAllow: config.egressAllow });
  const queue = new JobQueue({
    url: databaseUrl,
    logger,
    jobTimeoutSec: config.jobs.timeoutSec,
    maintenanceIntervalSec: config.jobs.maintenanceIntervalSec,
    pollingIntervalMs: config.jobs.pollingIntervalMs,
  });
  const audit = new AuditService(dataSource);
  const applications = new ApplicationService(dataSource, audit);
  const signingKeys = new SigningKeyStore(dataSource, signingKeyOptions(config, logger));
  const apiKeys = new ApiKeyService(dataSource, audit, applications, signingKeys);
  const secretStore = createSecretStore(config, { dataSource, logger });
  const credentials = new CredentialService(secretStore, logger);
  const connectors = new ConnectorService(dataSource, audit, applications, credentials, logger);
  const connectorTests = new ConnectorTestService(dataSource, runtime, connectors, credentials, audit, new TenantSlots(config.testsPerTenant));
  const rotations = new CredentialRotationService(dataSource, connectors, credentials, connectorTests, audit);
  // SINK=nats: written records also go to JetStream; the processes that run workers connect it (`connect()`).
  const delivery = config.nats ? new NatsDelivery(config.nats, logger) : null;
  const ingestion = new IngestionService(dataSource, queue, runtime, connectors, credentials, audit, new PostgresSink(), logger, {
    staleRunSec: config.jobs.staleRunSec,
  }, delivery);
  const health = new HealthService(dataSource, queue, connectors, credentials, connectorTests, audit, logger, {
    checkTimeoutMs: config.health.checkTimeoutMs,
  });
  ingestion.onRunOutcome = health.onRunOutcome;
  // A host the checks found slow runs one sync at a time per process (docs/capacity.md).
  ingestion.slowHost = (host) => health.hosts.slow(host);
  connectors.pipeline = {
    async onEnabled(m, connector) {
      await ingestion.onEnabled(m, connector);
      await health.scheduleFirst(m, connector.id);
    },
    async onDisabled(m, connector) {
      await health.unschedule(m, connector.id);
      return ingestion.onDisabled(m, connector);
    },
    async onPurged(m, connector) {
      await ingestion.onPurged(m, connector);
      await health.onPurged(m, connector);
    },
  };
  const webhookSecrets = new WebhookSecrets(secretStore, logger);
  const webhookEndpoints = new WebhookEndpointService(dataSource, audit, webhookSecrets, runtime.http.egress);
  const notifications = new NotificationService(dataSource, queue, runtime.http, webhookSecrets, webhookEndpoints, audit, logger, {
    retryScheduleSec: config.webhooks.retryScheduleSec,
    timeoutMs: config.webhooks.timeoutMs,
  });
  // Every change worth telling someone about is announced in its own transaction (outbox).
  const notify: Notify = (m, input) => notifications.emit(m, input);
  connectors.notify = notify;
  connectorTests.notify = notify;
  rotations.notify = notify;
  ingestion.notify = notify;
  health.notify = notify;
  const records = new RecordService(dataSource);
  const intake = new IntakeService(dataSource, new PostgresSink(), delivery, logger, { maxPending: config.intake.maxPending });
  intake.onAccepted = health.onIntake;
  return { runtime, queue, audit, applications, signingKeys, apiKeys, connectors, credentials, connectorTests, rotations, ingestion, health, delivery, records, intake, intakeTokens: new IntakeTokenService(dataSource, audit), webhookEndpoints, notifications };
}

export type Services = ReturnType<typeof createServices>;
