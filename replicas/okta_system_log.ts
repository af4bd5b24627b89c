/**
 * Okta System Log API replica (`GET /api/v1/logs`), after Okta's documentation:
 *
 * - System Log API reference: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/SystemLog/
 * - System Log query (request types, Link headers, errors): https://developer.okta.com/docs/reference/system-log-query/
 * - Error codes (E0000011, E0000047): https://developer.okta.com/docs/reference/error-codes/
 * - Rate limits and headers: https://developer.okta.com/docs/reference/rl-global-mgmt/ and
 *   https://developer.okta.com/docs/reference/rl-best-practices/
 *
 * Auth: `Authorization: SSWS <api token>` (Admin Console > Security > API > Tokens) or, with
 * `verifyBearer`, `Authorization: Bearer <access token>` (a service app granted `okta.logs.read`).
 * A refused credential is `401` with the E0000011 error object.
 *
 * Paging: `limit` (0–1000, default 100) and an RFC 8288 `link` header carrying `rel="self"` and,
 * when there is more, `rel="next"` with an opaque `after` cursor. Bounded requests (`since` and
 * `until`) filter on `published`, come in order and have a last page without a next link; polling
 * requests (no `until`, `sortOrder=ASCENDING`) always carry a next link, even on an empty page.
 *
 * Every answer carries `X-Rate-Limit-Limit` / `-Remaining` / `-Reset`; an injected 429 answers with
 * Okta's E0000047 body and those headers at zero.
 */
import { randomUUID } from 'node:crypto';
import { Random, ReplicaServer, appendEachSecond, authToken, hasValidBearer, minuteQuota, recentInstants, serve } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

export const PROVIDER = 'okta_system_log';

const API_TOKEN = '00okta-replica-api-token-0123456789abcdefAB';
const WRONG_TOKEN = '00okta-replica-revoked-token-9876543210zyxw';
/** Okta's org-wide limit for `/api/v1/logs` (requests per minute; Enterprise / One App tier). */
const LOGS_LIMIT_PER_MINUTE = 50;
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

type Severity = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** A LogEvent, shaped like the documented example object. */
export interface OktaLogEvent {
  uuid: string;
  published: string;
  eventType: string;
  version: string;
  severity: Severity;
  legacyEventType: string | null;
  displayMessage: string;
  actor: { id: string; type: string; alternateId: string; displayName: string; detailEntry: null };
  client: {
    userAgent: { rawUserAgent: string; os: string; browser: string };
    zone: string;
    device: string;
    id: null;
    ipAddress: string;
    geographicalContext: {
      city: string;
      state: string;
      country: string;
      postalCode: string;
      geolocation: { lat: number; lon: number };
    };
  };
  device: null;
  authenticationContext: {
    authenticationProvider: string | null;
    credentialProvider: string | null;
    credentialType: string | null;
    issuer: null;
    interface: null;
    authenticationStep: number;
    rootSessionId: string;
    externalSessionId: string;
  };
  securityContext: { asNumber: number; asOrg: string; isp: string; domain: string; isProxy: boolean };
  outcome: { result: string; reason: string | null };
  transaction: { type: string; id: string; detail: Record<string, never> };
  debugContext: { debugData: Record<string, string> };
  request: { ipChain: Array<{ ip: string; version: string; source: null }> };
  target: Array<{ id: string; type: string; alternateId: string; displayName: string; detailEntry: null }>;
}

interface Template {
  eventType: string;
  legacyEventType: string | null;
  displayMessage: string;
  severity: Severity;
  outcome: [string, string | null];
  requestUri: string;
  transactionType: string;
}

