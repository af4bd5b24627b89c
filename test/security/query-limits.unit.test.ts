/**
 * API4:2023 (resource consumption), the part that needs no server: the default limits let every
 * GraphQL document of the README and docs/ through, and the standard introspection query too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getIntrospectionQuery, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { loadConfig } from '../../src/config.js';
import { buildFederatedSchema } from '../../src/graphql/schema.js';
import { builtInLimitError, queryLimitRules, queryLimitsPlugin } from '../../src/server/query-limits.js';

const limits = loadConfig({}).queryLimits;
let schema: GraphQLSchema;

beforeAll(async () => {
  schema = await buildFederatedSchema();
});

/** Parse, validate and cost-check a document as the server does, without executing it. */
async function refusal(source: string, variables: Record<string, unknown> = {}): Promise<string | null> {
  let document: DocumentNode;
  try {
    document = parse(source, { maxTokens: limits.maxTokens });
  } catch (error) {
    return builtInLimitError((error as Error).message, limits)?.message ?? String(error);
  }
  const errors = validate(schema, document, [...specifiedRules, ...queryLimitRules(limits)]);
  if (errors.length) return errors.map((e) => builtInLimitError(e.message, limits)?.message ?? e.message).join('; ');
  const listener = await (queryLimitsPlugin(limits).requestDidStart as any)({});
  const operations = document.definitions.filter((d: any) => d.kind === 'OperationDefinition') as any[];
  for (const operation of operations) {
    try {
      await listener.didResolveOperation({ schema, document, operation, operationName: operation.name?.value ?? null, request: { variables } });
    } catch (error) {
      return String(error);
    }
  }
  return null;
}

function graphqlBlocks(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const root = join(import.meta.dirname ?? __dirname, '..', '..');
const documents = [join(root, 'README.md'), ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(root, 'docs', f))]
  .flatMap((file) => graphqlBlocks(file).map((source, i) => [`${file.slice(root.length + 1)} #${i + 1}`, source] as const))
  // Schema excerpts (type definitions) are not operations.
  .filter(([, source]) => /^\s*(query|mutation|\{)/m.test(source) && !/^\s*(type|extend|enum|input)\s/m.test(source));

test('the README and docs hold GraphQL operations to check', () => {
  expect(documents.length).toBeGreaterThan(5);
});

test.each(documents)('%s passes the default limits', async (_name, source) => {
  const problem = await refusal(source.replace(/…/g, 'x'));
  // Only the limits are checked here: a document may name fields of later sections' examples.
  expect(problem ?? '').not.toMatch(/too complex|tokens/);
});

test('the standard introspection query passes the default limits', async () => {
  expect(await refusal(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }))).toBeNull();
});

describe('refused before execution, with the figure and the limit', () => {
  test.each([
    ['three levels of connectors(first: 200) through application', '{ connectors(first: 200) { nodes { application { connectors(first: 200) { nodes { application { connectors(first: 200) { nodes { id } } } } } } } } }', /estimated cost is \d+, the limit is 20000 \(MAX_QUERY_COST\)/],
    ['1,000 aliases of connectors(first: 200)', `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: connectors(first: 200) { nodes { id } }`).join(' ')} }`, /tokens is more than 5000/],
    ['101 aliases', `{ ${Array.from({ length: 101 }, (_, i) => `a${i}: connectors(first: 1) { totalCount }`).join(' ')} }`, /number of aliases is 101, the limit is 30/],
    ['AuditEvent.connector and Connector.auditEvents nested 60 deep', `{ auditEvents(first: 1) { nodes { ${'connector { auditEvents(first: 1) { nodes { '.repeat(30)} id ${'} } }'.repeat(30)} } } }`, /depth is \d+, the limit is 15/],
    ['introspection nested through types and fields', '{ __schema { types { fields { type { fields { type { fields { type { fields { type { fields { name } } } } } } } } } } } }', /introspection nests fields/],
  ])('%s', async (_name, source, message) => {
    expect(await refusal(source)).toMatch(message);
  });

  test('skipping every child, or asking for a page of 0, does not make a list free', async () => {
    const skipped = '{ connectors(first: 200) { nodes { application { connectors(first: 200) { nodes { application { connectors(first: 200) { nodes { id @skip(if: true) } } } } } } } } }';
    expect(await refusal(skipped)).toMatch(/estimated cost is \d+, the limit is 20000/);
    const reps = Array.from({ length: 1000 }, (_, i) => ({ __typename: 'Connector', id: `cnn_${i}` }));
    const aliases = `query($r: [_Any!]!) { ${Array.from({ length: 3 }, (_, i) => `e${i}: _entities(representations: $r) { __typename @skip(if: true) }`).join(' ')} }`;
    expect(await refusal(aliases, { r: reps })).toMatch(/number of _entities representations is 2000, the limit is 1000/);
    expect(await refusal('{ connectors(first: 0) { nodes { id } } }')).toBeNull();
  });

  test('the cost follows the variables: first: $n', async () => {
    const source = 'query($n: Int!) { connectors(first: $n) { nodes { application { connectors(first: $n) { nodes { id name } } } } } }';
    expect(await refusal(source, { n: 10 })).toBeNull();
    expect(await refusal(source, { n: 200 })).toMatch(/estimated cost is 120601,/);
  });

  test('_entities costs its selection times its representations, and their number is capped', async () => {
    const source = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Connector { id application { connectors(first: 200) { nodes { id } } } } } }';
    const reps = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Connector', id: `cnn_${i}` }));
    expect(await refusal(source, { r: reps(1) })).toBeNull();
    expect(await refusal(source, { r: reps(500) })).toMatch(/estimated cost is \d+, the limit is 20000/);
    expect(await refusal('query($r: [_Any!]!) { _entities(representations: $r) { ... on Connector { id } } }', { r: reps(1001) })).toMatch(/number of _entities representations is 1001, the limit is 1000/);
  });
});
