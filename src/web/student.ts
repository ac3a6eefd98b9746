/**
 * The student's own view: what was recorded about them. Only ever the launching user's own
 * sessions; how much is shown is the platform's setting (full, summary, or a notice only). Every
 * mode says what it means (src/web/guidanceView.ts): the bot score, the platform's lines in words,
 * each signal's common innocent causes, what happens next and how to answer (on each session in
 * full, through the instructor otherwise). Levels count the accommodations on record for the
 * student, as the staff's pages do, so both see the same level.
 */
import { Router } from 'express';
import { learnerRiskSummary } from '../risk';
import { readRegister } from './accommodationContext';
import { actorOf, hrefWithLtik, ownUserId } from './actor';
import { auditView } from './audit';
import type { CsrfTokens } from './csrf';
import { forbidden } from './errors';
import { guidanceView } from './guidanceView';
import type { AuditSink, UpstreamApi } from './ports';
import type { Actor } from './actor';
import { columnView, formErrors, listRoutes, pagerView, readListRequest, withLtik, type ListSpec } from './lists';
import { SESSION_LIST_SPEC, sessionListPage, sessionRow, summaryView } from './sessionRows';
import { navFor } from './nav';
import { ownResponseCounts, responseCountWords, type StudentSideDeps } from './studentResponses';

/** The student's own sessions: the learner page's list, sorted and paged, without filters or exports. */
export const OWN_SESSIONS_SPEC: ListSpec = {
  sortBy: SESSION_LIST_SPEC.sortBy,
  defaultSort: SESSION_LIST_SPEC.defaultSort,
  sortDirections: SESSION_LIST_SPEC.sortDirections,
  defaultLimit: SESSION_LIST_SPEC.defaultLimit,
};

export interface StudentDeps extends StudentSideDeps {
  upstreamFor(actor: Actor): Promise<UpstreamApi>;
  audit: AuditSink;
  csrf: CsrfTokens;
}

export function studentRouter(deps: StudentDeps): Router {
  const r = Router();
  listRoutes(r, '/me', ['html'], async (form, req, res) => {
    const actor = actorOf(res);
    if (actor.audience !== 'student') throw forbidden('This page shows a student’s own sessions.');
    // Never an empty "no sessions recorded" page: without a usable id the records were not looked up at all (422).
    const userId = ownUserId(actor);
    const visibility = actor.platform.studentVisibility;
    const list = readListRequest(req, OWN_SESSIONS_SPEC, form);
    const upstream = await deps.upstreamFor(actor);
    // Side by side, so a launch waits for the slowest only: the student's sessions from isnotai (not in notice view),
    // the accommodations on record (the level the student sees is the one the staff see), in full view how many
    // responses the student has written per session, and the view's audit row (written within the request; a failure
    // of any fails the page).
    const [sessionsRead, accommodated, responses] = await Promise.all([
      visibility === 'notice' ? null : upstream.allUserSessions(userId),
      readRegister(deps, actor, userId),
      visibility === 'full' ? ownResponseCounts(deps, actor) : new Map<string, number>(),
      auditView(deps.audit, actor, res, 'view.own_sessions', userId),
    ]);
    const onRecord = accommodated.inEffect.length > 0;
    const base = {
      title: 'What was recorded about you',
      nav: navFor(actor, 'me'),
      who: actor.displayName,
      visibility,
      notice: visibility === 'notice',
    };
    if (!sessionsRead) {
      res.render('pages/student', { ...base, guidance: guidanceView(actor, { kind: 'general' }, onRecord) });
      return;
    }

    const { sessions: all, truncated } = sessionsRead;
    const summary = learnerRiskSummary(all, { thresholds: actor.platform.thresholds, accommodated: accommodated.signals });
    const vm: Record<string, unknown> = {
      ...base,
      summary: summaryView(summary, truncated),
      truncated: truncated ? { newest: all.length.toLocaleString('en-GB') } : null,
      showSessions: visibility === 'full',
      // A summary names none of the student's signals (the platform shows no more): every signal is explained alike.
      guidance: guidanceView(actor, visibility === 'full' ? { kind: 'record', sessions: all } : { kind: 'general' }, onRecord),
    };
    // Only the full view lists sessions; the others have no list for the parameters to change.
    if (visibility === 'full' && list.errors) {
      vm.listErrors = formErrors(list.errors, {}, hrefWithLtik('/me', actor.ltik));
      res.status(422).render('pages/student', vm);
      return;
    }
    if (visibility === 'full') {
      const q = withLtik(list.query, actor.ltik);
      const page = sessionListPage(all, q, actor.platform.thresholds);
      vm.empty = all.length === 0;
      vm.list = {
        columns: {
          createdAt: columnView('/me', q, OWN_SESSIONS_SPEC, 'created_at', 'Started'),
          score: columnView('/me', q, OWN_SESSIONS_SPEC, 'bot_score', 'Bot score', 'num'),
        },
        sessions: page.items.map((s) => {
          const n = responses.get(s.id) ?? 0;
          return {
            ...sessionRow(s, actor.platform.thresholds, accommodated.signals),
            href: hrefWithLtik(`/learners/${encodeURIComponent(userId)}/sessions/${encodeURIComponent(s.id)}`, actor.ltik),
            responses: n > 0 ? responseCountWords(n) : null,
          };
        }),
        pager: pagerView('/me', q, page),
      };
    }
    res.render('pages/student', vm);
  });
  return r;
}
