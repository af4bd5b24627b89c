import { createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { mintDevToken } from '../../src/auth/dev-tokens.js';
import { SERVICE_ISSUER, SigningKeyStore } from '../../src/auth/signing-keys.js';
import { admin, editor, viewer, TEST_JWT_SECRET } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { CREATE, GET, LIST, UPDATE, restInput } from '../helpers/fixtures.js';
import { PAGE, walkBothWays, type Page } from '../helpers/paging.js';

const MASTER_KEY = randomBytes(32);

const KEY_FIELDS = 'id name prefix scope expiresAt revokedAt lastUsedAt createdAt';
const CREATE_KEY = `mutation($app: ID!, $name: String!, $scope: ApiKeyScope, $days: Int) {
  createApiKey(applicationId: $app, name: $name, scope: $scope, expiresInDays: $days) { token apiKey { ${KEY_FIELDS} } } }`;
const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;
const APP_KEYS = `query($id: ID!) { application(id: $id) { id apiKeys { ${KEY_FIELDS} } } }`;
const CREATE_APP = 'mutation($name: String!) { createApplication(name: $name) { id } }';
const DELETE_APP = 'mutation($id: ID!) { deleteApplication(id: $id) { id isDeleted } }';
const EVENTS = `query($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 100) {
  nodes { id eventType actorType actorId actorEmail targetType targetId appId changes reason } } }`;
const WHOAMI = '{ connectors(first: 50) { totalCount nodes { id applicationId } } }';

let svc: TestService;
let a: string; // tenant-a admin
let b: string; // tenant-b admin
let appX: string;
let appY: string;
let appB: string;
let xConnector: any;
let yConnector: any;
let bConnector: any;

interface Created {
  token: string;
  apiKey: { id: string; name: string; prefix: string; scope: string; expiresAt: string | null; revokedAt: string | null; lastUsedAt: string | null; createdAt: string };
}

async function createKey(app: string, name: string, scope?: 'READ' | 'WRITE', days?: number, as = a): Promise<Created> {
  return (await svc.ok(CREATE_KEY, { app, name, scope, days }, as)).createApiKey;
}

async function createApp(name: string, as = a): Promise<string> {
  return (await svc.ok(CREATE_APP, { name }, as)).createApplication.id;
}

function signatureOf(token: string): string {
  return token.split('.')[2]!;
}

/** Every row of every table of the service's database, as JSON text. */
async function dumpDatabase(): Promise<string> {
  const tables: Array<{ table_schema: string; table_name: string }> = await svc.dataSource.query(
    `SELECT table_schema, table_name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['api_keys', 'signing_keys', 'audit_events', 'applications', 'connectors']));
  const parts: string[] = [];
  for (const t of tables) {
    const rows: Array<{ j: string }> = await svc.dataSource.query(`SELECT row_to_json(x)::text AS j FROM "${t.table_schema}"."${t.table_name}" x`);
    parts.push(...rows.map((r) => r.j));
  }
  return parts.join('\n');
}

/** The documented storage format of private signing keys, reproduced independently of the service. */
function decryptPrivateJwk(kid: string, sealed: string): JWK {
  const key = Buffer.from(hkdfSync('sha256', MASTER_KEY, Buffer.from('connector-subgraph/signing-keys'), 'signing-keys/v1', 32));
  const [version, iv, ciphertext, tag] = sealed.split('.');
  expect(version).toBe('v1');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
  decipher.setAAD(Buffer.from(`signing_keys:${kid}`));
  decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
  return JSON.parse(Buffer.concat([decipher.update(Buffer.from(ciphertext!, 'base64url')), decipher.final()]).toString('utf8'));
}

async function fetchJwks(): Promise<{ status: number; headers: Headers; body: { keys: JWK[] } }> {
  const response = await fetch(`${svc.url}/.well-known/jwks.json`);
  return { status: response.status, headers: response.headers, body: (await response.json()) as { keys: JWK[] } };
}

async function eventsFor(targetId: string) {
  return (await svc.ok(EVENTS, { filter: { targetId } }, a)).auditEvents.nodes;
}

beforeAll(async () => {
  svc = await startTestService('api_keys', { SECRETS_MASTER_KEY: MASTER_KEY.toString('base64') });
  a = await admin('tenant-a', { subject: 'boss', email: 'boss@a.example' });
  b = await admin('tenant-b', { subject: 'other-boss' });
  appX = await createApp('SOAR');
  appY = await createApp('Ingest');
  appB = await createApp('B app', b);
  xConnector = (await svc.ok(CREATE, { input: restInput('X source', { applicationId: appX }) }, a)).createConnector;
  yConnector = (await svc.ok(CREATE, { input: restInput('Y source', { applicationId: appY }) }, a)).createConnector;
  bConnector = (await svc.ok(CREATE, { input: restInput('B source', { applicationId: appB }) }, b)).createConnector;
});
afterAll(() => svc?.close());

describe('createApiKey', () => {
  test('returns a JWT signed by the service with the documented header and claims', async () => {
    const before = Date.now();
    const { token, apiKey } = await createKey(appX, 'SOAR writer', 'WRITE', 30);
    const header = decodeProtectedHeader(token);
    const claims = decodeJwt(token);
    const { body: jwks } = await fetchJwks();
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
    expect(apiKey.id).toMatch(/^key_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(claims).toMatchObject({ iss: SERVICE_ISSUER, sub: apiKey.id, tenant_id: 'tenant-a', app_id: appX, scope: 'WRITE' });
    expect(typeof claims.jti).toBe('string');
    expect(claims.exp! * 1000).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 2000);
    expect(claims.exp! * 1000).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
    expect(new Date(apiKey.expiresAt!).getTime()).toBe(claims.exp! * 1000);
    expect(apiKey).toMatchObject({ name: 'SOAR writer', scope: 'WRITE', revokedAt: null, lastUsedAt: null });
    expect(apiKey.prefix).toBe(signatureOf(token).slice(0, 8));
    expect(apiKey.prefix).toHaveLength(8);
  });

  test('defaults to READ without expiry', async () => {
    const { token, apiKey } = await createKey(appX, 'Defaults');
    expect(apiKey).toMatchObject({ scope: 'READ', expiresAt: null });
    expect(decodeJwt(token)).toMatchObject({ scope: 'READ' });
    expect(decodeJwt(token).exp).toBeUndefined();
  });

  test('validates expiresInDays, name and role', async () => {
    for (const days of [0, -1, 3651]) {
      expect(errorCode(await svc.gql(CREATE_KEY, { app: appX, name: 'bad', days }, a))).toBe('BAD_USER_INPUT');
    }
    expect((await createKey(appX, 'Ten years', 'READ', 3650)).apiKey.expiresAt).not.toBeNull();
    expect(errorCode(await svc.gql(CREATE_KEY, { app: appX, name: '  ' }, a))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(CREATE_KEY, { app: appX, name: 'by editor' }, await editor('tenant-a')))).toBe('FORBIDDEN');
    expect(errorCode(await svc.gql(CREATE_KEY, { app: appX, name: 'anonymous' }))).toBe('UNAUTHENTICATED');
    const [{ n }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM api_keys WHERE name IN ('bad', 'by editor', 'anonymous')`);
    expect(n).toBe(0);
  });
});

