/**
 * A TAXII 2.1 server, written from the OASIS specification "TAXII Version 2.1" (Committee
 * Specification 01 / OASIS Standard, https://docs.oasis-open.org/cti/taxii/v2.1/os/taxii-v2.1-os.html).
 * It serves the `taxii21` provider's tests and `npm run replicas`. What it follows, by section:
 *
 * - §1.6.8 Media types: every response is `application/taxii+json;version=2.1`; a request whose
 *   Accept does not admit it (`application/taxii+json;version=2.1`, or `application/taxii+json`
 *   without a version, meaning the newest) is answered 406 Not Acceptable. A POST must send that
 *   Content-Type (415 otherwise).
 * - §3.6.1 Error message: every error answer is an error message resource
 *   `{ title, description, error_id, error_code, http_status, external_details, details }`
 *   (`http_status` a string, as the spec's example writes it).
 * - §3.6 / HTTP: 401 (no or wrong credentials, with `WWW-Authenticate`), 403 (authenticated, but no
 *   access to the collection), 404 (no such API root or collection), 429 with `Retry-After` (via
 *   `rateLimitNext`).
 * - §4.1 Server discovery (`GET /taxii2/`): title, description, contact, default, api_roots.
 * - §4.2 API root information (`GET /{api-root}/`): title, description, versions, max_content_length.
 * - §4.3 Status (`GET /{api-root}/status/{id}/`) of an Add Objects request.
 * - §5.1 Get collections, §5.2 get a collection: id, title, description, alias, can_read,
 *   can_write, media_types (what the account may do).
 * - §5.3 Get objects (`GET /{api-root}/collections/{id}/objects/`): URL parameters `added_after`
 *   (only objects added strictly after it; an RFC 3339 timestamp in UTC with `Z`, any fraction,
 *   400 otherwise), `limit` (the server may answer fewer: at most `maxPageSize`), `next`,
 *   `match[id]`, `match[type]`, `match[version]` (`last` by default, `first`, `all` or
 *   timestamps), `match[spec_version]`. The answer is an envelope `{ more, next, objects }`, sorted
 *   by date added, with `X-TAXII-Date-Added-First` / `X-TAXII-Date-Added-Last` (microseconds). A
 *   `next` token belongs to the query it came from: it must come back with the same filters (400
 *   otherwise) and it expires (`nextTtlMs`, or `expireNextTokens()`): an unknown or expired one is
 *   answered `nextExpiredStatus` (400, or 404).
 * - §5.4 Add objects (`POST .../objects/`): an envelope; needs `can_write`; answers 202 with a
 *   status resource.
 *
 * Accounts: HTTP Basic (`analyst`, reads every collection but one; `publisher` also writes), an API
 * key in a configurable header (`apiKeyHeader`, default `X-API-Key`), or an OAuth 2.0 bearer token
 * the `verifyBearer` hook approves. API roots: `api1` (the default) and `trustgroup1`.
 */
