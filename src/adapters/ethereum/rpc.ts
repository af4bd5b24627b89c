/**
 * A small JSON-RPC 2.0 client over the shared HTTP client: one call, or many in JSON-RPC batch
 * arrays of at most `rpcBatchSize` calls per HTTP request. Every request is a POST marked
 * idempotent (reads only), so the HTTP client retries transient failures and waits out
 * `Retry-After` on 429/503; the egress guard applies to the node's address like to any upstream.
 *
 * Failures, mapped onto connector errors ({@link RpcError} keeps the JSON-RPC code):
 *
 * | node answer                                                      | code            | kind |
 * |------------------------------------------------------------------|-----------------|------|
 * | HTTP 401/403, or an error saying unauthorized / invalid key      | AUTH_FAILED     | auth |
 * | HTTP 429, -32005 (EIP-1474 "limit exceeded") not about a range,   | RATE_LIMITED    | rate_limited |
 * |   or a message saying rate limit / too many requests             |                 |      |
 * | a range or result-size limit of eth_getLogs (-32005 "query        | CONFIG_INVALID  | range_too_large (the reader halves the range) |
 * |   returned more than 10000 results", "block range too large", …) |                 |      |
 * | -32601, or "method … does not exist/is not available"            | CONFIG_INVALID  | method_not_found |
 * | -32602 invalid params                                            | CONFIG_INVALID  | invalid_params |
 * | -32000…-32099 other server errors ("header not found", …)        | UNREACHABLE     | server (retryable) |
 * | anything else, or a body that is not JSON-RPC                    | BAD_RESPONSE    | other |
 *
 * Messages quote the node's error message (one line, at most 200 characters, scrubbed of the
 * credentials), never its `data` or `stack` (ganache sends a stack trace).
 */
import type { ConnectorErrorCode } from '../../errors/connector-error.js';
import { authorize } from '../http/auth.js';
import type { AuthInput } from '../http/auth.js';
import { HttpClientError, errorForStatus, parseRetryAfter, scrubSecrets } from '../http/client.js';
import type { HttpResponse, RequestTimings } from '../http/client.js';
import type { AdapterContext, ConnectionInput } from '../spi.js';
import type { EthereumConfig } from './config.js';

const MiB = 1024 * 1024;
/** Blocks with full transactions run to a few hundred kilobytes each; a batch of them needs room. */
export const RPC_MAX_RESPONSE_BYTES = 64 * MiB;

/** `format`: an answer that is JSON-RPC but not the shape the method returns (the check's VALIDATE_FORMAT). */
export type RpcErrorKind = 'auth' | 'rate_limited' | 'range_too_large' | 'method_not_found' | 'invalid_params' | 'server' | 'format' | 'other';

export interface RpcCall {
  method: string;
  params: unknown[];
}

/** A JSON-RPC error object (or an HTTP failure carrying one), as a connector error. */
export class RpcError extends HttpClientError {
  readonly kind: RpcErrorKind;
  readonly rpcCode: number | undefined;
  readonly method: string;

  constructor(
    code: ConnectorErrorCode,
    message: string,
    options: ConstructorParameters<typeof HttpClientError>[2] & { kind: RpcErrorKind; rpcCode?: number; method: string },
  ) {
    super(code, message, options);
    this.name = 'RpcError';
    this.kind = options.kind;
    this.rpcCode = options.rpcCode;
    this.method = options.method;
  }
}

const RANGE_TOO_LARGE =
  /block range|range (is )?too (large|wide|big)|more than \d+ (results|logs|blocks)|query returned more than|response size|too many (results|logs|blocks)|exceeds? (the )?max(imum)? (block )?range|range limit|limited to (a )?\d+[ -]block|max(imum)? (block )?range/i;
const RATE_LIMIT = /rate[ -]?limit|too many requests|request limit|capacity|compute units|throughput|exceeded .*quota|daily limit|per second/i;
const AUTH = /unauthori[sz]ed|must be authenticated|authentication|invalid (api[ -]?)?key|api[ -]?key|invalid project id|project id|forbidden|access denied|invalid token|jwt/i;
const METHOD_NOT_FOUND = /method .*(does not exist|not (available|supported|found|allowed))|unsupported method|not whitelisted/i;

/** The node's message, made safe to show: one line, bounded, scrubbed. */
export function safeMessage(raw: unknown, secrets: readonly string[]): string {
  const text = typeof raw === 'string' ? raw : '';
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 200);
  return scrubSecrets(line || '(no message)', secrets);
}

