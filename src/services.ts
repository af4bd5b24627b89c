import type { DataSource } from 'typeorm';
import { ApplicationService } from './modules/applications/application.service.js';
import { AuditService } from './modules/audit/audit.service.js';
import { ConnectorService } from './modules/connectors/connector.service.js';

/** The business layer, one instance per process; resolvers reach it through the context. */
export function createServices(dataSource: DataSource) {
  const audit = new AuditService(dataSource);
  const applications = new ApplicationService(dataSource, audit);
  const connectors = new ConnectorService(dataSource, audit, applications);
  return { audit, applications, connectors };
}

export type Services = ReturnType<typeof createServices>;
