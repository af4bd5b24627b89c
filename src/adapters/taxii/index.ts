/**
 * `taxii21`: a TAXII 2.1 collection (OASIS TAXII Version 2.1), read as a strict client.
 *
 * Discovery (§4.1) → the API root (§4.2) → the collection (§5.1/5.2, `can_read`) → its objects
 * (§5.3), paged with `limit`, `more` and `next`, from `added_after` = the last
 * `X-TAXII-Date-Added-Last` committed. STIX 2.1 objects become records (`./mapper.ts`); indicator
 * patterns are parsed with the STIX patterning grammar (`./stix-pattern.peggy`).
 */
import { ConnectorError } from '../../errors/connector-error.js';
import { runStepwiseCheck } from '../kit/check-runner.js';
import type { CheckPlan, FailureCause } from '../kit/check-runner.js';
import { assertPageUrlAllowed } from '../kit/page-urls.js';
import { redactSecrets } from '../kit/records.js';
import { remediationFor as defaultRemediation } from '../kit/remediation.js';
import { validateAuth } from '../http/auth.js';
import type { AuthMetrics } from '../http/auth.js';
import type { HttpResponse } from '../http/client.js';
import type { NormalizedRecord } from '../records.js';
import type { Adapter, AdapterContext, AdapterSpec, AuthType, CheckOptions, CheckResult, ConnectionInput, ReadCursor, RecordBatch, TestStepName } from '../spi.js';
import { TaxiiError, authInput, dateAdded, taxiiGet } from './client.js';
import type { TaxiiResponse } from './client.js';
import { TAXII_AUTH_TYPES, TAXII_MEDIA_TYPE, assertAuthType, configSchema, credentialsSchema, normalizeTimestamp, parseConfig, requiredCredentials } from './config.js';
import type { TaxiiConfig } from './config.js';
import { isStixObject, stixToRecord } from './mapper.js';

export { parseConfig, normalizeTimestamp, versionKey, TAXII_MEDIA_TYPE } from './config.js';
export type { TaxiiConfig } from './config.js';
export { parseStixPattern, indicatorOf } from './pattern.js';
export { stixToRecord } from './mapper.js';

/** The dedup key of every batch (the STIX id) and the version that lets a newer one replace it. */
export const TAXII_DEDUP_KEY: readonly string[] = ['/stixId'];
export const TAXII_VERSION_POINTER = '/stixVersion';
/** Times one read starts over from the committed cursor after a refused `next` token. */
export const MAX_NEXT_RESTARTS = 3;
/** Pages one read takes at most (a server that always says `more` cannot hold a run forever). */
export const MAX_PAGES_PER_READ = 10_000;

