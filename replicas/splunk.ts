/**
 * Splunk Enterprise / Splunk Cloud Platform search head (splunkd management port, REST API), as
 * documented in the REST API Reference Manual, "Search endpoint descriptions" (search/v2/jobs) and
 * the REST API User Manual:
 *
 * - `POST /services/search/v2/jobs` (and the v1 `POST /services/search/jobs`) with
 *   `exec_mode=oneshot`: the search runs and its results come back in the same answer, paged by
 *   `count` (default 100, 0 = all) and `offset`, bounded by `earliest_time` (inclusive) and
 *   `latest_time` (exclusive), given as UTC epoch seconds, ISO 8601 or relative (`-24h`, `now`).
 *   Event searches answer newest first unless the search sorts (`| sort 0 _time`) or reverses.
 * - `output_mode=json` (query or form): `{preview, init_offset, messages, fields, results,
 *   highlighted}`, every result value a string (multivalue fields: arrays of strings); otherwise
 *   the XML results document.
 * - Auth: an authentication token (Settings > Tokens) as `Authorization: Bearer <token>` or
 *   `Authorization: Splunk <token>`, or Basic user:password. A refused token answers 401
 *   `{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}`, refused Basic
 *   credentials 401 `{"messages":[{"type":"ERROR","text":"Unauthorized"}]}` (XML `<response>` when
 *   output_mode is not json).
 * - A search that does not start with a command (`search ...` or `| ...`) answers 400 FATAL
 *   "Unknown search command"; a search splunkd refuses to run because the concurrent-search quota
 *   is used up answers with the `Search not executed: The maximum number of concurrent historical
 *   searches ...` message, which is the body injected rate-limit answers carry.
 *
 * The dataset: Splunk Enterprise Security notable events (`index=notable`, sourcetype `stash`).
 */
import { Random, ReplicaServer, authToken, basicCredentials, hasValidBearer, serve, series, soonAfter } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

const TOKEN = 'eyJraWQiOiJzcGx1bmsuc2VjcmV0IiwiYWxnIjoiSFM1MTIiLCJ2ZXIiOiJ2MiIsInR0eXAiOiJzdGF0aWMifQ.replica-splunk-token';
const USER = 'admin';
const PASSWORD = 'changeme-replica';
const SEARCH_HEAD = 'sh-es-01';
const SEARCH_HEAD_GUID = '5C1B2A3E-7D04-4F8B-9E2A-3B6C1D0E9F47';

const RULES = [
  { search_name: 'Access - Brute Force Access Behavior Detected - Rule', rule_name: 'Brute Force Access Behavior Detected', security_domain: 'access' },
  { search_name: 'Access - Excessive Failed Logins - Rule', rule_name: 'Excessive Failed Logins', security_domain: 'access' },
  { search_name: 'Endpoint - High Or Critical Priority Host With Malware - Rule', rule_name: 'High Or Critical Priority Host With Malware Detected', security_domain: 'endpoint' },
  { search_name: 'Network - Unroutable Host Activity - Rule', rule_name: 'Unroutable Host Activity', security_domain: 'network' },
  { search_name: 'Threat - Threat List Activity - Rule', rule_name: 'Threat List Activity', security_domain: 'threat' },
  { search_name: 'Identity - Activity from Expired User Identity - Rule', rule_name: 'Activity from Expired User Identity', security_domain: 'identity' },
] as const;
const URGENCIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
const SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
const USERS = ['alice', 'bob', 'svc_backup', 'carol', 'dave'];

/** One notable event as `output_mode=json` renders it: every value a string. */
export interface SplunkNotable {
  _bkt: string;
  _cd: string;
  _indextime: string;
  _raw: string;
  _serial: string;
  _si: string[];
  _sourcetype: string;
  _time: string;
  dest: string;
  event_id: string;
  host: string;
  index: string;
  linecount: string;
  rule_name: string;
  search_name: string;
  security_domain: string;
  severity: string;
  source: string;
  sourcetype: string;
  splunk_server: string;
  src: string;
  urgency: string;
  user: string;
}

/** `_time` as splunkd renders it in JSON: ISO 8601 with milliseconds and the user's UTC offset. */
function splunkTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

/** An address in a /16, both octets 1–254. */
function ip(r: Random, prefix: string): string {
  return `${prefix}.${1 + r.int(254)}.${1 + r.int(254)}`;
}

