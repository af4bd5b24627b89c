/**
 * VirusTotal API v3 replica: `GET /api/v3/ioc_stream` ("Get objects from the IoC Stream").
 *
 * The IoC Stream is where VirusTotal now delivers Livehunt / Retrohunt matches and collection or
 * threat-actor subscriptions (the older `/intelligence/hunting_notification_files` is documented
 * as superseded by it). It lists files, URLs, domains and IP addresses, each with the notification's
 * `context_attributes`, and can be filtered by notification date: an incremental feed.
 *
 * - Auth: `x-apikey` header. Missing: 401 `AuthenticationRequiredError`; wrong: 401
 *   `WrongCredentialsError` (the documented error table), body `{ error: { code, message } }`.
 * - Paging: `limit` (default 10, at most 40), the continuation `cursor` from `meta.cursor`, and
 *   `links.next`; the last page has neither.
 * - Filter: `date:<YYYY-MM-DDTHH:MM:SS>+` / `-` (after / before, UTC), `entity_type:`, `origin:`,
 *   `source_type:`, `source_id:`, `entity_id:`, `notification_tag:`; order `date-` (default) or `date+`.
 * - Quota: 429 `QuotaExceededError`.
 */
import { createHash } from 'node:crypto';
import { Random, ReplicaServer, hasValidBearer, serve, series } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaResponse, StartedReplica } from './base.js';

const PROVIDER = 'virustotal';
const API_KEY = 'a3f1c0ffee7b5d2e9a1c4b6d8e0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f';
const WRONG_KEY = '0000000000000000000000000000000000000000000000000000000000000000';
const PUBLIC_BASE = 'https://www.virustotal.com/api/v3';
const STEP_S = 7 * 60;

type EntityType = 'file' | 'url' | 'domain' | 'ip_address';

export interface IocStreamObject {
  type: EntityType;
  id: string;
  links: { self: string };
  attributes: Record<string, unknown>;
  context_attributes: {
    notification_id: string;
    notification_date: number;
    origin: 'hunting' | 'subscriptions';
    sources: Array<{ type: string; id: string; label: string }>;
    tags: string[];
    hunting_info?: { rule_name: string; rule_tags: string[]; snippet: string; source_country: string; source_key: string; match_in_subfile: boolean };
  };
}

const ENTITY_TYPES: EntityType[] = ['file', 'url', 'domain', 'ip_address'];
const COLLECTION_FOR: Record<EntityType, string> = { file: 'files', url: 'urls', domain: 'domains', ip_address: 'ip_addresses' };
const RULES = [
  { ruleset: 'Ransomware', rulesetId: '7926136120', rule: 'vulnerability_weaponization', tags: ['ransomware'] },
  { ruleset: 'RATs', rulesetId: '5706526672224256', rule: 'Bozok', tags: ['rats'] },
  { ruleset: 'Loaders', rulesetId: '6120984731', rule: 'smokeloader_config', tags: ['loader', 'smokeloader'] },
];
const THREAT_ACTOR = { type: 'threat_actor', id: 'b2f3a1e4-0c9d-4c3b-9e41-6f0a7d2c5b18', label: 'FIN7' };

const sha = (alg: 'sha256' | 'sha1' | 'md5', s: string) => createHash(alg).update(s).digest('hex');

function analysisStats(r: Random): Record<string, number> {
  const malicious = r.int(60);
  const suspicious = r.int(4);
  const harmless = r.int(5);
  return { harmless, malicious, suspicious, timeout: 0, undetected: 72 - malicious - suspicious - harmless };
}

