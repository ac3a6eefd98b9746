/**
 * The case packet (docs/product.md "Review"): one printable page per learner for a conduct office. It holds the learner
 * and the course, the risk summary with its reasons, every session in the chosen window with its signals and review
 * marks, the review history and every note, the viewer log (who opened the learner's data, and when), and when and by
 * whom it was generated. It is plain HTML with no script; the print stylesheet (views/assets/app.css, `@media print`)
 * drops the navigation and starts each section on a new page, so the browser's "Save as PDF" gives a clean file.
 *
 * Generating it is an audited export (`export.case_packet`, subject: the learner).
 */
import { Router } from 'express';
import { staffRoleLabel } from '../lti/roles';
import { MAX_REVIEW_TEXT, reviewLabel } from '../review/status';
import { describeFlag, learnerRiskSummary, sessionInWindow } from '../risk';
import type { AuditEntry } from '../store/audit';
import type { SessionMark } from '../store/review';
import { actorOf, hrefWithLtik, type Actor } from './actor';
import { auditView } from './audit';
import { clip, formatDateTime, formatScore, isoOrNull } from './format';
import { authorise, learnerId, type LearnerDataDeps } from './learnerAccess';
import { fieldValue, formErrors, listRoutes, readListRequest, type ListSpec } from './lists';
import { navFor } from './nav';
import type { ReviewRecords } from './ports';
import { requireStaff, reviewKeyOf } from './reviewAccess';
import { markView, notesView, stateOf, statusChangeView } from './reviewView';
import { riskBadge, sessionRow } from './sessionRows';
import { entryView } from './accommodationView';
import { readRegister, type AccommodationDeps } from './accommodationContext';
import { packetResponses, readStaffResponses, type StaffResponseDeps } from './responsesView';

export interface PacketDeps extends LearnerDataDeps, StaffResponseDeps, AccommodationDeps {
  review: ReviewRecords;
}

/** The packet reads only the list dialect's date window (docs/lists.md): the sessions it covers. */
const PACKET_WINDOW_SPEC: ListSpec = {
  sortBy: [],
  defaultSort: { by: 'created_at', direction: 'desc' },
  createdWindow: true,
  paging: 'none',
};
const WINDOW_FIELDS = { created_after: 'Sessions from', created_before: 'Sessions to' };

/** The most viewer-log entries a packet lists (newest first); the store answers at most 500 a page. */
export const PACKET_VIEWER_LOG_MAX = 1000;
const AUDIT_PAGE = 500;

/** What each audit action did, in words a conduct office reads (docs/product.md "Audit"). */
const ACTION_WORDS: Readonly<Record<string, string>> = {
  'view.learner': 'Opened the learner’s page',
  'view.session': 'Opened one of the learner’s sessions',
  'view.sessions': 'Downloaded the learner’s sessions (JSON)',
  'export.sessions_csv': 'Exported the learner’s sessions (CSV)',
  'view.own_sessions': 'The learner opened their own sessions',
  'view.roster': 'Saw the learner on the course roster',
  'export.roster_csv': 'Exported the course roster, the learner included (CSV)',
  'view.all_sessions': 'Saw the learner’s sessions in the list of all sessions',
  'export.all_sessions_csv': 'Exported the list of all sessions, the learner’s included (CSV)',
  'view.review': 'Read the learner’s review record',
  'review.status': 'Changed the learner’s review status',
  'review.note': 'Added a review note about the learner',
  'review.status_and_note': 'Changed the learner’s review status, with a note',
  'review.session_mark': 'Marked one of the learner’s sessions',
  'export.case_packet': 'Generated this learner’s case packet',
  'accommodation.add': 'Recorded an accommodation for the learner',
  'accommodation.remove': 'Removed one of the learner’s accommodations',
};

const AUDIENCE_WORDS: Readonly<Record<string, string>> = {
  instructor: 'Instructor or teaching assistant',
  admin: 'Administrator',
  student: 'Student',
};

/** Staff text as lines (the page keeps its line breaks without markup from the data: each line is escaped text). */
function lines(text: string): string[] {
  return clip(text, MAX_REVIEW_TEXT).split(/\r\n|\r|\n/);
}

/** A session's mark, its note as lines. */
function packetMark(m: SessionMark) {
  return { ...markView(m), note: m.note ? lines(m.note) : null };
}

/**
 * Whose views a packet lists. An admin's: every course of this LMS registration, as the admin audit page shows them. A
 * course's staff: their own course only; the staff of one course do not learn who looked at the learner from another
 * course, or what they did there (docs/product.md "Case packet").
 */
function viewerLogScope(actor: Actor): { contextId?: string } {
  return actor.audience === 'admin' || actor.context.id === null ? {} : { contextId: actor.context.id };
}

