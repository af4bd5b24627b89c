/**
 * `aws_cloudtrail`: the log files an AWS CloudTrail trail delivers to an S3 bucket, read with
 * ListObjectsV2 and GetObject through the official SDK (SigV4), gunzipped as they stream, each
 * record a normalized `event` keyed by its eventID. See `./layout.ts` for the key layout and the
 * cursor (late-arriving files), `./mapper.ts` for the mapping and severity rules, `./s3.ts` for the
 * egress guard and the error mapping.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { ConnectorError } from '../../errors/connector-error.js';
import { CheckSteps } from '../check-steps.js';
import { scrubSecrets } from '../http/client.js';
import { createGuardedLookup } from '../http/egress.js';
import { redactSecrets } from '../kit/records.js';
import type { NormalizedRecord } from '../records.js';
import type { Adapter, AdapterContext, AdapterSpec, CheckOptions, CheckResult, ConnectionInput, ReadCursor, RecordBatch, TestStepName } from '../spi.js';
import {
  ACCOUNT_ID,
  CLOUDTRAIL_AUTH_TYPES,
  CLOUDTRAIL_CONFIG_VERSION,
  ORGANIZATION_ID,
  REGION,
  cloudTrailConfigProblems,
  configSchema,
  credentialsSchema,
  migrateCloudTrailConfig,
  optionalCredentials,
  parseConfig,
  requiredCredentials,
} from './config.js';
import type { CloudTrailConfig } from './config.js';
import {
  accountRoot,
  addDays,
  alreadyRead,
  awsLogsRoot,
  dayOf,
  dayPrefix,
  daysBetween,
  listStart,
  markRead,
  parseCursor,
  parseLogFileKey,
  prune,
  streamOf,
} from './layout.js';
import type { CloudTrailCursor, TrailStream } from './layout.js';
import { SEVERITY_RULES, mapCloudTrailRecord } from './mapper.js';
import type { CloudTrailEventRecord } from './mapper.js';
import { CloudTrailError, listPage, listPrefixes, openSession, readLogFile } from './s3.js';
import type { S3Session } from './s3.js';

export { parseConfig, configSchema, credentialsSchema, migrateCloudTrailConfig, CLOUDTRAIL_CONFIG_VERSION } from './config.js';
export type { CloudTrailConfig } from './config.js';
export type { CloudTrailCursor } from './layout.js';
export { mapCloudTrailRecord, SEVERITY_RULES } from './mapper.js';
export type { CloudTrailEventRecord } from './mapper.js';

/** Batches carry this dedup key: CloudTrail's eventID is unique per event. */
export const CLOUDTRAIL_DEDUP_KEY = ['/eventId'] as const;

