/**
 * Microsoft Defender for Endpoint replica: the List alerts API (`GET /api/alerts`), after
 * Microsoft's documentation:
 *
 * - List alerts API: https://learn.microsoft.com/en-us/defender-endpoint/api/get-alerts
 * - Alert resource type: https://learn.microsoft.com/en-us/defender-endpoint/api/alerts
 * - OData queries: https://learn.microsoft.com/en-us/defender-endpoint/api/exposed-apis-odata-samples
 * - Errors and throttling: https://learn.microsoft.com/en-us/defender-endpoint/api/common-errors
 * - App access without a user (client credentials, scope
 *   `https://api.securitycenter.microsoft.com/.default`):
 *   https://learn.microsoft.com/en-us/defender-endpoint/api/exposed-apis-create-app-webapp
 *
 * Auth: `Authorization: Bearer <Microsoft Entra ID access token>` with the `Alert.Read.All`
 * application permission; the replica accepts the tokens `options.verifyBearer` approves (the tests'
 * oidc-provider stands in for `login.microsoftonline.com`). Anything else is `401 Unauthorized` with
 * the documented error object `{ error: { code, message, target } }`.
 *
 * OData: `$filter` on the documented filterable properties (`alertCreationTime`, `lastUpdateTime`,
 * `incidentId`, `investigationId`, `id`, `assignedTo`, `detectionSource`, `lastEventTime`, `status`,
 * `severity`, `category`) with `eq ne gt ge lt le`, `and`, `or`, `not` and parentheses; `$top` (at
 * most 10,000), `$skip`, `$expand=evidence`. An invalid query is `400 ODataError`.
 *
 * Paging: client-driven with `$top` and `$skip` (a `$top` answer carries no `@odata.nextLink`, as
 * the service does); without `$top` the service pages at its 10,000-alert maximum and links the rest
 * with `@odata.nextLink`. Alerts come newest first ("10 latest alerts" is `$top=10`).
 *
 * Rate limits: 100 calls per minute and 1,500 per hour; an injected 429 carries `Retry-After` and the
 * documented `TooManyRequests` error object.
 */
import { randomUUID } from 'node:crypto';
import { ENTRA_ID_CLIENT, Random, ReplicaServer, appendEachSecond, hasValidBearer, recentInstants, serve, uuidFromHex } from './base.js';
import type { ReplicaModule, ReplicaOptions, ReplicaRequest, ReplicaResponse, StartedReplica } from './base.js';

export const PROVIDER = 'microsoft_defender_for_endpoint';

const AAD_TENANT_ID = '6f2d4b8a-9c1e-4a3f-b5d7-0e2c4a6b8d1f';
/** The service's largest page (and largest `$top`). */
const MAX_PAGE = 10_000;

export type MdeSeverity = 'UnSpecified' | 'Informational' | 'Low' | 'Medium' | 'High';

/** MDE severities on the 0–10 scale of normalized events (UnSpecified: unknown). */
export const SEVERITY_SCALE: Record<MdeSeverity, number | null> = { UnSpecified: null, Informational: 1, Low: 3, Medium: 5, High: 8 };

export interface MdeEvidence {
  entityType: string;
  evidenceCreationTime: string;
  sha1: string | null;
  sha256: string | null;
  fileName: string | null;
  filePath: string | null;
  processId: number | null;
  processCommandLine: string | null;
  processCreationTime: string | null;
  parentProcessId: number | null;
  parentProcessCreationTime: string | null;
  parentProcessFileName: string | null;
  parentProcessFilePath: string | null;
  ipAddress: string | null;
  url: string | null;
  registryKey: string | null;
  registryHive: string | null;
  registryValueType: string | null;
  registryValue: string | null;
  accountName: string | null;
  domainName: string | null;
  userSid: string | null;
  aadUserId: string | null;
  userPrincipalName: string | null;
  detectionStatus: string | null;
}

/** An Alert, shaped like the documented example. */
export interface MdeAlert {
  id: string;
  incidentId: number | null;
  investigationId: number | null;
  assignedTo: string | null;
  severity: MdeSeverity;
  status: 'Unknown' | 'New' | 'InProgress' | 'Resolved';
  classification: string | null;
  determination: string | null;
  investigationState: string;
  detectionSource: string;
  detectorId: string;
  category: string;
  threatFamilyName: string | null;
  title: string;
  description: string;
  alertCreationTime: string;
  firstEventTime: string;
  lastEventTime: string;
  lastUpdateTime: string;
  resolvedTime: string | null;
  machineId: string;
  computerDnsName: string;
  rbacGroupName: string;
  aadTenantId: string;
  threatName: string | null;
  mitreTechniques: string[];
  relatedUser: { userName: string; domainName: string } | null;
  comments: Array<{ comment: string; createdBy: string; createdTime: string }>;
  evidence: MdeEvidence[];
}