/** Classifies a JSON-RPC error object (`code`, `message`) answering `method`. */
export function classifyRpcError(code: unknown, message: string, httpStatus?: number): { kind: RpcErrorKind; connectorCode: ConnectorErrorCode } {
  const c = typeof code === 'number' ? code : undefined;
  if (httpStatus === 401 || httpStatus === 403 || AUTH.test(message)) return { kind: 'auth', connectorCode: 'AUTH_FAILED' };
  if (RANGE_TOO_LARGE.test(message)) return { kind: 'range_too_large', connectorCode: 'CONFIG_INVALID' };
  if (httpStatus === 429 || c === -32005 || c === 429 || RATE_LIMIT.test(message)) return { kind: 'rate_limited', connectorCode: 'RATE_LIMITED' };
  if (c === -32601 || METHOD_NOT_FOUND.test(message)) return { kind: 'method_not_found', connectorCode: 'CONFIG_INVALID' };
  if (c === -32602) return { kind: 'invalid_params', connectorCode: 'CONFIG_INVALID' };
  if (c !== undefined && c <= -32000 && c >= -32099) return { kind: 'server', connectorCode: 'UNREACHABLE' };
  return { kind: 'other', connectorCode: 'BAD_RESPONSE' };
}

function describeKind(kind: RpcErrorKind): string {
  switch (kind) {
    case 'auth':
      return 'refused the credentials';
    case 'rate_limited':
      return 'is rate limiting requests';
    case 'range_too_large':
      return 'refused the block range as too large';
    case 'method_not_found':
      return 'does not serve the method';
    case 'invalid_params':
      return 'refused the parameters';
    case 'server':
      return 'failed to answer';
    default:
      return 'answered with an error';
  }
}

interface RpcResponseObject {
  jsonrpc?: unknown;
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown } | null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** What the check needs of the first exchange: how long the phases took and how many requests were sent. */
export interface RpcExchange {
  timings: RequestTimings;
  status: number;
  attempts: number;
}

export class RpcClient {
  private nextId = 1;
  /** HTTP requests sent (for tests and messages). */
  requests = 0;
  /** The first HTTP exchange that got an answer (the check reports its phases). */
  first: RpcExchange | null = null;
  readonly host: string;

  constructor(
    private readonly ctx: AdapterContext,
    private readonly cfg: EthereumConfig,
    private readonly input: ConnectionInput,
  ) {
    this.host = new URL(cfg.rpcUrl).host;
  }

  authInput(): AuthInput {
    return { authType: this.input.authType, credentials: this.input.credentials ?? {}, settings: { apiKeyHeader: this.cfg.apiKeyHeader } };
  }

  /** One call; throws {@link RpcError} / HttpClientError. */
  async call<T>(method: string, params: unknown[]): Promise<T> {
    const [result] = await this.batch<T>([{ method, params }]);
    return result as T;
  }

  /**
   * Many calls, in order; sent as JSON-RPC batch arrays of at most `rpcBatchSize` calls (a lone call
   * as a plain request object). The first error of any call fails the whole batch.
   */
  async batch<T>(calls: readonly RpcCall[]): Promise<T[]> {
    const out: T[] = [];
    const size = Math.max(1, this.cfg.rpcBatchSize);
    for (let i = 0; i < calls.length; i += size) out.push(...(await this.send<T>(calls.slice(i, i + size))));
    return out;
  }

