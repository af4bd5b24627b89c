/**
 * GreyNoise replica: `GET /v2/experimental/gnql` (GNQL, the GreyNoise Query Language, over the
 * Internet-scanner data set).
 *
 * - Auth: the API key in the `key` header; missing or wrong: 401 `{ "message": "..." }`.
 * - Paging: `size` (default 1000, at most 10000) and the `scroll` token of the previous answer;
 *   `complete: true` (and no `scroll`) on the last page; `count` is the total for the query.
 * - Query: GNQL terms `field:value`, negation with `-`, quoted values; dates on `last_seen` and
 *   `first_seen` as `YYYY-MM-DD`, `>=`/`>`/`<=`/`<` comparisons, Lucene ranges `[a TO b]` and
 *   relative `Nd` / `today`. Terms on fields the replica does not model match everything.
 * - Body: `{ complete, count, data: [context...], message, query, scroll? }`, each context with
 *   `ip`, `classification`, `first_seen`, `last_seen` (dates), `tags`, `actor`, `cve`, `metadata`,
 *   `raw_data`...
 * - Rate limit: 429 `{ "message": "..." }`.
 */
import { createHash } from 'node:crypto';
import { Random, ReplicaServer, keyOrBearer, serve, series } from './base.js';
import type { ReplicaModule, ReplicaOptions, StartedReplica } from './base.js';

const PROVIDER = 'greynoise';
const API_KEY = 'GNreplicaKey0123456789ABCDEFabcdefGHIJKL0123456789ab';
const WRONG_KEY = 'GNwrongKey000000000000000000000000000000000000000000';
const DAY = 86_400_000;

export interface GreyNoiseContext {
  ip: string;
  metadata: {
    asn: string;
    city: string;
    country: string;
    country_code: string;
    organization: string;
    category: string;
    tor: boolean;
    rdns: string;
    os: string;
    sensor_count: number;
    sensor_hits: number;
    region: string;
    destination_countries: string[];
    destination_country_codes: string[];
    source_country: string;
    source_country_code: string;
  };
  bot: boolean;
  vpn: boolean;
  vpn_service: string;
  spoofable: boolean;
  raw_data: {
    scan: Array<{ port: number; protocol: string }>;
    web: { paths?: string[]; useragents?: string[] };
    ja3: Array<{ fingerprint: string; port: number }>;
    hassh: Array<{ fingerprint: string; port: number }>;
  };
  first_seen: string;
  last_seen: string;
  seen: boolean;
  tags: string[];
  actor: string;
  classification: 'malicious' | 'suspicious' | 'unknown' | 'benign';
  cve: string[];
}

