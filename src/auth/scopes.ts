import { hasRole, ROLES, rolesAtOrAbove, type Principal, type Role } from './principal.js';

/**
 * The OAuth scope each role corresponds to, for a router that enforces `@requiresScopes`
 * (docs/federation.md, "Authorization in the router"). The router reads them from the token's
 * `scope` claim; this service itself decides on the `roles` claim only.
 */
export const SCOPE_OF_ROLE: Readonly<Record<Role, string>> = {
  viewer: 'connectors:read',
  editor: 'connectors:write',
  admin: 'connectors:admin',
};

/**
 * `@requiresScopes` alternatives for a check of `role`: one per role that passes it, since a role
 * includes the ones below it (an admin token carrying only `connectors:admin` may write).
 */
export function scopeAlternatives(role: Role): string[][] {
  return rolesAtOrAbove(role).map((r) => [SCOPE_OF_ROLE[r]]);
}

/** The `scope` claim for a token with these roles: one scope per role, space-separated (RFC 6749 §3.3). */
export function scopeClaim(roles: readonly Role[]): string {
  return [...new Set(roles.map((r) => SCOPE_OF_ROLE[r]))].join(' ');
}

/** What a principal may do, as a client shows it (`me`): the roles it passes, their scopes, and the two capability flags. */
export function capabilitiesOf(principal: Principal): { roles: Role[]; scopes: string[]; canWrite: boolean; canAdmin: boolean } {
  const granted = ROLES.filter((role) => hasRole(principal, role));
  return {
    roles: [...principal.roles],
    scopes: granted.map((role) => SCOPE_OF_ROLE[role]),
    canWrite: hasRole(principal, 'editor'),
    canAdmin: hasRole(principal, 'admin'),
  };
}
