/**
 * The course roster from the LMS's Names and Roles service (all pages), validated (the LMS is
 * untrusted input) and mapped onto isnotai user ids with the platform's identity mapping, the same
 * one applied to launches.
 */
import type { LtiIdToken, Provider } from 'ltijs';
import { z } from 'zod';
import { describeIdentityProblem, mapMemberIdentity, type IdentityMapping, type IdentityStrategy } from './identity';
import { audienceFor } from './roles';

export interface RosterMember {
  /** The isnotai userId (null when the mapping found nothing usable for this member). */
  userId: string | null;
  /** Why userId is null: the mapping's value was missing or not of the mapping's shape. */
  idProblem?: string | null;
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
    /** `lms_refused_roster`: the LMS refused the tool's credentials for its Names and Roles service. */
    readonly code: 'nrps_unavailable' | 'nrps_not_offered' | 'nrps_invalid' | 'lms_refused_roster',
    message: string,
    /** What the LMS's administrator should check (lms_refused_roster). */
    readonly hints: string[] = [],
  ) {
    super(message);
    this.name = 'RosterError';
  }
}

export function membersFromNrps(raw: unknown, identity: IdentityStrategy | IdentityMapping): RosterMember[] {
  const strategy = typeof identity === 'string' ? identity : identity.strategy;
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
    const mapped = mapMemberIdentity(m as Parameters<typeof mapMemberIdentity>[0], identity);
    out.push({
      userId: mapped.userId,
      idProblem: mapped.problem ? describeIdentityProblem(strategy, mapped.problem, 'member') : null,
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
  if (/401|invalid_client/.test(msg))
    return 'The LMS refused the tool’s access-token request (401). Check that the tool registration’s client id and key set URL match.';
  return `The LMS’s Names and Roles service failed: ${msg.slice(0, 200)}`;
}

/**
 * Moodle answers the whole roster at once when no `limit` is asked; Canvas pages it (10 members a
 * page by default), so a 1,000-learner course would take 100 chained requests: ask for big pages.
 */
export const NRPS_PAGE_SIZE = 100;

export const NRPS_SCOPE = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';

/** The HTTP status of a failed ltijs request (got's HTTPError), and the URL it went to. */
function httpFailure(err: unknown): { status: number; url: string } | null {
  const response = (err as { response?: { statusCode?: unknown; url?: unknown } } | null)?.response;
  if (!response || typeof response.statusCode !== 'number') return null;
  return { status: response.statusCode, url: typeof response.url === 'string' ? response.url : '' };
}

/** The LMS answered 401/403 to a Names and Roles request itself (not to the token request). */
function servicesRefused(err: unknown, membershipsUrl: string): boolean {
  const f = httpFailure(err);
  if (!f || (f.status !== 401 && f.status !== 403)) return false;
  const path = (u: string) => {
    try {
      const url = new URL(u);
      return `${url.origin}${url.pathname}`;
    } catch {
      return u;
    }
  };
  return path(f.url) === path(membershipsUrl);
}

/** The tool's key set as the LMS knows the tool: at the origin it launched. */
function keysetUrlOf(token: LtiIdToken): string {
  try {
    return new URL('/keys', token.platformContext?.targetLinkUri ?? '').href;
  } catch {
    return 'the tool’s /keys address';
  }
}

function lmsRefused(lmsName: string, token: LtiIdToken, status: number, what: 'roster' | 'token'): RosterError {
  const asked =
    what === 'roster'
      ? 'for this course’s participants (Names and Roles), with a newly issued access token'
      : 'for an access token to its Names and Roles service';
  return new RosterError(
    'lms_refused_roster',
    `${lmsName} refused the tool’s request ${asked} (HTTP ${status}). This is the LMS’s answer; isnotai is not involved.`,
    [
      `Ask the administrator of ${lmsName} to check the tool’s registration there:`,
      'the Names and Roles (membership) service is enabled for the tool, and the launch offers it;',
      `the tool’s key set URL, ${keysetUrlOf(token)}, is the one registered and the LMS can reach it (in Moodle: Site administration → HTTP security, blocked hosts and allowed ports);`,
      `the client id registered with the tool (${token.clientId}) is this registration’s.`,
    ],
  );
}

export async function fetchRoster(
  lti: Provider,
  token: LtiIdToken,
  identity: IdentityStrategy | IdentityMapping,
  kind: 'moodle' | 'canvas' | 'other' = 'other',
  lmsName = 'The LMS',
): Promise<RosterMember[]> {
  const membershipsUrl = token.platformContext?.namesRoles?.context_memberships_url;
  if (!membershipsUrl) {
    throw new RosterError(
      'nrps_not_offered',
      'The LMS did not offer its Names and Roles service in this launch, so the tool cannot list the course’s learners.',
    );
  }
  // Custom-claim mappings (Canvas) need each member's substituted custom claims: ask with rlid.
  const needsRlid =
    (typeof identity === 'string' ? identity : identity.strategy).startsWith('custom:') && Boolean(token.platformContext.resource?.id);
  const getMembers = () =>
    lti.NamesAndRoles.getMembers(token, {
      pages: false,
      resourceLinkId: needsRlid,
      ...(kind === 'moodle' ? {} : { limit: NRPS_PAGE_SIZE }),
    });
  let result;
  try {
    try {
      result = await getMembers();
    } catch (err) {
      if (!servicesRefused(err, membershipsUrl)) throw err;
      // ltijs keeps the access token (in PostgreSQL) until its expiry, even once the LMS has
      // stopped honouring it (an LMS restarted with new state): drop it and ask once for another.
      await lti.Database.Delete('accesstoken', { platformUrl: token.iss, clientId: token.clientId, scopes: NRPS_SCOPE });
      result = await getMembers();
    }
  } catch (err) {
    const f = httpFailure(err);
    if (f && (f.status === 401 || f.status === 403))
      throw lmsRefused(lmsName, token, f.status, servicesRefused(err, membershipsUrl) ? 'roster' : 'token');
    throw new RosterError('nrps_unavailable', describeNrpsFailure(err));
  }
  return membersFromNrps(result?.members, identity);
}
