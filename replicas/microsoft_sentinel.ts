/**
 * Microsoft Sentinel replica: the Azure Monitor Log Analytics query API a Sentinel workspace is read
 * through (`POST /v1/workspaces/{workspaceId}/query`), after Microsoft's documentation:
 *
 * - Query - Execute: https://learn.microsoft.com/en-us/rest/api/loganalytics/dataaccess/query/execute
 * - Query - Get: https://learn.microsoft.com/en-us/rest/api/loganalytics/query/get
 * - Access and authentication: https://learn.microsoft.com/en-us/azure/azure-monitor/logs/api/access-api
 * - Response format: https://learn.microsoft.com/en-us/azure/azure-monitor/logs/api/response-format
 * - Errors: https://learn.microsoft.com/en-us/azure/azure-monitor/logs/api/errors
 * - Query throttling (200 queries per 30 s per user):
 *   https://learn.microsoft.com/en-us/azure/azure-monitor/service-limits#log-queries-and-language
 * - Tables: https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/securityalert and
 *   https://learn.microsoft.com/en-us/azure/azure-monitor/reference/tables/securityincident
 *
 * Auth: Microsoft Entra ID access tokens only (`Authorization: Bearer <token>`, resource
 * `https://api.loganalytics.io`): the replica accepts the tokens `options.verifyBearer` approves (the
 * tests' oidc-provider stands in for `login.microsoftonline.com`). No header is `401
 * AuthenticationFailed`; a token that is not valid is `403 InvalidAuthenticationToken`, both with the
 * documented OneAPI error objects.
 *
 * The body is `{ query, timespan?, workspaces? }` (JSON; a POST without a JSON body or without
 * `Content-Type: application/json` is an empty `200`, as documented). `timespan` is an ISO 8601
 * duration or interval and is applied to `TimeGenerated` in addition to the query. The answer is
 * `{ tables: [{ name: "PrimaryResult", columns: [{ name, type }], rows: [[...]] }] }`.
 *
 * The query is KQL; the replica evaluates the subset a connector sends: a table (`SecurityAlert`,
 * `SecurityIncident`), then `where` (comparisons, `and`/`or`/`not`, `in`, `contains`, `has`,
 * `startswith`, `=~`, `isempty`/`isnotempty`, `datetime()`, `ago()`, `now()`), `order by` / `sort by`
 * (descending unless `asc`), `take` / `limit`, `top N by` and `project`. Anything else is `400
 * BadArgumentError` with a `SyntaxError` / `SemanticError` inner error, as the service answers.
 *
 * The API has no paging: a connector re-queries from the last row's `TimeGenerated`
 * (`| where TimeGenerated > datetime(...) | order by TimeGenerated asc | take N`).
 */
import { randomUUID } from 'node:crypto';
import { ENTRA_ID_CLIENT, Random, ReplicaServer, appendEachSecond, authToken, hasValidBearer, recentInstants, serve } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

export const PROVIDER = 'microsoft_sentinel';

/** The workspace (Log Analytics workspace ID, the "Workspace ID" on its Overview blade). */
export const WORKSPACE_ID = '4f8c2a6e-1b3d-4e5f-9a7b-2c4d6e8f0a1b';
/** The Entra tenant the workspace's subscription trusts. */
export const TENANT_ID = '9b1d3f5a-7c2e-4a6b-8d0f-1e3a5c7b9d2f';
const SUBSCRIPTION_ID = 'c3e5a7b9-1d2f-4a6c-8e0b-3f5a7c9e1b4d';
const RESOURCE_GROUP = 'rg-soc-prod';
/** User query throttling: 200 queries per 30 seconds. */
const QUERIES_PER_WINDOW = 200;

type Severity = 'High' | 'Medium' | 'Low' | 'Informational';

/** Sentinel severities on the 0–10 scale of normalized events. */
export const SEVERITY_SCALE: Record<Severity, number> = { High: 8, Medium: 5, Low: 3, Informational: 1 };

interface Column {
  name: string;
  type: 'string' | 'datetime' | 'bool' | 'real' | 'int' | 'long' | 'dynamic' | 'guid';
}

/** A `SecurityAlert` row as an object keyed by column name (the engine zips rows with columns). */
export type SecurityAlertRow = Record<string, string | number | boolean | null>;

