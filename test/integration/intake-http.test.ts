/**
 * HTTP intake for push connectors: the Splunk HEC-compatible collector, driven by curl (a client
 * nobody here wrote), and `/intake/<connectorId>` for NDJSON and raw lines. Each message lands as a
 * normalized record on the token's connector of the token's tenant; HEC's answers and codes for
 * every refusal; a disabled connector takes nothing; back-pressure answers busy instead of losing;
 * a push connector's test tells what to configure until a first message arrived.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { formatCef } from '../../src/adapters/formats/index.js';
import { admin, editor } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { makeRecords, startRestUpstream } from '../helpers/upstream.js';

const run = promisify(execFile);

const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id provider type runState enabled version } }`;
const TOKEN = `mutation($id: ID!, $name: String!) { createIntakeToken(connectorId: $id, name: $name) { token intakeToken { id } } }`;
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled) { id enabled runState } }`;
const TEST = `mutation($id: ID!) { testConnector(id: $id) { success message steps { name passed message errorCode remediation } sample } }`;
const RECORDS = `query($id: ID!) { connector(id: $id) { records(first: 100) { totalCount nodes { kind severity title duplicateCount data } } } }`;

let svc: TestService;
let adminA: string;
let adminB: string;

beforeAll(async () => {
  svc = await startTestService('intake_http', {
    INTAKE_MAX_PENDING: '2000',
    // Workers run: the flood story has a polled connector ingesting beside the push ones.
    RUN_WORKERS: 'true',
    JOB_POLL_MS: '500',
    JOB_MAINTENANCE_SEC: '1',
  });
  adminA = await admin('hecA');
  adminB = await admin('hecB');
});
afterAll(async () => svc?.close());

async function pushConnector(provider: string, bearer = adminA, config: Record<string, unknown> = {}) {
  const c = (await svc.ok(CREATE, { input: { name: `${provider} ${Math.random()}`, provider, config, enabled: true } }, bearer)).createConnector;
  const { token } = (await svc.ok(TOKEN, { id: c.id, name: 'shipper' }, bearer)).createIntakeToken;
  return { id: c.id as string, token: token as string, created: c };
}

/** curl, as a shipper would call HEC: the status and the JSON answer. */
async function curl(path: string, body: string, token: string | null, headers: string[] = []): Promise<{ status: number; body: any; headers: string }> {
  const args = ['-sS', '-X', 'POST', '--data-binary', '@-', '-D', '-', `${svc.url}${path}`];
  if (token !== null) args.push('-H', `Authorization: Splunk ${token}`);
  for (const h of headers) args.push('-H', h);
  const child = execFile('curl', args);
  child.stdin!.end(body);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await new Promise((resolve) => child.on('close', resolve));
  const [head, ...rest] = out.split('\r\n\r\n');
  return { status: Number(/HTTP\/\S+ (\d{3})/.exec(head!)![1]), headers: head!, body: JSON.parse(rest.join('\r\n\r\n') || 'null') };
}

const cef = (name: string, src = '198.51.100.7', severity = 7) =>
  formatCef({ vendor: 'Acme', product: 'FW', productVersion: '1.0', eventId: name.replace(/\W/g, ''), name, severity, src, dst: '203.0.113.9', dstPort: 22 });

async function records(id: string, bearer = adminA) {
  return (await svc.ok(RECORDS, { id }, bearer)).connector.records;
}

