/**
 * Whose review record a request reads or writes (docs/product.md "Review"): the learner's record in the course the staff
 * member launched from, keyed by that launch's platform, deployment and context, never by anything in the URL but the
 * learner's id (which src/web/access.ts has checked). Students never reach a record.
 */
import type { CourseKey, ReviewAuthor, ReviewKey } from '../store/review';
import type { Actor } from './actor';
import { forbidden, HttpError } from './errors';

/** Staff only: instructors and TAs of the launch course, and admins. */
export function requireStaff(actor: Actor): asserts actor is Actor & { audience: 'instructor' | 'admin' } {
  if (actor.audience === 'student') throw forbidden('Review records are for the course’s staff.');
}

/** The 409 `no_course` of a launch from outside a course, which has no records. */
export function noCourseError(): HttpError {
  return new HttpError(409, 'no_course', 'Reviews are kept per course, and this launch did not come from a course.', undefined, [
    'Open the tool from the learner’s course in the LMS.',
  ]);
}

/** The launch course of a staff member, which every record is kept in. */
export function courseKeyOf(actor: Actor): CourseKey {
  requireStaff(actor);
  if (!actor.context.id) throw noCourseError();
  return {
    platformIss: actor.platform.issuer,
    platformClientId: actor.platform.clientId,
    deploymentId: actor.deploymentId,
    contextId: actor.context.id,
  };
}

export function reviewKeyOf(actor: Actor, userId: string): ReviewKey {
  return { ...courseKeyOf(actor), userId };
}

/** The writer, as the audit names them (the mapped LMS user id, else the LTI subject) and with the roles the LMS sent. */
export function reviewAuthorOf(actor: Actor): ReviewAuthor {
  requireStaff(actor);
  return {
    lmsUserId: actor.userId ?? actor.sub,
    name: actor.displayName,
    roles: actor.roles.slice(0, 50).map((r) => r.slice(0, 300)),
    audience: actor.audience,
  };
}
