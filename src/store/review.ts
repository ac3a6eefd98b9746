/**
 * The review records (migration 007, docs/product.md "Review"): reads a learner's record, the statuses of a course, and
 * writes one form's worth of change (a status, a note, a session mark) in one transaction with its audit row.
 *
 * Optimistic concurrency: a write names the `version` it was based on (0: no record yet). It lands only if the record is
 * still at that version, and moves it to version + 1. Otherwise:
 * - the same person's identical write already produced version + 1 (a double submit, a re-sent form): `duplicate`, and
 *   nothing is written again;
 * - anything else is a `conflict`, answered with the record as it is now, so the page can show the other person's change.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { createAuditLog, type AuditEntryInput } from './audit';
import type {
  ReviewNoteTable,
  ReviewRecordTable,
  ReviewSessionMarkTable,
  ReviewStatusChangeTable,
  ReviewStatusValue,
  Schema,
  SessionMarkValue,
} from './schema';

export type ReviewStatus = ReviewStatusValue;
export type SessionMarkKind = SessionMarkValue;

/** A learner in a course: whose record it is. */
export interface ReviewKey {
  platformIss: string;
  platformClientId: string;
  deploymentId: string;
  contextId: string;
  userId: string;
}

export type CourseKey = Omit<ReviewKey, 'userId'>;

/** Who wrote: the launching staff member, with the roles exactly as the LMS sent them. */
export interface ReviewAuthor {
  lmsUserId: string;
  name: string;
  roles: string[];
  audience: 'instructor' | 'admin';
}

interface Written {
  id: string;
  version: number;
  at: Date;
  author: ReviewAuthor;
}

export interface StatusChange extends Written {
  from: ReviewStatus | null;
  to: ReviewStatus;
  reason: string | null;
}

export interface ReviewNote extends Written {
  body: string;
  correctsId: string | null;
}

export interface SessionMark extends Written {
  sessionId: string;
  mark: SessionMarkKind;
  note: string | null;
}

export interface ReviewRecord {
  /** null: unreviewed. */
  status: ReviewStatus | null;
  /** 0 when nothing was ever written about this learner in this course. */
  version: number;
  statusAt: Date | null;
  /** Oldest first, each. */
  history: StatusChange[];
  notes: ReviewNote[];
  /** Every mark ever made, oldest first; a session's mark is its newest. */
  sessionMarks: SessionMark[];
}

/** One learner's line in a course's statuses (the roster's review column). */
export interface CourseReviewLine {
  status: ReviewStatus | null;
  version: number;
  lastAt: Date;
  lastBy: { name: string; roles: string[]; audience: string };
}

export interface ReviewWrite {
  key: ReviewKey;
  author: ReviewAuthor;
  /** The version the form was based on (0: no record yet). */
  expectedVersion: number;
  status?: { to: ReviewStatus; reason: string | null };
  note?: { body: string; correctsId: string | null };
  mark?: { sessionId: string; mark: SessionMarkKind; note: string | null };
  /** Written in the same transaction; `resourceId` is filled with the record's new version when left out. */
  audit: AuditEntryInput;
  at?: Date;
}

export type ReviewWriteResult =
  | { outcome: 'written'; version: number }
  /** `version` is the record's version now, which others may have moved on since the first identical write. */
  | { outcome: 'duplicate'; version: number }
  | { outcome: 'conflict'; current: ReviewRecord }
  /** `correctsId` names no note of this learner's record. */
  | { outcome: 'unknown_note' };

export interface ReviewStore {
  read(key: ReviewKey): Promise<ReviewRecord>;
  /** Every learner of the course with a record, by userId. */
  courseLines(course: CourseKey): Promise<Map<string, CourseReviewLine>>;
  write(w: ReviewWrite): Promise<ReviewWriteResult>;
}

const EMPTY: ReviewRecord = { status: null, version: 0, statusAt: null, history: [], notes: [], sessionMarks: [] };

type AuthorRow = Pick<
  Selectable<ReviewStatusChangeTable>,
  'id' | 'version' | 'at' | 'actor_lms_user_id' | 'actor_name' | 'actor_roles' | 'actor_audience'
