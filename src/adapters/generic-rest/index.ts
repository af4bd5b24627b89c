/**
 * `generic_rest`: any JSON API that returns an array of objects, paged with RFC 8288 `Link`
 * headers. Five auth types; records are the upstream objects as they are ({@link normalizeRecord}).
 */
import { CheckSteps } from '../check-steps.js';
import { performance } from 'node:perf_hooks';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import type {
  Adapter,
  AdapterContext,
  AdapterSpec,
  AuthType,
  CheckOptions,
  CheckResult,
  CheckStep,
  ConnectionInput,
  ReadCursor,
  RecordBatch,
  TestStepName,
} from '../spi.js';
import { AUTH_TYPES, TEST_STEP_NAMES } from '../spi.js';
import type { NormalizedRecord } from '../records.js';
import { OAuthTokenError, credentialSecrets, validateAuth } from '../http/auth.js';
import type { AuthMetrics } from '../http/auth.js';
import { HttpClientError, scrubSecrets } from '../http/client.js';
import type { HttpResponse } from '../http/client.js';
import { assertPageUrlAllowed, authInput, fetchPage } from './client.js';
import { configSchema, credentialsSchema, firstPageUrl, parseConfig, requiredCredentials } from './config.js';
import type { GenericRestConfig } from './config.js';
import { locateRecords, mapRecords, validateRecords } from './mapper.js';

export { parseConfig } from './config.js';
export type { GenericRestConfig } from './config.js';

const MAX_SAMPLE = 5;

export const spec: AdapterSpec = {
  id: 'generic_rest',
  type: 'CUSTOM_API',
  name: 'Generic REST API',
  description:
    'Any HTTPS JSON API that returns an array of objects (optionally under a JSON Pointer), paged with Link rel="next" headers.',
  authTypes: [...AUTH_TYPES],
  configSchema,
  credentialsSchema,
  requiredCredentials,
  eventTypes: ['record'],
};


function remediationFor(step: TestStepName, error: ConnectorError, authType: AuthType, cause?: 'token' | 'pointer'): string {
  const status = error.status;
  const tls = error instanceof HttpClientError && error.message.includes('TLS verification');
  switch (error.code) {
    case 'EGRESS_DENIED':
      return "The destination is a private, loopback, link-local or cloud-metadata address, which connectors may not reach. Use the provider's public address, or ask an operator to add it to EGRESS_ALLOW if it is an intended internal service.";
    case 'CONFIG_INVALID':
      if (cause === 'pointer') return 'Set recordsPointer to the JSON Pointer of the records array in the response (for example /data or /items).';
      if (cause === 'token') return 'Check tokenUrl, scope and tokenAuthMethod against the authorization server: it refused the token request as configured.';
      if (status === 404 || status === 410) return 'Check baseUrl and path: the API has no resource there.';
      if (status !== undefined) return 'Check path and query: the API refused the request as configured.';
      return "Fix the connector's configuration or credentials as the message says, then test again.";
    case 'AUTH_FAILED':
      if (cause === 'token') {
        return "The authorization server rejected the client credentials: check clientId, clientSecret and tokenAuthMethod, or rotate the connector's credentials.";
      }
      if (status === 403) return 'The credentials were accepted but lack permission for this endpoint: grant the account access to it, or change path.';
      switch (authType) {
        case 'API_KEY':
          return "The API key was rejected: check it (and apiKeyHeader or apiKeyQueryParam) or rotate the connector's credentials.";
        case 'BASIC':
          return "The username or password was rejected: check them or rotate the connector's credentials.";
        case 'BEARER':
          return "The bearer token was rejected or has expired: issue a new token and rotate the connector's credentials.";
        case 'OAUTH2_CLIENT_CREDENTIALS':
          return 'The API refused the access token: check that the client is granted the scope the API expects (scope), and that tokenUrl belongs to this API.';
        default:
          return 'The API requires authentication: choose an auth type and set the credentials.';
      }
    case 'RATE_LIMITED': {
      const wait = error.retryAfterMs !== undefined ? ` in ${Math.ceil(error.retryAfterMs / 1000)} s` : ' later';
      return `The API is rate limiting this client: test again${wait}, or raise syncIntervalSec to request less often.`;
    }
    case 'TIMEOUT':
      if (step === 'CONNECT') return 'The host did not accept a connection in time: check baseUrl (host and port) and firewalls, or raise timeoutMs.';
      return 'The API did not answer in time: check its status page, narrow the query, or raise timeoutMs.';
    case 'UNREACHABLE':
      if (tls) return "The server's TLS certificate could not be verified: it must be valid for the host and issued by a trusted CA.";
      if (status !== undefined) return 'The API is failing (server error): test again later and contact the provider if it persists.';
      if (cause === 'token') return 'The token endpoint could not be reached: check tokenUrl and that its host is reachable from the connector service.';
      return 'The host could not be reached: check baseUrl (host name, port, scheme) and DNS/firewall rules between the connector service and the API.';
    case 'BAD_RESPONSE':
      if (step === 'VALIDATE_FORMAT') return 'Point recordsPointer at an array of JSON objects in the response.';
      if (error.message.includes('limit')) return 'The response is too large: narrow the query (for example a smaller page size in query) so a page stays under the size limit.';
      if (error.message.includes('JSON')) return 'The endpoint must return JSON: check path and query (an HTML error or login page is a common cause).';
      return 'The API answered unexpectedly: check baseUrl, path and query.';
    default:
      return 'Test again; if it keeps failing, check the connector configuration.';
  }
}

