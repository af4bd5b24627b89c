/**
 * The syslog receiver, driven by senders nobody here wrote: util-linux `logger` (UDP, TCP with
 * octet counting and with LF framing, RFC 3164 and RFC 5424 headers) and `rsyslogd` (imudp in,
 * omfwd out over TCP octet-counted and over TLS with gtls). Each message lands as a normalized
 * record on the one push connector its routing rule picks, of the right tenant; a sender matching
 * no connector reaches nobody, nor does one matching connectors of two tenants; a disabled
 * connector drops and counts; a flooding TCP sender is paused while the intake is held, and every
 * message arrives once it is released.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { formatCef } from '../../src/adapters/formats/index.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { SyslogFramer } from '../../src/modules/intake/syslog/framing.js';
import { readSyslogMessage } from '../../src/modules/intake/syslog/header.js';
import { decideRoute, type Route } from '../../src/modules/intake/syslog/router.js';
import { admin } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { makeRecords, startRestUpstream } from '../helpers/upstream.js';

const run = promisify(execFile);

const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id version } }`;
const UPDATE = `mutation($id: ID!, $v: Int!, $input: UpdateConnectorInput!) { updateConnector(id: $id, expectedVersion: $v, input: $input) { id version } }`;
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled) { id enabled } }`;
const RECORDS = `query($id: ID!) { connector(id: $id) { records(first: 100) { totalCount nodes { kind severity title data } } } }`;

const dir = mkdtempSync(join(tmpdir(), 'syslog-test-'));
let svc: TestService;
let adminA: string;
let adminB: string;

/** A throwaway CA and a server certificate for localhost / 127.0.0.1, made with the openssl CLI. */
async function makeCertificates(): Promise<{ ca: string; cert: string; key: string }> {
  const f = (name: string) => join(dir, name);
  writeFileSync(f('san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=syslog test CA']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('san.cnf')]);
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

let certs: { ca: string; cert: string; key: string };

beforeAll(async () => {
  certs = await makeCertificates();
  svc = await startTestService('intake_syslog', {
    SYSLOG_HOST: '127.0.0.1',
    SYSLOG_UDP_PORT: '0',
    SYSLOG_TCP_PORT: '0',
    SYSLOG_TLS_PORT: '0',
    SYSLOG_TLS_CERT: certs.cert,
    SYSLOG_TLS_KEY: certs.key,
    SYSLOG_QUEUE_MAX: '200',
    INTAKE_MAX_PENDING: '100',
  });
  adminA = await admin('syslogA');
  adminB = await admin('syslogB');
});
afterAll(async () => svc?.close());

const ports = () => svc.syslog!.ports;
const counters = () => svc.syslog!.counters;

/** A push connector routed from loopback by its rule, once this process's routing table has it. */
async function connector(provider: string, config: Record<string, unknown>, bearer = adminA): Promise<{ id: string; version: number }> {
  const c = (await svc.ok(CREATE, { input: { name: `${provider} ${Math.random()}`, provider, config: { senders: ['127.0.0.1/32'], ...config }, enabled: true } }, bearer)).createConnector;
  await waitFor('the connector in the routing table', () => svc.syslog!.hasRoute(c.id), 1000, 10);
  return c;
}

async function records(id: string, bearer = adminA) {
  return (await svc.ok(RECORDS, { id }, bearer)).connector.records;
}

async function waitForRecords(id: string, n: number, bearer = adminA, timeoutMs = 15_000) {
  return waitFor(`${n} record(s) on ${id}`, async () => {
    const got = await records(id, bearer);
    return got.totalCount >= n ? got : null;
  }, timeoutMs);
}

async function totalRecords(): Promise<number> {
  const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM ingested_records');
  return n;
}

/** util-linux logger to our receiver: `transport` is --udp, or --tcp with or without --octet-count. */
async function logger(args: string[], message: string | null, port: number): Promise<void> {
  await run('logger', ['-n', '127.0.0.1', '-P', String(port), ...args, ...(message === null ? [] : [message])]);
}

