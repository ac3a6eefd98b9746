/**
 * The student's own view: what was recorded about them. Only ever the launching user's own
 * sessions; how much is shown is the platform's setting (full, summary, or a notice only).
 */
import { Router } from 'express';
import { describeIdentityProblem } from '../lti/identity';
import { learnerRiskSummary } from '../risk';
import { actorOf, hrefWithLtik } from './actor';
import { auditView } from './audit';
import { forbidden, HttpError } from './errors';
import type { AuditSink, UpstreamApi } from './ports';
import type { Actor } from './actor';
import { columnView, formErrors, listRoutes, pagerView, readListRequest, withLtik, type ListSpec } from './lists';
import { SESSION_LIST_SPEC, sessionListPage, sessionRow, summaryView } from './sessionRows';
import { navFor } from './nav';

/** The student's own sessions: the learner page's list, sorted and paged, without filters or exports. */
export const OWN_SESSIONS_SPEC: ListSpec = {
  sortBy: SESSION_LIST_SPEC.sortBy,
  defaultSort: SESSION_LIST_SPEC.defaultSort,
  sortDirections: SESSION_LIST_SPEC.sortDirections,
  defaultLimit: SESSION_LIST_SPEC.defaultLimit,
};

export interface StudentDeps {
  upstreamFor(actor: Actor): Promise<UpstreamApi>;
  audit: AuditSink;
}

export function studentRouter(deps: StudentDeps): Router {
  const r = Router();
  listRoutes(r, '/me', ['html'], async (form, req, res) => {
    const actor = actorOf(res);
    if (actor.audience !== 'student') throw forbidden('This page shows a student’s own sessions.');
    if (!actor.userId) {
      // Never an empty "no sessions recorded" page: the records were not looked up at all.
      const malformed = actor.identityProblem !== null && actor.identityProblem.kind !== 'missing';
      throw new HttpError(
        422,
        malformed ? 'identity_malformed' : 'identity_unmapped',
        malformed
          ? 'Your LMS sent a user id this tool cannot use, so it could not look up your records.'
          : 'Your LMS did not send the user id this tool needs to find your records.',
        { mapping: actor.platform.identity, problem: actor.identityProblem?.kind ?? 'missing' },
        [
          describeIdentityProblem(actor.platform.identity, actor.identityProblem ?? { kind: 'missing' }),
          'Please tell your LMS administrator: the tool’s identity mapping for this LMS needs checking.',
        ],
      );
    }
    const visibility = actor.platform.studentVisibility;
    const list = readListRequest(req, OWN_SESSIONS_SPEC, form);
    const upstream = await deps.upstreamFor(actor);
    await auditView(deps.audit, actor, res, 'view.own_sessions', actor.userId);
    const base = {
      title: 'What was recorded about you',
      nav: navFor(actor, 'me'),
      who: actor.displayName,
      visibility,
      notice: visibility === 'notice',
    };
    if (visibility === 'notice') {
      res.render('pages/student', base);
      return;
    }

    const { sessions: all, truncated } = await upstream.allUserSessions(actor.userId);
    const summary = learnerRiskSummary(all, { thresholds: actor.platform.thresholds });
    const vm: Record<string, unknown> = {
      ...base,
      summary: summaryView(summary, truncated),
      truncated: truncated ? { newest: all.length.toLocaleString('en-GB') } : null,
      showSessions: visibility === 'full',
    };
    // Only the full view lists sessions; the others have no list for the parameters to change.
    if (visibility === 'full' && list.errors) {
      vm.listErrors = formErrors(list.errors, {}, hrefWithLtik('/me', actor.ltik));
      res.status(422).render('pages/student', vm);
      return;
    }
    if (visibility === 'full') {
      const userId = actor.userId;
      const q = withLtik(list.query, actor.ltik);
      const page = sessionListPage(all, q, actor.platform.thresholds);
      vm.empty = all.length === 0;
      vm.list = {
        columns: {
          createdAt: columnView('/me', q, OWN_SESSIONS_SPEC, 'created_at', 'Started'),
          score: columnView('/me', q, OWN_SESSIONS_SPEC, 'bot_score', 'Bot score', 'num'),
        },
        sessions: page.items.map((s) => ({
          ...sessionRow(s, actor.platform.thresholds),
          href: hrefWithLtik(`/learners/${encodeURIComponent(userId)}/sessions/${encodeURIComponent(s.id)}`, actor.ltik),
        })),
        pager: pagerView('/me', q, page),
      };
    }
    res.render('pages/student', vm);
  });
  return r;
}
