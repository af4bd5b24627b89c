/**
 * Elastic Security detection alerts, read from Elasticsearch, as documented in the Elasticsearch
 * REST API ("Search", "Paginate search results": `search_after`, "Retrieve selected fields") and
 * the Elastic Security "Alert schema" (`.alerts-security.alerts-<space-id>`):
 *
 * - `POST /<index>/_search` (also GET): a Query DSL body with `size` (default 10), `from`,
 *   `sort` (`[{"@timestamp": "asc"}, {"kibana.alert.uuid": "asc"}]`), `search_after` (the `sort`
 *   values of the last hit of the previous page), `query` (`bool` with `filter`/`must`/`must_not`,
 *   `range`, `term`, `terms`, `match`, `match_all`), `fields` (wildcard patterns: each hit gets
 *   `fields: { "<dotted name>": [values] }`, the form the Alert schema recommends reading) and
 *   `_source` (false, true or include patterns).
 * - The answer: `{took, timed_out, _shards, hits: {total: {value, relation}, max_score, hits: [{
 *   _index, _id, _score, _source, fields, sort}]}}`.
 * - Auth: `Authorization: ApiKey <base64(id:api_key)>` (an API key from Kibana, Stack Management >
 *   API keys), Basic user:password, or a Bearer token. Refused: 401 `security_exception` "unable to
 *   authenticate with provided credentials and anonymous access is not allowed for this request"
 *   with `WWW-Authenticate` (body `header` too).
 * - Errors in the Elasticsearch envelope `{error: {root_cause: [...], type, reason, ...}, status}`:
 *   404 `index_not_found_exception`, 400 `parsing_exception` / `illegal_argument_exception`; an
 *   injected rate-limit answer is Elasticsearch's 429 `es_rejected_execution_exception`.
 *
 * Alert documents are written as the detection engine writes them: `kibana.alert.*` keys flattened
 * (dotted) in `_source`, ECS fields copied from the source event as nested objects.
 */
import { createHash } from 'node:crypto';
import { Random, ReplicaServer, authToken, basicCredentials, hasValidBearer, serve, series, soonAfter, uuidFromHex } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

const API_KEY_ID = 'VuaCfGcBCdbkQm-e5aOx';
const API_KEY_SECRET = 'ui2lp2axTNmsyakw9tvNnw';
const API_KEY = Buffer.from(`${API_KEY_ID}:${API_KEY_SECRET}`).toString('base64');
const USER = 'elastic';
const PASSWORD = 'replica-elastic-password';
const SPACE = 'default';
const INDEX_ALIAS = `.alerts-security.alerts-${SPACE}`;
const BACKING_INDEX = `.internal.alerts-security.alerts-${SPACE}-000001`;

const RULES = [
  { name: 'Suspicious PowerShell Engine ImageLoad', rule_id: '852c1f19-68e8-43a6-9dce-340771fe1be3', severity: 'medium', risk: 47, category: ['process'], process: 'powershell.exe' },
  { name: 'Potential Credential Access via LSASS Memory Dump', rule_id: '9960432d-9b26-409f-972b-839a959e79e2', severity: 'high', risk: 73, category: ['process'], process: 'procdump.exe' },
  { name: 'Unusual Network Connection via RunDLL32', rule_id: '52aaab7b-b51c-441a-89ce-4387b3aea886', severity: 'low', risk: 21, category: ['network'], process: 'rundll32.exe' },
  { name: 'Ransomware - Detected - Elastic Defend', rule_id: '8cb4f625-7743-4dfb-ae1b-ad92be9df7bd', severity: 'critical', risk: 99, category: ['file'], process: 'svch0st.exe' },
  { name: 'Multiple Logon Failure from the same Source Address', rule_id: '48b6edfc-079d-4907-b43c-baffa243270d', severity: 'medium', risk: 47, category: ['authentication'], process: 'lsass.exe' },
] as const;
const HOSTS = ['WIN-DC01', 'ws-finance-07', 'ws-eng-112', 'srv-web-03'];
const USERS = ['alice', 'bob', 'SYSTEM', 'carol'];

/** One alert document as stored (`_source`). */
export type AlertSource = Record<string, unknown>;
/** One hit as `_search` returns it (the upstream item). */
export interface AlertHit {
  _index: string;
  _id: string;
  _score: null;
  _source?: AlertSource;
  fields?: Record<string, unknown[]>;
  sort: [number, string];
}

