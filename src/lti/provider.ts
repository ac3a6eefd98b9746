/**
 * ltijs, set up for this tool. ltijs exports one Provider instance per process; we build a fresh
 * instance per app from its class, so two apps (or two "instances behind a load balancer" in a
 * test) can live side by side, sharing nothing but the database.
 *
 * Launch checks stay on: devMode is never enabled (it skips the state cookie check). For LMS
 * iframes on another site, the cookies are `Secure; SameSite=None; Partitioned`, so that browsers
 * that block third-party cookies still keep them for the tool inside that LMS (CHIPS); a browser
 * that keeps none there is served by the LMS's platform storage where offered (platformStorage.ts)
 * or a new window (iframe.ts). What runs around ltijs, and in which order, is src/ltijsAdapter.ts.
 */
import type { Express, NextFunction, Request, Response } from 'express';
import { Provider as ltijsSingleton, type Provider } from 'ltijs';
import { keepLtikSecret } from './ltikSecret';

export interface LtiProviderOptions {
  encryptionKey: string;
  databasePlugin: unknown;
  tokenMaxAgeSeconds: number;
  cookieSecure: boolean;
  /**
   * Installs middleware on ltijs's Express app after its body and cookie parsers and its reading of
   * the ltik (`req.token`), before its launch validation and its routes (src/ltijsAdapter.ts).
   */
  serverAddon: (app: Express) => void;
}

export const LOGIN_ROUTE = '/login';
export const APP_ROUTE = '/';
export const KEYSET_ROUTE = '/keys';
/**
 * LTI Dynamic Registration: the tool answers it itself (src/web/registrationPage.ts, installed before ltijs's routes);
 * ltijs's own route at the same path (its `dynReg` option is not set) is never reached.
 */
export const DYNAMIC_REGISTRATION_ROUTE = '/register';

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
  // ltijs's ltik signing and verifying, with the key made once instead of parsed on every call (ltikSecret.ts).
  keepLtikSecret(options.encryptionKey);
  lti.setup(
    options.encryptionKey,
    { plugin: options.databasePlugin },
    {
      appRoute: APP_ROUTE,
      loginRoute: LOGIN_ROUTE,
      keysetRoute: KEYSET_ROUTE,
      // ltijs's CORS reflects any origin with credentials; the tool needs no cross-origin XHR.
      cors: false,
      devMode: false,
      tokenMaxAge: options.tokenMaxAgeSeconds,
      cookies: ltiCookieOptions(options.cookieSecure),
      serverAddon: options.serverAddon,
    },
  );
  return lti;
}

/** Whether ltijs would accept a login from this issuer (and client id, when the login names one). */
export function platformRegistered(lti: Provider): (iss: string, clientId: string | undefined) => Promise<boolean> {
  return async (iss, clientId) => {
    const found: unknown = clientId ? await lti.getPlatform(iss, clientId) : await lti.getPlatform(iss);
    return Array.isArray(found) ? found.length > 0 : Boolean(found);
  };
}

/**
 * Adds `Partitioned` to every `SameSite=None; Secure` cookie set after it (ltijs's state and session
 * cookies, the iframe check cookie), by patching `res.cookie`.
 */
export function partitionedCookies(_req: Request, res: Response, next: NextFunction): void {
  const original = res.cookie.bind(res);
  res.cookie = ((name: string, value: unknown, opts?: Record<string, unknown>) => {
    const o = opts ?? {};
    if (o.secure === true && String(o.sameSite).toLowerCase() === 'none')
      return original(name, value as string, { ...o, partitioned: true });
    return original(name, value as string, o);
  }) as Response['cookie'];
  // clearCookie goes through res.cookie in Express 4, so it is partitioned too (it must match).
  next();
}