describe('the HEC-compatible collector', () => {
  test('curl posts concatenated events: each one becomes an event record on the token’s connector', async () => {
    const c = await pushConnector('syslog_cef');
    expect(c.created).toMatchObject({ type: 'SIEM', runState: 'RUNNING', enabled: true });
    const body = [
      JSON.stringify({ event: cef('Port scan'), time: 1767225600.5, host: 'fw1', source: 'fw', sourcetype: 'cef' }),
      JSON.stringify({ event: cef('Brute force', '198.51.100.8', 9) }),
    ].join('\n');
    const res = await curl('/services/collector/event', body, c.token);
    expect(res).toMatchObject({ status: 200, body: { text: 'Success', code: 0 } });
    const got = await records(c.id);
    expect(got.totalCount).toBe(2);
    expect(got.nodes.map((n: any) => n.title).sort()).toEqual(['Brute force', 'Port scan']);
    expect(got.nodes.find((n: any) => n.title === 'Port scan')).toMatchObject({ kind: 'EVENT', severity: 7, data: { format: 'CEF', vendor: 'Acme', src: '198.51.100.7', dstPort: 22 } });
  });

  test('/raw takes one event per line; a repeated alert is a duplicate, counted on the stored record', async () => {
    const c = await pushConnector('syslog_cef');
    const line = `<134>Dec  3 10:00:00 fw1 ${cef('Beacon')}`;
    expect(await curl('/services/collector/raw', `${line}\n${line}\n${line}\n`, c.token)).toMatchObject({ status: 200, body: { code: 0 } });
    const got = await records(c.id);
    expect(got.totalCount).toBe(1);
    expect(got.nodes[0]).toMatchObject({ title: 'Beacon', duplicateCount: 2 });
  });

  test.each([
    ['no token', null, [], 401, { text: 'Token is required', code: 2 }],
    ['not a Splunk or Bearer header', 'x', ['Authorization: Basic Zm9vOmJhcg=='], 401, { text: 'Invalid authorization', code: 3 }],
    ['an unknown token', `hec_${'A'.repeat(43)}`, [], 403, { text: 'Invalid token', code: 4 }],
  ])('%s is refused with HEC’s answer', async (_what, token, headers, status, answer) => {
    const res = await curl('/services/collector/event', JSON.stringify({ event: cef('x') }), headers.length ? null : (token as string | null), headers as string[]);
    expect(res).toMatchObject({ status, body: answer });
  });

  test('bad bodies: no data (5), invalid JSON (6), a missing (12) or blank (13) event field; events before the bad one are stored', async () => {
    const c = await pushConnector('syslog_cef');
    expect(await curl('/services/collector/event', '  \n', c.token)).toMatchObject({ status: 400, body: { text: 'No data', code: 5 } });
    expect(await curl('/services/collector/event', `${JSON.stringify({ event: cef('first') })}{"event": `, c.token)).toMatchObject({
      status: 400,
      body: { text: 'Invalid data format', code: 6, 'invalid-event-number': 1 },
    });
    expect(await curl('/services/collector/event', JSON.stringify({ time: 1 }), c.token)).toMatchObject({ status: 400, body: { code: 12, 'invalid-event-number': 0 } });
    expect(await curl('/services/collector/event', JSON.stringify({ event: '' }), c.token)).toMatchObject({ status: 400, body: { code: 13 } });
    // A line the provider cannot decode: HEC's invalid data format, with the reason.
    const bad = await curl('/services/collector/event', JSON.stringify({ event: 'not a CEF line' }), c.token);
    expect(bad).toMatchObject({ status: 400, body: { code: 6, 'invalid-event-number': 0 } });
    expect((await records(c.id)).nodes.map((n: any) => n.title)).toEqual(['first']);
  });

  test('the health endpoint answers as HEC’s does', async () => {
    const res = await fetch(`${svc.url}/services/collector/health`);
    expect([res.status, await res.json()]).toEqual([200, { text: 'HEC is healthy', code: 17 }]);
  });

  test('a disabled connector refuses with "Token disabled" (code 1) and counts the drop; enabled again, it takes messages', async () => {
    const c = await pushConnector('syslog_cef');
    await svc.ok(TOGGLE, { id: c.id, enabled: false }, adminA);
    expect(await curl('/services/collector/event', JSON.stringify({ event: cef('while off') }), c.token)).toMatchObject({ status: 403, body: { text: 'Token disabled', code: 1 } });
    const { intake } = (await svc.ok(`query($id: ID!) { connector(id: $id) { intake { received accepted droppedDisabled lastReceivedAt } } }`, { id: c.id }, adminA)).connector;
    expect(intake).toMatchObject({ received: 1, accepted: 0, droppedDisabled: 1, lastReceivedAt: expect.any(String) });
    expect((await records(c.id)).totalCount).toBe(0);
    const on = (await svc.ok(TOGGLE, { id: c.id, enabled: true }, adminA)).toggleConnector;
    expect(on.runState).toBe('RUNNING');
    expect(await curl('/services/collector/event', JSON.stringify({ event: cef('while on') }), c.token)).toMatchObject({ status: 200 });
    expect((await records(c.id)).totalCount).toBe(1);
  });

  test('back-pressure: while the intake is full, a shipper is told to retry (503, code 9, Retry-After) and nothing is lost', async () => {
    const c = await pushConnector('syslog_cef');
    // Hold the connector row: the first submission waits inside its transaction with 8 messages in flight.
    const blocker = new pg.Client({ connectionString: svc.databaseUrl });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM connectors WHERE id = $1 FOR UPDATE', [c.id]);
      const batch = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ event: cef(`held ${i}`) })).join('');
      const held = curl('/services/collector/event', batch, c.token);
      await waitFor('the first batch in flight', () => svc.services.intake.inFlight === 2000);
      const busy = await curl('/services/collector/event', JSON.stringify({ event: cef('one more') }), c.token);
      expect(busy).toMatchObject({ status: 503, body: { text: 'Server is busy', code: 9 } });
      expect(busy.headers).toMatch(/retry-after: 1/i);
      await blocker.query('COMMIT');
      expect(await held).toMatchObject({ status: 200 });
    } finally {
      await blocker.end();
    }
    // The shipper retries and the message arrives.
    expect(await curl('/services/collector/event', JSON.stringify({ event: cef('one more') }), c.token)).toMatchObject({ status: 200 });
    expect((await records(c.id)).totalCount).toBe(2001);
    // The refusal is counted with the connector's next counters (the retry's).
    const [stats] = await svc.dataSource.query('SELECT dropped_busy FROM intake_stats WHERE connector_id = $1', [c.id]);
    expect(stats.dropped_busy).toBe('1');
  });
});

