/**
 * IBM QRadar SIEM REST API (console `https://<console>/api`), as documented in the QRadar API
 * reference (`GET /siem/offenses`) and the API overview ("Paging syntax", "Filter syntax",
 * "API error messages"):
 *
 * - `GET /api/siem/offenses`: a JSON array of Offense objects. Query parameters `filter`
 *   (`start_time >= 1704067200000 and start_time < 1704070800000`; fields compared with
 *   `= != <> ^= < <= > >=`, clauses joined with `and`), `sort` (`+id`, `-start_time`, ...), `fields`
 *   (a comma-separated projection).
 * - Paging: the `Range: items=x-y` request header (zero-based, inclusive); the answer carries
 *   `Content-Range: items x-y/<total>` (`items * /<total>` when the range starts past the end,
 *   with an empty list). Without Range, every match comes back.
 * - Auth: an authorized service token (Admin > User Management > Authorized Services) in the `SEC`
 *   header, or Basic user:password. Refused: 401 with the error envelope
 *   `{http_response: {code: 401, message: "You are unauthorized to access the requested resource."},
 *   code: 18, description: "", details: {}, message: "No SEC header present in request. ..."}`.
 * - Errors use that envelope too: 422 code 1010 for an invalid filter, 1030 for an invalid sort,
 *   1005 for an invalid Range; an injected rate-limit answer is a 429 in the same envelope.
 */
import { Random, ReplicaServer, basicCredentials, hasValidBearer, serve, series } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

const TOKEN = '7a3c9e21-4b6d-4f80-9c1e-2d5f8a0b6e43';
const USER = 'admin';
const PASSWORD = 'qradar-replica-password';

export interface QRadarOffense {
  assigned_to: string | null;
  categories: string[];
  category_count: number;
  close_time: number | null;
  closing_reason_id: number | null;
  closing_user: string | null;
  credibility: number;
  description: string;
  destination_networks: string[];
  device_count: number;
  domain_id: number;
  event_count: number;
  first_persisted_time: number;
  flow_count: number;
  follow_up: boolean;
  id: number;
  inactive: boolean;
  last_persisted_time: number;
  last_updated_time: number;
  local_destination_address_ids: number[];
  local_destination_count: number;
  log_sources: Array<{ id: number; name: string; type_id: number; type_name: string }>;
  magnitude: number;
  offense_source: string;
  offense_type: number;
  policy_category_count: number;
  protected: boolean;
  relevance: number;
  remote_destination_count: number;
  rules: Array<{ id: number; type: string }>;
  security_category_count: number;
  severity: number;
  source_address_ids: number[];
  source_count: number;
  source_network: string;
  start_time: number;
  status: string;
  username_count: number;
}

const SCENARIOS = [
  { description: 'Multiple Login Failures for the Same User\n containing Failure Audit: An account failed to log on', categories: ['User Login Failure', 'General Authentication Failed'], rule: 100045 },
  { description: 'Local L2R LDAP Server Scanner\n containing Firewall Deny', categories: ['Firewall Deny', 'Host Port Scan'], rule: 100211 },
  { description: 'Excessive Firewall Denies Across Multiple Hosts From A Local Host\n containing Firewall Deny', categories: ['Firewall Deny'], rule: 100270 },
  { description: 'Potential Botnet Connection (DNS)\n containing DNS Query', categories: ['Botnet Address', 'Suspicious Activity'], rule: 100384 },
  { description: 'Malware Detected\n containing Virus Detected', categories: ['Virus Detected'], rule: 100502 },
] as const;
const LOG_SOURCES = [
  { id: 62, name: 'WindowsAuthServer @ dc01.corp.example', type_id: 12, type_name: 'Microsoft Windows Security Event Log' },
  { id: 71, name: 'Palo Alto PA Series @ fw01', type_id: 206, type_name: 'Palo Alto PA Series' },
  { id: 90, name: 'Custom Rule Engine-8 :: qradar', type_id: 18, type_name: 'Custom Rule Engine' },
];

