/**
 * Admin pages: find any student (by LMS user id, or by name/email where the launch course's roster
 * knows them), the integration-wide session list (GET /v1/sessions with its filters), the audit
 * log, and this platform's settings (read-only here; the API key is never shown).
 */
import { Router, type Request, type Response } from 'express';
import { actorOf, hrefWithLtik, type Actor } from './actor';
import { auditView } from './audit';
import { forbidden, HttpError } from './errors';
import { clip, formatDateTime } from './format';
import { DEFAULT_LIMIT, foldText, LIMIT_MAX, LIMIT_MIN, listErrorMessage, paramReader, parseIsoBound, rawQueryOf } from './lists';
import { navFor } from './nav';
import { describePattern, isIdShaped } from '../lti/identity';
import { searchKnownMembers, seenInAudit } from './knownMembers';
import type { AuditSink } from './ports';
import { courseMembers, type BoundUpstream, type RosterDeps } from './rosterService';
import { sessionRow } from './sessionRows';

export interface AdminDeps extends RosterDeps {
  upstreamFor(actor: Actor): Promise<BoundUpstream>;
  audit: AuditSink;
}

function adminOnly(res: Response): Actor {
  const actor = actorOf(res);
  if (actor.audience !== 'admin') throw forbidden('This page is for administrators.');
  return actor;
}

const str = (req: Request, k: string) => (typeof req.query[k] === 'string' ? (req.query[k] as string).trim() : '');

export function parseAdminSessionFilters(req: Request) {
  const params = paramReader(rawQueryOf(req), ['status', 'bot_only', 'start_date', 'end_date', 'page_size', 'cursor']);
  const errors = params.errors;
  const status = params.text('status', 40);
  if (status && !['active', 'closed'].includes(status)) errors.push({ param: 'status', message: 'status must be active or closed', value: clip(status, 40) });
  const botOnlyRaw = params.text('bot_only', 40);
  if (botOnlyRaw && !['true', 'false'].includes(botOnlyRaw)) errors.push({ param: 'bot_only', message: 'bot_only must be true or false', value: clip(botOnlyRaw, 40) });
  const rawDates = { start_date: params.text('start_date', 100), end_date: params.text('end_date', 100) };
  const date = (k: 'start_date' | 'end_date', endOfDay: boolean) => {
    const raw = rawDates[k];
    if (!raw) return undefined;
    const t = parseIsoBound(raw, endOfDay ? 'before' : 'after')?.getTime() ?? NaN;
    if (Number.isNaN(t)) {
      errors.push({ param: k, message: `${k} must be an ISO-8601 date or date-time`, value: clip(raw, 40) });
      return undefined;
    }
    return new Date(t).toISOString();
  };
  const startDate = date('start_date', false);
  const endDate = date('end_date', true);
  if (startDate && endDate && startDate > endDate) errors.push({ param: 'end_date', message: 'end_date must not be before start_date' });
  const pageSizeGiven = params.integer('page_size', 1, 500);
  const pageSize = pageSizeGiven ?? 50;
  const pageSizeRaw = pageSizeGiven === undefined ? '' : String(pageSizeGiven);
  const cursor = params.cursor();
  return {
    errors,
    params: { status: status || undefined, botOnly: botOnlyRaw ? botOnlyRaw === 'true' : undefined, startDate, endDate, pageSize, cursor },
    raw: { status, bot_only: botOnlyRaw, start_date: rawDates.start_date, end_date: rawDates.end_date, page_size: pageSizeRaw },
  };
}

