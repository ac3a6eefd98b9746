/**
 * The members the tool knows of, for an administrator's "Find a student": the learners of every
 * course roster the tool has read for a platform (Names and Roles only ever gives the roster of
 * the course launched from), and the students in its audit log. Only what the lookup needs is
 * kept: isnotai user id, LTI user id and name (no email), per course, for KNOWN_MEMBERS_TTL_SECONDS
 * after the roster was last read.
 */
import crypto from 'node:crypto';
import type { RosterMember } from '../lti/roster';
import type { Actor } from './actor';
import { clip } from './format';
import { foldText } from './lists';
import type { AuditSink, UpstreamCache } from './ports';
import { platformCachePrefix } from './upstream';

export const KNOWN_MEMBERS_TTL_SECONDS = 30 * 86_400;
/** The courses remembered per platform (the most recently read first). */
export const KNOWN_COURSES_MAX = 200;

interface KnownMember {
  u: string;
  l: string;
  n: string;
}
interface KnownCourse {
  course: string;
  title: string | null;
  members: KnownMember[];
}

const indexKey = (actor: Actor) => `${platformCachePrefix(actor.platform)}:known-courses`;
const courseKey = (actor: Actor, course: string) =>
  `${platformCachePrefix(actor.platform)}:known-members:${crypto.createHash('sha256').update(course).digest('hex').slice(0, 32)}`;

/** After a roster read: its learners with a usable id become known members. */
export async function rememberRoster(cache: UpstreamCache, actor: Actor, members: RosterMember[]): Promise<void> {
  const course = actor.context.id;
  if (!course) return;
  const known: KnownCourse = {
    course,
    title: actor.context.title ? clip(actor.context.title, 120) : null,
    members: members.filter((m) => m.isLearner && m.userId).map((m) => ({ u: m.userId!, l: m.ltiUserId, n: clip(m.name, 120) })),
  };
  const index = await cache.get(indexKey(actor));
  const courses = [course, ...(Array.isArray(index) ? index.filter((c): c is string => typeof c === 'string' && c !== course) : [])].slice(
    0,
    KNOWN_COURSES_MAX,
  );
  // Two instances reading rosters at once may each drop the other's course from the index until
  // its next read: this is a search aid, not a record.
  await cache.setMany(
    [
      { key: courseKey(actor, course), value: known },
      { key: indexKey(actor), value: courses },
    ],
    KNOWN_MEMBERS_TTL_SECONDS,
  );
}

export interface KnownMatch {
  userId: string;
  name: string;
  courses: string[];
}

/** Known members whose name or ids contain every word of the query (case and accent folded). */
export async function searchKnownMembers(cache: UpstreamCache, actor: Actor, query: string, limit = 100): Promise<KnownMatch[]> {
  const tokens = foldText(query).split(/\s+/).filter(Boolean);
  if (tokens.length === 0) return [];
  const index = await cache.get(indexKey(actor));
  const courses = Array.isArray(index) ? index.filter((c): c is string => typeof c === 'string') : [];
  const found = await cache.getMany(courses.map((c) => courseKey(actor, c)));
  const byId = new Map<string, KnownMatch>();
  for (const v of found.values()) {
    const kc = v as KnownCourse;
    if (!kc || !Array.isArray(kc.members)) continue;
    for (const m of kc.members) {
      if (typeof m?.u !== 'string' || typeof m.n !== 'string') continue;
      if (!tokens.every((t) => [m.n, m.u, m.l].some((f) => typeof f === 'string' && foldText(f).includes(t)))) continue;
      const hit = byId.get(m.u) ?? { userId: m.u, name: m.n, courses: [] };
      hit.courses.push(kc.title ?? kc.course);
      byId.set(m.u, hit);
    }
  }
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name) || a.userId.localeCompare(b.userId)).slice(0, limit);
}

/** Whether the audit log of this platform has ever shown this student. */
export async function seenInAudit(audit: AuditSink, actor: Actor, userId: string): Promise<boolean> {
  const page = await audit.list({
    limit: 1,
    subject: userId,
    platformIss: actor.platform.issuer,
    platformClientId: actor.platform.clientId,
  });
  return page.total > 0;
}