const CLASSIFICATIONS: GreyNoiseContext['classification'][] = ['malicious', 'malicious', 'suspicious', 'malicious', 'unknown', 'benign'];
const TAGS: string[][] = [
  ['Mirai', 'Telnet Bruteforcer'],
  ['SSH Bruteforcer'],
  ['Apache Log4j RCE Attempt', 'Web Crawler'],
  ['SMBv1 Crawler', 'EternalBlue'],
  ['ZMap Client'],
  ['Shodan.io'],
];
const ORIGINS = [
  { country: 'China', code: 'CN', city: 'Shanghai', region: 'Shanghai', asn: 'AS4134', org: 'CHINANET-BACKBONE', category: 'isp' },
  { country: 'United States', code: 'US', city: 'Santa Clara', region: 'California', asn: 'AS14061', org: 'DigitalOcean, LLC', category: 'hosting' },
  { country: 'Brazil', code: 'BR', city: 'São Paulo', region: 'São Paulo', asn: 'AS28573', org: 'Claro NXT Telecomunicacoes Ltda', category: 'isp' },
  { country: 'Netherlands', code: 'NL', city: 'Amsterdam', region: 'North Holland', asn: 'AS202425', org: 'IP Volume inc', category: 'hosting' },
];

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function makeContext(index: number, lastSeenMs: number): GreyNoiseContext {
  const r = new Random(0x6e01 + index * 6151);
  const origin = ORIGINS[index % ORIGINS.length]!;
  const classification = CLASSIFICATIONS[index % CLASSIFICATIONS.length]!;
  const ip = r.spreadIpv4(index, 61, 160);
  const ports = [23, 22, 80, 445, 8080, 2323].filter((_, i) => (index + i) % 3 === 0);
  return {
    ip,
    metadata: {
      asn: origin.asn,
      city: origin.city,
      country: origin.country,
      country_code: origin.code,
      organization: origin.org,
      category: origin.category,
      tor: false,
      rdns: index % 4 === 1 ? `scanner-${index}.example.com` : '',
      os: ['Linux 2.2-3.x', 'Windows 7/8', ''][index % 3]!,
      sensor_count: 1 + r.int(40),
      sensor_hits: 10 + r.int(250_000),
      region: origin.region,
      destination_countries: ['Germany', 'United States'],
      destination_country_codes: ['DE', 'US'],
      source_country: origin.country,
      source_country_code: origin.code,
    },
    bot: false,
    vpn: index % 11 === 5,
    vpn_service: index % 11 === 5 ? 'MULLVAD_VPN' : '',
    spoofable: index % 9 === 4,
    raw_data: {
      scan: ports.map((port) => ({ port, protocol: 'tcp' })),
      web: index % 3 === 2 ? { paths: ['/', '/.env', '/cgi-bin/luci'], useragents: ['Mozilla/5.0 zgrab/0.x'] } : {},
      ja3: [],
      hassh: ports.includes(22) ? [{ fingerprint: createHash('md5').update(`hassh-${index % 5}`).digest('hex'), port: 22 }] : [],
    },
    first_seen: day(lastSeenMs - (3 + r.int(60)) * DAY),
    last_seen: day(lastSeenMs),
    seen: true,
    tags: TAGS[index % TAGS.length]!,
    actor: classification === 'benign' ? 'Shodan.io' : 'unknown',
    classification,
    cve: index % 6 === 2 ? ['CVE-2021-44228'] : [],
  };
}

/** The body GreyNoise sends with 429. */
export const GREYNOISE_RATE_LIMIT_BODY = { message: "You've hit the rate limit for this endpoint." };

type Test = (c: GreyNoiseContext) => boolean;

/** A GNQL date term value as a [from, to) range of epoch ms (UTC days), or null when unreadable. */
function dateRange(value: string, today: number): [number, number] | null {
  const dayStart = (text: string): number | null => {
    if (text === '*') return null;
    if (text === 'today') return today;
    const rel = /^(\d+)d$/.exec(text);
    if (rel) return today - Number(rel[1]) * DAY;
    const m = /^(\d{4}-\d{2}-\d{2})$/.exec(text);
    return m ? Date.parse(`${m[1]}T00:00:00Z`) : Number.NaN;
  };
  let m = /^\[(\S+)\s+TO\s+(\S+)\]$/i.exec(value);
  if (m) {
    const from = dayStart(m[1]!);
    const to = dayStart(m[2]!);
    if (Number.isNaN(from) || Number.isNaN(to)) return null;
    return [from ?? Number.NEGATIVE_INFINITY, to === null ? Number.POSITIVE_INFINITY : to + DAY];
  }
  m = /^(>=|>|<=|<)(.+)$/.exec(value);
  if (m) {
    const at = dayStart(m[2]!);
    if (at === null || Number.isNaN(at)) return null;
    switch (m[1]) {
      case '>=':
        return [at, Number.POSITIVE_INFINITY];
      case '>':
        return [at + DAY, Number.POSITIVE_INFINITY];
      case '<=':
        return [Number.NEGATIVE_INFINITY, at + DAY];
      default:
        return [Number.NEGATIVE_INFINITY, at];
    }
  }
  // `last_seen:7d` / `today`: seen within the last days; a date: that day.
  if (/^\d+d$/.test(value) || value === 'today') {
    const at = dayStart(value);
    return at === null || Number.isNaN(at) ? null : [at, Number.POSITIVE_INFINITY];
  }
  const at = dayStart(value);
  return at === null || Number.isNaN(at) ? null : [at, at + DAY];
}

