/** The DataSource the TypeORM CLI uses (DATABASE_URL), e.g. `npx typeorm migration:show -d dist/ormconfig.js`. */
import 'reflect-metadata';
import { createDataSource } from './src/db/data-source.js';
import { createLogger } from './src/server/logger.js';

if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is required for the TypeORM CLI');

export default createDataSource({ url: process.env.DATABASE_URL, logger: createLogger(process.env.LOG_LEVEL ?? 'info') });
