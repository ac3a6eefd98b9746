/**
 * Per-platform settings: which isnotai account (base URL + API key) a platform's launches use,
 * how its users map to isnotai user ids, its risk thresholds, what students see and how long what the tool writes about
 * learners is kept (./retention).
 *
 * A row is for an issuer + client id, optionally narrowed to one deployment; a deployment's own row
 * wins over the platform-wide one. Thresholds are checked by the risk model's one rule
 * (src/risk/thresholds.ts); the identity mapping, whose rule is src/lti/identity.ts, by the table's
 * check constraint, which refuses the same names (the store sits below src/lti and does not import it).
 *
 * The API key is encrypted at rest (./secrets) with the row's identity as associated data, is
 * never part of a `PlatformSettings` value, and is decrypted only by `getApiKey`.
 */
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import { ISNOTAI_REGIONS } from '../isnotai/regions';
import { riskThresholdsSchema, type RiskThresholds } from '../risk/thresholds';
import { PG_CHECK_VIOLATION, StoreError, pgErrorCode } from './errors';
import { MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, retentionDaysSchema } from './retention';
import type {
  JsonValue,
  PlatformKind,
  PlatformSettingsTable,
  RegistrationSource,
  RegistrationStatus,
  Schema,
  StudentVisibility,
} from './schema';
import { decryptSecret, encryptSecret } from './secrets';

