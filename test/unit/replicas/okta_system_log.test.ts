/**
 * The Okta System Log replica answers like the documented API: SSWS / Bearer auth with the E0000011
 * error object, bounded and polling requests, Link rel="self" / rel="next" paging, filters, the
 * E0000047 rate-limit body; and the manifest parses.
 */
import { replica } from '../../../replicas/okta_system_log.js';
import type { StartedReplica } from '../../../replicas/base.js';
import { findLink } from '../../../src/adapters/http/link.js';
import { GOOD_TOKEN, manifestOf, replicaUnderTest } from '../../helpers/replicas.js';

const TOKEN_HEADER = (s: StartedReplica) => ({ authorization: `SSWS ${s.connection().credentials.apiToken}` });

describe('okta_system_log replica', () => {
  const s = replicaUnderTest(replica);

  it('refuses a wrong token with 401 E0000011, accepts SSWS and approved Bearer tokens', async () => {
    const wrong = await fetch(`${s.url}/api/v1/logs`, { headers: { authorization: `SSWS ${s.wrongConnection().credentials.apiToken}` } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ errorCode: 'E0000011', errorSummary: 'Invalid token provided', errorLink: 'E0000011', errorCauses: [] });
    expect((await fetch(`${s.url}/api/v1/logs`, { headers: TOKEN_HEADER(s) })).status).toBe(200);
    expect((await fetch(`${s.url}/api/v1/logs`, { headers: { authorization: `Bearer ${GOOD_TOKEN}` } })).status).toBe(200);
    const bad = await fetch(`${s.url}/api/v1/logs`, { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('pages a bounded request through Link rel="next" until the last page has none', async () => {
    const items = s.items() as Array<{ uuid: string; published: string }>;
    expect(items).toHaveLength(25);
    const since = new Date(Date.parse(items[0]!.published) - 1000).toISOString();
    let url: string | null = `${s.url}/api/v1/logs?since=${encodeURIComponent(since)}&until=${encodeURIComponent(new Date().toISOString())}&sortOrder=ASCENDING&limit=10`;
    const seen: string[] = [];
    let pages = 0;
    while (url) {
      const res = await fetch(url, { headers: TOKEN_HEADER(s) });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-rate-limit-limit')).toBe('50');
      expect(findLink(res.headers.get('link'), url, 'self')).not.toBeNull();
      seen.push(...((await res.json()) as Array<{ uuid: string }>).map((e) => e.uuid));
      url = findLink(res.headers.get('link'), url, 'next');
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(items.map((e) => e.uuid));
  });

  it('always links a next page for polling requests, even when empty', async () => {
    const res = await fetch(`${s.url}/api/v1/logs?since=${encodeURIComponent(new Date().toISOString())}`, { headers: TOKEN_HEADER(s) });
    expect(await res.json()).toEqual([]);
    expect(findLink(res.headers.get('link'), s.url, 'next')).toMatch(/after=/);
  });

  it('filters on since and on SCIM filter expressions, and refuses bad ones', async () => {
    const items = s.items() as Array<{ published: string; severity: string }>;
    const cut = items[20]!.published;
    const res = await fetch(`${s.url}/api/v1/logs?since=${encodeURIComponent(cut)}&until=${encodeURIComponent(new Date().toISOString())}`, { headers: TOKEN_HEADER(s) });
    expect(((await res.json()) as unknown[]).length).toBe(5);
    const warn = await fetch(`${s.url}/api/v1/logs?since=${encodeURIComponent(items[0]!.published)}&until=${encodeURIComponent(new Date().toISOString())}&filter=${encodeURIComponent('severity eq "WARN"')}`, { headers: TOKEN_HEADER(s) });
    expect(((await warn.json()) as unknown[]).length).toBe(items.filter((e) => e.severity === 'WARN').length);
    const bad = await fetch(`${s.url}/api/v1/logs?filter=${encodeURIComponent('severity eqq "WARN"')}`, { headers: TOKEN_HEADER(s) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errorCode: 'E0000053' });
    const date = await fetch(`${s.url}/api/v1/logs?until=yesterday`, { headers: TOKEN_HEADER(s) });
    expect(date.status).toBe(400);
    expect(await date.json()).toMatchObject({ errorCode: 'E0000001' });
  });

  it('answers injected rate limits with E0000047 and the X-Rate-Limit headers', async () => {
    s.server.rateLimitNext(2);
    const res = await fetch(`${s.url}/api/v1/logs`, { headers: TOKEN_HEADER(s) });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('x-rate-limit-remaining')).toBe('0');
    expect(await res.json()).toMatchObject({ errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.' });
  });

  it('appends newer events and maps them to events on the 0-10 scale', () => {
    const before = s.items().length;
    s.addItems(3);
    const items = s.items() as Array<{ published: string }>;
    expect(items).toHaveLength(before + 3);
    expect(Date.parse(items[items.length - 1]!.published)).toBeGreaterThan(Date.parse(items[before - 1]!.published));
    expect(Date.parse(items[items.length - 1]!.published)).toBeLessThan(Date.now());
    const rec = replica.expectedRecord(items[0]);
    expect(rec).toMatchObject({ kind: 'event', vendor: 'Okta' });
    expect([1, 3, 6, 8]).toContain(rec.severity);
    expect(rec.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('has a manifest the engine accepts, whose API-token remediation names the Okta setting', () => {
    const manifest = manifestOf('okta_system_log');
    expect(manifest.id).toBe('okta_system_log');
    expect(manifest.auth.API_KEY!.remediation).toMatch(replica.authRemediation);
    expect(Object.keys(manifest.auth)).toEqual(expect.arrayContaining(['API_KEY', 'OAUTH2_CLIENT_CREDENTIALS']));
  });
});
