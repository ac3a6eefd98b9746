/**
 * The instructor's (and admin's) course roster: every learner of the launch course with their risk
 * in the chosen window and their review state, as a page, as JSON and as CSV. The list conventions
 * (query, multi-valued filters, created_after/created_before, sort_by/sort_direction, limit/offset,
 * 422) are those of docs/lists.md.
 *
 * It is also the staff's work queue (docs/product.md "Review"): by default unreviewed high first,
 * with a triage line of counts per risk level × review state, and `/course/next` answering with the
 * next learner to review in the roster's filters and order (src/web/queue.ts).
 *
 * The roster is kept in PostgreSQL (src/web/rosterBuild.ts, src/store/roster.ts): built once per course and window,
 * whoever opens it, and read a page at a time by one query that filters, sorts, counts and pages in SQL, joined with the
 * review states and new responses as they are now. Exports stream from it. Nothing holds the whole course.
 */
import { Router, type Request, type Response } from 'express';
import { staffRoleLabel } from '../lti/roles';
import { RISK_LEVELS, type RiskLevel } from '../risk';
import { REVIEW_FILTER_VALUES, reviewLabel, type ReviewState, type TriageCount } from '../review/status';
import type { RosterBuildState, RosterCourse, RosterPageLine, RosterSelection, RosterSort, RosterTriageLine } from '../store/roster';
import {
  columnView,
  exportLinks,
  filterFormView,
  foldText,
  formErrors,
  isExport,
  isFiltered,
  listRoutes,
  pagerView,
  readListRequest,
  toCsv,
  withLtik,
  type FormErrorsView,
  type ListPage,
  type ListParamError,
  type ListQuery,
  type ListSpec,
  type RawQuery,
} from './lists';
import { exportFileName } from './lists/export';
import { actorOf, hrefWithLtik, type Actor } from './actor';
import { auditView } from './audit';
import { forbidden } from './errors';
import { clip, formatDateTime, formatScore } from './format';
import { rawQueryOf } from './lists/parse';
import { listHref } from './lists/queryString';
import { navFor } from './nav';
import type { AuditSink } from './ports';
import { encodeQueue, invalidQueue, learnerInQueueHref, nextInQueue, readAfter, readQueue, rosterOfQueueHref } from './queue';
import { openRoster, refreshAccommodated, type OpenedRoster, type RosterBuildDeps } from './rosterBuild';
import { progressPage } from './progressPage';
import { riskBadge } from './sessionRows';
import { placementJson } from './deepLinkingView';
import { newResponsesText, responsesTriageFromTotals } from './responsesView';

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

/** One line of the roster, as the page, the JSON and the CSV show it. */
function itemOf(l: RosterPageLine): RosterItem {
  const status = l.reviewStatus as ReviewState;
  const written = l.reviewBy !== null && l.reviewAt !== null;
  return {
    userId: l.userId,
    ltiUserId: l.ltiUserId,
    name: l.name,
    email: l.email,
    enrollment: l.enrollment,
    risk: l.risk as RosterItem['risk'],
    riskWithoutAccommodations: l.riskWithout as RosterItem['risk'],
    levelReason: l.levelReason,
    sessions: l.sessions,
    high: l.high,
    elevated: l.elevated,
    low: l.low,
    maxScore: l.maxScore,
    topFlags: l.topFlags,
    lastActivity: l.lastActivity,
    problem: l.problem,
    flagsInWindow: l.flags,
    statusesInWindow: l.statuses,
    review: {
      status,
      label: reviewLabel(status),
      version: l.reviewVersion,
      by: written ? clip(l.reviewBy as string, 120) : null,
      byRole: written ? staffRoleLabel(l.reviewByRoles ?? []) : null,
      at: written ? (l.reviewAt as Date).toISOString() : null,
    },
    newResponses: l.userId === null ? 0 : l.newResponses,
  };
}

/**
 * The list's search, filters and order as the roster's query takes them (src/store/roster.ts): words and filter values
 * folded as docs/lists.md says; the window selects sessions, not learners (it is the roster's, applied when summarising).
 */
