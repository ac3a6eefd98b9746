/**
 * Retention of what the tool writes about learners (docs/product.md "Retention"), and an admin's export and erasure of one
 * learner's review data.
 *
 * Per LMS registration, `platform_settings.retention_days` (default 365; the strictest of a registration's rows when it
 * has several) says how long these are kept:
 * - a student's response: from when it was written;
 * - a review record, with its status changes, notes and session marks: from its last change (a record is one history and
 *   goes as a whole);
 * - an accommodation removed from the register: from its removal; one still in effect is kept while it is, since deleting
 *   it would raise the learner's levels without anyone deciding so; a set with nothing left in it goes with its last row;
 * - "seen" bookkeeping of responses: from when it was last moved;
 * - the audit log: each row from when it was written.
 * A registration with no settings row keeps its rows for the default. Each sweep that deletes anything writes one audit
 * entry per registration, `retention.sweep`, whose `detail` carries the counts.
 */
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { z } from 'zod';
import { createAuditLog, type AuditEntryInput } from './audit';
import { pgErrorCode } from './errors';
import type { StoreLogger } from './db';
import { systemClock, type Clock } from './expiry';
import type { JsonValue, Schema } from './schema';

export const DEFAULT_RETENTION_DAYS = 365;
/** The bounds of a retention period, as migration 008's check constraint `platform_settings_retention_days` has them. */
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 3650;
const RETENTION_DAYS_RULE = `must be a whole number of days from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS}`;

/**
 * A registration's retention period as the configuration (PLATFORMS_JSON `retentionDays`) and the settings store read it:
 * the one rule, whose message names no field (the caller's path does).
 */
export const retentionDaysSchema = z
  .number({ error: RETENTION_DAYS_RULE })
  .int({ error: RETENTION_DAYS_RULE })
  .min(MIN_RETENTION_DAYS, { error: RETENTION_DAYS_RULE })
  .max(MAX_RETENTION_DAYS, { error: RETENTION_DAYS_RULE });

/** The tables a sweep counts, in the words of its audit entry's `detail`. */
export interface RetentionCounts {
  responses: number;
  reviewRecords: number;
  statusChanges: number;
  notes: number;
  sessionMarks: number;
  accommodations: number;
  responsesSeen: number;
  auditEntries: number;
}

export interface RetentionSweep {
  /** Another instance was sweeping: this sweep did nothing. */
  skipped?: boolean;
  /** Per registration (`issuer \n clientId`) that had anything deleted. */
  byPlatform: Array<{ platformIss: string; platformClientId: string; retentionDays: number; counts: RetentionCounts }>;
}

const zero = (): RetentionCounts => ({
  responses: 0,
  reviewRecords: 0,
  statusChanges: 0,
  notes: 0,
  sessionMarks: 0,
  accommodations: 0,
  responsesSeen: 0,
  auditEntries: 0,
});

function total(c: RetentionCounts): number {
  let n = 0;
  for (const v of Object.values(c) as number[]) n += v;
  return n;
}

type Deleted = { iss: string; cid: string };

/** Which rows are past their period: a condition on a table's issuer, client id and time columns. */
type Expired = (iss: string, cid: string, at: string) => RawBuilder<boolean>;

/** One sweep at a time across every instance sharing the database: the others skip theirs. */
const SWEEP_LOCK = 'isnotai-lti retention sweep';

export interface RetentionOptions {
  /** Now, in milliseconds since the epoch (tests pin it). */
  now: number;
  defaultDays?: number;
}

/**
 * Deletes every expired row now, and writes the sweep's audit entries, in one transaction. Each registration's cut-off is
 * worked out first, so each delete is a plain range on the table's time column (its index) for one registration; the
 * registrations without settings share the default's. When another instance is sweeping, this one does nothing
 * (`skipped`).
 */
