/**
 * API8:2023 Security Misconfiguration: security headers, inline traces and introspection only
 * where turned on, GraphiQL behind a switch, and client mistakes (NUL bytes, lone surrogates,
 * subscriptions, malformed representations) answered as BAD_USER_INPUT and logged at info, never
 * as INTERNAL_SERVER_ERROR at error level.
 */
import { CREATE, restInput } from '../helpers/fixtures.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { admin, viewer } from '../helpers/tokens.js';

let svc: TestService;
let adminToken: string;
let connectorId: string;

beforeAll(async () => {
  svc = await startTestService('api8');
  adminToken = await admin('t-api8');
  connectorId = (await svc.ok(CREATE, { input: restInput('configured') }, adminToken)).createConnector.id;
});
afterAll(() => svc?.close());

/** Log lines at error level (pino level 50) or above. */
function errorLines(): string[] {
  return svc.logs.lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
}

describe('API8:2023 Security Misconfiguration', () => {
  test('security headers on the API, GraphiQL and health endpoints', async () => {
    for (const [path, init] of [
      ['/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }],
      ['/graphql', { headers: { accept: 'text/html' } }],
      ['/healthz', {}],
    ] as const) {
      const res = await fetch(`${svc.url}${path}`, init as RequestInit);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/default-src 'self'/);
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).toMatch(/object-src 'none'/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  test('the GraphiQL page runs no inline script (the CSP would block it)', async () => {
    const html = await (await fetch(`${svc.url}/graphql`, { headers: { accept: 'text/html' } })).text();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    for (const [, attributes, body] of scripts) {
      if (/type="application\/json"/.test(attributes!)) continue;
      expect(attributes).toMatch(/src="\/graphiql\//);
      expect(body!.trim()).toBe('');
    }
  });

  test('inline federated traces are not sent to a client that asks, unless turned on', async () => {
    const res = await svc.gql(`{ connector(id: "${connectorId}") { name } }`, {}, adminToken, { 'apollo-federation-include-trace': 'ftv1' });
    expect(res.body.data.connector.name).toBe('configured');
    expect((res.body as any).extensions?.ftv1).toBeUndefined();
  });

  test('GRAPHIQL=false and INTROSPECTION=false: no IDE, no introspection; the gateway still gets the SDL', async () => {
    const closed = await startTestService('api8_closed', { GRAPHIQL: 'false', INTROSPECTION: 'false' });
    try {
      const page = await fetch(`${closed.url}/graphql`, { headers: { accept: 'text/html' } });
      expect((await page.text())).not.toMatch(/GraphiQL/);
      expect((await fetch(`${closed.url}/graphiql/graphiql.js`)).status).toBe(404);
      const introspection = await closed.gql('{ __schema { types { name } } }', {}, await viewer('t-api8'));
      expect(errorCode(introspection)).toBe('BAD_USER_INPUT');
      expect(introspection.body.errors?.[0]?.message).toMatch(/introspection/i);
      const type = await closed.gql('{ __type(name: "Connector") { name } }');
      expect(errorCode(type)).toBe('BAD_USER_INPUT');
      const sdl = await closed.gql('{ _service { sdl } }');
      expect(sdl.body.data._service.sdl).toMatch(/type Connector/);
    } finally {
      await closed.close();
    }
  });

  describe('client mistakes are BAD_USER_INPUT naming the field, logged at info', () => {
    const update = 'mutation($id: ID!, $input: UpdateConnectorInput!) { updateConnector(id: $id, expectedVersion: 1, input: $input) { id } }';
    test.each([
      ['a NUL byte in a name (variable)', () => svc.gql(update, { id: connectorId, input: { name: 'a\u0000b' } }, adminToken), /\$input\.name must not contain NUL/],
      ['a NUL byte in a config value', () => svc.gql(update, { id: connectorId, input: { config: { baseUrl: 'https://api.example.com', path: '/x\u0000' } } }, adminToken), /\$input\.config\.path must not contain NUL/],
      ['a NUL byte in a config key', () => svc.gql(update, { id: connectorId, input: { config: { baseUrl: 'https://api.example.com', ['a\u0000b']: 1 } } }, adminToken), /\$input\.config key "a\?b" must not contain NUL/],
      ['a NUL byte in an id (literal)', () => svc.gql('{ connector(id: "cnn_\\u0000") { id } }', {}, adminToken), /connector\.id must not contain NUL/],
      ['a NUL byte in a filter', () => svc.gql('query($f: ConnectorFilter) { connectors(filter: $f) { totalCount } }', { f: { search: '\u0000' } }, adminToken), /\$f\.search must not contain NUL/],
      ['a NUL byte in a cursor', () => svc.gql('{ connectors(after: "abc\\u0000") { totalCount } }', {}, adminToken), /connectors\.after must not contain NUL/],
      ['a NUL byte in a reason', () => svc.gql(`mutation { toggleConnector(id: "${connectorId}", enabled: true, reason: "x\\u0000") { id } }`, {}, adminToken), /toggleConnector\.reason must not contain NUL/],
      ['a lone surrogate in a description', () => svc.gql('mutation($d: String) { createApplication(name: "x", description: $d) { id } }', { d: 'bad \ud800 text' }, adminToken), /\$d must be valid Unicode/],
      // graphql-js's lexer refuses it already, escaped or raw, with the line and column.
      ['a lone surrogate in a literal', () => svc.gql('mutation { createApplication(name: "\udc00") { id } }', {}, adminToken), /Invalid character within String|must be valid Unicode/],
      ['JSON nested 40 levels deep', () => svc.gql(update, { id: connectorId, input: { config: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) } }, adminToken), /nested deeper than 32 levels/],
      ['a representation without id', () => svc.gql('query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', { r: [{ __typename: 'Connector' }] }, adminToken), /representations\[0\]\.id must be a non-empty string/],
      ['a representation of an unknown type', () => svc.gql('query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', { r: [{ __typename: 'Alert', id: 'x' }] }, adminToken), /representations\[0\]\.__typename must be one of Application, AuditEvent, Connector/],
      ['a representation that is not an object', () => svc.gql('query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', { r: ['Connector'] }, adminToken), /representations\[0\]\.__typename/],
      ['a subscription', () => svc.gql('subscription { __typename }', {}, adminToken), /no subscriptions/],
    ])('%s', async (_label, send, message) => {
      const errorsBefore = errorLines().length;
      const res = await send();
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.message).toMatch(message);
      expect(res.statements).toBe(0);
      expect(errorLines().slice(errorsBefore)).toEqual([]);
    });

    test('nothing was changed by any of them', async () => {
      const [row] = await svc.dataSource.query('SELECT name, version, enabled FROM connectors WHERE id = $1', [connectorId]);
      expect(row).toEqual({ name: 'configured', version: 1, enabled: false });
    });
  });

  test('no response carries a stack trace', async () => {
    const res = await svc.gql('{ connector(id: 1) { nope } }', {}, adminToken);
    expect(JSON.stringify(res.body)).not.toMatch(/stacktrace|\bat .*\.(ts|js):\d+/);
  });
});