export interface PlatformSettings {
  /** The row's id: the registration's id in the admin pages and `npm run platforms`. */
  id: string;
  issuer: string;
  clientId: string;
  /** null: applies to every deployment of the issuer + client id. */
  deploymentId: string | null;
  displayName: string;
  kind: PlatformKind;
  isnotaiBaseUrl: string;
  /** Whether an API key is stored; the key itself is only available through getApiKey. */
  hasApiKey: boolean;
  /** A mapping of src/lti/identity.ts (`sub`, `custom:canvas_user_id`, …). */
  identityStrategy: string;
  riskThresholds: RiskThresholds;
  studentVisibility: StudentVisibility;
  cacheTtlSeconds: number;
  /** Days responses, review records, accommodations and the audit log are kept (./retention; default 365). */
  retentionDays: number;
  /** Migration 009 (./registrations): `pending` until activated, `active`, `inactive`. */
  status: RegistrationStatus;
  /** `config`: PLATFORMS_JSON, which wins at every start; `dynamic`: registered by the LMS, edited in the tool. */
  source: RegistrationSource;
  /** Its admins may activate and deactivate every registration. */
  toolWide: boolean;
  /** Empty: any deployment of the registration. */
  deploymentIds: string[];
  /** The shape of a valid id of the mapping (src/lti/identity.ts); null: the mapping's default. */
  identityPattern: string | null;
  /** Optimistic version of the settings form. */
  version: number;
  /** What Dynamic Registration exchanged (never a secret); null for a configured registration. */
  registration: Record<string, JsonValue> | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * For upsert. Omitted fields keep their stored value (or the default on first insert);
 * `apiKey: null` removes the stored key.
 */
export interface PlatformSettingsInput {
  issuer: string;
  clientId: string;
  deploymentId?: string | null;
  displayName?: string;
  kind?: PlatformKind;
  isnotaiBaseUrl?: string;
  apiKey?: string | null;
  /** Refused (invalid_settings) unless a mapping of src/lti/identity.ts. */
  identityStrategy?: string;
  /** Both lines, always together (a pair is checked as one). */
  riskThresholds?: RiskThresholds;
  studentVisibility?: StudentVisibility;
  cacheTtlSeconds?: number;
  /** 1–3650 days (./retention). */
  retentionDays?: number;
  status?: RegistrationStatus;
  source?: RegistrationSource;
  toolWide?: boolean;
  deploymentIds?: string[];
  identityPattern?: string | null;
}

export interface PlatformSettingsRepository {
  /** The deployment's own settings if any, else the platform-wide ones, else undefined. */
  get(issuer: string, clientId: string, deploymentId?: string | null): Promise<PlatformSettings | undefined>;
  upsert(input: PlatformSettingsInput): Promise<PlatformSettings>;
  /** The decrypted isnotai API key that applies (same resolution as get), or null. */
  getApiKey(issuer: string, clientId: string, deploymentId?: string | null): Promise<string | null>;
  /** The key and the base URL it is for, from one read of the row (same resolution as get); null without a key. */
  credentials(issuer: string, clientId: string, deploymentId?: string | null): Promise<PlatformCredentials | null>;
  /** get, and the same row's credentials, decrypted only if asked for (a request that reads both reads the row once). */
  getWithCredentials(
    issuer: string,
    clientId: string,
    deploymentId?: string | null,
  ): Promise<{ settings: PlatformSettings; credentials: () => PlatformCredentials | null } | undefined>;
}

export interface PlatformCredentials {
  apiKey: string;
  baseUrl: string;
}

const id = z.string().min(1).max(1000);
const inputSchema = z.object({
  issuer: id,
  clientId: id,
  deploymentId: id.nullish(),
  displayName: z.string().trim().min(1).max(200).optional(),
  kind: z.enum(['moodle', 'canvas', 'other']).optional(),
  isnotaiBaseUrl: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  apiKey: z.string().min(1).max(1000).nullish(),
  // The table's check constraint decides (see the catch in upsert).
  identityStrategy: z.string().optional(),
  riskThresholds: riskThresholdsSchema.optional(),
  studentVisibility: z.enum(['full', 'summary', 'notice']).optional(),
  cacheTtlSeconds: z.number().int().min(0).max(86400).optional(),
  retentionDays: retentionDaysSchema.optional(),
  status: z.enum(['pending', 'active', 'inactive']).optional(),
  source: z.enum(['config', 'dynamic']).optional(),
  toolWide: z.boolean().optional(),
  deploymentIds: z.array(id).max(100).optional(),
  identityPattern: z.string().min(1).max(500).nullish(),
});

/** '' in the table stands for "every deployment" (a NULL would not be unique before PG 15). */
const ALL_DEPLOYMENTS = '';

/** The associated data of a row's API key (its identity); also used by key checks and rotation. */
export function aad(issuer: string, clientId: string, deploymentId: string): string {
  return JSON.stringify(['platform_settings.api_key', issuer, clientId, deploymentId]);
}

export function toSettings(r: Selectable<PlatformSettingsTable>): PlatformSettings {
  return {
    id: String(r.id),
    issuer: r.issuer,
    clientId: r.client_id,
    deploymentId: r.deployment_id === ALL_DEPLOYMENTS ? null : r.deployment_id,
    displayName: r.display_name,
    kind: r.kind,
    isnotaiBaseUrl: r.isnotai_base_url,
    hasApiKey: r.api_key_encrypted !== null,
    identityStrategy: r.identity_strategy,
    riskThresholds: { high: r.risk_high, elevated: r.risk_elevated },
    studentVisibility: r.student_visibility,
    cacheTtlSeconds: r.cache_ttl_seconds,
    retentionDays: r.retention_days,
    status: r.status,
    source: r.source,
    toolWide: r.tool_wide,
    deploymentIds: r.deployment_ids,
    identityPattern: r.identity_pattern,
    version: r.version,
    registration: r.registration,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function createPlatformSettingsRepository(db: Kysely<Schema>, options: { secret: string }): PlatformSettingsRepository {
  const { secret } = options;
  // Fail at start-up on a weak secret, not on the first save.
  assertUsableSecret(secret);

  const findRow = (issuer: string, clientId: string, deploymentId?: string | null) =>
    db
      .selectFrom('platform_settings')
      .selectAll()
      .where('issuer', '=', issuer)
      .where('client_id', '=', clientId)
      .where('deployment_id', 'in', deploymentId ? [deploymentId, ALL_DEPLOYMENTS] : [ALL_DEPLOYMENTS])
      // The deployment's own row ('' sorts first, so descending puts it first).
      .orderBy('deployment_id', 'desc')
      .limit(1)
      .executeTakeFirst();

  const credentialsOf = (row: Selectable<PlatformSettingsTable>): PlatformCredentials | null =>
    row.api_key_encrypted
      ? {
          apiKey: decryptSecret(row.api_key_encrypted, secret, aad(row.issuer, row.client_id, row.deployment_id)),
          baseUrl: row.isnotai_base_url,
        }
      : null;

  return {
    async get(issuer, clientId, deploymentId) {
      const row = await findRow(issuer, clientId, deploymentId);
      return row && toSettings(row);
    },

    async getApiKey(issuer, clientId, deploymentId) {
      const row = await findRow(issuer, clientId, deploymentId);
      return (row && credentialsOf(row))?.apiKey ?? null;
    },

    async credentials(issuer, clientId, deploymentId) {
      const row = await findRow(issuer, clientId, deploymentId);
      return row ? credentialsOf(row) : null;
    },

    async getWithCredentials(issuer, clientId, deploymentId) {
      const row = await findRow(issuer, clientId, deploymentId);
      return row && { settings: toSettings(row), credentials: () => credentialsOf(row) };
    },

    async upsert(raw) {
      const parsed = inputSchema.safeParse(raw);
      if (!parsed.success) {
        const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        throw new StoreError('invalid_settings', `Invalid platform settings: ${detail}`);
      }
      const s = parsed.data;
      const deploymentId = s.deploymentId ?? ALL_DEPLOYMENTS;
      const changes = {
        display_name: s.displayName,
        kind: s.kind,
        isnotai_base_url: s.isnotaiBaseUrl,
        api_key_encrypted:
          s.apiKey === undefined
            ? undefined
            : s.apiKey === null
              ? null
              : encryptSecret(s.apiKey, secret, aad(s.issuer, s.clientId, deploymentId)),
        identity_strategy: s.identityStrategy,
        risk_high: s.riskThresholds?.high,
        risk_elevated: s.riskThresholds?.elevated,
        student_visibility: s.studentVisibility,
        cache_ttl_seconds: s.cacheTtlSeconds,
        retention_days: s.retentionDays,
        status: s.status,
        source: s.source,
        tool_wide: s.toolWide,
        deployment_ids: s.deploymentIds,
        identity_pattern: s.identityPattern,
      };
      const provided = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      try {
        const row = await db
          .insertInto('platform_settings')
          .values({
            issuer: s.issuer,
            client_id: s.clientId,
            deployment_id: deploymentId,
            display_name: s.displayName ?? s.issuer,
            kind: s.kind ?? 'other',
            isnotai_base_url: s.isnotaiBaseUrl ?? ISNOTAI_REGIONS.us,
            api_key_encrypted: changes.api_key_encrypted ?? null,
            identity_strategy: s.identityStrategy ?? 'sub',
            risk_high: s.riskThresholds?.high,
            risk_elevated: s.riskThresholds?.elevated,
            student_visibility: s.studentVisibility,
            cache_ttl_seconds: s.cacheTtlSeconds,
            retention_days: s.retentionDays,
            status: s.status,
            source: s.source,
            tool_wide: s.toolWide,
            deployment_ids: s.deploymentIds,
            identity_pattern: s.identityPattern ?? null,
          })
          .onConflict((oc) => oc.constraint('platform_settings_key').doUpdateSet({ ...provided, updated_at: new Date() }))
          .returningAll()
          .executeTakeFirstOrThrow();
        return toSettings(row);
      } catch (err) {
        if (pgErrorCode(err) === PG_CHECK_VIOLATION) {
          const constraint = (err as { constraint?: string }).constraint ?? 'a check';
          const why = CHECK_FIELDS[constraint] ?? `violates ${constraint}`;
          throw new StoreError('invalid_settings', `Invalid platform settings: ${why}`, { cause: err });
        }
        throw err;
      }
    },
  };
}

/** What the table's check constraints (migrations 002 and 008) refuse, in the words of the input's fields. */
const CHECK_FIELDS: Readonly<Record<string, string | undefined>> = {
  platform_settings_identity_strategy_check: 'identityStrategy: is not a mapping the tool knows (docs/product.md "Identity")',
  // The schema above checks thresholds by the same rule; only a disagreement would get here.
  platform_settings_thresholds: 'riskThresholds: "elevated" must be above 0 and below "high", and "high" at most 1',
  // The schema above checks it by the same rule (retentionDaysSchema).
  platform_settings_retention_days: `retentionDays: must be a whole number of days from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS}`,
};

function assertUsableSecret(secret: string): void {
  // encryptSecret validates the secret's length and throws a SecretError naming the rule.
  encryptSecret('', secret);
}
