/**
 * The request as services see it: who is calling and where the call came from. This layer sits
 * below both the GraphQL layer (src/graphql/, which builds it per request and checks roles with
 * `caller`) and the modules (src/modules/, whose services take it as their first argument), so
 * it imports neither.
 */
import type { Principal } from '../auth/principal.js';

/** Where a request came from, recorded in audit events. */
export interface RequestMeta {
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
}

/** What a service needs to know about the caller of one request. */
export interface RequestContext {
  principal: Principal;
  meta: RequestMeta;
}
