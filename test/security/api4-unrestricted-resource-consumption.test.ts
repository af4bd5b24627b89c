/**
 * API4:2023 Unrestricted Resource Consumption: the requests that took the process down, each
 * refused before any SQL runs, and the rate limits and test slots that bound the rest.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CREATE, restInput } from '../helpers/fixtures.js';
import { errorCode, startTestService, type GqlResponse, type TestService } from '../helpers/server.js';
import { admin, editor, viewer } from '../helpers/tokens.js';

let svc: TestService;
let adminToken: string;
let viewerToken: string;
let applicationId: string;

beforeAll(async () => {
  svc = await startTestService('api4');
  adminToken = await admin('t-api4');
  viewerToken = await viewer('t-api4');
  applicationId = (await svc.ok('mutation { createApplication(name: "fleet") { id } }', {}, adminToken)).createApplication.id;
  // An application with 200 connectors, as in the report: the depth-3 query fanned out 200³.
  await svc.dataSource.query(
    `INSERT INTO connectors (id, tenant_id, application_id, name, type, provider, config, auth_type, scope, created_by, updated_by)
     SELECT 'cnn_api4_' || i, 't-api4', $1, 'source ' || i, 'CUSTOM', 'generic_rest', '{"baseUrl":"https://api.example.com"}', 'NONE', 'ORG', 'seed', 'seed'
     FROM generate_series(1, 200) AS i`,
    [applicationId],
  );
});
afterAll(() => svc?.close());

/** POSTs a raw body (the helper would JSON-encode it again). */
async function post(body: string, token?: string): Promise<GqlResponse> {
  const response = await fetch(`${svc.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GqlResponse['body'], statements: Number(response.headers.get('x-sql-statements') ?? NaN) };
}

function expectRefused(res: GqlResponse, message: RegExp): void {
  expect(errorCode(res)).toBe('QUERY_TOO_COMPLEX');
  expect(res.body.errors?.[0]?.message).toMatch(message);
  expect(res.body.data ?? null).toBeNull();
  expect(res.statements).toBe(0);
}

describe('API4:2023 Unrestricted Resource Consumption', () => {
  test('the seeded application really has 200 connectors (the attack below would fan out)', async () => {
    const res = await svc.gql(`{ application(id: "${applicationId}") { connectors(first: 200) { nodes { id } } } }`, {}, viewerToken);
    expect(res.body.data.application.connectors.nodes).toHaveLength(200);
  });

  test('connectors → application → connectors, three levels of first: 200, is refused before any SQL', async () => {
    const res = await svc.gql('{ connectors(first: 200) { nodes { application { connectors(first: 200) { nodes { application { connectors(first: 200) { nodes { id } } } } } } } } }', {}, viewerToken);
    expectRefused(res, /estimated cost is 16120601, the limit is 20000 \(MAX_QUERY_COST\)/);
    expect(res.status).toBe(400);
  });

  test('1,000 aliases of connectors(first: 200)', async () => {
    const query = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: connectors(first: 200) { nodes { id } }`).join(' ')} }`;
    expectRefused(await svc.gql(query, {}, viewerToken), /number of tokens is more than 5000/);
    // Under the token limit the alias limit answers.
    const fewer = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: connectors(first: 1) { totalCount }`).join(' ')} }`;
    expectRefused(await svc.gql(fewer, {}, viewerToken), /number of aliases is 40, the limit is 30/);
  });

  test('10,000 and 100,000 _entities representations', async () => {
    const reps = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Connector', id: `c${i}` }));
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Connector { application { connectors(first: 200) { nodes { id } } } } } }';
    expectRefused(await svc.gql(query, { r: reps(10_000) }, viewerToken), /number of _entities representations is 10000, the limit is 1000/);
    const huge = await post(JSON.stringify({ query, variables: { r: reps(100_000) } }), viewerToken);
    expect(huge.status).toBe(413);
    expect(errorCode(huge)).toBe('QUERY_TOO_COMPLEX');
    expect(huge.body.errors?.[0]?.message).toMatch(/request body is larger than the limit of 1048576 bytes/);
    // Within the count, the selection still counts once per representation.
    expectRefused(await svc.gql(query, { r: reps(200) }, viewerToken), /estimated cost is \d+, the limit is 20000/);
  });

  test('AuditEvent.connector ↔ Connector.auditEvents nested 60 deep', async () => {
    const query = `{ auditEvents(first: 1) { nodes { ${'connector { auditEvents(first: 1) { nodes { '.repeat(30)} id ${'} } }'.repeat(30)} } } }`;
    expectRefused(await svc.gql(query, {}, viewerToken), /depth is \d+, the limit is 15 \(MAX_QUERY_DEPTH\)/);
  });

  test('without a token, four requests of 16,000 aliased __schema introspections', async () => {
    const query = `{ ${Array.from({ length: 16_000 }, (_, i) => `s${i}: __schema { queryType { name } }`).join(' ')} }`;
    const results = await Promise.all(Array.from({ length: 4 }, () => svc.gql(query)));
    for (const res of results) expectRefused(res, /number of tokens is more than 5000/);
    // A single introspection, the way GraphiQL loads the schema before a token is pasted, still works.
    const one = await svc.gql('{ __schema { queryType { name } } }');
    expect(one.body.data.__schema.queryType.name).toBe('Query');
  });

  test('introspection nested through types and fields is refused (graphql-js depth rule)', async () => {
    const res = await svc.gql('{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }');
    expectRefused(res, /introspection nests fields/);
  });

  test('an allowed heavy query still answers, and its cost is the same for a gateway', async () => {
    const res = await svc.gql('{ connectors(first: 200) { nodes { id name application { id name } } } }', {}, viewerToken);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.connectors.nodes).toHaveLength(200);
  });

  test('a config of 900 KB is refused, and so is any string over its maxLength', async () => {
    const big = 'x'.repeat(900_000);
    for (const config of [
      { baseUrl: 'https://api.example.com', recordsPointer: `/${big}` },
      { baseUrl: 'https://api.example.com', query: { q: big } },
      { baseUrl: 'https://api.example.com', query: Object.fromEntries(Array.from({ length: 99 }, (_, i) => [`p${i}`, 'y'.repeat(2000)])) },
    ]) {
      const res = await svc.gql(CREATE, { input: restInput('too big', { config }) }, adminToken);
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.body.errors?.[0]?.message).toMatch(/must NOT have more than \d+ characters|bytes long; the limit is 16384/);
    }
    const [{ count }] = await svc.dataSource.query(`SELECT count(*)::int AS count FROM connectors WHERE name = 'too big'`);
    expect(count).toBe(0);
  });
});

describe('API4:2023 rate limits and connection-test slots', () => {
  let limited: TestService;
  let slow: Server;
  let slowUrl = '';

  beforeAll(async () => {
    limited = await startTestService('api4_rate', {
      RATE_LIMIT_PER_PRINCIPAL: '5',
      RATE_LIMIT_PER_TENANT: '8',
      RATE_LIMIT_ANONYMOUS: '3',
      RATE_LIMIT_WINDOW_SEC: '60',
      TESTS_PER_TENANT: '1',
    });
    slow = createServer((_req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'), 1500));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await limited?.close();
    await new Promise((resolve) => slow?.close(resolve));
  });

  const ping = '{ connectorHealthSummary { total } }';

  test('per principal: the sixth request in the window is RATE_LIMITED with Retry-After; another user of the tenant goes on', async () => {
    const token = await viewer('t-rate', { subject: 'alice' });
    for (let i = 0; i < 5; i++) expect((await limited.gql(ping, {}, token)).body.errors).toBeUndefined();
    const refused = await limited.gql(ping, {}, token);
    expect(refused.status).toBe(429);
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(refused.body.errors?.[0]?.extensions?.retryAfterSec).toBe(Number(refused.headers.get('retry-after')));
    expect(refused.statements).toBe(0);
    expect((await limited.gql(ping, {}, await viewer('t-rate', { subject: 'bob' }))).body.errors).toBeUndefined();
  });

  test('per tenant: the tenant as a whole stops at its limit; another tenant does not notice', async () => {
    // alice used 5 (+1 refused, not counted for the tenant), bob 1: two more fit under 8.
    expect((await limited.gql(ping, {}, await viewer('t-rate', { subject: 'carol' }))).body.errors).toBeUndefined();
    expect((await limited.gql(ping, {}, await viewer('t-rate', { subject: 'dave' }))).body.errors).toBeUndefined();
    const refused = await limited.gql(ping, {}, await viewer('t-rate', { subject: 'erin' }));
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    expect(refused.body.errors?.[0]?.message).toMatch(/tenant/);
    expect((await limited.gql(ping, {}, await viewer('t-other'))).body.errors).toBeUndefined();
  });

  test('without a token: per address', async () => {
    const introspect = '{ __schema { queryType { name } } }';
    for (let i = 0; i < 3; i++) expect((await limited.gql(introspect)).status).toBe(200);
    const refused = await limited.gql(introspect);
    expect(refused.status).toBe(429);
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    // A forged token counts as no token: it cannot spend somebody else's allowance either.
    expect(errorCode(await limited.gql(introspect, {}, 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'))).toBe('RATE_LIMITED');
  });

  test('connection tests: one tenant runs at most TESTS_PER_TENANT at once; another tenant is not held up', async () => {
    const test = 'mutation($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { success } }';
    const input = { provider: 'generic_rest', config: { baseUrl: slowUrl } };
    const first = limited.gql(test, { input }, await editor('t-slots', { subject: 'e1' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await limited.gql(test, { input }, await editor('t-slots', { subject: 'e2' }));
    expect(errorCode(second)).toBe('RATE_LIMITED');
    expect(second.body.errors?.[0]?.message).toMatch(/runs 1 connection tests, the limit is 1 \(TESTS_PER_TENANT\)/);
    const other = await limited.gql(test, { input }, await editor('t-slots-2'));
    expect(other.body.data?.testConnectorConfig.success).toBe(true);
    expect((await first).body.data?.testConnectorConfig.success).toBe(true);
    // The slot is free again once the first test ended.
    expect((await limited.gql(test, { input }, await editor('t-slots', { subject: 'e3' }))).body.data?.testConnectorConfig.success).toBe(true);
  });
});

describe('API4:2023 admission: a few operations at once, the rest wait or are refused', () => {
  const UPSTREAM_MS = 4000;
  let busy: TestService;
  let slow: Server;
  let slowUrl = '';
  let token: string;
  let connectorId: string;

  beforeAll(async () => {
    // Every operation costing 3 or more is heavy here: a connectors page (51), the mutation below (4),
    // but not a connector by id (2).
    busy = await startTestService('api4_admission', { GRAPHQL_CONCURRENCY: '1', GRAPHQL_QUEUE: '1', GRAPHQL_HEAVY_COST: '3' });
    // The upstream holds each answer UPSTREAM_MS: "at once" below is bounded well inside it, so a loaded
    // machine's pauses cannot be mistaken for waiting on the upstream.
    slow = createServer((_req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'), UPSTREAM_MS));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    token = await admin('t-admission');
    connectorId = (await busy.ok(CREATE, { input: restInput('slow upstream', { config: { baseUrl: slowUrl } }) }, token)).createConnector.id;
  });
  afterAll(async () => {
    await busy?.close();
    await new Promise((resolve) => slow?.close(resolve));
  });

  test('a connection test waiting on its upstream does not hold up other operations', async () => {
    const test = busy.gql('mutation($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { success } }', { input: { provider: 'generic_rest', config: { baseUrl: slowUrl } } }, token);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const query = await busy.gql('{ connectors { totalCount } }', {}, token);
    expect(query.body.data.connectors.totalCount).toBe(1);
    expect(Date.now() - started).toBeLessThan(UPSTREAM_MS / 2);
    expect((await test).body.data.testConnectorConfig.success).toBe(true);
  });

  test('with one operation running and one waiting, the next is refused at once: RATE_LIMITED, 503, Retry-After', async () => {
    // A mutation that tests *and* toggles takes a turn, and holds it while its upstream answers.
    const holding = 'mutation($id: ID!) { testConnector(id: $id) { success } toggleConnector(id: $id, enabled: false, reason: "hold") { id } }';
    // Settled either way, so that a failed assertion below cannot leave a rejection unhandled.
    const first = busy.gql(holding, { id: connectorId }, token).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const waiting = busy.gql('{ connectors { totalCount } }', {}, token).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const refused = await busy.gql('{ connectors { totalCount } }', {}, token);
    expect(Date.now() - started).toBeLessThan(UPSTREAM_MS / 2);
    expect(refused.status).toBe(503);
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.errors?.[0]?.message).toMatch(/the server is busy: 1 operations run and 1 wait \(GRAPHQL_QUEUE\)/);
    // A light operation takes no turn: it is answered meanwhile.
    const light = Date.now();
    expect((await busy.gql('{ connector(id: "cnn_none") { id } }', {}, token)).body.data.connector).toBeNull();
    expect(Date.now() - light).toBeLessThan(UPSTREAM_MS / 2);
    expect(((await first) as GqlResponse).body.data.testConnector.success).toBe(true);
    expect(((await waiting) as GqlResponse).body.data.connectors.totalCount).toBe(1);
    // The turns are given back: the next request is served.
    expect((await busy.gql('{ connectors { totalCount } }', {}, token)).body.data.connectors.totalCount).toBe(1);
  });
});