import { Random, ReplicaServer, basicCredentials, hasValidBearer, serve } from './base.js';
import type { BearerVerifier, ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

export const PROVIDER = 'taxii21';
export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';

export const ANALYST = { username: 'analyst', password: 'Rpl1ca-taxii-analyst-pw' };
export const PUBLISHER = { username: 'publisher', password: 'Rpl1ca-taxii-publisher-pw' };
export const WRONG_PASSWORD = { username: 'analyst', password: 'wrong-taxii-password' };
export const API_KEY = 'Rpl1caTaxiiApiKey0123456789abcdef';

/** The collections of `api1` (ids from the spec's §5.1 example) and `trustgroup1`. */
export const COLLECTIONS = {
  indicators: '91a7b528-80eb-42ed-a74d-c6fbd5a26116',
  recent: '52892447-4d7e-4f70-b94d-d7f22742ff63',
  restricted: '64993447-4d7e-4f70-b94d-d7f33742ee63',
  partners: 'b1a5c1d6-6f1f-4f5e-9c44-2d5e7c3a9f10',
} as const;

export interface TaxiiServerOptions extends ReplicaOptions {
  /** Header the API key is read from (default `X-API-Key`). */
  apiKeyHeader?: string;
  /** The most objects one page holds, whatever `limit` asks (default 100). */
  maxPageSize?: number;
  /** How long a `next` token lives (default 10 min). */
  nextTtlMs?: number;
  /** The status of an unknown or expired `next` (default 400). */
  nextExpiredStatus?: 400 | 404;
}

export interface StoredObject {
  object: Record<string, unknown> & { id: string; type: string };
  /** Date added, microseconds since the epoch. */
  addedMicros: number;
}

interface Collection {
  id: string;
  title: string;
  description: string;
  alias?: string;
  /** Accounts that may read / write; `*` any authenticated account. */
  readers: Set<string>;
  writers: Set<string>;
  objects: StoredObject[];
}

interface ApiRoot {
  title: string;
  description: string;
  collections: Map<string, Collection>;
  statuses: Map<string, Record<string, unknown>>;
}

interface NextToken {
  root: string;
  collection: string;
  /** The query's filters (every parameter but `next`), canonical. */
  query: string;
  offset: number;
  expiresAt: number;
}

/** Microseconds since the epoch as RFC 3339 UTC with six fraction digits. */
export function microsToTimestamp(micros: number): string {
  const ms = Math.floor(micros / 1000);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(micros % 1_000_000).padStart(6, '0')}Z`;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/** An RFC 3339 UTC timestamp (`Z`) as microseconds, or null (fractions beyond 6 digits are floored). */
export function timestampToMicros(value: string): number | null {
  const m = TIMESTAMP.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = ''] = m;
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!);
  const check = new Date(ms);
  if (check.getUTCMonth() !== +mo! - 1 || check.getUTCDate() !== +d! || +h! > 23 || +mi! > 59 || +s! > 59) return null;
  return ms * 1000 + Number((frac + '000000').slice(0, 6));
}

/** §3.6.1 error message resource. */
export function taxiiError(status: number, title: string, description?: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): ReplicaResponse {
  return {
    status,
    headers: { 'content-type': TAXII_MEDIA_TYPE, ...headers },
    body: { title, ...(description ? { description } : {}), http_status: String(status), ...extra },
  };
}

function ok(body: unknown, status = 200, headers: Record<string, string> = {}): ReplicaResponse {
  return { status, headers: { 'content-type': TAXII_MEDIA_TYPE, ...headers }, body };
}

/** Whether an Accept header admits TAXII 2.1 (§1.6.8). */
export function acceptsTaxii21(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (type !== 'application/taxii+json') return false;
    const version = params.find((p) => p.startsWith('version='));
    return version === undefined || version === 'version=2.1';
  });
}

/** A deterministic sample of STIX 2.1 objects: indicators of every common pattern shape, and SDOs/SROs around them. */
export function sampleObjects(count: number, seed = 2024, baseMs = Date.UTC(2024, 0, 15, 8, 0, 0)): Array<Record<string, unknown> & { id: string; type: string }> {
  const rnd = new Random(seed);
  const ts = (ms: number) => new Date(ms).toISOString();
  const identity = { type: 'identity', spec_version: '2.1', id: `identity--${rnd.uuid()}`, created: ts(baseMs), modified: ts(baseMs), name: 'Replica CTI Team', identity_class: 'organization' };
  const malware = { type: 'malware', spec_version: '2.1', id: `malware--${rnd.uuid()}`, created: ts(baseMs), modified: ts(baseMs), name: 'Poison Ivy', is_family: true, malware_types: ['remote-access-trojan'], created_by_ref: identity.id };
  const actor = { type: 'threat-actor', spec_version: '2.1', id: `threat-actor--${rnd.uuid()}`, created: ts(baseMs), modified: ts(baseMs), name: 'Evil Org', threat_actor_types: ['crime-syndicate'] };
  const vuln = { type: 'vulnerability', spec_version: '2.1', id: `vulnerability--${rnd.uuid()}`, created: ts(baseMs), modified: ts(baseMs), name: 'CVE-2016-1234', external_references: [{ source_name: 'cve', external_id: 'CVE-2016-1234' }] };
  const out: Array<Record<string, unknown> & { id: string; type: string }> = [identity, malware, actor, vuln];
  const patterns: Array<() => string> = [
    () => `[ipv4-addr:value = '198.51.100.${1 + rnd.int(254)}']`,
    () => `[domain-name:value = 'c2-${rnd.hex(6)}.example.net']`,
    () => `[file:hashes.'SHA-256' = '${rnd.hex(64)}']`,
    () => `[url:value = 'http://${rnd.hex(4)}.example.org/payload.exe']`,
    () => `[ipv4-addr:value = '203.0.113.0/24']`,
    () => `[file:hashes.MD5 = '${rnd.hex(32)}']`,
    () => `[email-addr:value = 'phish-${rnd.hex(4)}@example.com']`,
    () => `[ipv6-addr:value = '2001:db8::${rnd.hex(4)}/128']`,
    () => `[file:hashes.'SHA-1' = '${rnd.hex(40)}']`,
    () => `[file:hashes.'SHA-512' = '${rnd.hex(128)}']`,
    () => `[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.${1 + rnd.int(254)}'] REPEATS 5 TIMES WITHIN 1800 SECONDS`,
  ];
  for (let i = 0; out.length < count; i++) {
    const at = baseMs + (i + 1) * 60_000 + rnd.int(1000);
    const indicator = {
      type: 'indicator',
      spec_version: '2.1',
      id: `indicator--${rnd.uuid()}`,
      created: ts(at),
      modified: ts(at),
      created_by_ref: identity.id,
      name: `Replica indicator ${i}`,
      indicator_types: ['malicious-activity'],
      pattern: patterns[i % patterns.length]!(),
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: ts(at),
      ...(i % 3 === 0 ? { valid_until: ts(at + 90 * 86_400_000) } : {}),
      confidence: 40 + ((i * 7) % 60),
      labels: i % 2 ? ['tlp:green'] : ['tlp:amber', 'c2'],
      kill_chain_phases: [{ kill_chain_name: 'lockheed-martin-cyber-kill-chain', phase_name: i % 2 ? 'delivery' : 'command-and-control' }],
    };
    out.push(indicator);
    if (i % 4 === 1 && out.length < count) {
      out.push({ type: 'relationship', spec_version: '2.1', id: `relationship--${rnd.uuid()}`, created: ts(at), modified: ts(at), relationship_type: 'indicates', source_ref: indicator.id, target_ref: malware.id });
    }
    if (i % 5 === 2 && out.length < count) {
      out.push({ type: 'sighting', spec_version: '2.1', id: `sighting--${rnd.uuid()}`, created: ts(at), modified: ts(at), count: 1 + rnd.int(9), sighting_of_ref: indicator.id, where_sighted_refs: [identity.id] });
    }
  }
  return out.slice(0, count);
}

