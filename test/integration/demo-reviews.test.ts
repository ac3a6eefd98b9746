/** The demo arrives with a few learners of LTI101 already reviewed, once, written through the real store with audit rows. */
import { sql } from 'kysely';
import { seedDemoReviews } from '../../src/dev/demoReviews';
import { createReviewStore } from '../../src/store';
import { testStack } from '../support/stack';

let stack: Awaited<ReturnType<typeof testStack>>;
beforeAll(async () => {
  stack = await testStack('demo-reviews');
});
afterAll(async () => {
  await stack?.stop();
});

test('seeding writes review records on LTI101 with their audit rows, and a second start leaves them as they are', async () => {
  const moodle = stack.lms.platforms.moodle;
  const seed = () => seedDemoReviews(stack.tool.store, stack.world, moodle, stack.simulator.dataset);
  expect(await seed()).toBe(5);
  const course = { platformIss: moodle.issuer, platformClientId: moodle.clientId, deploymentId: moodle.deploymentId, contextId: '2' };
  const lines = await createReviewStore(stack.tool.store.db).courseLines(course);
  expect([...lines.values()].map((l) => l.status ?? 'unreviewed').sort()).toEqual([
    'concern',
    'in_review',
    'no_concern',
    'referred',
    'unreviewed',
  ]);
  for (const l of lines.values()) expect(l.lastBy.name).toBe('Tina Teacher');
  const concerned = [...lines.entries()].find(([, l]) => l.status === 'concern')![0];
  const record = await createReviewStore(stack.tool.store.db).read({ ...course, userId: concerned });
  expect(record.notes).toHaveLength(1);
  expect(record.sessionMarks.map((m) => m.mark)).toEqual(['concern']);
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log WHERE action LIKE 'review.%'`.execute(stack.tool.store.db);
  expect(Number(rows[0]!.n)).toBe(8);

  expect(await seed()).toBe(0);
  expect((await createReviewStore(stack.tool.store.db).courseLines(course)).size).toBe(5);
});
