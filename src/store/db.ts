/**
 * One PostgreSQL pool for the whole process, shared by Kysely (our tables) and the ltijs plugin
 * (ltijs's tables), and the migrations that create them.
 */
import { Kysely, Migrator, PostgresDialect, type MigrationResultSet } from 'kysely';
import type { Logger } from 'pino';
import pg from 'pg';
import { migrations } from './migrations';
import { StoreError } from './errors';
import type { Schema } from './schema';

export type StoreLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface OpenDatabaseOptions {
  url: string;
  /** Pool size; default 10. */
  max?: number;
  logger?: StoreLogger;
}

export interface Store {
  pool: pg.Pool;
  db: Kysely<Schema>;
  /** Ends the pool. Only the application calls this, once, at shutdown. */
  close(): Promise<void>;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Store> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.max ?? 10 });
  // An idle client losing its connection (server restart, network) emits 'error' on the pool;
  // unhandled, that would crash the process. The pool replaces the client on next use.
  pool.on('error', (err) =>
    options.logger?.error({ err: { message: err.message, code: (err as { code?: string }).code } }, 'idle PostgreSQL client error'),
  );
  // pg-pool listens only on idle clients: a client checked out (between a transaction's statements, or between
  // connect() and its first query) whose connection is lost emits 'error' with nobody listening, which would crash the
  // process. Every client gets a listener of its own; the lost client is no longer queryable, so the pool drops it on
  // release, and the query that was to use it fails as a database outage (a 503), never a crash.
  pool.on('connect', (client) => {
    client.on('error', (err) =>
      options.logger?.error({ err: { message: err.message, code: (err as { code?: string }).code } }, 'PostgreSQL connection lost'),
    );
  });
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  try {
    // Fail at start-up, with the server's own message, rather than on the first request.
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  let closed = false;
  return {
    pool,
    db,
    async close() {
      if (closed) return;
      closed = true;
      // Kysely's destroy() ends the pool it was given.
      await db.destroy();
    },
  };
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  readonly code = 'migration_failed';
  constructor(
    readonly migrationName: string | undefined,
    options: { cause?: unknown },
  ) {
    super(`Database migration ${migrationName ?? '(unknown)'} failed`, options);
  }
}

/**
 * Brings the schema to the latest migration. Safe when several processes start at once: Kysely's
 * Migrator creates its bookkeeping tables tolerantly and runs the migrations under a PostgreSQL
 * advisory lock (pg_advisory_lock), re-reading what has been applied once it holds it.
 */
export async function migrateToLatest(db: Kysely<Schema>, logger?: StoreLogger): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const result = await migrator.migrateToLatest();
  for (const r of result.results ?? []) {
    if (r.status === 'Success') logger?.info({ migration: r.migrationName }, 'migration applied');
  }
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new MigrationError(failed?.migrationName, { cause: result.error });
  }
  return result;
}

/** The migrations this version knows, oldest first. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(migrations);

/**
 * Takes the schema back down to `target` (one of MIGRATION_NAMES), running each later migration's
 * `down`, newest first, in the Migrator's transaction and lock. Returns the names it reverted.
 */
export async function migrateDownTo(db: Kysely<Schema>, target: string, logger?: StoreLogger): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const applied = (await migrator.getMigrations()).find((m) => m.name === target);
  if (!applied) throw new StoreError('invalid_argument', `${target} is not a migration of this version (${MIGRATION_NAMES.join(', ')})`);
  // Never forwards: a target the database has not reached would be migrated up to.
  if (!applied.executedAt) throw new StoreError('invalid_argument', `The database has not reached ${target}: there is nothing to revert`);
  const result = await migrator.migrateTo(target);
  const reverted = (result.results ?? []).filter((r) => r.direction === 'Down' && r.status === 'Success').map((r) => r.migrationName);
  for (const name of reverted) logger?.info({ migration: name }, 'migration reverted');
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new MigrationError(failed?.migrationName, { cause: result.error });
  }
  return reverted;
}
