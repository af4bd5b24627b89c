/**
 * Field-aware reads of connectors (src/modules/connectors/connector.projection.ts): `connectors`,
 * `connector(id)`, `_entities` and the `connector` of records and audit events read only the
 * columns their selection needs, in one statement, and the projection keeps every rule: the
 * tenant and scope condition, the soft-delete filter of lists, `vaultPath` for admins only, no
 * secret ever in a response.
 */
import { admin, editor, viewer } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { CREATE, DELETE, restInput } from '../helpers/fixtures.js';

let svc: TestService;
const ids: Record<string, string> = {};

/** The `sql` texts the service logged (LOG_LEVEL=trace) while `run` ran. */
async function sqlOf<T>(run: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  const from = svc.logs.lines.length;
  const result = await run();
  const sql = svc.logs.lines
    .slice(from)
    .map((line) => JSON.parse(line) as { msg?: string; sql?: string })
    .filter((entry) => entry.msg === 'sql' && entry.sql)
    .map((entry) => entry.sql!.replace(/\s+/g, ' '));
  return { result, sql };
}

/** The quoted columns of a `SELECT … FROM connectors c` statement. */
function selected(sql: string): string[] {
  const list = /^SELECT (.*?) FROM connectors c /.exec(sql)?.[1] ?? '';
  return [...list.matchAll(/c\."([a-z_]+)"/g)].map((m) => m[1]!).sort();
}

beforeAll(async () => {
  svc = await startTestService('connector_projection');
  const adm = await admin('p1');
  const create = async (key: string, input: Record<string, unknown>, token = adm) => {
    const res = await svc.gql(CREATE, { input }, token);
    if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    ids[key] = res.body.data.createConnector.id;
  };
  await create('org', restInput('org one', { tags: ['a'] }));
  await create('group', restInput('group one', { scope: 'GROUP', groupId: 'g1' }));
  await create('user', restInput('user one', { scope: 'USER', userId: 'someone-else' }));
  await create('deleted', restInput('deleted one'));
  await create('keyed', { name: 'keyed', provider: 'generic_rest', authType: 'API_KEY', credentials: { apiKey: 'k-secret-value-123' }, config: { baseUrl: 'https://api.example.com/v1' } });
  await create('other', restInput('other tenant'), await admin('p2'));
  const del = await svc.gql(DELETE, { id: ids.deleted }, adm);
  if (del.body.errors) throw new Error(JSON.stringify(del.body.errors));
});
afterAll(() => svc?.close());

describe('projected reads', () => {
  test('_entities × N reads the selected columns only, in one statement, with the tenant and scope condition', async () => {
    const reps = ['org', 'group', 'user', 'other', 'deleted'].map((k) => ({ __typename: 'Connector', id: ids[k] }));
    const query = 'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Connector { __typename id name enabled } } }';
    const token = await viewer('p1');
    const { result: res, sql } = await sqlOf(() => svc.gql(query, { reps }, token));
    expect(res.statements).toBe(1);
    expect(sql).toHaveLength(1);
    expect(selected(sql[0]!)).toEqual(['enabled', 'id', 'name']);
    expect(sql[0]).toContain('c.tenant_id = $');
    expect(sql[0]).toContain("c.scope = 'ORG'");
    // org visible; group (not a member), user (another user's), other tenant: null; deleted: visible by id, as before.
    expect(res.body.data._entities.map((e: { name?: string } | null) => e?.name ?? null)).toEqual(['org one', null, null, null, 'deleted one']);
  });

  test('connectors(first) reads the columns of nodes and edges.node only; the soft-delete filter stays', async () => {
    const query = 'query { connectors(first: 10) { nodes { id name } edges { node { tags } } pageInfo { hasNextPage } } }';
    const token = await admin('p1');
    const { result: res, sql } = await sqlOf(() => svc.gql(query, {}, token));
    expect(res.statements).toBe(1);
    expect(selected(sql[0]!)).toEqual(['id', 'name', 'tags']);
    expect(sql[0]).toContain('NOT c.is_deleted');
    expect(sql[0]).toContain('c.tenant_id = $');
    const names = res.body.data.connectors.nodes.map((n: { name: string }) => n.name).sort();
    expect(names).toEqual(['group one', 'keyed', 'org one', 'user one']);
    expect(res.body.data.connectors.edges.map((e: { node: { tags: string[] } }) => e.node.tags)).toContainEqual(['a']);
  });

  test('connector(id): one statement of its columns; config needs provider (redaction) and nothing else', async () => {
    const token = await viewer('p1');
    const { result: res, sql } = await sqlOf(() => svc.gql('query($id: ID!) { connector(id: $id) { config } }', { id: ids.org }, token));
    expect(res.statements).toBe(1);
    expect(selected(sql[0]!)).toEqual(['config', 'id', 'provider']);
    expect(res.body.data.connector.config).toMatchObject({ baseUrl: 'https://api.example.com/v1', method: 'GET' });
  });

  test('vaultPath is read when selected and still nulled below admin; secrets never appear', async () => {
    const query = 'query($id: ID!) { connector(id: $id) { id vaultPath credentialFields } }';
    const asEditor = await svc.gql(query, { id: ids.keyed }, await editor('p1'));
    expect(asEditor.body.data.connector).toEqual({ id: ids.keyed, vaultPath: null, credentialFields: ['apiKey'] });
    const asAdmin = await svc.gql(query, { id: ids.keyed }, await admin('p1'));
    expect(asAdmin.body.data.connector.vaultPath).toMatch(/connectors\/cnn_[0-9A-Z]{26}\/credentials$/);
    for (const res of [asEditor, asAdmin]) expect(JSON.stringify(res.body)).not.toContain('k-secret-value-123');
  });

  test('a selection with another module\'s field resolver reads every column (nothing it reads is missing)', async () => {
    const query = 'query($id: ID!) { connector(id: $id) { id schedule { intervalSec } } }';
    const token = await viewer('p1');
    const { result: res, sql } = await sqlOf(() => svc.gql(query, { id: ids.org }, token));
    expect(res.body.errors).toBeUndefined();
    expect(selected(sql[0]!).length).toBeGreaterThan(40);
  });

  test('the same selection twice in one request is one statement; two selections are one each', async () => {
    const same = await svc.gql('query($a: ID!, $b: ID!) { a: connector(id: $a) { id name } b: connector(id: $b) { id name } }', { a: ids.org, b: ids.keyed }, await admin('p1'));
    expect(same.statements).toBe(1);
    expect([same.body.data.a.name, same.body.data.b.name]).toEqual(['org one', 'keyed']);
    const two = await svc.gql('query($a: ID!, $b: ID!) { a: connector(id: $a) { id name } b: connector(id: $b) { id tags } }', { a: ids.org, b: ids.keyed }, await admin('p1'));
    expect(two.statements).toBe(2);
  });
});
