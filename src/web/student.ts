/**
 * The student's own view: what was recorded about them. Only ever the launching user's own
 * sessions; how much is shown is the platform's setting (full, summary, or a notice only).
 */
import { Router } from 'express';
import { describeIdentityProblem } from '../lti/identity';
import { learnerRiskSummary } from '../risk';
import { actorOf, hrefWithLtik } from './actor';
import { auditView } from './audit';
import { cursorParam } from './cursorParam';
import { forbidden, HttpError } from './errors';
import type { AuditSink, UpstreamApi } from './ports';
import type { Actor } from './actor';
import { sessionRow, summaryView } from './sessionRows';
import { navFor } from './nav';

export interface StudentDeps {
  upstreamFor(actor: Actor): Promise<UpstreamApi>;
  audit: AuditSink;
}

export function studentRouter(deps: StudentDeps): Router {
  const r = Router();
  r.get('/me', async (req, res, next) => {
    try {
      const actor = actorOf(res);
      if (actor.audience !== 'student') throw forbidden('This page shows a student’s own sessions.');
      if (!actor.userId) {
        // Never an empty "no sessions recorded" page: the records were not looked up at all.
        const malformed = actor.identityProblem !== null && actor.identityProblem.kind !== 'missing';
        throw new HttpError(
          422,
          malformed ? 'identity_malformed' : 'identity_unmapped',
          malformed ? 'Your LMS sent a user id this tool cannot use, so it could not look up your records.' : 'Your LMS did not send the user id this tool needs to find your records.',
          { mapping: actor.platform.identity, problem: actor.identityProblem?.kind ?? 'missing' },
          [describeIdentityProblem(actor.platform.identity, actor.identityProblem ?? { kind: 'missing' }), 'Please tell your LMS administrator: the tool’s identity mapping for this LMS needs checking.'],
        );
      }
      const visibility = actor.platform.studentVisibility;
      const cursor = cursorParam(req);
      const upstream = await deps.upstreamFor(actor);
      await auditView(deps.audit, actor, res, 'view.own_sessions', actor.userId);
      const base = {
        title: 'What was recorded about you',
        nav: navFor(actor, 'me'),
        who: actor.displayName,
        visibility,
        notice: visibility === 'notice',
      };
      if (visibility === 'notice') return res.render('pages/student', base);

      const all = await upstream.allUserSessions(actor.userId);
      const summary = learnerRiskSummary(all, { thresholds: actor.platform.thresholds });
      const vm: Record<string, unknown> = {
        ...base,
        summary: summaryView(summary),
        showSessions: visibility === 'full',
      };
      if (visibility === 'full') {
        const page = await upstream.userSessionsPage(actor.userId, { pageSize: 25, cursor });
        vm.sessions = page.data.map((s) => ({ ...sessionRow(s, actor.platform.thresholds), href: hrefWithLtik(`/learners/${encodeURIComponent(actor.userId as string)}/sessions/${encodeURIComponent(s.id)}`, actor.ltik) }));
        vm.empty = page.data.length === 0 && !cursor;
        vm.pager = {
          next: page.pagination.hasMore && page.pagination.nextCursor ? hrefWithLtik('/me', actor.ltik, { cursor: page.pagination.nextCursor }) : null,
          first: cursor ? hrefWithLtik('/me', actor.ltik) : null,
        };
      }
      res.render('pages/student', vm);
    } catch (err) {
      next(err);
    }
  });
  return r;
}
