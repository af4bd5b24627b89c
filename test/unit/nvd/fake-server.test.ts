/**
 * The fake NVD must honour NVD's rules so adapter tests can trust it: paging, date windows, API
 * key, rolling rate limit, failure injection and request recording.
 */
import type { NvdCveResponse } from '../../../src/adapters/nvd/types.js';
import { formatNvdDate } from '../../../src/adapters/nvd/windows.js';
import { makeCve, NVD_PATH, startNvdServer, type NvdServer } from '../../helpers/nvd-server.js';

const DAY = 86_400_000;

async function get(server: NvdServer, query: Record<string, string | number> | string = {}, headers: Record<string, string> = {}) {
  const qs = typeof query === 'string' ? query : new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const res = await fetch(`${server.url}${NVD_PATH}${qs ? `?${qs}` : ''}`, { headers });
  const text = await res.text();
  return {
    status: res.status,
    message: res.headers.get('message'),
    body: res.status === 200 ? (JSON.parse(text) as NvdCveResponse) : null,
    text,
  };
}

const ids = (body: NvdCveResponse | null) => {
  if (!body) throw new Error('expected a 200 response with a body');
  return body.vulnerabilities.map((v) => v.cve.id);
};

describe('fake NVD: search, paging and windows', () => {
  let server: NvdServer;
  const cves = [
    makeCve({ id: 'CVE-2024-0001', published: '2024-01-01T00:00:00.000', lastModified: '2024-01-10T00:00:00.000' }),
    makeCve({ id: 'CVE-2024-0002', published: '2024-01-15T12:00:00.000', lastModified: '2024-02-01T00:00:00.000' }),
    makeCve({ id: 'CVE-2024-0003', published: '2024-02-01T00:00:00.000', lastModified: '2024-03-01T00:00:00.000' }),
    makeCve({ id: 'CVE-2024-0004', published: '2024-03-01T00:00:00.000', lastModified: '2024-05-31T00:00:00.000' }),
    makeCve({ id: 'CVE-2024-0005', published: '2024-05-01T00:00:00.000', lastModified: '2024-05-31T00:00:00.001', vulnStatus: 'Rejected' }),
  ];

  beforeAll(async () => {
    server = await startNvdServer({ cves, rateLimit: false });
  });
  afterAll(() => server.close());

  test('listens on loopback and answers the documented envelope', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { status, body } = await get(server);
    expect(status).toBe(200);
    expect(body).toMatchObject({ resultsPerPage: 5, startIndex: 0, totalResults: 5, format: 'NVD_CVE', version: '2.0' });
    expect(body!.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/);
    expect(ids(body)).toEqual(['CVE-2024-0001', 'CVE-2024-0002', 'CVE-2024-0003', 'CVE-2024-0004', 'CVE-2024-0005']);
    expect(body!.vulnerabilities[0]!.cve).toEqual(cves[0]);
  });

  test('pages by startIndex/resultsPerPage with a constant totalResults', async () => {
    const pages = [];
    for (const startIndex of [0, 2, 4, 6]) {
      const { body } = await get(server, { resultsPerPage: 2, startIndex });
      pages.push([body!.startIndex, body!.resultsPerPage, body!.totalResults, ids(body)]);
    }
    expect(pages).toEqual([
      [0, 2, 5, ['CVE-2024-0001', 'CVE-2024-0002']],
      [2, 2, 5, ['CVE-2024-0003', 'CVE-2024-0004']],
      [4, 1, 5, ['CVE-2024-0005']],
      [6, 0, 5, []],
    ]);
  });

  test('filters by lastModified, bounds inclusive, zone offsets honoured', async () => {
    // Exactly 120 days; CVE-0002 sits on the start bound, CVE-0004 on the end bound, CVE-0005 1 ms after it.
    const { body } = await get(server, { lastModStartDate: '2024-02-01T00:00:00.000Z', lastModEndDate: '2024-05-31T00:00:00.000Z' });
    expect(ids(body)).toEqual(['CVE-2024-0002', 'CVE-2024-0003', 'CVE-2024-0004']);
    expect(body!.totalResults).toBe(3);
    const offset = await get(server, { lastModStartDate: '2024-02-01T02:00:00.000+02:00', lastModEndDate: '2024-03-01T00:00:00.000Z' });
    expect(ids(offset.body)).toEqual(['CVE-2024-0002', 'CVE-2024-0003']);
  });

  test('filters by published, and both windows combine', async () => {
    const pub = await get(server, { pubStartDate: '2024-01-10T00:00:00.000Z', pubEndDate: '2024-03-01T00:00:00.000Z' });
    expect(ids(pub.body)).toEqual(['CVE-2024-0002', 'CVE-2024-0003', 'CVE-2024-0004']);
    const both = await get(server, {
      pubStartDate: '2024-01-10T00:00:00.000Z',
      pubEndDate: '2024-03-01T00:00:00.000Z',
      lastModStartDate: '2024-02-15T00:00:00.000Z',
      lastModEndDate: '2024-06-10T00:00:00.000Z',
    });
    expect(ids(both.body)).toEqual(['CVE-2024-0003', 'CVE-2024-0004']);
  });

  test('cveId and noRejected', async () => {
    expect(ids((await get(server, { cveId: 'CVE-2024-0003' })).body)).toEqual(['CVE-2024-0003']);
    const noRejected = await get(server, 'noRejected');
    expect(ids(noRejected.body)).not.toContain('CVE-2024-0005');
    expect(noRejected.body!.totalResults).toBe(4);
  });

  test('a date range of exactly 120 days is accepted, one more millisecond is a 404 with a message', async () => {
    const start = new Date('2024-01-01T00:00:00.000Z');
    const ok = await get(server, { lastModStartDate: formatNvdDate(start), lastModEndDate: formatNvdDate(new Date(start.getTime() + 120 * DAY)) });
    expect(ok.status).toBe(200);
    const tooLong = await get(server, {
      lastModStartDate: formatNvdDate(start),
      lastModEndDate: formatNvdDate(new Date(start.getTime() + 120 * DAY + 1)),
    });
    expect(tooLong.status).toBe(404);
    expect(tooLong.message).toMatch(/exceeds 120 days/);
    expect(tooLong.text).toBe('');
  });

  test.each([
    [{ lastModStartDate: '2024-01-01T00:00:00.000Z' }, /Both lastModStartDate and lastModEndDate are required/],
    [{ pubEndDate: '2024-01-01T00:00:00.000Z' }, /Both pubStartDate and pubEndDate are required/],
    [{ lastModStartDate: '2024-01-01T00:00:00', lastModEndDate: '2024-01-02T00:00:00' }, /^Invalid ISO 8601 date\/time format/],
    [{ lastModStartDate: '2024-01-01', lastModEndDate: '2024-01-02' }, /^Invalid ISO 8601 date\/time format/],
    [{ lastModStartDate: '2024-02-30T00:00:00.000Z', lastModEndDate: '2024-03-02T00:00:00.000Z' }, /^Invalid ISO 8601/],
    [{ lastModStartDate: '2024-03-01T00:00:00.000Z', lastModEndDate: '2024-01-01T00:00:00.000Z' }, /must not be after/],
    [{ resultsPerPage: 2001 }, /resultsPerPage must not exceed 2000/],
    [{ resultsPerPage: -1 }, /Invalid resultsPerPage/],
    [{ resultsPerPage: '1.5' }, /Invalid resultsPerPage/],
    [{ startIndex: 'abc' }, /Invalid startIndex/],
    [{ lastModifiedStartDate: '2024-01-01T00:00:00.000Z' }, /Invalid parameter: lastModifiedStartDate/],
    [{ cveId: 'CVE-24-1' }, /Invalid cveId/],
  ])('rejects %j with 404', async (query, message) => {
    const res = await get(server, query as Record<string, string>);
    expect(res.status).toBe(404);
    expect(res.message).toMatch(message);
  });

  test('an unencoded "+" offset arrives as a space and is rejected, the encoded one works', async () => {
    const raw = await get(server, 'lastModStartDate=2024-01-01T00:00:00.000+00:00&lastModEndDate=2024-01-02T00:00:00.000+00:00');
    expect(raw.status).toBe(404);
    expect(raw.message).toMatch(/Invalid ISO 8601/);
    const encoded = await get(server, 'lastModStartDate=2024-01-01T00:00:00.000%2B00:00&lastModEndDate=2024-01-11T00:00:00.000%2B00:00');
    expect(encoded.status).toBe(200);
    expect(ids(encoded.body)).toEqual(['CVE-2024-0001']);
  });

  test('resultsPerPage 2000 is the maximum and the default', async () => {
    expect((await get(server, { resultsPerPage: 2000 })).status).toBe(200);
    expect((await get(server, { resultsPerPage: 0 })).body).toMatchObject({ resultsPerPage: 0, totalResults: 5 });
  });

  test('other paths are 404, other methods 405', async () => {
    expect((await fetch(`${server.url}/rest/json/cpes/2.0`)).status).toBe(404);
    expect((await fetch(`${server.url}${NVD_PATH}`, { method: 'POST' })).status).toBe(405);
  });

  test('setCves replaces the data set', async () => {
    server.setCves([makeCve({ id: 'CVE-2030-0001' })]);
    try {
      const { body } = await get(server);
      expect(ids(body)).toEqual(['CVE-2030-0001']);
    } finally {
      server.setCves(cves);
    }
    expect((await get(server)).body!.totalResults).toBe(5);
  });
});

