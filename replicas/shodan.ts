/**
 * Shodan REST API replica: `GET /shodan/host/search` (developer.shodan.io/api, "Search Methods").
 *
 * - Auth: the API key in the `key` query parameter. A missing or wrong key is answered 401 with the
 *   HTML error page Shodan's front end returns (the official client turns it into "Invalid API key").
 * - Paging: `page` (1-based), a fixed 100 banners per page; `total` is the number of matches.
 * - Body: `{ matches: [banner...], facets: {...}, total }`; a banner carries `ip_str`, `port`,
 *   `transport`, `timestamp` (UTC, no offset, microseconds), `hostnames`, `location`, `_shodan`...
 * - Filters honoured in `query`: `after:` / `before:` (dd/mm/yyyy as documented, yyyy-mm-dd too),
 *   `port:`, `country:`, `product:`; other terms match every banner.
 * - Rate limit: 1 request per second; the 429 body is `{ "error": "..." }` like every API error.
 */
import { createHash } from 'node:crypto';
import { Random, ReplicaServer, keyOrBearer, serve, series, uuidFromHex } from './base.js';
import type { ReplicaModule, ReplicaOptions, StartedReplica } from './base.js';

const PROVIDER = 'shodan';
const API_KEY = 'SHODANreplicaKEY0123456789abcdef';
const WRONG_KEY = 'SHODANwrongKEY00000000000000000000';
/** Shodan pages search results 100 at a time; the page size is not a parameter. */
const PAGE_SIZE = 100;
/** Time between two banners of the dataset (210 banners span about three days). */
const STEP_MS = 20 * 60_000;

export interface ShodanBanner {
  hash: number;
  ip: number;
  ip_str: string;
  port: number;
  transport: 'tcp' | 'udp';
  product?: string;
  version?: string;
  cpe?: string[];
  org: string;
  isp: string;
  asn: string;
  os: string | null;
  hostnames: string[];
  domains: string[];
  tags: string[];
  timestamp: string;
  data: string;
  location: {
    city: string;
    region_code: string;
    area_code: null;
    longitude: number;
    latitude: number;
    postal_code: string | null;
    country_code: string;
    country_name: string;
  };
  _shodan: { crawler: string; ptr: boolean; id: string; module: string; options: Record<string, unknown>; region: string };
  opts: Record<string, unknown>;
  vulns?: Record<string, { verified: boolean; cvss: number; summary: string; references: string[] }>;
}