function makeOffense(id: number, startMs: number): QRadarOffense {
  const r = new Random(0x0afe + id * 104729);
  const scenario = r.pick(SCENARIOS);
  const severity = 1 + r.int(10);
  const credibility = 1 + r.int(10);
  const relevance = r.int(10);
  const magnitude = Math.max(1, Math.round((severity * 3 + credibility * 3 + relevance * 4) / 10));
  const source = `10.${10 + r.int(40)}.${r.int(255)}.${1 + r.int(254)}`;
  const eventCount = 2 + r.int(400);
  const logSource = r.pick(LOG_SOURCES);
  return {
    assigned_to: null,
    categories: [...scenario.categories],
    category_count: scenario.categories.length,
    close_time: null,
    closing_reason_id: null,
    closing_user: null,
    credibility,
    description: scenario.description,
    destination_networks: ['Net-10-172-192.Net_10_0_0_0'],
    device_count: 1,
    domain_id: 0,
    event_count: eventCount,
    first_persisted_time: startMs + 1500,
    flow_count: 0,
    follow_up: false,
    id,
    inactive: false,
    last_persisted_time: startMs + 30_000,
    last_updated_time: startMs + 30_000,
    local_destination_address_ids: [id + 4],
    local_destination_count: 1,
    log_sources: [{ ...logSource }],
    magnitude,
    offense_source: source,
    offense_type: 0,
    policy_category_count: 0,
    protected: false,
    relevance,
    remote_destination_count: 0,
    rules: [{ id: scenario.rule, type: 'CRE_RULE' }],
    security_category_count: scenario.categories.length,
    severity,
    source_address_ids: [id + 100],
    source_count: 1,
    source_network: 'Net-10-172-192.Net_10_0_0_0',
    start_time: startMs,
    status: 'OPEN',
    username_count: scenario.rule === 100045 ? 1 : 0,
  };
}

const HTTP_MESSAGES: Record<number, string> = {
  401: 'You are unauthorized to access the requested resource.',
  422: 'The request was well-formed but was unable to be followed due to semantic errors.',
  429: 'The user has sent too many requests in a given amount of time.',
};

function qradarError(status: number, code: number, message: string, description = ''): ReplicaResponse {
  return { status, body: { http_response: { code: status, message: HTTP_MESSAGES[status] ?? 'Error' }, code, description, details: {}, message } };
}

const UNAUTHORIZED = qradarError(
  401,
  18,
  'No SEC header present in request. Please provide it via "SEC: token". You may also use BASIC authentication parameters if this host supports it. e.g. "Authorization: Basic base64Encoding"',
);

const NUMERIC_FIELDS = new Set<keyof QRadarOffense>([
  'id', 'start_time', 'last_updated_time', 'last_persisted_time', 'first_persisted_time', 'close_time', 'severity', 'magnitude',
  'credibility', 'relevance', 'event_count', 'flow_count', 'offense_type', 'domain_id', 'category_count', 'device_count',
]);
const STRING_FIELDS = new Set<keyof QRadarOffense>(['status', 'assigned_to', 'offense_source', 'source_network', 'description']);

const NOT_EQUAL = new Set(['!=', '<>', '^=']);

type Clause = { field: keyof QRadarOffense; op: string; value: number | string };

