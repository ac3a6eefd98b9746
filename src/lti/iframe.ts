/**
 * Makes launches work inside an LMS iframe on another site, where the browser may refuse the tool's
 * cookies: a cookie check before the LMS is involved, then platform storage or a new window.
 *
 * ltijs binds the OIDC login to the browser with a state cookie; a framed tool's cookies are
 * third-party cookies. Chromium keeps them when they are `Partitioned` (CHIPS, see provider.ts);
 * browsers that keep no third-party cookie at all in the frame would end in ltijs's 401
 * MISSING_VALIDATION_COOKIE — and by then the LMS has already spent its one-time
 * `lti_message_hint` (Moodle unsets `$SESSION->launchid` in auth.php, Canvas deletes the cached
 * launch), so re-sending that login initiation from a new window would be refused by the LMS.
 *
 * So the check happens before the LMS is involved. A login initiation to /login is stored
 * (PostgreSQL, `login_check`, 10 minutes) under a random id and answered with a cookie and a 303 to
 * `/login?cookie_check=<id>`. If that request carries the cookie back, cookies work here: the
 * stored parameters go on to ltijs's own login route, unchanged (state cookie, state check and
 * all). If it does not, and the login names the LMS's platform storage (`lti_storage_target`),
 * the login is bound to the browser there instead (platformStorage.ts). Otherwise the frame shows a
 * button that posts the same, still unused, login initiation to /login in a new window
 * (`target="_blank"`), where the tool is the top-level site and its cookies are first-party.
 *
 * Also kept (`login_state`): the `state` ltijs generates for each login (read from its redirect to
 * the LMS), so that a launch refused for a missing state cookie can still say which LMS and course
 * it came from and, for Moodle, offer Moodle's own launch page for that activity in a new window.
 *
 * This module decides; it renders nothing. A refusal goes to `next` as a LaunchRefusal (src/web's
 * error handler renders it), and a platform-storage page goes to the `showStoragePage` it is given.
 */
import crypto from 'node:crypto';
import type { CookieOptions, NextFunction, Request, RequestHandler, Response } from 'express';
import type { LoginParams, LoginStore, SessionStore } from '../store';
import {
  checkSession,
  interceptRedirect,
  ltikInRedirect,
  newSecret,
  originOf,
  proofMatches,
  recordStorageSession,
  sha256Hex,
  storageKey,
  storageTargetOf,
  STORAGE_PROOF_FIELD,
  type ShowStoragePage,
} from './platformStorage';
import { postedIdToken } from './jwtPayload';
import { LaunchRefusal, type NewWindowForm } from './refusal';

/** How long a login initiation, and the login behind a state, are kept. */
export const LOGIN_PARAMS_TTL_SECONDS = 600;
const CHECK_COOKIE = 'isnotai_cookie_check';
const CHECK_PARAM = 'cookie_check';

export interface IframeLoginOptions {
  /** Login initiations and the logins behind states (`login_check`, `login_state`). */
  logins: LoginStore;
  /** Cookie-less sessions begun through the LMS's platform storage, and sign-outs. */
  sessions: SessionStore;
  loginRoute: string;
  /** ltijs's app route, where the LMS posts the id_token. */
  appRoute: string;
  /** ltijs's cookie options (secure, sameSite), so the check cookie travels exactly as its own. */
  cookie: { secure: boolean; sameSite: 'None' | 'Lax' };
  /** Whether ltijs would accept a login from this issuer (others go straight to ltijs's refusal). */
  isRegistered(iss: string, clientId: string | undefined): Promise<boolean>;
  /** Answers with a page that talks to the LMS's storage (platformStorage.ts; src/web renders it). */
  showStoragePage: ShowStoragePage;
}

// A login initiation is a handful of short strings; anything bigger is not one.
const MAX_FIELDS = 30;
const MAX_VALUE = 8192;
const ID_PATTERN = /^[0-9a-f]{32}$/;
const STATE_PATTERN = /^[0-9A-Za-z%._~-]{1,200}$/;

