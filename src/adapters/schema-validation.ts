/** One JSON Schema 2020-12 validator for every provider schema (ajv, compiled once per schema). */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ConnectorError } from '../errors/connector-error.js';
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

/**
 * Validates a provider config inside the adapter (the service validated it already; this guards
 * drafts and stored rows alike) and fills defaults; throws CONFIG_INVALID. The `baseUrl` must not
 * carry credentials, a query or a fragment.
 */
export function parseProviderConfig<T extends { baseUrl: string }>(schema: JsonSchema, raw: unknown, queryHint = ''): T {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConnectorError('CONFIG_INVALID', 'Invalid configuration: expected an object');
  }
  const copy = structuredClone(raw) as Record<string, unknown>;
  const check = compileSchema(schema);
  if (!check(copy)) throw new ConnectorError('CONFIG_INVALID', `Invalid configuration: ${describeSchemaErrors(check.errors)}`);
  const cfg = copy as unknown as T;
  const base = new URL(cfg.baseUrl);
  if (base.username || base.password) {
    throw new ConnectorError('CONFIG_INVALID', 'Invalid configuration: baseUrl must not contain credentials (use the connector credentials)');
  }
  if (base.search || base.hash) {
    throw new ConnectorError('CONFIG_INVALID', `Invalid configuration: baseUrl must not contain a query or fragment${queryHint}`);
  }
  return cfg;
}
