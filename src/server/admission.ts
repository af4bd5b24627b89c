/**
 * Admission of GraphQL operations (README, "Limits"): a process executes a few operations at once
 * and the rest wait their turn in order, so twenty heavy queries cannot interleave their CPU work
 * and hold up /healthz, the job workers and every small request behind all of them. Past the queue
 * bound a request is refused at once (RATE_LIMITED, HTTP 503).
 *
 * Operations that only wait on an upstream (connection tests) do not take a turn: they hold no CPU
 * while they wait, have their own per-tenant bound (TESTS_PER_TENANT), and would otherwise block
 * everyone for up to 30 s.
 */
import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { Kind, type OperationDefinitionNode } from 'graphql';
import pLimit from 'p-limit';
import { rateLimited } from './rate-limits.js';

/** Root fields that spend their time waiting on an upstream, bounded per tenant instead. */
const UPSTREAM_BOUND = new Set(['testConnector', 'testConnectorConfig', 'rotateCredentials', 'checkConnectorHealth']);

function upstreamBound(operation: OperationDefinitionNode | undefined): boolean {
  const selections = operation?.selectionSet.selections ?? [];
  return selections.length > 0 && selections.every((s) => s.kind === Kind.FIELD && UPSTREAM_BOUND.has(s.name.value));
}

export function admissionPlugin(settings: { maxConcurrentOperations: number; maxQueuedOperations: number }): ApolloServerPlugin {
  const limit = pLimit(settings.maxConcurrentOperations);
  const releases = new WeakMap<GraphQLRequestContext<object>, () => void>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (upstreamBound(operation) || limit.pendingCount < settings.maxQueuedOperations) return;
          const refusal = rateLimited(`the server is busy: ${limit.activeCount} operations run and ${limit.pendingCount} wait (GRAPHQL_QUEUE)`, 1);
          refusal.extensions.http = { status: 503, headers: new HeaderMap([['retry-after', '1']]) };
          throw refusal;
        },
        async executionDidStart(requestContext) {
          if (upstreamBound(requestContext.operation)) return;
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
