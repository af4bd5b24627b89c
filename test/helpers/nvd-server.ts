/**
 * A loopback fake of the NVD CVE API 2.0 (`GET /rest/json/cves/2.0`) for adapter tests.
 *
 * Behaviour, following https://nvd.nist.gov/developers/vulnerabilities and what NVD is observed
 * to answer (errors are bodiless with the reason in a `message` header):
 * - Date filters `lastModStartDate`/`lastModEndDate` and `pubStartDate`/`pubEndDate`: both ends
 *   required together, each `YYYY-MM-DDTHH:mm:ss[.SSS](Z|±HH:MM)` (NVD has required the offset
 *   since July 2025; a `+` left unencoded arrives as a space and is rejected, as on NVD), start ≤
 *   end, range ≤ `maxRangeDays` (120) days. Violations → 404 with `message`. Filters are inclusive
 *   and compare against the CVE's `lastModified`/`published` (zone-less = UTC).
 * - `resultsPerPage` integer 0..`maxResultsPerPage` (2000, also the default), `startIndex`
 *   integer ≥ 0; otherwise 404. Also `cveId` and `noRejected` (flag). Any other parameter → 404
 *   `Invalid parameter: NAME` (a strict choice of this fake, so typos in the adapter show up).
 * - Paging: CVEs in fixture order; `resultsPerPage` in the body is the count actually returned,
 *   `totalResults` the full match count, `startIndex` echoed.
 * - `apiKey` request header: when `apiKeys` is configured, an unknown key → 404 with
 *   `message: Invalid apiKey.` (what NVD answers). Without `apiKeys`, any key is accepted.
 * - Rolling-window rate limit per caller (the key, or "anonymous"): at most `withoutKey`
 *   (default 5) / `withKey` (default 50) requests in any `windowMs` (default 30 000); over it →
 *   403 with `message: Rate limit exceeded` (NVD answers 403 but documents no message). Only
 *   requests that were let through count. NVD's start-here page has also stated 10 and 100 per
 *   rolling 60 s: all three numbers are options.
 * - `failNext(status, count)` injects failures ahead of every other check (not counted against the
 *   rate limit); status `'reset'` destroys the socket instead of answering.
 * - Every request is recorded (method, path, query, headers, time from `now()`, answered status).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NvdCve, NvdCveResponse } from '../../src/adapters/nvd/types.js';

export interface RateLimitOptions {
  withoutKey?: number;
  withKey?: number;
  windowMs?: number;
}

export interface NvdServerOptions {
  cves?: NvdCve[];
  /** Valid API keys. When unset, any `apiKey` header value is accepted (and gets the keyed limit). */
  apiKeys?: string[];
  /** `false` disables rate limiting. */
  rateLimit?: RateLimitOptions | false;
  maxResultsPerPage?: number;
  maxRangeDays?: number;
  /** Clock for the rate limiter and the recorded request times (ms since epoch). */
  now?: () => number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Decoded query parameters (last value wins for repeated names). */
  query: Record<string, string>;
  /** The raw query string, without `?`. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  time: number;
  /** HTTP status answered; 0 when the socket was reset. */
  status: number;
}

export interface FailOptions {
  /** Value of the `message` response header. */
  message?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (or resetting). */
  delayMs?: number;
}

export interface NvdServer {
  /** Base URL, e.g. `http://127.0.0.1:43567` (pass as the connector's `baseUrl`). */
  url: string;
  requests: RecordedRequest[];
  setCves(cves: NvdCve[]): void;
  /** The next `count` requests fail with `status` (or a socket reset). */
  failNext(status: number | 'reset', count?: number, options?: FailOptions): void;
  clearRequests(): void;
  close(): Promise<void>;
}

export const NVD_PATH = '/rest/json/cves/2.0';
const DAY_MS = 86_400_000;
const KNOWN_PARAMS = new Set([
  'lastModStartDate',
  'lastModEndDate',
  'pubStartDate',
  'pubEndDate',
  'resultsPerPage',
  'startIndex',
  'cveId',
  'noRejected',
]);
const DATE_PARAM = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})$/;

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses a date parameter the way NVD accepts it; null when invalid. */
export function parseNvdDateParam(value: string): number | null {
  const m = DATE_PARAM.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '0', zone] = m;
  const utc = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, Number((frac + '00').slice(0, 3)));
  const check = new Date(utc);
  if (check.getUTCMonth() !== +mo! - 1 || check.getUTCDate() !== +d! || +h! > 23 || +mi! > 59 || +s! > 59) return null;
  if (zone === 'Z') return utc;
  const sign = zone!.startsWith('-') ? -1 : 1;
  const oh = Number(zone!.slice(1, 3));
  const om = Number(zone!.slice(4, 6));
  if (oh > 14 || om > 59) return null;
  return utc - sign * (oh * 60 + om) * 60_000;
}

/** Zone-less NVD record timestamp (UTC) → epoch ms. */
function recordTime(value: string | undefined): number | null {
  if (typeof value !== 'string') return null;
  const t = Date.parse(/(Z|[+-]\d{2}:\d{2})$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(t) ? null : t;
}

/** NVD's response `timestamp` form: UTC, no zone. */
function nvdNow(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '');
}

