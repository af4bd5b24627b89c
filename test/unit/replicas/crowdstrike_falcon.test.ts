/**
 * The CrowdStrike Falcon replica answers like the Falcon API: its own OAuth2 token endpoint, the
 * `meta` / `resources` / `errors` envelope, FQL filters and `after`-token paging of
 * `POST /alerts/combined/alerts/v1`.
 */
import { parseFql, replica, severityName, type FalconAlert } from '../../../replicas/crowdstrike_falcon.js';
import { replicaUnderTest } from '../../helpers/replicas.js';

const started = replicaUnderTest(replica, { items: 25 });

async function token(clientId: string, clientSecret: string) {
  const res = await fetch(`${started.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: clientId, client_secret: clientSecret }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function combined(body: unknown, bearer: string | null) {
  const res = await fetch(`${started.url}/alerts/combined/alerts/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

test('the token endpoint issues 30-minute bearer tokens and refuses a wrong secret with 403', async () => {
  const { clientId, clientSecret } = started.connection().credentials as { clientId: string; clientSecret: string };
  expect(await token(clientId, clientSecret)).toMatchObject({ status: 201, body: { token_type: 'bearer', expires_in: 1799, access_token: expect.any(String) } });
  expect(await token(clientId, 'nope')).toMatchObject({ status: 403, body: { errors: [{ code: 403 }], meta: { trace_id: expect.any(String) } } });
  expect(await combined({}, 'not-a-token')).toMatchObject({ status: 401, body: { errors: [{ code: 401, message: 'access denied, invalid bearer token' }] } });
});

test('after tokens page by updated_timestamp until a page without one', async () => {
  const { clientId, clientSecret } = started.connection().credentials as { clientId: string; clientSecret: string };
  const access = (await token(clientId, clientSecret)).body.access_token as string;
  const items = started.items() as FalconAlert[];
  const since = items[3]!.updated_timestamp;
  const seen: FalconAlert[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const res = await combined({ filter: `updated_timestamp:>='${since}'+(product:'epp')`, sort: 'updated_timestamp|asc', limit: 10, ...(after ? { after } : {}) }, access);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('6000');
    expect(res.body.meta.pagination).toMatchObject({ total: 22, limit: 10 });
    seen.push(...res.body.resources);
    after = res.body.meta.pagination.after;
    pages++;
  } while (after);
  expect(pages).toBe(3);
  expect(seen.map((a) => a.composite_id)).toEqual(items.slice(3).map((a) => a.composite_id));
  // The default order is created_timestamp, newest first.
  const latest = await combined({ limit: 1 }, access);
  expect(latest.body.resources[0].composite_id).toBe(items.at(-1)!.composite_id);
  expect(await combined({ limit: 5000 }, access)).toMatchObject({ status: 400 });
  expect(await combined({ filter: "severity:>='" }, access)).toMatchObject({ status: 400 });
});

test('FQL: comparisons, sets, wildcards, negation, and/or', () => {
  const a = (started.items() as FalconAlert[])[0]!;
  expect(parseFql(`severity:>=${a.severity}+severity:<=${a.severity}`)(a)).toBe(true);
  expect(parseFql(`status:['new','closed']`)(a)).toBe(true);
  expect(parseFql(`status:!'new'`)(a)).toBe(false);
  expect(parseFql(`device.hostname:*'${a.device.hostname.slice(0, 3)}*'`)(a)).toBe(true);
  expect(parseFql(`status:'closed',product:'epp'`)(a)).toBe(true);
  expect(parseFql(`created_timestamp:<'now-30d'`)(a)).toBe(false);
  expect(severityName(79)).toBe('High');
  expect(severityName(90)).toBe('Critical');
});

test('an injected 429 carries X-RateLimit-RetryAfter and the errors envelope', async () => {
  started.server.rateLimitNext(5);
  const res = await fetch(`${started.url}/alerts/combined/alerts/v1`, { method: 'POST' });
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('5');
  expect(Number(res.headers.get('x-ratelimit-retryafter'))).toBeGreaterThan(Date.now() / 1000);
  expect(await res.json()).toMatchObject({ errors: [{ code: 429 }] });
});
