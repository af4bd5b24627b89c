/**
 * OWASP API Security Top 10 (2023), API5: Broken Function Level Authorization.
 *
 * The role matrix, derived from the resolvers (`caller(ctx, role)` in src/modules/* /*.resolver.ts),
 * the services (application tokens may not create or delete applications nor mint or revoke keys)
 * and the README ("Roles": viewer reads; editor writes: create, update, toggle, test, sync; admin
 * also manages credentials, applications, API keys, intake tokens, webhook endpoints and purges; API keys: READ reads like a viewer,
 * WRITE writes like an editor). Each cell of the table is one test: a denied cell must answer
 * FORBIDDEN and change nothing; an allowed cell must succeed. Without a token, everything but
 * `_service` is UNAUTHENTICATED.
 */
import { listAdapters } from '../../src/adapters/registry.js';
import { admin, editor, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';

const TENANT = 'bfla-tenant';
const WHO = ['viewer', 'editor', 'admin', 'READ key', 'WRITE key'] as const;
type Who = (typeof WHO)[number];
const Y = true; // allowed
const N = false; // FORBIDDEN

let svc: TestService;
let up: RestUpstream;
let adm: string;
let appX: string;
const tokens = {} as Record<Who, string>;
let counter = 0;
const unique = (what: string) => `${what} ${++counter}`;

/** Everything the admin prepares lives in application X, so that X's API keys can see it. */
async function connector(extra: Record<string, unknown> = {}): Promise<string> {
  const input = { name: unique('target'), provider: 'generic_rest', applicationId: appX, config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600 }, ...extra };
  return (await svc.ok('mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }', { input }, adm)).createConnector.id;
}
/** A connector of any provider whose adapter spec says `mode: 'push'`. */
async function pushConnector(): Promise<string> {
  const provider = listAdapters().find((a) => a.spec.mode === 'push')?.spec.id;
  if (!provider) throw new Error('no provider with mode "push" is registered');
  return connector({ provider, config: {} });
}
async function intakeToken(): Promise<string> {
  const created = (await svc.ok('mutation($id: ID!, $name: String!) { createIntakeToken(connectorId: $id, name: $name) { intakeToken { id } } }', { id: await pushConnector(), name: unique('intake') }, adm)).createIntakeToken;
  return created.intakeToken.id;
}
async function deletedConnector(): Promise<string> {
  const id = await connector();
  await svc.ok('mutation($id: ID!) { deleteConnector(id: $id) { id } }', { id }, adm);
  return id;
}
async function application(): Promise<string> {
  return (await svc.ok('mutation($name: String!) { createApplication(name: $name) { id } }', { name: unique('app') }, adm)).createApplication.id;
}
async function apiKey(scope: 'READ' | 'WRITE' = 'READ', app = appX): Promise<{ id: string; token: string }> {
  const created = (await svc.ok('mutation($app: ID!, $name: String!, $scope: ApiKeyScope) { createApiKey(applicationId: $app, name: $name, scope: $scope) { token apiKey { id } } }', { app, name: unique('key'), scope }, adm)).createApiKey;
  return { id: created.apiKey.id, token: created.token };
}

async function snoozedConnector(): Promise<string> {
  const id = await connector();
  await svc.ok('mutation($id: ID!, $until: DateTime!) { snoozeConnectorAlerts(id: $id, until: $until, reason: "prepared") { id } }', { id, until: new Date(Date.now() + 3_600_000).toISOString() }, adm);
  return id;
}
async function webhookEndpoint(): Promise<string> {
  const input = { name: unique('hook'), url: `${up.url}/hooks`, eventTypes: ['CONNECTOR_TOGGLED'] };
  return (await svc.ok('mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }', { input }, adm)).createWebhookEndpoint.endpoint.id;
}
async function webhookDelivery(): Promise<string> {
  return (await svc.ok('mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }', { id: await webhookEndpoint() }, adm)).sendTestWebhook.id;
}

