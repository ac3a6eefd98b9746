/**
 * One keep-alive undici Pool per origin (and connect timeout), shared by every client that talks
 * to the same base URL: building a client per request (per platform key) must not open a new
 * connection pool each time. The API key is a request header, never part of the pool, so
 * clients of different platforms share connections safely.
 */
import { Pool } from 'undici';

export interface PoolOptions {
  connectTimeoutMs: number;
  /** Upper bound of sockets per origin (undici default is unbounded). */
  connections?: number;
}

export interface DispatcherCache {
  get(origin: string, options: PoolOptions): Pool;
  closeAll(): Promise<void>;
  readonly size: number;
}

export function createDispatcherCache(): DispatcherCache {
  const pools = new Map<string, Pool>();
  return {
    get(origin, options) {
      const key = `${origin}|${options.connectTimeoutMs}|${options.connections ?? ''}`;
      let pool = pools.get(key);
      if (!pool || pool.closed || pool.destroyed) {
        pool = new Pool(origin, {
          connect: { timeout: options.connectTimeoutMs },
          connections: options.connections ?? 32,
          keepAliveTimeout: 10_000,
          keepAliveMaxTimeout: 60_000,
        });
        pools.set(key, pool);
      }
      return pool;
    },
    async closeAll() {
      const all = [...pools.values()];
      pools.clear();
      // destroy, not close: a shutdown must not wait on a hung upstream request.
      await Promise.all(all.map((p) => p.destroy().catch(() => undefined)));
    },
    get size() {
      return pools.size;
    },
  };
}

/** The process-wide cache used when a client is not given its own. */
export const defaultDispatcherCache: DispatcherCache = createDispatcherCache();

/** Closes every pool of the default cache (server shutdown, test teardown). */
export function closeAllPools(): Promise<void> {
  return defaultDispatcherCache.closeAll();
}
