import { admin, editor, token, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { CREATE, DELETE, ENTITIES, GET, LIST, RESTORE, UPDATE, restInput } from '../helpers/fixtures.js';

let svc: TestService;
let a: string; // tenant A admin
let b: string; // tenant B admin
let aConnector: any;

beforeAll(async () => {
  svc = await startTestService('tenancy');
  a = await admin('tenant-a');
  b = await admin('tenant-b');
  aConnector = (await svc.ok(CREATE, { input: restInput('A secret source') }, a)).createConnector;
});
afterAll(() => svc?.close());

async function versionOf(id: string): Promise<number> {
  const [row] = await svc.dataSource.query('SELECT version FROM connectors WHERE id = $1', [id]);
  return row.version;
}

describe("tenant B cannot reach tenant A's connector", () => {
  test('read → null; list → absent', async () => {
    expect((await svc.ok(GET, { id: aConnector.id }, b)).connector).toBeNull();
    const list = (await svc.ok(LIST, { filter: { includeDeleted: true } }, b)).connectors;
    expect(list.totalCount).toBe(0);
    expect(list.nodes).toEqual([]);
  });

  test('update, delete, restore → NOT_FOUND, nothing changed', async () => {
    for (const [doc, vars] of [
      [UPDATE, { id: aConnector.id, v: 1, input: { name: 'pwned' } }],
      [DELETE, { id: aConnector.id }],
      [RESTORE, { id: aConnector.id }],
    ] as const) {
      const res = await svc.gql(doc, vars, b);
      expect(errorCode(res)).toBe('NOT_FOUND');
    }
    expect(await versionOf(aConnector.id)).toBe(1);
    expect((await svc.ok(GET, { id: aConnector.id }, a)).connector.name).toBe('A secret source');
  });

  test('_entities resolves it to null for tenant B and to the connector for tenant A', async () => {
    const reps = [{ __typename: 'Connector', id: aConnector.id }];
    expect((await svc.ok(ENTITIES, { reps }, b))._entities).toEqual([null]);
    expect((await svc.ok(ENTITIES, { reps }, a))._entities).toEqual([{ id: aConnector.id, name: 'A secret source', isDeleted: false, tenantId: 'tenant-a' }]);
  });

  test('_entities without a token is UNAUTHENTICATED', async () => {
    const res = await svc.gql(ENTITIES, { reps: [{ __typename: 'Connector', id: aConnector.id }] });
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(res.body)).not.toContain('A secret source');
  });
});

describe('application tokens', () => {
  let appX: string;
  let appY: string;
  let xConnector: any;
  let yConnector: any;

  beforeAll(async () => {
    const create = 'mutation($name: String!) { createApplication(name: $name) { id } }';
    appX = (await svc.ok(create, { name: 'SOAR' }, a)).createApplication.id;
    appY = (await svc.ok(create, { name: 'Ingest' }, a)).createApplication.id;
    xConnector = (await svc.ok(CREATE, { input: restInput('X source', { applicationId: appX }) }, a)).createConnector;
    yConnector = (await svc.ok(CREATE, { input: restInput('Y source', { applicationId: appY }) }, a)).createConnector;
  });

  test("an app token sees only its application's connectors", async () => {
    const appToken = await token({ tenantId: 'tenant-a', subject: 'key_x', roles: ['editor'], appId: appX });
    const list = (await svc.ok(LIST, {}, appToken)).connectors;
    expect(list.nodes.map((n: any) => n.id)).toEqual([xConnector.id]);
    expect((await svc.ok(GET, { id: yConnector.id }, appToken)).connector).toBeNull();
    expect((await svc.ok(ENTITIES, { reps: [{ __typename: 'Connector', id: yConnector.id }] }, appToken))._entities).toEqual([null]);
    expect(errorCode(await svc.gql(UPDATE, { id: yConnector.id, v: 1, input: { name: 'z' } }, appToken))).toBe('NOT_FOUND');
  });

  test('an app token writes within its application and stamps appId', async () => {
    const appToken = await token({ tenantId: 'tenant-a', subject: 'key_x', roles: ['editor'], appId: appX });
    const created = (await svc.ok(CREATE, { input: restInput('Made by app') }, appToken)).createConnector;
    expect(created).toMatchObject({ appId: appX, applicationId: appX, createdBy: 'key_x' });
    const elsewhere = await svc.gql(CREATE, { input: restInput('Other app', { applicationId: appY }) }, appToken);
    expect(errorCode(elsewhere)).toBe('NOT_FOUND');
  });
});

