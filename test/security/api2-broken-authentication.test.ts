/**
 * API2:2023 Broken Authentication: tokens must expire, cannot be issued in the future, and cannot
 * live longer than the service accepts; the refusals say why without echoing the token. A push
 * connector's intake token speaks for its own tenant's connector only, and never reaches the logs.
 */
import { createHash } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { listAdapters } from '../../src/adapters/registry.js';
import { CREATE, LIST } from '../helpers/fixtures.js';
import { errorCode, startTestService, type TestService } from '../helpers/server.js';
import { admin, TEST_JWT_SECRET } from '../helpers/tokens.js';

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

describe('API2:2023 Broken Authentication: intake tokens of push connectors', () => {
  const CREATE_TOKEN = `mutation($connectorId: ID!, $name: String!) { createIntakeToken(connectorId: $connectorId, name: $name) { token intakeToken { id } } }`;
  const REVOKE_TOKEN = 'mutation($id: ID!) { revokeIntakeToken(id: $id) { id revokedAt } }';
  let a: string;
  let b: string;
  let connectorA: string;
  let connectorB: string;
  let tokenA: { token: string; intakeToken: { id: string } };
  let tokenB: { token: string; intakeToken: { id: string } };

  beforeAll(async () => {
    // Any provider whose adapter spec says `mode: 'push'`.
    const provider = listAdapters().find((x) => x.spec.mode === 'push')?.spec.id;
    if (!provider) throw new Error('no provider with mode "push" is registered');
    a = await admin('itk-a');
    b = await admin('itk-b');
    connectorA = (await svc.ok(CREATE, { input: { name: 'A feed', provider, config: {} } }, a)).createConnector.id;
    connectorB = (await svc.ok(CREATE, { input: { name: 'B feed', provider, config: {} } }, b)).createConnector.id;
    tokenA = (await svc.ok(CREATE_TOKEN, { connectorId: connectorA, name: 'A collector' }, a)).createIntakeToken;
    tokenB = (await svc.ok(CREATE_TOKEN, { connectorId: connectorB, name: 'B collector' }, b)).createIntakeToken;
  });

  test("a token of tenant A authenticates as A's connector only, never as tenant B's", async () => {
    const intake = svc.services.intakeTokens;
    expect(await intake.authenticate(tokenA.token)).toEqual({ tokenId: tokenA.intakeToken.id, tenantId: 'itk-a', connectorId: connectorA });
    expect(await intake.authenticate(tokenB.token)).toEqual({ tokenId: tokenB.intakeToken.id, tenantId: 'itk-b', connectorId: connectorB });
    // Tenant B can neither mint a token for A's connector nor revoke A's token...
    expect(errorCode(await svc.gql(CREATE_TOKEN, { connectorId: connectorA, name: 'Stolen' }, b))).toBe('NOT_FOUND');
    expect(errorCode(await svc.gql(REVOKE_TOKEN, { id: tokenA.intakeToken.id }, b))).toBe('NOT_FOUND');
    const rows: Array<{ tenant_id: string; connector_id: string; revoked_at: Date | null }> = await svc.dataSource.query(
      'SELECT tenant_id, connector_id, revoked_at FROM intake_tokens WHERE connector_id = ANY($1::text[]) ORDER BY id',
      [[connectorA, connectorB]],
    );
    expect(rows).toEqual([
      { tenant_id: 'itk-a', connector_id: connectorA, revoked_at: null },
      { tenant_id: 'itk-b', connector_id: connectorB, revoked_at: null },
    ]);
    // ...and revoking B's own token leaves A's working.
    await svc.ok(REVOKE_TOKEN, { id: tokenB.intakeToken.id }, b);
    expect(await intake.authenticate(tokenB.token)).toBeNull();
    expect(await intake.authenticate(tokenA.token)).toMatchObject({ tenantId: 'itk-a', connectorId: connectorA });
  });

  test('an intake token is no bearer token for the API', async () => {
    const res = await svc.gql(LIST, {}, tokenA.token);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain(tokenA.token.slice(4));
  });

  test('tokens, their secret part and their hashes never appear in the logs', async () => {
    const logs = svc.logs.text();
    // The SQL of creating, listing and authenticating was logged (trace), so the search means something.
    expect(logs).toContain('intake_tokens');
    for (const { token } of [tokenA, tokenB]) {
      expect(logs).not.toContain(token.slice(4));
      expect(logs).not.toContain(createHash('sha256').update(token).digest('hex'));
    }
  });
});
