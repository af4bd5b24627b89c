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
import { newId } from '../../src/db/ids.js';
import { CREATE_LOCK_CLASS } from '../../src/modules/notifications/webhook-endpoint.service.js';
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

const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id name url eventTypes connectorIds enabled secretVersion version } } }`;
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
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.endpoint).toMatchObject({ enabled: true, secretVersion: 1, version: 1, connectorIds: null });
    const secret = created.secret as string;
    const raw = secret.slice('whsec_'.length);
    const read = await svc.ok(`query($id: ID!) { webhookEndpoint(id: $id) { id url } webhookEndpoints { id } auditEvents(filter: { targetId: $id }) { nodes { eventType changes } } }`, { id: created.endpoint.id }, adm);
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
    const { secret, endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Toggled', up, {}, { authType: 'API_KEY', credentials: { apiKey: 'toggle-key-secret-1' } }) }, ed)).createConnector;
    await svc.ok(TOGGLE, { id: c.id, enabled: true, reason: 'vendor fixed the feed' }, ed);
    await svc.ok(TOGGLE, { id: c.id, enabled: false, reason: 'flooding' }, ed);
    await waitFor('two toggles delivered', () => (r.ofType(secret, 'connector.toggled').length >= 2 ? true : null));
    const events = r.ofType(secret, 'connector.toggled');
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
    expect(() => new Webhook(secret).verify(forged, r.requests[0]!.headers as Record<string, string>)).toThrow();
    // The receiver has the requests before the service has written their outcome: wait for the log to settle.
    const log = await waitFor('both logged', async () => {
      const rows = await deliveries(ep.id);
      return rows.length === 2 && rows.every((d: any) => d.status !== 'PENDING' && d.status !== 'RETRYING') ? rows : null;
    });
    expect(log.every((d: any) => d.status === 'SUCCEEDED' && d.attempts === 1 && d.responseStatus === 200 && d.connectorId === c.id)).toBe(true);
    expect(new Set(log.map((d: any) => d.eventId))).toEqual(new Set(events.map((e) => e.id)));
  });

  test('500 three times, then 200: delivered exactly once more, every attempt in the log, the same webhook-id each time', async () => {
    const r = await receiver();
    r.statuses = [500, 500, 500];
    const { secret, endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
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
    expect(r.ofType(secret, 'connector.toggled')).toHaveLength(1);
    await sleep(800);
    expect(r.requests).toHaveLength(4);
  });

  test('every attempt failing: the delivery fails, the endpoint is switched off as failing and audited; re-enabled and redelivered, it arrives', async () => {
    const r = await receiver();
    r.statuses = Array(5).fill(503);
    const { secret, endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
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
    await waitFor('redelivered', () => (r.ofType(secret, 'connector.toggled').length === 1 ? true : null));
    expect(r.ofType(secret, 'connector.toggled')[0]!.id).toBe(failed.eventId);
  });

  test('HEALTHY → FAILING → HEALTHY sends exactly two health_changed events; a blip sends none', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Monitored', up, { failureThreshold: 2, recoveryThreshold: 2 }) }, ed)).createConnector;
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    // The first sync and check after enabling settle first (PENDING → HEALTHY is not part of this story).
    await waitFor('first sync', async () => ((await svc.dataSource.query(`SELECT 1 FROM ingestion_runs WHERE connector_id = $1 AND status = 'SUCCEEDED'`, [c.id])).length ? true : null));
    await waitFor('healthy', async () => ((await svc.ok(CHECK, { id: c.id }, ed)).checkConnectorHealth.syncStatus === 'HEALTHY' ? true : null));
    const r = await receiver();
    const { secret } = await endpoint(r.url, ['CONNECTOR_HEALTH_CHANGED'], { connectorIds: [c.id] });
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
    await waitFor('two events', () => (r.ofType(secret, 'connector.health_changed').length >= 2 ? true : null));
    await sleep(1000);
    const events = r.ofType(secret, 'connector.health_changed');
    expect(events.map((e) => `${e.data.from}>${e.data.to}`)).toEqual(['HEALTHY>FAILING', 'FAILING>HEALTHY']);
    expect(events[0]!.data.reason).toMatch(/2 consecutive failure/);
  });

  test('an auto-disable sends auto_disabled with the policy and its figures, and the toggle; a failed test sends test_failed', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Policy', up, { autoDisableAfterFailures: 2 }, { authType: 'API_KEY', credentials: { apiKey: 'policy-secret-key-9' } }) }, ed)).createConnector;
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    await waitFor('first sync', async () => ((await svc.dataSource.query(`SELECT 1 FROM ingestion_runs WHERE connector_id = $1 AND status = 'SUCCEEDED'`, [c.id])).length ? true : null));
    const r = await receiver();
    const { secret } = await endpoint(r.url, ['CONNECTOR_AUTO_DISABLED', 'CONNECTOR_TOGGLED', 'CONNECTOR_TEST_FAILED'], { connectorIds: [c.id] });
    up.failAlways(401);
    const test = (await svc.ok(`mutation($id: ID!) { testConnector(id: $id) { success } }`, { id: c.id }, ed)).testConnector;
    expect(test.success).toBe(false);
    await svc.ok(CHECK, { id: c.id }, ed);
    await svc.ok(CHECK, { id: c.id }, ed);
    // Deliveries run in parallel: wait for all three kinds.
    await waitFor('auto_disabled, toggled and test_failed', () =>
      ['connector.auto_disabled', 'connector.toggled', 'connector.test_failed'].every((t) => r.ofType(secret, t).length) ? true : null,
    );
    const [auto] = r.ofType(secret, 'connector.auto_disabled');
    expect(auto!.data).toMatchObject({ policy: 'consecutive_failures', figures: { consecutiveFailures: 2, limit: 2 }, reason: expect.stringMatching(/auto-disabled after 2 consecutive failures/) });
    const toggled = r.ofType(secret, 'connector.toggled');
    expect(toggled.map((e) => [e.data.enabled, e.data.actor.type])).toEqual([[false, 'SYSTEM']]);
    const [failed] = r.ofType(secret, 'connector.test_failed');
    expect(failed!.data.failedSteps[0]).toMatchObject({ name: 'AUTHENTICATE', errorCode: 'AUTH_FAILED' });
    expect(r.requests.every((q) => !q.body.includes('policy-secret-key-9'))).toBe(true);
  });

  test('a failed ingestion run sends run_failed; a rotation sends rotated', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Runs', up, {}, { authType: 'API_KEY', credentials: { apiKey: 'first-key-abc' } }) }, ed)).createConnector;
    const r = await receiver();
    const { secret } = await endpoint(r.url, ['INGESTION_RUN_FAILED', 'CREDENTIALS_ROTATED'], { connectorIds: [c.id] });
    up.failAlways(500);
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    await waitFor('run_failed', () => (r.ofType(secret, 'ingestion.run_failed').length ? true : null), 30_000);
    const [failed] = r.ofType(secret, 'ingestion.run_failed');
    expect(failed!.data.runId).toMatch(/^run_/);
    expect(failed!.data.error).toMatch(/500/);
    up.recover();
    await svc.ok(`mutation($id: ID!, $c: JSON!) { rotateCredentials(id: $id, credentials: $c) { rotated } }`, { id: c.id, c: { apiKey: 'second-key-def' } }, adm);
    await waitFor('rotated', () => (r.ofType(secret, 'credentials.rotated').length ? true : null));
    expect(r.ofType(secret, 'credentials.rotated')[0]!.data).toMatchObject({ credentialVersion: 2, connector: { id: c.id } });
    expect(r.requests.some((q) => q.body.includes('first-key-abc') || q.body.includes('second-key-def'))).toBe(false);
  });

  test('rotation_due: one event per connector and due date, however often the sweeper runs', async () => {
    const up = await upstream();
    const c = (await svc.ok(CREATE_CONNECTOR, { input: restInput('Due', up) }, ed)).createConnector;
    const r = await receiver();
    const { secret } = await endpoint(r.url, ['CREDENTIALS_ROTATION_DUE'], { connectorIds: [c.id] });
    await svc.dataSource.query(`UPDATE connectors SET next_rotation_due = now() - interval '1 day' WHERE id = $1`, [c.id]);
    for (let i = 0; i < 3; i++) await svc.services.notifications.sweep(30);
    await waitFor('rotation_due', () => (r.ofType(secret, 'credentials.rotation_due').length ? true : null));
    await svc.dataSource.query(`UPDATE connectors SET next_rotation_due = now() - interval '3 hours' + interval '2 days' - interval '2 days' - interval '5 days' WHERE id = $1`, [c.id]);
    for (let i = 0; i < 3; i++) await svc.services.notifications.sweep(30);
    await waitFor('second due date', () => (r.ofType(secret, 'credentials.rotation_due').length >= 2 ? true : null));
    await sleep(800);
    const due = r.ofType(secret, 'credentials.rotation_due');
    expect(due).toHaveLength(2);
    expect(new Set(due.map((e) => e.data.nextRotationDue.slice(0, 10))).size).toBe(2);
  });

  test('sendTestWebhook answers with the attempt; rotateWebhookSecret signs with the new secret only', async () => {
    const r = await receiver();
    const { secret: first, endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
    const sent = (await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status attempts responseStatus eventType latencyMs } }`, { id: ep.id }, adm)).sendTestWebhook;
    expect(sent).toMatchObject({ status: 'SUCCEEDED', attempts: 1, responseStatus: 200, eventType: 'WEBHOOK_TEST' });
    expect(sent.latencyMs).toEqual(expect.any(Number));
    expect(sent.latencyMs).toBeGreaterThanOrEqual(0);
    expect(r.ofType(first, 'webhook.test')).toHaveLength(1);
    const rotated = (await svc.ok(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret signingSecret endpoint { secretVersion } } }`, { id: ep.id }, adm)).rotateWebhookSecret;
    expect(rotated.endpoint.secretVersion).toBe(2);
    expect(rotated.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(rotated.signingSecret).toBe(rotated.secret);
    expect(rotated.secret).not.toBe(first);
    await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status } }`, { id: ep.id }, adm);
    const last = r.requests[r.requests.length - 1]!;
    expect(() => new Webhook(first).verify(last.body, last.headers as Record<string, string>)).toThrow();
    expect((new Webhook(rotated.secret).verify(last.body, last.headers as Record<string, string>) as any).type).toBe('webhook.test');
    const failing = await receiver();
    failing.statuses = [500];
    const ep2 = (await endpoint(failing.url, ['CONNECTOR_TOGGLED'])).endpoint;
    const bad = (await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status responseStatus error } }`, { id: ep2.id }, adm)).sendTestWebhook;
    expect(bad).toEqual({ status: 'FAILED', responseStatus: 500, error: 'the endpoint answered HTTP 500' });
    const still = (await svc.ok(`query($id: ID!) { webhookEndpoint(id: $id) { enabled } }`, { id: ep2.id }, adm)).webhookEndpoint;
    expect(still.enabled).toBe(true);
  });

  test('createWebhookEndpoint answers the secret as secret and, deprecated, as signingSecret: one value', async () => {
    const r = await receiver();
    const res = await svc.ok(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret signingSecret endpoint { id } } }`,
      { input: { name: 'both names', url: r.url, eventTypes: ['CONNECTOR_TOGGLED'] } },
      adm,
    );
    const { secret, signingSecret } = res.createWebhookEndpoint;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(signingSecret).toBe(secret);
    // It signs: the test event verifies with it.
    await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { status } }`, { id: res.createWebhookEndpoint.endpoint.id }, adm);
    expect(r.ofType(secret, 'webhook.test')).toHaveLength(1);
    const sdl: string = (await svc.ok('{ _service { sdl } }'))._service.sdl;
    expect(sdl).toMatch(/type CreatedWebhookEndpoint \{[^}]*\n {2}secret: String!\n[^}]*signingSecret: String! @deprecated\(reason: "Use secret"\)/);
    expect(sdl).not.toContain('WebhookEndpointWithSecret');
    expect(sdl).not.toContain('WebhookEndpointConnection');
  });

  test('at most 100 endpoints per tenant: one more is BAD_USER_INPUT and changes nothing, concurrent creations included', async () => {
    const tenant = 'webhook-cap';
    const capAdmin = await admin(tenant);
    // 97 endpoints written directly (the API would take a while for 97 secrets).
    const ids = Array.from({ length: 97 }, () => newId('whk'));
    await svc.dataSource.query(
      `INSERT INTO webhook_endpoints (id, tenant_id, name, url, event_types, secret_version) SELECT u.id, $1, 'seeded ' || u.id, 'https://hooks.example.com/in', ARRAY['CONNECTOR_TOGGLED'], 1 FROM unnest($2::text[]) AS u(id)`,
      [tenant, ids],
    );
    const input = (name: string) => ({ input: { name, url: 'https://hooks.example.com/in', eventTypes: ['CONNECTOR_TOGGLED'] } });
    // The 98th, then five at once for the last two places: exactly two get them.
    const created98 = (await svc.ok(CREATE_ENDPOINT, input('98th'), capAdmin)).createWebhookEndpoint.endpoint.id;
    const state = () =>
      svc.dataSource.query(
        `SELECT (SELECT count(*)::int FROM webhook_endpoints WHERE tenant_id = $1) AS endpoints, (SELECT count(*)::int FROM audit_events WHERE tenant_id = $1) AS audit,
                (SELECT count(*)::int FROM connector_secrets WHERE tenant_id = $1) AS secrets`,
        [tenant],
      );
    const burst = await Promise.all([1, 2, 3, 4, 5].map((i) => svc.gql(CREATE_ENDPOINT, input(`burst ${i}`), capAdmin)));
    const codes = burst.map((res) => errorCode(res) ?? 'OK').sort();
    expect(codes).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'OK', 'OK']);
    for (const res of burst.filter((x) => errorCode(x))) {
      expect(res.body.errors![0]!.message).toBe('this tenant has 100 webhook endpoints, the most it may have (100 per tenant): delete one before creating another');
      expect(res.body.data ?? null).toBeNull();
    }
    const full = await state();
    expect(full).toEqual([{ endpoints: 100, audit: 3, secrets: 3 }]);
    // Refused again, by an application token of the tenant too: the cap is the tenant's.
    const app = (await svc.ok(`mutation { createApplication(name: "cap app") { id } }`, {}, capAdmin)).createApplication.id;
    const appAdmin = await admin(tenant, { appId: app, subject: 'cap-app-admin' });
    const before = await state();
    for (const who of [capAdmin, appAdmin]) expect(errorCode(await svc.gql(CREATE_ENDPOINT, input('one too many'), who))).toBe('BAD_USER_INPUT');
    expect(await state()).toEqual(before);
    // The list is all of them, newest first, in one answer.
    const listed: Array<{ id: string }> = (await svc.ok(`{ webhookEndpoints { id name url eventTypes enabled } }`, {}, capAdmin)).webhookEndpoints;
    expect(listed).toHaveLength(100);
    expect(listed.map((e) => e.id)).toEqual(listed.map((e) => e.id).sort().reverse());
    expect(listed.map((e) => e.id)).toEqual(expect.arrayContaining([...ids, created98]));
    // One deleted, one place free.
    await svc.ok(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }`, { id: ids[0] }, capAdmin);
    expect(errorCode(await svc.gql(CREATE_ENDPOINT, input('in the freed place'), capAdmin))).toBeUndefined();
    expect(errorCode(await svc.gql(CREATE_ENDPOINT, input('and no more'), capAdmin))).toBe('BAD_USER_INPUT');
  });

  test('a creation waiting for another of its tenant gives up after a bounded wait (RATE_LIMITED), rather than hold its connection', async () => {
    const tenant = 'webhook-cap-wait';
    const waiter = await admin(tenant);
    const input = { input: { name: 'waits', url: 'https://hooks.example.com/in', eventTypes: ['CONNECTOR_TOGGLED'] } };
    // Another creation of the tenant holds the lock for longer than the wait.
    const res = await svc.dataSource.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CREATE_LOCK_CLASS, tenant]);
      return svc.gql(CREATE_ENDPOINT, input, waiter);
    });
    expect(errorCode(res)).toBe('RATE_LIMITED');
    expect(res.body.errors![0]!.message).toMatch(/other webhook endpoints of this tenant are being created: try again in 1 s/);
    const [{ n }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1`, [tenant]);
    expect(n).toBe(0);
    // Once it is free, the same creation goes through.
    expect(errorCode(await svc.gql(CREATE_ENDPOINT, input, waiter))).toBeUndefined();
  }, 20_000);

  test('webhookDeliveries pages both ways; a cursor pages only the log it came from', async () => {
    const r = await receiver();
    const { endpoint: ep } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
    const { endpoint: other } = await endpoint(r.url, ['CONNECTOR_TOGGLED']);
    for (let i = 0; i < 7; i++) await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id: ep.id }, adm);
    await svc.ok(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id: other.id }, adm);
    const PAGE = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $status: [WebhookDeliveryStatus!]) {
      webhookDeliveries(endpointId: $id, first: $first, after: $after, last: $last, before: $before, status: $status) {
        nodes { id latencyMs } edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const page = async (variables: Record<string, unknown>) => (await svc.ok(PAGE, { id: ep.id, ...variables }, adm)).webhookDeliveries;
    const all: string[] = (await page({})).nodes.map((n: any) => n.id);
    expect(all).toHaveLength(7);
    expect(all).toEqual([...all].sort().reverse());
    // Forwards.
    const p1 = await page({ first: 3 });
    expect(p1.nodes.map((n: any) => n.id)).toEqual(all.slice(0, 3));
    expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(p1.edges.map((e: any) => e.cursor)).toEqual([p1.pageInfo.startCursor, expect.any(String), p1.pageInfo.endCursor]);
    const p2 = await page({ first: 3, after: p1.pageInfo.endCursor });
    expect(p2.nodes.map((n: any) => n.id)).toEqual(all.slice(3, 6));
    expect(p2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const p3 = await page({ first: 3, after: p2.pageInfo.endCursor });
    expect(p3.nodes.map((n: any) => n.id)).toEqual(all.slice(6));
    expect(p3.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    // Backwards: from the oldest end, then before the start of that page.
    const b1 = await page({ last: 3 });
    expect(b1.nodes.map((n: any) => n.id)).toEqual(all.slice(4));
    expect(b1.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const b2 = await page({ last: 3, before: b1.pageInfo.startCursor });
    expect(b2.nodes.map((n: any) => n.id)).toEqual(all.slice(1, 4));
    expect(b2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const b3 = await page({ last: 3, before: b2.pageInfo.startCursor });
    expect(b3.nodes.map((n: any) => n.id)).toEqual(all.slice(0, 1));
    expect(b3.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    // A forward cursor pages backwards too, and the other way round.
    expect((await page({ last: 2, before: p2.pageInfo.startCursor })).nodes.map((n: any) => n.id)).toEqual(all.slice(1, 3));
    expect((await page({ first: 2, after: b2.pageInfo.endCursor })).nodes.map((n: any) => n.id)).toEqual(all.slice(4, 6));
    expect(p1.nodes.every((n: any) => typeof n.latencyMs === 'number')).toBe(true);
    // Refused: a cursor of another endpoint's log, of another status filter, of another list; first with last; too large a page.
    const otherCursor = (await svc.ok(PAGE, { id: other.id }, adm)).webhookDeliveries.pageInfo.endCursor;
    const filteredCursor = (await page({ first: 1, status: ['SUCCEEDED'] })).pageInfo.endCursor;
    const auditCursor = (await svc.ok(`{ auditEvents(first: 1) { pageInfo { endCursor } } }`, {}, adm)).auditEvents.pageInfo.endCursor;
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [{ after: otherCursor }, /another filter or parent/],
      [{ last: 1, before: otherCursor }, /another filter or parent/],
      [{ after: filteredCursor }, /another filter or parent/],
      [{ after: auditCursor }, /of the auditEvents list/],
      [{ after: 'not-a-cursor' }, /not a cursor/],
      [{ first: 2, last: 2 }, /first and last cannot be used together/],
      [{ last: 101 }, /last must be from 0 to 100/],
      [{ first: 101 }, /first must be from 0 to 100/],
    ];
    for (const [variables, message] of refused) {
      const res = await svc.gql(PAGE, { id: ep.id, ...variables }, adm);
      expect({ variables, code: errorCode(res) }).toEqual({ variables, code: 'BAD_USER_INPUT' });
      expect(res.body.errors![0]!.message).toMatch(message);
    }
    // The same filter keeps its cursors.
    expect((await page({ first: 1, after: filteredCursor, status: ['SUCCEEDED'] })).nodes.map((n: any) => n.id)).toEqual(all.slice(1, 2));
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
    const { secret } = (await api.ok(CREATE_ENDPOINT, { input: { name: 'outbox', url: r.url, eventTypes: ['CONNECTOR_TOGGLED'] } }, adm)).createWebhookEndpoint;
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
    await waitFor('delivered after restart', () => (r.ofType(secret, 'connector.toggled').length ? true : null));
    await sleep(800);
    const events = r.ofType(secret, 'connector.toggled');
    expect(events.map((e) => e.data.reason)).toEqual(['before the crash']);
  });
});
