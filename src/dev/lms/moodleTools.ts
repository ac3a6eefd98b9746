/**
 * The Moodle platform's dynamically registered tools ("tool types") and the activities deep linking
 * makes with them, and the Moodle 4.4 routes for both (development and tests only):
 *
 * - `GET  /moodle/mod/lti/openid-configuration.php`: the platform's openid-configuration.
 * - `GET  /moodle/mod/lti/startltiadvregistration.php?url=<tool registration URL>`: 302 to the tool
 *   with `openid_configuration` and `registration_token`.
 * - `POST /moodle/mod/lti/openid-registration.php`: the tool registers (Bearer registration token).
 * - `GET  /moodle/mod/lti/tooltypes.php`: the tool types as JSON (what Moodle's Manage tools page
 *   reads by AJAX, mod_lti_get_tool_types_and_proxies; an emulator route).
 * - `POST /moodle/mod/lti/toolconfigure.php` (form: action=activate|deactivate|reject, id): the
 *   tool card's Activate button (Moodle: AJAX mod_lti_update_tool_type).
 * - `GET|POST /moodle/mod/lti/contentitem.php?course=&id=<typeId>&user=[&title=&text=]`: "Select
 *   content": the login initiation of an LtiDeepLinkingRequest.
 * - `POST /moodle/mod/lti/contentitem_return.php?course=&id=<typeId>&sesskey=` (form field `JWT`):
 *   the tool's deep linking response; makes the activities.
 * - `GET  /moodle/mod/lti/view.php?id=<cmid>&user=`: launches an activity made by deep linking.
 *
 * `user` stands for who is logged in to Moodle (the emulator has no login); without it the
 * MoodleSession cookie set by an earlier launch is used. `ignoreToolState=1` (a test knob, not
 * Moodle) launches a tool type Moodle would not offer (Pending or Rejected), so that a tool can be
 * tested against a platform it has not activated itself.
 */
import cookieParser from 'cookie-parser';
import express, { type Express, type Request, type Response } from 'express';
import type { Course, DemoPlatform } from '../people';
import { moodleLaunchRoles, type MoodleTypeLaunch } from './claims';
import {
  activityFromItem,
  CONTENT_ITEM_RETURN_SCRIPT,
  DeepLinkError,
  DeepLinkReplayGuard,
  renderContentItemReturnPage,
  resourceLinkItems,
  verifyDeepLinkingResponse,
  type DeepLinkResponse,
  type LtiActivity,
} from './deepLinking';
import type { PendingLaunch, Tamper } from './emulator';
import { errorPage } from './html';
import { isRecord, JwtError, signJwt, verifyJwt, type SigningKey } from './jwt';
import { findCourse, findLaunchSubject, LmsError, resourceLinks, type LaunchSubject, type ResourceLink } from './model';
import {
  agsScopesFor,
  configToRegistration,
  moodleRandomString,
  openidConfiguration,
  RegistrationError,
  registrationToConfig,
  splitCustomParameters,
  TOOL_STATE_TEXT,
  toolTypeView,
  type ToolType,
  type ToolTypeConfig,
  type ToolTypeState,
} from './registration';

/** "Select content" as a teacher of a course, with a tool type (contentitem.php). */
export interface DeepLinkingRequest {
  courseId: string;
  /** The tool type id (Moodle's `id` parameter). */
  typeId: string;
  /** The teacher (lmsUserId). */
  userId: string;
  /** The activity name typed in the form ('' → the tool's name), and its description. */
  title?: string;
  text?: string;
  /** Test knob: deep link with a tool type Moodle has not activated. */
  ignoreToolState?: boolean;
  tamper?: Tamper;
}

/** A launch of an activity made by deep linking (view.php?id=<cmid>). */
export interface ActivityLaunchRequest {
  cmid: string;
  userId: string;
  /** Test knob: launch even when the activity's tool type is not Active in Moodle. */
  ignoreToolState?: boolean;
  tamper?: Tamper;
}

