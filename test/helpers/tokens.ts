import { mintDevToken, type DevTokenClaims } from '../../src/auth/dev-tokens.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';

export function token(claims: DevTokenClaims, expiresIn: string | number = '1h'): Promise<string> {
  return mintDevToken({ email: `${claims.subject ?? 'user'}@${claims.tenantId}.example`, ...claims }, { secret: TEST_JWT_SECRET, expiresIn });
}

export const admin = (tenantId: string, extra: Partial<DevTokenClaims> = {}) => token({ tenantId, subject: `admin-${tenantId}`, roles: ['admin'], ...extra });
export const editor = (tenantId: string, extra: Partial<DevTokenClaims> = {}) => token({ tenantId, subject: `editor-${tenantId}`, roles: ['editor'], ...extra });
export const viewer = (tenantId: string, extra: Partial<DevTokenClaims> = {}) => token({ tenantId, subject: `viewer-${tenantId}`, roles: ['viewer'], ...extra });
