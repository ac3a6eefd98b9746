/**
 * The student's side by keyboard alone, in real Chromium inside the demo LMS's tool frame (issue 13): a student launches,
 * reads on /me what their record means (the link to it, the thresholds in words, their own signals' innocent causes, the
 * other signals opened with Enter), goes back up to one of their flagged sessions and opens it, reaches the response form,
 * types a response and sends it, and lands back on the session with "Saved." taking the focus and the response shown.
 * No mouse, no click() and no navigation by URL after the launch: every step is a key press, and where the focus is gets
 * checked along the way. (axe on every student page, in every visibility mode, is in test/browser/a11y.test.ts.)
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { testStack } from '../support/stack';
import { launchChromium, toolFrame, TIMEOUT_MS } from './support/chromium';
import { focused, tabTo } from './support/keyboard';
import { COURSE, studentsOf } from './support/studentPages';

jest.setTimeout(120_000);

let stack: Awaited<ReturnType<typeof testStack>>;
let browser: Browser;
let context: BrowserContext;
let who: ReturnType<typeof studentsOf>;

const RESPONSE = 'I use dictation software, which types whole words at once.';

beforeAll(async () => {
  stack = await testStack('student-keyboard', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
  who = studentsOf(stack.world, stack.simulator.dataset);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.stop();
});

test('launch → read the guidance on /me → a flagged session → write and send a response → “Saved.”, by keyboard alone', async () => {
  const page = await context.newPage();
  await page.goto(`${stack.lms.url}/`, { timeout: TIMEOUT_MS });
  const lms = page.mainFrame();

  // The launch: on the demo LMS page, Tab to the student's "Launch as …" button of Moodle course 2, and Enter.
  const launch = `section[aria-labelledby="platform-moodle"] form:has(input[name="course"][value="${COURSE.courseId}"]):has(input[name="user"][value="${who.student}"]) button`;
  await tabTo(page, lms, launch, { max: 250 });
  expect((await focused(lms))?.text).toMatch(/^Launch as /);
  await page.keyboard.press('Enter');
  const frame = await toolFrame(page);
  await frame.waitForSelector('table[data-testid="sessions"]', { timeout: TIMEOUT_MS });
  await frame.waitForSelector('[data-testid="guidance"]', { timeout: TIMEOUT_MS });

  // The first flagged session on the page: the one the student will answer.
  const target = (await frame.evaluate(
    `[...document.querySelectorAll('table[data-testid="sessions"] tbody tr')].find((tr) => tr.querySelector('td[data-label="Signals"] li'))?.getAttribute('data-session-id') ?? null`,
  )) as string | null;
  expect(target).not.toBeNull();

  // From the LMS page into the frame, to the intro's link to the guidance; Enter takes the reading there.
  await tabTo(page, frame, 'main a[href="#guidance"]', { max: 300 });
  expect(await focused(frame)).toMatchObject({ tag: 'a', text: 'What this means, and how to respond', visible: true });
  await page.keyboard.press('Enter');
  await frame.waitForFunction(`location.hash === '#guidance'`, undefined, { timeout: TIMEOUT_MS });
  const guidance = frame.getByTestId('guidance');
  await expect(guidance.isVisible()).resolves.toBe(true);
  await expect(frame.getByTestId('guidance-thresholds').innerText()).resolves.toContain('“High” when its score is 0.70 or more');
  await expect(guidance.innerText()).resolves.toMatch(/A person reviews it[\s\S]*A signal is not a finding/);
  await expect(frame.getByTestId('guidance-theirs').innerText()).resolves.toContain('Common innocent causes:');

  // The next Tab from there is in the guidance: "Other signals" opens with Enter.
  await tabTo(page, frame, '[data-testid="guidance-others"] > summary', { max: 10 });
  expect(await focused(frame)).toMatchObject({ tag: 'summary', visible: true });
  await page.keyboard.press('Enter');
  await expect(frame.locator('[data-testid="guidance-others"]').getAttribute('open')).resolves.not.toBeNull();
  await expect(frame.getByTestId('guidance-others').innerText()).resolves.toContain('Common innocent causes:');

  // Back up to the flagged session's "Open" link, and Enter.
  await tabTo(page, frame, `tr[data-session-id="${target}"] a[href*="/sessions/"]`, { back: true, max: 200 });
  expect(await focused(frame)).toMatchObject({ tag: 'a', visible: true });
  await page.keyboard.press('Enter');
  await frame.waitForURL(new RegExp(`/sessions/${target}\\?`), { timeout: TIMEOUT_MS });
  await frame.waitForSelector('[data-testid="own-responses"]', { timeout: TIMEOUT_MS });
  // Beside each signal of the session, its common innocent causes.
  expect(await frame.getByTestId('signal-causes').count()).toBe(await frame.locator('[data-testid="signals"] > li').count());

  // The response form: its labelled field, typed into; then its button, and Enter.
  await tabTo(page, frame, '#response-text', { max: 200 });
  expect(await focused(frame)).toMatchObject({ tag: 'textarea', id: 'response-text', visible: true });
  await page.keyboard.type(RESPONSE);
  await page.keyboard.press('Tab');
  expect(await focused(frame)).toMatchObject({ tag: 'button', id: 'response-submit', text: 'Send response', visible: true });
  await page.keyboard.press('Enter');

  // POST, then the redirect back to the session: "Saved." has the focus, and the response is listed.
  await frame.waitForURL(/saved=\d+/, { timeout: TIMEOUT_MS });
  await frame.waitForSelector('[data-testid="response-saved"]', { timeout: TIMEOUT_MS });
  expect(new URL(frame.url()).pathname).toBe(`/learners/${who.student}/sessions/${target}`);
  await expect(frame.getByRole('status').filter({ hasText: 'Saved. Your response is recorded.' }).isVisible()).resolves.toBe(true);
  await frame.waitForFunction(`document.activeElement && document.activeElement.id === 'response'`, undefined, { timeout: TIMEOUT_MS });
  expect(await focused(frame)).toMatchObject({ tag: 'p', id: 'response', text: 'Saved. Your response is recorded.', visible: true });
  await expect(frame.getByTestId('response-list').innerText()).resolves.toContain(RESPONSE);
  await expect(frame.locator('#response-h').textContent()).resolves.toBe('Your response');
  // The next Tab goes on from "Saved.": into the form below it, not back to the top of the page.
  await page.keyboard.press('Tab');
  expect((await focused(frame))?.inMain).toBe(true);
  await page.close();
});
