/**
 * The emulator's view of the demo world: which platform, course, person and resource link a
 * launch is about, plus the opaque identifiers a real LMS derives from its own ids (Canvas's
 * lti_context_id, LTI 1.1 user id, resource-link UUID). Derivations are deterministic so that a
 * demo restart hands the tool the same identifiers it already stored.
 */
import { createHash } from 'node:crypto';
import type { Course, CourseRole, DemoPlatform, DemoWorld, Person, PlatformKind } from '../people';

export type DocumentTarget = 'iframe' | 'window';

export interface ResourceLink {
  id: string;
  title: string;
  description: string | null;
  /** How the LMS places this link (Moodle: launch container 3 = embed, 4 = new window). */
  target: DocumentTarget;
}

export class LmsError extends Error {
  constructor(
    readonly code:
      | 'UNKNOWN_PLATFORM'
      | 'UNKNOWN_COURSE'
      | 'UNKNOWN_USER'
      | 'NOT_A_MEMBER'
      | 'UNKNOWN_RESOURCE_LINK'
      | 'NOT_LOGGED_IN'
      | 'BAD_REQUEST'
      | 'UNKNOWN_TOOL_TYPE'
      | 'TOOL_NOT_ACTIVE'
      | 'NO_CONTENT_SELECTION'
      | 'NO_PERMISSION',
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'LmsError';
  }
}

function digest(algorithm: 'sha1' | 'md5' | 'sha256', text: string): string {
  return createHash(algorithm).update(text).digest('hex');
}

/** Canvas's `Lti::Asset.opaque_identifier_for(user)`: 40 hex, also the LTI 1.1 user_id and login_hint. */
export function canvasLegacyUserId(person: Person): string {
  return digest('sha1', `canvas-user-${person.lmsUserId}`);
}

/** Canvas's lti_context_id of a course: 40 hex, what Canvas sends as `context.id` (not the numeric id). */
export function canvasContextId(course: Course): string {
  return digest('sha1', `canvas-course-${course.id}`);
}

function uuidFromText(text: string): string {
  const h = digest('sha256', text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function platformGuid(kind: PlatformKind, issuer: string): string {
  return kind === 'moodle' ? digest('md5', issuer) : `${digest('sha1', 'canvas-root-account')}:canvas-lms`;
}

/**
 * Resource links per course. Moodle: two activities per course, instance ids 2i+1 (new window,
 * launch container 4) and 2i+2 (embedded, container 3); course LTI101 (the first) therefore has
 * instance 1 "Harness LTI activity", exactly as in the fixture. Canvas: one course-navigation
 * link per course whose id is a UUID (Canvas's lookup_uuid), placed in an iframe.
 */
export function resourceLinks(platform: DemoPlatform, course: Course): ResourceLink[] {
  const index = platform.courses.indexOf(course);
  if (platform.kind === 'moodle') {
    const first = index === 0;
    return [
      {
        id: String(2 * index + 1),
        title: first ? 'Harness LTI activity' : `${course.label} integrity report`,
        description: first ? 'harness' : 'isnotai integrity report',
        target: 'window',
      },
      {
        id: String(2 * index + 2),
        title: first ? 'Harness LTI activity (embedded)' : `${course.label} integrity report (embedded)`,
        description: first ? 'harness' : 'isnotai integrity report',
        target: 'iframe',
      },
    ];
  }
  return [{ id: uuidFromText(`canvas-resource-link-${course.id}`), title: 'isnotai integrity', description: null, target: 'iframe' }];
}

export function findPlatform(world: DemoWorld, kind: string): DemoPlatform {
  const platform = world.platforms.find((p) => p.kind === kind);
  if (!platform) throw new LmsError('UNKNOWN_PLATFORM', `no ${kind} platform in the demo world`, 404);
  return platform;
}

export function findCourse(platform: DemoPlatform, courseId: string): Course {
  const course = platform.courses.find((c) => c.id === courseId);
  if (!course) throw new LmsError('UNKNOWN_COURSE', `no course ${courseId} on ${platform.name}`, 404);
  return course;
}

export interface LaunchSubject {
  person: Person;
  /** The course role, or null for a site admin launching from a course they are not enrolled in. */
  role: CourseRole | null;
  isAdmin: boolean;
}

/** Who is launching: a member of the course, or a site admin (who may launch from any course). */
export function findLaunchSubject(platform: DemoPlatform, course: Course, lmsUserId: string): LaunchSubject {
  const membership = course.members.find((m) => m.person.lmsUserId === lmsUserId);
  const admin = platform.admins.find((a) => a.lmsUserId === lmsUserId);
  if (membership)
    return { person: membership.person, role: membership.role, isAdmin: Boolean(admin) || membership.person.institutionRole !== null };
  if (admin) return { person: admin, role: null, isAdmin: true };
  if (platform.people.some((p) => p.lmsUserId === lmsUserId))
    throw new LmsError('NOT_A_MEMBER', `user ${lmsUserId} is not enrolled in course ${course.id}`, 403);
  throw new LmsError('UNKNOWN_USER', `no user ${lmsUserId} on ${platform.name}`, 404);
}

export function findResourceLink(
  platform: DemoPlatform,
  course: Course,
  target: DocumentTarget | undefined,
  resourceLinkId: string | undefined,
): ResourceLink {
  const links = resourceLinks(platform, course);
  if (resourceLinkId !== undefined) {
    const link = links.find((l) => l.id === resourceLinkId);
    if (!link) throw new LmsError('UNKNOWN_RESOURCE_LINK', `no resource link ${resourceLinkId} in course ${course.id}`, 404);
    return link;
  }
  return links.find((l) => l.target === (target ?? 'iframe')) ?? (links[0] as ResourceLink);
}
