import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';
import { createTokenVerifier } from './auth/verifier.js';
import { resolveJwtSecret, type AppConfig } from './config.js';
import { openDatabase } from './db/data-source.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { buildFederatedSchema } from './graphql/schema.js';
import { createApp } from './server/app.js';
import type { Logger } from './server/logger.js';
import { createSyslogReceiver, type SyslogReceiver } from './modules/intake/syslog/index.js';
import { HealthWorker } from './modules/health/health.worker.js';
import { IngestionWorker } from './modules/ingestion/ingestion.worker.js';
import { NotificationWorker } from './modules/notifications/notification.worker.js';
import { createServices, type Services } from './services.js';
import { startTracing, type TracingOptions } from './tracing/setup.js';
import { createMetrics, type Metrics } from './observability/metrics.js';

export interface Service {
  app: FastifyInstance;
  dataSource: DataSource;
  services: Services;
  /** The syslog receiver, when a SYSLOG_*_PORT is set. */
  syslog: SyslogReceiver | null;
  /** Prometheus metrics unless METRICS=off (`metrics.url`: the METRICS_PORT listener). */
  metrics: Metrics | null;
  /** Where the HTTP server listens, once `listen` was called. */
  url: string;
  close(): Promise<void>;
}

/** Background workers of this process: ingestion (and health, which registers itself here). */
export async function startWorkers(services: Services, config: AppConfig, databaseUrl: string, logger: Logger): Promise<Array<{ stop(): Promise<void> }>> {
  const ingestion = new IngestionWorker(services.queue, services.ingestion, databaseUrl, logger, config.jobs.concurrency);
  await ingestion.start();
  const health = new HealthWorker(services.queue, services.health, services.ingestion, logger, config.health.concurrency, config.sink.retentionDays, services.notifications);
  await health.start();
  const notifications = new NotificationWorker(services.queue, services.notifications, config.webhooks.concurrency);
  notifications.start();
  return [notifications, health, ingestion];
}

/**
 * config → database (embedded unless DATABASE_URL) → migrations → schema → HTTP server.
 * `listen: false` leaves the app unbound (tests may inject).
 */
export async function startService(config: AppConfig, logger: Logger, options: { listen?: boolean; tracing?: TracingOptions } = {}): Promise<Service> {
  // Before anything runs a statement; null (no-op tracer) unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
  const tracing = startTracing(config.tracing, { role: 'api', ...options.tracing });
  let embedded: EmbeddedDatabase | undefined;
  const url = config.databaseUrl ?? (embedded = await startEmbeddedPostgres(config.dataDir, logger)).url;
  let dataSource: DataSource | undefined;
  let created: Services | undefined;
  let syslog: SyslogReceiver | null = null;
  let metrics: Metrics | null = null;
  try {
    dataSource = await openDatabase({ url, logger });
    const secret = resolveJwtSecret(config);
    const services = (created = createServices(dataSource, config, url, logger));
    await services.signingKeys.ensureActiveKey();
    const upgraded = await services.connectors.upgradeConfigs();
    if (upgraded) logger.info({ upgraded }, 'connector configs upgraded to their providers\' current schema versions');
    const verifier = createTokenVerifier({
      secret,
      jwksUrl: config.auth.jwksUrl,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      clockToleranceSec: config.auth.clockToleranceSec,
      maxTokenLifetimeSec: config.auth.maxTokenLifetimeSec,
      serviceTokens: services.apiKeys,
    });
    // SINK=nats: every process delivers (workers their runs, every process its push intake); none
    // starts without NATS.
    await services.delivery?.connect();
    await services.queue.start();
    const workers = config.runWorkers ? await startWorkers(services, config, url, logger) : [];
    syslog = createSyslogReceiver(config, dataSource, url, services.intake, logger);
    await syslog?.start();
    metrics = createMetrics(config.metrics, logger);
    metrics?.watch({ dataSource, services, syslog });
    const schema = await buildFederatedSchema();
    const app = await createApp({ config, dataSource, schema, services, verifier, logger, metrics });
    await metrics?.listen();
    let address = '';
    if (options.listen !== false) address = await app.listen({ port: config.port, host: config.host });
    const db = dataSource;
    let closing: Promise<void> | undefined;
    return {
      app,
      dataSource: db,
      services,
      syslog,
      metrics,
      url: address.replace('0.0.0.0', '127.0.0.1'),
      close() {
        closing ??= (async () => {
          await app.close();
          await metrics?.close();
          await syslog?.stop();
          for (const worker of workers) await worker.stop();
          await services.queue.stop();
          await services.delivery?.close();
          services.runtime.close();
          await db.destroy();
          await embedded?.stop();
          await tracing?.shutdown();
        })();
        return closing;
      },
    };
  } catch (error) {
    await syslog?.stop().catch(() => undefined);
    await metrics?.close();
    await created?.delivery?.close();
    if (dataSource?.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    await tracing?.shutdown();
    throw error;
  }
}
