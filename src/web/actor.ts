/**
 * The person behind a request, derived from the validated launch (ltijs's id token and context
 * token, re-read from the database on every request), never from the URL.
 */
import type { NextFunction, Request, Response } from 'express';
import type { LtiIdToken } from 'ltijs';
import { describeIdentityProblem, mapLaunchIdentity, type IdentityProblem } from '../lti/identity';
import { RESOURCE_LINK_REQUEST } from '../lti/launchChecks';
import { audienceFor, describeRoles, type Audience } from '../lti/roles';
import { placementThresholds } from '../risk/placement';
import type { Placement, PlacementStore } from '../store';
import { forbidden, HttpError } from './errors';
import { clip } from './format';
import type { PlatformDirectory, PlatformView } from './ports';

export interface Actor {
  audience: Audience;
  platform: PlatformView;
  /** The LTI `sub`. */
  sub: string;
  /** The isnotai userId of the launching user (the platform's identity mapping applied). */
  userId: string | null;
  /** Why the mapping gave no userId (the value was missing or not of the mapping's shape). */
  identityProblem: IdentityProblem | null;
  displayName: string;
  deploymentId: string;
  /** The LMS course the tool was launched from. */
  context: { id: string | null; title: string | null; label: string | null };
  resourceLinkId: string | null;
  roles: string[];
  /** The ltik: carried through links and forms so navigation works inside an LMS iframe. */
  ltik: string;
  token: LtiIdToken;
  /**
   * What the launched link covers (docs/product.md "Placements"), for staff launches of a link placed by Deep Linking;
   * null for students and for links placed otherwise (the whole course). When it has thresholds of its own,
   * `platform.thresholds` are those (every page's levels of the launch use them); the registration's own are in the
   * registration store.
   */
  placement: Placement | null;
}

/** Launch claims ltijs does not keep (src/lti/launchClaims.ts), read for the identity mapping. */
export interface LaunchClaimsReader {
  /** Of the launch that minted this ltik. */
  legacyUserId(ltik: string): Promise<string | null>;
}

export function actorFromToken(
  token: LtiIdToken,
  ltik: string,
  platform: PlatformView,
  kept: { lti11LegacyUserId?: string | null } = {},
): Actor {
  const ctx = token.platformContext;
  const roles = Array.isArray(ctx?.roles) ? ctx.roles.filter((r): r is string => typeof r === 'string') : [];
  const audience = audienceFor(roles);
  if (!audience) {
    throw forbidden(
      'This tool shows integrity signals to students, instructors and administrators. Your role in this course does not give access to it.',
      [
        `Roles sent by your LMS: ${describeRoles(roles).join(', ') || 'none'}.`,
        'If you think this is wrong, ask your LMS administrator to check your role in this course.',
      ],
    );
  }
  if (platform.deploymentIds.length > 0 && !platform.deploymentIds.includes(token.deploymentId)) {
    throw new HttpError(403, 'unknown_deployment', 'This deployment of the tool is not registered with it.', undefined, [
      'Ask your LMS administrator to register the deployment id with the tool.',
    ]);
  }
  const mapped = mapLaunchIdentity(
    { sub: token.user, custom: ctx?.custom ?? null, lis: ctx?.lis ?? null, lti11LegacyUserId: kept.lti11LegacyUserId ?? null },
    { strategy: platform.identity, pattern: platform.identityPattern },
  );
  return {
    audience,
    platform,
    sub: token.user,
    userId: mapped.userId,
    identityProblem: mapped.problem,
    displayName: clip(
      token.userInfo?.name || [token.userInfo?.given_name, token.userInfo?.family_name].filter(Boolean).join(' ') || 'you',
      120,
    ),
    deploymentId: token.deploymentId,
    context: { id: ctx?.context?.id ?? null, title: ctx?.context?.title ?? null, label: ctx?.context?.label ?? null },
    resourceLinkId: ctx?.resource?.id ?? null,
    roles,
    ltik,
    token,
    placement: null,
  };
}

/**
 * The staff launch's placement (src/store/placements.ts `forLaunch`): the one bound to its resource link, or, at the
 * link's first staff launch, the one its custom parameter `placement` names (Deep Linking put it there). A student's
 * launch reads none: a student sees all of their own sessions wherever they open the tool.
 */
export async function withPlacement(actor: Actor, placements: Pick<PlacementStore, 'forLaunch'>): Promise<Actor> {
  if (actor.audience === 'student' || !actor.resourceLinkId || !actor.context.id) return actor;
  const custom = actor.token.platformContext?.custom;
  const named = custom && typeof custom.placement === 'string' ? custom.placement : null;
  const placement = await placements.forLaunch(
    {
      platformIss: actor.platform.issuer,
      platformClientId: actor.platform.clientId,
      deploymentId: actor.deploymentId,
      contextId: actor.context.id,
    },
    actor.resourceLinkId,
    named,
  );
  if (!placement) return actor;
  return { ...actor, placement, platform: { ...actor.platform, thresholds: placementThresholds(placement, actor.platform.thresholds) } };
}

