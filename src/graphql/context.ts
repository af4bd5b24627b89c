import type { Principal } from '../auth/principal.js';
import { requireRole, type Role } from '../auth/principal.js';
import { AppError } from '../errors/app-error.js';
import type { RequestContext, RequestMeta } from '../context/request-context.js';
import type { Logger } from '../server/logger.js';
import type { Services } from '../services.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface GraphQLContext {
  principal: Principal | null;
  /** Set when a token was sent but failed verification; raised by the first resolver that needs a caller. */
  authError: AppError | null;
  /** Set when a request header is invalid (X-Source-Type); raised, after `authError`, by the first resolver that needs a caller. */
  requestError?: AppError | null;
  meta: RequestMeta;
  services: Services;
  logger: Logger;
  /** Per-request, tenant-scoped DataLoaders; throws UNAUTHENTICATED without a principal. */
  readonly loaders: Loaders;
}

/**
 * The lazy loaders live on the prototype: Apollo Server copies the context's own properties for
 * each operation, which must neither run the getter nor drop it.
 */
class RequestGraphQLContext {
  private readonly cache: { loaders?: Loaders } = {};

  constructor(
    readonly principal: Principal | null,
    readonly authError: AppError | null,
    readonly meta: RequestMeta,
    readonly services: Services,
    readonly logger: Logger,
    readonly requestError: AppError | null = null,
  ) {}

  get loaders(): Loaders {
    if (this.authError) throw this.authError;
    if (this.requestError) throw this.requestError;
    if (!this.principal) throw new AppError('UNAUTHENTICATED', 'a valid bearer token is required');
    this.cache.loaders ??= createLoaders(this.services, this.principal);
    return this.cache.loaders;
  }
}

export function createContext(fields: Omit<GraphQLContext, 'loaders'>): GraphQLContext {
  return new RequestGraphQLContext(fields.principal, fields.authError, fields.meta, fields.services, fields.logger, fields.requestError ?? null);
}

/** The caller, checked for a role; the one entry point resolvers use to reach services. */
export function caller(ctx: GraphQLContext, role: Role): RequestContext {
  if (ctx.authError) throw ctx.authError;
  const principal = requireRole(ctx.principal, role);
  if (ctx.requestError) throw ctx.requestError;
  return { principal, meta: ctx.meta };
}
