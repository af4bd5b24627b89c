/**
 * API3:2023 Broken Object Property Level Authorization: a secret written into a config property
 * (userinfo in a URL, a secret-looking query parameter) is refused at create, update and draft
 * test, so it is never stored, shown to viewers, audited or logged; credentials are write-only.
 */
import { CREATE, GET, UPDATE, restInput } from '../helpers/fixtures.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { admin, viewer } from '../helpers/tokens.js';

const SECRET = 'S3cr3t-in-the-url-9f2c';
let svc: TestService;
let adminToken: string;

beforeAll(async () => {
  svc = await startTestService('api3');
  adminToken = await admin('t-api3');
});
afterAll(() => svc?.close());

async function everythingStored(): Promise<string> {
  const rows = await svc.dataSource.query(`SELECT (SELECT json_agg(c) FROM connectors c)::text AS c, (SELECT json_agg(a) FROM audit_events a)::text AS a`);
  return JSON.stringify(rows);
}

const hostile: Array<[string, Record<string, unknown>, RegExp]> = [
  ['user and password in baseUrl', { baseUrl: `http://user:${SECRET}@api.example.com` }, /config\.baseUrl must not contain a user name or password/],
  ['a password alone in baseUrl', { baseUrl: `https://:${SECRET}@api.example.com/v1` }, /config\.baseUrl must not contain a user name or password/],
  ['userinfo in tokenUrl', { baseUrl: 'https://api.example.com', tokenUrl: `https://client:${SECRET}@idp.example.com/token` }, /config\.tokenUrl must not contain a user name or password/],
  ['an api_key query parameter in baseUrl', { baseUrl: `https://api.example.com/v1?api_key=${SECRET}` }, /config\.baseUrl must not carry the secret-looking query parameter "api_key"/],
  ['an access_token in tokenUrl', { baseUrl: 'https://api.example.com', tokenUrl: `https://idp.example.com/token?access_token=${SECRET}` }, /secret-looking query parameter "access_token"/],
  ['a token in the query object', { baseUrl: 'https://api.example.com', query: { token: SECRET } }, /config\.query\.token looks like a secret/],
  ['a secret URL in the query object', { baseUrl: 'https://api.example.com', query: { callback: `https://u:${SECRET}@hook.example.com` } }, /config\.query\.callback must not contain a user name or password/],
];

describe('API3:2023 Broken Object Property Level Authorization', () => {
  test.each(hostile)('create: %s → BAD_USER_INPUT naming the field, nothing stored', async (_label, config, message) => {
    const before = await everythingStored();
    const res = await svc.gql(CREATE, { input: restInput('leaky', { config }) }, adminToken);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.message).toMatch(message);
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    expect(await everythingStored()).toBe(before);
  });

  test.each(hostile)('update: %s → BAD_USER_INPUT, the connector unchanged', async (_label, config, message) => {
    const created = (await svc.ok(CREATE, { input: restInput(`clean ${_label}`) }, adminToken)).createConnector;
    const before = await everythingStored();
    const res = await svc.gql(UPDATE, { id: created.id, v: created.version, input: { config } }, adminToken);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.message).toMatch(message);
    expect(await everythingStored()).toBe(before);
  });

  test.each(hostile)('draft test: %s → BAD_USER_INPUT before any request', async (_label, config, message) => {
    const res = await svc.gql('mutation($input: TestConnectorConfigInput!) { testConnectorConfig(input: $input) { success } }', { input: { provider: 'generic_rest', config } }, adminToken);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.message).toMatch(message);
  });

  test('the secret reached no log line, response or row', async () => {
    expect(svc.logs.text()).not.toContain(SECRET);
    expect(await everythingStored()).not.toContain(SECRET);
  });

  test('a harmless query parameter and a base path are still fine', async () => {
    const res = await svc.gql(CREATE, { input: restInput('fine', { config: { baseUrl: 'https://api.example.com/v2', query: { limit: 50, q: 'severity:high' } } }) }, adminToken);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createConnector.config.query).toEqual({ limit: 50, q: 'severity:high' });
  });

  test('credentials are write-only: a viewer and an admin see field names and a version, never values', async () => {
    const created = (await svc.ok(CREATE, { input: restInput('keyed', { authType: 'API_KEY', credentials: { apiKey: SECRET } }) }, adminToken)).createConnector;
    for (const token of [adminToken, await viewer('t-api3')]) {
      const res = await svc.gql(GET, { id: created.id }, token);
      expect(res.body.data.connector.credentialFields).toEqual(['apiKey']);
      expect(JSON.stringify(res.body)).not.toContain(SECRET);
    }
    expect(await everythingStored()).not.toContain(SECRET);
  });
});
