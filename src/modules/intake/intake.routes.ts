/**
 * HTTP intake: a Splunk HTTP Event Collector-compatible endpoint, so existing shippers (Splunk
 * logging libraries, Vector, Fluent Bit) send to a push connector unchanged, and `/intake/<id>`
 * for NDJSON or raw CEF/LEEF lines.
 *
 * - `POST /services/collector/event` (also `/services/collector`, `/services/collector/event/1.0`):
 *   concatenated HEC event objects `{"event": ..., "time", "host", "source", "sourcetype", "fields"}`.
 * - `POST /services/collector/raw` (also `/raw/1.0`): one event per line.
 * - `GET /services/collector/health`: `{"text":"HEC is healthy","code":17}`.
 * - `POST /intake/<connectorId>`: NDJSON (one JSON object per line) or text lines, with the
 *   connector's intake token; answers `{ accepted, duplicates, rejected }`.
 *
 * Authentication is `Authorization: Splunk <intake token>` (or `Bearer`). Answers and codes follow
 * HEC's (https://docs.splunk.com/Documentation/Splunk/latest/Data/TroubleshootHTTPEventCollector):
 * 2 token required, 3 invalid authorization, 4 invalid token, 1 token disabled (the connector is
 * disabled), 5 no data, 6 invalid data format (with `invalid-event-number`), 12/13 event field
 * required / blank, 9 server busy (503 + Retry-After). Events before an invalid one are stored, as
 * HEC does. Every request counts against a per-address limit until its token is known, then
 * against the token's.
 */
import { JSONParser } from '@streamparser/json';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { PushMessage } from '../../adapters/spi.js';
import type { Logger } from '../../server/logger.js';
import type { IntakeOutcome, IntakeService, IntakeTarget } from './intake.service.js';

export interface IntakeAuthenticator {
  authenticate(token: string): Promise<{ tokenId: string; tenantId: string; connectorId: string } | null>;
}

export interface IntakeRouteOptions {
  intake: IntakeService;
  tokens: IntakeAuthenticator;
  logger: Logger;
  /** Largest request body, in bytes. */
  maxBodyBytes: number;
  /** Requests per token per minute (0: no limit). */
  requestsPerMinute: number;
  /** Requests per minute from one address without a valid token. */
  anonymousPerMinute: number;
}

type HecAnswer = { text: string; code: number; 'invalid-event-number'?: number };

const HEC = {
  success: { status: 200, body: { text: 'Success', code: 0 } },
  disabled: { status: 403, body: { text: 'Token disabled', code: 1 } },
  tokenRequired: { status: 401, body: { text: 'Token is required', code: 2 } },
  invalidAuthorization: { status: 401, body: { text: 'Invalid authorization', code: 3 } },
  invalidToken: { status: 403, body: { text: 'Invalid token', code: 4 } },
  noData: { status: 400, body: { text: 'No data', code: 5 } },
  busy: { status: 503, body: { text: 'Server is busy', code: 9 } },
  healthy: { status: 200, body: { text: 'HEC is healthy', code: 17 } },
} as const;

function invalid(text: string, code: number, index: number): { status: number; body: HecAnswer } {
  return { status: 400, body: { text, code, 'invalid-event-number': index } };
}

/** The token of `Authorization: Splunk <token>` (or Bearer): a string, 'missing', or 'malformed'. */
function tokenOf(request: FastifyRequest): string | 'missing' | 'malformed' {
  const header = request.headers.authorization;
  if (header === undefined) return 'missing';
  const match = /^(Splunk|Bearer)\s+(\S{1,512})$/i.exec(String(header));
  return match ? match[2]! : 'malformed';
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value ? value.slice(0, 512) : null;
}

/** HEC `time`: epoch seconds (number or string, with decimals). */
function hecTime(value: unknown): string | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  return Number.isFinite(n) ? new Date(n * 1000).toISOString() : null;
}

function message(request: FastifyRequest, fields: Partial<PushMessage>): PushMessage {
  return {
    transport: 'hec',
    remoteAddress: request.ip,
    receivedAt: new Date(),
    hostname: null,
    appName: null,
    timestamp: null,
    text: null,
    json: null,
    ...fields,
  };
}

