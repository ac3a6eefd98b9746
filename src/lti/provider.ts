/**
 * ltijs, set up for this tool. ltijs exports one Provider instance per process; we build a fresh
 * instance per app from its class, so two apps (or two "instances behind a load balancer" in a
 * test) can live side by side, sharing nothing but the database.
 *
 * Launch checks stay on: devMode is never enabled (it skips the state cookie check). For LMS
 * iframes on another site, the cookies are `Secure; SameSite=None; Partitioned`, so that browsers
 * that block third-party cookies still keep them for the tool inside that LMS (CHIPS); a browser
 * that keeps none there is served by the LMS's platform storage where offered (platformStorage.ts)
 * or a new window (iframe.ts).
 */
import type { Express, NextFunction, Request, Response } from 'express';
import { Provider as ltijsSingleton, type Provider } from 'ltijs';
import { iframeLogin, type LoginParamsStore } from './iframe';
import type { SessionStore } from './platformStorage';

export interface LtiProviderOptions {
  encryptionKey: string;
  databasePlugin: unknown;
  tokenMaxAgeSeconds: number;
  cookieSecure: boolean;
  /** Runs on ltijs's Express app before its launch validation (static files, logging, headers). */
  beforeValidation?: (app: Express) => void;
  /**
   * Where login initiations are kept for the iframe cookie check (src/lti/iframe.ts). Without it
   * launches go straight to ltijs, and a browser that keeps no cookie in the LMS frame ends in a
   * refusal instead of an "open in a new window" button.
   */
  loginParams?: LoginParamsStore;
  /**
   * Where cookie-less sessions begun through the LMS's platform storage, and sign-outs, are kept
   * (src/lti/platformStorage.ts); needs `loginParams`.
   */
  storageSessions?: SessionStore;
}

/**
 * ltijs's cookie options: framed by an LMS on another site, its cookies must be `SameSite=None;
 * Secure` (partitioned below); on plain http (development) only `Lax` is accepted. Whoever sets or
 * clears a cookie of the launch uses these, so the browser treats them as the same cookie.
 */
export function ltiCookieOptions(cookieSecure: boolean): { secure: boolean; sameSite: 'None' | 'Lax' } {
  return cookieSecure ? { secure: true, sameSite: 'None' } : { secure: false, sameSite: 'Lax' };
}

export function createLtiProvider(options: LtiProviderOptions): Provider {
  const ProviderClass = (ltijsSingleton as unknown as { constructor: new () => Provider }).constructor;
  const lti = new ProviderClass();
  lti.setup(
    options.encryptionKey,
    { plugin: options.databasePlugin },
    {
      appRoute: '/',
      loginRoute: '/login',
      keysetRoute: '/keys',
      // ltijs's CORS reflects any origin with credentials; the tool needs no cross-origin XHR.
      cors: false,
      devMode: false,
      tokenMaxAge: options.tokenMaxAgeSeconds,
      cookies: ltiCookieOptions(options.cookieSecure),
      serverAddon: (app: Express) => {
        if (options.cookieSecure) app.use(partitionedCookies);
        options.beforeValidation?.(app);
        // Before ltijs's own login route and launch validation, which ltijs installs after this.
        if (options.loginParams) {
          app.use(
            iframeLogin({
              store: options.loginParams,
              loginRoute: '/login',
              appRoute: '/',
              cookie: ltiCookieOptions(options.cookieSecure),
              ...(options.storageSessions ? { sessions: options.storageSessions } : {}),
              isRegistered: async (iss, clientId) => {
                const found: unknown = clientId ? await lti.getPlatform(iss, clientId) : await lti.getPlatform(iss);
                return Array.isArray(found) ? found.length > 0 : Boolean(found);
              },
            }),
          );
        }
      },
    },
  );
  return lti;
}

/** Adds `Partitioned` to every `SameSite=None; Secure` cookie ltijs sets (state and session). */
function partitionedCookies(_req: Request, res: Response, next: NextFunction): void {
  const original = res.cookie.bind(res);
  res.cookie = ((name: string, value: unknown, opts?: Record<string, unknown>) => {
    const o = opts ?? {};
    if (o.secure === true && String(o.sameSite).toLowerCase() === 'none') return original(name, value as string, { ...o, partitioned: true });
    return original(name, value as string, o);
  }) as Response['cookie'];
  // clearCookie goes through res.cookie in Express 4, so it is partitioned too (it must match).
  next();
}
