/**
 * ltijs itself on our plugin: registering a platform generates its RSA keys through Replace,
 * reads them back through Get, and updates/deletes through Modify/Delete. What ltijs stores must
 * be usable by ltijs and encrypted where ltijs encrypts it.
 */
import crypto from 'node:crypto';
import { Provider } from 'ltijs';
import { sql } from 'kysely';
import { PostgresLtiDatabase, type Store } from '../../src/store';
import { migratedStore } from './helpers';

const KEY = 'provider-test-encryption-key';
let store: Store;
let plugin: PostgresLtiDatabase;

interface PlatformWithKeys {
  platformName(): Promise<string>;
  platformKid(): Promise<string>;
  platformPrivateKey(): Promise<string>;
  platformPublicKey(): Promise<string>;
  platformActive(): Promise<boolean>;
}

beforeAll(async () => {
  store = await migratedStore('ltijsprovider');
  plugin = new PostgresLtiDatabase(store);
  Provider.setup(KEY, { plugin }, { cookies: { secure: false, sameSite: 'Lax' } });
  await Provider.deploy({ serverless: true, silent: true });
});
afterAll(async () => {
  await Provider.close({ silent: true });
  // ltijs's close() called our Close(); the shared pool is still ours to end.
  expect((await store.pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  await store.close();
});

test('registerPlatform, getPlatform, update and deletePlatform work end to end on PostgreSQL', async () => {
  const registered = (await Provider.registerPlatform({
    url: 'https://moodle.example.edu',
    name: 'Example Moodle',
    clientId: 'tool-client-1',
    authenticationEndpoint: 'https://moodle.example.edu/mod/lti/auth.php',
    accesstokenEndpoint: 'https://moodle.example.edu/mod/lti/token.php',
    authConfig: { method: 'JWK_SET', key: 'https://moodle.example.edu/mod/lti/certs.php' },
  })) as unknown as PlatformWithKeys;
  const kid = await registered.platformKid();

  // The keys ltijs generated sign and verify: what came back out of PostgreSQL is the real pair.
  const privateKey = await registered.platformPrivateKey();
  const publicKey = await registered.platformPublicKey();
  const signature = crypto.sign('sha256', Buffer.from('launch'), privateKey);
  expect(crypto.verify('sha256', Buffer.from('launch'), publicKey, signature)).toBe(true);

  // At rest the private key is not in clear.
  const { rows } = await sql<{ j: string }>`SELECT row_to_json(k)::text AS j FROM lti_privatekey k WHERE kid = ${kid}`.execute(store.db);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.j).not.toContain('PRIVATE KEY');
  expect(rows[0]!.j).not.toContain(privateKey.split('\n')[1]!);

  // Registering again updates in place (Modify), keeping the same keys.
  await Provider.registerPlatform({
    url: 'https://moodle.example.edu',
    name: 'Example Moodle (renamed)',
    clientId: 'tool-client-1',
    authenticationEndpoint: 'https://moodle.example.edu/mod/lti/auth.php',
    accesstokenEndpoint: 'https://moodle.example.edu/mod/lti/token.php',
    authConfig: { method: 'JWK_SET', key: 'https://moodle.example.edu/mod/lti/certs.php' },
  });
  const again = (await Provider.getPlatform('https://moodle.example.edu', 'tool-client-1')) as unknown as PlatformWithKeys;
  expect(await again.platformName()).toBe('Example Moodle (renamed)');
  expect(await again.platformKid()).toBe(kid);
  expect(await again.platformActive()).toBe(true);
  expect(await Provider.getPlatform('https://unknown.example.edu', 'x')).toBe(false);

  await Provider.deletePlatform('https://moodle.example.edu', 'tool-client-1');
  expect(await Provider.getPlatform('https://moodle.example.edu', 'tool-client-1')).toBe(false);
  for (const table of ['lti_platform', 'lti_privatekey', 'lti_publickey'] as const) {
    const { rows: left } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(store.db);
    expect(left[0]!.n).toBe(0);
  }
}, 60_000);