const cef = (name: string, src = '198.51.100.7', severity = 7) =>
  formatCef({ vendor: 'Acme', product: 'FW', productVersion: '1.0', eventId: name.replace(/\W/g, ''), name, severity, src, dst: '203.0.113.9', dstPort: 22 });

describe('framing, headers and routing (pure)', () => {
  function frames(input: Buffer, chunk = 1, max = 64) {
    const out: string[] = [];
    const events = { oversized: 0, errors: 0 };
    const framer = new SyslogFramer({ onMessage: (m) => out.push(m.toString()), onOversized: () => void events.oversized++, onError: () => void events.errors++ }, max);
    for (let i = 0; i < input.length; i += chunk) framer.push(input.subarray(i, i + chunk));
    framer.end();
    return { out, ...events, buffered: framer.buffered };
  }

  test.each([1, 3, 1000])('octet counting and LF framing, in chunks of %i bytes; oversized frames are skipped', (chunk) => {
    const big = 'x'.repeat(100);
    expect(frames(Buffer.from(`4 <1>a9 <1>b c\nde${big.length} ${big}2 ok`), chunk)).toMatchObject({ out: ['<1>a', '<1>b c\nde', 'ok'], oversized: 1, errors: 0 });
    expect(frames(Buffer.from(`<1>one\r\n<1>two\n${big}\n<1>three`), chunk)).toMatchObject({ out: ['<1>one', '<1>two', '<1>three'], oversized: 1, errors: 0 });
    // Octet counting that loses its framing stops reading (the connection is closed).
    expect(frames(Buffer.from('6 <1>abcxyz 7 <1>def'), chunk)).toMatchObject({ out: ['<1>abc'], errors: 1 });
  });

  test('an oversized LF line is never held: the framer keeps at most the limit', () => {
    const framer = new SyslogFramer({ onMessage: () => undefined, onOversized: () => undefined, onError: () => undefined }, 64);
    for (let i = 0; i < 1000; i++) framer.push(Buffer.from('y'.repeat(50)));
    expect(framer.buffered).toBe(0);
  });

  test('headers: RFC 3164 and RFC 5424 with CEF, JSON and structured data; a header-less line is kept whole', () => {
    const now = new Date('2026-12-03T12:00:00Z');
    expect(readSyslogMessage('<134>Dec  3 10:00:00 fw1 fwapp[12]: {"a":1}', now)).toEqual({
      hostname: 'fw1', appName: 'fwapp', timestamp: '2026-12-03T10:00:00.000Z', text: '{"a":1}', json: null, format: 'rfc3164',
    });
    const line = `<13>1 2026-12-03T10:00:00.5+01:00 fw2 arc - - - ${cef('x')}`;
    expect(readSyslogMessage(line, now)).toMatchObject({ hostname: 'fw2', appName: 'arc', timestamp: '2026-12-03T09:00:00.500Z', text: line });
    expect(readSyslogMessage('<13>1 - - - - ID1 [ex@32473 iut="3" a="x\\"y" a="z"] hello', now)).toMatchObject({
      hostname: null, appName: null, text: 'hello',
      json: { message: 'hello', msgId: 'ID1', structuredData: { 'ex@32473': { iut: '3', a: ['x"y', 'z'] } } },
    });
    expect(readSyslogMessage('just text', now)).toMatchObject({ hostname: null, appName: null, text: 'just text', format: null });
  });

  test('configuration: unset ports mean no listener; a TLS port without its certificate and key is refused at start-up', () => {
    expect(loadConfig({}).syslog).toMatchObject({ host: '0.0.0.0', udpPort: undefined, tcpPort: undefined, tlsPort: undefined });
    expect(() => loadConfig({ SYSLOG_TLS_PORT: '6514' })).toThrow(ConfigError);
    expect(() => loadConfig({ SYSLOG_TLS_PORT: '6514', SYSLOG_TLS_CERT: '/nonexistent.pem', SYSLOG_TLS_KEY: '/nonexistent.key' })).toThrow(/SYSLOG_TLS_CERT/);
    expect(() => loadConfig({ SYSLOG_UDP_PORT: '70000' })).toThrow(/SYSLOG_UDP_PORT/);
  });

  test('routing: one tenant’s most specific rule wins; two tenants is ambiguous; none is unmatched', () => {
    const r = (tenantId: string, connectorId: string, config: Record<string, unknown>): Route => ({ tenantId, connectorId, provider: 'syslog_cef', enabled: true, config });
    const routes = [r('a', 'wide', { senders: ['10.0.0.0/8'] }), r('a', 'narrow', { senders: ['10.1.0.0/16'] }), r('a', 'named', { senders: ['10.1.0.0/16'], hostname: 'FW9' }), r('b', 'other', { senders: ['192.0.2.0/24'] }), r('a', 'clash', { senders: ['192.0.2.7'] })];
    expect(decideRoute(routes, '10.2.3.4', null, null)).toMatchObject({ kind: 'route', route: { connectorId: 'wide' } });
    expect(decideRoute(routes, '10.1.3.4', 'x', null)).toMatchObject({ kind: 'route', route: { connectorId: 'narrow' } });
    expect(decideRoute(routes, '::ffff:10.1.3.4', 'fw9', null)).toMatchObject({ kind: 'route', route: { connectorId: 'named' } });
    expect(decideRoute(routes, '192.0.2.7', null, null)).toEqual({ kind: 'ambiguous', tenants: 2 });
    expect(decideRoute(routes, '203.0.113.1', null, null)).toEqual({ kind: 'unmatched' });
  });
});

