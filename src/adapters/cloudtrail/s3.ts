/**
 * S3 access of the `aws_cloudtrail` provider through the official SDK (`@aws-sdk/client-s3`, SigV4),
 * kept inside the service's egress guard, and S3's failures mapped onto ConnectorError codes:
 *
 * | S3 / STS answer                                                        | code           |
 * |------------------------------------------------------------------------|----------------|
 * | InvalidAccessKeyId, SignatureDoesNotMatch, InvalidToken, ExpiredToken, InvalidClientTokenId | AUTH_FAILED (bad credentials) |
 * | AccessDenied (403)                                                     | AUTH_FAILED, status 403 (a missing permission: s3:ListBucket, s3:GetObject, sts:AssumeRole) |
 * | NoSuchBucket, InvalidBucketName                                        | CONFIG_INVALID (wrong bucket) |
 * | PermanentRedirect, AuthorizationHeaderMalformed (another Region)       | CONFIG_INVALID |
 * | SlowDown, 503, throttling                                              | RATE_LIMITED (retry later), after the SDK's own retries |
 * | other 5xx                                                              | UNREACHABLE, retryable |
 * | no answer: refused, reset, DNS                                         | UNREACHABLE    |
 * | timeout, abort                                                         | TIMEOUT        |
 * | a destination the egress guard refuses                                 | EGRESS_DENIED, before any socket |
 *
 * Egress: the SDK's Node HTTP handler is given http and https agents whose `lookup` is the guarded
 * one ({@link createGuardedLookup}), so every host name is judged after DNS resolution; IP literal
 * endpoints (which never reach `lookup`) are judged first by {@link assertUrlAllowed}. The SDK does
 * not follow redirects.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction as NetLookupFunction } from 'node:net';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
// The STS client the SDK's own credential providers use for role assumption (client-s3 depends on it).
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ConnectorError } from '../../errors/connector-error.js';
import type { ConnectorErrorCode } from '../../errors/connector-error.js';
import { scrubSecrets } from '../http/client.js';
import { assertUrlAllowed, createGuardedLookup } from '../http/egress.js';
import type { AdapterContext, ConnectionInput } from '../spi.js';
import { awsCredentials } from './config.js';
import type { CloudTrailConfig } from './config.js';

export type S3Operation = 'ListObjectsV2' | 'GetObject' | 'AssumeRole';

/** Where a failure happened: no answer (`connect`), or an answer from S3/STS (`response`), or the body (`body`). */
export type S3FailurePhase = 'connect' | 'response' | 'body';

/** A failed S3 or STS call, already scrubbed. `awsCode`: S3's error code (`NoSuchBucket`, ...). */
export class CloudTrailError extends ConnectorError {
  readonly phase: S3FailurePhase;
  readonly awsCode: string | null;
  readonly operation: S3Operation;

  constructor(code: ConnectorErrorCode, message: string, o: { phase: S3FailurePhase; awsCode?: string | null; operation: S3Operation; status?: number; retryable?: boolean; retryAfterMs?: number }) {
    super(code, message, { status: o.status, retryable: o.retryable, retryAfterMs: o.retryAfterMs });
    this.name = 'CloudTrailError';
    this.phase = o.phase;
    this.awsCode = o.awsCode ?? null;
    this.operation = o.operation;
  }
}

const BAD_CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired', 'InvalidClientTokenId', 'AuthFailure', 'UnrecognizedClientException', 'ExpiredTokenException']);
const ACCESS_DENIED = new Set(['AccessDenied', 'AllAccessDisabled', 'AccessDeniedException', 'AccountProblem']);
const WRONG_BUCKET = new Set(['NoSuchBucket', 'InvalidBucketName']);
const WRONG_REGION = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'TemporaryRedirect']);
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'ServiceUnavailable', 'RequestThrottled', 'RequestThrottledException', 'ProvisionedThroughputExceededException']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'EAI_NONAME', 'EAI_FAIL']);
/** How long a throttled read asks to be left alone (S3 documents no Retry-After for SlowDown). */
export const THROTTLE_RETRY_AFTER_MS = 60_000;

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** One line of upstream text, bounded and scrubbed. */
function clean(text: unknown, secrets: readonly string[]): string {
  const s = typeof text === 'string' ? text : '';
  return scrubSecrets(s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 300), secrets);
}

