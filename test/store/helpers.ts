/** A migrated Store on a database of this test file's own. */
import { migrateToLatest, openDatabase, type Store } from '../../src/store';
import { freshDatabaseUrl } from '../support/db';

export async function migratedStore(label: string, max?: number): Promise<Store> {
  const url = await freshDatabaseUrl(label);
  const store = await openDatabase({ url, max });
  await migrateToLatest(store.db);
  return store;
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

/** Runs `count` tasks with at most `width` in flight. */
export async function runConcurrently(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}
