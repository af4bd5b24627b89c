/**
 * MISP replica (`POST /attributes/restSearch`), after MISP's documentation:
 *
 * - OpenAPI (MISP Automation API), restSearchAttributes, the Attribute schema and the
 *   UnauthorizedApiError object: https://www.misp-project.org/openapi/#tag/Attributes/operation/restSearchAttributes
 *   (source: https://github.com/MISP/MISP/blob/2.4/app/webroot/doc/openapi.yaml)
 * - The JSON export of restSearch (`{"response": {"Attribute": [...]}}`, tags flattened into `Tag`):
 *   https://github.com/MISP/MISP/blob/2.4/app/Lib/Export/JsonExport.php
 * - The `timestamp` filter (attribute timestamp ≥ value, or a [from, to] range) and `order`:
 *   https://github.com/MISP/MISP/blob/2.4/app/Model/Event.php (set_filter_timestamp) and
 *   https://github.com/MISP/MISP/blob/2.4/app/Model/MispAttribute.php (restSearch)
 * - Decay scores (`decay_score`: score, base_score, decayed, DecayingModel {id, name}):
 *   https://github.com/MISP/MISP/blob/2.4/app/Model/DecayingModel.php
 * - Per-role REST search rate limit (`rate_limit_count` per 900 s, `X-Rate-Limit-*` headers, 429
 *   "Rate limit exceeded."): https://github.com/MISP/MISP/blob/2.4/app/Controller/Component/RateLimitComponent.php
 *   and AppController::__rateLimitCheck
 *
 * Auth: `Authorization: <auth key>` (the raw 40-character key, My Profile > Auth keys) or, with
 * `verifyBearer`, `Authorization: Bearer <access token>`. A refused key is `403` with MISP's
 * `{ name, message, url }` error object ("Authentication failed. Please make sure you pass the API
 * key of an API enabled user along in the Authorization header.").
 *
 * Body filters honoured: `returnFormat` (json), `page` (1-based) and `limit` (no limit = everything),
 * `timestamp` (attribute timestamp ≥ value: epoch seconds, a relative `5d`/`12h`/`30m`, or a
 * `[from, to]` pair), `type` (one or a list), `to_ids`, `tags` (any of), `includeDecayScore`,
 * `order` (`Attribute.timestamp asc`, `id desc`…). The answer is `{"response": {"Attribute": [...]}}`
 * with `X-Result-Count` (the number of attributes in this answer), like MISP's JSON export.
 */
import { Random, ReplicaServer, appendEachSecond, keyOrBearer, recentInstants, serve } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

export const PROVIDER = 'misp';

const AUTH_KEY = 'Rpl1caM1spAuthKey0123456789abcdefGHIJKLM';
const WRONG_KEY = 'Rev0kedM1spAuthKey9876543210zyxwvuTSRQPO';
/** The role's `rate_limit_count` the replica advertises (searches per 900 s window). */
const ROLE_RATE_LIMIT = 900;
const AUTH_FAILED = 'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.';

export interface MispTag {
  id: string;
  name: string;
  colour: string;
  numerical_value: string | null;
  is_galaxy: boolean;
  local: number;
}

export interface MispDecayScore {
  score: number;
  base_score: number;
  decayed: boolean;
  DecayingModel: { id: string; name: string };
}

/** One attribute of `response.Attribute`, shaped like MISP's JSON export of restSearch. */
export interface MispAttribute {
  id: string;
  event_id: string;
  object_id: string;
  object_relation: string | null;
  category: string;
  type: string;
  to_ids: boolean;
  uuid: string;
  timestamp: string;
  distribution: string;
  sharing_group_id: string;
  comment: string;
  deleted: boolean;
  disable_correlation: boolean;
  first_seen: string | null;
  last_seen: string | null;
  value: string;
  Event: { org_id: string; distribution: string; id: string; info: string; orgc_id: string; uuid: string };
  Tag?: MispTag[];
  decay_score?: MispDecayScore[];
}