const ALERT_COLUMNS: Column[] = [
  { name: 'TenantId', type: 'string' },
  { name: 'TimeGenerated', type: 'datetime' },
  { name: 'DisplayName', type: 'string' },
  { name: 'AlertName', type: 'string' },
  { name: 'AlertSeverity', type: 'string' },
  { name: 'Description', type: 'string' },
  { name: 'ProviderName', type: 'string' },
  { name: 'VendorName', type: 'string' },
  { name: 'VendorOriginalId', type: 'string' },
  { name: 'SystemAlertId', type: 'string' },
  { name: 'ResourceId', type: 'string' },
  { name: 'SourceComputerId', type: 'string' },
  { name: 'AlertType', type: 'string' },
  { name: 'ConfidenceLevel', type: 'string' },
  { name: 'ConfidenceScore', type: 'real' },
  { name: 'IsIncident', type: 'bool' },
  { name: 'StartTime', type: 'datetime' },
  { name: 'EndTime', type: 'datetime' },
  { name: 'ProcessingEndTime', type: 'datetime' },
  { name: 'RemediationSteps', type: 'string' },
  { name: 'ExtendedProperties', type: 'string' },
  { name: 'Entities', type: 'string' },
  { name: 'SourceSystem', type: 'string' },
  { name: 'WorkspaceSubscriptionId', type: 'string' },
  { name: 'WorkspaceResourceGroup', type: 'string' },
  { name: 'ExtendedLinks', type: 'string' },
  { name: 'ProductName', type: 'string' },
  { name: 'ProductComponentName', type: 'string' },
  { name: 'AlertLink', type: 'string' },
  { name: 'Status', type: 'string' },
  { name: 'CompromisedEntity', type: 'string' },
  { name: 'Tactics', type: 'string' },
  { name: 'Techniques', type: 'string' },
  { name: 'SubTechniques', type: 'string' },
  { name: 'Type', type: 'string' },
];

const INCIDENT_COLUMNS: Column[] = [
  { name: 'TenantId', type: 'string' },
  { name: 'TimeGenerated', type: 'datetime' },
  { name: 'IncidentName', type: 'string' },
  { name: 'Title', type: 'string' },
  { name: 'Description', type: 'string' },
  { name: 'Severity', type: 'string' },
  { name: 'Status', type: 'string' },
  { name: 'Classification', type: 'string' },
  { name: 'ClassificationComment', type: 'string' },
  { name: 'ClassificationReason', type: 'string' },
  { name: 'Owner', type: 'dynamic' },
  { name: 'ProviderName', type: 'string' },
  { name: 'ProviderIncidentId', type: 'string' },
  { name: 'FirstActivityTime', type: 'datetime' },
  { name: 'LastActivityTime', type: 'datetime' },
  { name: 'FirstModifiedTime', type: 'datetime' },
  { name: 'LastModifiedTime', type: 'datetime' },
  { name: 'CreatedTime', type: 'datetime' },
  { name: 'ClosedTime', type: 'datetime' },
  { name: 'IncidentNumber', type: 'int' },
  { name: 'RelatedAnalyticRuleIds', type: 'dynamic' },
  { name: 'AlertIds', type: 'dynamic' },
  { name: 'BookmarkIds', type: 'dynamic' },
  { name: 'Comments', type: 'dynamic' },
  { name: 'Tasks', type: 'dynamic' },
  { name: 'Labels', type: 'dynamic' },
  { name: 'IncidentUrl', type: 'string' },
  { name: 'AdditionalData', type: 'dynamic' },
  { name: 'ModifiedBy', type: 'string' },
  { name: 'SourceSystem', type: 'string' },
  { name: 'Type', type: 'string' },
];

interface RuleTemplate {
  name: string;
  description: string;
  severity: Severity;
  tactic: string;
  technique: string;
  product: 'Azure Sentinel' | 'Microsoft Defender Advanced Threat Protection' | 'Azure Security Center';
}

const RULES: RuleTemplate[] = [
  { name: 'Suspicious PowerShell command line', description: 'A PowerShell process ran an encoded command typical of download cradles.', severity: 'Medium', tactic: 'Execution', technique: 'T1059', product: 'Azure Sentinel' },
  { name: 'Brute force attack against Azure Portal', description: 'Many failed sign-ins to the Azure Portal from one IP address were followed by a success.', severity: 'High', tactic: 'CredentialAccess', technique: 'T1110', product: 'Azure Sentinel' },
  { name: 'Rare subscription-level operations in Azure', description: 'A user ran subscription-level operations they have not run before.', severity: 'Low', tactic: 'Persistence', technique: 'T1098', product: 'Azure Sentinel' },
  { name: "Suspicious 'Meterpreter' behavior was detected", description: 'A process on the device behaves like the Meterpreter payload.', severity: 'High', tactic: 'CommandAndControl', technique: 'T1071', product: 'Microsoft Defender Advanced Threat Protection' },
  { name: 'Mass download by a single user', description: 'A user downloaded an unusual number of files from SharePoint Online in a short time.', severity: 'Medium', tactic: 'Exfiltration', technique: 'T1567', product: 'Azure Sentinel' },
  { name: 'Sign-ins from IPs that attempt sign-ins to disabled accounts', description: 'An IP address that tried to sign in to disabled accounts signed in successfully to another account.', severity: 'Medium', tactic: 'InitialAccess', technique: 'T1078', product: 'Azure Sentinel' },
  { name: 'New user created and added to the built-in administrators group', description: 'A user account was created and added to the local Administrators group.', severity: 'Low', tactic: 'Persistence', technique: 'T1136', product: 'Azure Sentinel' },
  { name: 'Anomalous resource access', description: 'A resource was accessed in a way that is unusual for this user.', severity: 'Informational', tactic: 'Discovery', technique: 'T1087', product: 'Azure Security Center' },
];

