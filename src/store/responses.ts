/**
 * Students' responses to their own sessions (migration 008, docs/product.md "Student responses"): append-only, kept per
 * LMS registration and learner, each with its session, time and author; and, per course, which of them the course's staff
 * have seen (a response after the newest one seen when a staff member last opened the learner is "new").
 *
 * A double submit (the same form sent twice) is recognised as the write already made: the newest response of the same
 * session by the same student, with the same text, is that write. Writes for one learner and session are serialised by a
 * transaction-level advisory lock, so two concurrent copies cannot both land.
 */
import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import { createAuditLog, type AuditEntryInput } from './audit';
import type { Schema, StudentResponseTable } from './schema';

/** A learner in an LMS registration: whose responses they are. */
export interface LearnerKey {
  platformIss: string;
  platformClientId: string;
  userId: string;
}

/** A course (as in src/store/review.ts CourseKey): whose staff have seen which responses. */
export interface SeenKey extends LearnerKey {
  deploymentId: string;
  contextId: string;
}

export interface StudentResponse {
  id: string;
  sessionId: string;
  body: string;
  at: Date;
  /** The student's LMS user id (the mapped id, else the LTI subject) and name as their launch sent it. */
  author: { lmsUserId: string; name: string };
  /** The course it was written from; null from outside a course. */
  contextId: string | null;
}

export interface ResponseWrite {
  key: LearnerKey;
  sessionId: string;
  body: string;
  author: { lmsUserId: string; name: string };
  deploymentId: string;
  contextId: string | null;
  /** Written in the same transaction; `resourceId` is filled with `response {id} session {sessionId}` when left out. */
  audit: AuditEntryInput;
  at?: Date;
}

export type ResponseWriteResult = { outcome: 'written' | 'duplicate'; id: string };

export interface ResponseStore {
  /** Every response of the learner, oldest first. */
  forLearner(key: LearnerKey): Promise<StudentResponse[]>;
  write(w: ResponseWrite): Promise<ResponseWriteResult>;
  /** The newest response the course's staff have seen ('0' when none): responses after it are new. */
  seenThrough(key: SeenKey): Promise<string>;
  /** Records that the course's staff have now seen the learner's responses up to `throughId` (never moves back). */
  markSeen(key: SeenKey, throughId: string, at?: Date): Promise<void>;
  /** How many responses of each of these learners the course's staff have not seen; learners with none are left out. */
  newCounts(course: Omit<SeenKey, 'userId'>, userIds: readonly string[]): Promise<Map<string, number>>;
}

const toResponse = (r: Selectable<StudentResponseTable>): StudentResponse => ({
  id: String(r.id),
  sessionId: r.session_id,
  body: r.body,
  at: r.at,
  author: { lmsUserId: r.author_lms_user_id, name: r.author_name },
  contextId: r.context_id,
});

const ofLearner = (key: LearnerKey) => ({
  platform_iss: key.platformIss,
  platform_client_id: key.platformClientId,
  user_id: key.userId,
});

/**
 * How many of each learner's responses the course's staff have not seen yet, as a query of (user_id, n) with a row per
 * learner who has any: of `userIds`, or (null) of every learner of the registration. newCounts reads it, and the roster's
 * page joins it (./roster).
 */
export function unseenResponseCounts(
  course: Omit<SeenKey, 'userId'>,
  userIds: readonly string[] | null,
): RawBuilder<{ user_id: string; n: string }> {
  return sql<{ user_id: string; n: string }>`
    SELECT r.user_id, count(*) AS n
    FROM student_response r
    LEFT JOIN response_seen s
      ON s.platform_iss = r.platform_iss AND s.platform_client_id = r.platform_client_id AND s.user_id = r.user_id
      AND s.deployment_id = ${course.deploymentId} AND s.context_id = ${course.contextId}
    WHERE r.platform_iss = ${course.platformIss} AND r.platform_client_id = ${course.platformClientId}
      ${userIds === null ? sql`` : sql`AND r.user_id = ANY(${[...userIds]}::text[])`}
      AND r.id > COALESCE(s.seen_through, 0)
    GROUP BY r.user_id`;
}

export function createResponseStore(db: Kysely<Schema>): ResponseStore {
  return {
    async forLearner(key) {
      const rows = await db
        .selectFrom('student_response')
        .selectAll()
        .where((eb) => eb.and(ofLearner(key)))
        .orderBy('id')
        .execute();
      return rows.map(toResponse);
    },

    async write(w) {
      return db.transaction().execute(async (trx): Promise<ResponseWriteResult> => {
        // One writer per learner and session at a time: a second copy of the same form then finds the first.
        const lockKey = JSON.stringify([w.key.platformIss, w.key.platformClientId, w.key.userId, w.sessionId]);
        await sql`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey}, 8))`.execute(trx);
        const last = await trx
          .selectFrom('student_response')
          .select(['id', 'body', 'author_lms_user_id'])
          .where((eb) => eb.and({ ...ofLearner(w.key), session_id: w.sessionId }))
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        if (last && last.body === w.body && last.author_lms_user_id === w.author.lmsUserId) {
          return { outcome: 'duplicate', id: String(last.id) };
        }
        const at = w.at ?? (await sql<{ now: Date }>`SELECT now() AS now`.execute(trx)).rows[0]!.now;
        const row = await trx
          .insertInto('student_response')
          .values({
            ...ofLearner(w.key),
            session_id: w.sessionId,
            body: w.body,
            at,
            author_lms_user_id: w.author.lmsUserId,
            author_name: w.author.name.slice(0, 200),
            deployment_id: w.deploymentId,
            context_id: w.contextId,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        const id = String(row.id);
        await createAuditLog(trx).record({
          ...w.audit,
          resourceId: w.audit.resourceId ?? `response ${id} session ${w.sessionId.slice(0, 200)}`,
          at,
        });
        return { outcome: 'written', id };
      });
    },

    async seenThrough(key) {
      const row = await db
        .selectFrom('response_seen')
        .select('seen_through')
        .where((eb) => eb.and({ ...ofLearner(key), deployment_id: key.deploymentId, context_id: key.contextId }))
        .executeTakeFirst();
      return row ? String(row.seen_through) : '0';
    },

    async markSeen(key, throughId, at) {
      if (!/^\d{1,19}$/.test(throughId) || throughId === '0') return;
      await db
        .insertInto('response_seen')
        .values({
          ...ofLearner(key),
          deployment_id: key.deploymentId,
          context_id: key.contextId,
          seen_through: throughId,
          seen_at: at ?? new Date(),
        })
        .onConflict((oc) =>
          oc.columns(['platform_iss', 'platform_client_id', 'deployment_id', 'context_id', 'user_id']).doUpdateSet({
            seen_through: sql`GREATEST(response_seen.seen_through, excluded.seen_through)`,
            seen_at: sql`excluded.seen_at`,
          }),
        )
        .execute();
    },

    async newCounts(course, userIds) {
      if (userIds.length === 0) return new Map();
      const { rows } = await unseenResponseCounts(course, userIds).execute(db);
      return new Map(rows.map((r) => [r.user_id, Number(r.n)]));
    },
  };
}