interface Operation {
  name: string;
  /** The root field of the answer (non-null when allowed). */
  field: string;
  document: string;
  /** Prepares a fresh target as admin and returns the variables. */
  prepare: () => Promise<Record<string, unknown>>;
  /** viewer, editor, admin, READ key, WRITE key. */
  allowed: [boolean, boolean, boolean, boolean, boolean];
}

// prettier-ignore
const MUTATIONS: Operation[] = [
  //                                                                                                                                                                                           viewer editor admin READ WRITE
  { name: 'createConnector', field: 'createConnector', document: 'mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }',
    prepare: async () => ({ input: { name: unique('created'), provider: 'generic_rest', config: { baseUrl: up.url, path: '/items' } } }),                                    allowed: [N, Y, Y, N, Y] },
  { name: 'updateConnector', field: 'updateConnector', document: 'mutation($id: ID!) { updateConnector(id: $id, expectedVersion: 1, input: { name: "renamed" }) { id } }',
    prepare: async () => ({ id: await connector() }),                                                                                                                        allowed: [N, Y, Y, N, Y] },
  { name: 'deleteConnector', field: 'deleteConnector', document: 'mutation($id: ID!) { deleteConnector(id: $id) { id } }',
    prepare: async () => ({ id: await connector() }),                                                                                                                        allowed: [N, Y, Y, N, Y] },
  { name: 'toggleConnector', field: 'toggleConnector', document: 'mutation($id: ID!) { toggleConnector(id: $id, enabled: true, reason: "matrix") { id } }',
    prepare: async () => ({ id: await connector() }),                                                                                                                        allowed: [N, Y, Y, N, Y] },
  { name: 'restoreConnector', field: 'restoreConnector', document: 'mutation($id: ID!) { restoreConnector(id: $id) { id } }',
    prepare: async () => ({ id: await deletedConnector() }),                                                                                                                 allowed: [N, Y, Y, N, Y] },
  { name: 'purgeConnector', field: 'purgeConnector', document: 'mutation($id: ID!) { purgeConnector(id: $id) }',
    prepare: async () => ({ id: await deletedConnector() }),                                                                                                                 allowed: [N, N, Y, N, N] },
  { name: 'rotateCredentials', field: 'rotateCredentials', document: 'mutation($id: ID!) { rotateCredentials(id: $id, credentials: { apiKey: "rotated-key-123" }, skipTest: true) { rotated } }',
    prepare: async () => ({ id: await connector({ authType: 'API_KEY', credentials: { apiKey: 'first-key-123' } }) }),                                                        allowed: [N, N, Y, N, N] },
  { name: 'testConnector', field: 'testConnector', document: 'mutation($id: ID!) { testConnector(id: $id) { success } }',
    prepare: async () => ({ id: await connector() }),                                                                                                                        allowed: [N, Y, Y, N, Y] },
  { name: 'testConnectorConfig', field: 'testConnectorConfig', document: 'mutation($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { success } }',
    prepare: async () => ({ input: { provider: 'generic_rest', config: { baseUrl: up.url, path: '/items' } } }),                                                             allowed: [N, Y, Y, N, Y] },
  { name: 'checkConnectorHealth', field: 'checkConnectorHealth', document: 'mutation($id: ID!) { checkConnectorHealth(id: $id) { id } }',
    prepare: async () => ({ id: await connector({ enabled: true }) }),                                                                                                       allowed: [N, Y, Y, N, Y] },
  { name: 'syncConnector', field: 'syncConnector', document: 'mutation($id: ID!) { syncConnector(id: $id) { id } }',
    prepare: async () => ({ id: await connector({ enabled: true }) }),                                                                                                       allowed: [N, Y, Y, N, Y] },
  { name: 'createApplication', field: 'createApplication', document: 'mutation($name: String!) { createApplication(name: $name) { id } }',
    prepare: async () => ({ name: unique('new app') }),                                                                                                                      allowed: [N, N, Y, N, N] },
  { name: 'updateApplication', field: 'updateApplication', document: 'mutation($id: ID!) { updateApplication(id: $id, expectedVersion: 1, name: "renamed app") { id } }',
    prepare: async () => ({ id: await application() }),                                                                                                                     allowed: [N, N, Y, N, N] },
  { name: 'deleteApplication', field: 'deleteApplication', document: 'mutation($id: ID!) { deleteApplication(id: $id) { id } }',
    prepare: async () => ({ id: await application() }),                                                                                                                     allowed: [N, N, Y, N, N] },
  { name: 'createApiKey', field: 'createApiKey', document: 'mutation($app: ID!, $name: String!) { createApiKey(applicationId: $app, name: $name, scope: WRITE) { token } }',
    prepare: async () => ({ app: appX, name: unique('minted') }),                                                                                                           allowed: [N, N, Y, N, N] },
  { name: 'revokeApiKey', field: 'revokeApiKey', document: 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
    prepare: async () => ({ id: (await apiKey()).id }),                                                                                                                     allowed: [N, N, Y, N, N] },
  { name: 'createIntakeToken', field: 'createIntakeToken', document: 'mutation($id: ID!, $name: String!) { createIntakeToken(connectorId: $id, name: $name) { token } }',
    prepare: async () => ({ id: await pushConnector(), name: unique('intake') }),                                                                                           allowed: [N, N, Y, N, N] },
  { name: 'revokeIntakeToken', field: 'revokeIntakeToken', document: 'mutation($id: ID!) { revokeIntakeToken(id: $id) { id } }',
    prepare: async () => ({ id: await intakeToken() }),                                                                                                                     allowed: [N, N, Y, N, N] },
  { name: 'toggleConnectors', field: 'toggleConnectors', document: 'mutation($ids: [ID!]) { toggleConnectors(input: { ids: $ids, enabled: true, reason: "matrix" }) { bulkId } }',
    prepare: async () => ({ ids: [await connector(), await connector()] }),                                                                                                  allowed: [N, Y, Y, N, Y] },
  { name: 'snoozeConnectorAlerts', field: 'snoozeConnectorAlerts', document: 'mutation($id: ID!, $until: DateTime!) { snoozeConnectorAlerts(id: $id, until: $until, reason: "matrix") { id } }',
    prepare: async () => ({ id: await connector(), until: new Date(Date.now() + 3_600_000).toISOString() }),                                                                 allowed: [N, Y, Y, N, Y] },
  { name: 'unsnoozeConnectorAlerts', field: 'unsnoozeConnectorAlerts', document: 'mutation($id: ID!) { unsnoozeConnectorAlerts(id: $id, reason: "matrix") { id } }',
    prepare: async () => ({ id: await snoozedConnector() }),                                                                                                                 allowed: [N, Y, Y, N, Y] },
  { name: 'resetConnectorCursor', field: 'resetConnectorCursor', document: 'mutation($id: ID!) { resetConnectorCursor(id: $id, reason: "matrix") { id } }',
    prepare: async () => ({ id: await connector() }),                                                                                                                        allowed: [N, Y, Y, N, Y] },
  { name: 'createWebhookEndpoint', field: 'createWebhookEndpoint', document: 'mutation($url: String!) { createWebhookEndpoint(input: { name: "matrix", url: $url, eventTypes: [CONNECTOR_TOGGLED] }) { secret signingSecret } }',
    prepare: async () => ({ url: `${up.url}/hooks` }),                                                                                                                       allowed: [N, N, Y, N, N] },
  { name: 'updateWebhookEndpoint', field: 'updateWebhookEndpoint', document: 'mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { name: "renamed" }) { id } }',
    prepare: async () => ({ id: await webhookEndpoint() }),                                                                                                                  allowed: [N, N, Y, N, N] },
  { name: 'deleteWebhookEndpoint', field: 'deleteWebhookEndpoint', document: 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }',
    prepare: async () => ({ id: await webhookEndpoint() }),                                                                                                                  allowed: [N, N, Y, N, N] },
  { name: 'rotateWebhookSecret', field: 'rotateWebhookSecret', document: 'mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret signingSecret } }',
    prepare: async () => ({ id: await webhookEndpoint() }),                                                                                                                  allowed: [N, N, Y, N, N] },
  { name: 'sendTestWebhook', field: 'sendTestWebhook', document: 'mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }',
    prepare: async () => ({ id: await webhookEndpoint() }),                                                                                                                  allowed: [N, N, Y, N, N] },
  { name: 'redeliverWebhook', field: 'redeliverWebhook', document: 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }',
    prepare: async () => ({ id: await webhookDelivery() }),                                                                                                                  allowed: [N, N, Y, N, N] },
];