const TAGS: MispTag[] = [
  { id: '1', name: 'tlp:green', colour: '#33FF00', numerical_value: null, is_galaxy: false, local: 0 },
  { id: '7', name: 'tlp:amber', colour: '#FFC000', numerical_value: null, is_galaxy: false, local: 0 },
  { id: '12', name: 'kill-chain:Command and Control', colour: '#0088cc', numerical_value: null, is_galaxy: false, local: 0 },
  { id: '31', name: 'misp-galaxy:malpedia="Emotet"', colour: '#0088cc', numerical_value: null, is_galaxy: true, local: 0 },
];

const EVENTS = [
  'OSINT - Emotet epoch 5 loader infrastructure',
  'Phishing campaign targeting finance teams',
  'Cobalt Strike beacons seen in incident IR-2291',
  'QakBot distribution via OneNote attachments',
  'Credential harvesting kit on compromised WordPress sites',
];

const WORDS = ['update', 'secure', 'cdn', 'portal', 'login', 'sync', 'files', 'mail', 'auth', 'static'];

/** The attribute types the dataset cycles through, with their default categories. */
const KINDS: Array<{ type: string; category: string }> = [
  { type: 'ip-dst', category: 'Network activity' },
  { type: 'domain', category: 'Network activity' },
  { type: 'sha256', category: 'Payload delivery' },
  { type: 'url', category: 'Network activity' },
  { type: 'ip-src', category: 'Network activity' },
  { type: 'hostname', category: 'Network activity' },
  { type: 'md5', category: 'Payload delivery' },
  { type: 'sha1', category: 'Payload delivery' },
  { type: 'email-src', category: 'Payload delivery' },
  { type: 'ip-dst', category: 'Network activity' },
];

/** MISP's ISO rendering of a microsecond timestamp (`Y-m-d\TH:i:s.uP`). */
function isoMicro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

class Generator extends Random {
  word(): string {
    return this.pick(WORDS);
  }

  value(type: string, index: number): string {
    switch (type) {
      case 'ip-dst':
        // Some destination addresses are IPv6: MISP keeps both families in ip-dst.
        return index % 20 === 9 ? `2001:db8:${this.hex(4)}::${1 + this.int(4000)}` : this.ipv4('198.51.100');
      case 'ip-src':
        return this.ipv4('203.0.113');
      case 'domain':
        return `${this.word()}-${this.word()}${index}.example`;
      case 'hostname':
        return `${this.word()}.${this.word()}${index}.example.net`;
      case 'url':
        return `https://${this.word()}${index}.example.org/${this.word()}/${this.hex(8)}.php`;
      case 'md5':
        return this.hex(32);
      case 'sha1':
        return this.hex(40);
      case 'sha256':
        return this.hex(64);
      case 'email-src':
        return `${this.word()}.${this.word()}${index}@example.com`;
      default:
        return `${type}-${index}`;
    }
  }

  attribute(index: number, timestampSec: number): MispAttribute {
    const kind = KINDS[index % KINDS.length]!;
    const eventId = String(120 + Math.floor(index / 5));
    const eventUuid = `5f1c8a2e-${(Math.floor(index / 5) + 4096).toString(16).padStart(4, '0')}-4d7b-9a61-0c2e4b7f${(Math.floor(index / 5) + 4096).toString(16).padStart(4, '0')}`;
    const tags = index % 3 === 0 ? undefined : [TAGS[index % 2]!, ...(index % 4 === 1 ? [TAGS[2 + (index % 2)]!] : [])];
    const attribute: MispAttribute = {
      id: String(40_000 + index),
      event_id: eventId,
      object_id: '0',
      object_relation: null,
      category: kind.category,
      type: kind.type,
      to_ids: index % 7 !== 3,
      uuid: this.uuid(),
      timestamp: String(timestampSec),
      distribution: '5',
      sharing_group_id: '0',
      comment: index % 4 === 0 ? 'Seen in sandbox detonation' : '',
      deleted: false,
      disable_correlation: false,
      first_seen: index % 3 === 1 ? null : isoMicro((timestampSec - 3600 - this.int(86_400)) * 1000 + this.int(1000)),
      last_seen: null,
      value: this.value(kind.type, index),
      Event: { org_id: '1', distribution: '1', id: eventId, info: EVENTS[Math.floor(index / 5) % EVENTS.length]!, orgc_id: '2', uuid: eventUuid },
    };
    if (tags) attribute.Tag = tags;
    // MISP attaches one score per enabled decaying model associated with the type.
    attribute.decay_score = [
      {
        score: Math.round((20 + this.next() * 80) * 100) / 100,
        base_score: 80,
        decayed: false,
        DecayingModel: { id: '1', name: 'NIDS Simple Decaying Model' },
      },
    ];
    return attribute;
  }
}