describe('/intake/<connectorId>', () => {
  test('NDJSON of Suricata EVE becomes NETWORK events with the alert’s severity', async () => {
    const c = await pushConnector('suricata_eve');
    const eve = {
      timestamp: '2026-12-01T10:00:00.123456+0000',
      flow_id: 1234,
      event_type: 'alert',
      src_ip: '10.0.0.5',
      src_port: 51515,
      dest_ip: '198.51.100.80',
      dest_port: 443,
      proto: 'TCP',
      alert: { action: 'allowed', signature_id: 2024897, signature: 'ET MALWARE Beacon', category: 'A Network Trojan was detected', severity: 1 },
    };
    const { stdout } = await run('curl', ['-sS', '-X', 'POST', '-H', `Authorization: Bearer ${c.token}`, '-H', 'Content-Type: application/x-ndjson', '--data-binary', `${JSON.stringify(eve)}\n${JSON.stringify({ ...eve, event_type: 'dns', flow_id: 99 })}\n`, `${svc.url}/intake/${c.id}`]);
    expect(JSON.parse(stdout)).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    const got = (await records(c.id)).nodes;
    expect(got.find((n: any) => n.title === 'ET MALWARE Beacon')).toMatchObject({ severity: 8, data: { vendor: 'OISF', product: 'Suricata', src: '10.0.0.5', dstPort: 443, timestamp: '2026-12-01T10:00:00.123Z' } });
  });

  test('raw LEEF lines; a line that is not JSON in an NDJSON post stores nothing; another connector’s id is refused', async () => {
    const c = await pushConnector('syslog_leef');
    const other = await pushConnector('syslog_leef');
    const leef = 'LEEF:2.0|IBM|QRadar|7.5|LoginFailed|^|src=192.0.2.4^dst=192.0.2.5^usrName=alice^sev=6';
    const ok = await fetch(`${svc.url}/intake/${c.id}`, { method: 'POST', headers: { authorization: `Splunk ${c.token}`, 'content-type': 'text/plain' }, body: `${leef}\n` });
    expect([ok.status, await ok.json()]).toEqual([200, { accepted: 1, duplicates: 0, rejected: [] }]);
    const bad = await fetch(`${svc.url}/intake/${c.id}`, { method: 'POST', headers: { authorization: `Splunk ${c.token}`, 'content-type': 'application/x-ndjson' }, body: '{"a":1}\nnot json\n' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/line 2 is not a JSON object; nothing was stored/);
    const wrong = await fetch(`${svc.url}/intake/${other.id}`, { method: 'POST', headers: { authorization: `Splunk ${c.token}` }, body: `${leef}\n` });
    expect(wrong.status).toBe(403);
    expect((await records(c.id)).totalCount).toBe(1);
    expect((await records(other.id)).totalCount).toBe(0);
  });
});

describe('a push connector in the lifecycle', () => {
  test('its test says what to configure until a first message arrived, then passes with the sample', async () => {
    const c = await pushConnector('zeek');
    const before = (await svc.ok(TEST, { id: c.id }, adminA)).testConnector;
    expect(before.success).toBe(false);
    expect(before.steps[0]).toMatchObject({ name: 'CONNECT', passed: false, errorCode: 'UNREACHABLE' });
    expect(before.steps[0].remediation).toMatch(/\/services\/collector\/event/);
    expect(before.steps[0].remediation).toContain(`/intake/${c.id}`);
    const log = { _path: 'notice', ts: 1764583200.25, uid: 'CHhAvVGS1DHFjwGM9', 'id.orig_h': '10.1.1.1', 'id.orig_p': 4444, 'id.resp_h': '10.1.1.2', 'id.resp_p': 22, note: 'SSH::Password_Guessing', msg: '10.1.1.1 appears to be guessing SSH passwords' };
    expect(await curl('/services/collector/event', JSON.stringify({ event: log }), c.token)).toMatchObject({ status: 200 });
    const after = (await svc.ok(TEST, { id: c.id }, adminA)).testConnector;
    expect(after.steps.map((s: any) => [s.name, s.passed])).toEqual([['CONNECT', true], ['AUTHENTICATE', true], ['SAMPLE_QUERY', true], ['VALIDATE_FORMAT', true]]);
    expect(after.sample[0]).toMatchObject({ kind: 'event', name: 'SSH::Password_Guessing', src: '10.1.1.1', dstPort: 22, timestamp: '2025-12-01T10:00:00.250Z' });
  });

  test('syncConnector is refused: a push connector is not polled', async () => {
    const c = await pushConnector('http_collector');
    const res = await svc.gql(`mutation($id: ID!) { syncConnector(id: $id) { id } }`, { id: c.id }, adminA);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toMatch(/push connector/);
  });

  test('health is DEGRADED when no message arrived within expectRecordsWithinSec', async () => {
    const c = await pushConnector('http_collector', adminA, { expectRecordsWithinSec: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    // Health transitions are damped: consecutive silent checks make it DEGRADED.
    const checked = await waitFor('DEGRADED', async () => {
      const h = (await svc.ok(`mutation($id: ID!) { checkConnectorHealth(id: $id) { syncStatus lastError } }`, { id: c.id }, adminA)).checkConnectorHealth;
      return h.syncStatus === 'DEGRADED' && h;
    }, 10_000, 300);
    expect(checked.lastError).toMatch(/no message received in the \d+ s since the connector was enabled \(expectRecordsWithinSec 1\)/);
  });

  test('a sender config that is not an IP or CIDR is refused at create', async () => {
    const res = await svc.gql(CREATE, { input: { name: 'bad senders', provider: 'syslog_cef', config: { senders: ['10.0.0.0/8', 'fw.example.com'] } } }, await editor('hecA'));
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0]!.message).toMatch(/config\.senders\.1 must be an IP address or a CIDR/);
  });

  test('tenants: a token only ever writes to its own tenant’s connector', async () => {
    const a = await pushConnector('http_collector', adminA);
    const b = await pushConnector('http_collector', adminB);
    const res = await fetch(`${svc.url}/intake/${b.id}`, { method: 'POST', headers: { authorization: `Splunk ${a.token}`, 'content-type': 'application/x-ndjson' }, body: '{"x":1}\n' });
    expect(res.status).toBe(403);
    expect(await curl('/services/collector/event', JSON.stringify({ event: { who: 'a' } }), a.token)).toMatchObject({ status: 200 });
    expect((await records(a.id, adminA)).totalCount).toBe(1);
    expect((await records(b.id, adminB)).totalCount).toBe(0);
    // B cannot read A's connector or its records.
    const cross = await svc.gql(RECORDS, { id: a.id }, adminB);
    expect(cross.body.data?.connector ?? null).toBeNull();
  });
});

describe('the SIEM flood, on push', () => {
  test('one alert re-sent 10,000 times is a flood: disabled by the policy while another push and a polled connector keep ingesting; re-enabled, it ingests again', async () => {
    const flooding = await pushConnector('syslog_cef', adminA, { duplicateFloodRatio: 0.5, duplicateFloodMinRecords: 100, duplicateFloodAutoDisable: true });
    const quiet = await pushConnector('syslog_cef', adminA, { duplicateFloodRatio: 0.5, duplicateFloodMinRecords: 100, duplicateFloodAutoDisable: true });
    const up = await startRestUpstream({ records: makeRecords(20, 'polled'), pageSize: 10 });
    try {
      const polled = (
        await svc.ok(CREATE, { input: { name: 'polled feed', provider: 'generic_rest', enabled: true, config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600 } } }, adminA)
      ).createConnector;

      const alert = JSON.stringify({ event: cef('Duplicate alert storm') });
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await curl('/services/collector/event', alert.repeat(1000), flooding.token)).status);
      // The guard trips within the first batch (one record, 999 duplicates); what follows meets a disabled connector.
      expect(statuses[0]).toBe(200);
      expect(statuses.slice(1)).toEqual(Array(9).fill(403));
      const off = (await svc.ok(`query($id: ID!) { connector(id: $id) { enabled syncStatus enabledReason enabledChangedBy } }`, { id: flooding.id }, adminA)).connector;
      expect(off).toMatchObject({ enabled: false, enabledChangedBy: 'health-monitor' });
      expect(off.enabledReason).toMatch(/duplicate-flood guard: duplicate flood: \d+% of 1000 records/);
      const [stats] = await svc.dataSource.query('SELECT received, duplicates, dropped_disabled FROM intake_stats WHERE connector_id = $1', [flooding.id]);
      expect(stats).toMatchObject({ received: '10000', duplicates: '999', dropped_disabled: '9000' });
      expect((await records(flooding.id)).nodes).toEqual([expect.objectContaining({ title: 'Duplicate alert storm', duplicateCount: 999 })]);

      // The others are untouched: the second push connector takes messages, the polled one ingests.
      expect(await curl('/services/collector/event', JSON.stringify({ event: cef('Quiet one') }), quiet.token)).toMatchObject({ status: 200 });
      expect((await records(quiet.id)).totalCount).toBe(1);
      await waitFor('the polled connector ingests', async () => (await records(polled.id)).totalCount === 20, 20_000);

      // Upstream fixed: enabled again, the flooding source ingests again.
      await svc.ok(TOGGLE, { id: flooding.id, enabled: true }, adminA);
      expect(await curl('/services/collector/event', JSON.stringify({ event: cef('After the fix') }), flooding.token)).toMatchObject({ status: 200 });
      expect((await records(flooding.id)).nodes.map((n: any) => n.title).sort()).toEqual(['After the fix', 'Duplicate alert storm']);
    } finally {
      await up.close();
    }
  });
});

