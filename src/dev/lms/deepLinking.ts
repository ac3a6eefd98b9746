/**
 * LTI Deep Linking, platform side, shaped like Moodle 4.4 (mod/lti/contentitem.php and
 * contentitem_return.php), as captured in ../shared/fixtures/moodle-4.4/registration-and-deep-linking
 * (deep-linking-response.json, launch-after-deep-link.json).
 *
 * The return: Moodle fetches the tool's keyset from the tool type's registered `jwks_uri` (real HTTP)
 * and checks the LtiDeepLinkingResponse JWT; from each ltiResourceLink item it makes an activity:
 * title → name, text → intro, url → tool URL (the type's target_link_uri when absent), custom →
 * the instructor's custom parameters (`key=value` lines, stored with \r\n), lineItem → a grade item.
 * The emulator also refuses a replayed response (the same JWT, or the same nonce, twice), which
 * every platform should do.
 */
import { createHash } from 'node:crypto';
import type { Course, DemoPlatform, Membership } from '../people';
import { escapeHtml, BASE_CSS } from './html';
import { decodeJwt, isRecord, JwtError, verifyJwt } from './jwt';
import type { ToolType } from './registration';
import { fetchJwks } from './tokens';

const LTI = 'https://purl.imsglobal.org/spec/lti/claim';
const DL = 'https://purl.imsglobal.org/spec/lti-dl/claim';

/** An LTI activity (mdl_lti + mdl_course_modules) made from a deep linking response. */
export interface LtiActivity {
  /** Course module id: view.php?id=<cmid>, lti_message_hint's cmid. */
  cmid: string;
  /** mdl_lti.id: the resource_link id of its launches. */
  instanceId: string;
  courseId: string;
  /** The tool type (and deployment) it launches. */
  typeId: string;
  name: string;
  intro: string;
  /** `toolurl`: the launch's target_link_uri. */
  toolUrl: string;
  /** `instructorcustomparameters`, as Moodle stores them: `key=value` lines joined with \r\n. */
  customParameters: string;
  /** The content item's lineItem (Moodle makes a grade item from it). */
  lineItem?: { scoreMaximum?: number; label?: string; resourceId?: string; tag?: string };
  /** The content item as the tool sent it. */
  contentItem: Record<string, unknown>;
  /** lmsUserId of the teacher who added it. */
  createdBy: string;
  timeCreated: number;
}

/** A deep linking response the platform verified and acted on. */
export interface DeepLinkResponse {
  typeId: string;
  courseId: string;
  userId: string;
  jwt: string;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The activities made from it. */
  cmids: string[];
  receivedAt: number;
}

/** A refused deep linking return: the page says code and message. */
export class DeepLinkError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'DeepLinkError';
  }
}

/** What has been used already: a response is accepted once (by JWT, and by nonce per tool). */
export class DeepLinkReplayGuard {
  private readonly jwts = new Set<string>();
  private readonly nonces = new Set<string>();

  check(jwt: string, clientId: string, nonce: string): void {
    if (this.jwts.has(digest(jwt)))
      throw new DeepLinkError('deep_link_replayed', 'this deep linking response was already received: a response is accepted once', 409);
    if (this.nonces.has(`${clientId}\u0000${nonce}`))
      throw new DeepLinkError('deep_link_replayed', `the nonce ${nonce} was already used by a deep linking response of this tool`, 409);
  }

