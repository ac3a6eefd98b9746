/**
 * A student's response to one of their own sessions (issue 13; the write rules of docs/product.md "Writes"): 1 to 5,000
 * characters, append-only, kept with its time (src/store/responses.ts), shown to the student on their session page and to
 * the course's staff beside the flags. Students never see staff status, notes or marks; staff never write here.
 *
 * `POST /me/sessions/:sessionId/response` (fields `response`, `csrf`, `ltik`) is checked in this order: the launch, a
 * student with a user id the tool can use (else the 422 of /me), the platform showing students everything (else the 403 of
 * the learner pages), the session id's shape, the CSRF token bound to the launch (a 403 page that writes nothing and shows
 * the typed text to copy), the field (a 422 page with the form again, the text kept), then the session: it must be one
 * isnotai returns for the student's own user id (a 403 page keeping the text, to copy; a 503 page giving the form back when
 * isnotai cannot say just now). The write lands with its audit row (`response.write`) in the same transaction, and answers
 * 303 to the session page (`?saved={response id}#response`), so a reload never posts again; a double submit of the same
 * text is recognised as the write already made.
 */
import { Router, type Request, type Response } from 'express';
import { findLearnerSession } from './access';
import { actorOf, hrefWithLtik, learnerInRegistration, ownUserId, type Actor } from './actor';
import { auditEntryOf } from './audit';
import type { CsrfTokens } from './csrf';
import { HttpError, problemView, type FormProblem } from './errors';
import { formatDateTime } from './format';
import { bodyOf, codePoints, typed } from './formText';
import { authorise, sessionIdOf, type LearnerDataDeps } from './learnerAccess';
import { navFor } from './nav';
import type { AccommodationRegister, StudentResponses } from './ports';
import { upstreamToHttp } from './upstreamErrors';

/** What the student's side of the pages reads beyond the learner pages' own: the responses and the accommodations register. */
export interface StudentSideDeps {
  responses: StudentResponses;
  accommodations: AccommodationRegister;
}

export type StudentResponseDeps = LearnerDataDeps & StudentSideDeps & { csrf: CsrfTokens };

/** At most this many characters (code points, as PostgreSQL counts them) in one response. */
export const MAX_RESPONSE_TEXT = 5_000;

const RESPONSE_ID = /^[1-9]\d{0,18}$/;

/** Who wrote a response: the student's mapped id, else their LTI subject (as the audit log names them). */
const authorIdOf = (actor: Actor) => actor.userId ?? actor.sub;

const sessionPath = (userId: string, sessionId: string) =>
  `/learners/${encodeURIComponent(userId)}/sessions/${encodeURIComponent(sessionId)}`;
const responsePath = (sessionId: string) => `/me/sessions/${encodeURIComponent(sessionId)}/response`;

interface FieldError {
  id: string;
  message: string;
}

/** The response form's view-model (partials/response-form.hbs): empty, or as typed with its error. */
function responseFormView(actor: Actor, csrf: string, sessionId: string, text = '', error: string | null = null) {
  const errors: { response?: FieldError } = error ? { response: { id: 'response-text-error', message: error } } : {};
  return {
    action: responsePath(sessionId),
    ltik: actor.ltik,
    csrf,
    response: text,
    errors,
    summary: error ? [{ href: '#response-text', message: error }] : null,
    max: MAX_RESPONSE_TEXT.toLocaleString('en-GB'),
  };
}

/** Why a response cannot be sent as typed, or null when it can. */
function fieldError(text: string): string | null {
  if (text === '') return 'Write your response before sending it: the form was empty.';
  const n = codePoints(text);
  if (n > MAX_RESPONSE_TEXT)
    return `Your response is ${n.toLocaleString('en-GB')} characters long; at most ${MAX_RESPONSE_TEXT.toLocaleString('en-GB')} are kept. Shorten it and send it again.`;
  return null;
}

// ---------------------------------------------------------------------------------------------------------------------
// The pages' view-models (src/web/student.ts and src/web/learner.ts render them)

/**
 * The student's own responses to one session, oldest first, with "Saved." when `saved` names one of them written by the
 * viewer on this session (a crafted link confirms nothing), and the form; null for staff (their view is the staff pages').
 */
export async function ownResponsesView(deps: StudentSideDeps & { csrf: CsrfTokens }, actor: Actor, sessionId: string, req: Request) {
  if (actor.audience !== 'student' || !actor.userId) return null;
  const all = await deps.responses.forLearner(learnerInRegistration(actor, actor.userId));
  const me = authorIdOf(actor);
  const mine = all.filter((r) => r.sessionId === sessionId && r.author.lmsUserId === me);
  const given = req.query.saved;
  const saved = typeof given === 'string' && RESPONSE_ID.test(given) && mine.some((r) => r.id === given);
  return {
    heading: mine.length > 1 ? 'Your responses' : 'Your response',
    saved,
    items: mine.map((r) => ({ id: r.id, at: formatDateTime(r.at), iso: r.at.toISOString(), body: r.body })),
    form: responseFormView(actor, deps.csrf.tokenFor(actor.ltik), sessionId),
  };
}

