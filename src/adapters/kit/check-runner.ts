/**
 * The stepwise connection test every REST provider shares: one request for the first page (plus,
 * for OAuth 2.0, the token request), reported as CONNECT, AUTHENTICATE, SAMPLE_QUERY and
 * VALIDATE_FORMAT, each timed from the HTTP client's high-resolution phases.
 *
 * - `CONNECT`: a usable socket (DNS, TCP, TLS) to the API host; for OAuth 2.0 the token endpoint
 *   must be reachable first. Also fails, with CONFIG_INVALID, when `prepare` refuses the
 *   configuration or the credentials (nothing is contacted then).
 * - `AUTHENTICATE`: the token request succeeded (OAuth 2.0) and the API did not refuse the
 *   credentials. A connection that gets no answer also fails here.
 * - `SAMPLE_QUERY`: the first page arrived (2xx, valid JSON, under the size cap) and the records
 *   were found in it.
 * - `VALIDATE_FORMAT`: the records have the expected form; up to 5, normalized and redacted, become
 *   the sample.
 *
 * Every step is always reported (after a failure: `passed: false`, `latencyMs: null`, `not run:
 * <step> failed`). The result's `latencyMs` is measured around the whole check. Never throws.
 */
import { performance } from 'node:perf_hooks';
import { ConnectorError, isConnectorError } from '../../errors/connector-error.js';
import { CheckSteps } from '../check-steps.js';
import { OAuthTokenError, credentialSecrets } from '../http/auth.js';
import type { AuthMetrics } from '../http/auth.js';
import { HttpClientError, scrubSecrets } from '../http/client.js';
import type { HttpResponse } from '../http/client.js';
import type { NormalizedRecord } from '../records.js';
import type { AuthType, CheckOptions, CheckResult, ConnectionInput, TestStepName } from '../spi.js';

const MAX_SAMPLE = 5;

/** Why a step failed, beyond the error code: the token request, or where the records are. */
export type FailureCause = 'token' | 'pointer';

export type Remediation = (step: TestStepName, error: ConnectorError, authType: AuthType, cause?: FailureCause) => string;

export type LocateOutcome = { ok: true; message: string } | { ok: false; error: ConnectorError };
export type ValidateOutcome = { ok: true; message: string; sample: (n: number) => NormalizedRecord[] } | { ok: false; error: ConnectorError };

/** What one provider contributes to the shared check. */
export interface CheckPlan {
  /** Validates config and credentials before anything is contacted; throws CONFIG_INVALID. */
  prepare(): void;
  /** The API host, for messages. */
  host(): string;
  /** The token endpoint's host (OAuth 2.0), for messages. */
  tokenHost(): string | null;
  /** Sends the first page's request. `recordSecrets`: values to redact from what is kept. */
  fetchFirst(metrics: AuthMetrics): Promise<{ response: HttpResponse<unknown>; recordSecrets: string[] }>;
  /** SAMPLE_QUERY: the records are where they should be. */
  locate(response: HttpResponse<unknown>, recordSecrets: string[]): LocateOutcome;
  /** VALIDATE_FORMAT: the records have the right form. */
  validate(response: HttpResponse<unknown>, recordSecrets: string[]): ValidateOutcome;
  remediation: Remediation;
}

export function toConnectorError(error: unknown, secrets: readonly string[]): ConnectorError {
  if (isConnectorError(error)) return error;
  // Not an upstream failure we know: keep the step readable without leaking whatever it carries.
  return new ConnectorError('UNREACHABLE', scrubSecrets('Unexpected failure while testing the connection', secrets), { retryable: true });
}

export async function runStepwiseCheck(input: ConnectionInput, options: CheckOptions, plan: CheckPlan): Promise<CheckResult> {
  const t0 = performance.now();
  const steps = new CheckSteps();
  const secrets = credentialSecrets(input.credentials ?? {});
  try {
    return await runSteps(input, options, plan, t0, steps, secrets);
  } catch (e) {
    // Defensive: nothing above is expected to throw, but a check must still come back as a result.
    const err = toConnectorError(e, secrets);
    const name = steps.next();
    steps.fail(name, 0, err, scrubSecrets(err.message, secrets), plan.remediation(name, err, input.authType));
    const list = steps.list();
    return { success: false, latencyMs: performance.now() - t0, steps: list, sample: [], message: `${name} failed: ${scrubSecrets(err.message, secrets)}` };
  }
}

