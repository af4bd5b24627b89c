/**
 * API9:2023 Improper Inventory Management: what is served is what is documented. A deleted
 * application is gone on every path, the federation SDL is the checked-in one, and diagnostics
 * (SQL statement counts) are off unless an operator turns them on.
 */
import { readFileSync } from 'node:fs';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { admin, viewer } from '../helpers/tokens.js';

let svc: TestService;
let adminToken: string;

beforeAll(async () => {
  svc = await startTestService('api9');
  adminToken = await admin('t-api9');
});
afterAll(() => svc?.close());

describe('API9:2023 Improper Inventory Management', () => {
  test('a deleted application resolves to null through _entities, as through application(id)', async () => {
    const { id, version } = (await svc.ok('mutation { createApplication(name: "retired") { id version } }', {}, adminToken)).createApplication;
    const entities = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Application { id name } } }';
    expect((await svc.ok(entities, { r: [{ __typename: 'Application', id }] }, adminToken))._entities).toEqual([{ id, name: 'retired' }]);
    expect(errorCode(await svc.gql(`mutation { deleteApplication(id: "${id}") { id } }`, {}, adminToken))).toBeUndefined();
    expect(version).toBe(1);
    for (const token of [adminToken, await viewer('t-api9')]) {
      expect((await svc.ok(`{ application(id: "${id}") { id } }`, {}, token)).application).toBeNull();
      expect((await svc.ok(entities, { r: [{ __typename: 'Application', id }] }, token))._entities).toEqual([null]);
      expect((await svc.ok('{ applications { nodes { id } } }', {}, token)).applications.nodes).toEqual([]);
    }
  });

  test('the SDL served to a gateway is the checked-in schema/connectors.graphql', async () => {
    const sdl = (await svc.ok('{ _service { sdl } }'))._service.sdl;
    expect(sdl.trimEnd() + '\n').toBe(readFileSync('schema/connectors.graphql', 'utf8'));
  });

  test('SQL statement counts are a diagnostic an operator turns on (EXPOSE_SQL_COUNT), off by default', async () => {
    const plain = await startTestService('api9_plain', { EXPOSE_SQL_COUNT: 'false' });
    try {
      const res = await fetch(`${plain.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ query: '{ connectors { totalCount } }' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-sql-statements')).toBeNull();
    } finally {
      await plain.close();
    }
    expect((await svc.gql('{ connectors { totalCount } }', {}, adminToken)).headers.get('x-sql-statements')).toMatch(/^\d+$/);
  });

  test('only the documented HTTP routes answer', async () => {
    for (const path of ['/debug', '/admin', '/graphql/schema', '/.env', '/package.json']) {
      expect((await fetch(`${svc.url}${path}`)).status).toBe(404);
    }
  });
});