/** Up to PACKET_VIEWER_LOG_MAX entries naming the learner in the scope, newest first, and how many there are. */
async function viewerLog(deps: PacketDeps, actor: Actor, userId: string): Promise<{ items: AuditEntry[]; total: number }> {
  const query = {
    subject: userId,
    platformIss: actor.platform.issuer,
    platformClientId: actor.platform.clientId,
    ...viewerLogScope(actor),
  };
  const first = await deps.audit.list({ ...query, limit: AUDIT_PAGE, offset: 0 });
  const items = [...first.items];
  let total = first.total;
  while (items.length < Math.min(total, PACKET_VIEWER_LOG_MAX)) {
    const next = await deps.audit.list({
      ...query,
      limit: Math.min(AUDIT_PAGE, PACKET_VIEWER_LOG_MAX - items.length),
      offset: items.length,
    });
    if (next.items.length === 0) break;
    items.push(...next.items);
    total = next.total;
  }
  return { items: items.slice(0, PACKET_VIEWER_LOG_MAX), total };
}

function viewerLogRow(e: AuditEntry, actor: Actor, userId: string) {
  const self = e.actorRole === 'student' && e.actorUserId === userId;
  return {
    at: formatDateTime(e.at),
    atIso: e.at.toISOString(),
    actor: clip(e.actorUserId, 80),
    role: self ? 'The learner' : (AUDIENCE_WORDS[e.actorRole] ?? clip(e.actorRole, 40)),
    action: ACTION_WORDS[e.action] ?? null,
    code: clip(e.action, 100),
    // The session id of a view of one session; other resources (a review version) say nothing a reader needs.
    session: e.action === 'view.session' && e.resourceId ? clip(e.resourceId, 80) : null,
    course:
      e.contextId === null ? '—' : e.contextId === actor.context.id ? `this course (${clip(e.contextId, 60)})` : clip(e.contextId, 80),
  };
}

