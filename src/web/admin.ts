/**
 * Admin pages: find any student (by LMS user id, or by name/email where the launch course's roster
 * knows them), the integration-wide session list (GET /v1/sessions with its filters), the audit
 * log. The registrations and their settings are src/web/registrations.ts.
 */
import { Router, type Response } from 'express';
import { actorOf, hrefWithLtik, type Actor } from './actor';
import { auditView } from './audit';
import { forbidden, HttpError } from './errors';
import { clip, formatDateTime } from './format';
import {
  columnView,
  exportLinks,
  fieldValue,
  foldText,
  formErrors,
  invalidListParameters,
  isExport,
  listRoutes,
  pagerView,
  readListRequest,
  refusedCursor,
  sendCsvExport,
  sendJsonExport,
  toCsv,
  withinExportDeadline,
  withLtik,
  type ListParamError,
  type ListQuery,
  type ListSpec,
} from './lists';
import { navFor } from './nav';
import { describePattern, isIdShaped } from '../lti/identity';
import { searchKnownMembers, seenInAudit } from './knownMembers';
import { learnerDataHref } from './learnerData';
import { registrationDetailWords } from './registrationsView';
import type { AuditSink, SessionFilters } from './ports';
import { courseMembers, type BoundUpstream, type RosterDeps } from './rosterService';
import { sessionCsvColumns, sessionRow } from './sessionRows';
import type { UpstreamUse } from './upstream';
import type { IsnotaiSession, Page } from '../isnotai/types';

export interface AdminDeps extends RosterDeps {
  upstreamFor(actor: Actor, use?: UpstreamUse): Promise<BoundUpstream>;
  audit: AuditSink;
}

function adminOnly(res: Response): Actor {
  const actor = actorOf(res);
  if (actor.audience !== 'admin') throw forbidden('This page is for administrators.');
  return actor;
}

/**
 * "Find a student": one search text `q` (a user id, or words of a name or email), read by the
 * lists' parser, so a repeated or bracketed `q` is an error naming it; not paged (docs/lists.md).
 */
export const LOOKUP_SPEC: ListSpec = {
  sortBy: [],
  defaultSort: { by: 'name', direction: 'asc' },
  filters: { q: { multi: false, maxLength: 200 } },
  paging: 'none',
};

const LOOKUP_FIELDS = { q: 'LMS user id or name' };

/**
 * The integration-wide session list: isnotai's GET /v1/sessions, in its order (newest first) and
 * its pages (cursor), with its filters under the dialect's names (docs/lists.md).
 */
export const ADMIN_SESSIONS_SPEC: ListSpec = {
  sortBy: [],
  defaultSort: { by: 'created_at', direction: 'desc' },
  filters: { status: { allowed: ['active', 'closed'] } },
  booleans: ['bot_only'],
  createdWindow: true,
  paging: 'cursor',
  exports: true,
  renamed: { page_size: 'limit', start_date: 'created_after', end_date: 'created_before' },
};

/** An export of the integration-wide list walks isnotai's pages; past this many sessions it asks for narrower filters. */
export const ADMIN_EXPORT_MAX = 5000;

const NARROW_EXPORT = 'Narrow the dates (created_after, created_before) or the other filters, and export each part.';

const ADMIN_SESSION_FIELDS = { status: 'Status', bot_only: 'High only', created_after: 'From', created_before: 'To', limit: 'Per page' };

function sessionFilters(q: ListQuery): SessionFilters {
  const status = q.filters.status ?? [];
  return {
    // Both statuses is every session: no filter.
    status: status.length === 1 ? status[0] : undefined,
    botOnly: q.booleans.bot_only,
    startDate: q.createdAfter?.toISOString(),
    endDate: q.createdBefore?.toISOString(),
  };
}

/** The audit log: newest first, offset-paged, filtered by one student or one viewer. */
export const AUDIT_SPEC: ListSpec = {
  sortBy: [],
  defaultSort: { by: 'at', direction: 'desc' },
  filters: { subject: { multi: false, maxLength: 255 }, actor: { multi: false, maxLength: 255 } },
};

const AUDIT_FIELDS = { subject: 'Student', actor: 'Viewer', limit: 'Per page' };

