/**
 * The composition root: builds ltijs (on our PostgreSQL plugin), the views, the isnotai client
 * factory and the routers, and hands each its dependencies. Nothing below reaches for a global;
 * tests build the same app with other arguments.
 *
 * One request, one file per step: launch (src/lti/provider.ts) → authorise (src/web/actor.ts,
 * src/web/access.ts) → fetch (src/web/upstream.ts → src/isnotai/client.ts) → compute (src/risk/)
 * → render (src/web/<audience>.ts + views/pages/).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import express, { type Express, type Request, type Response } from 'express';
import { create as createHandlebars } from 'express-handlebars';
import type { LtiIdToken, Provider } from 'ltijs';
import { pinoHttp } from 'pino-http';
import type { AppConfig } from './config';
import { createIsnotaiClient, type IsnotaiClient } from './isnotai/client';
import { loginParamsStore } from './lti/iframe';
import { createLtiProvider, ltiCookieOptions } from './lti/provider';
import { requestSummary, type Logger } from './log';
import { hrefWithLtik, requireActor, resolveActor, type LaunchClaimsReader } from './web/actor';
import { keepLaunchClaims, legacyUserIdOf } from './lti/launchClaims';
import { launchChecks } from './lti/launchChecks';
import { registeredPlatformOrigins, securityHeaders } from './web/securityHeaders';
import { HttpError, notFound } from './web/errors';
import { errorHandler, renderError } from './web/errorHandler';
import { launchErrorFor } from './web/launchErrors';
import { containLtijsErrors } from './web/ltijsErrors';
import { SIGNED_OUT_ROUTE, signOutRoutes } from './web/signout';
import type { AuditSink, PlatformDirectory, PlatformView, UpstreamCache } from './web/ports';
import { favicon } from './web/favicon';
import { adminRouter } from './web/admin';
import { courseRouter } from './web/course';
import { learnerRouter } from './web/learner';
import { studentRouter } from './web/student';
import { boundUpstream } from './web/upstream';

export interface AppServices {
  /** ltijs's Database plugin on our pool. */
  ltiDatabasePlugin: unknown;
  platforms: PlatformDirectory;
  audit: AuditSink;
  cache: UpstreamCache;
  /** The platform's isnotai key and base URL, decrypted on demand (never logged or rendered). */
  upstreamCredentials(platform: PlatformView): Promise<{ apiKey: string; baseUrl: string } | null>;
  /** Resolves when the database answers a trivial query (health checks). */
  databaseAnswers(): Promise<void>;
  /** Whether ENCRYPTION_KEY still decrypts the stored secrets (health checks; cheap, cached). */
  secretsReadable(): Promise<boolean>;
}

/** How long /healthz waits for the database before calling it unreachable. */
const HEALTH_TIMEOUT_MS = 2000;

export interface AppDeps {
  config: AppConfig & { encryptionKey: string };
  logger: Logger;
  services: AppServices;
  /** Builds an isnotai client for one platform (tests may shorten timeouts). */
  createClient?: (baseUrl: string, apiKey: string) => IsnotaiClient;
}

export interface ToolApp {
  lti: Provider;
  app: Express;
  listen(port: number, host?: string): Promise<{ server: Server; url: string }>;
  close(): Promise<void>;
  /** Re-reads the registered platforms for the headers that name them (call after registering). */
  refreshPlatformOrigins(): Promise<void>;
}

export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

