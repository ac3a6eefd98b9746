/**
 * Builds the instructor's roster: the course's learners (Names and Roles, cached) joined with
 * their isnotai sessions (bounded concurrency, cached), each summarised by the risk model.
 * One learner's upstream failure marks that row; it does not sink the page.
 *
 * A cold roster is read as a pipeline: the learners of each Names and Roles page are looked up in
 * the cache and the others queued for isnotai while the next page is read, so that the whole read
 * takes about as long as the longer of the two, not their sum (docs/performance.md).
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
import type { Actor } from './actor';
import { HttpError } from './errors';
import { rememberRoster } from './knownMembers';
import type { UpstreamCache } from './ports';
import { platformCachePrefix, type boundUpstream } from './upstream';

export type BoundUpstream = ReturnType<typeof boundUpstream>;

export interface RosterDeps {
  lti: Provider;
  cache: UpstreamCache;
  concurrency: number;
}

/** The cache key of the launch course's members: per platform, course and resource link (its `rlid` claims). */
const rosterKey = (actor: Actor) =>
  `${platformCachePrefix(actor.platform)}:roster:${actor.context.id ?? '-'}:${actor.resourceLinkId ?? '-'}`;

/** A failure to list the course's members, as the page's answer: the LMS's refusal or failure is a 502. */
function rosterFailure(err: unknown): unknown {
  if (err instanceof RosterError && err.code === 'lms_refused_roster')
    return new HttpError(502, err.code, err.message, undefined, err.hints);
  if (err instanceof RosterError) {
    return new HttpError(502, err.code, 'The tool could not read this course’s list of participants from the LMS.', undefined, [
      err.message,
    ]);
  }
  return err;
}

/** A list just read from the LMS: cached for the platform's TTL, and its learners remembered for an admin's "Find a student". */
async function keepRoster(deps: RosterDeps, actor: Actor, members: RosterMember[]): Promise<void> {
  const ttl = actor.platform.cacheTtlSeconds;
  if (ttl > 0) await deps.cache.set(rosterKey(actor), members, ttl);
  // For an admin's "Find a student" in any course of the platform.
  await rememberRoster(deps.cache, actor, members);
}

const fetchRosterOf = (lti: Provider, actor: Actor) =>
  fetchRoster(
    lti,
    actor.token,
    { strategy: actor.platform.identity, pattern: actor.platform.identityPattern },
    actor.platform.kind,
    actor.platform.name,
  );

/** The roster of the launch course (Names and Roles), cached per platform and course. */
export async function courseMembers(deps: RosterDeps, actor: Actor): Promise<RosterMember[]> {
  if (actor.platform.cacheTtlSeconds > 0) {
    const hit = await deps.cache.get(rosterKey(actor));
    if (Array.isArray(hit)) return hit as RosterMember[];
  }
  try {
    const members = await fetchRosterOf(deps.lti, actor);
    await keepRoster(deps, actor, members);
    return members;
  } catch (err) {
    throw rosterFailure(err);
  }
}

/**
 * The launch course's members read from the LMS one Names and Roles page at a time, each page handed to `onPage` as it
 * arrives (the whole list is the answer). Each page goes through fetchRoster (src/lti/roster.ts: the request, validation,
 * the identity mapping, a refused token replaced once, failures explained), asked for one page (ltijs's `pages: 1`), then
 * for the page its `next` link names. A member listed twice keeps their first place, as in one list. `stop()` true: no
 * further page is asked for.
 */
async function membersPageByPage(
  deps: RosterDeps,
  actor: Actor,
  onPage: (members: RosterMember[]) => void,
  stop: () => boolean,
): Promise<RosterMember[]> {
  const all: RosterMember[] = [];
  const listed = new Set<string>();
  const asked = new Set<string>();
  let url: string | undefined;
  for (;;) {
    let next: string | undefined;
    const getMembers: Provider['NamesAndRoles']['getMembers'] = async (token, options) => {
      const answer = await deps.lti.NamesAndRoles.getMembers(token, url === undefined ? { ...options, pages: 1 } : { pages: 1, url });
      next = answer?.next;
      return answer;
    };
    // ltijs as fetchRoster uses it, its Names and Roles asked for one page: the same calls, one page each.
    const onePage = Object.create(deps.lti, { NamesAndRoles: { value: { getMembers } } }) as Provider;
    const page = (await fetchRosterOf(onePage, actor)).filter((m) => !listed.has(m.ltiUserId));
    for (const m of page) listed.add(m.ltiUserId);
    all.push(...page);
    onPage(page);
    if (!next || stop()) return all;
    if (asked.has(next)) throw new RosterError('nrps_invalid', 'Names and Roles linked back to a page of members already read.');
    asked.add(next);
    url = next;
  }
}

/** What the roster read about one learner: their sessions as this launch shows them, the error their read ended with, or
 * null for a member whose id could not be mapped (never looked up). */
export type LearnerRead = IsnotaiSession[] | Error | null;

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

