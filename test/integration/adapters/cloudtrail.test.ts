/**
 * The `aws_cloudtrail` provider against a real S3 protocol server: s3rver behind the SigV4-checking
 * gateway of replicas/aws_cloudtrail.ts (s3rver alone accepts any V4 signature), filled with
 * CloudTrail log files in the documented key layout and format.
 *
 * - The adapter: a full read across accounts, regions, days and ListObjectsV2 pages (MaxKeys 1), a
 *   resume from a mid-read cursor, late files in an earlier day prefix, severity rules, AccessDenied,
 *   SlowDown, AssumeRole, bounded and malformed files, and the egress guard on the SDK's sockets.
 * - The service: stepwise tests over GraphQL (good, unknown key id, wrong secret, wrong bucket,
 *   private endpoint), then a connector enabled with workers on, its records queried, the service
 *   restarted on the same database, and the next run resuming from the committed cursor.
 *
 * The store's secret access key must reach no result, record, cursor, error or log line.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import { cloudTrailAdapter, migrateCloudTrailConfig, parseConfig } from '../../../src/adapters/cloudtrail/index.js';
import type { CloudTrailCursor, CloudTrailEventRecord } from '../../../src/adapters/cloudtrail/index.js';
import { createHttpClient } from '../../../src/adapters/http/client.js';
import type { HttpClient } from '../../../src/adapters/http/client.js';
import { getAdapter, listAdapters } from '../../../src/adapters/registry.js';
import type { AdapterContext, CheckResult, ConnectionInput, ReadCursor, RecordBatch } from '../../../src/adapters/spi.js';
import { ConnectorError } from '../../../src/errors/connector-error.js';
import { upstreamHost } from '../../../src/jobs/host-gate.js';
import { STORE_SECRET_ACCESS_KEY, gzipRecords, logFileKey, sample, startCloudTrailStore } from '../../../replicas/aws_cloudtrail.js';
import type { CloudTrailStore } from '../../../replicas/aws_cloudtrail.js';
import { startTestService, type TestService } from '../../helpers/server.js';
import { editor } from '../../helpers/tokens.js';
import { waitFor } from '../../helpers/wait.js';

const A = '111122223333';
const B = '444455556666';
const ORG = 'o-exampleorgid';
const DAY = 86_400_000;
const today = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()));
/** `n` days before today at hh:mm UTC. */
const at = (n: number, hh: number, mm = 0) => new Date(today.getTime() - n * DAY + (hh * 60 + mm) * 60_000);
const dayStr = (n: number) => new Date(today.getTime() - n * DAY).toISOString().slice(0, 10);
const SESSION_TOKEN_IN_LOG = 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENVALUE';

let store: CloudTrailStore;
let http: HttpClient;
const produced: unknown[] = [];
const logs: string[] = [];

function ctx(extra: Partial<AdapterContext> = {}): AdapterContext {
  return { http, ...extra };
}

function input(config: Record<string, unknown> = {}, credentials: Record<string, string> = { accessKeyId: store.key.accessKeyId, secretAccessKey: store.key.secretAccessKey }): ConnectionInput {
  return {
    authType: 'API_KEY',
    credentials,
    config: { bucket: store.bucket, region: store.region, endpoint: store.url, forcePathStyle: true, startDate: dayStr(3), maxAttempts: 1, ...config },
  };
}

async function readAll(i: ConnectionInput, cursor: ReadCursor = null, c: AdapterContext = ctx()): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const b of cloudTrailAdapter.read(c, i, cursor)) batches.push(b);
  produced.push(batches);
  return batches;
}

async function readError(i: ConnectionInput, c: AdapterContext = ctx()): Promise<ConnectorError> {
  try {
    await readAll(i, null, c);
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectorError);
    produced.push({ message: (e as Error).message, json: JSON.stringify(e) });
    return e as ConnectorError;
  }
  throw new Error('expected the read to fail');
}

async function check(i: ConnectionInput, c: AdapterContext = ctx()): Promise<CheckResult> {
  const r = await cloudTrailAdapter.check(c, i);
  produced.push(r);
  return r;
}

const step = (r: { steps: Array<{ name: string }> }, name: string) => r.steps.find((s) => s.name === name) as CheckResult['steps'][number];
const recordsOf = (batches: RecordBatch[]) => batches.flatMap((b) => b.records) as CloudTrailEventRecord[];
const gets = () => store.requests.filter((r) => r.action === 's3:GetObject').map((r) => decodeURIComponent(r.path.slice(store.bucket.length + 2)));
const lists = () => store.requests.filter((r) => r.action === 's3:ListBucket');

/** The trail: two accounts (one through an organization trail), two regions, three days, several files a day. */
const files: Array<{ key: string; ids: string[] }> = [];
async function put(spec: Parameters<typeof logFileKey>[0], records: Array<{ eventID: string }>): Promise<string> {
  const key = await store.putLogFile(spec, records);
  files.push({ key, ids: records.map((r) => r.eventID) });
  return key;
}