/** Splits concatenated JSON values; the index of the first that is not valid JSON, if any. */
function splitConcatenated(body: string): { values: unknown[]; invalidAt: number | null } {
  const values: unknown[] = [];
  const parser = new JSONParser({ separator: '', paths: ['$'] });
  parser.onValue = ({ value }) => void values.push(value);
  try {
    parser.write(body);
    parser.end();
    return { values, invalidAt: null };
  } catch {
    return { values, invalidAt: values.length };
  }
}

/** Lines of a text body, without blank ones. */
function lines(body: string): string[] {
  return body.split(/\r?\n/).filter((line) => line.trim() !== '');
}

export async function registerIntakeRoutes(app: FastifyInstance, options: IntakeRouteOptions): Promise<void> {
  const perToken = options.requestsPerMinute > 0 ? new RateLimiterMemory({ keyPrefix: 'intake-token', points: options.requestsPerMinute, duration: 60 }) : null;
  const perAddress = new RateLimiterMemory({ keyPrefix: 'intake-anonymous', points: Math.max(1, options.anonymousPerMinute), duration: 60 });

  /** Counts the request; the answer to send when a limit is used up. */
  async function limited(limiter: RateLimiterMemory | null, key: string, reply: FastifyReply): Promise<boolean> {
    if (!limiter) return false;
    try {
      await limiter.consume(key);
      return false;
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) throw outcome;
      void reply.header('retry-after', String(Math.max(1, Math.ceil(outcome.msBeforeNext / 1000))));
      void reply.code(429).send({ text: 'Too many requests', code: 9 });
      return true;
    }
  }

  /** Authenticates; sends the refusal itself and returns null when the request may not go on. */
  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<IntakeTarget | null> {
    const token = tokenOf(request);
    if (token === 'missing' || token === 'malformed') {
      if (await limited(perAddress, request.ip, reply)) return null;
      const refusal = token === 'missing' ? HEC.tokenRequired : HEC.invalidAuthorization;
      void reply.code(refusal.status).send(refusal.body);
      return null;
    }
    // An address that used up its budget of bad tokens is refused before any lookup.
    const spent = await perAddress.get(request.ip);
    if (spent && spent.remainingPoints <= 0) {
      void reply.header('retry-after', String(Math.max(1, Math.ceil(spent.msBeforeNext / 1000))));
      void reply.code(429).send({ text: 'Too many requests', code: 9 });
      return null;
    }
    const found = await options.tokens.authenticate(token);
    if (!found) {
      if (await limited(perAddress, request.ip, reply)) return null;
      void reply.code(HEC.invalidToken.status).send(HEC.invalidToken.body);
      return null;
    }
    if (await limited(perToken, found.tokenId, reply)) return null;
    return { tenantId: found.tenantId, connectorId: found.connectorId };
  }

  function answer(reply: FastifyReply, outcome: IntakeOutcome, invalidAfter: { status: number; body: HecAnswer } | null) {
    switch (outcome.status) {
      case 'busy':
        void reply.header('retry-after', String(outcome.retryAfterSec));
        return reply.code(HEC.busy.status).send(HEC.busy.body);
      case 'disabled':
        return reply.code(HEC.disabled.status).send(HEC.disabled.body);
      case 'not_found':
      case 'not_push':
        // The token's connector is gone (purged) or no longer a push connector: the token is no use.
        return reply.code(HEC.invalidToken.status).send(HEC.invalidToken.body);
      case 'accepted': {
        if (invalidAfter) return reply.code(invalidAfter.status).send(invalidAfter.body);
        const [first] = outcome.rejected;
        if (first) return reply.code(400).send({ text: `Invalid data format: ${first.error}`.slice(0, 300), code: 6, 'invalid-event-number': first.index });
        return reply.code(HEC.success.status).send(HEC.success.body);
      }
    }
  }

  await app.register(async (scope) => {
    // Bodies are read as text here: HEC's are concatenated JSON, /raw and /intake are lines.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: options.maxBodyBytes }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ text: `Content length exceeds the limit of ${options.maxBodyBytes} bytes`, code: 27 });
      options.logger.error({ err: error, requestId: request.id }, 'intake request failed');
      return reply.code(500).send({ text: `Internal server error (request ${request.id})`, code: 8 });
    });

    const health = async (_request: FastifyRequest, reply: FastifyReply) => reply.code(HEC.healthy.status).send(HEC.healthy.body);
    scope.get('/services/collector/health', health);
    scope.get('/services/collector/health/1.0', health);

    const event = async (request: FastifyRequest, reply: FastifyReply) => {
      const target = await authenticate(request, reply);
      if (!target) return reply;
      const body = typeof request.body === 'string' ? request.body : '';
      if (!body.trim()) return reply.code(HEC.noData.status).send(HEC.noData.body);
      const { values, invalidAt } = splitConcatenated(body);
      const messages: PushMessage[] = [];
      let stop: { status: number; body: HecAnswer } | null = invalidAt !== null ? invalid('Invalid data format', 6, invalidAt) : null;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!v || typeof v !== 'object' || Array.isArray(v)) {
          stop = invalid('Invalid data format', 6, i);
          break;
        }
        const e = v as Record<string, unknown>;
        if (!('event' in e)) {
          stop = invalid('Event field is required', 12, i);
          break;
        }
        if (e.event === '' || e.event === null || (typeof e.event === 'object' && !Array.isArray(e.event) && Object.keys(e.event as object).length === 0)) {
          stop = invalid('Event field cannot be blank', 13, i);
          break;
        }
        const isObject = typeof e.event === 'object' && !Array.isArray(e.event);
        messages.push(
          message(request, {
            hostname: text(e.host),
            appName: text(e.source),
            timestamp: hecTime(e.time),
            text: isObject ? null : typeof e.event === 'string' ? e.event : JSON.stringify(e.event),
            json: isObject ? (e.event as Record<string, unknown>) : null,
          }),
        );
      }
      if (!messages.length) return reply.code((stop ?? HEC.noData).status).send((stop ?? HEC.noData).body);
      return answer(reply, await options.intake.submit(target, messages), stop);
    };
    for (const url of ['/services/collector/event', '/services/collector', '/services/collector/event/1.0']) scope.post(url, event);

    const raw = async (request: FastifyRequest, reply: FastifyReply) => {
      const target = await authenticate(request, reply);
      if (!target) return reply;
      const body = typeof request.body === 'string' ? request.body : '';
      const list = lines(body);
      if (!list.length) return reply.code(HEC.noData.status).send(HEC.noData.body);
      const query = request.query as Record<string, unknown>;
      const messages = list.map((line) => message(request, { text: line, hostname: text(query.host), appName: text(query.source) }));
      return answer(reply, await options.intake.submit(target, messages), null);
    };
    scope.post('/services/collector/raw', raw);
    scope.post('/services/collector/raw/1.0', raw);

    scope.post('/intake/:connectorId', async (request, reply) => {
      const target = await authenticate(request, reply);
      if (!target) return reply;
      // The token names its connector: another connector's id in the path is not this token's.
      if ((request.params as { connectorId: string }).connectorId !== target.connectorId) {
        return reply.code(403).send({ error: { code: 'FORBIDDEN', message: 'this intake token belongs to another connector' } });
      }
      const list = lines(typeof request.body === 'string' ? request.body : '');
      if (!list.length) return reply.code(400).send({ error: { code: 'BAD_USER_INPUT', message: 'the body has no lines' } });
      const ndjson = /json/i.test(String(request.headers['content-type'] ?? ''));
      const messages: PushMessage[] = [];
      for (let i = 0; i < list.length; i++) {
        if (!ndjson) {
          messages.push(message(request, { transport: 'http', text: list[i]! }));
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(list[i]!);
        } catch {
          value = undefined;
        }
        if (!value || typeof value !== 'object' || Array.isArray(value)) {
          return reply.code(400).send({ error: { code: 'BAD_USER_INPUT', message: `line ${i + 1} is not a JSON object; nothing was stored` } });
        }
        messages.push(message(request, { transport: 'http', json: value as Record<string, unknown> }));
      }
      const outcome = await options.intake.submit(target, messages);
      switch (outcome.status) {
        case 'busy':
          void reply.header('retry-after', String(outcome.retryAfterSec));
          return reply.code(503).send({ error: { code: 'RATE_LIMITED', message: 'the intake is busy: retry after the Retry-After delay' } });
        case 'disabled':
          return reply.code(409).send({ error: { code: 'CONNECTOR_DISABLED', message: 'the connector is disabled: it takes nothing until it is enabled' } });
        case 'not_found':
        case 'not_push':
          return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no push connector for this token' } });
        case 'accepted':
          return reply.code(200).send({
            accepted: outcome.accepted,
            duplicates: outcome.duplicates,
            rejected: outcome.rejected.map((r) => ({ line: r.index + 1, error: r.error })),
          });
      }
    });
  });
}