function toConnectorError(error: unknown, secrets: readonly string[]): ConnectorError {
  if (isConnectorError(error)) return error;
  // Not an upstream failure we know: keep the step readable without leaking whatever it carries.
  return new ConnectorError('UNREACHABLE', scrubSecrets('Unexpected failure while testing the connection', secrets), { retryable: true });
}

/**
 * Tests a connection with one GET of the first page (plus, for OAuth 2.0, the token request) and
 * reports it as four steps, each timed from high-resolution marks of that request:
 *
 * - `CONNECT`: a usable socket (DNS, TCP, TLS) to the API host — for OAuth 2.0 the token
 *   endpoint's host must be reachable first. Also fails, with CONFIG_INVALID, when the
 *   configuration or the credentials for the auth type are invalid (nothing is contacted then).
 * - `AUTHENTICATE`: the token request succeeded (OAuth 2.0) and the API did not answer 401/403.
 *   Includes the token request's time. A connection that gets no answer also fails here.
 * - `SAMPLE_QUERY`: the first page arrived (2xx, valid JSON, under the size cap) and
 *   `recordsPointer` found something in it.
 * - `VALIDATE_FORMAT`: what the pointer found is an array of JSON objects; up to 5 of them,
 *   normalized and redacted, become the sample.
 *
 * `options.cheap` (health checks) makes the same single request but keeps no sample;
 * `options.sampleSize` lowers the sample below 5.
 *
 * All four steps are always reported: after a failed step the rest have `passed: false`,
 * `latencyMs: null` and the message `not run: <failed step> failed`. The result's `latencyMs` is
 * measured around the whole check, so it is at least the sum of the steps. Never throws for
 * upstream failures.
 */
export async function check(ctx: AdapterContext, input: ConnectionInput, options: CheckOptions = {}): Promise<CheckResult> {
  const t0 = performance.now();
  const steps = new CheckSteps();
  const secrets = credentialSecrets(input.credentials ?? {});
  try {
    return await runCheck(ctx, input, options, t0, steps, secrets);
  } catch (e) {
    // Defensive: nothing above is expected to throw, but a check must still come back as a result.
    const err = toConnectorError(e, secrets);
    const name = steps.next();
    steps.fail(name, 0, err, scrubSecrets(err.message, secrets), remediationFor(name, err, input.authType));
    const list = steps.list();
    return { success: false, latencyMs: performance.now() - t0, steps: list, sample: [], message: `${name} failed: ${scrubSecrets(err.message, secrets)}` };
  }
}