beforeAll(async () => {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
  }
  http = createHttpClient({ egressAllow: ['127.0.0.1/32'] });
  store = await startCloudTrailStore();
  await put({ account: A, region: 'us-east-1', deliveredAt: at(2, 9, 5), unique: 'AAAAAAAAAAAAAAA1' }, [sample.consoleLoginSuccess({ at: at(2, 9), n: 1 }), sample.consoleLoginFailure({ at: at(2, 9, 1), n: 1 })]);
  await put({ account: A, region: 'us-east-1', deliveredAt: at(2, 14, 5), unique: 'AAAAAAAAAAAAAAA2' }, [sample.iamCreateUser({ at: at(2, 14), n: 2 }), sample.assumeRole({ at: at(2, 14, 1), n: 2 })]);
  await put({ account: A, region: 'us-east-1', deliveredAt: at(1, 9, 5), unique: 'AAAAAAAAAAAAAAA3' }, [sample.consoleLoginFailure({ at: at(1, 9), n: 3 })]);
  await put({ account: A, region: 'us-east-1', deliveredAt: at(1, 18, 5), unique: 'AAAAAAAAAAAAAAA4' }, [sample.iamAttachUserPolicy({ account: A, at: at(1, 18), n: 4 })]);
  await put({ account: A, region: 'us-east-2', deliveredAt: at(1, 12, 5), unique: 'BBBBBBBBBBBBBBB1' }, [sample.accessDenied({ at: at(1, 12), n: 5 }), sample.s3GetObject({ at: at(1, 12, 1), n: 5, region: 'us-east-2' })]);
  await put({ account: B, region: 'us-east-1', organizationId: ORG, deliveredAt: at(0, 0, 5), unique: 'CCCCCCCCCCCCCCC1' }, [sample.rootConsoleLogin({ account: B, at: at(0, 0), n: 6 })]);
  // Not log files: a digest-like object and a folder marker are skipped.
  await store.put(`AWSLogs/${A}/CloudTrail/us-east-1/${dayStr(1).replaceAll('-', '/')}/notes.txt`, 'not a log file');
  await store.put(`AWSLogs/${A}/CloudTrail-Digest/us-east-1/${dayStr(1).replaceAll('-', '/')}/${A}_CloudTrail-Digest_us-east-1_x.json.gz`, gzipRecords([]));
});

afterAll(async () => {
  http?.close();
  await store?.close();
  jest.restoreAllMocks();
  // Nothing kept or logged carries the secret access key or a logged session token.
  const text = JSON.stringify(produced) + logs.join('\n');
  expect(text).not.toContain(STORE_SECRET_ACCESS_KEY);
  expect(text).not.toContain(SESSION_TOKEN_IN_LOG);
});

beforeEach(() => store.clearRequests());

describe('spec', () => {
  test('registered as the CLOUD_LOGS provider aws_cloudtrail, signing with access keys (session token optional)', () => {
    expect(getAdapter('aws_cloudtrail')).toBe(cloudTrailAdapter);
    expect(listAdapters('CLOUD_LOGS').map((a) => a.spec.id)).toContain('aws_cloudtrail');
    const { spec } = cloudTrailAdapter;
    expect(spec).toMatchObject({ type: 'CLOUD_LOGS', authTypes: ['API_KEY'], requiredCredentials: { API_KEY: ['accessKeyId', 'secretAccessKey'] }, optionalCredentials: { API_KEY: ['sessionToken'] } });
    for (const p of Object.values(spec.credentialsSchema.properties as Record<string, { writeOnly?: boolean }>)) expect(p.writeOnly).toBe(true);
    expect(spec.documentationUrl).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/awscloudtrail\//);
    expect(spec.notes).toMatch(/lookbackDays/);
  });

  test('endpoint (the API contract\'s key for a custom S3 endpoint): no query, fragment or userinfo; the old baseUrl is refused', () => {
    const base = { bucket: 'trail-bucket' };
    expect(parseConfig({ ...base, endpoint: 'https://minio.example:9000' }).endpoint).toBe('https://minio.example:9000');
    expect(parseConfig(base).endpoint).toBeUndefined();
    expect(() => parseConfig({ ...base, endpoint: 'https://minio.example/?region=x' })).toThrow(/endpoint must not contain a query or fragment/);
    expect(() => parseConfig({ ...base, endpoint: 'https://minio.example/#x' })).toThrow(/endpoint must not contain a query or fragment/);
    expect(() => parseConfig({ ...base, endpoint: 'https://minio.example/?token=x' })).toThrow(/secret-looking query parameter "token"/);
    expect(() => parseConfig({ ...base, endpoint: 'https://ak:sk@minio.example/' })).toThrow(/endpoint must not contain a user name or password/);
    expect(cloudTrailAdapter.spec.configProblems!({ ...base, endpoint: 'https://minio.example/?a=b' })).toEqual([{ path: 'endpoint', message: 'must not contain a query or fragment' }]);
    expect(() => parseConfig({ ...base, baseUrl: 'https://minio.example' })).toThrow(/unknown property "baseUrl"/);
    // The host gate keys on the S3 endpoint, whatever the order of the keys, not on the STS one.
    expect(upstreamHost('aws_cloudtrail', { ...base, stsEndpoint: 'https://sts.example', endpoint: 'http://minio.example:9000' })).toBe('minio.example:9000');
  });

  test('config version 2: a stored version 1 config has its baseUrl renamed endpoint', () => {
    expect(cloudTrailAdapter.spec.configVersion).toBe(2);
    const v1 = { bucket: 'trail-bucket', baseUrl: 'http://minio.example:9000', forcePathStyle: true };
    expect(cloudTrailAdapter.spec.migrateConfig!(v1, 1)).toEqual({ bucket: 'trail-bucket', endpoint: 'http://minio.example:9000', forcePathStyle: true });
    expect(v1).toHaveProperty('baseUrl');
    expect(migrateCloudTrailConfig({ bucket: 'b', baseUrl: 'http://old.example', endpoint: 'http://new.example' }, 1)).toEqual({ bucket: 'b', endpoint: 'http://new.example' });
    expect(migrateCloudTrailConfig({ bucket: 'b' }, 1)).toEqual({ bucket: 'b' });
    expect(migrateCloudTrailConfig({ bucket: 'b', endpoint: 'http://new.example' }, 2)).toEqual({ bucket: 'b', endpoint: 'http://new.example' });
  });
});