const SERVICES = [
  { port: 22, transport: 'tcp', module: 'ssh', product: 'OpenSSH', version: '8.9p1', data: 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\nKey type: ssh-ed25519\n' },
  { port: 80, transport: 'tcp', module: 'http', product: 'nginx', version: '1.18.0', data: 'HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Type: text/html\r\n\r\n' },
  { port: 443, transport: 'tcp', module: 'https', product: 'Apache httpd', version: '2.4.41', data: 'HTTP/1.1 403 Forbidden\r\nServer: Apache/2.4.41 (Ubuntu)\r\n\r\n' },
  { port: 3389, transport: 'tcp', module: 'rdp', product: 'Remote Desktop Protocol', version: undefined, data: 'Remote Desktop Protocol\n\\x03\\x00\\x00\\x13\n' },
  { port: 161, transport: 'udp', module: 'snmp', product: 'Net-SNMP', version: '5.7.3', data: 'SNMP:\n  Versions:\n    1\n    2\n' },
  { port: 50050, transport: 'tcp', module: 'cobalt-strike-beacon', product: 'Cobalt Strike Beacon', version: undefined, data: 'Cobalt Strike Beacon:\n  x86:\n    beacon_type: HTTP\n' },
] as const;

const PLACES = [
  { city: 'Frankfurt am Main', region_code: 'HE', country_code: 'DE', country_name: 'Germany', latitude: 50.1155, longitude: 8.6842, org: 'Hetzner Online GmbH', asn: 'AS24940' },
  { city: 'Ashburn', region_code: 'VA', country_code: 'US', country_name: 'United States', latitude: 39.0437, longitude: -77.4875, org: 'Amazon.com, Inc.', asn: 'AS14618' },
  { city: 'Singapore', region_code: '01', country_code: 'SG', country_name: 'Singapore', latitude: 1.2897, longitude: 103.8501, org: 'DigitalOcean, LLC', asn: 'AS14061' },
  { city: 'Amsterdam', region_code: 'NH', country_code: 'NL', country_name: 'Netherlands', latitude: 52.374, longitude: 4.8897, org: 'Leaseweb Netherlands B.V.', asn: 'AS60781' },
] as const;

const TAG_SETS: string[][] = [['cloud'], ['self-signed'], [], ['vpn'], ['c2'], ['database', 'cloud']];

/** Shodan's `timestamp`: UTC, no offset, microseconds. */
function shodanTimestamp(ms: number, micros: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}`;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function makeBanner(index: number, at: number): ShodanBanner {
  const r = new Random(seedFor(index));
  const service = SERVICES[index % SERVICES.length]!;
  const place = PLACES[Math.floor(index / SERVICES.length) % PLACES.length]!;
  // Unique addresses in documentation-sized ranges spread over public space; every 7th is IPv6.
  const ipv6 = index % 7 === 6;
  const ip_str = ipv6
    ? `2a01:4f8:${(0x1000 + index).toString(16)}:${r.int(0xffff).toString(16)}::${(index % 250) + 2}`
    : r.spreadIpv4(index, 45, 150);
  const micros = r.int(1_000_000);
  const host = `host-${index}.${place.country_code.toLowerCase()}.example.net`;
  const banner: ShodanBanner = {
    hash: r.int(2 ** 31) * (r.next() < 0.5 ? -1 : 1),
    ip: ipv6 ? 0 : ipv4ToInt(ip_str),
    ip_str,
    port: service.port,
    transport: service.transport,
    product: service.product,
    ...(service.version ? { version: service.version } : {}),
    cpe: [`cpe:/a:${service.product.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`],
    org: place.org,
    isp: place.org,
    asn: place.asn,
    os: service.module === 'rdp' ? 'Windows Server 2019' : null,
    hostnames: [host],
    domains: ['example.net'],
    tags: TAG_SETS[index % TAG_SETS.length]!,
    timestamp: shodanTimestamp(at, micros),
    data: service.data,
    location: {
      city: place.city,
      region_code: place.region_code,
      area_code: null,
      longitude: place.longitude,
      latitude: place.latitude,
      postal_code: null,
      country_code: place.country_code,
      country_name: place.country_name,
    },
    _shodan: {
      crawler: createHash('sha1').update(`crawler-${index % 5}`).digest('hex'),
      ptr: true,
      id: uuidFromHex(createHash('sha256').update(`shodan-banner-${index}`).digest('hex')),
      module: service.module,
      options: {},
      region: index % 2 ? 'na' : 'eu',
    },
    opts: {},
  };
  if (service.module === 'https') {
    banner.vulns = {
      'CVE-2021-44790': {
        verified: false,
        cvss: 9.8,
        summary: 'A carefully crafted request body can cause a buffer overflow in the mod_lua multipart parser.',
        references: ['https://httpd.apache.org/security/vulnerabilities_24.html'],
      },
    };
  }
  return banner;
}

/** A per-index seed (a tagged number keeps the data deterministic and distinct per banner). */
function seedFor(index: number): number {
  return 0x5d0da + index * 7919;
}

/** Parses a Shodan date filter value: dd/mm/yyyy (documented) or yyyy-mm-dd; UTC midnight, or null. */
function parseShodanDate(value: string): number | null {
  let m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  if (m) return Date.UTC(Number(m[3]), Number(m[2]) - 1, Number(m[1]));
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (m) return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return null;
}

function bannerTime(banner: ShodanBanner): number {
  return Date.parse(`${banner.timestamp.slice(0, 23)}Z`);
}

const DAY = 86_400_000;

interface ParsedQuery {
  after: number | null;
  before: number | null;
  filters: Array<(b: ShodanBanner) => boolean>;
  error?: string;
}

/** The filters of a Shodan search query this replica understands (`name:value`, quoted values allowed). */
function parseQuery(query: string): ParsedQuery {
  const out: ParsedQuery = { after: null, before: null, filters: [] };
  for (const m of query.matchAll(/(-?)([a-z_.]+):("([^"]*)"|\S+)/gi)) {
    const negate = m[1] === '-';
    const name = m[2]!.toLowerCase();
    const value = m[4] ?? m[3]!;
    let test: ((b: ShodanBanner) => boolean) | null = null;
    switch (name) {
      case 'after':
      case 'before': {
        const at = parseShodanDate(value);
        if (at === null) {
          out.error = `Invalid date for the "${name}" filter: ${value}`;
          return out;
        }
        // "after" a date: from the next day on; "before" a date: earlier than that day.
        if (name === 'after') out.after = at + DAY;
        else out.before = at;
        continue;
      }
      case 'port':
        test = (b) => value.split(',').map(Number).includes(b.port);
        break;
      case 'country':
        test = (b) => value.toUpperCase().split(',').includes(b.location.country_code);
        break;
      case 'product':
        test = (b) => (b.product ?? '').toLowerCase() === value.toLowerCase();
        break;
      case 'tag':
        test = (b) => b.tags.includes(value.toLowerCase());
        break;
      default:
        continue;
    }
    out.filters.push(negate ? (b) => !test!(b) : test);
  }
  return out;
}

/** Shodan's 401 page for a missing or refused API key (HTML, as its front end serves it). */
const UNAUTHORIZED_HTML =
  '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>401 Unauthorized</title>\n<h1>Unauthorized</h1>\n' +
  '<p>The server could not verify that you are authorized to access the URL requested. You either supplied the wrong credentials ' +
  "(e.g. a bad password), or your browser doesn't understand how to supply the credentials required.</p>\n";

/** The body Shodan sends with 429 when more than one request a second arrives. */
export const SHODAN_RATE_LIMIT_BODY = {
  error: 'Request rate limit reached (1/second). Please wait a second before trying again and slow down your API calls.',
};

async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  // Shodan's page size is fixed at 100: the default dataset is large enough for three pages. The
  // newest original banner is two hours old; added ones follow it, STEP_MS apart.
  const { list: banners, add } = series(options.now ?? Date.now(), options.items ?? 210, STEP_MS, 2 * 3600_000, makeBanner);

  const server = new ReplicaServer(PROVIDER, () => ({ body: SHODAN_RATE_LIMIT_BODY }));
  server.route('GET', '/shodan/host/search', async (req) => {
    if (!(await keyOrBearer(req, req.query.get('key'), API_KEY, options.verifyBearer))) {
      return { status: 401, headers: { 'content-type': 'text/html; charset=utf-8' }, body: UNAUTHORIZED_HTML };
    }
    const query = req.query.get('query');
    if (query === null || query.trim() === '') return { status: 400, body: { error: 'No query search query specified.' } };
    const pageText = req.query.get('page') ?? '1';
    const page = Number(pageText);
    if (!Number.isInteger(page) || page < 1) return { status: 400, body: { error: 'Invalid page number' } };
    const parsed = parseQuery(query);
    if (parsed.error) return { status: 400, body: { error: parsed.error } };
    const matching = banners
      .filter((b) => {
        const t = bannerTime(b);
        if (parsed.after !== null && t < parsed.after) return false;
        if (parsed.before !== null && t >= parsed.before) return false;
        return parsed.filters.every((f) => f(b));
      })
      // Newest banners first, as Shodan lists recent results.
      .sort((a, b) => bannerTime(b) - bannerTime(a));
    const slice = matching.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    const minify = (req.query.get('minify') ?? 'true') !== 'false';
    const body: Record<string, unknown> = {
      matches: slice.map((b) => (minify ? { ...b, data: b.data.slice(0, 256) } : b)),
      total: matching.length,
    };
    const facets = req.query.get('facets');
    if (facets) {
      const out: Record<string, Array<{ count: number; value: string | number }>> = {};
      for (const facet of facets.split(',').map((f) => f.trim().split(':')[0]!)) {
        const counts = new Map<string | number, number>();
        for (const b of matching) {
          const value = facet === 'country' ? b.location.country_code : facet === 'port' ? b.port : facet === 'org' ? b.org : null;
          if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
        }
        out[facet] = [...counts].sort((a, b) => b[1] - a[1]).map(([value, count]) => ({ count, value }));
      }
      body.facets = out;
    }
    return { body };
  });
  return serve(server, {
    authType: 'API_KEY',
    credentials: { apiKey: API_KEY },
    wrongCredentials: { apiKey: WRONG_KEY },
    // The banners span days; a month of first-sync lookback reads them all.
    config: () => ({ query: 'port:22,80,443,3389,161,50050', initialLookbackSec: 30 * 86400 }),
    addItems: add,
    items: () => banners.map((b) => structuredClone(b)),
  });
}

/** ISO 8601 UTC (milliseconds) of a Shodan timestamp, which is UTC without an offset. */
function isoOf(timestamp: string): string {
  return new Date(`${timestamp.slice(0, 23)}Z`).toISOString();
}

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item) {
    const b = item as ShodanBanner;
    return {
      kind: 'indicator',
      type: b.ip_str.includes(':') ? 'ipv6' : 'ipv4',
      value: b.ip_str,
      firstSeen: isoOf(b.timestamp),
      // A banner is Shodan's own observation of the service on that address at that time.
      confidence: 100,
      labels: b.tags,
      port: b.port,
      transport: b.transport,
    };
  },
  authRemediation: /account\.shodan\.io/,
};