const TEMPLATES: Template[] = [
  { eventType: 'user.session.start', legacyEventType: 'core.user_auth.login_success', displayMessage: 'User login to Okta', severity: 'INFO', outcome: ['SUCCESS', null], requestUri: '/idp/idx/identify', transactionType: 'WEB' },
  { eventType: 'user.session.start', legacyEventType: 'core.user_auth.login_failed', displayMessage: 'User login to Okta', severity: 'WARN', outcome: ['FAILURE', 'INVALID_CREDENTIALS'], requestUri: '/idp/idx/challenge/answer', transactionType: 'WEB' },
  { eventType: 'user.authentication.sso', legacyEventType: 'app.auth.sso', displayMessage: 'User single sign on to app', severity: 'INFO', outcome: ['SUCCESS', null], requestUri: '/app/salesforce/exk1fcia6d6EMsf331d8/sso/saml', transactionType: 'WEB' },
  { eventType: 'user.account.lock', legacyEventType: 'core.user_auth.account_locked', displayMessage: 'Max sign in attempts exceeded', severity: 'WARN', outcome: ['FAILURE', 'LOCKED_OUT'], requestUri: '/idp/idx/challenge/answer', transactionType: 'WEB' },
  { eventType: 'policy.evaluate_sign_on', legacyEventType: null, displayMessage: 'Evaluation of sign-on policy', severity: 'INFO', outcome: ['ALLOW', 'Sign-on policy evaluation resulted in ALLOW'], requestUri: '/idp/idx/introspect', transactionType: 'WEB' },
  { eventType: 'system.api_token.create', legacyEventType: 'api.token.create', displayMessage: 'Create API token', severity: 'INFO', outcome: ['SUCCESS', null], requestUri: '/api/internal/tokens', transactionType: 'WEB' },
  { eventType: 'security.threat.detected', legacyEventType: 'security.threat.detected', displayMessage: 'Request from suspicious actor', severity: 'WARN', outcome: ['DENY', 'Password Spray'], requestUri: '/api/v1/authn', transactionType: 'WEB' },
  { eventType: 'app.oauth2.as.token.grant.access_token', legacyEventType: null, displayMessage: 'OAuth2 access token is granted', severity: 'INFO', outcome: ['SUCCESS', null], requestUri: '/oauth2/v1/token', transactionType: 'WEB' },
  { eventType: 'system.org.rate_limit.warning', legacyEventType: 'core.framework.ratelimit.warning', displayMessage: 'Rate limit warning', severity: 'WARN', outcome: ['SUCCESS', null], requestUri: '/api/v1/users', transactionType: 'WEB' },
  { eventType: 'system.import.user.error', legacyEventType: null, displayMessage: 'Import of user failed', severity: 'ERROR', outcome: ['FAILURE', 'Attribute validation error'], requestUri: '/api/v1/apps/0oa1fcia6d6EMsf331d8/imports', transactionType: 'JOB' },
  { eventType: 'user.lifecycle.update', legacyEventType: 'core.user.config.user_status.change', displayMessage: 'Update user profile for Okta', severity: 'INFO', outcome: ['SUCCESS', null], requestUri: '/api/v1/users/00u1qw1mqitPHM8AJ0g7', transactionType: 'WEB' },
  { eventType: 'system.agent.ad.read_ldap', legacyEventType: null, displayMessage: 'Read LDAP attributes', severity: 'DEBUG', outcome: ['SUCCESS', null], requestUri: '/api/internal/v1/agents', transactionType: 'JOB' },
];

const PEOPLE = [
  ['Ada Lovelace', 'ada.lovelace'],
  ['Grace Hopper', 'grace.hopper'],
  ['Alan Turing', 'alan.turing'],
  ['Katherine Johnson', 'katherine.johnson'],
  ['Edsger Dijkstra', 'edsger.dijkstra'],
  ['Barbara Liskov', 'barbara.liskov'],
] as const;

const PLACES = [
  { city: 'San Francisco', state: 'California', country: 'United States', postalCode: '94107', lat: 37.7697, lon: -122.3933 },
  { city: 'Dublin', state: 'Leinster', country: 'Ireland', postalCode: 'D02', lat: 53.3498, lon: -6.2603 },
  { city: 'Toronto', state: 'Ontario', country: 'Canada', postalCode: 'M5H', lat: 43.6532, lon: -79.3832 },
  { city: 'Sydney', state: 'New South Wales', country: 'Australia', postalCode: '2000', lat: -33.8688, lon: 151.2093 },
];

