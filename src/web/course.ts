/**
 * The instructor's (and admin's) course roster: every learner of the launch course with their risk
 * in the chosen window and their review state, as a page, as JSON and as CSV. The list conventions
 * (query, multi-valued filters, created_after/created_before, sort_by/sort_direction, limit/offset,
 * 422) are those of docs/lists.md.
 *
 * It is also the staff's work queue (docs/product.md "Review"): by default unreviewed high first,
 * with a triage line of counts per risk level × review state, and `/course/next` answering with the
 * next learner to review in the roster's filters and order (src/web/queue.ts). The review states
 * are read in one query per request (ReviewStore.courseLines), never per learner.
 */
import { Router, type Request, type Response } from 'express';
import { staffRoleLabel } from '../lti/roles';
import { riskRank, RISK_LEVELS, sessionInWindow, type RiskLevel } from '../risk';
import { queueRank, REVIEW_FILTER_VALUES, reviewLabel, triageCounts, type ReviewState } from '../review/status';
import type { CourseReviewLine } from '../store/review';
import {
  applyList,
  columnView,
  compareDate,
  compareNumber,
  compareText,
  exportLinks,
  filterFormView,
  formErrors,
  isFiltered,
  listRoutes,
  pagerView,
  readListRequest,
  sendCsvExport,
  sendJsonExport,
  toCsv,
  withLtik,
  type FormErrorsView,
  type ListPage,
  type ListParamError,
  type ListQuery,
  type ListSpec,
  type RawQuery,
} from './lists';
import { actorOf, hrefWithLtik, type Actor } from './actor';
import { auditView } from './audit';
import { forbidden } from './errors';
import { clip, formatDateTime, formatScore } from './format';
import { rawQueryOf } from './lists/parse';
import { listHref } from './lists/queryString';
import { navFor } from './nav';
import type { AuditSink, ReviewRecords } from './ports';
import { encodeQueue, invalidQueue, learnerInQueueHref, nextInQueue, readAfter, readQueue, rosterOfQueueHref } from './queue';
import { courseKeyOf } from './reviewAccess';
import { stateOf } from './reviewView';
import { startRosterFetch, type BoundUpstream, type RosterDeps, type RosterRow } from './rosterService';
import { progressPage } from './progressPage';
import { riskBadge } from './sessionRows';
import { courseAccommodatedSignals, type AccommodationDeps } from './accommodationContext';
import { placementJson } from './deepLinkingView';
import { newResponseCounts, newResponsesText, responsesTriageView, type StaffResponseDeps } from './responsesView';

export const ROSTER_SPEC: ListSpec = {
  sortBy: ['queue', 'risk', 'review', 'max_score', 'name', 'last_activity', 'sessions'],
  // The work queue (docs/product.md "Review"): unreviewed high first, then unreviewed elevated, then the rest by level.
  defaultSort: { by: 'queue', direction: 'asc' },
  sortDirections: { queue: 'asc', review: 'asc', name: 'asc', risk: 'desc', max_score: 'desc', last_activity: 'desc', sessions: 'desc' },
  filters: {
    risk: { allowed: [...RISK_LEVELS, 'unavailable'] },
    flag: {},
    status: { allowed: ['active', 'closed'] },
    enrollment: { allowed: ['active', 'inactive'] },
    review: { allowed: REVIEW_FILTER_VALUES },
    // Learners with student responses this course's staff have not seen (src/web/responsesView.ts).
    responses: { allowed: ['new'] },
  },
  query: true,
  createdWindow: true,
  exports: true,
};

/** The roster form's fields, by parameter, with the labels its error messages use. */
const ROSTER_FIELDS = {
  query: 'Search',
  risk: 'Risk',
  status: 'Session status',
  enrollment: 'Enrolment in the LMS',
  review: 'Review',
  responses: 'Student responses',
  flag: 'Signal',
  created_after: 'Sessions from',
  created_before: 'Sessions to',
  limit: 'Per page',
};

