/**
 * Provider manifests: their types, and loading one from YAML with validation against
 * `manifest.schema.json` plus the rules a schema cannot say (references between parts, template
 * names). A manifest that fails either is refused at boot with every problem listed.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { AuthType, ConnectorType, JsonSchema } from '../spi.js';
import { compileSchema, describeSchemaErrors } from '../schema-validation.js';
import { placeholders, TEMPLATE_FILTERS } from './template.js';

export type Pointer = string;
export type RecordKindName = 'event' | 'indicator' | 'vulnerability' | 'transaction' | 'record';

export interface FieldSpec {
  from?: Pointer | Pointer[];
  /** `partition` or `config.<key>`: a value of the connector rather than of the item. */
  context?: string;
  value?: unknown;
  type?: 'string' | 'number' | 'integer' | 'datetime' | 'epoch_s' | 'epoch_ms' | 'boolean' | 'string[]';
  map?: Record<string, unknown>;
  default?: unknown;
  scale?: [number, number, number, number];
  each?: Pointer;
  detect?: 'indicator';
}
export type FieldDefinition = Pointer | Pointer[] | FieldSpec;

export interface AuthDefinition {
  credential?: string;
  description?: string;
  header?: string;
  prefix?: string;
  query?: string;
  tokenUrl?: string;
  scope?: string;
  tokenAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  remediation: string;
}

export type PaginationType = 'none' | 'link' | 'next_url' | 'cursor_token' | 'offset' | 'page_number' | 'range' | 'search_after' | 'incremental';

export interface PaginationDefinition {
  type: PaginationType;
  limit?: number;
  maxLimit?: number;
  limitParam?: string;
  offsetParam?: string;
  pageParam?: string;
  startPage?: number;
  nextPointer?: Pointer;
  tokenParam?: string;
  sortPointer?: Pointer;
  totalPointer?: Pointer;
  in?: 'query' | 'body';
}

export type CursorType = 'datetime' | 'epoch_s' | 'epoch_ms' | 'integer';

export interface CursorDefinition {
  field: Pointer;
  type: CursorType;
  lookback?: number;
  start?: number;
  /** Drop items older than the window's start on our side (APIs whose time filter is coarser than the cursor). */
  filter?: boolean;
}

export interface ErrorRule {
  if: Record<Pointer, string>;
  code?: 'AUTH_FAILED' | 'RATE_LIMITED' | 'CONFIG_INVALID' | 'BAD_RESPONSE' | 'UNREACHABLE';
  empty?: true;
  message?: Pointer;
}

export interface RequestDefinition {
  method?: 'GET' | 'POST';
  path: string;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  form?: Record<string, unknown>;
  json?: unknown;
}

export interface StreamDefinition {
  name: string;
  description: string;
  request: RequestDefinition;
  records: Pointer | { rows: Pointer; columns: Pointer };
  pagination?: PaginationDefinition;
  cursor?: CursorDefinition;
  rateLimit?: { requests: number; intervalSec: number };
  errors?: ErrorRule[];
  partitionBy?: string;
  map: { kind: RecordKindName; fields: Record<string, FieldDefinition> };
  dedupKey?: Pointer[];
}

export interface ConfigMigration {
  to: number;
  rename?: Record<string, string>;
  remove?: string[];
  convert?: Record<string, { to: string; values: Record<string, unknown> }>;
  set?: Record<string, unknown>;
}

export interface ProviderManifest {
  id: string;
  version: number;
  type: ConnectorType;
  name: string;
  description: string;
  documentationUrl: string;
  baseUrl: string;
  config?: { properties?: Record<string, JsonSchema>; required?: string[] };
  auth: Partial<Record<AuthType, AuthDefinition>>;
  streams: StreamDefinition[];
  check?: { stream?: string };
  migrations?: ConfigMigration[];
}

/** Config keys the engine adds to every manifest's schema (a manifest may not redefine them). */
export const ENGINE_CONFIG_KEYS = [
  'baseUrl',
  'timeoutMs',
  'syncIntervalSec',
  'healthCheckIntervalSec',
  'degradedLatencyMs',
  'failureThreshold',
  'initialLookbackSec',
  'maxPages',
  'pageSize',
  'tokenUrl',
  'scope',
  'tokenAuthMethod',
] as const;

export const MANIFEST_SCHEMA: JsonSchema = JSON.parse(readFileSync(new URL('./manifest.schema.json', import.meta.url), 'utf8')) as JsonSchema;