describe('group and user scope', () => {
  let groupConnector: any;
  let userConnector: any;

  beforeAll(async () => {
    const member = await editor('tenant-a', { subject: 'alice', groups: ['soc'] });
    groupConnector = (await svc.ok(CREATE, { input: restInput('SOC only', { scope: 'GROUP', groupId: 'soc' }) }, member)).createConnector;
    userConnector = (await svc.ok(CREATE, { input: restInput('Alice only', { scope: 'USER' }) }, member)).createConnector;
    expect(userConnector).toMatchObject({ scope: 'USER', userId: 'alice' });
  });

  test('members of the group see GROUP connectors; others do not', async () => {
    const soc = await viewer('tenant-a', { subject: 'bob', groups: ['soc'] });
    const other = await viewer('tenant-a', { subject: 'carol', groups: ['finance'] });
    expect((await svc.ok(GET, { id: groupConnector.id }, soc)).connector?.id).toBe(groupConnector.id);
    expect((await svc.ok(GET, { id: groupConnector.id }, other)).connector).toBeNull();
    const otherList = (await svc.ok(LIST, { first: 200 }, other)).connectors.nodes.map((n: any) => n.id);
    expect(otherList).not.toContain(groupConnector.id);
    expect(otherList).toContain(aConnector.id);
  });

  test('USER connectors are visible to that user and admins only', async () => {
    const alice = await viewer('tenant-a', { subject: 'alice' });
    const bob = await viewer('tenant-a', { subject: 'bob', groups: ['soc'] });
    expect((await svc.ok(GET, { id: userConnector.id }, alice)).connector?.id).toBe(userConnector.id);
    expect((await svc.ok(GET, { id: userConnector.id }, bob)).connector).toBeNull();
    expect((await svc.ok(GET, { id: userConnector.id }, a)).connector?.id).toBe(userConnector.id);
    expect((await svc.ok(ENTITIES, { reps: [{ __typename: 'Connector', id: userConnector.id }] }, bob))._entities).toEqual([null]);
  });

  test('a non-member cannot create in, or move a connector into, a group; nor into another user', async () => {
    const outsider = await editor('tenant-a', { subject: 'dave', groups: ['finance'] });
    expect(errorCode(await svc.gql(CREATE, { input: restInput('x', { scope: 'GROUP', groupId: 'soc' }) }, outsider))).toBe('FORBIDDEN');
    expect(errorCode(await svc.gql(CREATE, { input: restInput('x', { scope: 'USER', userId: 'alice' }) }, outsider))).toBe('FORBIDDEN');
    expect(errorCode(await svc.gql(UPDATE, { id: aConnector.id, v: 1, input: { scope: 'GROUP', groupId: 'soc' } }, outsider))).toBe('FORBIDDEN');
    expect(await versionOf(aConnector.id)).toBe(1);
  });
});

describe('every connector operation is tenant-scoped', () => {
  test('another tenant gets NOT_FOUND from each mutation and null or nothing from each read', async () => {
    const id = aConnector.id;
    const mutations: Array<[string, Record<string, unknown>]> = [
      ['mutation($id: ID!) { toggleConnector(id: $id, enabled: true) { id } }', { id }],
      ['mutation($id: ID!) { testConnector(id: $id) { success } }', { id }],
      ['mutation($id: ID!) { syncConnector(id: $id) { id } }', { id }],
      ['mutation($id: ID!) { checkConnectorHealth(id: $id) { id } }', { id }],
      ['mutation($id: ID!) { rotateCredentials(id: $id, credentials: { apiKey: "x-123456" }) { rotated } }', { id }],
      ['mutation($id: ID!) { purgeConnector(id: $id) }', { id }],
    ];
    for (const [query, variables] of mutations) {
      const res = await svc.gql(query, variables, b);
      expect([query, res.body.errors?.[0]?.extensions?.code]).toEqual([query, 'NOT_FOUND']);
    }
    const [row] = await svc.dataSource.query('SELECT enabled, version FROM connectors WHERE id = $1', [id]);
    expect(row).toEqual({ enabled: false, version: 1 });
    const reads = await svc.ok(
      `query($id: ID!) { connector(id: $id) { id } connectorHealthSummary { total } auditEvents(filter: { targetId: $id }) { nodes { id } } }`,
      { id },
      b,
    );
    expect(reads).toEqual({ connector: null, connectorHealthSummary: { total: 0 }, auditEvents: { nodes: [] } });
  });
});