function makeNotable(index: number, timeMs: number): SplunkNotable {
  const r = new Random(0x5917 + index * 7919);
  const rule = r.pick(RULES);
  const urgency = r.pick(URGENCIES);
  const severity = r.pick(SEVERITIES);
  const src = ip(r, '10.20');
  const dest = ip(r, '172.16');
  const user = r.pick(USERS);
  const eventId = `${SEARCH_HEAD_GUID}@@notable@@${r.hex(32)}`;
  const epoch = Math.floor(timeMs / 1000);
  const bucket = 40 + Math.floor(index / 100);
  return {
    _bkt: `notable~${bucket}~${SEARCH_HEAD_GUID}`,
    _cd: `${bucket}:${1000 + index * 3}`,
    _indextime: String(epoch + 2),
    _raw: `${epoch}, search_name="${rule.search_name}", orig_time="${epoch}", dest="${dest}", src="${src}", user="${user}", urgency="${urgency}", severity="${severity}", security_domain="${rule.security_domain}"`,
    _serial: '0',
    _si: [SEARCH_HEAD, 'notable'],
    _sourcetype: 'stash',
    _time: splunkTime(timeMs),
    dest,
    event_id: eventId,
    host: SEARCH_HEAD,
    index: 'notable',
    linecount: '1',
    rule_name: rule.rule_name,
    search_name: rule.search_name,
    security_domain: rule.security_domain,
    severity,
    source: rule.search_name,
    sourcetype: 'stash',
    splunk_server: SEARCH_HEAD,
    src,
    urgency,
    user,
  };
}

const FIELD_ORDER: Array<keyof SplunkNotable> = [
  '_bkt', '_cd', '_indextime', '_raw', '_serial', '_si', '_sourcetype', '_time', 'dest', 'event_id', 'host', 'index', 'linecount',
  'rule_name', 'search_name', 'security_domain', 'severity', 'source', 'sourcetype', 'splunk_server', 'src', 'urgency', 'user',
];

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