const NOTES = `Reads one TAXII 2.1 collection as a strict client of the OASIS TAXII 2.1 specification. Every request sends \`Accept: ${TAXII_MEDIA_TYPE}\`; auth is HTTP Basic, an API key in a configurable header (\`apiKeyHeader\`), a bearer token or OAuth 2.0 client credentials (\`tokenUrl\`, \`scope\`).

- **Discovery and test**: \`GET {baseUrl}/taxii2/\` (§4.1) lists the API roots; the configured \`apiRoot\`, else the discovery's \`default\`, else the first API root that holds the collection is used. The test lists the API root's collections (§5.1) and checks that \`collectionId\` is there and \`can_read\`; a wrong id fails SAMPLE_QUERY with the ids the account can read. Error message resources (§3.6.1: \`title\`, \`description\`, \`error_code\`) become the step's message.
- **Read**: \`GET {apiRoot}/collections/{collectionId}/objects/\` with \`limit\`, \`added_after\` and \`match[type]\` (\`objectTypes\`); while \`more\` is true the next request sends the same filters with \`next\`, or, when the server gives no \`next\`, \`added_after\` = the page's \`X-TAXII-Date-Added-Last\` (§5.3). One batch per page.
- **Cursor**: \`{ collectionId, addedAfter }\`, \`addedAfter\` being the last \`X-TAXII-Date-Added-Last\` received, in UTC with \`Z\` and every fraction digit the server sent (microseconds are kept). A read resumes with \`added_after\` exactly that value. \`next\` tokens are never stored: a server forgets them, and a \`next\` it refuses (400/404) makes the read start over from the cursor committed last (up to ${MAX_NEXT_RESTARTS} times per read). 429/503 \`Retry-After\` is waited out when short (RATE_LIMITED with the wait when long).
- **Records**: \`indicator\` → \`indicator\` (\`type\`/\`value\` from the pattern: \`ipv4\`, \`ipv6\`, \`cidr\`, \`domain\`, \`url\`, \`email\`, \`md5\`, \`sha1\`, \`sha256\`, \`sha512\`; compound, other or unparsable patterns type \`pattern\` with the whole pattern as \`value\`; non-STIX \`pattern_type\`s keep their type), with \`validFrom\`/\`validUntil\` (\`firstSeen\` = \`valid_from\`), \`confidence\`, \`labels\`, \`killChainPhases\`, \`revoked\` (\`true\` for a revoked indicator, else \`false\`), the STIX \`pattern\` itself and \`patternType\`. Every other object (malware, threat-actor, vulnerability, relationship, sighting, SCOs...) → \`record\`, the STIX object as is. Every record carries \`stixId\` (the STIX id), \`stixType\` and \`stixVersion\`. Patterns are parsed with a PEG grammar of STIX 2.1 patterning (\`src/adapters/taxii/stix-pattern.peggy\`).
- **Dedup**: the STIX id (\`/stixId\`); \`stixVersion\` (\`modified\`) orders versions, so a newer version, e.g. a revoked indicator, replaces the stored record even within the dedup window, and never adds a second one.`;

export const spec: AdapterSpec = {
  id: 'taxii21',
  type: 'THREAT_INTEL',
  name: 'TAXII 2.1 collection',
  description:
    'STIX 2.1 threat intelligence from any TAXII 2.1 server (discovery, API roots, collections, objects), read incrementally by date added; indicators are normalized from their STIX patterns.',
  authTypes: [...TAXII_AUTH_TYPES],
  configSchema,
  credentialsSchema,
  requiredCredentials,
  eventTypes: ['stix'],
  documentationUrl: 'https://docs.oasis-open.org/cti/taxii/v2.1/os/taxii-v2.1-os.html',
  recordKinds: ['indicator', 'record'],
  notes: NOTES,
};

// ---------------------------------------------------------------------------------------------
// Discovery, API root, collections