interface Detection {
  title: string;
  description: string;
  category: string;
  detectionSource: string;
  severity: MdeSeverity;
  threatFamilyName: string | null;
  mitreTechniques: string[];
  file: string;
  path: string;
  commandLine: string;
}

const DETECTIONS: Detection[] = [
  { title: "Suspicious 'Meterpreter' behavior was detected", description: 'A process exhibited behavior associated with the Meterpreter payload.', category: 'SuspiciousActivity', detectionSource: 'WindowsDefenderAv', severity: 'High', threatFamilyName: 'Meterpreter', mitreTechniques: ['T1064', 'T1085', 'T1220'], file: 'update.exe', path: 'C:\\Users\\Public', commandLine: 'update.exe -connect 203.0.113.7:4444' },
  { title: 'Low-reputation arbitrary code executed by signed executable', description: 'A signed Microsoft binary was used to run low-reputation code.', category: 'Execution', detectionSource: 'WindowsDefenderAtp', severity: 'Low', threatFamilyName: null, mitreTechniques: ['T1218.011'], file: 'rundll32.exe', path: 'C:\\Windows\\SysWOW64', commandLine: 'rundll32.exe c:\\temp\\suspicious.dll,RepeatAfterMe' },
  { title: 'Suspicious PowerShell command line', description: 'A PowerShell process ran an encoded command.', category: 'Execution', detectionSource: 'WindowsDefenderAtp', severity: 'Medium', threatFamilyName: null, mitreTechniques: ['T1059.001', 'T1027'], file: 'powershell.exe', path: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0', commandLine: 'powershell.exe -nop -w hidden -enc SQBFAFgA' },
  { title: "'Mimikatz' credential theft tool", description: 'The Mimikatz credential theft tool was detected on the device.', category: 'CredentialAccess', detectionSource: 'WindowsDefenderAv', severity: 'High', threatFamilyName: 'Mimikatz', mitreTechniques: ['T1003.001'], file: 'mimi.exe', path: 'C:\\ProgramData', commandLine: 'mimi.exe privilege::debug sekurlsa::logonpasswords' },
  { title: 'Suspicious scheduled task', description: 'A scheduled task was created to run a script from a user-writable folder.', category: 'Persistence', detectionSource: 'WindowsDefenderAtp', severity: 'Medium', threatFamilyName: null, mitreTechniques: ['T1053.005'], file: 'schtasks.exe', path: 'C:\\Windows\\System32', commandLine: 'schtasks.exe /create /sc minute /tn Updater /tr C:\\Users\\Public\\u.vbs' },
  { title: "'PUA:Win32/Presenoker' unwanted software was detected", description: 'Potentially unwanted software was detected.', category: 'UnwantedSoftware', detectionSource: 'WindowsDefenderAv', severity: 'Informational', threatFamilyName: 'Presenoker', mitreTechniques: [], file: 'setup_free.exe', path: 'C:\\Users\\Public\\Downloads', commandLine: 'setup_free.exe /S' },
  { title: 'Unexpected behavior observed by a process', description: 'A process behaved unexpectedly; the detector could not classify it.', category: 'SuspiciousActivity', detectionSource: 'AutomatedInvestigation', severity: 'UnSpecified', threatFamilyName: null, mitreTechniques: [], file: 'svchost.exe', path: 'C:\\Windows\\System32', commandLine: 'svchost.exe -k netsvcs' },
];

const MACHINES = [
  ['temp123.middleeast.corp.contoso.com', 'MiddleEast'],
  ['fin-wks-014.emea.corp.contoso.com', 'Finance'],
  ['dc01.corp.contoso.com', 'Domain Controllers'],
  ['build-agent-07.dev.contoso.com', 'Engineering'],
] as const;
const USERS = ['temp123', 'ada.lovelace', 'grace.hopper', 'svc-deploy'];

/** An MDE timestamp with seven fractional digits (alertCreationTime, event times). */
function ticks(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}
/** lastUpdateTime as the service writes it: trailing zeros of the fraction dropped. */
function trimmed(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, d: string) => (d ? `.${d}Z` : 'Z'));
}

