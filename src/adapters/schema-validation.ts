/** One JSON Schema 2020-12 validator for every provider schema (ajv, compiled once per schema). */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ConnectorError } from '../errors/connector-error.js';
import { scheduleProblems } from './schedule.js';
import type { JsonSchema } from './spi.js';

// ajv-formats is CommonJS: its plugin is the module's `default` property under NodeNext.
const addFormats =
  (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default ?? (addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020);

const ajv = addFormats(new Ajv2020({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: true, coerceTypes: false }));
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/** The validator of `schema` (applies defaults to the object it validates). */
export function compileSchema(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Ajv errors as text naming fields and rules, never the offending values. */
export function describeSchemaErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => {
      const field = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'config';
      if (e.keyword === 'additionalProperties') return `${field}: unknown property "${String(e.params.additionalProperty)}"`;
      if (e.keyword === 'required') return `${field}: missing "${String(e.params.missingProperty)}"`;
      return `${field} ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

/** A whole provider config, serialized, may be at most this large (README, "Limits"). */
export const MAX_CONFIG_BYTES = 16 * 1024;

/** Query parameter names that carry secrets; they belong in the connector's credentials. */
const SECRET_PARAM = /^(api[-_]?key|apikey|key|access[-_]?key|secret|client[-_]?secret|password|passwd|pwd|pass|token|access[-_]?token|auth|authorization|bearer|signature|sig|session(id)?|x-api-key)$/i;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A problem with one config value, by its dotted path inside the config. */
export interface ConfigProblem {
  path: string;
  message: string;
}

function urlProblems(value: string, path: string, problems: ConfigProblem[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return; // not a URL after all; the schema's format rules judge it
  }
  if (url.username || url.password) problems.push({ path, message: 'must not contain a user name or password: put credentials in the connector credentials' });
  for (const name of url.searchParams.keys()) {
    if (SECRET_PARAM.test(name)) problems.push({ path, message: `must not carry the secret-looking query parameter "${name.slice(0, 64)}": put it in the connector credentials` });
  }
}

/**
 * The rules a JSON Schema cannot say, for every provider: a size cap on the whole config, no
 * userinfo and no secret-looking query parameter in any URL of it, no secret-looking key in a
 * `query` object, a `baseUrl` without query or fragment, and a `schedule` whose cron expression,
 * time zone and windows make sense (schedule.ts). Messages name fields, never values.
 */
export function configProblems(config: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const size = Buffer.byteLength(JSON.stringify(config));
  if (size > MAX_CONFIG_BYTES) return [{ path: '', message: `is ${size} bytes long; the limit is ${MAX_CONFIG_BYTES}` }];
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      if (URL_LIKE.test(value)) urlProblems(value, path, problems);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}.${i}`));
    } else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) walk(item, path ? `${path}.${key}` : key);
    }
  };
  walk(config, '');
  const query = config.query;
  if (query && typeof query === 'object' && !Array.isArray(query)) {
    for (const key of Object.keys(query)) {
      if (SECRET_PARAM.test(key)) problems.push({ path: `query.${key}`, message: 'looks like a secret: put it in the connector credentials (apiKeyQueryParam sends an API key as a query parameter)' });
    }
  }
  problems.push(...scheduleProblems(config));
  problems.push(...bareUrlProblems(config, 'baseUrl'));
  return problems;
}

/**
 * A URL the adapter appends paths to (`baseUrl`, a store's `endpoint`) carries no query or
 * fragment; a value that is not a URL is left to the schema's `format: uri`.
 */
export function bareUrlProblems(config: Record<string, unknown>, key: string): ConfigProblem[] {
  const value = config[key];
  if (typeof value !== 'string') return [];
  try {
    const url = new URL(value);
    return url.search || url.hash ? [{ path: key, message: 'must not contain a query or fragment' }] : [];
  } catch {
    return [];
  }
}

/** A stored config with setting `from` renamed `to` (a config migration); `to`, when set too, wins. */
export function renameSetting(config: Record<string, unknown>, from: string, to: string): Record<string, unknown> {
  const out = structuredClone(config);
  if (Object.prototype.hasOwnProperty.call(out, from)) {
    if (!Object.prototype.hasOwnProperty.call(out, to)) out[to] = out[from];
    delete out[from];
  }
  return out;
}

/**
 * Validates a provider config inside the adapter (the service validated it already; this guards
 * drafts and stored rows alike) and fills defaults; throws CONFIG_INVALID with the same rules the
 * service applies at create and update ({@link configProblems}). A provider's own rules
 * (`AdapterSpec.configProblems`, e.g. for a URL key not named `baseUrl`) are its parser's to apply.
 */
export function parseProviderConfig<T extends object>(schema: JsonSchema, raw: unknown): T {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConnectorError('CONFIG_INVALID', 'Invalid configuration: expected an object');
  }
  const copy = structuredClone(raw) as Record<string, unknown>;
  const check = compileSchema(schema);
  if (!check(copy)) throw new ConnectorError('CONFIG_INVALID', `Invalid configuration: ${describeSchemaErrors(check.errors)}`);
  const problems = configProblems(copy);
  if (problems.length) {
    throw new ConnectorError('CONFIG_INVALID', `Invalid configuration: ${problems.map((p) => `${p.path || 'config'} ${p.message}`).join('; ')}`);
  }
  return copy as unknown as T;
}
