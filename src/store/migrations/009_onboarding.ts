/**
 * Migration 009: registrations made in the LMS and edited in the tool, and placements (docs/product.md "Installing the
 * tool", "Placements").
 * - `platform_settings` becomes the registration: its `status` (`pending` until activated, `active`, `inactive`), its
 *   `source` (`config`: PLATFORMS_JSON, which wins at every start; `dynamic`: registered by the LMS through
 *   /register, edited in the tool), `tool_wide` (its admins may activate and deactivate every registration), the
 *   deployment ids it accepts (empty: any), the identity pattern, an optimistic `version` for the settings form, and
 *   what Dynamic Registration exchanged (`registration`, jsonb: never a secret). Existing rows are `config`, `active`.
 * - `placement`: what one placement of the tool in a course covers, chosen by an instructor through Deep Linking: the
 *   whole course, or one activity (a page address pattern, an optional time window, optional thresholds). It is made
 *   before the LMS creates the link, so it is found by its own id (carried in the link's custom parameters) and bound
 *   to the resource link id at the link's first launch.
 */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`ALTER TABLE platform_settings
    ADD COLUMN status text NOT NULL DEFAULT 'active' CONSTRAINT platform_settings_status CHECK (status IN ('pending', 'active', 'inactive')),
    ADD COLUMN source text NOT NULL DEFAULT 'config' CONSTRAINT platform_settings_source CHECK (source IN ('config', 'dynamic')),
    ADD COLUMN tool_wide boolean NOT NULL DEFAULT false,
    ADD COLUMN deployment_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN identity_pattern text CONSTRAINT platform_settings_identity_pattern CHECK (char_length(identity_pattern) <= 500),
    ADD COLUMN version integer NOT NULL DEFAULT 1 CONSTRAINT platform_settings_version CHECK (version >= 1),
    ADD COLUMN registration jsonb`,

  sql`CREATE TABLE placement (
    id text PRIMARY KEY CONSTRAINT placement_id CHECK (id ~ '^[A-Za-z0-9_-]{16,64}$'),
    platform_iss text NOT NULL,
    platform_client_id text NOT NULL,
    deployment_id text NOT NULL,
    context_id text NOT NULL,
    resource_link_id text,
    title text NOT NULL CONSTRAINT placement_title CHECK (char_length(title) BETWEEN 1 AND 200),
    scope text NOT NULL CONSTRAINT placement_scope CHECK (scope IN ('course', 'activity')),
    url_pattern text CONSTRAINT placement_url_pattern CHECK (char_length(url_pattern) BETWEEN 1 AND 2000),
    window_start timestamptz,
    window_end timestamptz,
    risk_high double precision,
    risk_elevated double precision,
    created_by_user_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    bound_at timestamptz,
    CONSTRAINT placement_activity_pattern CHECK ((scope = 'activity') = (url_pattern IS NOT NULL)),
    CONSTRAINT placement_window CHECK (window_start IS NULL OR window_end IS NULL OR window_start < window_end),
    CONSTRAINT placement_thresholds CHECK (
      (risk_high IS NULL AND risk_elevated IS NULL)
      OR (risk_elevated > 0 AND risk_elevated < risk_high AND risk_high <= 1)),
    CONSTRAINT placement_course_only CHECK (scope = 'activity' OR (window_start IS NULL AND window_end IS NULL AND risk_high IS NULL))
  )`,
  // One placement per resource link of a registration: the first launch binds it.
  sql`CREATE UNIQUE INDEX placement_resource_link ON placement (platform_iss, platform_client_id, resource_link_id)
    WHERE resource_link_id IS NOT NULL`,
  sql`CREATE INDEX placement_course ON placement (platform_iss, platform_client_id, deployment_id, context_id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const s of statements) await s.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS placement`.execute(db);
  for (const c of ['registration', 'version', 'identity_pattern', 'deployment_ids', 'tool_wide', 'source', 'status']) {
    await sql`ALTER TABLE platform_settings DROP COLUMN IF EXISTS ${sql.ref(c)}`.execute(db);
  }
}
