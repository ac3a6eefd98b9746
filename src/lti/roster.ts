/**
 * The course roster from the LMS's Names and Roles service (all pages), validated (the LMS is
 * untrusted input) and mapped onto isnotai user ids with the platform's identity mapping, the same
 * one applied to launches.
 */
import type { LtiIdToken, Provider } from 'ltijs';
import { z } from 'zod';
import { userIdFromMember, type IdentityStrategy } from './identity';
import { audienceFor } from './roles';

export interface RosterMember {
  /** The isnotai userId (null when the mapping found nothing for this member). */
  userId: string | null;
  /** Names and Roles `user_id` (the LTI sub). */
  ltiUserId: string;
  name: string;
  email: string | null;
  sourcedId: string | null;
  roles: string[];
  status: string;
  isLearner: boolean;
}

const memberSchema = z
  .object({
    user_id: z.union([z.string().min(1).max(255), z.number()]).transform(String),
    status: z.string().max(40).optional(),
    roles: z.array(z.string().max(300)).max(50).default([]),
    // Generous bounds: a member with an absurdly long name is still a learner (pages clip it).
    name: z.string().max(100_000).optional(),
    given_name: z.string().max(100_000).optional(),
    family_name: z.string().max(100_000).optional(),
    email: z.string().max(100_000).optional(),
    lis_person_sourcedid: z.string().max(10_000).optional(),
    message: z.array(z.unknown()).max(20).optional(),
  })
  .loose();

export class RosterError extends Error {
  constructor(
    readonly code: 'nrps_unavailable' | 'nrps_not_offered' | 'nrps_invalid',
    message: string,
  ) {
    super(message);
    this.name = 'RosterError';
  }
}

export function membersFromNrps(raw: unknown, identity: IdentityStrategy): RosterMember[] {
  const list = z.array(z.unknown()).safeParse(raw);
  if (!list.success) throw new RosterError('nrps_invalid', 'Names and Roles answered without a members list.');
  const out: RosterMember[] = [];
  const seen = new Set<string>();
  for (const item of list.data) {
    const parsed = memberSchema.safeParse(item);
    if (!parsed.success) continue; // one malformed member is skipped, not the roster
    const m = parsed.data;
    if (seen.has(m.user_id)) continue;
    seen.add(m.user_id);
    const status = m.status ?? 'Active';
    const name = m.name?.trim() || [m.given_name, m.family_name].filter(Boolean).join(' ').trim() || `User ${m.user_id}`;
    out.push({
      userId: userIdFromMember(m as Parameters<typeof userIdFromMember>[0], identity),
      ltiUserId: m.user_id,
      name,
      email: m.email ?? null,
      sourcedId: m.lis_person_sourcedid ?? null,
      roles: m.roles,
      status,
      isLearner: audienceFor(m.roles) === 'student' && status.toLowerCase() !== 'deleted',
    });
  }
  return out;
}

/** Explains a failed Names and Roles call in words an admin can act on. */
export function describeNrpsFailure(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/404/.test(msg)) {
    return 'The LMS answered 404 when the tool asked for an access token or the roster. In Moodle this usually means Moodle could not download the tool’s key set: check Site administration → HTTP security (cURL blocked hosts and allowed ports) and the tool’s “Public keyset URL”.';
  }
  if (/401|invalid_client/.test(msg)) return 'The LMS refused the tool’s access-token request (401). Check that the tool registration’s client id and key set URL match.';
  return `The LMS’s Names and Roles service failed: ${msg.slice(0, 200)}`;
}

/**
 * Moodle answers the whole roster at once when no `limit` is asked; Canvas pages it (10 members a
 * page by default), so a 1,000-learner course would take 100 chained requests: ask for big pages.
 */
export const NRPS_PAGE_SIZE = 100;

export async function fetchRoster(lti: Provider, token: LtiIdToken, identity: IdentityStrategy, kind: 'moodle' | 'canvas' | 'other' = 'other'): Promise<RosterMember[]> {
  if (!token.platformContext?.namesRoles?.context_memberships_url) {
    throw new RosterError('nrps_not_offered', 'The LMS did not offer its Names and Roles service in this launch, so the tool cannot list the course’s learners.');
  }
  // Custom-claim mappings (Canvas) need each member's substituted custom claims: ask with rlid.
  const needsRlid = identity.startsWith('custom:') && Boolean(token.platformContext.resource?.id);
  let result;
  try {
    result = await lti.NamesAndRoles.getMembers(token, { pages: false, resourceLinkId: needsRlid, ...(kind === 'moodle' ? {} : { limit: NRPS_PAGE_SIZE }) });
  } catch (err) {
    throw new RosterError('nrps_unavailable', describeNrpsFailure(err));
  }
  return membersFromNrps(result?.members, identity);
}
