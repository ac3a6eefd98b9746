/**
 * Keeps the launch claims ltijs does not keep: the LTI 1.1 user id (`lti11_legacy_user_id`,
 * docs/product.md "Identity") of each accepted launch, which a platform that maps users by it needs
 * on every request.
 *
 * ltijs stores a chosen subset of the id_token (user, roles, context, custom, lis, …), and that claim
 * is not among them. So it is read from the id_token of each launch that ltijs has accepted, and kept
 * under that launch's ltik.
 *
 * "Accepted" means ltijs answered the id_token post with its redirect carrying a new ltik: it only
 * does so after checking the signature, issuer, audience, nonce, expiry and state. Nothing is kept
 * from a launch it refused.
 *
 * Keyed by the launch, not by the user: ltijs mints one ltik per launch (it signs the launch's
 * state into it), and every request of that session carries it. So a request reads the claim of
 * its own launch, never that of the same user's later launch, and a launch whose id_token had no
 * such claim has none (rather than inheriting an earlier launch's). Kept in `launch_claims` under the
 * ltik's SHA-256, for as long as ltijs keeps the launch's id token.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { LaunchClaimsStore } from '../store';
import { DEFAULT_LTI_TTLS } from '../store/expiry';
import { postedIdToken, unverifiedJwtPayload } from './jwtPayload';
import { interceptRedirect, ltikInRedirect, sha256Hex } from './platformStorage';

export const LTI11_LEGACY_USER_ID_CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id';
/** As long as ltijs keeps the launch's id token (the record a session re-reads on every request). */
export const LAUNCH_CLAIMS_TTL_SECONDS = DEFAULT_LTI_TTLS.idtoken;

/** The legacy id an id_token carries, if any. */
export function legacyIdOf(idToken: string): string | null {
  const p = unverifiedJwtPayload(idToken);
  const legacy = p?.[LTI11_LEGACY_USER_ID_CLAIM];
  // Its shape is the identity mapping's to judge (src/lti/identity.ts); this only bounds the row.
  if (typeof legacy !== 'string' || legacy === '' || legacy.length > 1000) return null;
  return legacy;
}

/**
 * Installed before ltijs's launch validation (src/ltijsAdapter.ts): keeps the claims of each launch
 * ltijs accepts, read from the redirect ltijs answers it with (res.redirect is held back until then).
 */
export function keepLaunchClaims(store: LaunchClaimsStore, appRoute: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const idToken = postedIdToken(req, appRoute);
    const legacyUserId = idToken ? legacyIdOf(idToken) : null;
    if (!legacyUserId) return next();
    interceptRedirect(
      res,
      async (target, proceed) => {
        const ltik = ltikInRedirect(target);
        if (ltik) await store.keep(sha256Hex(ltik), { lti11LegacyUserId: legacyUserId }, LAUNCH_CLAIMS_TTL_SECONDS);
        proceed();
      },
      next,
    );
    next();
  };
}

/** The LTI 1.1 user id of the launch that minted this ltik, as its accepted id_token carried it. */
export async function legacyUserIdOf(store: LaunchClaimsStore, ltik: string): Promise<string | null> {
  return (await store.read(sha256Hex(ltik)))?.lti11LegacyUserId ?? null;
}
