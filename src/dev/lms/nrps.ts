/**
 * Names and Roles Provisioning Service answers, Moodle- and Canvas-shaped.
 *
 * Moodle (fixture nrps-members.json): without `limit` the whole roster in one answer and no Link
 * header; with `limit=N` pages `?limit=N&from=K` linked by `rel="next"`, none on the last page;
 * roles as short names; members ordered by family name; site admins (not enrolled) not listed.
 * Canvas: always paged (default 10, at most 50 per page, `limit` sets the page size), Link header
 * with `current`, `next`, `first`, `last` as Canvas's Api.paginate sends them; full role URIs;
 * `user_id` is the lti_id UUID (the launch `sub`); `rlid` adds a `message` array per member with
 * the substituted custom claims and Canvas's own `canvas_user_id`.
 *
 * Each page answered is noted in `nrpsPagesServed` (when, which course), for tests of the order of
 * a roster's requests.
 */
import { performance } from 'node:perf_hooks';
import type { Course, DemoPlatform, Membership } from '../people';
import {
  canvasCustomClaim,
  canvasMembershipRoles,
  canvasNamesAndRolesUrl,
  canvasPictureUrl,
  moodleMemberRoles,
  moodleMembershipsUrl,
  moodleResultSourcedId,
} from './claims';
import { canvasContextId, canvasLegacyUserId, LmsError, resourceLinks } from './model';

export const NRPS_CONTENT_TYPE = 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json';
export const CANVAS_DEFAULT_PAGE_SIZE = 10;
export const CANVAS_MAX_PAGE_SIZE = 50;

export interface NrpsAnswer {
  body: { id: string; context: { id: string; label: string; title: string }; members: Array<Record<string, unknown>> };
  link?: string;
}

/** One Names and Roles page answered. */
export interface NrpsPageServed {
  /** When, on this process's clock (`performance.now()`): comparable with the simulator's `requests[].at`. */
  at: number;
  platform: 'moodle' | 'canvas';
  courseId: string;
  /** The members on the page. */
  members: number;
  /** Whether the answer links a next page. */
  hasNext: boolean;
}

/** The pages answered by every emulator of this process, oldest first (the last 1,000): the order of a roster's reads. */
export const nrpsPagesServed: NrpsPageServed[] = [];

function served(page: Omit<NrpsPageServed, 'at'>): void {
  nrpsPagesServed.push({ at: performance.now(), ...page });
  if (nrpsPagesServed.length > 1000) nrpsPagesServed.shift();
}

export interface NrpsQuery {
  role?: string;
  limit?: string;
  from?: string;
  page?: string;
  per_page?: string;
  rlid?: string;
}

function shortRole(role: string): string {
  const hash = role.lastIndexOf('#');
  return hash >= 0 ? role.slice(hash + 1) : role;
}

/** A `role` filter matches a member role given in full or short form, either way round. */
export function roleMatches(memberRoles: string[], filter: string): boolean {
  return memberRoles.some((r) => r === filter || shortRole(r) === shortRole(filter));
}

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 0) throw new LmsError('BAD_REQUEST', `${name} must be a non-negative integer`);
  return Number(value);
}

function checkRlid(platform: DemoPlatform, course: Course, rlid: string | undefined, moreLinkIds: string[] = []): void {
  if (rlid !== undefined && !moreLinkIds.includes(rlid) && !resourceLinks(platform, course).some((l) => l.id === rlid)) {
    throw new LmsError('UNKNOWN_RESOURCE_LINK', `no resource link ${rlid} in course ${course.id}`);
  }
}

export function moodleMemberships(
  platform: DemoPlatform,
  course: Course,
  platformBase: string,
  deploymentId: string,
  query: NrpsQuery,
  /** Resource link ids of activities made by deep linking (valid `rlid` values too). */
  moreLinkIds: string[] = [],
): NrpsAnswer {
  checkRlid(platform, course, query.rlid, moreLinkIds);
  const url = moodleMembershipsUrl(platformBase, course.id, deploymentId);
  const collator = new Intl.Collator('en');
  let members = [...course.members].sort(
    (a, b) => collator.compare(a.person.familyName, b.person.familyName) || collator.compare(a.person.givenName, b.person.givenName),
  );
  if (query.role) members = members.filter((m) => roleMatches(moodleMemberRoles(m.role), query.role as string));
  const limit = positiveInt(query.limit, 'limit');
  const from = positiveInt(query.from, 'from') ?? 0;
  let page = members;
  let link: string | undefined;
  if (limit !== undefined && limit > 0) {
    page = members.slice(from, from + limit);
    if (from + limit < members.length) {
      const next = new URLSearchParams();
      if (query.role) next.set('role', query.role);
      if (query.rlid) next.set('rlid', query.rlid);
      next.set('limit', String(limit));
      next.set('from', String(from + limit));
      link = `<${url}?${next.toString()}>; rel="next"`;
    }
  }
  served({ platform: 'moodle', courseId: course.id, members: page.length, hasNext: link !== undefined });
  return {
    body: {
      id: url,
      context: { id: course.id, label: course.label, title: course.title },
      members: page.map((m) => moodleMember(m, query.rlid, platformBase, deploymentId)),
    },
    ...(link ? { link } : {}),
  };
}