export function rosterSelection(query: ListQuery, asUnreviewed: string | null = null): RosterSelection {
  const folded = (name: string) => query.filters[name]?.map(foldText);
  const responses = folded('responses');
  return {
    words: query.query ? foldText(query.query).split(/\s+/u).filter(Boolean) : [],
    risk: folded('risk'),
    flag: folded('flag'),
    status: folded('status'),
    enrollment: folded('enrollment'),
    review: folded('review'),
    newResponses: responses !== undefined,
    sortBy: query.sortBy as RosterSort,
    direction: query.sortDirection,
    asUnreviewed,
  };
}

/** The launch's course as the review records and responses are kept; null outside a course (it has none). */
function rosterCourseOf(actor: Actor): RosterCourse | null {
  return actor.context.id
    ? {
        platformIss: actor.platform.issuer,
        platformClientId: actor.platform.clientId,
        deploymentId: actor.deploymentId,
        contextId: actor.context.id,
      }
    : null;
}

/** The course's counts, over every learner in the window, whatever the filters: the triage line and its neighbours. */
interface RosterCounts {
  learners: number;
  inactive: number;
  triage: TriageCount[];
  newResponses: { total: number; learners: number };
}

const TRIAGE_ORDER: Array<RosterItem['risk']> = ['high', 'elevated', 'low', 'none', 'unavailable'];