function messages(json: boolean, status: number, type: string, text: string, headers: Record<string, string> = {}): ReplicaResponse {
  if (json) return { status, headers, body: { messages: [{ type, text }] } };
  return {
    status,
    headers: { 'content-type': 'text/xml; charset=UTF-8', ...headers },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<response>\n  <messages>\n    <msg type="${type}">${xmlEscape(text)}</msg>\n  </messages>\n</response>\n`,
  };
}

/** The rate-limit body: splunkd's answer when the search quota is used up. */
export const SPLUNK_QUOTA_TEXT =
  'Search not executed: The maximum number of concurrent historical searches on this instance has been reached., concurrency_category="historical", concurrency_context="instance-wide", current_concurrency=8, concurrency_limit=8';

/** Time modifiers as search jobs take them: epoch seconds, ISO 8601, `now`, `-<n><unit>[@unit]`; null when absent. */
function parseTime(value: string | null, nowMs: number): number | null | 'invalid' {
  if (value === null || value === '') return null;
  const v = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v) === 0 ? null : Math.round(Number(v) * 1000);
  if (v === 'now') return nowMs;
  const rel = /^([+-])(\d+)(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)(@\w+)?$/.exec(v);
  if (rel) {
    const unit = rel[3]!.startsWith('s') ? 1000 : rel[3]!.startsWith('m') ? 60_000 : rel[3]!.startsWith('h') ? 3_600_000 : rel[3]!.startsWith('d') ? 86_400_000 : 604_800_000;
    return nowMs + (rel[1] === '-' ? -1 : 1) * Number(rel[2]) * unit;
  }
  const parsed = Date.parse(v);
  return Number.isNaN(parsed) ? 'invalid' : parsed;
}

async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const now = options.now ?? Date.now();
  const stored = (index: number, at: number) => ({ at, notable: makeNotable(index, at) });
  // One notable a minute, the newest a minute before `now`.
  const { list: notables } = series(now, options.items ?? 25, 60_000, 60_000, stored);
  // Notables made so far (repeats aside), and the repeats `repeatNewest` served.
  let made = notables.length;
  const repeats = new WeakSet<object>();

  // Injected rate-limit answers carry splunkd's search-quota message unless the caller gives a body.
  const server = new ReplicaServer('splunk', () => ({ body: { messages: [{ type: 'WARN', text: SPLUNK_QUOTA_TEXT }] } }));

  const authenticate = async (req: ReplicaRequest, json: boolean): Promise<ReplicaResponse | null> => {
    const header = req.headers.authorization;
    if (typeof header === 'string') {
      const basic = basicCredentials(req.headers);
      if (basic !== null) {
        if (basic === `${USER}:${PASSWORD}`) return null;
        return messages(json, 401, 'ERROR', 'Unauthorized', { 'www-authenticate': 'Basic realm="/splunk"' });
      }
      const token = authToken(req.headers, 'Splunk') ?? authToken(req.headers, 'Bearer');
      if (token === TOKEN) return null;
      if (await hasValidBearer(req.headers, options.verifyBearer)) return null;
    }
    return messages(json, 401, 'WARN', 'call not properly authenticated');
  };

  const oneshot = async (req: ReplicaRequest): Promise<ReplicaResponse> => {
    const form = req.form ?? new URLSearchParams();
    const param = (name: string) => form.get(name) ?? req.query.get(name);
    const json = param('output_mode') === 'json';
    const refused = await authenticate(req, json);
    if (refused) return refused;
    const search = (param('search') ?? '').trim();
    if (!search) return messages(json, 400, 'FATAL', 'Empty search.');
    const command = /^(search\b|\|)/i.test(search) ? null : search.split(/\s+/)[0]!.split('=')[0];
    if (command) return messages(json, 400, 'FATAL', `Unknown search command '${command}'.`);
    const execMode = param('exec_mode') ?? 'normal';
    if (execMode !== 'oneshot') {
      // normal and blocking create a job to poll under search/v2/jobs/{sid}, which this replica does not keep.
      return messages(json, 400, 'FATAL', 'This replica serves exec_mode=oneshot searches only.');
    }
    const clock = Date.now();
    const earliest = parseTime(param('earliest_time'), clock);
    const latest = parseTime(param('latest_time'), clock);
    if (earliest === 'invalid' || latest === 'invalid') {
      return messages(json, 400, 'FATAL', `Invalid earliest_time or latest_time: '${param(earliest === 'invalid' ? 'earliest_time' : 'latest_time')}'.`);
    }
    const countRaw = param('count') ?? '100';
    const offsetRaw = param('offset') ?? '0';
    if (!/^\d+$/.test(countRaw) || !/^\d+$/.test(offsetRaw)) {
      return messages(json, 400, 'FATAL', `Argument "${/^\d+$/.test(countRaw) ? 'offset' : 'count'}" must be a non-negative integer.`);
    }
    const count = Number(countRaw);
    const offset = Number(offsetRaw);
    const ascending = /\|\s*(sort\s+(\d+\s+)?\+?_time\b|reverse\b)/i.test(search);
    let matching = notables.filter(({ at }) => (earliest === null || at >= earliest) && (latest === null || at < latest)).map(({ notable }) => notable);
    if (!ascending) matching = matching.reverse();
    const page = count === 0 ? matching.slice(offset) : matching.slice(offset, offset + count);
    if (json) {
      return {
        body: {
          preview: false,
          init_offset: offset,
          messages: [],
          fields: page.length ? FIELD_ORDER.map((name) => ({ name })) : [],
          results: page,
          highlighted: {},
        },
      };
    }
    const fieldXml = (k: string, v: string | string[]) =>
      `\t<field k='${k}'>\n${(Array.isArray(v) ? v : [v]).map((x) => `\t\t<value><text>${xmlEscape(x)}</text></value>`).join('\n')}\n\t</field>`;
    const xml = [
      `<?xml version='1.0' encoding='UTF-8'?>`,
      `<results preview='0'>`,
      `<meta>\n<fieldOrder>\n${FIELD_ORDER.map((f) => `<field>${f}</field>`).join('\n')}\n</fieldOrder>\n</meta>`,
      ...page.map((n, i) => `<result offset='${offset + i}'>\n${FIELD_ORDER.map((k) => fieldXml(k, n[k])).join('\n')}\n</result>`),
      `</results>`,
    ].join('\n');
    return { headers: { 'content-type': 'text/xml; charset=UTF-8' }, body: xml };
  };

  server.route('POST', '/services/search/v2/jobs', oneshot);
  server.route('POST', '/services/search/jobs', oneshot);
  server.route('GET', '/services/server/info', async (req) => {
    const json = req.query.get('output_mode') === 'json';
    const refused = await authenticate(req, json);
    if (refused) return refused;
    return { body: { links: {}, origin: `${server.url}/services/server/info`, updated: new Date().toISOString(), generator: { build: 'replica', version: '9.4.0' }, entry: [{ name: 'server-info', content: { serverName: SEARCH_HEAD, version: '9.4.0', product_type: 'enterprise' } }], paging: { total: 1, perPage: 30, offset: 0 }, messages: [] } };
  });

  return serve(server, {
    authType: 'API_KEY',
    credentials: { token: TOKEN },
    wrongCredentials: { token: `${TOKEN}-revoked` },
    config: () => ({ pageSize: 10 }),
    addItems: (n: number) => {
      for (let i = 0; i < n; i++) {
        const last = notables[notables.length - 1]?.at ?? now - 60_000;
        notables.push(stored(made++, soonAfter(last)));
      }
    },
    items: () => notables.map(({ notable: n }) => ({ ...n, _si: [...n._si] })),
    // The same notable (same event_id, time, bucket and offset) served again, as a forwarder
    // stuck in a resend loop would make a search return it.
    repeatNewest: (copies: number) => {
      const newest = notables[notables.length - 1];
      if (!newest) return;
      for (let i = 0; i < copies; i++) {
        const copy = { ...newest };
        repeats.add(copy);
        notables.push(copy);
      }
    },
    stopRepeating: () => {
      for (let i = notables.length - 1; i >= 0; i--) if (repeats.has(notables[i]!)) notables.splice(i, 1);
    },
  });
}

/** Enterprise Security urgency (the notable's priority) on the 0–10 scale. */
const URGENCY_SCORE: Record<string, number> = { informational: 1, low: 3, medium: 5, high: 8, critical: 10 };

export const replica: ReplicaModule = {
  provider: 'splunk',
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const n = item as SplunkNotable;
    return {
      kind: 'event',
      vendor: 'Splunk',
      product: 'Splunk Enterprise Security',
      eventId: n.event_id,
      name: n.rule_name,
      severity: URGENCY_SCORE[n.urgency] ?? null,
      timestamp: new Date(Date.parse(n._time)).toISOString(),
      src: n.src,
      dst: n.dest,
      user: n.user,
    };
  },
  authRemediation: /Settings > Tokens/,
};