export async function sweepRetention(db: Kysely<Schema>, options: RetentionOptions): Promise<RetentionSweep> {
  const now = options.now;
  const fallback = options.defaultDays ?? DEFAULT_RETENTION_DAYS;
  const cutoff = (days: number) => new Date(now - days * 86_400_000);
  return db.transaction().execute(async (trx) => {
    const lock = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(hashtextextended(${SWEEP_LOCK}, 8)) AS ok`.execute(trx);
    if (!lock.rows[0]!.ok) return { byPlatform: [], skipped: true };
    const settings = (
      await sql<{ iss: string; cid: string; days: number }>`SELECT issuer AS iss, client_id AS cid, min(retention_days) AS days
        FROM platform_settings GROUP BY issuer, client_id`.execute(trx)
    ).rows;
    const daysOf = new Map(settings.map((r) => [`${r.iss}\n${r.cid}`, r.days]));
    const conditions: Expired[] = [
      ...settings.map(
        (r): Expired =>
          (iss, cid, at) =>
            sql<boolean>`${sql.ref(iss)} = ${r.iss} AND ${sql.ref(cid)} = ${r.cid} AND ${sql.ref(at)} < ${cutoff(r.days)}`,
      ),
      // Registrations with no settings row (an LMS taken out of the configuration) keep rows for the default.
      (iss, cid, at) =>
        sql<boolean>`${sql.ref(at)} < ${cutoff(fallback)}
          AND NOT EXISTS (SELECT 1 FROM platform_settings p WHERE p.issuer = ${sql.ref(iss)} AND p.client_id = ${sql.ref(cid)})`,
    ];

    const counts = new Map<string, RetentionCounts>();
    const tally = (rows: Deleted[], field: keyof RetentionCounts) => {
      for (const r of rows) {
        const k = `${r.iss}\n${r.cid}`;
        const c = counts.get(k) ?? zero();
        c[field]++;
        counts.set(k, c);
      }
    };
    const run = async (q: ReturnType<typeof sql<Deleted>>, field: keyof RetentionCounts) => tally((await q.execute(trx)).rows, field);

    for (const expired of conditions) {
      await run(
        sql<Deleted>`DELETE FROM student_response r WHERE ${expired('r.platform_iss', 'r.platform_client_id', 'r.at')}
          RETURNING r.platform_iss AS iss, r.platform_client_id AS cid`,
        'responses',
      );
      await run(
        sql<Deleted>`DELETE FROM response_seen s WHERE ${expired('s.platform_iss', 's.platform_client_id', 's.seen_at')}
          RETURNING s.platform_iss AS iss, s.platform_client_id AS cid`,
        'responsesSeen',
      );

      // Review records whose last change is past the period, with everything written beside them.
      const records = (
        await sql<{ id: string } & Deleted>`SELECT r.id, r.platform_iss AS iss, r.platform_client_id AS cid FROM review_record r
          WHERE ${expired('r.platform_iss', 'r.platform_client_id', 'r.last_at')} FOR UPDATE`.execute(trx)
      ).rows;
      if (records.length > 0) {
        const ids = records.map((r) => r.id);
        const regOf = new Map(records.map((r) => [String(r.id), r]));
        const children = async (table: 'review_status_change' | 'review_note' | 'review_session_mark', field: keyof RetentionCounts) => {
          const rows = (
            await sql<{
              record_id: string;
            }>`DELETE FROM ${sql.table(table)} WHERE record_id = ANY(${ids}::bigint[]) RETURNING record_id`.execute(trx)
          ).rows;
          tally(
            rows.map((r) => regOf.get(String(r.record_id))!),
            field,
          );
        };
        await children('review_status_change', 'statusChanges');
        await children('review_note', 'notes');
        await children('review_session_mark', 'sessionMarks');
        await sql`DELETE FROM review_record WHERE id = ANY(${ids}::bigint[])`.execute(trx);
        tally(records, 'reviewRecords');
      }

      // Accommodations removed longer ago than the period; then sets with nothing left in them and no change since.
      await run(
        sql<Deleted>`DELETE FROM accommodation a USING accommodation_set s
          WHERE a.set_id = s.id AND a.removed_at IS NOT NULL
            AND ${expired('s.platform_iss', 's.platform_client_id', 'a.removed_at')}
          RETURNING s.platform_iss AS iss, s.platform_client_id AS cid`,
        'accommodations',
      );
      await sql`DELETE FROM accommodation_set s WHERE NOT EXISTS (SELECT 1 FROM accommodation a WHERE a.set_id = s.id)
        AND ${expired('s.platform_iss', 's.platform_client_id', 's.last_at')}`.execute(trx);

      await run(
        sql<Deleted>`DELETE FROM audit_log l WHERE ${expired('l.platform_iss', 'l.platform_client_id', 'l.at')}
          RETURNING l.platform_iss AS iss, l.platform_client_id AS cid`,
        'auditEntries',
      );
    }

    const byPlatform: RetentionSweep['byPlatform'] = [];
    const audit = createAuditLog(trx);
    for (const [k, c] of counts) {
      if (total(c) === 0) continue;
      const [platformIss, platformClientId] = k.split('\n') as [string, string];
      const days = daysOf.get(k) ?? fallback;
      byPlatform.push({ platformIss, platformClientId, retentionDays: days, counts: c });
      await audit.record({
        platformIss,
        platformClientId,
        actorUserId: 'system:retention',
        actorRole: 'system',
        action: 'retention.sweep',
        resourceId: `older than ${days} days`,
        detail: { retentionDays: days, ...c } as Record<string, JsonValue>,
        at: new Date(now),
      });
    }
    return { byPlatform };
  });
}

/** One learner in one LMS registration: whose review data an admin exports and erases. */
export interface RegistrationLearner {
  platformIss: string;
  platformClientId: string;
  userId: string;
}

/**
 * Everything the tool holds about a learner in a registration besides the audit log: their review records in every course
 * (with status changes, notes and marks), their responses, the accommodations on record (removed ones too) and the
 * "seen" bookkeeping. Rows as stored (ids as strings, times as ISO-8601), for the export.
 */
export async function learnerReviewData(db: Kysely<Schema> | Transaction<Schema>, who: RegistrationLearner) {
  const reg = { platform_iss: who.platformIss, platform_client_id: who.platformClientId, user_id: who.userId };
  const records = await db
    .selectFrom('review_record')
    .selectAll()
    .where((eb) => eb.and(reg))
    .orderBy('id')
    .execute();
  const recordIds = records.map((r) => r.id);
  const none = recordIds.length === 0;
  const [changes, notes, marks, responses, sets, seen] = await Promise.all([
    none ? [] : db.selectFrom('review_status_change').selectAll().where('record_id', 'in', recordIds).orderBy('id').execute(),
    none ? [] : db.selectFrom('review_note').selectAll().where('record_id', 'in', recordIds).orderBy('id').execute(),
    none ? [] : db.selectFrom('review_session_mark').selectAll().where('record_id', 'in', recordIds).orderBy('id').execute(),
    db
      .selectFrom('student_response')
      .selectAll()
      .where((eb) => eb.and(reg))
      .orderBy('id')
      .execute(),
    db
      .selectFrom('accommodation_set')
      .selectAll()
      .where((eb) => eb.and(reg))
      .orderBy('id')
      .execute(),
    db
      .selectFrom('response_seen')
      .selectAll()
      .where((eb) => eb.and(reg))
      .execute(),
  ]);
  const setIds = sets.map((s) => s.id);
  const accommodations =
    setIds.length === 0 ? [] : await db.selectFrom('accommodation').selectAll().where('set_id', 'in', setIds).orderBy('id').execute();
  return {
    reviewRecords: records.map((r) => ({
      ...r,
      statusChanges: changes.filter((c) => c.record_id === r.id),
      notes: notes.filter((n) => n.record_id === r.id),
      sessionMarks: marks.filter((m) => m.record_id === r.id),
    })),
    responses,
    accommodationSets: sets.map((s) => ({ ...s, accommodations: accommodations.filter((a) => a.set_id === s.id) })),
    responsesSeen: seen,
  };
}

export type LearnerReviewData = Awaited<ReturnType<typeof learnerReviewData>>;

/** How many rows of each kind a learner's review data holds (what an erasure deletes). */
export function reviewDataCounts(data: LearnerReviewData) {
  return {
    reviewRecords: data.reviewRecords.length,
    statusChanges: data.reviewRecords.reduce((n, r) => n + r.statusChanges.length, 0),
    notes: data.reviewRecords.reduce((n, r) => n + r.notes.length, 0),
    sessionMarks: data.reviewRecords.reduce((n, r) => n + r.sessionMarks.length, 0),
    responses: data.responses.length,
    accommodations: data.accommodationSets.reduce((n, s) => n + s.accommodations.length, 0),
  };
}

export type ReviewDataCounts = ReturnType<typeof reviewDataCounts>;

/** Thrown inside an erasure's transaction to roll it back: something was written since the data was read. */
class ChangedSinceRead extends Error {}

const PG_FOREIGN_KEY_VIOLATION = '23503';

/**
 * Erases the learner's review data (learnerReviewData, the audit log apart) in one transaction with its audit row, but only
 * if it is still what `expect` says (the fingerprint of the data the admin exported and saw); otherwise nothing is deleted
 * and the data as it is now is returned. No table is locked: each delete returns what it deleted, and if that is anything
 * the check did not see (a response or note written in between), the whole transaction is rolled back and answered
 * `changed`, so nothing is erased that the admin has not exported.
 */
export async function eraseLearnerReviewData(
  db: Kysely<Schema>,
  who: RegistrationLearner,
  expect: (data: LearnerReviewData) => boolean | Promise<boolean>,
  audit: (counts: ReviewDataCounts) => AuditEntryInput,
): Promise<{ outcome: 'erased'; counts: ReviewDataCounts } | { outcome: 'changed'; data: LearnerReviewData }> {
  const reg = { platform_iss: who.platformIss, platform_client_id: who.platformClientId, user_id: who.userId };
  try {
    return await db.transaction().execute(async (trx) => {
      const data = await learnerReviewData(trx, who);
      if (!(await expect(data))) return { outcome: 'changed' as const, data };
      const counts = reviewDataCounts(data);
      const seen = (ids: Array<string | number>) => new Set(ids.map(String));
      /** Every row a delete returned must be one the check saw. */
      const only = (deleted: Array<{ id: string | number }>, known: Set<string>) => {
        if (deleted.some((r) => !known.has(String(r.id)))) throw new ChangedSinceRead();
      };
      const records = trx
        .selectFrom('review_record')
        .select('id')
        .where((eb) => eb.and(reg));
      const sets = trx
        .selectFrom('accommodation_set')
        .select('id')
        .where((eb) => eb.and(reg));
      const rows = data.reviewRecords;
      only(
        await trx.deleteFrom('review_status_change').where('record_id', 'in', records).returning('id').execute(),
        seen(rows.flatMap((r) => r.statusChanges.map((c) => c.id))),
      );
      only(
        await trx.deleteFrom('review_note').where('record_id', 'in', records).returning('id').execute(),
        seen(rows.flatMap((r) => r.notes.map((n) => n.id))),
      );
      only(
        await trx.deleteFrom('review_session_mark').where('record_id', 'in', records).returning('id').execute(),
        seen(rows.flatMap((r) => r.sessionMarks.map((m) => m.id))),
      );
      only(
        await trx
          .deleteFrom('review_record')
          .where((eb) => eb.and(reg))
          .returning('id')
          .execute(),
        seen(rows.map((r) => r.id)),
      );
      only(
        await trx.deleteFrom('accommodation').where('set_id', 'in', sets).returning('id').execute(),
        seen(data.accommodationSets.flatMap((s) => s.accommodations.map((a) => a.id))),
      );
      only(
        await trx
          .deleteFrom('accommodation_set')
          .where((eb) => eb.and(reg))
          .returning('id')
          .execute(),
        seen(data.accommodationSets.map((s) => s.id)),
      );
      only(
        await trx
          .deleteFrom('student_response')
          .where((eb) => eb.and(reg))
          .returning('id')
          .execute(),
        seen(data.responses.map((r) => r.id)),
      );
      // Bookkeeping of which responses staff have seen: ids only, deleted with the responses it is about.
      await trx
        .deleteFrom('response_seen')
        .where((eb) => eb.and(reg))
        .execute();
      await createAuditLog(trx).record(audit(counts));
      return { outcome: 'erased' as const, counts };
    });
  } catch (err) {
    // A row written in between (seen by a delete, or a child row committed after the children were deleted).
    if (err instanceof ChangedSinceRead || pgErrorCode(err) === PG_FOREIGN_KEY_VIOLATION) {
      return { outcome: 'changed', data: await learnerReviewData(db, who) };
    }
    throw err;
  }
}

export interface RetentionSweeperOptions {
  /** Between two sweeps. */
  intervalMs: number;
  /** Before the first sweep (default: the interval, at most a minute): soon after start, not at once. */
  firstRunMs?: number;
  /** Now, for each sweep (tests pin it). */
  clock?: Clock;
  defaultDays?: number;
  logger?: StoreLogger;
}

/**
 * Sweeps (sweepRetention) soon after start and then every `intervalMs`: never two sweeps at once, and the timer does not
 * keep the process alive. Logs what each sweep deleted, as counts per registration (never a learner's id or text).
 * Returns a stop function that resolves once any sweep in progress has finished.
 */
export function startRetentionSweeper(db: Kysely<Schema>, options: RetentionSweeperOptions): () => Promise<void> {
  if (!Number.isFinite(options.intervalMs) || options.intervalMs <= 0) throw new RangeError('intervalMs must be a positive number');
  const first = options.firstRunMs ?? Math.min(options.intervalMs, 60_000);
  if (!Number.isFinite(first) || first < 0) throw new RangeError('firstRunMs must be a non-negative number');
  const clock = options.clock ?? systemClock;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = sweepRetention(db, { now: clock(), defaultDays: options.defaultDays })
      .then((r) => {
        for (const p of r.byPlatform)
          options.logger?.info(
            { platformIss: p.platformIss, platformClientId: p.platformClientId, retentionDays: p.retentionDays, deleted: p.counts },
            'retention sweep deleted expired rows',
          );
      })
      .catch((err: unknown) => {
        options.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'retention sweep failed');
      })
      .finally(() => {
        running = undefined;
      });
  };
  let interval: NodeJS.Timeout | undefined;
  const firstTimer = setTimeout(() => {
    tick();
    if (stopped) return;
    interval = setInterval(tick, options.intervalMs);
    interval.unref();
  }, first);
  firstTimer.unref();
  return async () => {
    stopped = true;
    clearTimeout(firstTimer);
    if (interval) clearInterval(interval);
    await running;
  };
}