/** A first learner's read that fails the page with its own status: a refused key, a rate limit, an outage, the deadline. */
function failsThePage(result: IsnotaiSession[] | Error): result is Error {
  if (result instanceof IsnotaiApiError) return result.status === 401 || result.status >= 500 || result.status === 429;
  return result instanceof IsnotaiNetworkError || result instanceof IsnotaiTimeoutError || result instanceof IsnotaiAbortError;
}

/**
 * Starts reading the roster's sessions the cheaper way: when the whole integration's sessions in the window fit in as many
 * sequential pages as the per-learner calls would take rounds, one walk of GET /v1/sessions; otherwise one call per learner
 * (bounded concurrency). Without a window the walk would read the integration's whole history, rarely small: one page finds
 * out; a window allows up to WALK_MAX_PAGES.
 *
 * A cold roster's Names and Roles pages and its learners' calls overlap: each page's learners are looked up in the cache as
 * it arrives, and those not cached are queued at once. The first isnotai request goes out alone: the walk's first page,
 * with the LMS's first page when the roster is not cached; otherwise one learner. The queue is opened once it has
 * answered, while Names and Roles may still be reading. This returns once the whole list is read and that first request
 * has answered, so that a refused key, a rate limit, an outage or the page's deadline is thrown before anything is sent
 * (its page keeps its status), and the counts are known; `finished` waits for the rest.
 *
 * Nothing is held for the whole course but its list of members: each learner's read is handed to `onLearner` (once per
 * member of the course it belongs to) as it arrives, from the cache or from isnotai, and let go.
 */
