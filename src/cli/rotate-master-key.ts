/**
 * Rotates the local secret store's master key:
 *   npm run secrets:rotate-master-key -- --new-key-file <path>   (32 bytes, base64 or base64url)
 *   npm run secrets:rotate-master-key -- --generate
 *
 * Reads the current key as the service does (SECRETS_MASTER_KEY, else DATA_DIR/secrets-master-key),
 * re-encrypts every stored secret version under the new key in one transaction (DATABASE_URL, or
 * the embedded database under DATA_DIR), then installs the new key: in DATA_DIR mode it replaces
 * DATA_DIR/secrets-master-key; with SECRETS_MASTER_KEY it says what to set. Stop the service first:
 * a running instance keeps encrypting under the old key until it restarts with the new one.
 *
 * A generated key is written to DATA_DIR/secrets-master-key.new (0600) before the database changes,
 * so a crash between the commit and the key swap never loses it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureDataDir, loadConfig } from '../config.js';
import { openDatabase } from '../db/data-source.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.js';
import { createLogger } from '../server/logger.js';
import { keyIdOf, MASTER_KEY_FILE, parseMasterKey, resolveMasterKey } from '../secrets/local.store.js';
import { reencryptAll } from '../secrets/reencrypt.js';
import { isSecretStoreError } from '../secrets/contract.js';

const USAGE = 'usage: npm run secrets:rotate-master-key -- --new-key-file <path> | --generate';

export interface RotateIo {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: RotateIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

function writePrivate(file: string, content: string): void {
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The CLI as a function (tests call it); returns the exit code. */
export async function rotateMasterKey(argv: string[], env: Record<string, string | undefined> = process.env, io: RotateIo = consoleIo): Promise<number> {
  let values: { 'new-key-file'?: string; generate?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'new-key-file': { type: 'string' }, generate: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help || Boolean(values['new-key-file']) === Boolean(values.generate)) {
    io.err(USAGE);
    return values.help ? 0 : 2;
  }

  const config = loadConfig(env);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  if (config.secrets.backend !== 'local') io.err('note: SECRETS_BACKEND is not "local"; rotating the local store anyway');

  const current = resolveMasterKey(config);
  const pendingFile = join(config.dataDir, `${MASTER_KEY_FILE}.new`);
  let newKey: Buffer;
  let newKeyText: string;
  if (values.generate) {
    if (existsSync(pendingFile)) {
      const pendingId = keyIdOf(parseMasterKey(readFileSync(pendingFile, 'utf8'), pendingFile));
      io.err(
        `${pendingFile} exists (key ${pendingId}), left by an interrupted rotation. If the stored secrets are under key ${pendingId}, ` +
          `install that file as the key; otherwise delete it. Then run this again.`,
      );
      return 1;
    }
    newKey = randomBytes(32);
    newKeyText = newKey.toString('base64url');
    ensureDataDir(config.dataDir);
    writePrivate(pendingFile, newKeyText + '\n');
  } else {
    const file = values['new-key-file']!;
    try {
      newKeyText = readFileSync(file, 'utf8').trim();
    } catch {
      io.err(`cannot read ${file}`);
      return 2;
    }
    try {
      newKey = parseMasterKey(newKeyText, file);
    } catch (error) {
      io.err((error as Error).message);
      return 2;
    }
  }
  const newKeyId = keyIdOf(newKey);
  if (newKeyId === current.keyId) {
    io.err('the new key is the key already in use');
    if (values.generate) rmSync(pendingFile, { force: true });
    return 2;
  }

  let embedded: EmbeddedDatabase | undefined;
  let result;
  try {
    let url = config.databaseUrl;
    if (!url) {
      embedded = await startEmbeddedPostgres(config.dataDir, logger);
      url = embedded.url;
    }
    const dataSource = await openDatabase({ url, logger, poolSize: 2 });
    try {
      result = await reencryptAll(dataSource, current.key, newKey);
    } finally {
      await dataSource.destroy();
    }
  } catch (error) {
    io.err(`rotation failed, nothing changed: ${isSecretStoreError(error) ? error.message : String((error as Error)?.message ?? error)}`);
    if (values.generate) rmSync(pendingFile, { force: true });
    return 1;
  } finally {
    await embedded?.stop();
  }

  io.out(`re-encrypted ${result.reencrypted} secret version(s) from key ${result.fromKeyId} to key ${result.toKeyId}` +
    (result.alreadyCurrent ? ` (${result.alreadyCurrent} already under the new key)` : ''));
  if (current.source === 'file') {
    const keyFile = current.file!;
    if (values.generate) {
      renameSync(pendingFile, keyFile);
    } else {
      const tmp = `${keyFile}.tmp`;
      writePrivate(tmp, newKeyText + '\n');
      renameSync(tmp, keyFile);
    }
    io.out(`installed the new key in ${keyFile}; restart the service`);
  } else if (values.generate) {
    io.out(`set SECRETS_MASTER_KEY to the content of ${pendingFile} (key ${newKeyId}), restart the service, then delete that file`);
  } else {
    io.out(`set SECRETS_MASTER_KEY to the content of ${values['new-key-file']} (key ${newKeyId}) and restart the service`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await rotateMasterKey(process.argv.slice(2));
}