const HOSTS = ['web-prod-01', 'sql-prod-02', 'dc01', 'wks-finance-14', 'jumpbox-03', 'aks-node-7'];
const USERS = ['ada.lovelace', 'grace.hopper', 'alan.turing', 'katherine.johnson', 'svc-backup'];

/** A Log Analytics datetime: UTC with seven fractional digits (the replica's values are whole ms). */
function kqlDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

class Generator extends Random {
  alert(timeMs: number): SecurityAlertRow {
    const rule = this.pick(RULES);
    const host = this.pick(HOSTS);
    const user = this.pick(USERS);
    const ip = this.ipv4([20, 40, 52, 104]);
    const ruleId = this.uuid();
    const systemAlertId = this.uuid();
    const start = timeMs - 5 * 60_000 - this.int(60) * 1000;
    const entities = [
      { $id: '3', HostName: host, OSFamily: 'Windows', Type: 'host' },
      { $id: '4', Address: ip, Type: 'ip' },
      { $id: '5', Name: user, UPNSuffix: 'contoso.com', Type: 'account' },
    ];
    const sentinel = rule.product === 'Azure Sentinel';
    return {
      TenantId: WORKSPACE_ID,
      TimeGenerated: kqlDate(timeMs),
      DisplayName: rule.name,
      AlertName: rule.name,
      AlertSeverity: rule.severity,
      Description: rule.description,
      ProviderName: sentinel ? 'ASI Scheduled Alerts' : rule.product === 'Azure Security Center' ? 'Azure Security Center' : 'MDATP',
      VendorName: 'Microsoft',
      VendorOriginalId: sentinel ? this.uuid() : `da${String(637000000000000000 + this.int(1e9))}_${this.int(2e9)}`,
      SystemAlertId: systemAlertId,
      ResourceId: '',
      SourceComputerId: '',
      AlertType: sentinel ? `${WORKSPACE_ID}_${ruleId}` : rule.tactic,
      ConfidenceLevel: 'Unknown',
      ConfidenceScore: null,
      IsIncident: false,
      StartTime: kqlDate(start),
      EndTime: kqlDate(timeMs - 60_000),
      ProcessingEndTime: kqlDate(timeMs),
      RemediationSteps: '',
      ExtendedProperties: JSON.stringify({
        'Analytic Rule Ids': `["${ruleId}"]`,
        'Analytic Rule Name': rule.name,
        'Event Grouping': 'SingleAlert',
        'Query Period': '05:00:00',
        'Trigger Operator': 'GreaterThan',
        'Trigger Threshold': '0',
      }),
      Entities: JSON.stringify(entities),
      SourceSystem: 'Detection',
      WorkspaceSubscriptionId: SUBSCRIPTION_ID,
      WorkspaceResourceGroup: RESOURCE_GROUP,
      ExtendedLinks: '',
      ProductName: rule.product,
      ProductComponentName: sentinel ? 'Scheduled Alerts' : '',
      AlertLink: '',
      Status: 'New',
      CompromisedEntity: host,
      Tactics: rule.tactic,
      Techniques: JSON.stringify([rule.technique]),
      SubTechniques: '',
      Type: 'SecurityAlert',
    };
  }
}

/** The incident Sentinel opened for an alert (one per alert in the replica). */
function incidentOf(alert: SecurityAlertRow, number: number): SecurityAlertRow {
  const name = `${String(alert.SystemAlertId).slice(0, 24)}${String(number).padStart(12, '0')}`;
  return {
    TenantId: WORKSPACE_ID,
    TimeGenerated: alert.TimeGenerated,
    IncidentName: name,
    Title: alert.AlertName,
    Description: alert.Description,
    Severity: alert.AlertSeverity,
    Status: 'New',
    Classification: '',
    ClassificationComment: '',
    ClassificationReason: '',
    Owner: JSON.stringify({ objectId: null, email: null, assignedTo: null, userPrincipalName: null }),
    ProviderName: 'Azure Sentinel',
    ProviderIncidentId: String(number),
    FirstActivityTime: alert.StartTime,
    LastActivityTime: alert.EndTime,
    FirstModifiedTime: alert.TimeGenerated,
    LastModifiedTime: alert.TimeGenerated,
    CreatedTime: alert.TimeGenerated,
    ClosedTime: null,
    IncidentNumber: number,
    RelatedAnalyticRuleIds: JSON.stringify([]),
    AlertIds: JSON.stringify([alert.SystemAlertId]),
    BookmarkIds: '[]',
    Comments: '[]',
    Tasks: '[]',
    Labels: '[]',
    IncidentUrl: `https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.OperationalInsights/workspaces/sentinel-prod/providers/Microsoft.SecurityInsights/Incidents/${name}`,
    AdditionalData: JSON.stringify({ alertsCount: 1, bookmarksCount: 0, commentsCount: 0, alertProductNames: [alert.ProductName], tactics: [alert.Tactics] }),
    ModifiedBy: 'Incident created from alert',
    SourceSystem: 'Azure',
    Type: 'SecurityIncident',
  };
}

