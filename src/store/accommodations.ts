/**
 * The accommodations register (migration 008, docs/product.md "Accommodations"): per learner, the accommodations on record
 * for one course (an instructor's) or for every course of the LMS registration (an admin's). Which signals each explains is
 * the risk model's (src/risk/accommodations.ts); the store keeps what was recorded, by whom and when.
 *
 * Each scope's set has an optimistic `version`, as a review record has: a change names the version its form was based on
 * and lands only at that version, with its audit row in the same transaction. The same person's identical change sent
 * twice is the change already made (`duplicate`); anything else at a moved version is a `conflict`.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { createAuditLog, type AuditEntryInput } from './audit';
import type { AccommodationSetTable, AccommodationTable, Schema } from './schema';
import type { ReviewAuthor } from './review';

/** Whose accommodations, in which scope: `course` null is every course of the registration. */
export interface AccommodationScope {
  platformIss: string;
  platformClientId: string;
  userId: string;
  /** The course (deployment and context) of an instructor's entry; null for an admin's, for every course. */
  course: { deploymentId: string; contextId: string } | null;
}

export interface Accommodation {
  id: string;
  kind: string;
  detail: string | null;
  /** 'course' or 'platform' (every course of the registration). */
  scope: 'course' | 'platform';
  addedAt: Date;
  addedVersion: number;
  addedBy: ReviewAuthor;
  removed: { at: Date; version: number; by: ReviewAuthor } | null;
}

export interface AccommodationSet {
  /** 0 when nothing was ever recorded in this scope. */
  version: number;
  /** Oldest first, removed ones included. */
  entries: Accommodation[];
}

/** What applies to a learner in a course: the course's own set and the registration-wide one. */
export interface LearnerAccommodations {
  course: AccommodationSet;
  platform: AccommodationSet;
}

export interface AccommodationChange {
  scope: AccommodationScope;
  author: ReviewAuthor;
  expectedVersion: number;
  add?: { kind: string; detail: string | null };
  /** The id of an accommodation of this scope's set that is in effect. */
  remove?: { id: string };
  /** Written in the same transaction; `resourceId` is filled with `accommodations v{n}` when left out. */
  audit: AuditEntryInput;
  at?: Date;
}

export type AccommodationChangeResult =
  | { outcome: 'written'; version: number }
  | { outcome: 'duplicate'; version: number }
  | { outcome: 'conflict'; current: AccommodationSet }
  /** `remove.id` names no accommodation in effect in this scope's set. */
  | { outcome: 'unknown_accommodation' };

export interface AccommodationStore {
  /** The learner's sets for the course (its own and the registration's); a course of null reads the registration's only. */
  forLearner(
    key: Omit<AccommodationScope, 'course'>,
    course: { deploymentId: string; contextId: string } | null,
  ): Promise<LearnerAccommodations>;
  /**
   * The accommodations in effect for each learner of a course (the course's and the registration's), by userId; `userIds`
   * null: for every learner who has one.
   */
  inEffectForCourse(
    course: { platformIss: string; platformClientId: string; deploymentId: string; contextId: string },
    userIds: readonly string[] | null,
  ): Promise<Map<string, Accommodation[]>>;
  change(c: AccommodationChange): Promise<AccommodationChangeResult>;
}

const EMPTY: AccommodationSet = { version: 0, entries: [] };
const ALL = '';

function whereScope(s: AccommodationScope) {
  return {
    platform_iss: s.platformIss,
    platform_client_id: s.platformClientId,
    user_id: s.userId,
    deployment_id: s.course?.deploymentId ?? ALL,
    context_id: s.course?.contextId ?? ALL,
  };
}

const author = (lmsUserId: string, name: string, roles: string[], audience: string): ReviewAuthor => ({
  lmsUserId,
  name,
  roles,
  audience: audience === 'admin' ? 'admin' : 'instructor',
});

