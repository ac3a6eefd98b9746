/**
 * id_token claim sets, shaped like the real LMSs send them.
 *
 * Moodle: claim for claim (and key order) as test/lms/fixtures/moodle-4.4/launch-*.json.
 * Canvas: as Canvas Cloud sends them (LTI 1.3 JwtMessage): opaque `sub` (the user's lti_id), the
 * opaque lti_context_id as `context.id`, institution + membership + system roles, `azp`,
 * `lti11_legacy_user_id`, `lti1p1`, the placement claim, and the tool's custom fields
 * (`canvas_user_id = $Canvas.user.id`, `canvas_course_id = $Canvas.course.id`).
 */
import { createHash, randomInt } from 'node:crypto';
import type { Course, CourseRole, DemoPlatform, Person } from '../people';
import { randomHex } from './jwt';
import { canvasContextId, canvasLegacyUserId, platformGuid, type DocumentTarget, type LaunchSubject, type ResourceLink } from './model';

const LIS = 'http://purl.imsglobal.org/vocab/lis/v2';
const LTI = 'https://purl.imsglobal.org/spec/lti/claim';

export const ROLE = {
  membershipLearner: `${LIS}/membership#Learner`,
  membershipInstructor: `${LIS}/membership#Instructor`,
  membershipTeachingAssistant: `${LIS}/membership/Instructor#TeachingAssistant`,
  membershipContentDeveloper: `${LIS}/membership#ContentDeveloper`,
  membershipMentor: `${LIS}/membership#Mentor`,
  institutionAdministrator: `${LIS}/institution/person#Administrator`,
  institutionInstructor: `${LIS}/institution/person#Instructor`,
  institutionStudent: `${LIS}/institution/person#Student`,
  systemAdministrator: `${LIS}/system/person#Administrator`,
  systemSysAdmin: `${LIS}/system/person#SysAdmin`,
  systemUser: `${LIS}/system/person#User`,
  testUser: 'http://purl.imsglobal.org/vocab/lti/system/person#TestUser',
} as const;

export const NRPS_SCOPE = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';
export const AGS_SCOPES = [
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  'https://purl.imsglobal.org/spec/lti-ags/scope/score',
];

export const MOODLE_VERSION = '2024042212.01';

export interface ClaimInput {
  platform: DemoPlatform;
  issuer: string;
  clientId: string;
  deploymentId: string;
  /** Where the emulator's platform endpoints live, e.g. http://127.0.0.1:4000/moodle */
  platformBase: string;
  course: Course;
  subject: LaunchSubject;
  resourceLink: ResourceLink;
  documentTarget: DocumentTarget;
  targetLinkUri: string;
  nonce: string | undefined;
  iat: number;
  ttlSeconds: number;
}

// Moodle -------------------------------------------------------------------------------------

/** Moodle 4.4: whoever can manage the activity is Instructor, everyone else Learner. */
function moodleIsInstructor(role: CourseRole | null): boolean {
  return role === 'instructor' || role === 'ta' || role === 'designer';
}

export function moodleLaunchRoles(subject: LaunchSubject): string[] {
  if (subject.isAdmin) return [ROLE.institutionAdministrator, ROLE.membershipInstructor, ROLE.systemAdministrator];
  return [moodleIsInstructor(subject.role) ? ROLE.membershipInstructor : ROLE.membershipLearner];
}

/** Names and Roles on Moodle sends short role names. */
export function moodleMemberRoles(role: CourseRole): string[] {
  return [moodleIsInstructor(role) ? 'Instructor' : 'Learner'];
}

export function moodleMembershipsUrl(platformBase: string, courseId: string, deploymentId: string): string {
  return `${platformBase}/mod/lti/services.php/CourseSection/${courseId}/bindings/${deploymentId}/memberships`;
}

/** Moodle's basic-outcome sourcedid: a JSON string with a hash over its data. */
export function moodleResultSourcedId(instanceId: string, userId: string, typeId: string): string {
  const data = { instanceid: instanceId, userid: userId, typeid: typeId, launchid: randomInt(1, 2 ** 31 - 1) };
  const hash = createHash('sha256')
    .update(`emulator-servicesalt${JSON.stringify(data)}`)
    .digest('hex');
  return JSON.stringify({ data, hash });
}

/**
 * A launch through a Moodle tool type registered dynamically: what its type config (and the activity)
 * change in the claims. Absent for the static registration, whose launches stay as captured.
 */
