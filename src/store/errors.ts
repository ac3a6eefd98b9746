/**
 * Errors raised by the store. Callers branch on `code` (stable), never on the message.
 * Messages name the collection/field involved but never a value (values may be secrets or tokens).
 */
export type StoreErrorCode =
  | 'PROVIDER_NOT_DEPLOYED' // ltijs called the plugin before setup() or after Close()
  | 'STORE_NOT_MIGRATED' // the tables are missing: migrateToLatest() was not run
  | 'MISSING_COLLECTION'
  | 'MISSING_PARAMS'
  | 'UNKNOWN_COLLECTION'
  | 'UNKNOWN_FIELD' // a query/item/index/modification field the collection does not have
  | 'UNSUPPORTED_QUERY_VALUE' // operators ({$in: …}) or values of the wrong type
  | 'EMPTY_QUERY' // Delete with {} would wipe a collection; ltijs never asks for that
  | 'MISSING_FIELD' // a key field needed to store the row is absent
  | 'REPLACE_NEEDS_UNIQUE_KEY' // Replace's query must name exactly one unique key (atomic upsert)
  | 'REPLACE_KEY_MISMATCH' // the item contradicts the query it replaces
  | 'NOT_ENCRYPTED_COLLECTION'
  | 'ENCRYPTION_KEY_REQUIRED'
  | 'DUPLICATE_KEY'
  | 'NONCE_ALREADY_RECEIVED' // same name ltijs uses for a replayed nonce
  | 'INVALID_ARGUMENT'
  | 'INVALID_SETTINGS';

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
