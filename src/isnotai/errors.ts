/**
 * Typed errors of the isnotai client, so that callers branch on the class or on the stable `code`,
 * never on a message.
 *
 * Every error names the endpoint (a path template such as `GET /v1/users/{userId}/sessions`, so a log
 * line never carries a user id) and, where one exists, the concrete request path.
 * None of them ever carries the API key.
 */

export type IsnotaiErrorCode =
  | 'config_invalid'
  | 'invalid_argument'
  | 'network_error'
  | 'timeout'
  | 'response_invalid'
  | 'pagination_repeated_cursor'
  | 'pagination_missing_cursor'
  | 'pagination_too_many_pages'
  | 'aborted'
  // Upstream codes arrive verbatim on IsnotaiApiError (e.g. 'unauthorized', 'not_found').
  | (string & {});

export class IsnotaiError extends Error {
  readonly code: IsnotaiErrorCode;
  constructor(code: IsnotaiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IsnotaiError';
    this.code = code;
  }
}

/** The client was configured wrongly (bad base URL, missing key, nonsensical timeout). */
export class IsnotaiConfigError extends IsnotaiError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('config_invalid', `isnotai client option "${option}": ${message}`);
    this.name = 'IsnotaiConfigError';
    this.option = option;
  }
}

/** A caller-side argument would produce an unsafe or meaningless request (e.g. a userId of ".."). */
export class IsnotaiArgumentError extends IsnotaiError {
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('invalid_argument', `${argument}: ${message}`);
    this.name = 'IsnotaiArgumentError';
    this.argument = argument;
  }
}

/** The API answered with a non-2xx status. Carries the envelope `{"error":{code,message,details}}`. */
export class IsnotaiApiError extends IsnotaiError {
  readonly status: number;
  readonly details: Record<string, unknown>;
  /** The upstream's own message, without our prefix. */
  readonly upstreamMessage: string;
  readonly endpoint: string;
  readonly path: string;
  /** Milliseconds the server asked us to wait (Retry-After), if it said so. */
  readonly retryAfterMs: number | undefined;
  /** How many attempts were made before giving up (1 = no retry). */
  attempts: number;
  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: Record<string, unknown>;
    endpoint: string;
    path: string;
    retryAfterMs?: number;
  }) {
    super(init.code, `isnotai ${init.endpoint} answered ${init.status} ${init.code}: ${init.message}`);
    this.name = 'IsnotaiApiError';
    this.status = init.status;
    this.details = init.details ?? {};
    this.upstreamMessage = init.message;
    this.endpoint = init.endpoint;
    this.path = init.path;
    this.retryAfterMs = init.retryAfterMs;
    this.attempts = 1;
  }
}

/** The connection failed (refused, reset, DNS, TLS) before a response arrived. */
export class IsnotaiNetworkError extends IsnotaiError {
  readonly endpoint: string;
  readonly path: string;
  attempts: number;
  constructor(endpoint: string, path: string, cause: unknown) {
    const why = cause instanceof Error ? `${(cause as { code?: string }).code ?? cause.name}: ${cause.message}` : String(cause);
    super('network_error', `isnotai ${endpoint} could not be reached (${why})`, { cause });
    this.name = 'IsnotaiNetworkError';
    this.endpoint = endpoint;
    this.path = path;
    this.attempts = 1;
  }
}

/** Connecting or the whole request took longer than the configured timeout. */
export class IsnotaiTimeoutError extends IsnotaiError {
  readonly endpoint: string;
  readonly path: string;
  readonly phase: 'connect' | 'request';
  readonly timeoutMs: number;
  attempts: number;
  constructor(endpoint: string, path: string, phase: 'connect' | 'request', timeoutMs: number, cause?: unknown) {
    super('timeout', `isnotai ${endpoint} timed out (${phase} timeout ${timeoutMs} ms)`, { cause });
    this.name = 'IsnotaiTimeoutError';
    this.endpoint = endpoint;
    this.path = path;
    this.phase = phase;
    this.timeoutMs = timeoutMs;
    this.attempts = 1;
  }
}

/** A 2xx body that is not JSON or does not match the documented shape: an upstream error. */
export class IsnotaiResponseError extends IsnotaiError {
  readonly endpoint: string;
  readonly path: string;
  readonly status: number;
  /** Human-readable list of what was wrong, e.g. `data[3].botScore: expected number, received string`. */
  readonly problems: string[];
  constructor(endpoint: string, path: string, status: number, problems: string[]) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; …and ${problems.length - 5} more` : '');
    super('response_invalid', `isnotai ${endpoint} returned a body that does not match the API documents: ${shown}`);
    this.name = 'IsnotaiResponseError';
    this.endpoint = endpoint;
    this.path = path;
    this.status = status;
    this.problems = problems;
  }
}

/** Pagination went wrong upstream: a repeated cursor (a loop), or hasMore without a cursor. */
export class IsnotaiPaginationError extends IsnotaiError {
  readonly endpoint: string;
  readonly pages: number;
  constructor(
    code: 'pagination_repeated_cursor' | 'pagination_missing_cursor' | 'pagination_too_many_pages',
    endpoint: string,
    pages: number,
    message: string,
  ) {
    super(code, `isnotai ${endpoint}: ${message} (after ${pages} page(s))`);
    this.name = 'IsnotaiPaginationError';
    this.endpoint = endpoint;
    this.pages = pages;
  }
}

/** The caller aborted the request through its own AbortSignal. Never retried. */
export class IsnotaiAbortError extends IsnotaiError {
  readonly endpoint: string;
  constructor(endpoint: string, cause?: unknown) {
    super('aborted', `isnotai ${endpoint} was aborted by the caller`, { cause });
    this.name = 'IsnotaiAbortError';
    this.endpoint = endpoint;
  }
}

/** Errors worth another attempt for an idempotent GET. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof IsnotaiNetworkError || error instanceof IsnotaiTimeoutError) return true;
  if (error instanceof IsnotaiApiError) return error.status === 429 || error.status === 502 || error.status === 503 || error.status === 504;
  return false;
}
