/**
 * The roster kept in PostgreSQL (src/store/roster.ts): built once under its lock, and a page read by one query whose
 * filters, order, counts and paging are those of the roster held in memory before (docs/lists.md), against a real
 * PostgreSQL with the course's review records joined as they are.
 */
import { sql } from 'kysely';
import { createRosterStore, type RosterLine, type RosterSelection, type RosterSort, type RosterStore, type Store } from '../../src/store';
import { rosterPageQuery } from '../../src/store/roster';
import { applyList, compareDate, compareNumber, compareText, foldText, type ListQuery } from '../../src/web/lists';
import { queueRank, REVIEW_FILTER_VALUES, type ReviewState } from '../../src/review/status';
import { riskRank, type RiskLevel } from '../../src/risk';
import { migratedStore } from './helpers';

let store: Store;
let rosters: RosterStore;
const COURSE = { platformIss: 'https://lms.example', platformClientId: 'client-1', deploymentId: 'd1', contextId: 'c1' };
const later = () => new Date(Date.now() + 3600_000);

beforeAll(async () => {
  store = await migratedStore('roster');
  rosters = createRosterStore(store.db, store.pool);
});
afterAll(() => store.close());

const RISKS: Array<RiskLevel | 'unavailable'> = ['high', 'elevated', 'low', 'none', 'unavailable'];
const NAMES = ['Ada Lovelace', 'Émilie du Châtelet', 'ada lovelace', 'Grace Hopper', 'item 2', 'item 10', 'Zoë Ng', 'Ōno Kazuo'];

/** A seeded generator (mulberry32), so a failure can be rerun. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function lineOf(i: number, rnd: () => number): RosterLine {
  const risk = RISKS[Math.floor(rnd() * RISKS.length)]!;
  const name = `${NAMES[Math.floor(rnd() * NAMES.length)]!}${rnd() < 0.5 ? '' : ` ${i % 7}`}`;
  const flags = ['paste_burst', 'window_blur', 'tab_switching'].filter(() => rnd() < 0.4);
  const statuses = ['active', 'closed'].filter(() => rnd() < 0.6);
  const userId = rnd() < 0.05 ? null : `u${i}`;
  const lastActivity = rnd() < 0.2 ? null : new Date(Date.UTC(2026, 10, 1 + Math.floor(rnd() * 28))).toISOString();
  const email = rnd() < 0.3 ? null : `learner${i}@example.edu`;
  return {
    ltiUserId: `lti-${String(i).padStart(5, '0')}`,
    userId,
    name,
    email,
    enrollment: rnd() < 0.1 ? 'inactive' : 'active',
    risk,
    riskWithout: risk,
    riskRank: risk === 'unavailable' ? -1 : riskRank(risk),
    levelReason: null,
    sessions: Math.floor(rnd() * 5),
    high: 0,
    elevated: 0,
    low: 0,
    maxScore: risk === 'unavailable' || risk === 'none' ? null : Math.round(rnd() * 100) / 100,
    topFlags: [],
    lastActivity,
    unread: risk === 'unavailable',
    problem: null,
    flags,
    statuses,
    flagKeys: flags.map(foldText),
    statusKeys: statuses.map(foldText),
    search: [name, email, userId, `lti-${String(i).padStart(5, '0')}`]
      .filter((t): t is string => t !== null)
      .map(foldText)
      .join('\n'),
    accommodated: [],
  };
}

/** The lines' places by name then LMS id, as the roster gives them (src/web/rosterBuild.ts). */
function orderOf(lines: RosterLine[]) {
  const sorted = [...lines].sort((a, b) => compareText(a.name, b.name) || compareText(a.ltiUserId, b.ltiUserId));
  let nameRank = 0;
  return sorted.map((l, i) => {
    if (i > 0 && compareText(sorted[i - 1]!.name, l.name) !== 0) nameRank = i;
    return { ltiUserId: l.ltiUserId, nameRank, ord: i };
  });
}

async function buildRoster(key: string, lines: RosterLine[]): Promise<string> {
  const built = await rosters.tryBuild(key, later(), async (b) => {
    await b.counts(lines.length, lines.length);
    // As a build writes them: the first lines before the course's list is whole (placed afterwards), the rest in place.
    const order = orderOf(lines);
    const half = Math.floor(lines.length / 2);
    await b.write(lines.slice(0, half));
    await b.place(order.filter((o) => lines.slice(0, half).some((l) => l.ltiUserId === o.ltiUserId)));
    await b.write(lines.slice(half), new Map(order.map((o) => [o.ltiUserId, o])));
    await b.finish(later());
    return b.id;
  });
  if (!built.ran) throw new Error('not built');
  return built.value;
}

