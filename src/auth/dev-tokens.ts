import { SignJWT } from 'jose';
import type { Role } from './principal.js';

export interface DevTokenClaims {
  tenantId: string;
  subject?: string;
  email?: string;
  roles?: Role[];
  groups?: string[];
  appId?: string;
}

export interface DevTokenOptions {
  secret: string;
  issuer?: string;
  audience?: string;
  /** jose duration such as `8h`, or seconds since the epoch. */
  expiresIn?: string | number;
}

/** Mints an HS256 user token, for `npm run token` and the tests. */
export async function mintDevToken(claims: DevTokenClaims, options: DevTokenOptions): Promise<string> {
  const jwt = new SignJWT({
    tenant_id: claims.tenantId,
    email: claims.email,
    roles: claims.roles ?? ['viewer'],
    groups: claims.groups ?? [],
    ...(claims.appId ? { app_id: claims.appId } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.subject ?? 'dev-user')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '8h');
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

/** A tenant id a development token may name (also what `npm run token --tenant` should be given). */
export const DEV_TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The claims `npm run token -- --tenant <t> --role <r>` signs, and the console's development sign-in. */
export function devTokenClaims(tenantId: string, roles: Role[], extra: Partial<DevTokenClaims> = {}): DevTokenClaims {
  return { tenantId, subject: `dev-${tenantId}`, email: `dev@${tenantId}.example`, roles, groups: [], ...extra };
}