describe('logger to the receiver', () => {
  test('UDP, RFC 3164, CEF: an event record on the connector whose app-name rule matches', async () => {
    const c = await connector('syslog_cef', { appName: 'fwudp' });
    await logger(['--udp', '--rfc3164', '-t', 'fwudp'], cef('Port scan'), ports().udp!);
    const got = await waitForRecords(c.id, 1);
    expect(got.nodes[0]).toMatchObject({ kind: 'EVENT', severity: 7, title: 'Port scan', data: { format: 'CEF', vendor: 'Acme', src: '198.51.100.7', syslog: { format: 'rfc3164', appName: 'fwudp' } } });
  });

  test('TCP with octet counting, RFC 5424, LEEF 1.0 and 2.0', async () => {
    const c = await connector('syslog_leef', { appName: 'qradar' });
    const file = join(dir, 'leef.txt');
    writeFileSync(file, ['LEEF:1.0|IBM|QRadar|7.5|Login|src=192.0.2.4\tusrName=bob\tsev=4', 'LEEF:2.0|IBM|QRadar|7.5|LoginFailed|^|src=192.0.2.4^dst=192.0.2.5^usrName=alice^sev=6'].join('\n') + '\n');
    await logger(['--tcp', '--octet-count', '--rfc5424', '-t', 'qradar', '-f', file], null, ports().tcp!);
    const got = await waitForRecords(c.id, 2);
    expect(got.nodes.map((n: any) => n.title).sort()).toEqual(['Login', 'LoginFailed']);
    expect(got.nodes.find((n: any) => n.title === 'LoginFailed')).toMatchObject({ kind: 'EVENT', data: { format: 'LEEF', src: '192.0.2.4', user: 'alice', syslog: { format: 'rfc5424', appName: 'qradar' } } });
  });

  test('TCP with LF framing: Suricata EVE and Zeek JSON payloads after the header', async () => {
    const suricata = await connector('suricata_eve', { appName: 'suricata' });
    const zeek = await connector('zeek', { appName: 'zeek' });
    const eve = { timestamp: '2026-12-01T10:00:00.123456+0000', flow_id: 1, event_type: 'alert', src_ip: '10.0.0.5', src_port: 51515, dest_ip: '198.51.100.80', dest_port: 443, proto: 'TCP', alert: { signature_id: 2024897, signature: 'ET MALWARE Beacon', severity: 1 } };
    await logger(['--tcp', '--rfc3164', '-t', 'suricata'], JSON.stringify(eve), ports().tcp!);
    const log = { _path: 'notice', ts: 1764583200.25, uid: 'CHhAvVGS1DHFjwGM9', 'id.orig_h': '10.1.1.1', 'id.orig_p': 4444, 'id.resp_h': '10.1.1.2', 'id.resp_p': 22, note: 'SSH::Password_Guessing' };
    await logger(['--tcp', '--rfc5424', '-t', 'zeek'], JSON.stringify(log), ports().tcp!);
    expect((await waitForRecords(suricata.id, 1)).nodes[0]).toMatchObject({ severity: 8, title: 'ET MALWARE Beacon', data: { product: 'Suricata', dstPort: 443 } });
    expect((await waitForRecords(zeek.id, 1)).nodes[0]).toMatchObject({ title: 'SSH::Password_Guessing', data: { vendor: 'Zeek', src: '10.1.1.1' } });
  });

  test('RFC 5424 structured data becomes a record on an HTTP-collector connector', async () => {
    const c = await connector('http_collector', { appName: 'sdapp' });
    await logger(['--udp', '--rfc5424', '-t', 'sdapp', '--msgid', 'LOGIN', '--sd-id', 'auth@32473', '--sd-param', 'user="carol"', '--sd-param', 'result="fail"'], 'login failed', ports().udp!);
    const got = await waitForRecords(c.id, 1);
    expect(got.nodes[0].data).toMatchObject({ message: 'login failed', source: 'sdapp', msgId: 'LOGIN', structuredData: { 'auth@32473': { user: 'carol', result: 'fail' } } });
  });
});

