import pg from 'pg';
import { editor, viewer, admin } from '../helpers/tokens.js';
import { startTestService, errorCode, type TestService } from '../helpers/server.js';
import { CREATE, DELETE, GET, LIST, RESTORE, UPDATE, restInput } from '../helpers/fixtures.js';

let svc: TestService;
let ed: string;

beforeAll(async () => {
  svc = await startTestService('connectors');
  ed = await editor('t1');
});
afterAll(() => svc?.close());

async function rowOf(id: string) {
  const [row] = await svc.dataSource.query('SELECT * FROM connectors WHERE id = $1', [id]);
  return row;
}

describe('connector lifecycle', () => {
  test('create → get → list → update → soft delete → hidden → restore, version increments each time', async () => {
    const created = (await svc.ok(CREATE, { input: restInput('Splunk prod', { tags: ['siem', 'prod'] }) }, ed)).createConnector;
    expect(created.id).toMatch(/^cnn_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(created).toMatchObject({
      tenantId: 't1',
      name: 'Splunk prod',
      type: 'CUSTOM_API',
      provider: 'generic_rest',
      scope: 'ORG',
      enabled: false,
      syncStatus: 'PAUSED',
      runState: 'STOPPED',
      version: 1,
      schemaVersion: 1,
      source: 'edm',
      sourceType: 'FRONTEND',
      createdBy: 'editor-t1',
      isDeleted: false,
      tags: ['siem', 'prod'],
      credentialFields: [],
      metrics: { totalSynced: 0, last24h: 0, avgLatencyMs: null },
    });
    expect(created.config.baseUrl).toBe('https://api.example.com/v1');

    const got = (await svc.ok(GET, { id: created.id }, ed)).connector;
    expect(got).toEqual(created);

    let list = (await svc.ok(LIST, {}, ed)).connectors;
    expect(list.nodes.map((n: any) => n.id)).toContain(created.id);

    const updated = (await svc.ok(UPDATE, { id: created.id, v: 1, input: { name: 'Splunk production', tags: ['siem'] } }, ed)).updateConnector;
    expect(updated).toMatchObject({ name: 'Splunk production', tags: ['siem'], version: 2, updatedBy: 'editor-t1' });
    expect(new Date(updated.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.updatedAt).getTime());

    const deleted = (await svc.ok(DELETE, { id: created.id, v: 2 }, ed)).deleteConnector;
    expect(deleted).toMatchObject({ isDeleted: true, deletedBy: 'editor-t1', version: 3 });
    expect(deleted.deletedAt).toBeTruthy();

    list = (await svc.ok(LIST, {}, ed)).connectors;
    expect(list.nodes.map((n: any) => n.id)).not.toContain(created.id);
    const withDeleted = (await svc.ok(LIST, { filter: { includeDeleted: true } }, ed)).connectors;
    expect(withDeleted.nodes.find((n: any) => n.id === created.id)).toMatchObject({ isDeleted: true });

    const restored = (await svc.ok(RESTORE, { id: created.id }, ed)).restoreConnector;
    expect(restored).toMatchObject({ isDeleted: false, deletedAt: null, deletedBy: null, version: 4, name: 'Splunk production' });
    expect((await svc.ok(LIST, {}, ed)).connectors.nodes.map((n: any) => n.id)).toContain(created.id);
    expect((await rowOf(created.id)).version).toBe(4);
  });

  test('deleting an enabled connector disables it; restore leaves it disabled', async () => {
    const c = (await svc.ok(CREATE, { input: restInput('Enabled one', { enabled: true }) }, ed)).createConnector;
    expect(c).toMatchObject({ enabled: true, syncStatus: 'PENDING' });
    const d = (await svc.ok(DELETE, { id: c.id }, ed)).deleteConnector;
    expect(d).toMatchObject({ enabled: false, isDeleted: true, syncStatus: 'PAUSED' });
    const r = (await svc.ok(RESTORE, { id: c.id }, ed)).restoreConnector;
    expect(r).toMatchObject({ enabled: false, isDeleted: false });
  });

  test('an update that changes nothing writes nothing', async () => {
    const c = (await svc.ok(CREATE, { input: restInput('Same') }, ed)).createConnector;
    const u = (await svc.ok(UPDATE, { id: c.id, v: 1, input: { name: 'Same' } }, ed)).updateConnector;
    expect(u.version).toBe(1);
    expect((await rowOf(c.id)).version).toBe(1);
  });

  test('stale expectedVersion → VERSION_CONFLICT and the row is unchanged', async () => {
    const c = (await svc.ok(CREATE, { input: restInput('Versioned') }, ed)).createConnector;
    await svc.ok(UPDATE, { id: c.id, v: 1, input: { name: 'Versioned 2' } }, ed);
    const before = await rowOf(c.id);
    const stale = await svc.gql(UPDATE, { id: c.id, v: 1, input: { name: 'Lost update' } }, ed);
    expect(errorCode(stale)).toBe('VERSION_CONFLICT');
    expect(stale.body.errors![0]!.extensions!.currentVersion).toBe(2);
    expect(await rowOf(c.id)).toEqual(before);
    const staleDelete = await svc.gql(DELETE, { id: c.id, v: 1 }, ed);
    expect(errorCode(staleDelete)).toBe('VERSION_CONFLICT');
    expect(await rowOf(c.id)).toEqual(before);
  });

  test('config is validated on update against the provider schema, and defaults are applied', async () => {
    const c = (await svc.ok(CREATE, { input: restInput('Cfg') }, ed)).createConnector;
    const bad = await svc.gql(UPDATE, { id: c.id, v: 1, input: { config: { baseUrl: 'not a url' } } }, ed);
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.body.errors![0]!.message).toMatch(/config\.baseUrl/);
    expect((await rowOf(c.id)).version).toBe(1);
  });

  test('viewers read but cannot write', async () => {
    const c = (await svc.ok(CREATE, { input: restInput('Viewer target') }, ed)).createConnector;
    const v = await viewer('t1');
    expect((await svc.ok(GET, { id: c.id }, v)).connector.id).toBe(c.id);
    for (const [doc, vars] of [
      [CREATE, { input: restInput('nope') }],
      [UPDATE, { id: c.id, v: 1, input: { name: 'x' } }],
      [DELETE, { id: c.id }],
      [RESTORE, { id: c.id }],
    ] as const) {
      const res = await svc.gql(doc, vars, v);
      expect(errorCode(res)).toBe('FORBIDDEN');
    }
    expect((await rowOf(c.id)).version).toBe(1);
  });
});

