/**
 * Launches running at the same time, over real HTTP, each in its own browser (own cookie jar).
 *
 * Why: ltijs stores the id_token and context token of every launch with Replace. On
 * ltijs-sequelize that is a delete followed by an insert, so two launches of the same user in the
 * same course interleave, one deletes the other's fresh row, and 22–37 % of same-user launches
 * fail with 401 IDTOKEN_NOT_FOUND_DB / CONTEXTTOKEN_NOT_FOUND_DB. Our plugin's Replace is one
 * atomic upsert; a regression to delete-then-insert makes the first test fail.
 *
 * The tests assert correctness only (every launch lands on the right page), never timing.
 */
import type { BrowserResponse } from '../../src/dev/lms';
import { attrValues, testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;

beforeAll(async () => {
  stack = await testStack('concurrency');
});
afterAll(async () => {
  await stack?.stop();
});

interface Outcome {
  index: number;
  userId: string;
  res?: BrowserResponse;
  error?: unknown;
}

/** Runs `count` jobs, `width` at a time; every job settles on its own. */
async function inParallel(count: number, width: number, job: (i: number) => Promise<Outcome>): Promise<Outcome[]> {
  const out: Outcome[] = new Array(count);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const i = next++;
      out[i] = await job(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, count) }, () => worker()));
  return out;
}

function launchAs(userId: string, courseId = '2') {
  return async (index: number): Promise<Outcome> => {
    try {
      const res = await stack.browser().launch({ platform: 'moodle', courseId, userId });
      return { index, userId, res };
    } catch (error) {
      return { index, userId, error };
    }
  };
}

/** Why a launch did not land on the student's own sessions page ('' when it did). */
function failureOf(o: Outcome, expectedIds: readonly string[]): string {
  if (o.error) return `#${o.index} (${o.userId}): ${o.error instanceof Error ? o.error.message : JSON.stringify(o.error)}`;
  const res = o.res!;
  if (res.status !== 200) {
    // The error page names its reference code (e.g. the launch_* code for IDTOKEN_NOT_FOUND_DB).
    const reason = /Reference: <code>([^<]+)<\/code>/.exec(res.html)?.[1] ?? '';
    return `#${o.index} (${o.userId}): ${res.status} at ${new URL(res.url).pathname} ${reason}`;
  }
  if (!res.url.includes('/me?')) return `#${o.index} (${o.userId}): landed on ${new URL(res.url).pathname}`;
  const ids = attrValues(res.html, 'data-session-id');
  if (ids.length === 0) return `#${o.index} (${o.userId}): no data-session-id on the page`;
  if (ids.join() !== expectedIds.join()) return `#${o.index} (${o.userId}): sessions shown are not this student's newest 25`;
  return '';
}

test('200 launches of the same Moodle student, 8 at a time, all land on that student’s sessions', async () => {
  const expected = stack.simulator.dataset
    .sessionsForUser('4')
    .slice(0, 25)
    .map((s) => s.id);
  expect(expected.length).toBeGreaterThan(0);
  const outcomes = await inParallel(200, 8, launchAs('4'));
  const failures = outcomes.map((o) => failureOf(o, expected)).filter(Boolean);
  expect(failures).toEqual([]);
  // Each launch went through the tool's whole flow (login, id_token post, redirect with an ltik).
  const ltiks = new Set(outcomes.map((o) => o.res?.ltik));
  expect(ltiks.size).toBe(200);
});

test('launches of 64 different students, 8 at a time, each see only their own sessions', async () => {
  const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === '2')!;
  const learners = course.members.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
  expect(learners.length).toBeGreaterThanOrEqual(64);
  const chosen = learners.slice(0, 64);
  const outcomes = await inParallel(chosen.length, 8, (i) => launchAs(chosen[i]!)(i));
  const failures = outcomes.map((o) => {
    const expected = stack.simulator.dataset
      .sessionsForUser(o.userId)
      .slice(0, 25)
      .map((s) => s.id);
    // A learner without sessions gets an empty list: nothing to compare ids against, but the page must still load.
    if (expected.length === 0) return o.res?.status === 200 && o.res.url.includes('/me?') ? '' : failureOf(o, ['(none)']);
    return failureOf(o, expected);
  });
  expect(failures.filter(Boolean)).toEqual([]);
});
