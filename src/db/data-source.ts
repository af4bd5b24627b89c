import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { SigningKeyEntity } from '../auth/signing-key.entity.js';
import { ApiKeyEntity } from '../modules/applications/api-key.entity.js';
import { ApplicationEntity } from '../modules/applications/application.entity.js';
import { AuditEventEntity } from '../modules/audit/audit-event.entity.js';
import { ConnectorEntity } from '../modules/connectors/connector.entity.js';
import type { Logger } from '../server/logger.js';
import { ConnectorSecretEntity } from '../secrets/secret.entity.js';
import { Initial1732233600000 } from './migrations/1732233600000-initial.js';
import { Secrets1732233600100 } from './migrations/1732233600100-secrets.js';
import { ApiKeys1732233600200 } from './migrations/1732233600200-api-keys.js';
import { IngestionHealth1732233600300 } from './migrations/1732233600300-ingestion-health.js';
import { RateLimits1732233600400 } from './migrations/1732233600400-rate-limits.js';
import { Records1732233600500 } from './migrations/1732233600500-records.js';
import { IntakeTokens1732233600600 } from './migrations/1732233600600-intake-tokens.js';
import { IntakeStats1732233600700 } from './migrations/1732233600700-intake-stats.js';
import { IntakeOverflow1732233600800 } from './migrations/1732233600800-intake-overflow.js';
import { Webhooks1732233600900 } from './migrations/1732233600900-webhooks.js';
import { FleetBulk1732233601000 } from './migrations/1732233601000-fleet-bulk.js';
import { FleetSchedules1732233601100 } from './migrations/1732233601100-fleet-schedules.js';
import { SqlLogger } from './sql-logger.js';
import { SqlTracingSubscriber } from '../tracing/sql.js';
import { IngestionRunEntity } from '../modules/ingestion/ingestion-run.entity.js';
import { HealthEventEntity } from '../modules/health/health-event.entity.js';
import { IntakeTokenEntity } from '../modules/intake/intake-token.entity.js';

export const ENTITIES = [ConnectorEntity, ApplicationEntity, AuditEventEntity, IngestionRunEntity, HealthEventEntity, ConnectorSecretEntity, ApiKeyEntity, SigningKeyEntity, IntakeTokenEntity];
export const MIGRATIONS = [Initial1732233600000, Secrets1732233600100, ApiKeys1732233600200, IngestionHealth1732233600300, RateLimits1732233600400, Records1732233600500, IntakeTokens1732233600600, IntakeStats1732233600700, IntakeOverflow1732233600800, Webhooks1732233600900, FleetBulk1732233601000, FleetSchedules1732233601100];

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
    // A span per statement while tracing is on (docs/tracing.md); returns at once while it is off.
    subscribers: [SqlTracingSubscriber],
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