  use(jwt: string, clientId: string, nonce: string): void {
    this.jwts.add(digest(jwt));
    this.nonces.add(`${clientId}\u0000${nonce}`);
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const JWT_ERROR_CODE: Record<JwtError['code'], string> = {
  JWT_MALFORMED: 'jwt_malformed',
  JWT_ALG: 'jwt_alg',
  JWT_KID_UNKNOWN: 'jwt_kid_unknown',
  JWT_SIGNATURE: 'jwt_signature',
  JWT_EXPIRED: 'jwt_expired',
  JWT_CLAIMS: 'jwt_claims',
};

export interface VerifyContext {
  /** The platform's issuer: the JWT's `aud`. */
  issuer: string;
  nowSeconds: number;
  guard: DeepLinkReplayGuard;
}

/**
 * Verifies a deep linking response JWT from the tool of `type` (Moodle's lti_convert_from_jwt and
 * lti_verify_jwt_signature, and the spec's checks): iss = client_id, the signature by kid against
 * the keyset fetched from the type's jwks_uri, exp and iat, aud = the issuer, message type, version,
 * deployment id = the type id, a nonce, and no replay. Returns the verified header and payload.
 */
export async function verifyDeepLinkingResponse(
  jwt: string,
  type: ToolType,
  ctx: VerifyContext,
): Promise<{ header: Record<string, unknown>; payload: Record<string, unknown> }> {
  let unverified: Record<string, unknown>;
  try {
    unverified = decodeJwt(jwt).payload;
  } catch (err) {
    if (err instanceof JwtError) throw new DeepLinkError('jwt_malformed', err.message);
    throw err;
  }
  // Moodle looks at the consumer key (iss) before it verifies the signature.
  if (unverified.iss !== type.clientId)
    throw new DeepLinkError('jwt_claims', `iss must be this tool's client_id ${type.clientId} (got ${JSON.stringify(unverified.iss)})`);
  let jwks: { keys: unknown[] };
  try {
    jwks = await fetchJwks(type.jwksUri);
  } catch (err) {
    throw new DeepLinkError('jwks_unreachable', `could not read the tool's keyset at ${type.jwksUri}: ${(err as Error).message}`, 401);
  }
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    ({ header, payload } = verifyJwt(jwt, jwks, ctx.nowSeconds));
  } catch (err) {
    if (err instanceof JwtError)
      throw new DeepLinkError(JWT_ERROR_CODE[err.code], `the deep linking response does not verify: ${err.message}`, 401);
    throw err;
  }
  if (typeof payload.iat !== 'number') throw new DeepLinkError('jwt_claims', 'iat is required');
  if (payload.iat > ctx.nowSeconds + 60) throw new DeepLinkError('jwt_claims', 'iat is in the future');
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!aud.includes(ctx.issuer)) throw new DeepLinkError('jwt_claims', `aud must be the platform issuer ${ctx.issuer}`);
  if (payload[`${LTI}/message_type`] !== 'LtiDeepLinkingResponse')
    throw new DeepLinkError(
      'jwt_claims',
      `message_type must be LtiDeepLinkingResponse (got ${JSON.stringify(payload[`${LTI}/message_type`])})`,
    );
  if (payload[`${LTI}/version`] !== '1.3.0') throw new DeepLinkError('jwt_claims', 'version must be 1.3.0');
  if (payload[`${LTI}/deployment_id`] !== type.id)
    throw new DeepLinkError(
      'jwt_claims',
      `deployment_id must be ${type.id}, the tool type's (got ${JSON.stringify(payload[`${LTI}/deployment_id`])})`,
    );
  const nonce = payload.nonce;
  if (typeof nonce !== 'string' || nonce === '') throw new DeepLinkError('jwt_claims', 'nonce is required');
  ctx.guard.check(jwt, type.clientId, nonce);
  return { header, payload };
}

