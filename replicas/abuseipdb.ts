/**
 * AbuseIPDB APIv2 replica (docs.abuseipdb.com): `GET /api/v2/blacklist`, plus `GET /api/v2/reports`
 * and `GET /api/v2/check` for completeness.
 *
 * - Auth: the API key in the `Key` header (the `key` query parameter is still accepted, as the
 *   docs say). Missing or wrong: 401 `{ errors: [{ detail, status }] }`.
 * - Blacklist: `confidenceMinimum` (25-100, default 100), `limit` (default 10000), `onlyCountries`,
 *   `exceptCountries`, `ipVersion`, `plaintext`. No paging and no time filter: one answer with
 *   `meta.generatedAt` and `data` sorted by `abuseConfidenceScore`, then `lastReportedAt`, newest first.
 * - Reports: `ipAddress`, `maxAgeInDays` (1-365, default 30), `page`, `perPage` (1-100, default 25);
 *   `data: { total, page, count, perPage, lastPage, nextPageUrl, previousPageUrl, results }`.
 * - Validation errors: 422 with `source.parameter`. Rate limit: 429 with `X-RateLimit-*` headers.
 */
import { Random, ReplicaServer, keyOrBearer, serve, series } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

const PROVIDER = 'abuseipdb';
const API_KEY = 'c3k69z846qn30q4r6eo3gsg3urqanuoypyluil350m7iyyw55mx6hd22aaa7xj9y0xbk2ygtrcxuzbh8';
const WRONG_KEY = 'wrongkey0000000000000000000000000000000000000000000000000000000000000000000000';
const STEP_MS = 11 * 60_000;
const DAY = 86_400_000;

export interface BlacklistEntry {
  ipAddress: string;
  countryCode: string | null;
  abuseConfidenceScore: number;
  lastReportedAt: string;
}

export interface AbuseReport {
  reportedAt: string;
  comment: string;
  categories: number[];
  reporterId: number;
  reporterCountryCode: string;
  reporterCountryName: string;
}

const COUNTRIES = [
  ['CN', 'China'],
  ['US', 'United States'],
  ['RU', 'Russia'],
  ['BR', 'Brazil'],
  ['IN', 'India'],
  ['DE', 'Germany'],
] as const;
/** Category ids of https://www.abuseipdb.com/categories: 14 Port Scan, 18 Brute-Force, 22 SSH, 21 Web App Attack, 15 Hacking. */
const CATEGORY_SETS = [[18, 22], [14], [21, 15], [18, 22, 15]];
const COMMENTS = ['SSH login attempts with user root.', 'Port scan detected on 23/tcp, 2323/tcp.', 'GET /wp-login.php brute force', 'Failed password for invalid user admin'];

/** AbuseIPDB timestamps: ISO 8601 with seconds and a `+00:00` offset. */
function abuseTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}

function makeEntry(index: number, at: number): BlacklistEntry {
  const r = new Random(0xab05e + index * 3571);
  const v6 = index % 8 === 7;
  return {
    ipAddress: v6 ? `2001:db8:ab:${(index + 1).toString(16)}::${(index % 200) + 1}` : r.spreadIpv4(index, 80, 140),
    countryCode: index % 13 === 12 ? null : COUNTRIES[index % COUNTRIES.length]![0],
    abuseConfidenceScore: 75 + r.int(26),
    lastReportedAt: abuseTime(at),
  };
}

/** Deterministic reports of one address, newest first, up to `lastReportedAt` when it is listed. */
function reportsOf(ip: string, newest: number, count: number): AbuseReport[] {
  let seed = 0;
  for (const ch of ip) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  const r = new Random(seed);
  const out: AbuseReport[] = [];
  let at = newest;
  for (let i = 0; i < count; i++) {
    const [code, name] = r.pick(COUNTRIES);
    out.push({
      reportedAt: abuseTime(at),
      comment: COMMENTS[i % COMMENTS.length]!,
      categories: CATEGORY_SETS[i % CATEGORY_SETS.length]!,
      reporterId: 1000 + r.int(90_000),
      reporterCountryCode: code,
      reporterCountryName: name,
    });
    at -= 40 * 60_000 + r.int(3 * 3600_000);
  }
  return out;
}

function errors(status: number, detail: string, parameter?: string): ReplicaResponse {
  return { status, body: { errors: [{ detail, status, ...(parameter ? { source: { parameter } } : {}) }] } };
}

/** AbuseIPDB's answer once an endpoint's daily quota is used up (with its X-RateLimit-* headers). */
export function abuseIpdbRateLimit(limit = 5): ReplicaResponse {
  return {
    body: { errors: [{ detail: `Daily rate limit of ${limit} requests exceeded for this endpoint. See headers for additional details.`, status: 429 }] },
    headers: {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(Math.floor((Math.floor(Date.now() / DAY) + 1) * DAY / 1000)),
    },
  };
}

function intParam(req: ReplicaRequest, name: string, min: number, max: number, fallback: number, detail: string): number | ReplicaResponse {
  const text = req.query.get(name);
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) return errors(422, detail, name);
  return n;
}