/** `url` with a trailing slash (TAXII URLs end in one). */
function dir(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function assertAllowed(ctx: AdapterContext, cfg: TaxiiConfig, input: ConnectionInput, url: string): void {
  assertPageUrlAllowed(ctx, cfg, input, url);
}

function badResponse(message: string, res: HttpResponse<unknown>, resource: TaxiiError['resource']): TaxiiError {
  return new TaxiiError('BAD_RESPONSE', message, { phase: 'body', status: res.status, timings: res.timings, attempts: res.attempts, resource });
}

interface Discovery {
  apiRoots: string[];
  defaultRoot: string | null;
}

async function discover(ctx: AdapterContext, cfg: TaxiiConfig, input: ConnectionInput, metrics?: AuthMetrics): Promise<Discovery> {
  const url = new URL(cfg.discoveryPath, cfg.baseUrl).toString();
  const res = await taxiiGet<Record<string, unknown>>(ctx, cfg, input, { url, resource: 'discovery', metrics });
  const roots = res.body.api_roots;
  if (roots !== undefined && (!Array.isArray(roots) || roots.some((r) => typeof r !== 'string'))) {
    throw badResponse(`The discovery resource of ${new URL(url).host} has an invalid api_roots list`, res, 'discovery');
  }
  const resolve = (r: string) => dir(new URL(r, url).toString());
  return {
    apiRoots: ((roots as string[] | undefined) ?? []).map(resolve),
    defaultRoot: typeof res.body.default === 'string' ? resolve(res.body.default) : null,
  };
}

export interface TaxiiCollection {
  id: string;
  title?: string;
  can_read?: boolean;
  can_write?: boolean;
  media_types?: string[];
}

async function listCollections(ctx: AdapterContext, cfg: TaxiiConfig, input: ConnectionInput, apiRoot: string, metrics?: AuthMetrics): Promise<{ res: TaxiiResponse<Record<string, unknown>>; collections: TaxiiCollection[] }> {
  const url = `${apiRoot}collections/`;
  assertAllowed(ctx, cfg, input, url);
  const res = await taxiiGet<Record<string, unknown>>(ctx, cfg, input, { url, resource: 'collections', metrics });
  const list = res.body.collections ?? [];
  if (!Array.isArray(list) || list.some((c) => !c || typeof c !== 'object' || typeof (c as TaxiiCollection).id !== 'string')) {
    throw badResponse(`The collections resource of ${new URL(url).host} is not a TAXII 2.1 collections list`, res, 'collections');
  }
  return { res, collections: list as TaxiiCollection[] };
}

/** The API root to read: configured, the discovery's default, or the first one holding the collection. */
async function resolveApiRoot(ctx: AdapterContext, cfg: TaxiiConfig, input: ConnectionInput, metrics?: AuthMetrics): Promise<string> {
  if (cfg.apiRoot) return dir(new URL(cfg.apiRoot, cfg.baseUrl).toString());
  const found = await discover(ctx, cfg, input, metrics);
  if (found.defaultRoot) return found.defaultRoot;
  if (found.apiRoots.length === 1) return found.apiRoots[0]!;
  for (const root of found.apiRoots) {
    try {
      const { collections } = await listCollections(ctx, cfg, input, root, metrics);
      if (collections.some((c) => c.id === cfg.collectionId)) return root;
    } catch (e) {
      if (e instanceof TaxiiError && (e.status === 403 || e.status === 404)) continue;
      throw e;
    }
  }
  if (found.apiRoots.length === 0) {
    throw new TaxiiError('CONFIG_INVALID', `The TAXII server ${new URL(cfg.baseUrl).host} lists no API roots: set apiRoot`, { phase: 'response', status: 200, resource: 'discovery' });
  }
  throw new TaxiiError('CONFIG_INVALID', `No API root of ${new URL(cfg.baseUrl).host} holds collection ${cfg.collectionId}`, {
    phase: 'response',
    status: 200,
    resource: 'collections',
    remediation: `Set collectionId to a collection of one of the API roots (${found.apiRoots.slice(0, 5).join(', ')}), or set apiRoot.`,
  });
}

// ---------------------------------------------------------------------------------------------
// Objects

interface Envelope {
  more: boolean;
  next: string | null;
  objects: unknown[];
}

/** §3.7 envelope: `more`, `next`, `objects` (all optional; an empty answer may be `{}`). */
function readEnvelope(body: Record<string, unknown>): { ok: true; envelope: Envelope } | { ok: false; message: string } {
  if (body.objects !== undefined && !Array.isArray(body.objects)) return { ok: false, message: 'The envelope has an objects property that is not a list' };
  if (body.more !== undefined && typeof body.more !== 'boolean') return { ok: false, message: 'The envelope has a more property that is not a boolean' };
  if (body.next !== undefined && typeof body.next !== 'string') return { ok: false, message: 'The envelope has a next property that is not a string' };
  return { ok: true, envelope: { more: body.more === true, next: typeof body.next === 'string' && body.next ? body.next : null, objects: (body.objects as unknown[] | undefined) ?? [] } };
}

function objectsUrl(apiRoot: string, cfg: TaxiiConfig): string {
  return `${apiRoot}collections/${encodeURIComponent(cfg.collectionId)}/objects/`;
}

function filters(cfg: TaxiiConfig, addedAfter: string | null, limit: number): Record<string, string | number> {
  const out: Record<string, string | number> = { limit };
  if (addedAfter) out.added_after = addedAfter;
  if (cfg.objectTypes?.length) out['match[type]'] = cfg.objectTypes.join(',');
  return out;
}

function mapObjects(objects: unknown[], secrets: readonly string[]): { records: NormalizedRecord[]; invalid: number } {
  const records: NormalizedRecord[] = [];
  let invalid = 0;
  for (const o of objects) {
    if (isStixObject(o)) records.push(redactSecrets(stixToRecord(o), secrets));
    else invalid++;
  }
  return { records, invalid };
}

// ---------------------------------------------------------------------------------------------
// Cursor

export interface TaxiiCursor {
  [key: string]: unknown;
  collectionId: string;
  /** The last `X-TAXII-Date-Added-Last` received (UTC, `Z`, the server's fraction digits); null: from the start. */
  addedAfter: string | null;
}

export function parseCursor(cursor: ReadCursor, cfg: TaxiiConfig): TaxiiCursor | null {
  if (!cursor || typeof cursor !== 'object' || cursor.collectionId !== cfg.collectionId) return null;
  if (cursor.addedAfter === null) return { collectionId: cfg.collectionId, addedAfter: null };
  const addedAfter = normalizeTimestamp(cursor.addedAfter);
  return addedAfter ? { collectionId: cfg.collectionId, addedAfter } : null;
}

// ---------------------------------------------------------------------------------------------
// Remediations

function remediation(step: TestStepName, error: ConnectorError, authType: AuthType, cause?: FailureCause): string {
  if (error instanceof TaxiiError && error.remediation) return error.remediation;
  const resource = error instanceof TaxiiError ? error.resource : undefined;
  const status = error.status;
  switch (error.code) {
    case 'AUTH_FAILED':
      if (cause === 'token') break;
      if (status === 403) {
        return resource === 'discovery'
          ? 'The TAXII server accepted the credentials but denies discovery to this account: ask its operator for access, or set apiRoot to skip discovery.'
          : "The account may not read this collection: ask the TAXII server's operator to grant it read access (can_read), or set collectionId to a collection it can read.";
      }
      switch (authType) {
        case 'BASIC':
          return "The TAXII server rejected the user name or password: check them, or rotate the connector's credentials.";
        case 'API_KEY':
          return "The TAXII server rejected the API key: check it and apiKeyHeader (the header the server reads it from, e.g. Authorization), or rotate the connector's credentials.";
        case 'NONE':
          return 'The TAXII server requires authentication: choose BASIC, API_KEY, BEARER or OAUTH2_CLIENT_CREDENTIALS and set the credentials.';
        case 'OAUTH2_CLIENT_CREDENTIALS':
          return 'The TAXII server refused the access token: check that the client is granted the scope the server expects (scope) and that tokenUrl belongs to this server.';
        default:
          return "The TAXII server rejected the bearer token: issue a new one and rotate the connector's credentials.";
      }
    case 'CONFIG_INVALID':
      if (cause === 'token') break;
      if (status === 406) return `baseUrl does not serve TAXII 2.1 (it refused ${TAXII_MEDIA_TYPE}): point baseUrl at a TAXII 2.1 server (TAXII 2.0 and 1.x servers are not supported).`;
      if (status === 404 && resource === 'discovery') return 'Check baseUrl and discoveryPath: the TAXII 2.1 discovery resource is usually at /taxii2/. If the server has no discovery resource, set apiRoot.';
      if (status === 404 && resource === 'api-root') return 'Check apiRoot: the server has no API root there (the discovery resource lists them).';
      if (status === 404 && (resource === 'objects' || resource === 'collection')) return "Check collectionId: the API root has no such collection (the test's SAMPLE_QUERY lists the ones the account can read).";
      if (status === 404 && resource === 'collections') return 'Check apiRoot: the server lists no collections there.';
      if (status === 400 && resource === 'objects') return 'The TAXII server refused the query: check addedAfter (an RFC 3339 date-time), limit and objectTypes.';
      break;
    case 'RATE_LIMITED': {
      const wait = error.retryAfterMs !== undefined ? `${Math.ceil(error.retryAfterMs / 1000)} s` : 'a while';
      return `The TAXII server is rate limiting this client: wait ${wait} (its Retry-After) and test again, or raise syncIntervalSec and lower how often the connector reads.`;
    }
    case 'BAD_RESPONSE':
      if (resource) return 'The server did not answer as a TAXII 2.1 server: check baseUrl, discoveryPath and apiRoot (an HTML login or proxy page is a common cause).';
      break;
  }
  return defaultRemediation(step, error, authType, cause);
}

// ---------------------------------------------------------------------------------------------
// The adapter

function prepare(input: ConnectionInput): TaxiiConfig {
  const cfg = parseConfig(input.config);
  assertAuthType(input.authType);
  const invalid = validateAuth(authInput(cfg, input));
  if (invalid) throw invalid;
  return cfg;
}

/**
 * The stepwise test: discovery, the API root's collections (is `collectionId` there, may the
 * account read it?) and one page of at most five objects, reported as CONNECT, AUTHENTICATE,
 * SAMPLE_QUERY and VALIDATE_FORMAT. Cheap (health) checks ask for one object.
 */
async function check(ctx: AdapterContext, input: ConnectionInput, options: CheckOptions = {}): Promise<CheckResult> {
  let cfg: TaxiiConfig;
  let title = '';
  const plan: CheckPlan = {
    prepare() {
      cfg = prepare(input);
    },
    host: () => new URL(cfg.baseUrl).host,
    tokenHost: () => (cfg.tokenUrl ? new URL(cfg.tokenUrl).host : null),
    async fetchFirst(metrics) {
      const apiRoot = await resolveApiRoot(ctx, cfg, input, metrics);
      const { res, collections } = await listCollections(ctx, cfg, input, apiRoot, metrics);
      const collection = collections.find((c) => c.id === cfg.collectionId);
      if (!collection) {
        const readable = collections.filter((c) => c.can_read !== false);
        const listed = readable.slice(0, 10).map((c) => `${c.id}${c.title ? ` (${c.title})` : ''}`).join(', ');
        throw new TaxiiError('CONFIG_INVALID', `The API root ${apiRoot} has no collection ${cfg.collectionId}`, {
          phase: 'response',
          status: res.status,
          timings: res.timings,
          resource: 'collection',
          remediation: readable.length
            ? `Set collectionId to one of the collections this account can read: ${listed}${readable.length > 10 ? `, and ${readable.length - 10} more` : ''}.`
            : 'This account can read no collection of the API root: ask the TAXII server operator for read access, or check apiRoot.',
        });
      }
      if (collection.can_read !== true) {
        throw new TaxiiError('AUTH_FAILED', `The account may not read collection ${collection.id}${collection.title ? ` (${collection.title})` : ''}: can_read is false`, {
          phase: 'response',
          status: res.status,
          timings: res.timings,
          resource: 'collection',
          remediation: `Ask the TAXII server's operator to grant this account read access to collection ${collection.id}, or set collectionId to a collection whose can_read is true.`,
        });
      }
      title = collection.title ?? collection.id;
      const url = objectsUrl(apiRoot, cfg);
      assertAllowed(ctx, cfg, input, url);
      const limit = options.cheap ? 1 : Math.max(1, Math.min(5, options.sampleSize ?? 5));
      const page = await taxiiGet<Record<string, unknown>>(ctx, cfg, input, { url, resource: 'objects', searchParams: filters(cfg, null, limit), metrics });
      return { response: page, recordSecrets: page.secrets };
    },
    locate(response) {
      const env = readEnvelope(response.body as Record<string, unknown>);
      if (!env.ok) return { ok: false, error: new TaxiiError('BAD_RESPONSE', env.message, { phase: 'body', status: response.status, resource: 'objects' }) };
      const n = env.envelope.objects.length;
      return { ok: true, message: `Listed the collections; read ${n} object${n === 1 ? '' : 's'} of "${title}"${env.envelope.more ? ' (more available)' : ''}` };
    },
    validate(response, recordSecrets) {
      const env = readEnvelope(response.body as Record<string, unknown>);
      const objects = env.ok ? env.envelope.objects : [];
      const { records, invalid } = mapObjects(objects, recordSecrets);
      if (invalid > 0) {
        return { ok: false, error: new TaxiiError('BAD_RESPONSE', `${invalid} of ${objects.length} objects are not STIX 2.1 objects (each needs a type and an id "<type>--<UUID>")`, { phase: 'body', status: response.status, resource: 'objects' }) };
      }
      const indicators = records.filter((r) => r.kind === 'indicator').length;
      return { ok: true, message: `The page is a TAXII 2.1 envelope of STIX objects; ${records.length} normalized (${indicators} indicator${indicators === 1 ? '' : 's'})`, sample: (n) => records.slice(0, n) };
    },
    remediation,
  };
  return runStepwiseCheck(input, options, plan);
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ConnectorError('TIMEOUT', 'The read was aborted');
}

/**
 * Reads the collection from the cursor (null: from `addedAfter`, else the start), one batch per
 * page, each with the cursor to resume after it. See the module comment and spec.notes.
 */
async function* read(ctx: AdapterContext, input: ConnectionInput, cursor: ReadCursor): AsyncGenerator<RecordBatch> {
  const cfg = prepare(input);
  aborted(ctx.signal);
  const apiRoot = await resolveApiRoot(ctx, cfg, input);
  const url = objectsUrl(apiRoot, cfg);
  assertAllowed(ctx, cfg, input, url);
  const state: TaxiiCursor = parseCursor(cursor, cfg) ?? { collectionId: cfg.collectionId, addedAfter: cfg.addedAfter ? normalizeTimestamp(cfg.addedAfter) : null };

  // The query's filters stay the same while `next` pages through it.
  let queryAddedAfter = state.addedAfter;
  let next: string | null = null;
  let restarts = 0;
  for (let pages = 0; pages < MAX_PAGES_PER_READ; pages++) {
    aborted(ctx.signal);
    const params = filters(cfg, queryAddedAfter, cfg.limit);
    if (next) params.next = next;
    let res: TaxiiResponse<Record<string, unknown>>;
    try {
      res = await taxiiGet<Record<string, unknown>>(ctx, cfg, input, { url, resource: 'objects', searchParams: params });
    } catch (e) {
      // §5.3: `next` is only good for a while; an unknown one is refused. Start over from what was committed.
      if (e instanceof TaxiiError && e.withNext && (e.status === 400 || e.status === 404) && restarts < MAX_NEXT_RESTARTS) {
        restarts++;
        next = null;
        queryAddedAfter = state.addedAfter;
        continue;
      }
      throw e;
    }
    aborted(ctx.signal);
    const env = readEnvelope(res.body);
    if (!env.ok) throw badResponse(`${new URL(url).host}: ${env.message}`, res, 'objects');
    const { records, invalid } = mapObjects(env.envelope.objects, res.secrets);
    if (invalid > 0) throw badResponse(`${new URL(url).host}: ${invalid} of ${env.envelope.objects.length} objects are not STIX 2.1 objects`, res, 'objects');
    const last = normalizeTimestamp(dateAdded(res).last);
    const before = state.addedAfter;
    if (last) state.addedAfter = last;
    yield { records, cursor: { ...state }, dedupKey: TAXII_DEDUP_KEY, versionPointer: TAXII_VERSION_POINTER };
    if (!env.envelope.more) return;
    if (env.envelope.next) {
      next = env.envelope.next;
    } else {
      // `more` without `next`: page on by date added (§5.3), which needs the header to move.
      if (!last || last === before) return;
      next = null;
      queryAddedAfter = state.addedAfter;
    }
  }
}

export const taxiiAdapter: Adapter = { spec, check, read };