/** The ltiResourceLink items of a verified response. */
export function resourceLinkItems(payload: Record<string, unknown>): Array<Record<string, unknown>> {
  const items = payload[`${DL}/content_items`];
  if (!Array.isArray(items)) return [];
  return items.filter((i): i is Record<string, unknown> => isRecord(i) && i.type === 'ltiResourceLink');
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

/** The activity Moodle makes of one ltiResourceLink item (ids given by the caller). */
export function activityFromItem(
  item: Record<string, unknown>,
  type: ToolType,
  ids: { cmid: string; instanceId: string; courseId: string; userId: string; now: number },
): LtiActivity {
  const custom = isRecord(item.custom) ? Object.entries(item.custom).map(([k, v]) => `${k}=${str(v)}`) : [];
  const lineItem = isRecord(item.lineItem)
    ? {
        ...(typeof item.lineItem.scoreMaximum === 'number' ? { scoreMaximum: item.lineItem.scoreMaximum } : {}),
        ...(typeof item.lineItem.label === 'string' ? { label: item.lineItem.label } : {}),
        ...(typeof item.lineItem.resourceId === 'string' ? { resourceId: item.lineItem.resourceId } : {}),
        ...(typeof item.lineItem.tag === 'string' ? { tag: item.lineItem.tag } : {}),
      }
    : undefined;
  return {
    cmid: ids.cmid,
    instanceId: ids.instanceId,
    courseId: ids.courseId,
    typeId: type.id,
    name: str(item.title) || type.name,
    intro: str(item.text),
    toolUrl: str(item.url) || type.toolUrl,
    customParameters: custom.join('\r\n'),
    ...(lineItem ? { lineItem } : {}),
    contentItem: item,
    createdBy: ids.userId,
    timeCreated: ids.now,
  };
}

/** Course members for launch links: staff first, as the demo page lists them. */
export function membersForLinks(course: Course): Membership[] {
  return [...course.members].sort((a, b) => Number(a.role === 'learner') - Number(b.role === 'learner'));
}

const VISIBLE_PEOPLE = 10;

/** Links that launch `activity` as each member of its course (the first ten, the rest folded). */
export function activityLaunchLinks(activity: LtiActivity, course: Course, target: string | null): string {
  const link = (m: Membership): string => {
    const href = `/moodle/mod/lti/view.php?${new URLSearchParams({ id: activity.cmid, user: m.person.lmsUserId }).toString()}`;
    return `<li><a href="${escapeHtml(href)}"${target ? ` target="${escapeHtml(target)}"` : ''}>Launch ${escapeHtml(activity.name)} as ${escapeHtml(m.person.name)}</a> <span class="muted">(${escapeHtml(m.role)})</span></li>`;
  };
  const members = membersForLinks(course);
  const first = members.slice(0, VISIBLE_PEOPLE).map(link).join('\n');
  const rest = members.slice(VISIBLE_PEOPLE);
  return `<ul class="launch-links">
${first}
</ul>${
    rest.length > 0
      ? `
<details>
  <summary>Launch ${escapeHtml(activity.name)} as one of ${rest.length} more people</summary>
  <ul class="launch-links">
${rest.map(link).join('\n')}
  </ul>
</details>`
      : ''
  }`;
}

/** contentitem_return.php's answer: what was added, with launch links per member. */
export function renderContentItemReturnPage(platform: DemoPlatform, course: Course, activities: LtiActivity[], message: string): string {
  const blocks = activities
    .map(
      (a) => `<section class="activity" aria-labelledby="activity-${escapeHtml(a.cmid)}" data-cmid="${escapeHtml(a.cmid)}">
  <h2 id="activity-${escapeHtml(a.cmid)}">${escapeHtml(a.name)}</h2>
  <dl>
    <dt>Course module id (cmid)</dt><dd data-field="cmid">${escapeHtml(a.cmid)}</dd>
    <dt>Instance id (resource link id)</dt><dd data-field="instance">${escapeHtml(a.instanceId)}</dd>
    <dt>Tool URL</dt><dd data-field="url"><code>${escapeHtml(a.toolUrl)}</code></dd>
    <dt>Description</dt><dd data-field="intro">${a.intro ? escapeHtml(a.intro) : '<span class="muted">(none)</span>'}</dd>
    <dt>Custom parameters</dt><dd data-field="custom">${
      a.customParameters ? `<pre>${escapeHtml(a.customParameters.replace(/\r\n/g, '\n'))}</pre>` : '<span class="muted">(none)</span>'
    }</dd>
  </dl>
  <h3>Launch it</h3>
  ${activityLaunchLinks(a, course, null)}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Activity added to ${escapeHtml(course.label)}</title><style>${BASE_CSS}
  .activity { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; padding: .25rem 1rem 1rem; margin-bottom: 1rem; }
  dt { font-weight: 600; } dd { margin: 0 0 .5rem 0; }
  .muted { color: #4a5565; }
  a { color: #1f4e9c; }
</style></head>
<body>
<main data-cmids="${escapeHtml(activities.map((a) => a.cmid).join(','))}" id="content-item-return">
  <h1>${activities.length === 1 ? 'Activity added' : `${activities.length} activities added`} to ${escapeHtml(course.label)}: ${escapeHtml(course.title)}</h1>
  <p>${escapeHtml(platform.name)} made ${activities.length === 1 ? 'this activity' : 'these activities'} from the tool's deep linking response.${
    message ? ` The tool said: “${escapeHtml(message)}”` : ''
  }</p>
  ${blocks}
</main>
<script src="/assets/contentitem-return.js"></script>
</body>
</html>`;
}

/** Tells the demo LMS page (the parent) that activities were added, so it lists them. */
export const CONTENT_ITEM_RETURN_SCRIPT = `(function () {
  'use strict';
  var main = document.getElementById('content-item-return');
  if (!main || window.parent === window) return;
  var cmids = (main.getAttribute('data-cmids') || '').split(',').filter(Boolean);
  try {
    window.parent.postMessage({ subject: 'lms.content_items_added', cmids: cmids }, window.location.origin);
  } catch (e) {
    /* a parent on another origin is not the demo page */
  }
})();
`;
