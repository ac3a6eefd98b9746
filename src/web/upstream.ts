/**
 * The upstream calls the pages make, bound to one platform (its key, base URL, cache TTL), with
 * answers cached in PostgreSQL for a short time so that paging through a roster or reopening a
 * learner does not call the API again. Cache keys carry the platform; values are the validated
 * upstream data, so a cached answer is exactly as trustworthy as a fresh one.
 *
 * A launch of a link placed on one activity (docs/product.md "Placements") binds it with that placement as a lens: the
 * learners' session lists it answers (one learner's, the roster's) hold only the sessions that belong to the placement
 * (src/risk/placement.ts), so every page and export of the launch agrees. The cache keeps the raw lists, shared by every
 * launch; only the answers are narrowed. The integration-wide lists (an admin's) and one session's details are not.
 */
import crypto from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { IsnotaiClient } from '../isnotai/client';
import type { Logger } from '../log';
import type { IsnotaiSession, SessionDetails } from '../isnotai/types';
import { narrowsSessions, sessionInPlacement, type PlacementLens } from '../risk/placement';
import type { LearnerSessions, PlatformView, UpstreamApi, UpstreamCache } from './ports';

/**
 * The most sessions read for one learner (a safety cap: 20 pages of 100), the newest. One more is
 * asked for, so that a learner with more is known to have more (`truncated`), not shown as complete.
 */
export const MAX_SESSIONS_PER_LEARNER = 2000;

/** Which deadline a binding's isnotai calls share: a page's, or an export's that walks every page of isnotai's list. */
export type UpstreamUse = 'page' | 'export';

/** At most MAX_SESSIONS_PER_LEARNER of a read that asked for one more; `truncated` when there was one more. */
function capped(sessions: IsnotaiSession[]): LearnerSessions {
  return sessions.length > MAX_SESSIONS_PER_LEARNER
    ? { sessions: sessions.slice(0, MAX_SESSIONS_PER_LEARNER), truncated: true }
    : { sessions, truncated: false };
}

export function platformCachePrefix(p: Pick<PlatformView, 'issuer' | 'clientId'>): string {
  return crypto.createHash('sha256').update(`${p.issuer}\n${p.clientId}`).digest('base64url').slice(0, 16);
}

export interface RosterUpstream {
  /**
   * The learners whose sessions are cached (one query), those that must be fetched, and the earliest expiry of the
   * cached answers found (null: none found).
   */
  cachedUserSessions(userIds: string[]): Promise<{ found: Map<string, IsnotaiSession[]>; missing: string[]; expiresAt: Date | null }>;
  /** A queue of learners whose sessions are read as they are added, each handed to `onRead` (see LearnerReads). */
  learnerReads(concurrency: number, onRead: (userId: string, read: IsnotaiSession[] | Error) => void): LearnerReads;
  /**
   * One page of the integration's sessions in the window (GET /v1/sessions, pages of 100), as this launch shows them, and
   * the cursor of the next page (null on the last).
   */
  integrationSessionsPage(
    window: { after?: Date; before?: Date },
    cursor?: string,
  ): Promise<{ sessions: IsnotaiSession[]; next: string | null }>;
}

/**
 * Learners' sessions read from a queue that fills while it is read (a roster whose Names and Roles pages are still
 * arriving): each learner once, in the order added, with at most `width` calls in flight, each answer handed on as this
 * launch shows it (the lens) and not kept, and written to the cache as they arrive, so that the last learner's answer
 * leaves little to write.
 */
export interface LearnerReads {
  /** Queues learners (one already queued is not read twice). */
  add(userIds: readonly string[]): void;
  /** How many reads may be in flight: 0 (the start) holds the queue, 1 lets its first learner through alone. */
  widen(width: number): void;
  /** No more learners will be added. */
  close(): void;
  /** Drops the learners not yet started and takes no more: `settled` and `written` settle with the reads in flight. */
  abandon(): void;
  /** The first read to end: its learner and their sessions, or the error the read ended with. */
  readonly first: Promise<[string, IsnotaiSession[] | Error]>;
  /** `listener` hears how many reads have ended: at once, then after each. */
  onSettled(listener: (done: number) => void): void;
  /** Once closed: every read has ended (rejects with the first error `onRead` threw). */
  settled(): Promise<void>;
  /** Once closed: every answer read is in the cache (rejects with a failed write). */
  written(): Promise<void>;
}

