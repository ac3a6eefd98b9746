/**
 * The review workflow's pages (docs/product.md "Review"), reached in a top-level window as the course's teacher reaches
 * them, each in the state that shows the most of it: the roster as a work queue (its triage line and review column,
 * sorted by review, refusing an unknown review filter), a learner's review just saved with a correction of a note, its
 * case packet (and the packet refusing dates it cannot read), a session's marks and a signal's evidence, the refusals of
 * a write (422, 409 from a second tab, the CSRF 403), a learner with an accommodation on record and the register's form
 * refused (422), and the end of the queue. The walk writes (a correction, a mark, a
 * status), so it runs once per test stack, after the demo's review records are seeded (src/dev/demoReviews.ts). Browser
 * tests visit each in turn; each state is checked here before the test's own checks run on it.
 */
import type { Page } from 'playwright-core';
import { posting, TIMEOUT_MS } from './chromium';

/** Every state the walk stops at, in its order. */
export const REVIEW_PAGES = [
  'queue',
  'queue sorted by review',
  'queue with an invalid filter (422)',
  'learner with a review',
  'case packet',
  'case packet with invalid dates (422)',
  'session with marks',
  'session with a signal selected',
  'mark refused (422)',
  'reason missing (422)',
  'learner with an accommodation',
  'accommodation refused (422)',
  'stale version (409)',
  'wrong CSRF token (403)',
  'end of the queue',
] as const;
export type ReviewPageName = (typeof REVIEW_PAGES)[number];

const CORRECTION = 'Correction: the office hours were on Thursday, not Wednesday.';

/**
 * Launches the Moodle course LTI101's teacher in `page`'s own window and walks the review pages, calling `at` with the
 * page that shows each state (the 409 is in a second tab of the same context, closed afterwards) and its name.
 */
