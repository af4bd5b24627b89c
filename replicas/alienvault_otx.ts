/**
 * AlienVault OTX (LevelBlue Open Threat Exchange) DirectConnect replica: the indicator export
 * (`GET /api/v1/indicators/export`), after OTX's documentation and SDKs:
 *
 * - DirectConnect API reference (pulses, indicators, export): https://otx.alienvault.com/api
 * - OTX Python SDK (X-OTX-API-KEY header, `next`-URL paging, 403 = invalid key, 429 retried):
 *   https://github.com/AlienVault-OTX/OTX-Python-SDK/blob/master/OTXv2.py
 * - OTX Ruby SDK, `OTX::Export` (`/api/v1/indicators/export`, `limit`/`page`, `results`, `next`):
 *   https://www.rubydoc.info/gems/otx_ruby/OTX/Export
 * - Indicator types (IPv4, IPv6, domain, hostname, URL, URI, email, FileHash-*, CIDR, CVE...):
 *   https://www.rubydoc.info/gems/otx_ruby/OTX/Indicators
 * - A recorded export answer (`count`, `next` with types/modified_since/page, `previous`, items
 *   `{content, description, id, indicator, title, type}`) and the incremental use of
 *   modified_since: Elastic's OTX integration, https://github.com/elastic/integrations/tree/main/packages/ti_otx
 *
 * The export returns every indicator of the pulses the key's user is subscribed to, one item per
 * indicator: `{ id, indicator, type, title, description, content }` (no dates, no score). Query:
 * `types` (comma-separated OTX indicator types), `modified_since` (ISO 8601: indicators of pulses
 * modified since then), `limit` and `page` (Django REST Framework page-number paging). The answer is
 * `{ count, next, previous, results }`, `next` an absolute URL or null on the last page.
 *
 * Auth: `X-OTX-API-KEY: <key>` (Settings > API Integration > OTX Key) or, with `verifyBearer`,
 * `Authorization: Bearer <access token>`. A refused key is `403` with Django REST Framework's
 * `{"detail": ...}`; a throttled request is `429` with `{"detail": "Request was throttled. Expected
 * available in N seconds."}` and `Retry-After`.
 */
import { Random, ReplicaServer, keyOrBearer, recentInstants, serve } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

export const PROVIDER = 'alienvault_otx';

const API_KEY = '3f1c0a9e7b5d4c2a18e6f0b9d7c5a3e1f2b4d6c8a0e9f7b5d3c1a2e4f6b8d0c9';
const WRONG_KEY = '0000deadbeef1111cafebabe2222feedface3333badc0ffee4444abad1dea5555';
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 50;

/** One item of `results`, shaped like the export's documented answer. */
export interface OtxExportIndicator {
  id: number;
  indicator: string;
  type: string;
  title: string | null;
  description: string | null;
  content: string;
}

/** What the replica keeps beside an item: when its pulse was last modified (not in the answer). */
interface Stored {
  item: OtxExportIndicator;
  pulseModifiedMs: number;
}

const KINDS = ['IPv4', 'domain', 'FileHash-SHA256', 'URL', 'hostname', 'FileHash-MD5', 'IPv6', 'FileHash-SHA1', 'email', 'CVE', 'CIDR'] as const;
const WORDS = ['invoice', 'update', 'secure', 'cdn', 'portal', 'login', 'files', 'docs', 'auth', 'track'];
const TITLES = ['C2', 'Dropper', 'Phishing landing page', 'Payload', null, 'Exfiltration endpoint'];

class Generator extends Random {
  word(): string {
    return this.pick(WORDS);
  }
  indicator(index: number): OtxExportIndicator {
    const type = KINDS[index % KINDS.length]!;
    let value: string;
    switch (type) {
      case 'IPv4':
        value = this.ipv4('203.0.113');
        break;
      case 'IPv6':
        value = `2001:db8:${this.hex(4)}::${(1 + this.int(0xfff)).toString(16)}`;
        break;
      case 'domain':
        value = `${this.word()}-${this.word()}${index}.example`;
        break;
      case 'hostname':
        value = `${this.word()}.${this.word()}${index}.example.net`;
        break;
      case 'URL':
        value = `http://${this.word()}${index}.example.org/${this.word()}/${this.hex(6)}.exe`;
        break;
      case 'FileHash-MD5':
        value = this.hex(32);
        break;
      case 'FileHash-SHA1':
        value = this.hex(40);
        break;
      case 'FileHash-SHA256':
        value = this.hex(64);
        break;
      case 'email':
        value = `${this.word()}.${this.word()}${index}@example.com`;
        break;
      case 'CVE':
        value = `CVE-2024-${String(20_000 + this.int(30_000))}`;
        break;
      case 'CIDR':
        value = `198.51.${this.int(256)}.0/24`;
        break;
    }
    const title = this.pick(TITLES) ?? null;
    return {
      id: 3_518_000_000 + index * 7 + this.int(7),
      indicator: value,
      type,
      title,
      description: index % 4 === 0 ? 'Observed in a sandbox detonation' : null,
      content: '',
    };
  }
}