const NOTES = `Reads the log files a trail delivers to S3 — \`[<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz\` — through the official AWS SDK (SigV4). Organization trails (\`AWSLogs/<o-id>/<account>/…\`) and single-account trails are both found by listing; \`accounts\` and \`regions\` narrow what is read. \`endpoint\` + \`forcePathStyle\` point it at an S3-compatible store (MinIO, on-premises; config schema version 1 called \`endpoint\` \`baseUrl\`, and stored configs are upgraded at start-up); connections go through the egress guard like every other connector.

**Auth.** \`API_KEY\` with \`accessKeyId\` and \`secretAccessKey\` (and \`sessionToken\` for temporary credentials). With \`roleArn\` (and \`externalId\`), the keys only call STS AssumeRole and the role's credentials read the bucket, renewed before they expire. The role or user needs \`s3:ListBucket\` on the bucket and \`s3:GetObject\` on \`AWSLogs/*\` (plus \`kms:Decrypt\` for SSE-KMS trails).

**Reading.** Each sync lists every account/region stream day by day (UTC), \`ListObjectsV2\` with \`Prefix\` = the day prefix, \`StartAfter\` from the cursor and \`MaxKeys\` = \`maxKeys\` (paged with continuation tokens), and reads each log file with \`GetObject\`, gunzipped as it streams; a file larger than \`maxObjectBytes\` (compressed or not) fails the read. One batch per file, each with the cursor to commit after it; digests, folders and other keys are skipped.

**Cursor.** Per day prefix: the \`…_<YYYYMMDDTHHmmZ>_\` stamp of the newest file read (the position) and the keys read within \`settleMinutes\` (default 60) before it. Each listing's \`StartAfter\` is the stamp \`settleMinutes\` before the position, and the keys already read are skipped. Per stream: the newest day whose listing began. A first sync starts at \`startDate\` (default: \`lookbackDays\` before today); \`resetConnectorCursor(from:)\` lists every stream again from that UTC day.

**Late files.** CloudTrail names and files a log by when it wrote it, but the object can become visible in S3 later (delivery is usually within 5 minutes, not guaranteed, and retried for days when the bucket was unreachable) — after files of later days were read. A single \`StartAfter\` (the newest key read) would skip it, so every sync lists again the \`lookbackDays\` days (default 2, up to 14) before the newest day it read, each day prefix from its own \`StartAfter\`: a late file in an earlier day prefix is read, and nothing is read twice. Within one day prefix, a file that shows up after a newer one was read is read when its stamp is at most \`settleMinutes\` older (same minute included). Files later than these windows are missed: raise \`lookbackDays\` (and \`settleMinutes\`, up to 1440 = whole days) if the trail's bucket had outages. Records are also deduplicated by \`eventID\`.

**Records.** One \`event\` per element of \`Records\`: \`eventId\` = \`eventID\` (the dedup key), \`name\` = \`eventName\`, \`timestamp\` = \`eventTime\`, \`src\` = \`sourceIPAddress\`, \`user\` = the identity's ARN (else user name or type), \`productVersion\` = \`eventVersion\`, plus \`eventSource\`, \`eventType\`, \`awsRegion\`, \`recipientAccountId\`, \`userIdentity\` (type, arn, accountId, userName, principalId, accessKeyId — an identifier —, invokedBy, session issuer, MFA), \`userAgent\`, \`errorCode\`, \`errorMessage\`, \`readOnly\`, \`requestId\`, \`outcome\`, \`consoleLogin\`, \`mfaUsed\`, the resources' ARNs and \`logFile\` (the S3 key). \`requestParameters\` and \`responseElements\` are not kept: they can carry credentials (an AssumeRole answer holds a session token).

**Severity** (0–10, the highest matching rule; \`severityReasons\` lists the matches):

| rule | severity |
|---|---|
${SEVERITY_RULES.map((r) => `| ${r.description} | ${r.severity} |`).join('\n')}

**Errors.** InvalidAccessKeyId, SignatureDoesNotMatch, InvalidToken and ExpiredToken are AUTH_FAILED (bad credentials); AccessDenied is AUTH_FAILED with the missing permission named (\`s3:ListBucket\`, \`s3:GetObject\`, \`sts:AssumeRole\`); NoSuchBucket and InvalidBucketName are CONFIG_INVALID (wrong bucket), as is a bucket in another Region; SlowDown and 503 are RATE_LIMITED after the SDK's retries (\`maxAttempts\`).`;

export const spec: AdapterSpec = {
  id: 'aws_cloudtrail',
  type: 'CLOUD_LOGS',
  name: 'AWS CloudTrail (S3)',
  description:
    "AWS API activity (console sign-ins, IAM changes, root usage, denied calls) from the log files a CloudTrail trail delivers to S3, including organization trails; also reads S3-compatible stores.",
  authTypes: [...CLOUDTRAIL_AUTH_TYPES],
  configSchema,
  credentialsSchema,
  requiredCredentials,
  optionalCredentials,
  eventTypes: ['cloudtrail'],
  documentationUrl: 'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html',
  recordKinds: ['event'],
  notes: NOTES,
  configVersion: CLOUDTRAIL_CONFIG_VERSION,
  configProblems: cloudTrailConfigProblems,
  migrateConfig: migrateCloudTrailConfig,
};

