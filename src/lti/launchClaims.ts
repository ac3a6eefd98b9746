/**
 * Launch claims ltijs does not keep. ltijs stores a chosen subset of the id_token (user, roles,
 * context, custom, lis, …); the LTI 1.1 user id (`lti11_legacy_user_id`, PRODUCT.md "Identity") is
 * not among them. A platform that maps users by it needs it on every request, so it is read from
 * the id_token of each launch that ltijs has accepted, and kept with the launch's key.
 *
 * "Accepted" means ltijs answered the id_token post with its redirect carrying a new ltik: it only
 * does so after checking the signature, issuer, audience, nonce, expiry and state. Nothing is kept
 * from a launch it refused.
 */
import crypto from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { JsonKeyValue } from './iframe';
import { unverifiedJwtPayload } from './jwtPayload';
import { DEFAULT_LTI_TTLS } from '../store/expiry';
import { interceptRedirect, ltikInRedirect } from './platformStorage';

export const LTI11_LEGACY_USER_ID_CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id';
const DEPLOYMENT_CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/deployment_id';
/** As long as ltijs keeps the launch's id token (the record a session re-reads on every request). */
export const LAUNCH_CLAIMS_TTL_SECONDS = DEFAULT_LTI_TTLS.idtoken;

export interface LaunchKey {
  iss: string;
  clientId: string;
  deploymentId: string;
  sub: string;
}

function keyOf(k: LaunchKey): string {
  return `launch-claims:${crypto.createHash('sha256').update(JSON.stringify([k.iss, k.clientId, k.deploymentId, k.sub])).digest('hex')}`;
}

/** The launch key and legacy id of an id_token, if it has both. */
export function legacyIdOf(idToken: string): { key: LaunchKey; legacyUserId: string } | null {
  const p = unverifiedJwtPayload(idToken);
  if (!p) return null;
  const aud = Array.isArray(p.aud) ? p.aud[0] : p.aud;
  const clientId = typeof p.azp === 'string' ? p.azp : aud;
  const legacy = p[LTI11_LEGACY_USER_ID_CLAIM];
  const { iss, sub } = p;
  const deploymentId = p[DEPLOYMENT_CLAIM];
  if (typeof iss !== 'string' || typeof sub !== 'string' || typeof clientId !== 'string' || typeof deploymentId !== 'string') return null;
  if (typeof legacy !== 'string' || legacy === '' || legacy.length > 255) return null;
  return { key: { iss, clientId, deploymentId, sub }, legacyUserId: legacy };
}

/** Installed before ltijs's launch validation: keeps the claims of each launch ltijs accepts. */
export function keepLaunchClaims(store: JsonKeyValue, appRoute: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const body: unknown = req.body;
    if (req.method !== 'POST' || req.path !== appRoute || typeof body !== 'object' || body === null) return next();
    const idToken = (body as Record<string, unknown>).id_token;
    const found = typeof idToken === 'string' ? legacyIdOf(idToken) : null;
    if (!found) return next();
    interceptRedirect(
      res,
      async (target, proceed) => {
        if (ltikInRedirect(target)) {
          await store.set(keyOf(found.key), { lti11LegacyUserId: found.legacyUserId }, LAUNCH_CLAIMS_TTL_SECONDS);
        }
        proceed();
      },
      next,
    );
    next();
  };
}

/** The LTI 1.1 user id of the launch with this key, as its accepted id_token carried it. */
export async function legacyUserIdOf(store: JsonKeyValue, key: LaunchKey): Promise<string | null> {
  const v = await store.get(keyOf(key));
  if (typeof v !== 'object' || v === null) return null;
  const id = (v as Record<string, unknown>).lti11LegacyUserId;
  return typeof id === 'string' ? id : null;
}
