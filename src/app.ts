/**
 * The composition root: builds ltijs (on our PostgreSQL plugin), the views, the isnotai client
 * factory and the routers, and hands each its dependencies. Nothing below reaches for a global;
 * tests build the same app with other arguments.
 *
 * One request, one file per step: launch (src/ltijsAdapter.ts: ltijs and what runs around it, in
 * order) → authorise (src/web/actor.ts, src/web/access.ts) → fetch (src/web/upstream.ts → src/isnotai/client.ts) → compute (src/risk/)
 * → render (src/web/<audience>.ts + views/pages/).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import express, { type Express } from 'express';
import { create as createHandlebars } from 'express-handlebars';
import type { Provider } from 'ltijs';
import type { AppConfig } from './config';
import { createIsnotaiClient, type IsnotaiClient } from './isnotai/client';
import { legacyUserIdOf } from './lti/launchClaims';
import { DYNAMIC_REGISTRATION_ROUTE } from './lti/provider';
import type { Logger } from './log';
import { installLtijs, type LtijsServices } from './ltijsAdapter';
import { adminRouter } from './web/admin';
import { actorOf, hrefWithLtik, requireActor, withoutPlacement, type LaunchClaimsReader } from './web/actor';
import { canvasConfigRoute, CANVAS_CONFIG_ROUTE } from './web/canvasConfig';
import { courseRouter } from './web/course';
import { deepLinkingForm, deepLinkingRouter } from './web/deepLinking';
import { placementBanner } from './web/deepLinkingView';
import { HttpError } from './web/errors';
import { dynamicRegistrationRoute } from './web/registrationPage';
import { learnerRouter } from './web/learner';
import { learnerDataRouter } from './web/learnerData';
import { reviewRouter } from './web/review';
import { accommodationRouter } from './web/accommodations';
import { packetRouter } from './web/packet';
import { registrationLandingRouter, registrationRouter } from './web/registrations';
import { csrfTokens } from './web/csrf';
import type { Placement, PlacementStore, RegistrationStore } from './store';
import type {
  AccommodationRegister,
  RosterRows,
  AuditSink,
  LearnerDataStore,
  PlatformView,
  ReviewRecords,
  StudentResponses,
  UpstreamCache,
} from './web/ports';
import { activeRegistrationOrigins, securityHeaders } from './web/securityHeaders';
import { studentRouter } from './web/student';
import { studentResponseRouter } from './web/studentResponses';
import { boundUpstream, type UpstreamUse } from './web/upstream';

export interface AppServices extends LtijsServices {
  audit: AuditSink;
  /** Upstream answers only: emptying it loses nothing but those (launch state is in `launchState`). */
  cache: UpstreamCache;
  /** Review records (docs/product.md "Review"). */
  review: ReviewRecords;
  /** Students' responses (docs/product.md "Student responses"). */
  responses: StudentResponses;
  /** The accommodations register (docs/product.md "Accommodations"). */
  accommodations: AccommodationRegister;
  /** The course rosters kept in PostgreSQL (src/store/roster.ts). */
  rosters: RosterRows;
  /** A learner's review data for an admin's export and erasure (docs/product.md "Retention"). */
  learnerData: LearnerDataStore;
  /** LMS registrations: listed and edited by admins, created by Dynamic Registration (docs/product.md "Installing the tool"). */
  registrations: RegistrationStore;
  /** What each placement of the tool covers (docs/product.md "Placements"). */
  placements: PlacementStore;
  /** The platform's isnotai key and base URL, decrypted on demand (never logged or rendered). */
  upstreamCredentials(platform: PlatformView): Promise<{ apiKey: string; baseUrl: string } | null>;
}

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

