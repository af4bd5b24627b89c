/**
 * `generic_rest`: any JSON API, configured by its user in the manifest language. The config names
 * the request (path, query, method, body), where the records are (`recordsPointer`), and
 * optionally how pages follow (`pagination`, default RFC 8288 `Link: rel="next"`), an incremental
 * `cursor` and a `map` to a normalized kind. It runs on the same engine as the named providers:
 * a one-stream manifest is built from the config at each call.
 */
import { ConnectorError } from '../../errors/connector-error.js';
import type { Adapter, AdapterContext, AdapterSpec, CheckOptions, CheckResult, ConnectionInput, ReadCursor, RecordBatch } from '../spi.js';
import { AUTH_TYPES } from '../spi.js';
import { compileManifest, type ManifestAdapter } from '../declarative/engine.js';
import { ENGINE_CONFIG_KEYS, manifestProblems, type ProviderManifest } from '../declarative/manifest.js';
import { runStepwiseCheck } from '../kit/check-runner.js';
import { remediationFor } from '../kit/remediation.js';
import { configSchema, credentialsSchema, parseConfig, requiredCredentials } from './config.js';
import type { GenericRestConfig } from './config.js';

export { parseConfig } from './config.js';
export type { GenericRestConfig } from './config.js';

/** The stream name, and so the one event type. */
const STREAM = 'record';

export const spec: AdapterSpec = {
  id: 'generic_rest',
  type: 'CUSTOM_API',
  name: 'Generic REST API',
  description:
    'Any HTTPS JSON API: the request, the records pointer, and optionally pagination, an incremental cursor and a mapping to a normalized kind, in the manifest language.',
  authTypes: [...AUTH_TYPES],
  configSchema,
  credentialsSchema,
  requiredCredentials,
  eventTypes: [STREAM],
  recordKinds: ['record', 'event', 'indicator', 'vulnerability', 'transaction'],
  documentationUrl: 'https://www.rfc-editor.org/rfc/rfc8288',
  configProblems: (config) => {
    const cfg = config as unknown as GenericRestConfig;
    return manifestProblems(manifestOf(cfg)).map((message) => ({ path: '', message: message.replace(/^streams\.record\./, '') }));
  },
};

const CONFIG_KEYS = Object.keys((configSchema.properties ?? {}) as object).filter((k) => !(ENGINE_CONFIG_KEYS as readonly string[]).includes(k));

/** The one-stream manifest a custom API's config stands for. */
function manifestOf(cfg: GenericRestConfig): ProviderManifest {
  const remediation = 'see the step';
  return {
    id: 'generic_rest',
    version: 1,
    type: 'CUSTOM_API',
    name: 'Generic REST API',
    description: spec.description,
    documentationUrl: spec.documentationUrl!,
    baseUrl: cfg.baseUrl,
    config: { properties: Object.fromEntries(CONFIG_KEYS.map((k) => [k, {}])) },
    auth: {
      NONE: { remediation },
      API_KEY: { header: cfg.apiKeyHeader, query: cfg.apiKeyQueryParam, remediation },
      BASIC: { remediation },
      BEARER: { remediation },
      OAUTH2_CLIENT_CREDENTIALS: { remediation },
    },
    streams: [
      {
        name: STREAM,
        description: 'The records of the configured endpoint.',
        request: { method: cfg.method, path: cfg.path, query: cfg.query, ...(cfg.method === 'POST' ? { json: cfg.body ?? {} } : {}) },
        records: cfg.recordsPointer,
        pagination: cfg.pagination ?? { type: 'link' },
        ...(cfg.cursor ? { cursor: cfg.cursor } : {}),
        map: cfg.map ?? { kind: 'record', fields: {} },
        ...(cfg.dedupKey ? { dedupKey: cfg.dedupKey } : {}),
      },
    ],
  };
}

/** The engine adapter of this config; CONFIG_INVALID when the config is not valid. */
function compiled(input: ConnectionInput): ManifestAdapter {
  const cfg = parseConfig(input.config);
  const manifest = manifestOf(cfg);
  const problems = manifestProblems(manifest);
  if (problems.length) throw new ConnectorError('CONFIG_INVALID', `config is not valid: ${problems.join('; ')}`);
  return compileManifest(manifest, { configSchema, remediation: remediationFor, recordsSetting: 'recordsPointer' });
}

/**
 * The stepwise test of the engine on the configured request's first page: SAMPLE_QUERY passes when
 * `recordsPointer` finds something, VALIDATE_FORMAT when that is an array of JSON objects; up to 5
 * of them, mapped and redacted, are the sample. An invalid config fails CONNECT. Never throws.
 */
export function check(ctx: AdapterContext, input: ConnectionInput, options: CheckOptions = {}): Promise<CheckResult> {
  let adapter: ManifestAdapter;
  try {
    adapter = compiled(input);
  } catch (e) {
    const error = e as ConnectorError;
    return runStepwiseCheck(input, options, {
      prepare: () => {
        throw error;
      },
      host: () => '',
      tokenHost: () => null,
      fetchFirst: () => Promise.reject(error),
      locate: () => ({ ok: false, error }),
      validate: () => ({ ok: false, error }),
      remediation: remediationFor,
    });
  }
  return adapter.check(ctx, input, options);
}

/**
 * Reads page after page (at most `maxPages` per run) from where the cursor stopped; each page is a
 * batch whose cursor says where the next one is, so a stopped run resumes there. A next-page link
 * the egress guard refuses, or that leaves the API's origin while credentials are in use, fails the
 * read with EGRESS_DENIED before that page is yielded. Throws `ConnectorError`.
 */
export async function* read(ctx: AdapterContext, input: ConnectionInput, cursor: ReadCursor): AsyncGenerator<RecordBatch> {
  // A cursor stored before generic_rest ran on the engine: `{ nextUrl }` is the page to read next.
  const legacy = cursor && typeof cursor.nextUrl === 'string' ? { v: 1, streams: { [STREAM]: { page: { url: cursor.nextUrl } } } } : null;
  yield* compiled(input).read(ctx, input, legacy ?? cursor);
}

/** The engine's cursor for a point in time (a datetime or epoch `cursor`, or a query on `{{window.start}}`). */
export function cursorFrom(input: ConnectionInput, from: Date): ReadCursor {
  return compiled(input).cursorFrom!(input, from);
}

/** The `generic_rest` adapter. */
export const genericRestAdapter: Adapter = { spec, check, read, cursorFrom };