describe('pagination and filters', () => {
  let tenantToken: string;
  const ids: string[] = [];

  beforeAll(async () => {
    tenantToken = await admin('paging');
    for (let i = 0; i < 120; i++) {
      const input = restInput(`Source ${String(i).padStart(3, '0')}`, {
        tags: i % 3 === 0 ? ['threat'] : ['logs'],
        enabled: i % 4 === 0,
      });
      ids.push((await svc.ok(CREATE, { input }, tenantToken)).createConnector.id);
    }
  });

  test('120 connectors in pages of 50 are seen once each, newest first', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    const pages: number[] = [];
    for (;;) {
      const page: any = (await svc.ok(LIST, { first: 50, after }, tenantToken)).connectors;
      expect(page.totalCount).toBe(120);
      expect(page.edges.map((e: any) => e.node.id)).toEqual(page.nodes.map((n: any) => n.id));
      pages.push(page.nodes.length);
      seen.push(...page.nodes.map((n: any) => n.id));
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toEqual([50, 50, 20]);
    expect(seen).toEqual([...ids].reverse());
  });

  test('filters: type, provider, enabled, tag, search, syncStatus', async () => {
    const count = async (filter: object) => (await svc.ok(LIST, { filter, first: 200 }, tenantToken)).connectors.totalCount;
    expect(await count({ type: 'CUSTOM_API' })).toBe(120);
    expect(await count({ type: 'SIEM' })).toBe(0);
    expect(await count({ provider: 'generic_rest' })).toBe(120);
    expect(await count({ provider: 'nope' })).toBe(0);
    expect(await count({ enabled: true })).toBe(30);
    expect(await count({ enabled: false })).toBe(90);
    expect(await count({ tag: 'threat' })).toBe(40);
    expect(await count({ search: 'source 01' })).toBe(10);
    expect(await count({ search: '%' })).toBe(0);
    expect(await count({ syncStatus: ['PENDING'] })).toBe(30);
    expect(await count({ tag: 'threat', enabled: true })).toBe(10);
    const page = (await svc.ok(LIST, { filter: { search: 'SOURCE 119' } }, tenantToken)).connectors;
    expect(page.nodes.map((n: any) => n.name)).toEqual(['Source 119']);
  });

  test('a forged cursor or an out-of-range first is BAD_USER_INPUT', async () => {
    expect(errorCode(await svc.gql(LIST, { after: 'not-a-cursor' }, tenantToken))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(LIST, { first: 1000 }, tenantToken))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(LIST, { first: -1 }, tenantToken))).toBe('BAD_USER_INPUT');
  });
});