describe('fake NVD: API key, rate limit, failures, recording', () => {
  let server: NvdServer;
  let clock = 1_700_000_000_000;
  beforeEach(async () => {
    clock = 1_700_000_000_000;
    server = await startNvdServer({
      cves: [makeCve({ id: 'CVE-2024-1111' })],
      apiKeys: ['good-key'],
      rateLimit: { withoutKey: 2, withKey: 4, windowMs: 1000 },
      now: () => clock,
    });
  });
  afterEach(() => server.close());

  test('an invalid apiKey header gets 404 "Invalid apiKey." like NVD; a valid one passes', async () => {
    const bad = await get(server, {}, { apiKey: 'wrong' });
    expect(bad.status).toBe(404);
    expect(bad.message).toBe('Invalid apiKey.');
    const good = await get(server, {}, { apiKey: 'good-key' });
    expect(good.status).toBe(200);
    expect(server.requests.map((r) => r.headers.apikey)).toEqual(['wrong', 'good-key']);
  });

  test('without a key: the request over the limit in the rolling window is 403, then the window rolls', async () => {
    expect((await get(server)).status).toBe(200); // t = 0
    clock += 600;
    expect((await get(server)).status).toBe(200); // t = 600
    const limited = await get(server); // t = 600: third within 1000 ms
    expect(limited.status).toBe(403);
    expect(limited.message).toBe('Rate limit exceeded');
    clock += 401; // t = 1001: the t = 0 request left the window, the t = 600 one has not
    expect((await get(server)).status).toBe(200);
    expect((await get(server)).status).toBe(403);
    clock += 1000;
    expect((await get(server)).status).toBe(200);
    expect(server.requests.map((r) => r.status)).toEqual([200, 200, 403, 200, 403, 200]);
  });

  test('with a key: the higher limit applies, counted apart from anonymous callers', async () => {
    const keyed = [];
    for (let i = 0; i < 5; i++) keyed.push((await get(server, {}, { apiKey: 'good-key' })).status);
    expect(keyed).toEqual([200, 200, 200, 200, 403]);
    expect((await get(server)).status).toBe(200);
  });

  test('failNext injects statuses ahead of everything, then service resumes', async () => {
    server.failNext(503, 2, { message: 'Service Unavailable' });
    const a = await get(server);
    const b = await get(server);
    const c = await get(server);
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
    expect(a.message).toBe('Service Unavailable');
    // Injected failures do not use up the rate limit (2 without a key).
    expect((await get(server)).status).toBe(200);
    expect((await get(server)).status).toBe(403);
  });

  test('failNext can bypass the API key check and reset the connection', async () => {
    server.failNext(403, 1);
    expect((await get(server, {}, { apiKey: 'wrong' })).status).toBe(403);
    server.failNext('reset');
    await expect(fetch(`${server.url}${NVD_PATH}`)).rejects.toThrow();
    expect((await get(server)).status).toBe(200);
    expect(server.requests.map((r) => r.status)).toEqual([403, 0, 200]);
  });

  test('failNext delays the answer when asked', async () => {
    server.failNext(500, 1, { delayMs: 150 });
    const started = Date.now();
    expect((await get(server)).status).toBe(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  test('records path, decoded query, raw query, headers, time and status', async () => {
    await get(
      server,
      'lastModStartDate=2024-01-01T00:00:00.000%2B01:00&lastModEndDate=2024-01-02T00:00:00.000Z&resultsPerPage=10&startIndex=0',
      { apiKey: 'good-key' },
    );
    clock += 5;
    await fetch(`${server.url}/elsewhere?x=1`);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]).toMatchObject({
      method: 'GET',
      path: NVD_PATH,
      query: {
        lastModStartDate: '2024-01-01T00:00:00.000+01:00',
        lastModEndDate: '2024-01-02T00:00:00.000Z',
        resultsPerPage: '10',
        startIndex: '0',
      },
      rawQuery: 'lastModStartDate=2024-01-01T00:00:00.000%2B01:00&lastModEndDate=2024-01-02T00:00:00.000Z&resultsPerPage=10&startIndex=0',
      time: 1_700_000_000_000,
      status: 200,
    });
    expect(server.requests[0]!.headers.apikey).toBe('good-key');
    expect(server.requests[1]).toMatchObject({ path: '/elsewhere', query: { x: '1' }, time: 1_700_000_000_005, status: 404 });
    server.clearRequests();
    expect(server.requests).toHaveLength(0);
  });
});

describe('makeCve', () => {
  test('gives unique ids and realistic defaults; overrides replace top-level keys', () => {
    const a = makeCve();
    const b = makeCve();
    expect(a.id).toMatch(/^CVE-2024-\d{5}$/);
    expect(b.id).not.toBe(a.id);
    expect(a.metrics?.cvssMetricV31?.[0]?.cvssData.baseSeverity).toBe('CRITICAL');
    const c = makeCve({ id: 'CVE-2020-0001', metrics: {}, configurations: undefined, vulnStatus: 'Awaiting Analysis' });
    expect(c).toMatchObject({ id: 'CVE-2020-0001', metrics: {}, vulnStatus: 'Awaiting Analysis' });
    expect(c.configurations).toBeUndefined();
    expect(c.descriptions?.[0]?.value).toContain('CVE-2020-0001');
  });
});
