/**
 * LTI 1.3 platform emulator (development and tests only; never imported by production code).
 *
 * One HTTP server hosts two platforms:
 * - Moodle-shaped under /moodle: issuer `${base}/moodle`, /moodle/mod/lti/{auth,token,certs}.php,
 *   Names and Roles at /moodle/mod/lti/services.php/CourseSection/{course}/bindings/1/memberships.
 * - Canvas-shaped under /canvas: issuer `https://canvas.instructure.com` (as Canvas Cloud),
 *   /canvas/api/lti/authorize_redirect, /canvas/login/oauth2/token, /canvas/api/lti/security/jwks,
 *   Names and Roles at /canvas/api/lti/courses/{course}/names_and_roles.
 * `GET /{platform}/launch?course=&user=` starts a launch the way the LMS's launch page does: an
 * auto-submitting OIDC login initiation to the tool's /login. `GET /` is the demo LMS page.
 *
 * The Moodle platform also takes tools by LTI Dynamic Registration and places them by Deep Linking,
 * as Moodle 4.4 does (moodleTools.ts): each registered tool is a "tool type" with its own client id,
 * deployment id (the type id), login URL and redirect URIs, launched with
 * `GET /moodle/launch?course=&user=&toolType=<id>`, deep linked with
 * `GET /moodle/mod/lti/contentitem.php?course=&id=<typeId>&user=`, and its activities launched with
 * `GET /moodle/mod/lti/view.php?id=<cmid>&user=`. The static registration (MOODLE_CLIENT_ID,
 * deployment 1, the tool's `/` as redirect URI) stays as it was.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import cookieParser from 'cookie-parser';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { DemoPlatform, DemoWorld, PlatformKind } from '../people';
import { canvasClaims, moodleClaims, moodleDeepLinkingClaims, NRPS_SCOPE, type ClaimInput } from './claims';
import type { DeepLinkResponse, LtiActivity } from './deepLinking';
import {
  DEMO_SCRIPT,
  renderActivitiesFragment,
  renderDemoPage,
  renderStorageFrame,
  renderToolTypesFragment,
  STORAGE_FRAME_NAME,
} from './demoPage';
import { autoSubmitForm, errorPage } from './html';
import { decodeJwt, generateSigningKey, isRecord, JwtError, randomHex, signJwt, verifyJwt, type SigningKey } from './jwt';
import { loadOrCreateKey } from './keys';
import {
  canvasLegacyUserId,
  findCourse,
  findLaunchSubject,
  findPlatform,
  findResourceLink,
  LmsError,
  resourceLinks,
  type DocumentTarget,
} from './model';
import { mountMoodleToolRoutes, MoodleToolRegistry, type ActivityLaunchRequest, type DeepLinkingRequest } from './moodleTools';
import { canvasMemberships, moodleMemberships, NRPS_CONTENT_TYPE, type NrpsAnswer, type NrpsQuery } from './nrps';
import type { ToolType, ToolTypeState } from './registration';
import { AccessTokenStore, handleTokenRequest } from './tokens';

export const CANVAS_ISSUER = 'https://canvas.instructure.com';
export const MOODLE_CLIENT_ID = 'bmMNE2ptrWvaK6W';
export const MOODLE_DEPLOYMENT_ID = '1';
export const CANVAS_CLIENT_ID = '10000000000001';
export const CANVAS_DEPLOYMENT_ID = '1:4dde05e8ca1973bcca9bffc13e1548820eee93a3';

/** What the tool needs to register a platform with ltijs (`lti.registerPlatform`). */
export interface PlatformRegistration {
  kind: PlatformKind;
  name: string;
  issuer: string;
  clientId: string;
  deploymentId: string;
  authenticationEndpoint: string;
  accesstokenEndpoint: string;
  jwksUrl: string;
}

/** Deliberate faults for negative tests. Given on the launch URL (`tamper=<JSON>`) or the agent. */
export interface Tamper {
  /** Sign the id_token with a key (and kid) the platform's JWKS does not contain. */
  signWithUnknownKey?: boolean;
  /** Sign with another key but the platform's real kid: the signature does not verify. */
  badSignature?: boolean;
  /** id_token `aud`. */
  audience?: string;
  /** id_token `iss` (the login initiation keeps the real issuer, so the state cookie matches). */
  issuer?: string;
  /** `iss` of the login initiation (an unknown issuer never reaches the auth endpoint). */
  loginIssuer?: string;
  /** deployment id in the login initiation and the id_token. */
  deploymentId?: string;
  /** iat an hour ago, exp = iat + ttl (already expired). */
  expired?: boolean;
  /** iat this many seconds ago (still unexpired if below the ttl): for tokenMaxAge tests. */
  ageSeconds?: number;
  omitNonce?: boolean;
  /** id_token claims (full names) replaced after the platform built them; null removes one. */
  setClaims?: Record<string, unknown>;
}

