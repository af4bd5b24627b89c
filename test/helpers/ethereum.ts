/**
 * A real local Ethereum node (ganache, replicas/ethereum.ts) on loopback, driven with viem, and a
 * small JSON-RPC proxy in front of it that records every request and can stand in for a hosted node's manners: a bearer
 * token it requires, a cap on eth_getLogs ranges (answered the way Infura does), a rate limit
 * (HTTP 429 or JSON-RPC -32005), and a method renamed so that the node itself answers "does not
 * exist". Everything else is forwarded to ganache untouched.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export { startEthNode, type EthNode } from '../../replicas/ethereum.js';

export interface ProxiedCall {
  method: string;
  params: unknown[];
}

export interface ProxyRequest {
  /** The JSON-RPC calls of one HTTP request; `batch` when they came as a JSON-RPC batch array. */
  calls: ProxiedCall[];
  batch: boolean;
  authorization: string | undefined;
  status: number;
  /** The request target: path and query. */
  url: string;
}

export interface RpcProxy {
  url: string;
  requests: ProxyRequest[];
  /** Require `Authorization: Bearer <token>` (401 with a JSON-RPC error otherwise); null: none. */
  bearer: string | null;
  /** Refuse eth_getLogs ranges wider than this many blocks, as Infura refuses too many results. */
  maxLogRange: number | null;
  /** The next `n` requests: HTTP 429 with Retry-After, or a JSON-RPC -32005 rate-limit error. */
  rateLimitNext(n: number, how: { http429RetryAfterSec: number } | 'jsonrpc'): void;
  /** Calls of this method are forwarded under another name, so the node itself answers "method does not exist". */
  breakMethod: string | null;
  clear(): void;
  close(): Promise<void>;
}

const rpcError = (id: unknown, code: number, message: string) => ({ jsonrpc: '2.0', id: id ?? null, error: { code, message } });

export async function startRpcProxy(target: string): Promise<RpcProxy> {
  const limited: Array<{ http429RetryAfterSec: number } | 'jsonrpc'> = [];
  const proxy: RpcProxy = {
    url: '',
    requests: [],
    bearer: null,
    maxLogRange: null,
    breakMethod: null,
    rateLimitNext(n, how) {
      for (let i = 0; i < n; i++) limited.push(how);
    },
    clear() {
      this.requests.length = 0;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    const batch = Array.isArray(body);
    const items = (batch ? body : [body]) as Array<{ id: unknown; method: string; params: unknown[] }>;
    const seen: ProxyRequest = { calls: items.map((i) => ({ method: i.method, params: i.params })), batch, authorization: req.headers.authorization, status: 200, url: req.url ?? '' };
    proxy.requests.push(seen);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      seen.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (proxy.bearer !== null && req.headers.authorization !== `Bearer ${proxy.bearer}`) {
      return send(401, rpcError(items[0]?.id, -32600, 'Unauthorized: invalid API key'));
    }
    const limit = limited.shift();
    if (limit === 'jsonrpc') {
      const answers = items.map((i) => rpcError(i.id, -32005, 'daily request count exceeded, request rate limited'));
      return send(200, batch ? answers : answers[0]);
    }
    if (limit) return send(429, rpcError(items[0]?.id, -32005, 'Too Many Requests'), { 'retry-after': String(limit.http429RetryAfterSec) });
    // Refused calls are answered here; the rest go to the node in one request.
    const answers = new Map<unknown, unknown>();
    const forward: typeof items = [];
    for (const item of items) {
      if (item.method === 'eth_getLogs' && proxy.maxLogRange !== null) {
        const f = item.params[0] as { fromBlock: string; toBlock: string };
        if (Number(f.toBlock) - Number(f.fromBlock) + 1 > proxy.maxLogRange) {
          answers.set(item.id, rpcError(item.id, -32005, 'query returned more than 10000 results'));
          continue;
        }
      }
      forward.push(item.method === proxy.breakMethod ? { ...item, method: `${item.method}_unavailable` } : item);
    }
    if (forward.length) {
      const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(forward) });
      for (const a of (await upstream.json()) as Array<{ id: unknown; error?: { code: number; message: string } }>) {
        // The node's own answer, minus the stack trace ganache adds to errors.
        answers.set(a.id, a.error ? rpcError(a.id, a.error.code, a.error.message) : a);
      }
    }
    const ordered = items.map((i) => answers.get(i.id));
    send(200, batch ? ordered : ordered[0]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
