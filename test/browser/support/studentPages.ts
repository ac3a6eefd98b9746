/**
 * The student's side of the tool (issue 13), reached in a top-level window as a student of the Moodle course LTI101
 * reaches it, each page in the state that shows the most of it: /me with its guidance in each visibility mode the caller
 * can switch to (full always; summary and notice when `setVisibility` is given), their own learner page, one of their
 * flagged sessions with a response just sent through its form ("Saved.", the response, the form again, each signal's
 * innocent causes beside it), and the refusals of a response: too long (422), a wrong CSRF token (403), a session that is
 * not theirs (403). The walk writes a response, so it runs once per test stack. Browser tests visit each in turn; each
 * state is checked here before the test's own checks run on it.
 */
import type { Page } from 'playwright-core';
import type { DemoWorld } from '../../../src/dev/people';
import { posting, TIMEOUT_MS } from './chromium';

export const STUDENT_PAGES = [
  'my record (full)',
  'my record (summary)',
  'my record (notice)',
  'own learner page',
  'session with a response',
  'response too long (422)',
  'wrong CSRF token (403)',
  'a session not theirs (403)',
] as const;
export type StudentPageName = (typeof STUDENT_PAGES)[number];

/** The course of the walk: LTI101 of the demo's Moodle. */
export const COURSE = { platform: 'moodle' as const, courseId: '2' };

/**
 * A learner of LTI101 the demo LMS page shows without opening "Show all" (staff first, then the first learners: 10 in
 * all) who has a flagged session among their newest 25 (the first page of /me), and another learner of the course with
 * sessions, whose session the walk tries to answer.
 */
export function studentsOf(
  world: DemoWorld,
  dataset: { sessionsForUser(userId: string): ReadonlyArray<{ id: string; detectionFlags: readonly string[] }> },
): { student: string; other: string; othersSession: string } {
  const course = world.platforms.find((p) => p.kind === COURSE.platform)!.courses.find((c) => c.id === COURSE.courseId)!;
  const shown = [...course.members].sort((a, b) => Number(a.role === 'learner') - Number(b.role === 'learner')).slice(0, 10);
  const learners = shown.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
  const student = learners.find((id) =>
    dataset
      .sessionsForUser(id)
      .slice(0, 25)
      .some((s) => s.detectionFlags.length > 0),
  );
  const other = learners.find((id) => id !== student && dataset.sessionsForUser(id).length > 0);
  if (!student || !other) throw new Error('the demo course has no learner with a flagged session shown on the LMS page');
  return { student, other, othersSession: dataset.sessionsForUser(other)[0]!.id };
}

export interface StudentWalk {
  lmsUrl: string;
  toolUrl: string;
  /** The student the walk launches as (studentsOf). */
  student: string;
  /** A session id of another learner (the walk posts a response to it, which must be refused). */
  othersSession: string;
  /** Switches the Moodle platform's student visibility (the walk puts it back to full); without it, only full is seen. */
  setVisibility?: (mode: 'full' | 'summary' | 'notice') => Promise<void>;
}

