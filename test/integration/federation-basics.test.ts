import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getNamedType, isEnumType, isInputObjectType, isLeafType, isListType, isNonNullType, type GraphQLInputType, type GraphQLObjectType } from 'graphql';
import { composeSupergraph } from '../../src/cli/compose.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { admin, editor, token, viewer } from '../helpers/tokens.js';
import { CREATE, ENTITIES, restInput } from '../helpers/fixtures.js';
import { buildFederatedSchema, printFederatedSchema } from '../../src/graphql/schema.js';

let svc: TestService;
let t: string;

beforeAll(async () => {
  svc = await startTestService('federation_basics');
  t = await admin('fed');
});
afterAll(() => svc?.close());

test('schema/connectors.graphql is the SDL printed from the code (run `npm run schema:print` after schema changes)', async () => {
  const printed = await printFederatedSchema(await buildFederatedSchema());
  expect(readFileSync('schema/connectors.graphql', 'utf8')).toBe(printed);
  const { _service } = await svc.ok('{ _service { sdl } }');
  expect(_service.sdl.trimEnd()).toBe(printed.trimEnd());
  expect(printed).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
  for (const type of ['Connector', 'Application', 'AuditEvent', 'Record']) {
    expect(printed).toMatch(new RegExp(`type ${type}\\s+@key\\(fields: "id"\\)`));
  }
});

test('_entities with 100 Connector references costs one SQL statement', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) ids.push((await svc.ok(CREATE, { input: restInput(`ref ${i}`) }, t)).createConnector.id);
  const reps = ids.map((id) => ({ __typename: 'Connector', id }));
  const res = await svc.gql(ENTITIES, { reps }, t);
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data._entities.map((e: any) => e.id)).toEqual(ids);
  expect(res.statements).toBe(1);
  const one = await svc.gql(ENTITIES, { reps: reps.slice(0, 1) }, t);
  expect(one.statements).toBe(1);
});

test('_entities mixes entity types in one request with one statement per type', async () => {
  const app = (await svc.ok('mutation { createApplication(name: "Fed app") { id } }', {}, t)).createApplication;
  const c = (await svc.ok(CREATE, { input: restInput('with app', { applicationId: app.id }) }, t)).createConnector;
  const res = await svc.gql(
    `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Connector { id } ... on Application { id name } } }`,
    { reps: [{ __typename: 'Connector', id: c.id }, { __typename: 'Application', id: app.id }] },
    t,
  );
  expect(res.body.data._entities).toEqual([{ id: c.id }, { id: app.id, name: 'Fed app' }]);
  expect(res.statements).toBe(2);
});

test('composes with a Relay-style subgraph that defines PageInfo too, and with the example subgraph', async () => {
  const { composeSupergraph } = await import('../../src/cli/compose.js');
  const printed = await printFederatedSchema(await buildFederatedSchema());
  expect(printed).toMatch(/type PageInfo\s+@shareable/);
  const { supergraphSdl } = composeSupergraph([
    { name: 'connectors', url: 'http://connectors/graphql', sdl: printed },
    { name: 'investigations', url: 'http://investigations/graphql', sdl: readFileSync('examples/investigations/schema.graphql', 'utf8') },
    { name: 'tickets', url: 'http://tickets/graphql', sdl: readFileSync('test/fixtures/federation/relay-tickets.graphql', 'utf8') },
  ]);
  expect(supergraphSdl).toMatch(/type PageInfo\s+@join__type\(graph: CONNECTORS\)\s+@join__type\(graph: TICKETS\)/);
  expect(supergraphSdl).toMatch(/type Ticket\s+@join__type\(graph: TICKETS, key: "id"\)/);
  // The tickets subgraph's references to our entities resolve here.
  expect(supergraphSdl).toMatch(/type Record\s+@join__type\(graph: CONNECTORS, key: "id"\)\s+@join__type\(graph: TICKETS, key: "id", resolvable: false\)/);
});

