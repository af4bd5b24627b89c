import { registerIntakeRoutes } from '../modules/intake/intake.routes.js';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import helmet from '@fastify/helmet';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { randomUUID } from 'node:crypto';
import type { TokenVerifier } from '../auth/verifier.js';
import { resolveJwtSecret, type AppConfig } from '../config.js';
import { registerConsole } from '../console/console.routes.js';
import { withStatementCount } from '../db/statement-counter.js';
import { compiledExecution } from './compiled-execution.js';
import { AppError } from '../errors/app-error.js';
import { createContext, type GraphQLContext } from '../graphql/context.js';
import { DEFAULT_USER_SOURCE_TYPE, SOURCE_TYPE_HEADER, sourceTypeOf } from '../context/request-context.js';
import type { Services } from '../services.js';
import { createErrorFormatter } from './errors.js';
import { GRAPHIQL_CSP, registerGraphiQL } from './graphiql.js';
import type { Logger } from './logger.js';
import { queryLimitRules, queryLimitsPlugin } from './query-limits.js';
import { RequestRateLimiter } from './rate-limits.js';
import { admissionPlugin } from './admission.js';
import { runInRequest } from './request-scope.js';
import type { Metrics } from '../observability/metrics.js';
import { traceEntities, traceGraphqlRequest, tracingPlugin } from '../tracing/graphql.js';

