/**
 * Migration 008: the student's side (docs/product.md "Student responses", "Accommodations", "Retention").
 * - `student_response`: a student's answer to one of their own sessions, 1 to 5,000 characters, append-only. It is kept
 *   per LMS registration (issuer + client id) and isnotai userId, as the session is the learner's whatever course it was
 *   seen from; the course and deployment it was written from are kept beside it.
 * - `response_seen`: per course, the newest response its staff have opened the learner's page since: a response after it
 *   is "new" on that course's roster.
 * - `accommodation_set` / `accommodation`: the accommodations on record for a learner, kept for one course (an instructor's)
 *   or for every course of the registration (an admin's: deployment and context ''), with the set's optimistic `version`.
 *   An accommodation is added, and removed (kept, with who removed it and when, until retention deletes it).
 * - `platform_settings.retention_days` (default 365): how long responses, review records, accommodations and the audit
 *   log are kept; `audit_log.detail`: structured facts of an entry (the counts of a retention sweep or an erasure).
 */
import { sql, type Kysely } from 'kysely';

const KINDS = sql.raw(
  `'dictation', 'word_prediction', 'screen_reader', 'keyboard_only', 'switch_or_alternative_input', 'on_screen_keyboard', 'assistive_extension', 'prepared_notes', 'rest_breaks', 'other'`,
);

const statements = [
  sql`ALTER TABLE platform_settings ADD COLUMN retention_days integer NOT NULL DEFAULT 365
    CONSTRAINT platform_settings_retention_days CHECK (retention_days BETWEEN 1 AND 3650)`,
  sql`ALTER TABLE audit_log ADD COLUMN detail jsonb`,

  sql`CREATE TABLE student_response (
    id bigserial PRIMARY KEY,
    platform_iss text NOT NULL,
    platform_client_id text NOT NULL,
    user_id text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    session_id text NOT NULL CHECK (length(session_id) BETWEEN 1 AND 255),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    at timestamptz NOT NULL,
    author_lms_user_id text NOT NULL CHECK (length(author_lms_user_id) BETWEEN 1 AND 255),
    author_name text NOT NULL CHECK (length(author_name) <= 200),
    deployment_id text NOT NULL,
    context_id text
  )`,
  sql`CREATE INDEX student_response_learner ON student_response (platform_iss, platform_client_id, user_id, id)`,
  sql`CREATE INDEX student_response_at ON student_response (at)`,

  sql`CREATE TABLE response_seen (
    platform_iss text NOT NULL,
    platform_client_id text NOT NULL,
    deployment_id text NOT NULL,
    context_id text NOT NULL,
    user_id text NOT NULL,
    seen_through bigint NOT NULL,
    seen_at timestamptz NOT NULL,
    PRIMARY KEY (platform_iss, platform_client_id, deployment_id, context_id, user_id)
  )`,

  sql`CREATE TABLE accommodation_set (
    id bigserial PRIMARY KEY,
    platform_iss text NOT NULL,
    platform_client_id text NOT NULL,
    deployment_id text NOT NULL,
    context_id text NOT NULL,
    user_id text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    version integer NOT NULL CHECK (version >= 1),
    last_at timestamptz NOT NULL,
    CONSTRAINT accommodation_set_learner UNIQUE (platform_iss, platform_client_id, deployment_id, context_id, user_id),
    CONSTRAINT accommodation_set_scope CHECK ((deployment_id = '') = (context_id = ''))
  )`,
  sql`CREATE INDEX accommodation_set_user ON accommodation_set (platform_iss, platform_client_id, user_id)`,

  sql`CREATE TABLE accommodation (
    id bigserial PRIMARY KEY,
    set_id bigint NOT NULL REFERENCES accommodation_set (id),
    kind text NOT NULL CHECK (kind IN (${KINDS})),
    detail text CHECK (length(detail) BETWEEN 1 AND 1000),
    added_version integer NOT NULL,
    added_at timestamptz NOT NULL,
    actor_lms_user_id text NOT NULL CHECK (length(actor_lms_user_id) BETWEEN 1 AND 255),
    actor_name text NOT NULL CHECK (length(actor_name) <= 200),
    actor_roles text[] NOT NULL,
    actor_audience text NOT NULL CHECK (actor_audience IN ('instructor', 'admin')),
    removed_version integer,
    removed_at timestamptz,
    removed_by_lms_user_id text,
    removed_by_name text,
    removed_by_roles text[],
    removed_by_audience text,
    CONSTRAINT accommodation_other_detail CHECK (kind <> 'other' OR detail IS NOT NULL),
    CONSTRAINT accommodation_removed CHECK (
      (removed_version IS NULL) = (removed_at IS NULL)
      AND (removed_at IS NULL) = (removed_by_lms_user_id IS NULL)
      AND (removed_at IS NULL) = (removed_by_name IS NULL)
      AND (removed_at IS NULL) = (removed_by_roles IS NULL)
      AND (removed_at IS NULL) = (removed_by_audience IS NULL)
    ),
    CONSTRAINT accommodation_added_version UNIQUE (set_id, added_version)
  )`,
  sql`CREATE INDEX accommodation_set_id ON accommodation (set_id, id)`,
  sql`CREATE INDEX review_record_last_at ON review_record (last_at)`,
  sql`CREATE INDEX review_record_user ON review_record (platform_iss, platform_client_id, user_id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const s of statements) await s.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS review_record_user`.execute(db);
  await sql`DROP INDEX IF EXISTS review_record_last_at`.execute(db);
  for (const t of ['accommodation', 'accommodation_set', 'response_seen', 'student_response']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(t)}`.execute(db);
  }
  await sql`ALTER TABLE audit_log DROP COLUMN IF EXISTS detail`.execute(db);
  await sql`ALTER TABLE platform_settings DROP COLUMN IF EXISTS retention_days`.execute(db);
}