/** One roster line, as the JSON and CSV forms carry it. */
export interface RosterItem {
  userId: string | null;
  ltiUserId: string;
  name: string;
  email: string | null;
  /** The LMS's enrolment status (Names and Roles): `inactive` for a suspended or concluded one. */
  enrollment: 'active' | 'inactive';
  /** `unavailable` when the learner's sessions could not be read (see `problem`). */
  risk: RiskLevel | 'unavailable';
  /**
   * The level the scores alone give, before the learner's accommodations on record (src/risk/accommodations.ts): the same
   * as `risk` unless an accommodation lowered it. `risk` (the level that counts) orders the queue and fills the triage.
   */
  riskWithoutAccommodations: RiskLevel | 'unavailable';
  levelReason: string | null;
  sessions: number;
  high: number;
  elevated: number;
  low: number;
  maxScore: number | null;
  topFlags: Array<{ flag: string; count: number }>;
  lastActivity: string | null;
  problem: string | null;
  flagsInWindow: string[];
  statusesInWindow: string[];
  /** The learner's review record in this course: its status (`unreviewed` without one) and its last entry. */
  review: RosterReview;
  /** How many of the learner's student responses this course's staff have not seen yet (docs/product.md "Student responses"). */
  newResponses: number;
}

export interface RosterReview {
  status: ReviewState;
  label: string;
  /** The record's version (0: nothing written yet), which a write form is based on. */
  version: number;
  /** Who last wrote in the record (a status, a note or a session mark), as the LMS named them; null when nobody has. */
  by: string | null;
  /** Their role in the course as the LMS sent it with that launch ("Teaching assistant", "Instructor", …). */
  byRole: string | null;
  /** When (ISO-8601). */
  at: string | null;
}

function reviewOf(line: CourseReviewLine | undefined): RosterReview {
  const status = stateOf(line?.status ?? null);
  return {
    status,
    label: reviewLabel(status),
    version: line?.version ?? 0,
    by: line ? clip(line.lastBy.name, 120) : null,
    byRole: line ? staffRoleLabel(line.lastBy.roles) : null,
    at: line ? line.lastAt.toISOString() : null,
  };
}

function toItem(
  row: RosterRow,
  window: { after?: Date; before?: Date },
  lines: ReadonlyMap<string, CourseReviewLine>,
  newResponses: ReadonlyMap<string, number>,
): RosterItem {
  const inWindow = row.sessions.filter((s) => sessionInWindow(s, window));
  const s = row.summary;
  return {
    userId: row.userId,
    ltiUserId: row.member.ltiUserId,
    name: row.member.name,
    email: row.member.email,
    enrollment: row.member.status.toLowerCase() === 'active' ? 'active' : 'inactive',
    risk: s ? s.level : 'unavailable',
    riskWithoutAccommodations: s ? (s.levelWithoutAccommodations ?? s.level) : 'unavailable',
    levelReason: s ? s.levelReason : null,
    sessions: s ? s.sessionsInWindow : 0,
    high: s?.highCount ?? 0,
    elevated: s?.elevatedCount ?? 0,
    low: s?.lowCount ?? 0,
    maxScore: s?.maxScore ?? null,
    topFlags: s?.topFlags ?? [],
    lastActivity: s?.lastActivity ?? null,
    problem: row.problem,
    flagsInWindow: [...new Set(inWindow.flatMap((x) => x.detectionFlags))].sort(),
    statusesInWindow: [...new Set(inWindow.map((x) => x.status))].sort(),
    review: reviewOf(row.userId === null ? undefined : lines.get(row.userId)),
    newResponses: row.userId === null ? 0 : (newResponses.get(row.userId) ?? 0),
  };
}

const rank = (r: RosterItem['risk']) => (r === 'unavailable' ? -1 : riskRank(r));
const stateIndex = (s: ReviewState) => REVIEW_FILTER_VALUES.indexOf(s);

