/**
 * The launch state tables (src/store/launchState.ts): every read honours a row only before its
 * `expires_at`, the sweeper deletes it after, a storage binding is spent by one caller only, a
 * sign-out ends the cookie-less session with it, migration 006 moves what the cache held, and its rollback moves it back.
 */
import { Migrator, sql } from 'kysely';
import { createLaunchStateStore, openDatabase, StoreError, sweepExpired, type LaunchStateStore, type Store } from '../../src/store';
import { migrations } from '../../src/store/migrations';
import { freshDatabaseUrl } from '../support/db';
import { manualClock, migratedStore } from './helpers';

let store: Store;
const clock = manualClock();
let state: LaunchStateStore;
const hash = (c: string) => c.repeat(64);
const binding = { secretSha256: hash('5'), iss: 'https://lms.example', target: '_parent', origin: 'https://lms.example' };

beforeAll(async () => {
  store = await migratedStore('launchstate');
  state = createLaunchStateStore(store.db, { clock: clock.now });
});
afterAll(() => store.close());

const rows = async (table: string) =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(store.db)).rows[0]!.n);

test('each kind of launch state is read back while it lives, and never after its expiry, even before the sweep', async () => {
  await state.logins.saveCheck('a'.repeat(32), { iss: 'https://lms.example', login_hint: '4' }, 600);
  await state.logins.saveState('s1', { iss: 'https://lms.example' }, 600, binding);
  await state.sessions.startSession(hash('1'), { userId: '4', platformCode: 'ltiX', issuedAt: clock.now() }, 4 * 3600);
  await state.sessions.signOut(hash('2'), clock.now(), 7 * 24 * 3600);
  await state.claims.keep(hash('3'), { lti11LegacyUserId: 'legacy-4' }, 24 * 3600);

  expect(await state.logins.loadCheck('a'.repeat(32))).toEqual({ iss: 'https://lms.example', login_hint: '4' });
  expect(await state.logins.loadState('s1')).toEqual({
    params: { iss: 'https://lms.example' },
    storage: { ...binding, status: 'waiting' },
  });
  expect(await state.sessions.lookup(hash('1'))).toEqual({
    signedOut: false,
    session: { userId: '4', platformCode: 'ltiX', issuedAt: clock.now(), lastSeenAt: clock.now() },
  });
  expect(await state.sessions.lookup(hash('2'))).toEqual({ signedOut: true, session: null });
  expect(await state.claims.read(hash('3'))).toEqual({ lti11LegacyUserId: 'legacy-4' });

  clock.advance(601);
  expect(await state.logins.loadCheck('a'.repeat(32))).toBeNull();
  expect(await state.logins.loadState('s1')).toBeNull();
  expect(await state.logins.spendStorage('s1')).toBe(false);
  clock.advance(4 * 3600);
  expect(await state.sessions.lookup(hash('1'))).toEqual({ signedOut: false, session: null });
  clock.advance(20 * 3600);
  expect(await state.claims.read(hash('3'))).toBeNull();
  clock.advance(7 * 24 * 3600);
  expect(await state.sessions.lookup(hash('2'))).toEqual({ signedOut: false, session: null });

  // Still on disk until the sweep, which deletes every one of them.
  for (const table of ['login_check', 'login_state', 'storage_session', 'signed_out_ltik', 'launch_claims'])
    expect([table, await rows(table)]).toEqual([table, 1]);
  const swept = await sweepExpired(store.db, { clock: clock.now });
  for (const table of ['login_check', 'login_state', 'storage_session', 'signed_out_ltik', 'launch_claims']) {
    expect([table, swept.deleted[table], await rows(table)]).toEqual([table, 1, 0]);
  }
});

test('a storage binding is spent once, by one of many concurrent launches', async () => {
  await state.logins.saveState('s2', { iss: 'https://lms.example' }, 600, binding);
  const spent = await Promise.all(Array.from({ length: 8 }, () => state.logins.spendStorage('s2')));
  expect(spent.filter(Boolean)).toHaveLength(1);
  expect((await state.logins.loadState('s2'))?.storage?.status).toBe('spent');
  // A login not bound through storage has nothing to spend.
  await state.logins.saveState('s3', { iss: 'https://lms.example' }, 600);
  expect(await state.logins.spendStorage('s3')).toBe(false);
  expect((await state.logins.loadState('s3'))?.storage).toBeNull();
});

