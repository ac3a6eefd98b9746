/**
 * The instructor's (and admin's) course roster: every learner of the launch course with their risk
 * in the chosen window, as a page, as JSON and as CSV. The list conventions (query, multi-valued
 * filters, created_after/created_before, sort_by/sort_direction, limit/offset, 422) are those of
 * docs/lists.md.
 */
import { Router } from 'express';
import { riskRank, RISK_LEVELS, type RiskLevel } from '../risk';
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
import { navFor } from './nav';
import type { AuditSink } from './ports';
import { startRosterFetch, type BoundUpstream, type RosterDeps, type RosterRow } from './rosterService';
import { progressPage } from './progressPage';
import { riskBadge } from './sessionRows';

export const ROSTER_SPEC: ListSpec = {
  sortBy: ['risk', 'max_score', 'name', 'last_activity', 'sessions'],
  defaultSort: { by: 'risk', direction: 'desc' },
  sortDirections: { name: 'asc', risk: 'desc', max_score: 'desc', last_activity: 'desc', sessions: 'desc' },
  filters: {
    risk: { allowed: [...RISK_LEVELS, 'unavailable'] },
    flag: {},
    status: { allowed: ['active', 'closed'] },
    enrollment: { allowed: ['active', 'inactive'] },
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
}

function toItem(row: RosterRow, window: { after?: Date; before?: Date }): RosterItem {
  const inWindow = row.sessions.filter((s) => {
    const t = Date.parse(s.createdAt);
    return (!window.after || t >= window.after.getTime()) && (!window.before || t <= window.before.getTime());
  });
  const s = row.summary;
  return {
    userId: row.userId,
    ltiUserId: row.member.ltiUserId,
    name: row.member.name,
    email: row.member.email,
    enrollment: row.member.status.toLowerCase() === 'active' ? 'active' : 'inactive',
    risk: s ? s.level : 'unavailable',
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
  };
}

const rank = (r: RosterItem['risk']) => (r === 'unavailable' ? -1 : riskRank(r));

export function rosterPage(items: RosterItem[], query: ListQuery) {
  // The window selects sessions, not learners: it is applied when summarising, not here.
  return applyList(
    items,
    { ...query, createdAfter: null, createdBefore: null },
    {
      searchText: (i) => [i.name, i.email, i.userId, i.ltiUserId],
      filters: { risk: (i) => i.risk, flag: (i) => i.flagsInWindow, status: (i) => i.statusesInWindow, enrollment: (i) => i.enrollment },
      sorters: {
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
  { header: 'sessions', value: (i: RosterItem) => i.sessions },
  { header: 'high', value: (i: RosterItem) => i.high },
  { header: 'elevated', value: (i: RosterItem) => i.elevated },
  { header: 'max_score', value: (i: RosterItem) => i.maxScore },
  { header: 'top_flags', value: (i: RosterItem) => i.topFlags.map((f) => `${f.flag} (${f.count})`).join('; ') },
  { header: 'last_activity', value: (i: RosterItem) => i.lastActivity },
  { header: 'level_reason', value: (i: RosterItem) => i.levelReason ?? i.problem },
  { header: 'enrollment', value: (i: RosterItem) => i.enrollment },
];

/** The filter form as the request filled it; with `errors`, the invalid fields are marked and keep what was typed. */
function rosterForm(actor: Actor, q: ListQuery, raw: RawQuery, errors: FormErrorsView | null) {
  return {
    ltik: actor.ltik,
    ...filterFormView(q, raw, errors, ['risk', 'status', 'enrollment']),
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
  };
}

/** The page sent back with invalid parameters: the form, marked, and no list (nothing was read). */
function rosterInvalidViewModel(actor: Actor, q: ListQuery, raw: RawQuery, errors: ListParamError[]) {
  const marks = formErrors(errors, ROSTER_FIELDS, hrefWithLtik('/course', actor.ltik));
  return { ...rosterShell(actor), form: rosterForm(actor, q, raw, marks), listErrors: marks };
}

function rosterViewModel(actor: Actor, q: ListQuery, raw: RawQuery, items: RosterItem[], page: ListPage<RosterItem>) {
  const links = withLtik(q, actor.ltik);
  const col = (key: string, label: string, className: string | null = null) =>
    columnView('/course', links, ROSTER_SPEC, key, label, className);
  return {
    ...rosterShell(actor),
    total: page.total,
    learners: items.length,
    inactive: items.filter((i) => i.enrollment === 'inactive').length,
    shownFrom: page.total === 0 ? 0 : page.offset + 1,
    shownTo: page.offset + page.items.length,
    columns: {
      name: col('name', 'Learner'),
      risk: col('risk', 'Risk'),
      sessions: col('sessions', 'Sessions', 'num'),
      maxScore: col('max_score', 'Highest score', 'num'),
      lastActivity: col('last_activity', 'Last activity'),
    },
    rows: page.items.map((i) => ({
      name: clip(i.name, 120),
      email: i.email === null ? null : clip(i.email, 120),
      userId: i.userId,
      inactive: i.enrollment === 'inactive',
      href: i.userId ? hrefWithLtik(`/learners/${encodeURIComponent(i.userId)}`, actor.ltik) : null,
      risk: i.risk === 'unavailable' ? { level: 'none', label: 'Unavailable', shape: '?' } : riskBadge(i.risk),
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

/** A cold roster with at least this many learners to fetch is sent with a progress line. */
export const PROGRESS_AFTER = 50;

export interface CourseDeps extends RosterDeps {
  upstreamFor(actor: Actor): Promise<BoundUpstream>;
  audit: AuditSink;
}

export function courseRouter(deps: CourseDeps): Router {
  const r = Router();
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
    // An export reads what the page reads (every learner: the page is sorted by risk), under the same deadline.
    const upstream = await deps.upstreamFor(actor);
    const fetch = await startRosterFetch(deps, actor, upstream, window);
    const gather = async (onProgress?: (done: number, total: number) => void) => {
      const items = (await fetch.rows(onProgress)).map((row) => toItem(row, window));
      const page = rosterPage(items, q);
      // Whom: the learners this page (or export: every page of it) shows, not the whole course.
      await auditView(
        deps.audit,
        actor,
        res,
        format === 'csv' ? 'export.roster_csv' : 'view.roster',
        page.items.flatMap((i) => (i.userId ? [i.userId] : [])),
      );
      return { items, page };
    };
    if (format === 'html' && fetch.remaining >= PROGRESS_AFTER) {
      await progressPage(
        res,
        { title: `Roster · ${actor.context.title ?? 'course'}`, nav: navFor(actor, 'roster'), who: actor.displayName },
        `Reading the integrity signals of ${fetch.toFetch.toLocaleString('en-GB')} learners from isnotai (${fetch.learners.toLocaleString('en-GB')} in the course)…`,
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
      sendJsonExport(res, file, { ...page, window, thresholds: actor.platform.thresholds, course: actor.context });
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