const NULL_EVIDENCE: Omit<MdeEvidence, 'entityType' | 'evidenceCreationTime' | 'detectionStatus'> = {
  sha1: null,
  sha256: null,
  fileName: null,
  filePath: null,
  processId: null,
  processCommandLine: null,
  processCreationTime: null,
  parentProcessId: null,
  parentProcessCreationTime: null,
  parentProcessFileName: null,
  parentProcessFilePath: null,
  ipAddress: null,
  url: null,
  registryKey: null,
  registryHive: null,
  registryValueType: null,
  registryValue: null,
  accountName: null,
  domainName: null,
  userSid: null,
  aadUserId: null,
  userPrincipalName: null,
};

class Generator extends Random {
  private incident = 7580;
  guid(): string {
    return uuidFromHex(this.hex(32));
  }

  alert(updatedMs: number): MdeAlert {
    const d = this.pick(DETECTIONS);
    const [dns, group] = this.pick(MACHINES);
    const user = this.pick(USERS);
    const created = updatedMs - 1500 - this.int(3000);
    const firstEvent = created - 90_000 - this.int(60_000);
    const lastEvent = firstEvent + 500 + this.int(1000);
    // `da` + the creation time in .NET ticks + `_` + a signed 32-bit hash, as the service's ids look.
    const netTicks = BigInt(created) * 10_000n + 621_355_968_000_000_000n;
    const id = `da${netTicks.toString()}_${this.int(2 ** 32) - 2 ** 31}`;
    const incidentId = this.incident++;
    const sha1 = this.hex(40);
    const sha256 = this.hex(64);
    return {
      id,
      incidentId,
      investigationId: d.detectionSource === 'AutomatedInvestigation' ? 723000 + this.int(1000) : null,
      assignedTo: null,
      severity: d.severity,
      status: 'New',
      classification: null,
      determination: null,
      investigationState: d.detectionSource === 'AutomatedInvestigation' ? 'Running' : 'Queued',
      detectionSource: d.detectionSource,
      detectorId: this.guid(),
      category: d.category,
      threatFamilyName: d.threatFamilyName,
      title: d.title,
      description: d.description,
      alertCreationTime: ticks(created),
      firstEventTime: ticks(firstEvent),
      lastEventTime: ticks(lastEvent),
      lastUpdateTime: trimmed(updatedMs),
      resolvedTime: null,
      machineId: this.hex(40),
      computerDnsName: dns,
      rbacGroupName: group,
      aadTenantId: AAD_TENANT_ID,
      threatName: d.threatFamilyName ? `Trojan:Win32/${d.threatFamilyName}` : null,
      mitreTechniques: d.mitreTechniques,
      relatedUser: { userName: user, domainName: 'CONTOSO' },
      comments: [],
      evidence: [
        {
          ...NULL_EVIDENCE,
          entityType: 'User',
          evidenceCreationTime: ticks(created + 600),
          accountName: user,
          domainName: 'CONTOSO',
          userSid: `S-1-5-21-11111607-1111760036-109187956-${70000 + this.int(9999)}`,
          aadUserId: this.guid(),
          userPrincipalName: `${user}@contoso.com`,
          detectionStatus: null,
        },
        {
          ...NULL_EVIDENCE,
          entityType: 'Process',
          evidenceCreationTime: ticks(created + 800),
          sha1,
          sha256,
          fileName: d.file,
          filePath: d.path,
          processId: 1000 + this.int(9000),
          processCommandLine: d.commandLine,
          processCreationTime: ticks(firstEvent),
          parentProcessId: 1000 + this.int(9000),
          parentProcessCreationTime: ticks(firstEvent - 200),
          parentProcessFileName: 'explorer.exe',
          parentProcessFilePath: 'C:\\Windows',
          detectionStatus: 'Detected',
        },
      ],
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

function mdeError(status: number, code: string, message: string, headers: Record<string, string> = {}): ReplicaResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: { error: { code, message, target: randomUUID() } } };
}

/** The 429 the service answers over its quota (the suite injects it). */
export function mdeRateLimitResponse(retryAfterSec: number): ReplicaResponse {
  return mdeError(429, 'TooManyRequests', `Response represents reaching quota limit either by number of requests or by CPU. Retry after ${retryAfterSec} seconds.`, {
    'retry-after': String(retryAfterSec),
  });
}

// ---------------------------------------------------------------------------------------------
// OData $filter
// ---------------------------------------------------------------------------------------------

class ODataError extends Error {}

/** Filterable properties (the documented list; matched without regard to case). */
const FILTERABLE: Record<string, { key: keyof MdeAlert; type: 'date' | 'number' | 'string' }> = {
  alertcreationtime: { key: 'alertCreationTime', type: 'date' },
  lastupdatetime: { key: 'lastUpdateTime', type: 'date' },
  lasteventtime: { key: 'lastEventTime', type: 'date' },
  incidentid: { key: 'incidentId', type: 'number' },
  investigationid: { key: 'investigationId', type: 'number' },
  id: { key: 'id', type: 'string' },
  assignedto: { key: 'assignedTo', type: 'string' },
  detectionsource: { key: 'detectionSource', type: 'string' },
  status: { key: 'status', type: 'string' },
  severity: { key: 'severity', type: 'string' },
  category: { key: 'category', type: 'string' },
};

type Pred = (a: MdeAlert) => boolean;

function parseFilter(text: string): Pred {
  const tokens = text.match(/'(?:[^']|'')*'|\(|\)|[^\s()]+/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => {
    const t = tokens[pos++];
    if (t === undefined) throw new ODataError('Syntax error: the $filter expression ended unexpectedly.');
    return t;
  };
  const expr = (): Pred => {
    let left = conj();
    while (peek()?.toLowerCase() === 'or') {
      next();
      const l = left;
      const r = conj();
      left = (a) => l(a) || r(a);
    }
    return left;
  };
  const conj = (): Pred => {
    let left = unary();
    while (peek()?.toLowerCase() === 'and') {
      next();
      const l = left;
      const r = unary();
      left = (a) => l(a) && r(a);
    }
    return left;
  };
  const unary = (): Pred => {
    if (peek()?.toLowerCase() === 'not') {
      next();
      const inner = unary();
      return (a) => !inner(a);
    }
    if (peek() === '(') {
      next();
      const inner = expr();
      if (next() !== ')') throw new ODataError("Syntax error: ')' expected.");
      return inner;
    }
    const name = next();
    const prop = FILTERABLE[name.toLowerCase()];
    if (!prop) throw new ODataError(`Invalid filter: the property '${name}' is not supported for $filter on Alerts.`);
    const op = next().toLowerCase();
    if (!['eq', 'ne', 'gt', 'ge', 'lt', 'le'].includes(op)) throw new ODataError(`Syntax error: unknown operator '${op}' at position ${pos}.`);
    const raw = next();
    let value: string | number | null;
    if (raw === 'null') value = null;
    else if (raw.startsWith("'")) value = raw.slice(1, -1).replace(/''/g, "'");
    else if (prop.type === 'date') {
      if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) throw new ODataError(`The DateTimeOffset literal '${raw}' is not valid.`);
      value = Date.parse(raw.length === 11 ? `${raw.slice(0, 10)}T00:00:00Z` : raw);
    } else if (/^-?\d+$/.test(raw)) value = Number(raw);
    else throw new ODataError(`Syntax error at position ${pos}: '${raw}' is not a valid literal.`);
    if (prop.type === 'date' && typeof value === 'string') value = Date.parse(value);
    if (typeof value === 'number' && Number.isNaN(value)) throw new ODataError(`The DateTimeOffset literal '${raw}' is not valid.`);
    const target = value;
    return (a) => {
      const v = a[prop.key] as string | number | null;
      const have = v === null ? null : prop.type === 'date' ? Date.parse(String(v)) : prop.type === 'string' ? String(v).toLowerCase() : Number(v);
      const want = typeof target === 'string' ? target.toLowerCase() : target;
      if (op === 'eq') return have === want;
      if (op === 'ne') return have !== want;
      if (have === null || want === null) return false;
      if (op === 'gt') return have > want;
      if (op === 'ge') return have >= want;
      if (op === 'lt') return have < want;
      return have <= want;
    };
  };
  const pred = expr();
  if (pos !== tokens.length) throw new ODataError(`Syntax error at position ${pos}: unexpected '${tokens[pos]}'.`);
  return pred;
}