test('a cookie-less session: each use moves its last use, never its end; a sign-out ends it at once', async () => {
  const start = clock.now();
  await state.sessions.startSession(hash('4'), { userId: '7', platformCode: 'ltiY', issuedAt: start }, 4 * 3600);
  clock.advance(60);
  await state.sessions.touchSession(hash('4'), clock.now(), start + 10 * 3600 * 1000);
  const {
    rows: [row],
  } = await sql<{
    last_seen_at: Date;
    expires_at: Date;
  }>`SELECT last_seen_at, expires_at FROM storage_session WHERE ltik_sha256 = ${hash('4')}`.execute(store.db);
  expect(row!.last_seen_at.getTime()).toBe(clock.now());
  expect(row!.expires_at.getTime()).toBe(start + 4 * 3600 * 1000);

  await state.sessions.signOut(hash('4'), clock.now(), 3600);
  expect(await state.sessions.lookup(hash('4'))).toEqual({ signedOut: true, session: null });
  expect(await rows('storage_session')).toBe(0);
});

test('an ltik is kept only as its SHA-256', async () => {
  await expect(state.sessions.lookup('eyJhbGciOiJIUzI1NiJ9.e30.x')).rejects.toThrow(
    new StoreError('invalid_argument', 'An ltik is kept only as its SHA-256 (64 hex digits)'),
  );
  await expect(state.claims.keep('not-a-hash', { lti11LegacyUserId: 'x' }, 60)).rejects.toBeInstanceOf(StoreError);
  expect(await rows('launch_claims')).toBe(0);
});