function makeAlert(index: number, timeMs: number): AlertSource {
  const r = new Random(0xe1a5 + index * 6271);
  const rule = r.pick(RULES);
  const host = r.pick(HOSTS);
  const user = r.pick(USERS);
  const src = `10.${r.int(255)}.${r.int(255)}.${1 + r.int(254)}`;
  const dst = `192.168.${r.int(255)}.${1 + r.int(254)}`;
  const eventId = uuidFromHex(r.hex(32));
  const alertUuid = createHash('sha256').update(`${rule.rule_id}:${eventId}:${index}`).digest('hex');
  const ts = new Date(timeMs).toISOString();
  const original = new Date(timeMs - 4000 - r.int(50_000)).toISOString();
  const ruleUuid = createHash('md5').update(rule.rule_id).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
  return {
    '@timestamp': ts,
    'kibana.alert.start': ts,
    'kibana.alert.last_detected': ts,
    'kibana.alert.original_time': original,
    'kibana.alert.uuid': alertUuid,
    'kibana.alert.status': 'active',
    'kibana.alert.workflow_status': 'open',
    'kibana.alert.depth': 1,
    'kibana.alert.reason': `${rule.category[0]} event with process ${rule.process}, by ${user} on ${host} created ${rule.severity} alert ${rule.name}.`,
    'kibana.alert.severity': rule.severity,
    'kibana.alert.risk_score': rule.risk,
    'kibana.alert.rule.name': rule.name,
    'kibana.alert.rule.rule_id': rule.rule_id,
    'kibana.alert.rule.uuid': ruleUuid,
    'kibana.alert.rule.category': 'Custom Query Rule',
    'kibana.alert.rule.consumer': 'siem',
    'kibana.alert.rule.producer': 'siem',
    'kibana.alert.rule.rule_type_id': 'siem.queryRule',
    'kibana.alert.rule.type': 'query',
    'kibana.alert.rule.tags': ['Elastic', 'Windows'],
    'kibana.alert.rule.execution.uuid': uuidFromHex(r.hex(32)),
    'kibana.alert.ancestors': [{ id: eventId, type: 'event', index: '.ds-logs-endpoint.events.process-default-2024.01.01-000001', depth: 0 }],
    'kibana.alert.original_event.kind': 'event',
    'kibana.alert.original_event.category': [...rule.category],
    'kibana.alert.original_event.id': eventId,
    'kibana.space_ids': [SPACE],
    'kibana.version': '8.15.0',
    'event.kind': 'signal',
    'ecs.version': '8.11.0',
    host: { name: host, os: { family: 'windows' } },
    user: { name: user },
    process: { name: rule.process, pid: 1000 + r.int(9000) },
    source: { ip: src, port: 49152 + r.int(16000) },
    destination: { ip: dst, port: r.pick([443, 445, 3389, 88]) },
  };
}

/** Dotted leaf paths of a document, as the `fields` option lists them (arrays of values). */
function flatten(doc: Record<string, unknown>, prefix = '', out: Record<string, unknown[]> = {}): Record<string, unknown[]> {
  for (const [key, value] of Object.entries(doc)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) flatten(value as Record<string, unknown>, path, out);
    else if (Array.isArray(value)) {
      if (value.some((v) => v !== null && typeof v === 'object')) continue; // object arrays (ancestors) are not returned by `fields` unless mapped as nested
      (out[path] ??= []).push(...value);
    } else if (value !== null && value !== undefined) (out[path] ??= []).push(value);
  }
  return out;
}

const wildcard = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

function esError(status: number, type: string, reason: string, extra: Record<string, unknown> = {}): ReplicaResponse {
  const cause = { type, reason, ...extra };
  return { status, body: { error: { root_cause: [cause], ...cause }, status } };
}

const WWW_AUTHENTICATE = ['Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', 'ApiKey'];

function unauthorized(detail?: string): ReplicaResponse {
  const answer = esError(401, 'security_exception', 'unable to authenticate with provided credentials and anonymous access is not allowed for this request', {
    ...(detail ? { additional_unsuccessful_credentials: detail } : {}),
    header: { 'WWW-Authenticate': WWW_AUTHENTICATE },
  });
  return { ...answer, headers: { 'www-authenticate': WWW_AUTHENTICATE.join(', ') } };
}

export const ELASTIC_REJECTED = esError(
  429,
  'es_rejected_execution_exception',
  'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=104857600]',
);

type Doc = { id: string; source: AlertSource; flat: Record<string, unknown[]> };