export interface MoodleTypeLaunch {
  /** The custom claim as Moodle merges it (the activity's, then the tool type's), before it adds
   * context_memberships_url. */
  custom: Record<string, string>;
  /** The type's `sendname` / `sendemailaddr` are Always. */
  sendName: boolean;
  sendEmail: boolean;
  /** AGS scopes of the endpoint claim; empty when the type has no grade synchronisation (no claim). */
  agsScopes: string[];
  /** Names and Roles on: the NRPS claim and the custom context_memberships_url. */
  nrps: boolean;
  /** The activity takes grades: the AGS `lineitem` and the basic outcome claim. */
  graded: boolean;
}

export function moodleClaims(input: ClaimInput, type?: MoodleTypeLaunch): Record<string, unknown> {
  const claims = moodleStaticClaims(input);
  if (!type) return claims;
  const membershipsUrl = moodleMembershipsUrl(input.platformBase, input.course.id, input.deploymentId);
  const custom: Record<string, string> = { ...type.custom };
  if (type.nrps) custom.context_memberships_url = membershipsUrl;
  if (Object.keys(custom).length > 0) claims[`${LTI}/custom`] = custom;
  else delete claims[`${LTI}/custom`];
  // Moodle builds the claims in the order the launch parameters first appear: the type's and the
  // activity's custom parameters come before the services' (AGS), so the custom claim moves up to
  // follow `version` (as captured); with only the NRPS service's context_memberships_url it stays
  // after AGS (as the static registration's launches).
  if (Object.keys(type.custom).length > 0) moveAfter(claims, `${LTI}/custom`, `${LTI}/version`);
  if (!type.nrps) delete claims['https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice'];
  if (!type.graded) delete claims['https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome'];
  const ags = claims['https://purl.imsglobal.org/spec/lti-ags/claim/endpoint'] as Record<string, unknown>;
  if (type.agsScopes.length === 0) delete claims['https://purl.imsglobal.org/spec/lti-ags/claim/endpoint'];
  else {
    ags.scope = type.agsScopes;
    if (!type.graded) delete ags.lineitem;
  }
  if (!type.sendName) for (const name of ['given_name', 'family_name', 'name']) delete claims[name];
  if (!type.sendEmail) delete claims.email;
  return claims;
}

/** Moves `key` to right after `after`, keeping every other key's order. */
function moveAfter(claims: Record<string, unknown>, key: string, after: string): void {
  if (!(key in claims) || !(after in claims)) return;
  const entries = Object.entries(claims).filter(([k]) => k !== key);
  const value = claims[key];
  for (const k of Object.keys(claims)) delete claims[k];
  for (const [k, v] of entries) {
    claims[k] = v;
    if (k === after) claims[key] = value;
  }
}

export interface DeepLinkingClaimInput extends Omit<ClaimInput, 'resourceLink' | 'documentTarget'> {
  type: Omit<MoodleTypeLaunch, 'nrps' | 'graded'>;
  /** deep_linking_settings.title (the activity name, or the tool name when it is empty) and text. */
  title: string;
  text: string;
  deepLinkReturnUrl: string;
}

/**
 * Moodle 4.4's LtiDeepLinkingRequest (../shared/fixtures/moodle-4.4/registration-and-deep-linking/
 * deep-linking-request.json), key order as captured: no resource_link, no NRPS and no basic outcome
 * claim, AGS with `lineitems` only, custom = the tool-level parameters only, launch_presentation
 * {locale} only, and Moodle's deep_linking_settings (no `data`).
 */
export function moodleDeepLinkingClaims(input: DeepLinkingClaimInput): Record<string, unknown> {
  const { platform, issuer, platformBase, course, subject, type } = input;
  const person = subject.person;
  const claims: Record<string, unknown> = {};
  if (input.nonce !== undefined) claims.nonce = input.nonce;
  Object.assign(claims, {
    iat: input.iat,
    exp: input.iat + input.ttlSeconds,
    iss: issuer,
    aud: input.clientId,
    [`${LTI}/deployment_id`]: input.deploymentId,
    [`${LTI}/target_link_uri`]: input.targetLinkUri,
    sub: person.sub,
    [`${LTI}/lis`]: { person_sourcedid: person.sourcedId, course_section_sourcedid: `${course.label}-ID` },
    [`${LTI}/roles`]: moodleLaunchRoles(subject),
    [`${LTI}/context`]: { id: course.id, label: course.label, title: course.title, type: ['CourseSection'] },
    [`${LTI}/message_type`]: 'LtiDeepLinkingRequest',
  });
  if (type.sendName) Object.assign(claims, { given_name: person.givenName, family_name: person.familyName, name: person.name });
  claims[`${LTI}/ext`] = { user_username: person.username, lms: 'moodle-2' };
  if (type.sendEmail) claims.email = person.email;
  Object.assign(claims, {
    [`${LTI}/launch_presentation`]: { locale: 'en' },
    [`${LTI}/tool_platform`]: {
      product_family_code: 'moodle',
      version: MOODLE_VERSION,
      guid: platformGuid('moodle', issuer),
      name: 'Demo',
      description: platform.name,
    },
    [`${LTI}/version`]: '1.3.0',
  });
  if (Object.keys(type.custom).length > 0) claims[`${LTI}/custom`] = { ...type.custom };
  if (type.agsScopes.length > 0)
    claims['https://purl.imsglobal.org/spec/lti-ags/claim/endpoint'] = {
      scope: type.agsScopes,
      lineitems: `${platformBase}/mod/lti/services.php/${course.id}/lineitems?type_id=${input.deploymentId}`,
    };
  claims['https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings'] = {
    accept_types: ['ltiResourceLink'],
    accept_presentation_document_targets: ['frame', 'iframe', 'window'],
    accept_copy_advice: false,
    accept_multiple: true,
    accept_unsigned: false,
    auto_create: false,
    can_confirm: false,
    deep_link_return_url: input.deepLinkReturnUrl,
    title: input.title,
    text: input.text,
  };
  return claims;
}

