/**
 * Issue 20, part B: schedules (cron in a time zone, sync windows, nextSyncAt), cursor resets
 * (backfill from a point in time) and paging both ways with cursors bound to their list.
 *
 * The real service with its worker; the scheduling clock is the service's own `clock` (one source
 * for the next run's start, the windows and nextSyncAt), set per step so the DST days of 2027 in
 * Europe/Berlin are walked deterministically while runs and pg-boss keep real time. Every future
 * start is read back from the queued job itself and from `Connector.nextSyncAt`.
 */
import { admin, editor, viewer } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { CREATE, UPDATE } from '../helpers/fixtures.js';
import { startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import { PAGE, walkBothWays, type Page } from '../helpers/paging.js';

const WORKER_ENV = { RUN_WORKERS: 'true', JOB_POLL_MS: '500', JOB_MAINTENANCE_SEC: '60', JOB_TIMEOUT_SEC: '10', STALE_RUN_SEC: '5' };
const SYNC = 'mutation($id: ID!) { syncConnector(id: $id) { id status } }';
const NEXT = `query($id: ID!) { connector(id: $id) { id enabled nextSyncAt schedule { cron intervalSec timezone windows { days start end } }
  ingestionRuns(first: 50) { id status trigger recordsRead recordsWritten duplicates error } } }`;
const RESET = 'mutation($id: ID!, $from: DateTime, $reason: String!) { resetConnectorCursor(id: $id, from: $from, reason: $reason) { id version } }';
const TOGGLE = 'mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled) { id enabled } }';

let svc: TestService;
let ed: string;
let ad: string;
const upstreams: RestUpstream[] = [];

beforeAll(async () => {
  svc = await startTestService('fleet-schedules', WORKER_ENV);
  ed = await editor('t1', { subject: 'ops' });
  ad = await admin('t1');
});

afterAll(async () => {
  await svc?.close();
  for (const up of upstreams) await up.close();
});

async function upstream(records: Record<string, unknown>[] = [], options: { sinceField?: string; pageSize?: number } = {}): Promise<RestUpstream> {
  const up = await startRestUpstream({ records, pageSize: options.pageSize ?? 50, sinceField: options.sinceField });
  upstreams.push(up);
  return up;
}

const at = (iso: string) => () => new Date(iso);

async function queuedStart(connectorId: string): Promise<string | null> {
  const rows = await svc.dataSource.query(`SELECT start_after FROM pgboss.job WHERE name = 'connector-sync' AND singleton_key = $1 AND state = 'created'`, [connectorId]);
  return rows.length === 1 ? new Date(rows[0].start_after).toISOString() : null;
}

async function runs(connectorId: string): Promise<Array<{ id: string; status: string; recordsRead: number; recordsWritten: number; duplicates: number; error: string | null }>> {
  return (await svc.ok(NEXT, { id: connectorId }, ed)).connector.ingestionRuns;
}

/** Runs the connector once with the scheduling clock at `clock`; returns the start of the run queued after it. */
async function runWithClock(connectorId: string, clock: string): Promise<string> {
  svc.services.ingestion.clock = at(clock);
  const before = (await runs(connectorId)).filter((r) => r.status === 'SUCCEEDED').length;
  await svc.ok(SYNC, { id: connectorId }, ed);
  await waitFor(`a run of ${connectorId} at ${clock}`, async () => (await runs(connectorId)).filter((r) => r.status === 'SUCCEEDED').length > before);
  return waitFor('the next run queued', () => queuedStart(connectorId));
}

function restConfig(up: RestUpstream, extra: Record<string, unknown> = {}) {
  return { baseUrl: up.url, path: '/items', syncIntervalSec: 3600, ...extra };
}

async function create(name: string, config: Record<string, unknown>, enabled = true, tags: string[] = []) {
  return (await svc.ok(CREATE, { input: { name, provider: 'generic_rest', enabled, tags, config } }, ed)).createConnector;
}

describe('cron schedules across DST (Europe/Berlin, 2027)', () => {
  test('"0 2 * * *": the skipped 02:00 of 28 March runs at 03:00 CEST; the repeated 02:00 of 31 October runs once', async () => {
    const up = await upstream();
    svc.services.ingestion.clock = at('2027-03-27T10:00:00Z');
    const c = await create('Nightly', restConfig(up, { schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin' } }), false);
    const shown = (await svc.ok(NEXT, { id: c.id }, ed)).connector;
    expect(shown.schedule).toEqual({ cron: '0 2 * * *', intervalSec: null, timezone: 'Europe/Berlin', windows: [] });
    expect(shown.nextSyncAt).toBeNull(); // disabled
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    await waitFor('the enable run', async () => (await runs(c.id)).some((r) => r.status === 'SUCCEEDED'));

    // Saturday noon → Sunday 28 March: 02:00 does not exist; 03:00 CEST = 01:00Z.
    expect(await runWithClock(c.id, '2027-03-27T11:00:00Z')).toBe('2027-03-28T01:00:00.000Z');
    expect((await svc.ok(NEXT, { id: c.id }, ed)).connector.nextSyncAt).toBe('2027-03-28T01:00:00.000Z');
    // The run of 03:00 CEST → Monday 02:00 CEST = 00:00Z.
    expect(await runWithClock(c.id, '2027-03-28T01:00:05Z')).toBe('2027-03-29T00:00:00.000Z');
    // 31 October: the first 02:00 (CEST, 00:00Z) fires ...
    expect(await runWithClock(c.id, '2027-10-30T12:00:00Z')).toBe('2027-10-31T00:00:00.000Z');
    // ... and the repeated 02:00 (CET, 01:00Z) does not: next is 1 November 02:00 CET.
    expect(await runWithClock(c.id, '2027-10-31T00:00:05Z')).toBe('2027-11-01T01:00:00.000Z');
    expect((await svc.ok(NEXT, { id: c.id }, ed)).connector.nextSyncAt).toBe('2027-11-01T01:00:00.000Z');
  });

  test('"*/30 * * * *": no run in the skipped hour, two runs an hour apart in the repeated one', async () => {
    const up = await upstream();
    svc.services.ingestion.clock = at('2027-03-28T00:40:00Z');
    const c = await create('Half-hourly', restConfig(up, { schedule: { cron: '*/30 * * * *', timezone: 'Europe/Berlin' } }));
    await waitFor('the enable run', async () => (await runs(c.id)).some((r) => r.status === 'SUCCEEDED'));
    // 01:45 CET → 03:00 CEST (02:00 and 02:30 do not exist).
    expect(await runWithClock(c.id, '2027-03-28T00:45:00Z')).toBe('2027-03-28T01:00:00.000Z');
    // 02:45 CEST → 02:00 CET, the repeated hour (01:00Z) ...
    expect(await runWithClock(c.id, '2027-10-31T00:45:00Z')).toBe('2027-10-31T01:00:00.000Z');
    // ... then 02:30 CET (01:30Z).
    expect(await runWithClock(c.id, '2027-10-31T01:10:00Z')).toBe('2027-10-31T01:30:00.000Z');
  });
});

describe('sync windows', () => {
  const weekdays = { days: ['MON', 'TUE', 'WED', 'THU', 'FRI'], start: '08:00', end: '18:00' };

  test('a run due at 19:00 outside a 08:00–18:00 window starts at 08:00 the next weekday', async () => {
    const up = await upstream();
    svc.services.ingestion.clock = at('2027-06-02T15:30:00Z');
    // Every 90 minutes, on weekdays 08:00–18:00 Berlin (CEST, UTC+2).
    const c = await create('Office hours', restConfig(up, { syncIntervalSec: 5400, schedule: { timezone: 'Europe/Berlin', windows: [weekdays] } }));
    await waitFor('the enable run', async () => (await runs(c.id)).some((r) => r.status === 'SUCCEEDED'));
    // Wednesday 17:30 → due 19:00 → Thursday 08:00 CEST.
    expect(await runWithClock(c.id, '2027-06-02T15:30:00Z')).toBe('2027-06-03T06:00:00.000Z');
    // Friday 17:30 → due 19:00 → Monday 08:00.
    expect(await runWithClock(c.id, '2027-06-04T15:30:00Z')).toBe('2027-06-07T06:00:00.000Z');
    expect((await svc.ok(NEXT, { id: c.id }, ed)).connector).toMatchObject({
      nextSyncAt: '2027-06-07T06:00:00.000Z',
      schedule: { cron: null, intervalSec: 5400, timezone: 'Europe/Berlin', windows: [weekdays] },
    });
  });

  test('a job that comes due outside the window is queued again for the opening and does not run', async () => {
    const up = await upstream([{ id: 'x' }]);
    svc.services.ingestion.clock = at('2027-06-02T10:00:00Z');
    const c = await create('Held', restConfig(up, { schedule: { timezone: 'Europe/Berlin', windows: [weekdays] } }));
    await waitFor('the enable run', async () => (await runs(c.id)).some((r) => r.status === 'SUCCEEDED'));
    // And the health check enabling schedules at once, whose sample query also reaches the upstream.
    await waitFor('the first check', async () => ((await svc.dataSource.query('SELECT 1 FROM connectors WHERE id = $1 AND last_checked_at IS NOT NULL', [c.id])).length ? true : null));
    const requests = up.requests.length;
    // Saturday noon: the manual run waits for Monday 08:00 CEST.
    svc.services.ingestion.clock = at('2027-06-05T10:00:00Z');
    const run = (await svc.ok(SYNC, { id: c.id }, ed)).syncConnector;
    expect(await waitFor('the held job', async () => ((await queuedStart(c.id)) === '2027-06-07T06:00:00.000Z' ? true : null))).toBe(true);
    expect(up.requests.length).toBe(requests);
    const held = (await runs(c.id)).find((r) => r.id === run.id)!;
    expect(held.status).toBe('QUEUED');
    const [{ job_id }] = await svc.dataSource.query('SELECT job_id FROM ingestion_runs WHERE id = $1', [run.id]);
    const [job] = await svc.dataSource.query(`SELECT state, start_after FROM pgboss.job WHERE id::text = $1`, [job_id]);
    expect(job.state).toBe('created');
    expect(new Date(job.start_after).toISOString()).toBe('2027-06-07T06:00:00.000Z');
    expect((await svc.ok(NEXT, { id: c.id }, ed)).connector.nextSyncAt).toBe('2027-06-07T06:00:00.000Z');
  });

  test('a window may cross midnight: Saturday 22:00–02:00 covers the early hours of Sunday', async () => {
    const up = await upstream();
    // Saturday 23:30 CEST: inside; the run goes ahead.
    svc.services.ingestion.clock = at('2027-06-05T21:30:00Z');
    const c = await create('Night', restConfig(up, { syncIntervalSec: 5400, schedule: { timezone: 'Europe/Berlin', windows: [{ days: ['SAT'], start: '22:00', end: '02:00' }] } }));
    await waitFor('the enable run', async () => (await runs(c.id)).some((r) => r.status === 'SUCCEEDED'));
    // Sunday 00:15 CEST (inside, via Saturday): due 01:45, still inside.
    expect(await runWithClock(c.id, '2027-06-05T22:15:00Z')).toBe('2027-06-05T23:45:00.000Z');
    // Sunday 01:00 CEST: due 02:30, closed since 02:00 → next Saturday 22:00 CEST.
    expect(await runWithClock(c.id, '2027-06-05T23:00:00Z')).toBe('2027-06-12T20:00:00.000Z');
  });

  test('nextSyncAt is null for a push connector and a disabled one', async () => {
    const push = (await svc.ok(CREATE, { input: { name: 'Syslog', provider: 'syslog_cef', enabled: true, config: {} } }, ed)).createConnector;
    expect((await svc.ok(NEXT, { id: push.id }, ed)).connector).toMatchObject({ nextSyncAt: null, schedule: null });
  });

  test('an invalid cron, time zone or window is BAD_USER_INPUT naming the field, and changes nothing', async () => {
    const up = await upstream();
    const [{ n: before }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM connectors WHERE tenant_id = 't1'`);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ cron: '61 * * * *', timezone: 'Europe/Berlin' }, 'config.schedule.cron'],
      [{ cron: 'every day', timezone: 'UTC' }, 'config.schedule.cron'],
      [{ cron: '0 2 * * *', timezone: 'Europe/Atlantis' }, 'config.schedule.timezone'],
      [{ windows: [{ days: ['MON'], start: '25:00', end: '18:00' }] }, 'config.schedule.windows.0.start'],
      [{ windows: [{ days: ['MON'], start: '08:00', end: '08:00' }] }, 'config.schedule.windows.0.end'],
      [{ windows: [{ days: ['MONDAY'], start: '08:00', end: '18:00' }] }, 'config.schedule.windows.0.days.0'],
    ];
    for (const [schedule, path] of cases) {
      const res = await svc.gql(CREATE, { input: { name: 'Bad', provider: 'generic_rest', config: restConfig(up, { schedule }) } }, ed);
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      const fields = JSON.stringify(res.body.errors![0]!.extensions);
      expect(fields).toContain(path);
    }
    const [{ n: after }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM connectors WHERE tenant_id = 't1'`);
    expect(after).toBe(before);

    const c = await create('Good', restConfig(up, { schedule: { cron: '*/15 * * * *', timezone: 'Europe/Berlin' } }), false);
    const res = await svc.gql(UPDATE, { id: c.id, v: c.version, input: { config: restConfig(up, { schedule: { cron: '*/15 * * * *', timezone: 'Nowhere/Else' } }) } }, ed);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(res.body.errors![0]!.extensions)).toContain('config.schedule.timezone');
    const [row] = await svc.dataSource.query('SELECT version, config FROM connectors WHERE id = $1', [c.id]);
    expect(row.version).toBe(c.version);
    expect(row.config.schedule).toEqual({ cron: '*/15 * * * *', timezone: 'Europe/Berlin' });
  });
});

describe('resetConnectorCursor', () => {
  const base = Date.now() - 2 * 3600_000;
  const seen = (i: number) => new Date(base + i * 60_000).toISOString();
  const records = Array.from({ length: 10 }, (_, i) => ({ id: `alert-${i}`, seen: seen(i), title: `alert ${i}` }));
  const cursored = (up: RestUpstream) =>
    restConfig(up, { query: { since: '{{window.start}}' }, cursor: { field: '/seen', type: 'datetime' }, dedupKey: ['/id'] });

  async function count(id: string): Promise<number> {
    const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [id]);
    return n;
  }

  async function succeeded(id: string, n: number) {
    return waitFor(`${n} succeeded runs`, async () => {
      const done = (await runs(id)).filter((r) => r.status === 'SUCCEEDED');
      return done.length >= n ? done : null;
    });
  }

  beforeEach(() => {
    svc.services.ingestion.clock = () => new Date();
  });

  test('from a point in time: the upstream is asked from there, the range is read again, nothing is stored twice; audited', async () => {
    const up = await upstream(records, { sinceField: 'seen' });
    const c = await create('Alerts', cursored(up));
    await succeeded(c.id, 1);
    expect(await count(c.id)).toBe(10);
    const [{ cursor: before }] = await svc.dataSource.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1', [c.id]);
    expect(before.streams.record.value).toBe(seen(9));

    const from = seen(5);
    await svc.ok(RESET, { id: c.id, from, reason: 'replay after the parser fix' }, ed);
    const [done] = await succeeded(c.id, 2);
    const last = up.requests[up.requests.length - 1]!;
    expect(new URL(last.path, up.url).searchParams.get('since')).toBe(from);
    expect(done).toMatchObject({ recordsRead: 5, recordsWritten: 0, duplicates: 5 });
    expect(await count(c.id)).toBe(10);

    const event = (await svc.ok(`query($id: ID!) { auditEvents(filter: { targetId: $id, eventType: [CONNECTOR_CURSOR_RESET] }) { nodes { eventType reason actorId changes } } }`, { id: c.id }, ad)).auditEvents.nodes;
    expect(event).toHaveLength(1);
    expect(event[0]).toMatchObject({ eventType: 'CONNECTOR_CURSOR_RESET', reason: 'replay after the parser fix', actorId: 'ops' });
    expect(event[0].changes).toEqual({
      cursor: { before: { v: 1, streams: { record: { value: seen(9), until: expect.any(String) } } }, after: { v: 1, streams: { record: { until: from } } } },
      from: { before: null, after: from },
    });
    expect(JSON.stringify(event[0].changes)).not.toContain(up.url);
  });

  test('without from: from the start (the first sync\'s lookback); still no duplicate rows', async () => {
    const up = await upstream(records, { sinceField: 'seen' });
    const c = await create('Replay all', cursored(up));
    await succeeded(c.id, 1);
    const t0 = Date.now();
    await svc.ok(RESET, { id: c.id, reason: 'full replay' }, ed);
    const [done] = await succeeded(c.id, 2);
    const since = Date.parse(new URL(up.requests[up.requests.length - 1]!.path, up.url).searchParams.get('since')!);
    expect(Math.abs(since - (t0 - 86400_000))).toBeLessThan(60_000);
    expect(done).toMatchObject({ recordsRead: 10, duplicates: 10 });
    expect(await count(c.id)).toBe(10);
  });

  test('a disabled connector keeps the reset until it is enabled', async () => {
    const up = await upstream(records, { sinceField: 'seen' });
    const c = await create('Later', cursored(up));
    await succeeded(c.id, 1);
    await svc.ok(TOGGLE, { id: c.id, enabled: false }, ed);
    const requests = up.requests.length;
    await svc.ok(RESET, { id: c.id, from: seen(7), reason: 'replay on enable' }, ed);
    expect(await queuedStart(c.id)).toBeNull();
    expect(up.requests.length).toBe(requests);
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    const [done] = await succeeded(c.id, 2);
    // Enabling also schedules a health check at once, whose sample query may come last: the run's
    // request is the one that carries a cursor, and it starts from the reset.
    const sinces = up.requests.slice(requests).map((r) => new URL(r.path, up.url).searchParams.get('since'));
    expect(sinces).toContain(seen(7));
    expect(sinces).not.toContain(seen(9));
    expect(done).toMatchObject({ recordsRead: 3, duplicates: 3 });
  });

  test('a run in flight during a reset does not commit its older cursor; the next run reads from the reset', async () => {
    const up = await upstream(records, { sinceField: 'seen' });
    const c = await create('In flight', cursored(up));
    await succeeded(c.id, 1);
    // The enabling health check's sample query must not pass for the run's request below.
    await waitFor('the first check', async () => ((await svc.dataSource.query('SELECT 1 FROM connectors WHERE id = $1 AND last_checked_at IS NOT NULL', [c.id])).length ? true : null));
    up.delayMs = 1500;
    await svc.ok(SYNC, { id: c.id }, ed);
    await waitFor('the run\'s request in flight', async () => up.inFlight > 0 && (await runs(c.id)).some((r) => r.status === 'RUNNING'));
    await svc.ok(RESET, { id: c.id, from: seen(2), reason: 'replay during a run' }, ed);
    up.delayMs = 0;
    const superseded = await waitFor('the superseded run', async () => (await runs(c.id)).find((r) => r.status === 'CANCELLED' && r.error?.startsWith('superseded')) ?? null);
    expect(superseded.recordsRead).toBe(0);
    const [done] = await succeeded(c.id, 2);
    expect(new URL(up.requests[up.requests.length - 1]!.path, up.url).searchParams.get('since')).toBe(seen(2));
    expect(done).toMatchObject({ recordsRead: 8, duplicates: 8 });
    const [{ cursor }] = await svc.dataSource.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1', [c.id]);
    expect(cursor.streams.record.value).toBe(seen(9));
    expect(await count(c.id)).toBe(10);
  });

  test('a from the provider cannot honour, a future from, a push connector, no reason: BAD_USER_INPUT and nothing changes', async () => {
    const up = await upstream(records);
    const plain = await create('No time cursor', restConfig(up), false);
    const res = await svc.gql(RESET, { id: plain.id, from: seen(1), reason: 'x' }, ed);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(res.body.errors![0]!.extensions)).toContain('"from"');
    // From the start is always possible.
    await svc.ok(RESET, { id: plain.id, reason: 'from the start' }, ed);

    const timed = await create('Timed', cursored(up), false);
    expect(errorCode(await svc.gql(RESET, { id: timed.id, from: new Date(Date.now() + 3600_000).toISOString(), reason: 'x' }, ed))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(RESET, { id: timed.id, from: seen(1), reason: '  ' }, ed))).toBe('BAD_USER_INPUT');
    const push = (await svc.ok(CREATE, { input: { name: 'Push', provider: 'syslog_cef', config: {} } }, ed)).createConnector;
    expect(errorCode(await svc.gql(RESET, { id: push.id, reason: 'x' }, ed))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(RESET, { id: timed.id, reason: 'x' }, await viewer('t1')))).toBe('FORBIDDEN');
    const rows = await svc.dataSource.query('SELECT connector_id FROM ingestion_cursors WHERE connector_id = ANY($1)', [[timed.id, push.id]]);
    expect(rows).toEqual([]);
    const events = await svc.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE event_type = 'CONNECTOR_CURSOR_RESET' AND connector_id = ANY($1)`, [[timed.id, push.id]]);
    expect(events[0].n).toBe(0);
  });
});

describe('paging both ways', () => {

  const walk = walkBothWays;

  let ids: string[] = [];
  let rec = '';
  beforeAll(async () => {
    svc.services.ingestion.clock = () => new Date();
    const up = await upstream(Array.from({ length: 8 }, (_, i) => ({ id: `p-${i}`, title: `p ${i}` })));
    ids = [];
    for (let i = 0; i < 6; i++) ids.push((await create(`Paged ${i}`, restConfig(up), false, ['paged'])).id);
    const c = await create('Records', restConfig(up, { dedupKey: ['/id'] }), true, ['paged-records']);
    rec = c.id;
    await waitFor('8 records', async () => {
      const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [rec]);
      return n === 8;
    });
    for (let i = 0; i < 5; i++) await svc.ok(UPDATE, { id: ids[0], v: i + 1, input: { name: `Paged 0 v${i + 2}` } }, ed);
  });

  const connectors = async (args: Record<string, unknown>, filter: Record<string, unknown> = { tag: 'paged' }) =>
    (await svc.ok(`query($f: ConnectorFilter, $first: Int, $after: String, $last: Int, $before: String) { connectors(filter: $f, first: $first, after: $after, last: $last, before: $before) { ${PAGE} } }`, { f: filter, ...args }, ed)).connectors as Page;
  const audit = async (args: Record<string, unknown>) =>
    (await svc.ok(`query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { auditEvents(filter: { targetId: $id }, first: $first, after: $after, last: $last, before: $before) { ${PAGE} } }`, { id: ids[0], ...args }, ad)).auditEvents as Page;
  const records = async (args: Record<string, unknown>) =>
    (await svc.ok(`query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { records(filter: { connectorIds: [$id] }, first: $first, after: $after, last: $last, before: $before) { ${PAGE} } }`, { id: rec, ...args }, ed)).records as Page;
  const nestedAudit = async (args: Record<string, unknown>) =>
    (await svc.ok(`query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { connector(id: $id) { auditEvents(first: $first, after: $after, last: $last, before: $before) { ${PAGE} } } }`, { id: ids[0], ...args }, ad)).connector.auditEvents as Page;
  const nestedRecords = async (args: Record<string, unknown>) =>
    (await svc.ok(`query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { connector(id: $id) { records(first: $first, after: $after, last: $last, before: $before) { ${PAGE} } } }`, { id: rec, ...args }, ed)).connector.records as Page;

  test('connectors: 6 in pages of 2, forwards and backwards', async () => {
    const forward = await walk(connectors, 2, 3);
    expect(forward.flatMap((p) => p.nodes.map((n) => n.id))).toEqual([...ids].sort().reverse());
  });

  test('auditEvents: 6 events of one connector in pages of 2; Connector.auditEvents the same', async () => {
    await walk(audit, 2, 3);
    await walk(nestedAudit, 3, 2);
  });

  test('records: 8 in pages of 2; Connector.records in pages of 4', async () => {
    await walk(records, 2, 4);
    await walk(nestedRecords, 4, 2);
  });

  test('a cursor of another list or another filter is BAD_USER_INPUT, not an empty page', async () => {
    const fromConnectors = (await connectors({ first: 1 })).pageInfo.endCursor!;
    const fromAudit = (await audit({ first: 1 })).pageInfo.endCursor!;
    const fromRecords = (await records({ first: 1 })).pageInfo.endCursor!;
    for (const res of [
      await svc.gql(`query($c: String) { connectors(first: 2, after: $c) { nodes { id } } }`, { c: fromAudit }, ed),
      await svc.gql(`query($c: String) { connectors(filter: { tag: "other" }, first: 2, after: $c) { nodes { id } } }`, { c: fromConnectors }, ed),
      await svc.gql(`query($c: String) { auditEvents(last: 2, before: $c) { nodes { id } } }`, { c: fromAudit }, ad),
      await svc.gql(`query($c: String) { records(first: 2, after: $c) { nodes { id } } }`, { c: fromConnectors }, ed),
      await svc.gql(`query($id: ID!, $c: String) { connector(id: $id) { records(first: 2, after: $c) { nodes { id } } } }`, { id: rec, c: fromRecords }, ed),
      await svc.gql(`query($id: ID!, $c: String) { connector(id: $id) { auditEvents(last: 2, before: $c) { nodes { id } } } }`, { id: ids[1], c: (await nestedAudit({ first: 1 })).pageInfo.endCursor }, ad),
    ]) {
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
    }
  });

  test('first and last together, or last beyond the page limit: BAD_USER_INPUT', async () => {
    expect(errorCode(await svc.gql(`{ connectors(first: 2, last: 2) { nodes { id } } }`, {}, ed))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(`{ auditEvents(first: 2, last: 2) { nodes { id } } }`, {}, ad))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(`{ records(first: 2, last: 2) { nodes { id } } }`, {}, ed))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(`{ connectors(last: 201) { nodes { id } } }`, {}, ed))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(`{ auditEvents(last: 101) { nodes { id } } }`, {}, ad))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(`{ records(last: -1) { nodes { id } } }`, {}, ed))).toBe('BAD_USER_INPUT');
  });

  test('a v1 cursor clients already hold still pages forwards and backwards', async () => {
    const all = (await connectors({ first: 6 })).nodes.map((n) => n.id);
    const v1 = (id: string) => Buffer.from(`v1:${id}`, 'utf8').toString('base64url');
    expect((await connectors({ first: 2, after: v1(all[1]!) })).nodes.map((n) => n.id)).toEqual(all.slice(2, 4));
    expect((await connectors({ last: 2, before: v1(all[4]!) })).nodes.map((n) => n.id)).toEqual(all.slice(2, 4));
    // An audit event id is no connector position.
    const eventId = (await svc.ok(`query($id: ID!) { auditEvents(filter: { targetId: $id }, first: 1) { nodes { id } } }`, { id: ids[0] }, ad)).auditEvents.nodes[0].id;
    expect(errorCode(await svc.gql(`query($c: String) { connectors(first: 2, after: $c) { nodes { id } } }`, { c: v1(eventId) }, ed))).toBe('BAD_USER_INPUT');
  });
});
