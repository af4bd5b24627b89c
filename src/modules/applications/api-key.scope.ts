import type { Role } from '../../auth/principal.js';

export const API_KEY_SCOPES = ['READ', 'WRITE'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** What an application token may do: READ reads like a viewer, WRITE writes like an editor. */
export const ROLES_OF_SCOPE: Record<ApiKeyScope, Role[]> = { READ: ['viewer'], WRITE: ['editor'] };
