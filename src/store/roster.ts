/**
 * The course roster kept in PostgreSQL (migration 010, docs/performance.md "Large courses"): each learner's line of one
 * roster, written while the learners' sessions are read, and a page of it read back by one query that filters, sorts,
 * counts and pages in SQL, joined with the course's review states and new student responses as they are now.
 *
 * Built once: a roster is built by whoever holds its advisory lock (a session lock on one pooled connection, held for the
 * whole build). Everyone else who asks for it meanwhile, on this instance or another, reads the build's row for its
 * progress and waits. A process that dies while building closes its connection, PostgreSQL releases the lock, and the
 * next request to try it takes the build over (the rows of the dead build go with it; what it had read is in the
 * upstream cache by then).
 */
import os from 'node:os';
import { sql, type Kysely, type RawBuilder, type Selectable, type Sql } from 'kysely';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { unseenResponseCounts } from './responses';
import type { RosterRowTable, Schema } from './schema';

/** The class of the roster builds' advisory locks (the key's hash is the other half): "ROST". */
const LOCK_CLASS = 0x524f5354;

/** Who is building, for the build's row (and the logs): the host and the process. */
export const BUILDER = `${os.hostname()}:${process.pid}`;

export interface RosterBuildState {
  id: string;
  status: 'building' | 'ready';
  /** Learners in the course (0 until the list is read). */
  learners: number;
  /** Learners whose sessions are read from isnotai (the others were cached). */
  toRead: number;
  /** Learners whose lines are written. */
  done: number;
  startedAt: Date;
  expiresAt: Date;
  holder: string;
}

/** One learner's line, as the roster shows, filters and sorts it. */
export interface RosterLine {
  ltiUserId: string;
  userId: string | null;
  name: string;
  email: string | null;
  enrollment: 'active' | 'inactive';
  risk: string;
  riskWithout: string;
  /** The risk's rank: 3 high … 0 none, -1 unavailable. */
  riskRank: number;
  levelReason: string | null;
  sessions: number;
  high: number;
  elevated: number;
  low: number;
  maxScore: number | null;
  topFlags: Array<{ flag: string; count: number }>;
  lastActivity: string | null;
  /** Whether the learner's sessions could not be read (the line says so in `problem`). */
  unread: boolean;
  problem: string | null;
  flags: string[];
  statuses: string[];
  /** `flags` and `statuses` folded as filters compare them. */
  flagKeys: string[];
  statusKeys: string[];
  /** The folded texts a search looks in, one per line. */
  search: string;
  /** The signals the learner's accommodations explained when the line was written (sorted). */
  accommodated: string[];
}

/** A line as a page reads it: with the learner's review state and new responses in the course. */
export interface RosterPageLine extends RosterLine {
  reviewStatus: string;
  reviewVersion: number;
  reviewAt: Date | null;
  reviewBy: string | null;
  reviewByRoles: string[] | null;
  newResponses: number;
}

/** The course whose review records and responses a page joins; null outside a course (there are none). */
export interface RosterCourse {
  platformIss: string;
  platformClientId: string;
  deploymentId: string;
  contextId: string;
}

export type RosterSort = 'queue' | 'risk' | 'review' | 'max_score' | 'name' | 'last_activity' | 'sessions';

/** Which lines, in which order. Filter values are folded as the lines' keys are; an empty list matches nothing. */
export interface RosterSelection {
  /** Folded search words: every one must be in one of the line's texts. */
  words: string[];
  risk?: string[];
  flag?: string[];
  status?: string[];
  enrollment?: string[];
  review?: string[];
  /** Only learners with new responses. */
  newResponses?: boolean;
  sortBy: RosterSort;
  direction: 'asc' | 'desc';
  /** The learner whose review state counts as not yet reviewed (the queue as it was when their page was opened). */
  asUnreviewed?: string | null;
}

export interface RosterTriageLine {
  risk: string;
  reviewStatus: string;
  learners: number;
  inactive: number;
  newResponses: number;
  withNewResponses: number;
}

/** A line's place: by name (`nameRank`, equal for equal names) and in the roster's final order (`ord`). */
export interface RosterPlace {
  ltiUserId: string;
  nameRank: number;
  ord: number;
}