// ---------------------------------------------------------------------------------------------
// OneAPI error objects
// ---------------------------------------------------------------------------------------------

function oneApiError(status: number, code: string, message: string, inner?: { code: string; message: string }, headers: Record<string, string> = {}): ReplicaResponse {
  const error: Record<string, unknown> = { message, code, correlationId: randomUUID() };
  if (inner) error.innererror = inner;
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: { error } };
}

class KqlError extends Error {
  constructor(
    readonly inner: 'SyntaxError' | 'SemanticError',
    message: string,
  ) {
    super(message);
  }
}

function badQuery(e: KqlError): ReplicaResponse {
  return oneApiError(400, 'BadArgumentError', 'The request had some invalid properties', { code: e.inner, message: e.message });
}

/** The 429 the service answers when a user exceeds the query rate (the suite injects it). */
export function sentinelRateLimitResponse(retryAfterSec: number): ReplicaResponse {
  return oneApiError(
    429,
    'ThrottledError',
    `Your query was throttled: more than ${QUERIES_PER_WINDOW} queries in 30 seconds were submitted by this user. Retry after ${retryAfterSec} seconds.`,
    undefined,
    { 'retry-after': String(retryAfterSec) },
  );
}

// ---------------------------------------------------------------------------------------------
// A KQL subset
// ---------------------------------------------------------------------------------------------

type Token =
  | { t: 'id'; v: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'span'; v: number }
  | { t: 'raw'; v: string }
  | { t: 'op'; v: string };

const SPAN_UNITS: Record<string, number> = { d: 86400_000, day: 86400_000, days: 86400_000, h: 3600_000, hr: 3600_000, hrs: 3600_000, hour: 3600_000, hours: 3600_000, m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000, s: 1000, sec: 1000, second: 1000, seconds: 1000, ms: 1, milli: 1, millis: 1, millisecond: 1, milliseconds: 1 };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '"' || c === "'" || ((c === '@' || c === 'h' || c === 'H') && (text[i + 1] === '"' || text[i + 1] === "'"))) {
      const verbatim = c === '@';
      if (c !== '"' && c !== "'") i++;
      const quote = text[i]!;
      let s = '';
      i++;
      while (i < text.length && text[i] !== quote) {
        if (!verbatim && text[i] === '\\' && i + 1 < text.length) {
          const n = text[i + 1]!;
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          i += 2;
        } else s += text[i++];
      }
      if (i >= text.length) throw new KqlError('SyntaxError', 'Syntax Error: unterminated string literal');
      i++;
      out.push({ t: 'str', v: s });
      continue;
    }
    const num = /^\d+(\.\d+)?([a-z]+)?/i.exec(text.slice(i));
    if (num) {
      const unit = num[2]?.toLowerCase();
      if (unit !== undefined) {
        const factor = SPAN_UNITS[unit];
        if (factor === undefined) throw new KqlError('SyntaxError', `Syntax Error: unexpected token '${num[0]}'`);
        out.push({ t: 'span', v: Number(num[0].slice(0, num[0].length - num[2]!.length)) * factor });
      } else out.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i));
    if (ident) {
      let name = ident[0];
      // `project-away` and friends keep their hyphen; a hyphen elsewhere ends the identifier.
      if (name.includes('-') && !/^(project-away|project-rename|project-keep|project-reorder|mv-expand|order-by)$/i.test(name)) name = name.slice(0, name.indexOf('-'));
      i += name.length;
      out.push({ t: 'id', v: name });
      // datetime(...) / timespan(...) take their argument as raw text.
      if (/^(datetime|todatetime|timespan|totimespan)$/i.test(name)) {
        let j = i;
        while (j < text.length && /\s/.test(text[j]!)) j++;
        if (text[j] === '(') {
          const close = text.indexOf(')', j);
          if (close < 0) throw new KqlError('SyntaxError', 'Syntax Error: missing closing parenthesis');
          const raw = text.slice(j + 1, close).trim();
          if (!/^["']/.test(raw)) {
            out.push({ t: 'op', v: '(' }, { t: 'raw', v: raw }, { t: 'op', v: ')' });
            i = close + 1;
          }
        }
      }
      continue;
    }
    const op = /^(==|!=|>=|<=|=~|!~|<>|[|(),<>=!*.-])/.exec(text.slice(i));
    if (op) {
      out.push({ t: 'op', v: op[0] });
      i += op[0].length;
      continue;
    }
    throw new KqlError('SyntaxError', `Syntax Error: unexpected character '${c}'`);
  }
  return out;
}

type Value = string | number | boolean | null | { date: number };
type Expr = (row: Record<string, unknown>) => Value;