export class MoodleToolRegistry {
  private readonly typesById = new Map<string, ToolType>();
  /** Type 1 is the static registration (MOODLE_DEPLOYMENT_ID), so dynamic ones start at 2. */
  private nextTypeId = 2;
  private readonly activitiesByCmid = new Map<string, LtiActivity>();
  private nextCmid: number;
  private readonly sesskeys = new Map<string, { userId: string; courseId: string; typeId: string }>();
  readonly responses: DeepLinkResponse[] = [];
  readonly guard = new DeepLinkReplayGuard();

  constructor(
    readonly platform: DemoPlatform,
    readonly issuer: string,
    /** `${emulator}/moodle` */
    readonly base: string,
  ) {
    // Activities made by deep linking take the course module (and instance) ids after the built-in ones.
    const ids = platform.courses.flatMap((c) => resourceLinks(platform, c).map((l) => Number(l.id)));
    this.nextCmid = Math.max(0, ...ids) + 1;
  }

  types(): ToolType[] {
    return [...this.typesById.values()];
  }

  toolType(id: string): ToolType | undefined {
    return this.typesById.get(id);
  }

  requireType(id: string): ToolType {
    const type = this.typesById.get(id);
    if (!type) throw new LmsError('UNKNOWN_TOOL_TYPE', `no tool type ${id} on ${this.platform.name}`, 404);
    return type;
  }

  typeByClientId(clientId: string | undefined): ToolType | undefined {
    if (clientId === undefined) return undefined;
    return this.types().find((t) => t.clientId === clientId);
  }

  /** A tool type Moodle would launch: Active, unless the test knob says otherwise. */
  launchableType(id: string, ignoreState: boolean): ToolType {
    const type = this.requireType(id);
    if (type.state !== 'active' && !ignoreState)
      throw new LmsError(
        'TOOL_NOT_ACTIVE',
        `The tool "${type.name}" is ${TOOL_STATE_TEXT[type.state]}: a site administrator must activate it (Site administration › Plugins › Activity modules › External tool › Manage tools) before it can be used.`,
        403,
      );
    return type;
  }

  addType(config: ToolTypeConfig, request: Record<string, unknown>, nowSeconds: number): ToolType {
    const type: ToolType = {
      ...config,
      id: String(this.nextTypeId++),
      state: 'pending',
      registrationRequest: request,
      registrationResponse: {},
      timeCreated: nowSeconds,
      timeModified: nowSeconds,
    };
    type.registrationResponse = configToRegistration(type);
    this.typesById.set(type.id, type);
    return type;
  }

  setState(id: string, state: ToolTypeState, nowSeconds: number): ToolType {
    const type = this.requireType(id);
    type.state = state;
    type.timeModified = nowSeconds;
    return type;
  }

  activityList(courseId?: string): LtiActivity[] {
    const all = [...this.activitiesByCmid.values()];
    return courseId === undefined ? all : all.filter((a) => a.courseId === courseId);
  }

  activity(cmid: string): LtiActivity | undefined {
    return this.activitiesByCmid.get(cmid);
  }

  requireActivity(cmid: string): LtiActivity {
    const activity = this.activitiesByCmid.get(cmid);
    if (!activity) throw new LmsError('UNKNOWN_RESOURCE_LINK', `no LTI activity with course module id ${cmid}`, 404);
    return activity;
  }

  /** Ids for a new activity: course module id and lti instance id (both from one counter). */
  nextActivityIds(): { cmid: string; instanceId: string } {
    const id = String(this.nextCmid++);
    return { cmid: id, instanceId: id };
  }

  addActivity(activity: LtiActivity): void {
    this.activitiesByCmid.set(activity.cmid, activity);
  }

  resourceLinkOf(activity: LtiActivity): ResourceLink {
    // Registration sets launch container "Embed, without blocks": the activity opens in an iframe.
    return { id: activity.instanceId, title: activity.name, description: activity.intro, target: 'iframe' };
  }