/** Rows per cache write while a roster's reads are still starting (see learnerReads). */
export const CACHE_WRITE_BATCH = 100;

export interface BoundUpstreamOptions {
  /**
   * One overall deadline for every isnotai call this binding makes (it lives for one request),
   * retries included. Past it, calls fail at once with IsnotaiAbortError: the page shows what it
   * has or answers 503, instead of waiting out each call's own timeout and retries.
   */
  deadlineMs?: number;
  /** Where dropped foreign sessions are reported (ids only). */
  logger?: Pick<Logger, 'warn'>;
  /** The launch's placement: learners' session lists hold only its sessions (none, or the whole course: all). */
  lens?: PlacementLens | null;
}

/**
 * A learner's list may only hold that learner's sessions. One that names another user (an
 * upstream bug, or a mix-up in a proxy or cache in between) is dropped, and logged with ids only,
 * rather than shown to this learner as their own.
 */
function onlySessionsOf(userId: string, sessions: IsnotaiSession[], logger: BoundUpstreamOptions['logger']): IsnotaiSession[] {
  const own = sessions.filter((s) => s.userId === userId);
  if (own.length !== sessions.length) {
    const foreign = sessions.filter((s) => s.userId !== userId);
    logger?.warn(
      {
        endpoint: 'GET /v1/users/{userId}/sessions',
        userId,
        dropped: foreign.length,
        sessionIds: foreign.slice(0, 20).map((s) => s.id),
        foreignUserIds: [...new Set(foreign.map((s) => s.userId))].slice(0, 20),
      },
      'isnotai returned sessions of another user; dropped',
    );
  }
  return own;
}

