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

/** A session is shown only as part of the learner it belongs to. */
export function authoriseSession(sessions: IsnotaiSession[], userId: string, sessionId: string): IsnotaiSession {
  const s = sessions.find((x) => x.id === sessionId);
  if (!s || s.userId !== userId) throw forbidden('That session does not belong to this learner.');
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
): Promise<IsnotaiSession> {
  const cached = (await upstream.allUserSessions(userId)).sessions;
  if (cached.some((s) => s.id === sessionId)) return authoriseSession(cached, userId, sessionId);
  return authoriseSession((await upstream.allUserSessions(userId, { fresh: true })).sessions, userId, sessionId);
}
