/**
 * OWASP API Security Top 10 (2023), API1: Broken Object Level Authorization, for ingested records.
 *
 * A record is visible only to whoever may see the connector that delivered it. Tenant A has
 * records under an ORG connector of application X, a connector of application Y, a GROUP-scoped
 * and a USER-scoped connector. Another tenant, an API key of another application, and a viewer
 * outside a GROUP or USER scope see none of them through `records` (whatever the filter),
 * `Connector.records`, `_entities` (null) or `Record.connector`; the owners see theirs (positive
 * controls). Rows seeded straight into `ingested_records`, ids from record-identity.ts.
 */
import { recordId } from '../../src/modules/records/record-identity.js';
import { admin, editor, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';

const A = 'rec-bola-a';
const B = 'rec-bola-b';

const CREATE_APP = 'mutation($name: String!) { createApplication(name: $name) { id } }';
const CREATE_CONNECTOR = 'mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }';
const CREATE_KEY = `mutation($app: ID!, $name: String!, $scope: ApiKeyScope) {
  createApiKey(applicationId: $app, name: $name, scope: $scope) { token apiKey { id } } }`;

const RECORDS = `query($filter: RecordFilter) { records(filter: $filter, first: 200) {
  totalCount nodes { id title connector { id name } } } }`;
const CONNECTOR_RECORDS = `query($id: ID!) { connector(id: $id) { id records(first: 200) { totalCount nodes { id } } } }`;
const CONNECTOR_ENTITY_RECORDS = `query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on Connector { id records(first: 200) { totalCount nodes { id } } } } }`;
const RECORD_ENTITIES = `query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on Record { id title data connector { id name tenantId } } } }`;

let svc: TestService;
let aAdmin: string;
let bAdmin: string;

/** Tenant A's connectors and their records, by connector. */
const conn = { appX: '', appY: '', group: '', user: '', org: '' };
const recs: Record<keyof typeof conn, string[]> = { appX: [], appY: [], group: [], user: [], org: [] };
let appX = '';
let appY = '';
let keyX = '';
/** A row that claims tenant B but points at tenant A's ORG connector (inconsistent data). */
let crossRow = '';
let bConnector = '';
let bRecord = '';

let seq = 0;
async function seed(tenantId: string, connectorId: string, n: number, label: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `${label}-${++seq}`;
    const id = recordId(tenantId, connectorId, key);
    await svc.dataSource.query(
      `INSERT INTO ingested_records (id, tenant_id, connector_id, dedup_key, kind, record, run_id, ingested_at, last_seen_at, severity, title)
       VALUES ($1, $2, $3, $4, 'event', $5, 'run_seeded', now() - make_interval(secs => $6), now(), 9, $7)`,
      [id, tenantId, connectorId, key, JSON.stringify({ kind: 'event', name: `${label} secret ${i}`, src: '10.1.1.1' }), seq, `${label} secret ${i}`],
    );
    ids.push(id);
  }
  return ids;
}

const ids = (nodes: Array<{ id: string }>) => nodes.map((n) => n.id).sort();
const allA = () => Object.values(recs).flat();

function expectNone(text: string, which: string[]): void {
  for (const id of which) expect([id, text.includes(id)]).toEqual([id, false]);
  expect(text).not.toMatch(/secret \d/);
}

beforeAll(async () => {
  svc = await startTestService('security_api1_records');
  aAdmin = await admin(A);
  bAdmin = await admin(B);
  appX = (await svc.ok(CREATE_APP, { name: 'X' }, aAdmin)).createApplication.id;
  appY = (await svc.ok(CREATE_APP, { name: 'Y' }, aAdmin)).createApplication.id;
  const create = async (name: string, extra: Record<string, unknown>, token = aAdmin) =>
    (await svc.ok(CREATE_CONNECTOR, { input: { name, provider: 'generic_rest', config: { baseUrl: 'https://api.example.com/v1' }, ...extra } }, token)).createConnector.id as string;
  conn.appX = await create('A in X', { applicationId: appX });
  conn.appY = await create('A in Y', { applicationId: appY });
  conn.org = await create('A org', {});
  const alice = await editor(A, { subject: 'alice', groups: ['soc'] });
  conn.group = await create('A soc only', { scope: 'GROUP', groupId: 'soc' }, alice);
  conn.user = await create('A alice only', { scope: 'USER' }, alice);
  for (const k of Object.keys(conn) as Array<keyof typeof conn>) recs[k] = await seed(A, conn[k], 3, k);
  [crossRow] = await seed(B, conn.org, 1, 'cross');
  keyX = (await svc.ok(CREATE_KEY, { app: appX, name: 'X reader', scope: 'READ' }, aAdmin)).createApiKey.token;
  bConnector = await create('B own', {}, bAdmin);
  [bRecord] = await seed(B, bConnector, 1, 'bown');
});
afterAll(() => svc?.close());

