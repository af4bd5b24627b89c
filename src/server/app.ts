import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { DataSource } from 'typeorm';
import { randomUUID } from 'node:crypto';
import type { TokenVerifier } from '../auth/verifier.js';
import type { AppConfig } from '../config.js';
import { withStatementCount } from '../db/statement-counter.js';
import { AppError } from '../errors/app-error.js';
import { createContext, type GraphQLContext } from '../graphql/context.js';
import type { Services } from '../services.js';
import { createErrorFormatter } from './errors.js';
import { registerGraphiQL } from './graphiql.js';
import type { Logger } from './logger.js';
import { runInRequest } from './request-scope.js';

export interface AppDeps {
  config: AppConfig;
  dataSource: DataSource;
  schema: GraphQLSchema;
  services: Services;
  verifier: TokenVerifier;
  logger: Logger;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function bearerToken(request: FastifyRequest): string | null | AppError {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  return match ? match[1]! : new AppError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
}

function wantsHtml(request: FastifyRequest): boolean {
  return request.method === 'GET' && Object.keys(request.query as object).length === 0 && (request.headers.accept ?? '').includes('text/html');
}

/** The HTTP app: /graphql (and GraphiQL in a browser), /healthz, /readyz. */
export async function createApp({ config, dataSource, schema, services, verifier, logger }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Access logs are the gateway's job; errors are logged with their request id.
    logController: new LogController({ disableRequestLogging: true }),
    // A number is a hop count; Fastify accepts it although its types do not say so.
    trustProxy: config.trustProxy as boolean | string,
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    logger,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    persistedQueries: false,
    formatError: createErrorFormatter(logger),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // Cache hints are not used by this subgraph; the plugin would hook every field.
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();

  const graphiql = registerGraphiQL(app);
  const handler = fastifyApolloHandler(apollo, {
    context: async (request): Promise<GraphQLContext> => {
      const token = bearerToken(request);
      let principal = null;
      let authError: AppError | null = token instanceof AppError ? token : null;
      if (typeof token === 'string') {
        try {
          principal = await verifier.verify(token);
        } catch (error) {
          if (!(error instanceof AppError)) logger.warn({ err: error, requestId: request.id }, 'token verification failed unexpectedly');
          authError = error instanceof AppError ? error : new AppError('UNAUTHENTICATED', 'the token is not valid');
        }
      }
      return createContext({
        principal,
        authError,
        meta: { requestId: request.id, clientIp: request.ip ?? null, userAgent: request.headers['user-agent']?.slice(0, 512) ?? null },
        services,
        logger,
      });
    },
  });

  app.route({
    method: ['GET', 'POST', 'OPTIONS'],
    url: '/graphql',
    handler: async (request, reply) => {
      void reply.header('x-request-id', request.id);
      if (wantsHtml(request)) return reply.type('text/html; charset=utf-8').send(graphiql.html);
      const run = () => runInRequest(request.id, () => handler.call(app, request as never, reply as never));
      // Counting statements needs its own async scope per request: only when asked for.
      if (!config.exposeSqlCount) return run();
      const { result, counter } = withStatementCount(run);
      const body = await result;
      void reply.header('x-sql-statements', String(counter.count));
      return body;
    },
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  // Public keys of the tokens this service signs (application API keys), for outside verifiers.
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    void reply.header('cache-control', 'public, max-age=300');
    return services.signingKeys.jwks();
  });
  app.get('/readyz', async (_request, reply) => {
    try {
      await dataSource.query('SELECT 1');
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'database unreachable' });
    }
  });
  app.get('/', async (_request, reply) => reply.redirect('/graphql'));

  // Fastify drains HTTP connections itself; Apollo's drain plugin would close Fastify from
  // inside this hook and wait on itself.
  app.addHook('onClose', async () => {
    await apollo.stop();
  });
  return app;
}
