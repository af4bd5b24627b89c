/**
 * Admission of heavy GraphQL operations (README, "Limits"): a process executes a few operations of
 * estimated cost `GRAPHQL_HEAVY_COST` or more at once and the others wait their turn in order, so
 * twenty heavy queries cannot interleave their CPU work and hold up /healthz, the job workers and
 * every small request behind all of them. Past the queue bound a heavy request is refused at once
 * (RATE_LIMITED, HTTP 503).
 *
 * Light operations (a toggle, a connector by id, a small page, a connection test) take no turn:
 * each is about one short stretch of CPU and mostly waits on PostgreSQL or an upstream, so queuing
 * them would only idle the database, or block everyone for the 30 s a test may take (connection
 * tests have their own per-tenant bound, TESTS_PER_TENANT). A test that selects a heavy result
 * takes a turn like any heavy operation.
 */
import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import pLimit from 'p-limit';
import { estimatedCost } from './query-limits.js';
import { rateLimited } from './rate-limits.js';

export function admissionPlugin(settings: { maxConcurrentOperations: number; maxQueuedOperations: number; heavyCost: number }): ApolloServerPlugin {
  const limit = pLimit(settings.maxConcurrentOperations);
  const releases = new WeakMap<GraphQLRequestContext<object>, () => void>();
  // The cost is set by the limits plugin's didResolveOperation, which runs to its end before this
  // plugin's (Apollo calls them in order, and that one does not await); unknown counts as heavy.
  const takesTurn = (requestContext: GraphQLRequestContext<object>) => (estimatedCost(requestContext) ?? Infinity) >= settings.heavyCost;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          // Refused only when it would have to wait and the queue is full.
          if (!takesTurn(requestContext) || limit.activeCount < settings.maxConcurrentOperations || limit.pendingCount < settings.maxQueuedOperations) return;
          const refusal = rateLimited(`the server is busy: ${limit.activeCount} operations run and ${limit.pendingCount} wait (GRAPHQL_QUEUE)`, 1);
          refusal.extensions.http = { status: 503, headers: new HeaderMap([['retry-after', '1']]) };
          throw refusal;
        },
        async executionDidStart(requestContext) {
          if (!takesTurn(requestContext)) return;
          await new Promise<void>((admitted) => {
            void limit(() => new Promise<void>((done) => {
              releases.set(requestContext, done);
              admitted();
            }));
          });
        },
        async willSendResponse(requestContext) {
          releases.get(requestContext)?.();
          releases.delete(requestContext);
        },
      };
    },
  };
}
