import { createOAuthTokenCache, type OAuthTokenCache } from './http/auth.js';
import { createHttpClient, type HttpClient } from './http/client.js';
import type { AdapterContext, OAuthTokenInfo } from './spi.js';

/** What every adapter call in this process shares: one HTTP client and one OAuth token cache. */
export interface AdapterRuntime {
  http: HttpClient;
  oauthTokens: OAuthTokenCache;
  context(options?: { signal?: AbortSignal; onOAuthToken?: (info: OAuthTokenInfo) => void }): AdapterContext;
  close(): void;
}

export function createAdapterRuntime(options: { egressAllow: string[] }): AdapterRuntime {
  const http = createHttpClient({ egressAllow: options.egressAllow });
  const oauthTokens = createOAuthTokenCache();
  return {
    http,
    oauthTokens,
    context: ({ signal, onOAuthToken } = {}) => ({ http, oauthTokens, signal, onOAuthToken }),
    close: () => http.close(),
  };
}
