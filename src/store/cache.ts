/**
 * A cache of upstream (isnotai) answers in PostgreSQL, shared by every instance of the tool. Only a
 * cache: it may be emptied at any time, so nothing that must survive (launch state: ./launchState) is
 * kept here.
 *
 * Values are JSON; callers validate what they read back as they would an upstream answer.
 * Expired entries are ignored on read and deleted by the sweeper (./expiry).
 */
import { sql, type Kysely } from 'kysely';
import { StoreError } from './errors';
import { systemClock, type Clock } from './expiry';
import type { JsonValue, Schema } from './schema';

export interface CacheEntry {
  key: string;
  value: JsonValue;
  ttlSeconds: number;
}

export interface UpstreamCache {
  get(key: string): Promise<JsonValue | undefined>;
  /** Keys found and live; a key missing from the map is a miss. One query however many keys. */
  getMany(keys: readonly string[]): Promise<Map<string, JsonValue>>;
  /** As getMany, with when each entry expires. */
  getManyExpiring(keys: readonly string[]): Promise<Map<string, { value: JsonValue; expiresAt: Date }>>;
  /** Atomic upsert: concurrent writers of one key never fail, the last one wins. */
  set(key: string, value: JsonValue, ttlSeconds: number): Promise<void>;
  setMany(entries: readonly CacheEntry[]): Promise<void>;
  delete(key: string): Promise<void>;
}

// Rows per INSERT: 3 parameters each, far below PostgreSQL's 65,535-parameter limit.
const BATCH = 5000;

export function createUpstreamCache(db: Kysely<Schema>, options: { clock?: Clock } = {}): UpstreamCache {
  const clock = options.clock ?? systemClock;
  const now = () => new Date(clock());

  const write = async (entries: readonly CacheEntry[]) => {
    // ON CONFLICT cannot touch one row twice in one statement: keep the last value per key.
    const byKey = new Map<string, CacheEntry>();
    for (const e of entries) {
      checkKey(e.key);
      checkTtl(e.ttlSeconds);
      byKey.set(e.key, e);
    }
    const rows = [...byKey.values()].map((e) => ({
      key: e.key,
      value: JSON.stringify(e.value),
      expires_at: new Date(clock() + e.ttlSeconds * 1000),
    }));
    for (let i = 0; i < rows.length; i += BATCH) {
      await db
        .insertInto('upstream_cache')
        .values(rows.slice(i, i + BATCH))
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), expires_at: eb.ref('excluded.expires_at') })),
        )
        .execute();
    }
  };

  async function getManyExpiring(keys: readonly string[]): Promise<Map<string, { value: JsonValue; expiresAt: Date }>> {
    const unique = [...new Set(keys)];
    unique.forEach(checkKey);
    const found = new Map<string, { value: JsonValue; expiresAt: Date }>();
    if (unique.length === 0) return found;
    const rows = await db
      .selectFrom('upstream_cache')
      .select(['key', 'value', 'expires_at'])
      .where(sql<boolean>`key = ANY(${unique}::text[])`)
      .where('expires_at', '>', now())
      .execute();
    for (const r of rows) found.set(r.key, { value: r.value, expiresAt: r.expires_at });
    return found;
  }

  return {
    async get(key) {
      checkKey(key);
      const row = await db
        .selectFrom('upstream_cache')
        .select('value')
        .where('key', '=', key)
        .where('expires_at', '>', now())
        .executeTakeFirst();
      return row?.value;
    },
    async getMany(keys) {
      return new Map([...(await getManyExpiring(keys))].map(([k, v]) => [k, v.value]));
    },
    getManyExpiring,
    async set(key, value, ttlSeconds) {
      await write([{ key, value, ttlSeconds }]);
    },
    async setMany(entries) {
      if (entries.length > 0) await write(entries);
    },
    async delete(key) {
      checkKey(key);
      await db.deleteFrom('upstream_cache').where('key', '=', key).execute();
    },
  };
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) throw new StoreError('invalid_argument', 'A cache key must be a non-empty string');
}

function checkTtl(ttlSeconds: unknown): void {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new StoreError('invalid_argument', 'A cache TTL must be a positive number of seconds');
  }
}
