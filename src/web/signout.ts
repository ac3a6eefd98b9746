/**
 * "Sign out", on every page of a session (views/layouts/main.hbs): ends the session of the page's
 * ltik at once, cookie or not (src/lti/platformStorage.ts `signOut`), clears ltijs's session
 * cookie, and shows a page that says so. The POST comes from a plain form whose field carries the
 * ltik, as every write of the tool does; a reload of the page it lands on never re-posts.
 */
import type { Express, Request, Response } from 'express';
import type { Logger } from '../log';
import { sessionCookieName, signOut } from '../lti/platformStorage';
import type { SessionStore } from '../store';
import { HttpError } from './errors';

export const SIGN_OUT_ROUTE = '/signout';
export const SIGNED_OUT_ROUTE = '/signed-out';

export interface SignOutDeps {
  sessions: SessionStore;
  /** ltijs's session cookie options (src/lti/provider.ts), which clearing it must match. */
  cookie: { secure: boolean; sameSite: 'None' | 'Lax' };
  logger: Logger;
}

/** Installs the routes after ltijs's session check (the sign-out needs a valid session): src/ltijsAdapter.ts. */
export function signOutRoutes(app: Express, deps: SignOutDeps): void {
  app.use((_req: Request, res: Response, next) => {
    if (typeof res.locals.ltik === 'string') res.locals.signOut = { action: SIGN_OUT_ROUTE, ltik: res.locals.ltik };
    next();
  });

  app.post(SIGN_OUT_ROUTE, async (_req: Request, res: Response, next) => {
    try {
      const ltik = res.locals.ltik as unknown;
      if (typeof ltik !== 'string') throw new HttpError(401, 'no_launch', 'Open this tool from your course in the LMS.');
      await signOut(deps.sessions, ltik);
      const cookie = sessionCookieName(ltik);
      if (cookie) {
        const sameSite = deps.cookie.sameSite === 'None' ? 'none' : 'lax';
        res.clearCookie(cookie, { httpOnly: true, signed: true, secure: deps.cookie.secure, sameSite, path: '/' });
      }
      deps.logger.info({ requestId: res.locals.requestId }, 'signed out');
      res.redirect(303, SIGNED_OUT_ROUTE);
    } catch (err) {
      next(err);
    }
  });

  app.get(SIGNED_OUT_ROUTE, (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    res.render('pages/signed-out', { title: 'You have signed out' });
  });
}
