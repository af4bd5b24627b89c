/**
 * The Shodan replica answers like GET /shodan/host/search: the key in the `key` query parameter
 * (401 HTML page when refused), fixed pages of 100 with `total`, `after:`/`before:` date filters
 * (dd/mm/yyyy and yyyy-mm-dd), banner timestamps in UTC without an offset, and `{ error }` bodies.
 */
import { replica, type ShodanBanner } from '../../../replicas/shodan.js';
import { GOOD_TOKEN, replicaUnderTest } from '../../helpers/replicas.js';

interface SearchAnswer {
  matches: ShodanBanner[];
  total: number;
  facets?: Record<string, Array<{ count: number; value: unknown }>>;
  error?: string;
}

describe('shodan replica', () => {
  const s = replicaUnderTest(replica);
  const key = () => s.connection().credentials.apiKey!;

  const search = async (params: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${s.url}/shodan/host/search?${new URLSearchParams(params)}`, { headers });
    const text = await res.text();
    return { res, text, body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null) as SearchAnswer };
  };

  it('refuses a missing or wrong key with the 401 page, accepts the key and approved Bearer tokens', async () => {
    for (const k of [undefined, s.wrongConnection().credentials.apiKey!]) {
      const { res, text } = await search({ ...(k ? { key: k } : {}), query: 'port:22' });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(text).toContain('401 Unauthorized');
    }
    expect((await search({ key: key(), query: 'port:22' })).res.status).toBe(200);
    expect((await search({ query: 'port:22' }, { authorization: `Bearer ${GOOD_TOKEN}` })).res.status).toBe(200);
  });

  it('pages 100 banners at a time with the total, newest first', async () => {
    const items = s.items() as ShodanBanner[];
    expect(items.length).toBeGreaterThan(200);
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const { body } = await search({ key: key(), query: 'after:01/01/2000', page: String(page) });
      expect(body.total).toBe(items.length);
      expect(body.matches.length).toBe(Math.max(0, Math.min(100, items.length - (page - 1) * 100)));
      seen.push(...body.matches.map((m) => m._shodan.id));
    }
    expect(seen).toEqual(items.map((b) => b._shodan.id).reverse());
  });

  it('honours after: and before: (exclusive days) and the port filter, and counts facets', async () => {
    const items = s.items() as ShodanBanner[];
    const at = (b: ShodanBanner) => Date.parse(`${b.timestamp}Z`.replace(/(\.\d{3})\d*Z$/, '$1Z'));
    const day = new Date(at(items[100]!)).toISOString().slice(0, 10);
    const [y, m, d] = day.split('-');
    const next = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
    const after = await search({ key: key(), query: `after:${d}/${m}/${y}` });
    expect(after.body.total).toBe(items.filter((b) => at(b) >= next).length);
    expect((await search({ key: key(), query: `after:${day}` })).body.total).toBe(after.body.total);
    const before = await search({ key: key(), query: `before:${day}` });
    expect(before.body.total).toBe(items.filter((b) => at(b) < next - 86_400_000).length);
    const ssh = await search({ key: key(), query: 'port:22', facets: 'country' });
    expect(ssh.body.total).toBe(items.filter((b) => b.port === 22).length);
    expect(ssh.body.facets!.country!.reduce((n, f) => n + f.count, 0)).toBe(ssh.body.total);
    const bad = await search({ key: key(), query: 'after:yesterday' });
    expect(bad.res.status).toBe(400);
    expect(bad.body.error).toMatch(/after/);
  });

  it('writes timestamps in UTC without an offset, and answers 429 with its error body', async () => {
    for (const b of s.items() as ShodanBanner[]) expect(b.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    s.server.rateLimitNext(2);
    const limited = await search({ key: key(), query: 'port:22' });
    expect(limited.res.status).toBe(429);
    expect(limited.res.headers.get('retry-after')).toBe('2');
    expect(limited.body.error).toMatch(/rate limit/i);
  });

  it('appends newer banners and maps them as documented', async () => {
    const before = s.items().length;
    s.addItems(2);
    const items = s.items() as ShodanBanner[];
    expect(items).toHaveLength(before + 2);
    expect(items.at(-1)!.timestamp > items.at(-3)!.timestamp).toBe(true);
    expect(replica.expectedRecord(items.at(-1))).toMatchObject({ kind: 'indicator', value: items.at(-1)!.ip_str, confidence: 100 });
  });
});