function countsOf(lines: readonly RosterTriageLine[]): RosterCounts {
  const triage = TRIAGE_ORDER.map((level): TriageCount => {
    const of = lines.filter((l) => l.risk === level);
    const byState = Object.fromEntries(
      REVIEW_FILTER_VALUES.map((s) => [s, of.filter((l) => l.reviewStatus === s).reduce((n, l) => n + l.learners, 0)]),
    ) as Record<ReviewState, number>;
    return { level, total: of.reduce((n, l) => n + l.learners, 0), byState };
  }).filter((c) => c.total > 0);
  const sum = (f: (l: RosterTriageLine) => number) => lines.reduce((n, l) => n + f(l), 0);
  return {
    learners: sum((l) => l.learners),
    inactive: sum((l) => l.inactive),
    triage,
    newResponses: { total: sum((l) => l.newResponses), learners: sum((l) => l.withNewResponses) },
  };
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
function triageView(triage: readonly TriageCount[], links: ListQuery) {
  const filteredTo = (filters: Record<string, string[]>) => listHref('/course', links, { query: null, filters, offset: 0 });
  return triage.map((c) => ({
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

function rosterViewModel(actor: Actor, q: ListQuery, raw: RawQuery, counts: RosterCounts, page: ListPage<RosterItem>) {
  const links = withLtik(q, actor.ltik);
  const col = (key: string, label: string, className: string | null = null) =>
    columnView('/course', links, ROSTER_SPEC, key, label, className);
  // The learner pages carry the roster as it is now, so "Next learner to review" walks this list (src/web/queue.ts).
  const queue = encodeQueue(q, ROSTER_SPEC) ?? '';
  const inQueueOrder = q.sortBy === ROSTER_SPEC.defaultSort.by && q.sortDirection === ROSTER_SPEC.defaultSort.direction;
  return {
    ...rosterShell(actor),
    total: page.total,
    learners: counts.learners,
    inactive: counts.inactive,
    shownFrom: page.total === 0 ? 0 : page.offset + 1,
    shownTo: page.offset + page.items.length,
    triage: triageView(counts.triage, links),
    // "N new responses", linking to the learners who have them; null when nobody has (src/web/responsesView.ts).
    newResponses: responsesTriageFromTotals(
      counts.newResponses.total,
      counts.newResponses.learners,
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
function queueEndViewModel(actor: Actor, encoded: string, filtered: boolean, next: { userId: string | null; name: string } | null) {
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

export interface CourseDeps extends RosterBuildDeps {
  audit: AuditSink;
}

/**
 * The roster once it is ready: its accommodated learners' lines brought up to date (src/web/rosterBuild.ts), then `read`.
 * A roster built for this request alone (a platform that caches nothing) is dropped once read.
 */
async function readBuilt<T>(
  deps: CourseDeps,
  actor: Actor,
  window: { after?: Date; before?: Date },
  build: RosterBuildState,
  read: (buildId: string) => Promise<T>,
): Promise<T> {
  try {
    await refreshAccommodated(deps, actor, build.id, window);
    return await read(build.id);
  } finally {
    if (actor.platform.cacheTtlSeconds <= 0) await deps.rosters.discard(build.id);
  }
}

/**
 * Runs `answer` once the roster is ready: at once when it is; after a progress line when it is being built and at least
 * PROGRESS_AFTER learners are still to read (a page; `answer` then gives the view and its model); otherwise after waiting.
 */
async function whenBuilt(
  res: Response,
  actor: Actor,
  opened: OpenedRoster,
  page: boolean,
  answer: (build: RosterBuildState) => Promise<{ view: string; vm: Record<string, unknown> } | null>,
): Promise<void> {
  if (opened.ready) {
    const rendered = await answer(opened.build);
    if (rendered) res.render(rendered.view, rendered.vm);
    return;
  }
  if (page && opened.remaining >= PROGRESS_AFTER) {
    await progressPage(
      res,
      rosterShell(actor),
      progressLine(opened),
      async (progress) => {
        const rendered = await answer(await opened.wait((done, total) => progress.step(done, total)));
        if (!rendered) throw new Error('a page answered without a view');
        return rendered;
      },
      { unit: 'learners' },
    );
    return;
  }
  const rendered = await answer(await opened.wait());
  if (rendered) res.render(rendered.view, rendered.vm);
}

const progressLine = (opened: { toFetch: number; learners: number; shared: boolean }) =>
  opened.shared
    ? `Another member of staff opened this roster a moment ago: it is being read once for you both (${opened.learners.toLocaleString('en-GB')} learners in the course)…`
    : `Reading the integrity signals of ${opened.toFetch.toLocaleString('en-GB')} learners from isnotai (${opened.learners.toLocaleString('en-GB')} in the course)…`;

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
  const window = { after: q.createdAfter ?? undefined, before: q.createdBefore ?? undefined };
  const opened = await openRoster(deps, actor, window);
  res.setHeader('Cache-Control', 'no-store');
  // The learner whose page the queue was left from counts as not yet reviewed, so the list is as it was when it was opened.
  const next = (build: RosterBuildState) =>
    readBuilt(deps, actor, window, build, async (id) => {
      const order = await deps.rosters.order(id, rosterCourseOf(actor), rosterSelection(q, after.after));
      const items = order.map((o) => ({ userId: o.userId, name: o.name, review: { status: o.reviewStatus as ReviewState } }));
      return nextInQueue(items, after.after, (list) => list);
    });
  if (!opened.ready && opened.remaining >= PROGRESS_AFTER) {
    // A cold roster: the progress line has started a 200 answer, so the way on is a link, not a redirect.
    await whenBuilt(res, actor, opened, true, async (build) => ({
      view: 'pages/queue-end',
      vm: queueEndViewModel(actor, queue.encoded, queue.filtered, await next(build)),
    }));
    return;
  }
  const found = await next(opened.ready ? opened.build : await opened.wait());
  if (found?.userId) {
    res.redirect(303, learnerInQueueHref(actor, found.userId, queue.encoded));
    return;
  }
  res.render('pages/queue-end', queueEndViewModel(actor, queue.encoded, queue.filtered, null));
}

/** An export whose reader went away: what is left of it is not read (its cursor is closed, its connection let go). */
class ReaderGone extends Error {
  constructor() {
    super('the export’s reader went away');
  }
}

/**
 * Writes `chunk`, waiting for the client to take what was written before when it has not (a stream of any length).
 * Throws ReaderGone once the client has gone: a download stopped half-way must not hold its cursor for ever.
 */
async function write(res: Response, chunk: string): Promise<void> {
  if (res.destroyed) throw new ReaderGone();
  if (res.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const drained = () => {
      res.off('close', closed);
      resolve();
    };
    const closed = () => {
      res.off('drain', drained);
      reject(new ReaderGone());
    };
    res.once('drain', drained);
    res.once('close', closed);
  });
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
    const course = rosterCourseOf(actor);
    const selection = rosterSelection(q);
    const file = `roster-${actor.context.label ?? actor.context.id ?? 'course'}`;
    const opened = await openRoster(deps, actor, window);
    const windowJson = { created_after: q.createdAfter?.toISOString() ?? null, created_before: q.createdBefore?.toISOString() ?? null };
    const json = (page: ListPage<RosterItem>, counts: RosterCounts) => ({
      ...page,
      window: windowJson,
      // The triage counts are over every learner in the window, as the page's triage line.
      triage: counts.triage,
      thresholds: actor.platform.thresholds,
      course: actor.context,
      // `placement`: what the launched link covers when it is one activity's (its sessions only, its thresholds); null: the whole course.
      placement: placementJson(actor),
    });

    if (format !== 'html' && isExport(list)) {
      // The whole list, streamed from the database a chunk at a time: never held whole (docs/performance.md).
      await whenBuilt(res, actor, opened, false, (build) =>
        readBuilt(deps, actor, window, build, async (id) => {
          // Whom: every learner the export holds, recorded before a byte of it is sent.
          const [order, head] = await Promise.all([
            deps.rosters.order(id, course, selection),
            format === 'json' ? deps.rosters.page(id, course, selection, { limit: 0, offset: 0 }, true) : null,
          ]);
          await auditView(
            deps.audit,
            actor,
            res,
            format === 'csv' ? 'export.roster_csv' : 'view.roster',
            order.flatMap((o) => (o.userId ? [o.userId] : [])),
          );
          res.attachment(exportFileName(file, format === 'csv' ? 'csv' : 'json'));
          try {
            const lines = deps.rosters.stream(id, course, selection);
            if (format === 'csv') {
              res.setHeader('Content-Type', 'text/csv; charset=utf-8');
              await write(res, toCsv([], ROSTER_CSV_COLUMNS, { bom: true }));
              let chunk: RosterItem[] = [];
              for await (const line of lines) {
                chunk.push(itemOf(line));
                if (chunk.length >= 500) {
                  await write(res, toCsv(chunk, ROSTER_CSV_COLUMNS, { header: false }));
                  chunk = [];
                }
              }
              if (chunk.length > 0) await write(res, toCsv(chunk, ROSTER_CSV_COLUMNS, { header: false }));
            } else {
              res.setHeader('Content-Type', 'application/json; charset=utf-8');
              const total = head?.total ?? order.length;
              const { items: _none, ...rest } = json(
                { items: [], total, limit: null, offset: 0, has_more: false, next_offset: null },
                countsOf(head?.triage ?? []),
              );
              await write(res, '{"items":[');
              let first = true;
              for await (const line of lines) {
                await write(res, `${first ? '' : ','}${JSON.stringify(itemOf(line))}`);
                first = false;
              }
              await write(res, `],${JSON.stringify(rest).slice(1)}`);
            }
          } catch (err) {
            // The reader went away part-way: the stream is closed (its cursor and connection with it), nothing to answer.
            if (err instanceof ReaderGone) return null;
            throw err;
          }
          res.end();
          return null;
        }),
      );
      return;
    }

    await whenBuilt(res, actor, opened, format === 'html', (build) =>
      readBuilt(deps, actor, window, build, async (id) => {
        const read = await deps.rosters.page(id, course, selection, { limit: q.limit, offset: q.offset }, true);
        const items = read.lines.map(itemOf);
        const end = q.offset + items.length;
        const page: ListPage<RosterItem> = {
          items,
          total: read.total,
          limit: q.limit,
          offset: q.offset,
          has_more: end < read.total,
          next_offset: end < read.total ? end : null,
        };
        // Whom: the learners this page shows, not the whole course.
        await auditView(
          deps.audit,
          actor,
          res,
          format === 'csv' ? 'export.roster_csv' : 'view.roster',
          items.flatMap((i) => (i.userId ? [i.userId] : [])),
        );
        const counts = countsOf(read.triage);
        if (format === 'json') {
          res.attachment(exportFileName(file, 'json'));
          res.json(json(page, counts));
          return null;
        }
        if (format === 'csv') {
          res.attachment(exportFileName(file, 'csv'));
          res.setHeader('Content-Type', 'text/csv; charset=utf-8');
          res.send(toCsv(items, ROSTER_CSV_COLUMNS, { bom: true }));
          return null;
        }
        return { view: 'pages/course', vm: rosterViewModel(actor, q, list.raw, counts, page) };
      }),
    );
  });
  return r;
}
