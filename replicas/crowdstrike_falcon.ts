/**
 * CrowdStrike Falcon replica: the OAuth2 token endpoint and the Alerts API's single-call endpoint
 * (`POST /alerts/combined/alerts/v1`), after CrowdStrike's documentation and SDK specifications:
 *
 * - Alerts service collection: https://developer.crowdstrike.com/api-reference/collections/alerts/
 *   (PostCombinedAlertsV1: "Retrieves all Alerts that match a particular FQL filter. This API is
 *   intended for retrieval of large amounts of Alerts (>10k) using a pagination based on a after
 *   token"; body `{ after, filter, limit (default 100, max 1000), sort }`)
 * - OAuth2 auth token: https://developer.crowdstrike.com/api-reference/collections/oauth2/
 * - FalconPy endpoint spec: https://github.com/CrowdStrike/falconpy/blob/main/src/falconpy/_endpoint/_alerts.py
 * - Response envelope and errors (`meta`, `resources`, `errors`):
 *   https://www.falconpy.io/Usage/Response-Handling.html
 *
 * Auth: `POST /oauth2/token` (form `client_id`, `client_secret`, optional `member_cid`; the client
 * may also authenticate with HTTP Basic) answers `201 { access_token, token_type: "bearer",
 * expires_in: 1799 }`; a refused client is `403 "Failed to issue access token - Client
 * authentication failed"`. The API takes `Authorization: Bearer <token>` (its own tokens, or those
 * `options.verifyBearer` approves); a missing or unknown token is `401 "access denied, invalid bearer
 * token"`.
 *
 * Paging: `after` tokens (`meta.pagination.after`, absent on the last page) that hold the sort
 * values of the last alert returned, so pages follow live data without skipping; `meta.pagination`
 * also carries `total` and `limit`. `filter` is FQL (`field:'value'`, `field:>=`, `:!`, `:*`
 * wildcards, `['a','b']` sets, `+` and, `,` or, parentheses); `sort` is `field|asc` or
 * `field|desc` (default `created_timestamp|desc`).
 *
 * Rate limit: every answer carries `X-RateLimit-Limit` and `X-RateLimit-Remaining`; an injected 429
 * adds `X-RateLimit-RetryAfter` (epoch seconds) and the `errors` envelope.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Random, ReplicaServer, appendEachSecond, authToken, basicCredentials, hasValidBearer, minuteQuota, recentInstants, serve } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

export const PROVIDER = 'crowdstrike_falcon';

const CLIENT_ID = '5d2e8f1a9b7c4e3da6f0b1c2d3e4f5a6';
const CLIENT_SECRET = 'kP3vQ9xL2mN7rT5wY8zA1bC4dE6fG0hJ2kL4mN6p';
const CID = '92012896127c4a948236ba7601b886b0';
/** Requests per minute per customer (CID). */
const RATE_LIMIT_PER_MINUTE = 6000;
const TOKEN_TTL_SEC = 1799;
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

export type SeverityName = 'Informational' | 'Low' | 'Medium' | 'High' | 'Critical';

/** An alert of the Alerts API (an endpoint detection, product `epp`, type `ldt`). */
export interface FalconAlert {
  agent_id: string;
  aggregate_id: string;
  cid: string;
  cmdline: string;
  composite_id: string;
  confidence: number;
  context_timestamp: string;
  crawled_timestamp: string;
  created_timestamp: string;
  data_domains: string[];
  description: string;
  device: {
    agent_version: string;
    cid: string;
    device_id: string;
    external_ip: string;
    hostname: string;
    local_ip: string;
    mac_address: string;
    machine_domain: string;
    os_version: string;
    platform_name: string;
    product_type_desc: string;
    status: string;
  };
  display_name: string;
  falcon_host_link: string;
  filename: string;
  filepath: string;
  id: string;
  indicator_id: string;
  local_process_id: string;
  md5: string;
  name: string;
  objective: string;
  parent_details: { cmdline: string; filename: string; filepath: string; local_process_id: string; md5: string; sha256: string; user_name: string };
  pattern_disposition: number;
  pattern_disposition_description: string;
  pattern_id: number;
  platform: string;
  product: string;
  scenario: string;
  severity: number;
  severity_name: SeverityName;
  sha1: string;
  sha256: string;
  show_in_ui: boolean;
  source_products: string[];
  source_vendors: string[];
  status: 'new' | 'in_progress' | 'closed' | 'reopened';
  tactic: string;
  tactic_id: string;
  technique: string;
  technique_id: string;
  timestamp: string;
  type: string;
  updated_timestamp: string;
  user_id: string;
  user_name: string;
}

