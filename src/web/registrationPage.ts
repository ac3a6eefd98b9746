/**
 * `GET /register` (public, no launch): LTI Dynamic Registration as the LMS starts it (docs/product.md "Installing the
 * tool"). The exchange with the platform is src/lti/dynamicRegistration.ts; here the takeover checks against what is
 * registered, the storing, and the pages.
 *
 * ltijs's own `DynamicRegistration.register` is never called (see src/lti/dynamicRegistration.ts for why): this route
 * answers before ltijs's (src/ltijsAdapter.ts, 9). The platform is stored through ltijs's own `lti.registerPlatform`
 * (issuer, client id, endpoints, keyset: what its login and launch checks read), then the registration through
 * src/store/registrations.ts: `pending` until the operator activates it (or `active` under AUTO_ACTIVATE), with no
 * isnotai key, audited as made by the LMS. Nothing already registered is replaced: the same issuer and client id is a
 * 409 `registration_exists` before anything is stored. While MAX_PENDING_REGISTRATIONS registrations wait to be
 * activated, a new one is refused (503 `registration_pending_limit`) before anything is fetched. The exchange connects
 * only to public addresses unless the operator set ALLOW_PRIVATE_LMS_HOSTS (src/lti/dynamicRegistration.ts).
 *
 * The page is shown inside the LMS (Moodle: an iframe on its tool configuration page), so the configuration's origin
 * may frame it, and its script (views/assets/lti-close.js) tells the LMS the tool is done. Every refusal is an error
 * page with its status, code, message and hints, and one log line without the registration token.
 */
import { type Request, type RequestHandler, type Response } from 'express';
import type { Provider } from 'ltijs';
import type { AppConfig } from '../config';
import { DEFAULT_STRATEGY } from '../lti/identity';
import {
  checkConfigurationHosts,
  fetchPlatformConfiguration,
  MAX_PENDING_REGISTRATIONS,
  postRegistration,
  readRegistrationQuery,
  RegistrationRefusal,
  registrationTokenSubject,
  toolRegistrationRequest,
  type PlatformConfiguration,
  type RegistrationQuery,
} from '../lti/dynamicRegistration';
import { platformRegistered } from '../lti/provider';
import type { Logger } from '../log';
import { StoreError, type PlatformKind, type RegistrationStore } from '../store';
import { renderError } from './errorHandler';
import { HttpError, requestIdOf } from './errors';
import { clip } from './format';
import { extendPolicy, type SecurityHeaders } from './securityHeaders';

export const LTI_CLOSE_ASSET = 'lti-close.js';

export interface RegistrationPageDeps {
  config: Pick<AppConfig, 'toolUrl' | 'autoActivate' | 'isnotaiBaseUrl' | 'allowPrivateLmsHosts'>;
  logger: Logger;
  /** ltijs (read when a request comes: the route is installed while ltijs is being built). */
  lti: () => Provider;
  registrations: Pick<RegistrationStore, 'find' | 'list' | 'createDynamic'>;
  /** Re-reads the registered platforms for the headers that name them, so the new LMS may frame the tool. */
  refreshPlatformOrigins(): Promise<void>;
  headers: SecurityHeaders;
}

/** TOOL_URL, or (development and tests, no TOOL_URL) the origin the request arrived on; no trailing slash. */
export function toolUrlOf(req: Request, toolUrl: string | undefined): string {
  if (toolUrl) return toolUrl;
  return `${req.protocol === 'https' ? 'https' : 'http'}://${req.get('host') ?? 'localhost'}`;
}

/** What the registration page shows of a product: `moodle` → Moodle. */
function productName(code: string): string {
  if (code === 'moodle') return 'Moodle';
  if (code === 'canvas') return 'Canvas';
  if (!code) return 'LMS';
  return clip(code, 60);
}

function kindOf(code: string): PlatformKind {
  return code === 'moodle' || code === 'canvas' ? code : 'other';
}

/** Issuers and client ids registered while this process registers them: one at a time per pair. */
const inFlight = new Set<string>();

