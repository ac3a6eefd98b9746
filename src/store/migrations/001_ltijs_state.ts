/**
 * Migration 001: ltijs's nine collections as tables, so that ltijs keeps its state in the tool's
 * PostgreSQL.
 *
 * Mirrors the indexes of ltijs's MongoDB schemas (node_modules/ltijs/dist/Utils/Database.js), with
 * two deliberate additions:
 * - every key ltijs passes to `Replace` is a UNIQUE index, so Replace is one atomic upsert;
 * - `lti_nonce.nonce` is the primary key (Mongo's index was not unique), so two concurrent
 *   launches with the same nonce cannot both be accepted.
 * Expiry is not left to the server: `created_at` is compared in every read and swept.
 */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`CREATE TABLE lti_idtoken (
    iss text NOT NULL,
    client_id text NOT NULL,
    deployment_id text NOT NULL,
    user_id text NOT NULL,
    doc jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (iss, client_id, deployment_id, user_id)
  )`,
  sql`CREATE INDEX lti_idtoken_created_at ON lti_idtoken (created_at)`,

  sql`CREATE TABLE lti_contexttoken (
    context_id text NOT NULL,
    user_id text NOT NULL,
    doc jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (context_id, user_id)
  )`,
  sql`CREATE INDEX lti_contexttoken_created_at ON lti_contexttoken (created_at)`,

  sql`CREATE TABLE lti_platform (
    platform_url text NOT NULL,
    client_id text NOT NULL,
    kid text NOT NULL UNIQUE,
    doc jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_url, client_id)
  )`,

  sql`CREATE TABLE lti_platform_status (
    id text PRIMARY KEY,
    active boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,

  sql`CREATE TABLE lti_privatekey (
    kid text PRIMARY KEY,
    platform_url text NOT NULL,
    client_id text NOT NULL,
    iv text NOT NULL,
    data text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (platform_url, client_id)
  )`,
  sql`CREATE TABLE lti_publickey (
    kid text PRIMARY KEY,
    platform_url text NOT NULL,
    client_id text NOT NULL,
    iv text NOT NULL,
    data text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (platform_url, client_id)
  )`,

  sql`CREATE TABLE lti_accesstoken (
    platform_url text NOT NULL,
    client_id text NOT NULL,
    scopes text NOT NULL,
    iv text NOT NULL,
    data text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_url, client_id, scopes)
  )`,
  sql`CREATE INDEX lti_accesstoken_created_at ON lti_accesstoken (created_at)`,

  sql`CREATE TABLE lti_nonce (
    nonce text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX lti_nonce_created_at ON lti_nonce (created_at)`,

  sql`CREATE TABLE lti_state (
    state text PRIMARY KEY,
    doc jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE INDEX lti_state_created_at ON lti_state (created_at)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'lti_state',
    'lti_nonce',
    'lti_accesstoken',
    'lti_publickey',
    'lti_privatekey',
    'lti_platform_status',
    'lti_platform',
    'lti_contexttoken',
    'lti_idtoken',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