describe('the token is shown once', () => {
  let created: Created;

  beforeAll(async () => {
    created = await createKey(appX, 'Shown once', 'WRITE', 7);
    // Use it, so that it passed through the request path and its logs.
    expect((await svc.ok(WHOAMI, {}, created.token)).connectors.totalCount).toBeGreaterThan(0);
  });

  test('apiKeys lists the key without the token', async () => {
    const app = (await svc.ok(APP_KEYS, { id: appX }, a)).application;
    const listed = app.apiKeys.find((k: any) => k.id === created.apiKey.id);
    expect(listed).toMatchObject({ id: created.apiKey.id, name: 'Shown once', prefix: created.apiKey.prefix, scope: 'WRITE' });
    const text = JSON.stringify(app);
    expect(text).not.toContain(created.token);
    expect(text).not.toContain(signatureOf(created.token));
  });

  test('no table or column of the database holds the token', async () => {
    const dump = await dumpDatabase();
    expect(dump).toContain(created.apiKey.id);
    expect(dump).toContain(createHash('sha256').update(created.token).digest('hex'));
    expect(dump).not.toContain(created.token);
    expect(dump).not.toContain(signatureOf(created.token));
  });

  test('the audit rows hold no token material', async () => {
    const events = await eventsFor(created.apiKey.id);
    expect(events).toHaveLength(1);
    const text = JSON.stringify(events);
    expect(text).not.toContain(created.token);
    expect(text).not.toContain(signatureOf(created.token));
    expect(text).not.toContain(createHash('sha256').update(created.token).digest('hex'));
  });

  test('the logs hold neither the token nor a private signing key', async () => {
    const logs = svc.logs.text();
    expect(logs).toContain('api_keys');
    expect(logs).not.toContain(created.token);
    expect(logs).not.toContain(signatureOf(created.token));
    const rows: Array<{ kid: string; private_jwk_encrypted: string }> = await svc.dataSource.query('SELECT kid, private_jwk_encrypted FROM signing_keys');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const { d } = decryptPrivateJwk(row.kid, row.private_jwk_encrypted);
      expect(typeof d).toBe('string');
      expect(logs).not.toContain(d!);
    }
  });
});