interface Table {
  name: string;
  columns: Column[];
  rows: SecurityAlertRow[];
}

/** Evaluates a query over the tables; the query is validated before any row is read. */
class Query {
  private pos = 0;
  private readonly tokens: Token[];
  constructor(
    text: string,
    private readonly tables: Record<string, Table>,
    private readonly now: number,
  ) {
    this.tokens = tokenize(text);
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  private next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new KqlError('SyntaxError', 'Syntax Error: the query ended unexpectedly');
    return t;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t?.t === 'op' && t.v === v;
  }
  private isWord(v: string): boolean {
    const t = this.peek();
    return t?.t === 'id' && t.v.toLowerCase() === v;
  }
  private expectOp(v: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) throw new KqlError('SyntaxError', `Syntax Error: expected '${v}'`);
  }
  private expectWord(v: string): void {
    const t = this.next();
    if (t.t !== 'id' || t.v.toLowerCase() !== v) throw new KqlError('SyntaxError', `Syntax Error: expected '${v}'`);
  }
  private ident(): string {
    const t = this.next();
    if (t.t !== 'id') throw new KqlError('SyntaxError', 'Syntax Error: expected a name');
    return t.v;
  }

  run(timespan: { start: number; end: number } | null): { columns: Column[]; rows: unknown[][] } {
    const source = this.ident();
    const table = this.tables[source];
    if (!table) throw new KqlError('SemanticError', `'${source}' operator: Failed to resolve table or column expression named '${source}'`);
    let columns = table.columns.slice();
    let rows: Array<Record<string, unknown>> = table.rows.map((r) => ({ ...r }));
    if (timespan) {
      rows = rows.filter((r) => {
        const ms = Date.parse(String(r.TimeGenerated));
        return ms >= timespan.start && ms <= timespan.end;
      });
    }
    const typeOf = (name: string) => columns.find((c) => c.name === name)?.type;
    while (this.pos < this.tokens.length) {
      this.expectOp('|');
      const op = this.ident().toLowerCase();
      switch (op) {
        case 'where':
        case 'filter': {
          const cond = this.expr(typeOf, op);
          rows = rows.filter((r) => cond(r) === true);
          break;
        }
        case 'take':
        case 'limit': {
          const n = this.constant(op);
          if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new KqlError('SemanticError', `'${op}' operator: the number of rows must be a non-negative integer constant`);
          rows = rows.slice(0, n);
          break;
        }
        case 'order':
        case 'sort': {
          this.expectWord('by');
          const keys = this.sortKeys(typeOf, op);
          rows = this.sorted(rows, keys);
          break;
        }
        case 'top': {
          const n = this.next();
          if (n.t !== 'num') throw new KqlError('SyntaxError', "Syntax Error: 'top' expects a number");
          this.expectWord('by');
          const keys = this.sortKeys(typeOf, op);
          rows = this.sorted(rows, keys).slice(0, n.v);
          break;
        }
        case 'project': {
          const names: string[] = [];
          do {
            const name = this.ident();
            if (!typeOf(name)) throw new KqlError('SemanticError', `'project' operator: Failed to resolve scalar expression named '${name}'`);
            names.push(name);
          } while (this.isOp(',') && this.next());
          columns = names.map((n) => columns.find((c) => c.name === n)!);
          break;
        }
        default:
          throw new KqlError('SyntaxError', `Syntax Error: the replica does not evaluate the '${op}' operator`);
      }
      if (this.pos < this.tokens.length && !this.isOp('|')) throw new KqlError('SyntaxError', `Syntax Error: unexpected token after '${op}'`);
    }
    return { columns, rows: rows.map((r) => columns.map((c) => r[c.name] ?? null)) };
  }

  /** A constant scalar: a literal, `tolong()` / `toint()` of a literal, or `coalesce()` of constants. */
  private constant(op: string): Value {
    const t = this.next();
    if (t.t === 'num') return t.v;
    if (t.t === 'str') return t.v;
    if (t.t !== 'id') throw new KqlError('SyntaxError', `Syntax Error: '${op}' expects a constant`);
    const fn = t.v.toLowerCase();
    if (fn === 'null') return null;
    this.expectOp('(');
    const args: Value[] = [];
    if (!this.isOp(')')) {
      do args.push(this.constant(op));
      while (this.isOp(',') && this.next());
    }
    this.expectOp(')');
    switch (fn) {
      case 'coalesce':
        if (args.length < 2) throw new KqlError('SemanticError', "coalesce(): expects at least 2 arguments");
        return args.find((a) => a !== null && a !== '') ?? null;
      case 'tolong':
      case 'toint': {
        if (args.length !== 1) throw new KqlError('SemanticError', `${fn}(): expects 1 argument`);
        const v = args[0];
        if (typeof v === 'number') return Math.trunc(v);
        return typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : null;
      }
      default:
        throw new KqlError('SemanticError', `'${op}' operator: Unknown function: '${t.v}'`);
    }
  }

  private sortKeys(typeOf: (n: string) => string | undefined, op: string): Array<{ name: string; desc: boolean }> {
    const keys: Array<{ name: string; desc: boolean }> = [];
    do {
      const name = this.ident();
      if (!typeOf(name)) throw new KqlError('SemanticError', `'${op}' operator: Failed to resolve scalar expression named '${name}'`);
      let desc = true;
      if (this.isWord('asc')) {
        this.next();
        desc = false;
      } else if (this.isWord('desc')) this.next();
      if (this.isWord('nulls')) {
        this.next();
        this.next();
      }
      keys.push({ name, desc });
    } while (this.isOp(',') && this.next());
    return keys;
  }

  private sorted(rows: Array<Record<string, unknown>>, keys: Array<{ name: string; desc: boolean }>): Array<Record<string, unknown>> {
    const cmp = (a: unknown, b: unknown): number => {
      if (a === b) return 0;
      if (a === null || a === undefined) return -1;
      if (b === null || b === undefined) return 1;
      return a < b ? -1 : 1;
    };
    return rows.slice().sort((x, y) => {
      for (const k of keys) {
        const c = cmp(x[k.name], y[k.name]);
        if (c !== 0) return k.desc ? -c : c;
      }
      return 0;
    });
  }

  // expr := and ('or' and)* ; and := unary ('and' unary)* ; unary := 'not' '(' expr ')' | primary
  private expr(typeOf: (n: string) => string | undefined, op: string): Expr {
    let left = this.conj(typeOf, op);
    while (this.isWord('or')) {
      this.next();
      const l = left;
      const r = this.conj(typeOf, op);
      left = (row) => l(row) === true || r(row) === true;
    }
    return left;
  }
  private conj(typeOf: (n: string) => string | undefined, op: string): Expr {
    let left = this.unary(typeOf, op);
    while (this.isWord('and')) {
      this.next();
      const l = left;
      const r = this.unary(typeOf, op);
      left = (row) => l(row) === true && r(row) === true;
    }
    return left;
  }
  private unary(typeOf: (n: string) => string | undefined, op: string): Expr {
    if (this.isWord('not')) {
      this.next();
      this.expectOp('(');
      const inner = this.expr(typeOf, op);
      this.expectOp(')');
      return (row) => inner(row) !== true;
    }
    if (this.isOp('(')) {
      this.next();
      const inner = this.expr(typeOf, op);
      this.expectOp(')');
      return inner;
    }
    return this.comparison(typeOf, op);
  }

  private comparison(typeOf: (n: string) => string | undefined, op: string): Expr {
    if (this.isWord('isempty') || this.isWord('isnotempty') || this.isWord('isnull') || this.isWord('isnotnull')) {
      const fn = this.ident().toLowerCase();
      this.expectOp('(');
      const v = this.operand(typeOf, op);
      this.expectOp(')');
      const empty = fn.endsWith('empty') ? (x: Value) => x === null || x === '' : (x: Value) => x === null;
      return fn.startsWith('isnot') ? (row) => !empty(v(row)) : (row) => empty(v(row));
    }
    const left = this.operand(typeOf, op);
    const t = this.peek();
    if (!t) return left;
    let operator: string;
    if (t.t === 'op' && ['==', '!=', '>', '>=', '<', '<=', '=~', '!~', '<>'].includes(t.v)) operator = this.next().v as string;
    else if (t.t === 'id' && /^(contains|!contains|has|startswith|endswith|in|contains_cs|has_cs)$/i.test(t.v)) operator = String(this.next().v).toLowerCase();
    else if (t.t === 'op' && t.v === '!') {
      this.next();
      operator = `!${this.ident().toLowerCase()}`;
    } else return left;
    if (operator === 'in' || operator === '!in') {
      this.expectOp('(');
      const list: Expr[] = [];
      do list.push(this.operand(typeOf, op));
      while (this.isOp(',') && this.next());
      this.expectOp(')');
      return (row) => {
        const v = left(row);
        const hit = list.some((e) => compare(v, e(row)) === 0);
        return operator === 'in' ? hit : !hit;
      };
    }
    const right = this.operand(typeOf, op);
    return (row) => {
      const a = left(row);
      const b = right(row);
      const sa = a === null ? '' : typeof a === 'object' ? String(a.date) : String(a);
      const sb = b === null ? '' : typeof b === 'object' ? String(b.date) : String(b);
      switch (operator) {
        case '==':
          return compare(a, b) === 0;
        case '!=':
        case '<>':
          return compare(a, b) !== 0;
        case '>':
          return compare(a, b) > 0;
        case '>=':
          return compare(a, b) >= 0;
        case '<':
          return compare(a, b) < 0;
        case '<=':
          return compare(a, b) <= 0;
        case '=~':
          return sa.toLowerCase() === sb.toLowerCase();
        case '!~':
          return sa.toLowerCase() !== sb.toLowerCase();
        case 'contains':
        case 'has':
          return sa.toLowerCase().includes(sb.toLowerCase());
        case '!contains':
        case '!has':
          return !sa.toLowerCase().includes(sb.toLowerCase());
        case 'contains_cs':
        case 'has_cs':
          return sa.includes(sb);
        case 'startswith':
          return sa.toLowerCase().startsWith(sb.toLowerCase());
        case 'endswith':
          return sa.toLowerCase().endsWith(sb.toLowerCase());
        default:
          throw new KqlError('SyntaxError', `Syntax Error: unknown operator '${operator}'`);
      }
    };
  }

  private operand(typeOf: (n: string) => string | undefined, op: string): Expr {
    const t = this.next();
    if (t.t === 'str') return () => t.v;
    if (t.t === 'num') return () => t.v;
    if (t.t === 'span') return () => t.v;
    if (t.t === 'op' && t.v === '-') {
      const n = this.next();
      if (n.t !== 'num' && n.t !== 'span') throw new KqlError('SyntaxError', "Syntax Error: unexpected '-'");
      return () => -n.v;
    }
    if (t.t !== 'id') throw new KqlError('SyntaxError', `Syntax Error: unexpected token '${String(t.v)}'`);
    const word = t.v;
    const lower = word.toLowerCase();
    if (lower === 'true' || lower === 'false') return () => lower === 'true';
    if (lower === 'null') return () => null;
    if (this.isOp('(')) {
      this.next();
      let value: Value;
      switch (lower) {
        case 'datetime':
        case 'todatetime': {
          const a = this.next();
          const raw = a.t === 'raw' || a.t === 'str' ? a.v : null;
          const ms = raw === null ? NaN : parseKqlDatetime(raw);
          if (Number.isNaN(ms)) throw new KqlError('SyntaxError', `Syntax Error: '${String(a.v)}' is not a valid datetime literal`);
          value = { date: ms };
          break;
        }
        case 'timespan':
        case 'totimespan': {
          const a = this.next();
          if (a.t === 'span') value = a.v;
          else if (a.t === 'raw') {
            const [n] = tokenize(a.v);
            if (!n || n.t !== 'span') throw new KqlError('SyntaxError', 'Syntax Error: not a valid timespan literal');
            value = n.v;
          } else throw new KqlError('SyntaxError', 'Syntax Error: not a valid timespan literal');
          break;
        }
        case 'ago': {
          const a = this.next();
          if (a.t !== 'span') throw new KqlError('SyntaxError', "Syntax Error: 'ago' expects a timespan");
          value = { date: this.now - a.v };
          break;
        }
        case 'now':
          value = { date: this.now };
          break;
        default:
          throw new KqlError('SemanticError', `'${op}' operator: Unknown function: '${word}'`);
      }
      this.expectOp(')');
      const fixed = value;
      return () => fixed;
    }
    const type = typeOf(word);
    if (!type) throw new KqlError('SemanticError', `'${op}' operator: Failed to resolve scalar expression named '${word}'`);
    if (type === 'datetime') {
      return (row) => {
        const v = row[word];
        if (v === null || v === undefined || v === '') return null;
        const ms = Date.parse(String(v));
        return Number.isNaN(ms) ? null : { date: ms };
      };
    }
    return (row) => (row[word] ?? null) as Value;
  }
}