/**
 * Installed before ltijs's login route and launch validation (src/ltijsAdapter.ts). It may rewrite
 * the request before ltijs reads it: a checked login's parameters (`req.query`, `req.body`), and the
 * state or session cookie that platform storage stands in for (`req.signedCookies`).
 */
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
    if (postedIdToken(req, options.appRoute) !== null) {
      const launch = async (): Promise<void> => {
        // ltijs reads an ltik before an id_token: one sent beside it is held to the same session
        // rules (a signed-out one is refused here too, not redirected into the tool).
        const refusal = await checkSession(req, options.sessions);
        if (refusal) return next(refusal);
        if (!(await launchWithoutStateCookie(req, res, options, next))) next();
      };
      launch().catch(next);
      return;
    }
    if (req.path !== options.loginRoute) {
      checkSession(req, options.sessions).then((refusal) => next(refusal ?? undefined), next);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'POST') return next();
    const run = async (): Promise<void> => {
      const params = loginParameters(req);
      if (!params) return next(); // not a login initiation we handle: ltijs answers it

      const checkId = params[CHECK_PARAM];
      if (checkId !== undefined) {
        if (!ID_PATTERN.test(checkId)) return next();
        const stored = await options.logins.loadCheck(checkId);
        if (!stored) {
          throw new LaunchRefusal(400, 'launch_check_expired', 'This launch is too old to continue.', [
            'Go back to your course and open the tool again.',
          ]);
        }
        const signed = (req.signedCookies as Record<string, unknown> | undefined)?.[CHECK_COOKIE];
        if (signed !== checkId) {
          // The browser did not keep our cookie in this frame. Where the LMS offers its storage,
          // the login is bound to this browser there (platformStorage.ts); otherwise, or if the LMS
          // does not answer, the login starts over in a top-level window.
          const target = storageTargetOf(stored);
          if (target && stored.iss) {
            req.query = {};
            req.body = { ...stored };
            interceptRedirect(res, (authUrl) => beginStorageLogin(res, options, stored, target, authUrl), next);
            return next();
          }
          throw needsNewWindow(options.loginRoute, stored);
        }
        res.clearCookie(CHECK_COOKIE, { ...cookieOptions, maxAge: undefined });
        // Cookies work here: hand the original login initiation to ltijs, as it arrived.
        req.query = {};
        req.body = { ...stored };
        captureState(res, options.logins, stored, next);
        return next();
      }

      if (!params.iss || !params.login_hint || !params.target_link_uri) return next();
      // A window of its own (the browser says so: Fetch Metadata) keeps the tool's cookies, which are first-party
      // there: no check, straight to ltijs's login. A frame, or a browser that does not say, is checked.
      if (topLevelNavigation(req)) {
        captureState(res, options.logins, params, next);
        return next();
      }
      if (!(await options.isRegistered(params.iss, params.client_id))) return next();
      const id = crypto.randomBytes(16).toString('hex');
      await options.logins.saveCheck(id, params, LOGIN_PARAMS_TTL_SECONDS);
      res.cookie(CHECK_COOKIE, id, cookieOptions);
      res.set('Cache-Control', 'no-store');
      res.redirect(303, `${options.loginRoute}?${CHECK_PARAM}=${id}`);
    };
    run().catch(next);
  };
}

function needsNewWindow(loginRoute: string, login: LoginParams): LaunchRefusal {
  return new LaunchRefusal(
    401,
    'launch_needs_new_window',
    'Your browser does not let this tool keep its sign-in cookie while it is shown inside the LMS page.',
    ['Open it in a new window: you stay signed in to your LMS, and the tool opens as its own page.'],
    newWindowForm(loginRoute, login),
  );
}

/**
 * ltijs has stored the login's state and nonce and wants to send the browser to the LMS: first
 * the frame puts a secret for that state into the LMS's storage, then goes on (platformStorage.ts).
 */
async function beginStorageLogin(
  res: Response,
  options: IframeLoginOptions,
  login: LoginParams,
  target: string,
  authUrl: string,
): Promise<void> {
  const state = stateOf(authUrl);
  const origin = originOf(authUrl);
  if (!state || !origin) throw needsNewWindow(options.loginRoute, login);
  const secret = newSecret();
  await options.logins.saveState(state, login, LOGIN_PARAMS_TTL_SECONDS, {
    secretSha256: sha256Hex(secret),
    iss: login.iss!,
    target,
    origin,
  });
  options.showStoragePage(res, {
    mode: 'put',
    target,
    origin,
    key: storageKey(state),
    value: secret,
    next: authUrl,
    newWindowForm: newWindowForm(options.loginRoute, login),
    proofField: STORAGE_PROOF_FIELD,
  });
}