export function packetRouter(deps: PacketDeps): Router {
  const r = Router();

  listRoutes(r, '/learners/:userId/packet', ['html'], async (form, req, res) => {
    const actor = actorOf(res);
    // Staff only: a student never sees staff review records, their own included.
    requireStaff(actor);
    const userId = learnerId(req, actor);
    const access = await authorise(deps, actor, userId);
    const list = readListRequest(req, PACKET_WINDOW_SPEC, form);
    const base = `/learners/${encodeURIComponent(userId)}`;
    const learnerHref = hrefWithLtik(base, actor.ltik);
    const shell = {
      nav: navFor(actor, 'roster'),
      who: actor.displayName,
      breadcrumbs: [
        { label: 'Course roster', href: hrefWithLtik('/course', actor.ltik) },
        { label: clip(access.member?.name ?? `User ${userId}`, 80), href: learnerHref },
        { label: 'Case packet' },
      ],
    };
    if (list.errors) {
      // Nothing of the learner's data is shown (or audited) until the window is valid.
      const marks = formErrors(list.errors, WINDOW_FIELDS, hrefWithLtik(`${base}/packet`, actor.ltik));
      res.status(422).render('pages/packet', {
        ...shell,
        title: 'Case packet · dates not valid',
        invalid: true,
        listErrors: marks,
        form: {
          action: `${base}/packet`,
          ltik: actor.ltik,
          createdAfter: fieldValue(list.raw, marks, 'created_after', list.query.createdAfter?.toISOString() ?? ''),
          createdBefore: fieldValue(list.raw, marks, 'created_before', list.query.createdBefore?.toISOString() ?? ''),
          errors: marks.fields,
        },
      });
      return;
    }
    const after = list.query.createdAfter;
    const before = list.query.createdBefore;
    const t = actor.platform.thresholds;
    const upstream = await deps.upstreamFor(actor);
    const [{ sessions: all, truncated }, record] = await Promise.all([
      upstream.allUserSessions(userId),
      deps.review.read(reviewKeyOf(actor, userId)),
    ]);
    // The accommodations on record where the packet is made: the levels that count, and a section listing them.
    const register = await readRegister(deps, actor, userId);
    const accommodated = register.signals;
    // The export's audit row is written first, and the viewer log read after it: the packet lists its own generation at
    // the top of the log, so the copy a conduct office holds shows that it was made, by whom, and when.
    await auditView(deps.audit, actor, res, 'export.case_packet', userId);
    const log = await viewerLog(deps, actor, userId);
    const generatedAt = new Date();

    const window = { after: after ?? undefined, before: before ?? undefined };
    const summary = learnerRiskSummary(all, { thresholds: t, window, accommodated });
    const inRange = all
      .filter((s) => sessionInWindow(s, window))
      .sort((a, b) => (Date.parse(b.createdAt) || 0) - (Date.parse(a.createdAt) || 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const marksBySession = new Map<string, SessionMark[]>();
    for (const m of record.sessionMarks) marksBySession.set(m.sessionId, [...(marksBySession.get(m.sessionId) ?? []), m]);
    const shownIds = new Set(inRange.map((s) => s.id));
    // Every response of the learner (a staff launch always reads them), each session's beside its row.
    const responses = packetResponses((await readStaffResponses(deps, actor, userId)) ?? { all: [], seenThrough: null }, shownIds);
    const marksElsewhere = [...marksBySession.keys()].filter((id) => !shownIds.has(id)).length;

    const name = access.member?.name ?? all.find((s) => s.userName)?.userName ?? `User ${userId}`;

    res.render('pages/packet', {
      ...shell,
      title: `Case packet · ${clip(name, 80)}`,
      learnerHref,
      learner: {
        name: clip(name, 120),
        userId: clip(userId, 80),
        email: access.member?.email ? clip(access.member.email, 120) : null,
      },
      course: {
        title: actor.context.title ? clip(actor.context.title, 160) : null,
        label: actor.context.label ? clip(actor.context.label, 80) : null,
        id: actor.context.id ? clip(actor.context.id, 80) : null,
        // An admin may open a learner of another course; the review record is the launch course's.
        memberOfCourse: access.member !== null,
      },
      window: {
        after: after ? formatDateTime(after) : null,
        before: before ? formatDateTime(before) : null,
        all: !after && !before,
      },
      truncated: truncated ? { newest: all.length.toLocaleString('en-GB') } : null,
      risk: {
        badge: riskBadge(summary.level, summary.levelWithoutAccommodations),
        levelReason: summary.levelReason,
        sessionsInWindow: summary.sessionsInWindow,
        highCount: summary.highCount,
        elevatedCount: summary.elevatedCount,
        lowCount: summary.lowCount,
        invalidScores: summary.invalidScores,
        maxScore: formatScore(summary.maxScore),
        lastActivity: formatDateTime(summary.lastActivity),
        thresholds: { high: t.high.toFixed(2), elevated: t.elevated.toFixed(2) },
        topFlags: summary.topFlags.map((f) => ({
          code: clip(f.flag, 80),
          sessions: f.count === 1 ? '1 session' : `${f.count} sessions`,
          description: describeFlag(f.flag),
        })),
      },
      sessions: inRange.map((s) => {
        const marks = (marksBySession.get(s.id) ?? []).map(packetMark);
        const row = sessionRow(s, t, accommodated);
        return {
          id: clip(s.id, 80),
          createdAt: row.createdAt,
          createdAtIso: isoOrNull(s.createdAt),
          status: row.status,
          score: row.score,
          risk: row.risk,
          flags: row.flags,
          moreFlags: s.detectionFlags.length > row.flags.length ? s.detectionFlags.length - row.flags.length : 0,
          mark: marks.at(-1) ?? null,
          // Earlier marks, newest first: a later mark replaces none of them.
          earlierMarks: marks.slice(0, -1).reverse(),
          responses: responses.bySession.get(s.id) ?? [],
        };
      }),
      // The "Student responses" section: every response, oldest first, whatever the dates covered.
      studentResponses: { all: responses.all, elsewhere: responses.all.filter((r) => !r.covered).length },
      // In effect where the packet was made (this course's and every course's on the LMS), oldest first.
      accommodations: register.inEffect.map((a) => ({ ...entryView(a, actor), detail: a.detail ? lines(a.detail) : null })),
      marksElsewhere: marksElsewhere === 0 ? null : marksElsewhere === 1 ? '1 marked session is' : `${marksElsewhere} marked sessions are`,
      review: {
        status: reviewLabel(stateOf(record.status)),
        statusKey: stateOf(record.status),
        statusAt: record.statusAt ? formatDateTime(record.statusAt) : null,
        // Oldest first: the packet is read as a history.
        history: record.history.map((c) => ({ ...statusChangeView(c), reason: c.reason ? lines(c.reason) : null })),
        notes: notesView(record).map((n) => ({ ...n, body: lines(n.body) })),
      },
      viewerLog: {
        // Which views are listed: the launch course's, or (for an admin) every course's of this LMS.
        wholeLms: viewerLogScope(actor).contextId === undefined,
        course: actor.context.label ? clip(actor.context.label, 80) : actor.context.id ? clip(actor.context.id, 80) : null,
        rows: log.items.map((e) => viewerLogRow(e, actor, userId)),
        total: log.total.toLocaleString('en-GB'),
        more: log.total > log.items.length ? (log.total - log.items.length).toLocaleString('en-GB') : null,
        max: PACKET_VIEWER_LOG_MAX.toLocaleString('en-GB'),
      },
      generated: {
        at: formatDateTime(generatedAt),
        atIso: generatedAt.toISOString(),
        by: clip(actor.displayName, 120),
        role: staffRoleLabel(actor.roles),
        userId: clip(actor.userId ?? actor.sub, 80),
      },
    });
  });
  return r;
}