export function boundUpstream(
  client: IsnotaiClient,
  cache: UpstreamCache,
  platform: PlatformView,
  options: BoundUpstreamOptions = {},
): UpstreamApi & RosterUpstream & { readonly deadlineMs: number | undefined } {
  const prefix = platformCachePrefix(platform);
  const ttl = platform.cacheTtlSeconds;
  const userKey = (userId: string) => `${prefix}:user-sessions:${userId}`;
  const lens = narrowsSessions(options.lens) ? options.lens : null;
  /** A learner's list as this launch shows it: the placement's sessions only, when it is one activity's. */
  const seen = (sessions: IsnotaiSession[]): IsnotaiSession[] => (lens ? sessions.filter((s) => sessionInPlacement(s, lens)) : sessions);
  const seenCapped = (read: LearnerSessions): LearnerSessions => (lens ? { ...read, sessions: seen(read.sessions) } : read);
  // The deadline runs from the page's first isnotai call: the LMS and the database have their own.
  let deadline: AbortSignal | undefined;
  const call = (): { signal?: AbortSignal } => {
    if (options.deadlineMs === undefined) return {};
    if (!deadline) {
      deadline = AbortSignal.timeout(options.deadlineMs);
      // Every concurrent call of a roster listens on it (and lets go when done): not a leak.
      setMaxListeners(1000, deadline);
    }
    return { signal: deadline };
  };

  /** The learner's newest sessions, one more than the cap when there are more (see `capped`); cached as read. */
  async function fetchAll(userId: string): Promise<IsnotaiSession[]> {
    return onlySessionsOf(
      userId,
      await client.allUserSessions(userId, { pageSize: 100, maxItems: MAX_SESSIONS_PER_LEARNER + 1, ...call() }),
      options.logger,
    );
  }

  return {
    /** The deadline this binding's calls share (an export's answer names it). */
    deadlineMs: options.deadlineMs,
    async allUserSessions(userId, options) {
      if (ttl > 0 && !options?.fresh) {
        const hit = await cache.get(userKey(userId));
        if (Array.isArray(hit)) return seenCapped(capped(hit as IsnotaiSession[]));
      }
      const sessions = await fetchAll(userId);
      if (ttl > 0) await cache.set(userKey(userId), sessions, ttl);
      return seenCapped(capped(sessions));
    },
    async cachedUserSessions(userIds) {
      const found = new Map<string, IsnotaiSession[]>();
      const unique = [...new Set(userIds)];
      const hits = ttl > 0 ? await cache.getManyExpiring(unique.map(userKey)) : new Map<string, { value: unknown; expiresAt: Date }>();
      const missing: string[] = [];
      let expiresAt: Date | null = null;
      for (const id of unique) {
        const hit = hits.get(userKey(id));
        if (hit && Array.isArray(hit.value)) {
          found.set(id, seen(capped(hit.value as IsnotaiSession[]).sessions));
          if (!expiresAt || hit.expiresAt < expiresAt) expiresAt = hit.expiresAt;
        } else missing.push(id);
      }
      return { found, missing, expiresAt };
    },
    learnerReads(concurrency, onRead) {
      return learnerReads(fetchAll, onRead, {
        concurrency,
        seen: (sessions) => seen(capped(sessions).sessions),
        cache:
          ttl > 0
            ? (entries) =>
                cache.setMany(
                  entries.map((e) => ({ key: userKey(e.userId), value: e.sessions })),
                  ttl,
                )
            : null,
      });
    },
    async integrationSessionsPage(window, cursor) {
      const res = await client.listSessions({ pageSize: 100, cursor, startDate: window.after, endDate: window.before }, call());
      return { sessions: seen(res.data), next: res.pagination.hasMore && res.pagination.nextCursor ? res.pagination.nextCursor : null };
    },
    async sessionDetails(sessionId) {
      const key = `${prefix}:details:${sessionId}`;
      if (ttl > 0) {
        const hit = await cache.get(key);
        if (hit && typeof hit === 'object') return hit as SessionDetails;
      }
      const d = await client.getSessionDetails(sessionId, call());
      if (ttl > 0) await cache.set(key, d, ttl);
      return d;
    },
    sessionsPage(params) {
      return client.listSessions(params, call());
    },
    async matchingSessions(filters, maxItems) {
      const out: IsnotaiSession[] = [];
      for await (const s of client.iterateSessions({ ...filters, pageSize: 100 }, { maxItems: maxItems + 1, ...call() })) out.push(s);
      return out.length > maxItems ? null : out;
    },
    eventsPage(sessionId, params) {
      return client.listEvents(sessionId, params, call());
    },
  };
}

/**
 * The queue behind RosterUpstream.learnerReads. `read` is one learner's whole list (as cached); `seen`, what the page
 * shows of it; `cache` writes a batch (null: the platform caches nothing).
 */
