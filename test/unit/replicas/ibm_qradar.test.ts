/**
 * The QRadar replica answers like the documented REST API: GET /api/siem/offenses with the SEC
 * header, Range/Content-Range paging, filter and sort parameters, the QRadar error envelope (401
 * code 18, 422 for bad filters, sorts and ranges); and the manifest parses.
 */
import { replica, type QRadarOffense } from '../../../replicas/ibm_qradar.js';
import { GOOD_TOKEN, manifestOf, replicaUnderTest } from '../../helpers/replicas.js';

describe('ibm_qradar replica', () => {
  const s = replicaUnderTest(replica);
  const offenses = (query = '', headers: Record<string, string> = {}) =>
    fetch(`${s.url}/api/siem/offenses${query}`, { headers: { sec: s.connection().credentials.token!, version: '14.0', ...headers } });

  it('refuses a wrong or missing SEC token with the 401 envelope, accepts SEC, Basic and approved Bearer tokens', async () => {
    const wrong = await fetch(`${s.url}/api/siem/offenses`, { headers: { sec: s.wrongConnection().credentials.token! } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ http_response: { code: 401, message: 'You are unauthorized to access the requested resource.' }, code: 18, details: {} });
    expect((await fetch(`${s.url}/api/siem/offenses`)).status).toBe(401);
    expect((await offenses()).status).toBe(200);
    expect((await fetch(`${s.url}/api/siem/offenses`, { headers: { authorization: `Bearer ${GOOD_TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${s.url}/api/siem/offenses`, { headers: { authorization: 'Bearer bad' } })).status).toBe(401);
  });

  it('pages with Range and answers Content-Range, in sort order', async () => {
    const items = s.items() as QRadarOffense[];
    expect(items).toHaveLength(25);
    const seen: number[] = [];
    let pages = 0;
    for (let from = 0; ; from += 10) {
      const res = await offenses('?sort=%2Bid', { range: `items=${from}-${from + 9}` });
      const page = (await res.json()) as QRadarOffense[];
      pages++;
      seen.push(...page.map((o) => o.id));
      const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')![1]);
      if (from + 10 >= total) {
        expect(res.headers.get('content-range')).toBe(`items 20-24/25`);
        break;
      }
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(items.map((o) => o.id));
    const past = await offenses('', { range: 'items=100-109' });
    expect(past.headers.get('content-range')).toBe('items */25');
    expect(await past.json()).toEqual([]);
    const desc = (await (await offenses('?sort=-id', { range: 'items=0-0' })).json()) as QRadarOffense[];
    expect(desc[0]!.id).toBe(items.at(-1)!.id);
  });

  it('filters with the documented syntax and refuses invalid filters, sorts and ranges', async () => {
    const items = s.items() as QRadarOffense[];
    const cut = items[19]!;
    const filter = encodeURIComponent(`id > ${cut.id} and last_updated_time >= ${items[0]!.last_updated_time}`);
    expect(((await (await offenses(`?filter=${filter}`)).json()) as QRadarOffense[]).map((o) => o.id)).toEqual(items.slice(20).map((o) => o.id));
    const open = await offenses(`?filter=${encodeURIComponent('status = OPEN')}&fields=id,severity`);
    expect(((await open.json()) as unknown[])[0]).toEqual({ id: items[0]!.id, severity: items[0]!.severity });
    const bad = await offenses(`?filter=${encodeURIComponent('id >> 3')}`);
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ code: 1010, http_response: { code: 422 } });
    expect(((await (await offenses('?sort=%2Bnope')).json()) as { code: number }).code).toBe(1030);
    expect(((await (await offenses('', { range: 'items=9-1' })).json()) as { code: number }).code).toBe(1005);
  });

  it('answers injected rate limits with a 429 in the QRadar error envelope', async () => {
    s.server.rateLimitNext(2);
    const res = await offenses();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ http_response: { code: 429 } });
  });

  it('appends newer offenses with higher ids', () => {
    const before = s.items() as QRadarOffense[];
    s.addItems(2);
    const after = s.items() as QRadarOffense[];
    expect(after.at(-1)!.id).toBe(before.at(-1)!.id + 2);
    expect(after.at(-1)!.start_time).toBeGreaterThan(before.at(-1)!.start_time);
    expect(replica.expectedRecord(after.at(-1))).toMatchObject({ kind: 'event', eventId: String(after.at(-1)!.id), severity: after.at(-1)!.severity });
  });

  it('has a valid manifest', () => {
    const m = manifestOf('ibm_qradar');
    expect(m.id).toBe('ibm_qradar');
    expect(m.auth.API_KEY?.remediation).toMatch(replica.authRemediation);
  });
});
