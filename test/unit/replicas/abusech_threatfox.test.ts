/**
 * The ThreatFox replica answers like the documented get_iocs query: Auth-Key (401 with
 * query_status unknown_auth_key when refused), `days` 1–7 on first_seen, newest first, no paging,
 * illegal_days / no_result statuses; the manifest parses and the engine maps every IOC as the
 * replica's oracle says.
 */
import { replica, type ThreatFoxIoc } from '../../../replicas/abusech_threatfox.js';
import type { StartedReplica } from '../../../replicas/base.js';
import { GOOD_TOKEN, engineReader, expectMapped, manifestOf, replicaUnderTest } from '../../helpers/replicas.js';

const manifest = manifestOf('abusech_threatfox');

async function query(s: StartedReplica, body: unknown, headers: Record<string, string>) {
  // The documented curl example posts the JSON without a content type.
  const res = await fetch(`${s.url}/api/v1/`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { res, body: (await res.json()) as { query_status: string; data?: ThreatFoxIoc[] } };
}

describe('abusech_threatfox replica', () => {
  const s = replicaUnderTest(replica);
  const auth = () => ({ 'auth-key': s.connection().credentials.authKey! });

  it('refuses a wrong Auth-Key with 401 unknown_auth_key, accepts the key and approved Bearer tokens', async () => {
    const wrong = await query(s, { query: 'get_iocs', days: 1 }, { 'auth-key': s.wrongConnection().credentials.authKey! });
    expect(wrong.res.status).toBe(401);
    expect(wrong.body).toEqual({ query_status: 'unknown_auth_key' });
    expect((await query(s, { query: 'get_iocs', days: 1 }, auth())).body.query_status).toBe('ok');
    expect((await query(s, { query: 'get_iocs', days: 1 }, { authorization: `Bearer ${GOOD_TOKEN}` })).res.status).toBe(200);
    expect((await query(s, { query: 'get_iocs', days: 1 }, { authorization: 'Bearer nope' })).res.status).toBe(401);
  });

  it('returns every IOC of the last days, newest first, in one answer; refuses days outside 1-7', async () => {
    const items = s.items() as ThreatFoxIoc[];
    expect(items).toHaveLength(25);
    const { body } = await query(s, { query: 'get_iocs', days: 1 }, { ...auth(), 'content-type': 'application/json' });
    expect(body.data!.map((i) => i.id)).toEqual(items.map((i) => i.id).reverse());
    expect(body.data![0]!.first_seen).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    expect((await query(s, { query: 'get_iocs', days: 8 }, auth())).body).toEqual({ query_status: 'illegal_days' });
    expect((await query(s, { query: 'get_iocs' }, auth())).body.data).toHaveLength(25);
  });

  it('answers injected rate limits with 429 and Retry-After', async () => {
    s.server.rateLimitNext(2);
    const res = await fetch(`${s.url}/api/v1/`, { method: 'POST', headers: auth(), body: '{"query":"get_iocs","days":1}' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
  });

  it('has a manifest whose Auth-Key remediation names the abuse.ch setting', () => {
    expect(manifest.auth.API_KEY!.remediation).toMatch(replica.authRemediation);
  });

  it('reads every IOC through the engine in one answer, mapped as the oracle says', async () => {
    const engine = engineReader(manifest, s);
    const batches = await engine.read();
    expect(batches.length).toBe(1);
    expectMapped(replica, (s.items() as ThreatFoxIoc[]).slice().reverse(), batches[0]!.records);
    engine.close();
  });
});