const AGENTS = [
  { rawUserAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15', os: 'Mac OS X', browser: 'SAFARI' },
  { rawUserAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', os: 'Windows 10', browser: 'CHROME' },
  { rawUserAgent: 'okta-sdk-java/10.2.0 java/17.0.8 Linux/5.15.0', os: 'Linux', browser: 'UNKNOWN' },
];

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Okta's severity on the 0–10 scale of normalized events: DEBUG 1, INFO 3, WARN 6, ERROR 8. */
export const SEVERITY_SCALE: Record<Severity, number> = { DEBUG: 1, INFO: 3, WARN: 6, ERROR: 8 };

class Generator extends Random {
  event(publishedMs: number): OktaLogEvent {
    const t = this.pick(TEMPLATES);
    const [displayName, login] = this.pick(PEOPLE);
    const place = this.pick(PLACES);
    const agent = this.pick(AGENTS);
    const ip = this.ipv4([198, 203, 185, 100]);
    const userId = `00u${this.chars(17, ALNUM)}`;
    const session = `102${this.chars(22, ALNUM)}`;
    return {
      uuid: this.uuid(),
      published: new Date(publishedMs).toISOString(),
      eventType: t.eventType,
      version: '0',
      severity: t.severity,
      legacyEventType: t.legacyEventType,
      displayMessage: t.displayMessage,
      actor: { id: userId, type: 'User', alternateId: `${login}@example.com`, displayName, detailEntry: null },
      client: {
        userAgent: agent,
        zone: 'null',
        device: agent.browser === 'UNKNOWN' ? 'Unknown' : 'Computer',
        id: null,
        ipAddress: ip,
        geographicalContext: {
          city: place.city,
          state: place.state,
          country: place.country,
          postalCode: place.postalCode,
          geolocation: { lat: place.lat, lon: place.lon },
        },
      },
      device: null,
      authenticationContext: {
        authenticationProvider: t.eventType.startsWith('user.') ? 'OKTA_AUTHENTICATION_PROVIDER' : null,
        credentialProvider: t.eventType.startsWith('user.') ? 'OKTA_CREDENTIAL_PROVIDER' : null,
        credentialType: t.eventType.startsWith('user.') ? 'PASSWORD' : null,
        issuer: null,
        interface: null,
        authenticationStep: 0,
        rootSessionId: session,
        externalSessionId: session,
      },
      securityContext: { asNumber: 7922 + this.int(1000), asOrg: 'example networks', isp: 'example isp', domain: 'example.net', isProxy: false },
      outcome: { result: t.outcome[0], reason: t.outcome[1] },
      transaction: { type: t.transactionType, id: this.chars(27, ALNUM), detail: {} },
      debugContext: { debugData: { requestId: this.chars(27, ALNUM), requestUri: t.requestUri, url: `${t.requestUri}?` } },
      request: { ipChain: [{ ip, version: 'V4', source: null }] },
      target: [{ id: userId, type: 'User', alternateId: `${login}@example.com`, displayName, detailEntry: null }],
    };
  }
}

/** The Okta error object (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`). */
function oktaError(status: number, code: string, summary: string, causes: string[] = [], headers: Record<string, string> = {}): ReplicaResponse {
  return {
    status,
    headers,
    body: {
      errorCode: code,
      errorSummary: summary,
      errorLink: code,
      errorId: `oae${randomUUID().replace(/-/g, '').slice(0, 22)}`,
      errorCauses: causes.map((errorSummary) => ({ errorSummary })),
    },
  };
}

/** Okta's E0000047 answer (the suite injects it through `server.rateLimitNext`). */
export function oktaRateLimitResponse(retryAfterSec: number): ReplicaResponse {
  const reset = Math.ceil(Date.now() / 1000) + retryAfterSec;
  return oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.', [], {
    'x-rate-limit-limit': String(LOGS_LIMIT_PER_MINUTE),
    'x-rate-limit-remaining': '0',
    'x-rate-limit-reset': String(reset),
  });
}

/**
 * The part of Okta's SCIM filter syntax the replica understands: `attr op "value"` (op: eq, ne,
 * sw, co, ew) or `attr pr`, joined by `and`. Anything else is refused like Okta refuses a bad
 * filter (E0000053). An empty filter matches every event.
 */
