import { createUpstreamCache, sweepExpired, type Store, type UpstreamCache } from '../../src/store';
import { manualClock, migratedStore } from './helpers';

let store: Store;
const clock = manualClock();
let cache: UpstreamCache;

beforeAll(async () => {
  store = await migratedStore('cache');
  cache = createUpstreamCache(store.db, { clock: clock.now });
});
afterAll(() => store.close());

/** How many queries `fn` sends: each Kysely query checks a client out of the pool once. */
async function queriesDuring(fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const onAcquire = () => n++;
  store.pool.on('acquire', onAcquire);
  try {
    await fn();
  } finally {
    store.pool.off('acquire', onAcquire);
  }
  return n;
}

test('set then get; set again replaces; a missing key is undefined', async () => {
  await cache.set('k1', { sessions: [{ id: 's1', botScore: 0.9 }] }, 60);
  expect(await cache.get('k1')).toEqual({ sessions: [{ id: 's1', botScore: 0.9 }] });
  await cache.set('k1', [1, 2, 3], 60);
  expect(await cache.get('k1')).toEqual([1, 2, 3]);
  expect(await cache.get('nope')).toBeUndefined();
  await cache.delete('k1');
  expect(await cache.get('k1')).toBeUndefined();
});

test('an expired entry is a miss before the sweep and gone after it', async () => {
  await cache.set('short', 'v', 30);
  await cache.set('long', 'v', 300);
  clock.advance(31);
  expect(await cache.get('short')).toBeUndefined();
  expect(await cache.get('long')).toBe('v');
  const { rows: before } = await store.pool.query("SELECT key FROM upstream_cache WHERE key = 'short'");
  expect(before).toHaveLength(1);
  const swept = await sweepExpired(store.db, { clock: clock.now });
  expect(swept.deleted.upstream_cache).toBeGreaterThanOrEqual(1);
  const { rows: after } = await store.pool.query("SELECT key FROM upstream_cache WHERE key IN ('short', 'long')");
  expect(after.map((r: { key: string }) => r.key)).toEqual(['long']);
});

test('a 1,000-learner roster: setMany and getMany each take one query', async () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `moodle|c1|/v1/users/${i}/sessions`);
  const writes = await queriesDuring(() => cache.setMany(keys.map((key, i) => ({ key, value: { learner: i }, ttlSeconds: 120 }))));
  expect(writes).toBe(1);
  let found = new Map<string, unknown>();
  const reads = await queriesDuring(async () => {
    found = await cache.getMany([...keys, 'missing-1', 'missing-2']);
  });
  expect(reads).toBe(1);
  expect(found.size).toBe(1000);
  expect(found.get(keys[737]!)).toEqual({ learner: 737 });
  expect(found.has('missing-1')).toBe(false);
  clock.advance(121);
  expect((await cache.getMany(keys)).size).toBe(0);
});

test('setMany with a key twice keeps the last value; concurrent sets of one key all succeed', async () => {
  await cache.setMany([
    { key: 'dup', value: 'first', ttlSeconds: 60 },
    { key: 'dup', value: 'second', ttlSeconds: 60 },
  ]);
  expect(await cache.get('dup')).toBe('second');
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => cache.set('hot', i, 60)));
  expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
  expect(typeof (await cache.get('hot'))).toBe('number');
  await expect(cache.set('bad-ttl', 1, 0)).rejects.toMatchObject({ code: 'invalid_argument' });
});