describe('routing by tenant', () => {
  test('each tenant gets only its own senders’ messages; a sender matching two tenants and one matching none reach nobody', async () => {
    const a = await connector('syslog_cef', { appName: 'tenantA' }, adminA);
    const b = await connector('syslog_cef', { appName: 'tenantB' }, adminB);
    const clashA = await connector('syslog_cef', { appName: 'clash' }, adminA);
    const clashB = await connector('syslog_cef', { appName: 'clash' }, adminB);
    const before = counters();
    const total = await totalRecords();
    await logger(['--udp', '-t', 'tenantB'], cef('for B'), ports().udp!);
    await logger(['--udp', '-t', 'tenantA'], cef('for A'), ports().udp!);
    await logger(['--tcp', '-t', 'clash'], cef('for both'), ports().tcp!);
    await logger(['--tcp', '--octet-count', '-t', 'nobody'], cef('for nobody'), ports().tcp!);
    await waitForRecords(a.id, 1, adminA);
    await waitForRecords(b.id, 1, adminB);
    await waitFor('the unmatched and ambiguous messages counted', () => counters().unmatched > before.unmatched && counters().ambiguous > before.ambiguous);
    await sleep(300);
    expect((await records(a.id, adminA)).nodes.map((n: any) => n.title)).toEqual(['for A']);
    expect((await records(b.id, adminB)).nodes.map((n: any) => n.title)).toEqual(['for B']);
    expect((await records(clashA.id, adminA)).totalCount).toBe(0);
    expect((await records(clashB.id, adminB)).totalCount).toBe(0);
    expect(await totalRecords()).toBe(total + 2);
    expect(counters().unmatched - before.unmatched).toBe(1);
    expect(counters().ambiguous - before.ambiguous).toBe(1);
  });

  test('within one tenant the most specific sender rule wins', async () => {
    const wide = await connector('syslog_cef', { senders: ['127.0.0.0/8'], appName: 'specific' });
    const narrow = await connector('syslog_cef', { senders: ['127.0.0.1/32'], appName: 'specific' });
    await logger(['--udp', '-t', 'specific'], cef('narrow wins'), ports().udp!);
    await waitForRecords(narrow.id, 1);
    expect((await records(wide.id)).totalCount).toBe(0);
  });

  test('a change no NOTIFY announced (written straight to the table) is picked up by the one-second poll', async () => {
    const c = await connector('syslog_cef', { appName: 'unannounced-before' });
    await svc.dataSource.query(`UPDATE connectors SET config = config || '{"appName": "unannounced-after"}'::jsonb, version = version + 1 WHERE id = $1`, [c.id]);
    await sleep(1200);
    await logger(['--udp', '-t', 'unannounced-after'], cef('found by polling'), ports().udp!);
    expect((await waitForRecords(c.id, 1)).nodes[0].title).toBe('found by polling');
  });

  test('another process on the same database sees a rule change within a second', async () => {
    const other = await startTestService('intake_syslog', { DATABASE_URL: svc.databaseUrl, SYSLOG_HOST: '127.0.0.1', SYSLOG_UDP_PORT: '0' });
    try {
      const c = await connector('syslog_cef', { appName: 'before-change' });
      await svc.ok(UPDATE, { id: c.id, v: c.version, input: { config: { senders: ['127.0.0.1/32'], appName: 'after-change' } } }, adminA);
      await sleep(1000);
      await logger(['--udp', '-t', 'after-change'], cef('seen by the other process'), other.syslog!.ports.udp!);
      expect((await waitForRecords(c.id, 1)).nodes[0].title).toBe('seen by the other process');
    } finally {
      await other.close();
    }
  });
});