function learnerReads(
  read: (userId: string) => Promise<IsnotaiSession[]>,
  onRead: (userId: string, read: IsnotaiSession[] | Error) => void,
  options: {
    concurrency: number;
    seen: (sessions: IsnotaiSession[]) => IsnotaiSession[];
    cache: ((entries: Array<{ userId: string; sessions: IsnotaiSession[] }>) => Promise<void>) | null;
  },
): LearnerReads {
  const queue: string[] = [];
  const queued = new Set<string>();
  let done = 0;
  let next = 0;
  let width = 0;
  let inFlight = 0;
  let closed = false;
  let onSettled: ((done: number) => void) | undefined;
  let settleFirst!: (first: [string, IsnotaiSession[] | Error]) => void;
  const first = new Promise<[string, IsnotaiSession[] | Error]>((resolve) => (settleFirst = resolve));
  let drained!: () => void;
  const allRead = new Promise<void>((resolve) => (drained = resolve));

  /** Every learner's read has started: the answers still to come are the last round's. */
  const lastRound = () => closed && next === queue.length;
  const finished = () => lastRound() && inFlight === 0 && waiting === 0;

  // Answers are handed on once the reads they freed are on the wire. undici writes a request on a keep-alive socket in an
  // immediate (client-h1.js: a reused socket waits "a full event loop cycle", and an idle one is validated first), so a
  // read started while an answer is taken in goes out in that turn's check phase. A round's answers arrive together, in
  // one poll phase: handed on there, each one's work (the roster line, the cache batch) held back every read of the round,
  // and the next round went out together some 20 ms late, round after round (docs/performance.md "Large courses"). So an
  // answer only frees its read (pump) and is set aside; an immediate queued after that read's takes the answers set aside
  // in this turn, and hands them on from an immediate of its own, which runs in the next turn, after every write of this
  // one ("If an immediate timer is queued from inside an executing callback, that timer will not be triggered until the
  // next event loop iteration", Node's timers docs).
  let arrived: Array<[string, IsnotaiSession[] | Error, IsnotaiSession[] | null]> = [];
  /** Answers arrived and not handed on yet. */
  let waiting = 0;
  function arrive(userId: string, shown: IsnotaiSession[] | Error, sessions: IsnotaiSession[] | null): void {
    inFlight--;
    waiting++;
    pump();
    if (arrived.push([userId, shown, sessions]) === 1)
      setImmediate(() => {
        const answers = arrived;
        arrived = [];
        setImmediate(() => handOn(answers));
      });
  }
  function handOn(answers: Array<[string, IsnotaiSession[] | Error, IsnotaiSession[] | null]>): void {
    waiting -= answers.length;
    for (const [userId, shown, sessions] of answers) settle(userId, shown, sessions);
    pump();
  }

  // Cache writes, one statement at a time: of CACHE_WRITE_BATCH answers while reads are still to start (few statements:
  // each costs this process a query built and sent); in the last round, of whatever has arrived once the answers being
  // read are (setImmediate), so that little is left to write after the last answer, which is written at once.
  let toWrite: Array<{ userId: string; sessions: IsnotaiSession[] }> = [];
  let writing: Promise<void> | null = null;
  let writeSoon: NodeJS.Immediate | null = null;
  let writeFailed: Error | null = null;
  let handingFailed: Error | null = null;
  function write(): void {
    const cache = options.cache;
    if (writeSoon) clearImmediate(writeSoon);
    writeSoon = null;
    if (!cache || writing || toWrite.length === 0 || (toWrite.length < CACHE_WRITE_BATCH && !lastRound())) return;
    const batch = toWrite;
    toWrite = [];
    writing = cache(batch).then(
      () => {
        writing = null;
        write();
      },
      (err: unknown) => {
        writeFailed ??= err instanceof Error ? err : new Error(String(err));
        writing = null;
        write();
      },
    );
  }

  function pump(): void {
    while (inFlight < width && next < queue.length) {
      const userId = queue[next++] as string;
      inFlight++;
      read(userId).then(
        (sessions) => arrive(userId, options.seen(sessions), sessions),
        (err: unknown) => arrive(userId, err instanceof Error ? err : new Error(String(err)), null),
      );
    }
    if (finished()) {
      write();
      drained();
    }
  }
  function settle(userId: string, shown: IsnotaiSession[] | Error, sessions: IsnotaiSession[] | null): void {
    done++;
    if (done === 1) settleFirst([userId, shown]);
    try {
      onRead(userId, shown);
    } catch (err) {
      // What is done with an answer failing is the reads' failure (`settled` throws it), not an unhandled rejection.
      handingFailed ??= err instanceof Error ? err : new Error(String(err));
    }
    if (sessions && options.cache) {
      toWrite.push({ userId, sessions });
      if (toWrite.length >= CACHE_WRITE_BATCH) write();
      else if (lastRound()) writeSoon ??= setImmediate(write);
    }
    onSettled?.(done);
  }

  return {
    add(userIds) {
      for (const id of userIds) {
        if (queued.has(id) || closed) continue;
        queued.add(id);
        queue.push(id);
      }
      pump();
    },
    widen(w) {
      width = Math.max(width, Math.min(w, options.concurrency));
      pump();
    },
    close() {
      closed = true;
      pump();
    },
    abandon() {
      queue.length = next;
      closed = true;
      width = 0;
      pump();
    },
    first,
    onSettled(listener) {
      onSettled = listener;
      listener(done);
    },
    async settled() {
      await allRead;
      if (handingFailed) throw handingFailed;
    },
    async written() {
      await allRead;
      // Each write, as it ends, starts the next while answers are left to write.
      while (writing) await writing;
      if (writeFailed) throw writeFailed;
    },
  };
}
