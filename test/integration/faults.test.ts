/**
 * Faults a user meets, over real HTTP: the tool's database goes away (for real: connections are
 * refused and the open ones terminated), a stored key cannot be decrypted, and the upstream hangs.
 * Each ends in a status that says what happened (503 with a retry hint, not "relaunch"), never a
 * raw internal error; the log keeps the cause under the request id the user is shown.
 */
import { sql } from 'kysely';
import { Client } from 'pg';
import { request } from 'undici';
import { capturingLogger, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
type B = ReturnType<S['browser']>;
let stack: S;
let admin: Client;
let dbName: string;
let teacher: { browser: B; ltik: string };
let student: { browser: B; ltik: string };
/** What the tool logged (JSON lines). */
const { logger, lines } = capturingLogger('info');

/** The page deadline the stack runs with, short so that a hang is measured in seconds. */
const DEADLINE_MS = 1500;
/** What a page may take beyond its deadline (rendering, the database, a loaded CI machine). */
const SLACK_MS = 1500;

beforeAll(async () => {
  stack = await testStack('faults', { logger, env: { UPSTREAM_PAGE_DEADLINE_MS: String(DEADLINE_MS) } });
  dbName = (await sql<{ name: string }>`SELECT current_database() AS name`.execute(stack.tool.store.db)).rows[0]!.name;
  admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
  await admin.connect();
  const launch = async (userId: string) => {
    const browser = stack.browser();
    const res = await browser.launch({ platform: 'moodle', courseId: '2', userId });
    expect(res.status).toBe(200);
    return { browser, ltik: res.ltik! };
  };
  teacher = await launch('3');
  student = await launch('4');
});
afterAll(async () => {
  stack?.simulator.setFaults({});
  if (dbName) await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`).catch(() => undefined);
  await admin?.end();
  await stack?.stop();
});

const at = (who: { ltik: string }, path: string, params: Record<string, string> = {}) =>
  `${stack.tool.url}${path}?${new URLSearchParams({ ...params, ltik: who.ltik })}`;
const header = (res: { headers: Record<string, string | string[] | undefined> }, name: string) => String(res.headers[name] ?? '');

/** Words of a raw PostgreSQL, pg or OpenSSL error that must never reach a client. */
function rawInternals(body: string): string[] {
  const found: string[] = [];
  for (const word of [
    dbName,
    'not currently accepting connections',
    'terminat',
    'ECONNREFUSED',
    'Connection',
    'bad decrypt',
    'wrong final block',
    'decrypt',
    'pg_',
    'at /',
    'Error:',
  ]) {
    if (body.includes(word)) found.push(word);
  }
  return found;
}

async function takeDatabaseAway() {
  await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
}
async function bringDatabaseBack() {
  await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
}

test('database down during a launch: the id_token post gets 503 with a retry hint, and the tool keeps serving', async () => {
  // The login went through while the database answered; it goes before the LMS posts the id_token.
  const browser = stack.browser();
  const captured = await browser.captureIdToken({ platform: 'moodle', courseId: '2', userId: '4' });
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  await takeDatabaseAway();
  try {
    const res = await browser.post(captured.redirectUri, { id_token: captured.idToken, state: captured.state });
    expect(res.status).toBe(503);
    expect(Number(header(res, 'retry-after'))).toBeGreaterThan(0);
    expect(textOf(res.html)).toMatch(/try again in/i);
    expect(rawInternals(res.html)).toEqual([]);
  } finally {
    await bringDatabaseBack();
  }
  // Give a rejection left behind by the failed launch the time to surface: there must be none.
  await new Promise((resolve) => setTimeout(resolve, 300));
  process.off('unhandledRejection', onRejection);
  expect(rejections.map(String)).toEqual([]);
  const again = await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: '4' });
  expect(again.status).toBe(200);
});

test('database down: a user with a valid session gets 503 with a retry hint, never "relaunch"; no raw error reaches the client', async () => {
  // The pages work, then the database goes.
  expect((await teacher.browser.get(at(teacher, '/course'))).status).toBe(200);
  await takeDatabaseAway();
  try {
    for (const [who, path] of [
      [teacher, '/course'],
      [student, '/me'],
    ] as const) {
      const page = await who.browser.get(at(who, path));
      expect({ path, status: page.status }).toEqual({ path, status: 503 });
      expect(header(page, 'content-type')).toMatch(/^text\/html/);
      expect(Number(header(page, 'retry-after'))).toBeGreaterThan(0);
      const text = textOf(page.html);
      expect(text).toMatch(/try again in/i);
      expect(text).not.toMatch(/open (this tool|the tool) (again|from your)|relaunch|launch again/i);
      expect(rawInternals(page.html)).toEqual([]);
    }
    for (const path of ['/course.json', '/course.csv', '/learners/4/sessions.json']) {
      const res = await teacher.browser.get(at(teacher, path));
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(Number(header(res, 'retry-after'))).toBeGreaterThan(0);
      const body = JSON.parse(res.html) as { error: { code: string; message: string; request_id?: string } };
      expect(body.error.code).toBe('database_unavailable');
      expect(rawInternals(res.html)).toEqual([]);
      // The log keeps the cause under the request id the client was given.
      const requestId = body.error.request_id!;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(
        lines.filter((l) => l.includes(requestId) && /terminat|accepting connections|ECONNREFUSED|Connection/i.test(l)).length,
      ).toBeGreaterThan(0);
    }
    // The keyset the LMS fetches: a 503 in the tool's own error shape, not the database's words.
    const keys = await request(`${stack.tool.url}/keys`);
    const keysBody = await keys.body.text();
    expect(keys.statusCode).toBe(503);
    expect(rawInternals(keysBody)).toEqual([]);
  } finally {
    await bringDatabaseBack();
  }
  // And back again with the same session: no relaunch needed.
  expect((await teacher.browser.get(at(teacher, '/course'))).status).toBe(200);
});

test('/keys with a stored key that cannot be decrypted: 500 in the tool’s own words, the cause in the log', async () => {
  const before = await request(`${stack.tool.url}/keys`);
  expect(before.statusCode).toBe(200);
  const keys = (await before.body.json()) as { keys: Array<{ kid: string }> };
  expect(keys.keys.length).toBeGreaterThan(0);
  const db = stack.tool.store.db;
  const saved = (await sql<{ kid: string; data: string }>`SELECT kid, data FROM lti_publickey`.execute(db)).rows;
  try {
    // Still valid hex, but no longer what was encrypted: OpenSSL's "bad decrypt".
    await sql`UPDATE lti_publickey SET data = repeat('00', length(data) / 2)`.execute(db);
    const res = await request(`${stack.tool.url}/keys`);
    const body = await res.body.text();
    expect(res.statusCode).toBe(500);
    expect(rawInternals(body)).toEqual([]);
    const parsed = JSON.parse(body) as { error: { code: string; request_id?: string } };
    expect(parsed.error.code).toBe('internal_error');
    expect(lines.filter((l) => l.includes(parsed.error.request_id!) && /decrypt|final block/i.test(l)).length).toBeGreaterThan(0);
  } finally {
    for (const r of saved) await sql`UPDATE lti_publickey SET data = ${r.data} WHERE kid = ${r.kid}`.execute(db);
  }
  expect((await request(`${stack.tool.url}/keys`)).statusCode).toBe(200);
});

/** One request, timed; it gives up (as a failure) if the page has not answered well after its deadline. */
async function timed(who: { browser: B; ltik: string }, path: string): Promise<{ status: number; ms: number; html: string }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${path} had not answered after ${DEADLINE_MS + 4 * SLACK_MS} ms`)),
      DEADLINE_MS + 4 * SLACK_MS,
    );
  });
  try {
    const res = await Promise.race([who.browser.get(at(who, path)), gaveUp]);
    return { status: res.status, ms: Date.now() - started, html: res.html };
  } finally {
    clearTimeout(timer);
  }
}