describe('a disabled connector', () => {
  test('drops syslog messages and counts them; enabled again, it takes messages within a second', async () => {
    const c = await connector('syslog_cef', { appName: 'toggled' });
    await svc.ok(TOGGLE, { id: c.id, enabled: false }, adminA);
    await logger(['--tcp', '--octet-count', '-t', 'toggled'], cef('while off'), ports().tcp!);
    await logger(['--udp', '-t', 'toggled'], cef('while off too'), ports().udp!);
    await waitFor('the drops counted', async () => {
      const [row] = await svc.dataSource.query('SELECT dropped_disabled FROM intake_stats WHERE connector_id = $1', [c.id]);
      return row && Number(row.dropped_disabled) === 2;
    });
    expect((await records(c.id)).totalCount).toBe(0);
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, adminA);
    const on = Date.now();
    await logger(['--udp', '-t', 'toggled'], cef('while on'), ports().udp!);
    await waitFor('the message stored', async () => {
      const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [c.id]);
      return n === 1;
    }, 3000, 20);
    // At once: the toggle is announced (LISTEN); a loaded machine gets a generous bound.
    expect(Date.now() - on).toBeLessThan(3000);
    expect((await records(c.id)).nodes.map((n: any) => n.title)).toEqual(['while on']);
  });
});

