/**
 * A real OAuth 2.0 authorization server (`oidc-provider`) for the client-credentials grant, on
 * loopback: what the replicas accept access tokens from in tests and in `npm run replicas`.
 * Replicas check each token with it (`verify`), as a resource server introspecting would.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BearerVerifier } from './base.js';

interface ProviderLike {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  ClientCredentials: { find(token: string): Promise<{ isExpired: boolean } | undefined> };
}

export interface AuthorizationServer {
  /** The token endpoint (`tokenUrl`). */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  /** Counts of token requests answered. */
  tokenRequests(): number;
  verify: BearerVerifier;
  close(): Promise<void>;
}

export async function startAuthorizationServer(options: { ttlSec?: number; clientSecret?: string; port?: number } = {}): Promise<AuthorizationServer> {
  // A variable specifier keeps oidc-provider (a devDependency) out of the production import graph.
  const specifier: string = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as { default: new (issuer: string, config: unknown) => ProviderLike };
  const clientId = 'connector-subgraph';
  const clientSecret = options.clientSecret ?? 'replica-client-secret-0123456789abcdef';
  const scope = 'read';
  let requests = 0;
  let callback: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/token') requests++;
    callback!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope }],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    scopes: [scope],
    ttl: { ClientCredentials: options.ttlSec ?? 600 },
  });
  callback = provider.callback();
  return {
    tokenUrl: `${issuer}/token`,
    clientId,
    clientSecret,
    scope,
    tokenRequests: () => requests,
    verify: async (token) => {
      const grant = await provider.ClientCredentials.find(token);
      return grant !== undefined && !grant.isExpired;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
