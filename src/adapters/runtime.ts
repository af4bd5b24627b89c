import { performance } from 'node:perf_hooks';
import { createOAuthTokenCache, type OAuthTokenCache } from './http/auth.js';
import { createHttpClient, type HttpClient } from './http/client.js';
import type { AdapterContext, OAuthTokenInfo } from './spi.js';

/** How one outbound call made for a provider ended (metrics): its final status, or its failure code. */
export type OutboundMeter = (provider: string, outcome: { status: number | null; code: string | null; seconds: number }) => void;

/** What every adapter call in this process shares: one HTTP client and one OAuth token cache. */
export interface AdapterRuntime {
  http: HttpClient;
  oauthTokens: OAuthTokenCache;
  /** Told of every call made through a context that names its provider (src/observability/metrics.ts). */
  meter: OutboundMeter | null;
  context(options?: { signal?: AbortSignal; onOAuthToken?: (info: OAuthTokenInfo) => void; provider?: string }): AdapterContext;
  close(): void;
}

/** The client, with each call's outcome reported to `meter` under `provider`. */
function metered(http: HttpClient, provider: string, meter: OutboundMeter): HttpClient {
  return {
    ...http,
    async request(req) {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const response = await http.request(req);
        meter(provider, { status: response.status, code: null, seconds: seconds() });
        return response;
      } catch (error) {
        const e = error as { status?: unknown; code?: unknown };
        meter(provider, { status: typeof e.status === 'number' ? e.status : null, code: typeof e.code === 'string' ? e.code : null, seconds: seconds() });
        throw error;
      }
    },
  } as HttpClient;
}

export function createAdapterRuntime(options: { egressAllow: string[] }): AdapterRuntime {
  const http = createHttpClient({ egressAllow: options.egressAllow });
  const oauthTokens = createOAuthTokenCache();
  const runtime: AdapterRuntime = {
    http,
    oauthTokens,
    meter: null,
    context: ({ signal, onOAuthToken, provider } = {}) => ({
      http: provider && runtime.meter ? metered(http, provider, runtime.meter) : http,
      oauthTokens,
      signal,
      onOAuthToken,
    }),
    close: () => http.close(),
  };
  return runtime;
}
