/**
 * Launches inside an LMS iframe on another site, where the browser may refuse the tool's cookies.
 *
 * ltijs binds the OIDC login to the browser with a state cookie; a framed tool's cookies are
 * third-party cookies. Chromium keeps them when they are `Partitioned` (CHIPS, see provider.ts);
 * browsers that keep no third-party cookie at all in the frame would end in ltijs's 401
 * MISSING_VALIDATION_COOKIE — and by then the LMS has already spent its one-time
 * `lti_message_hint` (Moodle unsets `$SESSION->launchid` in auth.php, Canvas deletes the cached
 * launch), so re-sending that login initiation from a new window would be refused by the LMS.
 *
 * So the check happens before the LMS is involved. A login initiation to /login is stored
 * (PostgreSQL, 10 minutes) under a random id and answered with a cookie and a 303 to
 * `/login?cookie_check=<id>`. If that request carries the cookie back, cookies work here: the
 * stored parameters go on to ltijs's own login route, unchanged (state cookie, state check and
 * all). If it does not, and the login names the LMS's platform storage (`lti_storage_target`),
 * the login is bound to the browser there instead (platformStorage.ts). Otherwise the frame shows a
 * button that posts the same, still unused, login initiation to /login in a new window
 * (`target="_blank"`), where the tool is the top-level site and its cookies are first-party.
 *
 * Also kept: the `state` ltijs generates for each login (read from its redirect to the LMS), so
 * that a launch refused for a missing state cookie can still say which LMS and course it came
 * from and, for Moodle, offer Moodle's own launch page for that activity in a new window.
 */
import crypto from 'node:crypto';
import type { CookieOptions, NextFunction, Request, RequestHandler, Response } from 'express';
import { renderError } from '../web/errorHandler';
import { HttpError } from '../web/errors';
import {
  checkSession,
  interceptRedirect,
  loadStorageLogin,
  ltikInRedirect,
  newSecret,
  originOf,
  proofMatches,
  recordStorageSession,
  renderStoragePage,
  saveStorageLogin,
  storageKey,
  storageTargetOf,
  STORAGE_PROOF_FIELD,
  type SessionStore,
} from './platformStorage';

/** Where login parameters are kept between requests (shared by every instance of the tool). */
export interface LoginParamsStore {
  save(key: string, params: Record<string, string>): Promise<void>;
  load(key: string): Promise<Record<string, string> | null>;
}

/** The subset of the upstream cache (src/store/cache.ts) this module needs. */
export interface JsonKeyValue {
  get(key: string): Promise<unknown>;
  set(key: string, value: Record<string, string>, ttlSeconds: number): Promise<void>;
}

export const LOGIN_PARAMS_TTL_SECONDS = 600;
export const CHECK_COOKIE = 'isnotai_cookie_check';
export const CHECK_PARAM = 'cookie_check';

/** Login parameters in the `upstream_cache` table, as `iframe-login:<key>`, for 10 minutes. */
export function loginParamsStore(cache: JsonKeyValue, ttlSeconds = LOGIN_PARAMS_TTL_SECONDS): LoginParamsStore {
  return {
    async save(key, params) {
      await cache.set(`iframe-login:${key}`, params, ttlSeconds);
    },
    async load(key) {
      const value = await cache.get(`iframe-login:${key}`);
      return isStringRecord(value) ? value : null;
    },
  };
}

export interface NewWindowForm {
  action: string;
  fields: Array<{ name: string; value: string }>;
}

export interface IframeLoginOptions {
  store: LoginParamsStore;
  loginRoute: string;
  /** ltijs's app route, where the LMS posts the id_token. */
  appRoute: string;
  /** ltijs's cookie options (secure, sameSite), so the check cookie travels exactly as its own. */
  cookie: { secure: boolean; sameSite: 'None' | 'Lax' };
  /** Whether ltijs would accept a login from this issuer (others go straight to ltijs's refusal). */
  isRegistered(iss: string, clientId: string | undefined): Promise<boolean>;
  /**
   * Where cookie-less sessions begun through the LMS's platform storage, and sign-outs, are
   * recorded (platformStorage.ts). Without it, a frame that keeps no cookie gets the new-window
   * button only.
   */
  sessions?: SessionStore;
}

// A login initiation is a handful of short strings; anything bigger is not one.
const MAX_FIELDS = 30;
const MAX_VALUE = 8192;
const ID_PATTERN = /^[0-9a-f]{32}$/;
const STATE_PATTERN = /^[0-9A-Za-z%._~-]{1,200}$/;