describe('API1:2023 Broken Object Level Authorization: records', () => {
  test('positive control: tenant A\'s admin sees every record of A and none of B', async () => {
    const res = await svc.ok(RECORDS, {}, aAdmin);
    expect(ids(res.records.nodes)).toEqual(allA().sort());
    expect(res.records.totalCount).toBe(15);
    expect((await svc.ok(RECORD_ENTITIES, { reps: [{ __typename: 'Record', id: recs.group[0] }] }, aAdmin))._entities[0]).toMatchObject({ id: recs.group[0], connector: { id: conn.group } });
  });

  test('without a token: UNAUTHENTICATED on every path, nothing resolved', async () => {
    const reps = [{ __typename: 'Record', id: recs.org[0] }];
    for (const [query, variables] of [[RECORDS, {}], [RECORD_ENTITIES, { reps }], [CONNECTOR_RECORDS, { id: conn.org }]] as const) {
      const res = await svc.gql(query, variables);
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
      expectNone(JSON.stringify(res.body), [...allA(), ...Object.values(conn)]);
    }
  });

  describe('another tenant', () => {
    test('records: only its own, whatever the filter (A\'s connector ids included)', async () => {
      for (const filter of [{}, { connectorIds: Object.values(conn) }, { connectorIds: [conn.org] }, { search: 'secret' }, { severityAtLeast: 0, kinds: ['EVENT'] }]) {
        const res = await svc.gql(RECORDS, { filter }, bAdmin);
        expect(res.body.errors).toBeUndefined();
        const expected = 'connectorIds' in filter ? [] : [bRecord];
        expect(ids(res.body.data.records.nodes)).toEqual(expected);
        expect(res.body.data.records.totalCount).toBe(expected.length);
        expectNone(JSON.stringify(res.body).replace(/bown secret 0/, ''), [...allA(), crossRow, ...Object.values(conn)]);
      }
    });

    test('a row claiming tenant B but pointing at A\'s connector is visible to neither B nor leaks A\'s connector', async () => {
      for (const token of [bAdmin, await viewer(B)]) {
        const list = await svc.ok(RECORDS, { filter: { search: 'cross' } }, token);
        expect(list.records.nodes).toEqual([]);
        const ent = await svc.ok(RECORD_ENTITIES, { reps: [{ __typename: 'Record', id: crossRow }] }, token);
        expect(ent._entities).toEqual([null]);
      }
    });

    test('Connector.records: A\'s connectors are unreachable, by id or as entities', async () => {
      for (const id of Object.values(conn)) {
        expect((await svc.ok(CONNECTOR_RECORDS, { id }, bAdmin)).connector).toBeNull();
        expect((await svc.ok(CONNECTOR_ENTITY_RECORDS, { reps: [{ __typename: 'Connector', id }] }, bAdmin))._entities).toEqual([null]);
      }
    });

    test('_entities: every A record resolves to null, so Record.connector never resolves', async () => {
      const reps = allA().map((id) => ({ __typename: 'Record', id }));
      const res = await svc.gql(RECORD_ENTITIES, { reps }, bAdmin);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data._entities).toEqual(allA().map(() => null));
      expectNone(JSON.stringify(res.body), [...Object.values(conn)]);
    });
  });

  describe("another application's API key", () => {
    test('sees application X\'s records only: not Y\'s, nor those of connectors outside any application', async () => {
      const res = await svc.ok(RECORDS, {}, keyX);
      expect(ids(res.records.nodes)).toEqual([...recs.appX].sort());
      expect(res.records.totalCount).toBe(3);
      expect(res.records.nodes.every((n: any) => n.connector.id === conn.appX)).toBe(true);
      const filtered = await svc.ok(RECORDS, { filter: { connectorIds: [conn.appY, conn.org, conn.group] } }, keyX);
      expect(filtered.records).toEqual({ totalCount: 0, nodes: [] });
    });

    test('Connector.records and _entities of application Y\'s objects: null', async () => {
      expect((await svc.ok(CONNECTOR_RECORDS, { id: conn.appY }, keyX)).connector).toBeNull();
      expect((await svc.ok(CONNECTOR_ENTITY_RECORDS, { reps: [{ __typename: 'Connector', id: conn.appY }] }, keyX))._entities).toEqual([null]);
      const reps = [...recs.appY, ...recs.org, recs.appX[0]].map((id) => ({ __typename: 'Record', id }));
      const res = await svc.ok(RECORD_ENTITIES, { reps }, keyX);
      expect(res._entities.slice(0, -1)).toEqual([...recs.appY, ...recs.org].map(() => null));
      expect(res._entities.at(-1)).toMatchObject({ id: recs.appX[0], connector: { id: conn.appX } });
      expectNone(JSON.stringify(res._entities.slice(0, -1)), [conn.appY]);
    });
  });

  describe('a viewer outside the scope of a GROUP or USER connector', () => {
    test('a non-member sees neither the GROUP nor the USER connector\'s records, on any path', async () => {
      const carol = await viewer(A, { subject: 'carol', groups: ['finance'] });
      const res = await svc.ok(RECORDS, {}, carol);
      expect(ids(res.records.nodes)).toEqual([...recs.appX, ...recs.appY, ...recs.org].sort());
      expect(res.records.totalCount).toBe(9);
      const scoped = await svc.ok(RECORDS, { filter: { connectorIds: [conn.group, conn.user] } }, carol);
      expect(scoped.records).toEqual({ totalCount: 0, nodes: [] });
      for (const id of [conn.group, conn.user]) {
        expect((await svc.ok(CONNECTOR_RECORDS, { id }, carol)).connector).toBeNull();
        expect((await svc.ok(CONNECTOR_ENTITY_RECORDS, { reps: [{ __typename: 'Connector', id }] }, carol))._entities).toEqual([null]);
      }
      const hidden = [...recs.group, ...recs.user];
      const ent = await svc.ok(RECORD_ENTITIES, { reps: hidden.map((id) => ({ __typename: 'Record', id })) }, carol);
      expect(ent._entities).toEqual(hidden.map(() => null));
    });

    test('a group member sees the GROUP records but not another user\'s USER records; the owner sees both', async () => {
      const bob = await viewer(A, { subject: 'bob', groups: ['soc'] });
      const list = await svc.ok(RECORDS, { filter: { connectorIds: [conn.group, conn.user] } }, bob);
      expect(ids(list.records.nodes)).toEqual([...recs.group].sort());
      expect(list.records.nodes.every((n: any) => n.connector.id === conn.group)).toBe(true);
      expect((await svc.ok(CONNECTOR_RECORDS, { id: conn.user }, bob)).connector).toBeNull();
      const ent = await svc.ok(RECORD_ENTITIES, { reps: [recs.user[0], recs.group[0]].map((id) => ({ __typename: 'Record', id })) }, bob);
      expect(ent._entities[0]).toBeNull();
      expect(ent._entities[1]).toMatchObject({ id: recs.group[0], connector: { id: conn.group, name: 'A soc only' } });

      const alice = await viewer(A, { subject: 'alice', groups: ['soc'] });
      const own = await svc.ok(RECORDS, { filter: { connectorIds: [conn.group, conn.user] } }, alice);
      expect(ids(own.records.nodes)).toEqual([...recs.group, ...recs.user].sort());
      expect(ids((await svc.ok(CONNECTOR_RECORDS, { id: conn.user }, alice)).connector.records.nodes)).toEqual([...recs.user].sort());
    });

    test('Record.connector of a visible record is its (visible) connector; a connector list never lends its records to others', async () => {
      const carol = await viewer(A, { subject: 'carol', groups: ['finance'] });
      const res = await svc.ok(`{ connectors(first: 50) { nodes { id records(first: 50) { nodes { id connector { id } } } } } }`, {}, carol);
      const seen = res.connectors.nodes.flatMap((c: any) => c.records.nodes.map((r: any) => [c.id, r.connector.id, r.id]));
      expect(seen.every(([parent, own]: string[]) => parent === own)).toBe(true);
      expect(seen.map((s: string[]) => s[2]).sort()).toEqual([...recs.appX, ...recs.appY, ...recs.org].sort());
    });
  });
});
