/**
 * The API contract (test/contract/api-contract.graphql) against the printed schema: every type,
 * field, argument, enum value and @key that clients rely on must still be there, under its name,
 * with a type a client written against the contract still accepts. The schema may add; it may not
 * rename, remove or narrow.
 *
 * What counts as compatible:
 * - output fields: the same type, or a non-null one where the contract allows null; an enum where
 *   the contract says String (it is sent as the same string);
 * - arguments and input fields: the same named type; non-null only where the schema gives a
 *   default; a default, where both state one, the same; no new required argument or input field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Kind,
  parse,
  print,
  type ConstValueNode,
  type DefinitionNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
  type TypeNode,
} from 'graphql';
import { getAdapter } from '../../src/adapters/registry.js';

const root = join(import.meta.dirname, '..', '..');
const contract = parse(readFileSync(join(root, 'test/contract/api-contract.graphql'), 'utf8'));
const printed = parse(readFileSync(join(root, 'schema/connectors.graphql'), 'utf8'));

interface TypeInfo {
  kind: string;
  fields: Map<string, FieldDefinitionNode | InputValueDefinitionNode>;
  values: Set<string>;
  directives: string[];
}

const TYPE_KIND: Record<string, string> = {
  [Kind.OBJECT_TYPE_DEFINITION]: 'object', [Kind.OBJECT_TYPE_EXTENSION]: 'object',
  [Kind.INPUT_OBJECT_TYPE_DEFINITION]: 'input', [Kind.INPUT_OBJECT_TYPE_EXTENSION]: 'input',
  [Kind.ENUM_TYPE_DEFINITION]: 'enum', [Kind.ENUM_TYPE_EXTENSION]: 'enum',
  [Kind.SCALAR_TYPE_DEFINITION]: 'scalar', [Kind.SCALAR_TYPE_EXTENSION]: 'scalar',
  [Kind.INTERFACE_TYPE_DEFINITION]: 'interface', [Kind.UNION_TYPE_DEFINITION]: 'union',
};

/** Types by name, extensions merged into their definition. */
function typesOf(definitions: readonly DefinitionNode[]): Map<string, TypeInfo> {
  const types = new Map<string, TypeInfo>();
  for (const d of definitions) {
    const kind = TYPE_KIND[d.kind];
    if (!kind || !('name' in d) || !d.name) continue;
    const info: TypeInfo = types.get(d.name.value) ?? { kind, fields: new Map(), values: new Set<string>(), directives: [] };
    if ('fields' in d) for (const f of d.fields ?? []) info.fields.set(f.name.value, f);
    if ('values' in d) for (const v of d.values ?? []) info.values.add(v.name.value);
    if ('directives' in d) info.directives.push(...(d.directives ?? []).map((x) => print(x)));
    types.set(d.name.value, info);
  }
  return types;
}

const wanted = typesOf(contract.definitions);
const ours = typesOf(printed.definitions);

function named(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : named(type.type);
}

/** An output type a client of `want` reads without surprise. */
function outputAccepts(want: TypeNode, got: TypeNode): boolean {
  if (got.kind === Kind.NON_NULL_TYPE && want.kind !== Kind.NON_NULL_TYPE) return outputAccepts(want, got.type);
  if (want.kind !== got.kind) return false;
  if (want.kind === Kind.NON_NULL_TYPE || want.kind === Kind.LIST_TYPE) return outputAccepts(want.type, (got as typeof want).type);
  const gotName = (got as typeof want).name.value;
  return want.name.value === gotName || (want.name.value === 'String' && ours.get(gotName)?.kind === 'enum');
}

/** An input type that takes every value a client of `want` sends (non-null only with a default). */
function inputAccepts(want: TypeNode, got: TypeNode, gotHasDefault: boolean): boolean {
  if (want.kind === Kind.NON_NULL_TYPE && got.kind !== Kind.NON_NULL_TYPE) return inputAccepts(want.type, got, false);
  if (got.kind === Kind.NON_NULL_TYPE && want.kind !== Kind.NON_NULL_TYPE) return gotHasDefault && inputAccepts(want, got.type, false);
  if (want.kind !== got.kind) return false;
  if (want.kind === Kind.NON_NULL_TYPE || want.kind === Kind.LIST_TYPE) return inputAccepts(want.type, (got as typeof want).type, false);
  return want.name.value === (got as typeof want).name.value;
}

const value = (v: ConstValueNode | undefined): string | undefined => (v ? print(v) : undefined);

