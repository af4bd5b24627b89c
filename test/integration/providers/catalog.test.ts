/**
 * The provider catalog, proven per manifest against its vendor replica (`replicas/`): every
 * manifest loads and validates, and every registered replica passes the same cases through the
 * real adapter registry, the shared HTTP client and, for OAuth 2.0, a real authorization server
 * (oidc-provider):
 *
 * - a stepwise test with mapped samples;
 * - a wrong credential: AUTH_FAILED with a remediation naming the vendor's setting;
 * - a full incremental read across at least three pages, every item mapped as the vendor
 *   documents it (severity, timestamps, identifying fields);
 * - a read resumed from a committed cursor (mid-sync, and the next sync after new items);
 * - a 429 with `Retry-After`: waited out when short, RATE_LIMITED when longer than the client waits;
 * - OAuth 2.0 client credentials where the manifest offers it;
 * - a deselected event type is not read.
 *
 * `PROVIDER=<id>[,<id>]` runs the cases of some providers only (while writing one).
 */
import { createHttpClient, type HttpClient } from '../../../src/adapters/http/client.js';
import { createOAuthTokenCache } from '../../../src/adapters/http/auth.js';
import { getAdapter } from '../../../src/adapters/registry.js';
import { MANIFEST_IDS, loadManifests } from '../../../src/adapters/manifests/index.js';
import type { Adapter, AdapterContext, CheckResult, ConnectionInput, ReadCursor, RecordBatch } from '../../../src/adapters/spi.js';
import { compileSchema } from '../../../src/adapters/schema-validation.js';
import { REPLICAS } from '../../../replicas/index.js';
import type { ReplicaConnection, ReplicaModule, StartedReplica } from '../../../replicas/base.js';
import { startAuthorizationServer, type AuthorizationServer } from '../../../replicas/oidc.js';

const only = process.env.PROVIDER?.split(',').map((s) => s.trim()).filter(Boolean);
const selected = REPLICAS.filter((r) => !only?.length || only.includes(r.provider));
if (!selected.length) throw new Error(`PROVIDER=${process.env.PROVIDER} names no registered replica`);

let http: HttpClient;
beforeAll(() => {
  http = createHttpClient({ egressAllow: ['127.0.0.1'], retryBaseDelayMs: 10 });
});
afterAll(() => http?.close());

function ctx(extra: Partial<AdapterContext> = {}): AdapterContext {
  return { http, oauthTokens: createOAuthTokenCache(), ...extra };
}

function input(c: ReplicaConnection, extra: Partial<ConnectionInput> = {}): ConnectionInput {
  return { config: c.config, authType: c.authType, credentials: c.credentials, ...extra };
}

async function readAll(adapter: Adapter, c: AdapterContext, i: ConnectionInput, cursor: ReadCursor = null, stopAfter = Infinity): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const batch of adapter.read(c, i, cursor)) {
    batches.push(batch);
    if (batches.length >= stopAfter) break;
  }
  return batches;
}

const records = (batches: RecordBatch[]) => batches.flatMap((b) => b.records) as Array<Record<string, unknown>>;

function expectPassed(result: CheckResult) {
  expect({ steps: result.steps.map((s) => [s.name, s.passed, s.passed ? null : s.message]), success: result.success }).toEqual({
    steps: [
      ['CONNECT', true, null],
      ['AUTHENTICATE', true, null],
      ['SAMPLE_QUERY', true, null],
      ['VALIDATE_FORMAT', true, null],
    ],
    success: true,
  });
}

/** Whether `actual` has every field of `expected` with an equal value (objects compared recursively). */
function isMatch(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return Object.is(actual, expected);
  const asymmetric = expected as { asymmetricMatch?: (other: unknown) => boolean };
  if (typeof asymmetric.asymmetricMatch === 'function') return asymmetric.asymmetricMatch(actual);
  if (actual === null || typeof actual !== 'object') return false;
  if (Array.isArray(expected)) return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => isMatch(actual[i], e));
  return Object.entries(expected).every(([k, v]) => isMatch((actual as Record<string, unknown>)[k], v));
}

/** Every expected record is among the read records (matched on all its fields). */
function expectAllMapped(module: ReplicaModule, items: unknown[], got: Array<Record<string, unknown>>) {
  for (const item of items) {
    const expected = module.expectedRecord(item);
    if (!got.some((r) => isMatch(r, expected))) expect(got).toContainEqual(expect.objectContaining(expected));
  }
}

