/**
 * Prints a development token: npm run token -- --tenant t1 --role admin [--sub u1] [--email …]
 * [--groups g1,g2] [--app app_…] [--expires 8h]. Signed with AUTH_JWT_SECRET or the development
 * secret in DATA_DIR (the one `npm start` uses).
 */
import { parseArgs } from 'node:util';
import { devTokenClaims, mintDevToken } from '../auth/dev-tokens.js';
import { ROLES, type Role } from '../auth/principal.js';
import { loadConfig, resolveJwtSecret } from '../config.js';

const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    role: { type: 'string', multiple: true },
    sub: { type: 'string' },
    email: { type: 'string' },
    groups: { type: 'string' },
    app: { type: 'string' },
    expires: { type: 'string', default: '8h' },
  },
});

if (!values.tenant) {
  console.error('usage: npm run token -- --tenant <tenant> --role viewer|editor|admin [--sub <id>] [--email <email>] [--groups g1,g2] [--app <app_id>] [--expires 8h]');
  process.exit(2);
}
const roles = (values.role ?? ['admin']).flatMap((r) => r.split(','));
const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
if (unknown.length) {
  console.error(`unknown role(s): ${unknown.join(', ')}; use ${ROLES.join(', ')}`);
  process.exit(2);
}
const config = loadConfig();
const secret = resolveJwtSecret(config);
if (!secret) {
  console.error('AUTH_JWKS_URL is set: tokens come from your identity provider, not from this command');
  process.exit(2);
}
const token = await mintDevToken(
  devTokenClaims(values.tenant, roles as Role[], {
    ...(values.sub ? { subject: values.sub } : {}),
    ...(values.email ? { email: values.email } : {}),
    groups: values.groups ? values.groups.split(',').filter(Boolean) : [],
    appId: values.app,
  }),
  { secret, issuer: config.auth.issuer, audience: config.auth.audience, expiresIn: values.expires },
);
process.stdout.write(token + '\n');
