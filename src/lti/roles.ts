/**
 * Who is launching, from the LTI role URIs as Canvas and Moodle send them (docs/product.md
 * "Roles"). Both the full vocabulary URIs and the short forms (`Instructor`, `Learner`, as
 * Names and Roles answers carry them) are understood.
 */
export type Audience = 'admin' | 'instructor' | 'student';

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2/';

/** Normalises a role to `<kind>#<Name>` or `<kind>/<Sub>#<Name>` without the vocabulary prefix. */
export function normaliseRole(role: string): string {
  const r = role.trim();
  if (r.startsWith(LIS)) return r.slice(LIS.length);
  // Short forms are context (membership) roles.
  if (!r.includes('#') && !r.includes('/')) return `membership#${r}`;
  return r;
}

// Only institution and system administrators: a course-level Administrator (membership#) is not
// an admin of the institution and gets no tool-wide lookup.
const ADMIN_ROLES = new Set(['institution/person#Administrator', 'system/person#Administrator', 'system/person#SysAdmin']);
const INSTRUCTOR_ROLES = new Set(['membership#Instructor', 'membership/Instructor#TeachingAssistant', 'membership#TeachingAssistant']);
const LEARNER_ROLES = new Set(['membership#Learner', 'membership/Learner#Learner']);

/** The most privileged audience the roles grant, or null when none applies (designer, observer…). */
export function audienceFor(roles: readonly string[] | undefined | null): Audience | null {
  const norm = (roles ?? []).filter((r): r is string => typeof r === 'string').map(normaliseRole);
  if (norm.some((r) => ADMIN_ROLES.has(r))) return 'admin';
  if (norm.some((r) => INSTRUCTOR_ROLES.has(r))) return 'instructor';
  if (norm.some((r) => LEARNER_ROLES.has(r))) return 'student';
  return null;
}

/** Readable names for the roles we refuse, for the "no access" page. */
export function describeRoles(roles: readonly string[] | undefined | null): string[] {
  return (roles ?? []).filter((r): r is string => typeof r === 'string').map((r) => normaliseRole(r).replace(/^.*#/, ''));
}

/**
 * How a staff member's role reads beside what they wrote (docs/product.md "Review"): from the roles the LMS sent with
 * their launch, so a teaching assistant's change shows as a TA's.
 */
export function staffRoleLabel(roles: readonly string[] | undefined | null): string {
  const norm = (roles ?? []).filter((r): r is string => typeof r === 'string').map(normaliseRole);
  if (norm.some((r) => ADMIN_ROLES.has(r))) return 'Administrator';
  if (norm.some((r) => r === 'membership/Instructor#TeachingAssistant' || r === 'membership#TeachingAssistant'))
    return 'Teaching assistant';
  if (norm.some((r) => INSTRUCTOR_ROLES.has(r))) return 'Instructor';
  return 'Staff';
}
