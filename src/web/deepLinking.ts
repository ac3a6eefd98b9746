/**
 * Placing the tool by LTI Deep Linking (docs/product.md "Placements"). An instructor adding the tool to a course in the
 * LMS ("Select content" in Moodle, link selection in Canvas) launches an LtiDeepLinkingRequest; ltijs validates it and
 * calls its Deep Linking callback (src/ltijsAdapter.ts), which shows this form: the link's title, and what it covers —
 * the whole course, or one activity (a page address pattern, an optional time window, optional thresholds).
 *
 * `POST /deep-linking` (the fields, `csrf` bound to the launch's ltik, the ltik) checks, in this order: the session is a
 * Deep Linking one from an active registration (403), the launch may place the tool (instructors who are not teaching
 * assistants, and administrators: 403 `placement_not_allowed`), the request came from a course (409 `no_course`), the LMS
 * accepts a link and gave an http(s) address to answer to (400), the CSRF token (403 `csrf_failed`, the form again with
 * what was typed), then the fields (422 `invalid_placement`, the form again, what was typed kept and the fields marked).
 * A valid form makes the placement with its audit row (`placement.create`) in one transaction (src/store/placements.ts),
 * then answers with a page whose form posts ltijs's signed LtiDeepLinkingResponse (field `JWT`) back to the LMS: a
 * visible "Return to the LMS" button that a static script (views/assets/auto-submit.js) presses; no inline script (CSP).
 *
 * The content item is one `ltiResourceLink` to the tool's own launch URL, carrying the placement's id as the custom
 * parameter `placement`: Moodle and Canvas keep it and send it back with every launch of the link they create, whose
 * first staff launch binds the placement to its resource link id (src/web/actor.ts).
 *
 * A double submit of the same form (same launch, same content) makes no second placement: the first one's id is kept
 * for the launch (in the upstream cache, an hour, and in memory while the first is still being made) and answered again.
 * Losing that record (the cache emptied) costs no data: the second placement is made but never bound, since the LMS
 * keeps only the one response the browser sends last.
 */
import crypto from 'node:crypto';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { LtiIdToken, Provider } from 'ltijs';
import { DEEP_LINKING_REQUEST } from '../lti/launchChecks';
import { describeRoles } from '../lti/roles';
import { originOf } from '../lti/platformStorage';
import { describePlacement, MAX_PAGE_PATTERN, pagePatternProblem, patternWords, utcMinute, windowWords } from '../risk/placement';
import { SETTING_RULES } from '../settingRules';
import type { NewPlacement, Placement, PlacementStore } from '../store';
import { isTeachingAssistant } from './accommodationView';
import { actorFromToken, registrationNotActive, type Actor } from './actor';
import { auditEntryOf } from './audit';
import type { CsrfTokens } from './csrf';
import { HttpError, problemView, type FormProblem } from './errors';
import { clip, formatDateTime } from './format';
import { bodyOf, codePoints, typed } from './formText';
import type { PlatformDirectory, UpstreamCache } from './ports';
import { toolUrlOf } from './registrationPage';
import { platformCachePrefix } from './upstream';
import { extendPolicy } from './securityHeaders';

export const DEEP_LINKING_ROUTE = '/deep-linking';
/** The title a link gets when the LMS suggests none. */
export const DEFAULT_PLACEMENT_TITLE = 'Integrity signals';
export const MAX_PLACEMENT_TITLE = 200;
/** How long a launch's placement is remembered against a double submit of the same form. */
const DOUBLE_SUBMIT_TTL_SECONDS = 3600;

export interface DeepLinkingDeps {
  platforms: PlatformDirectory;
  placements: PlacementStore;
  csrf: CsrfTokens;
  cache: UpstreamCache;
  /** TOOL_URL, when configured; else the origin the request arrived on (as src/lti/launchChecks.ts takes it). */
  toolUrl: string | undefined;
}

/** The LMS's deep_linking_settings claim (the parts the tool reads). */
interface DeepLinkingSettings {
  deep_link_return_url?: unknown;
  accept_types?: unknown;
  title?: unknown;
}

/** A Deep Linking launch the tool will answer: who, from which course, and where the answer goes. */
interface PlacingLaunch {
  actor: Actor;
  token: LtiIdToken;
  returnUrl: string;
  suggestedTitle: string | null;
}

