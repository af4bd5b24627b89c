/**
 * `nvd`: the NVD CVE API 2.0 (https://nvd.nist.gov/developers/vulnerabilities). Reads new and
 * changed CVEs incrementally by `lastModified` (or `published`) date windows of at most 120 days,
 * paged by `startIndex`, and normalizes them into `vulnerability` records ({@link normalizeCve}).
 *
 * Requests go through the shared HTTP client behind a limiter shared per process per (baseUrl,
 * API key or anonymous) that keeps to NVD's documented rate (5 requests per rolling 30 s without
 * a key, 50 with one); see `./limiter.ts` and `./client.ts`.
 */
import { CheckSteps } from '../check-steps.js';
import { performance } from 'node:perf_hooks';
import { ConnectorError } from '../../errors/connector-error.js';
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
import { TEST_STEP_NAMES } from '../spi.js';
import type { NormalizedRecord } from '../records.js';
import { credentialSecrets, validateAuth } from '../http/auth.js';
import { HttpClientError, scrubSecrets } from '../http/client.js';
import { redactSecrets } from '../kit/records.js';
import { NVD_RETRY_DEFAULTS, NvdFormatError, asConnectorError, fetchCvePage, nvdAuthInput } from './client.js';
import type { NvdClientDeps, NvdPage, NvdRetryOptions } from './client.js';
import { DEFAULT_START_DAYS, NVD_AUTH_TYPES, assertAuthType, configSchema, credentialsSchema, parseConfig, requiredCredentials } from './config.js';
import type { NvdConfig, NvdDateField } from './config.js';
import { advance, dedupeKey, parseCursor, planWindows } from './cursor.js';
import type { NvdCursor } from './cursor.js';
import { createNvdLimiterRegistry, defaultNvdLimiters } from './limiter.js';
import type { NvdLimiterRegistry, NvdRateLimits } from './limiter.js';
import { normalizeCve } from './mapper.js';
import type { NvdVulnerabilityRecord } from './mapper.js';
import type { NvdCveQuery } from './types.js';
import { DAY_MS, formatNvdDate } from './windows.js';

export { parseConfig, configSchema, credentialsSchema } from './config.js';
export type { NvdConfig, NvdDateField } from './config.js';
export type { NvdCursor, NvdCursorWindow } from './cursor.js';
export { NVD_RATE_LIMITS, SlidingWindowLimiter, createNvdLimiterRegistry, defaultNvdLimiters } from './limiter.js';
export type { NvdLimiterRegistry, NvdRateLimits } from './limiter.js';
export { NVD_RETRY_DEFAULTS } from './client.js';
export type { NvdRetryOptions } from './client.js';

/** Days back from "now" that the check's one-record sample query covers. */
export const CHECK_WINDOW_DAYS = 7;

export const spec: AdapterSpec = {
  id: 'nvd',
  type: 'VULNERABILITY',
  name: 'NVD CVE API 2.0',
  description:
    "NIST's National Vulnerability Database: new and changed CVEs with CVSS metrics, CWEs and affected CPEs, read incrementally. Works without an API key (5 requests per 30 s); a key raises the limit to 50.",
  authTypes: [...NVD_AUTH_TYPES],
  configSchema,
  credentialsSchema,
  requiredCredentials,
  eventTypes: ['vulnerability'],
  documentationUrl: 'https://nvd.nist.gov/developers/vulnerabilities',
  recordKinds: ['vulnerability'],
};

export interface NvdAdapterOptions {
  /** Limiters to draw from; default: the process-wide {@link defaultNvdLimiters} (or a registry of `rateLimits`). */
  limiters?: NvdLimiterRegistry;
  /** Other limits than NVD's documented ones (tests); ignored when `limiters` is given. */
  rateLimits?: Partial<NvdRateLimits>;
  /** Backoff after rate-limit and transient answers. */
  retry?: Partial<NvdRetryOptions>;
}


