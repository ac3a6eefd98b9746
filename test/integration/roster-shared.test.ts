/**
 * A course roster is built once, however many staff open it and on however many instances (docs/performance.md "Large
 * courses"): over real HTTP, with two tool instances in this process and a third in a process of its own, all on one
 * PostgreSQL, the LMS emulator and the isnotai simulator (whose request log counts the upstream reads).
 *
 * - Four staff launches open the same cold roster at the same moment, two on each instance: isnotai is asked for each
 *   learner once, and each of them sees the progress line, then the roster.
 * - A build whose process is killed part-way is taken over by the next request, which finishes it (reading again only
 *   what the dead build had not cached), instead of waiting on it for ever.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { startTool, type RunningTool } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { LtiBrowser } from '../../src/dev/lms';
import { platformEntry, startStack, type Stack } from '../../src/dev/stack';
import { createLogger } from '../../src/log';
import { openDatabase, type Store } from '../../src/store';
import { freshDatabaseUrl } from '../support/db';
import { spawnTs } from '../support/runTs';
import { textOf } from '../support/stack';

const LEARNERS = 300;
const BIG = '900';
const TEACHER = { platform: 'canvas' as const, courseId: BIG, userId: '20001' };
// Slow enough that a build takes seconds: 4 reads at a time, 40 ms each (300 learners: about 3 s).
const TOOL_ENV = { UPSTREAM_CONCURRENCY: '4' };

let stack: Stack;
let b: RunningTool;
let db: Store;
let databaseUrl: string;
let toolEnv: Record<string, string>;
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const children: ChildProcess[] = [];

beforeAll(async () => {
  databaseUrl = await freshDatabaseUrl('rostershared');
  const encryptionKey = crypto.randomBytes(32).toString('base64url');
  stack = await startStack({
    databaseUrl,
    logger,
    encryptionKey,
    env: TOOL_ENV,
    worldOptions: { bigCourseLearners: LEARNERS },
    simulator: { latencyMs: 40 },
  });
  const isnotai = { apiKey: 'aik_v1_sim_pro', baseUrl: stack.simulator.url };
  toolEnv = {
    ...TOOL_ENV,
    NODE_ENV: 'development',
    TOOL_URL: stack.tool.url,
    ENCRYPTION_KEY: encryptionKey,
    LOG_LEVEL: 'silent',
    PLATFORMS_JSON: JSON.stringify([
      platformEntry(stack.lms.platforms.moodle, isnotai),
      platformEntry(stack.lms.platforms.canvas, isnotai),
    ]),
  };
  b = await startTool({ config: loadConfig(toolEnv), logger, databaseUrl, port: 0, host: '127.0.0.1' });
  db = await openDatabase({ url: databaseUrl, max: 2 });
}, 60_000);
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await db?.close();
  await b?.stop();
  await stack?.stop();
});

/** A staff launch of the big course (it lands on its roster, which warms it: emptied below). */
async function launched(): Promise<{ browser: LtiBrowser; ltik: string }> {
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });
  const res = await browser.launch(TEACHER);
  expect(res.status).toBe(200);
  return { browser, ltik: res.ltik! };
}

/** The roster and every learner's cached sessions gone: the next roster is cold (the cache is only a cache). */
async function cold(): Promise<void> {
  await sql`DELETE FROM roster_build`.execute(db.db);
  await sql`DELETE FROM upstream_cache WHERE key LIKE '%:user-sessions:%'`.execute(db.db);
}

const learnerReads = (from: number) => stack.simulator.requests.slice(from).filter((r) => r.rawUrl.startsWith('/v1/users/'));

test('four staff opening the same cold roster at once, two on each instance, share one read of isnotai; each sees progress, then the roster', async () => {
  const staff = await Promise.all([launched(), launched(), launched(), launched()]);
  await cold();
  const from = stack.simulator.requests.length;
  const on = [stack.tool.url, stack.tool.url, b.url, b.url];
  const pages = await Promise.all(staff.map(({ browser, ltik }, i) => browser.get(`${on[i]}/course?ltik=${encodeURIComponent(ltik)}`)));

  // One walk: each learner read once (not four times), whoever built it.
  const reads = learnerReads(from);
  expect(reads).toHaveLength(LEARNERS);
  expect(new Set(reads.map((r) => r.rawUrl.split('?')[0])).size).toBe(LEARNERS);
  const builds = await sql<{ n: string }>`SELECT count(*) AS n FROM roster_build`.execute(db.db);
  expect(Number(builds.rows[0]!.n)).toBe(1);

  for (const page of pages) {
    expect(page.status).toBe(200);
    // The progress line first (its own build's, or the shared one's), then the roster, whole.
    expect(page.html).toContain('class="progress"');
    expect(page.html.indexOf('class="progress"')).toBeLessThan(page.html.indexOf('data-testid="roster"'));
    expect(textOf(page.html)).toContain(`of ${LEARNERS} matching learners (${LEARNERS} in the course)`);
  }
  // At least one of them waited on another's build and said so.
  expect(pages.some((p) => p.html.includes('being read once for you both'))).toBe(true);
});