describe('rsyslog forwarding to the receiver', () => {
  let rsyslog: ChildProcess | null = null;

  afterAll(() => {
    rsyslog?.kill('SIGTERM');
  });

  async function freeUdpPort(): Promise<number> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const { port } = s.address();
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  test('rsyslogd takes UDP and forwards over TCP (octet-counted) and over TLS (gtls, RFC 5425): both arrive', async () => {
    const viaTcp = await connector('syslog_cef', { appName: 'viatcp' });
    const viaTls = await connector('syslog_cef', { appName: 'viatls' });
    const inPort = await freeUdpPort();
    const work = mkdtempSync(join(dir, 'rsyslog-'));
    const conf = join(work, 'rsyslog.conf');
    writeFileSync(
      conf,
      `global(workDirectory="${work}" defaultNetstreamDriverCAFile="${certs.ca}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="${inPort}")
if $programname == 'viatcp' then {
  action(type="omfwd" target="127.0.0.1" port="${ports().tcp}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}
if $programname == 'viatls' then {
  action(type="omfwd" target="127.0.0.1" port="${ports().tls}" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost")
}
`,
    );
    const pidFile = join(work, 'rsyslogd.pid');
    let stderr = '';
    rsyslog = spawn('rsyslogd', ['-n', '-f', conf, '-i', pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    rsyslog.stderr!.on('data', (d) => (stderr += d));
    rsyslog.stdout!.on('data', (d) => (stderr += d));
    await waitFor('rsyslogd started', () => existsSync(pidFile) || rsyslog!.exitCode !== null, 10_000);
    expect(rsyslog.exitCode).toBeNull();
    await sleep(300);
    await logger(['--udp', '--rfc3164', '-t', 'viatcp'], cef('through rsyslog over TCP'), inPort);
    await logger(['--udp', '--rfc3164', '-t', 'viatls'], cef('through rsyslog over TLS'), inPort);
    try {
      expect((await waitForRecords(viaTcp.id, 1)).nodes[0]).toMatchObject({ title: 'through rsyslog over TCP', data: { syslog: { format: 'rfc5424', appName: 'viatcp' } } });
      expect((await waitForRecords(viaTls.id, 1)).nodes[0]).toMatchObject({ title: 'through rsyslog over TLS', data: { syslog: { format: 'rfc3164', appName: 'viatls' } } });
    } catch (error) {
      const stats = await svc.dataSource.query('SELECT connector_id, received, accepted, rejected, last_error, last_sender FROM intake_stats WHERE connector_id = ANY($1)', [[viaTcp.id, viaTls.id]]);
      throw new Error(`${(error as Error).message}\nstats: ${JSON.stringify(stats)}\nrsyslogd said: ${stderr}\ncounters: ${JSON.stringify(counters())}\n${svc.logs.text().split('\n').filter((l) => /syslog|TLS/i.test(l)).slice(-20).join('\n')}`);
    }
  });
});

describe('back-pressure', () => {
  test('a TCP sender that floods while the intake is held is paused, not dropped: every message arrives', async () => {
    const c = await connector('syslog_cef', { appName: 'flood' });
    const other = await connector('syslog_cef', { appName: 'flood-other' });
    const n = 3000;
    const file = join(dir, 'flood.txt');
    writeFileSync(file, Array.from({ length: n }, (_, i) => cef(`flood ${i}`)).join('\n') + '\n');
    const before = counters();
    const blocker = new pg.Client({ connectionString: svc.databaseUrl });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM connectors WHERE id = $1 FOR UPDATE', [c.id]);
      const sending = logger(['--tcp', '--octet-count', '-t', 'flood', '-f', file], null, ports().tcp!);
      await waitFor('the connection paused', () => counters().pauses > before.pauses);
      // Meanwhile the intake is full: another connector's batch comes back busy and is retried, not lost.
      const lines = join(dir, 'other.txt');
      writeFileSync(lines, Array.from({ length: 20 }, (_, i) => cef(`other ${i}`)).join('\n') + '\n');
      await logger(['--tcp', '-t', 'flood-other', '-f', lines], null, ports().tcp!);
      await waitFor('a batch refused as busy', () => counters().busy > before.busy);
      // Bounded: the queue holds its limit plus what one read brought in, not the whole flood.
      await sleep(300);
      expect(svc.syslog!.queued).toBeLessThan(200 + 1500);
      expect(svc.syslog!.queued).toBeLessThan(n);
      await blocker.query('COMMIT');
      await sending;
    } finally {
      await blocker.end();
    }
    await waitFor('every flooded message stored', async () => {
      const [row] = await svc.dataSource.query('SELECT accepted FROM intake_stats WHERE connector_id = $1', [c.id]);
      return row && Number(row.accepted) === n;
    }, 30_000);
    const [{ count }] = await svc.dataSource.query('SELECT count(*)::int AS count FROM ingested_records WHERE connector_id = $1', [c.id]);
    expect(count).toBe(n);
    await waitForRecords(other.id, 20);
    expect(counters().droppedUdp).toBe(before.droppedUdp);
  });

  test('UDP datagrams beyond a full queue are dropped and counted', async () => {
    const c = await connector('syslog_cef', { appName: 'udpflood' });
    const before = counters();
    const blocker = new pg.Client({ connectionString: svc.databaseUrl });
    await blocker.connect();
    const socket = dgram.createSocket('udp4');
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM connectors WHERE id = $1 FOR UPDATE', [c.id]);
      for (let i = 0; i < 600; i++) {
        await new Promise<void>((r) => socket.send(`<13>Dec  3 10:00:00 host udpflood: ${cef(`u ${i}`)}`, ports().udp!, '127.0.0.1', () => r()));
        if (i % 50 === 0) await sleep(5);
      }
      await waitFor('datagrams dropped', () => counters().droppedUdp > before.droppedUdp);
      await blocker.query('COMMIT');
    } finally {
      socket.close();
      await blocker.end();
    }
    await sleep(500);
    const after = counters();
    const [row] = await svc.dataSource.query('SELECT received FROM intake_stats WHERE connector_id = $1', [c.id]);
    const dropped = after.droppedUdp - before.droppedUdp;
    // Every datagram read was either stored or counted as dropped.
    expect(Number(row.received) + dropped).toBe(after.received - before.received);
    // The drops are on the connector too, for its operators.
    await waitFor('the drops on the connector', async () => {
      const { intake } = (await svc.ok(`query($id: ID!) { connector(id: $id) { intake { droppedOverflow } } }`, { id: c.id }, adminA)).connector;
      return intake.droppedOverflow === dropped;
    }, 5000);
  });
});

