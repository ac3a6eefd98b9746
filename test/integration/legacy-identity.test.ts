/**
 * A Canvas registration mapped by the LTI 1.1 user id (`lti11_legacy_user_id`, docs/product.md
 * "Identity"), as an institution whose isnotai user ids predate LTI 1.3 would set it. The launch
 * claim is one ltijs does not keep (src/lti/launchClaims.ts keeps it); Names and Roles carries it
 * on every member. Student view and roster must agree on it.
 */
import { sql } from 'kysely';
import { buildWorld } from '../../src/dev/people';
import { canvasLegacyUserId } from '../../src/dev/lms';
import { learnerRiskSummary, DEFAULT_THRESHOLDS } from '../../src/risk';
import { testStack, textOf } from '../support/stack';

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
const keptClaims = async () =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM launch_claims`.execute(stack.tool.store.db)).rows[0]!.n);

test('a student sees the sessions recorded under their LTI 1.1 id, not their Canvas id', async () => {
  const student = learners.find(
    (m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(canvasLegacyUserId(m.person)).length > 0,
  )!.person;
  const legacyId = canvasLegacyUserId(student);
  const res = await stack.browser().launch({ platform: 'canvas', courseId: course.id, userId: student.lmsUserId });
  expect(res.status).toBe(200);
  expect(res.url).toContain('/me?');
  expect(idsIn(res.html)).toEqual(
    stack.simulator.dataset
      .sessionsForUser(legacyId)
      .slice(0, 25)
      .map((s) => s.id),
  );
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
    expect(byId.get(legacyId)).toBe(
      learnerRiskSummary(stack.simulator.dataset.sessionsForUser(legacyId), { thresholds: DEFAULT_THRESHOLDS }).level,
    );
  }
});

test('only a launch ltijs accepted leaves its claims behind', async () => {
  const student = learners[3]!.person;
  const before = await keptClaims();
  const refused = await stack
    .browser()
    .launch({ platform: 'canvas', courseId: course.id, userId: student.lmsUserId, tamper: { badSignature: true } });
  expect(refused.status).toBe(401);
  expect(await keptClaims()).toBe(before);
  const accepted = await stack.browser().launch({ platform: 'canvas', courseId: course.id, userId: student.lmsUserId });
  expect(accepted.status).toBe(200);
  expect(await keptClaims()).toBe(before + 1);
});

const LEGACY_CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id';
const pageOf = async (b: ReturnType<S['browser']>, ltik: string) => b.get(`${stack.tool.url}/me?ltik=${encodeURIComponent(ltik)}`);
const withSessions = () =>
  learners
    .filter((m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(canvasLegacyUserId(m.person)).length > 0)
    .map((m) => m.person);

test('each session reads the legacy id of its own launch, not of the user’s latest one', async () => {
  const [student, other] = withSessions();
  const first = stack.browser();
  const a = await first.launch({ platform: 'canvas', courseId: course.id, userId: student!.lmsUserId });
  expect(a.status).toBe(200);
  const ownIds = stack.simulator.dataset
    .sessionsForUser(canvasLegacyUserId(student!))
    .slice(0, 25)
    .map((s) => s.id);
  // A later launch of the same user (same iss, client, deployment and sub) carrying another legacy id.
  const later = await stack.browser().launch({
    platform: 'canvas',
    courseId: course.id,
    userId: student!.lmsUserId,
    tamper: { setClaims: { [LEGACY_CLAIM]: canvasLegacyUserId(other!) } },
  });
  expect(later.status).toBe(200);
  expect(idsIn(later.html)).toEqual(
    stack.simulator.dataset
      .sessionsForUser(canvasLegacyUserId(other!))
      .slice(0, 25)
      .map((s) => s.id),
  );
  const again = await pageOf(first, a.ltik!);
  expect(again.status).toBe(200);
  expect(idsIn(again.html)).toEqual(ownIds);
});

test('a launch without the claim has no legacy id: a page naming the mapping, not an earlier launch’s records', async () => {
  const [student] = withSessions();
  expect((await stack.browser().launch({ platform: 'canvas', courseId: course.id, userId: student!.lmsUserId })).status).toBe(200);
  const res = await stack
    .browser()
    .launch({ platform: 'canvas', courseId: course.id, userId: student!.lmsUserId, tamper: { setClaims: { [LEGACY_CLAIM]: null } } });
  expect(res.status).toBe(422);
  expect(res.html).toContain('<code>identity_unmapped</code>');
  expect(textOf(res.html)).toMatch(/Your LMS user id could not be used/);
  expect(textOf(res.html)).toMatch(/maps users by “lti11_legacy_user_id”, and the launch did not carry it/);
  expect(res.html).not.toContain('data-session-id');
});