/** MISP's `{ name, message, url }` error object. */
function mispError(status: number, message: string, url: string, headers: Record<string, string> = {}): ReplicaResponse {
  return { status, headers, body: { name: message, message, url } };
}

/** MISP's answer once a role's REST search budget is spent (the suite injects it). */
export function mispRateLimitResponse(retryAfterSec: number): ReplicaResponse {
  return mispError(429, 'Rate limit exceeded.', '/attributes/restSearch', {
    'X-Rate-Limit-Limit': String(ROLE_RATE_LIMIT),
    'X-Rate-Limit-Remaining': '0',
    'X-Rate-Limit-Reset': String(retryAfterSec),
  });
}

/** A restSearch time value as epoch seconds: a timestamp, or `5d` / `12h` / `30m` / `40s` before now. */
function timeValue(value: unknown, nowSec: number): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value);
  if (typeof value !== 'string' || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const rel = /^(\d+)([dhms])$/.exec(v);
  if (rel) return nowSec - Number(rel[1]) * { d: 86_400, h: 3600, m: 60, s: 1 }[rel[2] as 'd' | 'h' | 'm' | 's'];
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

function flag(value: unknown): boolean | null {
  if (value === undefined || value === null || value === '') return null;
  if (value === true || value === 1 || value === '1' || value === 'true') return true;
  if (value === false || value === 0 || value === '0' || value === 'false') return false;
  return null;
}

function list(value: unknown): string[] | null {
  if (value === undefined || value === null || value === '') return null;
  return (Array.isArray(value) ? value : [value]).map(String);
}

export async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const server = new ReplicaServer(PROVIDER, mispRateLimitResponse);
  const gen = new Generator(0x6d697370);
  const anchorSec = Math.floor((options.now ?? Date.now()) / 1000);
  // Oldest first, all inside the default first-sync window (24 h), the newest ten minutes ago (epoch seconds).
  const attributes = recentInstants(options.items ?? 25, anchorSec, 120, 1).map((at, i) => gen.attribute(i, at));
  const authorized = (req: ReplicaRequest) => keyOrBearer(req, req.headers.authorization?.trim(), AUTH_KEY, options.verifyBearer);

  server.route('POST', '/attributes/restSearch', async (req) => {
    if (!(await authorized(req))) return mispError(403, AUTH_FAILED, '/attributes/restSearch');
    const filters = (req.json && typeof req.json === 'object' && !Array.isArray(req.json) ? req.json : {}) as Record<string, unknown>;
    const format = filters.returnFormat ?? 'json';
    if (format !== 'json') return mispError(404, 'Invalid output format.', '/attributes/restSearch');
    const nowSec = Math.floor(Date.now() / 1000);

    let matching = attributes.slice();
    if (filters.timestamp !== undefined && filters.timestamp !== null && filters.timestamp !== '') {
      const range = Array.isArray(filters.timestamp) ? filters.timestamp : [filters.timestamp];
      const from = timeValue(range[0], nowSec);
      const to = range.length > 1 ? timeValue(range[1], nowSec) : null;
      if (from === null || (range.length > 1 && to === null)) {
        return mispError(400, 'Invalid timestamp filter.', '/attributes/restSearch');
      }
      matching = matching.filter((a) => Number(a.timestamp) >= from && (to === null || Number(a.timestamp) <= to));
    }
    const types = list(filters.type);
    if (types) matching = matching.filter((a) => types.includes(a.type));
    const toIds = flag(filters.to_ids);
    if (toIds !== null) matching = matching.filter((a) => a.to_ids === toIds);
    const tags = list(filters.tags);
    if (tags) matching = matching.filter((a) => (a.Tag ?? []).some((t) => tags.includes(t.name)));

    const order = typeof filters.order === 'string' ? filters.order : null;
    if (order) {
      const rules = order.split(',').map((rule) => {
        const [field = '', dir = 'asc'] = rule.trim().split(/\s+/);
        return { field: field.replace(/^Attribute\./i, '').toLowerCase(), desc: dir.toLowerCase() === 'desc' };
      });
      const numeric = new Set(['id', 'event_id', 'object_id', 'timestamp', 'distribution']);
      matching.sort((a, b) => {
        for (const { field, desc } of rules) {
          const av = (a as unknown as Record<string, unknown>)[field];
          const bv = (b as unknown as Record<string, unknown>)[field];
          const c = numeric.has(field) ? Number(av) - Number(bv) : String(av).localeCompare(String(bv));
          if (c !== 0) return desc ? -c : c;
        }
        return 0;
      });
    }

    // `limit` alone implies page 1; `page` counts from 1.
    const limit = filters.limit === undefined || filters.limit === null || filters.limit === '' ? null : Number(filters.limit);
    const page = filters.page === undefined || filters.page === null || filters.page === '' ? 1 : Number(filters.page);
    if ((limit !== null && (!Number.isInteger(limit) || limit < 0)) || !Number.isInteger(page) || page < 1) {
      return mispError(400, 'Invalid pagination parameters.', '/attributes/restSearch');
    }
    const slice = limit === null || limit === 0 ? matching : matching.slice((page - 1) * limit, page * limit);

    const withDecay = flag(filters.includeDecayScore) === true;
    const body = slice.map((a) => {
      const copy = structuredClone(a);
      if (!withDecay) delete copy.decay_score;
      return copy;
    });
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'X-Result-Count': String(body.length), 'X-Response-Format': 'json', 'X-Export-Module-Used': 'json' },
      body: { response: { Attribute: body } },
    };
  });

  return serve(server, {
    authType: 'API_KEY',
    credentials: { apiKey: AUTH_KEY },
    wrongCredentials: { apiKey: WRONG_KEY },
    config: () => ({ pageSize: 10 }),
    addItems: (n) => appendEachSecond(attributes, n, (a) => Number(a.timestamp), anchorSec - 600, (index, at) => gen.attribute(index, at), 1),
    items: () => attributes.map((a) => structuredClone(a)),
  });
}

/** MISP attribute types as normalized indicator types (IP addresses by their family). */
function indicatorType(type: string, value: string): string {
  if (type === 'ip-dst' || type === 'ip-src') return value.includes(':') ? 'ipv6' : 'ipv4';
  const table: Record<string, string> = {
    domain: 'domain',
    hostname: 'domain',
    url: 'url',
    md5: 'md5',
    sha1: 'sha1',
    sha256: 'sha256',
    'email-src': 'email',
    'email-dst': 'email',
    email: 'email',
  };
  return table[type] ?? type;
}

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const a = item as MispAttribute;
    // first_seen when the analyst set one; otherwise when the attribute was last written.
    const firstSeen = a.first_seen ? new Date(a.first_seen).toISOString() : new Date(Number(a.timestamp) * 1000).toISOString();
    return {
      kind: 'indicator',
      type: indicatorType(a.type, a.value),
      value: a.value,
      firstSeen,
      confidence: a.decay_score?.[0]?.score ?? null,
      labels: (a.Tag ?? []).map((t) => t.name),
    };
  },
  authRemediation: /Auth keys/,
};