async function runCheck(
  ctx: AdapterContext,
  input: ConnectionInput,
  options: CheckOptions,
  t0: number,
  steps: CheckSteps,
  secrets: string[],
): Promise<CheckResult> {
  let sample: NormalizedRecord[] = [];
  const sampleSize = options.cheap ? 0 : Math.max(0, Math.min(MAX_SAMPLE, options.sampleSize ?? MAX_SAMPLE));

  const finish = (): CheckResult => {
    const list = steps.list();
    const failed = list.find((s) => !s.passed);
    return {
      success: !failed,
      latencyMs: performance.now() - t0,
      steps: list,
      sample: failed ? [] : sample,
      message: failed
        ? `${failed.name} failed: ${failed.message ?? 'unknown error'}`
        : `All ${list.length} steps passed; ${sample.length} sample record${sample.length === 1 ? '' : 's'}`,
    };
  };

  let cfg: GenericRestConfig;
  try {
    cfg = parseConfig(input.config);
    const invalid = validateAuth(authInput(cfg, input));
    if (invalid) throw invalid;
  } catch (e) {
    const err = toConnectorError(e, secrets);
    steps.fail('CONNECT', performance.now() - t0, err, scrubSecrets(err.message, secrets), remediationFor('CONNECT', err, input.authType));
    return finish();
  }

  const metrics: AuthMetrics = { tokenMs: 0, tokenRequests: 0 };
  const url = firstPageUrl(cfg);
  const host = new URL(url).host;
  const requestStart = performance.now();
  let response: HttpResponse<unknown> & { secrets?: string[] };
  let recordSecrets: string[] = secrets;
  try {
    const page = await fetchPage(ctx, cfg, input, url, { metrics, followLinks: false });
    response = page.response;
    recordSecrets = page.recordSecrets;
  } catch (e) {
    const err = toConnectorError(e, secrets);
    const msg = scrubSecrets(err.message, secrets);
    const elapsed = performance.now() - requestStart;
    if (err instanceof OAuthTokenError) {
      const connectMs = err.timings?.connectMs ?? null;
      if (err.phase === 'connect' || connectMs === null) {
        steps.fail('CONNECT', metrics.tokenMs || elapsed, err, msg, remediationFor('CONNECT', err, input.authType, 'token'));
      } else {
        const tokenHost = new URL(cfg.tokenUrl!).host;
        steps.pass('CONNECT', connectMs, `Reached the token endpoint ${tokenHost}`);
        steps.fail('AUTHENTICATE', Math.max(0, (metrics.tokenMs || elapsed) - connectMs), err, msg, remediationFor('AUTHENTICATE', err, input.authType, 'token'));
      }
      return finish();
    }
    if (err instanceof HttpClientError) {
      const t = err.timings;
      const requestMs = elapsed - metrics.tokenMs;
      if (err.phase === 'connect' || !t || t.connectMs === null) {
        steps.fail('CONNECT', requestMs, err, msg, remediationFor('CONNECT', err, input.authType));
        return finish();
      }
      steps.pass('CONNECT', t.connectMs, `Connected to ${host}${t.reusedSocket ? ' (reused connection)' : ''}`);
      const waited = metrics.tokenMs + (t.waitMs ?? t.totalMs - t.connectMs);
      if (err.phase === 'response' && (err.code === 'AUTH_FAILED' || err.status === undefined)) {
        steps.fail('AUTHENTICATE', waited, err, msg, remediationFor('AUTHENTICATE', err, input.authType));
        return finish();
      }
      steps.pass('AUTHENTICATE', waited, authMessage(input.authType, err.status, metrics));
      steps.fail('SAMPLE_QUERY', t.downloadMs ?? 0, err, msg, remediationFor('SAMPLE_QUERY', err, input.authType));
      return finish();
    }
    // Raised before any request (e.g. credentials the scheme cannot use).
    steps.fail('CONNECT', elapsed, err, msg, remediationFor('CONNECT', err, input.authType));
    return finish();
  }

  const t = response.timings;
  const connectMs = t.connectMs ?? 0;
  const attempts = response.attempts > 1 ? ` after ${response.attempts} attempts` : '';
  steps.pass('CONNECT', connectMs, `Connected to ${host}${t.reusedSocket ? ' (reused connection)' : ''}${attempts}`);
  steps.pass('AUTHENTICATE', metrics.tokenMs + (t.waitMs ?? 0), authMessage(input.authType, response.status, metrics));

  const s0 = performance.now();
  const located = locateRecords(response.body, cfg.recordsPointer);
  if (!located.found) {
    const err = new ConnectorError('CONFIG_INVALID', `recordsPointer "${cfg.recordsPointer}" matches nothing in the response of ${host}`);
    steps.fail('SAMPLE_QUERY', (t.downloadMs ?? 0) + performance.now() - s0, err, scrubSecrets(err.message, secrets), remediationFor('SAMPLE_QUERY', err, input.authType, 'pointer'));
    return finish();
  }
  steps.pass(
    'SAMPLE_QUERY',
    (t.downloadMs ?? 0) + performance.now() - s0,
    `Fetched the first page of ${host} (HTTP ${response.status})${cfg.recordsPointer ? ` and found recordsPointer "${cfg.recordsPointer}"` : ''}`,
  );

  const v0 = performance.now();
  const valid = validateRecords(located.value, cfg.recordsPointer);
  if (!valid.ok) {
    const err = new ConnectorError('BAD_RESPONSE', valid.message);
    steps.fail('VALIDATE_FORMAT', performance.now() - v0, err, scrubSecrets(err.message, secrets), remediationFor('VALIDATE_FORMAT', err, input.authType));
    return finish();
  }
  sample = mapRecords(valid.records.slice(0, sampleSize), recordSecrets);
  steps.pass('VALIDATE_FORMAT', performance.now() - v0, `${valid.records.length} record${valid.records.length === 1 ? '' : 's'} on the first page, all JSON objects`);
  return finish();
}