function toAccommodation(r: Selectable<AccommodationTable>, set: Selectable<AccommodationSetTable>): Accommodation {
  return {
    id: String(r.id),
    kind: r.kind,
    detail: r.detail,
    scope: set.context_id === ALL ? 'platform' : 'course',
    addedAt: r.added_at,
    addedVersion: r.added_version,
    addedBy: author(r.actor_lms_user_id, r.actor_name, r.actor_roles, r.actor_audience),
    removed:
      r.removed_at && r.removed_version !== null
        ? {
            at: r.removed_at,
            version: r.removed_version,
            by: author(r.removed_by_lms_user_id ?? '', r.removed_by_name ?? '', r.removed_by_roles ?? [], r.removed_by_audience ?? ''),
          }
        : null,
  };
}

async function readSet(db: Kysely<Schema>, set: Selectable<AccommodationSetTable> | undefined): Promise<AccommodationSet> {
  if (!set) return EMPTY;
  const rows = await db.selectFrom('accommodation').selectAll().where('set_id', '=', set.id).orderBy('id').execute();
  return { version: set.version, entries: rows.map((r) => toAccommodation(r, set)) };
}

const findSet = (db: Kysely<Schema>, scope: AccommodationScope) =>
  db
    .selectFrom('accommodation_set')
    .selectAll()
    .where((eb) => eb.and(whereScope(scope)))
    .executeTakeFirst();

/** Whether the change that moved the set to `version` was this author's and exactly this change. */
async function isSameChange(trx: Transaction<Schema>, setId: string, version: number, c: AccommodationChange): Promise<boolean> {
  if (c.add) {
    const added = await trx
      .selectFrom('accommodation')
      .selectAll()
      .where('set_id', '=', setId)
      .where('added_version', '=', version)
      .executeTakeFirst();
    return (
      added !== undefined && added.actor_lms_user_id === c.author.lmsUserId && added.kind === c.add.kind && added.detail === c.add.detail
    );
  }
  if (c.remove) {
    const removed = await trx
      .selectFrom('accommodation')
      .select(['id', 'removed_by_lms_user_id'])
      .where('set_id', '=', setId)
      .where('removed_version', '=', version)
      .executeTakeFirst();
    return removed !== undefined && String(removed.id) === c.remove.id && removed.removed_by_lms_user_id === c.author.lmsUserId;
  }
  return false;
}