/**
 * An id_token post whose state cookie did not come back. If its login was bound through the LMS's
 * storage, the frame reads the secret back and posts it with the id_token; a matching secret
 * stands in for the state cookie, once (platformStorage.ts). Otherwise ltijs refuses the launch
 * (MISSING_VALIDATION_COOKIE), and the login it answers is noted for the refusal page
 * (res.locals.launchLogin, read by src/web/launchErrors.ts). Returns whether it answered; a
 * refusal is thrown.
 */
async function launchWithoutStateCookie(req: Request, res: Response, options: IframeLoginOptions, next: NextFunction): Promise<boolean> {
  const body = req.body as Record<string, unknown>;
  const state = body.state;
  if (typeof state !== 'string' || !STATE_PATTERN.test(state)) return false;
  const cookies = (req.signedCookies ?? {}) as Record<string, unknown>;
  if (cookies[`state${state}`] !== undefined) return false;
  const login = await options.logins.loadState(state);
  if (!login) return false;
  res.locals.launchLogin = login.params;
  const bound = login.storage;
  if (!bound) return false;
  const proof = body[STORAGE_PROOF_FIELD];
  if (proof === undefined) {
    if (bound.status !== 'waiting') return false;
    options.showStoragePage(res, {
      mode: 'get',
      target: bound.target,
      origin: bound.origin,
      key: storageKey(state),
      launch: {
        action: options.appRoute,
        fields: [
          { name: 'id_token', value: String(body.id_token) },
          { name: 'state', value: state },
        ],
      },
      proofField: STORAGE_PROOF_FIELD,
    });
    return true;
  }
  // The secret is spent by this attempt, whatever its outcome (and by one attempt only).
  const spent = await options.logins.spendStorage(state);
  if (!spent || !proofMatches(bound.secretSha256, proof)) {
    throw new LaunchRefusal(401, 'launch_not_confirmed', 'The tool could not confirm that this launch was started in this browser.', [
      'Go back to your course and open the tool again.',
    ]);
  }
  delete body[STORAGE_PROOF_FIELD];
  // What ltijs's state cookie would have carried; every other check of the launch still runs.
  req.signedCookies = { ...cookies, [`state${state}`]: bound.iss };
  interceptRedirect(
    res,
    async (target, proceed) => {
      const ltik = ltikInRedirect(target);
      if (ltik) await recordStorageSession(options.sessions, ltik);
      proceed();
    },
    next,
  );
  return false;
}

/** String parameters of a login request (query and form), or null if it cannot be one. */
function loginParameters(req: Request): LoginParams | null {
  const merged: Record<string, unknown> = { ...(req.query as Record<string, unknown>), ...(isRecord(req.body) ? req.body : {}) };
  const entries = Object.entries(merged);
  if (entries.length > MAX_FIELDS) return null;
  const out: LoginParams = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string' || v.length > MAX_VALUE) return null;
    out[k] = v;
  }
  return out;
}

/** Remembers which login a `state` belongs to, read from ltijs's redirect to the LMS. */
function captureState(res: Response, logins: LoginStore, params: LoginParams, next: NextFunction): void {
  interceptRedirect(
    res,
    async (target, proceed) => {
      const state = stateOf(target);
      // Saved before the browser is sent on, so the launch that follows can find it; losing it
      // (it only serves an error page) must not fail the launch.
      if (state) await logins.saveState(state, params, LOGIN_PARAMS_TTL_SECONDS).catch(() => undefined);
      proceed();
    },
    next,
  );
}

/**
 * Whether the browser says this request is a top-level navigation (`Sec-Fetch-Dest: document`, sent by Chromium,
 * Firefox and Safari on https and localhost). Any other value (`iframe`, `frame`, …) or none at all is treated as
 * framed.
 */
function topLevelNavigation(req: Request): boolean {
  return req.get('sec-fetch-dest') === 'document';
}

function stateOf(url: string): string | null {
  try {
    const state = new URL(url, 'http://tool.invalid').searchParams.get('state');
    return state && STATE_PATTERN.test(state) ? state : null;
  } catch {
    return null;
  }
}

function newWindowForm(action: string, params: LoginParams): NewWindowForm {
  return { action, fields: Object.entries(params).map(([name, value]) => ({ name, value })) };
}

/**
 * Moodle's own page that starts a fresh launch of an activity (`mod/lti/launch.php?id=<cmid>`),
 * from a Moodle login initiation (`iss` = Moodle's wwwroot, `lti_message_hint` = JSON with the
 * course module id). Null for other LMSs.
 */
export function moodleRelaunchUrl(params: LoginParams): string | null {
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
