/**
 * Migration 004: lets an audit row name many students (`subject_user_ids`), for the views that show
 * many at once, since every view of a student's data must say whom (docs/product.md "Audit").
 *
 * A roster page, an export or the integration-wide session list is recorded in rows whose
 * `subject_user_ids` hold the ids of the students it showed (up to 1,000 a row, src/web/audit.ts),
 * indexed so "who looked at this student" finds those views as well as views of the student alone.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE audit_log ADD COLUMN subject_user_ids text[]`.execute(db);
  await sql`CREATE INDEX audit_log_subject_ids ON audit_log USING gin (subject_user_ids)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS audit_log_subject_ids`.execute(db);
  await sql`ALTER TABLE audit_log DROP COLUMN IF EXISTS subject_user_ids`.execute(db);
}
