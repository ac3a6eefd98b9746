/**
 * The one ltijs adapter: builds ltijs (src/lti/provider.ts) and installs every piece around it on its
 * Express app, in the one order below, then the tool's pages (given by src/app.ts) and the error page.
 * src/lti decides (it may only refuse, rewrite the request or hold back ltijs's redirect); src/web
 * renders; this file is where the two meet, with src/app.ts.
 *
 * ltijs's own server runs first: its URI check, helmet, body parsers, cookie parser (signed cookies)
 * and its reading of the ltik into `req.token`. Then, before ltijs's launch validation and routes:
 *
 *  1. Partitioned cookies (HTTPS only): patches `res.cookie`, first, so that every cookie set after it
 *     (ltijs's state and session cookies, the iframe check cookie, the sign-out's clearing) is
 *     `Partitioned` and so kept by browsers that block third-party cookies.
 *  2. Request id (`res.locals.requestId`): everything after it logs it, and error pages show it.
 *  3. Security headers (src/web/securityHeaders.ts): CSP, no-store, HSTS, set before anything can
 *     answer; the storage page adds its `script-src` to them, the favicon its own Cache-Control.
 *  4. Compression (gzip or brotli, as the browser accepts) of answers over 1 kB: before anything that
 *     answers with a body; never images (the favicon) nor `no-transform` answers. A page sent in parts
 *     flushes each part (src/web/progressPage.ts), so that it still arrives as written.
 *  5. Favicon: answered before the request log (browsers ask on every page) and before ltijs (which
 *     would refuse it as a launch without an ltik).
 *  6. Request log (pino-http): one line per request from here on, health checks excepted.
 *  7. ltijs error containment (src/web/ltijsErrors.ts): patches `res.send` on ltijs's own routes
 *     (/keys, /login) before they run, so their raw 500s become the tool's errors.
 *  8. Assets and 9. /healthz and the public pages (given by src/app.ts): need no launch, so they answer
 *     before ltijs would refuse them. The public pages are LTI Dynamic Registration, GET /register
 *     (src/web/registrationPage.ts; ltijs's own /register route, after it, is never reached), and
 *     Canvas's configuration, GET /canvas.json (src/web/canvasConfig.ts).
 * 10. Launch checks (src/lti/launchChecks.ts): refuse what ltijs would accept but the tool must not
 *     (a foreign target_link_uri, an iat in the future, an unknown message type); before 12, so a
 *     refused login is never stored.
 * 11. Landing and launch claims: on an id_token post, both patch `res.redirect`, which ltijs calls
 *     with the new ltik once it accepts the launch. The landing (src/lti/landing.ts), installed first
 *     so that it sees the redirect last, sends a learner's or instructor's resource link launch
 *     straight to /me or /course instead of ltijs's app route; the launch claims
 *     (src/lti/launchClaims.ts) keep the LTI 1.1 user id under that ltik. Then the platform keys
 *     (src/lti/platformKeys.ts) note the id_token's key id, so that ltijs verifies it with the LMS's
 *     keyset as kept between launches instead of fetching it on every launch.
 * 12. Iframe login and sessions (src/lti/iframe.ts, platformStorage.ts): the last word before ltijs.
 *     It rewrites the request ltijs is about to read: a checked login's parameters (`req.query`,
 *     `req.body`), the state cookie a platform-storage proof stands in for and the session cookie a
 *     cookie-less session's record stands in for (`req.signedCookies`). It patches `res.redirect`
 *     (installed after 11, it sees ltijs's redirect first) to note a login's state, to begin a
 *     storage login, or to record a cookie-less session; and it refuses signed-out ltiks.
 *
 * ltijs: its validation of the ltik or id_token, its login, keyset and app routes, and the callbacks
 * set here (a launch goes to /me or /course; a Deep Linking launch gets the placement form,
 * src/web/deepLinking.ts; refusals become the tool's pages: a login from an LMS not registered names
 * what it sent, one on a pending or deactivated registration says which). After it, only requests
 * with a valid session (or a whitelisted route) go on:
 *
 * 13. Sign-out (src/web/signout.ts): the form on every page, POST /signout, GET /signed-out.
 * 14. The tool's pages (src/app.ts).
 * 15. Not found, and 16. the error handler (src/web/errorHandler.ts), which renders every error,
 *     including the refusals (LaunchRefusal) that 10 and 12 pass to `next`.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import compression from 'compression';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { LtiIdToken, Provider } from 'ltijs';
import { pinoHttp } from 'pino-http';
import type { AppConfig } from './config';
import { iframeLogin } from './lti/iframe';
import { landOnFirstPage } from './lti/landing';
import { platformKeys } from './lti/platformKeys';
import { keepLaunchClaims } from './lti/launchClaims';
import { launchChecks } from './lti/launchChecks';
import {
  APP_ROUTE,
  createLtiProvider,
  KEYSET_ROUTE,
  LOGIN_ROUTE,
  ltiCookieOptions,
  partitionedCookies,
  platformRegistered,
} from './lti/provider';
import { requestSummary, type Logger } from './log';
import type { LaunchStateStore } from './store';
import { hrefWithLtik, registrationNotActive, resolveActor, type LaunchClaimsReader } from './web/actor';
import { errorHandler, renderError } from './web/errorHandler';
import { HttpError, notFound } from './web/errors';
import { favicon } from './web/favicon';
import { clip } from './web/format';
import { launchErrorFor } from './web/launchErrors';
import { renderStoragePage } from './web/launchPages';
import { containLtijsErrors } from './web/ltijsErrors';
import type { PlatformDirectory } from './web/ports';
import type { SecurityHeaders } from './web/securityHeaders';
import { SIGNED_OUT_ROUTE, signOutRoutes } from './web/signout';

/** How long /healthz waits for the database before calling it unreachable. */
const HEALTH_TIMEOUT_MS = 2000;