function authMessage(authType: AuthType, status: number | undefined, metrics: AuthMetrics): string {
  const answered = status !== undefined ? ` (HTTP ${status})` : '';
  switch (authType) {
    case 'NONE':
      return `No authentication configured; the API did not ask for any${answered}`;
    case 'OAUTH2_CLIENT_CREDENTIALS':
      return `${metrics.tokenRequests > 0 ? 'Obtained an access token' : 'Used a cached access token'} and the API accepted it${answered}`;
    default:
      return `The API accepted the credentials${answered}`;
  }
}

/**
 * Reads pages from `cursor.nextUrl` (or the first page when the cursor is null or has no
 * `nextUrl`), following `Link rel="next"` for at most `maxPages` pages. Each batch is one page,
 * its records normalized and redacted, with cursor `{ nextUrl }`: the page to fetch next, or null
 * after the last page (a later read then starts again from the first page). A next link that the
 * egress guard refuses, or that leaves the API's origin while credentials are in use, fails the
 * read with EGRESS_DENIED before that page's batch is yielded. Throws `ConnectorError`.
 */
export async function* read(ctx: AdapterContext, input: ConnectionInput, cursor: ReadCursor): AsyncGenerator<RecordBatch> {
  const cfg = parseConfig(input.config);
  const invalid = validateAuth(authInput(cfg, input));
  if (invalid) throw invalid;
  const resume = cursor && typeof cursor.nextUrl === 'string' ? cursor.nextUrl : null;
  let url = resume ?? firstPageUrl(cfg);
  if (resume) assertPageUrlAllowed(ctx, cfg, input, resume);
  const seen = new Set<string>();

  for (let page = 0; page < cfg.maxPages; page++) {
    if (ctx.signal?.aborted) throw new ConnectorError('TIMEOUT', 'The read was aborted');
    seen.add(url);
    const { response, nextUrl, recordSecrets } = await fetchPage(ctx, cfg, input, url);
    const host = new URL(response.url).host;
    const located = locateRecords(response.body, cfg.recordsPointer);
    if (!located.found) {
      throw new ConnectorError('CONFIG_INVALID', `recordsPointer "${cfg.recordsPointer}" matches nothing in the response of ${host}`);
    }
    const valid = validateRecords(located.value, cfg.recordsPointer);
    if (!valid.ok) throw new ConnectorError('BAD_RESPONSE', scrubSecrets(valid.message, recordSecrets));
    // A server that links back to a page already read this run would loop forever.
    const next = nextUrl && !seen.has(nextUrl) ? nextUrl : null;
    yield { records: mapRecords(valid.records, recordSecrets), cursor: { nextUrl: next } };
    if (!next) return;
    url = next;
  }
}

/** The `generic_rest` adapter. */
export const genericRestAdapter: Adapter = { spec, check, read };
