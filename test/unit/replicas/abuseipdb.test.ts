/**
 * The AbuseIPDB replica answers like APIv2: the `Key` header (401 `errors[]` when refused), the
 * blacklist with confidenceMinimum / limit / country / ipVersion filters in one unpaged answer,
 * the paged reports endpoint, 422 validation errors and the 429 with X-RateLimit-* headers.
 */
import { replica, type AbuseReport, type BlacklistEntry } from '../../../replicas/abuseipdb.js';
import { GOOD_TOKEN, replicaUnderTest } from '../../helpers/replicas.js';

describe('abuseipdb replica', () => {
  const s = replicaUnderTest(replica);
  const key = () => s.connection().credentials.apiKey!;

  const get = async (path: string, headers: Record<string, string> = { Key: key(), Accept: 'application/json' }) => {
    const res = await fetch(`${s.url}${path}`, { headers });
    const text = await res.text();
    return { res, text, body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null) as Record<string, any> };
  };

  it('refuses a wrong key with the documented 401, accepts the key and approved Bearer tokens', async () => {
    const wrong = await get('/api/v2/blacklist', { Key: s.wrongConnection().credentials.apiKey! });
    expect(wrong.res.status).toBe(401);
    expect(wrong.body.errors[0]).toEqual({ detail: expect.stringMatching(/^Authentication failed/), status: 401 });
    expect((await get('/api/v2/blacklist', { authorization: `Bearer ${GOOD_TOKEN}` })).res.status).toBe(200);
  });

  it('lists the blacklist in one answer, by score then latest report, with its filters', async () => {
    const items = s.items() as BlacklistEntry[];
    const all = await get('/api/v2/blacklist?confidenceMinimum=25');
    expect(all.body.meta.generatedAt).toMatch(/\+00:00$/);
    expect(all.body.data).toHaveLength(items.length);
    const scores = (all.body.data as BlacklistEntry[]).map((e) => e.abuseConfidenceScore);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect((await get('/api/v2/blacklist')).body.data).toEqual(all.body.data.filter((e: BlacklistEntry) => e.abuseConfidenceScore === 100));
    expect((await get('/api/v2/blacklist?confidenceMinimum=25&limit=3')).body.data).toEqual(all.body.data.slice(0, 3));
    expect((await get('/api/v2/blacklist?confidenceMinimum=25&ipVersion=6')).body.data.every((e: BlacklistEntry) => e.ipAddress.includes(':'))).toBe(true);
    expect((await get('/api/v2/blacklist?confidenceMinimum=25&onlyCountries=CN')).body.data.every((e: BlacklistEntry) => e.countryCode === 'CN')).toBe(true);
    const plain = await get('/api/v2/blacklist?confidenceMinimum=25&plaintext', { Key: key() });
    expect(plain.text.split('\n')).toEqual(all.body.data.map((e: BlacklistEntry) => e.ipAddress));
    const bad = await get('/api/v2/blacklist?confidenceMinimum=10');
    expect([bad.res.status, bad.body.errors[0].source]).toEqual([422, { parameter: 'confidenceMinimum' }]);
  });

  it('pages the reports of one address with nextPageUrl', async () => {
    const ip = (s.items() as BlacklistEntry[])[3]!.ipAddress;
    let url: string | null = `/api/v2/reports?ipAddress=${encodeURIComponent(ip)}&perPage=10&maxAgeInDays=30`;
    const seen: AbuseReport[] = [];
    let total = 0;
    while (url) {
      const { body } = await get(url);
      total = body.data.total;
      seen.push(...body.data.results);
      url = body.data.nextPageUrl ? body.data.nextPageUrl.slice(s.url.length) : null;
    }
    expect(seen).toHaveLength(total);
    expect(total).toBeGreaterThan(20);
  });

  it('answers 429 with X-RateLimit-* headers, and maps an entry as documented', async () => {
    s.server.rateLimitNext(7);
    const limited = await get('/api/v2/blacklist');
    expect(limited.res.status).toBe(429);
    expect([limited.res.headers.get('retry-after'), limited.res.headers.get('x-ratelimit-remaining')]).toEqual(['7', '0']);
    expect(limited.body.errors[0].detail).toMatch(/Daily rate limit/);
    const e = (s.items() as BlacklistEntry[])[0]!;
    expect(replica.expectedRecord(e)).toMatchObject({ kind: 'indicator', value: e.ipAddress, confidence: e.abuseConfidenceScore });
  });
});
