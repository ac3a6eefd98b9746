/**
 * LMS registrations (migration 009, docs/product.md "Installing the tool"): the platform-wide `platform_settings` row of
 * each issuer + client id, as the admin pages and `npm run platforms` list and change it.
 *
 * - A registration made by Dynamic Registration is created `pending` (or `active` under AUTO_ACTIVATE), after ltijs has
 *   stored the platform (issuer, client id, endpoints, keyset) with `lti.registerPlatform`. It never replaces one
 *   already there: the same issuer and client id is `registration_exists`.
 * - Its status lives here and, for ltijs's own check at login, in `lti_platform_status` (by the platform's kid); both are
 *   written in one transaction with the audit row.
 * - A change names the version its form was based on and lands only at that version (`UPDATE … WHERE version = n`),
 *   with its audit row in the same transaction. The same change sent again (every field it names already holds the
 *   value it asks for) is `duplicate`; anything else at a moved version is `conflict`.
 * - The isnotai API key is encrypted as ./platformSettings encrypts it, and is never returned: only whether one is set.
 *   The audit row names which settings changed, never the key.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { createAuditLog, type AuditEntryInput } from './audit';
import { StoreError, pgErrorCode, PG_CHECK_VIOLATION, PG_UNIQUE_VIOLATION } from './errors';
import { aad, toSettings, type PlatformSettings } from './platformSettings';
import type { JsonValue, PlatformKind, RegistrationStatus, Schema, StudentVisibility } from './schema';
import { decryptSecret, encryptSecret } from './secrets';

export type Registration = PlatformSettings;

/** What a settings form may change; a field left out keeps its value. `apiKey: null` removes the key. */
export interface RegistrationChanges {
  displayName?: string;
  isnotaiBaseUrl?: string;
  apiKey?: string | null;
  identityStrategy?: string;
  identityPattern?: string | null;
  studentVisibility?: StudentVisibility;
  riskThresholds?: { high: number; elevated: number };
  deploymentIds?: string[];
  retentionDays?: number;
  status?: RegistrationStatus;
}

export type RegistrationChangeResult =
  | { kind: 'saved'; registration: Registration; changed: string[] }
  | { kind: 'duplicate'; registration: Registration }
  | { kind: 'conflict'; current: Registration }
  | { kind: 'not_found' };

export interface NewDynamicRegistration {
  issuer: string;
  clientId: string;
  displayName: string;
  kind: PlatformKind;
  deploymentIds: string[];
  isnotaiBaseUrl: string;
  identityStrategy: string;
  status: 'pending' | 'active';
  /** What was exchanged, for the admin pages (no secret: the registration token is not kept). */
  registration: Record<string, JsonValue>;
  audit: AuditEntryInput;
}

export interface RegistrationStore {
  /** Every platform-wide registration, oldest first. */
  list(): Promise<Registration[]>;
  get(id: string): Promise<Registration | undefined>;
  find(issuer: string, clientId: string): Promise<Registration | undefined>;
  createDynamic(input: NewDynamicRegistration): Promise<Registration>;
  change(id: string, changes: RegistrationChanges, expectedVersion: number, audit: AuditEntryInput): Promise<RegistrationChangeResult>;
  /**
   * Writes ltijs's own status row (`lti_platform_status`, read at login) from the registration's status: after
   * PLATFORMS_JSON is applied at start, which may have made a pending registration the operator's, active.
   */
  syncLtijsStatus(issuer: string, clientId: string): Promise<void>;
  /** For the operator's command: whether this registration's admins may activate every registration. */
  setToolWide(id: string, toolWide: boolean, audit: AuditEntryInput): Promise<Registration | undefined>;
}

const ALL_DEPLOYMENTS = '';

/** The settings names an audit row lists (never values). */
const FIELD_NAMES: Readonly<Record<keyof RegistrationChanges, string>> = {
  displayName: 'display_name',
  isnotaiBaseUrl: 'isnotai_base_url',
  apiKey: 'api_key',
  identityStrategy: 'identity',
  identityPattern: 'identity_pattern',
  studentVisibility: 'student_visibility',
  riskThresholds: 'thresholds',
  deploymentIds: 'deployment_ids',
  retentionDays: 'retention_days',
  status: 'status',
};

