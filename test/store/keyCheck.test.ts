/**
 * Stored LMS access tokens are a cache under ENCRYPTION_KEY: one the key does not decrypt (left by
 * an instance with another key, refused since) is dropped at start-up and at a rotation, never a
 * reason to refuse a key that decrypts everything else. Without that, such a row made both the
 * start-up check and `npm run rotate-key` refuse every key: a database no key could open.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { PostgresLtiDatabase, rotateEncryptionKey, verifyEncryptionKey, type Store } from '../../src/store';
import { migratedStore } from './helpers';

const keyA = crypto.randomBytes(32).toString('base64url');
const keyB = crypto.randomBytes(32).toString('base64url');
const keyC = crypto.randomBytes(32).toString('base64url');
let store: Store;

beforeAll(async () => {
  store = await migratedStore('keycheck');
});
afterAll(async () => {
  await store?.close();
});

async function storeToken(scopes: string, key: string): Promise<void> {
  const enc = await new PostgresLtiDatabase(store).Encrypt(JSON.stringify({ access_token: `t-${scopes}`, expires_in: 3600 }), key);
  await sql`INSERT INTO lti_accesstoken (platform_url, client_id, scopes, iv, data) VALUES ('https://lms.example', 'c1', ${scopes}, ${enc.iv}, ${enc.data})`.execute(
    store.db,
  );
}
const tokenScopes = async () =>
  (await sql<{ scopes: string }>`SELECT scopes FROM lti_accesstoken ORDER BY scopes`.execute(store.db)).rows.map((r) => r.scopes);

test('start-up keeps the tokens its key decrypts and drops the others, instead of refusing', async () => {
  await verifyEncryptionKey(store.db, keyA);
  await storeToken('a-own', keyA);
  await storeToken('b-stale', keyB);
  await expect(verifyEncryptionKey(store.db, keyA)).resolves.toEqual({ droppedAccessTokens: 1 });
  expect(await tokenScopes()).toEqual(['a-own']);
  // Another key is still refused: the key check says whose database this is.
  await expect(verifyEncryptionKey(store.db, keyB)).rejects.toMatchObject({ code: 'encryption_key_mismatch' });
  expect(await tokenScopes()).toEqual(['a-own']);
});

test('a rotation re-encrypts the tokens the old key decrypts and drops the rest', async () => {
  await storeToken('c-stale', keyC);
  const result = await rotateEncryptionKey(store.db, keyA, keyB);
  expect(result).toMatchObject({ accessTokens: 1, accessTokensDropped: 1 });
  expect(await tokenScopes()).toEqual(['a-own']);
  await expect(verifyEncryptionKey(store.db, keyB)).resolves.toEqual({ droppedAccessTokens: 0 });
});