export interface RosterBuilder {
  readonly id: string;
  /** The course's size and how many learners are read from isnotai, once the list is whole. */
  counts(learners: number, toRead: number): Promise<void>;
  /**
   * Writes lines (and counts them done), each in its place when `places` is given (the course's list is whole); lines
   * written without are given theirs by `place`.
   */
  write(lines: readonly RosterLine[], places?: ReadonlyMap<string, RosterPlace> | null): Promise<void>;
  /** Gives lines already written their places. */
  place(places: readonly RosterPlace[]): Promise<void>;
  /** The build is whole, to be read until `expiresAt`. Refused while a line has no place (a build's bug: it fails). */
  finish(expiresAt: Date): Promise<void>;
}

export interface RosterStore {
  /** The roster under `key` when it is ready and not expired. */
  ready(key: string): Promise<RosterBuildState | null>;
  /**
   * Builds the roster under `key` when this caller gets its lock and it is not ready (`run`, holding the lock until it
   * ends; a build that throws is removed). Otherwise the roster's state: ready, being built by someone else, or null.
   */
  tryBuild<T>(
    key: string,
    expiresAt: Date,
    run: (builder: RosterBuilder) => Promise<T>,
  ): Promise<{ ran: true; value: T } | { ran: false; state: RosterBuildState | null }>;
  /** One page of the selection, how many lines it holds, and (with `triage`) the counts over every line. */
  page(
    buildId: string,
    course: RosterCourse | null,
    selection: RosterSelection,
    paging: { limit: number | null; offset: number },
    triage: boolean,
  ): Promise<{ total: number; lines: RosterPageLine[]; triage: RosterTriageLine[] }>;
  /** The selection's lines in order, read in chunks from a cursor: the roster is never held whole. */
  stream(buildId: string, course: RosterCourse | null, selection: RosterSelection, chunk?: number): AsyncIterable<RosterPageLine>;
  /** The selection's learners in order: who, and their review state (for the review queue). */
  order(
    buildId: string,
    course: RosterCourse | null,
    selection: RosterSelection,
  ): Promise<Array<{ userId: string | null; name: string; reviewStatus: string }>>;
  /** The lines whose accommodations were some when written, or whose learner is among `userIds`. */
  accommodatedLines(
    buildId: string,
    userIds: readonly string[],
  ): Promise<Array<{ ltiUserId: string; userId: string; accommodated: string[] }>>;
  /** The members behind the lines of these learners, as the LMS listed them. */
  members(
    buildId: string,
    userIds: readonly string[],
  ): Promise<Array<{ ltiUserId: string; userId: string | null; name: string; email: string | null; status: string }>>;
  /** Rewrites lines (their place in the order is kept). */
  replaceLines(buildId: string, lines: readonly RosterLine[]): Promise<void>;
  /** Removes a build and its lines. */
  discard(buildId: string): Promise<void>;
}

interface BuildRow {
  id: string;
  status: 'building' | 'ready';
  learners: number;
  to_read: number;
  done: number;
  started_at: Date;
  expires_at: Date;
  holder: string;
}

const toState = (r: BuildRow): RosterBuildState => ({
  id: String(r.id),
  status: r.status,
  learners: r.learners,
  toRead: r.to_read,
  done: r.done,
  startedAt: r.started_at,
  expiresAt: r.expires_at,
  holder: r.holder,
});

const BUILD_COLUMNS = ['id', 'status', 'learners', 'to_read', 'done', 'started_at', 'expires_at', 'holder'] as const;

const rowOf = (buildId: string, l: RosterLine, place?: RosterPlace) => ({
  build_id: buildId,
  lti_user_id: l.ltiUserId,
  user_id: l.userId,
  name: l.name,
  email: l.email,
  enrollment: l.enrollment,
  risk: l.risk,
  risk_without: l.riskWithout,
  risk_rank: l.riskRank,
  level_reason: l.levelReason,
  sessions: l.sessions,
  high: l.high,
  elevated: l.elevated,
  low: l.low,
  max_score: l.maxScore,
  top_flags: JSON.stringify(l.topFlags),
  last_activity: l.lastActivity,
  last_activity_at: l.lastActivity === null || Number.isNaN(Date.parse(l.lastActivity)) ? null : new Date(l.lastActivity),
  problem: l.problem,
  unread: l.unread,
  flags: l.flags,
  statuses: l.statuses,
  flag_keys: l.flagKeys,
  status_keys: l.statusKeys,
  search: l.search,
  accommodated: l.accommodated,
  // Without its place (the course's list not whole yet), `place` gives it one later.
  name_rank: place ? place.nameRank : null,
  ord: place ? place.ord : null,
});