// prettier-ignore
const READS: Operation[] = [
  { name: 'webhookEndpoints', field: 'webhookEndpoints', document: '{ webhookEndpoints { id } }', prepare: async () => ({}),                                               allowed: [N, N, Y, N, N] },
  { name: 'webhookDeliveries', field: 'webhookDeliveries', document: 'query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { id } } }',
    prepare: async () => ({ id: await webhookEndpoint() }),                                                                                                                  allowed: [N, N, Y, N, N] },
  { name: 'Application.apiKeys (admin-only field)', field: 'application', document: 'query($id: ID!) { application(id: $id) { id apiKeys { id } } }',
    prepare: async () => ({ id: appX }),                                                                                                                                     allowed: [N, N, Y, N, N] },
  { name: 'connector', field: 'connector', document: 'query($id: ID!) { connector(id: $id) { id lastTest { success } ingestionRuns { id } healthHistory { at } } }',
    prepare: async () => ({ id: await connector() }),                                                                                                                        allowed: [Y, Y, Y, Y, Y] },
  { name: 'Connector.intakeTokens', field: 'connector', document: 'query($id: ID!) { connector(id: $id) { id intakeTokens { id prefix } } }',
    prepare: async () => ({ id: await pushConnector() }),                                                                                                                    allowed: [Y, Y, Y, Y, Y] },
  { name: 'connectors', field: 'connectors', document: '{ connectors { totalCount } }', prepare: async () => ({}),                                                          allowed: [Y, Y, Y, Y, Y] },
  { name: 'application', field: 'application', document: 'query($id: ID!) { application(id: $id) { id connectors { totalCount } } }', prepare: async () => ({ id: appX }),  allowed: [Y, Y, Y, Y, Y] },
  { name: 'applications', field: 'applications', document: '{ applications { totalCount } }', prepare: async () => ({}),                                                    allowed: [Y, Y, Y, Y, Y] },
  { name: 'auditEvents', field: 'auditEvents', document: '{ auditEvents { nodes { id } } }', prepare: async () => ({}),                                                     allowed: [Y, Y, Y, Y, Y] },
  { name: 'auditEvent', field: 'auditEvents', document: 'query($id: ID!) { auditEvent(id: $id) { id } auditEvents(first: 1) { nodes { id } } }',
    prepare: async () => ({ id: 'aud_01ARZ3NDEKTSV4RRFFQ69G5FAV' }),                                                                                                         allowed: [Y, Y, Y, Y, Y] },
  { name: 'connectorProviders', field: 'connectorProviders', document: '{ connectorProviders { id } }', prepare: async () => ({}),                                          allowed: [Y, Y, Y, Y, Y] },
  { name: 'me', field: 'me', document: '{ me { tenantId roles canWrite canAdmin } }', prepare: async () => ({}),                                                      allowed: [Y, Y, Y, Y, Y] },
  { name: 'connectorHealthSummary', field: 'connectorHealthSummary', document: '{ connectorHealthSummary { total checksOverdue oldestCheckWaitSec } }', prepare: async () => ({}),  allowed: [Y, Y, Y, Y, Y] },
  { name: 'previewNormalization', field: 'previewNormalization', document: '{ previewNormalization(format: CEF, lines: ["CEF:0|V|P|1|100|n|5|src=10.0.0.1"]) { ok } }',
    prepare: async () => ({}),                                                                                                                                               allowed: [Y, Y, Y, Y, Y] },
  { name: '_entities', field: '_entities', document: 'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Connector { id } } }',
    prepare: async () => ({ reps: [{ __typename: 'Connector', id: await connector() }] }),                                                                                    allowed: [Y, Y, Y, Y, Y] },
];

