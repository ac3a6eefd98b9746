/**
 * The course roster as PostgreSQL keeps it (src/store/roster.ts, docs/performance.md "Large courses"): built once per
 * course, launch lens, window and thresholds, by one request on one instance, while everyone else who opens it waits on
 * the build's progress; each learner's line written as their sessions are read, so that neither the build nor a page ever
 * holds the course's sessions; read back a page at a time.
 *
 * Freshness is the cache's: a roster lives for the platform's cache TTL from the moment its build began, and never longer
 * than the oldest cached answer it was built from, so that a learner's own page, which reads the same cache (or isnotai
 * once that has expired), is never older than what the roster said about them. A platform that caches nothing builds a
 * roster for one request and drops it.
 */
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IsnotaiSession } from '../isnotai/types';
import type { RosterMember } from '../lti/roster';
import { learnerRiskSummary, riskRank, sessionInWindow, type RiskLevel } from '../risk';
import type { RosterBuilder, RosterBuildState, RosterLine, RosterPlace, RosterStore } from '../store/roster';
import { courseAccommodatedSignals, type AccommodationDeps } from './accommodationContext';
import type { Actor } from './actor';
import { compareText, foldText } from './lists';
import { startRosterFetch, type BoundUpstream, type LearnerRead, type RosterDeps } from './rosterService';
import { platformCachePrefix } from './upstream';

export interface RosterBuildDeps extends RosterDeps, AccommodationDeps {
  rosters: RosterStore;
  upstreamFor(actor: Actor): Promise<BoundUpstream>;
  /** How often a request waiting on another's build looks at it (ms); default ROSTER_POLL_MS. */
  rosterPollMs?: number;
}

/** How often a request waiting on another's build reads its progress and tries its lock. */
export const ROSTER_POLL_MS = 50;
/** Lines per write while a roster is built. */
export const LINE_WRITE_BATCH = 200;
/** A roster with a learner whose sessions could not be read lives this long at most, so that a reload tries again. */
export const UNREAD_ROSTER_TTL_SECONDS = 30;
/** A roster built for one request (a platform that caches nothing) is swept after this long if it was not dropped. */
const ONE_REQUEST_TTL_SECONDS = 600;

type Window = { after?: Date; before?: Date };

/** The roster's key: the platform, course, launch link and its lens, window, thresholds and identity mapping. */
export function rosterBuildKey(actor: Actor, window: Window): string {
  const p = actor.platform;
  const what = JSON.stringify([
    actor.deploymentId,
    actor.context.id,
    actor.resourceLinkId,
    actor.placement ?? null,
    window.after?.toISOString() ?? null,
    window.before?.toISOString() ?? null,
    p.thresholds,
    p.identity,
    p.identityPattern,
  ]);
  const hash = crypto.createHash('sha256').update(what).digest('base64url').slice(0, 32);
  const key = `${platformCachePrefix(p)}:roster:${hash}`;
  // Nothing cached: one request's own roster, shared with nobody.
  return p.cacheTtlSeconds > 0 ? key : `${key}:${crypto.randomUUID()}`;
}

/** How the page says each level's name (the `risk` column is the level, or `unavailable`). */
const rankOf = (risk: RiskLevel | 'unavailable') => (risk === 'unavailable' ? -1 : riskRank(risk));

const uniqueSorted = (values: Iterable<string>) => [...new Set(values)].sort();

/**
 * One learner's line: their member record and what their read gave, summarised in the window. A learner without a read
 * (an id that cannot be used, or sessions that could not be read) has the same line with nothing summarised.
 *
 * One object literal, written out: made once per learner of a cold roster. Made with spreads before
 * (`{ ...base, ...none, … }`), a line allocated about 20 KB, 12.8 KB of it in this function; now about 10 KB, 1.4 KB of
 * it here (4,000 lines, V8's sampling heap profiler and --trace-gc-nvp, scratch runs). In a 4,000-learner build that
 * meant more young-generation collections, and more short-lived data promoted with each (docs/performance.md "Large
 * courses").
 */
