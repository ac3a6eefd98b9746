import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { Client } from 'pg';
import { migrateToLatest, openDatabase, type Store } from '../../src/store';
import { migrations } from '../../src/store/migrations';
import { freshDatabaseUrl } from '../support/db';

/** Every migration, in the order they run: a migration missing from the registry (or deleted) fails here. */
const ALL_MIGRATIONS = [
  '001_ltijs_state',
  '002_tool_tables',
  '003_audit_client_id',
  '004_audit_subjects',
  '005_key_check',
  '006_launch_state',
  '007_review',
  '008_student_side',
  '009_onboarding',
  '010_roster',
];

/** Every migration file (NNN_name.ts) of src/store/migrations, by name. */
const MIGRATION_FILES = fs
  .readdirSync(path.join(__dirname, '../../src/store/migrations'))
  .filter((f) => /^\d{3}_.+\.ts$/.test(f))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

describe('openDatabase and migrateToLatest', () => {
  const stores: Store[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
  });

  test('every migration is registered, in order, and every file in the folder is one of them', () => {
    expect(Object.keys(migrations)).toEqual(ALL_MIGRATIONS);
    expect(MIGRATION_FILES).toEqual(ALL_MIGRATIONS);
  });

  test('migrations run concurrently from several processes without error, once each', async () => {
    const url = await freshDatabaseUrl('migrate');
    // Separate pools stand for separate processes starting at the same moment.
    for (let i = 0; i < 4; i++) stores.push(await openDatabase({ url, max: 2 }));
    const results = await Promise.all(stores.map((s) => migrateToLatest(s.db)));

    // Each migration was applied by exactly one of them.
    const applied = results.flatMap((r) => (r.results ?? []).filter((m) => m.status === 'Success').map((m) => m.migrationName));
    expect(applied.sort()).toEqual(ALL_MIGRATIONS);

    const client = new Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name');
    const tables = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'lti\\_%'",
    );
    await client.end();
    expect(rows.map((r) => r.name)).toEqual(ALL_MIGRATIONS);
    expect(tables.rows[0]!.n).toBe(9);

    // And a later start has nothing to do.
    const again = await migrateToLatest(stores[0]!.db);
    expect(again.results).toEqual([]);
  });

  test('close() ends the pool; a bad URL fails at open, not on first use', async () => {
    const url = await freshDatabaseUrl('close');
    const store = await openDatabase({ url });
    await sql`SELECT 1`.execute(store.db);
    await store.close();
    await expect(store.pool.query('SELECT 1')).rejects.toThrow();

    const bad = new URL(url);
    bad.pathname = '/no_such_database_here';
    await expect(openDatabase({ url: bad.toString() })).rejects.toThrow(/no_such_database_here/);
  });
});