function inputProblems(where: string, want: readonly InputValueDefinitionNode[], got: readonly InputValueDefinitionNode[]): string[] {
  const problems: string[] = [];
  for (const w of want) {
    const g = got.find((x) => x.name.value === w.name.value);
    if (!g) {
      problems.push(`${where}(${w.name.value}) is missing`);
      continue;
    }
    if (!inputAccepts(w.type, g.type, g.defaultValue !== undefined)) problems.push(`${where}(${w.name.value}): contract ${print(w.type)}, schema ${print(g.type)}`);
    if (w.defaultValue && g.defaultValue && value(w.defaultValue) !== value(g.defaultValue)) {
      problems.push(`${where}(${w.name.value}): default ${value(w.defaultValue)} in the contract, ${value(g.defaultValue)} in the schema`);
    }
  }
  for (const g of got) {
    if (g.type.kind === Kind.NON_NULL_TYPE && g.defaultValue === undefined && !want.some((w) => w.name.value === g.name.value)) {
      problems.push(`${where}(${g.name.value}): a required ${print(g.type)} the contract does not have`);
    }
  }
  return problems;
}

function problemsOf(name: string, want: TypeInfo): string[] {
  const got = ours.get(name);
  if (!got) return [`type ${name} is missing`];
  if (got.kind !== want.kind) return [`${name} is of kind ${got.kind} in the schema, ${want.kind} in the contract`];
  const problems: string[] = [];
  for (const directive of want.directives) {
    if (!got.directives.includes(directive)) problems.push(`${name} lacks ${directive}`);
  }
  for (const v of want.values) if (!got.values.has(v)) problems.push(`${name}.${v} is missing`);
  if (want.kind === 'input') {
    problems.push(...inputProblems(name, [...want.fields.values()] as InputValueDefinitionNode[], [...got.fields.values()] as InputValueDefinitionNode[]));
    return problems;
  }
  for (const [fieldName, w] of want.fields as Map<string, FieldDefinitionNode>) {
    const g = got.fields.get(fieldName) as FieldDefinitionNode | undefined;
    if (!g) {
      problems.push(`${name}.${fieldName} is missing`);
      continue;
    }
    if (!outputAccepts(w.type, g.type)) problems.push(`${name}.${fieldName}: contract ${print(w.type)}, schema ${print(g.type)}`);
    problems.push(...inputProblems(`${name}.${fieldName}`, w.arguments ?? [], g.arguments ?? []));
  }
  return problems;
}

test('the contract file names the types of both waves', () => {
  expect(wanted.size).toBeGreaterThan(40);
  for (const name of ['Connector', 'Query', 'Mutation', 'Record', 'WebhookEndpoint', 'CreatedWebhookEndpoint', 'BulkToggleResult', 'BulkOutcome']) {
    expect(wanted.has(name)).toBe(true);
  }
});

test.each([...wanted.keys()])('%s is in the printed schema as the contract names it', (name) => {
  expect(problemsOf(name, wanted.get(name)!)).toEqual([]);
});

test('every connection pages both ways (first/after and last/before) with the Relay PageInfo', () => {
  const lacking: string[] = [];
  for (const [typeName, info] of ours) {
    if (info.kind !== 'object') continue;
    for (const [fieldName, field] of info.fields as Map<string, FieldDefinitionNode>) {
      if (!named(field.type).endsWith('Connection')) continue;
      const args = new Set((field.arguments ?? []).map((a) => a.name.value));
      const missing = ['first', 'after', 'last', 'before'].filter((a) => !args.has(a));
      if (missing.length) lacking.push(`${typeName}.${fieldName} lacks ${missing.join(', ')}`);
      if (!ours.get(named(field.type))?.fields.has('pageInfo')) lacking.push(`${named(field.type)} lacks pageInfo`);
    }
  }
  expect(lacking).toEqual([]);
  expect([...ours.get('PageInfo')!.fields.keys()].sort()).toEqual(['endCursor', 'hasNextPage', 'hasPreviousPage', 'startCursor']);
});

test('the checks themselves: a rename, a narrowed output, a new required argument and a lost @key are caught', () => {
  const probe = (contractSdl: string, schemaSdl: string): string[] => {
    const w = typesOf(parse(contractSdl).definitions);
    const saved = new Map(ours);
    ours.clear();
    for (const [k, v] of typesOf(parse(schemaSdl).definitions)) ours.set(k, v);
    try {
      return [...w].flatMap(([n, info]) => problemsOf(n, info));
    } finally {
      ours.clear();
      for (const [k, v] of saved) ours.set(k, v);
    }
  };
  expect(probe('type A { x: Int }', 'type B { x: Int }')).toEqual(['type A is missing']);
  expect(probe('type A { x: Int! }', 'type A { x: Int }')).toEqual(['A.x: contract Int!, schema Int']);
  expect(probe('type A { x: Int }', 'type A { x: Int! }')).toEqual([]);
  expect(probe('type A { x: String! }', 'enum E { V } type A { x: E! }')).toEqual([]);
  expect(probe('type A { x(first: Int = 5): Int }', 'type A { x(first: Int! = 5, kind: String!): Int }')).toEqual(['A.x(kind): a required String! the contract does not have']);
  expect(probe('type A { x(first: Int = 5): Int }', 'type A { x(first: Int!): Int }')).toEqual(['A.x(first): contract Int, schema Int!']);
  expect(probe('type A @key(fields: "id") { id: ID! }', 'type A { id: ID! }')).toEqual(['A lacks @key(fields: "id")']);
  expect(probe('enum E { A B }', 'enum E { A }')).toEqual(['E.B is missing']);
  expect(probe('input I { a: Int! }', 'input I { a: Int! b: Int! }')).toEqual(['I(b): a required Int! the contract does not have']);
});

