/**
 * Errors raised by the store, each with a stable `code` (lowercase snake_case, like every code the
 * tool emits) that callers branch on, never the message.
 *
 * Messages name the collection/field involved but never a value (values may be secrets or tokens).
 */
export type StoreErrorCode =
  | 'provider_not_deployed' // ltijs called the plugin before setup() or after Close()
  | 'store_not_migrated' // the tables are missing: migrateToLatest() was not run
  | 'missing_collection'
  | 'missing_params'
  | 'unknown_collection'
  | 'unknown_field' // a query/item/index/modification field the collection does not have
  | 'unsupported_query_value' // operators ({$in: …}) or values of the wrong type
  | 'empty_query' // Delete with {} would wipe a collection; ltijs never asks for that
  | 'missing_field' // a key field needed to store the row is absent
  | 'replace_needs_unique_key' // Replace's query must name exactly one unique key (atomic upsert)
  | 'replace_key_mismatch' // the item contradicts the query it replaces
  | 'not_encrypted_collection'
  | 'encryption_key_required'
  | 'duplicate_key'
  | 'nonce_already_received' // a replayed nonce; the message is ltijs's own NONCE_ALREADY_RECEIVED
  | 'invalid_argument'
  | 'invalid_settings'
  | 'registration_exists' // Dynamic Registration would take over an issuer + client id already registered
  | 'invalid_placement'
  | 'database_unavailable'; // the server refused or dropped the connection (see isDatabaseUnavailable)

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** PostgreSQL SQLSTATEs we translate into StoreError codes. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_CHECK_VIOLATION = '23514';

export function pgErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/**
 * ltijs reports a failed session read as an invalid token and passes on nothing but the error's
 * message, so a database outage must be recognisable by the message alone (src/web/launchErrors.ts).
 * The message starts with this code; the driver's own words follow, for the log.
 */
export const DATABASE_UNAVAILABLE = 'database_unavailable';

/** SQLSTATE classes and codes that mean "the server is not there for us now", not "the query is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4])/;
/** 55000 covers other things too; only its "database … is not currently accepting connections" is an outage. */
const NOT_ACCEPTING = /not currently accepting connections/;
const NODE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** node-postgres's own words for a lost or unobtainable connection (they carry no code). */
const PG_CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end)/;

/** Whether an error from the driver (or a StoreError wrapping one) means the database is unreachable. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof StoreError && e.code === 'database_unavailable') return true;
    if (typeof e !== 'object') return false;
    const code = pgErrorCode(e);
    const message = e instanceof Error ? e.message : '';
    if (code && (UNAVAILABLE_SQLSTATE.test(code) || NODE_NETWORK_CODES.has(code))) return true;
    if (code === '55000' && NOT_ACCEPTING.test(message)) return true;
    if (PG_CONNECTION_MESSAGES.test(message)) return true;
    // AggregateError (a dual-stack connect that failed on every address) keeps its reasons here.
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((x) => isDatabaseUnavailable(x))) return true;
  }
  return false;
}

/** The error ltijs will see when the database is unreachable: recognisable by its message. */
export function databaseUnavailable(cause: unknown): StoreError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StoreError('database_unavailable', `${DATABASE_UNAVAILABLE}: ${detail.slice(0, 300)}`, { cause });
}