  /** How the type (and the activity) shape a launch's claims. */
  typeLaunch(
    type: ToolType,
    subject: LaunchSubject,
    course: Course,
    resourceLink: ResourceLink | undefined,
    activity: LtiActivity | undefined,
  ): MoodleTypeLaunch {
    const subs = substitutions(type, subject, course, resourceLink);
    // Moodle: array_merge(instructor's, tool type's): the activity's keys first, the type's win.
    const custom = {
      ...(activity ? splitCustomParameters(activity.customParameters, subs) : {}),
      ...splitCustomParameters(type.customParameters, subs),
    };
    return {
      custom,
      sendName: type.sendName === 1,
      sendEmail: type.sendEmailAddr === 1,
      agsScopes: type.gradeSynchronization > 0 ? agsScopesFor(type.gradeSynchronization) : [],
      nrps: type.memberships === 1,
      // Built-in activities take grades; a deep-linked one when its content item had a lineItem.
      graded: type.acceptGrades > 0 && (activity ? activity.lineItem !== undefined : true),
    };
  }

  newSesskey(userId: string, courseId: string, typeId: string): string {
    const key = moodleRandomString(10);
    this.sesskeys.set(key, { userId, courseId, typeId });
    return key;
  }

  sesskey(key: string): { userId: string; courseId: string; typeId: string } | undefined {
    return this.sesskeys.get(key);
  }

  deepLinkingUrl(request: DeepLinkingRequest): string {
    const q = new URLSearchParams({ course: request.courseId, id: request.typeId, user: request.userId });
    if (request.title !== undefined) q.set('title', request.title);
    if (request.text !== undefined) q.set('text', request.text);
    if (request.ignoreToolState) q.set('ignoreToolState', '1');
    if (request.tamper && Object.keys(request.tamper).length > 0) q.set('tamper', JSON.stringify(request.tamper));
    return `${this.base}/mod/lti/contentitem.php?${q.toString()}`;
  }

  activityLaunchUrl(request: ActivityLaunchRequest): string {
    const q = new URLSearchParams({ id: request.cmid, user: request.userId });
    if (request.ignoreToolState) q.set('ignoreToolState', '1');
    if (request.tamper && Object.keys(request.tamper).length > 0) q.set('tamper', JSON.stringify(request.tamper));
    return `${this.base}/mod/lti/view.php?${q.toString()}`;
  }
}

/** The values Moodle substitutes for `$Variable` custom parameters (lti_get_capabilities). */
function substitutions(type: ToolType, subject: LaunchSubject, course: Course, rl: ResourceLink | undefined): Record<string, string> {
  const p = subject.person;
  const subs: Record<string, string> = {
    'User.id': p.lmsUserId,
    'User.username': p.username,
    'Person.sourcedId': p.sourcedId,
    'Context.id': course.id,
    'Context.title': course.title,
    'Context.label': course.label,
    'Context.sourcedId': `${course.label}-ID`,
    'CourseSection.title': course.title,
    'CourseSection.label': course.label,
    'CourseSection.sourcedId': `${course.label}-ID`,
    'Membership.role': moodleLaunchRoles(subject).join(','),
  };
  if (type.sendName)
    Object.assign(subs, { 'Person.name.full': p.name, 'Person.name.given': p.givenName, 'Person.name.family': p.familyName });
  if (type.sendEmailAddr) subs['Person.email.primary'] = p.email;
  if (rl)
    Object.assign(subs, { 'ResourceLink.id': rl.id, 'ResourceLink.title': rl.title, 'ResourceLink.description': rl.description ?? '' });
  return subs;
}

export interface MoodleToolRoutesContext {
  runtime: { demo: DemoPlatform; issuer: string; base: string; key: SigningKey };
  registry: MoodleToolRegistry;
  nowSeconds: () => number;
  /** The emulator's Moodle login initiation (records the pending launch, answers the auto-submit page). */
  beginLaunch: (
    res: Response,
    launch: Omit<PendingLaunch, 'platform' | 'expiresAt'>,
    launchId: string,
    hint: Record<string, unknown>,
    title: string,
  ) => void;
  parseTamper: (text: string | undefined) => Tamper;
  sendError: (res: Response, err: unknown) => void;
}