/** One GNQL term (`field:value`) as a test; null for fields the replica does not model (match all). */
function termTest(field: string, value: string, today: number): Test | { error: string } | null {
  switch (field) {
    case 'last_seen':
    case 'first_seen': {
      const range = dateRange(value, today);
      if (!range) return { error: `Invalid date in query: ${field}:${value}` };
      return (c) => {
        const at = Date.parse(`${c[field]}T00:00:00Z`);
        return at >= range[0] && at < range[1];
      };
    }
    case 'classification':
      return (c) => c.classification === value.toLowerCase();
    case 'ip':
      return (c) => c.ip === value;
    case 'tags':
      return (c) => c.tags.some((t) => t.toLowerCase() === value.toLowerCase());
    case 'actor':
      return (c) => c.actor.toLowerCase() === value.toLowerCase();
    case 'cve':
      return (c) => c.cve.includes(value.toUpperCase());
    case 'spoofable':
    case 'vpn':
    case 'bot':
      return (c) => String(c[field]) === value.toLowerCase();
    case 'metadata.country':
    case 'metadata.source_country':
      return (c) => c.metadata.country.toLowerCase() === value.toLowerCase();
    case 'metadata.country_code':
    case 'metadata.source_country_code':
      return (c) => c.metadata.country_code === value.toUpperCase();
    default:
      return null;
  }
}

/**
 * GNQL (Lucene query syntax): terms `field:value` (quoted values, `[a TO b]` ranges), `-` or NOT
 * to negate, AND (also implicit between terms), OR, and parentheses.
 */
