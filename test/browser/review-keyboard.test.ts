/**
 * The review workflow by keyboard alone, in real Chromium inside the demo LMS's tool frame (docs/product.md "Review"):
 * the teacher launches into the course and lands on the roster (its work-queue order read first), Tabs to the first
 * learner in that order, reaches the review form, chooses a status with the arrow keys, types a reason and a note,
 * sends it from the keyboard, reads "Saved" with the status, the note and the history entry, and Tabs to "Next learner
 * to review", which opens the next learner of the roster's order who is not yet reviewed. No mouse, no click() and no
 * navigation by URL after the launch: every step is a key press, and where the focus is gets checked along the way.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { seedDemoReviews } from '../../src/dev/demoReviews';
import { testStack } from '../support/stack';
import { launchChromium, toolFrame, TIMEOUT_MS } from './support/chromium';
import { focused, tabTo, type Focused } from './support/keyboard';

jest.setTimeout(120_000);

let stack: Awaited<ReturnType<typeof testStack>>;
let browser: Browser;
let context: BrowserContext;

const REASON = 'Answers pasted in one burst in two quizzes in a row.';
const NOTE = 'Asked the student to come to office hours on Thursday.';

beforeAll(async () => {
  stack = await testStack('review-keyboard', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
  // A few learners of the course already reviewed (as the demo has them), so the queue order is not the plain risk order.
  expect(await seedDemoReviews(stack.tool.store, stack.world, stack.lms.platforms.moodle, stack.simulator.dataset)).toBeGreaterThan(0);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.stop();
});

const learnerIdOf = (url: string) => decodeURIComponent(/\/learners\/([^/?#]+)/.exec(url)?.[1] ?? '');

test('roster → first learner in the queue → Concern with a reason and a note → Saved → next learner to review, by keyboard alone', async () => {
  const page = await context.newPage();
  await page.goto(`${stack.lms.url}/`, { timeout: TIMEOUT_MS });
  const lms = page.mainFrame();

  // The launch: on the demo LMS page, Tab to Tina Teacher's "Launch as …" button of Moodle course 2, and Enter.
  const launch =
    'section[aria-labelledby="platform-moodle"] form:has(input[name="course"][value="2"]):has(input[name="user"][value="3"]) button';
  await tabTo(page, lms, launch, { max: 200 });
  expect((await focused(lms))?.text).toBe('Launch as Tina Teacher');
  await page.keyboard.press('Enter');
  const frame = await toolFrame(page);
  await frame.waitForSelector('table[data-testid="roster"] tbody tr', { timeout: TIMEOUT_MS });

  // The roster's order as the teacher sees it: the work queue (not yet reviewed high first, then elevated, then the rest).
  await expect(frame.locator('[data-testid="queue-order"]').textContent()).resolves.toBe(
    'Learners, not yet reviewed high and elevated first',
  );
  const order = (await frame.evaluate(`[...document.querySelectorAll('table[data-testid="roster"] tbody tr')].map((tr) => ({
    userId: tr.getAttribute('data-user-id'),
    name: tr.querySelector('th a')?.textContent.trim() ?? null,
    review: tr.querySelector('td[data-review]')?.getAttribute('data-review') ?? null,
    level: (/risk-([a-z]+)/.exec(tr.querySelector('td[data-label="Risk"] .risk')?.className ?? '') ?? [])[1] ?? null,
  }))`)) as Array<{ userId: string; name: string | null; review: string | null; level: string | null }>;
  const first = order[0]!;
  expect(first).toMatchObject({ review: 'unreviewed', level: 'high' });
  // The riskiest learners are already reviewed (the seeded records): the queue puts the unreviewed high, then the
  // unreviewed elevated, before them.
  const rank = (r: (typeof order)[number]) => (r.review !== 'unreviewed' ? 2 : r.level === 'high' ? 0 : r.level === 'elevated' ? 1 : 2);
  expect(order.map(rank)).toEqual(order.map(rank).sort((a, b) => a - b));
  expect(await frame.getByTestId('triage').innerText()).toMatch(
    /\d+ high, \d+ not yet reviewed, 1 in review, 1 no concern, 1 concern, 1 referred/,
  );
  const expectedNext = order.slice(1).find((r) => r.review === 'unreviewed' && r.name !== null)!;
  expect(expectedNext).toBeDefined();

  // From the LMS page into the frame, through the tool's header and the triage line, to the first learner's link.
  await tabTo(page, frame, 'table[data-testid="roster"] tbody tr:first-child th a', { max: 300 });
  const onFirst = await focused(frame);
  expect(onFirst).toMatchObject({ tag: 'a', text: first.name, visible: true });
  await page.keyboard.press('Enter');
  await frame.waitForURL(new RegExp(`/learners/${encodeURIComponent(first.userId)}\\?`), { timeout: TIMEOUT_MS });
  await frame.waitForSelector('section[data-testid="review"]', { timeout: TIMEOUT_MS });
  await expect(frame.locator('h1').textContent()).resolves.toBe(first.name);

  // The skip link: the first Tab on the page shows it, and Enter moves the focus to the page's content.
  await page.keyboard.press('Tab');
  expect(await focused(frame)).toMatchObject({ tag: 'a', text: 'Skip to content', visible: true });
  const skipShown = (await frame.evaluate(
    `(() => { const r = document.activeElement.getBoundingClientRect(); return r.width > 1 && r.height > 1 && r.bottom > 0 && r.top < innerHeight; })()`,
  )) as boolean;
  expect(skipShown).toBe(true);
  await page.keyboard.press('Enter');
  expect(await focused(frame)).toMatchObject({ tag: 'main', id: 'main' });
  await page.keyboard.press('Tab');
  expect((await focused(frame))?.inMain).toBe(true); // the next stop is in the content, past the tool's header

  // The review form: its status radios are one stop; the arrow keys choose among them, Space keeps the choice.
  await tabTo(page, frame, 'form[data-testid="review-form"] input[type="radio"]');
  const radio = await focused(frame);
  expect(radio).toMatchObject({ tag: 'input', id: 'review-status', checked: true, visible: true }); // "Keep the current status"
  await page.keyboard.press('ArrowDown'); // In review
  await page.keyboard.press('ArrowDown'); // No concern
  await page.keyboard.press('ArrowDown'); // Concern
  await page.keyboard.press('Space');
  expect(await focused(frame)).toMatchObject({ id: 'review-status-concern', checked: true, visible: true });
  await expect(frame.locator('label[for="review-status-concern"]').textContent()).resolves.toContain('Concern');

  // Tab leaves the radio group for the reason, then the note; each shows where the focus is.
  await page.keyboard.press('Tab');
  expect(await focused(frame)).toMatchObject({ tag: 'textarea', id: 'review-reason', visible: true });
  await page.keyboard.type(REASON);
  await page.keyboard.press('Tab');
  expect(await focused(frame)).toMatchObject({ tag: 'textarea', id: 'review-note', visible: true });
  await page.keyboard.type(NOTE);
  // On to the Save button (past "This note corrects", shown when the learner already has a note), which shows its focus too.
  const stops: Focused[] = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab');
    const now = (await focused(frame))!;
    stops.push(now);
    if (now.id === 'review-submit') break;
  }
  expect(stops.every((s) => s.visible)).toBe(true);
  expect(stops.at(-1)).toMatchObject({ tag: 'button', id: 'review-submit', text: 'Save' });
  await page.keyboard.press('Enter');

  // POST, then the redirect back to the learner's page (its review section): "Saved", the status, the note, the history.
  await frame.waitForURL(/saved=\d+/, { timeout: TIMEOUT_MS });
  await frame.waitForSelector('[data-testid="review-saved"]', { timeout: TIMEOUT_MS });
  expect(learnerIdOf(frame.url())).toBe(first.userId);
  await expect(frame.getByRole('status').filter({ hasText: 'Saved' }).isVisible()).resolves.toBe(true);
  await expect(frame.getByTestId('review-status').textContent()).resolves.toBe('Concern');
  const notes = await frame.getByTestId('review-notes').innerText();
  expect(notes).toContain(NOTE);
  expect(notes).toContain('Tina Teacher (Instructor)');
  const latest = await frame.locator('table[data-testid="review-history"] tbody tr').first().innerText();
  expect(latest.replace(/\s+/g, ' ')).toMatch(/Tina Teacher \(Instructor\).*Not yet reviewed → Concern.*Answers pasted in one burst/);

  // "Next learner to review", reached by keyboard from where the page put the focus (its review section), and Enter.
  await tabTo(page, frame, 'a[data-testid="queue-next-link"]', { back: true });
  expect(await focused(frame)).toMatchObject({ tag: 'a', text: 'Next learner to review', visible: true });
  await page.keyboard.press('Enter');
  await frame.waitForURL((url) => /\/learners\//.test(url.pathname) && learnerIdOf(url.toString()) !== first.userId, {
    timeout: TIMEOUT_MS,
  });
  await frame.waitForSelector('section[data-testid="review"]', { timeout: TIMEOUT_MS });

  // A different learner, not yet reviewed, and the next one in the roster's order read at the start.
  const next = learnerIdOf(frame.url());
  expect(next).not.toBe(first.userId);
  expect({ userId: next, name: await frame.locator('h1').textContent() }).toEqual({ userId: expectedNext.userId, name: expectedNext.name });
  await expect(frame.getByTestId('review-status').textContent()).resolves.toBe('Not yet reviewed');
  // It is still the queue: its own "Next learner to review" is there for the one after.
  await expect(frame.getByTestId('queue-next-link').isVisible()).resolves.toBe(true);
  await page.close();
});