describe('signing keys at rest and in the JWKS', () => {
  test('private keys are stored only encrypted under the master key, and never published', async () => {
    const rows: Array<{ kid: string; alg: string; public_jwk: JWK; private_jwk_encrypted: string }> = await svc.dataSource.query('SELECT * FROM signing_keys');
    const dump = await dumpDatabase();
    const { body: jwks, headers } = await fetchJwks();
    expect(headers.get('content-type')).toMatch(/application\/json/);
    for (const row of rows) {
      const secret = decryptPrivateJwk(row.kid, row.private_jwk_encrypted);
      expect(secret.d).toBeTruthy();
      expect(dump).not.toContain(secret.d!);
      expect(JSON.stringify(jwks)).not.toContain(secret.d!);
      expect(row.private_jwk_encrypted).not.toContain('"d"');
      const published = jwks.keys.find((k) => k.kid === row.kid);
      expect(published).toEqual({ kty: 'EC', crv: 'P-256', x: secret.x, y: secret.y, kid: row.kid, alg: 'ES256', use: 'sig' });
    }
    for (const key of jwks.keys) expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });

  test('an outside service verifies a token with the published JWKS', async () => {
    const { token, apiKey } = await createKey(appX, 'Outside', 'READ', 1);
    const jwks = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: SERVICE_ISSUER, algorithms: ['ES256', 'EdDSA'] });
    expect(payload).toMatchObject({ sub: apiKey.id, tenant_id: 'tenant-a', app_id: appX, scope: 'READ' });
    expect(protectedHeader.kid).toBe(decodeProtectedHeader(token).kid);
    const [h, p] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, scope: 'WRITE' })).toString('base64url')}.${signatureOf(token)}`;
    await expect(jwtVerify(forged, jwks, { issuer: SERVICE_ISSUER })).rejects.toThrow(/signature/);
    expect(p).not.toBe(forged.split('.')[1]);
  });

  test('an HS256 token claiming the service as issuer is not accepted', async () => {
    const fake = await mintDevToken({ tenantId: 'tenant-a', subject: 'key_01ARZ3NDEKTSV4RRFFQ69G5FAV', roles: ['admin'], appId: appX }, { secret: TEST_JWT_SECRET, issuer: SERVICE_ISSUER });
    expect(errorCode(await svc.gql(WHOAMI, {}, fake))).toBe('UNAUTHENTICATED');
  });
});

describe('an application token', () => {
  let write: Created;
  let read: Created;

  beforeAll(async () => {
    write = await createKey(appX, 'X write', 'WRITE');
    read = await createKey(appX, 'X read', 'READ');
  });

  test("lists only its application's connectors", async () => {
    for (const token of [write.token, read.token]) {
      const list = (await svc.ok(LIST, { first: 200 }, token)).connectors;
      expect(list.nodes.length).toBeGreaterThan(0);
      const ids = list.nodes.map((n: any) => n.id);
      expect(ids).toContain(xConnector.id);
      expect(ids).not.toContain(yConnector.id);
      expect(ids).not.toContain(bConnector.id);
    }
  });

  test("gets null or NOT_FOUND for another application's and another tenant's things", async () => {
    expect((await svc.ok(GET, { id: xConnector.id }, write.token)).connector.id).toBe(xConnector.id);
    expect((await svc.ok(GET, { id: yConnector.id }, write.token)).connector).toBeNull();
    expect((await svc.ok(GET, { id: bConnector.id }, write.token)).connector).toBeNull();
    expect(errorCode(await svc.gql(UPDATE, { id: yConnector.id, v: 1, input: { name: 'pwned' } }, write.token))).toBe('NOT_FOUND');
    expect(errorCode(await svc.gql(UPDATE, { id: bConnector.id, v: 1, input: { name: 'pwned' } }, write.token))).toBe('NOT_FOUND');
    const app = 'query($id: ID!) { application(id: $id) { id } }';
    expect((await svc.ok(app, { id: appX }, write.token)).application).toEqual({ id: appX });
    expect((await svc.ok(app, { id: appY }, write.token)).application).toBeNull();
    expect((await svc.ok(app, { id: appB }, write.token)).application).toBeNull();
    const [{ n }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM connectors WHERE name = 'pwned'`);
    expect(n).toBe(0);
  });

  test('WRITE creates connectors stamped with its application, audited as the application', async () => {
    const created = (await svc.ok(CREATE, { input: restInput('Made by key') }, write.token)).createConnector;
    expect(created).toMatchObject({ appId: appX, applicationId: appX, createdBy: write.apiKey.id });
    expect(errorCode(await svc.gql(CREATE, { input: restInput('Elsewhere', { applicationId: appY }) }, write.token))).toBe('NOT_FOUND');
    const [event] = await eventsFor(created.id);
    expect(event).toMatchObject({ eventType: 'CONNECTOR_CREATED', actorType: 'APPLICATION', actorId: write.apiKey.id, actorEmail: null, appId: appX });
  });

  test('READ cannot mutate', async () => {
    expect(errorCode(await svc.gql(CREATE, { input: restInput('Read-only attempt') }, read.token))).toBe('FORBIDDEN');
    expect(errorCode(await svc.gql(UPDATE, { id: xConnector.id, v: 1, input: { name: 'Read-only rename' } }, read.token))).toBe('FORBIDDEN');
    const [{ n }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM connectors WHERE name LIKE 'Read-only%'`);
    expect(n).toBe(0);
  });

  test('cannot create applications, create or revoke API keys, or list keys', async () => {
    for (const token of [write.token, read.token]) {
      expect(errorCode(await svc.gql(CREATE_APP, { name: 'By a key' }, token))).toBe('FORBIDDEN');
      expect(errorCode(await svc.gql(CREATE_KEY, { app: appX, name: 'Minted by a key', scope: 'WRITE' }, token))).toBe('FORBIDDEN');
      expect(errorCode(await svc.gql(REVOKE_KEY, { id: read.apiKey.id }, token))).toBe('FORBIDDEN');
      expect(errorCode(await svc.gql(APP_KEYS, { id: appX }, token))).toBe('FORBIDDEN');
    }
    // Even with an admin role, a token bound to an application may not mint keys.
    const appAdmin = await admin('tenant-a', { appId: appX });
    expect(errorCode(await svc.gql(CREATE_KEY, { app: appX, name: 'Minted by a key' }, appAdmin))).toBe('FORBIDDEN');
    expect(errorCode(await svc.gql(REVOKE_KEY, { id: read.apiKey.id }, appAdmin))).toBe('FORBIDDEN');
    const [{ n }] = await svc.dataSource.query(`SELECT (SELECT count(*) FROM api_keys WHERE name = 'Minted by a key') + (SELECT count(*) FROM applications WHERE name = 'By a key') AS n`);
    expect(Number(n)).toBe(0);
    expect((await svc.ok(WHOAMI, {}, read.token)).connectors.totalCount).toBeGreaterThan(0);
  });

  test('lastUsedAt is written on first use and then at most once a minute', async () => {
    const fresh = await createKey(appX, 'Usage');
    const lastUsed = async () => (await svc.dataSource.query('SELECT last_used_at FROM api_keys WHERE id = $1', [fresh.apiKey.id]))[0].last_used_at as Date | null;
    expect(await lastUsed()).toBeNull();
    const first = await svc.gql(WHOAMI, {}, fresh.token);
    const t1 = await lastUsed();
    expect(t1).toBeInstanceOf(Date);
    const second = await svc.gql(WHOAMI, {}, fresh.token);
    expect(await lastUsed()).toEqual(t1);
    // The throttled request costs one statement less: no UPDATE.
    expect(first.statements - second.statements).toBe(1);
    await svc.dataSource.query(`UPDATE api_keys SET last_used_at = now() - interval '61 seconds' WHERE id = $1`, [fresh.apiKey.id]);
    const backdated = await lastUsed();
    const third = await svc.gql(WHOAMI, {}, fresh.token);
    expect(third.statements).toBe(first.statements);
    const t3 = await lastUsed();
    expect(t3!.getTime()).toBeGreaterThan(backdated!.getTime() + 60_000);
    const listed = (await svc.ok(APP_KEYS, { id: appX }, a)).application.apiKeys.find((k: any) => k.id === fresh.apiKey.id);
    expect(new Date(listed.lastUsedAt).getTime()).toBe(t3!.getTime());
  });
});

describe('revocation and expiry', () => {
  test('a revoked key is UNAUTHENTICATED on the next request; revoking again changes nothing', async () => {
    const { token, apiKey } = await createKey(appX, 'To revoke', 'WRITE');
    expect((await svc.ok(WHOAMI, {}, token)).connectors.totalCount).toBeGreaterThan(0);
    const revoked = (await svc.ok(REVOKE_KEY, { id: apiKey.id }, a)).revokeApiKey;
    expect(revoked.revokedAt).not.toBeNull();
    const next = await svc.gql(WHOAMI, {}, token);
    expect(errorCode(next)).toBe('UNAUTHENTICATED');
    expect(next.body.data?.connectors ?? null).toBeNull();
    const again = (await svc.ok(REVOKE_KEY, { id: apiKey.id }, a)).revokeApiKey;
    expect(again.revokedAt).toBe(revoked.revokedAt);
    const events = await eventsFor(apiKey.id);
    expect(events.map((e: any) => e.eventType)).toEqual(['API_KEY_REVOKED', 'API_KEY_CREATED']);
  });

  test('a revocation written by another replica applies to the next request (no cache)', async () => {
    const { token, apiKey } = await createKey(appX, 'Revoked elsewhere');
    expect((await svc.ok(WHOAMI, {}, token)).connectors.totalCount).toBeGreaterThan(0);
    await svc.dataSource.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [apiKey.id]);
    expect(errorCode(await svc.gql(WHOAMI, {}, token))).toBe('UNAUTHENTICATED');
  });

  test('a key past its stored expiry is UNAUTHENTICATED', async () => {
    const { token, apiKey } = await createKey(appX, 'Expiring', 'READ', 1);
    expect((await svc.ok(WHOAMI, {}, token)).connectors.totalCount).toBeGreaterThan(0);
    await svc.dataSource.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [apiKey.id]);
    expect(errorCode(await svc.gql(WHOAMI, {}, token))).toBe('UNAUTHENTICATED');
  });

  test("a token past its exp is UNAUTHENTICATED (minted with the service's stored key)", async () => {
    const { apiKey } = await createKey(appX, 'Short-lived', 'READ', 1);
    const claims = { sub: apiKey.id, jti: apiKey.id, tenant_id: 'tenant-a', app_id: appX, scope: 'READ' };
    // Make the minted token the key's issued token (the service accepts only that one).
    const adopt = (token: string) => svc.dataSource.query('UPDATE api_keys SET token_sha256 = $2 WHERE id = $1', [apiKey.id, createHash('sha256').update(token).digest('hex')]);
    const live = (await svc.services.signingKeys.sign(claims, new Date(Date.now() + 60_000))).token;
    await adopt(live);
    expect((await svc.ok(WHOAMI, {}, live)).connectors.totalCount).toBeGreaterThan(0);
    const expired = (await svc.services.signingKeys.sign(claims, new Date(Date.now() - 60_000))).token;
    await adopt(expired);
    const res = await svc.gql(WHOAMI, {}, expired);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.body.errors![0]!.message).toMatch(/expired/);
  });

  test('only the issued token authenticates: another token signed for the same key id is refused', async () => {
    const { token, apiKey } = await createKey(appX, 'Exact token', 'READ');
    const claims = decodeJwt(token);
    const twin = (await svc.services.signingKeys.sign({ ...claims, iat: undefined, iss: undefined }, null)).token;
    expect(twin).not.toBe(token);
    expect(decodeJwt(twin)).toMatchObject({ sub: apiKey.id, scope: 'READ' });
    expect(errorCode(await svc.gql(WHOAMI, {}, twin))).toBe('UNAUTHENTICATED');
    expect((await svc.ok(WHOAMI, {}, token)).connectors.totalCount).toBeGreaterThan(0);
  });

  test('an unknown key id is UNAUTHENTICATED', async () => {
    const ghost = (await svc.services.signingKeys.sign({ sub: 'key_01ARZ3NDEKTSV4RRFFQ69G5FAV', tenant_id: 'tenant-a', app_id: appX, scope: 'WRITE' }, null)).token;
    expect(errorCode(await svc.gql(WHOAMI, {}, ghost))).toBe('UNAUTHENTICATED');
  });

  test("deleting the application revokes its keys in the same transaction and locks its tokens out", async () => {
    const doomed = await createApp('Doomed');
    const k1 = await createKey(doomed, 'Doomed 1', 'WRITE');
    const k2 = await createKey(doomed, 'Doomed 2');
    expect((await svc.ok(WHOAMI, {}, k1.token)).connectors.totalCount).toBe(0);
    await svc.ok(DELETE_APP, { id: doomed }, a);
    const rows = await svc.dataSource.query('SELECT id, revoked_at, revoked_by FROM api_keys WHERE application_id = $1 ORDER BY id', [doomed]);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ revoked_at: expect.any(Date), revoked_by: 'boss' });
    for (const k of [k1, k2]) {
      expect(errorCode(await svc.gql(WHOAMI, {}, k.token))).toBe('UNAUTHENTICATED');
      const [revoked] = await eventsFor(k.apiKey.id);
      expect(revoked).toMatchObject({ eventType: 'API_KEY_REVOKED', actorId: 'boss', appId: doomed, reason: 'application deleted' });
    }
  });

  test('a deleted application locks its tokens out even if a key was left unrevoked', async () => {
    const app = await createApp('Deleted behind our back');
    const { token } = await createKey(app, 'Orphan');
    await svc.dataSource.query('UPDATE applications SET is_deleted = true WHERE id = $1', [app]);
    expect(errorCode(await svc.gql(WHOAMI, {}, token))).toBe('UNAUTHENTICATED');
  });
});

describe('signing key rotation', () => {
  test('old unexpired tokens keep working; new tokens carry the new kid', async () => {
    const old = await createKey(appX, 'Before rotation', 'WRITE', 5);
    const oldKid = decodeProtectedHeader(old.token).kid!;
    const newKid = await svc.services.signingKeys.rotate();
    expect(newKid).not.toBe(oldKid);
    const kids = (await fetchJwks()).body.keys.map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect((await svc.ok(WHOAMI, {}, old.token)).connectors.totalCount).toBeGreaterThan(0);
    const fresh = await createKey(appX, 'After rotation', 'WRITE', 5);
    expect(decodeProtectedHeader(fresh.token).kid).toBe(newKid);
    expect((await svc.ok(WHOAMI, {}, fresh.token)).connectors.totalCount).toBeGreaterThan(0);
    const remote = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
    for (const t of [old.token, fresh.token]) await expect(jwtVerify(t, remote, { issuer: SERVICE_ISSUER })).resolves.toBeTruthy();
    const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM signing_keys WHERE active');
    expect(n).toBe(1);
  });

  test('a rotation by another process (the CLI) is picked up for signing and verification', async () => {
    const before = await createKey(appX, 'Before CLI rotation');
    const elsewhere = new SigningKeyStore(svc.dataSource, { masterKey: MASTER_KEY });
    const cliKid = await elsewhere.rotate();
    const after = await createKey(appX, 'After CLI rotation', 'READ');
    expect(decodeProtectedHeader(after.token).kid).toBe(cliKid);
    expect(decodeProtectedHeader(before.token).kid).not.toBe(cliKid);
    expect((await svc.ok(WHOAMI, {}, after.token)).connectors.totalCount).toBeGreaterThan(0);
    expect((await svc.ok(WHOAMI, {}, before.token)).connectors.totalCount).toBeGreaterThan(0);
  });
});

describe('audit', () => {
  test('create and revoke are recorded with the actor and without token material', async () => {
    const { token, apiKey } = await createKey(appX, 'Audited key', 'WRITE', 10);
    await svc.ok(REVOKE_KEY, { id: apiKey.id }, a);
    const events = await eventsFor(apiKey.id);
    expect(events.map((e: any) => e.eventType)).toEqual(['API_KEY_REVOKED', 'API_KEY_CREATED']);
    const [revoked, created] = events;
    for (const e of events) expect(e).toMatchObject({ actorType: 'USER', actorId: 'boss', actorEmail: 'boss@a.example', targetType: 'ApiKey', targetId: apiKey.id, appId: appX });
    expect(created.changes).toEqual({
      name: { before: null, after: 'Audited key' },
      scope: { before: null, after: 'WRITE' },
      expiresAt: { before: null, after: apiKey.expiresAt },
    });
    expect(Object.keys(revoked.changes)).toEqual(['revokedAt']);
    expect(revoked.changes.revokedAt.before).toBeNull();
    const [stored] = await svc.dataSource.query('SELECT revoked_at FROM api_keys WHERE id = $1', [apiKey.id]);
    expect(revoked.changes.revokedAt.after).toBe(stored.revoked_at.toISOString());
    const rows = JSON.stringify(await svc.dataSource.query('SELECT * FROM audit_events WHERE target_id = $1', [apiKey.id]));
    expect(rows).not.toContain(signatureOf(token));
    expect(rows).not.toContain(createHash('sha256').update(token).digest('hex'));
  });
});

describe('tenant isolation and listing', () => {
  test("another tenant's application or key is NOT_FOUND", async () => {
    const { token, apiKey } = await createKey(appX, 'Tenant A key');
    expect(errorCode(await svc.gql(CREATE_KEY, { app: appX, name: 'Cross-tenant' }, b))).toBe('NOT_FOUND');
    expect(errorCode(await svc.gql(REVOKE_KEY, { id: apiKey.id }, b))).toBe('NOT_FOUND');
    expect(errorCode(await svc.gql(REVOKE_KEY, { id: 'key_01ARZ3NDEKTSV4RRFFQ69G5FAV' }, a))).toBe('NOT_FOUND');
    expect((await svc.ok(APP_KEYS, { id: appX }, b)).application).toBeNull();
    const [row] = await svc.dataSource.query('SELECT revoked_at FROM api_keys WHERE id = $1', [apiKey.id]);
    expect(row.revoked_at).toBeNull();
    expect((await svc.ok(WHOAMI, {}, token)).connectors.totalCount).toBeGreaterThan(0);
    const [{ n }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM api_keys WHERE name = 'Cross-tenant'`);
    expect(n).toBe(0);
    // Tenant B's own keys stay its own.
    const bKey = await createKey(appB, 'B key', 'READ', undefined, b);
    const bApp = (await svc.ok(APP_KEYS, { id: appB }, b)).application;
    expect(bApp.apiKeys.map((k: any) => k.id)).toEqual([bKey.apiKey.id]);
    expect((await svc.ok(APP_KEYS, { id: appX }, a)).application.apiKeys.map((k: any) => k.id)).not.toContain(bKey.apiKey.id);
    const bList = (await svc.ok(WHOAMI, {}, bKey.token)).connectors.nodes.map((n: any) => n.id);
    expect(bList).toEqual([bConnector.id]);
  });

  test('apiKeys is for admins', async () => {
    const res = await svc.gql(APP_KEYS, { id: appX }, await viewer('tenant-a'));
    expect(errorCode(res)).toBe('FORBIDDEN');
  });

  test('apiKeys of many applications costs one statement', async () => {
    const tenant = 'keys-batch';
    const t = await admin(tenant);
    const apps: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = await createApp(`Batch ${i}`, t);
      apps.push(id);
      await createKey(id, `Batch key ${i}a`, 'READ', undefined, t);
      await createKey(id, `Batch key ${i}b`, 'WRITE', undefined, t);
    }
    const query = (withKeys: boolean) => `query($first: Int!) { applications(first: $first) { nodes { id ${withKeys ? 'apiKeys { id name }' : ''} } } }`;
    const one = await svc.gql(query(true), { first: 1 }, t);
    const four = await svc.gql(query(true), { first: 4 }, t);
    const without = await svc.gql(query(false), { first: 4 }, t);
    expect(four.body.errors).toBeUndefined();
    const nodes = four.body.data.applications.nodes;
    expect(nodes).toHaveLength(4);
    for (const node of nodes) {
      const i = apps.indexOf(node.id);
      expect(node.apiKeys.map((k: any) => k.name)).toEqual([`Batch key ${i}b`, `Batch key ${i}a`]);
    }
    expect(four.statements).toBe(one.statements);
    expect(four.statements).toBe(without.statements + 1);
  });
});