function toMs(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return null;
  if (/^\d+$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

class QueryError extends Error {}

/** Evaluates the supported subset of the Query DSL against one alert. */
function evaluate(query: unknown, doc: Doc): boolean {
  if (query === undefined || query === null) return true;
  if (typeof query !== 'object' || Array.isArray(query)) throw new QueryError('query malformed, must start with start_object');
  const entries = Object.entries(query as Record<string, unknown>);
  if (entries.length !== 1) throw new QueryError('[_na] query malformed, no start_object after query name');
  const [type, body] = entries[0]!;
  const values = (field: string) => doc.flat[field] ?? [];
  switch (type) {
    case 'match_all':
      return true;
    case 'bool': {
      const b = body as Record<string, unknown>;
      const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
      const must = [...list(b.filter), ...list(b.must)];
      const should = list(b.should);
      return (
        must.every((q) => evaluate(q, doc)) &&
        list(b.must_not).every((q) => !evaluate(q, doc)) &&
        (should.length === 0 || must.length > 0 || should.some((q) => evaluate(q, doc)))
      );
    }
    case 'range': {
      const [[field, bounds]] = Object.entries(body as Record<string, Record<string, unknown>>) as [[string, Record<string, unknown>]];
      const isDate = field === '@timestamp' || field.endsWith('_time') || field.endsWith('.start') || field.endsWith('last_detected');
      const conv = (v: unknown) => (isDate ? toMs(v) : typeof v === 'number' ? v : Number(v));
      return values(field).some((raw) => {
        const v = conv(raw);
        if (v === null) return false;
        for (const [op, bound] of Object.entries(bounds)) {
          if (op === 'format' || op === 'time_zone' || op === 'boost') continue;
          const limit = conv(bound);
          if (limit === null || Number.isNaN(limit)) throw new QueryError(`failed to parse date field [${String(bound)}]`);
          if ((op === 'gte' && !(v >= limit)) || (op === 'gt' && !(v > limit)) || (op === 'lte' && !(v <= limit)) || (op === 'lt' && !(v < limit))) return false;
        }
        return true;
      });
    }
    case 'term':
    case 'match': {
      const [[field, spec]] = Object.entries(body as Record<string, unknown>) as [[string, unknown]];
      const wanted = spec !== null && typeof spec === 'object' ? ((spec as Record<string, unknown>).value ?? (spec as Record<string, unknown>).query) : spec;
      return values(field).some((v) => String(v) === String(wanted));
    }
    case 'terms': {
      const [[field, wanted]] = Object.entries(body as Record<string, unknown>).filter(([k]) => k !== 'boost') as [[string, unknown[]]];
      return values(field).some((v) => wanted.map(String).includes(String(v)));
    }
    default:
      throw new QueryError(`unknown query [${type}]`);
  }
}

type SortKey = { field: string; dir: 1 | -1 };

function parseSort(sort: unknown): SortKey[] {
  if (sort === undefined) return [];
  const items = Array.isArray(sort) ? sort : [sort];
  return items.map((item) => {
    if (typeof item === 'string') return { field: item, dir: item === '_score' ? -1 : 1 } as SortKey;
    const [[field, spec]] = Object.entries(item as Record<string, unknown>) as [[string, unknown]];
    const order = typeof spec === 'string' ? spec : (spec as { order?: string }).order ?? 'asc';
    return { field, dir: order === 'desc' ? -1 : 1 } as SortKey;
  });
}

function sortValue(doc: Doc, field: string): number | string {
  const v = doc.flat[field]?.[0];
  if (field === '@timestamp' || field === 'kibana.alert.original_time' || field === 'kibana.alert.start') return toMs(v) ?? 0;
  if (field === '_id') return doc.id;
  return typeof v === 'number' ? v : String(v ?? '');
}

function compare(a: Array<number | string>, b: Array<number | string>, keys: SortKey[]): number {
  for (let i = 0; i < keys.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    return (x < y ? -1 : 1) * keys[i]!.dir;
  }
  return 0;
}

async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const now = options.now ?? Date.now();
  const docOf = (index: number, timeMs: number): Doc => {
    const source = makeAlert(index, timeMs);
    return { id: source['kibana.alert.uuid'] as string, source, flat: flatten(source) };
  };
  // One alert every 90 seconds, the newest 90 seconds before `now`.
  const { list: docs } = series(now, options.items ?? 25, 90_000, 90_000, docOf);

  const server = new ReplicaServer('elastic_security', () => ELASTIC_REJECTED);

  const authenticate = async (req: ReplicaRequest): Promise<ReplicaResponse | null> => {
    const apiKey = authToken(req.headers, 'ApiKey');
    if (apiKey !== null) {
      if (apiKey === API_KEY) return null;
      const id = Buffer.from(apiKey, 'base64').toString('utf8').split(':')[0] ?? '';
      return unauthorized(`API key: unable to find apikey with id ${id}`);
    }
    const basic = basicCredentials(req.headers);
    if (basic !== null) {
      if (basic === `${USER}:${PASSWORD}`) return null;
      return esError(401, 'security_exception', `unable to authenticate user [${basic.split(':')[0]}] for REST request [${req.path}]`, {
        header: { 'WWW-Authenticate': WWW_AUTHENTICATE },
      });
    }
    if (await hasValidBearer(req.headers, options.verifyBearer)) return null;
    if (authToken(req.headers, 'Bearer') !== null) return unauthorized('unable to authenticate with provided credentials');
    return esError(401, 'security_exception', `missing authentication credentials for REST request [${req.path}]`, { header: { 'WWW-Authenticate': WWW_AUTHENTICATE } });
  };

  const search = async (req: ReplicaRequest): Promise<ReplicaResponse> => {
    const refused = await authenticate(req);
    if (refused) return refused;
    const targets = req.params.index!.split(',');
    const known = (t: string) => wildcard(t).test(INDEX_ALIAS) || wildcard(t).test(BACKING_INDEX);
    const missing = targets.find((t) => !t.includes('*') && !known(t));
    if (missing) return esError(404, 'index_not_found_exception', `no such index [${missing}]`, { 'resource.type': 'index_or_alias', 'resource.id': missing, index_uuid: '_na_', index: missing });
    if (!targets.some(known)) {
      return { body: { took: 0, timed_out: false, _shards: { total: 0, successful: 0, skipped: 0, failed: 0 }, hits: { total: { value: 0, relation: 'eq' }, max_score: null, hits: [] } } };
    }
    let body: Record<string, unknown> = {};
    if (req.text) {
      if (req.json === null || typeof req.json !== 'object' || Array.isArray(req.json)) {
        if (!String(req.headers['content-type'] ?? '').includes('application/json')) {
          return { status: 406, body: { error: `Content-Type header [${String(req.headers['content-type'] ?? '')}] is not supported`, status: 406 } };
        }
        return esError(400, 'parsing_exception', 'Unknown key for a VALUE_STRING in [query].', { line: 1, col: 1 });
      }
      body = req.json as Record<string, unknown>;
    }
    const size = body.size ?? (req.query.get('size') !== null ? Number(req.query.get('size')) : 10);
    const from = body.from ?? (req.query.get('from') !== null ? Number(req.query.get('from')) : 0);
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || typeof from !== 'number' || !Number.isInteger(from) || from < 0) {
      return esError(400, 'illegal_argument_exception', '[size] and [from] must be non-negative integers');
    }
    if (from + size > 10_000) {
      return esError(400, 'illegal_argument_exception', `Result window is too large, from + size must be less than or equal to: [10000] but was [${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`);
    }
    let keys: SortKey[];
    try {
      keys = parseSort(body.sort);
    } catch {
      return esError(400, 'parsing_exception', '[sort] malformed');
    }
    const after = body.search_after;
    if (after !== undefined) {
      if (!Array.isArray(after)) return esError(400, 'parsing_exception', '[search_after] must be an array');
      if (keys.length === 0) return esError(400, 'illegal_argument_exception', 'Sort must contain at least one field.');
      if (after.length !== keys.length) return esError(400, 'illegal_argument_exception', `search_after has ${after.length} value(s) but sort has ${keys.length}.`);
      if (from > 0) return esError(400, 'illegal_argument_exception', '[from] parameter must be set to 0 when [search_after] is used.');
    }
    let matching: Doc[];
    try {
      matching = docs.filter((d) => evaluate(body.query, d));
    } catch (e) {
      return esError(400, e instanceof QueryError ? 'parsing_exception' : 'illegal_argument_exception', (e as Error).message);
    }
    const withSort = matching.map((d) => ({ d, sort: keys.map((k) => sortValue(d, k.field)) }));
    if (keys.length) withSort.sort((a, b) => compare(a.sort, b.sort, keys));
    const afterValues = Array.isArray(after)
      ? after.map((v, i) => (typeof withSort[0]?.sort[i] === 'number' || keys[i]!.field === '@timestamp' ? (toMs(v) ?? v) : v))
      : null;
    const remaining = afterValues ? withSort.filter((x) => compare(x.sort, afterValues as Array<number | string>, keys) > 0) : withSort;
    const page = remaining.slice(from, from + size);
    const fieldPatterns = Array.isArray(body.fields)
      ? (body.fields as unknown[]).map((f) => wildcard(typeof f === 'string' ? f : String((f as { field?: unknown }).field ?? '')))
      : null;
    const sourceSpec = body._source;
    const hits = page.map(({ d, sort }) => {
      const hit: Record<string, unknown> = { _index: BACKING_INDEX, _id: d.id, _score: keys.length ? null : 0 };
      if (sourceSpec !== false) {
        if (sourceSpec === undefined || sourceSpec === true) hit._source = structuredClone(d.source);
        else {
          const includes = (Array.isArray(sourceSpec) ? sourceSpec : typeof sourceSpec === 'string' ? [sourceSpec] : ((sourceSpec as { includes?: string[] }).includes ?? ['*'])).map(String).map(wildcard);
          hit._source = Object.fromEntries(Object.entries(d.source).filter(([k]) => includes.some((re) => re.test(k))));
        }
      }
      if (fieldPatterns) {
        hit.fields = Object.fromEntries(Object.entries(d.flat).filter(([k]) => fieldPatterns.some((re) => re.test(k))).map(([k, v]) => [k, [...v]]));
      }
      if (keys.length) hit.sort = sort;
      return hit;
    });
    const trackTotal = body.track_total_hits;
    const totalHits = trackTotal === false ? undefined : { value: Math.min(matching.length, typeof trackTotal === 'number' ? trackTotal : trackTotal === true ? Infinity : 10_000), relation: 'eq' };
    return {
      body: {
        took: 3,
        timed_out: false,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        hits: { ...(totalHits ? { total: totalHits } : {}), max_score: keys.length ? null : 0, hits },
      },
    };
  };

  server.route('POST', '/:index/_search', search);
  server.route('GET', '/:index/_search', search);
  server.route('GET', '/', async (req) => {
    const refused = await authenticate(req);
    if (refused) return refused;
    return { body: { name: 'es-replica-01', cluster_name: 'security', cluster_uuid: 'q5sHOPKcSWS0hn3bDqp0yQ', version: { number: '8.15.0', build_flavor: 'default', lucene_version: '9.11.1' }, tagline: 'You Know, for Search' } };
  });

  const hitOf = (d: Doc): AlertHit => ({
    _index: BACKING_INDEX,
    _id: d.id,
    _score: null,
    _source: structuredClone(d.source),
    fields: Object.fromEntries(Object.entries(d.flat).map(([k, v]) => [k, [...v]])),
    sort: [toMs(d.source['@timestamp']) ?? 0, d.id],
  });
  return serve(server, {
    authType: 'API_KEY',
    credentials: { apiKey: API_KEY },
    wrongCredentials: { apiKey: Buffer.from(`${API_KEY_ID}:revoked-${API_KEY_SECRET}`).toString('base64') },
    config: () => ({ pageSize: 10 }),
    addItems: (n: number) => {
      for (let i = 0; i < n; i++) {
        const last = toMs(docs[docs.length - 1]?.source['@timestamp']) ?? now - 90_000;
        docs.push(docOf(docs.length, soonAfter(last)));
      }
    },
    items: () => docs.map(hitOf),
  });
}

/** The risk score (0–100) on the 0–10 scale. */
export const replica: ReplicaModule = {
  provider: 'elastic_security',
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const hit = item as AlertHit;
    const s = hit._source!;
    const host = s.host as { name: string };
    const source = s.source as { ip: string; port: number };
    const destination = s.destination as { ip: string; port: number };
    return {
      kind: 'event',
      vendor: 'Elastic',
      product: 'Elastic Security',
      eventId: s['kibana.alert.uuid'],
      name: s['kibana.alert.rule.name'],
      severity: (s['kibana.alert.risk_score'] as number) / 10,
      timestamp: new Date(s['@timestamp'] as string).toISOString(),
      src: source.ip,
      dst: destination.ip,
      srcPort: source.port,
      dstPort: destination.port,
      user: (s.user as { name: string }).name,
      host: host.name,
    };
  },
  authRemediation: /API keys/,
};
