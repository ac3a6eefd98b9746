/**
 * A Canvas registration mapped by the LTI 1.1 user id (`lti11_legacy_user_id`, PRODUCT.md
 * "Identity"), as an institution whose isnotai user ids predate LTI 1.3 would set it. The launch
 * claim is one ltijs does not keep (src/lti/launchClaims.ts keeps it); Names and Roles carries it
 * on every member. Student view and roster must agree on it.
 */
import { sql } from 'kysely';
import { buildWorld } from '../../src/dev/people';
import { canvasLegacyUserId } from '../../src/dev/lms';
import { learnerRiskSummary, DEFAULT_THRESHOLDS } from '../../src/risk';
import { testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const world = buildWorld();
const canvas = world.platforms.find((p) => p.kind === 'canvas')!;
const course = canvas.courses[0]!;
const learners = course.members.filter((m) => m.role === 'learner' || m.role === 'teststudent');

beforeAll(async () => {
  stack = await testStack('legacyid', {
    world,
    canvasIdentity: 'lti11_legacy_user_id',
    // The integration knows these learners by their LTI 1.1 ids.
    simulator: { extraUserIds: learners.map((m) => canvasLegacyUserId(m.person)) },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const idsIn = (html: string) => [...html.matchAll(/data-session-id="([^"]+)"/g)].map((m) => m[1]);
const keptClaims = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM upstream_cache WHERE key LIKE 'launch-claims:%'`.execute(stack.tool.store.db)).rows[0]!.n);

test('a student sees the sessions recorded under their LTI 1.1 id, not their Canvas id', async () => {
  const student = learners.find((m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(canvasLegacyUserId(m.person)).length > 0)!.person;
  const legacyId = canvasLegacyUserId(student);
  const res = await stack.browser().launch({ platform: 'canvas', courseId: course.id, userId: student.lmsUserId });
  expect(res.status).toBe(200);
  expect(res.url).toContain('/me?');
  expect(idsIn(res.html)).toEqual(stack.simulator.dataset.sessionsForUser(legacyId).slice(0, 25).map((s) => s.id));
  // Their numeric Canvas id has sessions of its own in the simulator, and none of them show.
  const byCanvasId = stack.simulator.dataset.sessionsForUser(student.lmsUserId).map((s) => s.id);
  expect(idsIn(res.html).filter((id) => byCanvasId.includes(id!))).toEqual([]);
});

test('the instructor’s roster maps every member by the same id, with levels from those sessions', async () => {
  const b = stack.browser();
  const teacher = await b.launch({ platform: 'canvas', courseId: course.id, userId: '20001' });
  expect(teacher.status).toBe(200);
  const body = JSON.parse((await b.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(teacher.ltik!)}`)).html);
  expect(body.total).toBe(learners.length);
  const byId = new Map<string, string>(body.items.map((i: { userId: string; risk: string }) => [i.userId, i.risk]));
  for (const m of learners) {
    const legacyId = canvasLegacyUserId(m.person);
    expect(byId.get(legacyId)).toBe(learnerRiskSummary(stack.simulator.dataset.sessionsForUser(legacyId), { thresholds: DEFAULT_THRESHOLDS }).level);
  }
});

test('only a launch ltijs accepted leaves its claims behind', async () => {
  const student = learners[3]!.person;
  const before = await keptClaims();
  const refused = await stack.browser().launch({ platform: 'canvas', courseId: course.id, userId: student.lmsUserId, tamper: { badSignature: true } });
  expect(refused.status).toBe(401);
  expect(await keptClaims()).toBe(before);
  const accepted = await stack.browser().launch({ platform: 'canvas', courseId: course.id, userId: student.lmsUserId });
  expect(accepted.status).toBe(200);
  expect(await keptClaims()).toBe(before + 1);
});
