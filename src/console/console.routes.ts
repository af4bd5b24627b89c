/**
 * The operator console (docs/console.md): one HTML page and its scripts at /console, all read from
 * node_modules (react, react-dom, htm: runtime dependencies) and from src/console/assets/ (copied to
 * dist/ by the build), so it works offline. The page talks to POST /graphql only, with the caller's
 * token. The one endpoint of its own, POST /console/dev-token, exists only in a development process
 * (config.http.consoleDevSignIn) and mints what `npm run token` mints.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DEV_TENANT_PATTERN, devTokenClaims, mintDevToken } from '../auth/dev-tokens.js';
import { ROLES, type Role } from '../auth/principal.js';
import { AppError } from '../errors/app-error.js';
import { packageFile } from '../server/package-files.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const JS = 'text/javascript; charset=utf-8';

/** Browser builds by path: they are not in the packages' `exports`. */
const PACKAGE_ASSETS: Record<string, { pkg: string; file: string; type: string }> = {
  'react.js': { pkg: 'react', file: 'umd/react.production.min.js', type: JS },
  'react-dom.js': { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', type: JS },
  'htm.js': { pkg: 'htm', file: 'dist/htm.umd.js', type: JS },
};
/** The console's own files, in src/console/assets/ (dist/src/console/assets/ once built). */
const OWN_ASSETS: Record<string, string> = {
  'console.js': JS,
  'console.css': 'text/css; charset=utf-8',
};
/** Scripts in the order the page loads them. */
const SCRIPTS = ['react.js', 'react-dom.js', 'htm.js', 'console.js'];

/**
 * The console's own file. The build (swc --copy-files) compiles src/console/assets/console.js like
 * any .js under src/ (the same code, reformatted) and points it at a source map that is not served.
 */
function ownFile(name: string): Buffer {
  const body = readFileSync(join(HERE, 'assets', name));
  return name.endsWith('.js') ? Buffer.from(body.toString('utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n')) : body;
}

export interface ConsoleOptions {
  /** POST /console/dev-token: only in a development process (config.http.consoleDevSignIn). */
  devSignIn: null | {
    /** The HS256 secret the service verifies user tokens with. */
    secret: string;
    issuer?: string;
    audience?: string;
  };
  /** Counts one request without a token from this address (the service's anonymous limit); throws RATE_LIMITED. */
  consumeAnonymous(clientIp: string | null): Promise<void>;
}

/** Tokens one address may mint per minute, on top of the anonymous request limit. */
export const DEV_TOKENS_PER_MINUTE = 20;
const DEV_TOKEN_LIFETIME = '8h';

/** Only a peer on this machine may mint: the socket's own address, not a forwarded one. */
export function fromLoopback(request: Pick<FastifyRequest, 'socket'>): boolean {
  const address = request.socket.remoteAddress ?? '';
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error: { code, message } });
}

function page(assets: Record<string, { hash: string }>, settings: { devSignIn: boolean }): string {
  const url = (name: string) => `/console/assets/${assets[name]!.hash}/${name}`;
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connector console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${url('console.css')}">
</head>
<body>
<div id="console"><p>Loading the console…</p><noscript>The console needs JavaScript.</noscript></div>
<script type="application/json" id="console-settings">${json}</script>
${SCRIPTS.map((name) => `<script src="${url(name)}"></script>`).join('\n')}
</body>
</html>`;
}

/** Registers /console, its assets and (development only) POST /console/dev-token. */
export function registerConsole(app: FastifyInstance, options: ConsoleOptions): void {
  const files: Record<string, { body: Buffer; type: string; hash: string }> = {};
  const add = (name: string, body: Buffer, type: string) => {
    files[name] = { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 16) };
  };
  for (const [name, asset] of Object.entries(PACKAGE_ASSETS)) add(name, packageFile(asset.pkg, asset.file), asset.type);
  for (const [name, type] of Object.entries(OWN_ASSETS)) add(name, ownFile(name), type);
  const html = page(files, { devSignIn: options.devSignIn !== null });

  const sendPage = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  app.get('/console', sendPage);
  // Client-side routes (#/connector/…) live in the fragment; /console/ is the same page.
  app.get('/console/', sendPage);

  // Content-addressed: a changed file gets a new URL, so a browser may keep each one for good.
  app.get<{ Params: { hash: string; file: string } }>('/console/assets/:hash/:file', async (request, reply) => {
    const file = files[request.params.file];
    if (!file || file.hash !== request.params.hash) return refuse(reply, 404, 'NOT_FOUND', 'no such console asset');
    return reply.header('content-type', file.type).header('cache-control', 'public, max-age=31536000, immutable').send(file.body);
  });

  const devSignIn = options.devSignIn;
  if (!devSignIn) return;
  const perAddress = new RateLimiterMemory({ keyPrefix: 'console-dev-token', points: DEV_TOKENS_PER_MINUTE, duration: 60 });
  app.post<{ Body: unknown }>('/console/dev-token', async (request, reply) => {
    if (!fromLoopback(request)) return refuse(reply, 403, 'FORBIDDEN', 'development tokens are minted for a browser on this machine only; paste a token from `npm run token` instead');
    try {
      await options.consumeAnonymous(request.ip ?? null);
      await perAddress.consume(request.socket.remoteAddress ?? 'unknown');
    } catch (error) {
      const seconds = error instanceof RateLimiterRes ? Math.max(1, Math.ceil(error.msBeforeNext / 1000)) : error instanceof AppError ? Number(error.extensions.retryAfterSec ?? 60) : null;
      if (seconds === null) throw error;
      void reply.header('retry-after', String(seconds));
      return refuse(reply, 429, 'RATE_LIMITED', `too many development tokens from this address: try again in ${seconds} s`);
    }
    // JSON only: a cross-site form cannot send it without a preflight this service never answers.
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return refuse(reply, 415, 'BAD_USER_INPUT', 'send {"tenant": "...", "role": "viewer|editor|admin"} as application/json');
    }
    const body = (request.body ?? {}) as { tenant?: unknown; role?: unknown };
    if (typeof body.tenant !== 'string' || !DEV_TENANT_PATTERN.test(body.tenant)) {
      return refuse(reply, 400, 'BAD_USER_INPUT', 'tenant must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit');
    }
    if (typeof body.role !== 'string' || !(ROLES as readonly string[]).includes(body.role)) {
      return refuse(reply, 400, 'BAD_USER_INPUT', `role must be one of ${ROLES.join(', ')}`);
    }
    const token = await mintDevToken(devTokenClaims(body.tenant, [body.role as Role]), {
      secret: devSignIn.secret,
      issuer: devSignIn.issuer,
      audience: devSignIn.audience,
      expiresIn: DEV_TOKEN_LIFETIME,
    });
    request.log.info({ tenant: body.tenant, role: body.role, requestId: request.id }, 'console: development token minted');
    return reply.header('cache-control', 'no-store').send({ token, tenant: body.tenant, role: body.role, expiresIn: DEV_TOKEN_LIFETIME });
  });
}
