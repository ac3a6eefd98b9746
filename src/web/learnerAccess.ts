/**
 * The learner and session named in a URL, checked on every request before anything is read about them (docs/product.md
 * "Access rules"): the id's shape, then whether this launch may see that learner (src/web/access.ts). The learner pages
 * (src/web/learner.ts), the review routes (src/web/review.ts) and the case packet (src/web/packet.ts) share them.
 */
import type { Request } from 'express';
import { describePattern, isIdShaped } from '../lti/identity';
import { authoriseLearner, type LearnerAccess } from './access';
import type { Actor } from './actor';
import { forbidden, HttpError } from './errors';
import { clip } from './format';
import type { AuditSink } from './ports';
import { courseMembers, type BoundUpstream, type RosterDeps } from './rosterService';

/** What the pages about one learner read with: the course roster (for access), isnotai, and the audit log. */
export interface LearnerDataDeps extends RosterDeps {
  upstreamFor(actor: Actor): Promise<BoundUpstream>;
  audit: AuditSink;
}

/** A user or session id as one path segment carries it: no white space, slashes, `?` or `#`, at most 255 characters. */
export const PATH_ID = /^[^\s/?#]{1,255}$/;

/** The learner of `/learners/:userId…`: an id this platform's LMS could have issued, or a 400/422 before any look-up. */
export function learnerId(req: Request, actor: Actor): string {
  const id = req.params.userId ?? '';
  if (!PATH_ID.test(id) || id === '.' || id === '..') throw new HttpError(400, 'invalid_user_id', 'That is not a valid user id.');
  // Text that no LMS of this platform could issue as an id names nobody: refused before any
  // look-up, so an admin's typo is neither fetched nor audited as a view of a person.
  const { identity, identityPattern } = actor.platform;
  if (!isIdShaped(id, { strategy: identity, pattern: identityPattern })) {
    throw new HttpError(
      422,
      'invalid_user_id',
      `“${clip(id, 40)}” is not a user id of this LMS (${identityPattern ? describePattern(identityPattern) : 'no spaces, slashes or question marks'}).`,
      { mapping: identity },
      ['Administrators can find a student by name on the “Find a student” page.'],
    );
  }
  return id;
}

/** The session of `…/sessions/:sessionId…`, by its shape only (whose it is: `authoriseSession`). */
export function sessionIdOf(req: Request): string {
  const id = req.params.sessionId ?? '';
  if (!PATH_ID.test(id)) throw new HttpError(400, 'invalid_session_id', 'That is not a valid session id.');
  return id;
}

/** Whether this launch may see the learner (403 otherwise), with their roster entry when they are in the launch course. */
export async function authorise(deps: RosterDeps, actor: Actor, userId: string): Promise<LearnerAccess> {
  if (actor.audience === 'student' && actor.platform.studentVisibility !== 'full')
    throw forbidden('Your institution shows students a summary only.');
  return authoriseLearner(actor, userId, () => courseMembers(deps, actor));
}