/** What a failed step tells the user to do, by error and S3's error code. */
export function remediationFor(step: TestStepName, error: ConnectorError, cfg: CloudTrailConfig | null): string {
  const aws = error instanceof CloudTrailError ? error.awsCode : null;
  const op = error instanceof CloudTrailError ? error.operation : null;
  const bucket = cfg?.bucket ?? '<bucket>';
  const logs = cfg ? awsLogsRoot(cfg) : 'AWSLogs/';
  switch (error.code) {
    case 'EGRESS_DENIED':
      return 'The S3 endpoint resolves to a private, loopback, link-local or cloud-metadata address, which connectors may not reach. Leave endpoint unset for AWS S3, or ask an operator to add an intended on-premises store (MinIO, S3-compatible) to EGRESS_ALLOW.';
    case 'AUTH_FAILED':
      if (op === 'AssumeRole') {
        if (aws && /AccessDenied/.test(aws)) {
          return `The access keys may not assume ${cfg?.roleArn ?? 'the role'}: allow sts:AssumeRole on it for the IAM user, make the role's trust policy trust that user (with the externalId it requires, if any), then test again.`;
        }
        return "STS refused the access keys that assume the role: check accessKeyId and secretAccessKey (an active key of the IAM user), or create a new access key and rotate the connector's credentials.";
      }
      switch (aws) {
        case 'InvalidAccessKeyId':
          return "AWS does not know this access key id: check accessKeyId (IAM > Users > Security credentials shows the user's active keys; a deleted or deactivated key is refused like this), and for temporary ASIA… keys set sessionToken too. Create a new access key if needed and rotate the connector's credentials.";
        case 'SignatureDoesNotMatch':
          return "The secret access key does not belong to this access key id: copy secretAccessKey again (whole, without spaces), or create a new access key pair and rotate the connector's credentials.";
        case 'InvalidToken':
        case 'ExpiredToken':
        case 'TokenRefreshRequired':
          return "The session token is invalid or has expired: temporary credentials last hours at most. Store long-lived access keys of an IAM user (optionally with roleArn for a read-only role) and rotate the connector's credentials.";
        case 'AccessDenied':
        case 'AllAccessDisabled':
        case 'AccessDeniedException':
          if (op === 'GetObject') {
            return `The credentials may list the bucket but not read its log files: grant s3:GetObject on arn:aws:s3:::${bucket}/${logs}* (and kms:Decrypt on the trail's KMS key if its files are SSE-KMS encrypted), and check the bucket policy.`;
          }
          return `The credentials are valid but may not list the bucket: grant s3:ListBucket on arn:aws:s3:::${bucket} (at least for the prefix ${logs}) to the IAM user or role, and check the bucket policy and any service control policy.`;
        default:
          return "AWS refused the credentials: check accessKeyId, secretAccessKey and sessionToken, or rotate the connector's credentials.";
      }
    case 'CONFIG_INVALID':
      if (aws === 'NoSuchBucket') return `The bucket ${bucket} does not exist at this endpoint: set bucket to the trail's S3 bucket (CloudTrail console > Trails > the trail's "Trail log location"), and check endpoint if you read an S3-compatible store.`;
      if (aws === 'InvalidBucketName') return `${bucket} is not a valid bucket name: set bucket to the trail's S3 bucket name (3–63 lowercase letters, digits, dots and hyphens).`;
      if (aws && /Redirect|AuthorizationHeaderMalformed|LocationConstraint/.test(aws)) return "The bucket is in another Region: set region to the bucket's Region (S3 console > the bucket > Properties > AWS Region).";
      if (step === 'SAMPLE_QUERY') return `No CloudTrail log files were found under s3://${bucket}/${logs}: check prefix (the trail's S3 key prefix, without AWSLogs), organizationId, accounts and regions, and that the trail is logging.`;
      if (error.status !== undefined) return 'S3 refused the request as configured: check bucket, region, prefix and endpoint.';
      return "Fix the connector's configuration or credentials as the message says, then test again.";
    case 'RATE_LIMITED':
      return 'S3 is throttling requests to this bucket (SlowDown / 503): test again in a minute or two; if it persists, raise syncIntervalSec, narrow accounts and regions, or lower lookbackDays so each sync lists less.';
    case 'TIMEOUT':
      if (step === 'CONNECT') return 'The S3 endpoint did not accept a connection in time: check region or endpoint and firewalls or proxies between the connector service and S3, or raise timeoutMs.';
      return 'S3 did not answer in time: test again, or raise timeoutMs.';
    case 'UNREACHABLE':
      if (error.status !== undefined) return 'S3 answered with a server error: test again later (https://health.aws.amazon.com shows service events).';
      return 'The S3 endpoint could not be reached: check region (or endpoint and forcePathStyle for an S3-compatible store) and DNS and firewall rules between the connector service and S3.';
    case 'BAD_RESPONSE':
      if (error.message.includes('limit')) return 'A log file is larger than maxObjectBytes: raise maxObjectBytes.';
      return 'The object is not a CloudTrail log file (gzip JSON with a Records array): check prefix, and that nothing else writes files named like CloudTrail files under AWSLogs/.';
    default:
      return 'Test again; if it keeps failing, check the connector configuration.';
  }
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ConnectorError('TIMEOUT', 'The read was aborted');
}

