/** Applies pending migrations to DATABASE_URL (the service also does this at start-up). */
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/data-source.js';
import { createLogger } from '../server/logger.js';

const config = loadConfig();
if (!config.databaseUrl) {
  console.error('DATABASE_URL is not set: the embedded database is migrated by npm start');
  process.exit(2);
}
const dataSource = await openDatabase({ url: config.databaseUrl, logger: createLogger(config.logLevel) });
await dataSource.destroy();
