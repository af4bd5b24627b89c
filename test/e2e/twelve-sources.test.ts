/**
 * Issue 23, end to end: twelve upstreams (replicas/twelve.ts: two SIEMs, four threat-intel feeds,
 * three OSINT services, an Ethereum node, two tenants' own REST APIs) and the real service with
 * its workers. Four administrators of two tenants create the connectors over time, each tested
 * before it is enabled; they ingest; a webhook endpoint per tenant listens (signatures verified
 * with `standardwebhooks`). Then the Splunk SIEM re-sends one alert 150 times:
 *
 * 1. the duplicate-flood guard recognises it and disables the SIEM as SYSTEM, with its reason, and
 *    `connector.auto_disabled` is delivered;
 * 2. the other eleven keep ingesting;
 * 3. the SIEM's config, credential version, cursor and history are intact while it is off;
 * 4. the other tenant saw nothing of it (records, audit, notifications, the shared provider);
 * 5. fixed and re-enabled, it resumes from its cursor and stores only what is new;
 * 6. with the policy off, the flood is still recognised and a person disables it in one mutation;
 * 7. the audit trail tells that story in order, with actors and reasons.
 *
 * The steps share state and run in order: when one breaks, it fails and so do the ones after it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { startTwelve, type Tenant, type Twelve, type Upstream } from '../../replicas/twelve.js';
import { admin } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const SYNC_SEC = 3;
const FLOOD = 150;

/** A customer's webhook receiver: keeps every request, answers 200. */
class Receiver {
  readonly requests: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  url = '';
  private readonly server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      this.requests.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }
  /** Every delivery, its signature verified (throws on a bad one), in event order (ULID ids). */
  events(secret: string): Array<{ id: string; type: string; data: any }> {
    const wh = new Webhook(secret);
    return this.requests
      .map((r) => ({ ...(wh.verify(r.body, r.headers as Record<string, string>) as { type: string; data: any }), id: String(r.headers['webhook-id']) }))
      .sort((x, y) => (x.id < y.id ? -1 : 1));
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id enabled createdBy } }`;
const TEST = `mutation($id: ID!) { testConnector(id: $id) { success steps { name passed message } sample } }`;
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!, $reason: String) { toggleConnector(id: $id, enabled: $enabled, reason: $reason) { id enabled } }`;
const UPDATE = `mutation($id: ID!, $v: Int!, $input: UpdateConnectorInput!) { updateConnector(id: $id, expectedVersion: $v, input: $input) { id version config } }`;
const STATE = `query($id: ID!) { connector(id: $id) { id provider enabled enabledChangedAt enabledChangedBy enabledReason syncStatus lastError version config credentialVersion credentialFields
  healthHistory(first: 50) { at from to reason }
  ingestionRuns(first: 100) { id status trigger startedAt finishedAt recordsRead recordsWritten duplicates error }
  records(first: 200) { totalCount nodes { id title duplicateCount data } } } }`;
const ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id } } }`;
const AUDIT = `query($filter: AuditEventFilter) { auditEvents(filter: $filter, first: 100) { nodes { id eventType actorType actorId targetId reason changes occurredAt } } }`;

interface Run {
  id: string;
  status: string;
  trigger: string;
  startedAt: string | null;
  recordsRead: number;
  recordsWritten: number;
  duplicates: number;
  error: string | null;
}

let svc: TestService;
let twelve: Twelve;
const receivers: Record<Tenant, Receiver | null> = { acme: null, globex: null };
const secrets: Record<Tenant, string> = { acme: '', globex: '' };
/** Four administrators, two per tenant; `admin-<subject>` is each one's actor id. */
const people = { alice: '', bob: '', carol: '', dave: '' };
/** Connector id per upstream key. */
const ids: Record<string, string> = {};
const tenantOf = (key: string) => twelve.get(key).tenant;
const bearerOf = (tenant: Tenant) => (tenant === 'acme' ? people.alice : people.carol);

async function state(key: string, bearer = bearerOf(tenantOf(key))) {
  return (await svc.ok(STATE, { id: ids[key] }, bearer)).connector as {
    enabled: boolean;
    enabledChangedAt: string | null;
    enabledChangedBy: string | null;
    enabledReason: string | null;
    syncStatus: string;
    lastError: string | null;
    version: number;
    config: Record<string, unknown>;
    credentialVersion: number | null;
    credentialFields: string[];
    healthHistory: Array<{ at: string; from: string; to: string; reason: string | null }>;
    ingestionRuns: Run[];
    records: { totalCount: number; nodes: Array<{ id: string; title: string | null; duplicateCount: number; data: Record<string, unknown> }> };
  };
}
const succeeded = (runs: Run[]) => runs.filter((r) => r.status === 'SUCCEEDED');
async function cursorOf(key: string): Promise<{ cursor: unknown; generation: unknown } | null> {
  const [row] = await svc.dataSource.query('SELECT cursor, generation FROM ingestion_cursors WHERE connector_id = $1', [ids[key]]);
  return row ?? null;
}
/** The splunk searches asked for after `since` (epoch ms): earliest_time of each, in epoch ms. */
function splunkSearchesSince(since: number): number[] {
  return twelve
    .get('splunk')
    .requestLog()
    .filter((r) => r.at >= since && r.method === 'POST' && r.path.endsWith('/search/v2/jobs'))
    .map((r) => Number(new URLSearchParams(r.body).get('earliest_time')) * 1000);
}

beforeAll(async () => {
  [svc, twelve] = await Promise.all([
    startTestService('twelve_sources', { RUN_WORKERS: 'true', JOB_POLL_MS: '500', JOB_TIMEOUT_SEC: '20', STALE_RUN_SEC: '10', WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2' }),
    startTwelve({ syncIntervalSec: SYNC_SEC, healthCheckIntervalSec: 3600, pageSize: 10, floodCopies: FLOOD }),
  ]);
  people.alice = await admin('acme', { subject: 'admin-alice' });
  people.bob = await admin('acme', { subject: 'admin-bob' });
  people.carol = await admin('globex', { subject: 'admin-carol' });
  people.dave = await admin('globex', { subject: 'admin-dave' });
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await twelve?.close();
  for (const r of Object.values(receivers)) await r?.close();
});

describe('twelve sources, one SIEM floods', () => {
  test('four administrators of two tenants create the twelve connectors over time, each tested before it is enabled', async () => {
    const waves: Array<{ who: keyof typeof people; keys: string[] }> = [
      { who: 'alice', keys: ['splunk', 'misp', 'otx', 'taxii'] },
      { who: 'carol', keys: ['qradar', 'threatfox'] },
      { who: 'bob', keys: ['shodan', 'virustotal', 'ethereum', 'acme-api'] },
      { who: 'dave', keys: ['greynoise', 'globex-api'] },
    ];
    expect(waves.flatMap((w) => w.keys).sort()).toEqual(twelve.upstreams.map((u) => u.key).sort());
    for (const { who, keys } of waves) {
      for (const key of keys) {
        const u = twelve.get(key);
        const created = (await svc.ok(CREATE, { input: { ...u.input, enabled: false } }, people[who])).createConnector;
        expect(created.enabled).toBe(false);
        ids[key] = created.id;
        const tested = (await svc.ok(TEST, { id: created.id }, people[who])).testConnector;
        expect([key, tested.success, tested.steps.filter((s: any) => !s.passed)]).toEqual([key, true, []]);
        expect(tested.sample.length).toBeGreaterThan(0);
        expect((await svc.ok(TOGGLE, { id: created.id, enabled: true }, people[who])).toggleConnector.enabled).toBe(true);
      }
    }
    // The shared provider: generic_rest in both tenants, each with its own credential and API.
    expect(twelve.upstreams.filter((u) => u.input.provider === 'generic_rest').map((u) => [u.tenant, u.input.authType])).toEqual([
      ['acme', 'API_KEY'],
      ['globex', 'OAUTH2_CLIENT_CREDENTIALS'],
    ]);
    // Each connector was created by the administrator of its wave.
    for (const tenant of ['acme', 'globex'] as const) {
      const created = (await svc.ok(AUDIT, { filter: { eventType: ['CONNECTOR_CREATED'] } }, bearerOf(tenant))).auditEvents.nodes;
      const expected = waves.flatMap((w) => w.keys.filter((k) => tenantOf(k) === tenant).map((k) => [ids[k], 'USER', `admin-${w.who}`]));
      expect(created.map((e: any) => [e.targetId, e.actorType, e.actorId]).sort()).toEqual(expected.sort());
    }
  });

  test('all twelve ingest: a SUCCEEDED run and records each, every notable of the SIEM once', async () => {
    await waitFor(
      'a SUCCEEDED run and records on all twelve',
      async () => {
        for (const u of twelve.upstreams) {
          const c = await state(u.key);
          if (!succeeded(c.ingestionRuns).length || c.records.totalCount === 0) return null;
        }
        return true;
      },
      60_000,
      500,
    );
    await waitFor('every notable stored', async () => (await state('splunk')).records.totalCount === twelve.get('splunk').itemCount(), 20_000);
  }, 90_000);

  test('each tenant subscribes a webhook endpoint', async () => {
    for (const tenant of ['acme', 'globex'] as const) {
      const r = await new Receiver().start();
      receivers[tenant] = r;
      const { secret } = (
        await svc.ok(ENDPOINT, { input: { name: `${tenant} SOC`, url: r.url, eventTypes: ['CONNECTOR_AUTO_DISABLED', 'CONNECTOR_TOGGLED', 'CONNECTOR_HEALTH_CHANGED'] } }, bearerOf(tenant))
      ).createWebhookEndpoint;
      secrets[tenant] = secret;
    }
  });

  /** Taken when the guard has disabled the SIEM. */
  let atDisable: { records: number; runs: Run[]; config: Record<string, unknown>; credentialVersion: number | null; cursor: unknown; history: number; at: number };
  let floodAlertAt = 0;

  test('the SIEM re-sends one alert 150 times: the guard recognises the flood and SYSTEM disables it, with the reason; connector.auto_disabled arrives', async () => {
    const before = await state('splunk');
    expect(before.config).toMatchObject({ duplicateFloodRatio: 0.5, duplicateFloodMinRecords: 100, duplicateFloodAutoDisable: true });
    const alert = twelve.siem.flood(FLOOD);
    floodAlertAt = Date.parse(String(alert._time));
    const off = await waitFor('the guard to disable the SIEM', async () => {
      const c = await state('splunk');
      return c.enabled ? null : c;
    }, 30_000, 250);
    expect(off.enabledChangedBy).toBe('health-monitor');
    expect(off.enabledReason).toMatch(/^auto-disabled by the duplicate-flood guard: duplicate flood: \d+% of \d+ records in the last run were duplicates \(limit 50%\)$/);
    // The run that read the flood: 150 copies of one alert, one stored.
    const flooded = off.ingestionRuns.find((r) => r.recordsRead >= FLOOD)!;
    expect(flooded).toMatchObject({ status: 'SUCCEEDED', recordsWritten: 1 });
    expect(flooded.duplicates).toBeGreaterThanOrEqual(FLOOD - 1);
    expect(off.records.totalCount).toBe(before.records.totalCount + 1);
    expect(off.healthHistory.find((h) => h.to === 'DEGRADED' && /duplicate flood/.test(h.reason ?? ''))).toBeDefined();
    // The audit: SYSTEM disabled it, with the guard's reason.
    const [disabled] = (await svc.ok(AUDIT, { filter: { targetId: ids.splunk, eventType: ['CONNECTOR_DISABLED'] } }, people.alice)).auditEvents.nodes;
    expect(disabled).toMatchObject({ actorType: 'SYSTEM', reason: off.enabledReason });
    // The notifications, signed.
    const hooks = await waitFor('auto_disabled and toggled delivered', () => {
      const events = receivers.acme!.events(secrets.acme).filter((e) => e.data.connector?.id === ids.splunk || e.data.connectorId === ids.splunk);
      const types = events.map((e) => e.type);
      return types.includes('connector.auto_disabled') && types.includes('connector.toggled') ? events : null;
    });
    const auto = hooks.filter((e) => e.type === 'connector.auto_disabled');
    expect(auto).toHaveLength(1);
    expect(auto[0]!.data).toMatchObject({ policy: 'duplicate_flood', figures: { limitRatio: 0.5 }, reason: off.enabledReason });
    expect(auto[0]!.data.figures.read).toBeGreaterThanOrEqual(FLOOD);
    expect(auto[0]!.data.figures.duplicates).toBeGreaterThanOrEqual(FLOOD - 1);
    expect(hooks.filter((e) => e.type === 'connector.toggled').map((e) => [e.data.enabled, e.data.actor.type])).toEqual([[false, 'SYSTEM']]);
    const cursor = await cursorOf('splunk');
    expect(cursor).not.toBeNull();
    atDisable = { records: off.records.totalCount, runs: off.ingestionRuns, config: off.config, credentialVersion: off.credentialVersion, cursor, history: off.healthHistory.length, at: Date.parse(off.enabledChangedAt!) };
  });

  test('the other eleven keep ingesting: new items arrive, their runs and records grow', async () => {
    const others = twelve.upstreams.filter((u) => u.key !== 'splunk');
    expect(others).toHaveLength(11);
    const snapshot = new Map<string, { records: number; runs: number }>();
    for (const u of others) {
      const c = await state(u.key);
      expect([u.key, c.enabled]).toEqual([u.key, true]);
      snapshot.set(u.key, { records: c.records.totalCount, runs: succeeded(c.ingestionRuns).length });
    }
    for (const u of others) await u.addItems(u.key === 'ethereum' ? 1 : 2);
    let behind: string[] = [];
    await waitFor(
      'every other connector with new records and runs',
      async () => {
        behind = [];
        for (const u of others) {
          const c = await state(u.key);
          const s = snapshot.get(u.key)!;
          if (c.records.totalCount <= s.records || succeeded(c.ingestionRuns).length <= s.runs) behind.push(`${u.key} ${JSON.stringify({ was: s, records: c.records.totalCount, runs: c.ingestionRuns.slice(0, 3) })}`);
        }
        return behind.length === 0;
      },
      60_000,
      500,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; behind: ${behind.join('\n')}`);
    });
  }, 90_000);

  test('while off, the SIEM is intact: config, credential version, cursor, health history, runs and records; it ran no more', async () => {
    const c = await state('splunk');
    expect(c.enabled).toBe(false);
    expect(c.config).toEqual(atDisable.config);
    expect(c.credentialVersion).toBe(atDisable.credentialVersion);
    expect(c.credentialVersion).toBe(1);
    expect(c.credentialFields).toEqual(['token']);
    expect(await cursorOf('splunk')).toEqual(atDisable.cursor);
    expect(c.healthHistory.length).toBeGreaterThanOrEqual(atDisable.history);
    expect(c.ingestionRuns.map((r) => r.id)).toEqual(atDisable.runs.map((r) => r.id));
    expect(c.ingestionRuns.filter((r) => r.startedAt && Date.parse(r.startedAt) > atDisable.at)).toEqual([]);
    expect(c.records.totalCount).toBe(atDisable.records);
    expect(splunkSearchesSince(atDisable.at + 1000)).toEqual([]);
  });

  test('the other tenant saw nothing: its records, audit trail and notifications hold none of acme’s, and the shared provider kept each tenant’s data apart', async () => {
    const acmeIds = twelve.of('acme').map((u) => ids[u.key]!);
    const globexIds = twelve.of('globex').map((u) => ids[u.key]!);
    expect(acmeIds).toHaveLength(8);
    expect(globexIds).toHaveLength(4);
    const seen = async (bearer: string) => {
      const data = await svc.ok(`query { records(first: 200) { totalCount nodes { id title connector { id } } } auditEvents(first: 100) { nodes { targetId actorId connector { id } } } }`, {}, bearer);
      return { records: data.records, audit: data.auditEvents.nodes as Array<{ targetId: string; connector: { id: string } | null; actorId: string | null }> };
    };
    const globex = await seen(people.dave);
    expect(globex.records.totalCount).toBeGreaterThan(0);
    for (const r of globex.records.nodes) expect(globexIds).toContain(r.connector.id);
    for (const e of globex.audit) {
      expect(acmeIds).not.toContain(e.targetId);
      expect(acmeIds).not.toContain(e.connector?.id);
      expect(['admin-alice', 'admin-bob']).not.toContain(e.actorId);
    }
    const acme = await seen(people.bob);
    for (const r of acme.records.nodes) expect(acmeIds).toContain(r.connector.id);
    for (const e of acme.audit) expect(globexIds).not.toContain(e.targetId);
    // Asked by id, the other tenant's SIEM is not there.
    const asked = await svc.gql(STATE, { id: ids.splunk }, people.carol);
    expect(asked.body.data?.connector ?? null).toBeNull();
    // generic_rest in both tenants: each connector holds its own API's items only.
    const titles = async (key: string) => (await state(key)).records.nodes.map((n) => String(n.title));
    const acmeTitles = await titles('acme-api');
    const globexTitles = await titles('globex-api');
    expect(acmeTitles.length).toBeGreaterThan(0);
    expect(globexTitles.length).toBeGreaterThan(0);
    expect(acmeTitles.every((t) => t.startsWith('acme: '))).toBe(true);
    expect(globexTitles.every((t) => t.startsWith('globex: '))).toBe(true);
    // globex's endpoint was told nothing about acme's connectors.
    const told = receivers.globex!.events(secrets.globex);
    for (const e of told) expect(acmeIds).not.toContain(e.data.connector?.id ?? e.data.connectorId);
    expect(told.filter((e) => e.type === 'connector.auto_disabled')).toEqual([]);
  });

  test('fixed upstream, re-enabled: the SIEM resumes from its cursor and stores only what is new; the re-read alert counts as a duplicate', async () => {
    twelve.siem.fixed();
    twelve.get('splunk').addItems(3);
    const on = Date.now();
    await svc.ok(TOGGLE, { id: ids.splunk, enabled: true, reason: 'forwarder resend loop fixed upstream' }, people.alice);
    const c = await waitFor('the SIEM ingesting again', async () => {
      const s = await state('splunk');
      const fresh = succeeded(s.ingestionRuns).filter((r) => r.startedAt && Date.parse(r.startedAt) >= on);
      return fresh.length && s.records.totalCount === atDisable.records + 3 ? { s, fresh } : null;
    }, 30_000, 250);
    // The run reads from the cursor (the flood alert's time, less the provider's five-minute lookback),
    // not the first sync's day. (Enabling also schedules a health check at once, whose sample search
    // has no cursor and may come first.)
    const searches = splunkSearchesSince(on);
    expect(searches.length).toBeGreaterThan(0);
    expect(searches.some((t) => Math.abs(t - (floodAlertAt - 300_000)) <= 1000)).toBe(true);
    // Nothing stored twice: the first run after re-enabling wrote the three new alerts only, and
    // counted the alerts of the lookback it read again (the flood alert among them) as duplicates.
    const first = c.fresh.at(-1)!;
    expect(first.recordsWritten).toBe(3);
    expect(first.duplicates).toBeGreaterThan(0);
    expect(first.recordsRead).toBeLessThan(FLOOD);
    expect(Math.max(...c.s.records.nodes.map((n) => n.duplicateCount))).toBeGreaterThanOrEqual(FLOOD - 1);
    expect(c.s.enabled).toBe(true);
  });

  test('with the auto-disable policy off, a second flood is recognised but left running; one administrator disables the SIEM in one mutation', async () => {
    const before = await state('splunk');
    const config = { ...before.config, duplicateFloodAutoDisable: false };
    await svc.ok(UPDATE, { id: ids.splunk, v: before.version, input: { config } }, people.bob);
    const autoBefore = receivers.acme!.events(secrets.acme).filter((e) => e.type === 'connector.auto_disabled').length;
    const floodAt = Date.now();
    twelve.siem.flood(FLOOD);
    // Recognised: two runs in a row read the flood, the connector DEGRADED with the guard's reason, and still enabled.
    const seen = await waitFor('the second flood recognised', async () => {
      const s = await state('splunk');
      const flooded = succeeded(s.ingestionRuns).filter((r) => r.startedAt && Date.parse(r.startedAt) >= floodAt && r.duplicates >= FLOOD - 1);
      return flooded.length >= 2 ? s : null;
    }, 30_000, 250);
    expect(seen.enabled).toBe(true);
    expect(seen.syncStatus).toBe('DEGRADED');
    expect(seen.healthHistory.filter((h) => Date.parse(h.at) >= floodAt && h.to === 'DEGRADED' && /^duplicate flood: /.test(h.reason ?? ''))).toHaveLength(1);
    expect(seen.records.totalCount).toBe(before.records.totalCount + 1);
    expect(receivers.acme!.events(secrets.acme).filter((e) => e.type === 'connector.auto_disabled')).toHaveLength(autoBefore);
    const reason = 'second duplicate flood from the SIEM; disabled until the forwarder is fixed';
    const off = (await svc.ok(TOGGLE, { id: ids.splunk, enabled: false, reason }, people.bob)).toggleConnector;
    expect(off.enabled).toBe(false);
    const [disabled] = (await svc.ok(AUDIT, { filter: { targetId: ids.splunk, eventType: ['CONNECTOR_DISABLED'] } }, people.alice)).auditEvents.nodes;
    expect(disabled).toMatchObject({ actorType: 'USER', actorId: 'admin-bob', reason });
    await waitFor('the person’s toggle delivered', () =>
      receivers.acme!.events(secrets.acme).some((e) => e.type === 'connector.toggled' && e.data.connector?.id === ids.splunk && e.data.actor.type === 'USER' && e.data.enabled === false),
    );
    // Fixed again and back on: it resumes, the second flood's alert stored once.
    twelve.siem.fixed();
    twelve.get('splunk').addItems(2);
    const on = Date.now();
    await svc.ok(TOGGLE, { id: ids.splunk, enabled: true, reason: 'fixed again' }, people.alice);
    await waitFor('the SIEM ingesting again', async () => {
      const s = await state('splunk');
      return succeeded(s.ingestionRuns).some((r) => r.startedAt && Date.parse(r.startedAt) >= on) && s.records.totalCount === before.records.totalCount + 1 + 2;
    }, 30_000, 250);
  });

  test('the audit trail of the SIEM tells the story in order, with actors and reasons', async () => {
    const events = ((await svc.ok(AUDIT, { filter: { targetId: ids.splunk } }, people.alice)).auditEvents.nodes as Array<{ id: string; eventType: string; actorType: string; actorId: string | null; reason: string | null; changes: any }>)
      .sort((x, y) => (x.id < y.id ? -1 : 1));
    // What people and policies did, in order (the runs' start and stop and the health changes follow).
    const story = events.filter((e) => e.eventType.startsWith('CONNECTOR_'));
    expect(story.map((e) => [e.eventType, e.actorType, e.actorId])).toEqual([
      ['CONNECTOR_CREATED', 'USER', 'admin-alice'],
      ['CONNECTOR_TESTED', 'USER', 'admin-alice'],
      ['CONNECTOR_ENABLED', 'USER', 'admin-alice'],
      ['CONNECTOR_DISABLED', 'SYSTEM', 'health-monitor'],
      ['CONNECTOR_ENABLED', 'USER', 'admin-alice'],
      ['CONNECTOR_UPDATED', 'USER', 'admin-bob'],
      ['CONNECTOR_DISABLED', 'USER', 'admin-bob'],
      ['CONNECTOR_ENABLED', 'USER', 'admin-alice'],
    ]);
    expect(story.map((e) => e.reason)).toEqual([
      null,
      null,
      null,
      expect.stringMatching(/^auto-disabled by the duplicate-flood guard: duplicate flood/),
      'forwarder resend loop fixed upstream',
      null,
      'second duplicate flood from the SIEM; disabled until the forwarder is fixed',
      'fixed again',
    ]);
    expect(story[5]!.changes).toMatchObject({ config: { before: expect.objectContaining({ duplicateFloodAutoDisable: true }), after: expect.objectContaining({ duplicateFloodAutoDisable: false }) } });
    // The guard's health changes, by SYSTEM, sit where the floods were: DEGRADED before each disable.
    const position = (e: { id: string }) => events.findIndex((x) => x.id === e.id);
    const degraded = events.filter((e) => e.eventType === 'HEALTH_STATUS_CHANGED' && e.changes?.syncStatus?.after === 'DEGRADED' && /duplicate flood/.test(e.reason ?? ''));
    expect(degraded.every((e) => e.actorType === 'SYSTEM')).toBe(true);
    expect(degraded).toHaveLength(2);
    expect(position(degraded[0]!)).toBeGreaterThan(position(story[2]!));
    expect(position(degraded[0]!)).toBeLessThan(position(story[3]!));
    expect(position(degraded[1]!)).toBeGreaterThan(position(story[5]!));
    expect(position(degraded[1]!)).toBeLessThan(position(story[6]!));
    // Ingestion started after each enable, by SYSTEM, and stopped with each disable.
    const runs = events.filter((e) => e.eventType.startsWith('INGESTION_'));
    expect(runs.map((e) => [e.eventType, e.actorType])).toEqual([
      ['INGESTION_STARTED', 'SYSTEM'],
      ['INGESTION_STOPPED', 'SYSTEM'],
      ['INGESTION_STARTED', 'SYSTEM'],
      ['INGESTION_STOPPED', 'SYSTEM'],
      ['INGESTION_STARTED', 'SYSTEM'],
    ]);
    const started = runs.filter((e) => e.eventType === 'INGESTION_STARTED');
    for (const [i, enable] of [story[2]!, story[4]!, story[7]!].entries()) expect(position(started[i]!)).toBeGreaterThan(position(enable));
    expect(position(started[0]!)).toBeLessThan(position(story[3]!));
    expect(position(started[1]!)).toBeLessThan(position(story[5]!));
  });
});