type Item = RosterLine & { review: ReviewState };

/** The roster's order and filters as they were held in memory (src/web/course.ts before the roster was kept in SQL). */
function inMemory(items: Item[], q: ListQuery) {
  const rank = (r: string) => (r === 'unavailable' ? -1 : riskRank(r as RiskLevel));
  const stateIndex = (s: ReviewState) => REVIEW_FILTER_VALUES.indexOf(s);
  return applyList(items, q, {
    searchText: (i) => [i.name, i.email, i.userId, i.ltiUserId],
    filters: {
      risk: (i) => i.risk,
      flag: (i) => i.flags,
      status: (i) => i.statuses,
      enrollment: (i) => i.enrollment,
      review: (i) => i.review,
    },
    sorters: {
      queue: (a, b) =>
        queueRank(a.risk as RiskLevel, a.review) - queueRank(b.risk as RiskLevel, b.review) || compareNumber(b.maxScore, a.maxScore),
      review: (a, b) => stateIndex(a.review) - stateIndex(b.review) || rank(b.risk) - rank(a.risk) || compareNumber(b.maxScore, a.maxScore),
      risk: (a, b) => rank(a.risk) - rank(b.risk) || compareNumber(a.maxScore, b.maxScore),
      max_score: (a, b) => compareNumber(a.maxScore, b.maxScore),
      name: (a, b) => compareText(a.name, b.name),
      last_activity: (a, b) => compareDate(a.lastActivity, b.lastActivity),
      sessions: (a, b) => a.sessions - b.sessions,
    },
    tiebreak: (a, b) => compareText(a.name, b.name) || compareText(a.ltiUserId, b.ltiUserId),
  });
}

const query = (over: Partial<ListQuery>): ListQuery => ({
  query: null,
  filters: {},
  booleans: {},
  createdAfter: null,
  createdBefore: null,
  sortBy: 'queue',
  sortDirection: 'asc',
  sortable: true,
  limit: 20,
  offset: 0,
  cursor: null,
  extra: [],
  ...over,
});

const selectionOf = (q: ListQuery): RosterSelection => ({
  words: q.query ? foldText(q.query).split(/\s+/u).filter(Boolean) : [],
  risk: q.filters.risk?.map(foldText),
  flag: q.filters.flag?.map(foldText),
  status: q.filters.status?.map(foldText),
  enrollment: q.filters.enrollment?.map(foldText),
  review: q.filters.review?.map(foldText),
  sortBy: q.sortBy as RosterSort,
  direction: q.sortDirection,
});