function moodleStaticClaims(input: ClaimInput): Record<string, unknown> {
  const { platform, issuer, platformBase, course, subject, resourceLink: rl } = input;
  const person = subject.person;
  const membershipsUrl = moodleMembershipsUrl(platformBase, course.id, input.deploymentId);
  const launchContainer = input.documentTarget === 'iframe' ? 3 : 4;
  const claims: Record<string, unknown> = {};
  if (input.nonce !== undefined) claims.nonce = input.nonce;
  Object.assign(claims, {
    iat: input.iat,
    exp: input.iat + input.ttlSeconds,
    iss: issuer,
    aud: input.clientId,
    [`${LTI}/deployment_id`]: input.deploymentId,
    [`${LTI}/target_link_uri`]: input.targetLinkUri,
    sub: person.sub,
    [`${LTI}/lis`]: { person_sourcedid: person.sourcedId, course_section_sourcedid: `${course.label}-ID` },
    [`${LTI}/roles`]: moodleLaunchRoles(subject),
    [`${LTI}/context`]: { id: course.id, label: course.label, title: course.title, type: ['CourseSection'] },
    [`${LTI}/message_type`]: 'LtiResourceLinkRequest',
    [`${LTI}/resource_link`]: { title: rl.title, description: rl.description ?? '', id: rl.id },
    'https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome': {
      lis_result_sourcedid: moodleResultSourcedId(rl.id, person.lmsUserId, input.deploymentId),
      lis_outcome_service_url: `${platformBase}/mod/lti/service.php`,
    },
    given_name: person.givenName,
    family_name: person.familyName,
    name: person.name,
    [`${LTI}/ext`]: { user_username: person.username, lms: 'moodle-2' },
    email: person.email,
    [`${LTI}/launch_presentation`]: {
      locale: 'en',
      document_target: input.documentTarget,
      return_url: `${platformBase}/mod/lti/return.php?course=${course.id}&launch_container=${launchContainer}&instanceid=${rl.id}&sesskey=${randomHex(5)}`,
    },
    [`${LTI}/tool_platform`]: {
      product_family_code: 'moodle',
      version: MOODLE_VERSION,
      guid: platformGuid('moodle', issuer),
      name: 'Demo',
      description: platform.name,
    },
    [`${LTI}/version`]: '1.3.0',
    'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint': {
      scope: AGS_SCOPES,
      lineitems: `${platformBase}/mod/lti/services.php/${course.id}/lineitems?type_id=${input.deploymentId}`,
      lineitem: `${platformBase}/mod/lti/services.php/${course.id}/lineitems/${Number(rl.id) + 1}/lineitem?type_id=${input.deploymentId}`,
    },
    [`${LTI}/custom`]: { context_memberships_url: membershipsUrl },
    'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice': {
      context_memberships_url: membershipsUrl,
      service_versions: ['1.0', '2.0'],
    },
  });
  return claims;
}

// Canvas -------------------------------------------------------------------------------------

const NO_ERRORS = { errors: {} };

export function canvasMembershipRoles(role: CourseRole): string[] {
  switch (role) {
    case 'instructor':
      return [ROLE.membershipInstructor];
    case 'ta':
      return [ROLE.membershipTeachingAssistant, ROLE.membershipInstructor];
    case 'learner':
    case 'teststudent':
      return [ROLE.membershipLearner];
    case 'designer':
      return [ROLE.membershipContentDeveloper];
    case 'observer':
      return [ROLE.membershipMentor];
  }
}