/**
 * The actor without its placement, for the registration-wide pages (/admin/…): they list every session of the
 * integration, so they use the registration's own lines, not an activity's.
 */
export async function withoutPlacement(actor: Actor, platforms: PlatformDirectory): Promise<Actor> {
  if (!actor.placement) return actor;
  const platform = await platforms.find(actor.platform.issuer, actor.platform.clientId);
  return { ...actor, placement: null, platform: platform ?? actor.platform };
}

/** The actor of a request ltijs has validated (res.locals.token and .ltik), or a 401/403. */
export async function resolveActor(
  platforms: PlatformDirectory,
  res: Response,
  claims?: LaunchClaimsReader,
  placements?: Pick<PlacementStore, 'forLaunch'>,
): Promise<Actor> {
  const token = res.locals.token as LtiIdToken | undefined;
  const ltik = res.locals.ltik as string | undefined;
  if (!token || !ltik) throw new HttpError(401, 'no_launch', 'Open this tool from your course in the LMS.');
  // A session from a Deep Linking launch (placing the tool) is for that alone, not for the pages.
  if (token.platformContext?.messageType !== RESOURCE_LINK_REQUEST) {
    throw new HttpError(
      403,
      'deep_linking_session',
      'This session was opened to place the tool on an activity, not to use it.',
      undefined,
      ['Open the tool from its link or activity in your course.'],
    );
  }
  const platform = await platforms.find(token.iss, token.clientId);
  if (!platform) throw new HttpError(403, 'unknown_platform', 'This LMS is not registered with the tool.');
  // Deactivating a registration ends its sessions at once, not at their next launch (ltijs checks only at login).
  if (platform.status !== 'active') throw registrationNotActive(platform.status);
  const lti11LegacyUserId = platform.identity === 'lti11_legacy_user_id' && claims ? await claims.legacyUserId(ltik) : null;
  const actor = actorFromToken(token, ltik, platform, { lti11LegacyUserId });
  return placements ? withPlacement(actor, placements) : actor;
}

/** The page of a launch from a registration that is pending (not activated yet) or was deactivated. */
export function registrationNotActive(status: 'pending' | 'inactive'): HttpError {
  return status === 'pending'
    ? new HttpError(
        403,
        'platform_pending',
        'This LMS has registered the tool, but the registration has not been activated yet.',
        undefined,
        [
          'The tool’s operator, or an administrator of an LMS the operator trusts with every registration, activates it in the tool.',
          'Once it is active, an administrator of this LMS adds the isnotai API key in the tool’s settings.',
        ],
      )
    : new HttpError(403, 'platform_inactive', 'This LMS’s registration with the tool has been deactivated.', undefined, [
        'The tool’s operator, or an administrator of an LMS the operator trusts with every registration, can activate it again.',
      ]);
}

/** Express middleware: res.locals.actor for every route behind ltijs's validation. */
export function requireActor(platforms: PlatformDirectory, claims?: LaunchClaimsReader, placements?: Pick<PlacementStore, 'forLaunch'>) {
  return async (_req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      res.locals.actor = await resolveActor(platforms, res, claims, placements);
      next();
    } catch (err) {
      next(err);
    }
  };
}

export function actorOf(res: Response): Actor {
  const a = res.locals.actor as Actor | undefined;
  if (!a) throw new HttpError(401, 'no_launch', 'Open this tool from your course in the LMS.');
  return a;
}

/**
 * A learner in the launch's LMS registration (issuer and client id): whose responses, accommodations and review data a
 * request reads, across every course of that registration.
 */
export function learnerInRegistration(actor: Actor, userId: string): { platformIss: string; platformClientId: string; userId: string } {
  return { platformIss: actor.platform.issuer, platformClientId: actor.platform.clientId, userId };
}

/**
 * The launching student's own isnotai user id, or the 422 that says why there is none (docs/product.md "Identity"): never
 * an empty "no sessions recorded" page, nor a response filed under nobody, when the records were not looked up at all.
 */
export function ownUserId(actor: Actor): string {
  if (actor.userId) return actor.userId;
  const malformed = actor.identityProblem !== null && actor.identityProblem.kind !== 'missing';
  throw new HttpError(
    422,
    malformed ? 'identity_malformed' : 'identity_unmapped',
    malformed
      ? 'Your LMS sent a user id this tool cannot use, so it could not look up your records.'
      : 'Your LMS did not send the user id this tool needs to find your records.',
    { mapping: actor.platform.identity, problem: actor.identityProblem?.kind ?? 'missing' },
    [
      describeIdentityProblem(actor.platform.identity, actor.identityProblem ?? { kind: 'missing' }),
      'Please tell your LMS administrator: the tool’s identity mapping for this LMS needs checking.',
    ],
  );
}

/** A same-origin link that carries the ltik (and nothing from the caller that is not asked for). */
export function hrefWithLtik(path: string, ltik: string, params: Record<string, string | number | undefined | null> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  q.set('ltik', ltik);
  return `${path}?${q.toString()}`;
}
