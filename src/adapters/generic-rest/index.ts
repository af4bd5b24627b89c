/**
 * `generic_rest`: any JSON API that returns an array of objects, paged with RFC 8288 `Link`
 * headers. Five auth types; records are the upstream objects as they are ({@link normalizeRecord}).
 */
import { ConnectorError } from '../../errors/connector-error.js';
import type { Adapter, AdapterContext, AdapterSpec, CheckOptions, CheckResult, ConnectionInput, ReadCursor, RecordBatch } from '../spi.js';
import { AUTH_TYPES } from '../spi.js';
import { validateAuth } from '../http/auth.js';
import { scrubSecrets } from '../http/client.js';
import { runStepwiseCheck } from '../kit/check-runner.js';
import { remediationFor } from '../kit/remediation.js';
import { assertPageUrlAllowed, authInput, fetchPage } from './client.js';
import { configSchema, credentialsSchema, firstPageUrl, parseConfig, requiredCredentials } from './config.js';
import type { GenericRestConfig } from './config.js';
import { locateRecords, validateRecords } from '../kit/records.js';
import { mapRecords } from './mapper.js';

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
  recordKinds: ['record'],
};


/**
 * Tests a connection with one GET of the first page (plus, for OAuth 2.0, the token request),
 * reported as the four shared steps (`kit/check-runner.ts`): SAMPLE_QUERY passes when
 * `recordsPointer` finds something in the first page, VALIDATE_FORMAT when that is an array of
 * JSON objects; up to 5 of them, normalized and redacted, become the sample. `options.cheap`
 * (health checks) makes the same single request but keeps no sample. Never throws.
 */
export function check(ctx: AdapterContext, input: ConnectionInput, options: CheckOptions = {}): Promise<CheckResult> {
  let cfg: GenericRestConfig;
  let url = '';
  return runStepwiseCheck(input, options, {
    prepare: () => {
      cfg = parseConfig(input.config);
      const invalid = validateAuth(authInput(cfg, input));
      if (invalid) throw invalid;
      url = firstPageUrl(cfg);
    },
    host: () => new URL(url).host,
    tokenHost: () => (cfg.tokenUrl ? new URL(cfg.tokenUrl).host : null),
    fetchFirst: async (metrics) => {
      const page = await fetchPage(ctx, cfg, input, url, { metrics, followLinks: false });
      return { response: page.response, recordSecrets: page.recordSecrets };
    },
    locate: (response) => {
      const host = new URL(url).host;
      if (!locateRecords(response.body, cfg.recordsPointer).found) {
        return { ok: false, error: new ConnectorError('CONFIG_INVALID', `recordsPointer "${cfg.recordsPointer}" matches nothing in the response of ${host}`) };
      }
      return {
        ok: true,
        message: `Fetched the first page of ${host} (HTTP ${response.status})${cfg.recordsPointer ? ` and found recordsPointer "${cfg.recordsPointer}"` : ''}`,
      };
    },
    validate: (response, recordSecrets) => {
      const located = locateRecords(response.body, cfg.recordsPointer);
      const valid = validateRecords(located.found ? located.value : undefined, cfg.recordsPointer);
      if (!valid.ok) return { ok: false, error: new ConnectorError('BAD_RESPONSE', valid.message) };
      return {
        ok: true,
        message: `${valid.records.length} record${valid.records.length === 1 ? '' : 's'} on the first page, all JSON objects`,
        sample: (n) => mapRecords(valid.records.slice(0, n), recordSecrets),
      };
    },
    remediation: remediationFor,
  });
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