/** A TAXII 2.1 server on loopback (see the module comment). */
export class TaxiiServer {
  readonly server: ReplicaServer;
  readonly roots = new Map<string, ApiRoot>();
  private readonly tokens = new Map<string, NextToken>();
  private tokenSeq = 0;
  private lastMicros = 0;
  private statusSeq = 0;
  readonly apiKeyHeader: string;
  maxPageSize: number;
  nextTtlMs: number;
  nextExpiredStatus: 400 | 404;

  constructor(private readonly options: TaxiiServerOptions = {}) {
    this.apiKeyHeader = (options.apiKeyHeader ?? 'X-API-Key').toLowerCase();
    this.maxPageSize = options.maxPageSize ?? 100;
    this.nextTtlMs = options.nextTtlMs ?? 600_000;
    this.nextExpiredStatus = options.nextExpiredStatus ?? 400;
    this.server = new ReplicaServer(PROVIDER, (retryAfterSec) =>
      taxiiError(429, 'Too Many Requests', `Rate limit exceeded: retry in ${retryAfterSec} seconds`, { error_code: 'rate_limited' }),
    );
    const everyone = () => new Set(['analyst', 'publisher', 'apikey', 'oauth']);
    this.roots.set('api1', {
      title: 'Replica API Root 1',
      description: 'Indicators and related intelligence (TAXII 2.1 replica)',
      collections: new Map(
        [
          { id: COLLECTIONS.indicators, title: 'High Value Indicator Collection', description: 'This data collection is for collecting high value IOCs', alias: 'high-value', readers: everyone(), writers: new Set(['publisher']), objects: [] },
          { id: COLLECTIONS.recent, title: 'Indicators from the past 24-hours', description: 'This data collection is for collecting current IOCs', readers: everyone(), writers: new Set(['publisher']), objects: [] },
          { id: COLLECTIONS.restricted, title: 'Embargoed partner reporting', description: 'Readable by publishers only', readers: new Set(['publisher']), writers: new Set(['publisher']), objects: [] },
        ].map((c) => [c.id, c as Collection]),
      ),
      statuses: new Map(),
    });
    this.roots.set('trustgroup1', {
      title: 'Trust group 1',
      description: 'A sharing group',
      collections: new Map([[COLLECTIONS.partners, { id: COLLECTIONS.partners, title: 'Partner sharing', description: 'Shared by the trust group', readers: everyone(), writers: everyone(), objects: [] }]]),
      statuses: new Map(),
    });
    this.routes();
  }

