import type { webcrypto } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { AppError } from '../errors/app-error.js';
import { ROLES, type Principal, type Role } from './principal.js';

export interface VerifierOptions {
  /** HS256 shared secret (development and tests). */
  secret?: string;
  /** JWKS of the identity provider (production). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Tokens the service signed itself (application API keys), recognized before the user path. */
  serviceTokens?: ServiceTokenAuthenticator;
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat` (default 5). */
  clockToleranceSec?: number;
  /** The longest lifetime, `exp` − `iat` (or − now without `iat`), a user token may have (default a day). */
  maxTokenLifetimeSec?: number;
}

/**
 * Verifies and resolves the tokens this service signs. `recognizes` sees the header and the
 * issuer before any verification: only for routing; `authenticate` does the verifying.
 */
export interface ServiceTokenAuthenticator {
  recognizes(header: ProtectedHeaderParameters, issuer: string | undefined): boolean;
  authenticate(token: string): Promise<Principal>;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

const MAX_ID = 200;

function unauthenticated(message: string): AppError {
  return new AppError('UNAUTHENTICATED', message);
}

function stringArray(value: unknown, claim: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length > MAX_ID)) {
    throw unauthenticated(`the token's ${claim} claim must be an array of strings`);
  }
  return value as string[];
}

/** Turns verified claims into a Principal; the tenant comes from here and nowhere else. */
export function principalFromClaims(payload: JWTPayload): Principal {
  const tenantId = payload.tenant_id;
  if (typeof tenantId !== 'string' || !tenantId.trim() || tenantId.length > MAX_ID) {
    throw unauthenticated('the token has no tenant_id claim');
  }
  if (typeof payload.sub !== 'string' || !payload.sub) {
    throw unauthenticated('the token has no sub claim');
  }
  const roles = stringArray(payload.roles, 'roles').filter((r): r is Role => (ROLES as readonly string[]).includes(r));
  const appId = typeof payload.app_id === 'string' && payload.app_id ? payload.app_id : null;
  return {
    tenantId,
    subject: payload.sub,
    email: typeof payload.email === 'string' ? payload.email : null,
    roles,
    groups: stringArray(payload.groups, 'groups'),
    appId,
    actorType: appId ? 'APPLICATION' : 'USER',
  };
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'exp' && error.reason === 'missing') return 'the token has no exp claim: tokens must expire';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not valid`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not accepted';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no key matches the token';
  if (error instanceof AppError) return error.message;
  return 'the token is not valid';
}

/**
 * User tokens already verified, until they expire (at most five minutes): a gateway forwards the
 * same token with every request, and verifying it again costs more than the query. Keyed by the
 * exact token string, so nothing but that token can hit an entry. Service (API-key) tokens are not
 * cached here: their revocation is checked on every request.
 */
class VerifiedTokenCache {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly maxEntries = 5000,
    private readonly maxAgeMs = 300_000,
  ) {}

  get(token: string): Principal | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.principal;
  }

  set(token: string, principal: Principal, exp: number | undefined): void {
    const until = Math.min(Date.now() + this.maxAgeMs, exp ? exp * 1000 : Date.now() + this.maxAgeMs);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, { principal, until });
  }
}

/**
 * What jose leaves to the verifier: an `iat` in the future (beyond the clock tolerance) is refused,
 * and so is a token meant to live longer than the configured maximum.
 */
function checkLifetime(payload: JWTPayload, clockToleranceSec: number, maxLifetimeSec: number): void {
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat === 'number' && payload.iat > now + clockToleranceSec) {
    throw unauthenticated('the token is issued in the future (its iat claim is ahead of this server\'s clock)');
  }
  const from = typeof payload.iat === 'number' ? payload.iat : now;
  if ((payload.exp as number) - from > maxLifetimeSec + clockToleranceSec) {
    throw unauthenticated(`the token lives longer than the ${maxLifetimeSec} s this service accepts (AUTH_MAX_TOKEN_LIFETIME_SEC)`);
  }
}

/** Routing only: a token naming the service as issuer, or one of its key ids, never reaches the user path. */
function isServiceToken(serviceTokens: ServiceTokenAuthenticator, token: string): boolean {
  let header: ProtectedHeaderParameters;
  let issuer: string | undefined;
  try {
    header = decodeProtectedHeader(token);
    const iss = decodeJwt(token).iss;
    issuer = typeof iss === 'string' ? iss : undefined;
  } catch {
    return false;
  }
  return serviceTokens.recognizes(header, issuer);
}

/**
 * Verifies user tokens with jose: HS256 with a shared secret, or a JWKS URL. Algorithm `none`,
 * expired or not-yet-valid tokens, wrong issuer or audience, and a missing tenant are rejected.
 * Tokens the service signed itself go to `serviceTokens` instead (asymmetric keys, looked up on
 * every request), so an HS256 or IdP token can never pass for an API key.
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  let key: Promise<webcrypto.CryptoKey> | JWTVerifyGetKey;
  let algorithms: string[];
  if (options.jwksUrl) {
    key = createRemoteJWKSet(new URL(options.jwksUrl));
    algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];
  } else if (options.secret) {
    // Imported once: handing jose the raw bytes makes it import a CryptoKey on every request.
    key = globalThis.crypto.subtle.importKey('raw', new TextEncoder().encode(options.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    algorithms = ['HS256'];
  } else {
    throw new Error('token verification needs AUTH_JWT_SECRET or AUTH_JWKS_URL');
  }
  const serviceTokens = options.serviceTokens;
  const clockTolerance = options.clockToleranceSec ?? 5;
  const maxLifetime = options.maxTokenLifetimeSec ?? 86_400;
  const verified = new VerifiedTokenCache();
  return {
    async verify(token: string): Promise<Principal> {
      if (serviceTokens && isServiceToken(serviceTokens, token)) {
        try {
          return await serviceTokens.authenticate(token);
        } catch (error) {
          // Anything but a verdict on the token (the database is down) is not the caller's fault.
          if (error instanceof AppError || error instanceof joseErrors.JOSEError) throw unauthenticated(describe(error));
          throw error;
        }
      }
      const known = verified.get(token);
      if (known) return known;
      try {
        const { payload } = typeof key === 'function'
          ? await jwtVerify(token, key, { algorithms, issuer: options.issuer, audience: options.audience, clockTolerance, requiredClaims: ['exp'] })
          : await jwtVerify(token, await key, { algorithms, issuer: options.issuer, audience: options.audience, clockTolerance, requiredClaims: ['exp'] });
        checkLifetime(payload, clockTolerance, maxLifetime);
        const principal = principalFromClaims(payload);
        verified.set(token, principal, payload.exp);
        return principal;
      } catch (error) {
        throw unauthenticated(describe(error));
      }
    },
  };
}