function moodleMember(m: Membership, rlid: string | undefined, platformBase: string, deploymentId: string): Record<string, unknown> {
  const p = m.person;
  const member: Record<string, unknown> = { status: m.status ?? 'Active', roles: moodleMemberRoles(m.role) };
  if (rlid !== undefined) {
    member.message = [
      {
        'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiResourceLinkRequest',
        'https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome': {
          lis_result_sourcedid: moodleResultSourcedId(rlid, p.lmsUserId, deploymentId),
          lis_outcome_service_url: `${platformBase}/mod/lti/service.php`,
        },
      },
    ];
  }
  Object.assign(member, {
    user_id: p.sub,
    lis_person_sourcedid: p.sourcedId,
    name: p.name,
    given_name: p.givenName,
    family_name: p.familyName,
    email: p.email,
    ext_user_username: p.username,
  });
  return member;
}

export function canvasMemberships(
  platform: DemoPlatform,
  course: Course,
  platformBase: string,
  requestUrl: string,
  query: NrpsQuery,
): NrpsAnswer {
  checkRlid(platform, course, query.rlid);
  const base = canvasNamesAndRolesUrl(platformBase, course.id);
  let members = [...course.members].sort((a, b) => Number(a.person.lmsUserId) - Number(b.person.lmsUserId));
  if (query.role) members = members.filter((m) => roleMatches(canvasMembershipRoles(m.role), query.role as string));
  const requested = positiveInt(query.limit, 'limit') ?? positiveInt(query.per_page, 'per_page') ?? CANVAS_DEFAULT_PAGE_SIZE;
  const perPage = Math.min(Math.max(requested, 1), CANVAS_MAX_PAGE_SIZE);
  const pageNumber = Math.max(positiveInt(query.page, 'page') ?? 1, 1);
  const lastPage = Math.max(Math.ceil(members.length / perPage), 1);
  const page = members.slice((pageNumber - 1) * perPage, pageNumber * perPage);
  const pageUrl = (n: number): string => {
    const q = new URLSearchParams();
    if (query.role) q.set('role', query.role);
    if (query.rlid) q.set('rlid', query.rlid);
    q.set('page', String(n));
    q.set('per_page', String(perPage));
    return `${base}?${q.toString()}`;
  };
  const links = [`<${pageUrl(pageNumber)}>; rel="current"`];
  if (pageNumber < lastPage) links.push(`<${pageUrl(pageNumber + 1)}>; rel="next"`);
  if (pageNumber > 1) links.push(`<${pageUrl(pageNumber - 1)}>; rel="prev"`);
  links.push(`<${pageUrl(1)}>; rel="first"`, `<${pageUrl(lastPage)}>; rel="last"`);
  served({ platform: 'canvas', courseId: course.id, members: page.length, hasNext: pageNumber < lastPage });
  return {
    body: {
      id: requestUrl,
      context: { id: canvasContextId(course), label: course.label, title: course.title },
      members: page.map((m) => canvasMember(m, course, platformBase, query.rlid)),
    },
    link: links.join(','),
  };
}

function canvasMember(m: Membership, course: Course, platformBase: string, rlid: string | undefined): Record<string, unknown> {
  const p = m.person;
  const legacyId = canvasLegacyUserId(p);
  const member: Record<string, unknown> = {
    status: m.status ?? 'Active',
    name: p.name,
    picture: canvasPictureUrl(platformBase),
    given_name: p.givenName,
    family_name: p.familyName,
    email: p.email,
    lis_person_sourcedid: p.sourcedId,
    user_id: p.sub,
    lti11_legacy_user_id: legacyId,
    roles: canvasMembershipRoles(m.role),
  };
  if (rlid !== undefined) {
    member.message = [
      {
        'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiResourceLinkRequest',
        locale: 'en',
        'https://purl.imsglobal.org/spec/lti/claim/custom': canvasCustomClaim(p, course),
        'https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id': legacyId,
        'https://purl.imsglobal.org/spec/lti/claim/lti1p1': { user_id: legacyId },
        'https://www.instructure.com/canvas_user_id': Number(p.lmsUserId),
        'https://www.instructure.com/canvas_user_login_id': p.username,
      },
    ];
  }
  return member;
}
