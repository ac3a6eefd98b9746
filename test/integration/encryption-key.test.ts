/**
 * ENCRYPTION_KEY fails loudly. An instance given another key than the one the database's secrets
 * were written with used to start, answer 200 on /healthz, answer 500 on /keys and on every data
 * page, and re-encrypt the shared isnotai API key under its own key at start-up, breaking the
 * instances that had the right one. Now:
 * - start-up is refused (encryption_key_mismatch, naming what does not decrypt) and nothing is
 *   rewritten, so the instances with the right key keep working;
 * - `npm run rotate-key` (OLD_ENCRYPTION_KEY → NEW_ENCRYPTION_KEY) re-encrypts everything, after
 *   which the tool starts with the new key and refuses the old one;
 * - /healthz answers 503 once the stored secrets no longer decrypt with the running key.
 * One database, one LMS emulator and simulator throughout; only the tool instances change.
 */
import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { request } from 'undici';
import { startTool, type RunningTool } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { LtiBrowser } from '../../src/dev/lms';
import { platformEntry, startStack, type Stack } from '../../src/dev/stack';
import { createLogger } from '../../src/log';
import { runRotateKey } from '../../src/rotateKey';
import { openDatabase, rotateEncryptionKey, type Schema, type Store } from '../../src/store';
import { freshDatabaseUrl } from '../support/db';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const keyA = crypto.randomBytes(32).toString('base64url');
const keyB = crypto.randomBytes(32).toString('base64url');
const keyC = crypto.randomBytes(32).toString('base64url');
let stack: Stack;
let databaseUrl: string;
/** A pool of the test's own, to look at what is stored while tools come and go. */
let inspect: Store;
const started: RunningTool[] = [];

beforeAll(async () => {
  databaseUrl = await freshDatabaseUrl('enckey');
  stack = await startStack({ databaseUrl, logger, encryptionKey: keyA });
  inspect = await openDatabase({ url: databaseUrl, max: 1 });
});
afterAll(async () => {
  await inspect?.close();
  for (const t of started) await t.stop();
  await stack?.stop();
});

function startWith(key: string): Promise<RunningTool> {
  const isnotai = { apiKey: 'aik_v1_sim_pro', baseUrl: stack.simulator.url };
  const config = loadConfig({
    NODE_ENV: 'development',
    ENCRYPTION_KEY: key,
    LOG_LEVEL: 'silent',
    PLATFORMS_JSON: JSON.stringify([
      platformEntry(stack.lms.platforms.moodle, isnotai),
      platformEntry(stack.lms.platforms.canvas, isnotai),
    ]),
  });
  return startTool({ config, logger, databaseUrl, port: 0, host: '127.0.0.1' }).then((t) => {
    started.push(t);
    return t;
  });
}

/** Every stored secret, as stored. */
async function storedSecrets(db: Kysely<Schema>) {
  const q = async (text: string) => (await sql.raw<Record<string, unknown>>(text).execute(db)).rows;
  return {
    check: await q('SELECT id, value_encrypted, updated_at FROM key_check ORDER BY id'),
    apiKeys: await q('SELECT issuer, client_id, deployment_id, api_key_encrypted, updated_at FROM platform_settings ORDER BY 1, 2, 3'),
    privateKeys: await q('SELECT kid, iv, data FROM lti_privatekey ORDER BY kid'),
    publicKeys: await q('SELECT kid, iv, data FROM lti_publickey ORDER BY kid'),
    accessTokens: await q('SELECT platform_url, client_id, scopes, iv, data FROM lti_accesstoken ORDER BY 1, 2, 3'),
  };
}

/** What the LMS and an instructor need: the keyset, a launch, the roster (Names and Roles + isnotai). */
async function works(tool: RunningTool) {
  stack.lms.setToolUrl(tool.url);
  const keys = await request(`${tool.url}/keys`);
  const keyset = (await keys.body.json()) as { keys?: Array<{ kid: string }> };
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });
  const teacher = await browser.launch({ platform: 'moodle', courseId: '2', userId: '3' });
  const roster = teacher.ltik ? await browser.get(`${tool.url}/course.json?limit=500&ltik=${encodeURIComponent(teacher.ltik)}`) : undefined;
  return {
    keys: keys.statusCode,
    kids: (keyset.keys ?? []).map((k) => k.kid).sort(),
    launch: teacher.status,
    roster: roster?.status,
    learners: roster?.status === 200 ? (JSON.parse(roster.html) as { items: unknown[] }).items.length : 0,
  };
}