/** The subset of QRadar filter syntax the replica evaluates: `and`-joined comparisons. */
function parseFilter(filter: string): Clause[] | string {
  const clauses: Clause[] = [];
  for (const part of filter.split(/\s+and\s+/i)) {
    const m = /^\s*\(?\s*([a-z_]+)\s*(>=|<=|!=|<>|\^=|=|>|<)\s*(.+?)\s*\)?\s*$/i.exec(part);
    if (!m) return `Filter clause is not valid: ${part.trim()}`;
    const field = m[1] as keyof QRadarOffense;
    const raw = m[3]!;
    if (NUMERIC_FIELDS.has(field)) {
      if (!/^-?\d+$/.test(raw)) return `Value for ${field} must be a number: ${raw}`;
      clauses.push({ field, op: NOT_EQUAL.has(m[2]!) ? '!=' : m[2]!, value: Number(raw) });
    } else if (STRING_FIELDS.has(field)) {
      clauses.push({ field, op: NOT_EQUAL.has(m[2]!) ? '!=' : m[2]!, value: raw.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1') });
    } else return `Field is not filterable or does not exist: ${field}`;
  }
  return clauses;
}

function matches(o: QRadarOffense, c: Clause): boolean {
  const v = o[c.field] as unknown;
  if (v === null || v === undefined) return c.op === '!=';
  const a = typeof c.value === 'number' ? Number(v) : String(v);
  const b = c.value;
  switch (c.op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    default:
      return a <= b;
  }
}

/** `fields=id,severity,rules(id)` style projection (top-level names; sub-selections keep the whole value). */
function project(o: QRadarOffense, fields: string | null): Record<string, unknown> {
  if (!fields) return { ...o };
  const out: Record<string, unknown> = {};
  for (const f of fields.split(',').map((s) => s.trim().replace(/\(.*$/, ''))) if (f && f in o) out[f] = o[f as keyof QRadarOffense];
  return out;
}

async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const now = options.now ?? Date.now();
  const firstId = 1201;
  const offenseAt = (index: number, startMs: number) => makeOffense(firstId + index, startMs);
  // One offense every two minutes, the newest two minutes before `now`.
  const { list: offenses } = series(now, options.items ?? 25, 120_000, 120_000, offenseAt);

  const server = new ReplicaServer('ibm_qradar', () => qradarError(429, 1015, 'Too many requests: the API request limit has been reached. Try again later.'));

  const authenticate = async (req: ReplicaRequest): Promise<boolean> => {
    const sec = req.headers.sec;
    if (typeof sec === 'string') return sec === TOKEN;
    const basic = basicCredentials(req.headers);
    if (basic !== null) return basic === `${USER}:${PASSWORD}`;
    return hasValidBearer(req.headers, options.verifyBearer);
  };

  server.route('GET', '/api/siem/offenses', async (req) => {
    if (!(await authenticate(req))) return UNAUTHORIZED;
    let list = [...offenses];
    const filter = req.query.get('filter');
    if (filter && filter.trim()) {
      const clauses = parseFilter(filter);
      if (typeof clauses === 'string') return qradarError(422, 1010, clauses, 'The filter parameter is not valid.');
      list = list.filter((o) => clauses.every((c) => matches(o, c)));
    }
    const sort = req.query.get('sort');
    if (sort) {
      const m = /^\s*([+-]?)([a-z_]+)\s*$/.exec(sort);
      if (!m || !NUMERIC_FIELDS.has(m[2] as keyof QRadarOffense)) return qradarError(422, 1030, `Invalid sort: ${sort}`, 'The sort field or order is not valid.');
      const key = m[2] as keyof QRadarOffense;
      const dir = m[1] === '-' ? -1 : 1;
      list.sort((a, b) => dir * (Number(a[key] ?? 0) - Number(b[key] ?? 0)));
    }
    const totalMatches = list.length;
    const range = req.headers.range;
    const headers: Record<string, string> = {};
    if (typeof range === 'string') {
      const m = /^\s*items\s*=\s*(\d+)\s*-\s*(\d+)\s*$/.exec(range);
      if (!m || Number(m[2]) < Number(m[1])) {
        return qradarError(422, 1005, 'Failed to parse Range argument. The syntax of the Range argument must follow this pattern: items=x-y', 'A request parameter is not valid.');
      }
      const from = Number(m[1]);
      const to = Number(m[2]);
      if (from >= totalMatches) {
        headers['content-range'] = `items */${totalMatches}`;
        list = [];
      } else {
        list = list.slice(from, to + 1);
        headers['content-range'] = `items ${from}-${from + list.length - 1}/${totalMatches}`;
      }
    }
    const fields = req.query.get('fields');
    return { headers, body: list.map((o) => project(o, fields)) };
  });

  return serve(server, {
    authType: 'API_KEY',
    credentials: { token: TOKEN },
    wrongCredentials: { token: '00000000-0000-0000-0000-000000000000' },
    config: () => ({ pageSize: 10 }),
    addItems: (n: number) => {
      for (let i = 0; i < n; i++) {
        // A new offense is last updated now (start_time + 30 s), as QRadar stamps one it creates.
        const last = offenses[offenses.length - 1]?.start_time ?? now - 120_000;
        offenses.push(offenseAt(offenses.length, Math.max(last + 1, Date.now() - 30_000 + i)));
      }
    },
    items: () => offenses.map((o) => structuredClone(o)),
  });
}

export const replica: ReplicaModule = {
  provider: 'ibm_qradar',
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const o = item as QRadarOffense;
    return {
      kind: 'event',
      vendor: 'IBM',
      product: 'QRadar',
      eventId: String(o.id),
      name: o.description,
      // Offense severity is already 0–10 in QRadar.
      severity: o.severity,
      timestamp: new Date(o.start_time).toISOString(),
      src: o.offense_type === 0 ? o.offense_source : null,
    };
  },
  authRemediation: /Authorized Services/,
};
