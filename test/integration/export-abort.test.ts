/**
 * A whole-course export streams from a database cursor (docs/performance.md "Large courses"). A reader who stops taking
 * it half-way and goes away must not leave that cursor, and the pool connection under it, waiting for ever: a dozen
 * abandoned downloads would otherwise hold every connection of the tool's pool, and every page would wait behind them.
 * Over real HTTP, with the Canvas emulator and the simulator, a 3,000-learner course.
 */
import http from 'node:http';
import { testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const BIG = '900';
const LEARNERS = 3000;

beforeAll(async () => {
  stack = await testStack('exportabort', { worldOptions: { bigCourseLearners: LEARNERS } });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** Asks for `url`, takes its first 64 KiB, and goes away while the rest is still being sent. */
function abandonHalfway(url: string, cookie: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    // An export that does not start within 10 s is waiting for a connection the abandoned ones hold.
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('the export did not start within 10 s: the pool’s connections are held'));
    }, 10_000);
    const req = http.get(url, { headers: { 'accept-encoding': 'identity', ...(cookie ? { cookie } : {}) } }, (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) reject(new Error(`export answered ${res.statusCode}`));
      let got = 0;
      res.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got < 64 * 1024 || req.destroyed) return;
        req.destroy();
        resolve(got);
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      if (!req.destroyed) reject(err);
    });
  });
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`still not so after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('downloads abandoned half-way leave no database connection behind, and the next export is whole', async () => {
  const browser = stack.browser();
  // The launch lands on the roster, which builds it.
  const teacher = await browser.launch({ platform: 'canvas', courseId: BIG, userId: '20001' });
  expect(teacher.status).toBe(200);
  const url = `${stack.tool.url}/course.json?ltik=${encodeURIComponent(teacher.ltik!)}`;
  const pool = stack.tool.store.pool;
  // More than the pool's ten connections.
  for (let i = 0; i < 12; i++) {
    const got = await abandonHalfway(url, browser.jar.header(url, { method: 'GET' }));
    expect(got).toBeGreaterThanOrEqual(64 * 1024);
  }
  await until('every connection is back in the pool', () => pool.waitingCount === 0 && pool.totalCount === pool.idleCount, 5000);
  const whole = await browser.get(url);
  expect(whole.status).toBe(200);
  expect(JSON.parse(whole.html).items).toHaveLength(LEARNERS);
}, 120_000);