/** Streams to read: found by listing AWSLogs/ (and organization folders), narrowed by accounts and regions. */
async function discoverStreams(s: S3Session, limit = Infinity): Promise<TrailStream[]> {
  const cfg = s.cfg;
  const root = awsLogsRoot(cfg);
  const owners: Array<[string, string | null]> = [];
  const entries = cfg.organizationId ? [`${root}${cfg.organizationId}/`] : await listPrefixes(s, root);
  for (const entry of entries) {
    const name = entry.slice(root.length, -1);
    if (ACCOUNT_ID.test(name)) owners.push([name, null]);
    else if (ORGANIZATION_ID.test(name)) {
      for (const sub of await listPrefixes(s, entry)) {
        const account = sub.slice(entry.length, -1);
        if (ACCOUNT_ID.test(account)) owners.push([account, name]);
      }
    }
  }
  const streams: TrailStream[] = [];
  for (const [account, org] of owners) {
    if (cfg.accounts.length && !cfg.accounts.includes(account)) continue;
    let regions = cfg.regions;
    if (!regions.length) {
      const base = accountRoot(cfg, account, org);
      regions = (await listPrefixes(s, base)).map((p) => p.slice(base.length, -1)).filter((r) => REGION.test(r));
    }
    for (const region of regions) streams.push(streamOf(cfg, account, region, org));
    if (streams.length >= limit) break;
  }
  return streams.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
}

/** The newest log file of a stream: newest year, month and day folders, then the day's last file. */
async function newestLogFile(s: S3Session, stream: TrailStream): Promise<string | null> {
  const newest = async (prefix: string, pattern: RegExp): Promise<string[]> =>
    (await listPrefixes(s, prefix)).filter((p) => pattern.test(p.slice(prefix.length, -1))).sort().reverse();
  for (const year of (await newest(stream.base, /^\d{4}$/)).slice(0, 2)) {
    for (const month of (await newest(year, /^\d{2}$/)).slice(0, 12)) {
      for (const day of (await newest(month, /^\d{2}$/)).slice(0, 31)) {
        let last: string | null = null;
        let token: string | null = null;
        do {
          const page = await listPage(s, { prefix: day, continuationToken: token });
          for (const key of page.keys) if (parseLogFileKey(key)) last = key;
          token = page.next;
        } while (token);
        if (last) return last;
      }
    }
  }
  return null;
}

/** The records of one log file; BAD_RESPONSE when it is not `{ "Records": [...] }`. */
function recordsOf(doc: unknown, key: string, secrets: readonly string[]): { records: CloudTrailEventRecord[]; skipped: number } {
  const list = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as { Records?: unknown }).Records : undefined;
  if (!Array.isArray(list)) {
    throw new CloudTrailError('BAD_RESPONSE', `${key} has no Records array`, { phase: 'body', operation: 'GetObject' });
  }
  const records: CloudTrailEventRecord[] = [];
  let skipped = 0;
  for (const item of list) {
    const mapped = mapCloudTrailRecord(item, key);
    if (mapped.ok) records.push(redactSecrets(mapped.record, secrets));
    else skipped++;
  }
  return { records, skipped };
}

/** DNS (guarded), TCP and TLS to the S3 endpoint: the CONNECT step's real connection. */
function probeConnect(ctx: AdapterContext, s: S3Session, timeoutMs: number): Promise<void> {
  const url = new URL(s.cfg.endpoint ?? `https://${s.host}`);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const lookup = createGuardedLookup(ctx.http.egress) as unknown as net.LookupFunction;
  return new Promise((resolve, reject) => {
    const socket = secure ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, lookup }) : net.connect({ host, port, lookup });
    const done = (err?: unknown) => {
      socket.destroy();
      ctx.signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => done(new CloudTrailError('TIMEOUT', `The connection to ${s.host} was aborted`, { phase: 'connect', operation: 'ListObjectsV2' }));
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(timeoutMs, () => done(new CloudTrailError('TIMEOUT', `No connection to ${s.host} within ${timeoutMs} ms`, { phase: 'connect', operation: 'ListObjectsV2' })));
    socket.once(secure ? 'secureConnect' : 'connect', () => done());
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof ConnectorError) return done(e);
      const tlsFailure = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(e.code ?? '');
      done(new CloudTrailError('UNREACHABLE', tlsFailure ? `TLS verification of ${s.host} failed (${e.code})` : `${s.host} could not be reached (${e.code ?? 'connection failed'})`, { phase: 'connect', operation: 'ListObjectsV2' }));
    });
  });
}