async function runSteps(
  input: ConnectionInput,
  options: CheckOptions,
  plan: CheckPlan,
  t0: number,
  steps: CheckSteps,
  secrets: string[],
): Promise<CheckResult> {
  let sample: NormalizedRecord[] = [];
  const sampleSize = options.cheap ? 0 : Math.max(0, Math.min(MAX_SAMPLE, options.sampleSize ?? MAX_SAMPLE));
  const remediation = plan.remediation;

  const finish = (): CheckResult => steps.result(t0, sample);

  try {
    plan.prepare();
  } catch (e) {
    const err = toConnectorError(e, secrets);
    steps.fail('CONNECT', performance.now() - t0, err, scrubSecrets(err.message, secrets), remediation('CONNECT', err, input.authType));
    return finish();
  }

  const metrics: AuthMetrics = { tokenMs: 0, tokenRequests: 0 };
  const host = plan.host();
  const requestStart = performance.now();
  let response: HttpResponse<unknown>;
  let recordSecrets: string[] = secrets;
  try {
    const page = await plan.fetchFirst(metrics);
    response = page.response;
    recordSecrets = page.recordSecrets;
  } catch (e) {
    const err = toConnectorError(e, secrets);
    const msg = scrubSecrets(err.message, secrets);
    const elapsed = performance.now() - requestStart;
    if (err instanceof OAuthTokenError) {
      const connectMs = err.timings?.connectMs ?? null;
      if (err.phase === 'connect' || connectMs === null) {
        steps.fail('CONNECT', metrics.tokenMs || elapsed, err, msg, remediation('CONNECT', err, input.authType, 'token'));
      } else {
        steps.pass('CONNECT', connectMs, `Reached the token endpoint ${plan.tokenHost() ?? ''}`.trim());
        steps.fail('AUTHENTICATE', Math.max(0, (metrics.tokenMs || elapsed) - connectMs), err, msg, remediation('AUTHENTICATE', err, input.authType, 'token'));
      }
      return finish();
    }
    if (err instanceof HttpClientError) {
      const t = err.timings;
      const requestMs = elapsed - metrics.tokenMs;
      if (err.phase === 'connect' || !t || t.connectMs === null) {
        steps.fail('CONNECT', requestMs, err, msg, remediation('CONNECT', err, input.authType));
        return finish();
      }
      steps.pass('CONNECT', t.connectMs, `Connected to ${host}${t.reusedSocket ? ' (reused connection)' : ''}`);
      const waited = metrics.tokenMs + (t.waitMs ?? t.totalMs - t.connectMs);
      if (err.phase === 'response' && (err.code === 'AUTH_FAILED' || err.status === undefined)) {
        steps.fail('AUTHENTICATE', waited, err, msg, remediation('AUTHENTICATE', err, input.authType));
        return finish();
      }
      steps.pass('AUTHENTICATE', waited, authMessage(input.authType, err.status, metrics));
      steps.fail('SAMPLE_QUERY', t.downloadMs ?? 0, err, msg, remediation('SAMPLE_QUERY', err, input.authType));
      return finish();
    }
    // Raised before any request (credentials the scheme cannot use), or by a body rule: a refused
    // credential is an authentication failure wherever it is found.
    const step: TestStepName = err.code === 'AUTH_FAILED' ? 'AUTHENTICATE' : 'CONNECT';
    if (step === 'AUTHENTICATE') steps.pass('CONNECT', 0, `Connected to ${host}`);
    steps.fail(step, elapsed, err, msg, remediation(step, err, input.authType));
    return finish();
  }

  const t = response.timings;
  const connectMs = t.connectMs ?? 0;
  const attempts = response.attempts > 1 ? ` after ${response.attempts} attempts` : '';
  steps.pass('CONNECT', connectMs, `Connected to ${host}${t.reusedSocket ? ' (reused connection)' : ''}${attempts}`);
  steps.pass('AUTHENTICATE', metrics.tokenMs + (t.waitMs ?? 0), authMessage(input.authType, response.status, metrics));

  const s0 = performance.now();
  const located = plan.locate(response, recordSecrets);
  if (!located.ok) {
    const err = located.error;
    steps.fail('SAMPLE_QUERY', (t.downloadMs ?? 0) + performance.now() - s0, err, scrubSecrets(err.message, secrets), remediation('SAMPLE_QUERY', err, input.authType, 'pointer'));
    return finish();
  }
  steps.pass('SAMPLE_QUERY', (t.downloadMs ?? 0) + performance.now() - s0, located.message);

  const v0 = performance.now();
  const valid = plan.validate(response, recordSecrets);
  if (!valid.ok) {
    const err = valid.error;
    steps.fail('VALIDATE_FORMAT', performance.now() - v0, err, scrubSecrets(err.message, secrets), remediation('VALIDATE_FORMAT', err, input.authType));
    return finish();
  }
  sample = valid.sample(sampleSize);
  steps.pass('VALIDATE_FORMAT', performance.now() - v0, valid.message);
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
