/**
 * The Defender for Endpoint replica answers like `GET /api/alerts`: Entra bearer tokens, the
 * documented error objects, OData `$filter` / `$top` / `$skip` / `$expand`, and server-driven
 * `@odata.nextLink` only without `$top`.
 */
import { replica, type MdeAlert } from '../../../replicas/microsoft_defender_for_endpoint.js';
import { GOOD_TOKEN as GOOD, replicaUnderTest } from '../../helpers/replicas.js';

const started = replicaUnderTest(replica, { items: 25 });

async function alerts(query: Record<string, string>, token: string | null = GOOD) {
  const url = new URL(`${started.url}/api/alerts`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

test('auth: anything but an approved bearer token is 401 Unauthorized', async () => {
  expect(await alerts({}, null)).toMatchObject({ status: 401, body: { error: { code: 'Unauthorized', target: expect.any(String) } } });
  expect(await alerts({}, 'expired')).toMatchObject({ status: 401, body: { error: { code: 'Unauthorized' } } });
});

test('the list is the latest first, with evidence only when expanded', async () => {
  const { status, body } = await alerts({});
  expect(status).toBe(200);
  expect(body['@odata.context']).toBe(`${started.url}/api/$metadata#Alerts`);
  expect(body['@odata.nextLink']).toBeUndefined();
  const items = started.items() as MdeAlert[];
  expect(body.value.map((a: MdeAlert) => a.id)).toEqual(items.map((a) => a.id).reverse());
  expect(body.value[0].evidence).toEqual([]);
  const expanded = await alerts({ $top: '1', $expand: 'evidence' });
  expect(expanded.body.value[0].evidence.length).toBeGreaterThan(0);
  expect(items[0]!.id).toMatch(/^da\d{18}_-?\d+$/);
});

test('$filter on lastUpdateTime with $top and $skip pages without a next link', async () => {
  const items = started.items() as MdeAlert[];
  const since = items[5]!.lastUpdateTime;
  const filter = `lastUpdateTime ge ${since}`;
  const pages: MdeAlert[][] = [];
  for (let skip = 0; ; skip += 10) {
    const { body } = await alerts({ $filter: filter, $top: '10', $skip: String(skip) });
    expect(body['@odata.nextLink']).toBeUndefined();
    pages.push(body.value);
    if (body.value.length < 10) break;
  }
  expect(pages.map((p) => p.length)).toEqual([10, 10, 0]);
  expect(new Set(pages.flat().map((a) => a.id))).toEqual(new Set(items.slice(5).map((a) => a.id)));
  const both = await alerts({ $filter: `severity eq 'High' and (status eq 'New' or status eq 'InProgress')` });
  expect(both.body.value.every((a: MdeAlert) => a.severity === 'High')).toBe(true);
});

test('invalid OData is 400 ODataError', async () => {
  expect(await alerts({ $filter: 'title eq 1' })).toMatchObject({ status: 400, body: { error: { code: 'ODataError' } } });
  expect(await alerts({ $filter: 'lastUpdateTime ge yesterday' })).toMatchObject({ status: 400 });
  expect(await alerts({ $top: '10001' })).toMatchObject({ status: 400, body: { error: { code: 'ODataError' } } });
  expect(await alerts({ $count: 'true' })).toMatchObject({ status: 400 });
});

test('an injected 429 is TooManyRequests with Retry-After', async () => {
  started.server.rateLimitNext(30);
  const res = await fetch(`${started.url}/api/alerts`);
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('30');
  expect(await res.json()).toMatchObject({ error: { code: 'TooManyRequests' } });
});
