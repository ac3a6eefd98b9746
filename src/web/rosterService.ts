/**
 * Builds the instructor's roster: the course's learners (Names and Roles, cached) joined with
 * their isnotai sessions (bounded concurrency, cached), each summarised by the risk model.
 * One learner's upstream failure marks that row; it does not sink the page.
 */
import type { Provider } from 'ltijs';
import {
  IsnotaiAbortError,
  IsnotaiApiError,
  IsnotaiNetworkError,
  IsnotaiPaginationError,
  IsnotaiResponseError,
  IsnotaiTimeoutError,
} from '../isnotai/errors';
import type { IsnotaiSession } from '../isnotai/types';
import { fetchRoster, RosterError, type RosterMember } from '../lti/roster';
import { learnerRiskSummary } from '../risk';
import type { Actor } from './actor';
import { HttpError } from './errors';
import { rememberRoster } from './knownMembers';
import type { UpstreamCache } from './ports';
import { platformCachePrefix, type boundUpstream } from './upstream';

export type BoundUpstream = ReturnType<typeof boundUpstream>;

export interface RosterRow {
  member: RosterMember;
  userId: string | null;
  sessions: IsnotaiSession[];
  summary: ReturnType<typeof learnerRiskSummary> | null;
  /** Set when this learner's sessions could not be read, or their id could not be mapped. */
  problem: string | null;
}

export interface RosterDeps {
  lti: Provider;
  cache: UpstreamCache;
  concurrency: number;
}

/** The roster of the launch course (Names and Roles), cached per platform and course. */
export async function courseMembers(deps: RosterDeps, actor: Actor): Promise<RosterMember[]> {
  const key = `${platformCachePrefix(actor.platform)}:roster:${actor.context.id ?? '-'}:${actor.resourceLinkId ?? '-'}`;
  const ttl = actor.platform.cacheTtlSeconds;
  if (ttl > 0) {
    const hit = await deps.cache.get(key);
    if (Array.isArray(hit)) return hit as RosterMember[];
  }
  try {
    const members = await fetchRoster(
      deps.lti,
      actor.token,
      { strategy: actor.platform.identity, pattern: actor.platform.identityPattern },
      actor.platform.kind,
      actor.platform.name,
    );
    if (ttl > 0) await deps.cache.set(key, members, ttl);
    // For an admin's "Find a student" in any course of the platform.
    await rememberRoster(deps.cache, actor, members);
    return members;
  } catch (err) {
    if (err instanceof RosterError && err.code === 'lms_refused_roster')
      throw new HttpError(502, err.code, err.message, undefined, err.hints);
    if (err instanceof RosterError) {
      throw new HttpError(502, err.code, 'The tool could not read this course’s list of participants from the LMS.', undefined, [
        err.message,
      ]);
    }
    throw err;
  }
}

/** The launch course's learners, split into those whose sessions are cached and those to fetch. */
export async function rosterPlan(deps: RosterDeps, actor: Actor, upstream: BoundUpstream) {
  const learners = (await courseMembers(deps, actor)).filter((m) => m.isLearner);
  const ids = learners.map((m) => m.userId).filter((x): x is string => Boolean(x));
  const { found, missing } = await upstream.cachedUserSessions(ids);
  return { learners, found, missing };
}

export type RosterPlan = Awaited<ReturnType<typeof rosterPlan>>;

/** No learner has an accommodation on record. */
const NO_ACCOMMODATIONS: ReadonlyMap<string, ReadonlySet<string>> = new Map();

/**
 * Each learner's row. `accommodated`: by userId, the signals each learner's accommodations on record explain (read once for
 * the whole roster, src/web/accommodationContext.ts); their summaries count the levels that count (src/risk/accommodations.ts).
 */
export function rosterRows(
  actor: Actor,
  plan: RosterPlan,
  fetched: Map<string, IsnotaiSession[] | Error>,
  window: { after?: Date; before?: Date },
  accommodated: ReadonlyMap<string, ReadonlySet<string>> = NO_ACCOMMODATIONS,
): RosterRow[] {
  // A refused key fails every learner alike: that is the page's problem, not one row's.
  for (const v of fetched.values()) if (v instanceof IsnotaiApiError && v.status === 401) throw v;
  return plan.learners.map((member) => {
    if (!member.userId) {
      // Never "no sessions": a member whose id cannot be used has not been looked up at all.
      const why = member.idProblem ?? `This platform maps users by “${actor.platform.identity}”, and Names and Roles did not carry it.`;
      return { member, userId: null, sessions: [], summary: null, problem: `Id not usable: ${why}` };
    }
    const got = plan.found.get(member.userId) ?? fetched.get(member.userId);
    if (!got || got instanceof Error) {
      return {
        member,
        userId: member.userId,
        sessions: [],
        summary: null,
        problem: 'Sessions could not be read from isnotai just now; try again shortly.',
      };
    }
    return {
      member,
      userId: member.userId,
      sessions: got,
      summary: learnerRiskSummary(got, { thresholds: actor.platform.thresholds, window, accommodated: accommodated.get(member.userId) }),
      problem: null,
    };
  });
}

