/**
 * The GreyNoise replica answers like GET /v2/experimental/gnql: the `key` header (401 `{ message }`),
 * `size` and `scroll` with `complete` and `count`, GNQL terms with AND / OR / NOT, parentheses and
 * date comparisons on last_seen, and a 429 `{ message }`.
 */
import { replica, type GreyNoiseContext } from '../../../replicas/greynoise.js';
import { GOOD_TOKEN, replicaUnderTest } from '../../helpers/replicas.js';

interface GnqlAnswer {
  complete: boolean;
  count: number;
  data: GreyNoiseContext[];
  message: string;
  query: string;
  scroll?: string;
}

describe('greynoise replica', () => {
  const s = replicaUnderTest(replica);
  const key = () => s.connection().credentials.apiKey!;

  const gnql = async (params: Record<string, string>, headers: Record<string, string> = { key: key() }) => {
    const res = await fetch(`${s.url}/v2/experimental/gnql?${new URLSearchParams(params)}`, { headers });
    return { res, body: (await res.json()) as GnqlAnswer };
  };

  it('refuses a wrong key with 401, accepts the key and approved Bearer tokens', async () => {
    const wrong = await gnql({ query: 'classification:malicious' }, { key: s.wrongConnection().credentials.apiKey! });
    expect([wrong.res.status, wrong.body]).toEqual([401, { message: 'Unauthorized' }]);
    expect((await gnql({ query: 'classification:malicious' }, { authorization: `Bearer ${GOOD_TOKEN}` })).res.status).toBe(200);
  });

  it('scrolls through a query with size, complete and count', async () => {
    const items = s.items() as GreyNoiseContext[];
    const query = s.connection().config.query as string;
    const ips: string[] = [];
    let scroll: string | undefined;
    let pages = 0;
    do {
      const { body } = await gnql({ query, size: '10', ...(scroll ? { scroll } : {}) });
      expect(body.count).toBe(items.length);
      ips.push(...body.data.map((c) => c.ip));
      scroll = body.scroll;
      expect(body.complete).toBe(scroll === undefined);
      pages++;
    } while (scroll);
    expect(pages).toBe(3);
    expect(new Set(ips)).toEqual(new Set(items.map((c) => c.ip)));
    expect((await gnql({ query, scroll: 'bm90LWEtdG9rZW4=' })).res.status).toBe(400);
  });

  it('evaluates GNQL terms, booleans and last_seen dates', async () => {
    const items = s.items() as GreyNoiseContext[];
    const pivot = items[10]!.last_seen;
    const count = async (query: string) => (await gnql({ query })).body.count;
    expect(await count(`last_seen:>=${pivot}`)).toBe(items.filter((c) => c.last_seen >= pivot).length);
    expect(await count(`last_seen:[${pivot} TO *]`)).toBe(items.filter((c) => c.last_seen >= pivot).length);
    expect(await count(`last_seen:${pivot}`)).toBe(1);
    expect(await count('classification:malicious')).toBe(items.filter((c) => c.classification === 'malicious').length);
    expect(await count('(classification:benign OR classification:unknown) -spoofable:true')).toBe(
      items.filter((c) => (c.classification === 'benign' || c.classification === 'unknown') && !c.spoofable).length,
    );
    const none = await gnql({ query: 'classification:malicious last_seen:>=2999-01-01' });
    expect([none.body.count, none.body.message, none.body.complete]).toEqual([0, 'no results', true]);
    expect((await gnql({ query: 'last_seen:>=yesterday-ish' })).res.status).toBe(400);
  });

  it('answers 429 with its message, and maps the classification to confidence', async () => {
    s.server.rateLimitNext(1);
    const limited = await gnql({ query: 'classification:malicious' });
    expect(limited.res.status).toBe(429);
    expect(limited.body.message).toMatch(/rate limit/);
    const malicious = (s.items() as GreyNoiseContext[]).find((c) => c.classification === 'malicious')!;
    expect(replica.expectedRecord(malicious)).toMatchObject({ kind: 'indicator', value: malicious.ip, confidence: 90, firstSeen: `${malicious.first_seen}T00:00:00.000Z` });
  });
});