interface Behavior {
  name: string;
  display_name: string;
  description: string;
  severity: number;
  tactic: [string, string];
  technique: [string, string];
  objective: string;
  scenario: string;
  pattern_id: number;
  filename: string;
  filepath: string;
  cmdline: string;
  disposition: [number, string];
}

const BEHAVIORS: Behavior[] = [
  { name: 'PrewittPupAdwareSensorDetect-Lowest', display_name: 'PupAdwareSensorDetectLowest', description: "This file meets the Adware/PUP Anti-malware ML algorithm's lowest-confidence threshold.", severity: 10, tactic: ['Machine Learning', 'CSTA0004'], technique: ['Adware/PUP', 'CST0000'], objective: 'Falcon Detection Method', scenario: 'NGAV', pattern_id: 5761, filename: 'installer-free.exe', filepath: '\\Device\\HarddiskVolume3\\Users\\ada\\Downloads\\installer-free.exe', cmdline: '"C:\\Users\\ada\\Downloads\\installer-free.exe"', disposition: [2176, 'Prevention/Quarantine, process was blocked from execution and quarantine was attempted.'] },
  { name: 'CredentialDumpingLsass', display_name: 'CredentialDumpingLsass', description: 'A process accessed LSASS memory in a way associated with credential theft.', severity: 90, tactic: ['Credential Access', 'TA0006'], technique: ['OS Credential Dumping', 'T1003'], objective: 'Gain Access', scenario: 'credential_theft', pattern_id: 10197, filename: 'procdump64.exe', filepath: '\\Device\\HarddiskVolume3\\Users\\Public\\procdump64.exe', cmdline: 'procdump64.exe -accepteula -ma lsass.exe lsass.dmp', disposition: [2048, 'Prevention, process killed.'] },
  { name: 'EncodedPowerShellDownloadCradle', display_name: 'PowerShellDownloadCradle', description: 'PowerShell ran an encoded command that downloads and runs a payload.', severity: 70, tactic: ['Execution', 'TA0002'], technique: ['PowerShell', 'T1059.001'], objective: 'Follow Through', scenario: 'suspicious_activity', pattern_id: 10336, filename: 'powershell.exe', filepath: '\\Device\\HarddiskVolume3\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', cmdline: 'powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA', disposition: [16, 'Detection, standard detection.'] },
  { name: 'RansomwareShadowCopyDelete', display_name: 'ShadowCopyDelete', description: 'A process deleted volume shadow copies, a step ransomware takes before encrypting.', severity: 100, tactic: ['Impact', 'TA0040'], technique: ['Inhibit System Recovery', 'T1490'], objective: 'Keep Access', scenario: 'ransomware', pattern_id: 10111, filename: 'vssadmin.exe', filepath: '\\Device\\HarddiskVolume3\\Windows\\System32\\vssadmin.exe', cmdline: 'vssadmin.exe delete shadows /all /quiet', disposition: [2048, 'Prevention, process killed.'] },
  { name: 'SuspiciousScheduledTask', display_name: 'SuspiciousScheduledTask', description: 'A scheduled task was created that runs a script from a user-writable directory.', severity: 50, tactic: ['Persistence', 'TA0003'], technique: ['Scheduled Task/Job', 'T1053'], objective: 'Keep Access', scenario: 'suspicious_activity', pattern_id: 10257, filename: 'schtasks.exe', filepath: '\\Device\\HarddiskVolume3\\Windows\\System32\\schtasks.exe', cmdline: 'schtasks.exe /create /sc minute /mo 5 /tn Updater /tr C:\\Users\\Public\\u.vbs', disposition: [16, 'Detection, standard detection.'] },
  { name: 'DiscoveryNetworkShares', display_name: 'NetworkShareDiscovery', description: 'A process enumerated network shares in a way common before lateral movement.', severity: 30, tactic: ['Discovery', 'TA0007'], technique: ['Network Share Discovery', 'T1135'], objective: 'Explore', scenario: 'suspicious_activity', pattern_id: 10412, filename: 'net.exe', filepath: '\\Device\\HarddiskVolume3\\Windows\\System32\\net.exe', cmdline: 'net.exe view \\\\fileserver /all', disposition: [16, 'Detection, standard detection.'] },
  { name: 'HighScoreMalwareML', display_name: 'MalwareMLHigh', description: "This file meets the machine learning-based on-sensor AV protection's high confidence threshold for malicious files.", severity: 79, tactic: ['Machine Learning', 'CSTA0004'], technique: ['Sensor-based ML', 'CST0007'], objective: 'Falcon Detection Method', scenario: 'NGAV', pattern_id: 5702, filename: 'invoice_0424.exe', filepath: '\\Device\\HarddiskVolume3\\Users\\grace\\AppData\\Local\\Temp\\invoice_0424.exe', cmdline: '"C:\\Users\\grace\\AppData\\Local\\Temp\\invoice_0424.exe"', disposition: [2176, 'Prevention/Quarantine, process was blocked from execution and quarantine was attempted.'] },
];