describe('read', () => {
  test('every file of every account, region and day, one batch per file, across ListObjectsV2 pages of one key', async () => {
    const batches = await readAll(input({ maxKeys: 1 }));
    const keysRead = gets();
    // Streams in key order (A's two regions, then the organization trail's account), days oldest first.
    expect(keysRead).toEqual(files.slice(0, 6).map((f) => f.key));
    expect(batches.filter((b) => b.records.length).map((b) => b.records.map((r) => r.eventId))).toEqual(files.slice(0, 6).map((f) => f.ids));
    for (const b of batches) expect(b.dedupKey).toEqual(['/eventId']);
    // MaxKeys 1: days with two files (and the skipped notes.txt) took continuation pages.
    expect(lists().every((r) => r.query['max-keys'] === '1' || r.query.delimiter === '/')).toBe(true);
    expect(lists().some((r) => r.query['continuation-token'])).toBe(true);
    const last = batches.at(-1)!.cursor as CloudTrailCursor;
    expect(last.streams).toEqual({
      [`AWSLogs/${ORG}/${B}/CloudTrail/us-east-1/`]: dayStr(0),
      [`AWSLogs/${A}/CloudTrail/us-east-1/`]: dayStr(0),
      [`AWSLogs/${A}/CloudTrail/us-east-2/`]: dayStr(0),
    });
    const d1 = `AWSLogs/${A}/CloudTrail/us-east-1/${dayStr(1).replaceAll('-', '/')}/`;
    expect(last.prefixes[d1]).toEqual({ stamp: files[3]!.key.replace(/[A-Za-z0-9]{16}\.json\.gz$/, ''), seen: [files[3]!.key] });

    // A second read lists again and reads nothing.
    store.clearRequests();
    const again = await readAll(input({ maxKeys: 1 }), last);
    expect(recordsOf(again)).toEqual([]);
    expect(gets()).toEqual([]);
    // Each day prefix is listed from its own StartAfter: the settle window (60 minutes) before its position.
    expect(lists().find((r) => r.query.prefix === d1)?.query['start-after']).toBe(last.prefixes[d1]!.stamp.replace(/T1805Z_$/, 'T1705Z_'));
  });

  test('a read resumed from the cursor of its third batch reads only the files after it', async () => {
    const first = await readAll(input());
    store.clearRequests();
    const resumed = await readAll(input(), first[2]!.cursor);
    expect(gets()).toEqual(files.slice(3, 6).map((f) => f.key));
    expect(recordsOf(resumed).map((r) => r.eventId)).toEqual(files.slice(3, 6).flatMap((f) => f.ids));
  });

  test('files that become visible late are read: in an earlier day prefix, in the settle window, in the same minute; not outside the windows', async () => {
    const first = await readAll(input());
    const cursor = first.at(-1)!.cursor as CloudTrailCursor;
    const put = (deliveredAt: Date, unique: string, record: { eventID: string }) => store.putLogFile({ account: A, region: 'us-east-1', deliveredAt, unique }, [record]);
    // Yesterday's prefix, after today's files were read: written at 23:58, visible only now.
    const lateDay = await put(at(1, 23, 58), 'LLLLLLLLLLLLLLL1', sample.iamCreateUser({ at: at(1, 23, 50), n: 90 }));
    // Older than the newest file read in that prefix (18:05), but within the settle window (60 min).
    const settling = await put(at(1, 17, 30), 'LLLLLLLLLLLLLLL2', sample.consoleLoginFailure({ at: at(1, 17, 25), n: 91 }));
    // The same minute as that newest file, with a smaller unique string.
    const sameMinute = await put(at(1, 18, 5), 'AAAAAAAAAAAAAAA0', sample.consoleLoginSuccess({ at: at(1, 18, 2), n: 92 }));
    // Fifteen hours older than the position: outside the settle window.
    const tooOld = await put(at(1, 3, 0), 'LLLLLLLLLLLLLLL3', sample.accessDenied({ at: at(1, 2), n: 93 }));
    // Five days ago: outside the lookback window (2 days).
    const tooEarly = await put(at(5, 3, 0), 'LLLLLLLLLLLLLLL4', sample.accessDenied({ at: at(5, 2), n: 94 }));
    // A single StartAfter per stream (the newest key read) would have skipped all of them.
    const newest = files[3]!.key;
    for (const k of [lateDay, settling, sameMinute]) expect(k < files[5]!.key || k < newest || k.includes(dayStr(1).replaceAll('-', '/'))).toBe(true);
    expect([settling, sameMinute, tooOld].every((k) => k < newest)).toBe(true);

    store.clearRequests();
    const next = await readAll(input(), cursor);
    expect(gets().sort()).toEqual([lateDay, settling, sameMinute].sort());
    expect(recordsOf(next).map((r) => r.name).sort()).toEqual(['ConsoleLogin', 'ConsoleLogin', 'CreateUser']);
    // And they are not read a second time.
    store.clearRequests();
    expect(recordsOf(await readAll(input(), next.at(-1)!.cursor))).toEqual([]);
    expect(gets()).toEqual([]);

    // settleMinutes 1440 re-lists whole day prefixes: a file hours late in its prefix is read too.
    const wide = await readAll(input({ settleMinutes: 1440 }));
    const late = await put(at(1, 1, 0), 'LLLLLLLLLLLLLLL5', sample.iamAttachUserPolicy({ account: A, at: at(1, 0, 55), n: 95 }));
    store.clearRequests();
    expect(recordsOf(await readAll(input({ settleMinutes: 1440 }), wide.at(-1)!.cursor)).map((r) => r.name)).toEqual(['AttachUserPolicy']);
    expect(gets()).toEqual([late]);

    // A reset to five days ago lists from there and finds the file of that day.
    store.clearRequests();
    await readAll(input(), cloudTrailAdapter.cursorFrom!(input(), at(5, 0)));
    expect(gets()).toContain(tooEarly);
    // Leave the store as the other tests expect it.
    for (const k of [lateDay, settling, sameMinute, tooOld, tooEarly, late]) await store.remove(k);
  });

  test('records: mapping and severity rules; no request or response payloads, no session tokens', async () => {
    const got = recordsOf(await readAll(input()));
    const by = (name: string, pred: (r: CloudTrailEventRecord) => boolean = () => true) => got.find((r) => r.name === name && pred(r))!;
    const failed = by('ConsoleLogin', (r) => r.consoleLogin === 'Failure');
    expect(failed).toMatchObject({
      kind: 'event',
      format: 'CloudTrail',
      vendor: 'AWS',
      product: 'CloudTrail',
      eventSource: 'signin.amazonaws.com',
      src: '203.0.113.42',
      outcome: 'failure',
      severity: 7,
      severityReasons: ['console_login_failure'],
      userIdentity: { type: 'IAMUser', userName: 'Paulo', accountId: A },
      errorMessage: 'Failed authentication',
    });
    expect(by('ConsoleLogin', (r) => r.consoleLogin === 'Success' && r.userIdentity.type === 'IAMUser')).toMatchObject({ severity: 2, outcome: 'success', mfaUsed: 'Yes' });
    expect(by('ConsoleLogin', (r) => r.userIdentity.type === 'Root')).toMatchObject({ severity: 8, severityReasons: ['root_usage', 'write'], user: `arn:aws:iam::${B}:root`, recipientAccountId: B });
    expect(by('CreateUser')).toMatchObject({ severity: 6, severityReasons: ['iam_change', 'write'], user: `arn:aws:iam::${A}:user/Alice`, userIdentity: { accessKeyId: 'AKIAI44QH8DHBEXAMPLE' } });
    expect(by('AttachUserPolicy')).toMatchObject({ severity: 6 });
    expect(by('StartInstances')).toMatchObject({ severity: 5, severityReasons: ['access_denied'], errorCode: 'Client.UnauthorizedOperation', awsRegion: 'us-east-2', outcome: 'failure' });
    expect(by('GetObject')).toMatchObject({
      severity: 1,
      readOnly: true,
      userIdentity: { type: 'AssumedRole', sessionIssuer: { type: 'Role', userName: 'ReportReader' }, mfaAuthenticated: false },
      resources: [{ arn: 'arn:aws:s3:::amzn-s3-demo-bucket/reports/q2.csv', type: 'AWS::S3::Object', accountId: null }, expect.objectContaining({ type: 'AWS::S3::Bucket' })],
    });
    const assumed = by('AssumeRole');
    expect(assumed.severity).toBe(1);
    expect(JSON.stringify(assumed)).not.toContain(SESSION_TOKEN_IN_LOG);
    for (const r of got) {
      expect(r).not.toHaveProperty('requestParameters');
      expect(r).not.toHaveProperty('responseElements');
      expect(r.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
      expect(r.eventId).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.logFile).toMatch(/\.json\.gz$/);
    }
  });

  test('organizationId and accounts/regions narrow the streams', async () => {
    expect(new Set(recordsOf(await readAll(input({ organizationId: ORG }))).map((r) => r.recipientAccountId))).toEqual(new Set([B]));
    const east2 = recordsOf(await readAll(input({ accounts: [A], regions: ['us-east-2'] })));
    expect(east2.map((r) => r.name)).toEqual(['StartInstances', 'GetObject']);
  });

  test('a file over maxObjectBytes, and a file that is not gzip JSON, fail the read with BAD_RESPONSE', async () => {
    const big = await store.putLogFile({ account: '999988887777', region: 'eu-west-1', deliveredAt: at(0, 1) }, Array.from({ length: 40 }, (_, n) => sample.s3GetObject({ at: at(0, 1), n: 100 + n })));
    const cfg = { accounts: ['999988887777'] };
    const tooBig = await readError(input({ ...cfg, maxObjectBytes: 4096 }));
    expect(tooBig).toMatchObject({ code: 'BAD_RESPONSE' });
    expect(tooBig.message).toMatch(/larger than the 4096-byte limit/);
    await store.put(big, 'plain text, not gzip');
    expect((await readError(input(cfg))).message).toMatch(/is not a gzip file/);
    await store.put(big, gzipRecords([]).subarray(0, 10));
    expect((await readError(input(cfg))).code).toBe('BAD_RESPONSE');
    await store.put(big, gzipSync('{"NotRecords": []}'));
    expect((await readError(input(cfg))).message).toMatch(/no Records array/);
    await store.remove(big);
  });
});