// ---------------------------------------------------------------------------------------------
// The replica
// ---------------------------------------------------------------------------------------------

export async function start(options: ReplicaOptions = {}): Promise<StartedReplica> {
  const server = new ReplicaServer(PROVIDER, mdeRateLimitResponse);
  const gen = new Generator(0xde7e);
  // Oldest first, every one inside the first sync's default window (24 h), the newest ten minutes ago.
  const alerts = recentInstants(options.items ?? 25, options.now ?? Date.now(), 60).map((at) => gen.alert(at));

  async function authorized(req: ReplicaRequest): Promise<ReplicaResponse | null> {
    if (await hasValidBearer(req.headers, options.verifyBearer)) return null;
    return mdeError(401, 'Unauthorized', 'Unauthorized (invalid or expired authorization header).');
  }

  server.route('GET', '/api/alerts', async (req) => {
    const denied = await authorized(req);
    if (denied) return denied;
    const q = req.query;
    for (const key of q.keys()) {
      if (key.startsWith('$') && !['$filter', '$top', '$skip', '$expand', '$orderby', '$select'].includes(key)) {
        return mdeError(400, 'ODataError', `Invalid OData URI query: the query parameter '${key}' is not supported.`);
      }
    }
    let pred: Pred = () => true;
    const filter = q.get('$filter');
    if (filter !== null && filter.trim() !== '') {
      try {
        pred = parseFilter(filter);
      } catch (e) {
        if (e instanceof ODataError) return mdeError(400, 'ODataError', `Invalid OData URI query: ${e.message}`);
        throw e;
      }
    }
    const topRaw = q.get('$top');
    const skipRaw = q.get('$skip');
    const top = topRaw === null ? null : Number(topRaw);
    const skip = skipRaw === null ? 0 : Number(skipRaw);
    if (top !== null && (!Number.isInteger(top) || top < 0)) return mdeError(400, 'ODataError', `Invalid OData URI query: invalid value '${topRaw}' for $top query option found.`);
    if (top !== null && top > MAX_PAGE) return mdeError(400, 'ODataError', `Invalid OData URI query: the limit of '${MAX_PAGE}' for Top query has been exceeded. The value from the incoming request is '${top}'.`);
    if (!Number.isInteger(skip) || skip < 0) return mdeError(400, 'ODataError', `Invalid OData URI query: invalid value '${skipRaw}' for $skip query option found.`);
    const expand = q.get('$expand');
    if (expand !== null && expand !== '' && expand.toLowerCase() !== 'evidence') return mdeError(400, 'ODataError', `Invalid OData URI query: could not find a property named '${expand}' to expand on Alerts.`);

    let matching = alerts.filter(pred);
    const orderby = q.get('$orderby');
    if (orderby) {
      const [field, dir = 'asc'] = orderby.trim().split(/\s+/);
      const prop = FILTERABLE[field!.toLowerCase()];
      if (!prop || !['asc', 'desc'].includes(dir.toLowerCase())) return mdeError(400, 'ODataError', `Invalid OData URI query: cannot order by '${orderby}'.`);
      const sign = dir.toLowerCase() === 'desc' ? -1 : 1;
      const val = (a: MdeAlert) => (prop.type === 'date' ? Date.parse(String(a[prop.key])) : (a[prop.key] as string | number | null) ?? '');
      matching = matching.slice().sort((x, y) => (val(x) < val(y) ? -sign : val(x) > val(y) ? sign : 0));
    } else {
      // The latest alerts first.
      matching = matching.slice().sort((x, y) => Date.parse(y.alertCreationTime) - Date.parse(x.alertCreationTime));
    }
    const pageSize = top ?? MAX_PAGE;
    const page = matching.slice(skip, skip + pageSize);
    const withEvidence = expand?.toLowerCase() === 'evidence';
    const body: Record<string, unknown> = {
      '@odata.context': `${server.url}/api/$metadata#Alerts`,
      value: page.map((a) => ({ ...structuredClone(a), evidence: withEvidence ? structuredClone(a.evidence) : [] })),
    };
    // Server-driven paging applies only when the client did not ask for a `$top`.
    if (top === null && skip + pageSize < matching.length) {
      const next = server.urlOf(req, '$skip');
      next.searchParams.set('$skip', String(skip + pageSize));
      body['@odata.nextLink'] = next.toString();
    }
    return { status: 200, headers: { 'content-type': 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8' }, body };
  });

  return serve(server, {
    ...ENTRA_ID_CLIENT,
    config: () => ({ tenantId: AAD_TENANT_ID, pageSize: 10 }),
    addItems: (n) => appendEachSecond(alerts, n, (a) => Date.parse(a.lastUpdateTime), Date.now() - 600_000, (_, at) => gen.alert(at)),
    items: () => alerts.map((a) => structuredClone(a)),
  });
}

export const replica: ReplicaModule = {
  provider: PROVIDER,
  start,
  expectedRecord(item: unknown): Record<string, unknown> {
    const a = item as MdeAlert;
    return {
      kind: 'event',
      vendor: 'Microsoft',
      product: 'Defender for Endpoint',
      eventId: a.id,
      name: a.title,
      severity: SEVERITY_SCALE[a.severity],
      timestamp: new Date(a.alertCreationTime).toISOString(),
      user: a.relatedUser?.userName ?? null,
    };
  },
  authRemediation: /App registrations/,
};