describe('a page read in SQL is the page the roster held in memory gave', () => {
  const rnd = random(16);
  const lines = Array.from({ length: 400 }, (_, i) => lineOf(i, rnd));
  const reviews = new Map<string, ReviewState>();
  let buildId: string;

  beforeAll(async () => {
    buildId = await buildRoster('order', lines);
    const states = ['in_review', 'no_concern', 'concern', 'referred'] as const;
    const rows = lines.flatMap((l, i) => {
      if (!l.userId || i % 3 !== 0) return [];
      const status = states[i % 4]!;
      reviews.set(l.userId, status);
      return [
        {
          ...{ platform_iss: COURSE.platformIss, platform_client_id: COURSE.platformClientId },
          ...{ deployment_id: COURSE.deploymentId, context_id: COURSE.contextId },
          user_id: l.userId,
          status,
          version: 1,
          status_at: new Date(),
          last_at: new Date(),
          last_actor_name: 'Theo Lindqvist',
          last_actor_roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor'],
          last_actor_audience: 'instructor',
        },
      ];
    });
    await store.db.insertInto('review_record').values(rows).execute();
  });

  const items = () => lines.map((l): Item => ({ ...l, review: (l.userId && reviews.get(l.userId)) || 'unreviewed' }));
  const sorts: RosterSort[] = ['queue', 'risk', 'review', 'max_score', 'name', 'last_activity', 'sessions'];

  test.each(sorts.flatMap((s) => [[s, 'asc'] as const, [s, 'desc'] as const]))('sorted by %s %s, every page', async (sortBy, direction) => {
    const q = query({ sortBy, sortDirection: direction, limit: null });
    const expected = inMemory(items(), q).items.map((i) => i.ltiUserId);
    const got = await rosters.page(buildId, COURSE, selectionOf(q), { limit: null, offset: 0 }, false);
    expect(got.lines.map((l) => l.ltiUserId)).toEqual(expected);
    expect(got.total).toBe(400);
    // A page in the middle is the same slice.
    const middle = await rosters.page(buildId, COURSE, selectionOf(q), { limit: 25, offset: 150 }, false);
    expect(middle.lines.map((l) => l.ltiUserId)).toEqual(expected.slice(150, 175));
  });

  test.each([
    ['a search in any field, accents and case folded', query({ query: 'EMILIE 3' })],
    ['two words in different fields', query({ query: 'ada lti-0001' })],
    ['risk and review together', query({ filters: { risk: ['high', 'unavailable'], review: ['unreviewed', 'concern'] } })],
    ['a signal in the window', query({ filters: { flag: ['PASTE_BURST'] } })],
    ['session status and enrolment', query({ filters: { status: ['closed'], enrollment: ['inactive'] } })],
    ['a filter nobody matches', query({ filters: { flag: ['nothing_like_it'] } })],
  ])('%s: the same learners, count and order', async (_what, q) => {
    const expected = inMemory(items(), q);
    const got = await rosters.page(buildId, COURSE, selectionOf(q), { limit: q.limit, offset: q.offset }, false);
    expect(got.total).toBe(expected.total);
    expect(got.lines.map((l) => l.ltiUserId)).toEqual(expected.items.map((i) => i.ltiUserId));
  });

  test('the triage counts every learner by level and review state, whatever the filters; a page past the end is empty but counted', async () => {
    const got = await rosters.page(buildId, COURSE, selectionOf(query({ filters: { risk: ['high'] } })), { limit: 10, offset: 5000 }, true);
    expect(got.lines).toEqual([]);
    expect(got.total).toBe(lines.filter((l) => l.risk === 'high').length);
    const all = items();
    for (const t of got.triage) {
      expect(t.learners).toBe(all.filter((i) => i.risk === t.risk && i.review === t.reviewStatus).length);
      expect(t.inactive).toBe(all.filter((i) => i.risk === t.risk && i.review === t.reviewStatus && i.enrollment === 'inactive').length);
    }
    expect(got.triage.reduce((n, t) => n + t.learners, 0)).toBe(400);
  });

  test('a line carries its learner’s review record as it is now, and `asUnreviewed` reads one learner as not yet reviewed', async () => {
    const reviewed = lines.find((l) => l.userId && reviews.has(l.userId))!;
    const page = await rosters.page(
      buildId,
      COURSE,
      { ...selectionOf(query({ query: reviewed.ltiUserId })) },
      { limit: 5, offset: 0 },
      false,
    );
    expect(page.lines[0]).toMatchObject({ reviewStatus: reviews.get(reviewed.userId!), reviewVersion: 1, reviewBy: 'Theo Lindqvist' });
    const asOpened = await rosters.page(
      buildId,
      COURSE,
      { ...selectionOf(query({ query: reviewed.ltiUserId })), asUnreviewed: reviewed.userId },
      { limit: 5, offset: 0 },
      false,
    );
    expect(asOpened.lines[0]!.reviewStatus).toBe('unreviewed');
    // Another course's staff see no record.
    const elsewhere = await rosters.page(
      buildId,
      { ...COURSE, contextId: 'c2' },
      selectionOf(query({ query: reviewed.ltiUserId })),
      { limit: 5, offset: 0 },
      false,
    );
    expect(elsewhere.lines[0]!.reviewStatus).toBe('unreviewed');
  });

  test('the stream gives the whole selection in order, in chunks, and the order gives its learners', async () => {
    const q = query({ sortBy: 'name', sortDirection: 'desc', limit: null });
    const expected = inMemory(items(), q).items.map((i) => i.ltiUserId);
    const streamed: string[] = [];
    for await (const l of rosters.stream(buildId, COURSE, selectionOf(q), 37)) streamed.push(l.ltiUserId);
    expect(streamed).toEqual(expected);
    const order = await rosters.order(buildId, COURSE, selectionOf(q));
    expect(order.map((o) => o.userId)).toEqual(inMemory(items(), q).items.map((i) => i.userId));
  });
});

