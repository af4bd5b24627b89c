import type { RequestContext, SourceType } from '../../context/request-context.js';
import type { ActorType } from './audit.enums.js';

/** Who did something and from where, as recorded on an audit row. */
export interface Actor {
  type: ActorType;
  id: string | null;
  email: string | null;
  /** The caller's application (application tokens). */
  appId: string | null;
  requestId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  /** Where the write came from: the request's source type, SYSTEM for background components. */
  sourceType: SourceType;
}

export function actorOf(rc: RequestContext): Actor {
  return {
    type: rc.principal.actorType,
    id: rc.principal.subject,
    email: rc.principal.email,
    appId: rc.principal.appId,
    requestId: rc.meta.requestId,
    clientIp: rc.meta.clientIp,
    userAgent: rc.meta.userAgent,
    sourceType: rc.meta.sourceType,
  };
}

/** The health monitor, policies and the ingestion pipeline act as SYSTEM. */
export function systemActor(component: string): Actor {
  return { type: 'SYSTEM', id: component, email: null, appId: null, requestId: null, clientIp: null, userAgent: null, sourceType: 'SYSTEM' };
}
