/**
 * Rotates the service's token signing key: npm run keys:rotate. Adds a new active key; the previous
 * public keys stay published at /.well-known/jwks.json, so unexpired API keys keep working, and
 * new API keys carry the new kid. Uses DATABASE_URL, or the embedded database under DATA_DIR
 * (stop `npm start` first: one process owns it). Needs the service's SECRETS_MASTER_KEY (or its
 * DATA_DIR), which encrypts the new private key.
 */
import 'reflect-metadata';
import { SigningKeyStore, signingKeyOptions } from '../auth/signing-keys.js';
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/data-source.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { createLogger } from '../server/logger.js';

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
const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
let embedded: EmbeddedDatabase | undefined;
try {
  const url = config.databaseUrl ?? (embedded = await startEmbeddedPostgres(config.dataDir, logger)).url;
  const dataSource = await openDatabase({ url, logger });
  try {
    const store = new SigningKeyStore(dataSource, signingKeyOptions(config, logger));
    const kid = await store.rotate();
    const { keys } = await store.jwks();
    process.stdout.write(`new signing key: ${kid}\npublished keys: ${keys.map((k) => k.kid).join(', ')}\n`);
  } finally {
    await dataSource.destroy();
  }
} catch (error) {
  console.error('key rotation failed:', error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await embedded?.stop();
}
