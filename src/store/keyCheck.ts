/**
 * Guards ENCRYPTION_KEY: start-up and /healthz find out whether it decrypts what is stored, and
 * `npm run rotate-key` re-encrypts everything under a new one.
 *
 * ENCRYPTION_KEY encrypts what the tool stores: the isnotai API keys (./secrets, AES-GCM) and
 * ltijs's platform key pairs and access tokens (ltijs's scheme, ./ltijsPlugin). An instance given
 * another key used to start, answer /healthz with 200, fail every page that needed a secret, and
 * re-encrypt the shared API key under its own key, breaking the other instances. Here:
 * - start-up verifies that the key decrypts everything stored, or refuses (EncryptionKeyMismatchError)
 *   before anything is written;
 * - a known value encrypted under the key (table key_check) lets /healthz notice cheaply when
 *   the stored secrets stop matching the running key (e.g. another instance rotated it);
 * - rotateEncryptionKey re-encrypts everything under a new key in one transaction.
 * Messages name what failed (platform issuer and client id), never a key or a plaintext.
 */
import { sql, type Kysely } from 'kysely';
import { PostgresLtiDatabase } from './ltijsPlugin';
import { aad as apiKeyContext } from './platformSettings';
import type { Schema } from './schema';
import { decryptSecret, encryptSecret } from './secrets';

const CHECK_ID = 'encryption_key';
const CHECK_VALUE = 'isnotai-lti encryption key check v1';
const CHECK_CONTEXT = 'key_check.encryption_key';

export type KeyCheckErrorCode = 'encryption_key_mismatch' | 'encryption_key_unchanged';

export class EncryptionKeyMismatchError extends Error {
  override readonly name = 'EncryptionKeyMismatchError';
  readonly code: KeyCheckErrorCode = 'encryption_key_mismatch';
  constructor(
    /** What did not decrypt, one human-readable line each. */
    readonly undecryptable: string[],
    which = 'ENCRYPTION_KEY',
  ) {
    super(
      `${which} is not the key this database's secrets were encrypted with, so nothing was started and nothing was changed. ` +
        `It cannot decrypt: ${undecryptable.join('; ')}. ` +
        'Start with the key these were written with; to change keys, run `npm run rotate-key` with OLD_ENCRYPTION_KEY and NEW_ENCRYPTION_KEY set (README, "Run it for real").',
    );
  }
}

export class KeyRotationError extends Error {
  override readonly name = 'KeyRotationError';
  constructor(
    readonly code: KeyCheckErrorCode | 'rotation_invalid',
    message: string,
  ) {
    super(message);
  }
}

type Db = Kysely<Schema>;
type LtiCipher = Pick<PostgresLtiDatabase, 'Encrypt' | 'Decrypt'>;

/** ltijs's encryption (aes-256-cbc under sha256(key)), as the plugin does it; it needs no pool. */
function ltiCipher(db: Db): LtiCipher {
  return new PostgresLtiDatabase({ db });
}

/** What must decrypt: without them the tool cannot sign or be verified. */
const LTI_TABLES = [
  { table: 'lti_privatekey', what: 'the LTI private key' },
  { table: 'lti_publickey', what: 'the LTI public key' },
] as const;
/**
 * LMS access tokens are a cache (ltijs asks the LMS for another when one is missing): one that no
 * longer decrypts (written under another key, e.g. by an instance refused since) is dropped, never
 * a reason to refuse a key that decrypts everything else.
 */
const DISPOSABLE_TABLE = 'lti_accesstoken';