function toConnectorError(e: unknown, secrets: readonly string[]): ConnectorError {
  if (e instanceof ConnectorError) return e;
  return new ConnectorError('UNREACHABLE', scrubSecrets('Unexpected failure while reading CloudTrail from S3', secrets), { retryable: true });
}

/**
 * The connection test, four steps:
 * - `CONNECT`: the config and credentials can sign, the endpoint passes the egress guard, and a
 *   TCP (and TLS) connection to it opens (DNS through the guarded lookup).
 * - `AUTHENTICATE`: AssumeRole when `roleArn` is set, then one signed ListObjectsV2 of `AWSLogs/`
 *   is accepted (bad keys: InvalidAccessKeyId or SignatureDoesNotMatch; a missing s3:ListBucket:
 *   AccessDenied; a wrong bucket fails the next step with NoSuchBucket).
 * - `SAMPLE_QUERY`: a stream and its newest log file are found, and GetObject reads it.
 * - `VALIDATE_FORMAT`: it is gzip JSON with a Records array; up to 5 records, mapped, are the sample.
 * `cheap` (health checks): the same first two steps, then only the AWSLogs/ listing is judged.
 */
async function check(ctx: AdapterContext, input: ConnectionInput, options: CheckOptions = {}): Promise<CheckResult> {
  const t0 = performance.now();
  const steps = new CheckSteps();
  const secrets = [input.credentials?.secretAccessKey, input.credentials?.sessionToken].filter((x): x is string => typeof x === 'string');
  let cfg: CloudTrailConfig | null = null;
  let session: S3Session | null = null;
  const sampleSize = options.cheap ? 0 : Math.max(0, Math.min(5, options.sampleSize ?? 5));
  let sample: NormalizedRecord[] = [];
  const finish = (): CheckResult => steps.result(t0, sample);
  const fail = (name: TestStepName, ms: number, e: unknown) => {
    const err = toConnectorError(e, session?.secrets ?? secrets);
    steps.fail(name, ms, err, scrubSecrets(err.message, session?.secrets ?? secrets), remediationFor(name, err, cfg));
  };
  try {
    try {
      cfg = parseConfig(input.config);
      session = openSession(ctx, input, cfg);
      await probeConnect(ctx, session, Math.min(cfg.timeoutMs, 10_000));
    } catch (e) {
      fail('CONNECT', performance.now() - t0, e);
      return finish();
    }
    steps.pass('CONNECT', performance.now() - t0, `Connected to ${session.host}`);

    const root = awsLogsRoot(cfg);
    const a0 = performance.now();
    let entries: string[];
    try {
      entries = (await listPage(session, { prefix: root, delimiter: '/', maxKeys: 1000 })).prefixes;
    } catch (e) {
      const err = toConnectorError(e, session.secrets);
      if (err.code === 'AUTH_FAILED' || err.code === 'EGRESS_DENIED' || (err instanceof CloudTrailError && err.phase === 'connect')) {
        fail('AUTHENTICATE', performance.now() - a0, err);
        return finish();
      }
      steps.pass('AUTHENTICATE', performance.now() - a0, `S3 accepted the signed request${cfg.roleArn ? ` (as ${cfg.roleArn})` : ''}`);
      fail('SAMPLE_QUERY', 0, err);
      return finish();
    }
    steps.pass('AUTHENTICATE', performance.now() - a0, `S3 accepted the signed request${cfg.roleArn ? ` (as ${cfg.roleArn})` : ''}: ListObjectsV2 of s3://${cfg.bucket}/${root}`);

    const q0 = performance.now();
    if (options.cheap) {
      steps.pass('SAMPLE_QUERY', 0, `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} under s3://${cfg.bucket}/${root} (health check: nothing read)`);
      steps.pass('VALIDATE_FORMAT', 0, 'Not sampled (health check)');
      return finish();
    }
    let key: string | null = null;
    let doc: unknown;
    let streamCount = 0;
    try {
      const streams = await discoverStreams(session, 20);
      streamCount = streams.length;
      for (const stream of streams.slice(0, 3)) {
        key = await newestLogFile(session, stream);
        if (key) break;
      }
      if (!key) {
        throw new CloudTrailError('CONFIG_INVALID', `No CloudTrail log file found under s3://${cfg.bucket}/${root} (${streamCount} account/region folder${streamCount === 1 ? '' : 's'} found)`, { phase: 'response', operation: 'ListObjectsV2' });
      }
      doc = await readLogFile(session, key);
    } catch (e) {
      const err = toConnectorError(e, session.secrets);
      if (err instanceof CloudTrailError && err.phase === 'body') {
        steps.pass('SAMPLE_QUERY', performance.now() - q0, `Read s3://${cfg.bucket}/${key ?? ''}`);
        fail('VALIDATE_FORMAT', 0, err);
      } else fail('SAMPLE_QUERY', performance.now() - q0, err);
      return finish();
    }
    steps.pass('SAMPLE_QUERY', performance.now() - q0, `Read the newest log file s3://${cfg.bucket}/${key} (${streamCount} account/region stream${streamCount === 1 ? '' : 's'})`);

    const v0 = performance.now();
    try {
      const { records, skipped } = recordsOf(doc, key, session.secrets);
      sample = records.slice(0, sampleSize);
      steps.pass('VALIDATE_FORMAT', performance.now() - v0, `A CloudTrail log file: ${records.length} record${records.length === 1 ? '' : 's'} mapped${skipped ? `, ${skipped} without eventID or eventTime skipped` : ''}`);
    } catch (e) {
      fail('VALIDATE_FORMAT', performance.now() - v0, e);
    }
    return finish();
  } catch (e) {
    // Defensive: a check always comes back as a result.
    fail(steps.next(), 0, e);
    return finish();
  } finally {
    session?.close();
  }
}

