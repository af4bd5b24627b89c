/**
 * The `taxii21` provider against a real TAXII 2.1 server (replicas/taxii21.ts, written from the
 * OASIS TAXII 2.1 specification and tested on its own in test/unit/taxii/taxii-server.test.ts):
 *
 * - through the adapter and the shared HTTP client: the stepwise test (discovery, collections and
 *   can_read, a page of objects), a bad credential and a wrong collection id with their
 *   remediations, Basic / API key in a configured header / OAuth 2.0 client credentials through a
 *   real authorization server, the TAXII media type in Accept on every request, a full read across
 *   pages with the same filters re-sent with `next`, a resume from a committed cursor with
 *   `added_after` sent exactly (microseconds), an expired `next` (400 and 404) restarting from the
 *   committed cursor, 429 with Retry-After, and the STIX → record mapping;
 * - through the service's GraphQL API (real PostgreSQL, workers on): create, test (good, wrong
 *   password, wrong collection), enable and ingest every page, a revoked indicator that updates its
 *   record instead of adding one, and a restart of the service that resumes from the committed
 *   cursor with `added_after` exactly as committed.
 *
 * Credentials contain SENTINEL; the last test checks that none reached a result, record, cursor,
 * error, URL or log line.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { createHttpClient } from '../../../src/adapters/http/client.js';
import type { HttpClient } from '../../../src/adapters/http/client.js';
import { createOAuthTokenCache } from '../../../src/adapters/http/auth.js';
import { getAdapter, listAdapters } from '../../../src/adapters/registry.js';
import { TAXII_MEDIA_TYPE, parseConfig, taxiiAdapter } from '../../../src/adapters/taxii/index.js';
import type { TaxiiCursor } from '../../../src/adapters/taxii/index.js';
import type { AdapterContext, AuthType, CheckResult, ConnectionInput, Credentials, ReadCursor, RecordBatch } from '../../../src/adapters/spi.js';
import { ANALYST, API_KEY, COLLECTIONS, WRONG_PASSWORD, microsToTimestamp, sampleObjects, startTaxiiServer } from '../../../replicas/taxii21.js';
import type { TaxiiServer } from '../../../replicas/taxii21.js';
import { startAuthorizationServer, type AuthorizationServer } from '../../../replicas/oidc.js';
import { editor } from '../../helpers/tokens.js';
import { startTestService, type TestService } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';

const SENTINEL = 'S3NT1NEL-7a11f0c3';
const PASSWORD_USER = { username: 'analyst', password: ANALYST.password };

let http: HttpClient;
let taxii: TaxiiServer;
let as: AuthorizationServer;
const produced: unknown[] = [];
const logs: string[] = [];

function ctx(extra: Partial<AdapterContext> = {}): AdapterContext {
  return { http, oauthTokens: createOAuthTokenCache(), ...extra };
}

function input(config: Record<string, unknown> = {}, authType: AuthType = 'BASIC', credentials: Credentials = PASSWORD_USER): ConnectionInput {
  return { config: { baseUrl: taxii.url, collectionId: COLLECTIONS.indicators, limit: 10, ...config }, authType, credentials };
}

async function readAll(i: ConnectionInput, cursor: ReadCursor = null, c: AdapterContext = ctx(), between?: (batch: RecordBatch, n: number) => void): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const batch of taxiiAdapter.read(c, i, cursor)) {
    batches.push(batch);
    between?.(batch, batches.length);
  }
  produced.push(batches);
  return batches;
}

async function check(i: ConnectionInput, c: AdapterContext = ctx()): Promise<CheckResult> {
  const result = await taxiiAdapter.check(c, i);
  produced.push(result);
  return result;
}

const step = (r: CheckResult, name: string) => r.steps.find((s) => s.name === name)!;
const records = (batches: RecordBatch[]) => batches.flatMap((b) => b.records) as Array<Record<string, any>>;
const objectRequests = () => taxii.requests.filter((r) => r.path.endsWith('/objects/'));

beforeAll(async () => {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
  }
  http = createHttpClient({ egressAllow: ['127.0.0.1/32'], retryBaseDelayMs: 10 });
  as = await startAuthorizationServer();
  taxii = await startTaxiiServer({ items: 25, apiKeyHeader: 'X-TAXII-Key', verifyBearer: as.verify });
});

beforeEach(() => taxii.server.clearRequests());

afterAll(async () => {
  http?.close();
  await taxii?.close();
  await as?.close();
  jest.restoreAllMocks();
});

describe('spec and registry', () => {
  test('registered as the THREAT_INTEL provider taxii21 with notes, documentation and record kinds', () => {
    expect(getAdapter('taxii21')).toBe(taxiiAdapter);
    expect(listAdapters('THREAT_INTEL').map((a) => a.spec.id)).toContain('taxii21');
    expect(taxiiAdapter.spec).toMatchObject({
      type: 'THREAT_INTEL',
      authTypes: expect.arrayContaining(['BASIC', 'API_KEY', 'OAUTH2_CLIENT_CREDENTIALS']),
      documentationUrl: expect.stringMatching(/^https:\/\/docs\.oasis-open\.org\/cti\/taxii\/v2\.1\//),
      recordKinds: ['indicator', 'record'],
      notes: expect.stringMatching(/X-TAXII-Date-Added-Last/),
    });
    for (const prop of Object.values(taxiiAdapter.spec.credentialsSchema.properties as Record<string, { writeOnly: boolean }>)) expect(prop.writeOnly).toBe(true);
  });

  test('config: baseUrl and collectionId required; addedAfter must carry a zone', () => {
    expect(parseConfig({ baseUrl: 'https://taxii.example', collectionId: 'c1' })).toMatchObject({ discoveryPath: '/taxii2/', limit: 500, apiKeyHeader: 'X-API-Key' });
    expect(() => parseConfig({ baseUrl: 'https://taxii.example' })).toThrow(/collectionId/);
    expect(() => parseConfig({ baseUrl: 'https://taxii.example', collectionId: 'c', addedAfter: '2024-01-01T00:00:00' })).toThrow(/addedAfter/);
    expect(() => parseConfig({ baseUrl: 'https://taxii.example', collectionId: 'c', limit: 0 })).toThrow(/limit/);
  });
});

describe('stepwise test', () => {
  test('passes: discovery, collections, one page; samples are mapped STIX objects; Accept is TAXII 2.1 on every request', async () => {
    const r = await check(input());
    expect(r.steps.map((s) => [s.name, s.passed])).toEqual([
      ['CONNECT', true],
      ['AUTHENTICATE', true],
      ['SAMPLE_QUERY', true],
      ['VALIDATE_FORMAT', true],
    ]);
    expect(step(r, 'SAMPLE_QUERY').message).toMatch(/High Value Indicator Collection/);
    expect(r.sample).toHaveLength(5);
    const first = taxii.objects(COLLECTIONS.indicators)[0]!.object;
    expect(r.sample[0]).toMatchObject({ kind: 'record', stixId: first.id, stixType: first.type });
    expect(taxii.requests.map((q) => q.path)).toEqual(['/taxii2/', '/api1/collections/', `/api1/collections/${COLLECTIONS.indicators}/objects/`]);
    expect(taxii.requests.at(-1)!.query).toEqual({ limit: '5' });
    for (const q of taxii.requests) expect(q.headers.accept).toBe(TAXII_MEDIA_TYPE);
  });

  test('a bad password fails AUTHENTICATE with AUTH_FAILED, the server error message and a remediation', async () => {
    const r = await check(input({}, 'BASIC', { ...WRONG_PASSWORD, password: `${SENTINEL}-wrong` }));
    expect(step(r, 'CONNECT').passed).toBe(true);
    expect(step(r, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', message: expect.stringMatching(/HTTP 401: Unauthorized \(The credentials are not valid\)/) });
    expect(step(r, 'AUTHENTICATE').remediation).toMatch(/user name or password/);
    expect(step(r, 'SAMPLE_QUERY')).toMatchObject({ passed: false, latencyMs: null });
    expect(JSON.stringify(r)).not.toContain(SENTINEL);
  });

  test('a wrong API key (in the configured header) fails AUTHENTICATE naming apiKeyHeader; the right one passes', async () => {
    const wrong = await check(input({ apiKeyHeader: 'X-TAXII-Key' }, 'API_KEY', { apiKey: `${SENTINEL}-key` }));
    expect(step(wrong, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', remediation: expect.stringMatching(/apiKeyHeader/) });
    expect(taxii.requests.at(-1)!.headers['x-taxii-key']).toBe(`${SENTINEL}-key`);
    const right = await check(input({ apiKeyHeader: 'X-TAXII-Key' }, 'API_KEY', { apiKey: API_KEY }));
    expect(right.success).toBe(true);
  });

  test('a wrong collection id fails SAMPLE_QUERY with CONFIG_INVALID; the remediation lists the collections the account can read', async () => {
    const r = await check(input({ collectionId: 'no-such-collection' }));
    expect(step(r, 'AUTHENTICATE').passed).toBe(true);
    const s = step(r, 'SAMPLE_QUERY');
    expect(s).toMatchObject({ passed: false, errorCode: 'CONFIG_INVALID', message: expect.stringMatching(/no collection no-such-collection/) });
    expect(s.remediation).toMatch(/Set collectionId to one of the collections this account can read/);
    expect(s.remediation).toContain(`${COLLECTIONS.indicators} (High Value Indicator Collection)`);
    expect(s.remediation).not.toContain(COLLECTIONS.restricted);
  });

  test('a collection the account may not read (can_read false) fails AUTHENTICATE with a remediation', async () => {
    const r = await check(input({ collectionId: COLLECTIONS.restricted }));
    expect(step(r, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', message: expect.stringMatching(/can_read is false/), remediation: expect.stringMatching(/read access/) });
  });

  test('OAuth 2.0 client credentials through a real authorization server', async () => {
    const expiries: Array<Date | null> = [];
    const r = await check(
      input({ tokenUrl: as.tokenUrl, scope: as.scope }, 'OAUTH2_CLIENT_CREDENTIALS', { clientId: as.clientId, clientSecret: as.clientSecret }),
      ctx({ onOAuthToken: (info) => expiries.push(info.expiresAt) }),
    );
    expect(r.success).toBe(true);
    expect(expiries[0]!.getTime()).toBeGreaterThan(Date.now());
    for (const q of taxii.requests) expect(q.headers.authorization).toMatch(/^Bearer /);
    const bad = await check(input({ tokenUrl: as.tokenUrl, scope: as.scope }, 'OAUTH2_CLIENT_CREDENTIALS', { clientId: as.clientId, clientSecret: `${SENTINEL}-secret` }));
    expect(step(bad, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED' });
  });

  test('a server that does not speak TAXII 2.1 (406) or a wrong discovery path (404) get their own remediations', async () => {
    const missing = await check(input({ discoveryPath: '/taxii/' }));
    expect(step(missing, 'SAMPLE_QUERY')).toMatchObject({ errorCode: 'CONFIG_INVALID', remediation: expect.stringMatching(/discoveryPath/) });
    taxii.server.rateLimitNext(3600);
    const limited = await check(input());
    const failed = limited.steps.find((s) => !s.passed)!;
    expect(failed).toMatchObject({ errorCode: 'RATE_LIMITED', remediation: expect.stringMatching(/wait 3600 s/) });
  });
});

describe('read', () => {
  test('a full read crosses every page: limit, then the same filters with next; one batch per page; every object mapped', async () => {
    const all = taxii.objects(COLLECTIONS.indicators);
    const batches = await readAll(input({ objectTypes: [] }));
    expect(batches.map((b) => b.records.length)).toEqual([10, 10, 5]);
    expect(records(batches).map((r) => r.stixId)).toEqual(all.map((e) => e.object.id));
    const q = objectRequests().map((r) => r.query);
    expect(q[0]).toEqual({ limit: '10' });
    expect(q[1]).toEqual({ limit: '10', next: expect.any(String) });
    expect(q[2]).toEqual({ limit: '10', next: expect.any(String) });
    for (const r of taxii.requests) expect(r.headers.accept).toBe(TAXII_MEDIA_TYPE);
    // Each batch's cursor is the page's X-TAXII-Date-Added-Last, to the microsecond.
    expect(batches.map((b) => (b.cursor as TaxiiCursor).addedAfter)).toEqual([9, 19, 24].map((i) => microsToTimestamp(all[i]!.addedMicros)));
    for (const b of batches) expect(b).toMatchObject({ dedupKey: ['/stixId'], versionPointer: '/stixVersion' });
  });

  test('filters (match[type]) are re-sent with next', async () => {
    const batches = await readAll(input({ objectTypes: ['indicator', 'malware'], limit: 4 }));
    expect(records(batches).every((r) => r.kind === 'indicator' || r.stixType === 'malware')).toBe(true);
    const q = objectRequests().map((r) => r.query);
    expect(q.length).toBeGreaterThan(2);
    for (const query of q) expect(query).toMatchObject({ limit: '4', 'match[type]': 'indicator,malware' });
    for (const query of q.slice(1)) expect(query.next).toEqual(expect.any(String));
  });

  test('STIX → records: indicators typed from their patterns with validity, confidence, labels, kill-chain phases; other objects kept as records', async () => {
    const got = records(await readAll(input()));
    const byId = new Map(got.map((r) => [r.stixId, r]));
    for (const { object } of taxii.objects(COLLECTIONS.indicators)) {
      const r = byId.get(object.id)!;
      if (object.type !== 'indicator') {
        expect(r).toEqual({ ...object, kind: 'record', stixId: object.id, stixType: object.type, stixVersion: expect.stringMatching(/^\d{4}-.*\.\d{9}Z$/) });
        continue;
      }
      const o = object as Record<string, any>;
      expect(r).toMatchObject({
        kind: 'indicator',
        firstSeen: o.valid_from,
        validFrom: o.valid_from,
        validUntil: o.valid_until ?? null,
        confidence: o.confidence,
        labels: o.labels,
        killChainPhases: [{ killChainName: o.kill_chain_phases[0].kill_chain_name, phaseName: o.kill_chain_phases[0].phase_name }],
        revoked: false,
        pattern: o.pattern,
        modified: o.modified,
      });
      const m = /^\[(ipv4-addr|domain-name|url|email-addr|ipv6-addr):value = '([^']+)'\]$/.exec(o.pattern) ?? /^\[file:hashes\.'?([A-Z0-9-]+)'? = '([0-9a-f]+)'\]$/.exec(o.pattern);
      if (!m) {
        expect(r).toMatchObject({ type: 'pattern', value: o.pattern });
        continue;
      }
      const expected: Record<string, [string, string]> = {
        'ipv4-addr': [m[2]!.endsWith('/24') ? 'cidr' : 'ipv4', m[2]!],
        'domain-name': ['domain', m[2]!],
        url: ['url', m[2]!],
        'email-addr': ['email', m[2]!],
        'ipv6-addr': ['ipv6', m[2]!.replace(/\/128$/, '')],
        'SHA-256': ['sha256', m[2]!],
        MD5: ['md5', m[2]!],
        'SHA-1': ['sha1', m[2]!],
        'SHA-512': ['sha512', m[2]!],
      };
      expect([r.type, r.value]).toEqual(expected[m[1]!]);
    }
    expect(new Set(got.filter((r) => r.kind === 'indicator').map((r) => r.type))).toEqual(new Set(['ipv4', 'domain', 'sha256', 'url', 'cidr', 'md5', 'email', 'ipv6', 'sha1', 'sha512', 'pattern']));
    expect(new Set(got.filter((r) => r.kind === 'record').map((r) => r.stixType))).toEqual(new Set(['identity', 'malware', 'threat-actor', 'vulnerability', 'relationship', 'sighting']));
  });

  test('a resume from a committed cursor sends added_after exactly as committed (microseconds, Z) and reads only what follows', async () => {
    const all = taxii.objects(COLLECTIONS.indicators);
    const [first] = await (async () => {
      const out: RecordBatch[] = [];
      for await (const b of taxiiAdapter.read(ctx(), input(), null)) {
        out.push(b);
        break;
      }
      return out;
    })();
    const committed = (first!.cursor as TaxiiCursor).addedAfter!;
    expect(committed).toBe(microsToTimestamp(all[9]!.addedMicros));
    expect(committed).toMatch(/\.\d{6}Z$/);
    taxii.server.clearRequests();
    const rest = await readAll(input(), JSON.parse(JSON.stringify(first!.cursor)));
    expect(objectRequests()[0]!.query).toEqual({ limit: '10', added_after: committed });
    expect(records(rest).map((r) => r.stixId)).toEqual(all.slice(10).map((e) => e.object.id));
    // Nothing new: the next read from the end asks from the last date added and gets nothing.
    taxii.server.clearRequests();
    const none = await readAll(input(), rest.at(-1)!.cursor);
    expect(records(none)).toEqual([]);
    expect(objectRequests()[0]!.query.added_after).toBe(microsToTimestamp(all[24]!.addedMicros));
    expect(none.at(-1)!.cursor).toEqual(rest.at(-1)!.cursor);
  });

  test.each([400, 404] as const)('an expired next (HTTP %i) restarts from the committed cursor; nothing is lost or read twice', async (status) => {
    taxii.nextExpiredStatus = status;
    const all = taxii.objects(COLLECTIONS.indicators);
    try {
      const batches = await readAll(input(), null, ctx(), (_batch, n) => {
        if (n === 1) taxii.expireNextTokens();
      });
      const q = objectRequests();
      expect(q.map((r) => r.status)).toEqual([200, status, 200, 200]);
      expect(q[1]!.query.next).toEqual(expect.any(String));
      // The restart: the same filters, added_after = the cursor committed with the first batch, no next.
      expect(q[2]!.query).toEqual({ limit: '10', added_after: (batches[0]!.cursor as TaxiiCursor).addedAfter });
      expect(records(batches).map((r) => r.stixId)).toEqual(all.map((e) => e.object.id));
    } finally {
      taxii.nextExpiredStatus = 400;
    }
  });

  test('a server that refuses every next: the read goes on by added_after restarts, and gives up after MAX_NEXT_RESTARTS', async () => {
    const original = taxii.nextTtlMs;
    taxii.nextTtlMs = -1; // every token is born expired
    try {
      const all = taxii.objects(COLLECTIONS.indicators);
      const done = await readAll(input());
      expect(objectRequests().map((r) => r.status)).toEqual([200, 400, 200, 400, 200]);
      expect(records(done).map((r) => r.stixId)).toEqual(all.map((e) => e.object.id));
      taxii.server.clearRequests();
      const batches: RecordBatch[] = [];
      await expect(
        (async () => {
          for await (const b of taxiiAdapter.read(ctx(), input({ limit: 5 }), null)) batches.push(b);
        })(),
      ).rejects.toMatchObject({ code: 'CONFIG_INVALID', status: 400, message: expect.stringMatching(/next parameter is unknown or has expired/) });
      expect(objectRequests().filter((r) => r.status === 400)).toHaveLength(4);
      // What was read before giving up was delivered with its cursor: the next run goes on from there.
      expect(batches).toHaveLength(4);
      expect((batches.at(-1)!.cursor as TaxiiCursor).addedAfter).toBe(microsToTimestamp(all[19]!.addedMicros));
    } finally {
      taxii.nextTtlMs = original;
    }
  });

  test('429 with a short Retry-After is waited out; a long one fails RATE_LIMITED with retryAfterMs', async () => {
    taxii.server.rateLimitNext(1, 1);
    const t0 = Date.now();
    const batches = await readAll(input({ apiRoot: '/api1/' }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(records(batches)).toHaveLength(25);
    expect(taxii.requests.map((r) => r.status)[0]).toBe(429);
    expect(taxii.requests.some((r) => r.path === '/taxii2/')).toBe(false); // apiRoot set: no discovery
    taxii.server.rateLimitNext(3600, 1);
    await expect(readAll(input())).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 3_600_000 });
  });

  test('an API root on another origin is refused while credentials are sent', async () => {
    await expect(readAll(input({ apiRoot: 'http://127.0.0.2:9/api1/' }))).rejects.toMatchObject({ code: 'EGRESS_DENIED' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('through the service', () => {
  const WORKER_ENV = { RUN_WORKERS: 'true', JOB_POLL_MS: '500', JOB_MAINTENANCE_SEC: '1', JOB_TIMEOUT_SEC: '5', STALE_RUN_SEC: '5' };
  const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id provider type } }`;
  const TEST = `mutation($id: ID!) { testConnector(id: $id) { success message steps { name passed errorCode message remediation } sample } }`;
  const TOGGLE = `mutation($id: ID!, $enabled: Boolean!) { toggleConnector(id: $id, enabled: $enabled) { id enabled } }`;
  const SYNC = `mutation($id: ID!) { syncConnector(id: $id) { id status } }`;
  const STATE = `query($id: ID!) { connector(id: $id) { id ingestionRuns(first: 10) { id status recordsRead recordsWritten duplicates error }
    records(first: 100) { totalCount nodes { id kind title duplicateCount data } } } }`;
  let svc: TestService;
  let ed: string;
  let server: TaxiiServer;
  const dataDir = mkdtempSync(join(tmpdir(), 'taxii21-data-'));

  beforeAll(async () => {
    server = await startTaxiiServer({ items: 25 });
    // The embedded secret store's key lives in DATA_DIR: the restarted service shares it.
    svc = await startTestService('taxii21', { ...WORKER_ENV, DATA_DIR: dataDir });
    ed = await editor('tx1');
  });
  afterAll(async () => {
    await svc?.close();
    await server?.close();
  });

  const connector = (extra: Record<string, unknown> = {}, credentials: Record<string, string> = PASSWORD_USER) => ({
    name: 'TAXII feed',
    provider: 'taxii21',
    authType: 'BASIC',
    credentials,
    config: { baseUrl: server.url, collectionId: COLLECTIONS.indicators, limit: 10, syncIntervalSec: 3600, ...extra },
  });

  async function finishedRuns(id: string, count: number, s: TestService = svc) {
    return waitFor(`${count} finished run(s)`, async () => {
      const c = (await s.ok(STATE, { id }, ed)).connector;
      const done = c.ingestionRuns.filter((r: { status: string }) => r.status !== 'RUNNING' && r.status !== 'QUEUED');
      return done.length >= count && c;
    }, 30_000);
  }

  test('testConnector: good credentials pass; a wrong password and a wrong collection fail with remediations', async () => {
    const good = (await svc.ok(CREATE, { input: connector() }, ed)).createConnector;
    expect(good).toMatchObject({ provider: 'taxii21', type: 'THREAT_INTEL' });
    const ok = (await svc.ok(TEST, { id: good.id }, ed)).testConnector;
    expect(ok.success).toBe(true);
    expect(ok.sample.length).toBeGreaterThan(0);

    const badPw = (await svc.ok(CREATE, { input: connector({}, { username: 'analyst', password: `${SENTINEL}-pw` }) }, ed)).createConnector;
    const failed = (await svc.ok(TEST, { id: badPw.id }, ed)).testConnector;
    expect(failed.success).toBe(false);
    expect(failed.steps.find((s: { name: string }) => s.name === 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', remediation: expect.stringMatching(/user name or password/) });
    expect(JSON.stringify(failed)).not.toContain(SENTINEL);

    const wrongCollection = (await svc.ok(CREATE, { input: connector({ collectionId: 'wrong-collection' }) }, ed)).createConnector;
    const wc = (await svc.ok(TEST, { id: wrongCollection.id }, ed)).testConnector;
    expect(wc.steps.find((s: { name: string }) => s.name === 'SAMPLE_QUERY')).toMatchObject({
      passed: false,
      errorCode: 'CONFIG_INVALID',
      remediation: expect.stringContaining(`${COLLECTIONS.indicators} (High Value Indicator Collection)`),
    });
  });

  test('enable → every page ingested; a revoked indicator updates its record (no duplicate); a restart resumes from the committed cursor', async () => {
    const c = (await svc.ok(CREATE, { input: connector() }, ed)).createConnector;
    server.server.clearRequests();
    await svc.ok(TOGGLE, { id: c.id, enabled: true }, ed);
    let state = await finishedRuns(c.id, 1);
    expect(state.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED', recordsRead: 25, recordsWritten: 25, duplicates: 0, error: null });
    expect(state.records.totalCount).toBe(25);
    const pages = server.requests.filter((r) => r.path.endsWith('/objects/') && r.query.limit === '10');
    expect(pages.length).toBeGreaterThanOrEqual(3);
    for (const r of server.requests) expect(r.headers.accept).toBe(TAXII_MEDIA_TYPE);
    const [{ cursor: committed }] = await svc.dataSource.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1', [c.id]);
    const stored = server.objects(COLLECTIONS.indicators);
    expect(committed).toEqual({ collectionId: COLLECTIONS.indicators, addedAfter: microsToTimestamp(stored[24]!.addedMicros) });

    // The revocation: a new version of one indicator (modified later, revoked: true), within the dedup window.
    const target = stored.find((e) => e.object.type === 'indicator')!.object;
    const before = state.records.nodes.find((n: any) => n.data.stixId === target.id);
    expect(before).toMatchObject({ kind: 'INDICATOR', data: { revoked: false } });
    server.add(COLLECTIONS.indicators, [{ ...target, modified: new Date(Date.now()).toISOString(), revoked: true }]);
    await svc.ok(SYNC, { id: c.id }, ed);
    state = await finishedRuns(c.id, 2);
    expect(state.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED', recordsRead: 1, recordsWritten: 1, duplicates: 0 });
    expect(state.records.totalCount).toBe(25);
    const matching = state.records.nodes.filter((n: any) => n.data.stixId === target.id);
    expect(matching).toHaveLength(1);
    expect(matching[0]).toMatchObject({ id: before.id, data: { revoked: true, modified: expect.any(String) } });
    // The same version again is a duplicate, and the record stays revoked.
    const [{ cursor: afterRevoke }] = await svc.dataSource.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1', [c.id]);
    await svc.dataSource.query('UPDATE ingestion_cursors SET cursor = $2 WHERE connector_id = $1', [c.id, JSON.stringify(committed)]);
    await svc.ok(SYNC, { id: c.id }, ed);
    state = await finishedRuns(c.id, 3);
    expect(state.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED', recordsRead: 1, recordsWritten: 0, duplicates: 1 });
    expect(state.records.nodes.filter((n: any) => n.data.stixId === target.id)).toEqual([expect.objectContaining({ data: expect.objectContaining({ revoked: true }) })]);
    const [{ cursor: resumeFrom }] = await svc.dataSource.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1', [c.id]);
    expect(resumeFrom).toEqual(afterRevoke);

    // A restart of the service: the next run resumes from the committed cursor, added_after as committed.
    const databaseUrl = svc.databaseUrl;
    await svc.close();
    server.add(COLLECTIONS.indicators, sampleObjects(7, 31337).slice(4));
    server.server.clearRequests();
    svc = await startTestService('taxii21_restart', { ...WORKER_ENV, DATABASE_URL: databaseUrl, DATA_DIR: dataDir });
    await svc.ok(SYNC, { id: c.id }, ed);
    state = await finishedRuns(c.id, 4);
    expect(state.ingestionRuns[0]).toMatchObject({ status: 'SUCCEEDED', recordsRead: 3, recordsWritten: 3, error: null });
    const resumed = server.requests.filter((r) => r.path.endsWith('/objects/') && r.query.limit === '10');
    expect(resumed[0]!.query).toEqual({ limit: '10', added_after: (resumeFrom as TaxiiCursor).addedAfter });
    expect(state.records.totalCount).toBe(28);
  });
});

test('credentials appear in no result, record, cursor, error or log line', () => {
  const text = JSON.stringify(produced) + logs.join('\n');
  expect(text).not.toContain(SENTINEL);
  expect(text).not.toContain(ANALYST.password);
  expect(text).not.toContain(API_KEY);
});