async function ltiDecrypts(cipher: LtiCipher, key: string, row: { iv: string; data: string }): Promise<string | undefined> {
  try {
    const text = await cipher.Decrypt(row.data, row.iv, key);
    // CBC without authentication: a wrong key may still unpad; ltijs stores JSON, garbage is not.
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}

function apiKeyLabel(r: { display_name: string; issuer: string; client_id: string; deployment_id: string }): string {
  return `the isnotai API key of ${r.display_name} (${r.issuer}, client ${r.client_id}${r.deployment_id ? `, deployment ${r.deployment_id}` : ''})`;
}

/** Everything stored under the encryption key that `key` does not decrypt; empty when all does. */
export async function undecryptableWith(db: Db, key: string): Promise<string[]> {
  const failed: string[] = [];
  const check = await db.selectFrom('key_check').select('value_encrypted').where('id', '=', CHECK_ID).executeTakeFirst();
  if (check && !checkDecrypts(check.value_encrypted, key)) failed.push('the key check record');

  const apiKeys = await db
    .selectFrom('platform_settings')
    .select(['issuer', 'client_id', 'deployment_id', 'display_name', 'api_key_encrypted'])
    .where('api_key_encrypted', 'is not', null)
    .orderBy('issuer')
    .orderBy('client_id')
    .orderBy('deployment_id')
    .execute();
  for (const r of apiKeys) {
    try {
      decryptSecret(r.api_key_encrypted!, key, apiKeyContext(r.issuer, r.client_id, r.deployment_id));
    } catch {
      failed.push(apiKeyLabel(r));
    }
  }

  const cipher = ltiCipher(db);
  for (const { table, what } of LTI_TABLES) {
    const { rows } = await sql<{ platform_url: string; client_id: string; iv: string; data: string }>`
      SELECT platform_url, client_id, iv, data FROM ${sql.table(table)} ORDER BY platform_url, client_id`.execute(db);
    for (const r of rows) {
      if ((await ltiDecrypts(cipher, key, r)) === undefined) failed.push(`${what} for ${r.platform_url} (client ${r.client_id})`);
    }
  }
  return failed;
}

function checkDecrypts(stored: string, key: string): boolean {
  try {
    return decryptSecret(stored, key, CHECK_CONTEXT) === CHECK_VALUE;
  } catch {
    return false;
  }
}

/**
 * At start-up, before anything is written with the key: refuses (EncryptionKeyMismatchError) when
 * `key` does not decrypt everything stored; on a database without a key check yet, writes one.
 */
export async function verifyEncryptionKey(db: Db, key: string): Promise<{ droppedAccessTokens: number }> {
  const failed = await undecryptableWith(db, key);
  if (failed.length > 0) throw new EncryptionKeyMismatchError(failed);
  await db
    .insertInto('key_check')
    .values({ id: CHECK_ID, value_encrypted: encryptSecret(CHECK_VALUE, key, CHECK_CONTEXT) })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  // Two instances with different keys starting on an empty database: the first check written wins.
  const check = await db.selectFrom('key_check').select('value_encrypted').where('id', '=', CHECK_ID).executeTakeFirstOrThrow();
  if (!checkDecrypts(check.value_encrypted, key)) throw new EncryptionKeyMismatchError(['the key check record']);
  // Only now, with the key confirmed: another key's cached tokens could not be read anyway.
  return { droppedAccessTokens: await dropUndecryptableAccessTokens(db, key) };
}

/** Deletes the stored LMS access tokens `key` does not decrypt; answers how many. */
async function dropUndecryptableAccessTokens(db: Db, key: string): Promise<number> {
  const cipher = ltiCipher(db);
  const { rows } = await sql<{
    ctid: string;
    iv: string;
    data: string;
  }>`SELECT ctid::text AS ctid, iv, data FROM ${sql.table(DISPOSABLE_TABLE)}`.execute(db);
  let dropped = 0;
  for (const r of rows) {
    if ((await ltiDecrypts(cipher, key, r)) !== undefined) continue;
    await sql`DELETE FROM ${sql.table(DISPOSABLE_TABLE)} WHERE ctid = ${r.ctid}::tid`.execute(db);
    dropped++;
  }
  return dropped;
}

/** For /healthz: whether the key check still decrypts with `key` (a missing one does not). */
export async function keyCheckDecrypts(db: Db, key: string): Promise<boolean> {
  const check = await db.selectFrom('key_check').select('value_encrypted').where('id', '=', CHECK_ID).executeTakeFirst();
  return check !== undefined && checkDecrypts(check.value_encrypted, key);
}

export interface RotationResult {
  apiKeys: number;
  ltiKeys: number;
  accessTokens: number;
  /** Access tokens the old key did not decrypt either (a cache: ltijs asks the LMS again). */
  accessTokensDropped: number;
}

/**
 * Re-encrypts every stored secret from `oldKey` to `newKey` in one transaction, with the tables
 * locked against writers; refuses, changing nothing, if `oldKey` does not decrypt all of them.
 */
export async function rotateEncryptionKey(db: Db, oldKey: string, newKey: string): Promise<RotationResult> {
  if (oldKey === newKey)
    throw new KeyRotationError(
      'encryption_key_unchanged',
      'OLD_ENCRYPTION_KEY and NEW_ENCRYPTION_KEY are the same key: nothing to rotate.',
    );
  // Fails on a too-short new key with a message naming the rule, before anything is touched.
  encryptSecret('', newKey);
  return db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE key_check, platform_settings, lti_privatekey, lti_publickey, lti_accesstoken IN EXCLUSIVE MODE`.execute(trx);
    const failed = await undecryptableWith(trx, oldKey);
    if (failed.length > 0) throw new EncryptionKeyMismatchError(failed, 'OLD_ENCRYPTION_KEY');

    const result: RotationResult = { apiKeys: 0, ltiKeys: 0, accessTokens: 0, accessTokensDropped: 0 };
    const apiKeys = await trx
      .selectFrom('platform_settings')
      .select(['id', 'issuer', 'client_id', 'deployment_id', 'api_key_encrypted'])
      .where('api_key_encrypted', 'is not', null)
      .execute();
    for (const r of apiKeys) {
      const context = apiKeyContext(r.issuer, r.client_id, r.deployment_id);
      const plain = decryptSecret(r.api_key_encrypted!, oldKey, context);
      await trx
        .updateTable('platform_settings')
        .set({ api_key_encrypted: encryptSecret(plain, newKey, context) })
        .where('id', '=', r.id)
        .execute();
      result.apiKeys++;
    }

    const cipher = ltiCipher(trx);
    for (const table of [...LTI_TABLES.map((t) => t.table), DISPOSABLE_TABLE]) {
      const { rows } = await sql<{
        ctid: string;
        iv: string;
        data: string;
      }>`SELECT ctid::text AS ctid, iv, data FROM ${sql.table(table)}`.execute(trx);
      for (const r of rows) {
        const plain = await ltiDecrypts(cipher, oldKey, r);
        if (plain === undefined) {
          // Only an access token can get here (the keys were checked above): a cache entry, dropped.
          await sql`DELETE FROM ${sql.table(table)} WHERE ctid = ${r.ctid}::tid`.execute(trx);
          result.accessTokensDropped++;
          continue;
        }
        const enc = await cipher.Encrypt(plain, newKey);
        await sql`UPDATE ${sql.table(table)} SET iv = ${enc.iv}, data = ${enc.data} WHERE ctid = ${r.ctid}::tid`.execute(trx);
        if (table === DISPOSABLE_TABLE) result.accessTokens++;
        else result.ltiKeys++;
      }
    }

    await trx
      .insertInto('key_check')
      .values({ id: CHECK_ID, value_encrypted: encryptSecret(CHECK_VALUE, newKey, CHECK_CONTEXT) })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({ value_encrypted: (eb) => eb.ref('excluded.value_encrypted'), updated_at: new Date() }),
      )
      .execute();
    const left = await undecryptableWith(trx, newKey);
    if (left.length > 0)
      throw new KeyRotationError('rotation_invalid', `The rotation was rolled back: the new key did not decrypt ${left.join('; ')}.`);
    return result;
  });
}