  get url(): string {
    return this.server.url;
  }

  get requests() {
    return this.server.requests;
  }

  /** A date added after every one so far (microseconds, strictly increasing, not before now). */
  private nextMicros(): number {
    this.lastMicros = Math.max(this.lastMicros + 1 + Math.floor(Math.random() * 997), Date.now() * 1000);
    return this.lastMicros;
  }

  /** Adds objects to a collection of `api1` (or `root`), each with a new date added. */
  add(collectionId: string, objects: Array<Record<string, unknown> & { id: string; type: string }>, root = 'api1'): StoredObject[] {
    const collection = this.roots.get(root)?.collections.get(collectionId);
    if (!collection) throw new Error(`no collection ${collectionId} in ${root}`);
    const stored = objects.map((object) => ({ object: structuredClone(object), addedMicros: this.nextMicros() }));
    collection.objects.push(...stored);
    return stored;
  }

  objects(collectionId: string, root = 'api1'): StoredObject[] {
    return this.roots.get(root)?.collections.get(collectionId)?.objects ?? [];
  }

  /** Forgets every `next` token handed out (as a server restart or a token TTL would). */
  expireNextTokens(): void {
    this.tokens.clear();
  }

  /** The account a request authenticates as, or a 401/`null` for none. */
  private async account(req: ReplicaRequest, verify: BearerVerifier | undefined): Promise<string | null> {
    const basic = basicCredentials(req.headers);
    if (basic !== null) {
      const [user, ...rest] = basic.split(':');
      const password = rest.join(':');
      if (user === ANALYST.username && password === ANALYST.password) return 'analyst';
      if (user === PUBLISHER.username && password === PUBLISHER.password) return 'publisher';
      return null;
    }
    const key = req.headers[this.apiKeyHeader];
    if (key !== undefined) return key === API_KEY ? 'apikey' : null;
    if (await hasValidBearer(req.headers, verify)) return 'oauth';
    return null;
  }