export interface AppDeps {
  config: AppConfig;
  dataSource: DataSource;
  schema: GraphQLSchema;
  services: Services;
  verifier: TokenVerifier;
  logger: Logger;
  /** Prometheus metrics (docs/metrics.md); null or absent when /metrics is off. */
  metrics?: Metrics | null;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function bearerToken(request: FastifyRequest): string | null | AppError {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  return match ? match[1]! : new AppError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
}

function wantsHtml(request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && Object.keys(request.query as object).length === 0 && (request.headers.accept ?? '').includes('text/html');
}

const BODY_LIMIT = 1024 * 1024;

/**
 * The methods /graphql serves: GET (queries) and POST, and HEAD, which Fastify answers as the GET
 * without its body (RFC 9110 §9.3.2). Any other is a 405 naming these in `Allow`.
 */
const GRAPHQL_METHODS = ['GET', 'HEAD', 'POST'];

/** The HTTP app: /graphql (and GraphiQL in a browser), /healthz, /readyz. */
export async function createApp({ config, dataSource, schema, services, verifier, logger, metrics = null }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Access logs are the gateway's job; errors are logged with their request id.
    logController: new LogController({ disableRequestLogging: true }),
    // A number is a hop count; Fastify accepts it although its types do not say so.
    trustProxy: config.trustProxy as boolean | string,
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: true,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });

  // Security headers on every response; the CSP is the one GraphiQL runs under (scripts from this
  // origin only, no inline script).
  await app.register(helmet, { contentSecurityPolicy: { useDefaults: false, directives: GRAPHIQL_CSP }, crossOriginEmbedderPolicy: false });
  metrics?.instrument(app);
  // A body over the limit is the one refusal that comes before GraphQL parses anything: answer it
  // in GraphQL's shape, with the code clients branch on.
  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ errors: [{ message: `the query is too complex: the request body is larger than the limit of ${BODY_LIMIT} bytes`, extensions: { code: 'QUERY_TOO_COMPLEX' } }] });
    }
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error, requestId: request.id }, 'request failed');
    else request.log.info({ err: error.message, requestId: request.id }, 'request refused');
    return reply.code(status).send({ errors: [{ message: status >= 500 ? `Internal server error (request ${request.id})` : error.message, extensions: { code: status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_USER_INPUT' } }] });
  });

  const apollo = new ApolloServer<GraphQLContext>({
    // Queries run compiled (graphql-jit) through Apollo's executor hook; see compiled-execution.ts.
    gateway: compiledExecution(traceEntities(schema)),
    logger,
    introspection: config.http.introspection,
    includeStacktraceInErrorResponses: false,
    persistedQueries: false,
    parseOptions: { maxTokens: config.queryLimits.maxTokens },
    validationRules: queryLimitRules(config.queryLimits),
    formatError: createErrorFormatter(logger, config.queryLimits),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // Cache hints are not used by this subgraph; the plugin would hook every field.
      ApolloServerPluginCacheControlDisabled(),
      // Resolver timings go to a gateway only where the operator turned them on (docs/federation.md).
      ...(config.http.inlineTraces ? [] : [ApolloServerPluginInlineTraceDisabled()]),
      queryLimitsPlugin(config.queryLimits),
      admissionPlugin(config.http),
      ...(metrics ? [metrics.apolloPlugin()] : []),
      tracingPlugin(),
    ],
  });
  await apollo.start();

  const rateLimiter = new RequestRateLimiter(config.rateLimit, logger, (dataSource.driver as unknown as { master: pg.Pool }).master, metrics?.rateLimited);
  const graphiql = config.http.graphiql ? registerGraphiQL(app) : null;
  if (config.http.console) {
    // The operator console (src/console/, docs/console.md); its dev sign-in only in a development process.
    const secret = config.http.consoleDevSignIn ? resolveJwtSecret(config) : undefined;
    registerConsole(app, {
      devSignIn: secret ? { secret, issuer: config.auth.issuer, audience: config.auth.audience } : null,
      consumeAnonymous: (clientIp) => rateLimiter.consume(null, clientIp),
    });
  }
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
      await rateLimiter.consume(principal, request.ip ?? null);
      // X-Source-Type (FRONTEND, BACKEND, SERVER): where a person's client says the call comes from; API keys are API.
      const sourceType = sourceTypeOf(principal?.actorType ?? null, request.headers[SOURCE_TYPE_HEADER]);
      return createContext({
        principal,
        authError,
        requestError: sourceType instanceof AppError ? sourceType : null,
        meta: {
          requestId: request.id,
          clientIp: request.ip ?? null,
          userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
          sourceType: sourceType instanceof AppError ? DEFAULT_USER_SOURCE_TYPE : sourceType,
        },
        services,
        logger,
      });
    },
  });

  app.route({
    // HEAD comes with GET (Fastify's exposeHeadRoutes).
    method: ['GET', 'POST'],
    url: '/graphql',
    handler: async (request, reply) => {
      void reply.header('x-request-id', request.id);
      if (graphiql && wantsHtml(request)) return reply.type('text/html; charset=utf-8').send(graphiql.html);
      // Apollo serves GET and POST only: a HEAD is executed as the GET it mirrors (Fastify drops the body).
      const apolloRequest = request.method === 'HEAD' ? (Object.create(request, { method: { value: 'GET' } }) as FastifyRequest) : request;
      const run = () => traceGraphqlRequest(request, reply, () => runInRequest(request.id, () => handler.call(app, apolloRequest as never, reply as never)));
      // Counting statements needs its own async scope per request: only when asked for (the header, or metrics).
      if (!config.exposeSqlCount && !metrics) return run();
      const { result, counter } = withStatementCount(run);
      const body = await result;
      if (config.exposeSqlCount) void reply.header('x-sql-statements', String(counter.count));
      return body;
    },
  });

  // Any other method (PUT, DELETE, PATCH, OPTIONS, TRACE) is a client's mistake: a 405 in GraphQL's
  // shape with `Allow`, answered before the body is read and logged at info.
  const allow = GRAPHQL_METHODS.join(', ');
  app.route({
    method: app.supportedMethods.filter((method) => !GRAPHQL_METHODS.includes(method)),
    url: '/graphql',
    onRequest: async (request, reply) => {
      const message = `${request.method} is not allowed on /graphql: send a query with GET or POST, a mutation with POST`;
      request.log.info({ err: message, code: 'METHOD_NOT_ALLOWED', requestId: request.id }, 'request refused');
      return reply
        .code(405)
        .header('allow', allow)
        .header('x-request-id', request.id)
        .send({ errors: [{ message, extensions: { code: 'METHOD_NOT_ALLOWED' } }] });
    },
    handler: async () => undefined, // never reached: onRequest has answered
  });

  await registerIntakeRoutes(app, {
    intake: services.intake,
    tokens: services.intakeTokens,
    logger,
    maxBodyBytes: config.intake.maxBodyBytes,
    requestsPerMinute: config.intake.requestsPerTokenPerMinute,
    anonymousPerMinute: config.rateLimit.anonymous,
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  // Open, or behind METRICS_TOKEN; METRICS_PORT alone serves it on its own listener instead (docs/metrics.md).
  metrics?.route(app);
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
