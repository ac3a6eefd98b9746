/**
 * `npm run migrate-down`: an operator going back to a version before migration 006 takes the database
 * down to 005 with one command, which keeps a sign-out made after the upgrade refused by the old code
 * (006's `down` hands it back to the cache), refuses what it cannot do, and never migrates forwards.
 * Going back to 005 also reverts every later migration first (007: the review tables are dropped, with
 * what they held; the code before 007 has no reviews to read).
 */
import { sql } from 'kysely';
import { MigrateDownUsageError, runMigrateDown } from '../../src/migrateDown';
import { migrateToLatest, openDatabase, createLaunchStateStore, type Store } from '../../src/store';
import { capturingLogger } from '../support/stack';
import { freshDatabaseUrl } from '../support/db';

let url: string;
let store: Store;
beforeAll(async () => {
  url = await freshDatabaseUrl('migratedown');
  store = await openDatabase({ url });
  await migrateToLatest(store.db);
});
afterAll(async () => {
  await store?.close();
});

const tables = async () =>
  (
    await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()
      AND table_name IN ('signed_out_ltik', 'login_check', 'review_record', 'review_note', 'student_response', 'placement')`.execute(
      store.db,
    )
  ).rows
    .map((r) => r.name)
    .sort();

test('going back to 005 reverts 010, 009, 008, 007 and then 006, says so, and the old code would still refuse a sign-out made since', async () => {
  const ltikHash = 'a'.repeat(64);
  await createLaunchStateStore(store.db).sessions.signOut(ltikHash, Date.now(), 3600);
  const { logger, lines } = capturingLogger('info');
  await expect(runMigrateDown({ DATABASE_URL: url }, ['005_key_check'], logger)).resolves.toEqual([
    '010_roster',
    '009_onboarding',
    '008_student_side',
    '007_review',
    '006_launch_state',
  ]);
  expect(lines.join('\n')).toContain('"migration":"007_review"');
  expect(lines.join('\n')).toContain('"migration":"006_launch_state"');
  expect(await tables()).toEqual([]);
  const { rows } = await sql<{ key: string }>`SELECT key FROM upstream_cache WHERE key LIKE 'signed-out:%'`.execute(store.db);
  expect(rows.map((r) => r.key)).toEqual([`signed-out:${ltikHash}`]);

  // Run again: already there, nothing to revert. Back up: the sign-out is in its table again.
  await expect(runMigrateDown({ DATABASE_URL: url }, ['005_key_check'], logger)).resolves.toEqual([]);
  await migrateToLatest(store.db);
  expect(await tables()).toEqual(['login_check', 'placement', 'review_note', 'review_record', 'signed_out_ltik', 'student_response']);
});

test('an unknown or missing migration name, or a second one, is refused with the names it accepts, before touching the database', async () => {
  const { logger } = capturingLogger('silent');
  for (const args of [[], ['005'], ['004_audit_subjects', '005_key_check']]) {
    const refused = runMigrateDown({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, args, logger);
    await expect(refused).rejects.toBeInstanceOf(MigrateDownUsageError);
    await expect(refused).rejects.toThrow(
      /one of 001_ltijs_state, .*, 006_launch_state, 007_review, 008_student_side, 009_onboarding, 010_roster/,
    );
  }
  await expect(runMigrateDown({ NODE_ENV: 'production' }, ['005_key_check'], logger)).rejects.toThrow(
    'DATABASE_URL: required in production',
  );
});

test('it never migrates forwards: a target the database has not reached is refused and nothing changes', async () => {
  const { logger } = capturingLogger('silent');
  await runMigrateDown({ DATABASE_URL: url }, ['004_audit_subjects'], logger);
  await expect(runMigrateDown({ DATABASE_URL: url }, ['005_key_check'], logger)).rejects.toThrow(
    'The database has not reached 005_key_check: there is nothing to revert',
  );
  const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1`.execute(store.db);
  expect(rows[0]?.name).toBe('004_audit_subjects');
  await migrateToLatest(store.db);
});
