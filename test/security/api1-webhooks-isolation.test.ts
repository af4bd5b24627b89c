/**
 * OWASP API Security Top 10 (2023), API1 (Broken Object Level Authorization) and API7 (SSRF), for
 * webhook endpoints and their deliveries.
 *
 * Tenant A and tenant B each have an endpoint subscribed to every connector's toggles. Tenant B's
 * admin reaches nothing of A's through any query or mutation (NOT_FOUND, as for an id that does not
 * exist), B's endpoint never receives A's events (not even when A's connector names B's endpoint
 * in webhookEndpointId), and an application's endpoint receives only its application's events. A
 * URL the egress guard refuses is refused at creation (literal addresses) and at delivery (names).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { admin, editor, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { sleep, waitFor } from '../helpers/wait.js';

const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id applicationId } } }`;
const CREATE_CONNECTOR = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`;
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled) { enabled } }`;

class Receiver {
  readonly bodies: string[] = [];
  private server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      this.bodies.push(body);
      res.writeHead(200).end();
    });
  });
  url = '';
  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/in`;
    return this;
  }
  connectorIds(): string[] {
    return this.bodies.map((b) => JSON.parse(b).data.connector?.id).filter(Boolean);
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const connectorInput = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  provider: 'generic_rest',
  enabled: false,
  config: { baseUrl: 'http://127.0.0.1:9/', path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 3600 },
  ...extra,
});

describe('webhook endpoints across tenants and applications', () => {
  let svc: TestService;
  const receivers: Receiver[] = [];
  let aAdmin: string;
  let bAdmin: string;
  let aEndpoint = '';
  let aDelivery = '';
  let bEndpoint = '';
  let aReceiver: Receiver;
  let bReceiver: Receiver;

  beforeAll(async () => {
    svc = await startTestService('webhooks-bola', { RUN_WORKERS: 'true', JOB_POLL_MS: '500' });
    aAdmin = await admin('tenant-a');
    bAdmin = await admin('tenant-b');
    aReceiver = await new Receiver().start();
    bReceiver = await new Receiver().start();
    receivers.push(aReceiver, bReceiver);
    aEndpoint = (await svc.ok(CREATE_ENDPOINT, { input: { name: 'A', url: aReceiver.url, eventTypes: ['CONNECTOR_TOGGLED'] } }, aAdmin)).createWebhookEndpoint.endpoint.id;
    bEndpoint = (await svc.ok(CREATE_ENDPOINT, { input: { name: 'B', url: bReceiver.url, eventTypes: ['CONNECTOR_TOGGLED'] } }, bAdmin)).createWebhookEndpoint.endpoint.id;
    aDelivery = (await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id: aEndpoint }, aAdmin)).sendTestWebhook.id;
  });
  afterAll(async () => {
    await svc.close();
    for (const r of receivers) await r.close();
  });

  test("another tenant's admin reaches none of the endpoint's queries and mutations", async () => {
    const read = (await svc.ok(`query($id: ID!) { webhookEndpoint(id: $id) { id } webhookEndpoints { id } }`, { id: aEndpoint }, bAdmin));
    expect(read.webhookEndpoint).toBeNull();
    expect(read.webhookEndpoints.map((n: any) => n.id)).toEqual([bEndpoint]);
    const attempts: Array<[string, Record<string, unknown>]> = [
      [`query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { id } } }`, { id: aEndpoint }],
      [`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { name: "mine now" }) { id } }`, { id: aEndpoint }],
      [`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret signingSecret } }`, { id: aEndpoint }],
      [`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id: aEndpoint }],
      [`mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }`, { id: aDelivery }],
      [`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id: aEndpoint }],
    ];
    for (const [query, variables] of attempts) {
      const res = await svc.gql(query, variables, bAdmin);
      expect({ query, code: errorCode(res) }).toEqual({ query, code: 'NOT_FOUND' });
    }
    // Positive control: the owner still has it, unchanged, with one delivery.
    const own = (await svc.ok(`query($id: ID!) { webhookEndpoint(id: $id) { name secretVersion } webhookDeliveries(endpointId: $id) { nodes { id } } }`, { id: aEndpoint }, aAdmin));
    expect(own.webhookEndpoint).toEqual({ name: 'A', secretVersion: 1 });
    expect(own.webhookDeliveries.nodes).toHaveLength(1);
  });

  test("a tenant's events reach only its own endpoints, even when its connector names another tenant's endpoint", async () => {
    // The API refuses to name another tenant's endpoint, as an unknown one.
    const named = await svc.gql(CREATE_CONNECTOR, { input: connectorInput('A feed', { webhookEndpointId: bEndpoint }) }, aAdmin);
    expect(errorCode(named)).toBe('BAD_USER_INPUT');
    // A row that names it anyway (written before that check, or by hand) still sends B nothing.
    const a = (await svc.ok(CREATE_CONNECTOR, { input: connectorInput('A feed') }, aAdmin)).createConnector.id;
    await svc.dataSource.query(`UPDATE connectors SET webhook_endpoint_id = $2 WHERE id = $1`, [a, bEndpoint]);
    const b = (await svc.ok(CREATE_CONNECTOR, { input: connectorInput('B feed') }, bAdmin)).createConnector.id;
    await svc.ok(TOGGLE, { id: a, enabled: true }, aAdmin);
    await svc.ok(TOGGLE, { id: b, enabled: true }, bAdmin);
    await waitFor('both delivered', () => (aReceiver.connectorIds().includes(a) && bReceiver.connectorIds().includes(b) ? true : null));
    await sleep(800);
    expect(aReceiver.connectorIds()).toEqual([a]);
    expect(bReceiver.connectorIds()).toEqual([b]);
    // Naming a connector of another tenant when subscribing is NOT_FOUND, like a missing one.
    const res = await svc.gql(CREATE_ENDPOINT, { input: { name: 'peek', url: bReceiver.url, eventTypes: ['CONNECTOR_TOGGLED'], connectorIds: [a] } }, bAdmin);
    expect(errorCode(res)).toBe('NOT_FOUND');
  });

  test("an application's endpoint sees its application's connectors and endpoints only", async () => {
    const app = (await svc.ok(`mutation { createApplication(name: "Pager app") { id } }`, {}, aAdmin)).createApplication.id;
    const other = (await svc.ok(`mutation { createApplication(name: "Other app") { id } }`, {}, aAdmin)).createApplication.id;
    const appAdmin = await admin('tenant-a', { appId: app, subject: 'app-admin' });
    const r = await new Receiver().start();
    receivers.push(r);
    const created = (await svc.ok(CREATE_ENDPOINT, { input: { name: 'app', url: r.url, eventTypes: ['CONNECTOR_TOGGLED'] } }, appAdmin)).createWebhookEndpoint.endpoint;
    expect(created.applicationId).toBe(app);
    // The application's token sees its own endpoint, not the tenant-wide one.
    const listed = (await svc.ok(`{ webhookEndpoints { id } }`, {}, appAdmin)).webhookEndpoints.map((n: any) => n.id);
    expect(listed).toEqual([created.id]);
    expect(errorCode(await svc.gql(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id: aEndpoint }, appAdmin))).toBe('NOT_FOUND');
    const mine = (await svc.ok(CREATE_CONNECTOR, { input: connectorInput('app feed', { applicationId: app }) }, aAdmin)).createConnector.id;
    const theirs = (await svc.ok(CREATE_CONNECTOR, { input: connectorInput('other feed', { applicationId: other }) }, aAdmin)).createConnector.id;
    await svc.ok(TOGGLE, { id: theirs, enabled: true }, aAdmin);
    await svc.ok(TOGGLE, { id: mine, enabled: true }, aAdmin);
    await waitFor('app delivery', () => (r.connectorIds().includes(mine) ? true : null));
    await waitFor('tenant-wide delivery', () => (aReceiver.connectorIds().includes(theirs) ? true : null));
    await sleep(800);
    expect(r.connectorIds()).toEqual([mine]);
    expect(errorCode(await svc.gql(CREATE_ENDPOINT, { input: { name: 'x', url: r.url, eventTypes: ['CONNECTOR_TOGGLED'], connectorIds: [theirs] } }, appAdmin))).toBe('NOT_FOUND');
  });

  test("_entities resolves a WebhookEndpoint for its tenant's admins only: another tenant's, an editor's or a viewer's reference is null, with nothing of it", async () => {
    const ENTITIES = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on WebhookEndpoint { id name url eventTypes enabled } } }`;
    const reps = (...ids: string[]) => ({ reps: ids.map((id) => ({ __typename: 'WebhookEndpoint', id })) });
    // Positive control: the owner's admin resolves its endpoint (never a secret).
    const own = await svc.gql(ENTITIES, reps(aEndpoint), aAdmin);
    expect(own.body.errors).toBeUndefined();
    expect(own.body.data._entities).toEqual([{ id: aEndpoint, name: 'A', url: aReceiver.url, eventTypes: ['CONNECTOR_TOGGLED'], enabled: true }]);
    expect(JSON.stringify(own.body)).not.toMatch(/whsec_|secret/i);
    // Mixed: each admin gets its own and null for the other tenant's, in one statement.
    const missing = 'whk_01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const mixed = await svc.gql(ENTITIES, reps(aEndpoint, bEndpoint, missing), aAdmin);
    expect(mixed.body.errors).toBeUndefined();
    expect(mixed.body.data._entities.map((e: any) => e?.id ?? null)).toEqual([aEndpoint, null, null]);
    expect(mixed.statements).toBe(1);
    const fromB = await svc.gql(ENTITIES, reps(aEndpoint, bEndpoint), bAdmin);
    expect(fromB.body.errors).toBeUndefined();
    expect(fromB.body.data._entities.map((e: any) => e?.id ?? null)).toEqual([null, bEndpoint]);
    // Below admin in the same tenant: null, like an id that does not exist, and no error that says more.
    for (const who of [await editor('tenant-a'), await viewer('tenant-a')]) {
      const res = await svc.gql(ENTITIES, reps(aEndpoint), who);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data).toEqual({ _entities: [null] });
      expect(JSON.stringify(res.body)).not.toContain(aReceiver.url);
      expect(res.statements).toBe(0);
    }
    // Without a token: UNAUTHENTICATED, nothing resolved.
    const anonymous = await svc.gql(ENTITIES, reps(aEndpoint));
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(anonymous.body)).not.toContain(aReceiver.url);
  });

  test("_entities with an application token resolves its application's endpoints only", async () => {
    const ENTITIES = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on WebhookEndpoint { id applicationId } } }`;
    const app = (await svc.ok(`mutation { createApplication(name: "Entities app") { id } }`, {}, aAdmin)).createApplication.id;
    const appAdmin = await admin('tenant-a', { appId: app, subject: 'entities-app-admin' });
    const r = await new Receiver().start();
    receivers.push(r);
    const mine = (await svc.ok(CREATE_ENDPOINT, { input: { name: 'app entity', url: r.url, eventTypes: ['CONNECTOR_TOGGLED'] } }, appAdmin)).createWebhookEndpoint.endpoint.id;
    const res = await svc.gql(ENTITIES, { reps: [mine, aEndpoint, bEndpoint].map((id) => ({ __typename: 'WebhookEndpoint', id })) }, appAdmin);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data._entities).toEqual([{ id: mine, applicationId: app }, null, null]);
    // The tenant's admin sees the application's endpoint too, as in webhookEndpoint(id).
    expect((await svc.ok(ENTITIES, { reps: [{ __typename: 'WebhookEndpoint', id: mine }] }, aAdmin))._entities).toEqual([{ id: mine, applicationId: app }]);
  });

  test('editors cannot see or change endpoints', async () => {
    const ed = await editor('tenant-a');
    for (const query of [`{ webhookEndpoints { id } }`, `mutation { sendTestWebhook(endpointId: "${aEndpoint}") { id } }`]) {
      expect(errorCode(await svc.gql(query, {}, ed))).toBe('FORBIDDEN');
    }
  });
});

describe('webhook URLs and the egress guard', () => {
  let svc: TestService;
  let adm: string;
  let receiver: Receiver;
  beforeAll(async () => {
    // The real default: no private destination allowed.
    svc = await startTestService('webhooks-ssrf', { EGRESS_ALLOW: '' });
    adm = await admin('t1');
    receiver = await new Receiver().start();
  });
  afterAll(async () => {
    await svc.close();
    await receiver.close();
  });

  test('private and metadata addresses are refused at creation; a name resolving to loopback is refused at delivery', async () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data/', 'http://192.168.1.1/']) {
      const res = await svc.gql(CREATE_ENDPOINT, { input: { name: 'ssrf', url, eventTypes: ['CONNECTOR_TOGGLED'] } }, adm);
      expect({ url, code: errorCode(res) }).toEqual({ url, code: 'BAD_USER_INPUT' });
    }
    const port = new URL(receiver.url).port;
    const ep = (await svc.ok(CREATE_ENDPOINT, { input: { name: 'by name', url: `http://localhost:${port}/in`, eventTypes: ['CONNECTOR_TOGGLED'] } }, adm)).createWebhookEndpoint.endpoint;
    const sent = (await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status responseStatus error } }`, { id: ep.id }, adm)).sendTestWebhook;
    expect(sent.status).toBe('FAILED');
    expect(sent.responseStatus).toBeNull();
    expect(sent.error).toMatch(/Egress to localhost refused/);
    expect(receiver.bodies).toHaveLength(0);
  });
});
