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
import { mapWithConcurrency } from '../isnotai/concurrency';
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
  /** The learners whose sessions are cached (one query), and those that must be fetched. */
  cachedUserSessions(userIds: string[]): Promise<{ found: Map<string, IsnotaiSession[]>; missing: string[] }>;
  /** Fetches (bounded concurrency) and caches; one learner's failure is that learner's entry. */
  fetchUserSessions(
    userIds: string[],
    concurrency: number,
    onProgress?: (done: number, total: number) => void,
  ): Promise<Map<string, IsnotaiSession[] | Error>>;
  /**
   * Every session of the integration in the window (GET /v1/sessions, pages of 100), or null when
   * there are more than `maxPages` pages: the caller then reads learner by learner instead.
   */
  integrationSessions(window: { after?: Date; before?: Date }, maxPages: number): Promise<IsnotaiSession[] | null>;
}

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
      const hits = ttl > 0 ? await cache.getMany(unique.map(userKey)) : new Map<string, unknown>();
      const missing: string[] = [];
      for (const id of unique) {
        const v = hits.get(userKey(id));
        if (Array.isArray(v)) found.set(id, seen(capped(v as IsnotaiSession[]).sessions));
        else missing.push(id);
      }
      return { found, missing };
    },
    async fetchUserSessions(userIds, concurrency, onProgress) {
      const out = new Map<string, IsnotaiSession[] | Error>();
      let done = 0;
      const settled = await mapWithConcurrency(userIds, concurrency, async (id) => {
        try {
          return await fetchAll(id);
        } finally {
          onProgress?.(++done, userIds.length);
        }
      });
      const fresh: Array<{ key: string; value: unknown }> = [];
      settled.forEach((r, i) => {
        const id = userIds[i] as string;
        if (r.ok) {
          out.set(id, seen(capped(r.value).sessions));
          fresh.push({ key: userKey(id), value: r.value });
        } else out.set(id, r.error instanceof Error ? r.error : new Error(String(r.error)));
      });
      if (ttl > 0 && fresh.length > 0) await cache.setMany(fresh, ttl);
      return out;
    },
    async integrationSessions(window, maxPages) {
      const out: IsnotaiSession[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < maxPages; page++) {
        const res = await client.listSessions({ pageSize: 100, cursor, startDate: window.after, endDate: window.before }, call());
        out.push(...seen(res.data));
        if (!res.pagination.hasMore || !res.pagination.nextCursor) return out;
        cursor = res.pagination.nextCursor;
      }
      return null;
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
