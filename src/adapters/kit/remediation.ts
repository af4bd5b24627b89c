/**
 * The default remediation table: what a failed test step tells the user to do, by error code,
 * step and cause. Providers override what they know better (a manifest names the vendor's setting
 * for a refused credential).
 */
import type { ConnectorError } from '../../errors/connector-error.js';
import { HttpClientError } from '../http/client.js';
import type { AuthType, TestStepName } from '../spi.js';
import type { FailureCause } from './check-runner.js';

export function remediationFor(step: TestStepName, error: ConnectorError, authType: AuthType, cause?: FailureCause): string {
  const status = error.status;
  const tls = error instanceof HttpClientError && error.message.includes('TLS verification');
  switch (error.code) {
    case 'EGRESS_DENIED':
      return "The destination is a private, loopback, link-local or cloud-metadata address, which connectors may not reach. Use the provider's public address, or ask an operator to add it to EGRESS_ALLOW if it is an intended internal service.";
    case 'CONFIG_INVALID':
      if (cause === 'pointer') return 'Set recordsPointer to the JSON Pointer of the records array in the response (for example /data or /items).';
      if (cause === 'token') return 'Check tokenUrl, scope and tokenAuthMethod against the authorization server: it refused the token request as configured.';
      if (status === 404 || status === 410) return 'Check baseUrl and path: the API has no resource there.';
      if (status !== undefined) return 'Check path and query: the API refused the request as configured.';
      return "Fix the connector's configuration or credentials as the message says, then test again.";
    case 'AUTH_FAILED':
      if (cause === 'token') {
        return "The authorization server rejected the client credentials: check clientId, clientSecret and tokenAuthMethod, or rotate the connector's credentials.";
      }
      if (status === 403) return 'The credentials were accepted but lack permission for this endpoint: grant the account access to it, or change path.';
      switch (authType) {
        case 'API_KEY':
          return "The API key was rejected: check it (and apiKeyHeader or apiKeyQueryParam) or rotate the connector's credentials.";
        case 'BASIC':
          return "The username or password was rejected: check them or rotate the connector's credentials.";
        case 'BEARER':
          return "The bearer token was rejected or has expired: issue a new token and rotate the connector's credentials.";
        case 'OAUTH2_CLIENT_CREDENTIALS':
          return 'The API refused the access token: check that the client is granted the scope the API expects (scope), and that tokenUrl belongs to this API.';
        default:
          return 'The API requires authentication: choose an auth type and set the credentials.';
      }
    case 'RATE_LIMITED': {
      const wait = error.retryAfterMs !== undefined ? ` in ${Math.ceil(error.retryAfterMs / 1000)} s` : ' later';
      return `The API is rate limiting this client: test again${wait}, or raise syncIntervalSec to request less often.`;
    }
    case 'TIMEOUT':
      if (step === 'CONNECT') return 'The host did not accept a connection in time: check baseUrl (host and port) and firewalls, or raise timeoutMs.';
      return 'The API did not answer in time: check its status page, narrow the query, or raise timeoutMs.';
    case 'UNREACHABLE':
      if (tls) return "The server's TLS certificate could not be verified: it must be valid for the host and issued by a trusted CA.";
      if (status !== undefined) return 'The API is failing (server error): test again later and contact the provider if it persists.';
      if (cause === 'token') return 'The token endpoint could not be reached: check tokenUrl and that its host is reachable from the connector service.';
      return 'The host could not be reached: check baseUrl (host name, port, scheme) and DNS/firewall rules between the connector service and the API.';
    case 'BAD_RESPONSE':
      if (step === 'VALIDATE_FORMAT') return 'Point recordsPointer at an array of JSON objects in the response.';
      if (error.message.includes('limit')) return 'The response is too large: narrow the query (for example a smaller page size in query) so a page stays under the size limit.';
      if (error.message.includes('JSON')) return 'The endpoint must return JSON: check path and query (an HTML error or login page is a common cause).';
      return 'The API answered unexpectedly: check baseUrl, path and query.';
    default:
      return 'Test again; if it keeps failing, check the connector configuration.';
  }
}