/** Installed before ltijs's login route (provider serverAddon). */
export function iframeLogin(options: IframeLoginOptions): RequestHandler {
  const cookieOptions: CookieOptions = {
    secure: options.cookie.secure,
    sameSite: options.cookie.sameSite === 'None' ? 'none' : 'lax',
    httpOnly: true,
    signed: true,
    path: options.loginRoute,
    maxAge: LOGIN_PARAMS_TTL_SECONDS * 1000,
  };

  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path === options.appRoute && req.method === 'POST' && isRecord(req.body) && typeof req.body.id_token === 'string') {
      const launch = async (): Promise<void> => {
        // ltijs reads an ltik before an id_token: one sent beside it is held to the same session
        // rules (a signed-out one is refused here too, not redirected into the tool).
        const refusal = options.sessions ? await checkSession(req, options.sessions) : null;
        if (refusal) return renderError(req, res, refusal);
        if (!(await launchWithoutStateCookie(req, res, options, next))) next();
      };
      launch().catch(next);
      return;
    }
    if (req.path !== options.loginRoute) {
      if (!options.sessions) return next();
      checkSession(req, options.sessions).then((refusal) => (refusal ? renderError(req, res, refusal) : next()), next);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'POST') return next();
    const run = async (): Promise<void> => {
      const params = loginParameters(req);
      if (!params) return next(); // not a login initiation we handle: ltijs answers it

      const checkId = params[CHECK_PARAM];
      if (checkId !== undefined) {
        if (!ID_PATTERN.test(checkId)) return next();
        const stored = await options.store.load(`check:${checkId}`);
        if (!stored) {
          return renderError(req, res, new HttpError(400, 'launch_check_expired', 'This launch is too old to continue.', undefined, ['Go back to your course and open the tool again.']));
        }
        const signed = (req.signedCookies as Record<string, unknown> | undefined)?.[CHECK_COOKIE];
        if (signed !== checkId) {
          // The browser did not keep our cookie in this frame. Where the LMS offers its storage,
          // the login is bound to this browser there (platformStorage.ts); otherwise, or if the LMS
          // does not answer, the login starts over in a top-level window.
          const target = storageTargetOf(stored);
          if (options.sessions && target && stored.iss) {
            req.query = {};
            req.body = { ...stored };
            interceptRedirect(res, (authUrl) => beginStorageLogin(req, res, options, stored, target, authUrl), next);
            return next();
          }
          return renderNeedsNewWindow(req, res, options.loginRoute, stored);
        }
        res.clearCookie(CHECK_COOKIE, { ...cookieOptions, maxAge: undefined });
        // Cookies work here: hand the original login initiation to ltijs, as it arrived.
        req.query = {};
        req.body = { ...stored };
        captureState(res, options.store, stored, next);
        return next();
      }

      if (!params.iss || !params.login_hint || !params.target_link_uri) return next();
      if (!(await options.isRegistered(params.iss, params.client_id))) return next();
      const id = crypto.randomBytes(16).toString('hex');
      await options.store.save(`check:${id}`, params);
      res.cookie(CHECK_COOKIE, id, cookieOptions);
      res.set('Cache-Control', 'no-store');
      res.redirect(303, `${options.loginRoute}?${CHECK_PARAM}=${id}`);
    };
    run().catch(next);
  };
}

function renderNeedsNewWindow(req: Request, res: Response, loginRoute: string, login: Record<string, string>): void {
  res.locals.newWindowForm = newWindowForm(loginRoute, login);
  renderError(req, res, new HttpError(401, 'launch_needs_new_window', 'Your browser does not let this tool keep its sign-in cookie while it is shown inside the LMS page.', undefined, [
    'Open it in a new window: you stay signed in to your LMS, and the tool opens as its own page.',
  ]));
}

/**
 * ltijs has stored the login's state and nonce and wants to send the browser to the LMS: first
 * the frame puts a secret for that state into the LMS's storage, then goes on (platformStorage.ts).
 */
async function beginStorageLogin(req: Request, res: Response, options: IframeLoginOptions, login: Record<string, string>, target: string, authUrl: string): Promise<void> {
  const state = stateOf(authUrl);
  const origin = originOf(authUrl);
  if (!state || !origin) return renderNeedsNewWindow(req, res, options.loginRoute, login);
  const secret = newSecret();
  await options.store.save(`state:${state}`, login);
  await saveStorageLogin(options.store, state, { secret, iss: login.iss!, target, origin, status: 'waiting' });
  renderStoragePage(res, {
    mode: 'put',
    target,
    origin,
    key: storageKey(state),
    value: secret,
    next: authUrl,
    newWindowForm: newWindowForm(options.loginRoute, login),
  });
}

/**
 * An id_token post whose state cookie did not come back. If its login was bound through the LMS's
 * storage, the frame reads the secret back and posts it with the id_token; a matching secret
 * stands in for the state cookie, once (platformStorage.ts). Otherwise ltijs refuses the launch
 * (MISSING_VALIDATION_COOKIE), and the login it answers is noted for the refusal page
 * (res.locals.launchLogin, read by src/web/launchErrors.ts). Returns whether it answered.
 */
