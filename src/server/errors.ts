import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { QueryLimits } from '../config.js';
import { AppError, isErrorCode } from '../errors/app-error.js';
import type { Logger } from './logger.js';
import { builtInLimitError } from './query-limits.js';
import { currentRequestId } from './request-scope.js';

/** Apollo's own codes for a request that could not be parsed, validated or coerced. */
const INPUT_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE', 'PERSISTED_QUERY_NOT_SUPPORTED', 'PERSISTED_QUERY_NOT_FOUND']);

/** Refusals of what this subgraph does not serve at all (a method, subscriptions): logged at info, never at error. */
const LOGGED_REFUSALS = new Set<string>(['METHOD_NOT_ALLOWED', 'SUBSCRIPTIONS_NOT_SUPPORTED']);

/**
 * Keeps the closed set of `extensions.code` (ERROR_CODES): expected errors pass through, Apollo's
 * 405 becomes METHOD_NOT_ALLOWED, request errors become BAD_USER_INPUT, anything else is masked to
 * INTERNAL_SERVER_ERROR with the request id and logged.
 */
export function createErrorFormatter(logger: Logger, limits: QueryLimits) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    let original = unwrapResolverError(error);
    // A refusal reported by a validation rule arrives wrapped in Apollo's ValidationError.
    if (original instanceof GraphQLError && original.originalError instanceof AppError) original = original.originalError;
    const code = formatted.extensions?.code;
    if (original instanceof AppError) {
      const { http: _http, ...extensions } = original.extensions;
      if (LOGGED_REFUSALS.has(original.code)) logger.info({ err: original.message, code: original.code, requestId: currentRequestId() }, 'request refused');
      return { message: original.message, locations: formatted.locations, path: formatted.path, extensions };
    }
    // Apollo's own 405 (a mutation or subscription sent with GET): its status and Allow header stay.
    if (original instanceof GraphQLError && (original.extensions.http as { status?: number } | undefined)?.status === 405) {
      logger.info({ err: formatted.message, code: 'METHOD_NOT_ALLOWED', requestId: currentRequestId() }, 'request refused');
      return { message: formatted.message, extensions: { code: 'METHOD_NOT_ALLOWED' } };
    }
    const tooLarge = code === 'GRAPHQL_PARSE_FAILED' || code === 'GRAPHQL_VALIDATION_FAILED' ? builtInLimitError(formatted.message, limits) : null;
    if (tooLarge) {
      const { http: _http, ...extensions } = tooLarge.extensions;
      return { message: tooLarge.message, extensions };
    }
    if (typeof code === 'string' && INPUT_CODES.has(code)) {
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code: 'BAD_USER_INPUT' } };
    }
    if (isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR') return { ...formatted, extensions: { code } };
    const requestId = currentRequestId();
    logger.error({ err: original, requestId, path: formatted.path }, 'unexpected error');
    return {
      message: `Internal server error (request ${requestId ?? 'unknown'})`,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
    };
  };
}