export function rosterPage(items: RosterItem[], query: ListQuery) {
  // The window selects sessions, not learners: it is applied when summarising, not here.
  return applyList(
    items,
    { ...query, createdAfter: null, createdBefore: null },
    {
      searchText: (i) => [i.name, i.email, i.userId, i.ltiUserId],
      filters: {
        risk: (i) => i.risk,
        flag: (i) => i.flagsInWindow,
        status: (i) => i.statusesInWindow,
        enrollment: (i) => i.enrollment,
        review: (i) => i.review.status,
        responses: (i) => (i.newResponses > 0 ? 'new' : null),
      },
      sorters: {
        // Ascending is the queue's order: its rank, then the highest score first; names break the remaining ties.
        queue: (a, b) => queueRank(a.risk, a.review.status) - queueRank(b.risk, b.review.status) || compareNumber(b.maxScore, a.maxScore),
        // The filter's order of states (not yet reviewed, in review, no concern, concern, referred), riskiest first within each.
        review: (a, b) =>
          stateIndex(a.review.status) - stateIndex(b.review.status) || rank(b.risk) - rank(a.risk) || compareNumber(b.maxScore, a.maxScore),
        risk: (a, b) => rank(a.risk) - rank(b.risk) || compareNumber(a.maxScore, b.maxScore),
        max_score: (a, b) => compareNumber(a.maxScore, b.maxScore),
        name: (a, b) => compareText(a.name, b.name),
        last_activity: (a, b) => compareDate(a.lastActivity, b.lastActivity),
        sessions: (a, b) => a.sessions - b.sessions,
      },
      tiebreak: (a, b) => compareText(a.name, b.name) || compareText(a.ltiUserId, b.ltiUserId),
    },
  );
}

export const ROSTER_CSV_COLUMNS = [
  { header: 'name', value: (i: RosterItem) => i.name },
  { header: 'email', value: (i: RosterItem) => i.email },
  { header: 'user_id', value: (i: RosterItem) => i.userId },
  { header: 'risk', value: (i: RosterItem) => i.risk },
  { header: 'risk_without_accommodations', value: (i: RosterItem) => i.riskWithoutAccommodations },
  { header: 'sessions', value: (i: RosterItem) => i.sessions },
  { header: 'high', value: (i: RosterItem) => i.high },
  { header: 'elevated', value: (i: RosterItem) => i.elevated },
  { header: 'max_score', value: (i: RosterItem) => i.maxScore },
  { header: 'top_flags', value: (i: RosterItem) => i.topFlags.map((f) => `${f.flag} (${f.count})`).join('; ') },
  { header: 'last_activity', value: (i: RosterItem) => i.lastActivity },
  { header: 'level_reason', value: (i: RosterItem) => i.levelReason ?? i.problem },
  { header: 'enrollment', value: (i: RosterItem) => i.enrollment },
  { header: 'review_status', value: (i: RosterItem) => i.review.status },
  { header: 'reviewed_by', value: (i: RosterItem) => i.review.by },
  { header: 'reviewed_by_role', value: (i: RosterItem) => i.review.byRole },
  { header: 'reviewed_at', value: (i: RosterItem) => i.review.at },
  { header: 'new_responses', value: (i: RosterItem) => i.newResponses },
];

/** The filter form as the request filled it; with `errors`, the invalid fields are marked and keep what was typed. */
function rosterForm(actor: Actor, q: ListQuery, raw: RawQuery, errors: FormErrorsView | null) {
  return {
    ltik: actor.ltik,
    ...filterFormView(q, raw, errors, ['risk', 'status', 'enrollment', 'review', 'responses']),
    // The form stays folded (the first learners show in a short LMS frame) unless a filter is set or invalid.
    open: errors !== null || isFiltered(q),
  };
}

function rosterShell(actor: Actor) {
  return {
    title: `Roster · ${actor.context.title ?? 'course'}`,
    nav: navFor(actor, 'roster'),
    who: actor.displayName,
    course: actor.context,
    // In the view model, not only res.locals: a cold roster's page is rendered without them (src/web/progressPage.ts).
  };
}

/** The page sent back with invalid parameters: the form, marked, and no list (nothing was read). */
function rosterInvalidViewModel(actor: Actor, q: ListQuery, raw: RawQuery, errors: ListParamError[]) {
  const marks = formErrors(errors, ROSTER_FIELDS, hrefWithLtik('/course', actor.ltik));
  return { ...rosterShell(actor), form: rosterForm(actor, q, raw, marks), listErrors: marks };
}

/** The course's counts per risk level × review state (the triage line, and the JSON's `triage`). */
const triageOf = (items: readonly RosterItem[]) => triageCounts(items.map((i) => ({ level: i.risk, state: i.review.status })));

/** How each level reads in the triage line ("12 high", "20 with no sessions"). */
const LEVEL_WORDS: Record<RosterItem['risk'], string> = {
  high: 'high',
  elevated: 'elevated',
  low: 'low',
  none: 'with no sessions',
  unavailable: 'unavailable',
};