/** Launches the student in `page`'s own window and walks their pages, calling `at` with each state's name. */
export async function visitStudentPages(page: Page, walk: StudentWalk, at: (where: Page, name: StudentPageName) => Promise<void>) {
  const launchUrl = `${walk.lmsUrl}/${COURSE.platform}/launch?course=${COURSE.courseId}&user=${encodeURIComponent(walk.student)}&target=window`;
  const launch = async () => {
    await page.goto(launchUrl, { timeout: TIMEOUT_MS });
    await page.waitForSelector('[data-testid="guidance"]', { timeout: TIMEOUT_MS });
  };

  if (walk.setVisibility) {
    try {
      for (const mode of ['summary', 'notice'] as const) {
        await walk.setVisibility(mode);
        await launch();
        expect(await page.locator('table[data-testid="sessions"]').count()).toBe(0);
        await expect(page.getByTestId('guidance-respond').innerText()).resolves.toContain('Ask your instructor');
        await at(page, mode === 'summary' ? 'my record (summary)' : 'my record (notice)');
      }
    } finally {
      await walk.setVisibility('full');
    }
  }

  // Full: the summary, the sessions and the guidance with the student's own signals first; "Other signals" opened.
  await launch();
  await page.waitForSelector('table[data-testid="sessions"]', { timeout: TIMEOUT_MS });
  await expect(page.getByTestId('guidance-theirs').isVisible()).resolves.toBe(true);
  await page.locator('[data-testid="guidance-others"] > summary').click();
  await at(page, 'my record (full)');
  const ltik = new URL(page.url()).searchParams.get('ltik')!;
  const url = (path: string) => `${new URL(path, walk.toolUrl).toString()}?ltik=${encodeURIComponent(ltik)}`;
  const flagged = await page
    .locator('table[data-testid="sessions"] tbody tr:has(td[data-label="Signals"] li) a[href*="/sessions/"]')
    .first()
    .getAttribute('href');
  expect(flagged).toBeTruthy();

  await page.goto(url(`/learners/${encodeURIComponent(walk.student)}`), { timeout: TIMEOUT_MS });
  await page.waitForSelector('[data-testid="guidance"]', { timeout: TIMEOUT_MS });
  await at(page, 'own learner page');

  // A response sent through the session's form: "Saved.", the response listed, the form again below it.
  await page.goto(new URL(flagged!, walk.toolUrl).toString(), { timeout: TIMEOUT_MS });
  await page.locator('#response-text').fill('I was using dictation software; the pastes are from my own notes.');
  expect((await posting(page, () => page.locator('#response-submit').click())).status()).toBe(303);
  await page.waitForSelector('[data-testid="response-saved"]', { timeout: TIMEOUT_MS });
  expect(await page.locator('[data-testid="response-list"] li').count()).toBeGreaterThan(0);
  expect(await page.getByTestId('signal-causes').count()).toBeGreaterThan(0);
  await at(page, 'session with a response');
  const sessionUrl = page.url();

  // Too long: 422, the text kept in the form, the field marked, the summary linking to it.
  await page.locator('#response-text').fill('x'.repeat(5001));
  expect((await posting(page, () => page.locator('#response-submit').click())).status()).toBe(422);
  await expect(page.getByTestId('review-errors').isVisible()).resolves.toBe(true);
  await expect(page.locator('#response-text').getAttribute('aria-invalid')).resolves.toBe('true');
  await at(page, 'response too long (422)');

  // A wrong CSRF token: 403, the text offered to copy.
  await page.goto(sessionUrl, { timeout: TIMEOUT_MS });
  await page.evaluate(`document.querySelector('form[data-testid="response-form"] input[name="csrf"]').value = 'tampered'`);
  await page.locator('#response-text').fill('Sent with a wrong token.');
  expect((await posting(page, () => page.locator('#response-submit').click())).status()).toBe(403);
  await expect(page.getByTestId('copy-response').inputValue()).resolves.toBe('Sent with a wrong token.');
  await at(page, 'wrong CSRF token (403)');

  // Another learner's session, through the same form pointed at it: 403, the text offered to copy.
  await page.goto(sessionUrl, { timeout: TIMEOUT_MS });
  await page.evaluate(
    `document.querySelector('form[data-testid="response-form"]').action = ${JSON.stringify(`/me/sessions/${encodeURIComponent(walk.othersSession)}/response`)}`,
  );
  await page.locator('#response-text').fill('Sent to someone else’s session.');
  expect((await posting(page, () => page.locator('#response-submit').click())).status()).toBe(403);
  await expect(page.getByTestId('copy-response').inputValue()).resolves.toBe('Sent to someone else’s session.');
  await at(page, 'a session not theirs (403)');
}
