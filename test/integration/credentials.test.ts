import pg from 'pg';
import { admin, editor } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { startRestUpstream, makeRecords, type RestUpstream } from '../helpers/upstream.js';
import { startVaultServer, type VaultServer } from '../helpers/vault-server.js';

const FIELDS = `id version authType vaultPath credentialFields credentialVersion credentialLastRotatedAt nextRotationDue config isDeleted`;
const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { ${FIELDS} } }`;
const GET = `query($id: ID!) { connector(id: $id) { ${FIELDS} lastTest { success } } }`;
const ROTATE = `mutation($id: ID!, $credentials: JSON!, $v: Int, $skip: Boolean) {
  rotateCredentials(id: $id, credentials: $credentials, expectedVersion: $v, skipTest: $skip) {
    rotated connector { ${FIELDS} } test { success steps { name passed errorCode } } } }`;
const TEST = `mutation($id: ID!) { testConnector(id: $id) { success steps { name passed errorCode } } }`;

const backends = ['local', 'vault'] as const;

describe.each(backends)('credentials with the %s secret store', (backend) => {
  const sentinel = () => `S3NT1NEL-${backend}-${Math.random().toString(36).slice(2, 10)}`;
  const good = sentinel();
  const rotatedKey = sentinel();
  const wrong = sentinel();
  let svc: TestService;
  let vault: VaultServer | undefined;
  let up: RestUpstream;
  let adm: string;
  let connectorId: string;
  const responses: string[] = [];

  async function call(query: string, variables: Record<string, unknown>, token: string) {
    const res = await svc.gql(query, variables, token);
    responses.push(JSON.stringify(res.body));
    return res;
  }

  async function storeVersion(id: string): Promise<number> {
    return svc.services.credentials.latestVersion('t1', id);
  }

  beforeAll(async () => {
    up = await startRestUpstream({ apiKey: good, records: makeRecords(3) });
    const env: Record<string, string> = {};
    if (backend === 'vault') {
      vault = await startVaultServer({ token: 'vault-root-token-for-tests' });
      Object.assign(env, { SECRETS_BACKEND: 'vault', VAULT_ADDR: vault.url, VAULT_TOKEN: 'vault-root-token-for-tests' });
    }
    svc = await startTestService(`credentials_${backend}`, env);
    adm = await admin('t1');
  });
  afterAll(async () => {
    await svc?.close();
    await up?.close();
    await vault?.close();
  });

  test('create with credentials: values nowhere in the response, names listed, vaultPath for admins only', async () => {
    const input = { name: 'Keyed API', provider: 'generic_rest', authType: 'API_KEY', credentials: { apiKey: good }, config: { baseUrl: up.url, path: '/items' } };
    const res = await call(CREATE, { input }, await editor('t1'));
    const c = res.body.data.createConnector;
    connectorId = c.id;
    expect(c).toMatchObject({ credentialFields: ['apiKey'], credentialVersion: 1, vaultPath: null });
    expect(c.credentialLastRotatedAt).toBeTruthy();
    expect(new Date(c.nextRotationDue).getTime() - new Date(c.credentialLastRotatedAt).getTime()).toBe(90 * 86_400_000);
    const asAdmin = (await call(GET, { id: c.id }, adm)).body.data.connector;
    expect(asAdmin.vaultPath).toBe(backend === 'vault' ? `secret/data/tenants/t1/connectors/${c.id}/credentials` : `local:tenants/t1/connectors/${c.id}/credentials`);
    expect((await call(TEST, { id: c.id }, adm)).body.data.testConnector.success).toBe(true);
  });

  test('credentials are required by the auth type and validated by the provider schema', async () => {
    const base = { name: 'x', provider: 'generic_rest', authType: 'API_KEY', config: { baseUrl: up.url } };
    expect(errorCode(await call(CREATE, { input: base }, adm))).toBe('BAD_USER_INPUT');
    const bad = await call(CREATE, { input: { ...base, credentials: { apiKey: good, password: 'extra' } } }, adm);
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
  });

  test('a failed creation leaves no secret behind', async () => {
    const input = { name: 'Orphan?', provider: 'generic_rest', authType: 'API_KEY', credentials: { apiKey: sentinel() }, config: { baseUrl: up.url }, applicationId: 'app_01ARZ3NDEKTSV4RRFFQ69G5FAV' };
    const before = backend === 'vault' ? vault!.keys().length : (await svc.dataSource.query('SELECT count(DISTINCT connector_id)::int AS n FROM connector_secrets'))[0].n;
    expect(errorCode(await call(CREATE, { input }, adm))).toBe('NOT_FOUND');
    const after = backend === 'vault' ? vault!.keys().length : (await svc.dataSource.query('SELECT count(DISTINCT connector_id)::int AS n FROM connector_secrets'))[0].n;
    expect(after).toBe(before);
  });

  test('rotation with credentials that fail the test: rotated false, active version unchanged, still works', async () => {
    const res = (await call(ROTATE, { id: connectorId, credentials: { apiKey: wrong } }, adm)).body.data.rotateCredentials;
    expect(res.rotated).toBe(false);
    expect(res.test.success).toBe(false);
    expect(res.test.steps.find((s: any) => s.name === 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED' });
    expect(res.connector).toMatchObject({ credentialVersion: 1, version: 1 });
    expect((await call(TEST, { id: connectorId }, adm)).body.data.testConnector.success).toBe(true);
  });

  test('rotation with good credentials: rotated, version +1, the previous version kept for rollback', async () => {
    up.apiKey = rotatedKey;
    const res = (await call(ROTATE, { id: connectorId, credentials: { apiKey: rotatedKey }, v: 1 }, adm)).body.data.rotateCredentials;
    expect(res.rotated).toBe(true);
    expect(res.test.success).toBe(true);
    expect(res.connector.credentialVersion).toBe(3); // 2 was the failed candidate
    expect(res.connector.version).toBe(2);
    const [entity] = await svc.services.connectors.findByIds((await import('../../src/auth/verifier.js')).principalFromClaims({ tenant_id: 't1', sub: 'x', roles: ['admin'] }), [connectorId]);
    expect(await svc.services.credentials.resolve(entity!, 1)).toEqual({ apiKey: good });
    expect(await svc.services.credentials.resolve(entity!)).toEqual({ apiKey: rotatedKey });
    expect((await call(TEST, { id: connectorId }, adm)).body.data.testConnector.success).toBe(true);
    const events = (await call(`query($id: ID!) { auditEvents(filter: { targetId: $id, eventType: [CREDENTIALS_ROTATED] }) { nodes { changes } } }`, { id: connectorId }, adm)).body.data.auditEvents.nodes;
    expect(events).toHaveLength(1);
    expect(events[0].changes.credentialVersion).toEqual({ before: 1, after: 3 });
  });

  test('stale expectedVersion → VERSION_CONFLICT and nothing written to the store', async () => {
    const before = await storeVersion(connectorId);
    const res = await call(ROTATE, { id: connectorId, credentials: { apiKey: sentinel() }, v: 1 }, adm);
    expect(errorCode(res)).toBe('VERSION_CONFLICT');
    expect(await storeVersion(connectorId)).toBe(before);
  });

  test('only admins rotate; another tenant cannot reach the connector or its secrets', async () => {
    const before = await storeVersion(connectorId);
    expect(errorCode(await call(ROTATE, { id: connectorId, credentials: { apiKey: sentinel() } }, await editor('t1')))).toBe('FORBIDDEN');
    expect(errorCode(await call(ROTATE, { id: connectorId, credentials: { apiKey: sentinel() } }, await admin('t2')))).toBe('NOT_FOUND');
    expect(errorCode(await call(TEST, { id: connectorId }, await admin('t2')))).toBe('NOT_FOUND');
    expect(errorCode(await call(`mutation($id: ID!) { purgeConnector(id: $id) }`, { id: connectorId }, await admin('t2')))).toBe('NOT_FOUND');
    expect(await storeVersion(connectorId)).toBe(before);
    // the store itself refuses references that could escape a tenant's path
    await expect(svc.services.credentials.latestVersion('t1/../t2', connectorId)).rejects.toThrow();
  });

  test('soft delete + restore: the connector tests successfully again; purge removes every secret version', async () => {
    await call(`mutation($id: ID!) { deleteConnector(id: $id) { id } }`, { id: connectorId }, adm);
    await call(`mutation($id: ID!) { restoreConnector(id: $id) { id } }`, { id: connectorId }, adm);
    expect((await call(TEST, { id: connectorId }, adm)).body.data.testConnector.success).toBe(true);
    expect(errorCode(await call(`mutation($id: ID!) { purgeConnector(id: $id) }`, { id: connectorId }, adm))).toBe('BAD_USER_INPUT');
    await call(`mutation($id: ID!) { deleteConnector(id: $id) { id } }`, { id: connectorId }, adm);
    expect((await call(`mutation($id: ID!) { purgeConnector(id: $id) }`, { id: connectorId }, adm)).body.data.purgeConnector).toBe(true);
    expect(await storeVersion(connectorId)).toBe(0);
    if (vault) expect(vault.keys().some((k) => k.includes(connectorId))).toBe(false);
    else expect((await svc.dataSource.query('SELECT count(*)::int AS n FROM connector_secrets WHERE connector_id = $1', [connectorId]))[0].n).toBe(0);
    expect((await call(GET, { id: connectorId }, adm)).body.data.connector).toBeNull();
  });

  test('no secret value in any response, log line, audit row or database column', async () => {
    const secrets = [good, rotatedKey, wrong];
    const client = new pg.Client({ connectionString: svc.databaseUrl });
    await client.connect();
    const { rows: tables } = await client.query(`SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE'`);
    let dump = '';
    for (const t of tables) {
      const { rows } = await client.query(`SELECT row_to_json(x)::text AS j FROM "${t.table_schema}"."${t.table_name}" x`);
      dump += rows.map((r) => r.j).join('\n');
    }
    await client.end();
    expect(dump.length).toBeGreaterThan(1000);
    const logs = svc.logs.text();
    expect(logs.length).toBeGreaterThan(1000);
    for (const secret of secrets) {
      expect(dump).not.toContain(secret);
      expect(logs).not.toContain(secret);
      for (const body of responses) expect(body).not.toContain(secret);
    }
  });
});
