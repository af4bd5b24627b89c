import { GraphQLError } from 'graphql';

/** The closed set of `extensions.code` values clients may branch on (README, "Errors"). */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'VERSION_CONFLICT',
  'RATE_LIMITED',
  'QUERY_TOO_COMPLEX',
  /** An HTTP method /graphql does not serve (HTTP 405 with Allow), or GET for a mutation or subscription. */
  'METHOD_NOT_ALLOWED',
  /** A subscription operation: this subgraph serves queries and mutations only (HTTP 400). */
  'SUBSCRIPTIONS_NOT_SUPPORTED',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, QUERY_TOO_COMPLEX: 400, METHOD_NOT_ALLOWED: 405, SUBSCRIPTIONS_NOT_SUPPORTED: 400 };

/** A field-level problem reported with BAD_USER_INPUT. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * An expected error with a code from the closed set. Its message is shown to the client as is,
 * so it must never contain a secret value.
 */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    const status = HTTP_STATUS[code];
    super(message, { extensions: { code, ...extra, ...(status ? { http: { status } } : {}) } });
    this.code = code;
    this.name = 'AppError';
  }

  static notFound(what: string, id: string): AppError {
    return new AppError('NOT_FOUND', `${what} ${id} was not found`);
  }

  static badInput(message: string, fieldErrors?: FieldError[]): AppError {
    return new AppError('BAD_USER_INPUT', message, fieldErrors?.length ? { fieldErrors } : {});
  }

  static versionConflict(what: string, id: string, expected: number, actual: number): AppError {
    return new AppError(
      'VERSION_CONFLICT',
      `${what} ${id} is at version ${actual}, not ${expected}: reload it and try again`,
      { currentVersion: actual },
    );
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
