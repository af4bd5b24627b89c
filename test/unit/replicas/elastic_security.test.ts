/**
 * The Elastic Security replica answers like Elasticsearch's documented search API on the alerts
 * index: ApiKey / Basic / Bearer auth with the security_exception 401, range queries on
 * @timestamp, sort + search_after paging, the `fields` option, the error envelope
 * (index_not_found_exception, illegal_argument_exception, es_rejected_execution_exception); and
 * the manifest parses.
 */
import { replica, type AlertHit } from '../../../replicas/elastic_security.js';
import { GOOD_TOKEN, manifestOf, replicaUnderTest } from '../../helpers/replicas.js';

const SORT = [{ '@timestamp': { order: 'asc' } }, { 'kibana.alert.uuid': { order: 'asc' } }];

describe('elastic_security replica', () => {
  const s = replicaUnderTest(replica);
  const search = (body: unknown, auth = `ApiKey ${s.connection().credentials.apiKey}`, index = '.alerts-security.alerts-default') =>
    fetch(`${s.url}/${index}/_search`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('refuses a wrong API key with 401 security_exception and WWW-Authenticate, accepts ApiKey and approved Bearer tokens', async () => {
    const wrong = await search({}, `ApiKey ${s.wrongConnection().credentials.apiKey}`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('ApiKey');
    expect(await wrong.json()).toMatchObject({
      error: { type: 'security_exception', reason: 'unable to authenticate with provided credentials and anonymous access is not allowed for this request' },
      status: 401,
    });
    expect((await search({})).status).toBe(200);
    expect((await search({}, `Bearer ${GOOD_TOKEN}`)).status).toBe(200);
    expect((await search({}, 'Bearer nope')).status).toBe(401);
  });

  it('pages a time-bounded search with search_after, returning fields and sort values', async () => {
    const items = s.items() as AlertHit[];
    expect(items).toHaveLength(25);
    const query = { bool: { filter: [{ range: { '@timestamp': { gte: items[0]!._source!['@timestamp'], lte: new Date().toISOString(), format: 'strict_date_optional_time' } } }] } };
    const seen: string[] = [];
    let after: unknown[] | undefined;
    let pages = 0;
    for (;;) {
      const res = await search({ size: 10, sort: SORT, query, fields: ['@timestamp', 'kibana.alert.*', 'source.ip'], track_total_hits: false, ...(after ? { search_after: after } : {}) });
      const body = (await res.json()) as { hits: { total?: unknown; hits: AlertHit[] } };
      expect(body.hits.total).toBeUndefined();
      pages++;
      for (const hit of body.hits.hits) {
        seen.push(hit._id);
        expect(hit.fields!['kibana.alert.uuid']).toEqual([hit._id]);
        expect(hit.fields!['source.ip']).toHaveLength(1);
        expect(hit.fields!['host.name']).toBeUndefined();
        expect(hit.sort).toEqual([Date.parse(hit._source!['@timestamp'] as string), hit._id]);
      }
      if (body.hits.hits.length < 10) break;
      after = body.hits.hits.at(-1)!.sort;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(items.map((h) => h._id));
    const later = await search({ size: 100, sort: SORT, query: { range: { '@timestamp': { gte: items[20]!._source!['@timestamp'] } } } });
    expect(((await later.json()) as { hits: { total: { value: number } } }).hits.total).toEqual({ value: 5, relation: 'eq' });
  });

  it('answers Elasticsearch errors for unknown indices and bad requests', async () => {
    const missing = await search({}, undefined, '.alerts-security.alerts-nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { type: 'index_not_found_exception' }, status: 404 });
    const mismatch = await search({ sort: SORT, search_after: [1] });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toMatchObject({ error: { type: 'illegal_argument_exception', reason: 'search_after has 1 value(s) but sort has 2.' } });
    const unknown = await search({ query: { fuzzy_wuzzy: {} } });
    expect(await unknown.json()).toMatchObject({ error: { type: 'parsing_exception' }, status: 400 });
  });

  it('answers injected rate limits with es_rejected_execution_exception', async () => {
    s.server.rateLimitNext(2);
    const res = await search({});
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ error: { type: 'es_rejected_execution_exception' }, status: 429 });
  });

  it('appends newer alerts', () => {
    const before = s.items() as AlertHit[];
    s.addItems(2);
    const after = s.items() as AlertHit[];
    expect(after).toHaveLength(before.length + 2);
    expect(after.at(-1)!.sort[0]).toBeGreaterThan(before.at(-1)!.sort[0]);
    const expected = replica.expectedRecord(after.at(-1));
    expect(expected).toMatchObject({ kind: 'event', eventId: after.at(-1)!._id });
    expect(expected.severity).toBeGreaterThan(0);
    expect(expected.severity).toBeLessThanOrEqual(10);
  });

  it('has a valid manifest', () => {
    const m = manifestOf('elastic_security');
    expect(m.id).toBe('elastic_security');
    expect(m.auth.API_KEY?.remediation).toMatch(replica.authRemediation);
  });
});
