import { AppError } from '../errors/app-error.js';

export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

/** Who is calling, from the verified token only. */
export interface Principal {
  tenantId: string;
  /** `sub`: a person's id, or an API key id for application tokens. */
  subject: string;
  email: string | null;
  roles: Role[];
  groups: string[];
  /** Present only for application tokens: every read and write is filtered to this application. */
  appId: string | null;
  actorType: 'USER' | 'APPLICATION';
}

export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.some((r) => RANK[r] >= RANK[role]);
}

/** The roles that satisfy a check for `role` (itself and every role above it), lowest first. */
export function rolesAtOrAbove(role: Role): Role[] {
  return ROLES.filter((r) => RANK[r] >= RANK[role]);
}

export function isAdmin(principal: Principal): boolean {
  return hasRole(principal, 'admin');
}

export function requireRole(principal: Principal | null, role: Role): Principal {
  if (!principal) throw new AppError('UNAUTHENTICATED', 'a valid bearer token is required');
  if (!hasRole(principal, role)) {
    throw new AppError('FORBIDDEN', `this operation needs the ${role} role`);
  }
  return principal;
}