/** Rows per INSERT: 27 parameters each, far below PostgreSQL's 65,535. */
const INSERT_BATCH = 1000;

/**
 * A whole line, as a page shows it: the line (`r`, roster_row) and what `k` (the kept lines) joined to it. The columns
 * the roster sorts by keep their names, so that the order's terms apply here too.
 */
const LINE_COLUMNS = sql`r.lti_user_id, r.user_id, r.name, r.email, r.enrollment, r.risk, r.risk_without, r.risk_rank,
  r.level_reason, r.sessions, r.high, r.elevated, r.low, r.max_score, r.top_flags, r.last_activity, r.last_activity_at,
  r.problem, r.unread, r.flags, r.statuses, r.flag_keys, r.status_keys, r.search, r.accommodated, r.name_rank, r.ord,
  k.review_status, k.review_version, k.review_at, k.review_by, k.review_by_roles, k.new_responses`;

/** The kept lines `k` made whole (LINE_COLUMNS), in no particular order. */
const whole = (buildId: string, kept: RawBuilder<unknown>) =>
  sql`SELECT ${LINE_COLUMNS} FROM (${kept}) k JOIN roster_row r ON r.build_id = ${buildId} AND r.lti_user_id = k.lti_user_id`;

/** A line as the page query reads it (`top_flags` arrives parsed, timestamps as json_agg writes them). */
type LineRow = Omit<Selectable<RosterRowTable>, 'build_id'> & {
  review_status: string;
  review_version: number | null;
  review_at: Date | string | null;
  review_by: string | null;
  review_by_roles: string[] | null;
  new_responses: number | string;
};

const toLine = (r: LineRow): RosterPageLine => ({
  ltiUserId: r.lti_user_id,
  userId: r.user_id,
  name: r.name,
  email: r.email,
  enrollment: r.enrollment,
  risk: r.risk,
  riskWithout: r.risk_without,
  riskRank: r.risk_rank,
  levelReason: r.level_reason,
  sessions: r.sessions,
  high: r.high,
  elevated: r.elevated,
  low: r.low,
  maxScore: r.max_score,
  topFlags: r.top_flags,
  lastActivity: r.last_activity,
  unread: r.unread,
  problem: r.problem,
  flags: r.flags,
  statuses: r.statuses,
  flagKeys: r.flag_keys,
  statusKeys: r.status_keys,
  search: r.search,
  accommodated: r.accommodated,
  reviewStatus: r.review_status,
  reviewVersion: r.review_version ?? 0,
  reviewAt: r.review_at === null ? null : new Date(r.review_at),
  reviewBy: r.review_by,
  reviewByRoles: r.review_by_roles,
  newResponses: Number(r.new_responses),
});

/**
 * The build's lines joined with the course's review records and unseen responses, as the CTE `lines`: only what the
 * selection filters and sorts by (a page's 50 lines are made whole afterwards, `whole`). `asUnreviewed`: one learner
 * whose review state is read as not yet reviewed.
 */
function linesCte(buildId: string, course: RosterCourse | null, s: RosterSelection): RawBuilder<unknown> {
  const status = s.asUnreviewed
    ? sql`CASE WHEN r.user_id = ${s.asUnreviewed} THEN 'unreviewed' ELSE COALESCE(v.status, 'unreviewed') END`
    : sql`COALESCE(v.status, 'unreviewed')`;
  const filtered = [s.words.length > 0 ? sql`r.search` : null, s.flag ? sql`r.flag_keys` : null, s.status ? sql`r.status_keys` : null];
  const columns = sql.join(
    [
      sql`r.lti_user_id, r.user_id, r.enrollment, r.risk, r.risk_rank, r.max_score, r.sessions, r.last_activity_at, r.name_rank, r.ord`,
      ...filtered.filter((c): c is RawBuilder<unknown> => c !== null),
    ],
    sql`, `,
  );
  if (!course) {
    return sql`lines AS (
      SELECT ${columns}, 'unreviewed'::text AS review_status, NULL::integer AS review_version, NULL::timestamptz AS review_at,
        NULL::text AS review_by, NULL::text[] AS review_by_roles, 0 AS new_responses
      FROM roster_row r WHERE r.build_id = ${buildId})`;
  }
  return sql`lines AS (
    SELECT ${columns}, ${status} AS review_status, v.version AS review_version, v.last_at AS review_at,
      v.last_actor_name AS review_by, v.last_actor_roles AS review_by_roles, COALESCE(n.n, 0)::integer AS new_responses
    FROM roster_row r
    LEFT JOIN review_record v
      ON v.platform_iss = ${course.platformIss} AND v.platform_client_id = ${course.platformClientId}
      AND v.deployment_id = ${course.deploymentId} AND v.context_id = ${course.contextId} AND v.user_id = r.user_id
    LEFT JOIN (${unseenResponseCounts(course, null)}) n ON n.user_id = r.user_id
    WHERE r.build_id = ${buildId})`;
}