describe('built once', () => {
  test('while one caller builds, another is told it is being built, with its progress; once ready, nobody builds it again', async () => {
    const rnd = random(1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let wrote!: () => void;
    const written = new Promise<void>((resolve) => (wrote = resolve));
    const first = rosters.tryBuild('once', later(), async (b) => {
      await b.counts(10, 8);
      await b.write(Array.from({ length: 4 }, (_, i) => lineOf(i, rnd)));
      wrote();
      await gate;
      await b.write(Array.from({ length: 6 }, (_, i) => lineOf(i + 4, rnd)));
      await b.place(Array.from({ length: 10 }, (_, i) => ({ ltiUserId: lineOf(i, random(9)).ltiUserId, nameRank: i, ord: i })));
      await b.finish(later());
      return 'built';
    });
    await written;
    const second = await rosters.tryBuild('once', later(), () => Promise.reject(new Error('must not build twice')));
    expect(second).toMatchObject({ ran: false, state: { status: 'building', learners: 10, toRead: 8, done: 4 } });
    expect(await rosters.ready('once')).toBeNull();
    release();
    await expect(first).resolves.toEqual({ ran: true, value: 'built' });
    const third = await rosters.tryBuild('once', later(), () => Promise.reject(new Error('must not build again')));
    expect(third).toMatchObject({ ran: false, state: { status: 'ready', done: 10 } });
    expect(await rosters.ready('once')).toMatchObject({ status: 'ready', learners: 10 });
  });

  test('a build that fails leaves nothing behind, and the next caller builds it; an expired roster is built anew', async () => {
    await expect(rosters.tryBuild('fails', later(), () => Promise.reject(new Error('isnotai refused the key')))).rejects.toThrow('refused');
    expect((await store.db.selectFrom('roster_build').select('id').where('key', '=', 'fails').execute()).length).toBe(0);
    const again = await rosters.tryBuild('fails', later(), async (b) => {
      await b.finish(new Date(Date.now() - 1));
      return b.id;
    });
    expect(again.ran).toBe(true);
    // Expired at once: not ready, and built again (the old build and its lines go).
    expect(await rosters.ready('fails')).toBeNull();
    const rebuilt = await rosters.tryBuild('fails', later(), async (b) => b.id);
    expect(rebuilt.ran && again.ran && rebuilt.value !== again.value).toBe(true);
  });

  test('a build with a line left out of the order is not made ready: it fails, and nothing of it is left to read', async () => {
    const rnd = random(2);
    const lines = Array.from({ length: 3 }, (_, i) => lineOf(i, rnd));
    const built = rosters.tryBuild('unplaced', later(), async (b) => {
      await b.write(lines);
      await b.place(orderOf(lines).slice(0, 2));
      await b.finish(later());
    });
    await expect(built).rejects.toThrow('without its place');
    expect(await rosters.ready('unplaced')).toBeNull();
    expect((await store.db.selectFrom('roster_build').select('id').where('key', '=', 'unplaced').execute()).length).toBe(0);
  });
});

test('the page query reads a roster’s lines through its index, not the whole table', async () => {
  const rnd = random(4000);
  const big = Array.from({ length: 4000 }, (_, i) => lineOf(i, rnd));
  const a = await buildRoster('explain-a', big);
  // The table as a busy tool has it: other courses' rosters of the same size (copies of this one's lines).
  for (let i = 0; i < 9; i++) {
    const other = await buildRoster(`explain-${i}`, []);
    await sql`INSERT INTO roster_row SELECT ${other}::bigint, lti_user_id, user_id, name, email, name_rank, ord, enrollment, risk,
      risk_without, risk_rank, level_reason, sessions, high, elevated, low, max_score, top_flags, last_activity, last_activity_at,
      problem, unread, flags, statuses, flag_keys, status_keys, search, accommodated FROM roster_row WHERE build_id = ${a}`.execute(
      store.db,
    );
  }
  await sql`ANALYZE roster_row`.execute(store.db);
  const plan = async (q: ListQuery) => {
    const { rows } = await sql<{
      'QUERY PLAN': string;
    }>`EXPLAIN ${rosterPageQuery(a, COURSE, selectionOf(q), { limit: 50, offset: 0 }, true)}`.execute(store.db);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  };
  for (const q of [query({}), query({ sortBy: 'name', filters: { risk: ['high'] }, query: 'ada' })]) {
    const text = await plan(q);
    expect(text).toMatch(/Index (Only )?Scan using roster_row_\w+ on roster_row|Bitmap Index Scan on roster_row_\w+/);
    expect(text).not.toMatch(/Seq Scan on roster_row/);
  }
});