export function adminRouter(deps: AdminDeps): Router {
  const r = Router();

  listRoutes(r, '/admin/lookup', ['html'], async (form, req, res) => {
    const actor = adminOnly(res);
    const list = readListRequest(req, LOOKUP_SPEC, form);
    if (list.errors) {
      const marks = formErrors(list.errors, LOOKUP_FIELDS, hrefWithLtik('/admin/lookup', actor.ltik));
      res.status(422).render('pages/admin-lookup', {
        title: 'Find a student',
        nav: navFor(actor, 'lookup'),
        who: actor.displayName,
        q: fieldValue(list.raw, marks, 'q', list.query.filters.q?.[0] ?? ''),
        ltik: actor.ltik,
        errors: marks.fields,
        listErrors: marks,
      });
      return;
    }
    const q = list.query.filters.q?.[0] ?? '';
    let matches: Array<{
      name: string;
      email: string | null;
      userId: string | null;
      href: string | null;
      dataHref: string | null;
      learner: boolean;
    }> = [];
    let rosterProblem: string | null = null;
    if (q) {
      const tokens = foldText(q).split(/\s+/).filter(Boolean);
      try {
        const members = await courseMembers(deps, actor);
        matches = members
          .filter((m) =>
            tokens.every((t) =>
              [m.name, m.email ?? '', m.userId ?? '', m.ltiUserId, m.sourcedId ?? ''].some((f) => foldText(f).includes(t)),
            ),
          )
          .slice(0, 100)
          .map((m) => ({
            name: clip(m.name, 120),
            email: m.email === null ? null : clip(m.email, 120),
            userId: m.userId === null ? null : clip(m.userId, 80),
            learner: m.isLearner,
            href: m.userId ? hrefWithLtik(`/learners/${encodeURIComponent(m.userId)}`, actor.ltik) : null,
            dataHref: m.userId && m.isLearner ? learnerDataHref(actor, m.userId) : null,
          }));
      } catch (err) {
        rosterProblem = err instanceof HttpError ? err.message : 'The LMS roster could not be searched just now.';
      }
    }
    // Only text of the shape of this platform's user ids is offered as one: a name typed here
    // would otherwise open (and audit) the empty records of someone who does not exist.
    const mapping = { strategy: actor.platform.identity, pattern: actor.platform.identityPattern };
    const directId = q && isIdShaped(q, mapping) ? q : null;
    const inCourse = new Set(matches.map((m) => m.userId));
    const known = q
      ? (await searchKnownMembers(deps.cache, actor, q))
          .filter((m) => !inCourse.has(m.userId))
          .map((m) => ({
            name: m.name,
            userId: clip(m.userId, 80),
            courses: m.courses.join(', '),
            href: hrefWithLtik(`/learners/${encodeURIComponent(m.userId)}`, actor.ltik),
            dataHref: learnerDataHref(actor, m.userId),
          }))
      : [];
    const directKnown = directId
      ? inCourse.has(directId) || known.some((k) => k.userId === directId) || (await seenInAudit(deps.audit, actor, directId))
      : false;
    res.render('pages/admin-lookup', {
      title: 'Find a student',
      nav: navFor(actor, 'lookup'),
      who: actor.displayName,
      q,
      ltik: actor.ltik,
      course: actor.context,
      matches,
      searched: Boolean(q),
      rosterProblem,
      known,
      direct: directId
        ? {
            id: directId,
            href: hrefWithLtik(`/learners/${encodeURIComponent(directId)}`, actor.ltik),
            dataHref: learnerDataHref(actor, directId),
            known: directKnown,
          }
        : null,
      notAnId:
        q && !directId
          ? {
              mapping: actor.platform.identity,
              shape: actor.platform.identityPattern ? describePattern(actor.platform.identityPattern) : 'no spaces or slashes',
            }
          : null,
    });
  });

  listRoutes(r, '/admin/sessions', ['html', 'json', 'csv'], async (form, req, res) => {
    const actor = adminOnly(res);
    const list = readListRequest(req, ADMIN_SESSIONS_SPEC, form);
    const q = list.query;
    const t = actor.platform.thresholds;
    let errors: ListParamError[] | null = list.errors;
    if (isExport(list)) {
      // An export: every page of the filtered list (sequential: each page names the next), under
      // the export's own deadline.
      const upstream = await deps.upstreamFor(actor, 'export');
      const sessions = await withinExportDeadline(upstream.deadlineMs, NARROW_EXPORT, () =>
        upstream.matchingSessions(sessionFilters(q), ADMIN_EXPORT_MAX),
      );
      if (!sessions) {
        throw new HttpError(
          422,
          'export_too_large',
          `More than ${ADMIN_EXPORT_MAX.toLocaleString('en-GB')} sessions match these filters: too many to export at once.`,
          { max: ADMIN_EXPORT_MAX },
          [NARROW_EXPORT],
        );
      }
      await auditView(
        deps.audit,
        actor,
        res,
        list.form === 'csv' ? 'export.all_sessions_csv' : 'view.all_sessions',
        sessions.map((s) => s.userId),
      );
      if (list.form === 'csv') sendCsvExport(res, 'all-sessions', toCsv(sessions, sessionCsvColumns(t, true), { bom: true }));
      else
        sendJsonExport(res, 'all-sessions', { items: sessions, total: sessions.length, limit: null, has_more: false, next_cursor: null });
      return;
    }
    const upstream = await deps.upstreamFor(actor);
    let page: Page<IsnotaiSession> | null = null;
    if (!errors) {
      try {
        page = await upstream.sessionsPage({ ...sessionFilters(q), pageSize: q.limit ?? undefined, cursor: q.cursor ?? undefined });
      } catch (err) {
        const refused = refusedCursor(err);
        if (!refused) throw err;
        if (list.form !== 'html') throw invalidListParameters([refused]);
        errors = [refused];
      }
    }
    if (page)
      await auditView(
        deps.audit,
        actor,
        res,
        list.form === 'csv' ? 'export.all_sessions_csv' : 'view.all_sessions',
        page.data.map((s) => s.userId),
      );
    if (page && list.form === 'json') {
      sendJsonExport(res, 'all-sessions', {
        items: page.data,
        limit: page.pagination.limit,
        has_more: page.pagination.hasMore,
        next_cursor: page.pagination.nextCursor,
      });
      return;
    }
    if (page && list.form === 'csv') {
      sendCsvExport(res, 'all-sessions', toCsv(page.data, sessionCsvColumns(t, true), { bom: true }));
      return;
    }
    const links = withLtik(q, actor.ltik);
    const marks = errors ? formErrors(errors, ADMIN_SESSION_FIELDS, hrefWithLtik('/admin/sessions', actor.ltik)) : null;
    const status = q.filters.status ?? [];
    res.status(errors ? 422 : 200).render('pages/admin-sessions', {
      title: 'All sessions',
      nav: navFor(actor, 'sessions'),
      who: actor.displayName,
      form: {
        ltik: actor.ltik,
        active: status.length === 1 && status[0] === 'active',
        closed: status.length === 1 && status[0] === 'closed',
        botOnly: q.booleans.bot_only === true,
        createdAfter: q.createdAfter?.toISOString().slice(0, 10) ?? '',
        createdBefore: q.createdBefore?.toISOString().slice(0, 10) ?? '',
        limit: fieldValue(list.raw, marks, 'limit', list.raw.limit === undefined ? '' : String(q.limit ?? '')),
        errors: marks?.fields ?? {},
      },
      listErrors: marks,
      list: page && {
        limit: page.pagination.limit,
        started: columnView('/admin/sessions', links, ADMIN_SESSIONS_SPEC, 'created_at', 'Started'),
        sessions: page.data.map((s) => ({
          ...sessionRow(s, t),
          learnerHref: hrefWithLtik(`/learners/${encodeURIComponent(s.userId)}`, actor.ltik),
          href: hrefWithLtik(`/learners/${encodeURIComponent(s.userId)}/sessions/${encodeURIComponent(s.id)}`, actor.ltik),
        })),
        pager: pagerView('/admin/sessions', links, {
          items: page.data,
          limit: page.pagination.limit,
          has_more: page.pagination.hasMore,
          next_cursor: page.pagination.nextCursor,
        }),
        exports: exportLinks('/admin/sessions', links, null, { one: 'session', many: 'sessions' }, { most: ADMIN_EXPORT_MAX }),
      },
    });
  });

  listRoutes(r, '/admin/audit', ['html', 'json'], async (asked, req, res) => {
    const actor = adminOnly(res);
    const list = readListRequest(req, AUDIT_SPEC, asked);
    const q = list.query;
    const links = withLtik(q, actor.ltik);
    const subject = q.filters.subject?.[0];
    const actorFilter = q.filters.actor?.[0];
    const marks = list.errors ? formErrors(list.errors, AUDIT_FIELDS, hrefWithLtik('/admin/audit', actor.ltik)) : null;
    const form = {
      ltik: actor.ltik,
      subject: fieldValue(list.raw, marks, 'subject', subject ?? ''),
      actor: fieldValue(list.raw, marks, 'actor', actorFilter ?? ''),
      limit: fieldValue(list.raw, marks, 'limit', String(q.limit ?? '')),
      errors: marks?.fields ?? {},
    };
    const shell = { title: 'Audit log', nav: navFor(actor, 'audit'), who: actor.displayName };
    if (marks) {
      res.status(422).render('pages/admin-audit', { ...shell, form, listErrors: marks });
      return;
    }
    const limit = q.limit ?? 50;
    const found = await deps.audit.list({
      limit,
      offset: q.offset,
      subject,
      actor: actorFilter,
      platformIss: actor.platform.issuer,
      platformClientId: actor.platform.clientId,
    });
    const hasMore = q.offset + found.items.length < found.total;
    const page = {
      items: found.items,
      total: found.total,
      limit,
      offset: q.offset,
      has_more: hasMore,
      next_offset: hasMore ? q.offset + found.items.length : null,
    };
    if (list.form === 'json') {
      sendJsonExport(res, 'audit-log', page);
      return;
    }
    res.render('pages/admin-audit', {
      ...shell,
      form,
      list: {
        total: found.total,
        when: columnView('/admin/audit', links, AUDIT_SPEC, 'at', 'When'),
        entries: found.items.map((e) => ({
          at: formatDateTime(e.at),
          atIso: e.at.toISOString(),
          actor: `${e.actorUserId} (${e.actorRole})`,
          subject: e.subjectUserId ?? '—',
          subjects: manySubjects(e.subjectUserIds),
          action: e.action,
          context: e.contextId ?? '—',
          resource: e.resourceId ?? '',
          detail: detailWords(e.detail),
        })),
        pager: pagerView('/admin/audit', links, page),
      },
    });
  });

  return r;
}