const CONTENT_TYPE_TEXT = 'text/html; charset=utf-8';
const CONTENT_TYPE_JSON = 'application/json; charset=utf-8';

function queryString(req: Request, name: string): string | undefined {
  const fromBody = isRecord(req.body) && typeof req.body[name] === 'string' ? (req.body[name] as string) : undefined;
  const fromQuery = typeof req.query[name] === 'string' ? req.query[name] : undefined;
  return fromBody ?? fromQuery;
}

function truthy(value: string | undefined): boolean {
  return value === '1' || value === 'true';
}

/** Who is "logged in": the `user` parameter, else the MoodleSession cookie of an earlier launch. */
function loggedInUser(req: Request): string {
  const user = queryString(req, 'user');
  if (user) return user;
  const session = (req.cookies as Record<string, unknown> | undefined)?.MoodleSession;
  if (typeof session === 'string' && session) return session;
  throw new LmsError(
    'NOT_LOGGED_IN',
    'You are not logged in to the demo Moodle: give user=<id>, or launch from the demo LMS page first.',
    401,
  );
}

function randomInt9(): number {
  return Math.floor(100000000 + Math.random() * 899999999);
}

/** Teachers who may add activities (Moodle's editingteacher), and site admins. */
function mayAddActivities(subject: LaunchSubject): boolean {
  return subject.isAdmin || subject.role === 'instructor' || subject.role === 'designer';
}