const HOSTS = [
  ['FIN-WKS-014', 'Windows 11', 'Windows', 'Workstation'],
  ['DC01', 'Windows Server 2022', 'Windows', 'Domain Controller'],
  ['WEB-PROD-02', 'Windows Server 2019', 'Windows', 'Server'],
  ['ENG-LT-077', 'Windows 10', 'Windows', 'Workstation'],
] as const;
const USERS = ['ada.lovelace', 'grace.hopper', 'alan.turing', 'svc_backup'];

/** Falcon's severity names by score: Informational < 20 <= Low < 40 <= Medium < 70 <= High < 90 <= Critical. */
export function severityName(score: number): SeverityName {
  if (score >= 90) return 'Critical';
  if (score >= 70) return 'High';
  if (score >= 40) return 'Medium';
  if (score >= 20) return 'Low';
  return 'Informational';
}

/** A timestamp with nanoseconds, as `created_timestamp` / `updated_timestamp` are written. */
function nanos(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

class Generator extends Random {
  alert(updatedMs: number): FalconAlert {
    const b = this.pick(BEHAVIORS);
    const [hostname, os, platform, productType] = this.pick(HOSTS);
    const user = this.pick(USERS);
    const deviceId = this.hex(32);
    const processId = String(390000000000 + this.int(10000000000));
    const indicator = `ind:${deviceId}:${processId}-${b.pattern_id}-${this.int(99999999)}`;
    const compositeId = `${CID}:${indicator}`;
    const eventMs = updatedMs - 60_000 - this.int(30_000);
    const createdMs = eventMs + 1_000 + this.int(5_000);
    const md5 = this.hex(32);
    const sha256 = this.hex(64);
    return {
      agent_id: deviceId,
      aggregate_id: `aggind:${deviceId}:${processId.slice(0, 10)}`,
      cid: CID,
      cmdline: b.cmdline,
      composite_id: compositeId,
      confidence: b.severity >= 70 ? 80 : 10 + this.int(50),
      context_timestamp: new Date(eventMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      crawled_timestamp: nanos(updatedMs),
      created_timestamp: nanos(createdMs),
      data_domains: ['Endpoint'],
      description: b.description,
      device: {
        agent_version: '7.15.18513.0',
        cid: CID,
        device_id: deviceId,
        external_ip: this.ipv4('81.2.69'),
        hostname,
        local_ip: this.ipv4('10.20'),
        mac_address: `64-d6-9a-${this.hex(2)}-${this.hex(2)}-${this.hex(2)}`,
        machine_domain: 'corp.example.com',
        os_version: os,
        platform_name: platform,
        product_type_desc: productType,
        status: 'normal',
      },
      display_name: b.display_name,
      falcon_host_link: `https://falcon.crowdstrike.com/activity-v2/detections/${compositeId}`,
      filename: b.filename,
      filepath: b.filepath,
      id: indicator,
      indicator_id: indicator,
      local_process_id: String(1000 + this.int(20000)),
      md5,
      name: b.name,
      objective: b.objective,
      parent_details: {
        cmdline: 'C:\\Windows\\Explorer.EXE',
        filename: 'explorer.exe',
        filepath: '\\Device\\HarddiskVolume3\\Windows\\explorer.exe',
        local_process_id: String(1000 + this.int(9000)),
        md5: this.hex(32),
        sha256: this.hex(64),
        user_name: user,
      },
      pattern_disposition: b.disposition[0],
      pattern_disposition_description: b.disposition[1],
      pattern_id: b.pattern_id,
      platform,
      product: 'epp',
      scenario: b.scenario,
      severity: b.severity,
      severity_name: severityName(b.severity),
      sha1: '0000000000000000000000000000000000000000',
      sha256,
      show_in_ui: true,
      source_products: ['Falcon Insight'],
      source_vendors: ['CrowdStrike'],
      status: 'new',
      tactic: b.tactic[0],
      tactic_id: b.tactic[1],
      technique: b.technique[0],
      technique_id: b.technique[1],
      timestamp: new Date(eventMs).toISOString(),
      type: 'ldt',
      updated_timestamp: nanos(updatedMs),
      user_id: `S-1-5-21-1909377054-3469629671-4104191496-${1000 + this.int(9000)}`,
      user_name: user,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The response envelope
// ---------------------------------------------------------------------------------------------

function meta(poweredBy: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { query_time: Math.round(Math.random() * 1e6) / 1e8 + 0.001, ...extra, powered_by: poweredBy, trace_id: randomUUID() };
}

function falconError(status: number, message: string, poweredBy = 'crowdstrike-api-gateway', headers: Record<string, string> = {}): ReplicaResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: { meta: meta(poweredBy), errors: [{ code: status, message }], resources: [] } };
}

/** The 429 of the API gateway (the suite injects it). */
export function falconRateLimitResponse(retryAfterSec: number): ReplicaResponse {
  return falconError(429, 'API rate limit exceeded.', 'crowdstrike-api-gateway', {
    'retry-after': String(retryAfterSec),
    'x-ratelimit-limit': String(RATE_LIMIT_PER_MINUTE),
    'x-ratelimit-remaining': '0',
    'x-ratelimit-retryafter': String(Math.ceil(Date.now() / 1000) + retryAfterSec),
  });
}

// ---------------------------------------------------------------------------------------------
// FQL
// ---------------------------------------------------------------------------------------------

class FqlError extends Error {}

type Pred = (a: FalconAlert) => boolean;

const TIME_FIELDS = new Set(['created_timestamp', 'updated_timestamp', 'timestamp', 'crawled_timestamp', 'context_timestamp']);

function fieldValue(a: FalconAlert, field: string): unknown {
  let v: unknown = a;
  for (const part of field.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** `now`, `now-7d`, `now-2h` and ISO 8601 instants, in ms. */
function fqlTime(value: string): number {
  const rel = /^now(?:([+-])(\d+)([smhdw]))?$/i.exec(value.trim());
  if (rel) {
    const unit = { s: 1000, m: 60_000, h: 3600_000, d: 86400_000, w: 604800_000 }[rel[3]?.toLowerCase() as 's'] ?? 0;
    return Date.now() + (rel[1] === '-' ? -1 : 1) * Number(rel[2] ?? 0) * unit;
  }
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) return Number.NaN;
  return Date.parse(value.trim());
}

export function parseFql(text: string): Pred {
  let pos = 0;
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const quoted = (): string => {
    const q = text[pos]!;
    pos++;
    let s = '';
    while (pos < text.length && text[pos] !== q) {
      if (text[pos] === '\\' && pos + 1 < text.length) pos++;
      s += text[pos++];
    }
    if (pos >= text.length) throw new FqlError('unterminated string');
    pos++;
    return s;
  };
  const scalar = (): { text: string; quoted: boolean } => {
    ws();
    if (text[pos] === "'" || text[pos] === '"') return { text: quoted(), quoted: true };
    const m = /^[^+,()\]\s]+/.exec(text.slice(pos));
    if (!m) throw new FqlError(`value expected at position ${pos}`);
    pos += m[0].length;
    return { text: m[0], quoted: false };
  };
  const or = (): Pred => {
    let left = and();
    ws();
    while (text[pos] === ',') {
      pos++;
      const l = left;
      const r = and();
      left = (a) => l(a) || r(a);
      ws();
    }
    return left;
  };
  const and = (): Pred => {
    let left = term();
    ws();
    while (text[pos] === '+') {
      pos++;
      const l = left;
      const r = term();
      left = (a) => l(a) && r(a);
      ws();
    }
    return left;
  };
  const term = (): Pred => {
    ws();
    if (text[pos] === '(') {
      pos++;
      const inner = or();
      ws();
      if (text[pos] !== ')') throw new FqlError(`')' expected at position ${pos}`);
      pos++;
      return inner;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(pos));
    if (!m) throw new FqlError(`field name expected at position ${pos}`);
    const field = m[0];
    pos += field.length;
    if (text[pos] !== ':') throw new FqlError(`':' expected after ${field}`);
    pos++;
    let negate = false;
    let op = '=';
    if (text[pos] === '!') {
      negate = true;
      pos++;
    }
    const cmp = /^(>=|<=|>|<|\*|~)/.exec(text.slice(pos));
    if (cmp) {
      op = cmp[1]!;
      pos += op.length;
    }
    ws();
    const values: Array<{ text: string; quoted: boolean }> = [];
    if (text[pos] === '[') {
      pos++;
      do {
        values.push(scalar());
        ws();
      } while (text[pos] === ',' && ++pos);
      if (text[pos] !== ']') throw new FqlError(`']' expected at position ${pos}`);
      pos++;
    } else values.push(scalar());
    const isTime = TIME_FIELDS.has(field) || field.endsWith('_timestamp');
    const tests = values.map((v) => {
      if (isTime) {
        const t = fqlTime(v.text);
        if (Number.isNaN(t)) throw new FqlError(`invalid time value '${v.text}' for ${field}`);
        return (x: unknown) => {
          const have = typeof x === 'string' ? Date.parse(x) : Number.NaN;
          if (Number.isNaN(have)) return false;
          return op === '>' ? have > t : op === '>=' ? have >= t : op === '<' ? have < t : op === '<=' ? have <= t : have === t;
        };
      }
      const want = v.text;
      const num = !v.quoted && /^-?\d+(\.\d+)?$/.test(want) ? Number(want) : null;
      return (x: unknown) => {
        if (x === undefined || x === null) return false;
        if (Array.isArray(x)) return x.some((e) => String(e).toLowerCase() === want.toLowerCase());
        if (op === '*' || want.includes('*')) {
          const re = new RegExp(`^${want.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
          return re.test(String(x));
        }
        if (op === '~') return String(x).toLowerCase().includes(want.toLowerCase());
        if (num !== null && typeof x === 'number') {
          return op === '>' ? x > num : op === '>=' ? x >= num : op === '<' ? x < num : op === '<=' ? x <= num : x === num;
        }
        if (op !== '=') return op === '>' ? String(x) > want : op === '>=' ? String(x) >= want : op === '<' ? String(x) < want : String(x) <= want;
        return String(x).toLowerCase() === want.toLowerCase();
      };
    });
    return (a) => {
      const hit = tests.some((t) => t(fieldValue(a, field)));
      return negate ? !hit : hit;
    };
  };
  if (text.trim() === '' || text.trim() === '*') return () => true;
  const pred = or();
  ws();
  if (pos !== text.length) throw new FqlError(`unexpected '${text[pos]}' at position ${pos}`);
  return pred;
}

// ---------------------------------------------------------------------------------------------
// `after` tokens: base64 JSON holding the sort values of the last alert returned
// ---------------------------------------------------------------------------------------------

interface AfterToken {
  version: 'v1';
  total_hits: number;
  total_relation: 'eq';
  sort: string;
  after: [number | string, string];
  total_fetched: number;
}

function sortKey(a: FalconAlert, field: string): number | string {
  const v = fieldValue(a, field);
  if (TIME_FIELDS.has(field) && typeof v === 'string') return Date.parse(v);
  return typeof v === 'number' ? v : String(v ?? '');
}

function compareKeys(x: [number | string, string], y: [number | string, string]): number {
  if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
  return x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The replica
// ---------------------------------------------------------------------------------------------

export async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const server = new ReplicaServer(PROVIDER, falconRateLimitResponse);
  const gen = new Generator(0xfa1c);
  // Oldest first, every one inside the first sync's default window (24 h), the newest ten minutes ago.
  const alerts = recentInstants(options.items ?? 25, options.now ?? Date.now(), 60).map((at) => gen.alert(at));
  const tokens = new Map<string, number>();
  const quota = minuteQuota(RATE_LIMIT_PER_MINUTE);

  function rateHeaders(): Record<string, string> {
    const { remaining } = quota();
    return {
      'x-cs-region': 'us-1',
      'x-cs-traceid': randomUUID(),
      'x-ratelimit-limit': String(RATE_LIMIT_PER_MINUTE),
      'x-ratelimit-remaining': String(remaining),
    };
  }

  server.route('POST', '/oauth2/token', (req) => {
    let id = req.form?.get('client_id') ?? null;
    let secret = req.form?.get('client_secret') ?? null;
    const basic = basicCredentials(req.headers);
    if (basic !== null && (id === null || secret === null)) {
      const colon = basic.indexOf(':');
      if (colon > 0) {
        id = decodeURIComponent(basic.slice(0, colon));
        secret = decodeURIComponent(basic.slice(colon + 1));
      }
    }
    if (!id || !secret) return falconError(400, `Failed to generate access token for clientID=${id ?? ''}.`, 'csam', rateHeaders());
    if (id !== CLIENT_ID || secret !== CLIENT_SECRET) return falconError(403, 'Failed to issue access token - Client authentication failed', 'csam', rateHeaders());
    const token = randomBytes(48).toString('base64url');
    tokens.set(token, Date.now() + TOKEN_TTL_SEC * 1000);
    return { status: 201, headers: { 'content-type': 'application/json', ...rateHeaders() }, body: { access_token: token, token_type: 'bearer', expires_in: TOKEN_TTL_SEC } };
  });

  async function authorized(req: ReplicaRequest): Promise<ReplicaResponse | null> {
    const token = authToken(req.headers, 'Bearer');
    if (token !== null) {
      const expires = tokens.get(token);
      if (expires !== undefined && expires > Date.now()) return null;
      if (await hasValidBearer(req.headers, options.verifyBearer)) return null;
    }
    return falconError(401, 'access denied, invalid bearer token', 'crowdstrike-api-gateway', rateHeaders());
  }

  server.route('POST', '/alerts/combined/alerts/v1', async (req) => {
    const denied = await authorized(req);
    if (denied) return denied;
    const rate = rateHeaders();
    const body = (req.json && typeof req.json === 'object' && !Array.isArray(req.json) ? req.json : {}) as Record<string, unknown>;
    const bad = (message: string) => ({ ...falconError(400, message, 'detectsapi'), headers: { 'content-type': 'application/json', ...rate } });
    const limit = body.limit === undefined ? DEFAULT_LIMIT : Number(body.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return bad(`limit must be between 1 and ${MAX_LIMIT}`);
    const sort = typeof body.sort === 'string' && body.sort ? body.sort : 'created_timestamp|desc';
    const sm = /^([A-Za-z_][A-Za-z0-9_.]*)(?:[|.](asc|desc))?$/i.exec(sort);
    if (!sm) return bad(`invalid sort parameter: ${sort}`);
    const sortField = sm[1]!;
    const desc = (sm[2] ?? 'asc').toLowerCase() === 'desc';
    let pred: Pred;
    try {
      pred = parseFql(typeof body.filter === 'string' ? body.filter : '');
    } catch (e) {
      if (e instanceof FqlError) return bad(`Invalid filter: ${e.message}`);
      throw e;
    }
    const includeHidden = req.query.get('include_hidden') !== 'false';
    const matching = alerts
      .filter((a) => (includeHidden || a.show_in_ui) && pred(a))
      .map((a) => ({ a, key: [sortKey(a, sortField), a.composite_id] as [number | string, string] }))
      .sort((x, y) => (desc ? -compareKeys(x.key, y.key) : compareKeys(x.key, y.key)));
    let after: AfterToken | null = null;
    if (typeof body.after === 'string' && body.after !== '') {
      try {
        after = JSON.parse(Buffer.from(body.after, 'base64').toString('utf8')) as AfterToken;
      } catch {
        after = null;
      }
      if (!after || after.version !== 'v1' || !Array.isArray(after.after)) return bad('invalid after token');
      if (after.sort !== `${sortField}|${desc ? 'desc' : 'asc'}`) return bad('the after token does not belong to this sort order: start again without after');
    }
    const rest = after ? matching.filter((m) => (desc ? compareKeys(m.key, after!.after) < 0 : compareKeys(m.key, after!.after) > 0)) : matching;
    const page = rest.slice(0, limit);
    const fetched = (after?.total_fetched ?? 0) + page.length;
    const pagination: Record<string, unknown> = { total: matching.length, limit };
    if (rest.length > page.length) {
      const last = page[page.length - 1]!;
      const token: AfterToken = { version: 'v1', total_hits: matching.length, total_relation: 'eq', sort: `${sortField}|${desc ? 'desc' : 'asc'}`, after: last.key, total_fetched: fetched };
      pagination.after = Buffer.from(JSON.stringify(token), 'utf8').toString('base64');
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/json', ...rate },
      body: { meta: meta('detectsapi', { pagination }), resources: page.map((m) => structuredClone(m.a)), errors: [] },
    };
  });

  return serve(server, {
    authType: 'OAUTH2_CLIENT_CREDENTIALS',
    credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    wrongCredentials: { clientId: CLIENT_ID, clientSecret: 'revoked-secret-0000000000000000000000' },
    config: () => ({ pageSize: 10, tokenAuthMethod: 'client_secret_post' }),
    oauthConfig: () => ({ pageSize: 10 }),
    addItems: (n) => appendEachSecond(alerts, n, (a) => Date.parse(a.updated_timestamp), Date.now() - 600_000, (_, at) => gen.alert(at)),
    items: () => alerts.map((a) => structuredClone(a)),
  });
}

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const a = item as FalconAlert;
    return {
      kind: 'event',
      vendor: 'CrowdStrike',
      product: 'Falcon',
      eventId: a.composite_id,
      name: a.display_name,
      // Falcon scores alerts 1–100; the normalized scale is 0–10.
      severity: a.severity / 10,
      timestamp: new Date(a.created_timestamp).toISOString(),
      src: a.device.local_ip,
      user: a.user_name,
    };
  },
  authRemediation: /API clients and keys/,
};
