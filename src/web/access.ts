/**
 * Access rules (docs/product.md "Access rules"): a learner reads only their own data; an instructor
 * only learners who are members of the course they launched from; only an admin anyone. The userId
 * and sessionId in a URL are never trusted: each is checked against the launch on every request.
 */
import type { IsnotaiSession } from '../isnotai/types';
import type { RosterMember } from '../lti/roster';
import type { Actor } from './actor';
import type { UpstreamApi } from './ports';
import { forbidden } from './errors';

export interface LearnerAccess {
  /** The roster entry, when the learner is a member of the launch course. */
  member: RosterMember | null;
}

export async function authoriseLearner(actor: Actor, userId: string, roster: () => Promise<RosterMember[]>): Promise<LearnerAccess> {
  if (actor.audience === 'student') {
    if (!actor.userId || actor.userId !== userId) throw forbidden('You can only see your own records.');
    return { member: null };
  }
  if (actor.audience === 'instructor') {
    const members = await roster();
    const member = members.find((m) => m.isLearner && m.userId === userId);
    if (!member)
      throw forbidden('That person is not a learner in the course you opened the tool from.', [
        'Open the tool from that learner’s course to see their records.',
      ]);
    return { member };
  }
  // Admins may look up anyone; the roster only adds a name when the learner is in this course.
  try {
    return { member: (await roster()).find((m) => m.userId === userId) ?? null };
  } catch {
    return { member: null };
  }
}

/**
 * A session is shown only as part of the learner it belongs to. Under a placement (a link placed on one activity) the
 * learner's sessions are that activity's, so a session outside it is refused with that said.
 */
export function authoriseSession(sessions: IsnotaiSession[], userId: string, sessionId: string, placed = false): IsnotaiSession {
  const s = sessions.find((x) => x.id === sessionId);
  if (!s || s.userId !== userId) {
    if (placed)
      throw forbidden('That session is not one this link covers, or it does not belong to this learner.', [
        'This link shows only the sessions of one activity (the note at the top of the page says which). Open the tool from the course’s own link to see the others.',
      ]);
    throw forbidden('That session does not belong to this learner.');
  }
  return s;
}

/**
 * The learner's session, wherever it is checked (the session page, a session's mark): looked for in the cached list, and,
 * when newer than that list (a fresh page or the admin list links to it), in a fresh read before it is refused (403).
 */
export async function findLearnerSession(
  upstream: Pick<UpstreamApi, 'allUserSessions'>,
  userId: string,
  sessionId: string,
  /** Whether the upstream reads through a placement's lens (src/web/upstream.ts). */
  placed = false,
): Promise<IsnotaiSession> {
  const cached = (await upstream.allUserSessions(userId)).sessions;
  if (cached.some((s) => s.id === sessionId)) return authoriseSession(cached, userId, sessionId, placed);
  return authoriseSession((await upstream.allUserSessions(userId, { fresh: true })).sessions, userId, sessionId, placed);
}

/**
 * LMS registrations (docs/product.md "Installing the tool"): an admin opens their own registration (the same issuer and
 * client id as their launch) and, when it was registered by the LMS (`dynamic`), changes its settings and status; an
 * admin of a tool-wide registration also opens every other one and activates or deactivates it. A registration from
 * PLATFORMS_JSON (`config`) is the operator's: read-only here, its settings and status re-applied at every start.
 */
export interface RegistrationRef {
  issuer: string;
  clientId: string;
  source: 'config' | 'dynamic';
}

/** Whether the launch came from this registration. */
export const isOwnRegistration = (actor: Actor, reg: Pick<RegistrationRef, 'issuer' | 'clientId'>): boolean =>
  reg.issuer === actor.platform.issuer && reg.clientId === actor.platform.clientId;

export function mayOpenRegistration(actor: Actor, reg: RegistrationRef): boolean {
  return actor.audience === 'admin' && (isOwnRegistration(actor, reg) || actor.platform.toolWide);
}

export function mayEditRegistration(actor: Actor, reg: RegistrationRef): boolean {
  return actor.audience === 'admin' && isOwnRegistration(actor, reg) && reg.source === 'dynamic';
}

export function mayChangeRegistrationStatus(actor: Actor, reg: RegistrationRef): boolean {
  return actor.audience === 'admin' && reg.source === 'dynamic' && (isOwnRegistration(actor, reg) || actor.platform.toolWide);
}