describe('S3 and STS failures', () => {
  test('AccessDenied on ListObjectsV2 fails AUTHENTICATE, on GetObject SAMPLE_QUERY, each naming the permission', async () => {
    store.addKey({ accessKeyId: 'AKIANOLISTEXAMPLE001', secretAccessKey: 'no-list-secret-0123456789', deny: ['s3:ListBucket'] });
    const noList = await check(input({}, { accessKeyId: 'AKIANOLISTEXAMPLE001', secretAccessKey: 'no-list-secret-0123456789' }));
    expect(step(noList, 'CONNECT').passed).toBe(true);
    expect(step(noList, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', retryable: false });
    expect(step(noList, 'AUTHENTICATE').message).toMatch(/AccessDenied/);
    expect(step(noList, 'AUTHENTICATE').remediation).toMatch(/s3:ListBucket on arn:aws:s3:::cloudtrail-logs-111122223333/);

    store.addKey({ accessKeyId: 'AKIANOGETEXAMPLE0001', secretAccessKey: 'no-get-secret-0123456789', deny: ['s3:GetObject'] });
    const noGet = await check(input({}, { accessKeyId: 'AKIANOGETEXAMPLE0001', secretAccessKey: 'no-get-secret-0123456789' }));
    expect(step(noGet, 'AUTHENTICATE').passed).toBe(true);
    expect(step(noGet, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED' });
    expect(step(noGet, 'SAMPLE_QUERY').remediation).toMatch(/s3:GetObject on arn:aws:s3:::cloudtrail-logs-111122223333\/AWSLogs\/\*/);
    expect((await readError(input({}, { accessKeyId: 'AKIANOGETEXAMPLE0001', secretAccessKey: 'no-get-secret-0123456789' })))).toMatchObject({ code: 'AUTH_FAILED', status: 403 });
  });

  test('SlowDown: retried by the SDK when it passes, RATE_LIMITED (retry later) when it persists', async () => {
    store.slowDown(1);
    const ok = await readAll(input({ maxAttempts: 3, accounts: [A], regions: ['us-east-2'] }));
    expect(recordsOf(ok)).toHaveLength(2);
    expect(store.requests.filter((r) => r.status === 503)).toHaveLength(1);
    store.slowDown(10);
    const err = await readError(input({ maxAttempts: 2 }));
    expect(err).toMatchObject({ code: 'RATE_LIMITED', retryable: true, status: 503 });
    expect(err.message).toMatch(/SlowDown/);
    store.slowDown(10);
    const r = await check(input({ maxAttempts: 1 }));
    expect(step(r, 'AUTHENTICATE').passed).toBe(true);
    expect(step(r, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'RATE_LIMITED', retryable: true });
    expect(step(r, 'SAMPLE_QUERY').remediation).toMatch(/throttling/);
    store.slowDown(0);
  });

  test('roleArn: the keys assume the role through STS and its temporary credentials read the bucket', async () => {
    const roleArn = `arn:aws:iam::${A}:role/CloudTrailReader`;
    const r = await check(input({ roleArn, externalId: 'ext-1234', stsEndpoint: store.url }));
    expect(r.steps.map((s) => [s.name, s.passed])).toEqual([['CONNECT', true], ['AUTHENTICATE', true], ['SAMPLE_QUERY', true], ['VALIDATE_FORMAT', true]]);
    const sts = store.requests.filter((x) => x.action === 'sts:AssumeRole');
    expect(sts).toHaveLength(1);
    expect(sts[0]).toMatchObject({ accessKeyId: store.key.accessKeyId, status: 200 });
    const s3 = store.requests.filter((x) => x.action.startsWith('s3:'));
    expect(s3.length).toBeGreaterThan(0);
    for (const x of s3) expect(x.accessKeyId).toMatch(/^ASIA/);

    store.addKey({ accessKeyId: 'AKIANOROLEEXAMPLE001', secretAccessKey: 'no-role-secret-0123456789', deny: ['sts:AssumeRole'] });
    const denied = await check(input({ roleArn, stsEndpoint: store.url }, { accessKeyId: 'AKIANOROLEEXAMPLE001', secretAccessKey: 'no-role-secret-0123456789' }));
    expect(step(denied, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED' });
    expect(step(denied, 'AUTHENTICATE').remediation).toMatch(/sts:AssumeRole/);
  });

  test('the egress guard holds on the SDK sockets: a loopback endpoint is refused without EGRESS_ALLOW, by IP and by name', async () => {
    const strict = createHttpClient({ egressAllow: [] });
    try {
      const port = new URL(store.url).port;
      for (const endpoint of [store.url, `http://localhost:${port}`]) {
        const r = await check(input({ endpoint }), ctx({ http: strict }));
        expect(step(r, 'CONNECT')).toMatchObject({ passed: false, errorCode: 'EGRESS_DENIED' });
        expect(step(r, 'CONNECT').remediation).toMatch(/EGRESS_ALLOW/);
        expect(await readError(input({ endpoint }), ctx({ http: strict }))).toMatchObject({ code: 'EGRESS_DENIED' });
      }
      // Through STS too: the role's endpoint is judged like S3's.
      const viaSts = await readError(input({ endpoint: `http://localhost:${port}`, roleArn: `arn:aws:iam::${A}:role/R`, stsEndpoint: `http://localhost:${port}` }), ctx({ http: strict }));
      expect(viaSts.code).toBe('EGRESS_DENIED');
      expect(store.requests).toEqual([]);
    } finally {
      strict.close();
    }
  });
});

describe('through the GraphQL API', () => {
  const RESULT = 'success message steps { name passed message errorCode retryable remediation } sample';
  const TEST_DRAFT = `mutation($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { ${RESULT} } }`;
  const CREATE = `mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id enabled credentialFields } }`;
  const SYNC = 'mutation($id: ID!) { syncConnector(id: $id) { id status } }';
  const RUNS = 'query($id: ID!) { connector(id: $id) { ingestionRuns(first: 10) { status recordsRead recordsWritten error } } }';
  const CONFIG = 'query($id: ID!) { connector(id: $id) { schemaVersion version config } }';
  const RECORDS = `query($filter: RecordFilter) { records(filter: $filter, first: 100) { totalCount nodes { severity title observedAt data } } }`;
  // One data directory for both starts: the local secret store's master key lives there.
  const WORKERS = { RUN_WORKERS: 'true', JOB_POLL_MS: '500', DATA_DIR: mkdtempSync(join(tmpdir(), 'cloudtrail-data-')) };
  let svc: TestService;
  let ed: string;
  const services: TestService[] = [];

  beforeAll(async () => {
    svc = await startTestService('cloudtrail', WORKERS);
    services.push(svc);
    ed = await editor('t-cloudtrail');
  });
  afterAll(async () => {
    for (const s of services) await s.close();
  });

  const draft = async (config: Record<string, unknown>, credentials: Record<string, string> = { accessKeyId: store.key.accessKeyId, secretAccessKey: store.key.secretAccessKey }) => {
    const i = input(config, credentials);
    const { testConnectorConfig } = await svc.ok(TEST_DRAFT, { input: { provider: 'aws_cloudtrail', authType: 'API_KEY', config: i.config, credentials } }, ed);
    produced.push(testConnectorConfig);
    return testConnectorConfig as CheckResult & { sample: CloudTrailEventRecord[] };
  };

  test('testConnectorConfig: four steps with samples; a bad key id, a wrong secret and a wrong bucket each fail with a remediation', async () => {
    const good = await draft({});
    expect(good.steps.map((s) => [s.name, s.passed])).toEqual([['CONNECT', true], ['AUTHENTICATE', true], ['SAMPLE_QUERY', true], ['VALIDATE_FORMAT', true]]);
    expect(good.sample.length).toBeGreaterThan(0);
    expect(good.sample[0]).toMatchObject({ kind: 'event', format: 'CloudTrail' });

    // An unknown key id: refused by s3rver itself.
    const unknown = await draft({}, { accessKeyId: 'AKIAUNKNOWNEXAMPLE01', secretAccessKey: store.key.secretAccessKey });
    expect(step(unknown, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED', retryable: false });
    expect(step(unknown, 'AUTHENTICATE').message).toMatch(/InvalidAccessKeyId/);
    expect(step(unknown, 'AUTHENTICATE').remediation).toMatch(/accessKeyId/);

    // The right key id with a wrong secret: the signature does not verify.
    const wrongSecret = await draft({}, { accessKeyId: store.key.accessKeyId, secretAccessKey: 'wrong-secret-access-key-0123456789' });
    expect(step(wrongSecret, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED' });
    expect(step(wrongSecret, 'AUTHENTICATE').message).toMatch(/SignatureDoesNotMatch/);
    expect(step(wrongSecret, 'AUTHENTICATE').remediation).toMatch(/secretAccessKey/);
    expect(JSON.stringify(wrongSecret)).not.toContain('wrong-secret-access-key-0123456789');

    // A session token that does not belong to the keys.
    store.addKey({ accessKeyId: 'ASIATEMPORARYEXAMPLE', secretAccessKey: 'temp-secret-0123456789', sessionToken: 'the-right-session-token' });
    const badToken = await draft({}, { accessKeyId: 'ASIATEMPORARYEXAMPLE', secretAccessKey: 'temp-secret-0123456789', sessionToken: 'a-stale-session-token' });
    expect(step(badToken, 'AUTHENTICATE')).toMatchObject({ passed: false, errorCode: 'AUTH_FAILED' });
    expect(step(badToken, 'AUTHENTICATE').remediation).toMatch(/session token/);
    expect((await draft({}, { accessKeyId: 'ASIATEMPORARYEXAMPLE', secretAccessKey: 'temp-secret-0123456789', sessionToken: 'the-right-session-token' })).success).toBe(true);

    const noBucket = await draft({ bucket: 'no-such-trail-bucket' });
    expect(step(noBucket, 'AUTHENTICATE').passed).toBe(true);
    expect(step(noBucket, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'CONFIG_INVALID', retryable: false });
    expect(step(noBucket, 'SAMPLE_QUERY').message).toMatch(/NoSuchBucket/);
    expect(step(noBucket, 'SAMPLE_QUERY').remediation).toMatch(/no-such-trail-bucket does not exist/);

    const wrongPrefix = await draft({ prefix: 'other-trail' });
    expect(step(wrongPrefix, 'SAMPLE_QUERY')).toMatchObject({ passed: false, errorCode: 'CONFIG_INVALID' });
    expect(step(wrongPrefix, 'SAMPLE_QUERY').remediation).toMatch(/check prefix/);
  });

  test('a private endpoint outside EGRESS_ALLOW (127.0.0.1/32 here) is refused at CONNECT', async () => {
    const t0 = performance.now();
    const r = await draft({ endpoint: 'http://10.20.30.40:9000' });
    expect(step(r, 'CONNECT')).toMatchObject({ passed: false, errorCode: 'EGRESS_DENIED' });
    expect(step(r, 'CONNECT').message).toMatch(/Egress to 10\.20\.30\.40 refused/);
    // Not a connect attempt to an unroutable address (the S3 budget is 30 s by default).
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  test('the old baseUrl key is refused at create, naming it', async () => {
    const { endpoint, ...rest } = input().config as Record<string, unknown>;
    const res = await svc.gql(CREATE, { input: { name: 'Old key', provider: 'aws_cloudtrail', authType: 'API_KEY', config: { ...rest, baseUrl: endpoint }, credentials: input().credentials } }, ed);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(res.body.errors)).toMatch(/baseUrl/);
    const query = await svc.gql(CREATE, { input: { name: 'Query', provider: 'aws_cloudtrail', authType: 'API_KEY', config: { ...rest, endpoint: `${String(endpoint)}/?x=1` }, credentials: input().credentials } }, ed);
    expect(query.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(query.body.errors)).toContain('config.endpoint');
  });

  test('enabled with workers: records ingested and queryable by severity; after a restart (which upgrades a version 1 config, baseUrl → endpoint) the next run resumes from the committed cursor', async () => {
    const i = input({ maxKeys: 2 });
    const created = (await svc.ok(CREATE, { input: { name: 'CloudTrail org trail', provider: 'aws_cloudtrail', authType: 'API_KEY', config: { ...i.config, syncIntervalSec: 3600 }, credentials: i.credentials, enabled: true } }, ed)).createConnector;
    expect(created.credentialFields.sort()).toEqual(['accessKeyId', 'secretAccessKey']);
    const expected = files.reduce((n, f) => n + f.ids.length, 0);
    const all = await waitFor('records ingested', async () => {
      const runs = (await svc.ok(RUNS, { id: created.id }, ed)).connector.ingestionRuns;
      if (runs.some((r: { status: string }) => r.status === 'FAILED')) throw new Error(`run failed: ${JSON.stringify(runs)}`);
      const { records } = await svc.ok(RECORDS, { filter: { connectorIds: [created.id] } }, ed);
      return records.totalCount >= expected ? records : null;
    }, 30_000, 250);
    expect(all.totalCount).toBe(expected);
    const high = (await svc.ok(RECORDS, { filter: { connectorIds: [created.id], severityAtLeast: 7 } }, ed)).records;
    expect(high.nodes.map((n: { title: string; severity: number }) => [n.title, n.severity]).sort()).toEqual([['ConsoleLogin', 7], ['ConsoleLogin', 7], ['ConsoleLogin', 8]]);
    const [cursorRow] = await svc.dataSource.query('SELECT cursor FROM ingestion_cursors WHERE connector_id = $1', [created.id]);
    expect(Object.keys((cursorRow.cursor as CloudTrailCursor).streams)).toHaveLength(3);
    produced.push(all, cursorRow);

    // As a version 1 config stored it (the custom S3 endpoint under baseUrl): start-up upgrades it.
    const stored = (await svc.ok(CONFIG, { id: created.id }, ed)).connector;
    expect(stored.schemaVersion).toBe(2);
    const { endpoint, ...rest } = stored.config as Record<string, unknown>;
    expect(endpoint).toBe(store.url);
    await svc.dataSource.query('UPDATE connectors SET config = $2, schema_version = 1 WHERE id = $1', [created.id, JSON.stringify({ ...rest, baseUrl: endpoint })]);

    // Restart on the same database; meanwhile CloudTrail delivers a new file today and a late one yesterday.
    const databaseUrl = svc.databaseUrl;
    await svc.close();
    services.splice(services.indexOf(svc), 1);
    const fresh = await store.putLogFile({ account: A, region: 'us-east-1', deliveredAt: at(0, 0, 30), unique: 'DDDDDDDDDDDDDDD1' }, [sample.iamCreateUser({ at: at(0, 0, 20), n: 200 })]);
    const late = await store.putLogFile({ account: A, region: 'us-east-2', deliveredAt: at(1, 23, 59), unique: 'DDDDDDDDDDDDDDD2' }, [sample.accessDenied({ at: at(1, 23, 50), n: 201 })]);
    store.clearRequests();
    svc = await startTestService('cloudtrail', { ...WORKERS, DATABASE_URL: databaseUrl });
    services.push(svc);
    const upgraded = (await svc.ok(CONFIG, { id: created.id }, ed)).connector;
    expect(upgraded).toMatchObject({ schemaVersion: 2, config: { endpoint: store.url } });
    expect(upgraded.version).toBeGreaterThan(stored.version);
    expect(upgraded.config).not.toHaveProperty('baseUrl');
    const [audit] = await svc.dataSource.query(
      `SELECT actor_type, actor_id, changes FROM audit_events WHERE target_id = $1 AND event_type = 'CONNECTOR_UPDATED' ORDER BY id DESC LIMIT 1`,
      [created.id],
    );
    expect(audit).toMatchObject({ actor_type: 'SYSTEM', actor_id: 'config-migration', changes: expect.objectContaining({ schemaVersion: { before: 1, after: 2 } }) });
    expect(JSON.stringify(audit)).not.toContain(store.key.secretAccessKey);
    await svc.ok(SYNC, { id: created.id }, ed);
    const after = await waitFor('the resumed run', async () => {
      const runs = (await svc.ok(RUNS, { id: created.id }, ed)).connector.ingestionRuns;
      if (runs.some((r: { status: string }) => r.status === 'FAILED')) throw new Error(`run failed: ${JSON.stringify(runs)}`);
      const { records } = await svc.ok(RECORDS, { filter: { connectorIds: [created.id] } }, ed);
      // Records are committed batch by batch: the run's row says SUCCEEDED a moment after the last one.
      return records.totalCount >= expected + 2 && runs[0]?.status === 'SUCCEEDED' ? records : null;
    }, 30_000, 250);
    expect(after.totalCount).toBe(expected + 2);
    // Only the two new files were read: nothing before the committed cursor was fetched again.
    expect(gets().sort()).toEqual([fresh, late].sort());
    const runs = (await svc.ok(RUNS, { id: created.id }, ed)).connector.ingestionRuns;
    expect(runs[0]).toMatchObject({ status: 'SUCCEEDED', recordsRead: 2, recordsWritten: 2 });
    for (const k of [fresh, late]) await store.remove(k);
  });
});