/** The words of the counts an entry's `detail` carries (a retention sweep's, an erasure's), in the order they are listed. */
const DETAIL_WORDS: ReadonlyArray<[string, string]> = [
  ['reviewRecords', 'review records'],
  ['statusChanges', 'status changes'],
  ['notes', 'notes'],
  ['sessionMarks', 'session marks'],
  ['responses', 'responses'],
  ['accommodations', 'accommodations'],
  ['responsesSeen', '“seen” markers'],
  ['auditEntries', 'audit entries'],
];

/**
 * An audit entry's `detail` as words (docs/product.md "Retention"): a sweep's or an erasure's counts, e.g. "kept 30 days:
 * responses 3, notes 2", the counts the tool knows in its own order (those at 0 left out), then any other number by its
 * key; null when the entry has none. A detail never carries student text (src/store/audit.ts); keys are clipped all the
 * same, and the page escapes what it shows.
 */
export function detailWords(detail: unknown): string | null {
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return null;
  const d = detail as Record<string, unknown>;
  // A registration's change: which settings, never their values (src/web/registrationsView.ts).
  const registration = registrationDetailWords(d);
  if (registration) return registration;
  const count = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const known = new Set(['retentionDays', ...DETAIL_WORDS.map(([k]) => k)]);
  const parts: string[] = [];
  for (const [key, words] of DETAIL_WORDS) {
    const n = count(d[key]);
    if (n) parts.push(`${words} ${n.toLocaleString('en-GB')}`);
  }
  for (const [key, value] of Object.entries(d)) {
    const n = count(value);
    if (!known.has(key) && n !== null) parts.push(`${clip(key, 40)} ${n.toLocaleString('en-GB')}`);
  }
  const days = count(d.retentionDays);
  const counted = DETAIL_WORDS.some(([k]) => count(d[k]) !== null);
  if (parts.length === 0 && days === null && !counted) return null;
  const list = parts.length ? parts.join(', ') : 'nothing';
  return days === null ? list : `kept ${days.toLocaleString('en-GB')} days: ${list}`;
}

/** A view of many students in the audit table: how many, and their ids behind a disclosure. */
function manySubjects(ids: string[] | null): { label: string; ids: string[] } | null {
  if (!ids || ids.length === 0) return null;
  return { label: `${ids.length.toLocaleString('en-GB')} ${ids.length === 1 ? 'student' : 'students'}`, ids };
}
