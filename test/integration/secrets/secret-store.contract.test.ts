import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import 'reflect-metadata';
import type { DataSource } from 'typeorm';
import { rotateMasterKey } from '../../../src/cli/rotate-master-key.js';
import { loadConfig } from '../../../src/config.js';
import { openDatabase } from '../../../src/db/data-source.js';
import { newId } from '../../../src/db/ids.js';
import { keyIdOf, LocalSecretStore, MASTER_KEY_FILE } from '../../../src/secrets/local.store.js';
import { reencryptAll } from '../../../src/secrets/reencrypt.js';
import { SecretStoreError, type SecretRef, type SecretStore, type SecretStoreErrorCode } from '../../../src/secrets/contract.js';
import { createSecretStore } from '../../../src/secrets/secret-store.js';
import { VaultKv2Store } from '../../../src/secrets/vault-kv2.store.js';
import { createLogger } from '../../../src/server/logger.js';
import { createTestDatabase } from '../../helpers/database.js';
import { LogCapture } from '../../helpers/logs.js';
import { startVaultServer, type VaultServer } from '../../helpers/vault-server.js';

const logs = new LogCapture();
const logger = createLogger('trace', logs);
const VAULT_TOKEN = `hvs.TOKEN-${randomBytes(12).toString('hex')}`;
/** Every sentinel handed to a store; none may show up in an error, a log line or (local) the database. */
const sentinels: string[] = [];
/** Every error a store threw in this file. */
const thrown: unknown[] = [];

function sentinel(): string {
  const s = `S3NT1NEL-${randomBytes(8).toString('hex')}`;
  sentinels.push(s);
  return s;
}

function ref(tenantId = 'tenant-a', connectorId = newId('cnn')): SecretRef {
  return { tenantId, connectorId };
}

async function failure(promise: Promise<unknown> | (() => unknown), code: SecretStoreErrorCode): Promise<SecretStoreError> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    error = e;
  }
  thrown.push(error);
  expect(error).toBeInstanceOf(SecretStoreError);
  expect((error as SecretStoreError).code).toBe(code);
  return error as SecretStoreError;
}

/** Everything an error could show: message, stack, own properties, inspect output. */
function renderError(error: unknown): string {
  return [String(error), (error as Error)?.stack ?? '', JSON.stringify(error) ?? '', inspect(error, { depth: 5, showHidden: true })].join('\n');
}

function encodings(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  return [value, bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')];
}

function masterKey(): string {
  return randomBytes(32).toString('base64');
}

interface Harness {
  store: SecretStore;
  db?: DataSource;
  server?: VaultServer;
  close(): Promise<void>;
}

const harnesses: Record<'local' | 'vault', () => Promise<Harness>> = {
  async local() {
    const url = await createTestDatabase('secrets_local');
    const db = await openDatabase({ url, logger, poolSize: 10 });
    const config = loadConfig({ DATABASE_URL: url, DATA_DIR: mkdtempSync(join(tmpdir(), 'secrets-test-')), SECRETS_MASTER_KEY: masterKey() });
    const store = createSecretStore(config, { dataSource: db, logger });
    return { store, db, close: () => db.destroy() };
  },
  async vault() {
    const server = await startVaultServer({ token: VAULT_TOKEN, mount: 'secret' });
    const config = loadConfig({
      SECRETS_BACKEND: 'vault',
      VAULT_ADDR: server.url,
      VAULT_TOKEN,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'secrets-test-')),
    });
    const store = createSecretStore(config, { logger });
    return {
      store,
      server,
      close: async () => {
        (store as VaultKv2Store).close();
        await server.close();
      },
    };
  },
};

const CRAFTED_TENANTS = ['../tenant-b', 'tenant-a/../tenant-b', 'tenant-b/', 'a%2Fb', '%2e%2e', '..', '.', '', ' ', 'tenant a', 'tenant\u0000', 'x'.repeat(201), 'tenant-b?x=1', 'tenant#b'];
function craftedConnectorIds(): string[] {
  const valid = newId('cnn');
  return [
    'cnn_x/../..',
    `${valid}/../..`,
    `../${valid}`,
    `${valid}%2F..`,
    `${valid.slice(0, -1)}%2F`,
    valid.toLowerCase(),
    `cnn_${'0'.repeat(25)}`,
    `cnn_${'0'.repeat(27)}`,
    `cnn_${'U'.repeat(26)}`,
    newId('app'),
    `${valid}\n`,
    '',
  ];
}