/** With this many learners to fetch, the integration-wide list is considered (see startRosterFetch). */
export const WALK_AFTER = 20;
/** The most /v1/sessions pages (chained, so sequential) a roster reads instead of per-learner calls. */
export const WALK_MAX_PAGES = 3;

/**
 * The learners' sessions in the window, from one walk of the integration's sessions. Not cached
 * per learner: these are only the window's sessions, and the per-learner cache holds them all.
 */
function fromIntegrationWalk(sessions: IsnotaiSession[], userIds: string[]): Map<string, IsnotaiSession[]> {
  const byUser = new Map<string, IsnotaiSession[]>(userIds.map((id) => [id, []]));
  for (const s of sessions) byUser.get(s.userId)?.push(s);
  return byUser;
}

/** The walk is an optimisation: an unreadable page of it means "read learner by learner". */
async function walkIfCheaper(
  upstream: BoundUpstream,
  window: { after?: Date; before?: Date },
  maxPages: number,
): Promise<IsnotaiSession[] | null> {
  try {
    return await upstream.integrationSessions(window, maxPages);
  } catch (err) {
    if (err instanceof IsnotaiResponseError || err instanceof IsnotaiPaginationError) return null;
    throw err;
  }
}

/**
 * Starts reading the roster's sessions the cheaper way: when the whole integration's sessions in
 * the window fit in as many sequential pages as the per-learner calls would take rounds, one walk
 * of GET /v1/sessions; otherwise one call per learner (bounded concurrency). Without a window the
 * walk would read the integration's whole history, rarely small: one page finds out; a window
 * allows up to WALK_MAX_PAGES. The first request is made here, so that a refused key or an outage
 * is thrown before anything is sent (its page keeps its status); `rows` does the rest.
 */
export async function startRosterFetch(deps: RosterDeps, actor: Actor, upstream: BoundUpstream, window: { after?: Date; before?: Date }) {
  const plan = await rosterPlan(deps, actor, upstream);
  const rounds = Math.ceil(plan.missing.length / deps.concurrency);
  const budget = Math.min(window.after || window.before ? WALK_MAX_PAGES : 1, rounds);
  const walked = plan.missing.length >= WALK_AFTER ? await walkIfCheaper(upstream, window, budget) : null;
  const first = walked ? [] : plan.missing.slice(0, 1);
  const probe = walked ? fromIntegrationWalk(walked, plan.missing) : await upstream.fetchUserSessions(first, 1);
  const probeError = first[0] ? probe.get(first[0]) : undefined;
  if (probeError instanceof IsnotaiApiError && (probeError.status === 401 || probeError.status >= 500 || probeError.status === 429))
    throw probeError;
  // Past the page's deadline on the first learner, nothing more can be read: the page is a 503.
  if (probeError instanceof IsnotaiNetworkError || probeError instanceof IsnotaiTimeoutError || probeError instanceof IsnotaiAbortError)
    throw probeError;
  const rest = walked ? [] : plan.missing.slice(1);
  return {
    learners: plan.learners.length,
    /** The learners' userIds (those the mapping could use), for what is read about all of them at once. */
    userIds: plan.learners.flatMap((m) => (m.userId ? [m.userId] : [])),
    toFetch: plan.missing.length,
    /** Learners still to fetch after the first request. */
    remaining: rest.length,
    /** `accommodated`: as rosterRows takes it. */
    async rows(
      onProgress?: (done: number, total: number) => void,
      accommodated?: ReadonlyMap<string, ReadonlySet<string>>,
    ): Promise<RosterRow[]> {
      const fetched = await upstream.fetchUserSessions(
        rest,
        deps.concurrency,
        onProgress && ((done) => onProgress(done + first.length, plan.missing.length)),
      );
      return rosterRows(actor, plan, new Map([...probe, ...fetched]), window, accommodated);
    },
  };
}
