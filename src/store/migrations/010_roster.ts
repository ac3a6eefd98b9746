/**
 * Migration 010: the course roster kept in PostgreSQL (docs/performance.md "Large courses").
 * - `roster_build`: one roster of one course as one launch sees it (its placement, window and thresholds, hashed into
 *   `key`), being built (`building`, with how many learners are read and how many are done, for the progress line of
 *   everyone waiting on it) or `ready` until `expires_at` (the cache TTL). One request builds it, under an advisory lock
 *   on the key; a build whose process died is taken over (src/store/roster.ts).
 * - `roster_row`: each learner's line of that roster: what the roster shows, filters and sorts by, written as the
 *   learners' sessions are read. Review states and new responses are not here: they are joined when a page is read, so
 *   they are always current. Rows go with their build.
 */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`CREATE TABLE roster_build (
    id bigserial PRIMARY KEY,
    key text NOT NULL CONSTRAINT roster_build_key UNIQUE,
    status text NOT NULL CONSTRAINT roster_build_status CHECK (status IN ('building', 'ready')),
    learners integer NOT NULL DEFAULT 0,
    to_read integer NOT NULL DEFAULT 0,
    done integer NOT NULL DEFAULT 0,
    holder text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    expires_at timestamptz NOT NULL
  )`,
  sql`CREATE INDEX roster_build_expires_at ON roster_build (expires_at)`,
  sql`CREATE TABLE roster_row (
    build_id bigint NOT NULL REFERENCES roster_build (id) ON DELETE CASCADE,
    lti_user_id text NOT NULL,
    user_id text,
    name text NOT NULL,
    email text,
    name_rank integer,
    ord integer,
    enrollment text NOT NULL CONSTRAINT roster_row_enrollment CHECK (enrollment IN ('active', 'inactive')),
    risk text NOT NULL,
    risk_without text NOT NULL,
    risk_rank smallint NOT NULL,
    level_reason text,
    sessions integer NOT NULL,
    high integer NOT NULL,
    elevated integer NOT NULL,
    low integer NOT NULL,
    max_score double precision,
    top_flags jsonb NOT NULL,
    last_activity text,
    last_activity_at timestamptz,
    problem text,
    unread boolean NOT NULL DEFAULT false,
    flags text[] NOT NULL,
    statuses text[] NOT NULL,
    flag_keys text[] NOT NULL,
    status_keys text[] NOT NULL,
    search text NOT NULL,
    accommodated text[] NOT NULL,
    PRIMARY KEY (build_id, lti_user_id)
  )`,
  sql`CREATE INDEX roster_row_order ON roster_row (build_id, ord)`,
  sql`CREATE INDEX roster_row_user ON roster_row (build_id, user_id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const s of statements) await s.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS roster_row`.execute(db);
  await sql`DROP TABLE IF EXISTS roster_build`.execute(db);
}
