/**
 * API8:2023 Security Misconfiguration, the operator console (docs/console.md): the endpoint that
 * mints development tokens exists only in a development process (the generated secret in DATA_DIR,
 * the embedded database) and no setting brings it into a production one; CONSOLE=false leaves no
 * trace of the console; the console's page runs under the same CSP as the API (no inline script).
 */
import { loadConfig } from '../../src/config.js';
import { startTestService, type TestService } from '../helpers/server.js';
import { admin, viewer } from '../helpers/tokens.js';

const SECRET = 'a-production-secret-that-is-32-characters-or-more';

describe('API8:2023 the console', () => {
  test('dev sign-in is computed, never configured on: only without a configured secret, JWKS or database', () => {
    const cases: Array<[Record<string, string>, boolean]> = [
      [{}, true],
      [{ CONSOLE_DEV_SIGN_IN: 'false' }, false],
      [{ AUTH_JWT_SECRET: SECRET }, false],
      [{ AUTH_JWT_SECRET: SECRET, CONSOLE_DEV_SIGN_IN: 'true' }, false],
      [{ AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json', CONSOLE_DEV_SIGN_IN: 'true' }, false],
      [{ DATABASE_URL: 'postgres://db.example.com/connectors', CONSOLE_DEV_SIGN_IN: 'true' }, false],
      [{ DATABASE_URL: 'postgres://db.example.com/connectors', AUTH_JWT_SECRET: SECRET, NODE_ENV: 'development', CONSOLE_DEV_SIGN_IN: 'yes' }, false],
    ];
    for (const [env, expected] of cases) expect([env, loadConfig(env).http.consoleDevSignIn]).toEqual([env, expected]);
    expect(() => loadConfig({ CONSOLE_DEV_SIGN_IN: 'maybe' })).toThrow(/CONSOLE_DEV_SIGN_IN must be true or false/);
    expect(() => loadConfig({ CONSOLE: 'maybe' })).toThrow(/CONSOLE must be true or false/);
  });

  describe('a production process (configured secret and database), dev sign-in asked for', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startTestService('api8-console', { CONSOLE_DEV_SIGN_IN: 'true' });
    });
    afterAll(() => svc?.close());

    test('POST /console/dev-token does not exist, with or without a token, and the page offers no button', async () => {
      for (const headers of [{}, { authorization: `Bearer ${await admin('t-console')}` }] as Array<Record<string, string>>) {
        const res = await fetch(`${svc.url}/console/dev-token`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ tenant: 't-console', role: 'admin' }) });
        expect(res.status).toBe(404);
        expect(await res.text()).not.toMatch(/eyJ/);
      }
      const page = await (await fetch(`${svc.url}/console`)).text();
      expect(page).toContain('{"devSignIn":false}');
    });

    test('the console page has the API\'s CSP: scripts from this origin only, no framing', async () => {
      const res = await fetch(`${svc.url}/console`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });

    test('a viewer may not toggle, whatever a client shows: the API refuses', async () => {
      const token = await admin('t-console');
      const created = await svc.ok('mutation { createConnector(input: { name: "console target", provider: "generic_rest", config: { baseUrl: "https://api.example.com" } }) { id version } }', {}, token);
      const res = await svc.gql('mutation($id: ID!) { toggleConnector(id: $id, enabled: true, reason: "viewer tries", expectedVersion: 1) { id } }', { id: created.createConnector.id }, await viewer('t-console'));
      expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await svc.ok('{ me { canWrite canAdmin } }', {}, await viewer('t-console'))).me).toEqual({ canWrite: false, canAdmin: false });
    });
  });

  describe('CONSOLE=false', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startTestService('api8-console-off', { CONSOLE: 'false' });
    });
    afterAll(() => svc?.close());

    test('no page, no assets, no sign-in endpoint', async () => {
      for (const path of ['/console', '/console/', '/console/assets/0123456789abcdef/console.js']) expect([path, (await fetch(`${svc.url}${path}`)).status]).toEqual([path, 404]);
      const res = await fetch(`${svc.url}/console/dev-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"tenant":"t1","role":"admin"}' });
      expect(res.status).toBe(404);
    });
  });
});