function what(op: S3Operation, cfg: CloudTrailConfig, key?: string): string {
  if (op === 'AssumeRole') return `AssumeRole of ${cfg.roleArn ?? 'the role'}`;
  if (op === 'GetObject') return `GetObject of s3://${cfg.bucket}/${key ?? ''}`;
  return `ListObjectsV2 of s3://${cfg.bucket}/${key ?? ''}`;
}

/** Maps whatever the SDK threw onto a {@link CloudTrailError} (never carries the SDK error itself). */
export function mapAwsError(error: unknown, op: S3Operation, cfg: CloudTrailConfig, secrets: readonly string[], key?: string): ConnectorError {
  if (error instanceof CloudTrailError) return error;
  if (error instanceof ConnectorError) {
    // The egress guard (from the agents' lookup) or one of ours.
    return new CloudTrailError(error.code, scrubSecrets(error.message, secrets), { phase: 'connect', operation: op, retryable: error.retryable });
  }
  const e = (error ?? {}) as SdkErrorShape;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' ? e.code : name;
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const where = what(op, cfg, key);
  const upstream = clean(e.message, secrets);
  const said = upstream && upstream !== code ? `: ${upstream}` : '';
  const answered = status !== undefined && e.$fault !== undefined;
  const base = { operation: op, awsCode: answered ? code : null, status };

  if (name === 'AbortError' || code === 'AbortError') {
    return new CloudTrailError('TIMEOUT', `${where} was aborted`, { ...base, phase: answered ? 'response' : 'connect' });
  }
  if (name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'RequestTimeout' || code === 'TimeoutError') {
    return new CloudTrailError('TIMEOUT', `${where} timed out`, { ...base, phase: answered ? 'response' : 'connect' });
  }
  if (!answered) {
    if (NETWORK_CODES.has(code) || NETWORK_CODES.has(name)) {
      return new CloudTrailError('UNREACHABLE', `${where} got no answer (${code})`, { ...base, phase: 'connect' });
    }
    if (status === undefined) {
      return new CloudTrailError('UNREACHABLE', `${where} failed before an answer (${clean(code, secrets)})`, { ...base, phase: 'connect' });
    }
  }
  const http = status !== undefined ? `HTTP ${status} ` : '';
  if (BAD_CREDENTIALS.has(code)) {
    return new CloudTrailError('AUTH_FAILED', `${where} was refused: ${http}${code}${said}`, { ...base, phase: 'response' });
  }
  if (ACCESS_DENIED.has(code)) {
    return new CloudTrailError('AUTH_FAILED', `${where} was refused: ${http}${code}${said}`, { ...base, status: status ?? 403, phase: 'response' });
  }
  if (WRONG_BUCKET.has(code)) {
    return new CloudTrailError('CONFIG_INVALID', `${where} failed: ${http}${code}${said}`, { ...base, phase: 'response' });
  }
  if (WRONG_REGION.has(code)) {
    return new CloudTrailError('CONFIG_INVALID', `${where} failed: ${http}${code} (the bucket is in another Region than ${cfg.region})${said}`, { ...base, phase: 'response' });
  }
  if (THROTTLED.has(code) || status === 503 || status === 429) {
    return new CloudTrailError('RATE_LIMITED', `${where} was throttled: ${http}${code}${said}`, { ...base, phase: 'response', retryable: true, retryAfterMs: THROTTLE_RETRY_AFTER_MS });
  }
  if (status !== undefined && status >= 500) {
    return new CloudTrailError('UNREACHABLE', `${where} failed: ${http}${code}${said}`, { ...base, phase: 'response', retryable: true });
  }
  if (status !== undefined && status >= 400) {
    return new CloudTrailError('CONFIG_INVALID', `${where} was refused: ${http}${code}${said}`, { ...base, phase: 'response' });
  }
  return new CloudTrailError('BAD_RESPONSE', `${where} answered unexpectedly (${http}${clean(code, secrets)})`, { ...base, phase: 'response' });
}