export function mountMoodleToolRoutes(app: Express, ctx: MoodleToolRoutesContext): void {
  const { runtime: rt, registry } = ctx;
  const bare = (res: Response, status: number, message: string): void => {
    res.status(status).set('Content-Type', CONTENT_TYPE_TEXT).set('Cache-Control', 'no-store').send(message);
  };

  // Dynamic Registration ----------------------------------------------------------------------
  app.get('/moodle/mod/lti/openid-configuration.php', (_req, res) => {
    res
      .status(200)
      .set('Content-Type', CONTENT_TYPE_JSON)
      .send(JSON.stringify(openidConfiguration(rt.issuer, rt.base), null, 4));
  });

  app.get('/moodle/mod/lti/startltiadvregistration.php', (req, res) => {
    const url = typeof req.query.url === 'string' ? req.query.url : '';
    let target: URL;
    try {
      target = new URL(url);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error('not http');
    } catch {
      return ctx.sendError(res, new LmsError('BAD_REQUEST', 'url must be the tool registration URL (http or https)'));
    }
    const iat = ctx.nowSeconds();
    const token = signJwt({ sub: moodleRandomString(15), scope: 'reg', iat, exp: iat + 3600 }, rt.key);
    target.searchParams.set('openid_configuration', `${rt.base}/mod/lti/openid-configuration.php`);
    target.searchParams.set('registration_token', token);
    res.set('Cache-Control', 'no-store').redirect(302, target.href);
  });

  app.post('/moodle/mod/lti/openid-registration.php', express.text({ type: () => true, limit: '1mb' }), (req, res) => {
    const header = req.get('authorization') ?? '';
    if (!header.startsWith('Bearer ')) return bare(res, 401, 'missing_registration_token');
    let payload: Record<string, unknown>;
    try {
      payload = verifyJwt(header.slice(7).trim(), { keys: [rt.key.publicJwk] }, ctx.nowSeconds(), 0).payload;
    } catch (err) {
      // Moodle lets Firebase JWT's exception through (an error page); the emulator says why plainly.
      if (err instanceof JwtError) return bare(res, 401, `invalid_registration_token: ${err.message}`);
      throw err;
    }
    // "reg-update" (re-registration of an existing type) is not modelled.
    if (payload.scope !== 'reg') return bare(res, 403, 'Incorrect scope');
    const clientId = typeof payload.sub === 'string' ? payload.sub : '';
    if (!clientId) return bare(res, 401, 'invalid_registration_token: no sub');
    if (registry.typeByClientId(clientId)) return bare(res, 401, 'token_already_used');
    try {
      const { config, request } = registrationToConfig(typeof req.body === 'string' ? req.body : '', clientId);
      const type = registry.addType(config, request, ctx.nowSeconds());
      res
        .status(200)
        .set('Content-Type', CONTENT_TYPE_JSON)
        .set('Cache-Control', 'no-store')
        .send(JSON.stringify(type.registrationResponse));
    } catch (err) {
      if (err instanceof RegistrationError) return bare(res, err.status, err.message);
      throw err;
    }
  });

  app.get('/moodle/mod/lti/tooltypes.php', (_req, res) => {
    res.set('Cache-Control', 'no-store').json(registry.types().map((t) => toolTypeView(t, rt.issuer, rt.base)));
  });

  app.post('/moodle/mod/lti/toolconfigure.php', (req, res) => {
    const action = queryString(req, 'action');
    const id = queryString(req, 'id') ?? '';
    const states: Record<string, ToolTypeState> = { activate: 'active', deactivate: 'pending', reject: 'rejected' };
    const state = action ? states[action] : undefined;
    if (!state) return res.status(400).json({ error: 'bad_action', error_description: 'action must be activate, deactivate or reject' });
    const type = registry.toolType(id);
    if (!type) return res.status(404).json({ error: 'unknown_tool_type', error_description: `no tool type ${id}` });
    registry.setState(id, state, ctx.nowSeconds());
    const back = queryString(req, 'returnurl');
    if (back && back.startsWith('/') && !back.startsWith('//')) return res.redirect(303, back);
    res.json(toolTypeView(type, rt.issuer, rt.base));
  });

  // Deep Linking ------------------------------------------------------------------------------
  app.all('/moodle/mod/lti/contentitem.php', cookieParser(), (req, res) => {
    if (req.method !== 'GET' && req.method !== 'POST') return ctx.sendError(res, new LmsError('BAD_REQUEST', 'use GET or POST', 405));
    try {
      const tamper = ctx.parseTamper(queryString(req, 'tamper'));
      const type = registry.launchableType(queryString(req, 'id') ?? '', truthy(queryString(req, 'ignoreToolState')));
      if (!type.contentItem)
        throw new LmsError(
          'NO_CONTENT_SELECTION',
          `The tool "${type.name}" did not register an LtiDeepLinkingRequest message: it offers no content selection.`,
        );
      const course = findCourse(rt.demo, queryString(req, 'course') ?? '');
      const subject = findLaunchSubject(rt.demo, course, loggedInUser(req));
      if (!mayAddActivities(subject))
        throw new LmsError(
          'NO_PERMISSION',
          `${subject.person.name} may not add activities to ${course.label} (editing teachers and administrators may).`,
          403,
        );
      const sesskey = registry.newSesskey(subject.person.lmsUserId, course.id, type.id);
      const returnUrl = `${rt.base}/mod/lti/contentitem_return.php?${new URLSearchParams({ course: course.id, id: type.id, sesskey }).toString()}`;
      const launchId = `ltilaunch_ContentItemSelectionRequest${randomInt9()}`;
      ctx.beginLaunch(
        res,
        {
          courseId: course.id,
          userId: subject.person.lmsUserId,
          loginHint: subject.person.lmsUserId,
          target: undefined,
          resourceLinkId: undefined,
          tamper,
          typeId: type.id,
          messageType: 'LtiDeepLinkingRequest',
          targetLinkUri: type.deepLinkingUrl || type.toolUrl,
          deepLinking: { title: queryString(req, 'title') || type.name, text: queryString(req, 'text') ?? '', returnUrl },
        },
        launchId,
        { launchid: launchId },
        `Selecting content with ${type.name}`,
      );
    } catch (err) {
      ctx.sendError(res, err);
    }
  });

  app.post('/moodle/mod/lti/contentitem_return.php', async (req, res, next) => {
    try {
      const type = registry.requireType(typeof req.query.id === 'string' ? req.query.id : '');
      const course = findCourse(rt.demo, typeof req.query.course === 'string' ? req.query.course : '');
      const session = registry.sesskey(typeof req.query.sesskey === 'string' ? req.query.sesskey : '');
      if (!session || session.courseId !== course.id || session.typeId !== type.id)
        throw new DeepLinkError(
          'invalid_sesskey',
          'Incorrect sesskey submitted, form not accepted! (no content selection was started here)',
          403,
        );
      const jwt = isRecord(req.body) && typeof req.body.JWT === 'string' ? req.body.JWT : '';
      if (!jwt) throw new DeepLinkError('jwt_missing', 'the deep linking response must be posted as the form field JWT');
      const { header, payload } = await verifyDeepLinkingResponse(jwt, type, {
        issuer: rt.issuer,
        nowSeconds: ctx.nowSeconds(),
        guard: registry.guard,
      });
      const items = resourceLinkItems(payload);
      if (items.length === 0)
        throw new DeepLinkError('no_content_items', 'the deep linking response holds no ltiResourceLink content item: nothing was added');
      registry.guard.use(jwt, type.clientId, payload.nonce as string);
      const now = ctx.nowSeconds();
      const activities = items.map((item) => {
        const activity = activityFromItem(item, type, { ...registry.nextActivityIds(), courseId: course.id, userId: session.userId, now });
        registry.addActivity(activity);
        return activity;
      });
      registry.responses.push({
        typeId: type.id,
        courseId: course.id,
        userId: session.userId,
        jwt,
        header,
        payload,
        cmids: activities.map((a) => a.cmid),
        receivedAt: now,
      });
      const msg = payload['https://purl.imsglobal.org/spec/lti-dl/claim/msg'];
      res
        .status(200)
        .set('Cache-Control', 'no-store')
        .type('html')
        .send(renderContentItemReturnPage(rt.demo, course, activities, typeof msg === 'string' ? msg : ''));
    } catch (err) {
      if (err instanceof DeepLinkError) {
        res
          .status(err.status)
          .set('Cache-Control', 'no-store')
          .type('html')
          .send(errorPage(err.status, err.code, err.message));
        return;
      }
      if (err instanceof LmsError) return ctx.sendError(res, err);
      next(err);
    }
  });

  app.get('/assets/contentitem-return.js', (_req, res) => {
    res.type('application/javascript').send(CONTENT_ITEM_RETURN_SCRIPT);
  });

  // Launch of an activity made by deep linking ---------------------------------------------------
  app.get('/moodle/mod/lti/view.php', cookieParser(), (req, res) => {
    try {
      const tamper = ctx.parseTamper(queryString(req, 'tamper'));
      const activity = registry.requireActivity(queryString(req, 'id') ?? '');
      const type = registry.launchableType(activity.typeId, truthy(queryString(req, 'ignoreToolState')));
      const course = findCourse(rt.demo, activity.courseId);
      const subject = findLaunchSubject(rt.demo, course, loggedInUser(req));
      const launchId = `ltilaunch${activity.instanceId}_${randomInt9()}`;
      ctx.beginLaunch(
        res,
        {
          courseId: course.id,
          userId: subject.person.lmsUserId,
          loginHint: subject.person.lmsUserId,
          target: 'iframe',
          resourceLinkId: activity.instanceId,
          tamper,
          typeId: type.id,
          cmid: activity.cmid,
          messageType: 'LtiResourceLinkRequest',
          targetLinkUri: activity.toolUrl,
        },
        launchId,
        { cmid: Number(activity.cmid), launchid: launchId },
        `Launching ${activity.name}`,
      );
    } catch (err) {
      ctx.sendError(res, err);
    }
  });
}
