/**
 * The demo arrives with a few learners of LTI101 already reviewed, one learner's response to a flagged session and another's
 * accommodation recorded by the teacher: once, written through the real stores with audit rows.
 */
import { accommodatedSignals, DEFAULT_THRESHOLDS, learnerRiskSummary } from '../../src/risk';
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

test('the demo has one learner’s response to a flagged session and another’s accommodation, each written once', async () => {
  const moodle = stack.lms.platforms.moodle;
  const db = stack.tool.store.db;
  const reg = { platformIss: moodle.issuer, platformClientId: moodle.clientId };
  const studentSide = async () => ({
    responses: await sql<{ user_id: string; session_id: string; body: string; author_lms_user_id: string }>`
      SELECT user_id, session_id, body, author_lms_user_id FROM student_response WHERE platform_iss = ${reg.platformIss}`.execute(db),
    accommodations: await sql<{ user_id: string; kind: string; actor_name: string; context_id: string; removed_at: Date | null }>`
      SELECT s.user_id, a.kind, a.actor_name, s.context_id, a.removed_at FROM accommodation a JOIN accommodation_set s ON s.id = a.set_id
      WHERE s.platform_iss = ${reg.platformIss}`.execute(db),
    audit: await sql<{ action: string; subject_user_id: string }>`
      SELECT action, subject_user_id FROM audit_log WHERE action IN ('response.write', 'accommodation.add') ORDER BY action`.execute(db),
  });
  // The first test seeded already (seedDemoReviews seeds both); a second seed changes nothing.
  const first = await studentSide();
  await seedDemoReviews(stack.tool.store, stack.world, moodle, stack.simulator.dataset);
  expect(await studentSide()).toEqual(first);

  expect(first.responses.rows).toHaveLength(1);
  const response = first.responses.rows[0]!;
  expect(response.body).toBe('I use dictation software because of a wrist injury; the pasted blocks are from it.');
  expect(response.author_lms_user_id).toBe(response.user_id);
  // On one of the writer's own sessions, one that typing or pasting signals raised.
  const session = stack.simulator.dataset.sessionsForUser(response.user_id).find((s) => s.id === response.session_id);
  expect(session?.detectionFlags.some((f) => f === 'paste_burst' || f === 'superhuman_typing_cadence')).toBe(true);

  expect(first.accommodations.rows).toHaveLength(1);
  const accommodation = first.accommodations.rows[0]!;
  expect(accommodation).toMatchObject({ actor_name: 'Tina Teacher', context_id: '2', removed_at: null });
  expect(accommodation.user_id).not.toBe(response.user_id);
  const lti101 = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === '2')!;
  expect(lti101.members.find((m) => m.person.lmsUserId === accommodation.user_id)?.role).toBe('learner');
  // It explains every signal of at least one of that learner's sessions that raised a level (elevated or high).
  const signals = accommodatedSignals([accommodation.kind]);
  expect(
    stack.simulator.dataset
      .sessionsForUser(accommodation.user_id)
      .some((s) => s.botScore >= 0.4 && s.detectionFlags.length > 0 && s.detectionFlags.every((f) => signals.has(f))),
  ).toBe(true);

  // And it lowers that learner's own level, so the demo's pages show "… (High without the accommodated signals)".
  const counted = learnerRiskSummary(stack.simulator.dataset.sessionsForUser(accommodation.user_id), {
    thresholds: DEFAULT_THRESHOLDS,
    accommodated: accommodatedSignals([accommodation.kind]),
  });
  expect(counted.levelWithoutAccommodations).not.toBeNull();
  expect(counted.level).not.toBe(counted.levelWithoutAccommodations);

  expect(first.audit.rows).toEqual([
    { action: 'accommodation.add', subject_user_id: accommodation.user_id },
    { action: 'response.write', subject_user_id: response.user_id },
  ]);
});