/**
 * The triage line: per risk level, how many learners and how many of them in each review state (not yet reviewed always,
 * the other states when someone is in them), over every learner of the course in the window, whatever the filters. Each
 * count links to the roster filtered to it, in the same window and order.
 */
function triageView(items: readonly RosterItem[], links: ListQuery) {
  const filteredTo = (filters: Record<string, string[]>) => listHref('/course', links, { query: null, filters, offset: 0 });
  return triageOf(items).map((c) => ({
    level: c.level,
    total: { text: `${c.total.toLocaleString('en-GB')} ${LEVEL_WORDS[c.level]}`, href: filteredTo({ risk: [c.level] }) },
    states: REVIEW_FILTER_VALUES.filter((state) => state === 'unreviewed' || c.byState[state] > 0).map((state) => {
      const n = c.byState[state];
      return {
        state,
        text: `${n.toLocaleString('en-GB')} ${reviewLabel(state).toLowerCase()}`,
        // Nobody to list: the count stays, as text.
        href: n > 0 ? filteredTo({ risk: [c.level], review: [state] }) : null,
      };
    }),
  }));
}

function reviewCell(r: RosterReview) {
  return {
    status: r.status,
    label: r.label,
    last: r.by === null || r.at === null ? null : { by: r.by, role: r.byRole, at: formatDateTime(r.at), atIso: r.at },
  };
}

function rosterViewModel(actor: Actor, q: ListQuery, raw: RawQuery, items: RosterItem[], page: ListPage<RosterItem>) {
  const links = withLtik(q, actor.ltik);
  const col = (key: string, label: string, className: string | null = null) =>
    columnView('/course', links, ROSTER_SPEC, key, label, className);
  // The learner pages carry the roster as it is now, so "Next learner to review" walks this list (src/web/queue.ts).
  const queue = encodeQueue(q, ROSTER_SPEC) ?? '';
  const inQueueOrder = q.sortBy === ROSTER_SPEC.defaultSort.by && q.sortDirection === ROSTER_SPEC.defaultSort.direction;
  return {
    ...rosterShell(actor),
    total: page.total,
    learners: items.length,
    inactive: items.filter((i) => i.enrollment === 'inactive').length,
    shownFrom: page.total === 0 ? 0 : page.offset + 1,
    shownTo: page.offset + page.items.length,
    triage: triageView(items, links),
    // "N new responses", linking to the learners who have them; null when nobody has (src/web/responsesView.ts).
    newResponses: responsesTriageView(
      items.map((i) => i.newResponses),
      listHref('/course', links, { query: null, filters: { responses: ['new'] }, offset: 0 }),
    ),
    order: {
      queue: inQueueOrder,
      queueHref: inQueueOrder
        ? null
        : listHref('/course', links, { sortBy: ROSTER_SPEC.defaultSort.by, sortDirection: ROSTER_SPEC.defaultSort.direction, offset: 0 }),
    },
    columns: {
      name: col('name', 'Learner'),
      risk: col('risk', 'Risk'),
      review: col('review', 'Review'),
      sessions: col('sessions', 'Sessions', 'num'),
      maxScore: col('max_score', 'Highest score', 'num'),
      lastActivity: col('last_activity', 'Last activity'),
    },
    rows: page.items.map((i) => ({
      name: clip(i.name, 120),
      email: i.email === null ? null : clip(i.email, 120),
      userId: i.userId,
      inactive: i.enrollment === 'inactive',
      href: i.userId ? learnerInQueueHref(actor, i.userId, queue) : null,
      risk:
        i.risk === 'unavailable'
          ? { level: 'none', label: 'Unavailable', shape: '?' }
          : riskBadge(i.risk, i.riskWithoutAccommodations === 'unavailable' ? null : i.riskWithoutAccommodations),
      review: reviewCell(i.review),
      newResponses: i.newResponses > 0 ? newResponsesText(i.newResponses) : null,
      levelReason: i.levelReason,
      sessions: i.sessions,
      high: i.high,
      elevated: i.elevated,
      maxScore: formatScore(i.maxScore),
      topFlags: i.topFlags.map((f) => ({ flag: clip(f.flag, 80), count: f.count })),
      lastActivity: formatDateTime(i.lastActivity),
      problem: i.problem,
    })),
    form: rosterForm(actor, q, raw, null),
    pager: pagerView('/course', links, page),
    exports: exportLinks('/course', links, page.total, { one: 'learner', many: 'learners' }),
  };
}

