import { pino, type Logger, type DestinationStream } from 'pino';
import { traceFields } from '../tracing/tracing.js';

export type { Logger };

/** Paths pino censors wherever they appear; secrets must never be logged in the first place. */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-vault-token"]',
  'credentials',
  '*.credentials',
  '*.password',
  '*.clientSecret',
  '*.apiKey',
  '*.token',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'connector-subgraph' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // trace_id / span_id of the active span (docs/tracing.md); nothing while tracing is off.
      mixin: traceFields,
    },
    destination,
  );
}