export function createRegistrationStore(db: Kysely<Schema>, options: { secret: string }): RegistrationStore {
  const { secret } = options;
  const audits = (trx: Transaction<Schema>) => createAuditLog(trx);
  const base = (q: Kysely<Schema> | Transaction<Schema>) =>
    q.selectFrom('platform_settings').selectAll().where('deployment_id', '=', ALL_DEPLOYMENTS);

  async function syncLtijsStatus(trx: Transaction<Schema>, issuer: string, clientId: string, status: RegistrationStatus) {
    const platform = await trx
      .selectFrom('lti_platform')
      .select('kid')
      .where('platform_url', '=', issuer)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    if (!platform) return;
    await trx
      .insertInto('lti_platform_status')
      .values({ id: platform.kid, active: status === 'active', created_at: new Date() })
      .onConflict((oc) => oc.column('id').doUpdateSet({ active: status === 'active' }))
      .execute();
  }

  /** Which of the asked changes differ from what is stored (the API key compared decrypted). */
  function differing(row: Registration, encryptedKey: string | null, c: RegistrationChanges): Array<keyof RegistrationChanges> {
    const out: Array<keyof RegistrationChanges> = [];
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (c.displayName !== undefined && c.displayName !== row.displayName) out.push('displayName');
    if (c.isnotaiBaseUrl !== undefined && c.isnotaiBaseUrl !== row.isnotaiBaseUrl) out.push('isnotaiBaseUrl');
    if (c.apiKey !== undefined) {
      const current = encryptedKey ? decryptSecret(encryptedKey, secret, aad(row.issuer, row.clientId, ALL_DEPLOYMENTS)) : null;
      if (current !== c.apiKey) out.push('apiKey');
    }
    if (c.identityStrategy !== undefined && c.identityStrategy !== row.identityStrategy) out.push('identityStrategy');
    if (c.identityPattern !== undefined && c.identityPattern !== row.identityPattern) out.push('identityPattern');
    if (c.studentVisibility !== undefined && c.studentVisibility !== row.studentVisibility) out.push('studentVisibility');
    if (c.riskThresholds !== undefined && !same(c.riskThresholds, row.riskThresholds)) out.push('riskThresholds');
    if (c.deploymentIds !== undefined && !same(c.deploymentIds, row.deploymentIds)) out.push('deploymentIds');
    if (c.retentionDays !== undefined && c.retentionDays !== row.retentionDays) out.push('retentionDays');
    if (c.status !== undefined && c.status !== row.status) out.push('status');
    return out;
  }

  return {
    async list() {
      const rows = await base(db).orderBy('id').execute();
      return rows.map(toSettings);
    },

    async get(id) {
      if (!/^\d{1,18}$/.test(id)) return undefined;
      const row = await base(db).where('id', '=', id).executeTakeFirst();
      return row && toSettings(row);
    },

    async find(issuer, clientId) {
      const row = await base(db).where('issuer', '=', issuer).where('client_id', '=', clientId).executeTakeFirst();
      return row && toSettings(row);
    },

    async createDynamic(input) {
      try {
        return await db.transaction().execute(async (trx) => {
          const row = await trx
            .insertInto('platform_settings')
            .values({
              issuer: input.issuer,
              client_id: input.clientId,
              deployment_id: ALL_DEPLOYMENTS,
              display_name: input.displayName,
              kind: input.kind,
              isnotai_base_url: input.isnotaiBaseUrl,
              api_key_encrypted: null,
              identity_strategy: input.identityStrategy,
              status: input.status,
              source: 'dynamic',
              deployment_ids: input.deploymentIds,
              registration: JSON.stringify(input.registration),
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          await syncLtijsStatus(trx, input.issuer, input.clientId, input.status);
          await audits(trx).record({ ...input.audit, resourceId: input.audit.resourceId ?? `registration ${row.id}` });
          return toSettings(row);
        });
      } catch (err) {
        if (pgErrorCode(err) === PG_UNIQUE_VIOLATION)
          throw new StoreError('registration_exists', 'This LMS (issuer and client id) is already registered with the tool.', {
            cause: err,
          });
        throw err;
      }
    },

    async change(id, changes, expectedVersion, audit) {
      if (!/^\d{1,18}$/.test(id)) return { kind: 'not_found' };
      try {
        return await db.transaction().execute(async (trx): Promise<RegistrationChangeResult> => {
          const row = await base(trx).where('id', '=', id).forUpdate().executeTakeFirst();
          if (!row) return { kind: 'not_found' };
          const current = toSettings(row);
          const differs = differing(current, row.api_key_encrypted, changes);
          if (row.version !== expectedVersion) {
            // Every field already holds what was asked: the same change, sent again.
            return differs.length === 0 ? { kind: 'duplicate', registration: current } : { kind: 'conflict', current };
          }
          if (differs.length === 0) return { kind: 'duplicate', registration: current };
          const set: Record<string, unknown> = { version: row.version + 1, updated_at: new Date() };
          for (const f of differs) {
            if (f === 'displayName') set.display_name = changes.displayName;
            if (f === 'isnotaiBaseUrl') set.isnotai_base_url = changes.isnotaiBaseUrl;
            if (f === 'apiKey')
              set.api_key_encrypted = changes.apiKey
                ? encryptSecret(changes.apiKey, secret, aad(row.issuer, row.client_id, ALL_DEPLOYMENTS))
                : null;
            if (f === 'identityStrategy') set.identity_strategy = changes.identityStrategy;
            if (f === 'identityPattern') set.identity_pattern = changes.identityPattern;
            if (f === 'studentVisibility') set.student_visibility = changes.studentVisibility;
            if (f === 'riskThresholds') {
              set.risk_high = changes.riskThresholds?.high;
              set.risk_elevated = changes.riskThresholds?.elevated;
            }
            if (f === 'deploymentIds') set.deployment_ids = changes.deploymentIds;
            if (f === 'retentionDays') set.retention_days = changes.retentionDays;
            if (f === 'status') set.status = changes.status;
          }
          const updated = await trx
            .updateTable('platform_settings')
            .set(set)
            .where('id', '=', id)
            .where('version', '=', expectedVersion)
            .returningAll()
            .executeTakeFirstOrThrow();
          if (differs.includes('status') && changes.status) await syncLtijsStatus(trx, row.issuer, row.client_id, changes.status);
          const changed = differs.map((f) => FIELD_NAMES[f]);
          await audits(trx).record({
            ...audit,
            resourceId: audit.resourceId ?? `registration ${row.id} v${updated.version}`,
            detail: {
              ...(audit.detail ?? {}),
              changed,
              ...(changes.status && differs.includes('status') ? { status: changes.status } : {}),
            },
          });
          return { kind: 'saved', registration: toSettings(updated), changed };
        });
      } catch (err) {
        if (pgErrorCode(err) === PG_CHECK_VIOLATION)
          throw new StoreError(
            'invalid_settings',
            `Invalid registration settings (${(err as { constraint?: string }).constraint ?? 'a check'})`,
            {
              cause: err,
            },
          );
        throw err;
      }
    },

    async syncLtijsStatus(issuer, clientId) {
      await db.transaction().execute(async (trx) => {
        const row = await base(trx).where('issuer', '=', issuer).where('client_id', '=', clientId).executeTakeFirst();
        if (row) await syncLtijsStatus(trx, issuer, clientId, row.status);
      });
    },

    async setToolWide(id, toolWide, audit) {
      if (!/^\d{1,18}$/.test(id)) return undefined;
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('platform_settings')
          .set({ tool_wide: toolWide, updated_at: new Date(), version: sql`version + 1` })
          .where('id', '=', id)
          .where('deployment_id', '=', ALL_DEPLOYMENTS)
          .returningAll()
          .executeTakeFirst();
        if (!row) return undefined;
        await audits(trx).record({
          ...audit,
          resourceId: `registration ${row.id} v${row.version}`,
          detail: { changed: ['tool_wide'], toolWide },
        });
        return toSettings(row);
      });
    },
  };
}