function compileFilter(text: string): ((e: OktaLogEvent) => boolean) | string {
  const source = text.trim();
  if (!source) return () => true;
  const clauses = source.split(/\s+and\s+/i);
  const tests: Array<(e: OktaLogEvent) => boolean> = [];
  for (const clause of clauses) {
    const m = /^([A-Za-z][\w.]*)\s+(eq|ne|sw|co|ew|pr)(?:\s+"((?:[^"\\]|\\.)*)")?$/i.exec(clause.trim());
    if (!m || (m[2]!.toLowerCase() !== 'pr' && m[3] === undefined)) {
      return `Invalid filter '${source}': Unrecognized expression '${clause.trim()}'. Expected: eq,co,sw,pr,gt,ge,lt,le`;
    }
    const path = m[1]!.split('.');
    const op = m[2]!.toLowerCase();
    const want = (m[3] ?? '').replace(/\\(.)/g, '$1');
    const values = (e: OktaLogEvent): string[] => {
      let current: unknown[] = [e];
      for (const key of path) {
        current = current.flatMap((v) => (Array.isArray(v) ? v : [v])).map((v) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined));
      }
      return current.flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v) => v !== undefined && v !== null).map(String);
    };
    tests.push((e) => {
      const vs = values(e);
      switch (op) {
        case 'pr':
          return vs.length > 0;
        case 'eq':
          return vs.some((v) => v === want);
        case 'ne':
          return !vs.some((v) => v === want);
        case 'sw':
          return vs.some((v) => v.startsWith(want));
        case 'ew':
          return vs.some((v) => v.endsWith(want));
        default:
          return vs.some((v) => v.includes(want));
      }
    });
  }
  return (e) => tests.every((t) => t(e));
}

function parseTime(value: string | null): number | null | 'invalid' {
  if (value === null || value === '') return null;
  // ISO 8601 with a zone (Okta rejects anything else with E0000001).
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/.test(value)) return 'invalid';
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? 'invalid' : ms;
}

/** The opaque `after` cursor: the position just past the last event of the previous page. */
function encodeAfter(publishedMs: number, uuid: string): string {
  return Buffer.from(`${publishedMs}_${uuid}`, 'utf8').toString('base64url');
}
function decodeAfter(value: string): { ms: number; uuid: string } | null {
  const text = Buffer.from(value, 'base64url').toString('utf8');
  const m = /^(\d+)_([0-9a-f-]{36})$/.exec(text);
  return m ? { ms: Number(m[1]), uuid: m[2]! } : null;
}

function compare(a: OktaLogEvent, b: { ms: number; uuid: string }): number {
  const am = Date.parse(a.published);
  return am !== b.ms ? am - b.ms : a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}

