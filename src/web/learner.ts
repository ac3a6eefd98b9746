/**
 * One learner (instructor, admin, or the learner themself with full visibility): risk summary,
 * bot score over time, their sessions (a list in the one dialect, docs/lists.md, also as JSON and
 * CSV), and one session in depth: details, charts, page history and the events table.
 */
import { Router } from 'express';
import { parseEventType } from '../isnotai/eventTypes';
import { IsnotaiApiError } from '../isnotai/errors';
import type { IsnotaiEvent, Page, SessionDetails } from '../isnotai/types';
import { accommodatedReason, accommodatedSessionLevel, learnerRiskSummary } from '../risk';
import { findLearnerSession } from './access';
import { auditView } from './audit';
import { flagViews, sessionTimeline, signalEvents, signalLineView, signalOf, withSignalErrors, type SignalEvents } from './evidence';
import { actorOf, hrefWithLtik } from './actor';
import { chartView } from './chartView';
import { eventCountsChart, scoreOverTimeChart } from './charts';
import { clip, formatDateTime, formatDuration, safeHref } from './format';
import {
  columnView,
  exportLinks,
  fieldValue,
  formErrors,
  listRoutes,
  pagerView,
  readListRequest,
  refusedCursor,
  sendCsvExport,
  sendJsonExport,
  toCsv,
  withLtik,
  type ListParamError,
  type ListQuery,
  type ListSpec,
} from './lists';
import { navFor } from './nav';
import { ROSTER_SPEC } from './course';
import { learnerQueueView, sessionQueueView, withCarriedQueue } from './queue';
import { authorise, learnerId, sessionIdOf, type LearnerDataDeps } from './learnerAccess';
import { accommodationPanelView } from './accommodationView';
import { readRegister, type AccommodationDeps } from './accommodationContext';
import { learnerDataHref } from './learnerData';
import { currentSessionMarks, learnerReviewView, markCsvColumns, markJson, sessionMarksView, type ReviewPageDeps } from './review';
import {
  learnerResponsesView,
  readStaffResponses,
  responseCsvColumns,
  sessionResponsesJson,
  sessionResponsesView,
  type StaffResponseDeps,
} from './responsesView';
import { guidanceFor } from './guidanceView';
import { ownResponsesView, type StudentResponseDeps } from './studentResponses';
import {
  SESSION_LIST_FIELDS,
  SESSION_LIST_SPEC,
  sessionCsvColumns,
  sessionListForm,
  sessionListPage,
  sessionRiskJson,
  sessionRow,
  summaryView,
} from './sessionRows';

/** The learner pages read the learner's data and, for staff, their review record. */
export type LearnerDeps = LearnerDataDeps & ReviewPageDeps & StaffResponseDeps & StudentResponseDeps & AccommodationDeps;

/**
 * A session's events, as isnotai pages them (oldest first, followed by cursor): one event type
 * (a name, decimal or hex, as isnotai takes it) and a time window.
 */
export const EVENT_LIST_SPEC: ListSpec = {
  sortBy: [],
  defaultSort: { by: 'timestamp', direction: 'asc' },
  filters: {
    type: {
      multi: false,
      maxLength: 40,
      check: (v) =>
        parseEventType(v) ? null : 'type is not an event type: use a name such as mouse_move, a decimal such as 2, or hex such as 0x02',
    },
    // The events behind one of the session's signals (src/web/evidence.ts checks it against the session).
    signal: { multi: false, maxLength: 200 },
  },
  createdWindow: true,
  paging: 'cursor',
  defaultLimit: 100,
  renamed: { page_size: 'limit', from: 'created_after', to: 'created_before' },
};

const EVENT_FIELDS = { type: 'Type', created_after: 'From', created_before: 'To', limit: 'Per page' };

/**
 * A page's own links (sorting, paging, filters, exports) without `saved`: "Saved." answers the redirect after a write
 * (src/web/review.ts), not a later click on the same page.
 */
const withoutSaved = (q: ListQuery): ListQuery => ({ ...q, extra: q.extra.filter(([name]) => name !== 'saved') });

