/**
 * A CloudTrail bucket on loopback for the `aws_cloudtrail` provider: s3rver (a real S3 protocol
 * server: ListObjectsV2 with StartAfter, MaxKeys and continuation tokens, GetObject) behind a small
 * gateway that does what s3rver does not:
 *
 * - verifies SigV4 signatures (s3rver checks only that the access key id exists and accepts any V4
 *   signature): a wrong secret gets S3's `SignatureDoesNotMatch`, a wrong session token
 *   `InvalidToken`; an unknown key id is refused by s3rver itself (`InvalidAccessKeyId`);
 * - applies a per-key deny list (`s3:ListBucket`, `s3:GetObject`) answered with S3's `AccessDenied`,
 *   standing in for IAM;
 * - answers injected `503 SlowDown`s;
 * - answers ListObjectsV2 itself (Prefix, Delimiter, StartAfter, MaxKeys, continuation tokens),
 *   from s3rver's version 1 listing (Marker) of the prefix: s3rver 3.7.1 makes its V2
 *   continuation tokens with DES, which OpenSSL 3 no longer has (every truncated V2 listing is an
 *   HTTP 500 on current Node), and its filesystem store does not descend below the first level
 *   under the prefix when a delimiter is given (no CommonPrefixes for deeper keys, and every
 *   CloudTrail key is deeper);
 * - serves STS `AssumeRole` (POST form, SigV4) for role assumption, issuing temporary keys;
 * - logs every request.
 *
 * Log files are laid out and shaped as AWS documents them: keys
 * `AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz`,
 * bodies gzip JSON `{ "Records": [...] }` with records like the examples of the CloudTrail user
 * guide (console sign-ins, root usage, IAM changes, S3 data events, AccessDenied errors).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';

export interface StoreKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Actions refused with AccessDenied: `s3:ListBucket`, `s3:GetObject`. */
  deny?: string[];
}

export interface SeenStoreRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  accessKeyId: string | null;
  status: number;
  action: string;
}

export interface CloudTrailStore {
  /** The gateway: the S3 endpoint (path-style) and, at the same address, STS. */
  url: string;
  bucket: string;
  region: string;
  /** The key pair that may do everything. */
  key: StoreKey;
  requests: SeenStoreRequest[];
  clearRequests(): void;
  addKey(key: StoreKey): void;
  /** The next `n` S3 requests answer 503 SlowDown. */
  slowDown(n: number): void;
  /** Writes an object straight into the bucket (a gzip log file, or anything). */
  put(key: string, body: Buffer | string): Promise<void>;
  /** Deletes an object. */
  remove(key: string): Promise<void>;
  /** Writes a CloudTrail log file of `records`; returns its key. */
  putLogFile(file: LogFileSpec, records: unknown[]): Promise<string>;
  /** Starts the gateway on a fixed port (npm run replicas). */
  close(): Promise<void>;
}

export interface LogFileSpec {
  account: string;
  region: string;
  /** Delivery time: the day folder and the name's stamp. */
  deliveredAt: Date | string;
  /** 16 characters; random when absent. */
  unique?: string;
  organizationId?: string;
  prefix?: string;
}

export const STORE_REGION = 'us-east-1';
export const STORE_BUCKET = 'cloudtrail-logs-111122223333';
export const STORE_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const STORE_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const RFC3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** `…/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz` */
export function logFileKey(f: LogFileSpec): string {
  const at = new Date(f.deliveredAt);
  const iso = at.toISOString();
  const day = `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
  const unique = f.unique ?? randomBytes(12).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 16);
  const root = `${f.prefix ? `${f.prefix}/` : ''}AWSLogs/${f.organizationId ? `${f.organizationId}/` : ''}${f.account}/CloudTrail/${f.region}/`;
  return `${root}${day}/${f.account}_CloudTrail_${f.region}_${stamp}_${unique}.json.gz`;
}

export function gzipRecords(records: unknown[]): Buffer {
  return gzipSync(Buffer.from(JSON.stringify({ Records: records })));
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
}

function s3Error(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  const fields = Object.entries(extra).map(([k, v]) => `<${k}>${v}</${k}>`).join('');
  res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase() });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${fields}<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`);
}

