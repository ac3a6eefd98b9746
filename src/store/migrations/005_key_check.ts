/**
 * The `key_check` table: a value encrypted under ENCRYPTION_KEY when a database is first used, so
 * that an instance started with another key can tell at start-up (and /healthz while it runs) that
 * it cannot read what is stored, instead of failing on the first page that needs a secret.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE key_check (
    id text PRIMARY KEY,
    value_encrypted text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS key_check`.execute(db);
}