describe('Connector.intake and Connector.intakeTokens', () => {
  test('a page of connectors reads their intake counters and tokens in one statement each', async () => {
    const tenant = await admin('hecStats');
    const made = [];
    for (let i = 0; i < 4; i++) made.push(await pushConnector('http_collector', tenant));
    for (const c of made) expect(await curl('/services/collector/event', JSON.stringify({ event: { n: c.id } }), c.token)).toMatchObject({ status: 200 });
    const one = await svc.gql(`{ connectors(first: 1) { nodes { id } } }`, {}, tenant);
    const all = await svc.gql(`{ connectors(first: 20) { nodes { id intake { received accepted lastSender } intakeTokens { id } } } }`, {}, tenant);
    const nodes = (all.body.data as any).connectors.nodes;
    expect(nodes).toHaveLength(4);
    for (const n of nodes) expect(n).toMatchObject({ intake: { received: 1, accepted: 1, lastSender: expect.stringMatching(/127\.0\.0\.1/) }, intakeTokens: [{ id: expect.any(String) }] });
    // The page, then one statement for all intake counters and one for all tokens.
    expect(all.statements - one.statements).toBe(2);
    // Another tenant sees none of it.
    const other = (await svc.ok(`{ connectors(first: 20) { nodes { id } } }`, {}, adminB)).connectors.nodes.map((n: any) => n.id);
    for (const c of made) expect(other).not.toContain(c.id);
  });
});