/**
 * Provider ids, types and the config and credential keys the contract's provider table names
 * ("add keys freely"), plus `dedupWindowSec` on every provider.
 */
const PROVIDERS: Array<[id: string, type: string, config: string[], credentials: string[]]> = [
  ['splunk', 'SIEM', ['baseUrl'], []],
  ['microsoft_sentinel', 'SIEM', ['baseUrl'], []],
  ['ibm_qradar', 'SIEM', ['baseUrl'], []],
  ['elastic_security', 'SIEM', ['baseUrl'], []],
  ['crowdstrike_falcon', 'ENDPOINT', ['baseUrl', 'tokenUrl'], ['clientId', 'clientSecret']],
  ['microsoft_defender_for_endpoint', 'ENDPOINT', ['baseUrl', 'tokenUrl'], ['clientId', 'clientSecret']],
  ['misp', 'THREAT_INTEL', ['baseUrl'], []],
  ['alienvault_otx', 'THREAT_INTEL', ['baseUrl'], []],
  ['abusech_threatfox', 'THREAT_INTEL', ['baseUrl'], []],
  ['taxii21', 'THREAT_INTEL', ['baseUrl', 'collectionId'], []],
  ['shodan', 'OSINT', ['baseUrl'], ['apiKey']],
  ['virustotal', 'OSINT', ['baseUrl'], ['apiKey']],
  ['abuseipdb', 'OSINT', ['baseUrl'], ['apiKey']],
  ['greynoise', 'OSINT', ['baseUrl'], ['apiKey']],
  ['okta_system_log', 'CLOUD_LOGS', ['baseUrl'], ['apiToken']],
  ['aws_cloudtrail', 'CLOUD_LOGS', ['bucket', 'prefix', 'region', 'endpoint'], ['accessKeyId', 'secretAccessKey']],
  ['etherscan', 'BLOCKCHAIN', ['addresses', 'baseUrl'], ['apiKey']],
  ['ethereum', 'BLOCKCHAIN', ['addresses', 'rpcUrl', 'confirmations', 'startBlock'], []],
  ['syslog_cef', 'SIEM', ['senders', 'hostname', 'appName'], []],
  ['syslog_leef', 'SIEM', ['senders', 'hostname', 'appName'], []],
  ['http_collector', 'SIEM', ['senders', 'hostname', 'appName'], []],
  ['suricata_eve', 'NETWORK', ['senders', 'hostname', 'appName'], []],
  ['zeek', 'NETWORK', ['senders', 'hostname', 'appName'], []],
  ['generic_rest', 'CUSTOM_API', ['baseUrl', 'path', 'query', 'recordsPointer', 'maxPages', 'apiKeyHeader', 'apiKeyQueryParam', 'tokenUrl', 'scope', 'syncIntervalSec', 'healthCheckIntervalSec', 'dedupKey'], ['apiKey', 'username', 'password', 'token', 'clientId', 'clientSecret']],
  ['nvd', 'VULNERABILITY', ['baseUrl', 'resultsPerPage', 'startDate', 'syncIntervalSec'], ['apiKey']],
];

test.each(PROVIDERS)('provider %s (%s) takes the contract\'s config and credential keys', (id, type, config, credentials) => {
  const adapter = getAdapter(id);
  expect(adapter?.spec.type).toBe(type);
  const spec = adapter!.spec;
  const configKeys = Object.keys((spec.configSchema as { properties?: Record<string, unknown> }).properties ?? {});
  expect(config.concat('dedupWindowSec').filter((key) => !configKeys.includes(key))).toEqual([]);
  const credentialKeys = new Set([
    ...Object.values(spec.requiredCredentials ?? {}).flat(),
    ...Object.values((spec as { optionalCredentials?: Record<string, string[]> }).optionalCredentials ?? {}).flat(),
  ]);
  expect(credentials.filter((key) => !credentialKeys.has(key))).toEqual([]);
});