function dateRange(
  query: Record<string, string>,
  startName: string,
  endName: string,
  maxRangeDays: number,
): [number, number] | null {
  const start = query[startName];
  const end = query[endName];
  if (start === undefined && end === undefined) return null;
  if (start === undefined || end === undefined) {
    throw new HttpFailure(404, `Both ${startName} and ${endName} are required when either is present`);
  }
  const s = parseNvdDateParam(start);
  const e = parseNvdDateParam(end);
  if (s === null || e === null) throw new HttpFailure(404, 'Invalid ISO 8601 date/time format, see documentation.');
  if (s > e) throw new HttpFailure(404, `${startName} must not be after ${endName}`);
  if (e - s > maxRangeDays * DAY_MS) {
    throw new HttpFailure(404, `The date range between ${startName} and ${endName} exceeds ${maxRangeDays} days`);
  }
  return [s, e];
}

function intParam(query: Record<string, string>, name: string, fallback: number, max: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new HttpFailure(404, `Invalid ${name}: must be a non-negative integer`);
  const n = Number(raw);
  if (n > max) throw new HttpFailure(404, `${name} must not exceed ${max}`);
  return n;
}

/** Starts the fake on 127.0.0.1, on a free port. */
export async function startNvdServer(options: NvdServerOptions = {}): Promise<NvdServer> {
  let cves: NvdCve[] = [...(options.cves ?? [])];
  const now = options.now ?? Date.now;
  const maxResultsPerPage = options.maxResultsPerPage ?? 2000;
  const maxRangeDays = options.maxRangeDays ?? 120;
  const apiKeys = options.apiKeys ? new Set(options.apiKeys) : null;
  const limits =
    options.rateLimit === false
      ? null
      : {
          withoutKey: options.rateLimit?.withoutKey ?? 5,
          withKey: options.rateLimit?.withKey ?? 50,
          windowMs: options.rateLimit?.windowMs ?? 30_000,
        };
  const hits = new Map<string, number[]>();
  const failures: Array<{ status: number | 'reset'; options: FailOptions }> = [];
  const requests: RecordedRequest[] = [];

  function allow(caller: string, keyed: boolean, t: number): boolean {
    if (!limits) return true;
    const limit = keyed ? limits.withKey : limits.withoutKey;
    const recent = (hits.get(caller) ?? []).filter((at) => at > t - limits.windowMs);
    if (recent.length >= limit) {
      hits.set(caller, recent);
      return false;
    }
    recent.push(t);
    hits.set(caller, recent);
    return true;
  }

  function search(query: Record<string, string>): NvdCveResponse {
    for (const name of Object.keys(query)) {
      if (!KNOWN_PARAMS.has(name)) throw new HttpFailure(404, `Invalid parameter: ${name}`);
    }
    const lastMod = dateRange(query, 'lastModStartDate', 'lastModEndDate', maxRangeDays);
    const pub = dateRange(query, 'pubStartDate', 'pubEndDate', maxRangeDays);
    const resultsPerPage = intParam(query, 'resultsPerPage', maxResultsPerPage, maxResultsPerPage);
    const startIndex = intParam(query, 'startIndex', 0, Number.MAX_SAFE_INTEGER);
    if (query.noRejected !== undefined && query.noRejected !== '') {
      throw new HttpFailure(404, 'noRejected takes no value');
    }
    const cveId = query.cveId;
    if (cveId !== undefined && !/^CVE-\d{4}-\d{4,}$/i.test(cveId)) throw new HttpFailure(404, 'Invalid cveId');

    const inRange = (value: string | undefined, range: [number, number] | null): boolean => {
      if (!range) return true;
      const t = recordTime(value);
      return t !== null && t >= range[0] && t <= range[1];
    };
    const matches = cves.filter(
      (cve) =>
        inRange(cve.lastModified, lastMod) &&
        inRange(cve.published, pub) &&
        (cveId === undefined || cve.id.toUpperCase() === cveId.toUpperCase()) &&
        (query.noRejected === undefined || cve.vulnStatus !== 'Rejected'),
    );
    const page = matches.slice(startIndex, startIndex + resultsPerPage);
    return {
      resultsPerPage: page.length,
      startIndex,
      totalResults: matches.length,
      format: 'NVD_CVE',
      version: '2.0',
      timestamp: nvdNow(now()),
      vulnerabilities: page.map((cve) => ({ cve: structuredClone(cve) })),
    };
  }

  function send(res: ServerResponse, record: RecordedRequest, status: number, body: string, headers: Record<string, string>) {
    record.status = status;
    res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      rawQuery: url.search.replace(/^\?/, ''),
      headers: req.headers,
      time: now(),
      status: 0,
    };
    requests.push(record);

    const failure = failures.shift();
    if (failure) {
      if (failure.options.delayMs) await new Promise((r) => setTimeout(r, failure.options.delayMs));
      if (failure.status === 'reset') {
        record.status = 0;
        req.socket.destroy();
        return;
      }
      const headers: Record<string, string> = { ...(failure.options.headers ?? {}) };
      if (failure.options.message !== undefined) headers.message = failure.options.message;
      send(res, record, failure.status, failure.options.body ?? '', headers);
      return;
    }

    if (url.pathname !== NVD_PATH && url.pathname !== `${NVD_PATH}/`) {
      send(res, record, 404, '', {});
      return;
    }
    if (record.method !== 'GET' && record.method !== 'HEAD') {
      send(res, record, 405, '', { allow: 'GET, HEAD, OPTIONS' });
      return;
    }

    const headerKey = req.headers.apikey;
    const apiKey = Array.isArray(headerKey) ? headerKey[0] : headerKey;
    if (apiKey !== undefined && apiKeys && !apiKeys.has(apiKey)) {
      send(res, record, 404, '', { message: 'Invalid apiKey.' });
      return;
    }
    const keyed = apiKey !== undefined;
    if (!allow(keyed ? `key:${apiKey}` : 'anonymous', keyed, record.time)) {
      send(res, record, 403, '', { message: 'Rate limit exceeded' });
      return;
    }

    try {
      const body = JSON.stringify(search(query));
      record.status = 200;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(record.method === 'HEAD' ? undefined : body);
    } catch (error) {
      if (error instanceof HttpFailure) send(res, record, error.status, '', { message: error.message });
      else send(res, record, 500, '', { message: 'fake NVD internal error' });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setCves(next) {
      cves = [...next];
    },
    failNext(status, count = 1, failOptions = {}) {
      for (let i = 0; i < count; i++) failures.push({ status, options: failOptions });
    },
    clearRequests() {
      requests.length = 0;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fixture builder

let sequence = 0;

/**
 * A realistic NVD CVE object: analysed, with an English and a Spanish description, a Primary
 * CVSS v3.1 metric from NVD, one CWE, one configuration and two references. `overrides` replace
 * top-level keys wholesale (pass `metrics: {}` for none, `configurations: undefined` to drop one).
 * Ids are `CVE-2024-1xxxx`, increasing per call, unless given.
 */
export function makeCve(overrides: Partial<NvdCve> = {}): NvdCve {
  sequence += 1;
  const id = overrides.id ?? `CVE-2024-${String(10000 + sequence)}`;
  const cve: NvdCve = {
    id,
    sourceIdentifier: 'cna@vendor.example',
    published: '2024-03-01T10:15:07.123',
    lastModified: '2024-03-05T16:20:11.456',
    vulnStatus: 'Analyzed',
    cveTags: [],
    descriptions: [
      { lang: 'en', value: `Heap-based buffer overflow in Example Widget before 2.4.1 allows remote attackers to execute code (${id}).` },
      { lang: 'es', value: `Desbordamiento de búfer en Example Widget antes de 2.4.1 (${id}).` },
    ],
    metrics: {
      cvssMetricV31: [
        {
          source: 'nvd@nist.gov',
          type: 'Primary',
          cvssData: {
            version: '3.1',
            vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
            baseScore: 9.8,
            baseSeverity: 'CRITICAL',
            attackVector: 'NETWORK',
            attackComplexity: 'LOW',
            privilegesRequired: 'NONE',
            userInteraction: 'NONE',
            scope: 'UNCHANGED',
            confidentialityImpact: 'HIGH',
            integrityImpact: 'HIGH',
            availabilityImpact: 'HIGH',
          },
          exploitabilityScore: 3.9,
          impactScore: 5.9,
        },
      ],
    },
    weaknesses: [{ source: 'nvd@nist.gov', type: 'Primary', description: [{ lang: 'en', value: 'CWE-787' }] }],
    configurations: [
      {
        nodes: [
          {
            operator: 'OR',
            negate: false,
            cpeMatch: [
              {
                vulnerable: true,
                criteria: 'cpe:2.3:a:example:widget:*:*:*:*:*:*:*:*',
                versionEndExcluding: '2.4.1',
                matchCriteriaId: '5B0E1F4A-2C3D-4E5F-8A9B-0C1D2E3F4A5B',
              },
            ],
          },
        ],
      },
    ],
    references: [
      { url: `https://vendor.example/security/${id}`, source: 'cna@vendor.example', tags: ['Vendor Advisory'] },
      { url: 'https://github.com/example/widget/commit/0123abcd', source: 'cna@vendor.example', tags: ['Patch'] },
    ],
  };
  return { ...cve, ...overrides, id };
}

/** Wraps CVEs as one NVD response page (for tests that need the envelope without a server). */
export function makeCveResponse(cves: NvdCve[], startIndex = 0, totalResults = cves.length): NvdCveResponse {
  return {
    resultsPerPage: cves.length,
    startIndex,
    totalResults,
    format: 'NVD_CVE',
    version: '2.0',
    timestamp: nvdNow(Date.now()),
    vulnerabilities: cves.map((cve) => ({ cve })),
  };
}
