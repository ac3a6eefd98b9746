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
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import cookieParser from 'cookie-parser';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { DemoPlatform, DemoWorld, PlatformKind } from '../people';
import { canvasClaims, moodleClaims, NRPS_SCOPE, type ClaimInput } from './claims';
import { renderDemoPage, renderStorageFrame, STORAGE_FRAME_NAME } from './demoPage';
import { autoSubmitForm, errorPage } from './html';
import { generateSigningKey, isRecord, JwtError, randomHex, signJwt, verifyJwt, type SigningKey } from './jwt';
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
import { canvasMemberships, moodleMemberships, NRPS_CONTENT_TYPE, type NrpsAnswer, type NrpsQuery } from './nrps';
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
  /** id_tokens issued by the auth endpoints, newest last (at most 200 kept). */
  readonly issuedIdTokens: readonly IssuedIdToken[];
  readonly accessTokens: AccessTokenStore;
  close(): Promise<void>;
}

interface PendingLaunch {
  platform: PlatformKind;
  courseId: string;
  userId: string;
  loginHint: string;
  target: DocumentTarget | undefined;
  resourceLinkId: string | undefined;
  tamper: Tamper;
  expiresAt: number;
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

  function claimsFor(
    rt: PlatformRuntime,
    launch: { courseId: string; userId: string; target?: DocumentTarget; resourceLinkId?: string },
    nonce: string | undefined,
    iat: number,
    deploymentId: string,
  ): Record<string, unknown> {
    const course = findCourse(rt.demo, launch.courseId);
    const subject = findLaunchSubject(rt.demo, course, launch.userId);
    const resourceLink = findResourceLink(rt.demo, course, launch.target, launch.resourceLinkId);
    const input: ClaimInput = {
      platform: rt.demo,
      issuer: rt.registration.issuer,
      clientId: rt.registration.clientId,
      deploymentId,
      platformBase: rt.base,
      course,
      subject,
      resourceLink,
      documentTarget: launch.target ?? resourceLink.target,
      targetLinkUri: `${toolUrl}/`,
      nonce,
      iat,
      ttlSeconds: rt.ttlSeconds,
    };
    return rt.kind === 'moodle' ? moodleClaims(input) : canvasClaims(input);
  }

  function sign(rt: PlatformRuntime, payload: Record<string, unknown>, tamper: Tamper): string {
    if (tamper.signWithUnknownKey) return signJwt(payload, unknownKey);
    if (tamper.badSignature) return signJwt(payload, { kid: rt.key.kid, privateKey: unknownKey.privateKey });
    return signJwt(payload, rt.key);
  }

  // Demo LMS page ------------------------------------------------------------------------------
  app.get('/', (_req, res) => {
    res.type('html').send(renderDemoPage(options.world, base, toolUrl));
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
        const fields: Record<string, string> =
          kind === 'moodle'
            ? {
                iss,
                target_link_uri: `${toolUrl}/`,
                login_hint: loginHint,
                lti_message_hint: JSON.stringify({ cmid: Number(link.id), launchid: launchId }),
                client_id: rt.registration.clientId,
                lti_deployment_id: deploymentId,
              }
            : {
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
        // Moodle knows who is logged in from its own session cookie; its relaunch page needs it.
        if (kind === 'moodle')
          res.cookie(MOODLE_SESSION_COOKIE, subject.person.lmsUserId, { httpOnly: true, sameSite: 'lax', path: '/moodle' });
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
      if (str('client_id') !== rt.registration.clientId)
        return fail('unauthorized_client', `unknown client_id ${str('client_id') ?? '(none)'}`);
      const redirectUri = str('redirect_uri');
      if (redirectUri !== `${toolUrl}/`)
        return fail('invalid_request', `redirect_uri ${redirectUri ?? '(none)'} is not registered for this tool (registered: ${toolUrl}/)`);
      const nonce = str('nonce');
      if (!nonce) return fail('invalid_request', 'nonce is required');
      const state = str('state') ?? '';
      const launchId = resolveMessageHint(rt, str('lti_message_hint'));
      const launch = launchId ? pending.get(launchId) : undefined;
      if (!launchId || !launch || launch.platform !== kind || launch.expiresAt < now())
        return fail('invalid_request', 'lti_message_hint does not name a launch in progress (unknown, expired or already used)');
      if (str('login_hint') !== launch.loginHint)
        return fail('login_required', 'login_hint does not match the user who started the launch');
      pending.delete(launchId);
      const tamper = launch.tamper;
      const deploymentId = tamper.deploymentId ?? rt.registration.deploymentId;
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
      issued.push({ platform: kind, idToken, claims, state, redirectUri });
      if (issued.length > 200) issued.splice(0, issued.length - 200);
      const fields: Record<string, string> = { id_token: idToken, state };
      if (kind === 'canvas') fields.lti_storage_target = STORAGE_FRAME_NAME;
      res
        .set('Cache-Control', 'no-store')
        .type('html')
        .send(autoSubmitForm(redirectUri, fields, 'Signing you in to the tool'));
    });

    // JWKS -------------------------------------------------------------------------------------
    app.get(path(rt.registration.jwksUrl), (_req, res) => {
      res.json({ keys: [rt.key.publicJwk] });
    });

    // OAuth2 client credentials -------------------------------------------------------------------
    app.post(path(rt.registration.accesstokenEndpoint), async (req, res, next) => {
      try {
        const audiences =
          kind === 'canvas'
            ? [rt.registration.accesstokenEndpoint, `${CANVAS_ISSUER}/login/oauth2/token`]
            : [rt.registration.accesstokenEndpoint];
        const answer = await handleTokenRequest(req.body, {
          platform: kind,
          clientId: rt.registration.clientId,
          audiences,
          toolJwksUrl: `${toolUrl}/keys`,
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
        if (kind === 'moodle' && params.typeId !== rt.registration.deploymentId)
          throw new LmsError('UNKNOWN_COURSE', `no tool binding ${String(params.typeId)}`, 404);
        const course = findCourse(rt.demo, courseId);
        const query = nrpsQuery(req);
        const answer: NrpsAnswer =
          kind === 'moodle'
            ? moodleMemberships(rt.demo, course, rt.base, rt.registration.deploymentId, query)
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