test('a build whose process is killed part-way is taken over by the next request, which reads only what it had not cached', async () => {
  const [first, second] = await Promise.all([launched(), launched()]);
  await cold();
  const from = stack.simulator.requests.length;

  // A third instance, in a process of its own.
  const started = spawnTs(
    `
    const { startTool } = require(ROOT + '/src/bootstrap.ts');
    const { loadConfig } = require(ROOT + '/src/config.ts');
    const { createLogger } = require(ROOT + '/src/log.ts');
    (async () => {
      const tool = await startTool({ config: loadConfig(JSON.parse(process.env.TOOL_ENV)), logger: createLogger('silent'),
        databaseUrl: process.env.DATABASE_URL, port: 0, host: '127.0.0.1' });
      console.log('URL ' + tool.url);
    })().catch((err) => { console.error(err); process.exit(1); });
    `,
    'URL ',
    { env: { ...process.env, TOOL_ENV: JSON.stringify(toolEnv), DATABASE_URL: databaseUrl }, timeoutMs: 90_000 },
  );
  children.push(started.child);
  const childUrl = (await started.line).slice('URL '.length).trim();
  const pid = started.child.pid!;

  // The first instructor opens the roster there; it starts building it.
  const dying = first.browser.get(`${childUrl}/course?ltik=${encodeURIComponent(first.ltik)}`);
  dying.catch(() => undefined);
  // The roster's current build (one set aside by a takeover keeps its row, expired, for the sweeper).
  const buildOf = async () =>
    (
      await sql<{ holder: string; done: number; status: string }>`SELECT holder, done, status FROM roster_build
        WHERE key NOT LIKE '%:replaced:%'`.execute(db.db)
    ).rows[0];
  const cachedReads = async () =>
    Number(
      (await sql<{ n: string }>`SELECT count(*) AS n FROM upstream_cache WHERE key LIKE '%:user-sessions:%'`.execute(db.db)).rows[0]!.n,
    );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const build = await buildOf();
    if (build && build.holder === `${os.hostname()}:${pid}` && build.done >= LEARNERS / 2 && (await cachedReads()) >= 100) break;
    if (Date.now() > deadline) throw new Error(`the other process did not build: ${JSON.stringify(build)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // Killed part-way: no goodbye to PostgreSQL, no cleanup of its building row.
  started.child.kill('SIGKILL');
  await new Promise((r) => started.child.once('exit', r));
  expect((await buildOf())!.status).toBe('building');
  const readBeforeKill = learnerReads(from).length;
  expect(readBeforeKill).toBeLessThan(LEARNERS);

  // The next request, on this process's instance, takes the build over and finishes it.
  const t0 = Date.now();
  const res = await second.browser.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(second.ltik)}`);
  expect(res.status).toBe(200);
  expect(Date.now() - t0).toBeLessThan(20_000);
  const body = JSON.parse(res.html) as { total: number; items: Array<{ userId: string; risk: string; problem: string | null }> };
  expect(body.total).toBe(LEARNERS);
  expect(body.items.filter((i) => i.problem !== null)).toEqual([]);
  const build = (await buildOf())!;
  expect(build).toMatchObject({ status: 'ready', done: LEARNERS, holder: `${os.hostname()}:${process.pid}` });
  // The dead build, set aside and expired: the sweeper takes it and its lines.
  const aside = await sql<{ holder: string; expired: boolean }>`SELECT holder, expires_at <= now() AS expired FROM roster_build
    WHERE key LIKE '%:replaced:%'`.execute(db.db);
  expect(aside.rows).toEqual([{ holder: `${os.hostname()}:${pid}`, expired: true }]);

  // What the dead build had cached was not read again: fewer reads than learners after the kill, and every learner read.
  const after = learnerReads(from).slice(readBeforeKill);
  expect(after.length).toBeLessThan(LEARNERS);
  expect(new Set(learnerReads(from).map((r) => r.rawUrl.split('?')[0])).size).toBe(LEARNERS);
}, 120_000);

test('a roster lives no longer than the oldest cached answer it was built from, so a learner’s own page is never older than it', async () => {
  const { browser, ltik } = await launched();
  await cold();
  const course = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === BIG)!;
  const learner = course.members.find((m) => m.role === 'learner')!.person.lmsUserId;
  // The learner's page first: their sessions are cached now, with the cache's TTL from now.
  expect((await browser.get(`${stack.tool.url}/learners/${learner}?ltik=${encodeURIComponent(ltik)}`)).status).toBe(200);
  const cached = await sql<{
    expires_at: Date;
  }>`SELECT expires_at FROM upstream_cache WHERE key LIKE ${`%:user-sessions:${learner}`}`.execute(db.db);
  expect(cached.rows).toHaveLength(1);
  await new Promise((r) => setTimeout(r, 1100));
  // The roster, a second later, reads that learner from the cache and everyone else from isnotai.
  expect((await browser.get(`${stack.tool.url}/course.json?limit=1&ltik=${encodeURIComponent(ltik)}`)).status).toBe(200);
  const build = await sql<{
    started_at: Date;
    expires_at: Date;
  }>`SELECT started_at, expires_at FROM roster_build WHERE status = 'ready'`.execute(db.db);
  expect(build.rows).toHaveLength(1);
  // Not the TTL from its own start: the learner's cached answer expires first, and the roster with it.
  expect(build.rows[0]!.expires_at.getTime()).toBe(cached.rows[0]!.expires_at.getTime());
  expect(build.rows[0]!.expires_at.getTime()).toBeLessThan(build.rows[0]!.started_at.getTime() + 60_000);
});
