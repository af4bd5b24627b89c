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

describe('webhookEndpointId names a webhook endpoint the caller may use', () => {
  const GET_HOOK = 'query($id: ID!) { connector(id: $id) { id version webhookEndpointId } }';
  let app = '';
  let otherApp = '';
  const hook = { mine: 'whk_01J0000000000000000000MINE', foreign: 'whk_01J00000000000000000FOREIGN', ofApp: 'whk_01J00000000000000000000APP', ofOtherApp: 'whk_01J0000000000000000000OTHER' };
  const unknown = 'whk_01J0000000000000000UNKNOWN';

  /** Every row a refused create or update could have written: connectors, their secrets, audit events. */
  async function state() {
    const [row] = await svc.dataSource.query(
      `SELECT (SELECT count(*) FROM connectors)::int AS connectors, (SELECT count(*) FROM connector_secrets)::int AS secrets, (SELECT count(*) FROM audit_events)::int AS audits,
              (SELECT json_agg(c ORDER BY c.id)::text FROM connectors c) AS rows`,
    );
    return row;
  }

  function expectRefused(res: Awaited<ReturnType<TestService['gql']>>) {
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toMatch(/^webhookEndpointId /);
    expect(res.body.errors![0]!.extensions!.fieldErrors).toEqual([{ path: 'webhookEndpointId', message: expect.any(String) }]);
  }

  beforeAll(async () => {
    const ad = await admin('t1');
    app = (await svc.ok('mutation { createApplication(name: "Hooked app") { id } }', {}, ad)).createApplication.id;
    otherApp = (await svc.ok('mutation { createApplication(name: "Other hooked app") { id } }', {}, ad)).createApplication.id;
    // Endpoints straight into their table: what matters here is only whose they are.
    const rows: Array<[string, string, string | null]> = [
      [hook.mine, 't1', null],
      [hook.foreign, 't2', null],
      [hook.ofApp, 't1', app],
      [hook.ofOtherApp, 't1', otherApp],
    ];
    for (const [id, tenant, application] of rows) {
      await svc.dataSource.query(
        `INSERT INTO webhook_endpoints (id, tenant_id, application_id, name, url, event_types, secret_version) VALUES ($1, $2, $3, $4, 'https://hooks.example.com/x', ARRAY['CONNECTOR_TOGGLED'], 1)`,
        [id, tenant, application, `endpoint ${id}`],
      );
    }
  });

  test("create: another tenant's endpoint or an unknown one is BAD_USER_INPUT naming the field, and nothing is written (credentials included)", async () => {
    const before = await state();
    for (const webhookEndpointId of [hook.foreign, unknown]) {
      expectRefused(await svc.gql(CREATE, { input: restInput('Hooked', { webhookEndpointId }) }, ed));
      expectRefused(await svc.gql(CREATE, { input: restInput('Hooked with secret', { webhookEndpointId, authType: 'API_KEY', credentials: { apiKey: 'upstream-key' } }) }, ed));
    }
    // Another tenant's endpoint and a missing one read the same: nothing tells them apart.
    const [foreign, missing] = await Promise.all([hook.foreign, unknown].map((id) => svc.gql(CREATE, { input: restInput('Hooked', { webhookEndpointId: id }) }, ed)));
    expect(foreign!.body.errors![0]!.message.replace(hook.foreign, 'ID')).toBe(missing!.body.errors![0]!.message.replace(unknown, 'ID'));
    expect(await state()).toEqual(before);
  });

  test('create with an endpoint of the tenant stores it; with null, none', async () => {
    const created = (await svc.ok(CREATE, { input: restInput('Hooked ok', { webhookEndpointId: hook.mine }) }, ed)).createConnector;
    expect((await svc.ok(GET_HOOK, { id: created.id }, ed)).connector.webhookEndpointId).toBe(hook.mine);
    const none = (await svc.ok(CREATE, { input: restInput('Not hooked', { webhookEndpointId: null }) }, ed)).createConnector;
    expect((await rowOf(none.id)).webhook_endpoint_id).toBeNull();
  });

  test('update: a foreign or unknown endpoint changes nothing; a valid one is stored; null clears it', async () => {
    const { id } = (await svc.ok(CREATE, { input: restInput('Hook updates') }, ed)).createConnector;
    const before = await state();
    const row = await rowOf(id);
    for (const webhookEndpointId of [hook.foreign, unknown]) {
      expectRefused(await svc.gql(UPDATE, { id, v: 1, input: { webhookEndpointId } }, ed));
      // Together with other changes: none of them is written either.
      expectRefused(await svc.gql(UPDATE, { id, v: 1, input: { name: 'Renamed', tags: ['x'], webhookEndpointId } }, ed));
    }
    expect(await rowOf(id)).toEqual(row);
    expect(await state()).toEqual(before);

    expect((await svc.ok(UPDATE, { id, v: 1, input: { webhookEndpointId: hook.mine } }, ed)).updateConnector.version).toBe(2);
    expect((await svc.ok(GET_HOOK, { id }, ed)).connector).toMatchObject({ version: 2, webhookEndpointId: hook.mine });
    // The same id again is no change: nothing written.
    expect((await svc.ok(UPDATE, { id, v: 2, input: { webhookEndpointId: hook.mine } }, ed)).updateConnector.version).toBe(2);
    expect((await svc.ok(UPDATE, { id, v: 2, input: { webhookEndpointId: null } }, ed)).updateConnector.version).toBe(3);
    expect((await svc.ok(GET_HOOK, { id }, ed)).connector).toMatchObject({ version: 3, webhookEndpointId: null });
    // Omitted: left as it is.
    await svc.ok(UPDATE, { id, v: 3, input: { webhookEndpointId: hook.mine } }, ed);
    await svc.ok(UPDATE, { id, v: 4, input: { name: 'Hook updates, renamed' } }, ed);
    expect((await svc.ok(GET_HOOK, { id }, ed)).connector).toMatchObject({ version: 5, webhookEndpointId: hook.mine });
    const events = await svc.dataSource.query(`SELECT changes FROM audit_events WHERE target_id = $1 AND event_type = 'CONNECTOR_UPDATED' ORDER BY id`, [id]);
    expect(events.map((e: any) => e.changes.webhookEndpointId ?? null)).toEqual([
      { before: null, after: hook.mine },
      { before: hook.mine, after: null },
      { before: null, after: hook.mine },
      null,
    ]);
  });

  test("an application token may name its application's endpoints and tenant-wide ones, not another application's", async () => {
    const appEditor = await editor('t1', { appId: app, subject: 'app-editor' });
    const before = await state();
    expectRefused(await svc.gql(CREATE, { input: restInput('App hooked', { webhookEndpointId: hook.ofOtherApp }) }, appEditor));
    expectRefused(await svc.gql(CREATE, { input: restInput('App hooked', { webhookEndpointId: hook.foreign }) }, appEditor));
    expect(await state()).toEqual(before);
    const own = (await svc.ok(CREATE, { input: restInput('App hooked', { webhookEndpointId: hook.ofApp }) }, appEditor)).createConnector;
    expect((await rowOf(own.id)).webhook_endpoint_id).toBe(hook.ofApp);
    const row = await rowOf(own.id);
    expectRefused(await svc.gql(UPDATE, { id: own.id, v: 1, input: { webhookEndpointId: hook.ofOtherApp } }, appEditor));
    expect(await rowOf(own.id)).toEqual(row);
    expect((await svc.ok(UPDATE, { id: own.id, v: 1, input: { webhookEndpointId: hook.mine } }, appEditor)).updateConnector.version).toBe(2);
    expect((await rowOf(own.id)).webhook_endpoint_id).toBe(hook.mine);
  });
});