export function rosterLine(
  actor: Actor,
  member: Pick<RosterMember, 'ltiUserId' | 'userId' | 'name' | 'email' | 'status' | 'idProblem'>,
  read: LearnerRead,
  window: Window,
  accommodated: ReadonlySet<string> | undefined,
): RosterLine {
  const sessions = read === null || read instanceof Error ? null : read;
  const s = sessions && learnerRiskSummary(sessions, { thresholds: actor.platform.thresholds, window, accommodated });
  const inWindow: IsnotaiSession[] = sessions ? sessions.filter((x) => sessionInWindow(x, window)) : [];
  const flags = uniqueSorted(inWindow.flatMap((x) => x.detectionFlags));
  const statuses = uniqueSorted(inWindow.map((x) => x.status));
  return {
    ltiUserId: member.ltiUserId,
    userId: member.userId,
    name: member.name,
    email: member.email,
    enrollment: member.status.toLowerCase() === 'active' ? 'active' : 'inactive',
    search: [member.name, member.email, member.userId, member.ltiUserId]
      .filter((t): t is string => typeof t === 'string')
      .map(foldText)
      .join('\n'),
    risk: s ? s.level : 'unavailable',
    riskWithout: s ? (s.levelWithoutAccommodations ?? s.level) : 'unavailable',
    riskRank: rankOf(s ? s.level : 'unavailable'),
    levelReason: s ? s.levelReason : null,
    sessions: s ? s.sessionsInWindow : 0,
    high: s ? s.highCount : 0,
    elevated: s ? s.elevatedCount : 0,
    low: s ? s.lowCount : 0,
    maxScore: s ? s.maxScore : null,
    topFlags: s ? s.topFlags : [],
    lastActivity: s ? s.lastActivity : null,
    unread: read instanceof Error,
    // Never "no sessions": a member whose id cannot be used has not been looked up at all.
    problem:
      read === null
        ? `Id not usable: ${member.idProblem ?? `This platform maps users by “${actor.platform.identity}”, and Names and Roles did not carry it.`}`
        : read instanceof Error
          ? 'Sessions could not be read from isnotai just now; try again shortly.'
          : null,
    flags,
    statuses,
    flagKeys: uniqueSorted(flags.map(foldText)),
    statusKeys: uniqueSorted(statuses.map(foldText)),
    accommodated: s ? uniqueSorted(accommodated ?? []) : [],
  };
}

/** The lines' places: by name (equal names share a rank), then by the LMS's id, as the roster's comparators order them. */
function orderOf(members: readonly RosterMember[]): RosterPlace[] {
  const sorted = [...members].sort((a, b) => compareText(a.name, b.name) || compareText(a.ltiUserId, b.ltiUserId));
  let nameRank = 0;
  return sorted.map((m, i) => {
    if (i > 0 && compareText(sorted[i - 1]!.name, m.name) !== 0) nameRank = i;
    return { ltiUserId: m.ltiUserId, nameRank, ord: i };
  });
}

/** A build begun by this request: its counts, once the list is whole and the first isnotai request has answered. */
interface Started {
  learners: number;
  toFetch: number;
  remaining: number;
  progress(onProgress: (done: number, total: number) => void): void;
}

/** The roster, ready to be read, or being built (by this request or another) with the means to wait for it. */
export type OpenedRoster =
  | { ready: true; build: RosterBuildState }
  | {
      ready: false;
      /** Whether another request (on this instance or another) is building it. */
      shared: boolean;
      learners: number;
      toFetch: number;
      /** Learners whose sessions are still to be read. */
      remaining: number;
      /** Waits for the roster, telling `onProgress` how many of its learners have been read. */
      wait(onProgress?: (done: number, total: number) => void): Promise<RosterBuildState>;
    };

/**
 * Builds the roster under the lock `builder` holds: the course's accommodations first (one query: a line's level counts
 * them), then the learners' reads, each turned into a line as it arrives and written in batches; then the lines' order
 * and the roster's expiry. `started` hears the counts once the first isnotai request has answered.
 */
