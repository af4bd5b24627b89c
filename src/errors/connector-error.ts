/** Failure codes of the adapter layer; mapped onto test steps and health, never onto GraphQL errors. */
export const CONNECTOR_ERROR_CODES = [
  'AUTH_FAILED',
  'RATE_LIMITED',
  'UNREACHABLE',
  'TIMEOUT',
  'BAD_RESPONSE',
  'CONFIG_INVALID',
  'EGRESS_DENIED',
] as const;
export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[number];

export interface ConnectorErrorOptions {
  retryable?: boolean;
  retryAfterMs?: number;
  /** HTTP status of the upstream response, when there was one. */
  status?: number;
  cause?: unknown;
}

const DEFAULT_RETRYABLE: Record<ConnectorErrorCode, boolean> = {
  AUTH_FAILED: false,
  RATE_LIMITED: true,
  UNREACHABLE: true,
  TIMEOUT: true,
  BAD_RESPONSE: false,
  CONFIG_INVALID: false,
  EGRESS_DENIED: false,
};

/**
 * An upstream failure, already scrubbed: its message must be built without secret values and
 * without the request options (headers, URLs with credentials) of the call that failed.
 */
export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(code: ConnectorErrorCode, message: string, options: ConnectorErrorOptions = {}) {
    super(message);
    this.name = 'ConnectorError';
    this.code = code;
    this.retryable = options.retryable ?? DEFAULT_RETRYABLE[code];
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

export function isConnectorError(error: unknown): error is ConnectorError {
  return error instanceof ConnectorError;
}