/** The page at the end of the queue, or (after a cold roster's progress line, which cannot redirect) the way on. */
function queueEndViewModel(actor: Actor, encoded: string, filtered: boolean, next: RosterItem | null) {
  return {
    title: next ? 'Next learner to review' : 'Everyone in this list has been reviewed',
    nav: navFor(actor, 'roster'),
    who: actor.displayName,
    breadcrumbs: [{ label: 'Course roster', href: rosterOfQueueHref(actor, encoded) }, { label: 'Review queue' }],
    filtered,
    next: next && next.userId ? { name: clip(next.name, 120), href: learnerInQueueHref(actor, next.userId, encoded) } : null,
    rosterHref: rosterOfQueueHref(actor, encoded),
  };
}

/** A cold roster with at least this many learners to fetch is sent with a progress line. */
export const PROGRESS_AFTER = 50;

export interface CourseDeps extends RosterDeps {
  upstreamFor(actor: Actor): Promise<BoundUpstream>;
  audit: AuditSink;
  review: ReviewRecords;
  responses: StaffResponseDeps['responses'];
  accommodations: AccommodationDeps['accommodations'];
}

/**
 * Starts reading the course's review states: one indexed query for every learner, run while the roster's sessions are
 * read. A launch without a course has no records (and no roster to put them in).
 */
function readReviewLines(deps: CourseDeps, actor: Actor): Promise<ReadonlyMap<string, CourseReviewLine>> {
  if (!actor.context.id) return Promise.resolve(new Map());
  const lines = deps.review.courseLines(courseKeyOf(actor));
  // Awaited later (a failure surfaces there); until then a rejection is not an unhandled one.
  lines.catch(() => undefined);
  return lines;
}

/** The whole roster of the launch course in `window`: its sessions (cached, else fetched) joined with the review states. */
async function startRoster(deps: CourseDeps, actor: Actor, window: { after?: Date; before?: Date }) {
  const lines = readReviewLines(deps, actor);
  const upstream = await deps.upstreamFor(actor);
  const fetch = await startRosterFetch(deps, actor, upstream, window, (userIds) => {
    // The accommodations on record for every learner of the course, in one query, read while the sessions are: the levels
    // that count, for the queue, the triage, the filters and the exports alike (src/risk/accommodations.ts).
    const accommodated = courseAccommodatedSignals(deps, actor, userIds);
    accommodated.catch(() => undefined);
    // One query for every learner of the course, read while the sessions are too: the triage line counts them all,
    // whatever the filters.
    const newResponses = newResponseCounts(deps, actor, [...new Set(userIds)]);
    newResponses.catch(() => undefined);
    return { accommodated, newResponses };
  });
  const { accommodated, newResponses } = fetch.alongside;
  return {
    ...fetch,
    async items(onProgress?: (done: number, total: number) => void): Promise<RosterItem[]> {
      const rows = await fetch.rows(onProgress, await accommodated);
      const byUser = await lines;
      const fresh = await newResponses;
      return rows.map((row) => toItem(row, window, byUser, fresh));
    },
  };
}

const progressLine = (fetch: { toFetch: number; learners: number }) =>
  `Reading the integrity signals of ${fetch.toFetch.toLocaleString('en-GB')} learners from isnotai (${fetch.learners.toLocaleString('en-GB')} in the course)…`;

/**
 * `GET /course/next?queue=…&after=…`: the next learner to review in the queue's filters and order (docs/lists.md "Course
 * roster"). 303 to their page, carrying the queue on; or the page saying everyone in the list has been reviewed.
 */
