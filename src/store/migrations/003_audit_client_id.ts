/**
 * Migration 003: adds the LMS registration's client id to the audit log, so admins see only their own
 * registration's entries.
 *
 * An LMS registration is (issuer, client id): every Canvas institution shares the issuer
 * https://canvas.instructure.com. The audit log kept only the issuer, so one institution's admins
 * could list another's entries. Rows written before this migration carry an empty client id and are
 * shown to no platform's admins (they remain in the table for the operator).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE audit_log ADD COLUMN platform_client_id text NOT NULL DEFAULT ''`.execute(db);
  await sql`CREATE INDEX audit_log_platform ON audit_log (platform_iss, platform_client_id, at DESC, id DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS audit_log_platform`.execute(db);
  await sql`ALTER TABLE audit_log DROP COLUMN IF EXISTS platform_client_id`.execute(db);
}