async function build(
  deps: RosterBuildDeps,
  actor: Actor,
  window: Window,
  builder: RosterBuilder,
  started: (s: Started) => void,
): Promise<RosterBuildState> {
  const startedAt = Date.now();
  const upstream = await deps.upstreamFor(actor);
  const accommodated = await courseAccommodatedSignals(deps, actor, null);
  let pending: RosterLine[] = [];
  let writing: Promise<void> = Promise.resolve();
  let unread = false;
  /** Each learner's place in the order, once the course's list is whole; until then the lines written go to `unplaced`. */
  let places: Map<string, RosterPlace> | null = null;
  const unplaced = new Set<string>();
  /** Writes, one at a time in the order they are handed on (a line's place is given after the line). */
  const then = (step: () => Promise<void>) => {
    writing = writing.then(step);
    // Awaited once every line is handed on (a failed write fails the build); until then not an unhandled rejection.
    writing.catch(() => undefined);
  };
  const flush = () => {
    const batch = pending;
    pending = [];
    const at = places;
    if (!at) for (const l of batch) unplaced.add(l.ltiUserId);
    then(() => builder.write(batch, at));
  };
  const fetch = await startRosterFetch(deps, actor, upstream, window, (member, read) => {
    const line = rosterLine(actor, member, read, window, member.userId ? accommodated.get(member.userId) : undefined);
    if (line.unread) unread = true;
    pending.push(line);
    if (pending.length >= LINE_WRITE_BATCH) flush();
  });
  // The list is whole: the lines written from now on are written in their places, those written before are given theirs
  // (while the reads go on, not after the last).
  const order = orderOf(fetch.members);
  places = new Map(order.map((o) => [o.ltiUserId, o]));
  const early = order.filter((o) => unplaced.has(o.ltiUserId));
  then(() => builder.place(early));
  await builder.counts(fetch.learners, fetch.toFetch);
  started({ learners: fetch.learners, toFetch: fetch.toFetch, remaining: fetch.remaining, progress: (p) => fetch.progress(p) });
  await fetch.finished();
  flush();
  await writing;
  const ttl = unread ? Math.min(actor.platform.cacheTtlSeconds, UNREAD_ROSTER_TTL_SECONDS) : actor.platform.cacheTtlSeconds;
  let until = ttl > 0 ? new Date(startedAt + ttl * 1000) : new Date(Date.now() + ONE_REQUEST_TTL_SECONDS * 1000);
  const cachedUntil = fetch.cachedUntil();
  if (ttl > 0 && cachedUntil && cachedUntil < until) until = cachedUntil;
  await builder.finish(until);
  return {
    id: builder.id,
    status: 'ready',
    learners: fetch.learners,
    toRead: fetch.toFetch,
    done: fetch.learners,
    startedAt: new Date(startedAt),
    expiresAt: until,
    holder: '',
  };
}

const isReady = (s: RosterBuildState | null): boolean => s !== null && s.status === 'ready' && s.expiresAt.getTime() > Date.now();

/**
 * Opens the launch course's roster in `window`: ready (one query), or built by this request (it returns once the build's
 * counts are known, as a cold roster always has), or being built by another request, which this one waits on; a build
 * whose process died is taken over (src/store/roster.ts).
 */