/** The selection's conditions on `l` (the joined lines). */
function whereOf(s: RosterSelection): RawBuilder<unknown> {
  const conditions: Array<RawBuilder<unknown>> = s.words.map((w) => sql`strpos(l.search, ${w}) > 0`);
  const anyOf = (column: Sql | RawBuilder<unknown>, values: string[] | undefined) => {
    if (values !== undefined) conditions.push(sql`${column} = ANY(${values}::text[])`);
  };
  anyOf(sql.ref('l.risk'), s.risk);
  anyOf(sql.ref('l.enrollment'), s.enrollment);
  anyOf(sql.ref('l.review_status'), s.review);
  if (s.flag !== undefined) conditions.push(sql`l.flag_keys && ${s.flag}::text[]`);
  if (s.status !== undefined) conditions.push(sql`l.status_keys && ${s.status}::text[]`);
  if (s.newResponses) conditions.push(sql`l.new_responses > 0`);
  return conditions.length === 0 ? sql`TRUE` : sql.join(conditions, sql` AND `);
}

/** Each sort's terms ascending (the roster's own comparators, src/web/course.ts, in SQL); `desc` reverses them all. */
const SORT_TERMS: Record<RosterSort, Array<[string, 'ASC' | 'DESC', 'FIRST' | 'LAST']>> = {
  queue: [
    [
      `CASE WHEN l.review_status = 'unreviewed' AND l.risk = 'high' THEN 0 WHEN l.review_status = 'unreviewed' AND l.risk = 'elevated' THEN 1
        WHEN l.risk = 'unavailable' THEN 6 ELSE 5 - l.risk_rank END`,
      'ASC',
      'LAST',
    ],
    ['l.max_score', 'DESC', 'LAST'],
  ],
  review: [
    [
      `CASE l.review_status WHEN 'unreviewed' THEN 0 WHEN 'in_review' THEN 1 WHEN 'no_concern' THEN 2 WHEN 'concern' THEN 3 ELSE 4 END`,
      'ASC',
      'LAST',
    ],
    ['l.risk_rank', 'DESC', 'LAST'],
    ['l.max_score', 'DESC', 'LAST'],
  ],
  risk: [
    ['l.risk_rank', 'ASC', 'LAST'],
    ['l.max_score', 'ASC', 'FIRST'],
  ],
  max_score: [['l.max_score', 'ASC', 'FIRST']],
  name: [['l.name_rank', 'ASC', 'LAST']],
  last_activity: [['l.last_activity_at', 'ASC', 'FIRST']],
  sessions: [['l.sessions', 'ASC', 'LAST']],
};

function orderOf(s: RosterSelection, alias = 'l'): RawBuilder<unknown> {
  const flip = s.direction === 'desc';
  const terms = SORT_TERMS[s.sortBy].map(([expr, dir, nulls]) => {
    const d = flip ? (dir === 'ASC' ? 'DESC' : 'ASC') : dir;
    const n = flip ? (nulls === 'FIRST' ? 'LAST' : 'FIRST') : nulls;
    return sql.raw(`${expr.replace(/\bl\./g, `${alias}.`)} ${d} NULLS ${n}`);
  });
  // The tiebreak, whatever the direction: by name, then by the LMS's id (`ord`).
  return sql.join([...terms, sql.raw(`${alias}.ord ASC`)], sql`, `);
}

/**
 * A page of the selection, its count, and (with `triage`) the counts over every line by level and review state: one
 * statement, one row. The lines are read through the roster's index on (build_id, …) (test/store/roster.test.ts
 * EXPLAINs it).
 */
