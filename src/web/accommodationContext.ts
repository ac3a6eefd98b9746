/**
 * Which accommodations apply where a page is read (docs/product.md "Accommodations"): for a launch from a course, that
 * course's own register and the LMS registration's (an admin's, for every course); from outside a course, the
 * registration's only. The same for staff and for the learner themself, so both see the same levels.
 */
import { accommodatedSignals } from '../risk';
import type { Accommodation, LearnerAccommodations } from '../store/accommodations';
import { learnerInRegistration, type Actor } from './actor';
import type { AccommodationRegister } from './ports';

export interface AccommodationDeps {
  accommodations: AccommodationRegister;
}

/** One learner's register where the launch reads it, read once for a page and handed to whatever on it needs it. */
export interface Register {
  /** The launch course's set (empty from outside a course) and the LMS registration's, each with its version. */
  sets: LearnerAccommodations;
  /** The accommodations in effect, oldest first (the course's, then the registration's). */
  inEffect: Accommodation[];
  /** The signals they explain (src/risk/accommodations.ts). */
  signals: ReadonlySet<string>;
}

/** The launch's course, as the register keys it; null from outside a course. */
export function registerCourseOf(actor: Actor): { deploymentId: string; contextId: string } | null {
  return actor.context.id ? { deploymentId: actor.deploymentId, contextId: actor.context.id } : null;
}

/** Every entry of the register, removed ones included: the course's, then the registration's, each oldest first. */
export function registerEntries(sets: LearnerAccommodations): Accommodation[] {
  return [...sets.course.entries, ...sets.platform.entries];
}

/** The register of one learner where the actor launched from: its sets, what is in effect, and the signals explained. */
export async function readRegister(deps: AccommodationDeps, actor: Actor, userId: string): Promise<Register> {
  const sets = await deps.accommodations.forLearner(learnerInRegistration(actor, userId), registerCourseOf(actor));
  const inEffect = registerEntries(sets).filter((a) => a.removed === null);
  return { sets, inEffect, signals: accommodatedSignals(inEffect.map((a) => a.kind)) };
}

/**
 * The signals explained for each learner of the launch course (the roster), by userId; learners with none are left out.
 * `userIds` null: every learner with an accommodation on record where the launch reads them.
 */
export async function courseAccommodatedSignals(
  deps: AccommodationDeps,
  actor: Actor,
  userIds: readonly string[] | null,
): Promise<Map<string, ReadonlySet<string>>> {
  const course = registerCourseOf(actor);
  if (!course) return new Map();
  const byUser = await deps.accommodations.inEffectForCourse(
    { platformIss: actor.platform.issuer, platformClientId: actor.platform.clientId, ...course },
    userIds,
  );
  return new Map([...byUser].map(([id, list]) => [id, accommodatedSignals(list.map((a) => a.kind))]));
}