export async function openRoster(deps: RosterBuildDeps, actor: Actor, window: Window): Promise<OpenedRoster> {
  const key = rosterBuildKey(actor, window);
  const shared = actor.platform.cacheTtlSeconds > 0;
  if (shared) {
    const ready = await deps.rosters.ready(key);
    if (ready) return { ready: true, build: ready };
  }
  const poll = deps.rosterPollMs ?? ROSTER_POLL_MS;
  // Long enough for the slowest build to keep its lock (a build's own deadline ends it sooner).
  const buildingUntil = new Date(Date.now() + Math.max(actor.platform.cacheTtlSeconds, 0) * 1000 + 3600_000);

  /** One try for the build's lock: this request builds it (and hears when it has started), or learns its state. */
  const attempt = () => {
    let onStarted!: (s: Started) => void;
    const started = new Promise<Started>((resolve) => (onStarted = resolve));
    const tried = deps.rosters.tryBuild(key, buildingUntil, (builder) => build(deps, actor, window, builder, onStarted));
    tried.catch(() => undefined);
    const first = Promise.race([started.then((s) => ({ started: s }) as const), tried.then((t) => ({ tried: t }) as const)]);
    return { first, tried };
  };
  const builtHere = (s: Started, tried: ReturnType<typeof attempt>['tried']) => ({
    ready: false as const,
    shared: false,
    learners: s.learners,
    toFetch: s.toFetch,
    remaining: s.remaining,
    async wait(onProgress?: (done: number, total: number) => void) {
      if (onProgress) s.progress(onProgress);
      const t = await tried;
      if (!t.ran) throw new Error('a roster build ended without building');
      return t.value;
    },
  });

  /** Waits on another's build: its progress every `poll` ms, and its lock tried each time, to take it over if it died. */
  const waitOnOthers = async (onProgress?: (done: number, total: number) => void): Promise<RosterBuildState> => {
    for (;;) {
      await sleep(poll);
      const { first, tried } = attempt();
      const got = await first;
      if ('started' in got) return builtHere(got.started, tried).wait(onProgress);
      if (got.tried.ran) return got.tried.value;
      const state = got.tried.state;
      if (state && isReady(state)) return state;
      if (state && state.status === 'building' && state.learners > 0) onProgress?.(state.done, state.learners);
    }
  };

  for (;;) {
    const { first, tried } = attempt();
    const got = await first;
    if ('started' in got) return builtHere(got.started, tried);
    if (got.tried.ran) return { ready: true, build: got.tried.value };
    const state = got.tried.state;
    if (state && isReady(state)) return { ready: true, build: state };
    // Another request is building it: once its list is read, its counts say whether a progress line is worth it.
    if (state && state.status === 'building' && state.learners > 0) {
      return {
        ready: false,
        shared: true,
        learners: state.learners,
        toFetch: state.toRead,
        remaining: Math.max(0, state.learners - state.done),
        wait: waitOnOthers,
      };
    }
    await sleep(poll);
  }
}

/**
 * Brings the lines of learners whose accommodations changed since their line was written up to date: their level counts
 * the accommodations on record now (docs/product.md "Accommodations"). One query for the course's accommodations and one
 * for the lines that had some; a learner is read again (from the cache, else isnotai) only when theirs changed.
 */
export async function refreshAccommodated(deps: RosterBuildDeps, actor: Actor, buildId: string, window: Window): Promise<void> {
  const [now, lines] = await Promise.all([courseAccommodatedSignals(deps, actor, null), deps.rosters.accommodatedLines(buildId, [])]);
  const wanted = (userId: string) => uniqueSorted(now.get(userId) ?? []).join('\n');
  const seen = new Set(lines.map((l) => l.userId));
  const changed = lines.filter((l) => wanted(l.userId) !== l.accommodated.join('\n')).map((l) => l.userId);
  const added = [...now.keys()].filter((id) => !seen.has(id));
  // Learners with accommodations now whose lines had none: those lines are read to see whether they are in this roster.
  const more = added.length > 0 ? await deps.rosters.accommodatedLines(buildId, added) : [];
  const stale = [...new Set([...changed, ...more.filter((l) => wanted(l.userId) !== l.accommodated.join('\n')).map((l) => l.userId)])];
  if (stale.length === 0) return;
  const upstream = await deps.upstreamFor(actor);
  const members = await deps.rosters.members(buildId, stale);
  const reads = new Map<string, LearnerRead>();
  for (const id of stale) {
    reads.set(
      id,
      await upstream.allUserSessions(id).then(
        (r) => r.sessions,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      ),
    );
  }
  await deps.rosters.replaceLines(
    buildId,
    members.map((m) => rosterLine(actor, m, reads.get(m.userId as string) ?? null, window, now.get(m.userId as string))),
  );
}