>;

function written(r: AuthorRow): Written {
  return {
    id: String(r.id),
    version: r.version,
    at: r.at,
    author: {
      lmsUserId: r.actor_lms_user_id,
      name: r.actor_name,
      roles: r.actor_roles,
      audience: r.actor_audience === 'admin' ? 'admin' : 'instructor',
    },
  };
}

const toChange = (r: Selectable<ReviewStatusChangeTable>): StatusChange => ({
  ...written(r),
  from: r.from_status,
  to: r.to_status,
  reason: r.reason,
});
const toNote = (r: Selectable<ReviewNoteTable>): ReviewNote => ({
  ...written(r),
  body: r.body,
  correctsId: r.corrects_id === null ? null : String(r.corrects_id),
});
const toMark = (r: Selectable<ReviewSessionMarkTable>): SessionMark => ({
  ...written(r),
  sessionId: r.session_id,
  mark: r.mark,
  note: r.note,
});

function whereKey(key: ReviewKey) {
  return {
    platform_iss: key.platformIss,
    platform_client_id: key.platformClientId,
    deployment_id: key.deploymentId,
    context_id: key.contextId,
    user_id: key.userId,
  };
}

async function findRecord(db: Kysely<Schema>, key: ReviewKey): Promise<Selectable<ReviewRecordTable> | undefined> {
  return db
    .selectFrom('review_record')
    .selectAll()
    .where((eb) => eb.and(whereKey(key)))
    .executeTakeFirst();
}

async function readRecord(db: Kysely<Schema>, key: ReviewKey): Promise<ReviewRecord> {
  const rec = await findRecord(db, key);
  return rec ? readRecordFrom(db, rec) : EMPTY;
}

/** The record whose row is at hand, with everything written beside it. */
async function readRecordFrom(db: Kysely<Schema>, rec: Selectable<ReviewRecordTable>): Promise<ReviewRecord> {
  const [history, notes, marks] = await Promise.all([
    db.selectFrom('review_status_change').selectAll().where('record_id', '=', rec.id).orderBy('id').execute(),
    db.selectFrom('review_note').selectAll().where('record_id', '=', rec.id).orderBy('id').execute(),
    db.selectFrom('review_session_mark').selectAll().where('record_id', '=', rec.id).orderBy('id').execute(),
  ]);
  return {
    status: rec.status,
    version: rec.version,
    statusAt: rec.status_at,
    history: history.map(toChange),
    notes: notes.map(toNote),
    sessionMarks: marks.map(toMark),
  };
}

/** The write that moved `record` to `version`, if it was this author's and carried exactly this content. */
async function isSameWrite(trx: Transaction<Schema>, recordId: string, version: number, w: ReviewWrite): Promise<boolean> {
  const [change, note, mark] = await Promise.all([
    trx.selectFrom('review_status_change').selectAll().where('record_id', '=', recordId).where('version', '=', version).executeTakeFirst(),
    trx.selectFrom('review_note').selectAll().where('record_id', '=', recordId).where('version', '=', version).executeTakeFirst(),
    trx.selectFrom('review_session_mark').selectAll().where('record_id', '=', recordId).where('version', '=', version).executeTakeFirst(),
  ]);
  const by = [change, note, mark].find((r) => r !== undefined);
  if (!by || by.actor_lms_user_id !== w.author.lmsUserId) return false;
  const sameChange = w.status ? change?.to_status === w.status.to && change.reason === w.status.reason : change === undefined;
  const sameNote = w.note
    ? note?.body === w.note.body && (note.corrects_id === null ? null : String(note.corrects_id)) === w.note.correctsId
    : note === undefined;
  const sameMark = w.mark
    ? mark?.session_id === w.mark.sessionId && mark.mark === w.mark.mark && mark.note === w.mark.note
    : mark === undefined;
  return sameChange && sameNote && sameMark;
}

