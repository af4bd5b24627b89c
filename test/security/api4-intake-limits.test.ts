/**
 * OWASP API Security Top 10 (2023), API4 (and API2) for the push intake, a new entry point:
 * a body over INTAKE_MAX_BODY_BYTES is refused before it is read whole; each intake token has its
 * own request budget (INTAKE_RATE_LIMIT_PER_TOKEN); guessing tokens is slowed by the per-address
 * budget of requests without a valid token (RATE_LIMIT_ANONYMOUS); no token, valid or guessed,
 * appears in a log line; the service stays healthy throughout.
 */
import { admin } from '../helpers/tokens.js';
import { startTestService, type TestService } from '../helpers/server.js';

let svc: TestService;
let connectorId: string;
let token: string;

beforeAll(async () => {
  svc = await startTestService('security_intake', {
    INTAKE_MAX_BODY_BYTES: '2048',
    INTAKE_RATE_LIMIT_PER_TOKEN: '5',
    RATE_LIMIT_ANONYMOUS: '4',
  });
  const a = await admin('intake-sec');
  const c = (await svc.ok(`mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`, { input: { name: 'hec', provider: 'http_collector', enabled: true } }, a)).createConnector;
  connectorId = c.id;
  token = (await svc.ok(`mutation($id: ID!) { createIntakeToken(connectorId: $id, name: "t") { token } }`, { id: c.id }, a)).createIntakeToken.token;
});
afterAll(async () => svc?.close());

const post = (body: string, auth: string | null) =>
  fetch(`${svc.url}/services/collector/event`, { method: 'POST', headers: auth ? { authorization: auth } : {}, body });

async function stored(): Promise<number> {
  const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [connectorId]);
  return n;
}

describe('API4:2023 / API2:2023 for the push intake', () => {
  test('a body over INTAKE_MAX_BODY_BYTES is refused with 413 and nothing is stored', async () => {
    const big = JSON.stringify({ event: 'x'.repeat(4096) });
    const res = await post(big, `Splunk ${token}`);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 27 });
    expect(await stored()).toBe(0);
  });

  test('each intake token has its own budget: past it, 429 with Retry-After, and the service stays up', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(JSON.stringify({ event: { n: i } }), `Splunk ${token}`)).status);
    // The oversized request above was refused before authentication: it did not use the budget.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await post(JSON.stringify({ event: { n: 99 } }), `Splunk ${token}`);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await stored()).toBe(5);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });

  test('guessing tokens is slowed per address: past RATE_LIMIT_ANONYMOUS, 429 before any lookup', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post('{"event":"x"}', `Splunk hec_${String(i).padStart(43, 'G')}`)).status);
    expect(statuses.slice(0, 4)).toEqual([403, 403, 403, 403]);
    expect(statuses.slice(4)).toEqual([429, 429]);
  });

  test('no intake token, valid or guessed, is written to a log line', () => {
    const everything = svc.logs.text();
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.slice(4));
    expect(everything).not.toMatch(/hec_G{10}/);
  });
});

describe('API4:2023 for the syslog receiver: an oversized frame', () => {
  let syslog: TestService;
  let bearer: string;

  beforeAll(async () => {
    syslog = await startTestService('security_syslog', { SYSLOG_HOST: '127.0.0.1', SYSLOG_TCP_PORT: '0', SYSLOG_UDP_PORT: '0' });
    bearer = await admin('syslog-sec');
  });
  afterAll(async () => syslog?.close());

  test('is skipped and counted, never buffered whole; the frames after it arrive and the service stays up', async () => {
    const { createConnector: c } = await syslog.ok(
      `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id } }`,
      { input: { name: 'syslog', provider: 'http_collector', enabled: true, config: { senders: ['127.0.0.1/32'], appName: 'big' } } },
      bearer,
    );
    const deadlineRoute = Date.now() + 5000;
    while (!syslog.syslog!.hasRoute(c.id) && Date.now() < deadlineRoute) await new Promise((r) => setTimeout(r, 20));
    const { createConnection } = await import('node:net');
    const port = syslog.syslog!.ports.tcp!;
    const frame = (msg: string) => `${Buffer.byteLength(msg)} ${msg}`;
    const huge = `<13>Dec  3 10:00:00 host big: ${'A'.repeat(200 * 1024)}`;
    // Octet counting: a 200 KiB frame between two small ones, then LF framing on another connection.
    for (const payload of [frame('<13>Dec  3 10:00:00 host big: before') + frame(huge) + frame('<13>Dec  3 10:00:00 host big: after'), `${huge}\n<13>Dec  3 10:00:00 host big: after LF\n`]) {
      await new Promise<void>((resolve, reject) => {
        const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.end(payload));
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
    }
    const deadline = Date.now() + 10_000;
    let messages: string[] = [];
    while (Date.now() < deadline) {
      const rows = await syslog.dataSource.query(`SELECT record->>'message' AS m FROM ingested_records WHERE connector_id = $1`, [c.id]);
      messages = rows.map((r: { m: string }) => r.m).sort();
      if (messages.length >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(messages).toEqual(['after', 'after LF', 'before']);
    expect(syslog.syslog!.counters.oversized).toBe(2);
    expect((await fetch(`${syslog.url}/healthz`)).status).toBe(200);
  });
});
