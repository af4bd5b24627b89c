import type { DataSource } from 'typeorm';
import { createAdapterRuntime } from './adapters/runtime.js';
import type { AppConfig } from './config.js';
import { ApplicationService } from './modules/applications/application.service.js';
import { AuditService } from './modules/audit/audit.service.js';
import { ConnectorTestService } from './modules/connectors/connector-test.service.js';
import { ConnectorService } from './modules/connectors/connector.service.js';
import { CredentialService } from './modules/connectors/credential.service.js';

/** The business layer, one instance per process; resolvers reach it through the context. */
export function createServices(dataSource: DataSource, config: AppConfig) {
  const runtime = createAdapterRuntime({ egressAllow: config.egressAllow });
  const audit = new AuditService(dataSource);
  const applications = new ApplicationService(dataSource, audit);
  const connectors = new ConnectorService(dataSource, audit, applications);
  const credentials = new CredentialService();
  const connectorTests = new ConnectorTestService(dataSource, runtime, connectors, credentials, audit);
  return { runtime, audit, applications, connectors, credentials, connectorTests };
}

export type Services = ReturnType<typeof createServices>;
