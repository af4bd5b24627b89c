/**
 * The VirusTotal replica answers like GET /api/v3/ioc_stream: x-apikey (401 AuthenticationRequired
 * / WrongCredentials errors), `limit` up to 40 with `meta.cursor` and `links.next`, the `date:`,
 * `origin:` and `entity_type:` filters, `order`, and 429 QuotaExceededError.
 */
import { replica, type IocStreamObject } from '../../../replicas/virustotal.js';
import { GOOD_TOKEN, replicaUnderTest } from '../../helpers/replicas.js';

interface StreamAnswer {
  data: IocStreamObject[];
  meta: { cursor?: string };
  links: { self: string; next?: string };
  error?: { code: string; message: string };
}

describe('virustotal replica', () => {
  const s = replicaUnderTest(replica);
  const key = () => s.connection().credentials.apiKey!;

  const get = async (url: string, headers: Record<string, string> = { 'x-apikey': key() }) => {
    const res = await fetch(url, { headers });
    return { res, body: (await res.json()) as StreamAnswer };
  };

  it('answers the documented 401 errors, and accepts the key and approved Bearer tokens', async () => {
    expect((await get(`${s.url}/api/v3/ioc_stream`, {})).body.error).toEqual({ code: 'AuthenticationRequiredError', message: 'X-Apikey header is missing' });
    const wrong = await get(`${s.url}/api/v3/ioc_stream`, { 'x-apikey': s.wrongConnection().credentials.apiKey! });
    expect([wrong.res.status, wrong.body.error?.code]).toEqual([401, 'WrongCredentialsError']);
    expect((await get(`${s.url}/api/v3/ioc_stream`, { authorization: `Bearer ${GOOD_TOKEN}` })).res.status).toBe(200);
  });

  it('pages with meta.cursor and links.next (at most 40), newest first by default', async () => {
    const items = s.items() as IocStreamObject[];
    const ids: string[] = [];
    let url: string | undefined = `${s.url}/api/v3/ioc_stream?limit=10`;
    let pages = 0;
    while (url) {
      const { body } = await get(url);
      ids.push(...body.data.map((o) => o.context_attributes.notification_id));
      expect(Boolean(body.meta.cursor)).toBe(Boolean(body.links.next));
      url = body.links.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(ids).toEqual(items.map((o) => o.context_attributes.notification_id).reverse());
    expect((await get(`${s.url}/api/v3/ioc_stream?limit=100`)).body.data).toHaveLength(Math.min(40, items.length));
    expect((await get(`${s.url}/api/v3/ioc_stream?order=size-`)).res.status).toBe(400);
  });

  it('filters by notification date, origin and entity type, oldest first with order=date+', async () => {
    const items = s.items() as IocStreamObject[];
    const pivot = items[20]!.context_attributes.notification_date;
    const iso = new Date(pivot * 1000).toISOString().slice(0, 19);
    const after = await get(`${s.url}/api/v3/ioc_stream?limit=40&order=${encodeURIComponent('date+')}&filter=${encodeURIComponent(`date:${iso}+`)}`);
    expect(after.body.data.map((o) => o.id)).toEqual(items.slice(20).map((o) => o.id));
    const before = await get(`${s.url}/api/v3/ioc_stream?limit=40&filter=${encodeURIComponent(`date:${iso}-`)}`);
    expect(before.body.data).toHaveLength(20);
    const files = await get(`${s.url}/api/v3/ioc_stream?limit=40&filter=${encodeURIComponent('entity_type:file origin:hunting')}`);
    expect(files.body.data.length).toBeGreaterThan(0);
    for (const o of files.body.data) expect([o.type, o.context_attributes.origin]).toEqual(['file', 'hunting']);
    const bad = await get(`${s.url}/api/v3/ioc_stream?filter=origin:notHunting`);
    expect([bad.res.status, bad.body.error?.code]).toEqual([400, 'BadRequestError']);
  });

  it('answers 429 QuotaExceededError, and maps every entity type as documented', async () => {
    s.server.rateLimitNext(1);
    const limited = await get(`${s.url}/api/v3/ioc_stream`);
    expect([limited.res.status, limited.body.error?.code]).toEqual([429, 'QuotaExceededError']);
    const types = new Set((s.items() as IocStreamObject[]).map((o) => replica.expectedRecord(o).type));
    expect(types).toEqual(new Set(['sha256', 'url', 'domain', 'ipv4', 'ipv6']));
  });
});