export async function visitReviewPages(
  page: Page,
  urls: { lmsUrl: string; toolUrl: string },
  at: (where: Page, name: ReviewPageName) => Promise<void>,
): Promise<void> {
  await page.goto(`${urls.lmsUrl}/moodle/launch?course=2&user=3&target=window`, { timeout: TIMEOUT_MS });
  await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
  const ltik = new URL(page.url()).searchParams.get('ltik')!;
  const url = (path: string, params: Record<string, string> = {}) => {
    const u = new URL(path, urls.toolUrl);
    for (const [name, value] of Object.entries(params)) u.searchParams.append(name, value);
    u.searchParams.set('ltik', ltik);
    return u.toString();
  };
  /** The first learner of the roster, filtered by `params` (e.g. review=concern: one the demo left at "Concern"). */
  const firstLearner = async (params: Record<string, string> = {}): Promise<string> => {
    await page.goto(url('/course', params), { timeout: TIMEOUT_MS });
    const href = await page.locator('table[data-testid="roster"] tbody tr:first-child th a').getAttribute('href');
    return new URL(href!, urls.toolUrl).pathname;
  };

  // The roster as a work queue: its triage line and review column.
  await page.goto(url('/course'), { timeout: TIMEOUT_MS });
  await expect(page.getByTestId('triage').isVisible()).resolves.toBe(true);
  expect(await page.locator('td[data-review]').count()).toBeGreaterThan(0);
  await at(page, 'queue');

  // Sorted by review: every review state on the first page, and the caption's way back to the queue order.
  await page.goto(url('/course', { sort_by: 'review', sort_direction: 'desc' }), { timeout: TIMEOUT_MS });
  const states = await page.locator('td[data-review]').evaluateAll((tds) => [...new Set(tds.map((td) => td.getAttribute('data-review')))]);
  expect(states).toEqual(expect.arrayContaining(['in_review', 'no_concern', 'concern', 'referred']));
  await expect(page.getByRole('link', { name: 'back to the work-queue order' }).isVisible()).resolves.toBe(true);
  await at(page, 'queue sorted by review');

  // An unknown review filter: refused (422), the filters open on the marked field.
  expect((await page.goto(url('/course', { review: 'looked_at' }), { timeout: TIMEOUT_MS }))?.status()).toBe(422);
  expect(await page.locator('details.filters-box').getAttribute('open')).not.toBeNull();
  await expect(page.locator('#f-review .field-error').isVisible()).resolves.toBe(true);
  await at(page, 'queue with an invalid filter (422)');

  // A learner's review just saved with a correction of their note, through the form: its history, notes and marks.
  await page.goto(url(await firstLearner({ review: 'concern' })), { timeout: TIMEOUT_MS });
  await page.locator('#review-corrects').selectOption({ index: 1 });
  await page.locator('#review-note').fill(CORRECTION);
  expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(303);
  await page.waitForSelector('[data-testid="review-saved"]', { timeout: TIMEOUT_MS });
  expect(await page.locator('table[data-testid="review-history"] tbody tr').count()).toBeGreaterThan(0);
  await expect(page.getByTestId('review-notes').innerText()).resolves.toContain(CORRECTION);
  await expect(page.getByTestId('note-corrects').isVisible()).resolves.toBe(true);
  await expect(page.getByTestId('note-corrected-by').isVisible()).resolves.toBe(true);
  await expect(page.getByTestId('review-marked').isVisible()).resolves.toBe(true);
  await at(page, 'learner with a review');
  const learnerUrl = page.url();

  // Its case packet, and the packet refusing dates it cannot read (422).
  const packet = new URL((await page.getByTestId('packet-link').getAttribute('href'))!, learnerUrl).toString();
  await page.goto(packet, { timeout: TIMEOUT_MS });
  await page.waitForSelector('[data-testid="packet-learner"]', { timeout: TIMEOUT_MS });
  await at(page, 'case packet');
  const badDates = new URL(packet);
  badDates.searchParams.set('created_after', 'last week');
  expect((await page.goto(badDates.toString(), { timeout: TIMEOUT_MS }))?.status()).toBe(422);
  await at(page, 'case packet with invalid dates (422)');

  // A session of theirs with a signal that has events behind it, marked through its form: the mark, its history, "Saved".
  await page.goto(learnerUrl, { timeout: TIMEOUT_MS });
  const withSignals = await page
    .locator('table[data-testid="sessions"] tbody tr:has(td[data-label="Signals"] li) a[href*="/sessions/"]')
    .evaluateAll((links) => links.map((a) => a.getAttribute('href')!));
  let found = false;
  for (const href of withSignals) {
    await page.goto(new URL(href, urls.toolUrl).toString(), { timeout: TIMEOUT_MS });
    if ((await page.getByTestId('evidence-link').count()) > 0) {
      found = true;
      break;
    }
  }
  expect(found).toBe(true);
  await page.locator('#mark-choice-concern').check();
  await page.locator('#mark-note').fill('Answers pasted in one burst soon after the quiz opened.');
  expect((await posting(page, () => page.locator('#mark-submit').click())).status()).toBe(303);
  await page.waitForSelector('[data-testid="review-saved"]', { timeout: TIMEOUT_MS });
  await expect(page.getByTestId('session-mark').textContent()).resolves.toBe('Concern');
  expect(await page.locator('table[data-testid="mark-history"] tbody tr').count()).toBe(1);
  await at(page, 'session with marks');

  // One of its signals selected: the events behind it, and their marks on the activity timeline.
  await page.getByTestId('evidence-link').first().click();
  await page.waitForSelector('[data-testid="evidence"]', { timeout: TIMEOUT_MS });
  expect(new URL(page.url()).searchParams.get('signal')).toBeTruthy();
  expect(await page.locator('table[data-testid="timeline"] th', { hasText: 'Marked' }).count()).toBe(1);
  await at(page, 'session with a signal selected');

  // The mark form refused (Concern needs a note): the 422 page with the mark form.
  await page.locator('#mark-choice-concern').check();
  expect((await posting(page, () => page.locator('#mark-submit').click())).status()).toBe(422);
  await expect(page.getByTestId('review-problem').isVisible()).resolves.toBe(true);
  await expect(page.locator('#mark-note').getAttribute('aria-invalid')).resolves.toBe('true');
  await at(page, 'mark refused (422)');

  // A write refused: a reason missing (422).
  const learner = await firstLearner();
  await page.goto(url(learner), { timeout: TIMEOUT_MS });
  await page.locator('#review-status-concern').check();
  await page.locator('#review-note').fill('Typed before choosing a reason.');
  expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(422);
  await expect(page.getByTestId('review-errors').isVisible()).resolves.toBe(true);
  await expect(page.locator('#review-reason').getAttribute('aria-invalid')).resolves.toBe('true');
  await at(page, 'reason missing (422)');

  // An accommodation recorded through the register's form (docs/product.md "Accommodations"): the entry, "Saved.".
  await page.goto(url(learner), { timeout: TIMEOUT_MS });
  await page.locator('#accommodation-kind-keyboard_only').check();
  await page.locator('#accommodation-detail').fill('Uses the keyboard only, as agreed with disability services.');
  expect((await posting(page, () => page.locator('#accommodation-submit').click())).status()).toBe(303);
  await page.waitForSelector('[data-testid="accommodation-saved"]', { timeout: TIMEOUT_MS });
  await expect(page.getByTestId('accommodations-in-effect').innerText()).resolves.toContain('Keyboard-only use');
  await at(page, 'learner with an accommodation');

  // The register's form refused: "Other" without a description (422), the form again with the field marked.
  await page.locator('#accommodation-kind-other').check();
  expect((await posting(page, () => page.locator('#accommodation-submit').click())).status()).toBe(422);
  await expect(page.getByTestId('review-errors').isVisible()).resolves.toBe(true);
  await expect(page.locator('#accommodation-detail').getAttribute('aria-invalid')).resolves.toBe('true');
  await at(page, 'accommodation refused (422)');

  // A stale version (409): two tabs on the same learner, the first saves, the second sends a form based on the older one.
  const other = await page.context().newPage();
  try {
    await page.goto(url(learner), { timeout: TIMEOUT_MS });
    await other.goto(url(learner), { timeout: TIMEOUT_MS });
    await page.locator('#review-note').fill('Saved in the first tab.');
    expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(303);
    await other.locator('#review-note').fill('Typed in the second tab.');
    expect((await posting(other, () => other.locator('#review-submit').click())).status()).toBe(409);
    await expect(other.getByTestId('review-changes').innerText()).resolves.toContain('Saved in the first tab.');
    await expect(other.locator('#review-note').inputValue()).resolves.toBe('Typed in the second tab.');
    await at(other, 'stale version (409)');
  } finally {
    await other.close();
  }

  // A wrong CSRF token (403): what was typed is offered to copy.
  await page.goto(url(learner), { timeout: TIMEOUT_MS });
  await page.evaluate(`document.querySelector('form[data-testid="review-form"] input[name="csrf"]').value = 'tampered'`);
  await page.locator('#review-note').fill('Sent with a wrong token.');
  expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(403);
  await expect(page.getByTestId('copy-note').inputValue()).resolves.toBe('Sent with a wrong token.');
  await at(page, 'wrong CSRF token (403)');

  // The end of the queue: everyone in the list has been reviewed.
  expect((await page.goto(url('/course/next', { queue: 'review=no_concern' }), { timeout: TIMEOUT_MS }))?.status()).toBe(200);
  await page.waitForSelector('[data-testid="queue-end"]', { timeout: TIMEOUT_MS });
  await expect(page.locator('h1').textContent()).resolves.toBe('Everyone in this list has been reviewed');
  await at(page, 'end of the queue');
}