/** Every row the tenant owns in the tables an operation writes, and the upstream's request count. */
async function state(): Promise<unknown> {
  const rows = await svc.dataSource.query(
    `SELECT (SELECT json_agg(c ORDER BY c.id)::text FROM connectors c WHERE tenant_id = $1) AS connectors,
            (SELECT json_agg(a ORDER BY a.id)::text FROM applications a WHERE tenant_id = $1) AS applications,
            -- last_used_at is written by authentication itself (at most once a minute), not by the operation.
            (SELECT json_agg(k ORDER BY k.id)::text FROM (SELECT id, application_id, name, scope, token_sha256, expires_at, revoked_at, revoked_by FROM api_keys WHERE tenant_id = $1) k) AS keys,
            (SELECT json_agg(s ORDER BY s.connector_id, s.version)::text FROM connector_secrets s WHERE tenant_id = $1) AS secrets,
            (SELECT json_agg(t ORDER BY t.id)::text FROM intake_tokens t WHERE tenant_id = $1) AS intake_tokens,
            (SELECT json_agg(w ORDER BY w.id)::text FROM webhook_endpoints w WHERE tenant_id = $1) AS webhook_endpoints,
            (SELECT json_agg(d ORDER BY d.id)::text FROM webhook_deliveries d WHERE tenant_id = $1) AS webhook_deliveries,
            (SELECT json_agg(j ORDER BY j.id)::text FROM pgboss.job j WHERE j.name = 'connector-sync') AS sync_jobs,
            (SELECT count(*)::int FROM audit_events WHERE tenant_id = $1) AS audit,
            (SELECT count(*)::int FROM ingestion_runs) AS runs`,
    [TENANT],
  );
  return { ...rows[0], upstreamRequests: up.requests.length };
}

