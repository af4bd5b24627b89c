/**
 * The Microsoft Sentinel replica answers like the Log Analytics query API: Entra bearer tokens,
 * OneAPI error objects, tabular answers, `timespan`, and the KQL subset a connector sends.
 */
import { replica, parseTimespan, WORKSPACE_ID } from '../../../replicas/microsoft_sentinel.js';
import { GOOD_TOKEN as GOOD, replicaUnderTest } from '../../helpers/replicas.js';

const started = replicaUnderTest(replica, { items: 25 });

async function query(body: unknown, token: string | null = GOOD, workspace = WORKSPACE_ID) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${started.url}/v1/workspaces/${workspace}/query`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

const rowsOf = (body: any) => {
  const { columns, rows } = body.tables[0];
  return (rows as unknown[][]).map((r) => Object.fromEntries((columns as Array<{ name: string }>).map((c, i) => [c.name, r[i]])));
};

test('auth: no header is 401 AuthenticationFailed, a bad token 403 InvalidAuthenticationToken', async () => {
  expect(await query({ query: 'SecurityAlert' }, null)).toMatchObject({ status: 401, body: { error: { code: 'AuthenticationFailed' } } });
  expect(await query({ query: 'SecurityAlert' }, 'nope')).toMatchObject({ status: 403, body: { error: { code: 'InvalidAuthenticationToken' } } });
  expect(await query({ query: 'SecurityAlert' }, GOOD, 'other')).toMatchObject({ status: 404 });
});

test('a table answers every row with its columns; timespan applies to TimeGenerated', async () => {
  const all = await query({ query: 'SecurityAlert' });
  expect(all.status).toBe(200);
  expect(all.body!.tables[0].name).toBe('PrimaryResult');
  const rows = rowsOf(all.body);
  expect(rows).toHaveLength(25);
  expect(rows[0]).toEqual(started.items()[0]);
  const t10 = String(rows[10]!.TimeGenerated);
  const bounded = await query({ query: 'SecurityAlert', timespan: `${t10}/${new Date(Date.now() + 1000).toISOString()}` });
  expect(rowsOf(bounded.body)).toHaveLength(15);
  expect(rowsOf((await query({ query: 'SecurityAlert', timespan: 'PT1M' })).body)).toHaveLength(0);
});

test('the connector query pages by TimeGenerated', async () => {
  const items = started.items() as Array<Record<string, unknown>>;
  const q = (after: string, take: string) =>
    query({ query: `SecurityAlert | where TimeGenerated > datetime(${after}) | order by TimeGenerated asc | take coalesce(tolong('${take}'), 500)` });
  const first = rowsOf((await q(new Date(Date.now() - 86400_000).toISOString(), '10')).body);
  expect(first.map((r) => r.SystemAlertId)).toEqual(items.slice(0, 10).map((r) => r.SystemAlertId));
  const cursor = new Date(String(first[9]!.TimeGenerated)).toISOString();
  const second = rowsOf((await q(cursor, '10')).body);
  expect(second.map((r) => r.SystemAlertId)).toEqual(items.slice(10, 20).map((r) => r.SystemAlertId));
  expect(rowsOf((await q(cursor, '')).body)).toHaveLength(15);
});

test('where, sort, top, project and the incident table', async () => {
  const high = rowsOf((await query({ query: 'SecurityAlert | where AlertSeverity == "High" and TimeGenerated > ago(2d) | project SystemAlertId, AlertSeverity' })).body);
  expect(high.every((r) => r.AlertSeverity === 'High' && Object.keys(r).length === 2)).toBe(true);
  const top = rowsOf((await query({ query: 'SecurityAlert | top 3 by TimeGenerated' })).body);
  expect(top).toHaveLength(3);
  expect(Date.parse(String(top[0]!.TimeGenerated))).toBeGreaterThan(Date.parse(String(top[1]!.TimeGenerated)));
  const incidents = rowsOf((await query({ query: "SecurityIncident | where Severity in ('High', 'Medium') | take 5" })).body);
  expect(incidents.length).toBeGreaterThan(0);
  expect(incidents[0]).toMatchObject({ Type: 'SecurityIncident', Status: 'New' });
});

test('bad queries are 400 BadArgumentError with the inner error', async () => {
  expect(await query({ query: 'NoSuchTable' })).toMatchObject({ status: 400, body: { error: { code: 'BadArgumentError', innererror: { code: 'SemanticError' } } } });
  expect(await query({ query: 'SecurityAlert | where (' })).toMatchObject({ status: 400, body: { error: { innererror: { code: 'SyntaxError' } } } });
  expect(await query({ query: 'SecurityAlert | summarize count()' })).toMatchObject({ status: 400 });
  expect(await query({ query: 'SecurityAlert', timespan: 'yesterday' })).toMatchObject({ status: 400 });
});

test('timespans: durations and intervals', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  expect(parseTimespan('PT1H', now)).toEqual({ start: now - 3600_000, end: now });
  expect(parseTimespan('P1DT12H', now)).toEqual({ start: now - 36 * 3600_000, end: now });
  expect(parseTimespan('2024-05-01T00:00:00.000Z/2024-05-01T06:00:00Z', now)).toEqual({ start: Date.parse('2024-05-01T00:00:00Z'), end: Date.parse('2024-05-01T06:00:00Z') });
  expect(parseTimespan('2024-05-01T00:00:00Z/PT2H', now)).toEqual({ start: Date.parse('2024-05-01T00:00:00Z'), end: Date.parse('2024-05-01T02:00:00Z') });
  expect(parseTimespan('nonsense', now)).toBeNull();
});

test('an injected 429 carries Retry-After and the OneAPI body', async () => {
  started.server.rateLimitNext(7);
  const res = await fetch(`${started.url}/v1/workspaces/${WORKSPACE_ID}/query`, { method: 'POST' });
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('7');
  expect(await res.json()).toMatchObject({ error: { code: 'ThrottledError' } });
});

test('a POST without a JSON body is an empty 200, as documented', async () => {
  const res = await fetch(`${started.url}/v1/workspaces/${WORKSPACE_ID}/query`, { method: 'POST', headers: { authorization: `Bearer ${GOOD}` }, body: 'query=SecurityAlert' });
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('');
});
