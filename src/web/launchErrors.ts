/**
 * Why ltijs refused a launch, in words a person can act on. ltijs reports reasons as codes
 * (`MISSING_VALIDATION_COOKIE`) or as jsonwebtoken messages (`jwt expired`).
 */
import type { Request } from 'express';
import { moodleRelaunchUrl } from '../lti/iframe';
import { DATABASE_UNAVAILABLE } from '../store/errors';
import { databaseUnavailableError, HttpError } from './errors';

export function launchErrorFor(reason: string | undefined, req: Request): { httpError: HttpError; newWindow: string | null } {
  const r = reason ?? '';
  const launchAgain = 'Go back to your course and open the tool again.';
  if (r.startsWith(DATABASE_UNAVAILABLE)) {
    // The session may well be valid: it could not be read. Relaunching would fail the same way.
    return { httpError: databaseUnavailableError(), newWindow: null };
  }
  if (r === 'MISSING_VALIDATION_COOKIE') {
    // The LMS has already used up this launch (its lti_message_hint is single-use), so the login
    // cannot simply be sent again. For Moodle, its own launch page for the activity starts a fresh
    // one; src/lti/iframe.ts found the login this launch answers (res.locals.launchLogin).
    const login = req.res?.locals.launchLogin as Record<string, string> | undefined;
    const relaunch = login ? moodleRelaunchUrl(login) : null;
    return {
      httpError: new HttpError(
        401,
        'launch_cookie_blocked',
        'Your browser blocked the cookie this tool needs when it is shown inside the LMS page.',
        undefined,
        [
          relaunch
            ? 'Open the tool in a new window with the button below, or allow cookies for this site.'
            : 'Open the tool in a new window from your course (your LMS may offer “open in new window”), or allow cookies for this site.',
        ],
      ),
      newWindow: relaunch,
    };
  }
  if (r === 'Session not found.') {
    return {
      httpError: new HttpError(401, 'session_expired', 'Your session with the tool has ended or its cookie was blocked.', undefined, [
        launchAgain,
      ]),
      newWindow: null,
    };
  }
  if (r === 'NONCE_ALREADY_RECEIVED') {
    return {
      httpError: new HttpError(401, 'launch_replayed', 'This launch was already used once and cannot be used again.', undefined, [
        launchAgain,
      ]),
      newWindow: null,
    };
  }
  if (r === 'UNREGISTERED_PLATFORM' || r === 'ISS_CLAIM_DOES_NOT_MATCH') {
    return {
      httpError: new HttpError(
        401,
        'launch_unknown_platform',
        'The launch came from an LMS (issuer or client id) that is not registered with this tool.',
        undefined,
        ['An administrator must register the LMS first.'],
      ),
      newWindow: null,
    };
  }
  if (r === 'jwt expired' || r === 'TOKEN_TOO_OLD' || r.startsWith('jwt not active')) {
    return {
      httpError: new HttpError(
        401,
        'launch_expired',
        'The launch had expired before it reached the tool (or the clocks of the LMS and the tool disagree).',
        undefined,
        [launchAgain],
      ),
      newWindow: null,
    };
  }
  if (
    r === 'invalid signature' ||
    r === 'KEY_NOT_FOUND' ||
    r === 'KID_NOT_FOUND' ||
    r === 'KEYSET_NOT_FOUND' ||
    r.startsWith('jwt malformed') ||
    r === 'INVALID_JWT_RECEIVED' ||
    r === 'ALG_NOT_RS256'
  ) {
    return {
      httpError: new HttpError(
        401,
        'launch_bad_signature',
        'The launch was not signed by a key of the registered LMS, so the tool cannot trust it.',
        undefined,
        [launchAgain, 'If this keeps happening, the LMS registration’s key set URL may be wrong.'],
      ),
      newWindow: null,
    };
  }
  if (r.startsWith('AUD') || r.startsWith('AZP') || r.startsWith('jwt audience invalid')) {
    return {
      httpError: new HttpError(
        401,
        'launch_wrong_audience',
        'The launch was meant for another tool (audience/client id mismatch).',
        undefined,
        [launchAgain],
      ),
      newWindow: null,
    };
  }
  if (r === 'NO_LTIK_OR_IDTOKEN_FOUND') {
    return { httpError: new HttpError(401, 'no_launch', 'Open this tool from your course in the LMS.'), newWindow: null };
  }
  // ltijs passes on any error's message here (a driver's, a decryption's): only its own codes are shown.
  const details = /^[A-Z0-9_]{2,60}$/.test(r) ? { reason: r } : undefined;
  return {
    httpError: new HttpError(401, 'launch_invalid', 'The launch from your LMS could not be validated.', details, [launchAgain]),
    newWindow: null,
  };
}