/**
 * Step 4: gzip or brotli (compression's quality 4), as the browser prefers, for answers over 1 kB whose type mime-db
 * calls compressible (HTML, CSS, JavaScript, JSON, CSV), none marked `Cache-Control: no-transform`; never an image
 * (the favicon; other images are compressed formats already). Why pages with an ltik may be compressed (BREACH):
 * docs/security.md.
 */
const compressBodies = compression({
  threshold: 1024,
  filter: (req, res) => !String(res.getHeader('Content-Type') ?? '').startsWith('image/') && compression.filter(req, res),
});

export interface LtijsServices {
  /** ltijs's Database plugin on our pool. */
  ltiDatabasePlugin: unknown;
  platforms: PlatformDirectory;
  /** Login initiations, cookie-less sessions, sign-outs and launch claims (src/store/launchState.ts). */
  launchState: LaunchStateStore;
  /** Resolves when the database answers a trivial query (health checks). */
  databaseAnswers(): Promise<void>;
  /** Whether ENCRYPTION_KEY still decrypts the stored secrets (health checks; cheap, cached). */
  secretsReadable(): Promise<boolean>;
}

export interface LtijsAdapterDeps {
  config: AppConfig & { encryptionKey: string };
  logger: Logger;
  services: LtijsServices;
  viewsDir: string;
  headers: SecurityHeaders;
  /** Reads the claims ltijs does not keep (src/lti/launchClaims.ts), for the actor of a launch. */
  launchClaims: LaunchClaimsReader;
  /** The tool's pages (14), given ltijs (they call its services, e.g. Names and Roles). */
  pages(lti: Provider): RequestHandler;
  /** The pages that need no launch (9): given ltijs as a getter, since they are installed while ltijs is built. */
  publicPages(lti: () => Provider): RequestHandler;
  /** A Deep Linking launch's page: the placement form, or why this launch cannot place the tool (src/web/deepLinking.ts). */
  deepLinkingForm: (req: Request, res: Response, next: NextFunction) => unknown;
}