function remediationFor(step: TestStepName, error: ConnectorError, authType: AuthType, limits: NvdRateLimits): string {
  const status = error.status;
  const windowSec = Math.round(limits.windowMs / 1000);
  switch (error.code) {
    case 'EGRESS_DENIED':
      return `The destination is a private, loopback, link-local or cloud-metadata address, which connectors may not reach. Leave baseUrl at the public NVD address, or ask an operator to add an intended internal mirror to EGRESS_ALLOW.`;
    case 'CONFIG_INVALID':
      if (status === 404 && error.message.includes('refused the request')) {
        return 'NVD refused the query as configured (see the message): check startDate (ISO 8601 with an offset, e.g. 2024-01-01T00:00:00Z), dateField and resultsPerPage (1–2000).';
      }
      if (status === 404 || status === 410) return 'Check baseUrl: the NVD CVE API 2.0 lives at https://services.nvd.nist.gov/rest/json/cves/2.0 (baseUrl is the part before /rest).';
      if (status !== undefined) return 'NVD refused the request as configured: check baseUrl, startDate, dateField and resultsPerPage.';
      return "Fix the connector's configuration or credentials as the message says, then test again.";
    case 'AUTH_FAILED':
      return "NVD rejected the API key: check it or rotate the connector's credentials (keys are requested at https://nvd.nist.gov/developers/request-an-api-key and must be activated from the e-mail NVD sends).";
    case 'RATE_LIMITED': {
      const wait = error.retryAfterMs !== undefined ? `${Math.ceil(error.retryAfterMs / 1000)} s` : `${windowSec} s`;
      if (authType === 'API_KEY') {
        return `NVD is rate limiting this API key (${limits.withKey} requests per ${windowSec} s): wait ${wait} and test again, or raise syncIntervalSec so runs overlap less.`;
      }
      return `NVD is rate limiting anonymous requests (${limits.withoutKey} per ${windowSec} s): wait ${wait} and test again, or add an NVD API key (auth type API_KEY) for ${limits.withKey} requests per ${windowSec} s.`;
    }
    case 'TIMEOUT':
      if (error instanceof HttpClientError && error.aborted) return 'The test was cancelled (or timed out) before NVD answered: test again.';
      if (!(error instanceof HttpClientError)) return 'The test was cancelled while waiting for a slot of the NVD rate limit: test again in a moment, or add an API key.';
      if (step === 'CONNECT') return 'NVD did not accept a connection in time: check baseUrl and firewalls between the connector service and NVD.';
      return 'NVD did not answer in time (it is often slow under load): test again later, or raise timeoutMs.';
    case 'UNREACHABLE':
      if (error.message.includes('TLS verification')) return "The server's TLS certificate could not be verified: baseUrl must be an HTTPS host with a valid certificate.";
      if (status !== undefined) return 'NVD is failing (server error): test again later; https://nvd.nist.gov shows service announcements.';
      return 'NVD could not be reached: check baseUrl (host name, scheme) and DNS/firewall rules between the connector service and services.nvd.nist.gov.';
    case 'BAD_RESPONSE':
      if (step === 'VALIDATE_FORMAT') return 'baseUrl does not serve the NVD CVE API 2.0 format: point it at NVD (https://services.nvd.nist.gov) or a faithful mirror.';
      if (error.message.includes('limit')) return 'The response is too large: lower resultsPerPage.';
      if (error.message.includes('JSON')) return 'NVD did not return JSON: check baseUrl (an HTML error or proxy page is a common cause).';
      return 'NVD answered unexpectedly: check baseUrl.';
    default:
      return 'Test again; if it keeps failing, check the connector configuration.';
  }
}

function dateParams(field: NvdDateField): [keyof NvdCveQuery, keyof NvdCveQuery] {
  return field === 'published' ? ['pubStartDate', 'pubEndDate'] : ['lastModStartDate', 'lastModEndDate'];
}

function windowQuery(field: NvdDateField, start: Date, end: Date, resultsPerPage: number, startIndex: number): NvdCveQuery {
  const [from, to] = dateParams(field);
  return { [from]: formatNvdDate(start), [to]: formatNvdDate(end), resultsPerPage, startIndex };
}

function readFailed(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ConnectorError('TIMEOUT', 'The read was aborted');
}

