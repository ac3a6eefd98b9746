/**
 * The database as Kysely sees it: one interface per table, with exactly the columns the migrations in
 * ./migrations create.
 *
 * `jsonb` columns are written as JSON text (node-postgres would turn a JS array into a PostgreSQL
 * array, not JSON) and read back parsed.
 */
import type { ColumnType, Generated } from 'kysely';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** Read: parsed JSON. Write: JSON text (JSON.stringify), cast by PostgreSQL to jsonb. */
export type Jsonb<T = JsonValue> = ColumnType<T, string, string>;
/** Read: Date. Write: Date (our injectable clock) or omitted for the column default. */
export type Timestamp = ColumnType<Date, Date | undefined, Date>;
export type TimestampRequired = ColumnType<Date, Date, Date>;

// ---------------------------------------------------------------------------------------------
// ltijs state: one table per ltijs collection. The fields ltijs queries by are real columns (with
// the unique indexes its MongoDB schemas declare); everything else is a jsonb document, or, for
// the collections ltijs encrypts, its hex `iv` and `data`.

export interface LtiIdtokenTable {
  iss: string;
  client_id: string;
  deployment_id: string;
  user_id: string;
  doc: Jsonb<Record<string, JsonValue>>;
  created_at: TimestampRequired;
}

export interface LtiContexttokenTable {
  context_id: string;
  user_id: string;
  doc: Jsonb<Record<string, JsonValue>>;
  created_at: TimestampRequired;
}

export interface LtiPlatformTable {
  platform_url: string;
  client_id: string;
  kid: string;
  doc: Jsonb<Record<string, JsonValue>>;
  created_at: TimestampRequired;
}

export interface LtiPlatformStatusTable {
  id: string;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: TimestampRequired;
}

export interface LtiKeyTable {
  kid: string;
  platform_url: string;
  client_id: string;
  iv: string;
  data: string;
  created_at: TimestampRequired;
}

export interface LtiAccesstokenTable {
  platform_url: string;
  client_id: string;
  scopes: string;
  iv: string;
  data: string;
  created_at: TimestampRequired;
}

export interface LtiNonceTable {
  nonce: string;
  created_at: TimestampRequired;
}

export interface LtiStateTable {
  state: string;
  doc: Jsonb<Record<string, JsonValue>>;
  created_at: TimestampRequired;
}

// ---------------------------------------------------------------------------------------------
// The tool's own tables.

export type PlatformKind = 'moodle' | 'canvas' | 'other';
export type StudentVisibility = 'full' | 'summary' | 'notice';

