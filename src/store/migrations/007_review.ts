/**
 * Migration 007: what staff decide about a learner (docs/product.md "Review"). One `review_record` per learner per course
 * (platform issuer + client id, deployment, context, isnotai userId) holds the current status and the optimistic `version`;
 * everything written about the learner is an append-only row beside it, stamped with the version it produced:
 * - `review_status_change`: who (LMS user id, name, roles as the LMS sent them), when, from and to which status, and why;
 * - `review_note`: free text, 1 to 5,000 characters; a correction is a new note naming the one it corrects;
 * - `review_session_mark`: "no concern" or "concern" on one session, with a note; the newest mark of a session is its mark.
 * "Unreviewed" is the absence of a status (a record created by a note alone has `status` NULL), never a stored value. The
 * application never updates or deletes a note, a change or a mark; only the retention sweep of a later issue will.
 */
import { sql, type Kysely } from 'kysely';

const STATUS = sql.raw(`'in_review', 'no_concern', 'concern', 'referred'`);
const AUTHOR_COLUMNS = sql.raw(`
    actor_lms_user_id text NOT NULL CHECK (length(actor_lms_user_id) BETWEEN 1 AND 255),
    actor_name text NOT NULL CHECK (length(actor_name) <= 200),
    actor_roles text[] NOT NULL,
    actor_audience text NOT NULL CHECK (actor_audience IN ('instructor', 'admin'))`);

const statements = [
  sql`CREATE TABLE review_record (
    id bigserial PRIMARY KEY,
    platform_iss text NOT NULL,
    platform_client_id text NOT NULL,
    deployment_id text NOT NULL,
    context_id text NOT NULL,
    user_id text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    status text CHECK (status IN (${STATUS})),
    version integer NOT NULL CHECK (version >= 1),
    status_at timestamptz,
    last_at timestamptz NOT NULL,
    last_actor_name text NOT NULL,
    last_actor_roles text[] NOT NULL,
    last_actor_audience text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT review_record_learner UNIQUE (platform_iss, platform_client_id, deployment_id, context_id, user_id),
    CONSTRAINT review_record_status_at CHECK ((status IS NULL) = (status_at IS NULL))
  )`,

  sql`CREATE TABLE review_status_change (
    id bigserial PRIMARY KEY,
    record_id bigint NOT NULL REFERENCES review_record (id),
    version integer NOT NULL,
    at timestamptz NOT NULL,
    ${AUTHOR_COLUMNS},
    from_status text CHECK (from_status IN (${STATUS})),
    to_status text NOT NULL CHECK (to_status IN (${STATUS})),
    reason text CHECK (length(reason) BETWEEN 1 AND 5000),
    CONSTRAINT review_status_change_reason CHECK (to_status NOT IN ('concern', 'referred') OR reason IS NOT NULL),
    CONSTRAINT review_status_change_version UNIQUE (record_id, version)
  )`,

  sql`CREATE TABLE review_note (
    id bigserial PRIMARY KEY,
    record_id bigint NOT NULL REFERENCES review_record (id),
    version integer NOT NULL,
    at timestamptz NOT NULL,
    ${AUTHOR_COLUMNS},
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    corrects_id bigint REFERENCES review_note (id),
    CONSTRAINT review_note_version UNIQUE (record_id, version)
  )`,

  sql`CREATE TABLE review_session_mark (
    id bigserial PRIMARY KEY,
    record_id bigint NOT NULL REFERENCES review_record (id),
    version integer NOT NULL,
    at timestamptz NOT NULL,
    ${AUTHOR_COLUMNS},
    session_id text NOT NULL CHECK (length(session_id) BETWEEN 1 AND 255),
    mark text NOT NULL CHECK (mark IN ('no_concern', 'concern')),
    note text CHECK (length(note) BETWEEN 1 AND 5000),
    CONSTRAINT review_session_mark_note CHECK (mark <> 'concern' OR note IS NOT NULL),
    CONSTRAINT review_session_mark_version UNIQUE (record_id, version)
  )`,
  sql`CREATE INDEX review_session_mark_session ON review_session_mark (record_id, session_id, id DESC)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const s of statements) await s.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['review_session_mark', 'review_note', 'review_status_change', 'review_record']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(t)}`.execute(db);
  }
}