export function learnerRouter(deps: LearnerDeps): Router {
  const r = Router();

  // A learner id may end in `.json` (an LMS's own id): the page's route is the page, never a data form.
  listRoutes(r, '/learners/:userId', ['html'], async (form, req, res) => {
    const actor = actorOf(res);
    const userId = learnerId(req, actor);
    const access = await authorise(deps, actor, userId);
    const list = readListRequest(req, SESSION_LIST_SPEC, form);
    const upstream = await deps.upstreamFor(actor);
    const { sessions: all, truncated } = await upstream.allUserSessions(userId);
    await auditView(deps.audit, actor, res, 'view.learner', userId);
    const t = actor.platform.thresholds;
    // The accommodations on record where the page is read: the levels that count, for staff and the learner alike
    // (src/risk/accommodations.ts); the staff's register panel and the student's guidance use the same read.
    const register = await readRegister(deps, actor, userId);
    const accommodated = register.signals;
    const summary = learnerRiskSummary(all, { thresholds: t, accommodated });
    const chart = scoreOverTimeChart(
      all.map((s) => ({ at: new Date(s.createdAt), score: s.botScore, label: clip(s.pageUrl, 80) })),
      { thresholds: t, title: 'Bot score of each session over time' },
    );
    const name = access.member?.name ?? all.find((s) => s.userName)?.userName ?? `User ${userId}`;
    const base = `/learners/${encodeURIComponent(userId)}`;
    const q = withLtik(withCarriedQueue(withoutSaved(list.query)), actor.ltik);
    const marks = list.errors ? formErrors(list.errors, SESSION_LIST_FIELDS, hrefWithLtik(base, actor.ltik)) : null;
    const page = list.errors ? null : sessionListPage(all, q, t, accommodated);
    const col = (key: string | null, label: string, className: string | null = null) =>
      columnView(base, q, SESSION_LIST_SPEC, key, label, className);
    // Staff who came from the roster walk its queue from here (src/web/queue.ts); null for a student.
    const queue = learnerQueueView(actor, userId, list.raw, ROSTER_SPEC);
    res.status(list.errors ? 422 : 200).render('pages/learner', {
      title: `${clip(name, 80)} · sessions`,
      nav: navFor(actor, actor.audience === 'student' ? 'me' : 'roster'),
      who: actor.displayName,
      breadcrumbs:
        actor.audience === 'student'
          ? null
          : [{ label: 'Course roster', href: queue?.rosterHref ?? hrefWithLtik('/course', actor.ltik) }, { label: clip(name, 80) }],
      queue,
      learner: { name: clip(name, 120), userId: clip(userId, 80), email: access.member?.email ? clip(access.member.email, 120) : null },
      // Admins only: the learner's review data, to export and erase (src/web/learnerData.ts).
      learnerDataHref: learnerDataHref(actor, userId),
      // Staff only (src/web/packet.ts); the packet covers the dates the list is filtered to.
      packetHref:
        actor.audience === 'student'
          ? null
          : hrefWithLtik(`${base}/packet`, actor.ltik, {
              created_after: list.query.createdAfter?.toISOString(),
              created_before: list.query.createdBefore?.toISOString(),
            }),
      // Staff only: the status, its history, the notes and the form (src/web/review.ts); null for a student.
      review: await learnerReviewView(deps, actor, userId, req),
      // Staff only: the accommodations register, its forms (src/web/accommodations.ts); read-only for a TA, null for a student.
      accommodations: accommodationPanelView(deps, actor, userId, req.query, register),
      // Staff only: the learner's responses, marked new as this course's staff had seen them; opening this page marks
      // them seen for the launch course (src/web/responsesView.ts). Null for a student.
      studentResponses: await learnerResponsesView(deps, actor, userId, queue?.queue ?? null),
      // Student only: what the record means and how to answer it (src/web/guidanceView.ts).
      guidance: guidanceFor(actor, { kind: 'record', sessions: all }, register),
      summary: summaryView(summary, truncated),
      truncated: truncated ? { newest: all.length.toLocaleString('en-GB') } : null,
      chart: chartView(chart),
      empty: all.length === 0,
      // The roster's queue goes on with the filters, as with the session links below.
      form: { ...sessionListForm(actor.ltik, base, list.query, list.raw, marks), queue: queue?.queue ?? null },
      listErrors: marks,
      list: page && {
        total: page.total,
        shownFrom: page.total === 0 ? 0 : page.offset + 1,
        shownTo: page.offset + page.items.length,
        columns: { createdAt: col('created_at', 'Started'), score: col('bot_score', 'Bot score', 'num') },
        sessions: page.items.map((s) => ({
          ...sessionRow(s, t, accommodated),
          href: hrefWithLtik(`${base}/sessions/${encodeURIComponent(s.id)}`, actor.ltik, { queue: queue?.queue }),
        })),
        pager: pagerView(base, q, page),
        exports: exportLinks(
          `${base}/sessions`,
          q,
          page.total,
          { one: 'session', many: 'sessions' },
          truncated ? { newest: all.length } : {},
        ),
      },
    });
  });

  listRoutes(r, '/learners/:userId/sessions', ['json', 'csv'], async (form, req, res) => {
    const actor = actorOf(res);
    const userId = learnerId(req, actor);
    await authorise(deps, actor, userId);
    const list = readListRequest(req, SESSION_LIST_SPEC, form);
    // An export reads what the page reads (the learner's sessions), under the same deadline.
    const upstream = await deps.upstreamFor(actor);
    const { sessions: all, truncated } = await upstream.allUserSessions(userId);
    const t = actor.platform.thresholds;
    const accommodated = (await readRegister(deps, actor, userId)).signals;
    const page = sessionListPage(all, list.query, t, accommodated);
    const csv = list.form === 'csv';
    // Staff get each session's current review mark, read once for the whole export; a student never does (null).
    const marks = await currentSessionMarks(deps, actor, userId);
    // Staff get each session's student responses too (src/web/responsesView.ts); a student's own exports do not (null).
    const responses = await readStaffResponses(deps, actor, userId);
    await auditView(deps.audit, actor, res, csv ? 'export.sessions_csv' : 'view.sessions', userId);
    const file = `sessions-${userId}`;
    if (csv)
      sendCsvExport(
        res,
        file,
        toCsv(
          page.items,
          [
            ...sessionCsvColumns(t, false, accommodated),
            ...(marks ? markCsvColumns(marks) : []),
            ...(responses ? responseCsvColumns(responses) : []),
          ],
          { bom: true },
        ),
      );
    // `truncated`: the learner has more sessions than the tool reads; these are the newest (docs/lists.md).
    else
      sendJsonExport(res, file, {
        ...page,
        truncated,
        items: page.items.map((s) => ({
          ...s,
          ...sessionRiskJson(s, t, accommodated),
          ...(marks ? { reviewMark: markJson(marks.get(s.id)) } : {}),
          ...(responses ? { studentResponses: sessionResponsesJson(responses, s.id) } : {}),
        })),
      });
  });

  listRoutes(r, '/learners/:userId/sessions/:sessionId', ['html'], async (form, req, res) => {
    const actor = actorOf(res);
    const userId = learnerId(req, actor);
    const sessionId = sessionIdOf(req);
    const access = await authorise(deps, actor, userId);
    const upstream = await deps.upstreamFor(actor);
    const session = await findLearnerSession(upstream, userId, sessionId, actor.placement !== null);
    const list = readListRequest(req, EVENT_LIST_SPEC, form);
    await auditView(deps.audit, actor, res, 'view.session', userId, sessionId);

    let details: SessionDetails | null = null;
    let detailsProblem: string | null = null;
    try {
      details = await upstream.sessionDetails(sessionId);
    } catch (err) {
      if (err instanceof IsnotaiApiError && (err.status === 503 || err.status === 429 || err.status >= 500))
        detailsProblem =
          'The session’s details are temporarily unavailable from isnotai; the events below are still shown. Try again in a minute.';
      else throw err;
    }
    const q = list.query;
    let errors: ListParamError[] | null = withSignalErrors(list.errors, q, list.raw, session.detectionFlags);
    const signal = errors ? null : signalOf(q);
    let events: Page<IsnotaiEvent> | null = null;
    let shown: SignalEvents | null = null;
    if (!errors && signal !== null) {
      shown = await signalEvents(upstream, sessionId, signal, q);
      events = shown.page;
    } else if (!errors) {
      try {
        events = await upstream.eventsPage(sessionId, {
          pageSize: q.limit ?? undefined,
          cursor: q.cursor ?? undefined,
          type: q.filters.type?.[0],
          startTime: q.createdAfter?.getTime(),
          endTime: q.createdBefore?.getTime(),
        });
      } catch (err) {
        const refused = refusedCursor(err);
        if (!refused) throw err;
        errors = [refused];
      }
    }
    const base = `/learners/${encodeURIComponent(userId)}/sessions/${encodeURIComponent(sessionId)}`;
    const links = withLtik(withCarriedQueue(withoutSaved(q)), actor.ltik);
    // Staff who came from the roster keep its queue on the way back up (src/web/queue.ts); null for a student.
    const queue = sessionQueueView(actor, userId, list.raw, ROSTER_SPEC);
    const marks = errors ? formErrors(errors, EVENT_FIELDS, hrefWithLtik(base, actor.ltik)) : null;
    const name = access.member?.name ?? session.userName ?? `User ${userId}`;
    // The accommodations on record where the page is read (src/risk/accommodations.ts): the session's level that counts,
    // and for a student the guidance's note.
    const register = await readRegister(deps, actor, userId);
    const accommodated = register.signals;
    const row = sessionRow(session, actor.platform.thresholds, accommodated);
    res.status(errors ? 422 : 200).render('pages/session', {
      title: `Session ${clip(sessionId, 40)}`,
      nav: navFor(actor, actor.audience === 'student' ? 'me' : 'roster'),
      who: actor.displayName,
      breadcrumbs: [
        ...(queue ? [{ label: 'Course roster', href: queue.rosterHref }] : []),
        { label: clip(name, 80), href: queue?.learnerHref ?? hrefWithLtik(`/learners/${encodeURIComponent(userId)}`, actor.ltik) },
        { label: `Session ${clip(sessionId, 40)}` },
      ],
      session: row,
      // The sentence behind a level an accommodation on record lowered; null when it did not.
      accommodated: accommodatedReason(
        accommodatedSessionLevel(session, actor.platform.thresholds, accommodated),
        actor.platform.thresholds,
      ),
      // Staff only: this session's review mark, its history and the form (src/web/review.ts).
      marks: await sessionMarksView(deps, actor, userId, sessionId, req),
      // Staff only: the learner's responses to this session, beside its flags; reading them here marks nothing seen.
      studentResponses: await sessionResponsesView(deps, actor, userId, sessionId),
      // Student only: each signal's common innocent causes beside it, what it means, and their own responses with the form
      // (src/web/guidanceView.ts, src/web/studentResponses.ts).
      guidance: guidanceFor(actor, { kind: 'session', flags: session.detectionFlags }, register),
      ownResponses: actor.audience === 'student' ? await ownResponsesView(deps, actor, sessionId, req) : null,
      details: details ? detailsView(details) : null,
      detailsProblem,
      countsChart: details ? chartView(eventCountsChart(details.eventCounts, { title: 'Events by kind', id: 'counts-chart' })) : null,
      // Each signal an accommodation on record explains says so.
      flags: flagViews(session.detectionFlags, base, links, signal, accommodated),
      timelineChart: details ? sessionTimeline(details.timeline, shown) : null,
      form: {
        ltik: actor.ltik,
        queue: queue?.queue ?? null,
        action: base,
        type: fieldValue(list.raw, marks, 'type', q.filters.type?.[0] ?? ''),
        createdAfter: fieldValue(list.raw, marks, 'created_after', q.createdAfter?.toISOString() ?? ''),
        createdBefore: fieldValue(list.raw, marks, 'created_before', q.createdBefore?.toISOString() ?? ''),
        limit: fieldValue(list.raw, marks, 'limit', String(q.limit ?? '')),
        errors: marks?.fields ?? {},
      },
      listErrors: marks,
      events: events && {
        signal: shown && signalLineView(shown, base, links),
        rows: events.data.map((e) => ({
          id: clip(e.eventId, 60),
          type: clip(e.eventTypeName, 40),
          messageId: `${e.messageId} (0x${e.messageId.toString(16).padStart(2, '0')})`,
          at: Number.isFinite(e.timestamp) && Math.abs(e.timestamp) < 8.64e15 ? new Date(e.timestamp).toISOString() : '—',
          payloadSize: e.payloadSize,
        })),
        limit: events.pagination.limit,
        time: columnView(base, links, EVENT_LIST_SPEC, 'timestamp', 'Time (UTC)'),
        pager: pagerView(
          base,
          links,
          {
            items: events.data,
            limit: events.pagination.limit,
            has_more: events.pagination.hasMore,
            next_cursor: events.pagination.nextCursor,
          },
          'Event pages',
        ),
      },
    });
  });
  return r;
}

function detailsView(d: SessionDetails) {
  return {
    start: formatDateTime(d.startTime),
    end: formatDateTime(d.endTime),
    duration: formatDuration(d.durationSeconds * 1000),
    total: d.eventCounts.total,
    pages: d.pageHistory.slice(0, 200).map((p) => ({
      text: clip(p.url, 160),
      href: safeHref(p.url),
      at: formatDateTime(p.timestamp),
      type: clip(p.type, 40),
      duration: formatDuration(p.durationMs),
    })),
  };
}