async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  // The newest listed address was reported 15 minutes ago.
  const { list: entries, add } = series(options.now ?? Date.now(), options.items ?? 25, STEP_MS, 15 * 60_000, makeEntry);

  const server = new ReplicaServer(PROVIDER, () => abuseIpdbRateLimit());
  const authorized = (req: ReplicaRequest) => keyOrBearer(req, req.headers.key ?? req.query.get('key'), API_KEY, options.verifyBearer);
  const unauthorized = () =>
    errors(401, 'Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.');

  server.route('GET', '/api/v2/blacklist', async (req) => {
    if (!(await authorized(req))) return unauthorized();
    const minimum = intParam(req, 'confidenceMinimum', 25, 100, 100, 'The confidence minimum must be between 25 and 100.');
    if (typeof minimum !== 'number') return minimum;
    const limit = intParam(req, 'limit', 1, 500_000, 10_000, 'The limit must be between 1 and 500000.');
    if (typeof limit !== 'number') return limit;
    const version = req.query.get('ipVersion');
    if (version !== null && version !== '4' && version !== '6') return errors(422, 'The ip version must be 4 or 6.', 'ipVersion');
    const only = req.query.get('onlyCountries')?.toUpperCase().split(',').filter(Boolean);
    const except = req.query.get('exceptCountries')?.toUpperCase().split(',').filter(Boolean);
    const listed = entries
      .filter((e) => e.abuseConfidenceScore >= minimum)
      .filter((e) => version === null || (version === '6') === e.ipAddress.includes(':'))
      .filter((e) => !only?.length || (e.countryCode !== null && only.includes(e.countryCode)))
      .filter((e) => !except?.length || e.countryCode === null || !except.includes(e.countryCode))
      .sort((a, b) => b.abuseConfidenceScore - a.abuseConfidenceScore || Date.parse(b.lastReportedAt) - Date.parse(a.lastReportedAt))
      .slice(0, limit);
    const plaintext = req.query.has('plaintext') || String(req.headers.accept ?? '').startsWith('text/plain');
    if (plaintext) return { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: listed.map((e) => e.ipAddress).join('\n') };
    return { body: { meta: { generatedAt: abuseTime(Date.now()) }, data: listed } };
  });

  server.route('GET', '/api/v2/reports', async (req) => {
    if (!(await authorized(req))) return unauthorized();
    const ip = req.query.get('ipAddress');
    if (!ip) return errors(422, 'The ip address field is required.', 'ipAddress');
    const maxAge = intParam(req, 'maxAgeInDays', 1, 365, 30, 'The max age in days must be between 1 and 365.');
    if (typeof maxAge !== 'number') return maxAge;
    const page = intParam(req, 'page', 1, 1_000_000, 1, 'The page must be at least 1.');
    if (typeof page !== 'number') return page;
    const perPage = intParam(req, 'perPage', 1, 100, 25, 'The per page must be between 1 and 100.');
    if (typeof perPage !== 'number') return perPage;
    const entry = entries.find((e) => e.ipAddress === ip);
    const all = entry ? reportsOf(ip, Date.parse(entry.lastReportedAt), 5 + (entries.indexOf(entry) % 4) * 10) : [];
    const recent = all.filter((r) => Date.parse(r.reportedAt) >= Date.now() - maxAge * DAY);
    const lastPage = Math.max(1, Math.ceil(recent.length / perPage));
    const results = recent.slice((page - 1) * perPage, page * perPage);
    const pageUrl = (n: number) => {
      const u = new URL(`${server.url}/api/v2/reports`);
      u.searchParams.set('ipAddress', ip);
      u.searchParams.set('maxAgeInDays', String(maxAge));
      u.searchParams.set('page', String(n));
      u.searchParams.set('perPage', String(perPage));
      return u.toString();
    };
    return {
      body: {
        data: {
          total: recent.length,
          page,
          count: results.length,
          perPage,
          lastPage,
          nextPageUrl: page < lastPage ? pageUrl(page + 1) : null,
          previousPageUrl: page > 1 ? pageUrl(page - 1) : null,
          results,
        },
      },
    };
  });

  server.route('GET', '/api/v2/check', async (req) => {
    if (!(await authorized(req))) return unauthorized();
    const ip = req.query.get('ipAddress');
    if (!ip) return errors(422, 'The ip address field is required.', 'ipAddress');
    const entry = entries.find((e) => e.ipAddress === ip);
    const reports = entry ? reportsOf(ip, Date.parse(entry.lastReportedAt), 5 + (entries.indexOf(entry) % 4) * 10) : [];
    return {
      body: {
        data: {
          ipAddress: ip,
          isPublic: true,
          ipVersion: ip.includes(':') ? 6 : 4,
          isWhitelisted: false,
          abuseConfidenceScore: entry?.abuseConfidenceScore ?? 0,
          countryCode: entry?.countryCode ?? null,
          usageType: 'Data Center/Web Hosting/Transit',
          isp: 'Example Hosting Ltd',
          domain: 'example.net',
          hostnames: [],
          isTor: false,
          totalReports: reports.length,
          numDistinctUsers: new Set(reports.map((r) => r.reporterId)).size,
          lastReportedAt: entry?.lastReportedAt ?? null,
          ...(req.query.has('verbose') ? { reports } : {}),
        },
      },
    };
  });
  return serve(server, {
    authType: 'API_KEY',
    credentials: { apiKey: API_KEY },
    wrongCredentials: { apiKey: WRONG_KEY },
    config: () => ({ confidenceMinimum: 75 }),
    addItems: add,
    items: () => entries.map((e) => structuredClone(e)),
  });
}

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item) {
    const e = item as BlacklistEntry;
    return {
      kind: 'indicator',
      type: e.ipAddress.includes(':') ? 'ipv6' : 'ipv4',
      value: e.ipAddress,
      // The blacklist carries only the latest report's time: the moment AbuseIPDB last saw abuse.
      firstSeen: new Date(e.lastReportedAt).toISOString(),
      confidence: e.abuseConfidenceScore,
      countryCode: e.countryCode,
    };
  },
  authRemediation: /account\/api/,
  snapshot: 'the blacklist is one ranked answer with neither paging nor a time filter.',
};
