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