/** How often each instance re-reads the registered LMSs' origins (framing and form posts allowed to them). */
const PLATFORM_ORIGINS_REFRESH_MS = 30_000;

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
  // Made once: a child logger per request cost more than the rest of binding the client.
  const isnotaiLogger = logger.child({ component: 'isnotai' });
  const makeClient =
    deps.createClient ??
    ((baseUrl: string, apiKey: string) =>
      createIsnotaiClient({
        baseUrl,
        apiKey,
        maxConnections: Math.max(8, config.upstreamConcurrency),
        logger: isnotaiLogger,
      }));
  async function upstreamFor(
    platform: PlatformView,
    use: UpstreamUse = 'page',
    placement: Placement | null = null,
    viewer: { audience?: string; ltik?: string } = {},
  ) {
    const cred = await services.upstreamCredentials(platform);
    if (!cred) {
      // An admin is taken to the registration's settings, where the key is added (src/web/registrations.ts).
      const admin = viewer.audience === 'admin' && viewer.ltik ? viewer.ltik : null;
      throw new HttpError(
        503,
        'upstream_not_configured',
        'No isnotai API key is configured for this LMS yet.',
        undefined,
        [admin ? 'Add it in the tool’s settings for this LMS.' : 'An administrator can add it in the tool’s settings for this platform.'],
        admin
          ? { href: hrefWithLtik(`/admin/registrations/${encodeURIComponent(platform.id)}`, admin), label: 'Open the settings' }
          : undefined,
      );
    }
    // One client (and keep-alive pool) per key and base URL; the key is only a map key in memory.
    const id = crypto.createHash('sha256').update(`${cred.baseUrl}\n${cred.apiKey}`).digest('hex');
    let client = clients.get(id);
    if (!client) {
      client = makeClient(cred.baseUrl, cred.apiKey);
      clients.set(id, client);
    }
    return boundUpstream(client, services.cache, platform, {
      deadlineMs: use === 'export' ? config.upstreamExportDeadlineMs : config.upstreamPageDeadlineMs,
      logger: isnotaiLogger,
      // A staff launch of a link placed on one activity reads only its sessions (docs/product.md "Placements").
      lens: placement,
    });
  }

  // Every write's form carries a token bound to its launch (src/web/csrf.ts).
  const csrf = csrfTokens(config.encryptionKey);
  const launchClaims: LaunchClaimsReader = { legacyUserId: (ltik) => legacyUserIdOf(services.launchState.claims, ltik) };
  // CSP (framing and forms limited to the registered LMSs), no-store, HSTS: src/web/securityHeaders.ts.
  const headers = securityHeaders({ toolUrl: config.toolUrl, assetsPrefix: '/assets' });
  // Placing the tool by Deep Linking: ltijs's callback shows the form, POST /deep-linking answers the LMS (src/web/deepLinking.ts).
  const deepLinking = {
    platforms: services.platforms,
    placements: services.placements,
    csrf,
    cache: services.cache,
    toolUrl: config.toolUrl,
  };
  const lti = await installLtijs({
    config,
    logger,
    services,
    viewsDir,
    headers,
    launchClaims,
    deepLinkingForm: deepLinkingForm(deepLinking),
    // Before ltijs's launch validation: LTI Dynamic Registration (GET /register) and Canvas's configuration (GET /canvas.json).
    publicPages: (provider) => {
      const open = express.Router();
      open.all(
        DYNAMIC_REGISTRATION_ROUTE,
        dynamicRegistrationRoute({
          config,
          logger,
          lti: provider,
          registrations: services.registrations,
          refreshPlatformOrigins: () => refreshPlatformOrigins(),
          headers,
        }),
      );
      open.get(CANVAS_CONFIG_ROUTE, canvasConfigRoute({ toolUrl: config.toolUrl }));
      return open;
    },
    pages: (provider) => {
      const authed = express.Router();
      // Before the actor: a Deep Linking session opens this route and no other page.
      authed.use(deepLinkingRouter({ ...deepLinking, lti: provider }));
      // The page after an admin deactivated their own registration, whose sessions open no other page.
      authed.use(registrationLandingRouter(services));
      authed.use(requireActor(services.platforms, launchClaims, services.placements));
      // The registration-wide pages are not an activity's: no placement there.
      authed.use('/admin', (_req, res, next) => {
        withoutPlacement(actorOf(res), services.platforms)
          .then((actor) => {
            res.locals.actor = actor;
            next();
          })
          .catch(next);
      });
      // What the launch's placement covers, at the top of its staff pages (views/layouts/main.hbs).
      authed.use(placementBanner);
      const pageDeps = {
        lti: provider,
        cache: services.cache,
        concurrency: config.upstreamConcurrency,
        audit: services.audit,
        review: services.review,
        responses: services.responses,
        accommodations: services.accommodations,
        rosters: services.rosters,
        learnerData: services.learnerData,
        registrations: services.registrations,
        placements: services.placements,
        // Declared below; called only when a request comes.
        refreshPlatformOrigins: () => refreshPlatformOrigins(),
        csrf,
        upstreamFor: (a: { platform: PlatformView; placement?: Placement | null; audience?: string; ltik?: string }, use?: UpstreamUse) =>
          upstreamFor(a.platform, use, a.placement ?? null, a),
      };
      authed.use(studentRouter(pageDeps));
      authed.use(studentResponseRouter(pageDeps));
      authed.use(courseRouter(pageDeps));
      authed.use(learnerRouter(pageDeps));
      authed.use(reviewRouter(pageDeps));
      authed.use(accommodationRouter(pageDeps));
      authed.use(packetRouter(pageDeps));
      authed.use(adminRouter(pageDeps));
      authed.use(learnerDataRouter(pageDeps));
      authed.use(registrationRouter(pageDeps));
      return authed;
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
  app.enable('view cache');

  const configuredAncestors = config.platforms.flatMap((p) => p.frameAncestors ?? []);
  // Only active registrations' origins (a pending one, which anyone can make at /register, widens nothing).
  const refreshPlatformOrigins = async (): Promise<void> =>
    headers.setPlatformOrigins([
      ...(await activeRegistrationOrigins(lti, await services.registrations.list(), config.platforms)),
      ...configuredAncestors,
    ]);
  await refreshPlatformOrigins();
  // An LMS registered through another instance (Dynamic Registration) may frame this one too, soon after.
  const originsTimer = setInterval(() => {
    refreshPlatformOrigins().catch((err: unknown) => logger.warn({ err }, 'could not re-read the registered LMS origins'));
  }, PLATFORM_ORIGINS_REFRESH_MS);
  originsTimer.unref();

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
      clearInterval(originsTimer);
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
