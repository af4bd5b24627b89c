/**
 * A CloudTrail record (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html)
 * as a normalized `event`, with a severity from the rules in {@link SEVERITY_RULES}.
 *
 * Kept: when, what (eventSource, eventName, eventType), who (userIdentity: type, arn, accountId,
 * userName, principalId, accessKeyId — an identifier, not a secret —, invokedBy, the session
 * issuer and whether MFA was used), from where (sourceIPAddress, userAgent, awsRegion), the outcome
 * (errorCode, errorMessage, the console login result) and the resources' ARNs. Not kept:
 * requestParameters, responseElements, additionalEventData and serviceEventDetails as such — they
 * can carry credentials (AssumeRole and GetSessionToken answers hold a session token) and arbitrary
 * payloads; only the console login result and MFAUsed are read from them.
 */
import type { EventRecord } from '../records.js';

export const CLOUDTRAIL_FORMAT = 'CloudTrail';

export interface CloudTrailIdentity {
  type: string | null;
  arn: string | null;
  accountId: string | null;
  userName: string | null;
  principalId: string | null;
  accessKeyId: string | null;
  invokedBy: string | null;
  sessionIssuer: { type: string | null; arn: string | null; userName: string | null } | null;
  mfaAuthenticated: boolean | null;
}

export interface CloudTrailEventRecord extends EventRecord {
  format: typeof CLOUDTRAIL_FORMAT;
  eventSource: string | null;
  eventType: string | null;
  awsRegion: string | null;
  recipientAccountId: string | null;
  userIdentity: CloudTrailIdentity;
  userAgent: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  readOnly: boolean | null;
  requestId: string | null;
  outcome: 'success' | 'failure';
  /** `Success` or `Failure` for ConsoleLogin events. */
  consoleLogin: string | null;
  mfaUsed: string | null;
  resources: Array<{ arn: string | null; type: string | null; accountId: string | null }>;
  /** Which severity rules matched (see {@link SEVERITY_RULES}). */
  severityReasons: string[];
  /** The S3 key of the log file the record came from. */
  logFile: string;
}

/** 0–10, highest match wins. */
export const SEVERITY_RULES = [
  { id: 'root_console_login_failure', severity: 9, description: 'a failed console sign-in as the root user' },
  { id: 'root_usage', severity: 8, description: 'anything the root user does (userIdentity.type Root)' },
  { id: 'console_login_failure', severity: 7, description: 'a failed console sign-in (ConsoleLogin with responseElements.ConsoleLogin = Failure)' },
  { id: 'iam_change', severity: 6, description: 'a mutating IAM call (eventSource iam.amazonaws.com; not Get*, List*, Describe*, Generate*, Simulate*), succeeded or not' },
  { id: 'access_denied', severity: 5, description: 'a call refused for lack of permission (errorCode AccessDenied, AccessDeniedException, UnauthorizedOperation, Client.UnauthorizedOperation, …)' },
  { id: 'error', severity: 3, description: 'any other failed call (an errorCode)' },
  { id: 'write', severity: 2, description: 'a successful call that is not read-only' },
  { id: 'read', severity: 1, description: 'a successful read-only call (readOnly true)' },
] as const;

const SEVERITY = Object.fromEntries(SEVERITY_RULES.map((r) => [r.id, r.severity])) as Record<(typeof SEVERITY_RULES)[number]['id'], number>;
const READ_ONLY_NAME = /^(Get|List|Describe|Generate|Simulate|Search|Check|Lookup)/;
const ACCESS_DENIED = /^(Client\.)?(AccessDenied(Exception)?|UnauthorizedOperation|UnauthorizedAccess|Unauthorized)$/;

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v.slice(0, 2048) : null);
const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function identity(raw: unknown): CloudTrailIdentity {
  const u = obj(raw);
  const context = obj(u.sessionContext);
  const issuer = obj(context.sessionIssuer);
  const mfa = obj(context.attributes).mfaAuthenticated;
  return {
    type: str(u.type),
    arn: str(u.arn),
    accountId: str(u.accountId),
    userName: str(u.userName) ?? str(issuer.userName),
    principalId: str(u.principalId),
    accessKeyId: str(u.accessKeyId),
    invokedBy: str(u.invokedBy),
    sessionIssuer: Object.keys(issuer).length ? { type: str(issuer.type), arn: str(issuer.arn), userName: str(issuer.userName) } : null,
    mfaAuthenticated: mfa === 'true' || mfa === true ? true : mfa === 'false' || mfa === false ? false : null,
  };
}

