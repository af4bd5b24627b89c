import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ApplicationEntity } from '../modules/applications/application.entity.js';
import { AuditEventEntity } from '../modules/audit/audit-event.entity.js';
import { ConnectorEntity } from '../modules/connectors/connector.entity.js';
import type { Logger } from '../server/logger.js';
import { Initial1732233600000 } from './migrations/1732233600000-initial.js';
import { SqlLogger } from './sql-logger.js';

export const ENTITIES = [ConnectorEntity, ApplicationEntity, AuditEventEntity];
export const MIGRATIONS = [Initial1732233600000];

export interface DataSourceOptions {
  url: string;
  logger: Logger;
  poolSize?: number;
}

/** The DataSource the service, the migration CLI (ormconfig.ts) and the tests share. */
export function createDataSource({ url, logger, poolSize = 20 }: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logger: new SqlLogger(logger),
    logging: ['query', 'error', 'warn', 'migration'],
    maxQueryExecutionTime: 1000,
    extra: { max: poolSize, application_name: 'connector-subgraph' },
  });
}

/** Connects and applies pending migrations (never `synchronize`). */
export async function openDatabase(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = createDataSource(options);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  return dataSource;
}