function makeObject(index: number, notificationDate: number): IocStreamObject {
  const r = new Random(0x7070 + index * 104729);
  const type = ENTITY_TYPES[index % ENTITY_TYPES.length]!;
  const stats = analysisStats(r);
  const firstSubmission = notificationDate - 86400 * (1 + r.int(30));
  let id: string;
  let attributes: Record<string, unknown>;
  switch (type) {
    case 'file': {
      const content = `replica-sample-${index}`;
      id = sha('sha256', content);
      attributes = {
        sha256: id,
        sha1: sha('sha1', content),
        md5: sha('md5', content),
        size: 40_000 + r.int(900_000),
        type_tag: 'peexe',
        type_description: 'Win32 EXE',
        meaningful_name: `invoice_${index}.exe`,
        names: [`invoice_${index}.exe`],
        tags: ['peexe', 'overlay'],
        first_submission_date: firstSubmission,
        last_submission_date: notificationDate - 60,
        last_analysis_date: notificationDate - 30,
        last_analysis_stats: stats,
        reputation: -r.int(50),
      };
      break;
    }
    case 'url': {
      const url = `http://cdn-${index}.update-check.example.com/payload/${index}.bin`;
      id = sha('sha256', url);
      attributes = {
        url,
        last_final_url: url,
        title: '',
        tags: [],
        first_submission_date: firstSubmission,
        last_submission_date: notificationDate - 60,
        last_analysis_date: notificationDate - 30,
        last_analysis_stats: stats,
        reputation: -r.int(20),
      };
      break;
    }
    case 'domain': {
      id = `login-${index}.secure-verify.example.org`;
      attributes = {
        tld: 'org',
        registrar: 'NameCheap, Inc.',
        creation_date: firstSubmission - 86400 * 3,
        last_analysis_date: notificationDate - 30,
        last_analysis_stats: stats,
        categories: { 'Forcepoint ThreatSeeker': 'phishing and other frauds' },
        tags: [],
        reputation: -r.int(20),
      };
      break;
    }
    default: {
      const v6 = index % 3 === 0;
      id = v6 ? `2001:db8:${(index + 1).toString(16)}::${(index % 200) + 1}` : `185.${100 + (index % 100)}.${Math.floor(index / 100) % 256}.${(index % 250) + 3}`;
      attributes = {
        as_owner: 'Example Hosting Ltd',
        asn: 64500 + (index % 20),
        country: 'NL',
        network: v6 ? '2001:db8::/32' : `185.${100 + (index % 100)}.0.0/16`,
        last_analysis_date: notificationDate - 30,
        last_analysis_stats: stats,
        tags: [],
        reputation: -r.int(20),
      };
    }
  }
  const viaHunting = index % 5 !== 4;
  const rule = RULES[index % RULES.length]!;
  const context: IocStreamObject['context_attributes'] = viaHunting
    ? {
        notification_id: String(9_047_905_968 + index),
        notification_date: notificationDate,
        origin: 'hunting',
        sources: [{ type: 'hunting_ruleset', id: rule.rulesetId, label: rule.ruleset }],
        tags: [rule.rule, ...rule.tags],
        hunting_info: {
          rule_name: rule.rule,
          rule_tags: rule.tags,
          snippet: '4D 5A 90 00 03 00 00 00  begin_highlight04 00 00 00end_highlight FF FF 00 00',
          source_country: ['US', 'DE', 'BR', 'KR'][index % 4]!,
          source_key: sha('md5', `source-${index % 9}`).slice(0, 8),
          match_in_subfile: false,
        },
      }
    : {
        notification_id: String(9_047_905_968 + index),
        notification_date: notificationDate,
        origin: 'subscriptions',
        sources: [THREAT_ACTOR],
        tags: [],
      };
  return { type, id, links: { self: `${PUBLIC_BASE}/${COLLECTION_FOR[type]}/${encodeURIComponent(id)}` }, attributes, context_attributes: context };
}

function vtError(status: number, code: string, message: string): ReplicaResponse {
  return { status, body: { error: { code, message } } };
}

/** The body VirusTotal sends with 429 when a quota (minute, daily or monthly) is exhausted. */
export const VT_QUOTA_BODY = {
  error: { code: 'QuotaExceededError', message: 'Quota exceeded' },
};

