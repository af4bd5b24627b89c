import { SignJWT, UnsecuredJWT } from 'jose';
import { startTestService, errorCode, type TestService } from '../helpers/server.js';
import { TEST_JWT_SECRET, token, viewer } from '../helpers/tokens.js';
import { CREATE, LIST, restInput } from '../helpers/fixtures.js';

let svc: TestService;

beforeAll(async () => {
  svc = await startTestService('auth');
});
afterAll(() => svc?.close());

const key = new TextEncoder().encode(TEST_JWT_SECRET);
const signed = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('u1');

test.each([
  ['no token', async () => undefined],
  ['a bad signature', async () => signed({ tenant_id: 't1', roles: ['admin'] }).setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-another-secret-another-secret'))],
  ['an expired token', async () => signed({ tenant_id: 't1', roles: ['admin'] }).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key)],
  ['a not-yet-valid token', async () => signed({ tenant_id: 't1', roles: ['admin'] }).setNotBefore(Math.floor(Date.now() / 1000) + 600).setExpirationTime('2h').sign(key)],
  ['alg none', async () => new UnsecuredJWT({ tenant_id: 't1', roles: ['admin'] }).setSubject('u1').setExpirationTime('1h').encode()],
  ['a missing tenant_id', async () => signed({ roles: ['admin'] }).setExpirationTime('1h').sign(key)],
  ['garbage', async () => 'not.a.jwt'],
])('%s → UNAUTHENTICATED', async (_label, make) => {
  const res = await svc.gql(LIST, {}, await make());
  expect(errorCode(res)).toBe('UNAUTHENTICATED');
  expect(res.body.data ?? null).toBeNull();
});

test('a malformed Authorization header → UNAUTHENTICATED', async () => {
  const res = await svc.gql(LIST, {}, undefined, { authorization: 'Basic dXNlcjpwYXNz' });
  expect(errorCode(res)).toBe('UNAUTHENTICATED');
});

test('issuer and audience are checked when configured', async () => {
  const strict = await startTestService('auth_iss', { AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'connectors' });
  try {
    const good = await signed({ tenant_id: 't1', roles: ['viewer'] }).setIssuer('https://idp.example').setAudience('connectors').setExpirationTime('1h').sign(key);
    expect((await strict.gql(LIST, {}, good)).body.errors).toBeUndefined();
    const wrongIss = await signed({ tenant_id: 't1', roles: ['viewer'] }).setIssuer('https://evil.example').setAudience('connectors').setExpirationTime('1h').sign(key);
    expect(errorCode(await strict.gql(LIST, {}, wrongIss))).toBe('UNAUTHENTICATED');
    const wrongAud = await signed({ tenant_id: 't1', roles: ['viewer'] }).setIssuer('https://idp.example').setAudience('other').setExpirationTime('1h').sign(key);
    expect(errorCode(await strict.gql(LIST, {}, wrongAud))).toBe('UNAUTHENTICATED');
  } finally {
    await strict.close();
  }
});

test("a viewer's mutation → FORBIDDEN; a token without roles cannot even read", async () => {
  expect(errorCode(await svc.gql(CREATE, { input: restInput('x') }, await viewer('t1')))).toBe('FORBIDDEN');
  expect(errorCode(await svc.gql(LIST, {}, await token({ tenantId: 't1', roles: [] })))).toBe('FORBIDDEN');
});