  /** Media type and authentication, in that order, before any resource is looked at. */
  private guard(handler: (req: ReplicaRequest, account: string) => ReplicaResponse | Promise<ReplicaResponse>) {
    return async (req: ReplicaRequest): Promise<ReplicaResponse> => {
      const accept = req.headers.accept;
      if (!acceptsTaxii21(typeof accept === 'string' ? accept : undefined)) {
        return taxiiError(406, 'Not Acceptable', `The server answers ${TAXII_MEDIA_TYPE} only; the request's Accept was ${JSON.stringify(accept ?? null)}`);
      }
      const account = await this.account(req, this.options.verifyBearer);
      if (!account) {
        const sent = req.headers.authorization !== undefined || req.headers[this.apiKeyHeader] !== undefined;
        return taxiiError(401, 'Unauthorized', sent ? 'The credentials are not valid' : 'This server requires authentication', { error_code: 'unauthorized' }, { 'www-authenticate': 'Basic realm="TAXII 2.1"' });
      }
      return handler(req, account);
    };
  }

  private root(req: ReplicaRequest): ApiRoot | ReplicaResponse {
    return this.roots.get(req.params.root!) ?? taxiiError(404, 'Not Found', `There is no API root /${req.params.root}/`);
  }

  private collection(req: ReplicaRequest, account: string, write = false): Collection | ReplicaResponse {
    const root = this.root(req);
    if (!('collections' in root)) return root;
    const collection = root.collections.get(req.params.id!);
    if (!collection) return taxiiError(404, 'Not Found', `There is no collection ${req.params.id} in /${req.params.root}/`);
    const allowed = write ? collection.writers : collection.readers;
    if (!allowed.has(account)) return taxiiError(403, 'Forbidden', `The account may not ${write ? 'write to' : 'read'} collection ${collection.id}`, { error_code: 'forbidden' });
    return collection;
  }

  private describe(c: Collection, account: string) {
    return {
      id: c.id,
      title: c.title,
      description: c.description,
      ...(c.alias ? { alias: c.alias } : {}),
      can_read: c.readers.has(account),
      can_write: c.writers.has(account),
      media_types: [STIX_MEDIA_TYPE],
    };
  }

  private routes(): void {
    const s = this.server;
    // §4.1
    s.route('GET', '/taxii2/', this.guard(() => ok({
      title: 'Replica TAXII 2.1 Server',
      description: 'This TAXII Server contains a listing of the replica API roots',
      contact: 'cti@replica.invalid',
      default: `${this.url}/api1/`,
      api_roots: [`${this.url}/api1/`, `${this.url}/trustgroup1/`],
    })));
    // §4.2
    s.route('GET', '/:root/', this.guard((req) => {
      const root = this.root(req);
      if (!('collections' in root)) return root;
      return ok({ title: root.title, description: root.description, versions: [TAXII_MEDIA_TYPE], max_content_length: 104857600 });
    }));
    // §4.3
    s.route('GET', '/:root/status/:sid/', this.guard((req) => {
      const root = this.root(req);
      if (!('collections' in root)) return root;
      const status = root.statuses.get(req.params.sid!);
      return status ? ok(status) : taxiiError(404, 'Not Found', `There is no status ${req.params.sid}`);
    }));
    // §5.1
    s.route('GET', '/:root/collections/', this.guard((req, account) => {
      const root = this.root(req);
      if (!('collections' in root)) return root;
      return ok({ collections: [...root.collections.values()].map((c) => this.describe(c, account)) });
    }));
    // §5.2
    s.route('GET', '/:root/collections/:id/', this.guard((req, account) => {
      const root = this.root(req);
      if (!('collections' in root)) return root;
      const c = root.collections.get(req.params.id!);
      return c ? ok(this.describe(c, account)) : taxiiError(404, 'Not Found', `There is no collection ${req.params.id}`);
    }));
    // §5.3
    s.route('GET', '/:root/collections/:id/objects/', this.guard((req, account) => {
      const c = this.collection(req, account);
      if (!('objects' in c)) return c;
      return this.getObjects(req, c);
    }));
    // §5.4
    s.route('POST', '/:root/collections/:id/objects/', this.guard((req, account) => {
      const type = String(req.headers['content-type'] ?? '').replace(/\s+/g, '').toLowerCase();
      if (type !== TAXII_MEDIA_TYPE) return taxiiError(415, 'Unsupported Media Type', `Send the envelope as ${TAXII_MEDIA_TYPE}`);
      const c = this.collection(req, account, true);
      if (!('objects' in c)) return c;
      let envelope: unknown;
      try {
        envelope = JSON.parse(req.text);
      } catch {
        return taxiiError(400, 'Bad Request', 'The body is not JSON');
      }
      const objects = (envelope as { objects?: unknown }).objects;
      if (!Array.isArray(objects) || objects.some((o) => !o || typeof o !== 'object' || typeof o.id !== 'string' || typeof o.type !== 'string')) {
        return taxiiError(400, 'Bad Request', 'The body is not an envelope of STIX objects');
      }
      const stored = this.add(c.id, objects, req.params.root!);
      const root = this.roots.get(req.params.root!)!;
      const id = `2d086da7-4bdc-4f91-900e-d77486753${String(++this.statusSeq).padStart(3, '0')}`;
      const status = {
        id,
        status: 'complete',
        request_timestamp: microsToTimestamp(stored[0]?.addedMicros ?? Date.now() * 1000),
        total_count: stored.length,
        success_count: stored.length,
        successes: stored.map((o) => ({ id: o.object.id, version: o.object.modified ?? o.object.created, message: 'Added' })),
        failure_count: 0,
        pending_count: 0,
      };
      root.statuses.set(id, status);
      return ok(status, 202);
    }));
  }

