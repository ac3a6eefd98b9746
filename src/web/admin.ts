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
import { foldText, parseIsoBound } from './lists';
import { navFor } from './nav';
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
  const errors: Array<{ param: string; message: string; value?: string }> = [];
  const status = str(req, 'status');
  if (status && !['active', 'closed'].includes(status)) errors.push({ param: 'status', message: 'must be active or closed', value: clip(status, 40) });
  const botOnlyRaw = str(req, 'bot_only');
  if (botOnlyRaw && !['true', 'false'].includes(botOnlyRaw)) errors.push({ param: 'bot_only', message: 'must be true or false', value: clip(botOnlyRaw, 40) });
  const date = (k: string, endOfDay: boolean) => {
    const raw = str(req, k);
    if (!raw) return undefined;
    const t = parseIsoBound(raw, endOfDay ? 'before' : 'after')?.getTime() ?? NaN;
    if (Number.isNaN(t)) {
      errors.push({ param: k, message: 'must be an ISO-8601 date or date-time', value: clip(raw, 40) });
      return undefined;
    }
    return new Date(t).toISOString();
  };
  const startDate = date('start_date', false);
  const endDate = date('end_date', true);
  if (startDate && endDate && startDate > endDate) errors.push({ param: 'end_date', message: 'must not be before start_date' });
  const pageSizeRaw = str(req, 'page_size');
  let pageSize = 50;
  if (pageSizeRaw) {
    const n = Number(pageSizeRaw);
    if (!Number.isInteger(n) || n < 1 || n > 500) errors.push({ param: 'page_size', message: 'must be a whole number from 1 to 500', value: clip(pageSizeRaw, 40) });
    else pageSize = n;
  }
  const cursor = str(req, 'cursor');
  return {
    errors,
    params: { status: status || undefined, botOnly: botOnlyRaw ? botOnlyRaw === 'true' : undefined, startDate, endDate, pageSize, cursor: cursor && cursor.length <= 2000 ? cursor : undefined },
    raw: { status, bot_only: botOnlyRaw, start_date: str(req, 'start_date'), end_date: str(req, 'end_date'), page_size: pageSizeRaw },
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
      const directId = q && /^[^\s/?#]{1,255}$/.test(q) && q !== '.' && q !== '..' ? q : null;
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
        direct: directId ? { id: directId, href: hrefWithLtik(`/learners/${encodeURIComponent(directId)}`, actor.ltik) } : null,
      });
    } catch (err) {
      next(err);
    }
  });

  r.get(['/admin/sessions', '/admin/sessions.json'], async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const f = parseAdminSessionFilters(req);
      if (f.errors.length > 0) throw new HttpError(422, 'invalid_parameters', f.errors.map((e) => `${e.param}: ${e.message}`).join('; '), f.errors);
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
      const limitRaw = str(req, 'limit') || '50';
      const offsetRaw = str(req, 'offset') || '0';
      const limit = Number(limitRaw);
      const offset = Number(offsetRaw);
      const errors: Array<{ param: string; message: string }> = [];
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) errors.push({ param: 'limit', message: 'must be a whole number from 1 to 500' });
      if (!Number.isInteger(offset) || offset < 0) errors.push({ param: 'offset', message: 'must be a whole number of 0 or more' });
      const subject = str(req, 'subject') || undefined;
      const actorFilter = str(req, 'actor') || undefined;
      for (const [param, v] of [['subject', subject], ['actor', actorFilter]] as const) if (v && v.length > 255) errors.push({ param, message: 'must be a user id of at most 255 characters' });
      if (errors.length > 0) throw new HttpError(422, 'invalid_parameters', errors.map((e) => `${e.param}: ${e.message}`).join('; '), errors);
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