/** Canvas roles in an id_token: institution roles (from all the user's enrolments and account
 * roles), the course membership roles, then the system roles. */
export function canvasLaunchRoles(platform: DemoPlatform, subject: LaunchSubject): string[] {
  const person = subject.person;
  const institution = new Set<string>();
  for (const c of platform.courses) {
    for (const m of c.members) {
      if (m.person.lmsUserId !== person.lmsUserId) continue;
      if (m.role === 'instructor' || m.role === 'ta') institution.add(ROLE.institutionInstructor);
      if (m.role === 'learner') institution.add(ROLE.institutionStudent);
    }
  }
  if (person.institutionRole === 'admin' || person.institutionRole === 'sysadmin' || subject.isAdmin)
    institution.add(ROLE.institutionAdministrator);
  const roles = [...[...institution].sort(), ...(subject.role ? canvasMembershipRoles(subject.role) : [])];
  if (person.institutionRole === 'sysadmin') roles.push(ROLE.systemSysAdmin);
  if (subject.role === 'teststudent') roles.push(ROLE.testUser);
  roles.push(ROLE.systemUser);
  return roles;
}

export function canvasNamesAndRolesUrl(platformBase: string, courseId: string): string {
  return `${platformBase}/api/lti/courses/${courseId}/names_and_roles`;
}

export function canvasPictureUrl(platformBase: string): string {
  return `${platformBase}/images/messages/avatar-50.png`;
}

export function canvasCustomClaim(person: Person, course: Course): Record<string, string> {
  return { canvas_user_id: person.lmsUserId, canvas_course_id: course.id };
}

export function canvasClaims(input: ClaimInput): Record<string, unknown> {
  const { platform, issuer, platformBase, course, subject, resourceLink: rl } = input;
  const person = subject.person;
  const legacyId = canvasLegacyUserId(person);
  const claims: Record<string, unknown> = {
    [`${LTI}/message_type`]: 'LtiResourceLinkRequest',
    [`${LTI}/version`]: '1.3.0',
    [`${LTI}/resource_link`]: { id: rl.id, description: rl.description, title: rl.title, validation_context: null, errors: NO_ERRORS },
    'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint': {
      scope: AGS_SCOPES,
      lineitems: `${platformBase}/api/lti/courses/${course.id}/line_items`,
      validation_context: null,
      errors: NO_ERRORS,
    },
    aud: input.clientId,
    azp: input.clientId,
    [`${LTI}/deployment_id`]: input.deploymentId,
    exp: input.iat + input.ttlSeconds,
    iat: input.iat,
    iss: issuer,
  };
  if (input.nonce !== undefined) claims.nonce = input.nonce;
  Object.assign(claims, {
    sub: person.sub,
    [`${LTI}/target_link_uri`]: input.targetLinkUri,
    [`${LTI}/context`]: {
      id: canvasContextId(course),
      label: course.label,
      title: course.title,
      type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering'],
      validation_context: null,
      errors: NO_ERRORS,
    },
    [`${LTI}/tool_platform`]: {
      guid: platformGuid('canvas', issuer),
      name: platform.name,
      version: 'cloud',
      product_family_code: 'canvas',
      validation_context: null,
      errors: NO_ERRORS,
    },
    [`${LTI}/launch_presentation`]: {
      document_target: input.documentTarget,
      return_url: `${platformBase}/courses/${course.id}/external_content/success/external_tool_redirect`,
      locale: 'en',
      height: 400,
      width: 800,
      validation_context: null,
      errors: NO_ERRORS,
    },
    locale: 'en',
    [`${LTI}/roles`]: canvasLaunchRoles(platform, subject),
    [`${LTI}/custom`]: canvasCustomClaim(person, course),
    [`${LTI}/lti11_legacy_user_id`]: legacyId,
    [`${LTI}/lti1p1`]: { user_id: legacyId, validation_context: null, errors: NO_ERRORS },
    errors: NO_ERRORS,
    [`${LTI}/lis`]: {
      person_sourcedid: person.sourcedId,
      course_offering_sourcedid: `SIS-${course.label.replace(/\s+/g, '')}`,
      validation_context: null,
      errors: NO_ERRORS,
    },
    picture: canvasPictureUrl(platformBase),
    email: person.email,
    name: person.name,
    given_name: person.givenName,
    family_name: person.familyName,
    'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice': {
      context_memberships_url: canvasNamesAndRolesUrl(platformBase, course.id),
      service_versions: ['2.0'],
      validation_context: null,
      errors: NO_ERRORS,
    },
    'https://www.instructure.com/placement': 'course_navigation',
  });
  return claims;
}
