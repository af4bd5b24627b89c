import type { ApolloServerPlugin } from '@apollo/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLField, GraphQLSchema } from 'graphql';
import { activeSpan, extractContext, inSpan, rootContext, SpanKind, SpanStatusCode, tracingEnabled } from './tracing.js';

/**
 * The server span of one /graphql request, child of the caller's W3C `traceparent` (the router's)
 * when it sent one. Named `POST /graphql` until the operation is known, then `query Name` by
 * {@link tracingPlugin}. Only the path is recorded: a GET's query string holds the query text.
 */
export function traceGraphqlRequest<T>(request: FastifyRequest, reply: FastifyReply, fn: () => T | Promise<T>): T | Promise<T> {
  if (!tracingEnabled()) return fn();
  const parent = extractContext(request.headers as Record<string, unknown>, rootContext());
  return inSpan(
    `${request.method} /graphql`,
    {
      kind: SpanKind.SERVER,
      parent,
      attributes: { 'http.request.method': request.method, 'http.route': '/graphql', 'url.path': '/graphql', 'url.scheme': request.protocol },
    },
    async (span) => {
      const result = await fn();
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return result;
    },
  );
}

/**
 * Names the request's span after its operation (`query Entities`, semantic conventions'
 * `{graphql.operation.type} {graphql.operation.name}`) and records the first error's code.
 * Neither the document nor the variables are recorded: variables carry credentials.
 */
export function tracingPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const span = activeSpan();
      if (!span) return;
      return {
        async didResolveOperation({ operation, operationName }) {
          if (!operation) return;
          span.updateName(operationName ? `${operation.operation} ${operationName}` : operation.operation);
          span.setAttribute('graphql.operation.type', operation.operation);
          if (operationName) span.setAttribute('graphql.operation.name', operationName);
        },
        async didEncounterErrors({ errors }) {
          const code = errors[0]?.extensions?.code;
          span.setAttribute('error.type', typeof code === 'string' ? code : 'GRAPHQL_ERROR');
          span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'GRAPHQL_ERROR' });
        },
      };
    },
  };
}

const TRACED = Symbol('traced _entities');

/**
 * Wraps `Query._entities` of our own schema in one span per call (`Query._entities`, with how many
 * representations of which types) that lasts until every reference resolved: the DataLoader batch
 * spans (and their SQL) nest under it.
 */
export function traceEntities(schema: GraphQLSchema): GraphQLSchema {
  const field = schema.getQueryType()?.getFields()._entities as (GraphQLField<unknown, unknown> & { [TRACED]?: true }) | undefined;
  const resolve = field?.resolve;
  if (!field || !resolve || field[TRACED]) return schema;
  field[TRACED] = true;
  field.resolve = (source, args, context, info) => {
    if (!tracingEnabled()) return resolve(source, args, context, info);
    const representations = Array.isArray(args.representations) ? (args.representations as Array<{ __typename?: unknown } | null>) : [];
    const types = [...new Set(representations.map((r) => r?.__typename).filter((t): t is string => typeof t === 'string'))].sort();
    return inSpan(
      'Query._entities',
      { attributes: { 'graphql.field.name': '_entities', 'graphql.entities.count': representations.length, 'graphql.entities.types': types } },
      async () => {
        const result: unknown = await resolve(source, args, context, info);
        // The resolver answers with one promise per reference: the span ends when they have settled
        // (graphql-js awaits them all anyway; allSettled leaves each rejection to graphql-js).
        if (Array.isArray(result)) await Promise.allSettled(result);
        return result;
      },
    );
  };
  return schema;
}
