/**
 * API2:2023 Broken Authentication: tokens must expire, cannot be issued in the future, and cannot
 * live longer than the service accepts; the refusals say why without echoing the token.
 */
import { SignJWT, UnsecuredJWT } from 'jose';
import { LIST } from '../helpers/fixtures.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { TEST_JWT_SECRET } from '../helpers/tokens.js';

let svc: TestService;

beforeAll(async () => {
  svc = await startTestService('api2', { AUTH_MAX_TOKEN_LIFETIME_SEC: '3600', AUTH_CLOCK_TOLERANCE_SEC: '2' });
});
afterAll(() => svc?.close());

const key = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);
const claims = { tenant_id: 't-api2', roles: ['admin'] };
const signed = () => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('u1');

describe('API2:2023 Broken Authentication', () => {
  test.each([
    ['no exp claim', () => signed().setIssuedAt().sign(key), /no exp claim: tokens must expire/],
    ['no exp and no iat', () => signed().sign(key), /no exp claim/],
    ['an iat a year in the future', () => signed().setIssuedAt(now() + 365 * 86400).setExpirationTime(now() + 365 * 86400 + 600).sign(key), /issued in the future/],
    ['an iat 5 minutes in the future', () => signed().setIssuedAt(now() + 300).setExpirationTime(now() + 900).sign(key), /issued in the future/],
    ['a lifetime of a year', () => signed().setIssuedAt().setExpirationTime('365d').sign(key), /lives longer than the 3600 s this service accepts \(AUTH_MAX_TOKEN_LIFETIME_SEC\)/],
    ['a lifetime of two hours without iat', () => signed().setExpirationTime('2h').sign(key), /lives longer than the 3600 s/],
    ['an nbf in the future', () => signed().setIssuedAt().setNotBefore(now() + 600).setExpirationTime('50m').sign(key), /nbf/],
    ['alg none with a valid exp', async () => new UnsecuredJWT(claims).setSubject('u1').setIssuedAt().setExpirationTime('10m').encode(), /not valid|algorithm/],
  ])('%s → UNAUTHENTICATED', async (_label, make, message) => {
    const token = await make();
    const res = await svc.gql(LIST, {}, token);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.message).toMatch(message);
    expect(res.body.data ?? null).toBeNull();
    expect(JSON.stringify(res.body)).not.toContain(token.split('.')[2]!.slice(0, 16) || '\u0000');
  });

  test.each([
    ['an iat within the clock tolerance', () => signed().setIssuedAt(now() + 1).setExpirationTime(now() + 600).sign(key)],
    ['a lifetime of exactly the maximum', () => signed().setIssuedAt().setExpirationTime(now() + 3600).sign(key)],
  ])('%s is accepted', async (_label, make) => {
    const res = await svc.gql(LIST, {}, await make());
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.connectors.totalCount).toBe(0);
  });

  test('a token that expires while cached is refused from then on', async () => {
    const token = await signed().setIssuedAt().setExpirationTime(now() + 1).sign(key);
    expect((await svc.gql(LIST, {}, token)).body.errors).toBeUndefined();
    // Past exp and the 2 s clock tolerance.
    await new Promise((resolve) => setTimeout(resolve, 4100));
    expect(errorCode(await svc.gql(LIST, {}, token))).toBe('UNAUTHENTICATED');
  });

  test('npm run token mints tokens this service accepts with its defaults (8 h < 24 h)', async () => {
    const { mintDevToken } = await import('../../src/auth/dev-tokens.js');
    const strict = await startTestService('api2_defaults');
    try {
      const token = await mintDevToken({ tenantId: 't-api2', roles: ['viewer'] }, { secret: TEST_JWT_SECRET });
      expect((await strict.gql(LIST, {}, token)).body.errors).toBeUndefined();
      const tooLong = await mintDevToken({ tenantId: 't-api2', roles: ['viewer'] }, { secret: TEST_JWT_SECRET, expiresIn: '30d' });
      expect(errorCode(await strict.gql(LIST, {}, tooLong))).toBe('UNAUTHENTICATED');
    } finally {
      await strict.close();
    }
  });
});