export interface PlatformSettingsTable {
  id: Generated<string>; // bigint identity; pg returns int8 as string
  issuer: string;
  client_id: string;
  /** '' = every deployment of this issuer+client_id; otherwise one deployment. */
  deployment_id: string;
  display_name: string;
  kind: PlatformKind;
  isnotai_base_url: string;
  /** encryptSecret() output, never the key itself. */
  api_key_encrypted: string | null;
  /** A mapping of src/lti/identity.ts; the column's check constraint refuses any other name. */
  identity_strategy: string;
  risk_high: ColumnType<number, number | undefined, number>;
  risk_elevated: ColumnType<number, number | undefined, number>;
  student_visibility: ColumnType<StudentVisibility, StudentVisibility | undefined, StudentVisibility>;
  cache_ttl_seconds: ColumnType<number, number | undefined, number>;
  /** Days responses, review records, accommodations and the audit log are kept (migration 008). */
  retention_days: ColumnType<number, number | undefined, number>;
  /** Migration 009: `pending` until activated (Dynamic Registration), `active`, `inactive`. */
  status: ColumnType<RegistrationStatus, RegistrationStatus | undefined, RegistrationStatus>;
  /** `config`: PLATFORMS_JSON (it wins at every start); `dynamic`: registered by the LMS, edited in the tool. */
  source: ColumnType<RegistrationSource, RegistrationSource | undefined, RegistrationSource>;
  /** Its admins may activate and deactivate every registration. */
  tool_wide: ColumnType<boolean, boolean | undefined, boolean>;
  /** Empty: any deployment of the registration. */
  deployment_ids: ColumnType<string[], string[] | undefined, string[]>;
  identity_pattern: string | null;
  version: ColumnType<number, number | undefined, number>;
  /** What Dynamic Registration exchanged (never a secret). */
  registration: Jsonb<Record<string, JsonValue>> | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type RegistrationStatus = 'pending' | 'active' | 'inactive';
export type RegistrationSource = 'config' | 'dynamic';

/** Migration 009: what one placement of the tool covers (docs/product.md "Placements"). */
export interface PlacementTable {
  id: string;
  platform_iss: string;
  platform_client_id: string;
  deployment_id: string;
  context_id: string;
  resource_link_id: string | null;
  title: string;
  scope: 'course' | 'activity';
  url_pattern: string | null;
  window_start: Date | null;
  window_end: Date | null;
  risk_high: number | null;
  risk_elevated: number | null;
  created_by_user_id: string;
  created_at: Generated<Date>;
  bound_at: Date | null;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: Timestamp;
  request_id: string | null;
  platform_iss: string;
  platform_client_id: ColumnType<string, string | undefined, string>;
  actor_user_id: string;
  actor_role: string;
  subject_user_id: string | null;
  /** The students a view of many showed (a roster page, the session list); null otherwise. */
  subject_user_ids: string[] | null;
  action: string;
  context_id: string | null;
  resource_id: string | null;
  /** Structured facts of the entry (a sweep's or an erasure's counts); null for most (migration 008). */
  detail: ColumnType<JsonValue | null, string | null | undefined, string | null>;
}

export interface UpstreamCacheTable {
  key: string;
  value: Jsonb<JsonValue>;
  expires_at: TimestampRequired;
}

// ---------------------------------------------------------------------------------------------
// Launch state (./launchState): short-lived, each row invisible once past `expires_at`, and swept.

/** A login initiation awaiting the iframe cookie check, under the random id of that check. */
export interface LoginCheckTable {
  id: string;
  params: Jsonb<Record<string, string>>;
  expires_at: TimestampRequired;
}

/** The login behind an OIDC state ltijs generated, and its binding through platform storage, if any. */
export interface LoginStateTable {
  state: string;
  params: Jsonb<Record<string, string>>;
  storage_target: string | null;
  storage_origin: string | null;
  storage_iss: string | null;
  /** SHA-256 (hex) of the secret put into the LMS's storage; the secret itself is never stored. */
  storage_secret_sha256: string | null;
  storage_status: 'waiting' | 'spent' | null;
  expires_at: TimestampRequired;
}

/** A cookie-less session: the ltik (its SHA-256) minted by a launch bound through platform storage. */
export interface StorageSessionTable {
  ltik_sha256: string;
  user_id: string;
  platform_code: string;
  issued_at: TimestampRequired;
  last_seen_at: TimestampRequired;
  expires_at: TimestampRequired;
}

export interface SignedOutLtikTable {
  ltik_sha256: string;
  signed_out_at: TimestampRequired;
  expires_at: TimestampRequired;
}

/** Claims of an accepted launch that ltijs does not keep, under the SHA-256 of its ltik. */
export interface LaunchClaimsTable {
  ltik_sha256: string;
  lti11_legacy_user_id: string;
  expires_at: TimestampRequired;
}

/** A known value encrypted under ENCRYPTION_KEY (./keyCheck). */
export interface KeyCheckTable {
  id: string;
  value_encrypted: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

// ---------------------------------------------------------------------------------------------
// Review (migration 007): the record per learner per course, and the append-only rows beside it.

export type ReviewStatusValue = 'in_review' | 'no_concern' | 'concern' | 'referred';
export type SessionMarkValue = 'no_concern' | 'concern';

export interface ReviewRecordTable {
  id: Generated<string>;
  platform_iss: string;
  platform_client_id: string;
  deployment_id: string;
  context_id: string;
  user_id: string;
  /** NULL: unreviewed (a record a note alone created). */
  status: ReviewStatusValue | null;
  version: number;
  status_at: Date | null;
  last_at: Date;
  last_actor_name: string;
  last_actor_roles: string[];
  last_actor_audience: string;
  created_at: Generated<Date>;
}

interface ReviewAuthorColumns {
  id: Generated<string>;
  record_id: string;
  version: number;
  at: Date;
  actor_lms_user_id: string;
  actor_name: string;
  actor_roles: string[];
  actor_audience: string;
}

export interface ReviewStatusChangeTable extends ReviewAuthorColumns {
  from_status: ReviewStatusValue | null;
  to_status: ReviewStatusValue;
  reason: string | null;
}

export interface ReviewNoteTable extends ReviewAuthorColumns {
  body: string;
  corrects_id: string | null;
}

export interface ReviewSessionMarkTable extends ReviewAuthorColumns {
  session_id: string;
  mark: SessionMarkValue;
  note: string | null;
}

// ---------------------------------------------------------------------------------------------
// The student's side (migration 008).

export interface StudentResponseTable {
  id: Generated<string>;
  platform_iss: string;
  platform_client_id: string;
  user_id: string;
  session_id: string;
  body: string;
  at: Date;
  author_lms_user_id: string;
  author_name: string;
  deployment_id: string;
  /** The course it was written from; null for a launch from outside a course. */
  context_id: string | null;
}

export interface ResponseSeenTable {
  platform_iss: string;
  platform_client_id: string;
  deployment_id: string;
  context_id: string;
  user_id: string;
  seen_through: string;
  seen_at: Date;
}

export interface AccommodationSetTable {
  id: Generated<string>;
  platform_iss: string;
  platform_client_id: string;
  /** '' (with context_id '') for every course of the registration (an admin's). */
  deployment_id: string;
  context_id: string;
  user_id: string;
  version: number;
  last_at: Date;
}

export interface AccommodationTable {
  id: Generated<string>;
  set_id: string;
  kind: string;
  detail: string | null;
  added_version: number;
  added_at: Date;
  actor_lms_user_id: string;
  actor_name: string;
  actor_roles: string[];
  actor_audience: string;
  removed_version: number | null;
  removed_at: Date | null;
  removed_by_lms_user_id: string | null;
  removed_by_name: string | null;
  removed_by_roles: string[] | null;
  removed_by_audience: string | null;
}

// ---------------------------------------------------------------------------------------------
// The course roster (migration 010, ./roster)

export interface RosterBuildTable {
  id: Generated<string>;
  key: string;
  status: 'building' | 'ready';
  learners: Generated<number>;
  to_read: Generated<number>;
  done: Generated<number>;
  holder: string;
  started_at: Generated<Date>;
  finished_at: Date | null;
  expires_at: TimestampRequired;
}

export interface RosterRowTable {
  build_id: string;
  lti_user_id: string;
  user_id: string | null;
  name: string;
  email: string | null;
  name_rank: number | null;
  ord: number | null;
  enrollment: 'active' | 'inactive';
  risk: string;
  risk_without: string;
  risk_rank: number;
  level_reason: string | null;
  sessions: number;
  high: number;
  elevated: number;
  low: number;
  max_score: number | null;
  top_flags: Jsonb<Array<{ flag: string; count: number }>>;
  last_activity: string | null;
  last_activity_at: Date | null;
  problem: string | null;
  unread: Generated<boolean>;
  flags: string[];
  statuses: string[];
  flag_keys: string[];
  status_keys: string[];
  search: string;
  accommodated: string[];
}

export interface Schema {
  lti_idtoken: LtiIdtokenTable;
  lti_contexttoken: LtiContexttokenTable;
  lti_platform: LtiPlatformTable;
  lti_platform_status: LtiPlatformStatusTable;
  lti_privatekey: LtiKeyTable;
  lti_publickey: LtiKeyTable;
  lti_accesstoken: LtiAccesstokenTable;
  lti_nonce: LtiNonceTable;
  lti_state: LtiStateTable;
  platform_settings: PlatformSettingsTable;
  audit_log: AuditLogTable;
  upstream_cache: UpstreamCacheTable;
  key_check: KeyCheckTable;
  login_check: LoginCheckTable;
  login_state: LoginStateTable;
  storage_session: StorageSessionTable;
  signed_out_ltik: SignedOutLtikTable;
  launch_claims: LaunchClaimsTable;
  review_record: ReviewRecordTable;
  review_status_change: ReviewStatusChangeTable;
  review_note: ReviewNoteTable;
  review_session_mark: ReviewSessionMarkTable;
  student_response: StudentResponseTable;
  response_seen: ResponseSeenTable;
  accommodation_set: AccommodationSetTable;
  accommodation: AccommodationTable;
  placement: PlacementTable;
  roster_build: RosterBuildTable;
  roster_row: RosterRowTable;
}