export async function startRosterFetch(
  deps: RosterDeps,
  actor: Actor,
  upstream: BoundUpstream,
  window: { after?: Date; before?: Date },
  onLearner: (member: RosterMember, read: LearnerRead) => void,
) {
  const cached = actor.platform.cacheTtlSeconds > 0 ? await deps.cache.get(rosterKey(actor)) : undefined;
  const learners: RosterMember[] = [];
  /** The members of each userId (more than one when the identity mapping gives two members one id). */
  const membersOf = new Map<string, RosterMember[]>();
  /** What each userId's read ended with, once it has: a member listed after it is handed the same. */
  const readOf = new Map<string, LearnerRead>();
  const missing: string[] = [];
  /** The earliest expiry of the cached reads used (the roster must not outlive them). */
  let cachedUntil: Date | null = null;
  let refused: Error | null = null;
  /** The members handed on: each once, whichever of a read's end and a later page's lookup comes to them first. */
  const handed = new Set<RosterMember>();
  const hand = (m: RosterMember, read: LearnerRead) => {
    if (handed.has(m)) return;
    handed.add(m);
    onLearner(m, read);
  };
  const settle = (userId: string, read: LearnerRead) => {
    if (read instanceof IsnotaiApiError && read.status === 401) refused ??= read;
    // Kept only while it is this small: an error, or nothing. A learner's sessions are handed on and let go; a second
    // member of the same id is read again from the cache.
    readOf.set(userId, read instanceof Error ? read : null);
    for (const m of membersOf.get(userId) ?? []) hand(m, read);
  };
  const reads = upstream.learnerReads(deps.concurrency, settle);
  let firstToFetch!: () => void;
  const someToFetch = new Promise<void>((resolve) => (firstToFetch = resolve));
  // One cache query per page, in the pages' order; the learners it does not hold are queued.
  let lookups: Promise<void> = Promise.resolve();
  const addMembers = (members: RosterMember[]): void => {
    const page = members.filter((m) => m.isLearner);
    learners.push(...page);
    const ids: string[] = [];
    const again: RosterMember[] = [];
    for (const m of page) {
      if (!m.userId) {
        hand(m, null);
        continue;
      }
      const of = membersOf.get(m.userId);
      if (of) {
        of.push(m);
        again.push(m);
      } else {
        membersOf.set(m.userId, [m]);
        ids.push(m.userId);
      }
    }
    lookups = lookups.then(async () => {
      const {
        found,
        missing: notCached,
        expiresAt,
      } = ids.length > 0
        ? await upstream.cachedUserSessions(ids)
        : { found: new Map<string, IsnotaiSession[]>(), missing: [], expiresAt: null };
      if (expiresAt && (!cachedUntil || expiresAt < cachedUntil)) cachedUntil = expiresAt;
      for (const [id, sessions] of found) settle(id, sessions);
      // A second member of an id already read: its read again, from the cache when it was read fine.
      for (const m of again) {
        const id = m.userId as string;
        // Not read yet: its read's end hands it on. Already handed on (its read ended after its page was listed): done.
        if (!readOf.has(id) || handed.has(m)) continue;
        const before = readOf.get(id);
        if (before instanceof Error) hand(m, before);
        else {
          const hit = await upstream.cachedUserSessions([id]);
          hand(m, hit.found.get(id) ?? new Error('not cached'));
        }
      }
      missing.push(...notCached);
      reads.add(notCached);
      if (notCached.length > 0) firstToFetch();
    });
    // Awaited by `listing` once the list is read (a failed lookup fails it); until then not an unhandled rejection.
    lookups.catch(() => undefined);
  };
  let failed = false;
  let rosterWritten: Promise<void> = Promise.resolve();
  const listing = (async () => {
    if (Array.isArray(cached)) addMembers(cached as RosterMember[]);
    else {
      const members = await membersPageByPage(deps, actor, addMembers, () => failed).catch((err: unknown) => {
        throw rosterFailure(err);
      });
      if (failed) return;
      rosterWritten = keepRoster(deps, actor, members);
      // Awaited with the learners' cache writes (`finished`); until then a rejection is not an unhandled one.
      rosterWritten.catch(() => undefined);
    }
    await lookups;
  })();
  listing.catch(() => undefined);

  const windowed = Boolean(window.after || window.before);
  /** The walk's page budget for the roster as listed so far (exact once it is whole); 0: not worth a try. */
  const budget = () =>
    missing.length < WALK_AFTER ? 0 : Math.min(windowed ? WALK_MAX_PAGES : 1, Math.ceil(missing.length / deps.concurrency));
  /** A page of the walk; null when it cannot be read (malformed): the walk is then given up. */
  const page = (cursor?: string) =>
    upstream.integrationSessionsPage(window, cursor).catch((err: unknown) => {
      if (err instanceof IsnotaiResponseError || err instanceof IsnotaiPaginationError) return null;
      throw err;
    });
  // A roster read from the LMS: the walk's first page goes out with its first page, since it is the first isnotai request
  // either way; it is awaited (and its failure thrown) only once a learner is found to fetch.
  const walkStarted = Array.isArray(cached) ? null : page();
  walkStarted?.catch(() => undefined);
  /**
   * Every session of the window from the walk, or null (read learner by learner). `answered`: its first page answered,
   * so the key, the rate limit and the service are known to be fine. An unreadable page means "learner by learner".
   */
  const walk = async (): Promise<{ sessions: IsnotaiSession[] | null; answered: boolean }> => {
    const first = await (walkStarted ?? page());
    if (!first) return { sessions: null, answered: false };
    const sessions = [...first.sessions];
    let next = first.next;
    // Without a window the budget is one page: a second means learner by learner, whatever the roster's size.
    if (next !== null && !windowed) return { sessions: null, answered: true };
    await listing;
    for (let read = 1; next !== null; read++) {
      if (read >= budget()) return { sessions: null, answered: true };
      const more = await page(next);
      if (!more) return { sessions: null, answered: true };
      sessions.push(...more.sessions);
      next = more.next;
    }
    return { sessions: budget() > 0 ? sessions : null, answered: true };
  };

  let walked = false;
  try {
    await Promise.race([someToFetch, listing]);
    if (missing.length > 0) {
      // Read from the LMS, the roster's size is not known when the walk's first page answers: the rule is applied once
      // it is (budget), and the page is the first request either way.
      const tried = walkStarted || budget() > 0 ? await walk() : { sessions: null, answered: false };
      if (tried.sessions) {
        reads.abandon();
        await listing;
        // The window's sessions of the learners not cached, from the walk. Not cached per learner: these are only the
        // window's sessions, and the per-learner cache holds them all (their own pages read them afresh).
        for (const [id, sessions] of fromIntegrationWalk(tried.sessions, missing)) settle(id, sessions);
        walked = true;
      } else if (tried.answered) reads.widen(deps.concurrency);
      else {
        // One learner first: a refused key, a rate limit, an outage or the deadline fails the page before anything is sent.
        reads.widen(1);
        const [, first] = await reads.first;
        if (failsThePage(first)) throw first;
        reads.widen(deps.concurrency);
      }
    }
    await listing;
    reads.close();
  } catch (err) {
    failed = true;
    reads.abandon();
    throw err;
  }
  return {
    /** The course's learners (members in a learner's role), in the LMS's order. */
    members: learners,
    learners: learners.length,
    toFetch: missing.length,
    /** Learners still to fetch after the first request. */
    remaining: walked ? 0 : Math.max(0, missing.length - 1),
    /** The earliest expiry of the cached reads the roster used: it must not be kept longer. */
    cachedUntil: () => cachedUntil,
    /** `onSettled` hears how many of the learners to fetch have been read: at once, then after each. */
    progress(onSettled: (done: number, total: number) => void): void {
      if (walked) onSettled(missing.length, missing.length);
      else reads.onSettled((done) => onSettled(done, missing.length));
    },
    /**
     * Every learner has been handed to `onLearner`, and what was read from the LMS and from isnotai is in the cache.
     * A refused key (401) on any learner fails the whole roster: that is the page's problem, not one row's.
     */
    async finished(): Promise<void> {
      await reads.settled();
      await Promise.all([rosterWritten, reads.written()]);
      if (refused) throw refused;
    },
  };
}