describe.each(['local', 'vault'] as const)('SecretStore contract: %s', (backend) => {
  let h: Harness;
  let store: SecretStore;
  beforeAll(async () => {
    h = await harnesses[backend]();
    store = h.store;
  });
  afterAll(async () => h?.close());

  test('backend and path', () => {
    expect(store.backend).toBe(backend);
    const r = ref('org:acme@eu');
    const path = store.pathFor(r);
    expect(path).toContain(`tenants/org%3Aacme%40eu/connectors/${r.connectorId}/credentials`);
    if (backend === 'vault') expect(path).toBe(`secret/data/tenants/org%3Aacme%40eu/connectors/${r.connectorId}/credentials`);
    else expect(path).toBe(`local:tenants/org%3Aacme%40eu/connectors/${r.connectorId}/credentials`);
  });

  test('write, read the latest, read version N; versions increment', async () => {
    const r = ref();
    const first = { apiKey: sentinel(), user: 'svc-reader' };
    const v1 = await store.write(r, first);
    expect(v1).toEqual({ version: 1, createdAt: expect.any(Date), fields: ['apiKey', 'user'] });
    expect(Math.abs(v1.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(await store.read(r)).toEqual({ data: first, version: 1 });

    const second = { apiKey: sentinel() };
    const v2 = await store.write(r, second);
    expect(v2.version).toBe(2);
    expect(v2.fields).toEqual(['apiKey']);
    const v3 = await store.write(r, { apiKey: sentinel(), secret: sentinel() });
    expect(v3.version).toBe(3);

    expect((await store.read(r))?.version).toBe(3);
    expect(await store.read(r, 1)).toEqual({ data: first, version: 1 });
    expect(await store.read(r, 2)).toEqual({ data: second, version: 2 });
    expect(await store.read(r, 4)).toBeUndefined();
    expect(await store.read(ref())).toBeUndefined();
  });

  test('values round-trip exactly, including unicode and empty strings', async () => {
    const r = ref();
    const data = { password: `${sentinel()} ünï©ødé "quoted" \\ \n`, empty: '', 'client.secret_2-x': sentinel() };
    await store.write(r, data);
    expect((await store.read(r))?.data).toEqual(data);
  });

  test('check-and-set: 0 means must not exist; a mismatch changes nothing', async () => {
    const r = ref();
    const original = { token: sentinel() };
    expect((await store.write(r, original, { cas: 0 })).version).toBe(1);

    const losing = sentinel();
    const conflict = await failure(store.write(r, { token: losing }, { cas: 0 }), 'CAS_CONFLICT');
    expect(conflict.retryable).toBe(false);
    await failure(store.write(r, { token: losing }, { cas: 2 }), 'CAS_CONFLICT');
    expect(await store.read(r)).toEqual({ data: original, version: 1 });
    expect((await store.metadata(r))?.currentVersion).toBe(1);

    const next = { token: sentinel() };
    expect((await store.write(r, next, { cas: 1 })).version).toBe(2);
    expect(await store.read(r)).toEqual({ data: next, version: 2 });
    await failure(store.write(r, { token: losing }, { cas: 1 }), 'CAS_CONFLICT');
    expect((await store.read(r))?.version).toBe(2);
  });

  test('concurrent writers: one of several cas=0 writes wins; unconditional writes all get their own version', async () => {
    const r = ref();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.write(r, { k: sentinel() }, { cas: 0 })));
    const won = results.filter((x) => x.status === 'fulfilled');
    const lost = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
    expect(won).toHaveLength(1);
    for (const l of lost) {
      thrown.push(l.reason);
      expect((l.reason as SecretStoreError).code).toBe('CAS_CONFLICT');
    }
    const free = await Promise.all(Array.from({ length: 5 }, () => store.write(r, { k: sentinel() })));
    expect(free.map((v) => v.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6]);
    expect((await store.metadata(r))?.currentVersion).toBe(6);
  });

  test('metadata lists every version with its fields', async () => {
    const r = ref();
    expect(await store.metadata(r)).toBeUndefined();
    await store.write(r, { a: sentinel() });
    await store.write(r, { b: sentinel(), a: sentinel() });
    await store.write(r, { c: sentinel() });
    const meta = await store.metadata(r);
    expect(meta?.currentVersion).toBe(3);
    expect(meta?.versions.map((v) => [v.version, v.fields, v.destroyed ?? false])).toEqual([
      [1, ['a'], false],
      [2, ['a', 'b'], false],
      [3, ['c'], false],
    ]);
    for (const v of meta!.versions) expect(v.createdAt).toBeInstanceOf(Date);
    const times = meta!.versions.map((v) => v.createdAt.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  test('destroyAll purges every version and the metadata, idempotently', async () => {
    const r = ref();
    await store.write(r, { a: sentinel() });
    await store.write(r, { a: sentinel() });
    await store.destroyAll(r);
    expect(await store.read(r)).toBeUndefined();
    expect(await store.read(r, 1)).toBeUndefined();
    expect(await store.metadata(r)).toBeUndefined();
    await store.destroyAll(r);
    await store.destroyAll(ref());
    // A purged secret starts over, so cas 0 holds again.
    expect((await store.write(r, { a: sentinel() }, { cas: 0 })).version).toBe(1);
  });

  test('isolation: the same connector id in two tenants are two secrets', async () => {
    const connectorId = newId('cnn');
    const a = ref('tenant-a', connectorId);
    const b = ref('tenant-b', connectorId);
    const dataB = { apiKey: sentinel() };
    await store.write(b, dataB);
    expect(await store.read(a)).toBeUndefined();
    expect(await store.read(a, 1)).toBeUndefined();
    expect(await store.metadata(a)).toBeUndefined();
    const dataA = { apiKey: sentinel() };
    expect((await store.write(a, dataA, { cas: 0 })).version).toBe(1);
    expect(await store.read(a)).toEqual({ data: dataA, version: 1 });
    expect(await store.read(b)).toEqual({ data: dataB, version: 1 });
    await store.destroyAll(a);
    expect(await store.read(b)).toEqual({ data: dataB, version: 1 });
    expect(await store.read(ref('TENANT-B', connectorId))).toBeUndefined();
    expect(store.pathFor(a)).not.toBe(store.pathFor(b));
  });

  test('crafted tenants and connector ids are rejected before anything is stored or sent', async () => {
    h.server?.clearRequests();
    const value = sentinel();
    const refs: SecretRef[] = [
      ...CRAFTED_TENANTS.map((t) => ref(t)),
      ...craftedConnectorIds().map((c) => ref('tenant-a', c)),
      { tenantId: 42, connectorId: newId('cnn') } as unknown as SecretRef,
      { tenantId: 'tenant-a' } as unknown as SecretRef,
      null as unknown as SecretRef,
    ];
    for (const r of refs) {
      await failure(() => store.pathFor(r), 'INVALID_REF');
      await failure(store.write(r, { apiKey: value }), 'INVALID_REF');
      await failure(store.read(r), 'INVALID_REF');
      await failure(store.read(r, 1), 'INVALID_REF');
      await failure(store.metadata(r), 'INVALID_REF');
      await failure(store.destroyAll(r), 'INVALID_REF');
    }
    if (h.server) expect(h.server.requests).toHaveLength(0);
    if (h.db) {
      const [{ n }] = await h.db.query(`SELECT count(*)::int AS n FROM connector_secrets WHERE tenant_id <> ALL($1::text[])`, [
        ['tenant-a', 'tenant-b', 'org:acme@eu'],
      ]);
      expect(n).toBe(0);
    }
  });

  test('malformed data, versions and cas are rejected without echoing values', async () => {
    const r = ref();
    const value = sentinel();
    await failure(store.write(r, { apiKey: 42 } as unknown as Record<string, string>), 'INVALID_INPUT');
    await failure(store.write(r, JSON.parse(`{"__proto__": "${value}"}`)), 'INVALID_INPUT');
    await failure(store.write(r, { 'a/b': value }), 'INVALID_INPUT');
    await failure(store.write(r, [value] as unknown as Record<string, string>), 'INVALID_INPUT');
    await failure(store.write(r, { big: value + 'x'.repeat(70_000) }), 'INVALID_INPUT');
    await failure(store.write(r, { a: value }, { cas: -1 }), 'INVALID_INPUT');
    await failure(store.write(r, { a: value }, { cas: 1.5 }), 'INVALID_INPUT');
    await failure(store.read(r, 0), 'INVALID_INPUT');
    await failure(store.read(r, -1), 'INVALID_INPUT');
    expect(await store.metadata(r)).toBeUndefined();
  });

  test('no error and no log line contains a secret value or the Vault token', () => {
    expect(thrown.length).toBeGreaterThan(50);
    const rendered = thrown.map(renderError).join('\n');
    const logText = logs.text();
    for (const s of [...sentinels, VAULT_TOKEN]) {
      for (const form of encodings(s)) {
        expect(rendered).not.toContain(form);
        expect(logText).not.toContain(form);
      }
    }
  });
});

describe('local store only', () => {
  let url: string;
  let db: DataSource;
  let store: LocalSecretStore;
  const key = masterKey();

  beforeAll(async () => {
    url = await createTestDatabase('secrets_local_only');
    db = await openDatabase({ url, logger, poolSize: 10 });
    store = new LocalSecretStore({ dataSource: db, masterKey: Buffer.from(key, 'base64'), logger });
  });
  afterAll(async () => db?.destroy());

  async function rowOf(r: SecretRef, version: number) {
    const [row] = await db.query(`SELECT * FROM connector_secrets WHERE tenant_id = $1 AND connector_id = $2 AND version = $3`, [r.tenantId, r.connectorId, version]);
    return row as { key_id: string; nonce: Buffer; ciphertext: Buffer; auth_tag: Buffer; created_at: Date };
  }

  test('a dump of every table and column holds no plaintext secret', async () => {
    const values: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = ref(`tenant-${i % 2}`);
      const v = sentinel();
      values.push(v);
      await store.write(r, { apiKey: v, [`field_${i}`]: sentinel() });
      await store.write(r, { apiKey: sentinel() });
    }
    const tables: Array<{ table_schema: string; table_name: string }> = await db.query(
      `SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    expect(tables.map((t) => t.table_name)).toContain('connector_secrets');
    const dump: string[] = [];
    for (const t of tables) {
      const rows: Array<{ row: string }> = await db.query(`SELECT row_to_json(t)::text AS row FROM "${t.table_schema}"."${t.table_name}" t`);
      dump.push(...rows.map((r) => r.row));
    }
    const text = dump.join('\n');
    expect(text).toContain('"key_id"');
    for (const s of sentinels) for (const form of encodings(s)) expect(text).not.toContain(form);
    // The field names are inside the ciphertext too.
    expect(text).not.toContain('field_3');
  });

  test('the same value encrypts differently on every write (fresh nonce)', async () => {
    const r = ref();
    const data = { apiKey: sentinel() };
    await store.write(r, data);
    await store.write(r, data);
    const [a, b] = [await rowOf(r, 1), await rowOf(r, 2)];
    expect(a.nonce).toHaveLength(12);
    expect(a.auth_tag).toHaveLength(16);
    expect(a.key_id).toBe(keyIdOf(Buffer.from(key, 'base64')));
    expect(Buffer.compare(a.nonce, b.nonce)).not.toBe(0);
    expect(Buffer.compare(a.ciphertext, b.ciphertext)).not.toBe(0);
    expect(a.ciphertext.length).toBe(b.ciphertext.length);
  });

  test('a ciphertext moved to another tenant, connector or version fails with CORRUPT', async () => {
    const connectorId = newId('cnn');
    const a = ref('tenant-a', connectorId);
    const b = ref('tenant-b', connectorId);
    const c = ref('tenant-a');
    await store.write(a, { apiKey: sentinel() });
    await store.write(a, { apiKey: sentinel() });
    await store.write(b, { apiKey: sentinel() });
    await store.write(c, { apiKey: sentinel() });
    const src = await rowOf(a, 1);
    const copy = async (to: SecretRef, version: number) =>
      db.query(`UPDATE connector_secrets SET nonce = $4, ciphertext = $5, auth_tag = $6 WHERE tenant_id = $1 AND connector_id = $2 AND version = $3`, [
        to.tenantId,
        to.connectorId,
        version,
        src.nonce,
        src.ciphertext,
        src.auth_tag,
      ]);
    await copy(b, 1);
    await failure(store.read(b), 'CORRUPT');
    await failure(store.metadata(b), 'CORRUPT');
    await copy(c, 1);
    await failure(store.read(c), 'CORRUPT');
    await copy(a, 2);
    await failure(store.read(a, 2), 'CORRUPT');
    expect((await store.read(a, 1))?.version).toBe(1);

    // A flipped bit anywhere fails too.
    const r = ref();
    await store.write(r, { apiKey: sentinel() });
    const row = await rowOf(r, 1);
    row.ciphertext[0] ^= 1;
    await db.query(`UPDATE connector_secrets SET ciphertext = $3 WHERE tenant_id = $1 AND connector_id = $2`, [r.tenantId, r.connectorId, row.ciphertext]);
    const e = await failure(store.read(r), 'CORRUPT');
    expect(e.message).not.toMatch(/S3NT1NEL/);
  });

  test('master-key rotation re-encrypts every row: the new key reads them, the old one no longer does', async () => {
    const rotationDb = await openDatabase({ url: await createTestDatabase('secrets_rotation'), logger, poolSize: 4 });
    try {
      const oldKey = randomBytes(32);
      const newKey = randomBytes(32);
      const oldStore = new LocalSecretStore({ dataSource: rotationDb, masterKey: oldKey, logger });
      const written: Array<[SecretRef, number, Record<string, string>]> = [];
      for (let i = 0; i < 7; i++) {
        const r = ref(`tenant-${i % 3}`);
        for (let v = 1; v <= 1 + (i % 2); v++) {
          const data = { apiKey: sentinel(), n: String(i) };
          await oldStore.write(r, data);
          written.push([r, v, data]);
        }
      }
      const before: Array<{ ciphertext: Buffer }> = await rotationDb.query(`SELECT ciphertext FROM connector_secrets ORDER BY 1`);

      const result = await reencryptAll(rotationDb, oldKey, newKey, { batchSize: 3 });
      expect(result).toEqual({ reencrypted: written.length, alreadyCurrent: 0, fromKeyId: keyIdOf(oldKey), toKeyId: keyIdOf(newKey) });

      const keyIds: Array<{ key_id: string; n: number }> = await rotationDb.query(`SELECT key_id, count(*)::int AS n FROM connector_secrets GROUP BY 1`);
      expect(keyIds).toEqual([{ key_id: keyIdOf(newKey), n: written.length }]);
      const after: Array<{ ciphertext: Buffer }> = await rotationDb.query(`SELECT ciphertext FROM connector_secrets`);
      for (const row of after) expect(before.some((b) => Buffer.compare(b.ciphertext, row.ciphertext) === 0)).toBe(false);

      const newStore = new LocalSecretStore({ dataSource: rotationDb, masterKey: newKey, logger });
      for (const [r, v, data] of written) {
        expect(await newStore.read(r, v)).toEqual({ data, version: v });
        await failure(oldStore.read(r, v), 'KEY_MISMATCH');
      }
      // The old key can no longer add versions to a rotated secret either.
      await failure(oldStore.write(written[0]![0], { apiKey: sentinel() }), 'KEY_MISMATCH');
      expect((await newStore.write(written[0]![0], { apiKey: sentinel() })).version).toBe(2);

      // Rotating again from the wrong key changes nothing.
      await failure(reencryptAll(rotationDb, oldKey, randomBytes(32)), 'KEY_MISMATCH');
      expect(await rotationDb.query(`SELECT DISTINCT key_id FROM connector_secrets`)).toEqual([{ key_id: keyIdOf(newKey) }]);
      await failure(reencryptAll(rotationDb, newKey, newKey), 'INVALID_INPUT');
    } finally {
      await rotationDb.destroy();
    }
  });

  test('npm run secrets:rotate-master-key: DATA_DIR mode replaces the key file, env mode prints instructions', async () => {
    const databaseUrl = await createTestDatabase('secrets_cli');
    const dataDir = mkdtempSync(join(tmpdir(), 'secrets-cli-'));
    const env = { DATABASE_URL: databaseUrl, DATA_DIR: dataDir, LOG_LEVEL: 'error' };
    const db2 = await openDatabase({ url: databaseUrl, logger, poolSize: 2 });
    try {
      const storeFor = () => createSecretStore(loadConfig(env), { dataSource: db2, logger });
      const r = ref();
      const data = { apiKey: sentinel() };
      await storeFor().write(r, data);
      const keyFile = join(dataDir, MASTER_KEY_FILE);
      const oldText = readFileSync(keyFile, 'utf8');
      const oldStore = storeFor();

      const lines: string[] = [];
      const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
      expect(await rotateMasterKey([], env, io)).toBe(2);
      expect(await rotateMasterKey(['--generate'], env, io)).toBe(0);
      const newText = readFileSync(keyFile, 'utf8');
      expect(newText).not.toBe(oldText);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(existsSync(`${keyFile}.new`)).toBe(false);
      expect(lines.join('\n')).not.toContain(newText.trim());
      expect(await storeFor().read(r)).toEqual({ data, version: 1 });
      await failure(oldStore.read(r), 'KEY_MISMATCH');

      // SECRETS_MASTER_KEY mode: the key comes from a file the operator made; nothing in DATA_DIR changes.
      const nextKeyFile = join(dataDir, 'next-key');
      const nextKey = randomBytes(32).toString('base64url');
      writeFileSync(nextKeyFile, nextKey + '\n', { mode: 0o600 });
      const envMode = { ...env, SECRETS_MASTER_KEY: newText.trim() };
      lines.length = 0;
      expect(await rotateMasterKey(['--new-key-file', nextKeyFile], envMode, io)).toBe(0);
      expect(lines.join('\n')).toMatch(/set SECRETS_MASTER_KEY to the content of .*next-key/);
      expect(lines.join('\n')).not.toContain(nextKey);
      expect(readFileSync(keyFile, 'utf8')).toBe(newText);
      const rotated = createSecretStore(loadConfig({ ...env, SECRETS_MASTER_KEY: nextKey }), { dataSource: db2, logger });
      expect(await rotated.read(r)).toEqual({ data, version: 1 });

      // A wrong current key aborts without changing anything.
      lines.length = 0;
      expect(await rotateMasterKey(['--generate'], envMode, io)).toBe(1);
      expect(lines.join('\n')).toMatch(/rotation failed, nothing changed/);
      expect(existsSync(`${keyFile}.new`)).toBe(false);
      expect(await rotated.read(r)).toEqual({ data, version: 1 });
    } finally {
      await db2.destroy();
    }
  });

  test('SECRETS_MASTER_KEY must be 32 bytes of base64 or base64url', () => {
    const base = { DATABASE_URL: 'postgres://x@127.0.0.1/db', DATA_DIR: mkdtempSync(join(tmpdir(), 'secrets-key-')) };
    const make = (k: string) => () => createSecretStore(loadConfig({ ...base, SECRETS_MASTER_KEY: k }), { dataSource: db, logger });
    const key = randomBytes(32);
    expect(make(key.toString('base64'))().backend).toBe('local');
    expect((make(key.toString('base64url'))() as LocalSecretStore).keyId).toBe(keyIdOf(key));
    expect(make(key.toString('base64'))).not.toThrow();
    for (const bad of [randomBytes(16).toString('base64'), randomBytes(33).toString('base64'), key.toString('hex'), 'not base64!']) {
      expect(make(bad)).toThrow(SecretStoreError);
    }
  });
});

describe('vault store only', () => {
  let server: VaultServer;
  let store: VaultKv2Store;
  const make = (options: Partial<ConstructorParameters<typeof VaultKv2Store>[0]> = {}) =>
    new VaultKv2Store({ addr: server.url, token: VAULT_TOKEN, mount: 'secret', logger, retryBaseDelayMs: 1, ...options });
  const path = (r: SecretRef) => `tenants/${encodeURIComponent(r.tenantId)}/connectors/${r.connectorId}/credentials`;

  beforeAll(async () => {
    server = await startVaultServer({ token: VAULT_TOKEN, mount: 'secret' });
    store = make();
  });
  afterAll(async () => {
    store?.close();
    await server?.close();
  });
  beforeEach(() => server.clearRequests());

  test('uses the documented KV v2 paths, methods and bodies, with the token header', async () => {
    const r = ref('tenant-a');
    const data = { apiKey: sentinel() };
    await store.write(r, data, { cas: 0 });
    await store.write(r, data);
    await store.read(r);
    await store.read(r, 1);
    await store.metadata(r);
    await store.destroyAll(r);
    const p = `secret/data/tenants/tenant-a/connectors/${r.connectorId}/credentials`;
    const m = `secret/metadata/tenants/tenant-a/connectors/${r.connectorId}/credentials`;
    expect(store.pathFor(r)).toBe(p);
    const seen = server.requests.map((q) => [q.method, q.path, q.query]);
    // metadata takes the field names of each live version from the version itself (in parallel)
    const fieldReads = seen.splice(5, 2).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(fieldReads).toEqual([1, 2].map((v) => ['GET', `/v1/${p}`, { version: String(v) }]));
    expect(seen).toEqual([
      ['POST', `/v1/${p}`, {}],
      ['POST', `/v1/${p}`, {}],
      ['GET', `/v1/${p}`, {}],
      ['GET', `/v1/${p}`, { version: '1' }],
      ['GET', `/v1/${m}`, {}],
      ['DELETE', `/v1/${m}`, {}],
    ]);
    expect(server.requests[0]!.body).toEqual({ options: { cas: 0 }, data });
    expect(server.requests[1]!.body).toEqual({ data });
    for (const q of server.requests) {
      expect(q.tokenSent).toBe(true);
      expect(q.status).toBeLessThan(300);
      expect(JSON.stringify(q.headers)).not.toContain(VAULT_TOKEN);
      expect(q.headers['x-vault-namespace']).toBeUndefined();
    }
    expect(server.keys()).toEqual([]);
  });

  test('tenant ids are URL-encoded into one path segment', async () => {
    const r = ref('org:acme@eu');
    await store.write(r, { apiKey: sentinel() });
    expect(server.requests[0]!.path).toBe(`/v1/secret/data/tenants/org%3Aacme%40eu/connectors/${r.connectorId}/credentials`);
    expect(server.keys()).toContain(`tenants/org:acme@eu/connectors/${r.connectorId}/credentials`);
    await store.destroyAll(r);
  });

  test('a namespace is sent as X-Vault-Namespace; a multi-segment mount is kept', async () => {
    const nsServer = await startVaultServer({ token: VAULT_TOKEN, mount: 'kv/team' });
    const ns = new VaultKv2Store({ addr: `${nsServer.url}/`, token: VAULT_TOKEN, mount: '/kv/team/', namespace: 'ns1/child', logger });
    try {
      const r = ref();
      await ns.write(r, { a: sentinel() });
      expect(ns.pathFor(r)).toBe(`kv/team/data/${path(r)}`);
      expect(nsServer.requests[0]!.path).toBe(`/v1/kv/team/data/${path(r)}`);
      expect(nsServer.requests[0]!.headers['x-vault-namespace']).toBe('ns1/child');
    } finally {
      ns.close();
      await nsServer.close();
    }
  });

  test('a bad token is FORBIDDEN for every operation, and the token is not in the error', async () => {
    const wrongToken = `hvs.WRONG-${randomBytes(8).toString('hex')}`;
    const bad = make({ token: wrongToken });
    const r = ref();
    try {
      for (const call of [() => bad.write(r, { a: sentinel() }), () => bad.read(r), () => bad.metadata(r), () => bad.destroyAll(r)]) {
        const e = await failure(call(), 'FORBIDDEN');
        expect(e.status).toBe(403);
        expect(renderError(e)).not.toContain(wrongToken);
        expect(renderError(e)).not.toContain(VAULT_TOKEN);
      }
      expect(server.requests.every((q) => q.status === 403 && q.tokenSent)).toBe(true);
    } finally {
      bad.close();
    }
  });

  test('deleted and destroyed versions read as absent and show as destroyed in the metadata', async () => {
    const r = ref();
    await store.write(r, { a: sentinel() });
    await store.write(r, { b: sentinel() });
    await store.write(r, { c: sentinel() });
    server.deleteVersions(path(r), [1]);
    server.destroyVersions(path(r), [3]);
    expect(await store.read(r, 1)).toBeUndefined();
    expect(await store.read(r)).toBeUndefined();
    expect((await store.read(r, 2))?.version).toBe(2);
    const meta = await store.metadata(r);
    expect(meta?.currentVersion).toBe(3);
    expect(meta?.versions.map((v) => [v.version, v.fields, v.destroyed ?? false])).toEqual([
      [1, [], true],
      [2, ['b'], false],
      [3, [], true],
    ]);
  });

  test('5xx and resets are retried, then UNAVAILABLE; ambiguous write failures are not retried', async () => {
    const r = ref();
    await store.write(r, { a: sentinel() });
    server.clearRequests();
    server.failNext(503, 2);
    expect((await store.read(r))?.version).toBe(1);
    expect(server.requests).toHaveLength(3);

    server.clearRequests();
    server.failNext('reset', 1);
    expect((await store.read(r))?.version).toBe(1);

    server.clearRequests();
    server.failNext(500, 3);
    const e = await failure(store.read(r), 'UNAVAILABLE');
    expect(e.retryable).toBe(true);
    expect(server.requests).toHaveLength(3);

    server.clearRequests();
    server.failNext(503, 1);
    expect((await store.write(r, { a: sentinel() }, { cas: 1 })).version).toBe(2);
    expect(server.requests).toHaveLength(2);

    // A 500 on a write may have been applied: reported, not repeated.
    server.clearRequests();
    server.failNext(500, 1);
    await failure(store.write(r, { a: sentinel() }), 'UNAVAILABLE');
    expect(server.requests).toHaveLength(1);
    server.failNext(500, 3);
    await failure(store.destroyAll(r), 'UNAVAILABLE');
    server.failNext(502, 3);
    await failure(store.metadata(r), 'UNAVAILABLE');
  });

  test('an unreachable Vault is UNAVAILABLE', async () => {
    const closed = await startVaultServer({ token: VAULT_TOKEN });
    const addr = closed.url;
    await closed.close();
    const down = new VaultKv2Store({ addr, token: VAULT_TOKEN, logger, retryBaseDelayMs: 1 });
    try {
      const e = await failure(down.write(ref(), { a: sentinel() }), 'UNAVAILABLE');
      expect(e.message).toMatch(/ECONNREFUSED/);
      await failure(down.read(ref()), 'UNAVAILABLE');
    } finally {
      down.close();
    }
  });

  test('a mount with cas_required still takes unconditional writes and still reports conflicts', async () => {
    const casServer = await startVaultServer({ token: VAULT_TOKEN, casRequired: true });
    const s = new VaultKv2Store({ addr: casServer.url, token: VAULT_TOKEN, logger });
    try {
      const r = ref();
      expect((await s.write(r, { a: sentinel() })).version).toBe(1);
      expect((await s.write(r, { a: sentinel() })).version).toBe(2);
      await failure(s.write(r, { a: sentinel() }, { cas: 1 }), 'CAS_CONFLICT');
      expect((await s.write(r, { a: sentinel() }, { cas: 2 })).version).toBe(3);
      expect(casServer.requests.filter((q) => q.method === 'POST').map((q) => (q.body as { options?: unknown }).options)).toEqual([
        undefined,
        { cas: 0 },
        undefined,
        { cas: 1 },
        { cas: 1 },
        { cas: 2 },
      ]);
    } finally {
      s.close();
      await casServer.close();
    }
  });

  test('a missing mount is a configuration error, not an absent secret', async () => {
    const wrong = make({ mount: 'nope' });
    try {
      const e = await failure(wrong.read(ref()), 'BAD_RESPONSE');
      expect(e.message).toMatch(/VAULT_KV_MOUNT/);
      await failure(wrong.write(ref(), { a: sentinel() }), 'BAD_RESPONSE');
    } finally {
      wrong.close();
    }
  });

  test('no error or log line of this block contains a secret value or the token', () => {
    const rendered = thrown.map(renderError).join('\n');
    const logText = logs.text();
    for (const s of [...sentinels, VAULT_TOKEN]) {
      for (const form of encodings(s)) {
        expect(rendered).not.toContain(form);
        expect(logText).not.toContain(form);
      }
    }
  });
});
