/**
 * The peer: PostGraphile v4 (what an engineer would pick for GraphQL over PostgreSQL instead of a
 * hand-written subgraph) serving the same table of the same database, in its own child process.
 *
 * It serves one view, `bench_pg.connectors`: the 20 columns the read scenarios select, with the
 * service's visibility rule (tenant, not deleted, ORG / the caller's GROUPs / the caller's USER
 * scope) read from the request's JWT claims, which PostGraphile sets per transaction through
 * `pgSettings` — the way PostGraphile applies per-user rules. The token is verified here with
 * node:crypto (HS256, as the floor does). The query (bench/scenarios.ts PEER_LIST_QUERY) asks for
 * the same page (50 newest by id) with the same fields and pageInfo.
 *
 * PostGraphile v4 nests its own graphql 15; v5 needs Node 22. Installed as a devDependency, used
 * only here.
 *
 * Forked by bench/run.ts: answers the same IPC as bench/floor.ts (ready, capture, profile, stop);
 * capture answers no statements (PostGraphile's SQL is its own).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { createProfiler } from './profiler.js';

const require = createRequire(import.meta.url);
/**
 * PostGraphile 4 needs graphql 15 (nested under postgraphile/node_modules), but some of its own
 * dependencies (graphile-build-pg, graphql-parse-resolve-info) are hoisted next to the service's
 * graphql 16 and would load that one: two graphql realms in one schema. In this process only,
 * every `graphql` import resolves to PostGraphile's copy.
 */
const nestedGraphql = join(dirname(require.resolve('postgraphile/package.json')), 'node_modules', 'graphql');
const ModuleClass = require('node:module') as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const resolveFilename = ModuleClass._resolveFilename;
ModuleClass._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
  if (request === 'graphql' || request.startsWith('graphql/')) request = nestedGraphql + request.slice('graphql'.length);
  return resolveFilename.call(this, request, ...rest);
};
const { postgraphile } = require('postgraphile') as { postgraphile: (pool: pg.Pool, schema: string, options: Record<string, unknown>) => ((req: IncomingMessage, res: unknown) => void) & { release(): Promise<void> } };

/** The view PostGraphile serves: the read scenarios' 20 columns, visible rows only. */
export const PEER_VIEW_SQL = `
CREATE SCHEMA IF NOT EXISTS bench_pg;
CREATE OR REPLACE VIEW bench_pg.connectors AS
  SELECT c.id, c.name, c.type, c.provider, c.scope, c.application_id, c.owner_id, c.config, c.auth_type, c.credential_fields,
         c.enabled, c.enabled_changed_at, c.sync_status, c.run_state, c.last_sync_at, c.consecutive_errors, c.metrics, c.tags,
         c.version, c.updated_at
  FROM public.connectors c
  WHERE c.tenant_id = current_setting('jwt.claims.tenant_id', true)
    AND NOT c.is_deleted
    AND (c.scope = 'ORG'
         OR (c.scope = 'GROUP' AND c.group_id = ANY (string_to_array(current_setting('jwt.claims.groups', true), ',')))
         OR (c.scope = 'USER' AND c.user_id = current_setting('jwt.claims.sub', true)));
COMMENT ON VIEW bench_pg.connectors IS E'@primaryKey id\\n@name connectors';
`;

function claimsOf(req: IncomingMessage, secret: Buffer): Record<string, unknown> | null {
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(req.headers.authorization?.trim() ?? '');
  if (!match) return null;
  const [h, p, s] = match[1]!.split('.');
  if (!h || !p || !s) return null;
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  if (typeof claims.exp === 'number' && claims.exp < Date.now() / 1000 - 5) return null;
  return claims;
}

async function main(): Promise<void> {
  const started = Date.now();
  const databaseUrl = process.env.DATABASE_URL!;
  const secret = Buffer.from(process.env.AUTH_JWT_SECRET!, 'utf8');
  const setup = new pg.Client({ connectionString: databaseUrl });
  await setup.connect();
  await setup.query(PEER_VIEW_SQL);
  await setup.end();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20, application_name: 'bench-postgraphile' });
  const middleware = postgraphile(pool, 'bench_pg', {
    graphqlRoute: '/graphql',
    graphiql: false,
    disableQueryLog: true,
    dynamicJson: true,
    setofFunctionsContainNulls: false,
    disableDefaultMutations: true,
    ignoreRBAC: false,
    retryOnInitFail: false,
    watchPg: false,
    enableQueryBatching: false,
    // Unauthenticated requests see nothing (the view filters on claims that are then unset).
    pgSettings: (req: IncomingMessage) => {
      const claims = claimsOf(req, secret);
      if (!claims) return {};
      return {
        'jwt.claims.tenant_id': String(claims.tenant_id ?? ''),
        'jwt.claims.sub': String(claims.sub ?? ''),
        'jwt.claims.groups': Array.isArray(claims.groups) ? claims.groups.join(',') : '',
      };
    },
  });
  const server = createServer((req, res) => {
    if (req.url === '/readyz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"status":"ready"}');
    }
    middleware(req, res);
  });
  server.keepAliveTimeout = 72_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await middleware.release?.().catch(() => undefined);
    await pool.end();
  };
  const send = (message: object) => process.send?.(message);
  const profiler = createProfiler();
  process.on('message', (message: { type: string; file?: string }) => {
    void (async () => {
      switch (message.type) {
        case 'capture-start':
          return send({ type: 'ok' });
        case 'capture-stop':
          return send({ type: 'captured', statements: [], traceLines: 0 });
        case 'profile-start':
          await profiler.start();
          return send({ type: 'ok' });
        case 'profile-stop':
          await profiler.stop(message.file!);
          return send({ type: 'profiled', file: message.file });
        case 'stop':
          await close();
          process.exit(0);
      }
    })().catch((error: unknown) => send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
  });
  process.on('disconnect', () => void close().finally(() => process.exit(0)));
  send({ type: 'ready', url, ms: Date.now() - started });
}

main().catch((error: unknown) => {
  console.error('postgraphile peer failed:', error);
  process.send?.({ type: 'error', message: String(error) });
  process.exit(1);
});