function parseGnql(query: string, today: number): { test: Test } | { error: string } {
  const tokens = [...query.matchAll(/\(|\)|-?[a-z_.]+:(?:\[[^\]]*\]|"[^"]*"|[^\s()]+)|\bAND\b|\bOR\b|\bNOT\b|-\(|\S+/g)].map((m) => m[0]);
  let i = 0;
  let error: string | null = null;
  const all: Test = () => true;
  const parseOr = (): Test => {
    const alternatives = [parseAnd()];
    while (tokens[i] === 'OR') {
      i++;
      alternatives.push(parseAnd());
    }
    return alternatives.length === 1 ? alternatives[0]! : (c) => alternatives.some((t) => t(c));
  };
  const parseAnd = (): Test => {
    const parts: Test[] = [];
    while (i < tokens.length && tokens[i] !== ')' && tokens[i] !== 'OR') {
      if (tokens[i] === 'AND') {
        i++;
        continue;
      }
      parts.push(parseUnary());
    }
    return (c) => parts.every((t) => t(c));
  };
  const parseUnary = (): Test => {
    const token = tokens[i++]!;
    if (token === 'NOT') {
      const inner = parseUnary();
      return (c) => !inner(c);
    }
    if (token === '(' || token === '-(') {
      const inner = parseOr();
      if (tokens[i] !== ')') error ??= 'Unbalanced parentheses in query';
      else i++;
      return token === '-(' ? (c) => !inner(c) : inner;
    }
    const m = /^(-?)([a-z_.]+):(.+)$/i.exec(token);
    if (!m) return all; // a free-text term: matched against fields the replica does not model
    const raw = m[3]!;
    const value = raw.startsWith('"') ? raw.slice(1, -1) : raw;
    const test = termTest(m[2]!.toLowerCase(), value, today);
    if (test === null) return all;
    if ('error' in test) {
      error ??= test.error;
      return all;
    }
    return m[1] === '-' ? (c) => !test(c) : test;
  };
  const test = parseOr();
  if (i < tokens.length) error ??= 'Unbalanced parentheses in query';
  return error ? { error } : { test };
}

/** Scroll tokens: opaque, bound to the query and page size they continue. */
function encodeScroll(offset: number, key: string): string {
  const mac = createHash('sha256').update(`${key}|${offset}`).digest('hex').slice(0, 16);
  return Buffer.from(`${offset}:${mac}`).toString('base64');
}

function decodeScroll(token: string, key: string): number | null {
  const text = Buffer.from(token, 'base64').toString('utf8');
  const m = /^(\d+):([0-9a-f]{16})$/.exec(text);
  if (!m) return null;
  const offset = Number(m[1]);
  return encodeScroll(offset, key) === token ? offset : null;
}

async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const now = options.now ?? Date.now();
  const today = Date.parse(`${day(now)}T00:00:00Z`);
  // last_seen is a date: one context per day, the newest original one 20 days ago, so that added
  // ones (newer, one a day) stay in the past.
  const { list: contexts, add } = series(today, options.items ?? 25, DAY, 20 * DAY, makeContext);

  const server = new ReplicaServer(PROVIDER, () => ({ body: GREYNOISE_RATE_LIMIT_BODY }));
  server.route('GET', '/v2/experimental/gnql', async (req) => {
    if (!(await keyOrBearer(req, req.headers.key, API_KEY, options.verifyBearer))) {
      return { status: 401, body: { message: 'Unauthorized' } };
    }
    const query = req.query.get('query');
    if (query === null || query.trim() === '') return { status: 400, body: { message: 'query is a required parameter' } };
    const sizeText = req.query.get('size');
    const size = sizeText === null ? 1000 : Number(sizeText);
    if (!Number.isInteger(size) || size < 1 || size > 10_000) return { status: 400, body: { message: 'size must be an integer between 1 and 10000' } };
    const parsed = parseGnql(query, Date.parse(`${day(Date.now())}T00:00:00Z`));
    if ('error' in parsed) return { status: 400, body: { message: parsed.error } };
    const scrollKey = `${query}|${size}`;
    let offset = 0;
    const scroll = req.query.get('scroll');
    if (scroll) {
      const decoded = decodeScroll(scroll, scrollKey);
      if (decoded === null) return { status: 400, body: { message: 'Invalid scroll token' } };
      offset = decoded;
    }
    // Most recently seen first; ties by address.
    const matching = contexts
      .filter(parsed.test)
      .sort((a, b) => b.last_seen.localeCompare(a.last_seen) || a.ip.localeCompare(b.ip));
    const data = matching.slice(offset, offset + size);
    const complete = offset + size >= matching.length;
    const body: Record<string, unknown> = {
      complete,
      count: matching.length,
      data,
      message: matching.length ? 'ok' : 'no results',
      query,
    };
    if (!complete) body.scroll = encodeScroll(offset + size, scrollKey);
    return { body };
  });
  return serve(server, {
    authType: 'API_KEY',
    credentials: { apiKey: API_KEY },
    wrongCredentials: { apiKey: WRONG_KEY },
    // Contexts span initial + 20 days: the first sync must reach that far back.
    config: () => ({ query: 'classification:malicious OR classification:suspicious OR classification:unknown OR classification:benign', pageSize: 10, initialLookbackSec: (contexts.length + 25) * 86400 }),
    addItems: add,
    items: () => contexts.map((c) => structuredClone(c)),
  });
}

/** GreyNoise's verdict as confidence that the address is hostile. */
const CONFIDENCE: Record<GreyNoiseContext['classification'], number> = { malicious: 90, suspicious: 60, unknown: 30, benign: 5 };

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item) {
    const c = item as GreyNoiseContext;
    return {
      kind: 'indicator',
      type: c.ip.includes(':') ? 'ipv6' : 'ipv4',
      value: c.ip,
      firstSeen: `${c.first_seen}T00:00:00.000Z`,
      confidence: CONFIDENCE[c.classification],
      labels: c.tags,
      classification: c.classification,
      lastSeen: `${c.last_seen}T00:00:00.000Z`,
    };
  },
  authRemediation: /Visualizer/,
};