/** `YYYY-MM-DDTHH:MM:SS` (UTC), optionally with `Z` or milliseconds, as epoch seconds; or null. */
function parseFilterDate(value: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?Z?$/.exec(value);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}Z`);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

interface StreamFilter {
  test: (o: IocStreamObject) => boolean;
  error?: string;
}

function parseFilter(filter: string): StreamFilter {
  const tests: Array<(o: IocStreamObject) => boolean> = [];
  // `+` may arrive decoded as a space by a client that did not percent-encode it: then the date
  // token ends without a modifier and is read as "after".
  for (const m of filter.matchAll(/([a-z_]+):(\S*)/g)) {
    const name = m[1]!;
    let value = m[2]!;
    switch (name) {
      case 'date': {
        let after = true;
        if (value.endsWith('+')) value = value.slice(0, -1);
        else if (value.endsWith('-')) {
          value = value.slice(0, -1);
          after = false;
        }
        const at = parseFilterDate(value);
        if (at === null) return { test: () => false, error: `invalid date "${m[2]}" in filter` };
        tests.push(after ? (o) => o.context_attributes.notification_date >= at : (o) => o.context_attributes.notification_date < at);
        break;
      }
      case 'origin':
        if (value !== 'hunting' && value !== 'subscriptions') {
          return { test: () => false, error: `origin "${value}" is not valid. Valid origins are: hunting,subscriptions` };
        }
        tests.push((o) => o.context_attributes.origin === value);
        break;
      case 'entity_type':
        if (!ENTITY_TYPES.includes(value as EntityType)) {
          return { test: () => false, error: `entity_type "${value}" is not valid. Valid entity types are: file,domain,url,ip_address` };
        }
        tests.push((o) => o.type === value);
        break;
      case 'entity_id':
        tests.push((o) => o.id === value);
        break;
      case 'source_type':
        tests.push((o) => o.context_attributes.sources.some((s) => s.type === value));
        break;
      case 'source_id':
        tests.push((o) => o.context_attributes.sources.some((s) => s.id === value));
        break;
      case 'notification_tag':
      case 'tag':
        tests.push((o) => o.context_attributes.tags.includes(value));
        break;
      default:
        return { test: () => false, error: `unknown filter "${name}"` };
    }
  }
  return { test: (o) => tests.every((t) => t(o)) };
}

/** Opaque continuation cursors, as VirusTotal's are (base64 of the position and the query it belongs to). */
function encodeCursor(offset: number, key: string): string {
  return Buffer.from(JSON.stringify({ o: offset, k: createHash('sha1').update(key).digest('hex').slice(0, 12) })).toString('base64');
}

function decodeCursor(cursor: string, key: string): number | null {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')) as { o?: unknown; k?: unknown };
    if (typeof parsed.o !== 'number' || parsed.k !== createHash('sha1').update(key).digest('hex').slice(0, 12)) return null;
    return parsed.o;
  } catch {
    return null;
  }
}

async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  // The newest original notification is 20 minutes old; notifications come STEP_S apart.
  const { list: objects, add } = series(now, options.items ?? 25, STEP_S, 20 * 60, makeObject);

  const server = new ReplicaServer(PROVIDER, () => ({ body: VT_QUOTA_BODY }));
  server.route('GET', '/api/v3/ioc_stream', async (req) => {
    const key = req.headers['x-apikey'];
    if (typeof key !== 'string' || key === '') {
      if (!(await hasValidBearer(req.headers, options.verifyBearer))) return vtError(401, 'AuthenticationRequiredError', 'X-Apikey header is missing');
    } else if (key !== API_KEY) {
      return vtError(401, 'WrongCredentialsError', 'Wrong API key');
    }
    const limitText = req.query.get('limit');
    const limit = limitText === null ? 10 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1) return vtError(400, 'InvalidArgumentError', `Invalid limit: ${limitText}`);
    const pageSize = Math.min(limit, 40);
    const order = req.query.get('order') ?? 'date-';
    if (order !== 'date-' && order !== 'date+') return vtError(400, 'BadRequestError', `order "${order}" is not valid. Valid orders are: date-,date+`);
    const filterText = req.query.get('filter') ?? '';
    const filter = parseFilter(filterText);
    if (filter.error) return vtError(400, 'BadRequestError', filter.error);
    const descriptorsOnly = req.query.get('descriptors_only') === 'true';
    const listKey = `${filterText}|${order}|${descriptorsOnly}`;
    let offset = 0;
    const cursor = req.query.get('cursor');
    if (cursor) {
      const decoded = decodeCursor(cursor, listKey);
      if (decoded === null) return vtError(400, 'InvalidArgumentError', 'Wrong cursor');
      offset = decoded;
    }
    const matching = objects
      .filter(filter.test)
      .sort((a, b) => (order === 'date+' ? 1 : -1) * (a.context_attributes.notification_date - b.context_attributes.notification_date));
    const page = matching.slice(offset, offset + pageSize);
    const more = offset + pageSize < matching.length;
    const self = new URL(`${server.url}/api/v3/ioc_stream`);
    for (const [k, v] of req.query) self.searchParams.set(k, v);
    const body: Record<string, unknown> = {
      meta: {},
      data: page.map((o) => (descriptorsOnly ? { type: o.type, id: o.id, context_attributes: o.context_attributes } : o)),
      links: { self: self.toString() },
    };
    if (more) {
      const next = encodeCursor(offset + pageSize, listKey);
      (body.meta as Record<string, unknown>).cursor = next;
      const nextUrl = new URL(self);
      nextUrl.searchParams.set('cursor', next);
      (body.links as Record<string, unknown>).next = nextUrl.toString();
    }
    return { body };
  });
  return serve(server, {
    authType: 'API_KEY',
    credentials: { apiKey: API_KEY },
    wrongCredentials: { apiKey: WRONG_KEY },
    config: () => ({ pageSize: 10 }),
    addItems: add,
    items: () => objects.map((o) => structuredClone(o)),
  });
}

const MALICIOUS_FULL_CONFIDENCE = 20;

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item) {
    const o = item as IocStreamObject;
    const stats = o.attributes.last_analysis_stats as Record<string, number>;
    let type: string;
    let value: string;
    switch (o.type) {
      case 'file':
        type = 'sha256';
        value = o.id;
        break;
      case 'url':
        type = 'url';
        value = o.attributes.url as string;
        break;
      case 'domain':
        type = 'domain';
        value = o.id;
        break;
      default:
        type = o.id.includes(':') ? 'ipv6' : 'ipv4';
        value = o.id;
    }
    const firstSeen = (o.attributes.first_submission_date as number | undefined) ?? o.context_attributes.notification_date;
    return {
      kind: 'indicator',
      type,
      value,
      firstSeen: new Date(firstSeen * 1000).toISOString(),
      // Engines flagging the object as malicious, with 20 or more counting as full confidence.
      confidence: Math.min(100, (stats.malicious! * 100) / MALICIOUS_FULL_CONFIDENCE),
      labels: o.context_attributes.sources.map((s) => s.label),
      notificationId: o.context_attributes.notification_id,
    };
  },
  authRemediation: /my-apikey/,
};