// ---------------------------------------------------------------------------------------------------------------------
// Who may place the tool

/** Whether the launch's roles let its user place the tool: an administrator, or an instructor who is not a TA. */
export function mayPlace(actor: Actor): boolean {
  return actor.audience === 'admin' || (actor.audience === 'instructor' && !isTeachingAssistant(actor));
}

const notAllowed = (roles: string[]) =>
  new HttpError(
    403,
    'placement_not_allowed',
    'Only the course’s instructors (and administrators) add this tool to a course; your role in this course does not.',
    undefined,
    [
      `Roles sent by your LMS: ${describeRoles(roles).join(', ') || 'none'}.`,
      'Students and teaching assistants open the tool from a link or activity that an instructor has added.',
    ],
  );

/**
 * The Deep Linking launch of this request (ltijs has validated its ltik or id_token), or the error page that says why
 * the tool will not place itself from it.
 */
async function placingLaunch(deps: DeepLinkingDeps, res: Response): Promise<PlacingLaunch> {
  const token = res.locals.token as LtiIdToken | undefined;
  const ltik = res.locals.ltik as string | undefined;
  if (!token || !ltik) throw new HttpError(401, 'no_launch', 'Open this tool from your course in the LMS.');
  const ctx = token.platformContext;
  if (ctx?.messageType !== DEEP_LINKING_REQUEST) {
    throw new HttpError(
      403,
      'not_deep_linking_session',
      'This session was opened to use the tool, not to add it to a course, so it cannot place the tool.',
      undefined,
      ['To add the tool to a course, use the LMS’s own way: add an activity or link and choose “Select content”.'],
    );
  }
  const platform = await deps.platforms.find(token.iss, token.clientId);
  if (!platform) throw new HttpError(403, 'unknown_platform', 'This LMS is not registered with the tool.');
  if (platform.status !== 'active') throw registrationNotActive(platform.status);
  const roles = Array.isArray(ctx.roles) ? ctx.roles.filter((r): r is string => typeof r === 'string') : [];
  let actor: Actor;
  try {
    actor = actorFromToken(token, ltik, platform);
  } catch (err) {
    // No audience at all (a designer, an observer): the same answer as a student's, in the words of placing.
    if (err instanceof HttpError && err.code === 'forbidden') throw notAllowed(roles);
    throw err;
  }
  if (!mayPlace(actor)) throw notAllowed(roles);
  if (!actor.context.id) {
    throw new HttpError(409, 'no_course', 'A placement belongs to a course, and this request did not come from one.', undefined, [
      'Add the tool from inside a course in the LMS.',
    ]);
  }
  const settings = (ctx as { deepLinkingSettings?: DeepLinkingSettings }).deepLinkingSettings ?? {};
  const accepts = Array.isArray(settings.accept_types) ? settings.accept_types.filter((t): t is string => typeof t === 'string') : [];
  if (!accepts.includes('ltiResourceLink')) {
    throw new HttpError(
      400,
      'deep_link_type_not_accepted',
      `Your LMS asked for content this tool does not make (it accepts: ${accepts.map((t) => clip(t, 40)).join(', ') || 'nothing'}); the tool adds a link.`,
      undefined,
      [
        'Add the tool where the LMS accepts a link to a tool (an external tool activity in Moodle, an assignment or module item in Canvas).',
      ],
    );
  }
  const returnUrl = typeof settings.deep_link_return_url === 'string' ? settings.deep_link_return_url : '';
  if (!isHttpUrl(returnUrl)) {
    throw new HttpError(
      400,
      'deep_link_return_invalid',
      'Your LMS did not say where to send the placement back to (its return address is missing or not a web address), so the tool cannot place itself.',
      undefined,
      ['Try again from the LMS. If it keeps happening, an LMS administrator should check the tool’s registration.'],
    );
  }
  const title = typeof settings.title === 'string' ? settings.title.trim() : '';
  return { actor, token, returnUrl, suggestedTitle: title ? clip(title, MAX_PLACEMENT_TITLE) : null };
}