  private async send<T>(calls: readonly RpcCall[]): Promise<T[]> {
    if (!calls.length) return [];
    const payload = calls.map((c) => ({ jsonrpc: '2.0', id: this.nextId++, method: c.method, params: c.params }));
    const single = payload.length === 1;
    const { request } = await authorize(this.ctx, this.authInput(), {
      method: 'POST',
      url: this.cfg.rpcUrl,
      json: single ? payload[0] : payload,
      signal: this.ctx.signal,
      timeoutMs: this.cfg.timeoutMs,
      maxResponseBytes: RPC_MAX_RESPONSE_BYTES,
      throwHttpErrors: false,
      idempotent: true,
    });
    const secrets = request.secrets;
    this.requests++;
    const res: HttpResponse<unknown> = await this.ctx.http.request<unknown>(request);
    this.first ??= { timings: res.timings, status: res.status, attempts: res.attempts };
    const methodOf = (id: unknown) => payload.find((p) => p.id === id)?.method ?? calls[0]!.method;
    const base = { status: res.status, timings: res.timings, attempts: res.attempts };

    if (res.status < 200 || res.status >= 300) {
      // A JSON-RPC error in a non-2xx body says more than the status (except for 401/403/429).
      const body = Array.isArray(res.body) ? res.body[0] : res.body;
      const error = isObject(body) && isObject(body.error) ? body.error : null;
      if (error && res.status !== 429) throw this.rpcError(methodOf((body as RpcResponseObject).id), error, secrets, { ...base, phase: 'response' });
      const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
      const err = errorForStatus(res.status, res.url, secrets, { timings: res.timings, attempts: res.attempts, retryAfterMs });
      throw err;
    }

    const answers = single && isObject(res.body) ? [res.body] : res.body;
    if (!Array.isArray(answers)) {
      // A batch answered with one error object: the node refused the batch as a whole.
      if (isObject(answers) && isObject(answers.error)) throw this.rpcError(calls[0]!.method, answers.error, secrets, { ...base, phase: 'body' });
      throw new RpcError('BAD_RESPONSE', `${this.host} did not answer with a JSON-RPC 2.0 response`, { ...base, phase: 'body', kind: 'other', method: calls[0]!.method });
    }
    const byId = new Map<unknown, RpcResponseObject>();
    for (const a of answers) if (isObject(a)) byId.set(a.id, a as RpcResponseObject);
    const results: T[] = [];
    for (const p of payload) {
      const answer = byId.get(p.id);
      if (!answer) {
        throw new RpcError('BAD_RESPONSE', `${this.host} answered no result for ${p.method} (a JSON-RPC ${single ? 'response' : 'batch'} without id ${p.id})`, {
          ...base,
          phase: 'body',
          kind: 'other',
          method: p.method,
        });
      }
      if (answer.error !== undefined && answer.error !== null) {
        throw this.rpcError(p.method, isObject(answer.error) ? answer.error : {}, secrets, { ...base, phase: 'body' });
      }
      if (!('result' in answer)) {
        throw new RpcError('BAD_RESPONSE', `${this.host} answered ${p.method} with neither result nor error`, { ...base, phase: 'body', kind: 'other', method: p.method });
      }
      results.push(answer.result as T);
    }
    return results;
  }

  private rpcError(
    method: string,
    error: { code?: unknown; message?: unknown },
    secrets: readonly string[],
    base: { status: number; timings: RequestTimings; attempts: number; phase: 'response' | 'body' },
  ): RpcError {
    const message = safeMessage(error.message, secrets);
    const { kind, connectorCode } = classifyRpcError(error.code, message, base.status);
    const code = typeof error.code === 'number' && Number.isFinite(error.code) ? error.code : undefined;
    // An authentication refusal belongs to the response phase whatever the status (the check's AUTHENTICATE step).
    const phase = kind === 'auth' ? 'response' : base.phase;
    return new RpcError(connectorCode, `${this.host} ${describeKind(kind)} (${method}${code !== undefined ? `, JSON-RPC error ${code}` : ''}): ${message}`, {
      ...base,
      phase,
      kind,
      rpcCode: code,
      method,
      retryable: kind === 'rate_limited' || kind === 'server' ? true : undefined,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Quantities and shapes

const QUANTITY = /^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$/;
const HASH32 = /^0x[0-9a-fA-F]{64}$/;
const HEX_DATA = /^0x([0-9a-fA-F]{2})*$/;

export function isQuantity(v: unknown): v is string {
  return typeof v === 'string' && QUANTITY.test(v);
}
export function isHash(v: unknown): v is string {
  return typeof v === 'string' && HASH32.test(v);
}
export function isHexData(v: unknown): v is string {
  return typeof v === 'string' && HEX_DATA.test(v);
}

/** A JSON-RPC quantity as a safe integer (block numbers, chain ids, indexes). */
export function quantityToNumber(v: unknown, what: string): number {
  if (!isQuantity(v)) throw formatError(`The node answered an invalid ${what} (expected a hex quantity)`, what);
  const n = Number.parseInt(v.slice(2), 16);
  if (!Number.isSafeInteger(n)) throw formatError(`The node answered an out-of-range ${what}`, what);
  return n;
}

export const toQuantity = (n: number): string => `0x${n.toString(16)}`;

/** An answer of the wrong shape: BAD_RESPONSE, attributed to VALIDATE_FORMAT by the check. */
export function formatError(message: string, method: string): RpcError {
  return new RpcError('BAD_RESPONSE', message, { phase: 'body', kind: 'format', method });
}
