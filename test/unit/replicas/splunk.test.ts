/**
 * The Splunk replica answers like splunkd's documented REST API: oneshot search jobs with
 * count/offset paging and earliest_time/latest_time bounds, the JSON results envelope, Splunk /
 * Bearer / Basic auth with the `messages` 401 bodies, the search-quota rate-limit body; and the
 * manifest parses.
 */
import { replica, type SplunkNotable } from '../../../replicas/splunk.js';
import { GOOD_TOKEN, manifestOf, replicaUnderTest } from '../../helpers/replicas.js';

describe('splunk replica', () => {
  const s = replicaUnderTest(replica);
  const token = () => s.connection().credentials.token!;
  const search = (form: Record<string, string>, auth = `Splunk ${token()}`, query = '?output_mode=json') =>
    fetch(`${s.url}/services/search/v2/jobs${query}`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });

  it('refuses a wrong token with 401 "call not properly authenticated", accepts Splunk, Bearer and Basic', async () => {
    const wrong = await search({ search: 'search index=notable', exec_mode: 'oneshot' }, `Splunk ${s.wrongConnection().credentials.token}`);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ messages: [{ type: 'WARN', text: 'call not properly authenticated' }] });
    const xml = await search({ search: 'search index=notable', exec_mode: 'oneshot' }, 'Splunk nope', '');
    expect(xml.status).toBe(401);
    expect(await xml.text()).toContain('<msg type="WARN">call not properly authenticated</msg>');
    expect((await search({ search: 'search index=notable', exec_mode: 'oneshot' })).status).toBe(200);
    expect((await search({ search: 'search index=notable', exec_mode: 'oneshot' }, `Bearer ${token()}`)).status).toBe(200);
    expect((await search({ search: 'search index=notable', exec_mode: 'oneshot' }, `Bearer ${GOOD_TOKEN}`)).status).toBe(200);
    const basic = await search({ search: 'search index=notable', exec_mode: 'oneshot' }, `Basic ${Buffer.from('admin:wrong').toString('base64')}`);
    expect(basic.status).toBe(401);
    expect(await basic.json()).toEqual({ messages: [{ type: 'ERROR', text: 'Unauthorized' }] });
  });

  it('pages a oneshot search with count and offset inside earliest_time/latest_time, newest first', async () => {
    const items = s.items() as SplunkNotable[];
    expect(items).toHaveLength(25);
    const earliest = String(Math.floor(Date.parse(items[0]!._time) / 1000));
    const latest = String(Math.floor(Date.now() / 1000) + 1);
    const seen: string[] = [];
    for (let offset = 0; ; offset += 10) {
      const res = await search({ search: 'search index=notable', exec_mode: 'oneshot', earliest_time: earliest, latest_time: latest, count: '10', offset: String(offset) });
      const body = (await res.json()) as { init_offset: number; preview: boolean; results: SplunkNotable[]; fields: Array<{ name: string }> };
      expect(body).toMatchObject({ preview: false, init_offset: offset, messages: [], highlighted: {} });
      seen.push(...body.results.map((r) => r.event_id));
      if (body.results.length < 10) break;
    }
    expect(seen).toEqual(items.map((n) => n.event_id).reverse());
    // earliest_time is inclusive, latest_time exclusive; ISO 8601 works as well as epoch seconds.
    const cut = items[20]!._time;
    const res = await search({ search: 'search index=notable | sort 0 _time', exec_mode: 'oneshot', earliest_time: cut, count: '0' });
    expect(((await res.json()) as { results: SplunkNotable[] }).results.map((r) => r.event_id)).toEqual(items.slice(20).map((n) => n.event_id));
  });

  it('refuses searches that do not start with a command, and exec modes it does not serve', async () => {
    const res = await search({ search: 'index=notable', exec_mode: 'oneshot' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ messages: [{ type: 'FATAL', text: "Unknown search command 'index'." }] });
    expect((await search({ search: 'search *', exec_mode: 'oneshot', earliest_time: 'yesterday-ish' })).status).toBe(400);
  });

  it('answers injected rate limits with the search-quota message', async () => {
    s.server.rateLimitNext(2);
    const res = await search({ search: 'search index=notable', exec_mode: 'oneshot' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(((await res.json()) as { messages: Array<{ text: string }> }).messages[0]!.text).toMatch(/maximum number of concurrent historical searches/);
  });

  it('appends newer notables', () => {
    const before = s.items() as SplunkNotable[];
    s.addItems(2);
    const after = s.items() as SplunkNotable[];
    expect(after).toHaveLength(before.length + 2);
    expect(Date.parse(after.at(-1)!._time)).toBeGreaterThan(Date.parse(before.at(-1)!._time));
    expect(replica.expectedRecord(after.at(-1))).toMatchObject({ kind: 'event', eventId: after.at(-1)!.event_id, timestamp: expect.stringMatching(/Z$/) });
  });

  it('has a valid manifest', () => {
    const m = manifestOf('splunk');
    expect(m.id).toBe('splunk');
    expect(m.auth.API_KEY?.remediation).toMatch(replica.authRemediation);
  });
});
