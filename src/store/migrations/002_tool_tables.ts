/**
 * The tool's own tables: per-platform settings (with the isnotai API key encrypted by
 * src/store/secrets.ts), the audit log of every view of a student's data, and the cache of
 * upstream answers. Constraints live here too, so a bad value is refused whichever code writes it.
 */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`CREATE TABLE platform_settings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issuer text NOT NULL,
    client_id text NOT NULL,
    deployment_id text NOT NULL DEFAULT '',
    display_name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('moodle', 'canvas', 'other')),
    isnotai_base_url text NOT NULL,
    api_key_encrypted text,
    identity_strategy text NOT NULL DEFAULT 'sub'
      CHECK (identity_strategy IN ('sub', 'lti11_legacy_user_id', 'lis_person_sourcedid')
             OR identity_strategy ~ '^custom:[A-Za-z0-9_.$-]{1,100}$'),
    risk_high double precision NOT NULL DEFAULT 0.7,
    risk_elevated double precision NOT NULL DEFAULT 0.4,
    student_visibility text NOT NULL DEFAULT 'full' CHECK (student_visibility IN ('full', 'summary', 'notice')),
    cache_ttl_seconds integer NOT NULL DEFAULT 300 CHECK (cache_ttl_seconds BETWEEN 0 AND 86400),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT platform_settings_thresholds CHECK (risk_elevated > 0 AND risk_elevated < risk_high AND risk_high <= 1),
    CONSTRAINT platform_settings_key UNIQUE (issuer, client_id, deployment_id)
  )`,

  sql`CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    request_id text,
    platform_iss text NOT NULL,
    actor_user_id text NOT NULL,
    actor_role text NOT NULL,
    subject_user_id text,
    action text NOT NULL,
    context_id text,
    resource_id text
  )`,
  sql`CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC)`,
  sql`CREATE INDEX audit_log_actor ON audit_log (actor_user_id, at DESC)`,
  sql`CREATE INDEX audit_log_subject ON audit_log (subject_user_id, at DESC)`,

  sql`CREATE TABLE upstream_cache (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
  sql`CREATE INDEX upstream_cache_expires_at ON upstream_cache (expires_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['upstream_cache', 'audit_log', 'platform_settings']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
