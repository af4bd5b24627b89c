/**
 * The OTX replica answers like the DirectConnect indicator export: X-OTX-API-KEY (403 with a
 * Django REST Framework `detail` when refused), `limit`/`page` with absolute `next`/`previous`
 * URLs and `count`, the `types` and `modified_since` filters, the throttled body; the manifest
 * parses and the engine maps every indicator as the replica's oracle says.
 */
import { replica, type OtxExportIndicator } from '../../../replicas/alienvault_otx.js';
import { GOOD_TOKEN, engineReader, expectMapped, manifestOf, replicaUnderTest } from '../../helpers/replicas.js';

const manifest = manifestOf('alienvault_otx');

interface ExportPage {
  count: number;
  next: string | null;
  previous: string | null;
  results: OtxExportIndicator[];
}

async function get(url: string, key: string | null, extra: Record<string, string> = {}) {
  const res = await fetch(url, { headers: { ...(key ? { 'x-otx-api-key': key } : {}), ...extra } });
  return { res, body: (await res.json()) as ExportPage & { detail?: string } };
}

describe('alienvault_otx replica', () => {
  const s = replicaUnderTest(replica);
  const key = () => s.connection().credentials.apiKey!;

  it('refuses a wrong key with 403, accepts the key and approved Bearer tokens', async () => {
    const wrong = await get(`${s.url}/api/v1/indicators/export`, s.wrongConnection().credentials.apiKey!);
    expect(wrong.res.status).toBe(403);
    expect(wrong.body).toEqual({ detail: 'Authentication credentials were not provided.' });
    expect((await get(`${s.url}/api/v1/indicators/export`, key())).res.status).toBe(200);
    expect((await get(`${s.url}/api/v1/indicators/export`, null, { authorization: `Bearer ${GOOD_TOKEN}` })).res.status).toBe(200);
    expect((await get(`${s.url}/api/v1/indicators/export`, null, { authorization: 'Bearer nope' })).res.status).toBe(403);
  });

  it('pages through absolute next URLs with count and previous, and filters on types and modified_since', async () => {
    const items = s.items() as OtxExportIndicator[];
    expect(items).toHaveLength(25);
    let url: string | null = `${s.url}/api/v1/indicators/export?limit=10`;
    const seen: number[] = [];
    let pages = 0;
    while (url) {
      const { res, body } = await get(url, key());
      expect(res.status).toBe(200);
      expect(body.count).toBe(25);
      expect(body.previous === null).toBe(pages === 0);
      seen.push(...body.results.map((r) => r.id));
      for (const r of body.results) expect(Object.keys(r).sort()).toEqual(['content', 'description', 'id', 'indicator', 'title', 'type']);
      url = body.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(items.map((i) => i.id));
    const ipv4 = await get(`${s.url}/api/v1/indicators/export?types=IPv4,domain`, key());
    expect(ipv4.body.count).toBe(items.filter((i) => i.type === 'IPv4' || i.type === 'domain').length);
    const future = await get(`${s.url}/api/v1/indicators/export?modified_since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, key());
    expect(future.body).toMatchObject({ count: 0, next: null, results: [] });
    const bad = await get(`${s.url}/api/v1/indicators/export?page=9`, key());
    expect(bad.res.status).toBe(404);
  });

  it('answers injected rate limits with the throttled detail', async () => {
    s.server.rateLimitNext(3);
    const { res, body } = await get(`${s.url}/api/v1/indicators/export`, key());
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(body).toEqual({ detail: 'Request was throttled. Expected available in 3 seconds.' });
  });

  it('has a manifest whose key remediation names the OTX setting', () => {
    expect(manifest.auth.API_KEY!.remediation).toMatch(replica.authRemediation);
  });

  it('reads every indicator through the engine in three pages, mapped as the oracle says, then only newer ones', async () => {
    const engine = engineReader(manifest, s);
    const batches = await engine.read();
    expect(batches.length).toBe(3);
    expectMapped(replica, s.items(), batches.flatMap((b) => b.records));
    // The next sync asks for pulses modified since the last one ended: only the new indicators.
    s.addItems(3);
    const again = await engine.read(batches[batches.length - 1]!.cursor);
    expect(again.flatMap((b) => b.records).map((r) => (r as { value: string }).value)).toEqual((s.items() as OtxExportIndicator[]).slice(-3).map((i) => i.indicator));
    engine.close();
  });
});