/** The course's participants (from the LMS, not isnotai) are read once, so the timings below are isnotai's. */
async function warmRoster() {
  expect((await teacher.browser.get(at(teacher, '/course.json'))).status).toBe(200);
}

test('a hanging upstream: every data page answers 503 within its deadline, not after 4 × 10 s', async () => {
  await warmRoster();
  // Cold pages: nothing cached for these learners (their answers, nor the roster built from them).
  await sql`DELETE FROM upstream_cache WHERE key LIKE '%:user-sessions:%' OR key LIKE '%:details:%'`.execute(stack.tool.store.db);
  await sql`DELETE FROM roster_build`.execute(stack.tool.store.db);
  stack.simulator.setFaults({ timeoutRate: 1 });
  const measured: Record<string, number> = {};
  try {
    for (const [who, path] of [
      [teacher, '/course'],
      [teacher, '/learners/5'],
      [teacher, '/course.json'],
      [student, '/me'],
    ] as const) {
      const res = await timed(who, path);
      measured[path] = res.ms;
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(res.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
      expect(res.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    }
  } finally {
    stack.simulator.setFaults({});
  }
  // Reported by the test run, for the record of how long a hung upstream holds a page.
  console.log(`hung upstream, deadline ${DEADLINE_MS} ms: ${JSON.stringify(measured)}`);
});

test('an upstream that hangs after the first learners: the roster shows what it read by the deadline, the rest as unread', async () => {
  await warmRoster();
  await sql`DELETE FROM upstream_cache WHERE key LIKE '%:user-sessions:%'`.execute(stack.tool.store.db);
  await sql`DELETE FROM roster_build`.execute(stack.tool.store.db);
  // The integration-wide walk and the first learner are answered; every later call hangs.
  stack.simulator.queueFaults('none', 'none', ...Array<'timeout'>(1000).fill('timeout'));
  const started = Date.now();
  const res = await teacher.browser.get(at(teacher, '/course.json', { limit: '500' }));
  const ms = Date.now() - started;
  console.log(`partial roster, deadline ${DEADLINE_MS} ms: ${ms} ms`);
  expect(res.status).toBe(200);
  expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
  const items = (JSON.parse(res.html) as { items: Array<{ userId: string | null; problem: string | null }> }).items;
  const read = items.filter((i) => i.userId && i.problem === null);
  const unread = items.filter((i) => i.userId && i.problem !== null);
  expect(read.length).toBeGreaterThanOrEqual(1);
  expect(unread.length).toBeGreaterThan(10);
  expect(unread[0]!.problem).toMatch(/could not be read/);
});