const cells = (ops: Operation[]) => ops.flatMap((op) => WHO.map((who, i) => [op.name, who, op.allowed[i] ? 'allowed' : 'FORBIDDEN', op] as const));

beforeAll(async () => {
  up = await startRestUpstream({ records: makeRecords(3) });
  svc = await startTestService('security_api5');
  adm = await admin(TENANT);
  appX = (await svc.ok('mutation { createApplication(name: "X") { id } }', {}, adm)).createApplication.id;
  tokens.viewer = await viewer(TENANT);
  tokens.editor = await editor(TENANT);
  tokens.admin = adm;
  tokens['READ key'] = (await apiKey('READ')).token;
  tokens['WRITE key'] = (await apiKey('WRITE')).token;
});

afterAll(async () => {
  await svc?.close();
  await up?.close();
});

describe('API5:2023 Broken Function Level Authorization', () => {
  test('the matrix covers every mutation of the schema', async () => {
    const sdl: string = (await svc.ok('{ _service { sdl } }'))._service.sdl;
    const body = /type Mutation \{([\s\S]*?)\n\}/.exec(sdl)![1]!;
    const names = [...body.matchAll(/^\s{2}(\w+)\(/gm)].map((m) => m[1]).sort();
    expect(names).toEqual(MUTATIONS.map((m) => m.name).sort());
  });

  describe('mutations', () => {
    test.each(cells(MUTATIONS))('%s as %s → %s', async (_name, who, expected, op) => {
      const variables = await op.prepare();
      const before = await state();
      const res = await svc.gql(op.document, variables, tokens[who]);
      if (expected === 'FORBIDDEN') {
        expect(errorCode(res)).toBe('FORBIDDEN');
        expect(res.body.data ?? null).toBeNull();
        expect(await state()).toEqual(before);
      } else {
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data[op.field]).not.toBeNull();
        expect(res.body.data[op.field]).toBeDefined();
      }
    });
  });

  describe('queries and admin-only fields', () => {
    test.each(cells(READS))('%s as %s → %s', async (_name, who, expected, op) => {
      const variables = await op.prepare();
      const res = await svc.gql(op.document, variables, tokens[who]);
      if (expected === 'FORBIDDEN') {
        expect(errorCode(res)).toBe('FORBIDDEN');
        expect(JSON.stringify(res.body.data ?? null)).not.toMatch(/key_[0-9A-Z]{26}/);
      } else {
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data[op.field]).toBeDefined();
        expect(res.body.data[op.field]).not.toBeNull();
      }
    });

    // vaultPath is not refused but blanked: admins only (Connector.vaultPath resolver).
    // prettier-ignore
    const VAULT_PATH: Array<[Who, boolean]> = [['viewer', N], ['editor', N], ['admin', Y], ['READ key', N], ['WRITE key', N]];
    test.each(VAULT_PATH)('Connector.vaultPath as %s → shown: %s', async (who, shown) => {
      const id = await connector({ authType: 'API_KEY', credentials: { apiKey: 'vault-path-key-1' } });
      const res = await svc.gql('query($id: ID!) { connector(id: $id) { id vaultPath } }', { id }, tokens[who]);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.connector.id).toBe(id);
      if (shown) expect(res.body.data.connector.vaultPath).toEqual(expect.stringContaining(id));
      else expect(res.body.data.connector.vaultPath).toBeNull();
    });

    // Application and API-key audit events concern no connector: only admins (not application tokens) read them.
    // prettier-ignore
    const ADMIN_EVENTS: Array<[Who, boolean]> = [['viewer', N], ['editor', N], ['admin', Y], ['READ key', N], ['WRITE key', N]];
    test.each(ADMIN_EVENTS)('audit events of applications and API keys as %s → visible: %s', async (who, visible) => {
      const app = await application();
      const key = await apiKey('READ', app);
      const query = 'query($ids: [AuditEventType!]) { auditEvents(first: 100, filter: { eventType: $ids }) { nodes { targetId } } }';
      const res = await svc.gql(query, { ids: ['APPLICATION_CREATED', 'API_KEY_CREATED'] }, tokens[who]);
      expect(res.body.errors).toBeUndefined();
      const targets = res.body.data.auditEvents.nodes.map((n: any) => n.targetId);
      if (visible) expect(targets).toEqual(expect.arrayContaining([app, key.id]));
      else expect(targets).toEqual([]);
    });
  });

  describe('anonymous (no token)', () => {
    test.each([...MUTATIONS, ...READS].map((op) => [op.name, op] as const))('%s → UNAUTHENTICATED, nothing changed', async (_name, op) => {
      const variables = await op.prepare();
      const before = await state();
      const res = await svc.gql(op.document, variables);
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
      // null, or for _entities a list of nulls: nothing resolved.
      const value = res.body.data?.[op.field] ?? null;
      expect(Array.isArray(value) ? value.filter((v) => v !== null) : value).toEqual(Array.isArray(value) ? [] : null);
      expect(JSON.stringify(res.body)).not.toMatch(/(cnn|app|aud|key|itk)_[0-9A-Z]{26}/);
      expect(await state()).toEqual(before);
    });

    test('_service { sdl } answers without a token', async () => {
      const res = await svc.gql('{ _service { sdl } }');
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data._service.sdl).toContain('type Connector');
    });
  });
});
