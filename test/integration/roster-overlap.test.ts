/**
 * A cold roster reads its learners' sessions from isnotai while the LMS is still listing them: the
 * Names and Roles pages and the learners' calls overlap, so the wait is about the longer of the two,
 * not their sum. Over real HTTP, with the Canvas emulator (at most 50 members a page) and the
 * simulator, whose request logs share this process's clock; and the roster read so is the roster.
 */
import { nrpsPagesServed } from '../../src/dev/lms/nrps';
import { learnerRiskSummary, DEFAULT_THRESHOLDS } from '../../src/risk';
import { testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const BIG = '900';
const LEARNERS = 400;

beforeAll(async () => {
  // No cache: every roster asks the LMS for every page, and isnotai for every learner.
  stack = await testStack('rosteroverlap', { env: { CACHE_TTL_SECONDS: '0' }, worldOptions: { bigCourseLearners: LEARNERS } });
});
afterAll(async () => {
  await stack?.stop();
});

test('learners’ sessions are asked for before the LMS has answered the last page of the roster, and every learner is read', async () => {
  const browser = stack.browser();
  const teacher = await browser.launch({ platform: 'canvas', courseId: BIG, userId: '20001' });
  expect(teacher.status).toBe(200);

  const pagesBefore = nrpsPagesServed.length;
  const requestsBefore = stack.simulator.requests.length;
  const res = await browser.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(teacher.ltik!)}`);
  expect(res.status).toBe(200);

  const pages = nrpsPagesServed.slice(pagesBefore).filter((p) => p.platform === 'canvas' && p.courseId === BIG);
  // 401 members, 50 a page: nine pages, the last one without a next link.
  expect(pages).toHaveLength(Math.ceil((LEARNERS + 1) / 50));
  expect(pages.at(-1)!.hasNext).toBe(false);
  const lastPageAt = pages.at(-1)!.at;
  const learnerCalls = stack.simulator.requests.slice(requestsBefore).filter((r) => r.rawUrl.startsWith('/v1/users/'));
  expect(learnerCalls).toHaveLength(LEARNERS);
  // Read one after the other, the LMS's pages would all be answered before the first learner's call.
  const beforeLastPage = learnerCalls.filter((r) => r.at < lastPageAt);
  expect(beforeLastPage.length).toBeGreaterThan(0);

  // And it is the whole roster, each learner's level the one their sessions give.
  const body = JSON.parse(res.html) as { total: number; items: Array<{ userId: string; risk: string; sessions: number }> };
  const course = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === BIG)!;
  const learners = course.members.filter((m) => m.role === 'learner');
  expect(body.total).toBe(LEARNERS);
  const byId = new Map(body.items.map((i) => [i.userId, i]));
  expect([...byId.keys()].sort()).toEqual(learners.map((m) => m.person.lmsUserId).sort());
  for (const m of learners) {
    const expected = learnerRiskSummary(stack.simulator.dataset.sessionsForUser(m.person.lmsUserId), { thresholds: DEFAULT_THRESHOLDS });
    expect(byId.get(m.person.lmsUserId)).toMatchObject({ risk: expected.level, sessions: expected.sessionsInWindow });
  }
});
