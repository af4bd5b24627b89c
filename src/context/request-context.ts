/**
 * The request as services see it: who is calling and where the call came from. This layer sits
 * below both the GraphQL layer (src/graphql/, which builds it per request and checks roles with
 * `caller`) and the modules (src/modules/, whose services take it as their first argument), so
 * it imports neither.
 */
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors/app-error.js';

/**
 * Where a write comes from, as connectors and audit events record it: SYSTEM (policies, schedules,
 * migrations), API (application API keys), or what a person's client declares in `X-Source-Type`.
 */
export const SOURCE_TYPES = ['FRONTEND', 'BACKEND', 'SERVER', 'SYSTEM', 'API'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** The request header a client declares its source type in. */
export const SOURCE_TYPE_HEADER = 'x-source-type';
/** What a user token's client may declare; SYSTEM and API are never declared, they are what the caller is. */
export const DECLARABLE_SOURCE_TYPES = ['FRONTEND', 'BACKEND', 'SERVER'] as const;
/** A user token without the header: a person at the web app. */
export const DEFAULT_USER_SOURCE_TYPE: SourceType = 'FRONTEND';

/**
 * The source type of a request: API for application tokens (whatever the header says), else the
 * declared value (case-insensitive), else FRONTEND. A value outside FRONTEND/BACKEND/SERVER is an
 * AppError (BAD_USER_INPUT), raised when a resolver asks for the caller.
 */
export function sourceTypeOf(actorType: Principal['actorType'] | null, header: string | string[] | undefined): SourceType | AppError {
  const raw = Array.isArray(header) ? header.join(',') : header;
  let declared: SourceType | null = null;
  if (raw !== undefined && raw.trim() !== '') {
    const value = raw.trim().toUpperCase();
    if (!(DECLARABLE_SOURCE_TYPES as readonly string[]).includes(value)) {
      return AppError.badInput(`X-Source-Type must be one of ${DECLARABLE_SOURCE_TYPES.join(', ')}`, [{ path: 'X-Source-Type', message: `is ${JSON.stringify(raw.slice(0, 40))}` }]);
    }
    declared = value as SourceType;
  }
  if (actorType === 'APPLICATION') return 'API';
  return declared ?? DEFAULT_USER_SOURCE_TYPE;
}

/** Where a request came from, recorded in audit events. */
export interface RequestMeta {
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
  /** Where the request says it comes from (`sourceTypeOf`); recorded on connectors and audit events. */
  sourceType: SourceType;
}

/** What a service needs to know about the caller of one request. */
export interface RequestContext {
  principal: Principal;
  meta: RequestMeta;
}
