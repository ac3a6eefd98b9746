/**
 * The database as Kysely sees it. One interface per table; the migrations in ./migrations create
 * exactly these columns. `jsonb` columns are written as JSON text (node-postgres would turn a JS
 * array into a PostgreSQL array, not JSON) and read back parsed.
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
/** `custom:<name>` reads the LTI custom claim `<name>` (e.g. Canvas's `$Canvas.user.id`). */
export type IdentityStrategy = 'sub' | `custom:${string}` | 'lti11_legacy_user_id' | 'lis_person_sourcedid';

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
  identity_strategy: IdentityStrategy;
  risk_high: ColumnType<number, number | undefined, number>;
  risk_elevated: ColumnType<number, number | undefined, number>;
  student_visibility: ColumnType<StudentVisibility, StudentVisibility | undefined, StudentVisibility>;
  cache_ttl_seconds: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
  updated_at: Timestamp;
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
}

export interface UpstreamCacheTable {
  key: string;
  value: Jsonb<JsonValue>;
  expires_at: TimestampRequired;
}

/** A known value encrypted under ENCRYPTION_KEY (./keyCheck). */
export interface KeyCheckTable {
  id: string;
  value_encrypted: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
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
}