/** How many responses the student wrote on each of their sessions, by session id ("1 response" on /me's rows). */
export async function ownResponseCounts(deps: StudentSideDeps, actor: Actor): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (actor.audience !== 'student' || !actor.userId) return counts;
  const me = authorIdOf(actor);
  for (const r of await deps.responses.forLearner(learnerInRegistration(actor, actor.userId)))
    if (r.author.lmsUserId === me) counts.set(r.sessionId, (counts.get(r.sessionId) ?? 0) + 1);
  return counts;
}

export const responseCountWords = (n: number) => (n === 1 ? '1 response' : `${n.toLocaleString('en-GB')} responses`);

// ---------------------------------------------------------------------------------------------------------------------
// The answer pages

interface Sent {
  res: Response;
  actor: Actor;
}

/** Its pages say "Your response was not saved" as their heading. */
type ProblemPage = Omit<FormProblem, 'heading'>;

const NOT_SAVED = 'Your response was not saved';

/**
 * An answer page. Each is answered before the session is known to be the student's own (once it is, the write lands and
 * the answer is a redirect to its page), so the way back is /me: the session id is only what the URL said.
 */
function renderAnswer(
  sent: Sent,
  problem: ProblemPage,
  content: { copy?: string; form?: ReturnType<typeof responseFormView>; heading?: string },
): void {
  const { res, actor } = sent;
  const heading = content.heading ?? NOT_SAVED;
  const me = hrefWithLtik('/me', actor.ltik);
  res.status(problem.status).render('pages/response-form', {
    title: heading,
    nav: navFor(actor, 'me'),
    who: actor.displayName,
    breadcrumbs: [{ label: 'What was recorded about you', href: me }, { label: heading }],
    problem: problemView(res, { ...problem, heading }),
    copy: content.copy ? { id: 'copy-response', label: 'Your response (not saved)', value: content.copy } : null,
    form: content.form ?? null,
    back: me,
    backLabel: 'Back to your sessions, without sending anything',
  });
}

export function studentResponseRouter(deps: StudentResponseDeps): Router {
  const r = Router();

  r.post('/me/sessions/:sessionId/response', async (req, res, next) => {
    try {
      const actor = actorOf(res);
      if (actor.audience !== 'student')
        throw new HttpError(403, 'forbidden', 'Only a student answers their own sessions here; staff review them on the learner’s pages.');
      const userId = ownUserId(actor);
      // The platform shows students a summary or a notice only: there is no session page to answer from.
      await authorise(deps, actor, userId);
      const sessionId = sessionIdOf(req);
      const body = bodyOf(req);
      const text = typed(body.response);
      const sent: Sent = { res, actor };

      const refused = deps.csrf.refusal(actor.ltik, body.csrf);
      if (refused)
        return renderAnswer(sent, { status: 403, code: refused.code, message: refused.message, hints: refused.hints }, { copy: text });

      const csrf = deps.csrf.tokenFor(actor.ltik);
      const invalid = fieldError(text);
      if (invalid)
        return renderAnswer(
          sent,
          {
            status: 422,
            code: 'invalid_response',
            message: 'Nothing was saved. The field marked below says what to change; your text is kept.',
          },
          { heading: 'Your response needs changing', form: responseFormView(actor, csrf, sessionId, text, invalid) },
        );

      // Whether the session is the student's own, as their session page checks it (findLearnerSession).
      try {
        await findLearnerSession(await deps.upstreamFor(actor), userId, sessionId);
      } catch (err) {
        if (err instanceof HttpError && err.status === 403)
          return renderAnswer(
            sent,
            {
              status: 403,
              code: 'forbidden',
              message: 'That session is not one isnotai recorded for you, so you cannot answer it and nothing was saved.',
              hints: ['Open one of your own sessions from “My sessions” to write a response there.'],
            },
            { copy: text },
          );
        const failure = err instanceof HttpError ? err : upstreamToHttp(err, actor.audience);
        if (failure && failure.status >= 500)
          return renderAnswer(
            sent,
            {
              status: failure.status,
              code: failure.code,
              message: `The session could not be checked just now, so nothing was saved. ${failure.message} Your response is kept in the form below: send it again in a few minutes.`,
            },
            { form: responseFormView(actor, csrf, sessionId, text) },
          );
        throw err;
      }

      const result = await deps.responses.write({
        key: learnerInRegistration(actor, userId),
        sessionId,
        body: text,
        author: { lmsUserId: authorIdOf(actor), name: actor.displayName },
        deploymentId: actor.deploymentId,
        contextId: actor.context.id,
        // The resource (`response {id} session {sessionId}`) is filled in by the store once the response has its id.
        audit: { ...auditEntryOf(actor, res, 'response.write'), subjectUserId: userId },
      });
      // Written, or a double submit of the response already written: the same redirect, naming that response.
      res.redirect(303, `${hrefWithLtik(sessionPath(userId, sessionId), actor.ltik, { saved: result.id })}#response`);
    } catch (err) {
      next(err);
    }
  });

  return r;
}