async function health(tool: RunningTool) {
  const res = await request(`${tool.url}/healthz`);
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

let kidsWithA: string[];

/** The command as `npm run rotate-key` runs it, with only these variables set; its result or error. */
function rotateKeyCommand(env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  return runRotateKey(env, logger).then(
    (r) => ({ ...r }),
    (e: Error & { code?: string }) => ({ code: e.code, message: e.message }),
  );
}

test('an instance started with another key is refused, names what it cannot decrypt, and rewrites nothing', async () => {
  const first = await works(stack.tool);
  expect(first).toMatchObject({ keys: 200, launch: 200, roster: 200 });
  expect(first.learners).toBeGreaterThan(0);
  kidsWithA = first.kids;
  const db = stack.tool.store.db;
  const before = await storedSecrets(db);
  expect(before.check).toHaveLength(1);
  expect(before.apiKeys).toHaveLength(2);
  expect(before.privateKeys).toHaveLength(2);
  expect(before.accessTokens.length).toBeGreaterThan(0);

  const refused = startWith(keyB);
  await expect(refused).rejects.toMatchObject({ name: 'EncryptionKeyMismatchError', code: 'encryption_key_mismatch' });
  const message = ((await refused.catch((e: unknown) => e)) as Error).message;
  expect(message).toMatch(
    /^ENCRYPTION_KEY is not the key this database's secrets were encrypted with, so nothing was started and nothing was changed\./,
  );
  expect(message).toContain('the key check record');
  expect(message).toContain(
    `the isnotai API key of ${stack.lms.platforms.moodle.name} (${stack.lms.platforms.moodle.issuer}, client ${stack.lms.platforms.moodle.clientId})`,
  );
  expect(message).toContain(`the LTI private key for ${stack.lms.platforms.canvas.issuer}`);
  expect(message).toContain('npm run rotate-key');
  expect(message).not.toContain(keyA);
  expect(message).not.toContain(keyB);
  expect(message).not.toContain('aik_v1_');

  // A database written before the key check existed is checked by its secrets alone.
  await sql`DELETE FROM key_check`.execute(db);
  try {
    const again = await startWith(keyB).catch((e: unknown) => e as Error & { code?: string });
    expect((again as { code?: string }).code).toBe('encryption_key_mismatch');
    expect((again as Error).message).not.toContain('the key check record');
    expect((again as Error).message).toContain('the isnotai API key of');
  } finally {
    for (const r of before.check)
      await sql`INSERT INTO key_check (id, value_encrypted, updated_at) VALUES (${r.id}, ${r.value_encrypted}, ${r.updated_at})`.execute(
        db,
      );
  }

  // Nothing was re-encrypted, so the instance with the right key still serves everything.
  expect(await storedSecrets(db)).toEqual(before);
  expect(await works(stack.tool)).toMatchObject({ keys: 200, launch: 200, roster: 200, kids: kidsWithA });
});

test('npm run rotate-key re-encrypts everything; the tool then starts with the new key and refuses the old one', async () => {
  const before = await storedSecrets(inspect.db);
  await stack.tool.stop();

  // A wrong OLD key: refused, nothing changed.
  const wrongOld = await rotateKeyCommand({ DATABASE_URL: databaseUrl, OLD_ENCRYPTION_KEY: keyC, NEW_ENCRYPTION_KEY: keyB });
  expect(wrongOld).toMatchObject({ code: 'encryption_key_mismatch' });
  expect(String(wrongOld.message)).toMatch(/^OLD_ENCRYPTION_KEY is not the key/);
  expect(await storedSecrets(inspect.db)).toEqual(before);
  // The keys come from the environment only.
  const missing = await rotateKeyCommand({ DATABASE_URL: databaseUrl });
  expect(missing).toMatchObject({ code: 'rotate_key_usage' });
  expect(String(missing.message)).toContain('OLD_ENCRYPTION_KEY: required');
  expect(String(missing.message)).toContain('NEW_ENCRYPTION_KEY: required');

  const rotated = await rotateKeyCommand({ DATABASE_URL: databaseUrl, OLD_ENCRYPTION_KEY: keyA, NEW_ENCRYPTION_KEY: keyB });
  expect(rotated).toMatchObject({ apiKeys: 2, ltiKeys: 4 });
  expect((rotated as { accessTokens: number }).accessTokens).toBe(before.accessTokens.length);

  const withB = await startWith(keyB);
  const after = await storedSecrets(inspect.db);
  expect(after.privateKeys.map((r) => r.kid)).toEqual(before.privateKeys.map((r) => r.kid));
  expect(after.privateKeys.map((r) => r.data)).not.toEqual(before.privateKeys.map((r) => r.data));
  // The same LTI keys (the LMS's registration stays valid) and the same isnotai account.
  expect(await works(withB)).toMatchObject({ keys: 200, launch: 200, roster: 200, kids: kidsWithA });
  expect(await health(withB)).toEqual({ status: 200, body: { ok: true, database: 'ok', secrets: 'ok' } });

  await expect(startWith(keyA)).rejects.toMatchObject({ code: 'encryption_key_mismatch' });
}, 60_000);

test('/healthz turns 503 when the stored secrets stop decrypting with the running key', async () => {
  const withB = started.at(-1)!;
  expect(await health(withB)).toEqual({ status: 200, body: { ok: true, database: 'ok', secrets: 'ok' } });
  // Another operator rotates to C while this instance still runs with B.
  await rotateEncryptionKey(withB.store.db, keyB, keyC);
  let seen = await health(withB);
  const deadline = Date.now() + 8000;
  while (seen.status === 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    seen = await health(withB);
  }
  expect(seen).toEqual({ status: 503, body: { ok: false, database: 'ok', secrets: 'undecryptable' } });
  // Restarted with the key now in force, it is healthy again.
  const withC = await startWith(keyC);
  expect(await health(withC)).toEqual({ status: 200, body: { ok: true, database: 'ok', secrets: 'ok' } });
  expect(await works(withC)).toMatchObject({ keys: 200, launch: 200, roster: 200, kids: kidsWithA });
}, 30_000);
