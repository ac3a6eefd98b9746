/**
 * Launch checks ltijs leaves out, run before its login route and its id_token validation, so that the
 * tool refuses what ltijs would accept but the tool must not.
 *
 * - `target_link_uri` must be the tool's own. At login ltijs passes it to the LMS as the
 *   `redirect_uri`, so a login initiation naming another site would have the LMS post the user's
 *   id_token there; in the id_token it says which tool the LMS meant to launch.
 * - `iat` no more than 60 s ahead of our clock (ltijs checks `exp` and its max age, which a token
 *   from the future passes).
 * - `message_type` is one the tool knows: a resource link launch, or Deep Linking (answered by a
 *   page of its own, see src/ltijsAdapter.ts).
 *
 * The id_token is read here before ltijs verifies its signature, so these checks may only refuse:
 * a token that passes them still goes through every check of ltijs. A refusal goes to `next` as a
 * LaunchRefusal, which src/web renders.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { unverifiedJwtPayload } from './jwtPayload';
import { originOf } from './platformStorage';
import { LaunchRefusal } from './refusal';

const CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/';
export const RESOURCE_LINK_REQUEST = 'LtiResourceLinkRequest';
export const DEEP_LINKING_REQUEST = 'LtiDeepLinkingRequest';
const KNOWN_MESSAGE_TYPES: ReadonlySet<string> = new Set([RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST]);
/** Clock skew allowed between the LMS and the tool for a token's issue time. */
export const MAX_IAT_AHEAD_SECONDS = 60;

export interface LaunchChecksOptions {
  /** TOOL_URL, when configured: the tool's own origin. Otherwise the origin the request arrived on. */
  toolUrl: string | undefined;
  loginRoute: string;
  now?: () => number;
  /** Told of each refusal (code and, where safe, the offending value's origin). */
  onRefused?: (req: Request, res: Response, refusal: { code: string; detail?: string }) => void;
}

export function launchChecks(options: LaunchChecksOptions): RequestHandler {
  const configured = options.toolUrl ? originOf(options.toolUrl) : null;
  if (options.toolUrl && !configured) throw new Error('TOOL_URL is not an http(s) URL');
  const now = options.now ?? Date.now;
  const ownOrigin = (req: Request): string | null => configured ?? originOf(`${req.protocol}://${req.get('host') ?? ''}`);
  const isOwn = (req: Request, target: unknown): boolean => {
    if (typeof target !== 'string') return false;
    const own = ownOrigin(req);
    return own !== null && originOf(target) === own;
  };
  const refuse = (req: Request, res: Response, next: NextFunction, refusal: LaunchRefusal, detail?: string): void => {
    options.onRefused?.(req, res, { code: refusal.code, ...(detail ? { detail } : {}) });
    next(refusal);
  };

  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path === options.loginRoute && (req.method === 'GET' || req.method === 'POST')) {
      const params: Record<string, unknown> = { ...(req.query as Record<string, unknown>), ...(isRecord(req.body) ? req.body : {}) };
      // A login without one is not ours to judge: ltijs answers it (MISSING_LOGIN_PARAMETERS).
      if (params.target_link_uri !== undefined && !isOwn(req, params.target_link_uri)) {
        return refuse(
          req,
          res,
          next,
          new LaunchRefusal(
            400,
            'launch_target_not_this_tool',
            'Your LMS asked the tool to send your sign-in to another address than the tool’s own, so the tool stopped here.',
            [
              'Go back to your course and open the tool again. If this keeps happening, an LMS administrator should check that the tool’s registration uses the tool’s own address as its target link URI and redirect URI.',
            ],
          ),
          originOrNothing(params.target_link_uri),
        );
      }
      return next();
    }

    // Any path: ltijs validates an id_token posted wherever it lands, not only at the app route.
    if (req.method !== 'POST' || !isRecord(req.body) || typeof req.body.id_token !== 'string') return next();
    const payload = unverifiedJwtPayload(req.body.id_token);
    // Not a readable JWT: ltijs refuses it with its own reason.
    if (!payload) return next();

    const messageType = payload[`${CLAIM}message_type`];
    if (typeof messageType !== 'string' || !KNOWN_MESSAGE_TYPES.has(messageType)) {
      const named = typeof messageType === 'string' ? messageType.slice(0, 80) : null;
      return refuse(
        req,
        res,
        next,
        new LaunchRefusal(
          401,
          'launch_unsupported_message',
          named
            ? `Your LMS sent a kind of launch this tool does not handle (${named}).`
            : 'Your LMS sent a launch without saying what kind it is.',
          ['Open the tool from a link or activity in your course.'],
        ),
        named ?? undefined,
      );
    }

    const target = payload[`${CLAIM}target_link_uri`];
    // ltijs requires the claim for resource link launches; where present it must be ours.
    if (target !== undefined && !isOwn(req, target)) {
      return refuse(
        req,
        res,
        next,
        new LaunchRefusal(
          401,
          'launch_target_not_this_tool',
          'This launch was meant for another address than this tool’s, so the tool cannot accept it.',
          [
            'Go back to your course and open the tool again. If this keeps happening, an LMS administrator should check the target link URI in the tool’s registration.',
          ],
        ),
        originOrNothing(target),
      );
    }

    const iat = payload.iat;
    // Without an issue time ltijs's max-age check passes whatever the token's age.
    if (typeof iat !== 'number' || !Number.isFinite(iat)) {
      return refuse(
        req,
        res,
        next,
        new LaunchRefusal(
          401,
          'launch_without_issue_time',
          'The launch does not say when it was issued, so the tool cannot tell how old it is.',
          ['Go back to your course and open the tool again.'],
        ),
      );
    }
    if (iat > now() / 1000 + MAX_IAT_AHEAD_SECONDS) {
      return refuse(
        req,
        res,
        next,
        new LaunchRefusal(
          401,
          'launch_issued_in_future',
          'The launch says it was issued in the future, so the tool cannot accept it (the clocks of the LMS and the tool may disagree).',
          [
            'Go back to your course and open the tool again. If this keeps happening, an administrator should check the clocks of the LMS and the tool servers.',
          ],
        ),
      );
    }
    next();
  };
}

function originOrNothing(value: unknown): string | undefined {
  return typeof value === 'string' ? (originOf(value) ?? undefined) : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