export function dynamicRegistrationRoute(deps: RegistrationPageDeps): RequestHandler {
  const { logger } = deps;
  const exchange = { allowPrivateHosts: deps.config.allowPrivateLmsHosts };
  /** Exchanges this process has under way: counted with the pending registrations they may become. */
  let underWay = 0;

  /** The page of a refusal, and its log line (hosts and ids only, never the token). */
  const refuse = (req: Request, res: Response, refusal: RegistrationRefusal, context: Record<string, unknown>): void => {
    const log = refusal.status >= 500 ? logger.warn.bind(logger) : logger.info.bind(logger);
    log({ code: refusal.code, ...context, ...refusal.logDetail, requestId: res.locals.requestId }, 'dynamic registration refused');
    const hints = refusal.lmsAnswer ? [`The LMS answered: “${refusal.lmsAnswer}”`, ...refusal.hints] : [...refusal.hints];
    const heading = HEADINGS[refusal.code] ?? 'The tool could not be registered';
    renderError(
      req,
      res,
      new HttpError(refusal.status, refusal.code, refusal.message, refusal.lmsAnswer ? { lmsAnswer: refusal.lmsAnswer } : undefined, hints),
      {
        title: heading,
        heading,
      },
    );
  };

  const exists = (issuer: string, clientId: string) =>
    new RegistrationRefusal(
      409,
      'registration_exists',
      `This LMS (issuer ${clip(issuer, 200)}, client id ${clip(clientId, 200)}) is already registered with the tool. Nothing was changed.`,
      [
        'A registration is never replaced by another. The registration already there keeps working; if it is pending or deactivated, the tool’s operator (npm run platforms) or an administrator of a tool-wide registration activates it.',
        'The LMS may now list the tool a second time: remove that entry in the LMS.',
      ],
    );

  async function alreadyRegistered(issuer: string, clientId: string): Promise<boolean> {
    if (await deps.registrations.find(issuer, clientId)) return true;
    return platformRegistered(deps.lti())(issuer, clientId);
  }

  /** 503 while too many registrations wait for the operator (or are under way besides this one): before any fetch. */
  async function checkPendingLimit(): Promise<void> {
    const pending = (await deps.registrations.list()).filter((r) => r.status === 'pending').length;
    if (pending + underWay - 1 < MAX_PENDING_REGISTRATIONS) return;
    throw new RegistrationRefusal(
      503,
      'registration_pending_limit',
      `The tool already has ${MAX_PENDING_REGISTRATIONS} registrations waiting to be activated, so it takes no new one for now. Nothing was fetched or stored.`,
      [
        'The tool’s operator lists them with npm run platforms -- list, activates those they recognise and deactivates the others; then the registration can be started again from the LMS.',
      ],
    );
  }

  /** `context` gathers what the log line of a refusal names (hosts and ids). */
  async function register(req: Request, res: Response, query: RegistrationQuery, context: Record<string, unknown>): Promise<void> {
    const configurationUrl = query.openidConfiguration;
    // The LMS shows this page (and its refusals) in a frame of the page the configuration came from (this response only).
    extendPolicy(res, 'frame-ancestors', [configurationUrl.origin]);

    // Counted before the check awaits, so that requests arriving together cannot all pass it.
    underWay++;
    try {
      await checkPendingLimit();
      await exchangeAndStore(req, res, query, context);
    } finally {
      underWay--;
    }
  }

  async function exchangeAndStore(req: Request, res: Response, query: RegistrationQuery, context: Record<string, unknown>): Promise<void> {
    const configurationUrl = query.openidConfiguration;
    const platform: PlatformConfiguration = await fetchPlatformConfiguration(configurationUrl, query.registrationToken, exchange);
    context.issuer = platform.issuer;
    checkConfigurationHosts(configurationUrl, platform);

    // Moodle's token announces the client id to come: refuse a takeover before the LMS creates anything.
    const announced = registrationTokenSubject(query.registrationToken);
    if (announced && (await alreadyRegistered(platform.issuer, announced))) throw exists(platform.issuer, announced);

    const toolUrl = toolUrlOf(req, deps.config.toolUrl);
    const result = await postRegistration(platform, query.registrationToken, toolRegistrationRequest(toolUrl, platform), exchange);
    context.clientId = result.clientId;

    const key = `${platform.issuer}\n${result.clientId}`;
    // Marked before the check below awaits, so that two requests of this process cannot both pass it.
    if (inFlight.has(key)) throw exists(platform.issuer, result.clientId);
    inFlight.add(key);
    try {
      if (await alreadyRegistered(platform.issuer, result.clientId)) throw exists(platform.issuer, result.clientId);
      const kind = kindOf(platform.productFamilyCode);
      const product = productName(platform.productFamilyCode);
      const displayName = clip(`${product} at ${configurationUrl.host}`, 200);
      const lti = deps.lti();
      // Every check is done: only now does ltijs generate the platform's RSA key pair. alreadyRegistered found no ltijs
      // platform under this issuer and client id just above, so the one stored here is this request's.
      const stored = await lti.registerPlatform({
        url: platform.issuer,
        name: displayName,
        clientId: result.clientId,
        authenticationEndpoint: platform.authorizationEndpoint,
        accesstokenEndpoint: platform.tokenEndpoint,
        ...(platform.authorizationServer ? { authorizationServer: platform.authorizationServer } : {}),
        authConfig: { method: 'JWK_SET', key: platform.jwksUri },
      });
      if (!stored) throw new Error('ltijs did not register the platform');
      const status = deps.config.autoActivate ? 'active' : 'pending';
      let registration;
      try {
        registration = await deps.registrations.createDynamic({
          issuer: platform.issuer,
          clientId: result.clientId,
          displayName,
          kind,
          deploymentIds: result.deploymentId ? [result.deploymentId] : [],
          isnotaiBaseUrl: deps.config.isnotaiBaseUrl,
          identityStrategy: DEFAULT_STRATEGY[kind],
          status,
          registration: {
            // Without its query: Canvas puts the registration token there.
            openidConfiguration: `${configurationUrl.origin}${configurationUrl.pathname}`,
            product: platform.productFamilyCode || null,
            version: platform.version,
            scopesGranted: result.scopesGranted,
            messages: result.messages,
            registeredAt: new Date().toISOString(),
          },
          audit: {
            platformIss: platform.issuer,
            platformClientId: result.clientId,
            actorUserId: 'lms',
            actorRole: 'dynamic_registration',
            action: 'registration.create',
            requestId: requestIdOf(res),
            detail: { status, product: platform.productFamilyCode || null, configuration: configurationUrl.host },
          },
        });
      } catch (err) {
        const takenMeanwhile = err instanceof StoreError && err.code === 'registration_exists';
        // Undo the ltijs platform this request made, unless another instance registered this issuer and client id
        // meanwhile (its registration now stands on that platform): never delete a platform someone else stored.
        if (!takenMeanwhile && !(await deps.registrations.find(platform.issuer, result.clientId).catch(() => undefined))) {
          await lti
            .deletePlatform(platform.issuer, result.clientId)
            .catch((e: unknown) =>
              logger.error(
                { err: e, issuer: platform.issuer, clientId: result.clientId },
                'dynamic registration: could not undo the ltijs platform',
              ),
            );
        }
        if (takenMeanwhile) throw exists(platform.issuer, result.clientId);
        throw err;
      }
      await deps.refreshPlatformOrigins();
      logger.info(
        { ...context, registrationId: registration.id, status, kind, deploymentId: result.deploymentId, requestId: res.locals.requestId },
        'dynamic registration stored',
      );

      // The headers were set before the LMS was registered: again, with it, this page's script and its framer.
      res.setHeader('Content-Security-Policy', deps.headers.policyFor(req));
      extendPolicy(res, 'frame-ancestors', [configurationUrl.origin]);
      const closeScript = deps.headers.assetSource(req, LTI_CLOSE_ASSET);
      if (closeScript) extendPolicy(res, 'script-src', [closeScript]);
      res.status(200).render('pages/registered', {
        title: 'The tool is registered',
        active: status === 'active',
        registrationId: registration.id,
        lms: {
          name: clip(displayName, 200),
          product,
          version: platform.version ? clip(platform.version, 80) : null,
          issuer: clip(platform.issuer, 200),
        },
        clientId: clip(result.clientId, 200),
        deploymentId: result.deploymentId ? clip(result.deploymentId, 200) : null,
        scopes: result.scopesGranted.slice(0, 20).map((s) => clip(s, 200)),
      });
    } finally {
      inFlight.delete(key);
    }
  }

  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET');
      refuse(
        req,
        res,
        new RegistrationRefusal(
          405,
          'registration_request_invalid',
          'Registration starts with a GET from the LMS (LTI Dynamic Registration).',
        ),
        { method: req.method },
      );
      return;
    }
    let query: RegistrationQuery;
    try {
      query = readRegistrationQuery(req.query as Record<string, unknown>);
    } catch (err) {
      if (err instanceof RegistrationRefusal) return refuse(req, res, err, {});
      return next(err);
    }
    const context: Record<string, unknown> = { configuration: `${query.openidConfiguration.host}${query.openidConfiguration.pathname}` };
    register(req, res, query, context).catch((err: unknown) => {
      if (err instanceof RegistrationRefusal) refuse(req, res, err, context);
      else next(err);
    });
  };
}

/** The headings of the refusals (the status alone would say the wrong thing). */
const HEADINGS: Partial<Record<string, string>> = {
  registration_request_invalid: 'The registration request could not be read',
  registration_pending_limit: 'Too many registrations are waiting to be activated',
  registration_host_not_allowed: 'The LMS is not at a public address',
  registration_configuration_unreachable: 'The LMS’s configuration could not be read',
  registration_configuration_invalid: 'The LMS’s configuration cannot be used',
  registration_issuer_mismatch: 'The LMS’s configuration names another LMS',
  registration_endpoint_mismatch: 'The LMS’s configuration points elsewhere',
  registration_exists: 'This LMS is already registered',
  registration_lms_unreachable: 'The LMS could not be reached',
  registration_refused_by_lms: 'The LMS refused the registration',
  registration_response_invalid: 'The LMS’s answer cannot be used',
};