export class ManifestError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Provider manifest ${source} is not valid: ${problems.join('; ')}`);
    this.name = 'ManifestError';
  }
}

function templatesIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => templatesIn(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => templatesIn(v, out));
  return out;
}

/** The rules beyond the JSON Schema; returns problems (empty when none). */
export function manifestProblems(m: ProviderManifest): string[] {
  const problems: string[] = [];
  const configKeys = new Set<string>([...ENGINE_CONFIG_KEYS, ...Object.keys(m.config?.properties ?? {})]);
  for (const key of Object.keys(m.config?.properties ?? {})) {
    if ((ENGINE_CONFIG_KEYS as readonly string[]).includes(key)) problems.push(`config.properties.${key} is provided by the engine`);
  }
  for (const key of m.config?.required ?? []) if (!configKeys.has(key)) problems.push(`config.required names unknown setting ${key}`);
  const names = new Set<string>();
  const checkTemplate = (where: string, template: string, stream: StreamDefinition | null) => {
    for (const { name, filter } of placeholders(template)) {
      const [root, key, ...rest] = name.split('.');
      const ok =
        (root === 'config' && key !== undefined && rest.length === 0 && configKeys.has(key)) ||
        (root === 'window' && (key === 'start' || key === 'end') && rest.length === 0) ||
        (root === 'cursor' && key === undefined && stream?.cursor !== undefined) ||
        (root === 'partition' && key === undefined && stream?.partitionBy !== undefined) ||
        (root === 'limit' && key === undefined && stream !== null);
      if (!ok) problems.push(`${where}: unknown template name "${name}"`);
      if (filter !== undefined && !(TEMPLATE_FILTERS as readonly string[]).includes(filter)) problems.push(`${where}: unknown template filter "${filter}"`);
    }
  };
  for (const [type, auth] of Object.entries(m.auth)) {
    if (auth.tokenUrl) checkTemplate(`auth.${type}.tokenUrl`, auth.tokenUrl, null);
    if ((auth.header || auth.query || auth.prefix) && type !== 'API_KEY') problems.push(`auth.${type}: header, prefix and query apply to API_KEY only`);
    if (auth.credential && type !== 'API_KEY' && type !== 'BEARER') problems.push(`auth.${type}: credential applies to API_KEY and BEARER only`);
  }
  for (const s of m.streams) {
    if (names.has(s.name)) problems.push(`streams: duplicate name ${s.name}`);
    names.add(s.name);
    for (const t of templatesIn(s.request)) checkTemplate(`streams.${s.name}.request`, t, s);
    if (s.request.form && s.request.json !== undefined) problems.push(`streams.${s.name}.request: form and json are exclusive`);
    (s.errors ?? []).forEach((rule, i) => {
      if ((rule.code === undefined) === (rule.empty === undefined)) problems.push(`streams.${s.name}.errors[${i}]: needs exactly one of code and empty`);
    });
    const p = s.pagination;
    if (p) {
      const need = (cond: boolean, what: string) => cond || problems.push(`streams.${s.name}.pagination: ${p.type} needs ${what}`);
      if (p.type === 'next_url' || p.type === 'cursor_token') need(p.nextPointer !== undefined, 'nextPointer');
      if (p.type === 'cursor_token') need(p.tokenParam !== undefined, 'tokenParam');
      if (p.type === 'offset') need(p.offsetParam !== undefined && p.limitParam !== undefined && p.limit !== undefined, 'offsetParam, limitParam and limit');
      if (p.type === 'page_number') need(p.pageParam !== undefined && p.limit !== undefined, 'pageParam and limit');
      if (p.type === 'search_after') need(p.sortPointer !== undefined && p.limit !== undefined, 'sortPointer and limit');
      if (p.type === 'range') need(p.limit !== undefined, 'limit');
      if (p.type === 'incremental') need(s.cursor !== undefined && p.limit !== undefined, 'a cursor and limit');
      if (p.in === 'body' && !s.request.form && !s.request.json) problems.push(`streams.${s.name}.pagination: in: body needs a form or json request body`);
    }
    for (const [field, def] of Object.entries(s.map.fields)) {
      if (typeof def !== 'object' || Array.isArray(def) || def.context === undefined) continue;
      const ok = def.context === 'partition' ? s.partitionBy !== undefined : def.context.startsWith('config.') && configKeys.has(def.context.slice(7));
      if (!ok) problems.push(`streams.${s.name}.map.fields.${field}: unknown context "${def.context}"`);
    }
    if (s.partitionBy !== undefined) {
      const prop = m.config?.properties?.[s.partitionBy] as { type?: unknown } | undefined;
      if (!prop || prop.type !== 'array') problems.push(`streams.${s.name}.partitionBy: ${s.partitionBy} must be an array setting of config`);
    }
  }
  if (m.check?.stream !== undefined && !names.has(m.check.stream)) problems.push(`check.stream: no stream named ${m.check.stream}`);
  let last = 1;
  for (const migration of m.migrations ?? []) {
    if (migration.to !== last + 1) problems.push(`migrations: expected a migration to version ${last + 1}, found ${migration.to}`);
    last = migration.to;
  }
  if ((m.migrations?.length ?? 0) > 0 && last !== m.version) problems.push(`migrations end at version ${last}, but the manifest is version ${m.version}`);
  return problems;
}

/** Parses and validates a manifest; throws {@link ManifestError} listing every problem. */
export function parseManifest(text: string, source: string): ProviderManifest {
  let data: unknown;
  try {
    data = parse(text, { maxAliasCount: 0 });
  } catch (e) {
    throw new ManifestError(source, [`not valid YAML: ${(e as Error).message}`]);
  }
  const validate = compileSchema(MANIFEST_SCHEMA);
  if (!validate(data)) throw new ManifestError(source, [describeSchemaErrors(validate.errors)]);
  const manifest = data as ProviderManifest;
  const problems = manifestProblems(manifest);
  if (problems.length) throw new ManifestError(source, problems);
  return manifest;
}

export function loadManifestFile(url: URL): ProviderManifest {
  return parseManifest(readFileSync(url, 'utf8'), url.pathname.split('/').pop() ?? String(url));
}
