/**
 * The MISP replica answers like the documented restSearch: raw auth key in Authorization (403 with
 * MISP's { name, message, url } when refused), page/limit in the JSON body, the timestamp / type /
 * tags filters, the decay score on request, MISP's rate-limit body; the manifest parses and the
 * engine maps every attribute as the replica's oracle says.
 */
import { replica, type MispAttribute } from '../../../replicas/misp.js';
import type { StartedReplica } from '../../../replicas/base.js';
import { GOOD_TOKEN, engineReader, expectMapped, manifestOf, replicaUnderTest } from '../../helpers/replicas.js';

const manifest = manifestOf('misp');

async function search(s: StartedReplica, body: unknown, key = s.connection().credentials.apiKey!) {
  const res = await fetch(`${s.url}/attributes/restSearch`, {
    method: 'POST',
    headers: { authorization: key, accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { res, body: (await res.json()) as { response: { Attribute: MispAttribute[] } } & Record<string, unknown> };
}

describe('misp replica', () => {
  const s = replicaUnderTest(replica);

  it('refuses a wrong key with 403 and MISP’s error object, accepts the key and approved Bearer tokens', async () => {
    const wrong = await search(s, { returnFormat: 'json' }, s.wrongConnection().credentials.apiKey);
    expect(wrong.res.status).toBe(403);
    expect(wrong.body).toEqual({
      name: 'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.',
      message: 'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.',
      url: '/attributes/restSearch',
    });
    expect((await search(s, { returnFormat: 'json' })).res.status).toBe(200);
    expect((await search(s, { returnFormat: 'json' }, `Bearer ${GOOD_TOKEN}`)).res.status).toBe(200);
    expect((await search(s, { returnFormat: 'json' }, 'Bearer nope')).res.status).toBe(403);
  });

  it('pages with page/limit in the body, orders and filters on timestamp, type and tags', async () => {
    const items = s.items() as MispAttribute[];
    expect(items).toHaveLength(25);
    const seen: string[] = [];
    for (let page = 1; ; page++) {
      const { res, body } = await search(s, { returnFormat: 'json', page, limit: 10, order: 'Attribute.timestamp asc' });
      expect(res.headers.get('x-result-count')).toBe(String(body.response.Attribute.length));
      seen.push(...body.response.Attribute.map((a) => a.uuid));
      if (body.response.Attribute.length < 10) break;
    }
    expect(seen).toEqual(items.map((a) => a.uuid));
    const cut = Number(items[20]!.timestamp);
    expect((await search(s, { returnFormat: 'json', timestamp: cut })).body.response.Attribute).toHaveLength(5);
    expect((await search(s, { returnFormat: 'json', timestamp: String(cut) })).body.response.Attribute).toHaveLength(5);
    expect((await search(s, { returnFormat: 'json', timestamp: '1d' })).body.response.Attribute).toHaveLength(25);
    const md5 = (await search(s, { returnFormat: 'json', type: ['md5'] })).body.response.Attribute;
    expect(md5.length).toBe(items.filter((a) => a.type === 'md5').length);
    const green = (await search(s, { returnFormat: 'json', tags: ['tlp:green'] })).body.response.Attribute;
    expect(green.length).toBe(items.filter((a) => a.Tag?.some((t) => t.name === 'tlp:green')).length);
    const plain = (await search(s, { returnFormat: 'json', limit: 1 })).body.response.Attribute[0]!;
    expect(plain.decay_score).toBeUndefined();
    const scored = (await search(s, { returnFormat: 'json', limit: 1, includeDecayScore: true })).body.response.Attribute[0]!;
    expect(scored.decay_score?.[0]).toMatchObject({ base_score: 80, decayed: false, DecayingModel: { id: '1' } });
  });

  it('answers injected rate limits with MISP’s body and X-Rate-Limit headers', async () => {
    s.server.rateLimitNext(2);
    const { res, body } = await search(s, { returnFormat: 'json' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('x-rate-limit-remaining')).toBe('0');
    expect(body).toEqual({ name: 'Rate limit exceeded.', message: 'Rate limit exceeded.', url: '/attributes/restSearch' });
  });

  it('has a manifest whose auth-key remediation names the MISP setting', () => {
    expect(manifest.auth.API_KEY!.remediation).toMatch(replica.authRemediation);
  });

  it('reads every attribute through the engine in three pages, mapped as the oracle says, then only newer ones', async () => {
    const engine = engineReader(manifest, s);
    const batches = await engine.read();
    expect(batches.length).toBe(3);
    const items = s.items();
    expectMapped(replica, items, batches.flatMap((b) => b.records));
    s.addItems(4);
    const again = await engine.read(batches[batches.length - 1]!.cursor);
    const values = again.flatMap((b) => b.records).map((r) => (r as { value: string }).value);
    const added = (s.items() as MispAttribute[]).slice(-4).map((a) => a.value);
    expect(values).toEqual(expect.arrayContaining(added));
    expect(values.length).toBeLessThan(items.length);
    engine.close();
  });
});