function compare(a: Value, b: Value): number {
  if (a === null || b === null) return a === b ? 0 : NaN;
  const av = typeof a === 'object' ? a.date : a;
  const bv = typeof b === 'object' ? b.date : b;
  if (typeof av === 'number' && typeof bv === 'number') return av - bv;
  const as = String(av);
  const bs = String(bv);
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** A KQL datetime literal: ISO 8601 (a missing zone is UTC), or a date alone. */
function parseKqlDatetime(raw: string): number {
  const text = raw.trim().replace(/^["']|["']$/g, '');
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)) return NaN;
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(text) || text.length === 10 ? text : `${text}Z`;
  return Date.parse(withZone.replace(' ', 'T'));
}

/** An ISO 8601 duration (`PT1H`, `P1D`, `P1DT12H`, `P2W`) in milliseconds, or NaN. */
function parseDuration(text: string): number {
  const m = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text);
  if (!m || text.toUpperCase() === 'P' || text.toUpperCase().endsWith('T')) return NaN;
  const [, w, d, h, mi, s] = m.map((x) => (x === undefined ? 0 : Number(x)));
  return (((w! * 7 + d!) * 24 + h!) * 60 + mi!) * 60_000 + s! * 1000;
}

/** The `timespan` of a query: a duration ending now, an interval, or an interval given by one end and a duration. */
export function parseTimespan(text: string, now: number): { start: number; end: number } | null {
  const parts = text.trim().split('/');
  if (parts.length === 1) {
    const d = parseDuration(parts[0]!);
    return Number.isNaN(d) ? null : { start: now - d, end: now };
  }
  if (parts.length !== 2) return null;
  const [a, b] = parts as [string, string];
  const da = a.toUpperCase().startsWith('P') ? parseDuration(a) : NaN;
  const db = b.toUpperCase().startsWith('P') ? parseDuration(b) : NaN;
  const ta = Number.isNaN(da) ? parseKqlDatetime(a) : NaN;
  const tb = Number.isNaN(db) ? parseKqlDatetime(b) : NaN;
  if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta <= tb ? { start: ta, end: tb } : null;
  if (!Number.isNaN(ta) && !Number.isNaN(db)) return { start: ta, end: ta + db };
  if (!Number.isNaN(da) && !Number.isNaN(tb)) return { start: tb - da, end: tb };
  return null;
}

