import { readFileSync } from 'node:fs';
import { startTestService, type TestService } from '../helpers/server.js';
import { admin } from '../helpers/tokens.js';
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