describe('the SIEM flood, over syslog', () => {
  test('logger re-sends one CEF alert 10,000 times: the guard disables that connector while another push and a polled connector keep ingesting; re-enabled, it ingests again', async () => {
    const policy = { duplicateFloodRatio: 0.5, duplicateFloodMinRecords: 100, duplicateFloodAutoDisable: true };
    const flooding = await connector('syslog_cef', { appName: 'floodfw', ...policy });
    const quiet = await connector('syslog_cef', { appName: 'quietfw', ...policy });
    const up = await startRestUpstream({ records: makeRecords(20, 'polled'), pageSize: 10 });
    try {
      const polled = (
        await svc.ok(CREATE, { input: { name: 'polled feed', provider: 'generic_rest', enabled: true, config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600 } } }, adminA)
      ).createConnector;
      const file = join(dir, 'flood.log');
      writeFileSync(file, `${cef('Duplicate alert storm')}\n`.repeat(10_000));
      await run('logger', ['-n', '127.0.0.1', '-P', String(ports().tcp), '--tcp', '--octet-count', '-t', 'floodfw', '-f', file]);

      const state = `query($id: ID!) { connector(id: $id) { enabled enabledReason enabledChangedBy intake { received accepted duplicates droppedDisabled } } }`;
      const off = await waitFor('the flood guard to disable the connector', async () => {
        const c = (await svc.ok(state, { id: flooding.id }, adminA)).connector;
        return !c.enabled && c.intake?.received === 10_000 && c;
      }, 30_000, 200);
      expect(off.enabledChangedBy).toBe('health-monitor');
      expect(off.enabledReason).toMatch(/duplicate-flood guard: duplicate flood/);
      // Everything sent is accounted for: decoded before the guard tripped, or dropped after.
      expect(off.intake.accepted + off.intake.droppedDisabled).toBe(10_000);
      expect(off.intake.droppedDisabled).toBeGreaterThan(0);
      expect((await records(flooding.id)).nodes).toEqual([expect.objectContaining({ title: 'Duplicate alert storm' })]);

      // The others are untouched.
      await logger(['--tcp', '-t', 'quietfw'], cef('Quiet one'), ports().tcp!);
      expect((await waitForRecords(quiet.id, 1)).nodes[0].title).toBe('Quiet one');
      await svc.services.ingestion.execute({ connectorId: polled.id, tenantId: 'syslogA', trigger: 'manual' }, 'flood-test-sync', 'flood-test', new AbortController().signal);
      expect((await records(polled.id)).totalCount).toBe(20);

      // Upstream fixed: enabled again, the source ingests again.
      await svc.ok(TOGGLE, { id: flooding.id, enabled: true }, adminA);
      await sleep(1100);
      await logger(['--tcp', '-t', 'floodfw'], cef('After the fix'), ports().tcp!);
      const after = await waitForRecords(flooding.id, 2);
      expect(after.nodes.map((n: any) => n.title).sort()).toEqual(['After the fix', 'Duplicate alert storm']);
    } finally {
      await up.close();
    }
  });
});