  private getObjects(req: ReplicaRequest, c: Collection): ReplicaResponse {
    const q = req.query;
    const query = [...q.entries()].filter(([k]) => k !== 'next').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
    let addedAfter: number | null = null;
    const rawAfter = q.get('added_after');
    if (rawAfter !== null) {
      addedAfter = timestampToMicros(rawAfter);
      if (addedAfter === null) return taxiiError(400, 'Bad Request', `added_after must be an RFC 3339 timestamp in UTC ending in Z, got ${JSON.stringify(rawAfter)}`);
    }
    const rawLimit = q.get('limit');
    let limit = this.maxPageSize;
    if (rawLimit !== null) {
      if (!/^[1-9]\d*$/.test(rawLimit)) return taxiiError(400, 'Bad Request', 'limit must be a positive integer');
      limit = Math.min(Number(rawLimit), this.maxPageSize);
    }
    let offset = 0;
    const next = q.get('next');
    if (next !== null) {
      const token = this.tokens.get(next);
      if (!token || token.expiresAt <= Date.now()) {
        this.tokens.delete(next);
        return taxiiError(this.nextExpiredStatus, this.nextExpiredStatus === 404 ? 'Not Found' : 'Bad Request', 'The next parameter is unknown or has expired', { error_code: 'next_expired' });
      }
      if (token.root !== req.params.root || token.collection !== c.id || token.query !== query) {
        return taxiiError(400, 'Bad Request', 'The next parameter must be sent with the same filters as the request that returned it');
      }
      offset = token.offset;
    }
    const list = (name: string) => (q.get(name) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const ids = list('match[id]');
    const types = list('match[type]');
    const specVersions = list('match[spec_version]');
    const versions = list('match[version]');
    let entries = c.objects.filter((e) => (!ids.length || ids.includes(e.object.id)) && (!types.length || types.includes(e.object.type)));
    if (specVersions.length) entries = entries.filter((e) => specVersions.includes(String(e.object.spec_version ?? '2.0')));
    entries = this.versionFilter(entries, versions.length ? versions : ['last']);
    if (addedAfter !== null) entries = entries.filter((e) => e.addedMicros > addedAfter!);
    entries.sort((a, b) => a.addedMicros - b.addedMicros);
    const page = entries.slice(offset, offset + limit);
    const more = offset + page.length < entries.length;
    const headers: Record<string, string> = {};
    if (page.length) {
      headers['X-TAXII-Date-Added-First'] = microsToTimestamp(page[0]!.addedMicros);
      headers['X-TAXII-Date-Added-Last'] = microsToTimestamp(page[page.length - 1]!.addedMicros);
    }
    if (!page.length) return ok({}, 200, headers);
    const body: Record<string, unknown> = { more };
    if (more) {
      const token = `n${++this.tokenSeq}-${Math.random().toString(36).slice(2, 10)}`;
      this.tokens.set(token, { root: req.params.root!, collection: c.id, query, offset: offset + page.length, expiresAt: Date.now() + this.nextTtlMs });
      body.next = token;
    }
    body.objects = page.map((e) => e.object);
    return ok(body, 200, headers);
  }

  /** §3.5.x `match[version]`: last (default), first, all, or specific `modified` timestamps. */
  private versionFilter(entries: StoredObject[], versions: string[]): StoredObject[] {
    if (versions.includes('all')) return entries;
    const version = (e: StoredObject) => String(e.object.modified ?? e.object.created ?? '');
    const byId = new Map<string, StoredObject[]>();
    for (const e of entries) byId.set(e.object.id, [...(byId.get(e.object.id) ?? []), e]);
    const keep = new Set<StoredObject>();
    for (const group of byId.values()) {
      const sorted = [...group].sort((a, b) => (timestampToMicros(version(a)) ?? 0) - (timestampToMicros(version(b)) ?? 0));
      if (versions.includes('last')) keep.add(sorted[sorted.length - 1]!);
      if (versions.includes('first')) keep.add(sorted[0]!);
      for (const e of group) if (versions.includes(version(e))) keep.add(e);
    }
    return entries.filter((e) => keep.has(e));
  }

  async start(host?: string, port?: number): Promise<this> {
    await this.server.start(host, port);
    return this;
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** Starts a TAXII server with `items` (default 25) sample objects in the indicators collection. */
export async function startTaxiiServer(options: TaxiiServerOptions = {}): Promise<TaxiiServer> {
  const taxii = new TaxiiServer(options);
  taxii.add(COLLECTIONS.indicators, sampleObjects(options.items ?? 25));
  taxii.add(COLLECTIONS.recent, sampleObjects(5, 7));
  taxii.add(COLLECTIONS.restricted, sampleObjects(3, 11));
  return taxii.start();
}

let added = 0;

/** The replica `npm run replicas` serves: Basic auth as `analyst`, the indicators collection. */
export const replica: ReplicaModule & { startServer: typeof startTaxiiServer } = {
  provider: PROVIDER,
  startServer: startTaxiiServer,
  async start(options: ReplicaOptions = {}): Promise<StartedReplica> {
    const taxii = new TaxiiServer(options);
    taxii.add(COLLECTIONS.indicators, sampleObjects(options.items ?? 25));
    taxii.add(COLLECTIONS.recent, sampleObjects(5, 7));
    taxii.add(COLLECTIONS.restricted, sampleObjects(3, 11));
    return serve(taxii.server, {
      authType: 'BASIC',
      credentials: { ...ANALYST },
      wrongCredentials: { ...WRONG_PASSWORD },
      config: () => ({ collectionId: COLLECTIONS.indicators, limit: 10 }),
      addItems: (n) => {
        taxii.add(COLLECTIONS.indicators, sampleObjects(n + 4, 9000 + ++added, Date.now() - 60_000).slice(4));
      },
      items: () => taxii.objects(COLLECTIONS.indicators).map((e) => e.object),
    });
  },
  expectedRecord(item: unknown) {
    const o = item as { id: string; type: string };
    return o.type === 'indicator' ? { kind: 'indicator', stixId: o.id } : { kind: 'record', stixId: o.id, type: o.type };
  },
  authRemediation: /user name or password/,
};
