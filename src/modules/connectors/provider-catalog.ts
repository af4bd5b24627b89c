/** Validation of connector config and credentials against the provider specs (JSON Schema, ajv). */
import type { ErrorObject } from 'ajv/dist/2020.js';
import { getAdapter } from '../../adapters/registry.js';
import { compileSchema, configProblems } from '../../adapters/schema-validation.js';
import type { Adapter, AdapterSpec, AuthType, JsonSchema } from '../../adapters/spi.js';
import { AppError, type FieldError } from '../../errors/app-error.js';

export const REDACTED = '[REDACTED]';

function pathOf(root: string, error: ErrorObject): string {
  const segments = error.instancePath.split('/').filter(Boolean).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  if (error.keyword === 'additionalProperties') segments.push(String(error.params.additionalProperty));
  return [root, ...segments].join('.');
}

/** Readable, per-field messages; never echoes the offending value (it could be a secret). */
function messageOf(error: ErrorObject, provider: string): string {
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return `is not a setting of ${provider}`;
    case 'format':
      return `must be a valid ${error.params.format}`;
    case 'enum':
      return `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return error.message ?? 'is not valid';
  }
}

function fieldErrors(errors: ErrorObject[] | null | undefined, root: string, provider: string): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const error of errors ?? []) {
    const item = { path: pathOf(root, error), message: messageOf(error, provider) };
    const key = `${item.path} ${item.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

function fail(summary: string, errors: FieldError[]): never {
  const detail = errors.map((e) => `${e.path} ${e.message}`).join('; ');
  throw AppError.badInput(`${summary}: ${detail}`, errors);
}

export function requireAdapter(provider: string): Adapter {
  const adapter = typeof provider === 'string' ? getAdapter(provider) : undefined;
  if (!adapter) {
    throw AppError.badInput(`unknown provider "${String(provider).slice(0, 64)}": see connectorProviders for the list`, [
      { path: 'provider', message: 'is not a known provider' },
    ]);
  }
  return adapter;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates and returns the config with the schema's defaults applied (the input is not mutated):
 * the provider's schema, then the rules every provider shares (size, no secrets in URLs), the same
 * ones the adapter applies.
 */
export function validateConfig(spec: AdapterSpec, config: unknown): Record<string, unknown> {
  if (!isPlainObject(config)) fail('config is not valid', [{ path: 'config', message: 'must be an object' }]);
  const copy = structuredClone(config);
  const validate = compileSchema(spec.configSchema);
  if (!validate(copy)) fail(`config is not valid for ${spec.id}`, fieldErrors(validate.errors, 'config', spec.id));
  const problems = [...configProblems(copy), ...(spec.configProblems?.(copy) ?? [])];
  if (problems.length) fail(`config is not valid for ${spec.id}`, problems.map((p) => ({ path: p.path ? `config.${p.path}` : 'config', message: p.message })));
  return copy;
}

export function validateAuthType(spec: AdapterSpec, authType: AuthType): void {
  if (!spec.authTypes.includes(authType)) {
    fail(`authType ${authType} is not supported by ${spec.id}`, [
      { path: 'authType', message: `must be one of ${spec.authTypes.join(', ')}` },
    ]);
  }
}

/**
 * Validates write-only credentials for an auth type: known fields only, non-empty strings, the
 * auth type's required fields present. Messages name fields, never values.
 */
export function validateCredentials(spec: AdapterSpec, authType: AuthType, credentials: unknown): Record<string, string> {
  if (!isPlainObject(credentials)) fail('credentials are not valid', [{ path: 'credentials', message: 'must be an object' }]);
  const validate = compileSchema(spec.credentialsSchema);
  const copy = structuredClone(credentials);
  const errors: FieldError[] = validate(copy) ? [] : fieldErrors(validate.errors, 'credentials', spec.id);
  const used = spec.requiredCredentials[authType] ?? [];
  const optional = spec.optionalCredentials?.[authType] ?? [];
  for (const field of Object.keys(copy)) {
    if (!used.includes(field) && !optional.includes(field) && !errors.some((e) => e.path === `credentials.${field}`)) {
      errors.push({ path: `credentials.${field}`, message: `is not used by ${authType}` });
    }
  }
  for (const field of used) {
    const value = copy[field];
    if ((typeof value !== 'string' || value.length === 0) && !errors.some((e) => e.path === `credentials.${field}`)) {
      errors.push({ path: `credentials.${field}`, message: `is required for ${authType}` });
    }
  }
  if (errors.length) fail(`credentials are not valid for ${spec.id} with ${authType}`, errors);
  return copy as Record<string, string>;
}

/** Names of the config properties the provider's schema marks secret (`writeOnly`). */
const secretKeysOf = new WeakMap<AdapterSpec, string[]>();

function secretConfigKeys(spec: AdapterSpec): string[] {
  let keys = secretKeysOf.get(spec);
  if (!keys) {
    const properties = (spec.configSchema.properties ?? {}) as Record<string, JsonSchema>;
    keys = Object.entries(properties)
      .filter(([, schema]) => schema.writeOnly === true)
      .map(([key]) => key);
    secretKeysOf.set(spec, keys);
  }
  return keys;
}

/** The config with values marked secret in the provider's schema replaced by "[REDACTED]". */
export function redactConfig(spec: AdapterSpec | undefined, config: Record<string, unknown>): Record<string, unknown> {
  if (!spec) return config;
  const keys = secretConfigKeys(spec);
  if (!keys.length) return config;
  const copy = { ...config };
  for (const key of keys) if (key in copy) copy[key] = REDACTED;
  return copy;
}