describe('the catalog', () => {
  test('every listed manifest loads, validates and compiles to a registered adapter', () => {
    const manifests = loadManifests();
    expect(manifests.map((m) => m.id)).toEqual([...MANIFEST_IDS]);
    for (const m of manifests) {
      const adapter = getAdapter(m.id);
      expect(adapter?.spec).toMatchObject({ id: m.id, type: m.type, documentationUrl: m.documentationUrl, configVersion: m.version });
      // The generated schema is valid JSON Schema: an empty config misses only the required
      // settings, and the defaults fill the rest (baseUrl: the vendor's public endpoint).
      const config: Record<string, unknown> = {};
      const required = (adapter!.spec.configSchema.required as string[] | undefined) ?? [];
      const props = adapter!.spec.configSchema.properties as Record<string, { type?: string; maxLength?: number; default?: unknown }>;
      const validate = compileSchema(adapter!.spec.configSchema);
      const missing = required.filter((key) => props[key]!.default === undefined);
      expect(validate(config)).toBe(missing.length === 0);
      expect((validate.errors ?? []).map((e) => e.params.missingProperty).sort()).toEqual(missing.sort());
      expect(config.baseUrl).toBe(m.baseUrl);
      for (const [key, prop] of Object.entries(props)) if (prop.type === 'string') expect([key, prop.maxLength]).toEqual([key, expect.any(Number)]);
      for (const prop of Object.values(adapter!.spec.credentialsSchema.properties as Record<string, { writeOnly?: boolean }>)) expect(prop.writeOnly).toBe(true);
    }
  });

  test('every manifest has a replica, and every replica a manifest', () => {
    expect(REPLICAS.map((r) => r.provider).sort()).toEqual([...MANIFEST_IDS].sort());
  });
});