/** Django REST Framework's throttled answer (the suite injects it). */
export function otxRateLimitResponse(retryAfterSec: number): ReplicaResponse {
  return { status: 429, body: { detail: `Request was throttled. Expected available in ${retryAfterSec} seconds.` } };
}

export async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const server = new ReplicaServer(PROVIDER, otxRateLimitResponse);
  const gen = new Generator(0x07c5);
  const anchor = options.now ?? Date.now();
  // Pulses modified oldest first, all inside the default first-sync window (24 h).
  const stored: Stored[] = recentInstants(options.items ?? 25, anchor, 120).map((at, i) => ({ item: gen.indicator(i), pulseModifiedMs: at }));
  const authorized = (req: ReplicaRequest) => keyOrBearer(req, req.headers['x-otx-api-key'], API_KEY, options.verifyBearer);

  server.route('GET', '/api/v1/indicators/export', async (req) => {
    if (!(await authorized(req))) return { status: 403, body: { detail: 'Authentication credentials were not provided.' } };
    const q = req.query;
    const limitRaw = q.get('limit');
    const pageRaw = q.get('page');
    const limit = limitRaw === null || limitRaw === '' ? DEFAULT_LIMIT : Math.min(MAX_LIMIT, Number(limitRaw));
    const page = pageRaw === null || pageRaw === '' ? 1 : Number(pageRaw);
    if (!Number.isInteger(limit) || limit < 1) return { status: 400, body: { limit: ['A valid integer is required.'] } };
    if (!Number.isInteger(page) || page < 1) return { status: 404, body: { detail: 'Invalid page.' } };

    let matching = stored;
    const since = q.get('modified_since');
    if (since !== null && since !== '') {
      const ms = Date.parse(since);
      if (Number.isNaN(ms)) return { status: 400, body: { modified_since: ['Enter a valid date/time.'] } };
      matching = matching.filter((s) => s.pulseModifiedMs >= ms);
    }
    const types = q.get('types');
    if (types) {
      const wanted = types.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
      matching = matching.filter((s) => wanted.includes(s.item.type.toLowerCase()));
    }
    const pages = Math.max(1, Math.ceil(matching.length / limit));
    if (page > pages) return { status: 404, body: { detail: 'Invalid page.' } };
    const results = matching.slice((page - 1) * limit, page * limit).map((s) => ({ ...s.item }));
    const link = (n: number | null): string | null => {
      if (n === null) return null;
      const url = server.urlOf(req, 'page');
      if (n > 1) url.searchParams.set('page', String(n));
      return url.toString();
    };
    return {
      status: 200,
      body: { count: matching.length, next: link(page < pages ? page + 1 : null), previous: link(page > 1 ? page - 1 : null), results },
    };
  });

  return serve(server, {
    authType: 'API_KEY',
    credentials: { apiKey: API_KEY },
    wrongCredentials: { apiKey: WRONG_KEY },
    config: () => ({ pageSize: 10 }),
    addItems(n: number) {
      let last = stored.length ? stored[stored.length - 1]!.pulseModifiedMs : anchor - 600_000;
      for (let i = 0; i < n; i++) {
        // A pulse changes now: its modified time is the moment of the change.
        last = Math.max(last + 1000, Date.now());
        stored.push({ item: gen.indicator(stored.length), pulseModifiedMs: last });
      }
    },
    items: () => stored.map((s) => ({ ...s.item })),
  });
}

/** OTX indicator types as normalized indicator types. */
const TYPES: Record<string, string> = {
  IPv4: 'ipv4',
  IPv6: 'ipv6',
  domain: 'domain',
  hostname: 'domain',
  URL: 'url',
  URI: 'url',
  email: 'email',
  'FileHash-MD5': 'md5',
  'FileHash-SHA1': 'sha1',
  'FileHash-SHA256': 'sha256',
  CIDR: 'cidr',
  CVE: 'cve',
};

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const i = item as OtxExportIndicator;
    // The export carries neither dates nor a score: firstSeen and confidence are unknown.
    return { kind: 'indicator', type: TYPES[i.type] ?? i.type.toLowerCase(), value: i.indicator, firstSeen: null, confidence: null };
  },
  authRemediation: /API Integration/,
};
