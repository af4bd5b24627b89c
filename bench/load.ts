/** One autocannon run against a target, with sub-millisecond latency percentiles. */
import autocannon from 'autocannon';
import { percentile } from './stats.js';

export interface LoadOptions {
  /** Base URL; requests go to `${url}/graphql`. */
  url: string;
  connections: number;
  durationSec: number;
  token: string;
  /** A fixed body for every request… */
  body?: string;
  /** …or one built per request. */
  setupRequest?: autocannon.Request['setupRequest'];
  onResponse?: autocannon.Request['onResponse'];
  /** Fixed-body runs: a response that does not pass counts as a mismatch (a GraphQL error, a changed page). */
  verifyBody?: (body: string) => boolean;
  /** Fixed rate: requests per second over all connections (autocannon overallRate); default as fast as answered. */
  overallRate?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /**
   * Quiet time after the run: requests in flight when autocannon stops are still being served;
   * the next run (or probe, or CPU reading) must not overlap them. Default 500 ms.
   */
  settleMs?: number;
}

export interface LoadResult {
  requests: number;
  durationSec: number;
  rps: number;
  /** Milliseconds, from autocannon's per-response times (hrtime), not its 1 ms-resolution histogram. */
  p50: number;
  p99: number;
  mean: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const finish = (result: autocannon.Result): LoadResult => {
    const sorted = Float64Array.from(latencies).sort();
    const total = latencies.length;
    const durationSec = (result.finish.getTime() - result.start.getTime()) / 1000;
    return {
      requests: total,
      durationSec,
      rps: total / durationSec,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      mean: total ? latencies.reduce((a, b) => a + b, 0) / total : NaN,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      mismatches: result.mismatches,
    };
  };
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${options.url}/graphql`,
        connections: options.connections,
        duration: options.durationSec,
        timeout: 30,
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}`, ...options.headers },
        ...(options.verifyBody ? { verifyBody: options.verifyBody } : {}),
        requests: [
          {
            method: 'POST',
            path: '/graphql',
            ...(options.body !== undefined ? { body: options.body } : {}),
            ...(options.setupRequest ? { setupRequest: options.setupRequest } : {}),
            ...(options.onResponse ? { onResponse: options.onResponse } : {}),
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const figures = finish(result);
        setTimeout(() => resolve(figures), options.settleMs ?? 500);
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
    });
  });
}