/** Builds ltijs, installs everything around it in the order above, and deploys it (serverless). */
export async function installLtijs(deps: LtijsAdapterDeps): Promise<Provider> {
  const { config, logger, services } = deps;
  const cookie = ltiCookieOptions(config.cookieSecure);
  const httpLogger = logger.child({ component: 'http' });

  // The LMSs' keysets, kept between launches (src/lti/platformKeys.ts): ltijs reads its registrations through this.
  const keys = platformKeys({
    onFetchFailed: (url, err) =>
      logger.warn({ keyset: url, err: err instanceof Error ? err.message : String(err) }, 'could not read an LMS keyset'),
  });
  const lti: Provider = createLtiProvider({
    encryptionKey: config.encryptionKey,
    databasePlugin: keys.wrapPlugin(services.ltiDatabasePlugin as object),
    tokenMaxAgeSeconds: config.tokenMaxAgeSeconds,
    cookieSecure: config.cookieSecure,
    serverAddon: (app: Express) => {
      app.disable('x-powered-by');
      // 1.
      if (config.cookieSecure) app.use(partitionedCookies);
      // 2.
      app.use((_req, res, next) => {
        res.locals.requestId = crypto.randomUUID();
        next();
      });
      // 3.
      app.use(deps.headers.middleware);
      // 4.
      app.use(compressBodies);
      // 5.
      app.use(favicon(path.join(deps.viewsDir, 'assets', 'favicon.ico')));
      // 6.
      app.use(
        pinoHttp({
          logger: httpLogger,
          genReqId: (_req, res) => (res as unknown as Response).locals.requestId as string,
          autoLogging: { ignore: (req) => req.url === '/healthz' },
          serializers: {
            req: requestSummary,
            res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
          },
        }),
      );
      // 7.
      app.use(containLtijsErrors(httpLogger, [KEYSET_ROUTE, LOGIN_ROUTE], [KEYSET_ROUTE]));
      // 8.
      app.use('/assets', express.static(path.join(deps.viewsDir, 'assets'), { index: false, maxAge: '1h' }));
      // 9.
      app.get('/healthz', healthCheck(services, logger));
      app.use(deps.publicPages(() => lti));
      // 10.
      app.use(
        launchChecks({
          toolUrl: config.toolUrl,
          loginRoute: LOGIN_ROUTE,
          onRefused: (_req, res, refusal) => logger.info({ ...refusal, requestId: res.locals.requestId }, 'launch refused'),
        }),
      );
      // 11.
      app.use(
        landOnFirstPage(APP_ROUTE, (_req, res, landing) =>
          logger.info({ audience: landing.audience, page: landing.page, requestId: res.locals.requestId }, 'launch'),
        ),
      );
      app.use(keepLaunchClaims(services.launchState.claims, APP_ROUTE));
      app.use(keys.middleware(APP_ROUTE));
      // 12.
      app.use(
        iframeLogin({
          logins: services.launchState.logins,
          sessions: services.launchState.sessions,
          loginRoute: LOGIN_ROUTE,
          appRoute: APP_ROUTE,
          cookie,
          isRegistered: (iss, clientId) => platformRegistered(lti)(iss, clientId),
          showStoragePage: renderStoragePage,
        }),
      );
    },
  });

  answerLaunches(lti, deps);

  const app = lti.app;
  // 13. The page it lands on needs no session.
  lti.whitelist(SIGNED_OUT_ROUTE);
  signOutRoutes(app, { sessions: services.launchState.sessions, cookie, logger });
  // 14.
  app.use(deps.pages(lti));
  // 15.
  app.use((req, res) => renderError(req, res, notFound('There is no such page in this tool.')));
  // 16.
  app.use(errorHandler(logger));

  await lti.deploy({ serverless: true, silent: true });
  return lti;
}

