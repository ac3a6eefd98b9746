/**
 * Our ltijs Database plugin against the real PostgreSQL: the nine methods with the semantics of
 * ltijs's MongoDB plugin, encryption at rest, expiry, the atomic Replace under concurrency, and
 * nonce replay through ltijs's own Auth.validateNonce.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { openDatabase, PostgresLtiDatabase, StoreError, type Store } from '../../src/store';
import { freshDatabaseUrl } from '../support/db';
import { manualClock, migratedStore, runConcurrently } from './helpers';

// ltijs's own modules: its nonce check, and its MongoDB plugin for the encryption format.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- ltijs's dist files ship no type declarations to import
const Auth = require('ltijs/dist/Utils/Auth.js') as { validateNonce(token: { nonce: string }, db: unknown): Promise<true> };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- ltijs's dist files ship no type declarations to import
const LtijsMongoDatabase = require('ltijs/dist/Utils/Database.js') as new (o: { url: string }) => {
  Encrypt(data: string, secret: string): Promise<{ iv: string; data: string }>;
  Decrypt(data: string, iv: string, secret: string): Promise<string>;
};

const KEY = 'ltijs-encryption-key-for-tests';

let store: Store;
const clock = manualClock();
let plugin: PostgresLtiDatabase;

beforeAll(async () => {
  store = await migratedStore('ltijsplugin');
  plugin = new PostgresLtiDatabase(store, { clock: clock.now });
  await plugin.setup();
});
afterAll(async () => {
  await plugin.Close();
  await store.close();
});

async function raw(table: string): Promise<string[]> {
  const { rows } = await sql<{ j: string }>`SELECT row_to_json(t)::text AS j FROM ${sql.table(table)} t`.execute(store.db);
  return rows.map((r) => r.j);
}

async function count(table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(store.db);
  return rows[0]!.n;
}

function code(err: unknown): string | undefined {
  return err instanceof StoreError ? err.code : undefined;
}

describe('lifecycle', () => {
  test('setup() refuses a database that has not been migrated', async () => {
    const bare = await openDatabase({ url: await freshDatabaseUrl('bare') });
    try {
      await expect(new PostgresLtiDatabase(bare).setup()).rejects.toMatchObject({ code: 'store_not_migrated' });
    } finally {
      await bare.close();
    }
  });

  test('methods refuse to run before setup() and after Close(); Close() leaves the shared pool open', async () => {
    const other = new PostgresLtiDatabase(store);
    await expect(other.Get(false, 'nonce', { nonce: 'x' })).rejects.toMatchObject({ code: 'provider_not_deployed' });
    await other.setup();
    await other.Insert(false, 'nonce', { nonce: 'lifecycle' });
    await other.Close();
    await expect(other.Get(false, 'nonce', { nonce: 'lifecycle' })).rejects.toMatchObject({ code: 'provider_not_deployed' });
    // The application's pool still works, and so does the other plugin instance on it.
    expect((await store.pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    expect(await plugin.Get(false, 'nonce', { nonce: 'lifecycle' })).toEqual([{ nonce: 'lifecycle', createdAt: expect.any(Date) }]);
  });
});

describe('the nine methods', () => {
  const platform = {
    platformName: 'Moodle of Example U',
    platformUrl: 'https://moodle.example.edu',
    clientId: 'client-1',
    authEndpoint: 'https://moodle.example.edu/mod/lti/auth.php',
    accesstokenEndpoint: 'https://moodle.example.edu/mod/lti/token.php',
    authorizationServer: undefined,
    kid: 'kid-1',
    authConfig: { method: 'JWK_SET', key: 'https://moodle.example.edu/mod/lti/certs.php' },
  };

  test('Get answers false when nothing matches, else an array of documents', async () => {
    expect(await plugin.Get(false, 'platform', { platformUrl: 'https://nowhere.example' })).toBe(false);
    await plugin.Replace(false, 'platform', { platformUrl: platform.platformUrl, clientId: platform.clientId }, platform);
    await plugin.Replace(
      false,
      'platform',
      { platformUrl: platform.platformUrl, clientId: 'client-2' },
      { ...platform, clientId: 'client-2', kid: 'kid-2' },
    );

    const { authorizationServer: _undefinedIsDropped, ...stored } = platform;
    void _undefinedIsDropped;
    expect(await plugin.Get(false, 'platform', { platformUrl: platform.platformUrl, clientId: 'client-1' })).toEqual([stored]);
    expect(await plugin.Get(false, 'platform', { kid: 'kid-2' })).toEqual([{ ...stored, clientId: 'client-2', kid: 'kid-2' }]);
    expect(await plugin.Get(false, 'platform', { platformUrl: platform.platformUrl })).toHaveLength(2);
    // No query: every document (ltijs's getAllPlatforms, Keyset.build).
    expect(await plugin.Get(false, 'platform')).toHaveLength(2);
  });

  test('Get with a field the collection does not have is an error, not a full-table match', async () => {
    await expect(plugin.Get(false, 'platform', { platformURL: platform.platformUrl })).rejects.toMatchObject({ code: 'unknown_field' });
    await expect(plugin.Get(false, 'platform', { kid: { $ne: 'x' } })).rejects.toMatchObject({ code: 'unsupported_query_value' });
    await expect(plugin.Get(false, 'platforms', {})).rejects.toMatchObject({ code: 'unknown_collection' });
    // A missing value (undefined) matches nothing rather than everything.
    expect(await plugin.Get(false, 'platform', { kid: undefined })).toBe(false);
  });

  test('Insert stores a document; a second live one with the same key is refused', async () => {
    await plugin.Insert(false, 'state', { state: 'st-1', query: { iss: 'https://moodle.example.edu', login_hint: '2' } });
    expect(await plugin.Get(false, 'state', { state: 'st-1' })).toEqual([
      { state: 'st-1', query: { iss: 'https://moodle.example.edu', login_hint: '2' }, createdAt: expect.any(Date) },
    ]);
    await expect(plugin.Insert(false, 'state', { state: 'st-1', query: {} })).rejects.toMatchObject({ code: 'duplicate_key' });

    await plugin.Insert(false, 'platformStatus', { id: 'kid-1', active: true });
    expect(await plugin.Get(false, 'platformStatus', { id: 'kid-1' })).toEqual([{ id: 'kid-1', active: true }]);
    await expect(plugin.Insert(false, 'platformStatus', { id: 'kid-1', active: false })).rejects.toMatchObject({ code: 'duplicate_key' });
    await expect(plugin.Insert(false, 'nonce', { nonce: 'n', extra: 1 })).rejects.toMatchObject({ code: 'unknown_field' });
    await expect(plugin.Insert(KEY, 'state', { state: 's' }, { state: 's' })).rejects.toMatchObject({ code: 'not_encrypted_collection' });
    await expect(plugin.Insert(KEY, 'accesstoken', { token: {} })).rejects.toMatchObject({ code: 'missing_params' });
  });

  test('Replace creates, then replaces the whole document (fields left out are gone)', async () => {
    const query = { iss: 'https://moodle.example.edu', clientId: 'client-1', deploymentId: '1', user: '42' };
    const first = { ...query, userInfo: { name: 'Ada', email: 'ada@example.edu' }, platformInfo: { name: 'Moodle' }, platformId: 'kid-1' };
    await plugin.Replace(false, 'idtoken', query, first);
    expect(await plugin.Get(false, 'idtoken', query)).toEqual([{ ...first, createdAt: expect.any(Date) }]);

    const second = { ...query, userInfo: { name: 'Ada Lovelace' }, platformId: 'kid-1' };
    await plugin.Replace(false, 'idtoken', query, second);
    const got = await plugin.Get(false, 'idtoken', query);
    expect(got).toEqual([{ ...second, createdAt: expect.any(Date) }]);
    expect(await count('lti_idtoken')).toBe(1);

    await plugin.Replace(false, 'platformStatus', { id: 'kid-9' }, { id: 'kid-9', active: true });
    await plugin.Replace(false, 'platformStatus', { id: 'kid-9' }, { id: 'kid-9', active: false });
    expect(await plugin.Get(false, 'platformStatus', { id: 'kid-9' })).toEqual([{ id: 'kid-9', active: false }]);
  });

  test('Replace must name a unique key, and the item may not contradict it', async () => {
    await expect(plugin.Replace(false, 'idtoken', { iss: 'a', user: 'b' }, { iss: 'a', user: 'b' })).rejects.toMatchObject({
      code: 'replace_needs_unique_key',
    });
    await expect(plugin.Replace(false, 'contexttoken', { contextId: 'c', user: '1' }, { contextId: 'c', user: '2' })).rejects.toMatchObject(
      {
        code: 'replace_key_mismatch',
      },
    );
  });

  test('Modify changes the named fields and keeps the rest; key columns can be modified too', async () => {
    await plugin.Modify(
      false,
      'platform',
      { platformUrl: platform.platformUrl, clientId: 'client-1' },
      { platformName: 'Renamed', authConfig: { method: 'RSA_KEY', key: 'PEM' } },
    );
    const [p] = (await plugin.Get(false, 'platform', { kid: 'kid-1' })) as Record<string, unknown>[];
    expect(p).toMatchObject({
      platformName: 'Renamed',
      authConfig: { method: 'RSA_KEY', key: 'PEM' },
      authEndpoint: platform.authEndpoint,
      kid: 'kid-1',
    });

    // updatePlatformById moves a platform (and its keys) to a new url/clientId by kid.
    await plugin.Modify(false, 'platform', { kid: 'kid-1' }, { platformUrl: 'https://moodle2.example.edu', clientId: 'client-1b' });
    expect(await plugin.Get(false, 'platform', { platformUrl: 'https://moodle2.example.edu', clientId: 'client-1b' })).toEqual([
      expect.objectContaining({ kid: 'kid-1', platformName: 'Renamed' }),
    ]);
    // Moving it onto an existing platform's key is refused, as Mongo's unique index did.
    await expect(
      plugin.Modify(false, 'platform', { kid: 'kid-1' }, { clientId: 'client-2', platformUrl: platform.platformUrl }),
    ).rejects.toMatchObject({
      code: 'duplicate_key',
    });
    await expect(plugin.Modify(false, 'platform', { kidd: 'kid-1' }, { platformName: 'x' })).rejects.toMatchObject({
      code: 'unknown_field',
    });
  });

  test('Delete removes what matches and nothing else; an empty query is refused', async () => {
    await plugin.Insert(false, 'state', { state: 'st-del-1', query: {} });
    await plugin.Insert(false, 'state', { state: 'st-del-2', query: {} });
    await plugin.Delete('state', { state: 'st-del-1' });
    expect(await plugin.Get(false, 'state', { state: 'st-del-1' })).toBe(false);
    expect(await plugin.Get(false, 'state', { state: 'st-del-2' })).not.toBe(false);
    await expect(plugin.Delete('state', {})).rejects.toMatchObject({ code: 'empty_query' });
    // ltijs's registerPlatform rollback deletes by a kid that may be undefined: nothing goes.
    const before = await count('lti_platform');
    await plugin.Delete('platform', { kid: undefined });
    expect(await count('lti_platform')).toBe(before);
  });

  test("Encrypt/Decrypt are compatible with ltijs's own in both directions", async () => {
    const ltijs = new LtijsMongoDatabase({ url: 'mongodb://127.0.0.1:1/never-connected' });
    const fromUs = await plugin.Encrypt('{"key":"secret"}', KEY);
    expect(await ltijs.Decrypt(fromUs.data, fromUs.iv, KEY)).toBe('{"key":"secret"}');
    const fromLtijs = await ltijs.Encrypt('ünïcode ✓', KEY);
    expect(await plugin.Decrypt(fromLtijs.data, fromLtijs.iv, KEY)).toBe('ünïcode ✓');
    expect(fromUs.iv).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('encryption at rest', () => {
  test('private keys are stored encrypted and read back decrypted with the key only', async () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    const index = { kid: 'enc-kid', platformUrl: 'https://canvas.example.edu', clientId: '10000000000001' };
    const query = { platformUrl: index.platformUrl, clientId: index.clientId };
    await plugin.Replace(KEY, 'privatekey', query, { key: privateKey, kid: index.kid }, index);
    await plugin.Replace(KEY, 'publickey', query, { key: publicKey, kid: index.kid }, index);

    const rows = await raw('lti_privatekey');
    const pemBody = privateKey.split('\n')[1]!;
    expect(rows.join('\n')).not.toContain('PRIVATE KEY');
    expect(rows.join('\n')).not.toContain(pemBody);
    expect(rows.join('\n')).toContain('enc-kid'); // the index stays queryable

    // ltijs's Platform.platformPrivateKey: Get with the key → decrypted document, no createdAt.
    expect(await plugin.Get(KEY, 'privatekey', { kid: 'enc-kid' })).toEqual([{ key: privateKey, kid: 'enc-kid' }]);
    // ltijs's kid-collision check: Get without the key → the stored, encrypted form.
    const [stored] = (await plugin.Get(false, 'publickey', { kid: 'enc-kid' })) as Record<string, unknown>[];
    expect(stored).toEqual({ ...index, iv: expect.stringMatching(/^[0-9a-f]{32}$/), data: expect.any(String) });
    // Keyset.build: every public key, decrypted.
    expect(await plugin.Get(KEY, 'publickey')).toEqual([{ key: publicKey, kid: 'enc-kid' }]);
    // The wrong key cannot read it.
    await expect(plugin.Get('another-key', 'privatekey', { kid: 'enc-kid' })).rejects.toThrow();

    // updatePlatformById moves the keys with Modify(false, …) on their clear index fields.
    await plugin.Modify(false, 'privatekey', { kid: 'enc-kid' }, { clientId: '10000000000002' });
    expect(await plugin.Get(false, 'privatekey', { clientId: '10000000000002' })).toEqual([expect.objectContaining({ kid: 'enc-kid' })]);
    await expect(plugin.Modify(false, 'privatekey', { kid: 'enc-kid' }, { key: 'plain' })).rejects.toMatchObject({ code: 'unknown_field' });
  });

  test('access tokens are stored encrypted; Get returns createdAt in ms as ltijs expects', async () => {
    const q = {
      platformUrl: 'https://canvas.example.edu',
      clientId: '10000000000001',
      scopes: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
    };
    const token = { access_token: 'at-very-secret-3f9c2a', token_type: 'bearer', expires_in: 3600, scope: q.scopes };
    await plugin.Replace(KEY, 'accesstoken', q, { token }, q);
    expect((await raw('lti_accesstoken')).join('\n')).not.toContain('at-very-secret-3f9c2a');
    const got = (await plugin.Get(KEY, 'accesstoken', q)) as Record<string, unknown>[];
    expect(got).toEqual([{ token, createdAt: clock.now() }]);

    // Modify with the key rewrites the encrypted document (read-modify-write under a row lock).
    await plugin.Modify(KEY, 'accesstoken', q, { token: { ...token, access_token: 'at-rotated-77' } });
    expect(((await plugin.Get(KEY, 'accesstoken', q)) as Record<string, { access_token: string }>[])[0]!.token.access_token).toBe(
      'at-rotated-77',
    );
    expect((await raw('lti_accesstoken')).join('\n')).not.toContain('at-rotated-77');
  });
});

describe('expiry', () => {
  test('rows past their TTL are invisible to Get at once and gone after the sweep', async () => {
    const c = manualClock();
    const p = new PostgresLtiDatabase(store, { clock: c.now, ttlSeconds: { nonce: 120 } });
    await p.setup();
    const idq = { iss: 'https://exp.example', clientId: 'c', deploymentId: 'd', user: 'u' };
    const ctq = { contextId: 'exp-ctx', user: 'u' };
    const atq = { platformUrl: 'https://exp.example', clientId: 'c', scopes: 's' };
    await p.Insert(false, 'nonce', { nonce: 'exp-nonce' });
    await p.Insert(false, 'state', { state: 'exp-state', query: {} });
    await p.Replace(false, 'idtoken', idq, { ...idq });
    await p.Replace(false, 'contexttoken', ctq, { ...ctq, roles: [] });
    await p.Replace(KEY, 'accesstoken', atq, { token: { access_token: 't' } }, atq);

    // The configured nonce TTL (120 s), not ltijs's 10 s: still there at 119 s, gone at 121 s.
    c.advance(119);
    expect(await p.Get(false, 'nonce', { nonce: 'exp-nonce' })).not.toBe(false);
    c.advance(2);
    expect(await p.Get(false, 'nonce', { nonce: 'exp-nonce' })).toBe(false);
    // An expired nonce that has not been swept yet does not block a new insert of it.
    expect(await count('lti_nonce')).toBeGreaterThan(0);

    c.advance(600); // state: 600 s
    expect(await p.Get(false, 'state', { state: 'exp-state' })).toBe(false);
    expect(await p.Get(false, 'idtoken', idq)).not.toBe(false);
    c.advance(3600); // access token: 1 h
    expect(await p.Get(KEY, 'accesstoken', atq)).toBe(false);
    expect(await p.Get(false, 'contexttoken', ctq)).not.toBe(false);
    c.advance(24 * 3600); // id token and context token: 24 h
    expect(await p.Get(false, 'idtoken', idq)).toBe(false);
    expect(await p.Get(false, 'contexttoken', ctq)).toBe(false);
    // Modify does not resurrect or touch expired rows.
    await p.Modify(false, 'contexttoken', ctq, { path: '/x' });
    expect(await p.Get(false, 'contexttoken', ctq)).toBe(false);

    const before = await raw('lti_idtoken');
    expect(before.some((r) => r.includes('https://exp.example'))).toBe(true);
    const swept = await p.sweepExpired();
    expect(swept.deleted).toMatchObject({ lti_nonce: expect.any(Number), lti_state: expect.any(Number) });
    for (const t of ['lti_idtoken', 'lti_contexttoken', 'lti_accesstoken', 'lti_nonce', 'lti_state']) {
      expect((await raw(t)).filter((r) => r.includes('exp-') || r.includes('https://exp.example'))).toEqual([]);
    }
    // Rows without expiry (platforms, keys) are never swept.
    expect(await count('lti_platform')).toBeGreaterThan(0);
    expect(await count('lti_privatekey')).toBeGreaterThan(0);
    await p.Close();
  });

  test('startSweeper sweeps periodically and its stop function stops it', async () => {
    const c = manualClock();
    const p = new PostgresLtiDatabase(store, { clock: c.now });
    await p.setup();
    await p.Insert(false, 'state', { state: 'sweeper-state', query: {} });
    c.advance(601);
    const stop = p.startSweeper(20);
    const deadline = Date.now() + 5000;
    while ((await raw('lti_state')).some((r) => r.includes('sweeper-state')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await stop();
    expect((await raw('lti_state')).some((r) => r.includes('sweeper-state'))).toBe(false);
    await p.Close();
  });
});

describe('nonce replay', () => {
  test("ltijs's validateNonce refuses a nonce it has seen, for the whole nonce TTL", async () => {
    await Auth.validateNonce({ nonce: 'replay-1' }, plugin);
    await expect(Auth.validateNonce({ nonce: 'replay-1' }, plugin)).rejects.toThrow('NONCE_ALREADY_RECEIVED');
    clock.advance(599); // default nonce TTL 600 s: a token replayed minutes later is still refused
    await expect(Auth.validateNonce({ nonce: 'replay-1' }, plugin)).rejects.toThrow('NONCE_ALREADY_RECEIVED');
  });

  test('concurrent launches with the same nonce: exactly one is accepted', async () => {
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => Auth.validateNonce({ nonce: 'replay-race' }, plugin)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) {
      expect(String((r.reason as Error).message)).toBe('NONCE_ALREADY_RECEIVED');
    }
    const direct = await plugin.Insert(false, 'nonce', { nonce: 'replay-race' }).catch((e: unknown) => e);
    expect(code(direct)).toBe('nonce_already_received');
  });
});

describe('concurrency', () => {
  test('200 launches of one user, 8 at a time: Replace is atomic, every Get finds the tokens', async () => {
    const idq = { iss: 'https://canvas.example.edu', clientId: '10000000000001', deploymentId: '1:abc', user: 'uuid-learner-1' };
    const ctq = { contextId: 'ctx-same-user', user: idq.user };
    let misses = 0;
    let failures = 0;
    let gets = 0;
    let running = true;

    // The user's first launch.
    await plugin.Replace(false, 'idtoken', idq, { ...idq, userInfo: { name: 'first' } });
    await plugin.Replace(false, 'contexttoken', ctq, { ...ctq, roles: ['Learner'], launch: -1 });

    // A reader that keeps reading while the launches replace the rows (a second browser tab).
    const reader = (async () => {
      while (running) {
        const [a, b] = await Promise.all([plugin.Get(false, 'idtoken', idq), plugin.Get(false, 'contexttoken', ctq)]);
        gets += 2;
        if (a === false) misses++;
        if (b === false) misses++;
      }
    })();

    await runConcurrently(200, 8, async (i) => {
      try {
        // What ltijs does on a launch: replace both tokens, then (next request) read them back.
        await plugin.Replace(false, 'idtoken', idq, { ...idq, userInfo: { name: `launch ${i}` }, platformId: 'kid' });
        await plugin.Replace(false, 'contexttoken', ctq, { ...ctq, roles: ['Learner'], launch: i });
        const [a, b] = await Promise.all([plugin.Get(false, 'idtoken', idq), plugin.Get(false, 'contexttoken', ctq)]);
        gets += 2;
        if (a === false) misses++;
        if (b === false) misses++;
      } catch {
        failures++;
      }
    });
    running = false;
    await reader;

    expect({ failures, misses }).toEqual({ failures: 0, misses: 0 });
    expect(gets).toBeGreaterThanOrEqual(400);
    expect(await count('lti_idtoken')).toBeGreaterThanOrEqual(1);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM lti_contexttoken WHERE context_id = 'ctx-same-user'`.execute(
      store.db,
    );
    expect(rows[0]!.n).toBe(1);
  });
});