// ---------------------------------------------------------------------------------------------
// The replica
// ---------------------------------------------------------------------------------------------

export async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const server = new ReplicaServer(PROVIDER, sentinelRateLimitResponse);
  const gen = new Generator(0x5e7e);
  // Oldest first, every one inside the first sync's default window (24 h), the newest ten minutes ago.
  const alerts = recentInstants(options.items ?? 25, options.now ?? Date.now(), 60).map((at) => gen.alert(at));

  const tables = (): Record<string, Table> => ({
    SecurityAlert: { name: 'SecurityAlert', columns: ALERT_COLUMNS, rows: alerts },
    SecurityIncident: { name: 'SecurityIncident', columns: INCIDENT_COLUMNS, rows: alerts.map((a, i) => incidentOf(a, 1000 + i)) },
  });

  async function authorized(req: ReplicaRequest): Promise<ReplicaResponse | null> {
    if (typeof req.headers.authorization !== 'string' || req.headers.authorization === '') {
      return oneApiError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    }
    if (authToken(req.headers, 'Bearer') === null) {
      return oneApiError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is provided in an invalid format.");
    }
    if (await hasValidBearer(req.headers, options.verifyBearer)) return null;
    return oneApiError(403, 'InvalidAuthenticationToken', 'The access token is invalid.');
  }

  async function query(req: ReplicaRequest, body: { query?: unknown; timespan?: unknown } | null): Promise<ReplicaResponse> {
    const denied = await authorized(req);
    if (denied) return denied;
    if (req.params.workspaceId !== WORKSPACE_ID) {
      return oneApiError(404, 'WorkspaceNotFoundError', `The workspace could not be found`, { code: 'WorkspaceNotFoundError', message: `Workspace '${req.params.workspaceId}' was not found` });
    }
    // Documented: a POST without a JSON body or without `Content-Type: application/json` is an empty 200.
    if (body === null) return { status: 200 };
    if (typeof body.query !== 'string' || body.query.trim() === '') {
      return oneApiError(400, 'BadArgumentError', 'The request had some invalid properties', { code: 'QueryValidationError', message: "The 'query' property is required" });
    }
    const now = Date.now();
    let span: { start: number; end: number } | null = null;
    if (body.timespan !== undefined && body.timespan !== null && body.timespan !== '') {
      span = typeof body.timespan === 'string' ? parseTimespan(body.timespan, now) : null;
      if (!span) {
        return oneApiError(400, 'BadArgumentError', 'The request had some invalid properties', { code: 'QueryValidationError', message: `Failed to parse the timespan '${String(body.timespan)}'` });
      }
    }
    try {
      const result = new Query(body.query, tables(), now).run(span);
      return {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: { tables: [{ name: 'PrimaryResult', columns: result.columns, rows: result.rows }] },
      };
    } catch (e) {
      if (e instanceof KqlError) return badQuery(e);
      throw e;
    }
  }

  server.route('POST', '/v1/workspaces/:workspaceId/query', async (req) => {
    const json = String(req.headers['content-type'] ?? '').includes('application/json') && req.json && typeof req.json === 'object' ? (req.json as { query?: unknown; timespan?: unknown }) : null;
    return query(req, json);
  });
  server.route('GET', '/v1/workspaces/:workspaceId/query', async (req) => query(req, { query: req.query.get('query') ?? undefined, timespan: req.query.get('timespan') ?? undefined }));

  return serve(server, {
    ...ENTRA_ID_CLIENT,
    config: () => ({ workspaceId: WORKSPACE_ID, tenantId: TENANT_ID, pageSize: 10 }),
    addItems: (n) => appendEachSecond(alerts, n, (a) => Date.parse(String(a.TimeGenerated)), Date.now() - 600_000, (_, at) => gen.alert(at)),
    items: () => alerts.map((a) => ({ ...a })),
  });
}

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const row = item as SecurityAlertRow;
    return {
      kind: 'event',
      vendor: 'Microsoft',
      product: row.ProductName,
      eventId: row.SystemAlertId,
      name: row.AlertName,
      severity: SEVERITY_SCALE[row.AlertSeverity as Severity],
      timestamp: new Date(String(row.TimeGenerated)).toISOString(),
    };
  },
  authRemediation: /App registrations/,
};