test('migration 006 moves the launch state the cache held (above all the sign-outs) and leaves upstream answers', async () => {
  const url = await freshDatabaseUrl('launchstate006');
  const old = await openDatabase({ url });
  try {
    const migrator = new Migrator({ db: old.db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('005_key_check')).error).toBeUndefined();
    const inAnHour = new Date(Date.now() + 3600_000);
    const cached: Array<[string, unknown]> = [
      [`iframe-login:check:${'b'.repeat(32)}`, { iss: 'https://lms.example', login_hint: '4' }],
      ['iframe-login:state:st1', { iss: 'https://lms.example' }],
      [
        'iframe-login:storage:st1',
        { secret: 'c'.repeat(64), iss: 'https://lms.example', target: '_parent', origin: 'https://lms.example', status: 'waiting' },
      ],
      [`storage-session:${hash('6')}`, { user: '4', platformCode: 'ltiZ', issuedAt: 1_700_000_000_000, lastSeenAt: 1_700_000_060_000 }],
      [`signed-out:${hash('7')}`, { at: 1_700_000_000_000 }],
      [`launch-claims:${hash('8')}`, { lti11LegacyUserId: 'legacy-9' }],
      ['moodle|c1|/v1/users/{id}/sessions|abc', { sessions: [] }],
    ];
    for (const [key, value] of cached) {
      await sql`INSERT INTO upstream_cache (key, value, expires_at) VALUES (${key}, ${JSON.stringify(value)}::jsonb, ${inAnHour})`.execute(
        old.db,
      );
    }
    expect((await migrator.migrateTo('006_launch_state')).error).toBeUndefined();

    const moved = createLaunchStateStore(old.db);
    expect(await moved.logins.loadCheck('b'.repeat(32))).toEqual({ iss: 'https://lms.example', login_hint: '4' });
    const login = await moved.logins.loadState('st1');
    expect(login?.params).toEqual({ iss: 'https://lms.example' });
    expect(login?.storage).toMatchObject({
      iss: 'https://lms.example',
      target: '_parent',
      origin: 'https://lms.example',
      status: 'waiting',
    });
    expect(login?.storage?.secretSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(login?.storage?.secretSha256).not.toBe('c'.repeat(64));
    expect(await moved.sessions.lookup(hash('6'))).toEqual({
      signedOut: false,
      session: { userId: '4', platformCode: 'ltiZ', issuedAt: 1_700_000_000_000, lastSeenAt: 1_700_000_060_000 },
    });
    expect((await moved.sessions.lookup(hash('7'))).signedOut).toBe(true);
    expect(await moved.claims.read(hash('8'))).toEqual({ lti11LegacyUserId: 'legacy-9' });
    const left = await sql<{ key: string }>`SELECT key FROM upstream_cache`.execute(old.db);
    expect(left.rows.map((r) => r.key)).toEqual(['moodle|c1|/v1/users/{id}/sessions|abc']);
  } finally {
    await old.close();
  }
});

test('a rollback of migration 006 gives the live launch state back to the cache, as the code before it reads it', async () => {
  const url = await freshDatabaseUrl('launchstate006down');
  const db = await openDatabase({ url });
  try {
    const migrator = new Migrator({ db: db.db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('006_launch_state')).error).toBeUndefined();
    const live = createLaunchStateStore(db.db);
    const signedOutAt = Date.now() - 60_000;
    await live.sessions.signOut(hash('a'), signedOutAt, 7 * 24 * 3600);
    await live.sessions.startSession(hash('b'), { userId: '4', platformCode: 'ltiZ', issuedAt: signedOutAt }, 4 * 3600);
    await live.sessions.touchSession(hash('b'), signedOutAt + 30_000, signedOutAt + 4 * 3600 * 1000);
    await live.claims.keep(hash('c'), { lti11LegacyUserId: 'legacy-9' }, 24 * 3600);
    await live.logins.saveCheck('d'.repeat(32), { iss: 'https://lms.example', login_hint: '4' }, 600);
    await live.logins.saveState('st1', { iss: 'https://lms.example', login_hint: '4' }, 600, binding);
    // Expired rows stay behind: the code before 006 would not honour them either.
    await sql`INSERT INTO signed_out_ltik VALUES (${hash('e')}, now() - interval '8 days', now() - interval '1 day')`.execute(db.db);
    const before = await sql<{ ltik_sha256: string; expires_at: Date }>`SELECT ltik_sha256, expires_at FROM signed_out_ltik`.execute(db.db);

    expect((await migrator.migrateTo('005_key_check')).error).toBeUndefined();

    const { rows } = await sql<{ key: string; value: unknown; expires_at: Date }>`
      SELECT key, value, expires_at FROM upstream_cache ORDER BY key`.execute(db.db);
    const cache = new Map(rows.map((r) => [r.key, r]));
    expect([...cache.keys()].sort()).toEqual(
      [
        `signed-out:${hash('a')}`,
        `storage-session:${hash('b')}`,
        `launch-claims:${hash('c')}`,
        `iframe-login:check:${'d'.repeat(32)}`,
        'iframe-login:state:st1',
      ].sort(),
    );
    // platformStorage.ts before 006: `found.has('signed-out:<sha256>')` refuses the ltik; the value was `{ at }`.
    expect(cache.get(`signed-out:${hash('a')}`)!.value).toEqual({ at: signedOutAt });
    expect(cache.get(`signed-out:${hash('a')}`)!.expires_at).toEqual(before.rows.find((r) => r.ltik_sha256 === hash('a'))!.expires_at);
    expect(cache.get(`signed-out:${hash('a')}`)!.expires_at.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000);
    // Its storageSessionRecord(): user and platformCode strings, issuedAt and lastSeenAt in ms since the epoch.
    expect(cache.get(`storage-session:${hash('b')}`)!.value).toEqual({
      user: '4',
      platformCode: 'ltiZ',
      issuedAt: signedOutAt,
      lastSeenAt: signedOutAt + 30_000,
    });
    expect(cache.get(`launch-claims:${hash('c')}`)!.value).toEqual({ lti11LegacyUserId: 'legacy-9' });
    // iframe.ts's loginParamsStore: the login's string parameters as they arrived.
    expect(cache.get(`iframe-login:check:${'d'.repeat(32)}`)!.value).toEqual({ iss: 'https://lms.example', login_hint: '4' });
    expect(cache.get('iframe-login:state:st1')!.value).toEqual({ iss: 'https://lms.example', login_hint: '4' });
    for (const r of rows) expect([r.key, r.expires_at.getTime() > Date.now()]).toEqual([r.key, true]);

    const tables = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name IN ('login_check', 'login_state', 'storage_session', 'signed_out_ltik', 'launch_claims')`.execute(
      db.db,
    );
    expect(tables.rows[0]!.n).toBe(0);

    // And up again: the same state moves back into its tables.
    expect((await migrator.migrateTo('006_launch_state')).error).toBeUndefined();
    expect(await live.sessions.lookup(hash('a'))).toEqual({ signedOut: true, session: null });
    expect((await live.sessions.lookup(hash('b'))).session).toEqual({
      userId: '4',
      platformCode: 'ltiZ',
      issuedAt: signedOutAt,
      lastSeenAt: signedOutAt + 30_000,
    });
  } finally {
    await db.close();
  }
});
