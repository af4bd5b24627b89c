/**
 * The TAXII 2.1 server of replicas/taxii21.ts against the OASIS TAXII 2.1 specification, over real
 * HTTP: the resources and examples of §4.1 (discovery), §4.2 (API root), §5.1/5.2 (collections),
 * §5.3 (objects: added_after, limit, more/next, match[...], X-TAXII-Date-Added-* headers), §5.4
 * (add objects, status), §1.6.8 (media types, 406), §3.6.1 (error message) and the 401/403/404/429
 * answers; and `next` tokens bound to their query and expiring.
 */
import { ANALYST, API_KEY, COLLECTIONS, PUBLISHER, TAXII_MEDIA_TYPE, acceptsTaxii21, microsToTimestamp, sampleObjects, startTaxiiServer, timestampToMicros } from '../../../replicas/taxii21.js';
import type { TaxiiServer } from '../../../replicas/taxii21.js';

let taxii: TaxiiServer;
const basic = (c: { username: string; password: string }) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${taxii.url}${path}`, { headers: { accept: TAXII_MEDIA_TYPE, authorization: basic(ANALYST), ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

const objectsPath = (id: string = COLLECTIONS.indicators) => `/api1/collections/${id}/objects/`;

beforeAll(async () => {
  taxii = await startTaxiiServer({ items: 25, maxPageSize: 10, verifyBearer: async (t) => t === 'good-token' });
});
afterAll(() => taxii.close());

describe('resources', () => {
  test('§4.1 discovery: title, description, contact, default, api_roots; served as TAXII 2.1', async () => {
    const r = await get('/taxii2/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(TAXII_MEDIA_TYPE);
    expect(r.body).toEqual({
      title: expect.any(String),
      description: expect.any(String),
      contact: expect.any(String),
      default: `${taxii.url}/api1/`,
      api_roots: [`${taxii.url}/api1/`, `${taxii.url}/trustgroup1/`],
    });
  });

  test('§4.2 API root: versions lists TAXII 2.1, max_content_length; an unknown root is 404 with an error message', async () => {
    expect((await get('/api1/')).body).toEqual({ title: expect.any(String), description: expect.any(String), versions: [TAXII_MEDIA_TYPE], max_content_length: 104857600 });
    const missing = await get('/api9/');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ title: 'Not Found', http_status: '404' });
  });

  test("§5.1/5.2 collections: the spec's example ids and titles, can_read/can_write per account", async () => {
    const list = (await get('/api1/collections/')).body.collections;
    expect(list).toEqual(
      expect.arrayContaining([
        { id: '91a7b528-80eb-42ed-a74d-c6fbd5a26116', title: 'High Value Indicator Collection', description: 'This data collection is for collecting high value IOCs', alias: 'high-value', can_read: true, can_write: false, media_types: ['application/stix+json;version=2.1'] },
        expect.objectContaining({ id: '52892447-4d7e-4f70-b94d-d7f22742ff63', title: 'Indicators from the past 24-hours', can_read: true }),
        expect.objectContaining({ id: COLLECTIONS.restricted, can_read: false, can_write: false }),
      ]),
    );
    const asPublisher = (await get('/api1/collections/', { authorization: basic(PUBLISHER) })).body.collections;
    expect(asPublisher.find((c: { id: string }) => c.id === COLLECTIONS.restricted)).toMatchObject({ can_read: true, can_write: true });
    expect((await get(`/api1/collections/${COLLECTIONS.indicators}/`)).body).toMatchObject({ id: COLLECTIONS.indicators, can_read: true });
  });
});

describe('§1.6.8 media types and authentication', () => {
  test('Accept must admit application/taxii+json;version=2.1 (or taxii+json without a version); otherwise 406', async () => {
    expect(acceptsTaxii21('application/taxii+json;version=2.1')).toBe(true);
    expect(acceptsTaxii21('application/taxii+json; version=2.1')).toBe(true);
    expect(acceptsTaxii21('application/json, application/taxii+json')).toBe(true);
    expect(acceptsTaxii21('application/taxii+json;version=2.0')).toBe(false);
    expect(acceptsTaxii21('application/json')).toBe(false);
    expect(acceptsTaxii21('*/*')).toBe(false);
    for (const accept of ['application/json', 'application/taxii+json;version=2.0', '*/*']) {
      const r = await get('/taxii2/', { accept });
      expect(r.status).toBe(406);
      expect(r.body).toMatchObject({ title: 'Not Acceptable', http_status: '406' });
    }
  });

  test('401 without or with wrong credentials (WWW-Authenticate); API key header and bearer tokens accepted', async () => {
    const none = await fetch(`${taxii.url}/taxii2/`, { headers: { accept: TAXII_MEDIA_TYPE } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(await none.json()).toMatchObject({ title: 'Unauthorized', http_status: '401' });
    expect((await get('/taxii2/', { authorization: basic({ username: 'analyst', password: 'nope' }) })).status).toBe(401);
    expect((await get('/taxii2/', { authorization: '', 'x-api-key': API_KEY })).status).toBe(200);
    expect((await get('/taxii2/', { authorization: '', 'x-api-key': 'wrong' })).status).toBe(401);
    expect((await get('/taxii2/', { authorization: 'Bearer good-token' })).status).toBe(200);
    expect((await get('/taxii2/', { authorization: 'Bearer bad-token' })).status).toBe(401);
  });

  test('403 for a collection the account may not read; 404 for one that does not exist', async () => {
    const denied = await get(objectsPath(COLLECTIONS.restricted));
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ title: 'Forbidden', http_status: '403' });
    expect((await get(objectsPath(COLLECTIONS.restricted), { authorization: basic(PUBLISHER) })).status).toBe(200);
    expect((await get(objectsPath('00000000-0000-4000-8000-000000000000'))).status).toBe(404);
  });

  test('429 with Retry-After and an error message', async () => {
    taxii.server.rateLimitNext(7);
    const r = await get('/taxii2/');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('7');
    expect(r.body).toMatchObject({ title: 'Too Many Requests', http_status: '429' });
  });
});

describe('§5.3 get objects', () => {
  test('pages of at most limit (capped by the server), sorted by date added, with more/next and the date headers', async () => {
    const all = taxii.objects(COLLECTIONS.indicators);
    const first = await get(`${objectsPath()}?limit=50`);
    expect(first.body.objects).toHaveLength(10); // the server's cap
    expect(first.body.more).toBe(true);
    expect(first.body.next).toEqual(expect.any(String));
    expect(first.headers.get('x-taxii-date-added-first')).toBe(microsToTimestamp(all[0]!.addedMicros));
    expect(first.headers.get('x-taxii-date-added-last')).toBe(microsToTimestamp(all[9]!.addedMicros));
    expect(first.headers.get('x-taxii-date-added-last')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const second = await get(`${objectsPath()}?limit=50&next=${first.body.next}`);
    const third = await get(`${objectsPath()}?limit=50&next=${second.body.next}`);
    expect(third.body.more).toBe(false);
    expect(third.body.next).toBeUndefined();
    expect([...first.body.objects, ...second.body.objects, ...third.body.objects].map((o: { id: string }) => o.id)).toEqual(all.map((e) => e.object.id));
  });

  test('added_after: strictly after, microseconds honoured; it must be UTC with Z', async () => {
    const all = taxii.objects(COLLECTIONS.indicators);
    const at = microsToTimestamp(all[20]!.addedMicros);
    const r = await get(`${objectsPath()}?added_after=${at}`);
    expect(r.body.objects.map((o: { id: string }) => o.id)).toEqual(all.slice(21).map((e) => e.object.id));
    // One microsecond earlier includes the object added at `at`.
    const before = microsToTimestamp(all[20]!.addedMicros - 1);
    expect((await get(`${objectsPath()}?added_after=${before}`)).body.objects).toHaveLength(5);
    // Millisecond precision would have lost it.
    expect(timestampToMicros(at)).toBe(all[20]!.addedMicros);
    for (const bad of ['2024-01-01T00:00:00', '2024-01-01T00:00:00%2B01:00', 'yesterday']) {
      const res = await get(`${objectsPath()}?added_after=${bad}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ title: 'Bad Request', description: expect.stringMatching(/added_after/) });
    }
    expect((await get(`${objectsPath()}?added_after=${microsToTimestamp(all[24]!.addedMicros)}`)).body).toEqual({});
  });

  test('next must come back with the same filters; an unknown or expired next is refused', async () => {
    const first = await get(`${objectsPath()}?limit=5&match[type]=indicator`);
    expect(first.body.objects.every((o: { type: string }) => o.type === 'indicator')).toBe(true);
    const other = await get(`${objectsPath()}?limit=5&next=${first.body.next}`);
    expect(other.status).toBe(400);
    expect(other.body.description).toMatch(/same filters/);
    expect((await get(`${objectsPath()}?match[type]=indicator&limit=5&next=${first.body.next}`)).status).toBe(200);
    taxii.expireNextTokens();
    const expired = await get(`${objectsPath()}?limit=5&match[type]=indicator&next=${first.body.next}`);
    expect(expired.status).toBe(400);
    expect(expired.body).toMatchObject({ title: 'Bad Request', error_code: 'next_expired', http_status: '400' });
  });

  test('a short TTL expires next tokens; nextExpiredStatus 404 answers 404', async () => {
    taxii.nextTtlMs = 50;
    taxii.nextExpiredStatus = 404;
    const first = await get(`${objectsPath()}?limit=5`);
    await new Promise((r) => setTimeout(r, 80));
    const expired = await get(`${objectsPath()}?limit=5&next=${first.body.next}`);
    expect(expired.status).toBe(404);
    expect(expired.body).toMatchObject({ error_code: 'next_expired', http_status: '404' });
    taxii.nextTtlMs = 600_000;
    taxii.nextExpiredStatus = 400;
  });

  test('§5.4 add objects (publisher, taxii+json), then match[version]: a new version replaces the old one by default', async () => {
    const [indicator] = sampleObjects(5, 4242).filter((o) => o.type === 'indicator');
    const post = (body: unknown, auth = basic(PUBLISHER), type = TAXII_MEDIA_TYPE) =>
      fetch(`${taxii.url}${objectsPath(COLLECTIONS.recent)}`, { method: 'POST', headers: { accept: TAXII_MEDIA_TYPE, authorization: auth, 'content-type': type }, body: JSON.stringify(body) });
    expect((await post({ objects: [indicator] }, basic(ANALYST))).status).toBe(403);
    expect((await post({ objects: [indicator] }, basic(PUBLISHER), 'application/json')).status).toBe(415);
    const added = await post({ objects: [indicator] });
    expect(added.status).toBe(202);
    const status = (await added.json()) as { id: string };
    expect(status).toMatchObject({ status: 'complete', total_count: 1, success_count: 1, failure_count: 0, pending_count: 0 });
    expect((await get(`/api1/status/${status.id}/`)).body).toEqual(status);
    const revoked = { ...indicator, modified: '2030-01-01T00:00:00.000Z', revoked: true };
    expect((await post({ objects: [revoked] })).status).toBe(202);
    const latest = await get(`${objectsPath(COLLECTIONS.recent)}?match[id]=${indicator!.id}`);
    expect(latest.body.objects).toEqual([revoked]);
    const all = await get(`${objectsPath(COLLECTIONS.recent)}?match[id]=${indicator!.id}&match[version]=all`);
    expect(all.body.objects).toEqual([indicator, revoked]);
    const firstVersion = await get(`${objectsPath(COLLECTIONS.recent)}?match[id]=${indicator!.id}&match[version]=first`);
    expect(firstVersion.body.objects).toEqual([indicator]);
  });
});