/** ltijs's callbacks: where an accepted launch goes, and the tool's pages for what ltijs refuses. */
function answerLaunches(lti: Provider, deps: LtijsAdapterDeps): void {
  const { logger, services } = deps;
  const launchError = (req: Request, res: Response) => {
    const err = (res.locals.err ?? {}) as { details?: { message?: string } };
    const { httpError, newWindow } = launchErrorFor(err.details?.message, req);
    if (httpError.status >= 500)
      logger.warn({ code: httpError.code, cause: err.details?.message, requestId: res.locals.requestId }, 'session could not be read');
    else logger.info({ code: httpError.code, reason: err.details?.message, requestId: res.locals.requestId }, 'launch refused');
    renderError(req, res, httpError, newWindow ? { newWindowHref: newWindow } : {});
  };
  lti.onInvalidToken(launchError);
  lti.onSessionTimeout(launchError);
  // A login from an issuer (and client id) ltijs does not know: the page names what the LMS sent, so that its
  // administrator can compare it with the registration.
  lti.onUnregisteredPlatform((req, res) => {
    const sent = loginParams(req);
    logger.info(
      { code: 'unregistered_platform', iss: sent.iss, clientId: sent.clientId, requestId: res.locals.requestId },
      'launch refused',
    );
    const named = (v: string | null) => v ?? 'none';
    renderError(
      req,
      res,
      new HttpError(
        400,
        'unregistered_platform',
        'This LMS is not registered with the tool.',
        { issuer: sent.iss, clientId: sent.clientId, deploymentId: sent.deploymentId },
        [
          `The LMS sent: issuer ${named(sent.iss)}, client id ${named(sent.clientId)}, deployment id ${named(sent.deploymentId)}.`,
          'An LMS administrator registers the tool from the LMS (LTI Dynamic Registration, with the address TOOL_URL/register), or the tool’s operator adds this issuer and client id to its configuration.',
        ],
      ),
    );
  });
  // A login on a registration that is pending (made by Dynamic Registration, not activated yet) or deactivated:
  // ltijs's own check (lti_platform_status, written with the registration's status); the page says which.
  lti.onInactivePlatform((req, res) => {
    const sent = loginParams(req);
    void (async () => {
      const platform = sent.iss && sent.clientId ? await services.platforms.find(sent.iss, sent.clientId) : null;
      const httpError = registrationNotActive(platform?.status === 'pending' ? 'pending' : 'inactive');
      logger.info({ code: httpError.code, iss: sent.iss, clientId: sent.clientId, requestId: res.locals.requestId }, 'launch refused');
      renderError(req, res, httpError);
    })().catch((err: unknown) => {
      logger.warn({ err, requestId: res.locals.requestId }, 'inactive platform page failed');
      renderError(req, res, registrationNotActive('inactive'));
    });
  });

  // A launch lands here (after ltijs has validated it and redirected with the ltik) unless the landing (step 11) sent it
  // straight to its first page; and so does a reload of that address.
  lti.onConnect(async (_token: LtiIdToken, _req: Request, res: Response, next) => {
    try {
      const actor = await resolveActor(services.platforms, res, deps.launchClaims);
      logger.info({ audience: actor.audience, platform: actor.platform.name, requestId: res.locals.requestId }, 'launch');
      // An admin of a registration without an isnotai key yet (just registered) starts where the key is added.
      const home =
        actor.audience === 'student'
          ? '/me'
          : actor.audience === 'admin' && !actor.platform.hasApiKey
            ? `/admin/registrations/${encodeURIComponent(actor.platform.id)}`
            : '/course';
      res.redirect(303, hrefWithLtik(home, actor.ltik));
    } catch (err) {
      next(err);
    }
  });

  // Deep Linking (an instructor placing the tool in a course): the placement form (src/web/deepLinking.ts), whose POST
  // answers the LMS with a signed content item. Its session opens that form and no other page (src/web/actor.ts).
  lti.onDeepLinking((_token: LtiIdToken, req: Request, res: Response, next: NextFunction) => {
    logger.info({ requestId: res.locals.requestId }, 'deep linking launch');
    return deps.deepLinkingForm(req, res, next);
  });
}

/**
 * What a login initiation named (ltijs reads the query and the body alike), each clipped to 200 characters for the
 * page and the log; null for what it did not send.
 */
function loginParams(req: Request): { iss: string | null; clientId: string | null; deploymentId: string | null } {
  const params = { ...(req.query as Record<string, unknown>), ...((req.body ?? {}) as Record<string, unknown>) };
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? clip(v, 200) : null);
  return { iss: text(params.iss), clientId: text(params.client_id), deploymentId: text(params.lti_deployment_id) };
}

/**
 * For load balancers and uptime checks: 200 only when the database answers (all state is there) and
 * the key still decrypts the stored secrets, 503 otherwise; no details beyond that.
 */
function healthCheck(services: LtijsServices, logger: Logger): (req: Request, res: Response) => Promise<void> {
  return async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    let timer: NodeJS.Timeout | undefined;
    try {
      const secretsReadable = await Promise.race([
        services.databaseAnswers().then(() => services.secretsReadable()),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), HEALTH_TIMEOUT_MS);
        }),
      ]);
      if (!secretsReadable) {
        logger.error(
          { code: 'encryption_key_mismatch' },
          'health check: ENCRYPTION_KEY no longer decrypts the stored secrets (rotated by another instance?)',
        );
        res.status(503).json({ ok: false, database: 'ok', secrets: 'undecryptable' });
        return;
      }
      res.json({ ok: true, database: 'ok', secrets: 'ok' });
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'health check: database unreachable');
      res.status(503).json({ ok: false, database: 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  };
}