export async function createApp(deps: AppDeps): Promise<ToolApp> {
  const { config, logger, services } = deps;
  const root = projectRoot();
  const viewsDir = path.join(root, 'views');

  const clients = new Map<string, IsnotaiClient>();
  const makeClient = deps.createClient ?? ((baseUrl: string, apiKey: string) => createIsnotaiClient({ baseUrl, apiKey, maxConnections: Math.max(8, config.upstreamConcurrency), logger: logger.child({ component: 'isnotai' }) }));
  async function upstreamFor(platform: PlatformView) {
    const cred = await services.upstreamCredentials(platform);
    if (!cred) {
      throw new HttpError(503, 'upstream_not_configured', 'No isnotai API key is configured for this LMS yet.', undefined, [
        'An administrator can add it in the tool’s settings for this platform.',
      ]);
    }
    // One client (and keep-alive pool) per key and base URL; the key is only a map key in memory.
    const id = crypto.createHash('sha256').update(`${cred.baseUrl}\n${cred.apiKey}`).digest('hex');
    let client = clients.get(id);
    if (!client) {
      client = makeClient(cred.baseUrl, cred.apiKey);
      clients.set(id, client);
    }
    return boundUpstream(client, services.cache, platform, { deadlineMs: config.upstreamPageDeadlineMs, logger: logger.child({ component: 'isnotai' }) });
  }

  const launchClaims: LaunchClaimsReader = { legacyUserId: (ltik) => legacyUserIdOf(services.cache, ltik) };
  const headers = securityHeaders({ toolUrl: config.toolUrl, assetsPrefix: '/assets' });
  const lti = createLtiProvider({
    encryptionKey: config.encryptionKey,
    databasePlugin: services.ltiDatabasePlugin,
    tokenMaxAgeSeconds: config.tokenMaxAgeSeconds,
    cookieSecure: config.cookieSecure,
    // Launch-time cookie check in the LMS iframe, with an "open in a new window" fallback.
    loginParams: loginParamsStore(services.cache),
    storageSessions: services.cache,
    beforeValidation: (app) => {
      app.disable('x-powered-by');
      app.use((_req, res, next) => {
        res.locals.requestId = crypto.randomUUID();
        next();
      });
      // CSP (framing and forms limited to the registered LMSs), no-store, HSTS: src/web/securityHeaders.ts.
      app.use(headers.middleware);
      app.use(favicon(path.join(viewsDir, 'assets', 'favicon.ico')));
      app.use(
        pinoHttp({
          logger: logger.child({ component: 'http' }),
          genReqId: (_req, res) => (res as unknown as Response).locals.requestId,
          autoLogging: { ignore: (req) => req.url === '/healthz' },
          serializers: {
            req: requestSummary,
            res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
          },
        }),
      );
      app.use(containLtijsErrors(logger.child({ component: 'http' }), ['/keys', '/login', '/register'], ['/keys']));
      app.use('/assets', express.static(path.join(viewsDir, 'assets'), { index: false, maxAge: '1h' }));
      // What ltijs does not check: target_link_uri, an iat in the future, the message type.
      app.use(
        launchChecks({
          toolUrl: config.toolUrl,
          loginRoute: '/login',
          onRefused: (_req, res, refusal) => logger.info({ ...refusal, requestId: res.locals.requestId }, 'launch refused'),
        }),
      );
      // The LTI 1.1 user id of each accepted launch, for platforms mapped by it.
      app.use(keepLaunchClaims(services.cache, '/'));
      // For load balancers and uptime checks: 200 only when the database answers (all state is
      // there) and the key still decrypts the stored secrets, 503 otherwise; no details beyond that.
      app.get('/healthz', async (_req, res) => {
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
            logger.error({ code: 'ENCRYPTION_KEY_MISMATCH' }, 'health check: ENCRYPTION_KEY no longer decrypts the stored secrets (rotated by another instance?)');
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
      });
    },
  });

  const app = lti.app;
  const hbs = createHandlebars({
    extname: '.hbs',
    defaultLayout: 'main',
    layoutsDir: path.join(viewsDir, 'layouts'),
    partialsDir: path.join(viewsDir, 'partials'),
  });
  app.engine('.hbs', hbs.engine);
  app.set('view engine', '.hbs');
  app.set('views', viewsDir);
  if (config.env === 'production') app.enable('view cache');

  const launchError = (req: Request, res: Response) => {
    const err = (res.locals.err ?? {}) as { details?: { message?: string } };
    const { httpError, newWindow } = launchErrorFor(err.details?.message, req);
    if (httpError.status >= 500) logger.warn({ code: httpError.code, cause: err.details?.message, requestId: res.locals.requestId }, 'session could not be read');
    else logger.info({ code: httpError.code, reason: err.details?.message, requestId: res.locals.requestId }, 'launch refused');
    renderError(req, res, httpError, newWindow ? { newWindowHref: newWindow } : {});
  };
  lti.onInvalidToken(launchError);
  lti.onSessionTimeout(launchError);
  lti.onUnregisteredPlatform((req, res) => renderError(req, res, new HttpError(400, 'unregistered_platform', 'This LMS is not registered with the tool.', undefined, ['An administrator registers the LMS (issuer and client id) in the tool’s configuration.'])));
  lti.onInactivePlatform((req, res) => renderError(req, res, new HttpError(401, 'inactive_platform', 'This LMS registration is not active yet.')));

  // A launch lands here (after ltijs has validated it and redirected with the ltik).
  lti.onConnect(async (_token: LtiIdToken, _req: Request, res: Response, next) => {
    try {
      const actor = await resolveActor(services.platforms, res, launchClaims);
      logger.info({ audience: actor.audience, platform: actor.platform.name, requestId: res.locals.requestId }, 'launch');
      const home = actor.audience === 'student' ? '/me' : '/course';
      res.redirect(303, hrefWithLtik(home, actor.ltik));
    } catch (err) {
      next(err);
    }
  });

  // Deep Linking (placing the tool on an activity) is not built yet: a clear page, not a 404. The
  // launch's session opens no page either (resolveActor refuses a non-resource-link launch). 501:
  // what the LMS asked for is a function the tool lacks, and an operator who watches 5xx learns that
  // the LMS registration offers Deep Linking.
  lti.onDeepLinking((_token: LtiIdToken, req: Request, res: Response) => {
    logger.info({ code: 'deep_linking_unsupported', requestId: res.locals.requestId }, 'deep linking launch');
    const heading = 'Placing this tool is not available yet';
    renderError(
      req,
      res,
      new HttpError(501, 'deep_linking_unsupported', 'Placing this tool on an activity from the LMS is not available yet.', undefined, [
        'Add it as a plain link instead: an external tool link or activity (in Canvas, a course navigation link) that opens the tool without choosing content.',
        'An LMS administrator can turn off Deep Linking (content selection) in the tool’s registration so that this choice is not offered.',
      ]),
      { title: heading, heading, kind: 'warn' },
    );
  });

  // "Sign out" on every page of a session; the page it lands on needs no session.
  lti.whitelist(SIGNED_OUT_ROUTE);
  signOutRoutes(app, { sessions: services.cache, cookie: ltiCookieOptions(config.cookieSecure), logger });

  const authed = express.Router();
  authed.use(requireActor(services.platforms, launchClaims));
  const pageDeps = { lti, cache: services.cache, concurrency: config.upstreamConcurrency, audit: services.audit, upstreamFor: (a: { platform: PlatformView }) => upstreamFor(a.platform) };
  authed.use(studentRouter(pageDeps));
  authed.use(courseRouter(pageDeps));
  authed.use(learnerRouter(pageDeps));
  authed.use(adminRouter(pageDeps));
  app.use(authed);
  app.use((req, res) => renderError(req, res, notFound('There is no such page in this tool.')));
  app.use(errorHandler(logger));

  await lti.deploy({ serverless: true, silent: true });
  const configuredAncestors = config.platforms.flatMap((p) => p.frameAncestors ?? []);
  const refreshPlatformOrigins = async (): Promise<void> => headers.setPlatformOrigins([...(await registeredPlatformOrigins(lti)), ...configuredAncestors]);
  await refreshPlatformOrigins();

  let server: Server | undefined;
  return {
    lti,
    app,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        const s = app.listen(port, host);
        s.once('error', reject);
        s.once('listening', () => {
          server = s;
          const addr = s.address();
          const p = typeof addr === 'object' && addr ? addr.port : port;
          resolve({ server: s, url: `http://${host}:${p}` });
        });
      });
    },
    async close() {
      if (server) {
        const s = server;
        s.closeAllConnections?.();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await Promise.resolve(services.ltiDatabasePlugin && (services.ltiDatabasePlugin as { Close?: () => Promise<unknown> }).Close?.());
    },
    refreshPlatformOrigins,
  };
}
