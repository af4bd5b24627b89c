/**
 * Notifications end to end: endpoints created through the API, events emitted by real changes
 * (toggles, health checks against a loopback upstream, policies, tests, runs, rotations), delivered
 * by the service's workers to a loopback receiver, and every delivery's signature verified with
 * `standardwebhooks`, the Standard Webhooks specification's own library.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { admin, editor, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { sleep, waitFor } from '../helpers/wait.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A receiver as a customer would run one: records every request, answers with the queued statuses, then 200. */
class Receiver {
  readonly requests: Received[] = [];
  statuses: number[] = [];
  private server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const status = this.statuses.length ? this.statuses.shift()! : 200;
      this.requests.push({ headers: req.headers, body, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
    });
  });
  url = '';
  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }
  /** Requests answered 200, as verified events. */
  delivered(secret: string): Array<{ id: string; type: string; data: any }> {
    const wh = new Webhook(secret);
    return this.requests.filter((r) => r.status === 200).map((r) => ({ ...(wh.verify(r.body, r.headers as Record<string, string>) as any), id: r.headers['webhook-id'] as string }));
  }
  /** Deliveries run in parallel and are not ordered (as the specification allows): in event order by id (ULID). */
  ofType(secret: string, type: string) {
    return this.delivered(secret)
      .filter((e) => e.type === type)
      .sort((x, y) => (x.id < y.id ? -1 : 1));
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret endpoint { id name url eventTypes connectorIds enabled secretVersion version } } }`;
const DELIVERIES = `query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) { nodes { id eventId eventType connectorId status attempts responseStatus latencyMs error deliveredAt nextAttemptAt } } }`;
const CREATE_CONNECTOR = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`;
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!, $reason: String) { toggleConnector(id: $id, enabled: $enabled, reason: $reason) { enabled } }`;
const CHECK = `mutation($id: ID!) { checkConnectorHealth(id: $id) { syncStatus } }`;
const WORKERS = { RUN_WORKERS: 'true', JOB_POLL_MS: '500', WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2,0.2' };
const ALL_TYPES = ['CONNECTOR_HEALTH_CHANGED', 'CONNECTOR_AUTO_DISABLED', 'CONNECTOR_TOGGLED', 'CONNECTOR_TEST_FAILED', 'INGESTION_RUN_FAILED', 'CREDENTIALS_ROTATION_DUE', 'CREDENTIALS_ROTATED', 'OAUTH_TOKEN_REFRESH_FAILED'];

const closing: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  for (const c of closing.reverse()) await c.close();
});

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  closing.push(r);
  return r;
}
async function upstream(): Promise<RestUpstream> {
  const up = await startRestUpstream({ records: makeRecords(3) });
  closing.push(up);
  return up;
}
const restInput = (name: string, up: RestUpstream, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name,
  provider: 'generic_rest',
  enabled: false,
  config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600, healthCheckIntervalSec: 3600, ...config },
  ...extra,
});

describe('webhook endpoints and deliveries', () => {
  let svc: TestService;
  let adm: string;
  let ed: string;
  beforeAll(async () => {
    svc = await startTestService('webhooks', WORKERS);
    closing.push(svc);
    adm = await admin('t1');
    ed = await editor('t1');
  });

  async function endpoint(url: string, eventTypes = ALL_TYPES, extra: Record<string, unknown> = {}) {
    return (await svc.ok(CREATE_ENDPOINT, { input: { name: 'SOC pager', url, eventTypes, ...extra } }, adm)).createWebhookEndpoint;
  }
  async function deliveries(endpointId: string) {
    return (await svc.ok(DELIVERIES, { id: endpointId }, adm)).webhookDeliveries.nodes;
  }

  test('the signing secret is shown once, kept in the secret store, and never in a query, the audit trail or the logs', async () => {
    const r = await receiver();
    const created = await endpoint(r.url);
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.endpoint).toMatchObject({ enabled: true, secretVersion: 1, version: 1, connectorIds: null });
    const secret = created.signingSecret as string;
    const raw = secret.slice('whsec_'.length);
    const read = await svc.ok(`query($id: ID!) { webhookEndpoint(id: $id) { id url } webhookEndpoints { nodes { id } } auditEvents(filter: { targetId: $id }) { nodes { eventType changes } } }`, { id: created.endpoint.id }, adm);
    expect(JSON.stringify(read)).not.toContain(raw);
    expect(read.auditEvents.nodes.map((e: any) => e.eventType)).toEqual(['WEBHOOK_ENDPOINT_CREATED']);
    const [stored] = await svc.dataSource.query(`SELECT count(*)::int AS n, bool_and(position($2 in encode(ciphertext, 'escape')) = 0) AS sealed FROM connector_secrets WHERE connector_id = $1`, [created.endpoint.id, raw]);
    expect(stored).toEqual({ n: 1, sealed: true });
    const rows = await svc.dataSource.query(`SELECT e::text AS t FROM webhook_endpoints e WHERE id = $1`, [created.endpoint.id]);
    expect(rows[0].t).not.toContain(raw);
    expect(svc.logs.text()).not.toContain(raw);
  });

  test('bad input is refused with a precise code and changes nothing', async () => {
    const before = await svc.dataSource.query(`SELECT (SELECT count(*)::int FROM webhook_endpoints) AS e, (SELECT count(*)::int FROM audit_events) AS a`);
    const attempt = (input: Record<string, unknown>) => svc.gql(CREATE_ENDPOINT, { input: { name: 'x', url: 'https://hooks.example.com/in', eventTypes: ['CONNECTOR_TOGGLED'], ...input } }, adm);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ url: 'not a url' }, 'BAD_USER_INPUT', /absolute URL/],
      [{ url: 'ftp://hooks.example.com/x' }, 'BAD_USER_INPUT', /https/],
      [{ url: 'https://user:pass@hooks.example.com/x' }, 'BAD_USER_INPUT', /credentials/],
      [{ url: 'http://10.1.2.3/hook' }, 'BAD_USER_INPUT', /egress/],
      [{ url: 'http://169.254.169.254/latest/meta-data' }, 'BAD_USER_INPUT', /metadata/],
      [{ eventTypes: [] }, 'BAD_USER_INPUT', /at least one/],
      [{ eventTypes: ['WEBHOOK_TEST'] }, 'BAD_USER_INPUT', /cannot be subscribed/],
      [{ connectorIds: [] }, 'BAD_USER_INPUT', /at least one/],
      [{ connectorIds: ['cnn_01HZZZZZZZZZZZZZZZZZZZZZZZ'] }, 'NOT_FOUND', /connector/],
      [{ name: '' }, 'BAD_USER_INPUT', /name/],
    ];
    for (const [input, code, message] of cases) {
      const res = await attempt(input);
      expect({ input, code: errorCode(res) }).toEqual({ input, code });
      expect(res.body.errors![0]!.message).toMatch(message);
    }
    // Not for editors or viewers.
    for (const who of [ed, await viewer('t1')]) expect(errorCode(await svc.gql(CREATE_ENDPOINT, { input: { name: 'x', url: 'https://hooks.example.com/in', eventTypes: ['CONNECTOR_TOGGLED'] } }, who))).toBe('FORBIDDEN');
    const after = await svc.dataSource.query(`SELECT (SELECT count(*)::int FROM webhook_endpoints) AS e, (SELECT count(*)::int FROM audit_events) AS a`);
    expect(after).toEqual(before);
  });

  test('a toggle is delivered, signed per Standard Webhooks, with a payload free of secrets', async () => {
    const r = await receiver();
    const { signingSecret, endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Toggled', up, {}, { authType: 'API_KEY', credentials: { apiKey: 'toggle-key-secret-1' } }) }, ed)).createConnector;
    await svc.ok(TOGGLE, { id: c.id, enabled: true, reason: 'vendor fixed the feed' }, ed);
    await svc.ok(TOGGLE, { id: c.id, enabled: false, reason: 'flooding' }, ed);
    await waitFor('two toggles delivered', () => (r.ofType(signingSecret, 'connector.toggled').length >= 2 ? true : null));
    const events = r.ofType(signingSecret, 'connector.toggled');
    expect(events.map((e) => [e.data.enabled, e.data.reason])).toEqual([
      [true, 'vendor fixed the feed'],
      [false, 'flooding'],
    ]);
    expect(events[0]!.data).toMatchObject({ tenantId: 't1', connector: { id: c.id, name: 'Toggled', provider: 'generic_rest', type: 'CUSTOM_API' }, actor: { type: 'USER', id: 'editor-t1' } });
    for (const req of r.requests) {
      expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.body).not.toContain('toggle-key-secret-1');
    }
    // A forged signature does not verify: the check above is real.
    const forged = r.requests[0]!.body.replace('"tenantId":"t1"', '"tenantId":"t2"');
    expect(forged).not.toBe(r.requests[0]!.body);
    expect(() => new Webhook(signingSecret).verify(forged, r.requests[0]!.headers as Record<string, string>)).toThrow();
    const log = await deliveries(ep.id);
    expect(log).toHaveLength(2);
    expect(log.every((d: any) => d.status === 'SUCCEEDED' && d.attempts === 1 && d.responseStatus === 200 && d.connectorId === c.id)).toBe(true);
    expect(new Set(log.map((d: any) => d.eventId))).toEqual(new Set(events.map((e) => e.id)));
  });

  test('500 three times, then 200: delivered exactly once more, every attempt in the log, the same webhook-id each time', async () => {
    const r = await receiver();
    r.statuses = [500, 500, 500];
    const { signingSecret, endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Retried', up) }, ed)).createConnector;
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    const [done] = await waitFor('delivered after retries', async () => {
      const log = await deliveries(ep.id);
      return log[0]?.status === 'SUCCEEDED' ? log : null;
    });
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 4, responseStatus: 200, error: null, nextAttemptAt: null });
    expect(r.requests.map((q) => q.status)).toEqual([500, 500, 500, 200]);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id']))).toEqual(new Set([done.eventId]));
    expect(r.ofType(signingSecret, 'connector.toggled')).toHaveLength(1);
    await sleep(800);
    expect(r.requests).toHaveLength(4);
  });

  test('every attempt failing: the delivery fails, the endpoint is switched off as failing and audited; re-enabled and redelivered, it arrives', async () => {
    const r = await receiver();
    r.statuses = Array(5).fill(503);
    const { signingSecret, endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Unreachable receiver', up) }, ed)).createConnector;
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    const [failed] = await waitFor('delivery failed', async () => {
      const log = await deliveries(ep.id);
      return log[0]?.status === 'FAILED' ? log : null;
    });
    expect(failed).toMatchObject({ attempts: 5, responseStatus: 503, error: 'the endpoint answered HTTP 503' });
    const state = (await svc.ok(`query($id: ID!) { webhookEndpoint(id: $id) { enabled failingSince disabledReason } }`, { id: ep.id }, adm)).webhookEndpoint;
    expect(state.enabled).toBe(false);
    expect(state.failingSince).not.toBeNull();
    expect(state.disabledReason).toMatch(/5 failed delivery attempts/);
    const audit = (await svc.ok(`query($id: ID!) { auditEvents(filter: { targetId: $id, eventType: [WEBHOOK_ENDPOINT_DISABLED] }) { nodes { actorType reason } } }`, { id: ep.id }, adm)).auditEvents.nodes;
    expect(audit).toEqual([{ actorType: 'SYSTEM', reason: expect.stringMatching(/HTTP 503/) }]);
    // A disabled endpoint is not redelivered to.
    expect(errorCode(await svc.gql(`mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }`, { id: failed.id }, adm))).toBe('BAD_USER_INPUT');
    const enabled = (await svc.ok(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: true }) { enabled failingSince disabledReason } }`, { id: ep.id }, adm)).updateWebhookEndpoint;
    expect(enabled).toEqual({ enabled: true, failingSince: null, disabledReason: null });
    const again = (await svc.ok(`mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id eventId status } }`, { id: failed.id }, adm)).redeliverWebhook;
    expect(again).toMatchObject({ eventId: failed.eventId, status: 'PENDING' });
    await waitFor('redelivered', () => (r.ofType(signingSecret, 'connector.toggled').length === 1 ? true : null));
    expect(r.ofType(signingSecret, 'connector.toggled')[0]!.id).toBe(failed.eventId);
  });

  test('HEALTHY → FAILING → HEALTHY sends exactly two health_changed events; a blip sends none', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Monitored', up, { failureThreshold: 2, recoveryThreshold: 2 }) }, ed)).createConnector;
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    // The first sync and check after enabling settle first (PENDING → HEALTHY is not part of this story).
    await waitFor('first sync', async () => ((await svc.dataSource.query(`SELECT 1 FROM ingestion_runs WHERE connector_id = $1 AND status = 'SUCCEEDED'`, [c.id])).length ? true : null));
    await waitFor('healthy', async () => ((await svc.ok(CHECK, { id: c.id }, ed)).checkConnectorHealth.syncStatus === 'HEALTHY' ? true : null));
    const r = await receiver();
    const { signingSecret } = await endpoint(r.url, ['CONNECTOR_HEALTH_CHANGED'], { connectorIds: [c.id] });
    const check = async () => (await svc.ok(CHECK, { id: c.id }, ed)).checkConnectorHealth.syncStatus;
    up.failNext(401);
    expect(await check()).toBe('HEALTHY'); // a blip
    expect(await check()).toBe('HEALTHY');
    up.failAlways(401);
    expect(await check()).toBe('HEALTHY');
    expect(await check()).toBe('FAILING');
    expect(await check()).toBe('FAILING');
    up.recover();
    expect(await check()).toBe('FAILING');
    expect(await check()).toBe('HEALTHY');
    await waitFor('two events', () => (r.ofType(signingSecret, 'connector.health_changed').length >= 2 ? true : null));
    await sleep(1000);
    const events = r.ofType(signingSecret, 'connector.health_changed');
    expect(events.map((e) => `${e.data.from}>${e.data.to}`)).toEqual(['HEALTHY>FAILING', 'FAILING>HEALTHY']);
    expect(events[0]!.data.reason).toMatch(/2 consecutive failure/);
  });

  test('an auto-disable sends auto_disabled with the policy and its figures, and the toggle; a failed test sends test_failed', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Policy', up, { autoDisableAfterFailures: 2 }, { authType: 'API_KEY', credentials: { apiKey: 'policy-secret-key-9' } }) }, ed)).createConnector;
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    await waitFor('first sync', async () => ((await svc.dataSource.query(`SELECT 1 FROM ingestion_runs WHERE connector_id = $1 AND status = 'SUCCEEDED'`, [c.id])).length ? true : null));
    const r = await receiver();
    const { signingSecret } = await endpoint(r.url, ['CONNECTOR_AUTO_DISABLED', 'CONNECTOR_TOGGLED', 'CONNECTOR_TEST_FAILED'], { connectorIds: [c.id] });
    up.failAlways(401);
    const test = (await svc.ok(`mutation($id: ID!) { testConnector(id: $id) { success } }`, { id: c.id }, ed)).testConnector;
    expect(test.success).toBe(false);
    await svc.ok(CHECK, { id: c.id }, ed);
    await svc.ok(CHECK, { id: c.id }, ed);
    // Deliveries run in parallel: wait for all three kinds.
    await waitFor('auto_disabled, toggled and test_failed', () =>
      ['connector.auto_disabled', 'connector.toggled', 'connector.test_failed'].every((t) => r.ofType(signingSecret, t).length) ? true : null,
    );
    const [auto] = r.ofType(signingSecret, 'connector.auto_disabled');
    expect(auto!.data).toMatchObject({ policy: 'consecutive_failures', figures: { consecutiveFailures: 2, limit: 2 }, reason: expect.stringMatching(/auto-disabled after 2 consecutive failures/) });
    const toggled = r.ofType(signingSecret, 'connector.toggled');
    expect(toggled.map((e) => [e.data.enabled, e.data.actor.type])).toEqual([[false, 'SYSTEM']]);
    const [failed] = r.ofType(signingSecret, 'connector.test_failed');
    expect(failed!.data.failedSteps[0]).toMatchObject({ name: 'AUTHENTICATE', errorCode: 'AUTH_FAILED' });
    expect(r.requests.every((q) => !q.body.includes('policy-secret-key-9'))).toBe(true);
  });

  test('a failed ingestion run sends run_failed; a rotation sends rotated', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Runs', up, {}, { authType: 'API_KEY', credentials: { apiKey: 'first-key-abc' } }) }, ed)).createConnector;
    const r = await receiver();
    const { signingSecret } = await endpoint(r.url, ['INGESTION_RUN_FAILED', 'CREDENTIALS_ROTATED'], { connectorIds: [c.id] });
    up.failAlways(500);
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    await waitFor('run_failed', () => (r.ofType(signingSecret, 'ingestion.run_failed').length ? true : null), 30_000);
    const [failed] = r.ofType(signingSecret, 'ingestion.run_failed');
    expect(failed!.data.runId).toMatch(/^run_/);
    expect(failed!.data.error).toMatch(/500/);
    up.recover();
    await svc.ok(`mutation($id: ID!, $c: JSON!) { rotateCredentials(id: $id, credentials: $c) { rotated } }`, { id: c.id, c: { apiKey: 'second-key-def' } }, adm);
    await waitFor('rotated', () => (r.ofType(signingSecret, 'credentials.rotated').length ? true : null));
    expect(r.ofType(signingSecret, 'credentials.rotated')[0]!.data).toMatchObject({ credentialVersion: 2, connector: { id: c.id } });
    expect(r.requests.some((q) => q.body.includes('first-key-abc') || q.body.includes('second-key-def'))).toBe(false);
  });

  test('rotation_due: one event per connector and due date, however often the sweeper runs', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Due', up) }, ed)).createConnector;
    const r = await receiver();
    const { signingSecret } = await endpoint(r.url, ['CREDENTIALS_ROTATION_DUE'], { connectorIds: [c.id] });
    await svc.dataSource.query(`UPDATE connectors SET next_rotation_due = now() - interval '1 day' WHERE id = $1`, [c.id]);
    for (let i = 0; i < 3; i++) await svc.services.notifications.sweep(30);
    await waitFor('rotation_due', () => (r.ofType(signingSecret, 'credentials.rotation_due').length ? true : null));
    await svc.dataSource.query(`UPDATE connectors SET next_rotation_due = now() - interval '3 hours' + interval '2 days' - interval '2 days' - interval '5 days' WHERE id = $1`, [c.id]);
    for (let i = 0; i < 3; i++) await svc.services.notifications.sweep(30);
    await waitFor('second due date', () => (r.ofType(signingSecret, 'credentials.rotation_due').length >= 2 ? true : null));
    await sleep(800);
    const due = r.ofType(signingSecret, 'credentials.rotation_due');
    expect(due).toHaveLength(2);
    expect(new Set(due.map((e) => e.data.nextRotationDue.slice(0, 10))).size).toBe(2);
  });

  test('sendTestWebhook answers with the attempt; rotateWebhookSecret signs with the new secret only', async () => {
    const r = await receiver();
    const { signingSecret: first, endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
    const sent = (await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status attempts responseStatus eventType latencyMs } }`, { id: ep.id }, adm)).sendTestWebhook;
    expect(sent).toMatchObject({ status: 'SUCCEEDED', attempts: 1, responseStatus: 200, eventType: 'WEBHOOK_TEST' });
    expect(r.ofType(first, 'webhook.test')).toHaveLength(1);
    const rotated = (await svc.ok(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { signingSecret endpoint { secretVersion } } }`, { id: ep.id }, adm)).rotateWebhookSecret;
    expect(rotated.endpoint.secretVersion).toBe(2);
    expect(rotated.signingSecret).not.toBe(first);
    await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status } }`, { id: ep.id }, adm);
    const last = r.requests[r.requests.length - 1]!;
    expect(() => new Webhook(first).verify(last.body, last.headers as Record<string, string>)).toThrow();
    expect((new Webhook(rotated.signingSecret).verify(last.body, last.headers as Record<string, string>) as any).type).toBe('webhook.test');
    const failing = await receiver();
    failing.statuses = [500];
    const ep2 = (await endpoint(failing.url, ['CONNECTOR_TOGGLED'])).endpoint;
    const bad = (await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status responseStatus error } }`, { id: ep2.id }, adm)).sendTestWebhook;
    expect(bad).toEqual({ status: 'FAILED', responseStatus: 500, error: 'the endpoint answered HTTP 500' });
    const still = (await svc.ok(`query($id: ID!) { webhookEndpoint(id: $id) { enabled } }`, { id: ep2.id }, adm)).webhookEndpoint;
    expect(still.enabled).toBe(true);
  });

  test('deleting an endpoint removes its log and its secret, audited', async () => {
    const r = await receiver();
    const { endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
    await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status } }`, { id: ep.id }, adm);
    await svc.ok(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id: ep.id }, adm);
    const [left] = await svc.dataSource.query(
      `SELECT (SELECT count(*)::int FROM webhook_endpoints WHERE id = $1) AS e, (SELECT count(*)::int FROM webhook_deliveries WHERE endpoint_id = $1) AS d, (SELECT count(*)::int FROM connector_secrets WHERE connector_id = $1) AS s`,
      [ep.id],
    );
    expect(left).toEqual({ e: 0, d: 0, s: 0 });
    expect(errorCode(await svc.gql(`query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { id } } }`, { id: ep.id }, adm))).toBe('NOT_FOUND');
    const audit = (await svc.ok(`query($id: ID!) { auditEvents(filter: { targetId: $id }) { nodes { eventType } } }`, { id: ep.id }, adm)).auditEvents.nodes.map((e: any) => e.eventType);
    expect(audit).toEqual(['WEBHOOK_ENDPOINT_DELETED', 'WEBHOOK_ENDPOINT_CREATED']);
  });
});

describe('the outbox', () => {
  test('a change committed while no worker ran is delivered after the restart; a rolled-back change sends nothing', async () => {
    // One data directory, as one deployment has: the local secret store's master key is in it.
    const dataDir = mkdtempSync(join(tmpdir(), 'connector-webhooks-'));
    const api = await startTestService('webhooks-outbox', { RUN_WORKERS: 'false', DATA_DIR: dataDir });
    const adm = await admin('t1');
    const r = await receiver();
    const { signingSecret } = (await api.ok(CREATE_ENDPOINT, { input: { name: 'outbox', url: r.url, eventTypes: ['CONNECTOR_TOGGLED'] } }, adm)).createWebhookEndpoint;
    const up = await upstream();
    const c = (await api.ok(CREATE_CONNECTOR, { input: restInput('Outbox', up) }, adm)).createConnector;
    await api.ok(TOGGLE, { id: c.id, enabled: true, reason: 'before the crash' }, adm);
    // A toggle refused (version conflict) rolls back: no event row, no delivery, no job.
    const conflict = await api.gql(`mutation($id: ID!) { toggleConnector(id: $id, enabled: false, expectedVersion: 999) { enabled } }`, { id: c.id }, adm);
    expect(errorCode(conflict)).toBe('VERSION_CONFLICT');
    const [pending] = await api.dataSource.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'PENDING'`);
    expect(pending.n).toBe(1);
    await api.close();
    expect(r.requests).toHaveLength(0);
    const worker = await startTestService('webhooks-outbox-2', { DATABASE_URL: api.databaseUrl, DATA_DIR: dataDir, ...WORKERS });
    closing.push(worker);
    await waitFor('delivered after restart', () => (r.ofType(signingSecret, 'connector.toggled').length ? true : null));
    await sleep(800);
    const events = r.ofType(signingSecret, 'connector.toggled');
    expect(events.map((e) => e.data.reason)).toEqual(['before the crash']);
  });
});