function stsError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomBytes(8).toString('hex')}</RequestId></ErrorResponse>`);
}

interface ParsedAuth {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string | undefined): ParsedAuth | null {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(value ?? '');
  if (!m) return null;
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]!, signedHeaders: m[5]!.split(';'), signature: m[6]! };
}

/** Recomputes the SigV4 signature of a request (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html). */
function expectedSignature(req: IncomingMessage, auth: ParsedAuth, secret: string, body: Buffer): string {
  const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
  const query = rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const [k, v = ''] = pair.split('=', 2) as [string, string?];
      return [RFC3986(decodeURIComponent(k.replace(/\+/g, ' '))), RFC3986(decodeURIComponent(v.replace(/\+/g, ' ')))] as const;
    })
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = auth.signedHeaders.map((h) => {
    const raw = req.headers[h];
    const value = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().replace(/\s+/g, ' ');
    return `${h}:${value}\n`;
  });
  const payload = (req.headers['x-amz-content-sha256'] as string | undefined) ?? sha256(body);
  // S3 signs the path as sent; other services normalise and encode it once more.
  const path = auth.service === 's3' ? rawPath : rawPath.split('/').map((s) => RFC3986(decodeURIComponent(s))).join('/');
  const canonical = [req.method, path, query, headers.join(''), auth.signedHeaders.join(';'), payload].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const amzDate = req.headers['x-amz-date'] as string;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const kDate = hmac(`AWS4${secret}`, auth.date);
  const kSigning = hmac(hmac(hmac(kDate, auth.region), auth.service), 'aws4_request');
  return createHmac('sha256', kSigning).update(toSign).digest('hex');
}

function sameSignature(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The S3 action a request is, for the deny list (only what the provider uses is told apart). */
function actionOf(req: IncomingMessage, bucket: string): string {
  const path = (req.url ?? '/').split('?')[0]!;
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== bucket) return 's3:Other';
  if (req.method === 'GET' && parts.length === 1) return 's3:ListBucket';
  if ((req.method === 'GET' || req.method === 'HEAD') && parts.length > 1) return 's3:GetObject';
  if (req.method === 'PUT' && parts.length > 1) return 's3:PutObject';
  return 's3:Other';
}

export interface StartStoreOptions {
  port?: number;
  bucket?: string;
}

/** Starts s3rver (temporary directory, one bucket) and the gateway, both on 127.0.0.1. */
export async function startCloudTrailStore(options: StartStoreOptions = {}): Promise<CloudTrailStore> {
  const bucket = options.bucket ?? STORE_BUCKET;
  const directory = mkdtempSync(join(tmpdir(), 's3rver-cloudtrail-'));
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port: s3Port } = await s3rver.run();
  const keys = new Map<string, StoreKey>();
  const requests: SeenStoreRequest[] = [];
  let slowDowns = 0;

  const addKey = (key: StoreKey) => {
    keys.set(key.accessKeyId, key);
    AWSAccount.DUMMY_ACCOUNT.createKeyPair(key.accessKeyId, key.secretAccessKey);
  };
  const key: StoreKey = { accessKeyId: STORE_ACCESS_KEY_ID, secretAccessKey: STORE_SECRET_ACCESS_KEY };
  addKey(key);

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, seen: SeenStoreRequest) => {
    const upstream = httpRequest({ host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      seen.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => {
      seen.status = 502;
      if (!res.headersSent) s3Error(res, 502, 'BadGateway', 'The store behind the gateway did not answer');
      else res.destroy();
    });
    upstream.end(body);
  };

  /** Every `<Contents>` block under `prefix`, from s3rver (anonymous, paged). */
  const listAll = async (prefix: string): Promise<Array<{ key: string; xml: string }>> => {
    const out: Array<{ key: string; xml: string }> = [];
    let token: string | null = null;
    do {
      // Version 1 (Marker): s3rver's V2 continuation tokens need DES.
      const q = new URLSearchParams({ prefix, 'max-keys': '1000' });
      if (token) q.set('marker', token);
      const xml = await new Promise<string>((resolve, reject) => {
        const r = httpRequest({ host: '127.0.0.1', port: s3Port, method: 'GET', path: `/${bucket}/?${q}` }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        });
        r.on('error', reject);
        r.end();
      });
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = unescapeXml(/<Key>([\s\S]*?)<\/Key>/.exec(m[1]!)?.[1] ?? '');
        // V1 entries carry an Owner, V2 ones do not (without FetchOwner).
        out.push({ key, xml: m[0].replace(/<Owner>[\s\S]*?<\/Owner>/, '') });
      }
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml) && out.length ? out.at(-1)!.key : null;
    } while (token);
    return out;
  };

  /** ListObjectsV2 as S3 answers it (with a Delimiter, CommonPrefixes count toward MaxKeys). */
  const listV2 = async (res: ServerResponse, query: URLSearchParams, seen: SeenStoreRequest) => {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.max(0, Math.min(1000, Number(query.get('max-keys') ?? 1000)));
    const token = query.get('continuation-token');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : (query.get('start-after') ?? '');
    const entries = new Map<string, string | null>();
    for (const { key, xml } of await listAll(prefix)) {
      const rest = key.slice(prefix.length);
      const i = delimiter ? rest.indexOf(delimiter) : -1;
      if (i === -1) entries.set(key, xml);
      else entries.set(key.slice(0, prefix.length + i + delimiter.length), null);
    }
    const sorted = [...entries.keys()].sort().filter((k) => k > after);
    const page = sorted.slice(0, maxKeys);
    const truncated = sorted.length > page.length;
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${escapeXml(prefix)}</Prefix>` +
      (delimiter ? `<Delimiter>${escapeXml(delimiter)}</Delimiter>` : '') +
      `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${page.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>` +
      page.map((k) => entries.get(k) ?? '').join('') +
      page.filter((k) => entries.get(k) === null).map((k) => `<CommonPrefixes><Prefix>${escapeXml(k)}</Prefix></CommonPrefixes>`).join('') +
      (truncated ? `<NextContinuationToken>${Buffer.from(page.at(-1)!).toString('base64url')}</NextContinuationToken>` : '') +
      (token ? `<ContinuationToken>${escapeXml(token)}</ContinuationToken>` : '') +
      (query.get('start-after') ? `<StartAfter>${escapeXml(query.get('start-after')!)}</StartAfter>` : '') +
      `</ListBucketResult>`;
    seen.status = 200;
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(body);
  };

  const assumeRole = (res: ServerResponse, form: URLSearchParams, seen: SeenStoreRequest) => {
    const roleArn = form.get('RoleArn') ?? '';
    const session = form.get('RoleSessionName') ?? 'session';
    const issued: StoreKey = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `FwoGZXIvYXdzE${randomBytes(48).toString('base64')}`,
    };
    addKey(issued);
    const account = /::(\d{12}):/.exec(roleArn)?.[1] ?? '111122223333';
    const role = roleArn.split('/').pop() ?? 'role';
    const expiration = new Date(Date.now() + 3600_000).toISOString();
    seen.status = 200;
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><SourceIdentity></SourceIdentity>` +
        `<AssumedRoleUser><AssumedRoleId>AROA3XFRBF535PLBIFPI4:${session}</AssumedRoleId><Arn>arn:aws:sts::${account}:assumed-role/${role}/${session}</Arn></AssumedRoleUser>` +
        `<Credentials><AccessKeyId>${issued.accessKeyId}</AccessKeyId><SecretAccessKey>${issued.secretAccessKey}</SecretAccessKey><SessionToken>${issued.sessionToken}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
        `<PackedPolicySize>6</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>${randomBytes(16).toString('hex')}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://store');
    const auth = parseAuthorization(req.headers.authorization);
    const seen: SeenStoreRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      accessKeyId: auth?.accessKeyId ?? null,
      status: 0,
      action: actionOf(req, bucket),
    };
    requests.push(seen);
    const isSts = req.method === 'POST' && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    if (isSts) seen.action = 'sts:AssumeRole';
    const refuse = (status: number, code: string, message: string, extra?: Record<string, string>) => {
      seen.status = status;
      if (isSts) stsError(res, status, code, message);
      else s3Error(res, status, code, message, extra);
    };
    if (!auth) {
      if (isSts || seen.action !== 's3:Other') return refuse(403, 'AccessDenied', 'Access Denied');
      return forward(req, res, body, seen);
    }
    const known = keys.get(auth.accessKeyId);
    if (!known) {
      if (isSts) return refuse(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      // s3rver refuses unknown key ids itself (InvalidAccessKeyId).
      return forward(req, res, body, seen);
    }
    if (!sameSignature(expectedSignature(req, auth, known.secretAccessKey, body), auth.signature)) {
      if (isSts) return refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
      return refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', { AWSAccessKeyId: auth.accessKeyId });
    }
    if (known.sessionToken !== undefined && req.headers['x-amz-security-token'] !== known.sessionToken) {
      return refuse(isSts ? 403 : 400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.');
    }
    if (isSts) {
      const form = new URLSearchParams(body.toString('utf8'));
      if (form.get('Action') !== 'AssumeRole') return refuse(400, 'InvalidAction', 'Only AssumeRole is served here.');
      if (known.deny?.includes('sts:AssumeRole')) {
        return refuse(403, 'AccessDenied', `User: arn:aws:iam::111122223333:user/reader is not authorized to perform: sts:AssumeRole on resource: ${form.get('RoleArn') ?? ''}`);
      }
      return assumeRole(res, form, seen);
    }
    if (slowDowns > 0 && seen.action !== 's3:PutObject') {
      slowDowns--;
      return refuse(503, 'SlowDown', 'Please reduce your request rate.');
    }
    if (known.deny?.includes(seen.action)) return refuse(403, 'AccessDenied', 'Access Denied');
    if (seen.action === 's3:ListBucket' && url.searchParams.get('list-type') === '2') return listV2(res, url.searchParams, seen);
    return forward(req, res, body, seen);
  };

  const gateway: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => gateway.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;

  /** Straight to s3rver: unsigned requests are its anonymous writes. */
  const direct = (method: 'PUT' | 'DELETE', objectKey: string, data: Buffer = Buffer.alloc(0)) =>
    new Promise<void>((resolve, reject) => {
      const path = `/${bucket}/${objectKey.split('/').map(encodeURIComponent).join('/')}`;
      const headers = method === 'PUT' ? { 'content-length': data.length, 'content-type': 'application/octet-stream' } : {};
      const r = httpRequest({ host: '127.0.0.1', port: s3Port, method, path, headers }, (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve() : reject(new Error(`${method} ${objectKey}: HTTP ${res.statusCode}`))));
      });
      r.on('error', reject);
      r.end(data);
    });
  const put = (objectKey: string, body: Buffer | string) => direct('PUT', objectKey, typeof body === 'string' ? Buffer.from(body) : body);

  return {
    url,
    bucket,
    region: STORE_REGION,
    key,
    requests,
    clearRequests: () => void requests.splice(0),
    addKey,
    slowDown(n) {
      slowDowns = n;
    },
    put,
    remove: (objectKey) => direct('DELETE', objectKey),
    async putLogFile(file, records) {
      const objectKey = logFileKey(file);
      await put(objectKey, gzipRecords(records));
      return objectKey;
    },
    async close() {
      gateway.closeAllConnections();
      await new Promise<void>((resolve) => gateway.close(() => resolve()));
      await s3rver.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Records shaped like the examples of the CloudTrail user guide.

export interface SampleOptions {
  account?: string;
  region?: string;
  at: Date | string;
  /** Distinguishes the eventIDs of several calls. */
  n?: number;
}

function uuid(seed: string): string {
  const h = sha256(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function iso(at: Date | string): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function iamUser(account: string, name: string) {
  return {
    type: 'IAMUser',
    principalId: 'AIDAJ45Q7YFFAREXAMPLE',
    arn: `arn:aws:iam::${account}:user/${name}`,
    accountId: account,
    accessKeyId: 'AKIAI44QH8DHBEXAMPLE',
    userName: name,
  };
}

export const sample = {
  consoleLoginSuccess({ account = '111122223333', at, n = 0 }: SampleOptions) {
    return {
      eventVersion: '1.08',
      userIdentity: { type: 'IAMUser', principalId: 'AIDAJ45Q7YFFAREXAMPLE', arn: `arn:aws:iam::${account}:user/Mateo`, accountId: account, userName: 'Mateo' },
      eventTime: iso(at),
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      awsRegion: 'us-east-1',
      sourceIPAddress: '192.0.2.110',
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/116.0',
      requestParameters: null,
      responseElements: { ConsoleLogin: 'Success' },
      additionalEventData: { LoginTo: 'https://console.aws.amazon.com/console/home', MobileVersion: 'No', MFAUsed: 'Yes' },
      eventID: uuid(`login-ok-${account}-${n}-${iso(at)}`),
      readOnly: false,
      eventType: 'AwsConsoleSignIn',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    };
  },
  consoleLoginFailure({ account = '111122223333', at, n = 0 }: SampleOptions) {
    return {
      eventVersion: '1.08',
      userIdentity: { type: 'IAMUser', principalId: 'AIDACKCEVSQ6C2EXAMPLE', accountId: account, accessKeyId: '', userName: 'Paulo' },
      eventTime: iso(at),
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      awsRegion: 'us-east-1',
      sourceIPAddress: '203.0.113.42',
      userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Safari/605.1.15',
      errorMessage: 'Failed authentication',
      requestParameters: null,
      responseElements: { ConsoleLogin: 'Failure' },
      additionalEventData: { LoginTo: 'https://console.aws.amazon.com/console/home', MobileVersion: 'No', MFAUsed: 'No' },
      eventID: uuid(`login-fail-${account}-${n}-${iso(at)}`),
      readOnly: false,
      eventType: 'AwsConsoleSignIn',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    };
  },
  rootConsoleLogin({ account = '111122223333', at, n = 0 }: SampleOptions) {
    return {
      eventVersion: '1.08',
      userIdentity: { type: 'Root', principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account, accessKeyId: '' },
      eventTime: iso(at),
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      awsRegion: 'us-east-1',
      sourceIPAddress: '198.51.100.7',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/115.0 Safari/537.36',
      requestParameters: null,
      responseElements: { ConsoleLogin: 'Success' },
      additionalEventData: { LoginTo: 'https://console.aws.amazon.com/console/home', MobileVersion: 'No', MFAUsed: 'No' },
      eventID: uuid(`root-${account}-${n}-${iso(at)}`),
      readOnly: false,
      eventType: 'AwsConsoleSignIn',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    };
  },
  iamCreateUser({ account = '111122223333', at, n = 0 }: SampleOptions) {
    return {
      eventVersion: '1.08',
      userIdentity: iamUser(account, 'Alice'),
      eventTime: iso(at),
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateUser',
      awsRegion: 'us-east-1',
      sourceIPAddress: '192.0.2.0',
      userAgent: 'aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255-314-253.539.amzn2.x86_64 exec-env/CloudShell exe/x86_64.amzn.2 prompt/off command/iam.create-user',
      requestParameters: { userName: 'Richard' },
      responseElements: { user: { path: '/', arn: `arn:aws:iam::${account}:user/Richard`, userId: 'AIDA6ON6E4XEGITEXAMPLE', createDate: 'Jul 19, 2023 9:25:09 PM', userName: 'Richard' } },
      requestID: uuid(`req-createuser-${n}`),
      eventID: uuid(`createuser-${account}-${n}-${iso(at)}`),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
      tlsDetails: { tlsVersion: 'TLSv1.2', cipherSuite: 'ECDHE-RSA-AES128-GCM-SHA256', clientProvidedHostHeader: 'iam.amazonaws.com' },
      sessionCredentialFromConsole: 'true',
    };
  },
  iamAttachUserPolicy({ account = '111122223333', at, n = 0 }: SampleOptions) {
    return {
      eventVersion: '1.08',
      userIdentity: iamUser(account, 'Alice'),
      eventTime: iso(at),
      eventSource: 'iam.amazonaws.com',
      eventName: 'AttachUserPolicy',
      awsRegion: 'us-east-1',
      sourceIPAddress: '192.0.2.0',
      userAgent: 'aws-cli/2.13.5',
      requestParameters: { userName: 'Richard', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
      responseElements: null,
      requestID: uuid(`req-attach-${n}`),
      eventID: uuid(`attach-${account}-${n}-${iso(at)}`),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    };
  },
  s3GetObject({ account = '111122223333', region = 'us-east-1', at, n = 0 }: SampleOptions) {
    return {
      eventVersion: '1.09',
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROA3XFRBF535PLBIFPI4:s3-reader',
        arn: `arn:aws:sts::${account}:assumed-role/ReportReader/s3-reader`,
        accountId: account,
        accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
        sessionContext: {
          sessionIssuer: { type: 'Role', principalId: 'AROA3XFRBF535PLBIFPI4', arn: `arn:aws:iam::${account}:role/ReportReader`, accountId: account, userName: 'ReportReader' },
          attributes: { creationDate: iso(at), mfaAuthenticated: 'false' },
        },
      },
      eventTime: iso(at),
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      awsRegion: region,
      sourceIPAddress: '192.0.2.14',
      userAgent: '[aws-sdk-java/1.12.500]',
      requestParameters: { bucketName: 'amzn-s3-demo-bucket', Host: 'amzn-s3-demo-bucket.s3.amazonaws.com', key: 'reports/q2.csv' },
      responseElements: null,
      additionalEventData: { SignatureVersion: 'SigV4', CipherSuite: 'ECDHE-RSA-AES128-GCM-SHA256', bytesTransferredIn: 0, AuthenticationMethod: 'AuthHeader', 'x-amz-id-2': 'EXAMPLE', bytesTransferredOut: 3612 },
      requestID: uuid(`req-get-${n}`),
      eventID: uuid(`getobject-${account}-${n}-${iso(at)}`),
      readOnly: true,
      resources: [
        { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::amzn-s3-demo-bucket/reports/q2.csv' },
        { accountId: account, type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::amzn-s3-demo-bucket' },
      ],
      eventType: 'AwsApiCall',
      managementEvent: false,
      recipientAccountId: account,
      eventCategory: 'Data',
    };
  },
  accessDenied({ account = '111122223333', region = 'us-east-2', at, n = 0 }: SampleOptions) {
    return {
      eventVersion: '1.08',
      userIdentity: iamUser(account, 'Mateo'),
      eventTime: iso(at),
      eventSource: 'ec2.amazonaws.com',
      eventName: 'StartInstances',
      awsRegion: region,
      sourceIPAddress: '192.0.2.0',
      userAgent: 'aws-cli/2.13.5',
      errorCode: 'Client.UnauthorizedOperation',
      errorMessage: 'You are not authorized to perform this operation. Encoded authorization failure message: EXAMPLE',
      requestParameters: { instancesSet: { items: [{ instanceId: 'i-EXAMPLE56126103cb' }] } },
      responseElements: null,
      requestID: uuid(`req-denied-${n}`),
      eventID: uuid(`denied-${account}-${n}-${iso(at)}`),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    };
  },
  /** A role assumption: its answer carries a session token, which the provider must not keep. */
  assumeRole({ account = '111122223333', at, n = 0 }: SampleOptions) {
    return {
      eventVersion: '1.08',
      userIdentity: iamUser(account, 'Alice'),
      eventTime: iso(at),
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      awsRegion: 'us-east-1',
      sourceIPAddress: '192.0.2.0',
      userAgent: 'aws-cli/2.13.5',
      requestParameters: { roleArn: `arn:aws:iam::${account}:role/Admin`, roleSessionName: 'alice' },
      responseElements: {
        credentials: { accessKeyId: 'ASIAEXAMPLEASSUMED01', sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENVALUE', expiration: 'Jul 19, 2023 10:25:09 PM' },
        assumedRoleUser: { assumedRoleId: 'AROAEXAMPLE:alice', arn: `arn:aws:sts::${account}:assumed-role/Admin/alice` },
      },
      requestID: uuid(`req-assume-${n}`),
      eventID: uuid(`assume-${account}-${n}-${iso(at)}`),
      readOnly: true,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    };
  },
};

/** The sample trails `npm run replicas` serves: two accounts (one via an organization trail), three days. */
export async function seedSampleTrails(store: CloudTrailStore, now = new Date()): Promise<string[]> {
  const keys: string[] = [];
  const day = (n: number, h: number, m = 5) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - n, h, m));
  for (const [i, ago] of [2, 1, 0].entries()) {
    const at = day(ago, 9, 10 + i);
    keys.push(
      await store.putLogFile({ account: '111122223333', region: 'us-east-1', deliveredAt: new Date(at.getTime() + 5 * 60_000) }, [
        sample.consoleLoginSuccess({ at, n: i }),
        sample.consoleLoginFailure({ at, n: i }),
        sample.iamCreateUser({ at, n: i }),
      ]),
    );
    keys.push(
      await store.putLogFile({ account: '111122223333', region: 'us-east-2', deliveredAt: new Date(at.getTime() + 6 * 60_000) }, [
        sample.accessDenied({ at, n: i }),
        sample.s3GetObject({ at, n: i, region: 'us-east-2' }),
      ]),
    );
    keys.push(
      await store.putLogFile({ account: '444455556666', region: 'us-east-1', organizationId: 'o-exampleorgid', deliveredAt: new Date(at.getTime() + 7 * 60_000) }, [
        sample.rootConsoleLogin({ account: '444455556666', at, n: i }),
        sample.iamAttachUserPolicy({ account: '444455556666', at, n: i }),
      ]),
    );
  }
  return keys;
}