export async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const server = new ReplicaServer(PROVIDER, oktaRateLimitResponse);
  const gen = new Generator(0x0c7a);
  // Oldest first, all inside the default first-sync window (24 h), the newest ten minutes ago.
  const events = recentInstants(options.items ?? 25, options.now ?? Date.now(), 60).map((at) => gen.event(at));
  const quota = minuteQuota(LOGS_LIMIT_PER_MINUTE);

  function rateHeaders(): Record<string, string> {
    const { remaining, resetSec } = quota();
    return {
      'x-rate-limit-limit': String(LOGS_LIMIT_PER_MINUTE),
      'x-rate-limit-remaining': String(remaining),
      'x-rate-limit-reset': String(resetSec),
    };
  }

  async function authorized(req: ReplicaRequest): Promise<ReplicaResponse | null> {
    const ssws = authToken(req.headers, 'SSWS');
    if (ssws !== null && ssws === API_TOKEN) return null;
    if (await hasValidBearer(req.headers, options.verifyBearer)) return null;
    const headers: Record<string, string> = {};
    if (authToken(req.headers, 'Bearer') !== null) {
      headers['www-authenticate'] =
        `Bearer authorization_uri="${server.url}/oauth2/v1/authorize", realm="${server.url}", scope="okta.logs.read", error="invalid_token", error_description="The token is not valid.", resource="/api/v1/logs"`;
    }
    return oktaError(401, 'E0000011', 'Invalid token provided', [], headers);
  }

  server.route('GET', '/api/v1/logs', async (req) => {
    const denied = await authorized(req);
    if (denied) return denied;
    const rate = rateHeaders();
    const q = req.query;
    const sinceRaw = q.get('since');
    const untilRaw = q.get('until');
    const since = parseTime(sinceRaw);
    const until = parseTime(untilRaw);
    const causes: string[] = [];
    if (since === 'invalid') causes.push('since: The date format in your query is not recognized. Please enter dates using ISO8601 string format.');
    if (until === 'invalid') causes.push('until: The date format in your query is not recognized. Please enter dates using ISO8601 string format.');
    const limitRaw = q.get('limit');
    const limit = limitRaw === null || limitRaw === '' ? DEFAULT_LIMIT : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) causes.push(`limit: must be an integer between 0 and ${MAX_LIMIT}.`);
    const sortOrder = (q.get('sortOrder') ?? 'ASCENDING').toUpperCase();
    if (sortOrder !== 'ASCENDING' && sortOrder !== 'DESCENDING') causes.push('sortOrder: must be ASCENDING or DESCENDING.');
    const afterRaw = q.get('after');
    const after = afterRaw ? decodeAfter(afterRaw) : null;
    if (afterRaw && !after) causes.push('after: The cursor is not valid.');
    if (causes.length) {
      const summary = `Api validation failed: ${causes.map((c) => `'${c.split(':')[0]}': ${c.slice(c.indexOf(':') + 2)}`).join(' ')}`;
      return { ...oktaError(400, 'E0000001', summary, causes), headers: rate };
    }
    const filter = compileFilter(q.get('filter') ?? '');
    if (typeof filter === 'string') return { ...oktaError(400, 'E0000053', filter), headers: rate };
    const sinceMs = typeof since === 'number' ? since : null;
    const untilMs = typeof until === 'number' ? until : null;
    const now = Date.now();
    if (sinceMs !== null && sinceMs < now - 180 * 86400_000) {
      return { ...oktaError(400, 'E0000053', 'Invalid parameter: The since parameter is over 180 days prior to the current day.'), headers: rate };
    }
    const polling = untilMs === null && sortOrder === 'ASCENDING';
    // Defaults: until = now; since = 7 days before until.
    const upper = untilMs ?? now;
    const lower = sinceMs ?? upper - 7 * 86400_000;
    let matching = events.filter((e) => {
      const ms = Date.parse(e.published);
      return ms >= lower && ms < upper && filter(e);
    });
    if (sortOrder === 'DESCENDING') matching = matching.slice().reverse();
    if (after) {
      matching = matching.filter((e) => (sortOrder === 'ASCENDING' ? compare(e, after) > 0 : compare(e, after) < 0));
    }
    const page = matching.slice(0, limit);
    const more = matching.length > page.length;

    const self = server.urlOf(req);
    const links = [`<${self.toString()}>; rel="self"`];
    const last = page[page.length - 1];
    if (more || polling) {
      const next = server.urlOf(req, 'after');
      if (!next.searchParams.has('limit')) next.searchParams.set('limit', String(limit));
      if (!next.searchParams.has('sortOrder')) next.searchParams.set('sortOrder', sortOrder);
      const position = last ? encodeAfter(Date.parse(last.published), last.uuid) : afterRaw ?? encodeAfter(polling ? now : lower, '00000000-0000-4000-8000-000000000000');
      next.searchParams.set('after', position);
      links.push(`<${next.toString()}>; rel="next"`);
    }
    return { status: 200, headers: { ...rate, link: links.join(', '), 'content-type': 'application/json' }, body: page };
  });

  return serve(server, {
    authType: 'API_KEY',
    credentials: { apiToken: API_TOKEN },
    wrongCredentials: { apiToken: WRONG_TOKEN },
    config: () => ({ pageSize: 10 }),
    addItems: (n) => appendEachSecond(events, n, (e) => Date.parse(e.published), Date.now() - 600_000, (_, at) => gen.event(at)),
    items: () => events.map((e) => structuredClone(e)),
  });
}

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const e = item as OktaLogEvent;
    return {
      kind: 'event',
      vendor: 'Okta',
      product: 'System Log',
      eventId: e.uuid,
      name: e.eventType,
      severity: SEVERITY_SCALE[e.severity],
      timestamp: new Date(e.published).toISOString(),
      src: e.client.ipAddress,
      user: e.actor.alternateId,
    };
  },
  authRemediation: /Security > API > Tokens/,
};