export function adminRouter(deps: AdminDeps): Router {
  const r = Router();

  r.get('/admin/lookup', async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const q = str(req, 'q').slice(0, 200);
      let matches: Array<{ name: string; email: string | null; userId: string | null; href: string | null; learner: boolean }> = [];
      let rosterProblem: string | null = null;
      if (q) {
        const tokens = foldText(q).split(/\s+/).filter(Boolean);
        try {
          const members = await courseMembers(deps, actor);
          matches = members
            .filter((m) => tokens.every((t) => [m.name, m.email ?? '', m.userId ?? '', m.ltiUserId, m.sourcedId ?? ''].some((f) => foldText(f).includes(t))))
            .slice(0, 100)
            .map((m) => ({ name: clip(m.name, 120), email: m.email === null ? null : clip(m.email, 120), userId: m.userId === null ? null : clip(m.userId, 80), learner: m.isLearner, href: m.userId ? hrefWithLtik(`/learners/${encodeURIComponent(m.userId)}`, actor.ltik) : null }));
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
            .map((m) => ({ name: m.name, userId: clip(m.userId, 80), courses: m.courses.join(', '), href: hrefWithLtik(`/learners/${encodeURIComponent(m.userId)}`, actor.ltik) }))
        : [];
      const directKnown = directId ? inCourse.has(directId) || known.some((k) => k.userId === directId) || (await seenInAudit(deps.audit, actor, directId)) : false;
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
        direct: directId ? { id: directId, href: hrefWithLtik(`/learners/${encodeURIComponent(directId)}`, actor.ltik), known: directKnown } : null,
        notAnId: q && !directId ? { mapping: actor.platform.identity, shape: actor.platform.identityPattern ? describePattern(actor.platform.identityPattern) : 'no spaces or slashes' } : null,
      });
    } catch (err) {
      next(err);
    }
  });

  r.get(['/admin/sessions', '/admin/sessions.json'], async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const f = parseAdminSessionFilters(req);
      if (f.errors.length > 0) throw new HttpError(422, 'invalid_parameters', listErrorMessage(f.errors), f.errors);
      const upstream = await deps.upstreamFor(actor);
      const page = await upstream.sessionsPage(f.params);
      await auditView(deps.audit, actor, res, 'view.all_sessions', page.data.map((s) => s.userId));
      if (req.path.endsWith('.json')) {
        res.json({ items: page.data, has_more: page.pagination.hasMore, next_cursor: page.pagination.nextCursor, limit: page.pagination.limit });
        return;
      }
      const keep = { ...f.raw };
      res.render('pages/admin-sessions', {
        title: 'All sessions',
        nav: navFor(actor, 'sessions'),
        who: actor.displayName,
        form: { ltik: actor.ltik, ...f.raw, active: f.raw.status === 'active', closed: f.raw.status === 'closed', botOnly: f.raw.bot_only === 'true' },
        limit: page.pagination.limit,
        sessions: page.data.map((s) => ({
          ...sessionRow(s, actor.platform.thresholds),
          learnerHref: hrefWithLtik(`/learners/${encodeURIComponent(s.userId)}`, actor.ltik),
          href: hrefWithLtik(`/learners/${encodeURIComponent(s.userId)}/sessions/${encodeURIComponent(s.id)}`, actor.ltik),
        })),
        pager: {
          next: page.pagination.hasMore && page.pagination.nextCursor ? hrefWithLtik('/admin/sessions', actor.ltik, { ...keep, cursor: page.pagination.nextCursor }) : null,
          first: f.params.cursor ? hrefWithLtik('/admin/sessions', actor.ltik, keep) : null,
        },
        exportJson: hrefWithLtik('/admin/sessions.json', actor.ltik, { ...keep, cursor: f.params.cursor }),
      });
    } catch (err) {
      next(err);
    }
  });

  r.get(['/admin/audit', '/admin/audit.json'], async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const params = paramReader(rawQueryOf(req), ['limit', 'offset', 'subject', 'actor']);
      const limit = params.integer('limit', LIMIT_MIN, LIMIT_MAX) ?? DEFAULT_LIMIT;
      const offset = params.integer('offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
      const subject = params.text('subject', 255, 'subject must be a user id of at most 255 characters') || undefined;
      const actorFilter = params.text('actor', 255, 'actor must be a user id of at most 255 characters') || undefined;
      if (params.errors.length > 0) throw new HttpError(422, 'invalid_parameters', listErrorMessage(params.errors), params.errors);
      const page = await deps.audit.list({ limit, offset, subject, actor: actorFilter, platformIss: actor.platform.issuer, platformClientId: actor.platform.clientId });
      const hasMore = offset + page.items.length < page.total;
      if (req.path.endsWith('.json')) {
        res.json({ items: page.items, total: page.total, limit, offset, has_more: hasMore, next_offset: hasMore ? offset + page.items.length : null });
        return;
      }
      const keep = { subject, actor: actorFilter, limit: String(limit) };
      res.render('pages/admin-audit', {
        title: 'Audit log',
        nav: navFor(actor, 'audit'),
        who: actor.displayName,
        form: { ltik: actor.ltik, subject: subject ?? '', actor: actorFilter ?? '' },
        total: page.total,
        entries: page.items.map((e) => ({ at: formatDateTime(e.at), atIso: e.at.toISOString(), actor: `${e.actorUserId} (${e.actorRole})`, subject: e.subjectUserId ?? '—', subjects: manySubjects(e.subjectUserIds), action: e.action, context: e.contextId ?? '—', resource: e.resourceId ?? '' })),
        pager: {
          prev: offset > 0 ? hrefWithLtik('/admin/audit', actor.ltik, { ...keep, offset: Math.max(0, offset - limit) }) : null,
          next: hasMore ? hrefWithLtik('/admin/audit', actor.ltik, { ...keep, offset: offset + page.items.length }) : null,
        },
      });
    } catch (err) {
      next(err);
    }
  });

  r.get('/admin/settings', async (_req, res, next) => {
    try {
      const actor = adminOnly(res);
      const p = actor.platform;
      res.render('pages/admin-settings', {
        title: 'Settings',
        nav: navFor(actor, 'settings'),
        who: actor.displayName,
        platform: { name: p.name, kind: p.kind, issuer: p.issuer, clientId: p.clientId, deployments: p.deploymentIds.join(', ') || 'any', identity: p.identity, high: p.thresholds.high.toFixed(2), elevated: p.thresholds.elevated.toFixed(2), visibility: p.studentVisibility, cacheTtl: p.cacheTtlSeconds },
      });
    } catch (err) {
      next(err);
    }
  });
  return r;
}

/** A view of many students in the audit table: how many, and their ids behind a disclosure. */
function manySubjects(ids: string[] | null): { label: string; ids: string[] } | null {
  if (!ids || ids.length === 0) return null;
  return { label: `${ids.length.toLocaleString('en-GB')} ${ids.length === 1 ? 'student' : 'students'}`, ids };
}
