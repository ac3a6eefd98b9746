/**
 * The spine, end to end over real HTTP: LMS emulator → OIDC login → signed id_token → ltijs →
 * our plugin → PostgreSQL → tool → isnotai simulator → HTML.
 */
import { attrValues, tableRows, testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;

beforeAll(async () => {
  stack = await testStack('student');
});
afterAll(async () => {
  await stack?.stop();
});

test('a Moodle student launch shows that student’s sessions, and only theirs', async () => {
  const browser = stack.browser();
  const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4' });
  expect(res.status).toBe(200);
  expect(res.url).toContain('/me?');
  expect(res.html).toContain('What was recorded about you');
  const expected = stack.simulator.dataset.sessionsForUser('4');
  expect(expected.length).toBeGreaterThan(0);
  const ids = attrValues(res.html, 'data-session-id');
  // First page: the newest 25 (the simulator orders newest first).
  expect(ids).toEqual(expected.slice(0, 25).map((s) => s.id));
  const rows = tableRows(res.html, 'sessions');
  expect(rows[0]?.[3]).toBe(expected[0]?.botScore.toFixed(2));
  // Nothing of anyone else.
  const others = new Set(
    stack.simulator.dataset
      .allSessions()
      .filter((s) => s.userId !== '4')
      .map((s) => s.id),
  );
  expect(ids.some((id) => others.has(id))).toBe(false);
  expect(res.html).toMatch(new RegExp(`data-testid="session-count">${expected.length}<`));
});

test('a Canvas student is found through the canvas_user_id custom claim, not the opaque sub', async () => {
  const world = stack.world.platforms.find((p) => p.kind === 'canvas')!;
  const learner = world.courses[0]!.members.find((m) => m.role === 'learner')!.person;
  const res = await stack.browser().launch({ platform: 'canvas', courseId: world.courses[0]!.id, userId: learner.lmsUserId });
  expect(res.status).toBe(200);
  const expected = stack.simulator.dataset
    .sessionsForUser(learner.lmsUserId)
    .slice(0, 25)
    .map((s) => s.id);
  expect(attrValues(res.html, 'data-session-id')).toEqual(expected);
});