export function createReviewStore(db: Kysely<Schema>): ReviewStore {
  return {
    read: (key) => readRecord(db, key),

    async courseLines(course) {
      const rows = await db
        .selectFrom('review_record')
        .select(['user_id', 'status', 'version', 'last_at', 'last_actor_name', 'last_actor_roles', 'last_actor_audience'])
        .where('platform_iss', '=', course.platformIss)
        .where('platform_client_id', '=', course.platformClientId)
        .where('deployment_id', '=', course.deploymentId)
        .where('context_id', '=', course.contextId)
        .execute();
      return new Map(
        rows.map((r) => [
          r.user_id,
          {
            status: r.status,
            version: r.version,
            lastAt: r.last_at,
            lastBy: { name: r.last_actor_name, roles: r.last_actor_roles, audience: r.last_actor_audience },
          },
        ]),
      );
    },

    async write(w) {
      if (!w.status && !w.note && !w.mark) throw new Error('a review write carries a status, a note or a mark');
      return db.transaction().execute(async (trx): Promise<ReviewWriteResult> => {
        const at = w.at ?? (await sql<{ now: Date }>`SELECT now() AS now`.execute(trx)).rows[0]!.now;
        const next = w.expectedVersion + 1;
        const correctsId = w.note?.correctsId;
        // The record as the form knew it (none at version 0 unless a correction needs it), read once for this write.
        const found = w.expectedVersion > 0 || correctsId ? await findRecord(trx, w.key) : undefined;
        // A correction names a note of this learner's record, or nothing is written.
        if (correctsId) {
          const corrected =
            found &&
            (await trx
              .selectFrom('review_note')
              .select('id')
              .where('id', '=', correctsId)
              .where('record_id', '=', found.id)
              .executeTakeFirst());
          if (!corrected) return { outcome: 'unknown_note' };
        }
        const last = {
          last_at: at,
          last_actor_name: w.author.name,
          last_actor_roles: w.author.roles,
          last_actor_audience: w.author.audience,
        };
        const statusSet = w.status ? { status: w.status.to, status_at: at } : {};
        // Lands only at the expected version; a concurrent writer waits for ours and then finds the version moved.
        const moved =
          w.expectedVersion === 0
            ? await trx
                .insertInto('review_record')
                .values({ ...whereKey(w.key), status: w.status?.to ?? null, status_at: w.status ? at : null, version: 1, ...last })
                .onConflict((oc) => oc.constraint('review_record_learner').doNothing())
                .returning(['id'])
                .executeTakeFirst()
            : found &&
              (await trx
                .updateTable('review_record')
                .set({ version: next, ...last, ...statusSet })
                .where('id', '=', found.id)
                .where('version', '=', w.expectedVersion)
                .returning(['id'])
                .executeTakeFirst());
        if (!moved) {
          // Someone else's write moved it (or made it, at version 0): read it as it is now.
          const current = await findRecord(trx, w.key);
          if (current && current.version >= next && (await isSameWrite(trx, current.id, next, w))) {
            return { outcome: 'duplicate', version: current.version };
          }
          return { outcome: 'conflict', current: current ? await readRecordFrom(trx, current) : EMPTY };
        }
        const recordId = moved.id;
        const author = {
          record_id: recordId,
          version: next,
          at,
          actor_lms_user_id: w.author.lmsUserId,
          actor_name: w.author.name,
          actor_roles: w.author.roles,
          actor_audience: w.author.audience,
        };
        if (w.status) {
          // The status it had: the update landed at the version read, so nothing changed it in between (none at version 0).
          await trx
            .insertInto('review_status_change')
            .values({ ...author, from_status: found?.status ?? null, to_status: w.status.to, reason: w.status.reason })
            .execute();
        }
        if (w.note) {
          await trx
            .insertInto('review_note')
            .values({ ...author, body: w.note.body, corrects_id: w.note.correctsId })
            .execute();
        }
        if (w.mark) {
          await trx
            .insertInto('review_session_mark')
            .values({ ...author, session_id: w.mark.sessionId, mark: w.mark.mark, note: w.mark.note })
            .execute();
        }
        await createAuditLog(trx).record({ ...w.audit, resourceId: w.audit.resourceId ?? `review v${next}`, at });
        return { outcome: 'written', version: next };
      });
    },
  };
}