/**
 * Reads every stream from the cursor (null: from `startDate`, default `lookbackDays` before
 * today) to today, day prefix by day prefix, one batch per log file, then a last batch with the
 * final cursor when it moved without a file. Throws ConnectorError.
 */
async function* read(ctx: AdapterContext, input: ConnectionInput, raw: ReadCursor): AsyncGenerator<RecordBatch> {
  const cfg = parseConfig(input.config);
  const session = openSession(ctx, input, cfg);
  try {
    aborted(ctx.signal);
    const cursor: CloudTrailCursor = parseCursor(raw);
    const today = dayOf(ctx.now?.() ?? new Date());
    let committed = JSON.stringify(cursor);
    let yielded = false;
    const streams = await discoverStreams(session);
    for (const stream of streams) {
      const marker = cursor.streams[stream.base];
      const from = marker ? addDays(marker, -cfg.lookbackDays) : (cursor.from ?? cfg.startDate ?? addDays(today, -cfg.lookbackDays));
      prune(cursor, stream, from);
      for (const day of daysBetween(from, today)) {
        const current = cursor.streams[stream.base];
        if (!current || day > current) cursor.streams[stream.base] = day;
        const prefix = dayPrefix(stream, day);
        const startAfter = listStart(cursor, prefix, cfg.settleMinutes);
        let token: string | null = null;
        do {
          aborted(ctx.signal);
          const page = await listPage(session, { prefix, startAfter: token ? undefined : startAfter, continuationToken: token });
          for (const key of page.keys) {
            const file = parseLogFileKey(key);
            if (!file || alreadyRead(cursor, prefix, key, file, cfg.settleMinutes)) continue;
            aborted(ctx.signal);
            const { records } = recordsOf(await readLogFile(session, key), key, session.secrets);
            markRead(cursor, prefix, key, file, cfg.settleMinutes);
            committed = JSON.stringify(cursor);
            yielded = true;
            yield { records, cursor: JSON.parse(committed) as CloudTrailCursor, dedupKey: CLOUDTRAIL_DEDUP_KEY };
          }
          token = page.next;
        } while (token);
      }
    }
    if (!yielded || JSON.stringify(cursor) !== committed) yield { records: [], cursor: structuredClone(cursor), dedupKey: CLOUDTRAIL_DEDUP_KEY };
  } finally {
    session.close();
  }
}

/** A reset to `from`: every stream is listed again from that UTC day (records read again are deduplicated by eventID). */
function cursorFrom(input: ConnectionInput, from: Date): ReadCursor {
  parseConfig(input.config);
  if (Number.isNaN(from.getTime())) throw new ConnectorError('CONFIG_INVALID', 'from is not a valid date');
  return { version: 1, from: dayOf(from), streams: {}, prefixes: {} };
}

// Not an object literal: `cursorFrom` joins the Adapter contract with the cursor-reset work.
const adapter = { spec, check, read, cursorFrom };
export const cloudTrailAdapter: Adapter = adapter;
