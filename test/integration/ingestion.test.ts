import { spawn, execSync, type ChildProcess } from 'node:child_process';
import { admin, editor } from '../helpers/tokens.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { CREATE } from '../helpers/fixtures.js';
import { makeRecords, startRestUpstream, type RestUpstream } from '../helpers/upstream.js';
import { sleep, waitFor } from '../helpers/wait.js';

const WORKER_ENV = { RUN_WORKERS: 'true', JOB_POLL_MS: '500', JOB_MAINTENANCE_SEC: '1', JOB_TIMEOUT_SEC: '3', STALE_RUN_SEC: '2' };
const TOGGLE = `mutation($id: ID!, $enabled: Boolean!, $reason: String, $v: Int) {
  toggleConnector(id: $id, enabled: $enabled, reason: $reason, expectedVersion: $v) { id enabled version config credentialVersion runState syncStatus enabledReason enabledChangedBy } }`;
const STATE = `query($id: ID!) { connector(id: $id) { enabled runState version lastSyncAt metrics { totalSynced last24h }
  ingestionRuns(first: 20) { id status trigger recordsRead recordsWritten duplicates error } } }`;

const upstreams: RestUpstream[] = [];
const services: TestService[] = [];
const children: ChildProcess[] = [];

async function upstream(records: Record<string, unknown>[], pageSize = 10): Promise<RestUpstream> {
  const up = await startRestUpstream({ records, pageSize });
  upstreams.push(up);
  return up;
}

async function service(label: string, env: Record<string, string> = {}): Promise<TestService> {
  const svc = await startTestService(label, env);
  services.push(svc);
  return svc;
}

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const svc of services) await svc.close();
  for (const up of upstreams) await up.close();
});

function restConnector(name: string, up: RestUpstream, extra: Record<string, unknown> = {}) {
  const { config, ...rest } = extra;
  return { name, provider: 'generic_rest', ...rest, config: { baseUrl: up.url, path: '/items', syncIntervalSec: 3600, ...((config as object) ?? {}) } };
}

async function sinkCount(svc: TestService, connectorId: string): Promise<number> {
  const [{ n }] = await svc.dataSource.query('SELECT count(*)::int AS n FROM ingested_records WHERE connector_id = $1', [connectorId]);
  return n;
}