export function createAccommodationStore(db: Kysely<Schema>): AccommodationStore {
  return {
    async forLearner(key, course) {
      // Both sets in one read, and their entries in one more only when there is a set (most learners have none).
      const scopes = [whereScope({ ...key, course: null }), ...(course ? [whereScope({ ...key, course })] : [])];
      const sets = await db
        .selectFrom('accommodation_set')
        .selectAll()
        .where((eb) => eb.or(scopes.map((scope) => eb.and(scope))))
        .execute();
      const rows =
        sets.length === 0
          ? []
          : await db
              .selectFrom('accommodation')
              .selectAll()
              .where(
                'set_id',
                'in',
                sets.map((set) => set.id),
              )
              .orderBy('id')
              .execute();
      const setOf = (scope: AccommodationScope['course']): AccommodationSet => {
        const set = sets.find((x) => x.deployment_id === (scope?.deploymentId ?? ALL) && x.context_id === (scope?.contextId ?? ALL));
        if (!set) return EMPTY;
        return { version: set.version, entries: rows.filter((r) => r.set_id === set.id).map((r) => toAccommodation(r, set)) };
      };
      return { course: course ? setOf(course) : EMPTY, platform: setOf(null) };
    },

    async inEffectForCourse(course, userIds) {
      const byUser = new Map<string, Accommodation[]>();
      if (userIds !== null && userIds.length === 0) return byUser;
      const rows = await db
        .selectFrom('accommodation as a')
        .innerJoin('accommodation_set as s', 's.id', 'a.set_id')
        .selectAll('a')
        .select([
          's.user_id as set_user_id',
          's.context_id as set_context_id',
          's.deployment_id as set_deployment_id',
          's.version as set_version',
        ])
        .where('s.platform_iss', '=', course.platformIss)
        .where('s.platform_client_id', '=', course.platformClientId)
        .$if(userIds !== null, (q) => q.where('s.user_id', 'in', [...(userIds ?? [])]))
        .where((eb) =>
          eb.or([
            eb.and([eb('s.deployment_id', '=', ALL), eb('s.context_id', '=', ALL)]),
            eb.and([eb('s.deployment_id', '=', course.deploymentId), eb('s.context_id', '=', course.contextId)]),
          ]),
        )
        .where('a.removed_at', 'is', null)
        .orderBy('a.id')
        .execute();
      for (const r of rows) {
        const set = { context_id: r.set_context_id } as Selectable<AccommodationSetTable>;
        const list = byUser.get(r.set_user_id) ?? [];
        list.push(toAccommodation(r, set));
        byUser.set(r.set_user_id, list);
      }
      return byUser;
    },

    async change(c) {
      if (!c.add === !c.remove) throw new Error('an accommodation change adds one or removes one');
      return db.transaction().execute(async (trx): Promise<AccommodationChangeResult> => {
        const at = c.at ?? (await sql<{ now: Date }>`SELECT now() AS now`.execute(trx)).rows[0]!.now;
        const next = c.expectedVersion + 1;
        const found = c.expectedVersion > 0 || c.remove ? await findSet(trx, c.scope) : undefined;
        if (c.remove) {
          const inEffect =
            found &&
            (await trx
              .selectFrom('accommodation')
              .select('id')
              .where('id', '=', c.remove.id)
              .where('set_id', '=', found.id)
              .where('removed_at', 'is', null)
              .executeTakeFirst());
          // Already removed by this very change (a double submit) is answered below as a duplicate.
          if (!inEffect) {
            const current = found ?? (await findSet(trx, c.scope));
            if (current && current.version >= next && (await isSameChange(trx, current.id, next, c)))
              return { outcome: 'duplicate', version: current.version };
            return { outcome: 'unknown_accommodation' };
          }
        }
        const moved =
          c.expectedVersion === 0
            ? await trx
                .insertInto('accommodation_set')
                .values({ ...whereScope(c.scope), version: 1, last_at: at })
                .onConflict((oc) => oc.constraint('accommodation_set_learner').doNothing())
                .returning('id')
                .executeTakeFirst()
            : found &&
              (await trx
                .updateTable('accommodation_set')
                .set({ version: next, last_at: at })
                .where('id', '=', found.id)
                .where('version', '=', c.expectedVersion)
                .returning('id')
                .executeTakeFirst());
        if (!moved) {
          const current = await findSet(trx, c.scope);
          if (current && current.version >= next && (await isSameChange(trx, current.id, next, c)))
            return { outcome: 'duplicate', version: current.version };
          return { outcome: 'conflict', current: await readSet(trx, current) };
        }
        if (c.add) {
          await trx
            .insertInto('accommodation')
            .values({
              set_id: moved.id,
              kind: c.add.kind,
              detail: c.add.detail,
              added_version: next,
              added_at: at,
              actor_lms_user_id: c.author.lmsUserId,
              actor_name: c.author.name,
              actor_roles: c.author.roles,
              actor_audience: c.author.audience,
            })
            .execute();
        } else if (c.remove) {
          await trx
            .updateTable('accommodation')
            .set({
              removed_version: next,
              removed_at: at,
              removed_by_lms_user_id: c.author.lmsUserId,
              removed_by_name: c.author.name,
              removed_by_roles: c.author.roles,
              removed_by_audience: c.author.audience,
            })
            .where('id', '=', c.remove.id)
            .where('set_id', '=', moved.id)
            .execute();
        }
        await createAuditLog(trx).record({ ...c.audit, resourceId: c.audit.resourceId ?? `accommodations v${next}`, at });
        return { outcome: 'written', version: next };
      });
    },
  };
}
