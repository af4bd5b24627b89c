/**
 * API8:2023 Security Misconfiguration: security headers, inline traces and introspection only
 * where turned on, GraphiQL behind a switch, client mistakes (NUL bytes, lone surrogates,
 * malformed representations) answered as BAD_USER_INPUT, and what /graphql does not serve (other
 * HTTP methods, mutations over GET, subscriptions) answered as METHOD_NOT_ALLOWED or
 * SUBSCRIPTIONS_NOT_SUPPORTED; all logged below error level, never as INTERNAL_SERVER_ERROR.
 */
import { request as httpRequest } from 'node:http';
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

  describe('what /graphql does not serve: its own code and status, logged at info', () => {
    const ALLOW = 'GET, HEAD, POST';
    /** Without it Apollo refuses a GET as a possible CSRF before looking at the operation. */
    const PREFLIGHT = { 'apollo-require-preflight': 'true' };
    const toggle = () => `mutation { toggleConnector(id: "${connectorId}", enabled: true, reason: "over GET") { id enabled } }`;

    interface Answer {
      status: number;
      headers: Headers;
      text: string;
      /** The log lines the request added. */
      logs: Array<{ level: number; msg: string; code?: string; requestId?: string }>;
    }

    async function send(path: string, init: RequestInit = {}): Promise<Answer> {
      const before = svc.logs.lines.length;
      const res = await fetch(`${svc.url}${path}`, init);
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, logs: svc.logs.lines.slice(before).map((line) => JSON.parse(line)) };
    }

    /** TRACE through node:http (fetch refuses to send it). */
    function trace(path: string): Promise<Answer> {
      const before = svc.logs.lines.length;
      return new Promise((resolve, reject) => {
        const req = httpRequest(`${svc.url}${path}`, { method: 'TRACE' }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
            resolve({ status: res.statusCode!, headers, text: Buffer.concat(chunks).toString('utf8'), logs: svc.logs.lines.slice(before).map((line) => JSON.parse(line)) });
          });
        });
        req.on('error', reject);
        req.end();
      });
    }

    function expectRefusal(answer: Answer, status: number, code: string, message: RegExp): void {
      expect(answer.status).toBe(status);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      const body = JSON.parse(answer.text) as { data?: unknown; errors: Array<{ message: string; extensions: Record<string, unknown> }> };
      expect(body.data).toBeUndefined();
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]!.message).toMatch(message);
      expect(body.errors[0]!.extensions).toEqual({ code });
      expectLoggedAtInfo(answer, code);
    }

    function expectLoggedAtInfo(answer: Answer, code: string): void {
      expect(answer.logs.filter((line) => line.level >= 50)).toEqual([]);
      expect(answer.logs).toContainEqual(expect.objectContaining({ level: 30, msg: 'request refused', code }));
    }

    test.each([
      ['PUT /graphql', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }],
      ['DELETE /graphql', { method: 'DELETE' }],
      ['PATCH /graphql', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }],
      // No CORS preflight is served: a browser on another origin may not call this subgraph.
      ['OPTIONS /graphql', { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' } }],
      // Refused before the body is read: not a 413 or a 415.
      ['PUT /graphql with a 2 MB XML body', { method: 'PUT', headers: { 'content-type': 'text/xml' }, body: 'x'.repeat(2 * 1024 * 1024) }],
    ] as Array<[string, RequestInit]>)('%s: 405 with Allow, METHOD_NOT_ALLOWED', async (_label, init) => {
      const answer = await send('/graphql', init);
      expectRefusal(answer, 405, 'METHOD_NOT_ALLOWED', new RegExp(`^${init.method} is not allowed on /graphql`));
      expect(answer.headers.get('allow')).toBe(ALLOW);
      expect(answer.headers.get('x-request-id')).toBeTruthy();
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    });

    test('TRACE /graphql: 405 with Allow, METHOD_NOT_ALLOWED', async () => {
      const answer = await trace('/graphql');
      expectRefusal(answer, 405, 'METHOD_NOT_ALLOWED', /^TRACE is not allowed on \/graphql/);
      expect(answer.headers.get('allow')).toBe(ALLOW);
    });

    test('HEAD /graphql mirrors GET (RFC 9110 §9.3.2): same status and headers, no body', async () => {
      const query = `/graphql?query=${encodeURIComponent('{ __typename }')}`;
      for (const [path, headers] of [
        [query, PREFLIGHT],
        ['/graphql', { accept: 'text/html' }],
        // Refused as a GET would be, with the same answer's length.
        [query, {}],
      ] as Array<[string, Record<string, string>]>) {
        const get = await send(path, { headers });
        const head = await send(path, { method: 'HEAD', headers });
        expect(head.status).toBe(get.status);
        expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
        expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(get.text)));
        expect(head.text).toBe('');
        expect(head.logs.filter((line) => line.level >= 50)).toEqual([]);
      }
    });

    test('a mutation sent with GET or HEAD: 405 with Allow: POST, METHOD_NOT_ALLOWED, nothing changed', async () => {
      const path = `/graphql?query=${encodeURIComponent(toggle())}`;
      const get = await send(path, { headers: { ...PREFLIGHT, authorization: `Bearer ${adminToken}` } });
      expectRefusal(get, 405, 'METHOD_NOT_ALLOWED', /GET requests only support query operations, not mutation operations/);
      expect(get.headers.get('allow')).toBe('POST');
      expect(get.headers.get('x-sql-statements')).toBe('0');
      const head = await send(path, { method: 'HEAD', headers: { ...PREFLIGHT, authorization: `Bearer ${adminToken}` } });
      expect(head.status).toBe(405);
      expect(head.headers.get('allow')).toBe('POST');
      expect(head.text).toBe('');
      expectLoggedAtInfo(head, 'METHOD_NOT_ALLOWED');
      const [row] = await svc.dataSource.query('SELECT version, enabled FROM connectors WHERE id = $1', [connectorId]);
      expect(row).toEqual({ version: 1, enabled: false });
    });

    test('a subscription sent with GET: 405 with Allow: POST, METHOD_NOT_ALLOWED', async () => {
      const answer = await send(`/graphql?query=${encodeURIComponent('subscription { __typename }')}`, { headers: PREFLIGHT });
      expectRefusal(answer, 405, 'METHOD_NOT_ALLOWED', /not subscription operations/);
      expect(answer.headers.get('allow')).toBe('POST');
    });

    test('a subscription sent with POST: 400 SUBSCRIPTIONS_NOT_SUPPORTED, no SQL', async () => {
      const answer = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify({ query: 'subscription { __typename }' }),
      });
      expectRefusal(answer, 400, 'SUBSCRIPTIONS_NOT_SUPPORTED', /this subgraph has no subscriptions: send a query or a mutation/);
      expect(answer.headers.get('allow')).toBeNull();
      expect(answer.headers.get('x-sql-statements')).toBe('0');
    });

    test('the intake routes keep their own answers', async () => {
      const answer = await send('/services/collector/event', { method: 'PUT' });
      expect(answer.status).toBe(404);
      expect(answer.text).not.toMatch(/METHOD_NOT_ALLOWED/);
    });
  });

  test('no response carries a stack trace', async () => {
    const res = await svc.gql('{ connector(id: 1) { nope } }', {}, adminToken);
    expect(JSON.stringify(res.body)).not.toMatch(/stacktrace|\bat .*\.(ts|js):\d+/);
  });
});