async function launchWithoutStateCookie(req: Request, res: Response, options: IframeLoginOptions, next: NextFunction): Promise<boolean> {
  const body = req.body as Record<string, unknown>;
  const state = body.state;
  if (typeof state !== 'string') return false;
  const cookies = (req.signedCookies ?? {}) as Record<string, unknown>;
  if (cookies[`state${state}`] !== undefined) return false;
  const login = await loginForState(options.store, state);
  if (login) res.locals.launchLogin = login;
  if (!options.sessions || !STATE_PATTERN.test(state)) return false;
  const sessions = options.sessions;
  const bound = await loadStorageLogin(options.store, state);
  if (!bound) return false;
  const proof = body[STORAGE_PROOF_FIELD];
  if (proof === undefined) {
    if (bound.status !== 'waiting') return false;
    renderStoragePage(res, {
      mode: 'get',
      target: bound.target,
      origin: bound.origin,
      key: storageKey(state),
      launch: { action: options.appRoute, fields: [{ name: 'id_token', value: String(body.id_token) }, { name: 'state', value: state }] },
    });
    return true;
  }
  // The secret is spent by this attempt, whatever its outcome.
  await saveStorageLogin(options.store, state, { ...bound, status: 'spent' });
  if (bound.status !== 'waiting' || !proofMatches(bound.secret, proof)) {
    renderError(req, res, new HttpError(401, 'launch_not_confirmed', 'The tool could not confirm that this launch was started in this browser.', undefined, ['Go back to your course and open the tool again.']));
    return true;
  }
  delete body[STORAGE_PROOF_FIELD];
  // What ltijs's state cookie would have carried; every other check of the launch still runs.
  req.signedCookies = { ...cookies, [`state${state}`]: bound.iss };
  interceptRedirect(
    res,
    async (target, proceed) => {
      const ltik = ltikInRedirect(target);
      if (ltik) await recordStorageSession(sessions, ltik);
      proceed();
    },
    next,
  );
  return false;
}

/** String parameters of a login request (query and form), or null if it cannot be one. */
function loginParameters(req: Request): Record<string, string> | null {
  const merged: Record<string, unknown> = { ...(req.query as Record<string, unknown>), ...(isRecord(req.body) ? req.body : {}) };
  const entries = Object.entries(merged);
  if (entries.length > MAX_FIELDS) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string' || v.length > MAX_VALUE) return null;
    out[k] = v;
  }
  return out;
}

/** Remembers which login a `state` belongs to, read from ltijs's redirect to the LMS. */
function captureState(res: Response, store: LoginParamsStore, params: Record<string, string>, next: NextFunction): void {
  interceptRedirect(
    res,
    async (target, proceed) => {
      const state = stateOf(target);
      // Saved before the browser is sent on, so the launch that follows can find it; losing it
      // (it only serves an error page) must not fail the launch.
      if (state) await store.save(`state:${state}`, params).catch(() => undefined);
      proceed();
    },
    next,
  );
}

function stateOf(url: string): string | null {
  try {
    const state = new URL(url, 'http://tool.invalid').searchParams.get('state');
    return state && STATE_PATTERN.test(state) ? state : null;
  } catch {
    return null;
  }
}

export function newWindowForm(action: string, params: Record<string, string>): NewWindowForm {
  return { action, fields: Object.entries(params).map(([name, value]) => ({ name, value })) };
}

/**
 * For a launch refused for want of its state cookie: the login it came from, if this tool saw it.
 * `state` is the form field the LMS posted back (untrusted until it matches a stored login).
 */
export async function loginForState(store: LoginParamsStore, state: unknown): Promise<Record<string, string> | null> {
  if (typeof state !== 'string' || !STATE_PATTERN.test(state)) return null;
  return store.load(`state:${state}`);
}

/**
 * Moodle's own page that starts a fresh launch of an activity (`mod/lti/launch.php?id=<cmid>`),
 * from a Moodle login initiation (`iss` = Moodle's wwwroot, `lti_message_hint` = JSON with the
 * course module id). Null for other LMSs.
 */
export function moodleRelaunchUrl(params: Record<string, string>): string | null {
  const hint = params.lti_message_hint;
  if (!hint || !params.iss) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(hint);
  } catch {
    return null;
  }
  const cmid = isRecord(parsed) ? parsed.cmid : undefined;
  if (!(typeof cmid === 'number' && Number.isInteger(cmid) && cmid > 0) && !(typeof cmid === 'string' && /^\d+$/.test(cmid))) return null;
  let base: URL;
  try {
    base = new URL(params.iss.replace(/\/+$/, '') + '/mod/lti/launch.php');
  } catch {
    return null;
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') return null;
  base.searchParams.set('id', String(cmid));
  return base.href;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return isRecord(v) && Object.values(v).every((x) => typeof x === 'string');
}