describe.each(selected.map((r) => [r.provider, r] as const))('%s against its replica', (provider, module) => {
  let replica: StartedReplica;
  let as: AuthorizationServer;
  let adapter: Adapter;

  beforeAll(async () => {
    as = await startAuthorizationServer();
    replica = await module.start({ verifyBearer: as.verify });
    adapter = getAdapter(provider)!;
    expect(adapter).toBeDefined();
  });
  afterAll(async () => {
    await replica?.close();
    await as?.close();
  });

  /** The replica's connection; an OAuth-native one gets the authorization server's client. */
  function connection(): ReplicaConnection {
    const c = replica.connection();
    if (c.authType !== 'OAUTH2_CLIENT_CREDENTIALS') return c;
    return {
      authType: c.authType,
      credentials: { clientId: as.clientId, clientSecret: as.clientSecret },
      config: { ...c.config, tokenUrl: as.tokenUrl, scope: as.scope },
    };
  }

  test('a stepwise test passes with mapped samples', async () => {
    const result = await adapter.check(ctx(), input(connection()));
    expectPassed(result);
    expect(result.sample.length).toBeGreaterThan(0);
    expect(result.sample.length).toBeLessThanOrEqual(5);
    // Each sample is one of the replica's items, mapped as the vendor documents it.
    for (const r of result.sample) expect([r, replica.items().some((item) => isMatch(r, module.expectedRecord(item)))]).toEqual([r, true]);
    for (const r of result.sample) expect(JSON.stringify(r)).not.toContain(Object.values(connection().credentials)[0] ?? '\u0000');
  });

  test('a wrong credential fails AUTHENTICATE with AUTH_FAILED and names the vendor setting', async () => {
    const wrong = replica.wrongConnection();
    const result = await adapter.check(ctx(), input(wrong.authType === 'OAUTH2_CLIENT_CREDENTIALS' ? { ...connection(), credentials: { clientId: as.clientId, clientSecret: 'wrong-secret-value' } } : wrong));
    expect(result.success).toBe(false);
    const auth = result.steps.find((s) => s.name === 'AUTHENTICATE')!;
    expect({ passed: auth.passed, errorCode: auth.errorCode }).toEqual({ passed: false, errorCode: 'AUTH_FAILED' });
    expect(auth.remediation).toMatch(module.authRemediation);
    for (const secret of Object.values(wrong.credentials)) expect(JSON.stringify(result)).not.toContain(secret);
  });

  test('a full incremental read crosses at least three pages and maps every item', async () => {
    replica.server.clearRequests();
    const batches = await readAll(adapter, ctx(), input(connection()));
    if (module.snapshot) {
      // The vendor's API has no paging and no time filter: one answer is the whole feed.
      const streams = (adapter as unknown as { manifest: { streams: Array<{ pagination?: { type: string } }> } }).manifest.streams;
      for (const s of streams) expect(s.pagination?.type ?? 'none').toBe('none');
      expect(batches).toHaveLength(adapter.spec.eventTypes.length);
    } else expect(batches.length).toBeGreaterThanOrEqual(3);
    const got = records(batches);
    expect(got.length).toBeGreaterThanOrEqual(replica.items().length);
    expectAllMapped(module, replica.items(), got);
    for (const r of got) expect(r.eventType).toEqual(expect.any(String));
    const last = batches.at(-1)!.cursor;
    expect(JSON.stringify(last)).not.toMatch(/"page"/);
  });

  test('a read resumes from a committed cursor, mid-sync and after new items', async () => {
    const c = connection();
    if (module.snapshot) {
      // One answer per read, so nothing to resume mid-sync; new items appear in the next read.
      const all = await readAll(adapter, ctx(), input(c));
      const before = replica.items().length;
      replica.addItems(3);
      const next = records(await readAll(adapter, ctx(), input(c), all.at(-1)!.cursor));
      expectAllMapped(module, replica.items().slice(before), next);
      // With a cursor the feed is cut at the last sync (plus its lookback); without one, every
      // item comes again and the record store counts the repeats as duplicates.
      const hasCursor = adapter.spec.eventTypes.length > 0 && JSON.stringify(all.at(-1)!.cursor).includes('"value"');
      if (hasCursor) expect(next.length).toBeLessThan(replica.items().length);
      else expect(next.length).toBe(replica.items().length);
      return;
    }
    const full = records(await readAll(adapter, ctx(), input(c)));
    const [first] = await readAll(adapter, ctx(), input(c), null, 1);
    replica.server.clearRequests();
    const rest = await readAll(adapter, ctx(), input(c), first!.cursor);
    // The resumed read asks for the second page, not the first again.
    expect(records([first!, ...rest]).length).toBe(full.length);
    const end = rest.at(-1)!.cursor;

    const before = replica.items().length;
    replica.addItems(3);
    const fresh = replica.items().slice(before);
    const next = records(await readAll(adapter, ctx(), input(c), end));
    expectAllMapped(module, fresh, next);
    expect(next.length).toBeLessThan(full.length);
  });

  test('a 429 with a short Retry-After is waited out; a long one fails RATE_LIMITED', async () => {
    replica.server.clearRequests();
    replica.server.rateLimitNext(1, 1);
    const t0 = Date.now();
    const [batch] = await readAll(adapter, ctx(), input(connection()), null, 1);
    expect(batch!.records.length).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(replica.server.requests.map((r) => r.status).filter((s) => s === 429)).toHaveLength(1);

    replica.server.rateLimitNext(3600, 1);
    await expect(readAll(adapter, ctx(), input(connection()))).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 3600_000 });
  });

  test('OAuth 2.0 client credentials through a real authorization server, expiry reported', async () => {
    if (!adapter.spec.authTypes.includes('OAUTH2_CLIENT_CREDENTIALS')) {
      expect(['SIEM', 'ENDPOINT']).not.toContain(adapter.spec.type);
      return;
    }
    const expiries: Array<Date | null> = [];
    const c = replica.connection();
    const config = { ...c.config, ...(replica.oauthConfig?.() ?? {}), tokenUrl: as.tokenUrl, scope: as.scope };
    const result = await adapter.check(
      ctx({ onOAuthToken: (info) => expiries.push(info.expiresAt) }),
      { config, authType: 'OAUTH2_CLIENT_CREDENTIALS', credentials: { clientId: as.clientId, clientSecret: as.clientSecret } },
    );
    expectPassed(result);
    expect(expiries.length).toBeGreaterThan(0);
    expect(expiries[0]!.getTime()).toBeGreaterThan(Date.now());
  });

  test('a deselected event type is not read', async () => {
    const types = adapter.spec.eventTypes;
    if (types.length < 2) {
      expect(module.eventTypes ?? types).toHaveLength(types.length);
      return;
    }
    const [keep] = types;
    const got = records(await readAll(adapter, ctx(), input(connection(), { eventTypes: [keep!] })));
    expect(got.length).toBeGreaterThan(0);
    expect(new Set(got.map((r) => r.eventType))).toEqual(new Set([keep]));
  });
});