/** Creates an `nvd` adapter; the registered one uses the defaults (process-wide limiters, NVD's numbers). */
export function createNvdAdapter(options: NvdAdapterOptions = {}): Adapter {
  const deps: NvdClientDeps = {
    limiters: options.limiters ?? (options.rateLimits ? createNvdLimiterRegistry(options.rateLimits) : defaultNvdLimiters),
    retry: { ...NVD_RETRY_DEFAULTS, ...options.retry },
  };

  /**
   * Tests the connection with ONE request: a page of one CVE changed (or published, per
   * `dateField`) in the last {@link CHECK_WINDOW_DAYS} days, reported as four steps:
   *
   * - `CONNECT`: a usable socket to baseUrl's host; also fails (CONFIG_INVALID) for an invalid
   *   configuration or auth type, before anything is contacted, and when the wait for the rate
   *   limiter is cancelled.
   * - `AUTHENTICATE`: NVD did not reject the API key (its answer to a bad key is 404
   *   `message: Invalid apiKey.`). Without a key this passes when NVD answers at all.
   * - `SAMPLE_QUERY`: the page arrived (2xx, JSON, within the size cap) after any backoff for
   *   rate limiting (403/429/503).
   * - `VALIDATE_FORMAT`: the body is a CVE API 2.0 page; its first CVE, normalized, is the sample.
   *
   * `options.cheap` keeps the same request but no sample; `sampleSize: 0` likewise. Never throws
   * for upstream failures.
   */
  async function check(ctx: AdapterContext, input: ConnectionInput, options: CheckOptions = {}): Promise<CheckResult> {
    const t0 = performance.now();
    const steps = new CheckSteps();
    const secrets = credentialSecrets(input.credentials ?? {});
    try {
      return await runCheck(ctx, input, options, t0, steps, secrets);
    } catch (e) {
      // Defensive: nothing above is expected to throw, but a check must still come back as a result.
      const err = asConnectorError(e, secrets);
      const name = steps.next();
      const msg = scrubSecrets(err.message, secrets);
      steps.fail(name, 0, err, msg, remediationFor(name, err, input.authType, deps.limiters.limits));
      return { success: false, latencyMs: performance.now() - t0, steps: steps.list(), sample: [], message: `${name} failed: ${msg}` };
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
    const limits = deps.limiters.limits;
    let sample: NormalizedRecord[] = [];
    const sampleSize = options.cheap ? 0 : Math.max(0, Math.min(1, options.sampleSize ?? 1));
    const finish = (): CheckResult => steps.result(t0, sample);
    const fail = (name: TestStepName, ms: number, err: ConnectorError) =>
      steps.fail(name, ms, err, scrubSecrets(err.message, secrets), remediationFor(name, err, input.authType, limits));

    let cfg: NvdConfig;
    try {
      cfg = parseConfig(input.config);
      assertAuthType(input.authType);
      const invalid = validateAuth(nvdAuthInput(input));
      if (invalid) throw invalid;
    } catch (e) {
      fail('CONNECT', performance.now() - t0, asConnectorError(e, secrets));
      return finish();
    }

    const host = new URL(cfg.baseUrl).host;
    const now = ctx.now?.() ?? new Date();
    const query = windowQuery(cfg.dateField, new Date(now.getTime() - CHECK_WINDOW_DAYS * DAY_MS), now, 1, 0);
    const requestStart = performance.now();
    let page: NvdPage;
    try {
      page = await fetchCvePage(ctx, deps, cfg, input, query);
    } catch (e) {
      const err = asConnectorError(e, secrets);
      const elapsed = performance.now() - requestStart;
      if (!(err instanceof HttpClientError)) {
        // Raised before any request: credentials the scheme cannot use, or a cancelled limiter wait.
        fail('CONNECT', elapsed, err);
        return finish();
      }
      const t = err.timings;
      if (err.phase === 'connect' || !t || t.connectMs === null) {
        fail('CONNECT', t?.totalMs ?? elapsed, err);
        return finish();
      }
      steps.pass('CONNECT', t.connectMs, `Connected to ${host}${t.reusedSocket ? ' (reused connection)' : ''}`);
      if (err.phase === 'response' && (err.code === 'AUTH_FAILED' || err.status === undefined)) {
        fail('AUTHENTICATE', t.waitMs ?? t.totalMs - t.connectMs, err);
        return finish();
      }
      steps.pass('AUTHENTICATE', t.waitMs ?? 0, authMessage(input.authType, err.status, limits));
      if (err instanceof NvdFormatError) {
        steps.pass('SAMPLE_QUERY', t.downloadMs ?? 0, `Fetched a page from ${host} (HTTP ${err.status ?? '2xx'})`);
        fail('VALIDATE_FORMAT', 0, err);
        return finish();
      }
      fail('SAMPLE_QUERY', t.downloadMs ?? 0, err);
      return finish();
    }

    const { response } = page;
    const t = response.timings;
    const extra = [
      page.attempts > 1 ? `after ${page.attempts} attempts` : '',
      page.waitedMs >= 1 ? `after waiting ${Math.round(page.waitedMs)} ms for the rate limit` : '',
    ].filter(Boolean);
    steps.pass('CONNECT', t.connectMs ?? 0, `Connected to ${host}${t.reusedSocket ? ' (reused connection)' : ''}${extra.length ? ` ${extra.join(', ')}` : ''}`);
    steps.pass('AUTHENTICATE', t.waitMs ?? 0, authMessage(input.authType, response.status, limits));
    const body = response.body;
    const noun = cfg.dateField === 'published' ? 'published' : 'changed';
    steps.pass(
      'SAMPLE_QUERY',
      t.downloadMs ?? 0,
      `Fetched 1 page from ${host} (HTTP ${response.status}): ${body.totalResults} CVE${body.totalResults === 1 ? '' : 's'} ${noun} in the last ${CHECK_WINDOW_DAYS} days`,
    );

    const v0 = performance.now();
    const first = body.vulnerabilities[0];
    if (!first) {
      steps.pass('VALIDATE_FORMAT', performance.now() - v0, `The response is an NVD CVE API 2.0 page (no CVE ${noun} in the last ${CHECK_WINDOW_DAYS} days to sample)`);
      return finish();
    }
    const record = redactSecrets(normalizeCve(first.cve), page.secrets);
    sample = [record].slice(0, sampleSize);
    const notes = record.warnings?.length ? ` (${record.warnings.length} normalization warning${record.warnings.length === 1 ? '' : 's'})` : '';
    steps.pass('VALIDATE_FORMAT', performance.now() - v0, `The response is an NVD CVE API 2.0 page; ${record.id} normalized${notes}`);
    return finish();
  }

  /**
   * Reads new and changed CVEs from `cursor` (null: from `startDate`, default 30 days ago) up to
   * now, in windows of at most 120 days on `dateField`, each paged by `startIndex` until
   * `totalResults`. One batch per page (also for an empty page, so the cursor advances), records
   * normalized with {@link normalizeCve}, each CVE version (`id` + `lastModified`) at most once
   * per read, and never one the cursor says was already delivered at its boundary. Each batch's
   * cursor ({@link NvdCursor}) resumes right after that page. Honours `ctx.signal` between pages
   * and during requests and limiter waits. Throws `ConnectorError`.
   */
  async function* read(ctx: AdapterContext, input: ConnectionInput, cursor: ReadCursor): AsyncGenerator<RecordBatch> {
    const cfg = parseConfig(input.config);
    assertAuthType(input.authType);
    const invalid = validateAuth(nvdAuthInput(input));
    if (invalid) throw invalid;
    readFailed(ctx.signal);

    const until = ctx.now?.() ?? new Date();
    const state: NvdCursor = parseCursor(cursor, cfg.dateField) ?? {
      dateField: cfg.dateField,
      since: (cfg.startDate ? new Date(cfg.startDate) : new Date(until.getTime() - DEFAULT_START_DAYS * DAY_MS)).toISOString(),
      lastModified: null,
      boundaryKeys: [],
      window: null,
    };
    const delivered = new Set<string>(state.boundaryKeys);

    for (const w of planWindows(state, until)) {
      let startIndex = w.startIndex;
      for (;;) {
        readFailed(ctx.signal);
        const page = await fetchCvePage(ctx, deps, cfg, input, windowQuery(cfg.dateField, w.start, w.end, cfg.resultsPerPage, startIndex));
        readFailed(ctx.signal);
        const body = page.response.body;
        const records: NvdVulnerabilityRecord[] = [];
        for (const item of body.vulnerabilities) {
          const record = redactSecrets(normalizeCve(item.cve), page.secrets);
          const key = dedupeKey(record.id, record.lastModified);
          if (delivered.has(key)) continue;
          delivered.add(key);
          records.push(record);
          if (record.lastModified && (state.lastModified === null || Date.parse(record.lastModified) > Date.parse(state.lastModified))) {
            state.lastModified = record.lastModified;
          }
          advance(state, record[cfg.dateField], key);
        }
        const returned = body.vulnerabilities.length;
        const next = startIndex + returned;
        // An empty page ends the window even if totalResults says more: the result set shrank meanwhile.
        const more = returned > 0 && next < body.totalResults;
        state.window = more ? { start: w.start.toISOString(), end: w.end.toISOString(), startIndex: next } : null;
        yield { records, cursor: structuredClone(state) };
        if (!more) break;
        startIndex = next;
      }
    }
  }

  /** `since` at `from`, nothing delivered yet: the next read's windows start there. */
  function cursorFrom(input: ConnectionInput, from: Date): ReadCursor {
    const cfg = parseConfig(input.config);
    return { dateField: cfg.dateField, since: from.toISOString(), lastModified: null, boundaryKeys: [], window: null } satisfies NvdCursor;
  }

  return { spec, check, read, cursorFrom };
}

function authMessage(authType: AuthType, status: number | undefined, limits: NvdRateLimits): string {
  const answered = status !== undefined ? ` (HTTP ${status})` : '';
  const windowSec = Math.round(limits.windowMs / 1000);
  if (authType === 'API_KEY') return `NVD accepted the API key${answered}; ${limits.withKey} requests per ${windowSec} s`;
  return `No API key: NVD answered the anonymous request${answered}; ${limits.withoutKey} requests per ${windowSec} s`;
}

/** The registered `nvd` adapter: process-wide limiters with NVD's documented limits. */
export const nvdAdapter: Adapter = createNvdAdapter();
