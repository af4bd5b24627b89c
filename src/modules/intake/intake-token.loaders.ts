import type DataLoader from 'dataloader';
import { SlicedLoader } from '../../graphql/batch.js';
import type { GraphQLContext } from '../../graphql/context.js';
import type { IntakeTokenEntity } from './intake-token.entity.js';

/** One loader per request, keyed by the request's (tenant-fixed) loaders object. */
const perRequest = new WeakMap<object, DataLoader<string, IntakeTokenEntity[]>>();

/**
 * Connector id → its intake tokens; one statement for every connector of a request. Per request
 * and tenant-scoped like the loaders of src/graphql/loaders.ts: reaching `ctx.loaders` requires a
 * caller, and the principal is fixed when the loader is made.
 */
export function connectorIntakeTokens(ctx: GraphQLContext): DataLoader<string, IntakeTokenEntity[]> {
  const request = ctx.loaders;
  let loader = perRequest.get(request);
  if (!loader) {
    const principal = ctx.principal!;
    const service = ctx.services.intakeTokens;
    loader = new SlicedLoader<string, IntakeTokenEntity[]>(async (ids) => {
      const byConnector = await service.tokensOf(principal, ids);
      return ids.map((id) => byConnector.get(id) ?? []);
    });
    perRequest.set(request, loader);
  }
  return loader;
}
