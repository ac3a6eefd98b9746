/**
 * Migration 006: moves the launch's short-lived state out of `upstream_cache` into tables of its own, so that the cache is
 * only a cache and emptying it never logs anyone out or breaks a login in flight.
 *
 * The tables: login initiations awaiting the iframe cookie check, the login behind each OIDC state (and its binding through
 * the LMS's platform storage), cookie-less sessions, signed-out ltiks and the launch claims ltijs does not keep. Every row
 * has an `expires_at` that each query compares and the sweeper (../expiry) deletes by. An ltik is kept only as its SHA-256;
 * the storage secret too. What the cache held of these when this runs moves here (above all the sign-outs: an ltik signed
 * out before the upgrade must stay refused after it), and leaves the cache; a rollback (`down`) moves the live rows back.
 * It moves state once: instances still running the code before 006 would go on writing to the cache, so they are stopped
 * before the new ones start (README "Upgrading").
 */
import { sql, type Kysely } from 'kysely';

const SHA256_HEX = sql.raw(`'^[0-9a-f]{64}$'`);

const statements = [
  sql`CREATE TABLE login_check (
    id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    params jsonb NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
  sql`CREATE INDEX login_check_expires_at ON login_check (expires_at)`,

  sql`CREATE TABLE login_state (
    state text PRIMARY KEY,
    params jsonb NOT NULL,
    storage_target text,
    storage_origin text,
    storage_iss text,
    storage_secret_sha256 text CHECK (storage_secret_sha256 ~ ${SHA256_HEX}),
    storage_status text CHECK (storage_status IN ('waiting', 'spent')),
    expires_at timestamptz NOT NULL,
    CONSTRAINT login_state_storage_whole CHECK (
      num_nulls(storage_target, storage_origin, storage_iss, storage_secret_sha256, storage_status) IN (0, 5)
    )
  )`,
  sql`CREATE INDEX login_state_expires_at ON login_state (expires_at)`,

  sql`CREATE TABLE storage_session (
    ltik_sha256 text PRIMARY KEY CHECK (ltik_sha256 ~ ${SHA256_HEX}),
    user_id text NOT NULL,
    platform_code text NOT NULL,
    issued_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
  sql`CREATE INDEX storage_session_expires_at ON storage_session (expires_at)`,

  sql`CREATE TABLE signed_out_ltik (
    ltik_sha256 text PRIMARY KEY CHECK (ltik_sha256 ~ ${SHA256_HEX}),
    signed_out_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
  sql`CREATE INDEX signed_out_ltik_expires_at ON signed_out_ltik (expires_at)`,

  sql`CREATE TABLE launch_claims (
    ltik_sha256 text PRIMARY KEY CHECK (ltik_sha256 ~ ${SHA256_HEX}),
    lti11_legacy_user_id text NOT NULL,
    expires_at timestamptz NOT NULL
  )`,
  sql`CREATE INDEX launch_claims_expires_at ON launch_claims (expires_at)`,
];

// The cache's keys were `iframe-login:check:<id>`, `iframe-login:state:<state>`, `iframe-login:storage:<state>`,
// `storage-session:<sha256>`, `signed-out:<sha256>` and `launch-claims:<sha256>`; only live entries move.
const carryOver = [
  sql`INSERT INTO login_check (id, params, expires_at)
    SELECT substr(key, 20), value, expires_at FROM upstream_cache
    WHERE key ~ '^iframe-login:check:[0-9a-f]{32}$' AND jsonb_typeof(value) = 'object' AND expires_at > now()`,
  sql`INSERT INTO login_state (state, params, expires_at)
    SELECT substr(key, 20), value, expires_at FROM upstream_cache
    WHERE key LIKE 'iframe-login:state:%' AND jsonb_typeof(value) = 'object' AND expires_at > now()`,
  sql`INSERT INTO login_state AS s (state, params, storage_target, storage_origin, storage_iss, storage_secret_sha256, storage_status, expires_at)
    SELECT substr(key, 22), '{}'::jsonb, value->>'target', value->>'origin', value->>'iss',
      encode(sha256(convert_to(value->>'secret', 'UTF8')), 'hex'), value->>'status', expires_at
    FROM upstream_cache
    WHERE key LIKE 'iframe-login:storage:%' AND expires_at > now() AND value->>'status' IN ('waiting', 'spent')
      AND value->>'target' IS NOT NULL AND value->>'origin' IS NOT NULL AND value->>'iss' IS NOT NULL AND value->>'secret' IS NOT NULL
    ON CONFLICT (state) DO UPDATE SET storage_target = excluded.storage_target, storage_origin = excluded.storage_origin,
      storage_iss = excluded.storage_iss, storage_secret_sha256 = excluded.storage_secret_sha256,
      storage_status = excluded.storage_status, expires_at = GREATEST(s.expires_at, excluded.expires_at)`,
  sql`INSERT INTO storage_session (ltik_sha256, user_id, platform_code, issued_at, last_seen_at, expires_at)
    SELECT substr(key, 17), value->>'user', value->>'platformCode',
      to_timestamp((value->>'issuedAt')::double precision / 1000), to_timestamp((value->>'lastSeenAt')::double precision / 1000), expires_at
    FROM upstream_cache
    WHERE key ~ '^storage-session:[0-9a-f]{64}$' AND expires_at > now() AND value->>'user' IS NOT NULL AND value->>'platformCode' IS NOT NULL
      AND jsonb_typeof(value->'issuedAt') = 'number' AND jsonb_typeof(value->'lastSeenAt') = 'number'`,
  sql`INSERT INTO signed_out_ltik (ltik_sha256, signed_out_at, expires_at)
    SELECT substr(key, 12), COALESCE(to_timestamp((value->>'at')::double precision / 1000), now()), expires_at
    FROM upstream_cache
    WHERE key ~ '^signed-out:[0-9a-f]{64}$' AND expires_at > now() AND (value->'at' IS NULL OR jsonb_typeof(value->'at') = 'number')`,
  sql`INSERT INTO launch_claims (ltik_sha256, lti11_legacy_user_id, expires_at)
    SELECT substr(key, 15), value->>'lti11LegacyUserId', expires_at FROM upstream_cache
    WHERE key ~ '^launch-claims:[0-9a-f]{64}$' AND expires_at > now() AND jsonb_typeof(value->'lti11LegacyUserId') = 'string'`,
  sql`DELETE FROM upstream_cache
    WHERE key LIKE 'iframe-login:%' OR key LIKE 'storage-session:%' OR key LIKE 'signed-out:%' OR key LIKE 'launch-claims:%'`,
];

const TABLES = ['login_check', 'login_state', 'storage_session', 'signed_out_ltik', 'launch_claims'];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [...statements, ...carryOver]) await statement.execute(db);
}

const msSinceEpoch = (column: string) => sql.raw(`(extract(epoch FROM ${column}) * 1000)::bigint`);

// A rollback hands the live rows back to the cache, under the keys and in the shapes the code before 006 reads, keeping each
// row's expiry: above all the sign-outs (an ltik signed out since the upgrade must stay refused after a rollback), and the
// cookie-less sessions, launch claims, login checks and logins in flight. A login's binding through the LMS's storage cannot
// go back: only the secret's SHA-256 is kept, and that code compares the secret itself; such a launch is refused as one
// without its state cookie, and the user opens the tool again. Where the cache already holds a key, the table's row wins
// (for a sign-out, the later expiry).
const carryBack = [
  sql`INSERT INTO upstream_cache (key, value, expires_at)
    SELECT 'signed-out:' || ltik_sha256, jsonb_build_object('at', ${msSinceEpoch('signed_out_at')}), expires_at
    FROM signed_out_ltik WHERE expires_at > now()
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = GREATEST(upstream_cache.expires_at, excluded.expires_at)`,
  sql`INSERT INTO upstream_cache (key, value, expires_at)
    SELECT 'storage-session:' || ltik_sha256,
      jsonb_build_object('user', user_id, 'platformCode', platform_code,
        'issuedAt', ${msSinceEpoch('issued_at')}, 'lastSeenAt', ${msSinceEpoch('last_seen_at')}),
      expires_at
    FROM storage_session WHERE expires_at > now()
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  sql`INSERT INTO upstream_cache (key, value, expires_at)
    SELECT 'launch-claims:' || ltik_sha256, jsonb_build_object('lti11LegacyUserId', lti11_legacy_user_id), expires_at
    FROM launch_claims WHERE expires_at > now()
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  sql`INSERT INTO upstream_cache (key, value, expires_at)
    SELECT 'iframe-login:check:' || id, params, expires_at FROM login_check WHERE expires_at > now()
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
  sql`INSERT INTO upstream_cache (key, value, expires_at)
    SELECT 'iframe-login:state:' || state, params, expires_at FROM login_state WHERE expires_at > now() AND params <> '{}'::jsonb
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
];

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of carryBack) await statement.execute(db);
  for (const table of [...TABLES].reverse()) await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
}
