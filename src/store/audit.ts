/**
 * The audit log: every view of a student's data, by whom, from which course. Append-only from
 * the application's side (there is no update or delete here).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import { StoreError } from './errors';
import type { AuditLogTable, JsonValue, Schema } from './schema';

/** What was done; free text in the database so new actions need no migration. */
export type AuditAction = 'view.sessions' | 'view.session' | 'view.roster' | 'view.learner' | 'export.csv' | (string & {});

export interface AuditEntryInput {
  platformIss: string;
  /** With the issuer, the LMS registration (Canvas institutions share one issuer). */
  platformClientId: string;
  actorUserId: string;
  actorRole: string;
  /** The student whose data was seen, when the view was of one student. */
  subjectUserId?: string | null;
  /** The students a view of many showed (a roster page, the session list). */
  subjectUserIds?: string[] | null;
  action: AuditAction;
  contextId?: string | null;
  /** e.g. the isnotai session id. */
  resourceId?: string | null;
  requestId?: string | null;
  /** Structured facts (a retention sweep's or an erasure's counts); never student text. */
  detail?: Record<string, JsonValue> | null;
  /** Defaults to the database's now(). */
  at?: Date;
}

export interface AuditEntry {
  id: string;
  at: Date;
  platformIss: string;
  platformClientId: string;
  actorUserId: string;
  actorRole: string;
  subjectUserId: string | null;
  subjectUserIds: string[] | null;
  action: string;
  contextId: string | null;
  resourceId: string | null;
  requestId: string | null;
  detail: JsonValue | null;
}

export interface AuditListQuery {
  /** 1–500. */
  limit: number;
  offset?: number;
  actor?: string;
  /** Entries that showed this student, alone or among others. */
  subject?: string;
  since?: Date;
  platformIss?: string;
  platformClientId?: string;
  action?: string;
  contextId?: string;
}

export interface AuditPage {
  items: AuditEntry[];
  total: number;
}

export interface AuditLog {
  record(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Newest first. */
  list(query: AuditListQuery): Promise<AuditPage>;
}

/** The most students one audit row names; a view of more (an export) is written as several rows. */
export const MAX_SUBJECTS_PER_ENTRY = 1000;

const text = z.string().min(1).max(2000);
const optionalText = text.nullish();
const entrySchema = z.object({
  platformIss: text,
  platformClientId: text,
  actorUserId: text,
  actorRole: text,
  subjectUserId: optionalText,
  subjectUserIds: z.array(text).max(MAX_SUBJECTS_PER_ENTRY).nullish(),
  action: z.string().regex(/^[a-z][a-z0-9_.-]{0,99}$/, 'action must look like view.sessions'),
  contextId: optionalText,
  resourceId: optionalText,
  requestId: optionalText,
  detail: z.record(z.string(), z.json()).nullish(),
  at: z.date().optional(),
});
const listSchema = z.object({
  limit: z.number().int().min(1).max(500),
  offset: z.number().int().min(0).default(0),
  actor: text.optional(),
  subject: text.optional(),
  since: z.date().optional(),
  platformIss: text.optional(),
  platformClientId: text.optional(),
  action: text.optional(),
  contextId: text.optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; ');
    throw new StoreError('invalid_argument', `Invalid ${what}: ${detail}`);
  }
  return r.data;
}

function toEntry(r: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    platformIss: r.platform_iss,
    platformClientId: r.platform_client_id,
    actorUserId: r.actor_user_id,
    actorRole: r.actor_role,
    subjectUserId: r.subject_user_id,
    subjectUserIds: r.subject_user_ids,
    action: r.action,
    contextId: r.context_id,
    resourceId: r.resource_id,
    requestId: r.request_id,
    detail: r.detail ?? null,
  };
}

export function createAuditLog(db: Kysely<Schema>): AuditLog {
  return {
    async record(input) {
      const e = parse(entrySchema, input, 'audit entry');
      const row = await db
        .insertInto('audit_log')
        .values({
          at: e.at,
          platform_iss: e.platformIss,
          platform_client_id: e.platformClientId,
          actor_user_id: e.actorUserId,
          actor_role: e.actorRole,
          subject_user_id: e.subjectUserId ?? null,
          subject_user_ids: e.subjectUserIds ? [...new Set(e.subjectUserIds)] : null,
          action: e.action,
          context_id: e.contextId ?? null,
          resource_id: e.resourceId ?? null,
          request_id: e.requestId ?? null,
          detail: e.detail ? JSON.stringify(e.detail) : null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toEntry(row);
    },

    async list(input) {
      const q = parse(listSchema, input, 'audit query');
      let base = db.selectFrom('audit_log');
      if (q.actor !== undefined) base = base.where('actor_user_id', '=', q.actor);
      const subject = q.subject;
      if (subject !== undefined) {
        base = base.where((eb) =>
          eb.or([eb('subject_user_id', '=', subject), eb('subject_user_ids', '@>', sql<string[]>`ARRAY[${subject}]::text[]`)]),
        );
      }
      if (q.since !== undefined) base = base.where('at', '>=', q.since);
      if (q.platformIss !== undefined) base = base.where('platform_iss', '=', q.platformIss);
      if (q.platformClientId !== undefined) base = base.where('platform_client_id', '=', q.platformClientId);
      if (q.action !== undefined) base = base.where('action', '=', q.action);
      if (q.contextId !== undefined) base = base.where('context_id', '=', q.contextId);
      const [rows, count] = await Promise.all([
        base.selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset).execute(),
        base.select((eb) => eb.fn.countAll<string>().as('total')).executeTakeFirstOrThrow(),
      ]);
      return { items: rows.map(toEntry), total: Number(count.total) };
    },
  };
}
