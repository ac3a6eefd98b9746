/**
 * One learner (instructor, admin, or the learner themself with full visibility): risk summary,
 * bot score over time, their sessions (cursor-paged from isnotai; also as JSON/CSV with the list
 * conventions), and one session in depth: details, charts, page history and the events table.
 */
import { Router, type Request, type Response } from 'express';
import { describePattern, isIdShaped } from '../lti/identity';
import { parseEventType } from '../isnotai/eventTypes';
import { IsnotaiApiError } from '../isnotai/errors';
import type { SessionDetails } from '../isnotai/types';
import { learnerRiskSummary, RISK_LEVELS, sessionRiskLevel } from '../risk';
import { authoriseLearner, authoriseSession } from './access';
import { auditView } from './audit';
import { actorOf, hrefWithLtik, type Actor } from './actor';
import { chartView } from './chartView';
import { activityTimelineChart, eventCountsChart, scoreOverTimeChart } from './charts';
import { forbidden, HttpError } from './errors';
import { clip, formatDateTime, formatDuration, safeHref } from './format';
import { applyList, compareDate, compareNumber, listErrorMessage, paramReader, parseIsoBound, parseListQuery, rawQueryOf, toCsv, type ListSpec } from './lists';
import { navFor } from './nav';
import type { AuditSink } from './ports';
import { cursorParam } from './cursorParam';
import { courseMembers, type BoundUpstream, type RosterDeps } from './rosterService';
import { sessionRow, summaryView } from './sessionRows';

export interface LearnerDeps extends RosterDeps {
  upstreamFor(actor: Actor): Promise<BoundUpstream>;
  audit: AuditSink;
}