export function rosterPageQuery(
  buildId: string,
  course: RosterCourse | null,
  s: RosterSelection,
  paging: { limit: number | null; offset: number },
  triage: boolean,
): RawBuilder<{ total: string; items: LineRow[]; triage: RosterTriageLine[] | null }> {
  const limit = paging.limit === null ? sql`ALL` : sql`${paging.limit}`;
  return sql<{ total: string; items: LineRow[]; triage: RosterTriageLine[] | null }>`
    WITH ${linesCte(buildId, course, s)},
    kept AS (SELECT * FROM lines l WHERE ${whereOf(s)})
    SELECT
      (SELECT count(*) FROM kept) AS total,
      (SELECT COALESCE(json_agg(p ORDER BY ${orderOf(s, 'p')}), '[]') FROM (
        ${whole(buildId, sql`SELECT * FROM kept l ORDER BY ${orderOf(s)} LIMIT ${limit} OFFSET ${paging.offset}`)}
      ) p) AS items,
      ${
        triage
          ? sql`(SELECT json_agg(t) FROM (
              SELECT risk, review_status AS "reviewStatus", count(*)::integer AS learners,
                (count(*) FILTER (WHERE enrollment = 'inactive'))::integer AS inactive,
                COALESCE(sum(new_responses), 0)::integer AS "newResponses",
                (count(*) FILTER (WHERE new_responses > 0))::integer AS "withNewResponses"
              FROM lines GROUP BY risk, review_status
            ) t)`
          : sql`NULL`
      } AS triage`;
}