describe('auth directives for the router, derived from the resolvers\' role declarations', () => {
  const WRITE = '@requiresScopes(scopes: [["connectors:write"], ["connectors:admin"]])';
  const ADMIN = '@requiresScopes(scopes: [["connectors:admin"]])';
  let printed: string;
  beforeAll(async () => {
    printed = await printFederatedSchema(await buildFederatedSchema());
  });
  const field = (type: string, name: string): string => {
    const body = new RegExp(`\\ntype ${type}\\b[^{]*\\{([\\s\\S]*?)\\n\\}`).exec(printed)?.[1] ?? '';
    // A field's definition runs from its name to the next field (arguments may span lines).
    const match = new RegExp(`\\n  ${name}(\\(|:)[\\s\\S]*?(?=\\n  (?:"""|\\w+[(:])|$)`).exec(body);
    if (!match) throw new Error(`${type}.${name} is not in the SDL`);
    return match[0];
  };

  test('the subgraph links @authenticated and @requiresScopes', () => {
    expect(printed).toContain('import: ["@key", "@shareable", "@authenticated", "@requiresScopes"]');
  });

  test.each([
    ['Query', 'connectors', '@authenticated'],
    ['Query', 'records', '@authenticated'],
    ['Mutation', 'createConnector', WRITE],
    ['Mutation', 'toggleConnector', WRITE],
    ['Mutation', 'syncConnector', WRITE],
    ['Mutation', 'checkConnectorHealth', WRITE],
    ['Mutation', 'purgeConnector', ADMIN],
    ['Mutation', 'rotateCredentials', ADMIN],
    ['Mutation', 'createApiKey', ADMIN],
    ['Mutation', 'createApplication', ADMIN],
    ['Mutation', 'createIntakeToken', ADMIN],
    ['Application', 'apiKeys', ADMIN],
    ['Connector', 'vaultPath', ADMIN],
    ['Connector', 'name', '@authenticated'],
    ['Record', 'connector', '@authenticated'],
  ])('%s.%s carries %s', (type, name, directive) => {
    const definition = field(type, name);
    expect(definition).toContain(directive);
    expect(definition.match(/@authenticated|@requiresScopes/g)).toHaveLength(1);
  });

  test('entity keys and the federation fields stay open (a reference stub needs no scope)', () => {
    for (const type of ['Connector', 'Application', 'AuditEvent', 'Record']) expect(field(type, 'id')).not.toMatch(/@authenticated|@requiresScopes/);
    expect(field('Query', '_entities')).not.toMatch(/@authenticated|@requiresScopes/);
    expect(field('Query', '_service')).not.toMatch(/@authenticated|@requiresScopes/);
  });

  test('every mutation and every other query field carries a directive', async () => {
    const schema = await buildFederatedSchema();
    for (const type of ['Query', 'Mutation']) {
      const names = Object.keys(schema.getTypeMap()[type] ? (schema.getType(type) as GraphQLObjectType).getFields() : {}).filter((n) => !n.startsWith('_'));
      expect(names.length).toBeGreaterThan(5);
      for (const name of names) expect(`${type}.${name}: ${field(type, name)}`).toMatch(/@authenticated|@requiresScopes/);
    }
  });

  test('resolvers declare their role through access.ts only (a check in a body would have no directive)', () => {
    const offenders: string[] = [];
    for (const dir of readdirSync('src/modules')) {
      for (const file of readdirSync(join('src/modules', dir)).filter((f) => f.endsWith('.resolver.ts'))) {
        const text = readFileSync(join('src/modules', dir, file), 'utf8');
        if (/\b(caller|requireRole|hasRole|isAdmin)\(/.test(text)) offenders.push(`${dir}/${file}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('each root field is refused below its declared role and served at it: the directive says what the subgraph does', async () => {
    const schema = await buildFederatedSchema();
    const tokens = { none: undefined, norole: await token({ tenantId: 'fed-roles', roles: [] }), viewer: await viewer('fed-roles'), editor: await editor('fed-roles'), admin: await admin('fed-roles') };
    const below = { viewer: 'norole', editor: 'viewer', admin: 'editor' } as const;
    const checked: string[] = [];
    for (const rootType of [schema.getQueryType()!, schema.getMutationType()!]) {
      for (const f of Object.values(rootType.getFields())) {
        if (f.name.startsWith('_')) continue;
        const sdl = field(rootType.name, f.name);
        const role = sdl.includes(ADMIN) ? 'admin' : sdl.includes(WRITE) ? 'editor' : sdl.includes('@authenticated') ? 'viewer' : null;
        expect(`${rootType.name}.${f.name} ${role}`).not.toMatch(/ null$/);
        const args = f.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
        const vars = Object.fromEntries(args.map((a) => [a.name, sample(a.type)]));
        const selection = isLeafType(getNamedType(f.type)) ? '' : ' { __typename }';
        const operation = `${rootType.name === 'Query' ? 'query' : 'mutation'}${args.length ? `(${args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ')})` : ''} { ${f.name}${args.length ? `(${args.map((a) => `${a.name}: $${a.name}`).join(', ')})` : ''}${selection} }`;
        expect([f.name, errorCode(await svc.gql(operation, vars))]).toEqual([f.name, 'UNAUTHENTICATED']);
        expect([f.name, errorCode(await svc.gql(operation, vars, tokens[below[role!]]))]).toEqual([f.name, 'FORBIDDEN']);
        const allowed = errorCode(await svc.gql(operation, vars, tokens[role!]));
        expect([f.name, allowed]).not.toEqual([f.name, 'FORBIDDEN']);
        expect([f.name, allowed]).not.toEqual([f.name, 'UNAUTHENTICATED']);
        checked.push(f.name);
      }
    }
    expect(checked).toEqual(expect.arrayContaining(['connectors', 'createConnector', 'purgeConnector', 'createApiKey', 'syncConnector']));
  });

  test('composes with the Relay-style and example subgraphs keeping the directives, for a GraphOS Router', () => {
    const { supergraphSdl } = composeSupergraph([
      { name: 'connectors', url: 'http://connectors/graphql', sdl: printed },
      { name: 'investigations', url: 'http://investigations/graphql', sdl: readFileSync('examples/investigations/schema.graphql', 'utf8') },
      { name: 'tickets', url: 'http://tickets/graphql', sdl: readFileSync('test/fixtures/federation/relay-tickets.graphql', 'utf8') },
    ]);
    expect(supergraphSdl).toContain('@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)');
    expect(supergraphSdl).toContain('@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)');
    expect(supergraphSdl).toMatch(/purgeConnector\(id: ID!\): Boolean! @requiresScopes\(scopes: \[\["connectors:admin"\]\]\)/);
    expect(supergraphSdl).toMatch(/type PageInfo\s+@join__type\(graph: CONNECTORS\)\s+@join__type\(graph: TICKETS\)/);
  });
});

/** A value of `type` that passes GraphQL coercion (enough for the role check to be reached). */
function sample(type: GraphQLInputType): unknown {
  const t = isNonNullType(type) ? type.ofType : type;
  if (isListType(t)) return [];
  if (isEnumType(t)) return t.getValues()[0]!.value;
  if (isInputObjectType(t)) {
    return Object.fromEntries(Object.values(t.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined).map((f) => [f.name, sample(f.type)]));
  }
  return ({ ID: 'x', String: 'x', Int: 1, Float: 1, Boolean: true, JSON: {}, DateTime: new Date(0).toISOString() } as Record<string, unknown>)[(t as { name: string }).name] ?? 'x';
}