function isHttpUrl(s: string): boolean {
  if (s.length === 0 || s.length > 2048) return false;
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The form

const FIELDS = ['title', 'scope', 'pattern', 'start', 'end', 'high', 'elevated'] as const;
type Field = (typeof FIELDS)[number];
type PlacementInput = Record<Field, string>;

/** The values of a placement the form gives, as the store takes them (the rest is the launch's). */
type ValidPlacement = Pick<NewPlacement, 'title' | 'scope' | 'urlPattern' | 'windowStart' | 'windowEnd' | 'thresholds'>;

const DATETIME_LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?$/;

/** A `datetime-local` value read as a UTC time; null when it is not a real date and time. */
export function utcFromDatetimeLocal(value: string): Date | null {
  const m = DATETIME_LOCAL.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // 2026-02-30 rolls over into March: not a date anyone meant.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  return date;
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const FIELD_WORDS: Record<'high' | 'elevated', string> = { high: 'High', elevated: 'Elevated' };

function validatePlacement(input: PlacementInput): { ok: true; value: ValidPlacement } | { ok: false; errors: Array<[Field, string]> } {
  const errors: Array<[Field, string]> = [];
  if (input.title === '') errors.push(['title', 'Give the link a title: the LMS shows it as the name of the activity or link.']);
  else if (codePoints(input.title) > MAX_PLACEMENT_TITLE)
    errors.push([
      'title',
      `The title is ${codePoints(input.title).toLocaleString('en-GB')} characters long; at most ${MAX_PLACEMENT_TITLE} are allowed.`,
    ]);
  const scope = input.scope === 'course' || input.scope === 'activity' ? input.scope : null;
  if (!scope) errors.push(['scope', 'Choose what this placement covers: the whole course, or one activity.']);
  if (scope !== 'activity') {
    // For the whole course the activity's fields are not used (they stay in the form, unsaved).
    if (errors.length > 0 || !scope) return { ok: false, errors };
    return {
      ok: true,
      value: { title: input.title, scope, urlPattern: null, windowStart: null, windowEnd: null, thresholds: null },
    };
  }
  const patternProblem = input.pattern === '' ? 'For one activity, type the address of its pages.' : pagePatternProblem(input.pattern);
  if (patternProblem) errors.push(['pattern', patternProblem]);
  const time = (field: 'start' | 'end'): Date | null => {
    if (input[field] === '') return null;
    const d = utcFromDatetimeLocal(input[field]);
    if (!d) errors.push([field, 'Use a date and a time, such as 2026-03-01 09:00 (UTC).']);
    return d;
  };
  const windowStart = time('start');
  const windowEnd = time('end');
  if (windowStart && windowEnd && windowEnd.getTime() <= windowStart.getTime())
    errors.push(['end', 'The end must be later than the start.']);
  const thresholds = readThresholds(input, errors);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { title: input.title, scope, urlPattern: input.pattern, windowStart, windowEnd, thresholds } };
}

/** Both lines or neither, each a number, then the registration's rule (src/settingRules.ts `thresholds`) on the pair. */
function readThresholds(input: PlacementInput, errors: Array<[Field, string]>): { high: number; elevated: number } | null {
  if (input.high === '' && input.elevated === '') return null;
  const numbers: Partial<Record<'high' | 'elevated', number>> = {};
  for (const field of ['high', 'elevated'] as const) {
    const text = input[field];
    if (text === '')
      errors.push([field, `Give both lines, or neither (then this LMS’s thresholds apply); ${FIELD_WORDS[field]} is empty.`]);
    else if (!DECIMAL.test(text)) errors.push([field, `${FIELD_WORDS[field]} must be a number between 0 and 1, such as 0.80.`]);
    else numbers[field] = Number(text);
  }
  if (numbers.high === undefined || numbers.elevated === undefined) return null;
  const checked = SETTING_RULES.thresholds.safeParse({ high: numbers.high, elevated: numbers.elevated });
  if (checked.success) return checked.data;
  for (const issue of checked.error.issues) {
    const field = issue.path[0] === 'high' || issue.path[0] === 'elevated' ? issue.path[0] : 'high';
    errors.push([
      field,
      `${FIELD_WORDS[field]}: ${issue.message.replace(/"(high|elevated)"/g, (_m, f: 'high' | 'elevated') => FIELD_WORDS[f])}.`,
    ]);
  }
  return null;
}

function readInput(body: Record<string, unknown>): PlacementInput {
  const input = {} as PlacementInput;
  for (const f of FIELDS) input[f] = typed(body[f]);
  return input;
}

const fieldId = (f: Field) => (f === 'scope' ? 'dl-scope-course' : `dl-${f}`);

function renderForm(
  deps: DeepLinkingDeps,
  res: Response,
  launch: PlacingLaunch,
  input: PlacementInput,
  problem: FormProblem | null,
  errors: Array<[Field, string]> = [],
): void {
  const { actor } = launch;
  const marks: Partial<Record<Field, { id: string; message: string }>> = {};
  for (const [f, message] of errors) {
    const prior = marks[f];
    marks[f] = { id: `dl-${f}-error`, message: prior ? `${prior.message} ${message}` : message };
  }
  const t = actor.platform.thresholds;
  res.status(problem?.status ?? 200).render('pages/deep-linking', {
    title: problem ? problem.heading : 'Add the tool to your course',
    who: actor.displayName,
    course: actor.context.title ?? actor.context.label ?? null,
    problem: problem && problemView(res, problem),
    summary: errors.length > 0 ? errors.map(([f, message]) => ({ href: `#${fieldId(f)}`, message })) : null,
    form: {
      action: DEEP_LINKING_ROUTE,
      ltik: actor.ltik,
      csrf: deps.csrf.tokenFor(actor.ltik),
      values: input,
      course: input.scope === 'course',
      activity: input.scope === 'activity',
      errors: marks,
      maxTitle: MAX_PLACEMENT_TITLE,
      maxPattern: MAX_PAGE_PATTERN,
    },
    nowUtc: utcMinute(new Date()),
    registration: { name: clip(actor.platform.name, 80), high: t.high.toFixed(2), elevated: t.elevated.toFixed(2) },
  });
}

const blankInput = (title: string): PlacementInput => ({
  title,
  scope: 'course',
  pattern: '',
  start: '',
  end: '',
  high: '',
  elevated: '',
});

/**
 * ltijs's Deep Linking callback (src/ltijsAdapter.ts): the form, or the page that says why this launch cannot place
 * the tool.
 */
export function deepLinkingForm(deps: DeepLinkingDeps): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  return async (_req, res, next) => {
    try {
      const launch = await placingLaunch(deps, res);
      renderForm(deps, res, launch, blankInput(launch.suggestedTitle ?? DEFAULT_PLACEMENT_TITLE), null);
    } catch (err) {
      next(err);
    }
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The answer to the LMS

/** The one sentence the LMS shows under the link (Moodle: the activity's description). */
export function contentItemText(p: Pick<Placement, 'scope' | 'urlPattern' | 'windowStart' | 'windowEnd' | 'thresholds'>): string {
  if (p.scope !== 'activity' || !p.urlPattern) return 'Integrity signals of the whole course’s sessions, for the course’s staff.';
  return clip(`Integrity signals of the sessions on pages ${patternWords(p.urlPattern)}${windowWords(p)}, for the course’s staff.`, 1000);
}

interface DeepLinkingService {
  createDeepLinkingMessage(token: LtiIdToken, items: unknown[], options: { message?: string }): Promise<string>;
}

/** The same person's same content in the same launch: the key its placement is remembered under. */
function doubleSubmitKey(actor: Actor, v: ValidPlacement): string {
  const content = JSON.stringify([
    v.title,
    v.scope,
    v.urlPattern,
    v.windowStart?.toISOString() ?? null,
    v.windowEnd?.toISOString() ?? null,
    v.thresholds?.high ?? null,
    v.thresholds?.elevated ?? null,
  ]);
  const digest = crypto.createHash('sha256').update(`${actor.ltik}\n${actor.sub}\n${content}`).digest('base64url');
  return `${platformCachePrefix(actor.platform)}:placement-submit:${digest}`;
}

/** Placements being made right now, by double-submit key: a second submit waits for the first. */
const inFlight = new Map<string, Promise<Placement>>();

async function makeOnce(
  deps: DeepLinkingDeps,
  res: Response,
  actor: Actor,
  v: ValidPlacement,
): Promise<{ placement: Placement; reused: boolean }> {
  const key = doubleSubmitKey(actor, v);
  const running = inFlight.get(key);
  if (running) return { placement: await running, reused: true };
  const remembered = await deps.cache.get(key);
  if (typeof remembered === 'string') {
    const found = await deps.placements.get(remembered);
    if (found) return { placement: found, reused: true };
  }
  const making = deps.placements.create({
    platformIss: actor.platform.issuer,
    platformClientId: actor.platform.clientId,
    deploymentId: actor.deploymentId,
    contextId: actor.context.id!,
    ...v,
    createdByUserId: actor.userId ?? actor.sub,
    audit: {
      ...auditEntryOf(actor, res, 'placement.create'),
      // What it covers, never who: a placement names no student.
      detail: { scope: v.scope, window: Boolean(v.windowStart || v.windowEnd), thresholds: Boolean(v.thresholds) },
    },
  });
  inFlight.set(key, making);
  try {
    const placement = await making;
    await deps.cache.set(key, placement.id, DOUBLE_SUBMIT_TTL_SECONDS);
    return { placement, reused: false };
  } finally {
    inFlight.delete(key);
  }
}

/** The answer page's CSP: its script (views/assets/auto-submit.js) from the tool, its form to the LMS's return address. */
function allowReturn(res: Response, returnUrl: string): void {
  extendPolicy(res, 'script-src', ["'self'"]);
  const origin = originOf(returnUrl);
  // The return address may be on another origin than the ones every page allows (a Canvas institution's own domain,
  // while its issuer is canvas.instructure.com).
  if (origin) extendPolicy(res, 'form-action', [origin]);
}

async function submit(deps: DeepLinkingDeps & { lti: Provider }, req: Request, res: Response): Promise<void> {
  const launch = await placingLaunch(deps, res);
  const { actor, token } = launch;
  const body = bodyOf(req);
  const input = readInput(body);
  const refused = deps.csrf.refusal(actor.ltik, body.csrf);
  if (refused) {
    return renderForm(deps, res, launch, input, {
      status: 403,
      code: refused.code,
      heading: 'Nothing was placed',
      message: refused.message,
      hints: ['What you typed is kept below: check it and send the form again from this page.'],
    });
  }
  const valid = validatePlacement(input);
  if (!valid.ok) {
    return renderForm(
      deps,
      res,
      launch,
      input,
      {
        status: 422,
        code: 'invalid_placement',
        heading: 'Some of the fields need changing',
        message: 'Nothing was placed. The fields marked below say what to change; what you typed is kept.',
      },
      valid.errors,
    );
  }
  const { placement } = await makeOnce(deps, res, actor, valid.value);
  const sentence = describePlacement(placement, actor.platform.thresholds, (d) => formatDateTime(d));
  const item = {
    type: 'ltiResourceLink',
    title: placement.title,
    text: contentItemText(placement),
    url: `${toolUrlOf(req, deps.toolUrl).replace(/\/+$/, '')}/`,
    custom: { placement: placement.id },
  };
  const service = (deps.lti as unknown as { DeepLinking: DeepLinkingService }).DeepLinking;
  let jwt: string;
  try {
    jwt = await service.createDeepLinkingMessage(token, [item], { message: clip(`Added “${placement.title}”.`, 240) });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new HttpError(
      reason === 'PLATFORM_NOT_ACTIVATED' || reason === 'PLATFORM_NOT_FOUND' ? 403 : 500,
      'deep_link_response_failed',
      'The tool could not sign its answer to your LMS, so the link was not added.',
      { reason: clip(reason, 80) },
      ['Try again from the LMS. If it keeps happening, tell the tool’s operator the reference below.'],
    );
  }
  allowReturn(res, launch.returnUrl);
  res.status(200).render('pages/deep-linking-return', {
    title: 'Return to the LMS',
    who: actor.displayName,
    placement: { title: placement.title, sentence },
    returnForm: { action: launch.returnUrl, jwt },
  });
}

/**
 * `POST /deep-linking` (and `GET`, the form again, for a reload). Mounted before the pages' actor check
 * (src/web/actor.ts refuses a Deep Linking session for every other page).
 */
export function deepLinkingRouter(deps: DeepLinkingDeps & { lti: Provider }): Router {
  const r = Router();
  r.get(DEEP_LINKING_ROUTE, deepLinkingForm(deps));
  r.post(DEEP_LINKING_ROUTE, (req, res, next) => {
    submit(deps, req, res).catch(next);
  });
  return r;
}