function toIso(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** The severity and the rules that matched. */
export function severityOf(e: { eventSource: string | null; eventName: string | null; userType: string | null; errorCode: string | null; readOnly: boolean | null; consoleLogin: string | null }): { severity: number; reasons: string[] } {
  const reasons: string[] = [];
  const root = e.userType === 'Root';
  const loginFailed = e.eventName === 'ConsoleLogin' && e.consoleLogin === 'Failure';
  if (root && loginFailed) reasons.push('root_console_login_failure');
  if (root) reasons.push('root_usage');
  if (loginFailed) reasons.push('console_login_failure');
  if (e.eventSource === 'iam.amazonaws.com' && e.eventName && !READ_ONLY_NAME.test(e.eventName)) reasons.push('iam_change');
  if (e.errorCode && ACCESS_DENIED.test(e.errorCode)) reasons.push('access_denied');
  else if (e.errorCode) reasons.push('error');
  if (!e.errorCode && !loginFailed) reasons.push(e.readOnly === true ? 'read' : 'write');
  const severity = Math.max(...reasons.map((r) => SEVERITY[r as keyof typeof SEVERITY]));
  return { severity, reasons };
}

export type MapOutcome = { ok: true; record: CloudTrailEventRecord } | { ok: false; error: string };

/** Maps one element of a log file's `Records`; refuses (never throws) one without eventID or eventTime. */
export function mapCloudTrailRecord(raw: unknown, logFile: string): MapOutcome {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, error: 'a record is not a JSON object' };
  const r = raw as Record<string, unknown>;
  const eventId = str(r.eventID);
  if (!eventId) return { ok: false, error: 'a record has no eventID' };
  const timestamp = toIso(r.eventTime);
  if (!timestamp) return { ok: false, error: `record ${eventId} has no valid eventTime` };
  const user = identity(r.userIdentity);
  const eventName = str(r.eventName);
  const eventSource = str(r.eventSource);
  const errorCode = str(r.errorCode);
  const readOnly = typeof r.readOnly === 'boolean' ? r.readOnly : null;
  const consoleLogin = str(obj(r.responseElements).ConsoleLogin);
  const { severity, reasons } = severityOf({ eventSource, eventName, userType: user.type, errorCode, readOnly, consoleLogin });
  const awsRegion = str(r.awsRegion);
  const eventType = str(r.eventType);
  const extensions: Record<string, string> = {};
  for (const [k, v] of [['eventSource', eventSource], ['eventType', eventType], ['awsRegion', awsRegion], ['userType', user.type], ['errorCode', errorCode]] as const) {
    if (v) extensions[k] = v;
  }
  const resources = (Array.isArray(r.resources) ? r.resources : []).slice(0, 100).map((x) => {
    const o = obj(x);
    return { arn: str(o.ARN), type: str(o.type), accountId: str(o.accountId) };
  });
  const record: CloudTrailEventRecord = {
    kind: 'event',
    format: CLOUDTRAIL_FORMAT,
    vendor: 'AWS',
    product: 'CloudTrail',
    productVersion: str(r.eventVersion),
    eventId,
    name: eventName,
    severity,
    timestamp,
    src: str(r.sourceIPAddress),
    dst: null,
    srcPort: null,
    dstPort: null,
    user: user.arn ?? user.userName ?? user.type,
    extensions,
    eventSource,
    eventType,
    awsRegion,
    recipientAccountId: str(r.recipientAccountId),
    userIdentity: user,
    userAgent: str(r.userAgent),
    errorCode,
    errorMessage: str(r.errorMessage),
    readOnly,
    requestId: str(r.requestID),
    outcome: errorCode || consoleLogin === 'Failure' ? 'failure' : 'success',
    consoleLogin,
    mfaUsed: str(obj(r.additionalEventData).MFAUsed),
    resources,
    severityReasons: reasons,
    logFile,
  };
  return { ok: true, record };
}