const ID = /^[^\s/?#]{1,255}$/;

export const SESSION_LIST_SPEC: ListSpec = {
  sortBy: ['created_at', 'bot_score'],
  defaultSort: { by: 'created_at', direction: 'desc' },
  sortDirections: { created_at: 'desc', bot_score: 'desc' },
  filters: { risk: { allowed: RISK_LEVELS.filter((l) => l !== 'none') }, flag: {}, status: { allowed: ['active', 'closed'] } },
  query: true,
  createdWindow: true,
};

function learnerId(req: Request, actor: Actor): string {
  const id = req.params.userId ?? '';
  if (!ID.test(id) || id === '.' || id === '..') throw new HttpError(400, 'invalid_user_id', 'That is not a valid user id.');
  // Text that no LMS of this platform could issue as an id names nobody: refused before any
  // look-up, so an admin's typo is neither fetched nor audited as a view of a person.
  const { identity, identityPattern } = actor.platform;
  if (!isIdShaped(id, { strategy: identity, pattern: identityPattern })) {
    throw new HttpError(422, 'invalid_user_id', `“${clip(id, 40)}” is not a user id of this LMS (${identityPattern ? describePattern(identityPattern) : 'no spaces, slashes or question marks'}).`, { mapping: identity }, [
      'Administrators can find a student by name on the “Find a student” page.',
    ]);
  }
  return id;
}

async function authorise(deps: LearnerDeps, actor: Actor, userId: string) {
  if (actor.audience === 'student' && actor.platform.studentVisibility !== 'full') throw forbidden('Your institution shows students a summary only.');
  return authoriseLearner(actor, userId, () => courseMembers(deps, actor));
}

export function learnerRouter(deps: LearnerDeps): Router {
  const r = Router();

  r.get('/learners/:userId', async (req: Request, res: Response, next) => {
    try {
      const actor = actorOf(res);
      const userId = learnerId(req, actor);
      const access = await authorise(deps, actor, userId);
      const upstream = await deps.upstreamFor(actor);
      const cursor = cursorParam(req);
      const [all, page] = await Promise.all([upstream.allUserSessions(userId), upstream.userSessionsPage(userId, { pageSize: 25, cursor })]);
      await auditView(deps.audit, actor, res, 'view.learner', userId);
      const summary = learnerRiskSummary(all, { thresholds: actor.platform.thresholds });
      const chart = scoreOverTimeChart(
        all.map((s) => ({ at: new Date(s.createdAt), score: s.botScore, label: clip(s.pageUrl, 80) })),
        { thresholds: actor.platform.thresholds, title: 'Bot score of each session over time' },
      );
      const name = access.member?.name ?? all.find((s) => s.userName)?.userName ?? `User ${userId}`;
      const base = `/learners/${encodeURIComponent(userId)}`;
      res.render('pages/learner', {
        title: `${clip(name, 80)} · sessions`,
        nav: navFor(actor, actor.audience === 'student' ? 'me' : 'roster'),
        who: actor.displayName,
        breadcrumbs: actor.audience === 'student' ? null : [{ label: 'Course roster', href: hrefWithLtik('/course', actor.ltik) }, { label: clip(name, 80) }],
        learner: { name: clip(name, 120), userId: clip(userId, 80), email: access.member?.email ? clip(access.member.email, 120) : null },
        summary: summaryView(summary),
        chart: chartView(chart),
        sessions: page.data.map((s) => ({ ...sessionRow(s, actor.platform.thresholds), href: hrefWithLtik(`${base}/sessions/${encodeURIComponent(s.id)}`, actor.ltik) })),
        empty: page.data.length === 0 && !cursor,
        pager: {
          next: page.pagination.hasMore && page.pagination.nextCursor ? hrefWithLtik(base, actor.ltik, { cursor: page.pagination.nextCursor }) : null,
          first: cursor ? hrefWithLtik(base, actor.ltik) : null,
        },
        exports: { json: hrefWithLtik(`${base}/sessions.json`, actor.ltik), csv: hrefWithLtik(`${base}/sessions.csv`, actor.ltik) },
      });
    } catch (err) {
      next(err);
    }
  });

  r.get(['/learners/:userId/sessions.json', '/learners/:userId/sessions.csv'], async (req, res, next) => {
    try {
      const actor = actorOf(res);
      const userId = learnerId(req, actor);
      await authorise(deps, actor, userId);
      const parsed = parseListQuery(rawQueryOf(req), SESSION_LIST_SPEC);
      if (!parsed.ok) throw new HttpError(422, 'invalid_parameters', listErrorMessage(parsed.errors), parsed.errors);
      const upstream = await deps.upstreamFor(actor);
      const all = await upstream.allUserSessions(userId);
      const t = actor.platform.thresholds;
      const page = applyList(all, parsed.value, {
        searchText: (s) => [s.pageUrl, s.userAgentSummary, ...s.detectionFlags, s.id],
        filters: { risk: (s) => sessionRiskLevel(s.botScore, t), flag: (s) => s.detectionFlags, status: (s) => s.status },
        sorters: { created_at: (a, b) => compareDate(a.createdAt, b.createdAt), bot_score: (a, b) => compareNumber(a.botScore, b.botScore) },
        createdAt: (s) => new Date(s.createdAt),
        tiebreak: (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      });
      const csv = req.path.endsWith('.csv');
      await auditView(deps.audit, actor, res, csv ? 'export.sessions_csv' : 'view.sessions', userId);
      const items = page.items.map((s) => ({ ...s, risk: sessionRiskLevel(s.botScore, t) }));
      if (!csv) {
        res.json({ ...page, items });
        return;
      }
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="sessions-${userId.replace(/[^A-Za-z0-9_-]+/g, '_')}.csv"`);
      res.send(
        toCsv(items, [
          { header: 'session_id', value: (s) => s.id },
          { header: 'created_at', value: (s) => s.createdAt },
          { header: 'updated_at', value: (s) => s.updatedAt },
          { header: 'status', value: (s) => s.status },
          { header: 'bot_score', value: (s) => s.botScore },
          { header: 'risk', value: (s) => s.risk },
          { header: 'flags', value: (s) => s.detectionFlags.join('; ') },
          { header: 'page_url', value: (s) => s.pageUrl },
          { header: 'user_agent', value: (s) => s.userAgentSummary },
        ], { bom: true }),
      );
    } catch (err) {
      next(err);
    }
  });

  r.get('/learners/:userId/sessions/:sessionId', async (req, res, next) => {
    try {
      const actor = actorOf(res);
      const userId = learnerId(req, actor);
      const sessionId = req.params.sessionId ?? '';
      if (!ID.test(sessionId)) throw new HttpError(400, 'invalid_session_id', 'That is not a valid session id.');
      const access = await authorise(deps, actor, userId);
      const upstream = await deps.upstreamFor(actor);
      // A session newer than the cached list (a fresh page or the admin list links to it) is
      // looked for again in a fresh read before it is refused.
      const cached = await upstream.allUserSessions(userId);
      const session = cached.some((s) => s.id === sessionId) ? authoriseSession(cached, userId, sessionId) : authoriseSession(await upstream.allUserSessions(userId, { fresh: true }), userId, sessionId);
      const filters = parseEventFilters(req);
      if (filters.errors.length > 0) throw new HttpError(422, 'invalid_parameters', listErrorMessage(filters.errors), filters.errors);
      await auditView(deps.audit, actor, res, 'view.session', userId, sessionId);

      let details: SessionDetails | null = null;
      let detailsProblem: string | null = null;
      try {
        details = await upstream.sessionDetails(sessionId);
      } catch (err) {
        if (err instanceof IsnotaiApiError && (err.status === 503 || err.status === 429 || err.status >= 500)) detailsProblem = 'The session’s details are temporarily unavailable from isnotai; the events below are still shown. Try again in a minute.';
        else throw err;
      }
      const events = await upstream.eventsPage(sessionId, { pageSize: filters.pageSize, cursor: filters.cursor, type: filters.type, startTime: filters.startTime, endTime: filters.endTime });
      const base = `/learners/${encodeURIComponent(userId)}/sessions/${encodeURIComponent(sessionId)}`;
      const keep = { type: filters.rawType, from: filters.rawFrom, to: filters.rawTo, page_size: filters.rawPageSize };
      const name = access.member?.name ?? session.userName ?? `User ${userId}`;
      res.render('pages/session', {
        title: `Session ${clip(sessionId, 40)}`,
        nav: navFor(actor, actor.audience === 'student' ? 'me' : 'roster'),
        who: actor.displayName,
        breadcrumbs: [
          ...(actor.audience === 'student' ? [] : [{ label: 'Course roster', href: hrefWithLtik('/course', actor.ltik) }]),
          { label: clip(name, 80), href: hrefWithLtik(`/learners/${encodeURIComponent(userId)}`, actor.ltik) },
          { label: `Session ${clip(sessionId, 40)}` },
        ],
        session: sessionRow(session, actor.platform.thresholds),
        details: details ? detailsView(details) : null,
        detailsProblem,
        countsChart: details ? chartView(eventCountsChart(details.eventCounts, { title: 'Events by kind', id: 'counts-chart' })) : null,
        timelineChart: details ? chartView(activityTimelineChart(details.timeline, { title: 'Activity over the session', id: 'timeline-chart' })) : null,
        events: events.data.map((e) => ({ id: clip(e.eventId, 60), type: clip(e.eventTypeName, 40), messageId: `${e.messageId} (0x${e.messageId.toString(16).padStart(2, '0')})`, at: Number.isFinite(e.timestamp) && Math.abs(e.timestamp) < 8.64e15 ? new Date(e.timestamp).toISOString() : '—', payloadSize: e.payloadSize })),
        eventsLimit: events.pagination.limit,
        form: { ltik: actor.ltik, ...keep, action: base },
        pager: {
          next: events.pagination.hasMore && events.pagination.nextCursor ? hrefWithLtik(base, actor.ltik, { ...keep, cursor: events.pagination.nextCursor }) : null,
          first: filters.cursor ? hrefWithLtik(base, actor.ltik, keep) : null,
        },
      });
    } catch (err) {
      next(err);
    }
  });
  return r;
}


function detailsView(d: SessionDetails) {
  return {
    start: formatDateTime(d.startTime),
    end: formatDateTime(d.endTime),
    duration: formatDuration(d.durationSeconds * 1000),
    total: d.eventCounts.total,
    pages: d.pageHistory.slice(0, 200).map((p) => ({ text: clip(p.url, 160), href: safeHref(p.url), at: formatDateTime(p.timestamp), type: clip(p.type, 40), duration: formatDuration(p.durationMs) })),
  };
}

/** Event filters: type as a name, decimal or hex; a time window (ISO-8601 or Unix ms); page size. */
export function parseEventFilters(req: Request) {
  const params = paramReader(rawQueryOf(req), ['type', 'from', 'to', 'page_size', 'cursor']);
  const errors = params.errors;
  const rawType = params.text('type', 100);
  const rawFrom = params.text('from', 100);
  const rawTo = params.text('to', 100);
  const rawPageSize = params.text('page_size', 100);
  let type: string | undefined;
  if (rawType) {
    if (!parseEventType(rawType)) errors.push({ param: 'type', message: `unknown event type “${clip(rawType, 40)}”: use a name such as mouse_move, a decimal such as 2, or hex such as 0x02` });
    else type = rawType;
  }
  const time = (raw: string, param: string): number | undefined => {
    if (!raw) return undefined;
    const n = /^\d{1,15}$/.test(raw) ? Number(raw) : (parseIsoBound(raw, param === 'from' ? 'after' : 'before')?.getTime() ?? NaN);
    if (!Number.isFinite(n)) {
      errors.push({ param, message: `${param} must be an ISO-8601 date-time or Unix milliseconds` });
      return undefined;
    }
    return n;
  };
  const startTime = time(rawFrom, 'from');
  const endTime = time(rawTo, 'to');
  if (startTime !== undefined && endTime !== undefined && startTime > endTime) errors.push({ param: 'to', message: 'to must not be before “from”' });
  // isnotai clamps it to the plan's maximum.
  const pageSize = params.integer('page_size', 1, 500);
  return { errors, type, startTime, endTime, pageSize, cursor: params.cursor(), rawType, rawFrom, rawTo, rawPageSize };
}