export function createRosterStore(db: Kysely<Schema>, pool: pg.Pool): RosterStore {
  const lockKey = (key: string) => sql`${LOCK_CLASS}::integer, hashtext(${key})`;

  async function readBuild(q: Kysely<Schema>, key: string): Promise<RosterBuildState | null> {
    const row = await q.selectFrom('roster_build').select(BUILD_COLUMNS).where('key', '=', key).executeTakeFirst();
    return row ? toState(row as BuildRow) : null;
  }

  const streamQuery = (buildId: string, course: RosterCourse | null, s: RosterSelection) =>
    sql`WITH ${linesCte(buildId, course, s)}
      SELECT * FROM (${whole(buildId, sql`SELECT * FROM lines l WHERE ${whereOf(s)}`)}) p ORDER BY ${orderOf(s, 'p')}`;

  return {
    async ready(key) {
      const state = await readBuild(db, key);
      return state && state.status === 'ready' && state.expiresAt.getTime() > Date.now() ? state : null;
    },

    async tryBuild(key, expiresAt, run) {
      return db.connection().execute(async (conn) => {
        const { rows } = await sql<{ got: boolean }>`SELECT pg_try_advisory_lock(${lockKey(key)}) AS got`.execute(conn);
        if (!rows[0]?.got) return { ran: false as const, state: await readBuild(conn, key) };
        try {
          const found = await readBuild(conn, key);
          if (found && found.status === 'ready' && found.expiresAt.getTime() > Date.now()) return { ran: false as const, state: found };
          // Not built, expired, or left half-built by a process that died (its lock went with it): built anew. The old
          // build is set aside, expired, for the sweeper (./expiry), not deleted under a request still reading it.
          const build = await db.transaction().execute(async (trx) => {
            await trx
              .updateTable('roster_build')
              .set((eb) => ({ key: sql<string>`${eb.ref('key')} || ':replaced:' || ${eb.ref('id')}`, expires_at: new Date() }))
              .where('key', '=', key)
              .execute();
            return trx
              .insertInto('roster_build')
              .values({ key, status: 'building', holder: BUILDER, expires_at: expiresAt })
              .returning('id')
              .executeTakeFirstOrThrow();
          });
          const id = String(build.id);
          const builder: RosterBuilder = {
            id,
            async counts(learners, toRead) {
              await db.updateTable('roster_build').set({ learners, to_read: toRead }).where('id', '=', id).execute();
            },
            async write(lines, places) {
              for (let i = 0; i < lines.length; i += INSERT_BATCH) {
                const part = lines.slice(i, i + INSERT_BATCH);
                await db
                  .insertInto('roster_row')
                  .values(part.map((l) => rowOf(id, l, places?.get(l.ltiUserId))))
                  .onConflict((oc) => oc.columns(['build_id', 'lti_user_id']).doNothing())
                  .execute();
                await db
                  .updateTable('roster_build')
                  .set((eb) => ({ done: eb('done', '+', part.length) }))
                  .where('id', '=', id)
                  .execute();
              }
            },
            async place(places) {
              if (places.length === 0) return;
              await sql`UPDATE roster_row r SET name_rank = o.name_rank, ord = o.ord
                FROM unnest(${places.map((o) => o.ltiUserId)}::text[], ${places.map((o) => o.nameRank)}::integer[],
                  ${places.map((o) => o.ord)}::integer[]) AS o(lti_user_id, name_rank, ord)
                WHERE r.build_id = ${id} AND r.lti_user_id = o.lti_user_id`.execute(db);
            },
            async finish(until) {
              // One statement: ready only when every line has its place (read through roster_row_order, ord IS NULL).
              const { rows } = await sql<{
                id: string;
              }>`UPDATE roster_build SET status = 'ready', finished_at = now(), expires_at = ${until}
                WHERE id = ${id} AND NOT EXISTS (SELECT 1 FROM roster_row WHERE build_id = ${id} AND ord IS NULL)
                RETURNING id`.execute(db);
              if (rows.length === 0) throw new Error(`roster build ${id}: a line was written without its place in the order`);
            },
          };
          try {
            return { ran: true as const, value: await run(builder) };
          } catch (err) {
            await db.deleteFrom('roster_build').where('id', '=', id).execute();
            throw err;
          }
        } finally {
          await sql`SELECT pg_advisory_unlock(${lockKey(key)})`.execute(conn);
        }
      });
    },

    async page(buildId, course, s, paging, triage) {
      const { rows } = await rosterPageQuery(buildId, course, s, paging, triage).execute(db);
      const row = rows[0]!;
      return { total: Number(row.total), lines: row.items.map(toLine), triage: row.triage ?? [] };
    },

    async *stream(buildId, course, s, chunk = 500) {
      const compiled = streamQuery(buildId, course, s).compile(db);
      const client = await pool.connect();
      const cursor = client.query(new Cursor<LineRow>(compiled.sql, compiled.parameters as unknown[]));
      try {
        for (;;) {
          const rows = await cursor.read(chunk);
          if (rows.length === 0) return;
          for (const r of rows) yield toLine(r);
        }
      } finally {
        await cursor.close().catch(() => undefined);
        client.release();
      }
    },

    async order(buildId, course, s) {
      const { rows } = await sql<{ user_id: string | null; name: string; review_status: string }>`
        WITH ${linesCte(buildId, course, s)}
        SELECT p.user_id, p.name, p.review_status FROM (${whole(buildId, sql`SELECT * FROM lines l WHERE ${whereOf(s)}`)}) p
        ORDER BY ${orderOf(s, 'p')}`.execute(db);
      return rows.map((r) => ({ userId: r.user_id, name: r.name, reviewStatus: r.review_status }));
    },

    async accommodatedLines(buildId, userIds) {
      const rows = await db
        .selectFrom('roster_row')
        .select(['lti_user_id', 'user_id', 'accommodated'])
        .where('build_id', '=', buildId)
        .where('user_id', 'is not', null)
        .where((eb) => eb.or([sql<boolean>`accommodated <> '{}'`, sql<boolean>`user_id = ANY(${[...userIds]}::text[])`]))
        .execute();
      return rows.map((r) => ({ ltiUserId: r.lti_user_id, userId: r.user_id as string, accommodated: r.accommodated }));
    },

    async members(buildId, userIds) {
      if (userIds.length === 0) return [];
      const rows = await db
        .selectFrom('roster_row')
        .select(['lti_user_id', 'user_id', 'name', 'email', 'enrollment'])
        .where('build_id', '=', buildId)
        .where(sql<boolean>`user_id = ANY(${[...userIds]}::text[])`)
        .execute();
      return rows.map((r) => ({
        ltiUserId: r.lti_user_id,
        userId: r.user_id,
        name: r.name,
        email: r.email,
        status: r.enrollment === 'active' ? 'Active' : 'Inactive',
      }));
    },

    async replaceLines(buildId, lines) {
      if (lines.length === 0) return;
      await db
        .insertInto('roster_row')
        .values(lines.map((l) => rowOf(buildId, l)))
        .onConflict((oc) =>
          oc.columns(['build_id', 'lti_user_id']).doUpdateSet((eb) => {
            const cols = Object.keys(rowOf(buildId, lines[0]!)).filter((c) => c !== 'build_id' && c !== 'lti_user_id') as Array<
              keyof ReturnType<typeof rowOf>
            >;
            return Object.fromEntries(cols.map((c) => [c, eb.ref(`excluded.${c}`)]));
          }),
        )
        .execute();
    },

    async discard(buildId) {
      await db.deleteFrom('roster_build').where('id', '=', buildId).execute();
    },
  };
}