describe('toggle', () => {
  let svc: TestService;
  let ed: string;
  beforeAll(async () => {
    svc = await service('toggle');
    ed = await editor('t1', { subject: 'soc-admin' });
  });

  test('ten toggles off and on keep config and credentials; ten events; version moves only on change', async () => {
    const up = await upstream([]);
    const c = (await svc.ok(CREATE, { input: restConnector('SIEM', up, { enabled: true, authType: 'API_KEY', credentials: { apiKey: 'siem-key-123' } }) }, ed)).createConnector;
    expect(c.credentialVersion).toBe(1);
    let version = c.version;
    for (let i = 0; i < 10; i++) {
      const enabled = i % 2 === 1;
      const res = (await svc.ok(TOGGLE, { id: c.id, enabled, reason: `flood ${i}`, v: version }, ed)).toggleConnector;
      expect(res).toMatchObject({ enabled, version: version + 1, config: c.config, credentialVersion: c.credentialVersion, enabledReason: `flood ${i}`, enabledChangedBy: 'soc-admin' });
      expect(res.syncStatus).toBe(enabled ? 'PENDING' : 'PAUSED');
      version = res.version;
      // toggling to the state it already has succeeds and changes nothing
      const same = (await svc.ok(TOGGLE, { id: c.id, enabled, v: version }, ed)).toggleConnector;
      expect(same.version).toBe(version);
    }
    const events = (await svc.ok(`query($id: ID!) { auditEvents(filter: { targetId: $id, eventType: [CONNECTOR_ENABLED, CONNECTOR_DISABLED] }, first: 100) { nodes { eventType reason actorId } } }`, { id: c.id }, await admin('t1'))).auditEvents.nodes;
    expect(events).toHaveLength(10);
    expect(events[0]).toMatchObject({ eventType: 'CONNECTOR_ENABLED', reason: 'flood 9', actorId: 'soc-admin' });
    expect(events[9]).toMatchObject({ eventType: 'CONNECTOR_DISABLED', reason: 'flood 0' });
    const [row] = await svc.dataSource.query('SELECT config FROM connectors WHERE id = $1', [c.id]);
    expect(row.config).toEqual(c.config);
  });

  test('20 concurrent toggles with the same expectedVersion: one succeeds, 19 VERSION_CONFLICT, one event', async () => {
    const up = await upstream([]);
    const c = (await svc.ok(CREATE, { input: restConnector('Race', up) }, ed)).createConnector;
    const results = await Promise.all(Array.from({ length: 20 }, () => svc.gql(TOGGLE, { id: c.id, enabled: true, v: 1 }, ed)));
    const ok = results.filter((r) => !r.body.errors);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => errorCode(r) === 'VERSION_CONFLICT')).toHaveLength(19);
    const [{ n }] = await svc.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE target_id = $1 AND event_type = 'CONNECTOR_ENABLED'`, [c.id]);
    expect(n).toBe(1);
  });

  test('viewers cannot toggle; other tenants get NOT_FOUND; deleted connectors cannot be enabled', async () => {
    const up = await upstream([]);
    const c = (await svc.ok(CREATE, { input: restConnector('Guarded', up) }, ed)).createConnector;
    expect(errorCode(await svc.gql(TOGGLE, { id: c.id, enabled: true }, await admin('t2')))).toBe('NOT_FOUND');
    const viewerToken = await (await import('../helpers/tokens.js')).viewer('t1');
    expect(errorCode(await svc.gql(TOGGLE, { id: c.id, enabled: true }, viewerToken))).toBe('FORBIDDEN');
    await svc.ok(`mutation($id: ID!) { deleteConnector(id: $id) { id } }`, { id: c.id }, ed);
    expect(errorCode(await svc.gql(TOGGLE, { id: c.id, enabled: true }, ed))).toBe('BAD_USER_INPUT');
    expect(errorCode(await svc.gql(TOGGLE, { id: c.id, enabled: true, reason: 'x'.repeat(2000) }, ed))).toBe('BAD_USER_INPUT');
  });
});

describe('ingestion pipeline', () => {
  let svc: TestService;
  let ed: string;
  beforeAll(async () => {
    svc = await service('ingestion', WORKER_ENV);
    ed = await editor('t1');
  });

  test('enable → a run reads every page into the sink; runState RUNNING, audited as SYSTEM', async () => {
    const up = await upstream(makeRecords(35), 10);
    const c = (await svc.ok(CREATE, { input: restConnector('Feed', up) }, ed)).createConnector;
    expect(c.runState).toBe('STOPPED');
    const toggled = (await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed)).toggleConnector;
    expect(toggled.runState).toBe('STARTING');
    // One GraphQL request is not one snapshot: the connector row and its runs are read by separate
    // statements, and the run's end can commit between them. Wait until both show it.
    const state = await waitFor('a succeeded run', async () => {
      const s = (await svc.ok(STATE, { id: c.id }, ed)).connector;
      return s.ingestionRuns.some((r: any) => r.status === 'SUCCEEDED') && s.lastSyncAt && s;
    });
    expect(state.runState).toBe('RUNNING');
    expect(state.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED', trigger: 'enable', recordsRead: 35, recordsWritten: 35, duplicates: 0, error: null });
    expect(state.metrics).toMatchObject({ totalSynced: 35, last24h: 35 });
    expect(state.lastSyncAt).toBeTruthy();
    expect(await sinkCount(svc, c.id)).toBe(35);
    // the run followed the Link header page by page (the health monitor's first check also asks for /items)
    expect(up.requests.map((r) => r.path).filter((p) => p.includes('page='))).toEqual(['/items?page=2', '/items?page=3', '/items?page=4']);
    const [started] = await svc.dataSource.query(`SELECT actor_type, actor_id FROM audit_events WHERE target_id = $1 AND event_type = 'INGESTION_STARTED'`, [c.id]);
    expect(started).toEqual({ actor_type: 'SYSTEM', actor_id: 'ingestion' });

    // syncConnector queues another run; nothing new upstream means only duplicates
    const run = (await svc.ok(`mutation($id: ID!) { syncConnector(id: $id) { id status } }`, { id: c.id }, ed)).syncConnector;
    expect(run.status).toBe('QUEUED');
    const [requested] = await svc.dataSource.query(`SELECT actor_type, actor_id FROM audit_events WHERE target_id = $1 AND event_type = 'INGESTION_REQUESTED'`, [c.id]);
    expect(requested).toEqual({ actor_type: 'USER', actor_id: 'editor-t1' });
    const done = await waitFor('the manual run', async () => (await svc.ok(STATE, { id: c.id }, ed)).connector.ingestionRuns.find((r: any) => r.id === run.id && r.status === 'SUCCEEDED'));
    expect(done).toMatchObject({ trigger: 'manual' });
    expect(await sinkCount(svc, c.id)).toBe(35);
  });

  test('duplicates from the upstream are counted, not stored twice', async () => {
    const base = makeRecords(8, 'dup');
    const up = await upstream([...base, ...base.slice(0, 5), ...base.slice(0, 2)], 5);
    const c = (await svc.ok(CREATE, { input: restConnector('Dupes', up, { enabled: true }) }, ed)).createConnector;
    const run = await waitFor('run', async () => (await svc.ok(STATE, { id: c.id }, ed)).connector.ingestionRuns.find((r: any) => r.status === 'SUCCEEDED'));
    expect(run).toMatchObject({ recordsRead: 15, recordsWritten: 8, duplicates: 7 });
    expect(await sinkCount(svc, c.id)).toBe(8);
  });

  test('disable during a slow run aborts it, reaches STOPPED, and no request arrives afterwards', async () => {
    const up = await upstream(makeRecords(100), 10);
    up.delayMs = 400;
    const c = (await svc.ok(CREATE, { input: restConnector('Slow SIEM', up, { enabled: true }) }, ed)).createConnector;
    await waitFor('two pages committed', async () => (await sinkCount(svc, c.id)) >= 20);
    const off = (await svc.ok(TOGGLE, { id: c.id, enabled: false, reason: 'duplicate flood' }, ed)).toggleConnector;
    expect(['STOPPING', 'STOPPED']).toContain(off.runState);
    const stopped = await waitFor('STOPPED', async () => {
      const s = (await svc.ok(STATE, { id: c.id }, ed)).connector;
      return s.runState === 'STOPPED' && s;
    });
    expect(stopped.ingestionRuns[0].status).toBe('CANCELLED');
    const seen = up.requests.length;
    const stored = await sinkCount(svc, c.id);
    await sleep(1500);
    expect(up.requests.length).toBe(seen);
    expect(await sinkCount(svc, c.id)).toBe(stored);
    expect(stored).toBeLessThan(100);
    const events = await svc.dataSource.query(`SELECT event_type, actor_type FROM audit_events WHERE target_id = $1 AND event_type LIKE 'INGESTION_%' ORDER BY id`, [c.id]);
    expect(events).toEqual([
      { event_type: 'INGESTION_STARTED', actor_type: 'SYSTEM' },
      { event_type: 'INGESTION_STOPPED', actor_type: 'SYSTEM' },
    ]);
    // config untouched, and re-enabling resumes from the committed cursor
    up.delayMs = 0;
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    await waitFor('all records', async () => (await sinkCount(svc, c.id)) === 100);
  });

  test('the other connectors keep running while one is disabled', async () => {
    const upA = await upstream(makeRecords(3, 'a'));
    const upB = await upstream(makeRecords(3, 'b'));
    const a = (await svc.ok(CREATE, { input: restConnector('A', upA, { enabled: true, config: { syncIntervalSec: 1 } }) }, ed)).createConnector;
    const b = (await svc.ok(CREATE, { input: restConnector('B', upB, { enabled: true, config: { syncIntervalSec: 1 } }) }, ed)).createConnector;
    await waitFor('both ran', () => upA.requests.length > 0 && upB.requests.length > 0);
    await svc.ok(TOGGLE, { id: a.id, enabled: false }, ed);
    await waitFor('A stopped', async () => (await svc.ok(STATE, { id: a.id }, ed)).connector.runState === 'STOPPED');
    const aSeen = upA.requests.length;
    const bSeen = upB.requests.length;
    await sleep(3000);
    expect(upA.requests.length).toBe(aSeen);
    expect(upB.requests.length).toBeGreaterThanOrEqual(bSeen + 2);
    expect((await svc.ok(STATE, { id: b.id }, ed)).connector.runState).toBe('RUNNING');
  });

  test('syncConnector is refused for a disabled connector', async () => {
    const up = await upstream([]);
    const c = (await svc.ok(CREATE, { input: restConnector('Off', up) }, ed)).createConnector;
    expect(errorCode(await svc.gql(`mutation($id: ID!) { syncConnector(id: $id) { id } }`, { id: c.id }, ed))).toBe('BAD_USER_INPUT');
  });
});

describe('across processes', () => {
  test('a job queued before disabling never runs after it', async () => {
    const api = await service('queued_then_disabled');
    const ed = await editor('t1');
    const up = await upstream(makeRecords(5));
    const c = (await api.ok(CREATE, { input: restConnector('Queued', up, { enabled: true }) }, ed)).createConnector;
    const [{ n }] = await api.dataSource.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'connector-sync' AND singleton_key = $1 AND state = 'created'`, [c.id]);
    expect(n).toBe(1);
    await api.ok(TOGGLE, { id: c.id, enabled: false }, ed);
    await service('queued_then_disabled_worker', { ...WORKER_ENV, DATABASE_URL: api.databaseUrl });
    await sleep(2500);
    expect(up.requests).toHaveLength(0);
    const runs = await api.dataSource.query('SELECT status FROM ingestion_runs WHERE connector_id = $1', [c.id]);
    expect(runs).toEqual([]);
  });

  test('two workers on one database run each interval once, never at the same time', async () => {
    const first = await service('two_workers', WORKER_ENV);
    await service('two_workers_b', { ...WORKER_ENV, DATABASE_URL: first.databaseUrl });
    const ed = await editor('t1');
    const up = await upstream(makeRecords(3));
    up.delayMs = 200;
    const c = (await first.ok(CREATE, { input: restConnector('Shared', up, { enabled: true, config: { syncIntervalSec: 1 } }) }, ed)).createConnector;
    const started = Date.now();
    await sleep(6000);
    const elapsedSec = (Date.now() - started) / 1000;
    const runs: Array<{ started_at: Date; finished_at: Date | null; worker_id: string; status: string }> = await first.dataSource.query(
      `SELECT started_at, finished_at, worker_id, status FROM ingestion_runs WHERE connector_id = $1 AND status <> 'QUEUED' ORDER BY started_at`,
      [c.id],
    );
    const finished = runs.filter((r) => r.status === 'SUCCEEDED');
    expect(finished.length).toBeGreaterThanOrEqual(2);
    // at most one run per interval (plus the first, which starts at once)
    expect(runs.length).toBeLessThanOrEqual(Math.ceil(elapsedSec / 1) + 1);
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i - 1]!.finished_at).not.toBeNull();
      expect(runs[i]!.started_at.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.finished_at!.getTime());
    }
  });

  test('a worker killed mid-run: the next run resumes from the last committed cursor, nothing lost or duplicated', async () => {
    execSync('npm run build --silent', { stdio: 'ignore' });
    const api = await service('crash', { ...WORKER_ENV, RUN_WORKERS: 'false' });
    const ed = await editor('t1');
    const up = await upstream(makeRecords(60, 'crash'), 10);
    up.delayMs = 300;
    const c = (await api.ok(CREATE, { input: restConnector('Crashy', up, { enabled: true }) }, ed)).createConnector;
    const child = spawn(process.execPath, ['dist/src/worker.js'], {
      env: { ...process.env, DATABASE_URL: api.databaseUrl, EGRESS_ALLOW: '127.0.0.1/32', LOG_LEVEL: 'warn', ...WORKER_ENV },
      stdio: 'ignore',
    });
    children.push(child);
    await waitFor('two committed batches in the child', async () => (await sinkCount(api, c.id)) >= 20, 20_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const committed = await sinkCount(api, c.id);
    const [cursor] = await api.dataSource.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1', [c.id]);
    const resumePage = Number(new URL(cursor.cursor.streams.record.page.url).searchParams.get('page'));
    expect(resumePage).toBe(committed / 10 + 1);
    const before = up.requests.length;

    up.delayMs = 0;
    await service('crash_recovery', { ...WORKER_ENV, DATABASE_URL: api.databaseUrl });
    await waitFor('a run to finish after the crash', async () => {
      const [{ n }] = await api.dataSource.query(`SELECT count(*)::int AS n FROM ingestion_runs WHERE connector_id = $1 AND status = 'SUCCEEDED'`, [c.id]);
      return n > 0;
    }, 30_000);
    expect(await sinkCount(api, c.id)).toBe(60);
    const runs = await api.dataSource.query(`SELECT status, records_written, duplicates, error FROM ingestion_runs WHERE connector_id = $1 ORDER BY id`, [c.id]);
    expect(runs[0]).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/interrupted/) });
    const succeeded = runs.find((r: any) => r.status === 'SUCCEEDED');
    expect(succeeded).toMatchObject({ records_written: 60 - committed, duplicates: 0 });
    // the resumed run started at the first page that was not committed
    const resumed = up.requests.slice(before).filter((r) => r.path.startsWith('/items'));
    expect(resumed[0]!.path).toBe(`/items?page=${resumePage}`);
  });
});