async function nextLearner(deps: CourseDeps, req: Request, res: Response): Promise<void> {
  const actor = actorOf(res);
  if (actor.audience === 'student') throw forbidden('The review queue is for the course’s staff.');
  const raw = rawQueryOf(req);
  const queue = readQueue(raw.queue, ROSTER_SPEC);
  const after = readAfter(raw.after);
  const errors = [...(queue.ok ? [] : queue.errors), ...(after.ok ? [] : after.errors)];
  if (!queue.ok || !after.ok) throw invalidQueue(errors);
  // The whole list in the queue's order: the next learner may be on any of the roster's pages.
  const q: ListQuery = { ...queue.query, limit: null, offset: 0 };
  const roster = await startRoster(deps, actor, { after: q.createdAfter ?? undefined, before: q.createdBefore ?? undefined });
  const next = async (onProgress?: (done: number, total: number) => void) => {
    const found = nextInQueue(await roster.items(onProgress), after.after, (items) => rosterPage(items, q).items);
    // The cache writes of what was read, started while it was read.
    await roster.written();
    return found;
  };
  res.setHeader('Cache-Control', 'no-store');
  if (roster.remaining >= PROGRESS_AFTER) {
    // A cold roster: the progress line has started a 200 answer, so the way on is a link, not a redirect.
    await progressPage(
      res,
      rosterShell(actor),
      progressLine(roster),
      async (progress) => {
        const found = await next((done, total) => progress.step(done, total));
        return { view: 'pages/queue-end', vm: queueEndViewModel(actor, queue.encoded, queue.filtered, found) };
      },
      { unit: 'learners' },
    );
    return;
  }
  const found = await next();
  if (found?.userId) {
    res.redirect(303, learnerInQueueHref(actor, found.userId, queue.encoded));
    return;
  }
  res.render('pages/queue-end', queueEndViewModel(actor, queue.encoded, queue.filtered, null));
}

export function courseRouter(deps: CourseDeps): Router {
  const r = Router();
  r.get('/course/next', (req, res, next) => {
    nextLearner(deps, req, res).catch(next);
  });
  listRoutes(r, '/course', ['html', 'json', 'csv'], async (format, req, res) => {
    const actor = actorOf(res);
    if (actor.audience === 'student') throw forbidden('The course roster is for instructors.');
    const list = readListRequest(req, ROSTER_SPEC, format);
    if (list.errors) {
      res.status(422).render('pages/course', rosterInvalidViewModel(actor, list.query, list.raw, list.errors));
      return;
    }
    const q = list.query;
    const window = { after: q.createdAfter ?? undefined, before: q.createdBefore ?? undefined };
    // An export reads what the page reads (every learner: the page is in queue order), under the same deadline.
    const roster = await startRoster(deps, actor, window);
    const gather = async (onProgress?: (done: number, total: number) => void) => {
      const items = await roster.items(onProgress);
      const page = rosterPage(items, q);
      await Promise.all([
        // Whom: the learners this page (or export: every page of it) shows, not the whole course.
        auditView(
          deps.audit,
          actor,
          res,
          format === 'csv' ? 'export.roster_csv' : 'view.roster',
          page.items.flatMap((i) => (i.userId ? [i.userId] : [])),
        ),
        // The cache writes of what was read, started while it was read.
        roster.written(),
      ]);
      return { items, page };
    };
    if (format === 'html' && roster.remaining >= PROGRESS_AFTER) {
      await progressPage(
        res,
        rosterShell(actor),
        progressLine(roster),
        async (progress) => {
          const { items, page } = await gather((done, total) => progress.step(done, total));
          return { view: 'pages/course', vm: rosterViewModel(actor, q, list.raw, items, page) };
        },
        { unit: 'learners' },
      );
      return;
    }
    const { items, page } = await gather();
    const file = `roster-${actor.context.label ?? actor.context.id ?? 'course'}`;
    if (format === 'json') {
      const window = { created_after: q.createdAfter?.toISOString() ?? null, created_before: q.createdBefore?.toISOString() ?? null };
      // The triage counts are over every learner in the window, as the page's triage line.
      const triage = triageOf(items);
      // `placement`: what the launched link covers when it is one activity's (its sessions only, its thresholds); null: the whole course.
      sendJsonExport(res, file, {
        ...page,
        window,
        triage,
        thresholds: actor.platform.thresholds,
        course: actor.context,
        placement: placementJson(actor),
      });
      return;
    }
    if (format === 'csv') {
      sendCsvExport(res, file, toCsv(page.items, ROSTER_CSV_COLUMNS, { bom: true }));
      return;
    }
    res.render('pages/course', rosterViewModel(actor, q, list.raw, items, page));
  });
  return r;
}