/** An S3 connection for one check or read: the client, its agents, and the values to scrub. */
export interface S3Session {
  readonly client: S3Client;
  readonly cfg: CloudTrailConfig;
  /** Credential values (also the assumed role's, once obtained): never in a message or record. */
  readonly secrets: string[];
  readonly signal?: AbortSignal;
  /** Host the requests go to, for messages. */
  readonly host: string;
  close(): void;
}

function endpointHost(cfg: CloudTrailConfig): string {
  if (cfg.endpoint) return new URL(cfg.endpoint).host;
  return `s3.${cfg.region}.amazonaws.com`;
}

/**
 * Opens a session: checks the endpoints against the egress policy (IP literals), builds agents
 * with the guarded lookup and an S3 client signing with the access keys, or with the credentials
 * of `roleArn` (AssumeRole, refreshed by the SDK before they expire). Throws CONFIG_INVALID or
 * EGRESS_DENIED; nothing is contacted yet.
 */
export function openSession(ctx: AdapterContext, input: ConnectionInput, cfg: CloudTrailConfig): S3Session {
  const keys = awsCredentials(input.authType, input.credentials);
  const secrets = [keys.secretAccessKey, keys.sessionToken].filter((s): s is string => typeof s === 'string');
  const policy = ctx.http.egress;
  if (cfg.endpoint) assertUrlAllowed(policy, cfg.endpoint);
  if (cfg.stsEndpoint) assertUrlAllowed(policy, cfg.stsEndpoint);
  const lookup = createGuardedLookup(policy) as unknown as NetLookupFunction;
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8, lookup });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 8, lookup, rejectUnauthorized: true });
  const requestHandler = { httpAgent, httpsAgent, connectionTimeout: Math.min(cfg.timeoutMs, 10_000), requestTimeout: cfg.timeoutMs };

  let credentials: S3Client['config']['credentials'] | typeof keys = keys;
  let sts: STSClient | null = null;
  if (cfg.roleArn) {
    const stsClient = new STSClient({
      region: cfg.region,
      ...(cfg.stsEndpoint ? { endpoint: cfg.stsEndpoint } : {}),
      credentials: keys,
      requestHandler,
      maxAttempts: cfg.maxAttempts,
    });
    sts = stsClient;
    credentials = async () => {
      try {
        const out = await stsClient.send(
          new AssumeRoleCommand({ RoleArn: cfg.roleArn, RoleSessionName: cfg.roleSessionName, ExternalId: cfg.externalId, DurationSeconds: 3600 }),
          { abortSignal: ctx.signal },
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) {
          throw new CloudTrailError('BAD_RESPONSE', `AssumeRole of ${cfg.roleArn} returned no credentials`, { phase: 'response', operation: 'AssumeRole' });
        }
        secrets.push(c.SecretAccessKey);
        if (c.SessionToken) secrets.push(c.SessionToken);
        return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
      } catch (e) {
        throw mapAwsError(e, 'AssumeRole', cfg, secrets);
      }
    };
  }

  const client = new S3Client({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    forcePathStyle: cfg.forcePathStyle,
    credentials: credentials as never,
    requestHandler,
    maxAttempts: cfg.maxAttempts,
    // Only what S3 requires: no checksum trailers on GET, nothing extra on responses.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    client,
    cfg,
    secrets,
    signal: ctx.signal,
    host: endpointHost(cfg),
    close() {
      client.destroy();
      sts?.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

export interface ListPage {
  keys: string[];
  /** Sub-prefixes (with a delimiter). */
  prefixes: string[];
  next: string | null;
}

/** One ListObjectsV2 page. */
export async function listPage(
  s: S3Session,
  params: { prefix: string; startAfter?: string; delimiter?: string; continuationToken?: string | null; maxKeys?: number },
): Promise<ListPage> {
  let out: ListObjectsV2CommandOutput;
  try {
    out = await s.client.send(
      new ListObjectsV2Command({
        Bucket: s.cfg.bucket,
        Prefix: params.prefix,
        StartAfter: params.startAfter || undefined,
        Delimiter: params.delimiter,
        ContinuationToken: params.continuationToken ?? undefined,
        MaxKeys: params.maxKeys ?? s.cfg.maxKeys,
      }),
      { abortSignal: s.signal },
    );
  } catch (e) {
    throw mapAwsError(e, 'ListObjectsV2', s.cfg, s.secrets, params.prefix);
  }
  return {
    keys: (out.Contents ?? []).map((o) => o.Key).filter((k): k is string => typeof k === 'string'),
    prefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix).filter((p): p is string => typeof p === 'string'),
    next: out.IsTruncated && out.NextContinuationToken ? out.NextContinuationToken : null,
  };
}

/** Every sub-prefix of `prefix` (Delimiter "/"), across pages. */
export async function listPrefixes(s: S3Session, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | null = null;
  do {
    const page = await listPage(s, { prefix, delimiter: '/', continuationToken: token });
    out.push(...page.prefixes);
    token = page.next;
  } while (token);
  return out;
}

function tooLarge(s: S3Session, key: string, what: string): CloudTrailError {
  return new CloudTrailError('BAD_RESPONSE', `s3://${s.cfg.bucket}/${key} is larger than the ${s.cfg.maxObjectBytes}-byte limit ${what} (maxObjectBytes)`, {
    phase: 'body',
    operation: 'GetObject',
  });
}

/**
 * Reads one log file: GetObject, gunzip as it streams (both the compressed and the decompressed
 * size bounded by `maxObjectBytes`), JSON. Returns the parsed document.
 */
export async function readLogFile(s: S3Session, key: string): Promise<unknown> {
  let body: Readable;
  try {
    const out = await s.client.send(new GetObjectCommand({ Bucket: s.cfg.bucket, Key: key }), { abortSignal: s.signal });
    if (out.ContentLength !== undefined && out.ContentLength > s.cfg.maxObjectBytes) {
      (out.Body as Readable | undefined)?.destroy();
      throw tooLarge(s, key, 'compressed');
    }
    body = out.Body as Readable;
    if (!body || typeof (body as Readable).pipe !== 'function') {
      throw new CloudTrailError('BAD_RESPONSE', `GetObject of s3://${s.cfg.bucket}/${key} returned no body`, { phase: 'body', operation: 'GetObject' });
    }
  } catch (e) {
    throw mapAwsError(e, 'GetObject', s.cfg, s.secrets, key);
  }
  const limit = s.cfg.maxObjectBytes;
  // The first limit hit wins over the errors of the streams it tears down.
  let overLimit: CloudTrailError | null = null;
  const over = (what: string) => (overLimit ??= tooLarge(s, key, what));
  let compressed = 0;
  let size = 0;
  const chunks: Buffer[] = [];
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      compressed += chunk.length;
      if (compressed > limit) cb(over('compressed'));
      else cb(null, chunk);
    },
  });
  try {
    await pipeline(body, counter, createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > limit) throw over('decompressed');
        chunks.push(chunk);
      }
    });
  } catch (e) {
    if (overLimit) throw overLimit;
    if (e instanceof CloudTrailError) throw e;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new CloudTrailError('BAD_RESPONSE', `s3://${s.cfg.bucket}/${key} is not a gzip file (${code})`, { phase: 'body', operation: 'GetObject' });
    }
    throw mapAwsError(e, 'GetObject', s.cfg, s.secrets, key);
  }
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
  } catch {
    throw new CloudTrailError('BAD_RESPONSE', `s3://${s.cfg.bucket}/${key} is not JSON after gunzip`, { phase: 'body', operation: 'GetObject' });
  }
}