describe('bad input is BAD_USER_INPUT and writes nothing', () => {
  async function counts() {
    const client = new pg.Client({ connectionString: svc.databaseUrl });
    await client.connect();
    const { rows } = await client.query('SELECT (SELECT count(*) FROM connectors)::int AS c, (SELECT count(*) FROM audit_events)::int AS a');
    await client.end();
    return rows[0];
  }

  test.each([
    ['empty name', restInput('   '), /name must not be empty/],
    ['10,000-character name', restInput('x'.repeat(10000)), /name is 10000 characters long/],
    ['unknown provider', { name: 'x', provider: 'does_not_exist', config: {} }, /unknown provider "does_not_exist"/],
    ['config failing the schema (missing baseUrl)', { name: 'x', provider: 'generic_rest', config: {} }, /config\.baseUrl is required/],
    ['config failing the schema (unknown key)', { name: 'x', provider: 'generic_rest', config: { baseUrl: 'https://a.example', bogus: 1 } }, /config\.bogus is not a setting of generic_rest/],
    ['config failing the schema (wrong type)', { name: 'x', provider: 'generic_rest', config: { baseUrl: 'https://a.example', maxPages: 'ten' } }, /config\.maxPages/],
    ['GROUP scope without a group', restInput('x', { scope: 'GROUP' }), /scope GROUP needs a groupId/],
    ['unknown event type', restInput('x', { eventTypes: ['nope'] }), /eventTypes "nope"/],
    ['bad tag', restInput('x', { tags: ['has space'] }), /tag "has space"/],
  ])('%s', async (_label, input, message) => {
    const before = await counts();
    const res = await svc.gql(CREATE, { input }, ed);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toMatch(message);
    expect(await counts()).toEqual(before);
  });

  test('unknown enum value (variable and literal)', async () => {
    const before = await counts();
    const viaVariable = await svc.gql(CREATE, { input: restInput('x', { scope: 'PLANET' }) }, ed);
    expect(errorCode(viaVariable)).toBe('BAD_USER_INPUT');
    const literal = await svc.gql('mutation { createConnector(input: { name: "x", provider: "generic_rest", scope: PLANET }) { id } }', {}, ed);
    expect(errorCode(literal)).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(before);
  });

  test('unknown ids are NOT_FOUND', async () => {
    const res = await svc.gql(UPDATE, { id: 'cnn_01ARZ3NDEKTSV4RRFFQ69G5FAV', v: 1, input: { name: 'x' } }, ed);
    expect(errorCode(res)).toBe('NOT_FOUND');
  });
});
