/**
 * Where an accepted launch lands, in one redirect. ltijs answers an accepted id_token post with a redirect to the app
 * route with the new ltik (`/?ltik=…`), whose callback (`onConnect`, src/ltijsAdapter.ts) would send the browser on
 * again to the person's first page: one more HTTP hop, and one more reading of the session, on every launch.
 *
 * So the redirect goes straight to that page for the launches whose first page the id_token alone decides: a
 * resource link launch by a learner lands on `/me`, by an instructor on `/course`. Everything else keeps ltijs's own
 * redirect and so its callbacks: Deep Linking (the placement form), an administrator (who may first be sent to the
 * registration's settings, which needs the registration), and roles the tool does not serve (refused there).
 *
 * The id_token is read here without checking it, but only once ltijs has accepted it: its redirect carrying a new
 * ltik is the acceptance (launchClaims.ts reads it the same way), and the page it lands on re-reads the session and
 * checks everything again (src/web/actor.ts) as for any request.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { postedIdToken, unverifiedJwtPayload } from './jwtPayload';
import { RESOURCE_LINK_REQUEST } from './launchChecks';
import { interceptRedirect, ltikInRedirect } from './platformStorage';
import { audienceFor, type Audience } from './roles';

const MESSAGE_TYPE_CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/message_type';
const ROLES_CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/roles';

/** The first page of a resource link launch by this audience, when the id_token decides it. */
const FIRST_PAGE: Partial<Record<Audience, string>> = { student: '/me', instructor: '/course' };

/** What the landing tells the log about a launch it sent on (ltijs's callback, which logs the others, is skipped). */
export type LandingLog = (req: Request, res: Response, landing: { audience: Audience; page: string }) => void;

/**
 * Installed before ltijs's launch validation and before every other step that reads ltijs's redirect
 * (src/ltijsAdapter.ts), so that those read the redirect as ltijs made it and this rewrites it last.
 */
export function landOnFirstPage(appRoute: string, log: LandingLog): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const idToken = postedIdToken(req, appRoute);
    const claims = idToken ? unverifiedJwtPayload(idToken) : null;
    if (!claims || claims[MESSAGE_TYPE_CLAIM] !== RESOURCE_LINK_REQUEST) return next();
    const roles = claims[ROLES_CLAIM];
    const audience = audienceFor(Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : []);
    const page = audience ? FIRST_PAGE[audience] : undefined;
    if (!audience || !page) return next();
    interceptRedirect(
      res,
      async (target, proceed) => {
        const landing = ltikInRedirect(target) ? firstPageOf(target, appRoute, page) : null;
        if (!landing) return proceed();
        log(req, res, { audience, page });
        // As ltijs answers (302): only the address changes.
        res.redirect(landing);
      },
      next,
    );
    next();
  };
}

/** ltijs's redirect (`<appRoute>?…&ltik=…`) with the first page's path instead, its query kept. */
function firstPageOf(target: string, appRoute: string, page: string): string | null {
  const q = target.indexOf('?');
  if (q < 0 || target.slice(0, q) !== appRoute) return null;
  return page + target.slice(q);
}