export const TamperSchema = z
  .object({
    signWithUnknownKey: z.boolean().optional(),
    badSignature: z.boolean().optional(),
    audience: z.string().optional(),
    issuer: z.string().optional(),
    loginIssuer: z.string().optional(),
    deploymentId: z.string().optional(),
    expired: z.boolean().optional(),
    ageSeconds: z.number().nonnegative().optional(),
    omitNonce: z.boolean().optional(),
    setClaims: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export interface LaunchRequest {
  platform: PlatformKind;
  courseId: string;
  /** The person's `lmsUserId`. */
  userId: string;
  target?: DocumentTarget;
  resourceLinkId?: string;
  tamper?: Tamper;
  /** Moodle only: launch through a dynamically registered tool type (its client id, deployment id,
   * login URL, redirect URIs, target_link_uri and custom parameters) instead of the static
   * registration, into the course's built-in activity. */
  toolTypeId?: string;
  /** Test knob, not Moodle: launch the tool type even when Moodle would not (Pending or Rejected),
   * so a tool can be tested on its own against a platform it has not activated. */
  ignoreToolState?: boolean;
}

export interface IssuedIdToken {
  platform: PlatformKind;
  idToken: string;
  claims: Record<string, unknown>;
  state: string;
  redirectUri: string;
}

export interface LmsEmulatorOptions {
  world: DemoWorld;
  /** The tool's base URL, e.g. http://127.0.0.1:3000 (its /login, / and /keys). */
  toolUrl: string;
  port?: number;
  host?: string;
  /** id_token lifetime; default Moodle 60 s, Canvas 3600 s. */
  tokenTtlSeconds?: number;
  /** Keep the platforms' signing keys in this directory across restarts. */
  keyDir?: string;
  /** Clock in ms (tests pin it); default Date.now. */
  now?: () => number;
}

export interface LmsEmulator {
  /** Base URL of the emulator, e.g. http://127.0.0.1:43123 (the demo LMS page is here). */
  readonly url: string;
  readonly platforms: { moodle: PlatformRegistration; canvas: PlatformRegistration };
  readonly world: DemoWorld;
  readonly toolUrl: string;
  setToolUrl(url: string): void;
  /** The URL that starts a launch (an auto-submitting login initiation to the tool). */
  launchUrl(launch: LaunchRequest): string;
  /** Signs a payload with the platform's key (or an unknown one) exactly as the auth endpoint does. */
  signIdToken(platform: PlatformKind, payload: Record<string, unknown>, options?: { unknownKey?: boolean }): string;
  /** How many times each platform's keyset (JWKS) was asked for. */
  readonly keysetRequests: Readonly<Record<PlatformKind, number>>;
  /** id_tokens issued by the auth endpoints, newest last (at most 200 kept). */
  readonly issuedIdTokens: readonly IssuedIdToken[];
  readonly accessTokens: AccessTokenStore;

  // Moodle: Dynamic Registration and Deep Linking ----------------------------------------------
  /** GET …/moodle/mod/lti/openid-configuration.php (what startltiadvregistration.php hands the tool). */
  readonly openidConfigurationUrl: string;
  /** What Moodle's "Add LTI Advantage" opens in its iframe: a 302 to `toolRegisterUrl` with
   * `openid_configuration` and a fresh `registration_token`. */
  registrationUrl(toolRegisterUrl: string): string;
  /** The tool types registered dynamically, oldest first (ids from 2: type 1 is the static registration). */
  toolTypes(): ToolType[];
  toolType(id: string): ToolType | undefined;
  /** Moodle's "Activate" on the tool card (state 1, Active). */
  activateToolType(id: string): ToolType;
  /** Back to Pending (state 2): Moodle no longer offers or launches it. */
  deactivateToolType(id: string): ToolType;
  setToolTypeState(id: string, state: ToolTypeState): ToolType;
  /** The URL of Moodle's "Select content" for a teacher: contentitem.php, an auto-submitting login
   * initiation of an LtiDeepLinkingRequest. */
  deepLinkingUrl(request: DeepLinkingRequest): string;
  /** The URL that launches an activity made by deep linking (view.php?id=<cmid>&user=). */
  activityLaunchUrl(request: ActivityLaunchRequest): string;
  /** Activities made from deep linking responses, oldest first (optionally of one course). */
  activities(courseId?: string): LtiActivity[];
  activity(cmid: string): LtiActivity | undefined;
  /** The deep linking responses accepted (verified), oldest first. */
  deepLinkResponses(): readonly DeepLinkResponse[];

  close(): Promise<void>;
}

export interface PendingLaunch {
  platform: PlatformKind;
  courseId: string;
  userId: string;
  loginHint: string;
  target: DocumentTarget | undefined;
  resourceLinkId: string | undefined;
  tamper: Tamper;
  expiresAt: number;
  /** Moodle: the tool type launched (absent: the static registration). */
  typeId?: string;
  /** Moodle: the activity (made by deep linking) launched, by cmid. */
  cmid?: string;
  /** Default LtiResourceLinkRequest. */
  messageType?: 'LtiResourceLinkRequest' | 'LtiDeepLinkingRequest';
  /** target_link_uri of the login initiation and of the id_token (default: the tool's `/`). */
  targetLinkUri?: string;
  deepLinking?: { title: string; text: string; returnUrl: string };
}

interface PlatformRuntime {
  kind: PlatformKind;
  demo: DemoPlatform;
  registration: PlatformRegistration;
  /** Where this platform's endpoints live: `${base}/moodle` or `${base}/canvas`. */
  base: string;
  key: SigningKey;
  ttlSeconds: number;
}

const LaunchQuery = z.object({
  course: z.string().min(1),
  user: z.string().min(1),
  target: z.enum(['iframe', 'window']).optional(),
  resourceLink: z.string().min(1).optional(),
  tamper: z.string().optional(),
  toolType: z.string().min(1).optional(),
  ignoreToolState: z.enum(['1', 'true', '0', 'false']).optional(),
});

const PENDING_LAUNCH_TTL_MS = 10 * 60 * 1000;

/** The demo Moodle's login session (the logged-in user's id), set by its launch page. */
const MOODLE_SESSION_COOKIE = 'MoodleSession';

export async function startLmsEmulator(options: LmsEmulatorOptions): Promise<LmsEmulator> {
  const now = options.now ?? Date.now;
  const nowSeconds = (): number => Math.floor(now() / 1000);
  let toolUrl = stripSlash(options.toolUrl);
  const pending = new Map<string, PendingLaunch>();
  const issued: IssuedIdToken[] = [];
  const accessTokens = new AccessTokenStore();
  const unknownKey = generateSigningKey(`unknown-${randomHex(6)}`);
  const keys = { moodle: loadOrCreateKey('moodle', options.keyDir), canvas: loadOrCreateKey('canvas', options.keyDir) };
  const runtimes = new Map<PlatformKind, PlatformRuntime>();

  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const base = `http://${options.host ?? '127.0.0.1'}:${address.port}`;

  for (const kind of ['moodle', 'canvas'] as const) {
    const demo = findPlatform(options.world, kind);
    const pBase = `${base}/${kind}`;
    const registration: PlatformRegistration =
      kind === 'moodle'
        ? {
            kind,
            name: demo.name,
            issuer: pBase,
            clientId: MOODLE_CLIENT_ID,
            deploymentId: MOODLE_DEPLOYMENT_ID,
            authenticationEndpoint: `${pBase}/mod/lti/auth.php`,
            accesstokenEndpoint: `${pBase}/mod/lti/token.php`,
            jwksUrl: `${pBase}/mod/lti/certs.php`,
          }
        : {
            kind,
            name: demo.name,
            issuer: CANVAS_ISSUER,
            clientId: CANVAS_CLIENT_ID,
            deploymentId: CANVAS_DEPLOYMENT_ID,
            authenticationEndpoint: `${pBase}/api/lti/authorize_redirect`,
            accesstokenEndpoint: `${pBase}/login/oauth2/token`,
            jwksUrl: `${pBase}/api/lti/security/jwks`,
          };
    runtimes.set(kind, {
      kind,
      demo,
      registration,
      base: pBase,
      key: keys[kind],
      ttlSeconds: options.tokenTtlSeconds ?? (kind === 'moodle' ? 60 : 3600),
    });
  }
  const runtime = (kind: PlatformKind): PlatformRuntime => runtimes.get(kind) as PlatformRuntime;
  const keysetRequests: Record<PlatformKind, number> = { moodle: 0, canvas: 0 };
  const moodle = runtime('moodle');
  const registry = new MoodleToolRegistry(moodle.demo, moodle.registration.issuer, moodle.base);

  function claimsFor(
    rt: PlatformRuntime,
    launch: PendingLaunch,
    nonce: string | undefined,
    iat: number,
    deploymentId: string,
  ): Record<string, unknown> {
    const course = findCourse(rt.demo, launch.courseId);
    const subject = findLaunchSubject(rt.demo, course, launch.userId);
    const type = launch.typeId !== undefined ? registry.requireType(launch.typeId) : undefined;
    const clientId = type?.clientId ?? rt.registration.clientId;
    const targetLinkUri = launch.targetLinkUri ?? `${toolUrl}/`;
    if (type && launch.messageType === 'LtiDeepLinkingRequest' && launch.deepLinking) {
      return moodleDeepLinkingClaims({
        platform: rt.demo,
        issuer: rt.registration.issuer,
        clientId,
        deploymentId,
        platformBase: rt.base,
        course,
        subject,
        targetLinkUri,
        nonce,
        iat,
        ttlSeconds: rt.ttlSeconds,
        type: registry.typeLaunch(type, subject, course, undefined, undefined),
        title: launch.deepLinking.title,
        text: launch.deepLinking.text,
        deepLinkReturnUrl: launch.deepLinking.returnUrl,
      });
    }
    const activity = launch.cmid !== undefined ? registry.requireActivity(launch.cmid) : undefined;
    const resourceLink = activity
      ? registry.resourceLinkOf(activity)
      : findResourceLink(rt.demo, course, launch.target, launch.resourceLinkId);
    const input: ClaimInput = {
      platform: rt.demo,
      issuer: rt.registration.issuer,
      clientId,
      deploymentId,
      platformBase: rt.base,
      course,
      subject,
      resourceLink,
      documentTarget: launch.target ?? resourceLink.target,
      targetLinkUri,
      nonce,
      iat,
      ttlSeconds: rt.ttlSeconds,
    };
    if (rt.kind === 'canvas') return canvasClaims(input);
    return moodleClaims(input, type ? registry.typeLaunch(type, subject, course, resourceLink, activity) : undefined);
  }

  /**
   * Moodle's launch page (and contentitem.php): records the launch, sets Moodle's session cookie,
   * and auto-submits the OIDC login initiation to the tool (the tool type's login URL, or the
   * static registration's `/login`).
   */
  function moodleLoginInitiation(
    res: Response,
    launch: Omit<PendingLaunch, 'platform' | 'expiresAt'>,
    launchId: string,
    hint: Record<string, unknown>,
    title: string,
  ): void {
    const type = launch.typeId !== undefined ? registry.requireType(launch.typeId) : undefined;
    pending.set(launchId, { ...launch, platform: 'moodle', expiresAt: now() + PENDING_LAUNCH_TTL_MS });
    sweepPending();
    const fields: Record<string, string> = {
      iss: launch.tamper.loginIssuer ?? moodle.registration.issuer,
      target_link_uri: launch.targetLinkUri ?? `${toolUrl}/`,
      login_hint: launch.loginHint,
      lti_message_hint: JSON.stringify(hint),
      client_id: type?.clientId ?? moodle.registration.clientId,
      lti_deployment_id: launch.tamper.deploymentId ?? type?.id ?? moodle.registration.deploymentId,
    };
    // Moodle knows who is logged in from its own session cookie; its relaunch page needs it.
    res.cookie(MOODLE_SESSION_COOKIE, launch.userId, { httpOnly: true, sameSite: 'lax', path: '/moodle' });
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(autoSubmitForm(type ? type.initiateLoginUri : `${toolUrl}/login`, fields, title));
  }

  function sign(rt: PlatformRuntime, payload: Record<string, unknown>, tamper: Tamper): string {
    if (tamper.signWithUnknownKey) return signJwt(payload, unknownKey);
    if (tamper.badSignature) return signJwt(payload, { kid: rt.key.kid, privateKey: unknownKey.privateKey });
    return signJwt(payload, rt.key);
  }

  // Demo LMS page ------------------------------------------------------------------------------
  app.get('/', (_req, res) => {
    res
      .type('html')
      .send(renderDemoPage(options.world, base, toolUrl, { toolTypes: registry.types(), activities: registry.activityList() }));
  });
  // The parts of the demo page its script reloads after a registration, an activation or a deep link.
  app.get('/demo/fragments/tool-types', (_req, res) => {
    res.set('Cache-Control', 'no-store').type('html').send(renderToolTypesFragment(registry.types()));
  });
  app.get('/demo/fragments/activities', (_req, res) => {
    res
      .set('Cache-Control', 'no-store')
      .type('html')
      .send(renderActivitiesFragment(moodle.demo, registry.types(), registry.activityList()));
  });
  app.get('/assets/demo-lms.js', (_req, res) => {
    res.type('application/javascript').send(DEMO_SCRIPT);
  });
  // The hidden frame of the demo page that keeps tools' values (platform storage), as Canvas's.
  app.get('/platform-storage', (_req, res) => {
    res.type('html').send(renderStorageFrame());
  });

  for (const kind of ['moodle', 'canvas'] as const) {
    const rt = runtime(kind);
    const path = (full: string): string => new URL(full).pathname;

    // Launch: the LMS's launch page, an auto-submitting OIDC login initiation ---------------
    app.get(`/${kind}/launch`, (req, res) => {
      const q = LaunchQuery.safeParse(req.query);
      if (!q.success)
        return sendError(res, new LmsError('BAD_REQUEST', q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')));
      let tamper: Tamper = {};
      if (q.data.tamper) {
        const t = safeJson(q.data.tamper);
        const parsed = TamperSchema.safeParse(t);
        if (!parsed.success)
          return sendError(
            res,
            new LmsError('BAD_REQUEST', `tamper: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`),
          );
        tamper = parsed.data;
      }
      try {
        const course = findCourse(rt.demo, q.data.course);
        const subject = findLaunchSubject(rt.demo, course, q.data.user);
        const link = findResourceLink(rt.demo, course, q.data.target, q.data.resourceLink);
        const launchId = `ltilaunch${link.id}_${randomInt9()}`;
        const loginHint = kind === 'moodle' ? subject.person.lmsUserId : canvasLegacyUserId(subject.person);
        if (kind === 'moodle') {
          const type =
            q.data.toolType === undefined
              ? undefined
              : registry.launchableType(q.data.toolType, q.data.ignoreToolState === '1' || q.data.ignoreToolState === 'true');
          return moodleLoginInitiation(
            res,
            {
              courseId: course.id,
              userId: subject.person.lmsUserId,
              loginHint,
              target: q.data.target,
              resourceLinkId: q.data.resourceLink,
              tamper,
              ...(type ? { typeId: type.id, targetLinkUri: type.toolUrl } : {}),
            },
            launchId,
            { cmid: Number(link.id), launchid: launchId },
            `Launching ${link.title}`,
          );
        }
        if (q.data.toolType !== undefined) throw new LmsError('BAD_REQUEST', 'toolType is for the Moodle platform only');
        pending.set(launchId, {
          platform: kind,
          courseId: course.id,
          userId: subject.person.lmsUserId,
          loginHint,
          target: q.data.target,
          resourceLinkId: q.data.resourceLink,
          tamper,
          expiresAt: now() + PENDING_LAUNCH_TTL_MS,
        });
        sweepPending();
        const iss = tamper.loginIssuer ?? rt.registration.issuer;
        const deploymentId = tamper.deploymentId ?? rt.registration.deploymentId;
        const fields: Record<string, string> = {
          iss,
          login_hint: loginHint,
          client_id: rt.registration.clientId,
          lti_deployment_id: deploymentId,
          target_link_uri: `${toolUrl}/`,
          lti_message_hint: signJwt(
            {
              verifier: launchId,
              canvas_domain: new URL(base).host,
              context_type: 'Course',
              context_id: course.id,
              canvas_locale: 'en',
              include_storage_target: true,
              exp: nowSeconds() + 600,
            },
            rt.key,
          ),
          canvas_region: 'us-east-1',
          canvas_environment: 'prod',
          lti_storage_target: STORAGE_FRAME_NAME,
        };
        res
          .set('Cache-Control', 'no-store')
          .type('html')
          .send(autoSubmitForm(`${toolUrl}/login`, fields, `Launching ${link.title}`));
      } catch (err) {
        sendError(res, err);
      }
    });

    // Moodle's page that starts a fresh launch of an activity, for whoever is logged in
    // (`mod/lti/launch.php?id=<cmid>`; the tool links to it when a launch was refused).
    if (kind === 'moodle') {
      app.get('/moodle/mod/lti/launch.php', cookieParser(), (req, res) => {
        const cmid = typeof req.query.id === 'string' && /^\d{1,9}$/.test(req.query.id) ? req.query.id : null;
        if (!cmid) return sendError(res, new LmsError('BAD_REQUEST', 'id must be the course module id of an LTI activity'));
        const session = (req.cookies as Record<string, unknown> | undefined)?.[MOODLE_SESSION_COOKIE];
        const userId = typeof session === 'string' && session ? session : null;
        if (!userId)
          return sendError(
            res,
            new LmsError('NOT_LOGGED_IN', 'You are not logged in to the demo Moodle: open the demo LMS page and launch from there.', 401),
          );
        if (registry.activity(cmid))
          return res.redirect(302, `/moodle/mod/lti/view.php?${new URLSearchParams({ id: cmid, user: userId })}`);
        const course = rt.demo.courses.find((c) => resourceLinks(rt.demo, c).some((l) => l.id === cmid));
        if (!course) return sendError(res, new LmsError('UNKNOWN_RESOURCE_LINK', `no LTI activity with course module id ${cmid}`, 404));
        res.redirect(302, `/moodle/launch?${new URLSearchParams({ course: course.id, user: userId, resourceLink: cmid })}`);
      });
    }

    // Authorisation endpoint ----------------------------------------------------------------
    app.all(path(rt.registration.authenticationEndpoint), (req, res) => {
      if (req.method !== 'GET' && req.method !== 'POST') return sendError(res, new LmsError('BAD_REQUEST', 'use GET or POST', 405));
      const params: Record<string, unknown> = { ...(req.query as Record<string, unknown>), ...(isRecord(req.body) ? req.body : {}) };
      const str = (name: string): string | undefined => (typeof params[name] === 'string' ? (params[name] as string) : undefined);
      const fail = (code: string, message: string): void => {
        res
          .status(400)
          .set('Cache-Control', 'no-store')
          .type('html')
          .send(errorPage(400, code, message));
      };
      if (!(str('scope') ?? '').split(/\s+/).includes('openid')) return fail('invalid_scope', 'scope must include openid');
      if (str('response_type') !== 'id_token') return fail('unsupported_response_type', 'response_type must be id_token');
      if (str('response_mode') !== 'form_post') return fail('invalid_request', 'response_mode must be form_post');
      if (str('prompt') !== 'none') return fail('invalid_request', 'prompt must be none');
      const clientType = kind === 'moodle' ? registry.typeByClientId(str('client_id')) : undefined;
      if (str('client_id') !== rt.registration.clientId && !clientType)
        return fail('unauthorized_client', `unknown client_id ${str('client_id') ?? '(none)'}`);
      const redirectUri = str('redirect_uri');
      if (clientType) {
        // Moodle's auth.php: the redirect_uri must be one of the tool type's registered redirection
        // URIs, exactly; anything else is a 404 "Invalid request" page (no OAuth error to the tool).
        if (redirectUri === undefined || !clientType.redirectUris.includes(redirectUri))
          return res
            .status(404)
            .set('Cache-Control', 'no-store')
            .type('html')
            .send(
              errorPage(
                404,
                'invalidrequest',
                `Invalid request: redirect_uri ${redirectUri ?? '(none)'} is not one of the redirection URIs registered for ${clientType.name} (${clientType.redirectUris.join(', ')})`,
              ),
            );
      } else if (redirectUri !== `${toolUrl}/`)
        return fail('invalid_request', `redirect_uri ${redirectUri ?? '(none)'} is not registered for this tool (registered: ${toolUrl}/)`);
      const nonce = str('nonce');
      if (!nonce) return fail('invalid_request', 'nonce is required');
      const state = str('state') ?? '';
      const launchId = resolveMessageHint(rt, str('lti_message_hint'));
      const launch = launchId ? pending.get(launchId) : undefined;
      if (!launchId || !launch || launch.platform !== kind || launch.expiresAt < now())
        return fail('invalid_request', 'lti_message_hint does not name a launch in progress (unknown, expired or already used)');
      if (launch.typeId !== clientType?.id) return fail('invalid_request', 'lti_message_hint names a launch of another tool (client_id)');
      if (str('login_hint') !== launch.loginHint)
        return fail('login_required', 'login_hint does not match the user who started the launch');
      pending.delete(launchId);
      const tamper = launch.tamper;
      const deploymentId = tamper.deploymentId ?? clientType?.id ?? rt.registration.deploymentId;
      if (str('lti_deployment_id') !== undefined && str('lti_deployment_id') !== deploymentId)
        return fail('invalid_request', 'lti_deployment_id does not match the launch');
      let iat = nowSeconds();
      if (tamper.expired) iat -= 3600;
      else if (tamper.ageSeconds !== undefined) iat -= Math.round(tamper.ageSeconds);
      let claims: Record<string, unknown>;
      try {
        claims = claimsFor(rt, launch, tamper.omitNonce ? undefined : nonce, iat, deploymentId);
      } catch (err) {
        return sendError(res, err);
      }
      if (tamper.audience !== undefined) claims.aud = tamper.audience;
      if (tamper.issuer !== undefined) claims.iss = tamper.issuer;
      for (const [name, value] of Object.entries(tamper.setClaims ?? {})) {
        if (value === null) delete claims[name];
        else claims[name] = value;
      }
      const idToken = sign(rt, claims, tamper);
      issued.push({ platform: kind, idToken, claims, state, redirectUri: redirectUri ?? '' });
      if (issued.length > 200) issued.splice(0, issued.length - 200);
      const fields: Record<string, string> = { id_token: idToken, state };
      if (kind === 'canvas') fields.lti_storage_target = STORAGE_FRAME_NAME;
      res
        .set('Cache-Control', 'no-store')
        .type('html')
        .send(autoSubmitForm(redirectUri ?? '', fields, 'Signing you in to the tool'));
    });

    // JWKS -------------------------------------------------------------------------------------
    app.get(path(rt.registration.jwksUrl), (_req, res) => {
      keysetRequests[rt.kind]++;
      res.json({ keys: [rt.key.publicJwk] });
    });

    // OAuth2 client credentials -------------------------------------------------------------------
    app.post(path(rt.registration.accesstokenEndpoint), async (req, res, next) => {
      try {
        const audiences =
          kind === 'canvas'
            ? [rt.registration.accesstokenEndpoint, `${CANVAS_ISSUER}/login/oauth2/token`]
            : [rt.registration.accesstokenEndpoint];
        // A dynamically registered Moodle tool authenticates with its own client id, against the
        // keyset it registered (`jwks_uri`); the assertion names the client before it is verified.
        const assertionType = kind === 'moodle' ? registry.typeByClientId(assertionIssuer(req.body)) : undefined;
        const answer = await handleTokenRequest(req.body, {
          platform: kind,
          clientId: assertionType?.clientId ?? rt.registration.clientId,
          audiences,
          toolJwksUrl: assertionType?.jwksUri ?? `${toolUrl}/keys`,
          store: accessTokens,
          nowSeconds: nowSeconds(),
        });
        res.status(answer.status).set('Cache-Control', 'no-store').json(answer.body);
      } catch (err) {
        next(err);
      }
    });

    // Names and Roles ---------------------------------------------------------------------------
    const nrpsRoute =
      kind === 'moodle'
        ? '/moodle/mod/lti/services.php/CourseSection/:courseId/bindings/:typeId/memberships'
        : '/canvas/api/lti/courses/:courseId/names_and_roles';
    app.get(nrpsRoute, (req, res) => {
      const auth = accessTokens.check(req.get('authorization'), kind, NRPS_SCOPE, nowSeconds());
      if (!auth.ok)
        return res
          .status(auth.status)
          .json({ error: auth.status === 401 ? 'invalid_token' : 'insufficient_scope', error_description: auth.error });
      try {
        const params = req.params as Record<string, string | undefined>;
        const courseId = String(params.courseId);
        const bindingType = kind === 'moodle' ? registry.toolType(String(params.typeId)) : undefined;
        if (kind === 'moodle') {
          if (bindingType) {
            if (bindingType.memberships !== 1)
              throw new LmsError('UNKNOWN_COURSE', `tool type ${bindingType.id} does not use Names and Roles`, 404);
            if (auth.token.clientId !== bindingType.clientId)
              return res.status(401).json({ error: 'invalid_token', error_description: 'the access token was issued to another tool' });
          } else if (params.typeId !== rt.registration.deploymentId)
            throw new LmsError('UNKNOWN_COURSE', `no tool binding ${String(params.typeId)}`, 404);
          else if (auth.token.clientId !== rt.registration.clientId)
            return res.status(401).json({ error: 'invalid_token', error_description: 'the access token was issued to another tool' });
        }
        const course = findCourse(rt.demo, courseId);
        const query = nrpsQuery(req);
        const answer: NrpsAnswer =
          kind === 'moodle'
            ? moodleMemberships(
                rt.demo,
                course,
                rt.base,
                bindingType?.id ?? rt.registration.deploymentId,
                query,
                registry.activityList(course.id).map((a) => a.instanceId),
              )
            : canvasMemberships(rt.demo, course, rt.base, `${base}${req.originalUrl}`, query);
        if (answer.link) res.set('Link', answer.link);
        res.status(200).set('Content-Type', `${NRPS_CONTENT_TYPE}; charset=utf-8`).send(JSON.stringify(answer.body));
      } catch (err) {
        if (err instanceof LmsError) return res.status(err.status).json({ error: err.code, error_description: err.message });
        throw err;
      }
    });
  }

  // Canvas's default avatar, so `picture` resolves without external assets.
  app.get('/canvas/images/messages/avatar-50.png', (_req, res) => {
    res
      .type('png')
      .send(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64'));
  });

  mountMoodleToolRoutes(app, {
    runtime: { demo: moodle.demo, issuer: moodle.registration.issuer, base: moodle.base, key: moodle.key },
    registry,
    nowSeconds,
    beginLaunch: moodleLoginInitiation,
    parseTamper,
    sendError,
  });

  app.use((_req: Request, res: Response) => {
    res
      .status(404)
      .type('html')
      .send(errorPage(404, 'not_found', 'no such page on the LMS emulator'));
  });
  app.use((err: unknown, _req: Request, res: Response, _next: (e?: unknown) => void) => {
    sendError(res, err);
  });

  function resolveMessageHint(rt: PlatformRuntime, hint: string | undefined): string | undefined {
    if (!hint) return undefined;
    if (rt.kind === 'moodle') {
      const parsed = safeJson(hint);
      return isRecord(parsed) && typeof parsed.launchid === 'string' ? parsed.launchid : undefined;
    }
    try {
      const { payload } = verifyJwt(hint, { keys: [rt.key.publicJwk] }, nowSeconds(), 0);
      return typeof payload.verifier === 'string' ? payload.verifier : undefined;
    } catch (err) {
      if (err instanceof JwtError) return undefined;
      throw err;
    }
  }

  function sweepPending(): void {
    const t = now();
    for (const [k, v] of pending) if (v.expiresAt < t) pending.delete(k);
  }

  return {
    url: base,
    keysetRequests,
    platforms: { moodle: runtime('moodle').registration, canvas: runtime('canvas').registration },
    world: options.world,
    get toolUrl() {
      return toolUrl;
    },
    setToolUrl(url: string) {
      toolUrl = stripSlash(url);
    },
    launchUrl(launch: LaunchRequest): string {
      const q = new URLSearchParams({ course: launch.courseId, user: launch.userId });
      if (launch.target) q.set('target', launch.target);
      if (launch.resourceLinkId) q.set('resourceLink', launch.resourceLinkId);
      if (launch.toolTypeId) q.set('toolType', launch.toolTypeId);
      if (launch.ignoreToolState) q.set('ignoreToolState', '1');
      if (launch.tamper && Object.keys(launch.tamper).length > 0) q.set('tamper', JSON.stringify(launch.tamper));
      return `${base}/${launch.platform}/launch?${q.toString()}`;
    },
    signIdToken(platform, payload, opts) {
      return sign(runtime(platform), payload, { signWithUnknownKey: opts?.unknownKey === true });
    },
    get issuedIdTokens() {
      return issued;
    },
    accessTokens,
    openidConfigurationUrl: `${moodle.base}/mod/lti/openid-configuration.php`,
    registrationUrl(toolRegisterUrl: string): string {
      return `${moodle.base}/mod/lti/startltiadvregistration.php?${new URLSearchParams({ url: toolRegisterUrl }).toString()}`;
    },
    toolTypes: () => registry.types(),
    toolType: (id: string) => registry.toolType(id),
    activateToolType: (id: string) => registry.setState(id, 'active', nowSeconds()),
    deactivateToolType: (id: string) => registry.setState(id, 'pending', nowSeconds()),
    setToolTypeState: (id: string, state: ToolTypeState) => registry.setState(id, state, nowSeconds()),
    deepLinkingUrl: (request: DeepLinkingRequest) => registry.deepLinkingUrl(request),
    activityLaunchUrl: (request: ActivityLaunchRequest) => registry.activityLaunchUrl(request),
    activities: (courseId?: string) => registry.activityList(courseId),
    activity: (cmid: string) => registry.activity(cmid),
    deepLinkResponses: () => registry.responses,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function nrpsQuery(req: Request): NrpsQuery {
  const q: NrpsQuery = {};
  for (const name of ['role', 'limit', 'from', 'page', 'per_page', 'rlid'] as const) {
    const v = req.query[name];
    if (typeof v === 'string') q[name] = v;
  }
  return q;
}

function sendError(res: Response, err: unknown): void {
  if (err instanceof LmsError) {
    res
      .status(err.status)
      .type('html')
      .send(errorPage(err.status, err.code, err.message));
    return;
  }
  // A bug in the emulator: say so plainly, without a stack trace in the page.
  res
    .status(500)
    .type('html')
    .send(errorPage(500, 'emulator_error', err instanceof Error ? err.message : String(err)));
}

/** A `tamper=<JSON>` parameter (absent: none). */
function parseTamper(text: string | undefined): Tamper {
  if (!text) return {};
  const parsed = TamperSchema.safeParse(safeJson(text));
  if (!parsed.success)
    throw new LmsError('BAD_REQUEST', `tamper: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The `iss` of a token request's client assertion, read without verifying it (to pick the keyset). */
function assertionIssuer(form: unknown): string | undefined {
  const assertion = isRecord(form) ? form.client_assertion : undefined;
  if (typeof assertion !== 'string') return undefined;
  try {
    const iss = decodeJwt(assertion).payload.iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function randomInt9(): number {
  return Math.floor(100000000 + Math.random() * 899999999);
}