describe('paging applications and Application.connectors both ways', () => {
  const tenant = 'apps-paging';
  let t: string;
  let apps: string[] = [];
  /** Six connectors of apps[0], one of apps[1]. */
  let conns: string[] = [];
  let otherConn = '';

  const applications = async (args: Record<string, unknown>, as?: string) =>
    (await svc.ok(`query($first: Int, $after: String, $last: Int, $before: String) { applications(first: $first, after: $after, last: $last, before: $before) { totalCount ${PAGE} } }`, args, as ?? t)).applications as Page & { totalCount: number };
  const APP_CONNECTORS = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { application(id: $id) { connectors(first: $first, after: $after, last: $last, before: $before) { totalCount ${PAGE} } } }`;
  const appConnectors = async (args: Record<string, unknown>, id = apps[0]) => (await svc.ok(APP_CONNECTORS, { id, ...args }, t)).application.connectors as Page & { totalCount: number };
  const v1 = (id: string) => Buffer.from(`v1:${id}`, 'utf8').toString('base64url');

  /** Walks both ways (test/helpers/paging.ts); the ids, first page first. */
  const walk = async (fetch: (args: Record<string, unknown>) => Promise<Page>, size: number, pages: number): Promise<string[]> =>
    (await walkBothWays(fetch, size, pages)).flatMap((p) => p.nodes.map((n) => n.id));

  beforeAll(async () => {
    t = await admin(tenant);
    apps = [];
    for (let i = 0; i < 6; i++) apps.push(await createApp(`Paged app ${i}`, t));
    conns = [];
    for (let i = 0; i < 6; i++) conns.push((await svc.ok(CREATE, { input: restInput(`Paged connector ${i}`, { applicationId: apps[0] }) }, t)).createConnector.id);
    otherConn = (await svc.ok(CREATE, { input: restInput('Other app connector', { applicationId: apps[1] }) }, t)).createConnector.id;
  });

  test('applications: 6 in pages of 2, forwards and backwards, newest first', async () => {
    expect(await walk(applications, 2, 3)).toEqual([...apps].reverse());
    // Neither first nor last: the first 50.
    const all = await applications({});
    expect(all.nodes.map((n) => n.id)).toEqual([...apps].reverse());
    expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
    expect(all.totalCount).toBe(6);
    // last without before: the oldest ones, in list order.
    expect((await applications({ last: 4 })).nodes.map((n) => n.id)).toEqual(apps.slice(0, 4).reverse());
  });

  test('Application.connectors: 6 in pages of 2, forwards and backwards; its own application only', async () => {
    expect(await walk((args) => appConnectors(args), 2, 3)).toEqual([...conns].reverse());
    expect((await appConnectors({ last: 10 })).nodes.map((n) => n.id)).toEqual([...conns].reverse());
    expect((await appConnectors({}, apps[1])).nodes.map((n) => n.id)).toEqual([otherConn]);
  });

  test('Application.connectors of many applications: one statement per page asked, backwards too', async () => {
    const query = (nested: string) => `{ applications(first: 6) { nodes { id ${nested} } } }`;
    const without = await svc.gql(query(''), {}, t);
    const forwards = await svc.gql(query('connectors(first: 2) { nodes { id } }'), {}, t);
    const backwards = await svc.gql(query('connectors(last: 2) { nodes { id } pageInfo { hasPreviousPage } }'), {}, t);
    for (const res of [forwards, backwards]) {
      expect(res.body.errors).toBeUndefined();
      expect(res.statements).toBe(without.statements + 1);
    }
    const byApp = new Map(backwards.body.data.applications.nodes.map((n: any) => [n.id, n.connectors]));
    expect(byApp.get(apps[0])).toEqual({ nodes: conns.slice(0, 2).reverse().map((id) => ({ id })), pageInfo: { hasPreviousPage: true } });
    expect(byApp.get(apps[1])).toEqual({ nodes: [{ id: otherConn }], pageInfo: { hasPreviousPage: false } });
    expect(byApp.get(apps[2])).toEqual({ nodes: [], pageInfo: { hasPreviousPage: false } });
  });

  test('a cursor of another list, or of another application\'s connectors, is BAD_USER_INPUT, not an empty page', async () => {
    const fromApps = (await applications({ first: 1 })).pageInfo.endCursor!;
    const fromAppConnectors = (await appConnectors({ first: 1 })).pageInfo.endCursor!;
    const fromConnectors = (await svc.ok(`{ connectors(first: 1) { pageInfo { endCursor } } }`, {}, t)).connectors.pageInfo.endCursor;
    const fromAudit = (await svc.ok(`{ auditEvents(first: 1) { pageInfo { endCursor } } }`, {}, t)).auditEvents.pageInfo.endCursor;
    const appsQuery = `query($after: String, $before: String, $last: Int) { applications(first: null, after: $after, last: $last, before: $before) { nodes { id } } }`;
    const cases: Array<[string, Promise<any>]> = [
      ['connectors cursor → applications', svc.gql(appsQuery, { after: fromConnectors }, t)],
      ['Application.connectors cursor → applications', svc.gql(appsQuery, { last: 2, before: fromAppConnectors }, t)],
      ['auditEvents cursor → applications', svc.gql(appsQuery, { after: fromAudit }, t)],
      ['v1 connector id → applications', svc.gql(appsQuery, { after: v1(conns[0]!) }, t)],
      ['applications cursor → Application.connectors', svc.gql(APP_CONNECTORS, { id: apps[0], first: 2, after: fromApps }, t)],
      ['connectors cursor → Application.connectors', svc.gql(APP_CONNECTORS, { id: apps[0], first: 2, after: fromConnectors }, t)],
      ["another application's cursor → Application.connectors", svc.gql(APP_CONNECTORS, { id: apps[1], last: 2, before: fromAppConnectors }, t)],
      ['v1 application id → Application.connectors', svc.gql(APP_CONNECTORS, { id: apps[0], first: 2, after: v1(apps[0]!) }, t)],
      ['garbage', svc.gql(APP_CONNECTORS, { id: apps[0], first: 2, after: 'not-a-cursor' }, t)],
      ['first and last together', svc.gql(APP_CONNECTORS, { id: apps[0], first: 2, last: 2 }, t)],
      ['first and last together (applications)', svc.gql(`{ applications(first: 2, last: 2) { nodes { id } } }`, {}, t)],
      ['last over the limit', svc.gql(`{ applications(last: 201) { nodes { id } } }`, {}, t)],
      ['last over the limit (Application.connectors)', svc.gql(APP_CONNECTORS, { id: apps[0], last: 201 }, t)],
    ];
    for (const [label, res] of cases) expect([label, errorCode(await res)]).toEqual([label, 'BAD_USER_INPUT']);
    // The error names the argument.
    const named = await svc.gql(APP_CONNECTORS, { id: apps[1], first: 2, after: fromAppConnectors }, t);
    expect(named.body.errors![0]!.message).toMatch(/^after is a cursor of application\.connectors with another filter or parent/);
  });

  test('v1 cursors clients already hold still page both lists, in both directions', async () => {
    const newestApps = [...apps].reverse();
    expect((await applications({ first: 2, after: v1(newestApps[1]!) })).nodes.map((n) => n.id)).toEqual(newestApps.slice(2, 4));
    expect((await applications({ last: 2, before: v1(newestApps[4]!) })).nodes.map((n) => n.id)).toEqual(newestApps.slice(2, 4));
    const newest = [...conns].reverse();
    expect((await appConnectors({ first: 2, after: v1(newest[1]!) })).nodes.map((n) => n.id)).toEqual(newest.slice(2, 4));
    expect((await appConnectors({ last: 2, before: v1(newest[4]!) })).nodes.map((n) => n.id)).toEqual(newest.slice(2, 4));
    // The old default still answers: first 50, its cursors now bound to the list.
    const page = await svc.ok(`query($first: Int!) { applications(first: $first) { pageInfo { endCursor } nodes { id } } }`, { first: 3 }, t);
    expect(Buffer.from(page.applications.pageInfo.endCursor, 'base64url').toString('utf8')).toMatch(/^v2:applications:/);
  });
});
