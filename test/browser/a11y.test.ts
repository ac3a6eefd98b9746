/**
 * axe-core in real Chromium on the pages people meet: the demo LMS page, the student page inside
 * its frame, a refusal page, the "open in a new window" page, the platform storage page and every page
 * of the tool in its own window. No violation may remain on the tool's pages, nor a serious or critical
 * one on the others. Focus indicators reach 3:1 against the page behind them. The review workflow's pages
 * (docs/product.md "Review") are checked too, each in the state that shows the most of it: the roster as a work queue,
 * a learner's review with history, notes and a correction, a session's marks and a signal's evidence, the refusals of
 * a write (422, 409, the CSRF 403) and the end of the queue. (The tool's CSP forbids injected scripts, so the axe
 * contexts bypass CSP.)
 */
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { seedDemoReviews } from '../../src/dev/demoReviews';
import { LtiBrowser } from '../../src/dev/lms';
import { testStack } from '../support/stack';
import { axeViolations } from './support/axe';
import { blockAllFramedCookies, launchChromium, launchChromiumProfile, launchFromDemoPage, TIMEOUT_MS } from './support/chromium';
import { visitToolPages, type ToolPageName } from './support/toolPages';

jest.setTimeout(120_000);

const SAM = { platform: 'moodle' as const, courseId: '2', userId: '4' };

let stack: Awaited<ReturnType<typeof testStack>>;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  stack = await testStack('a11y', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
  browser = await launchChromium();
  context = await browser.newContext({ bypassCSP: true });
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.stop();
});

const seriousViolations = (where: Parameters<typeof axeViolations>[0]) => axeViolations(where, ['serious', 'critical']);

test('the demo LMS page', async () => {
  const page = await context.newPage();
  await page.goto(`${stack.lms.url}/`, { timeout: TIMEOUT_MS });
  expect(await seriousViolations(page)).toEqual([]);
  await page.close();
});

test('the student page, inside the LMS frame', async () => {
  const page = await context.newPage();
  const frame = await launchFromDemoPage(page, stack.lms.url, SAM);
  await frame.waitForURL(/\/me\?ltik=/, { timeout: TIMEOUT_MS });
  await frame.waitForSelector('table[data-testid="sessions"]', { timeout: TIMEOUT_MS });
  expect(await seriousViolations(frame)).toEqual([]);
  await page.close();
});

test('a refusal page', async () => {
  const page = await context.newPage();
  const res = await page.goto(`${stack.tool.url}/me`, { timeout: TIMEOUT_MS });
  expect(res?.status()).toBe(401);
  expect(await seriousViolations(page)).toEqual([]);
  await page.close();
});

test('the “open in a new window” page', async () => {
  const profile = await launchChromiumProfile(blockAllFramedCookies('127.0.0.1', 'localhost'), { bypassCSP: true });
  try {
    const page = await profile.context.newPage();
    const frame = await launchFromDemoPage(page, stack.lms.url, SAM);
    await frame.getByRole('button', { name: 'Open the tool in a new window' }).waitFor({ timeout: TIMEOUT_MS });
    expect(await seriousViolations(frame)).toEqual([]);
  } finally {
    await profile.close();
  }
});

test('the platform storage page, as shown when the LMS does not answer', async () => {
  // The page as a Safari-like browser gets it from a Canvas launch; with no LMS window around it,
  // its script falls back to the new-window button.
  const agent = new LtiBrowser({ lmsUrl: stack.lms.url, blockFramedCookies: true });
  const course = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses[0]!;
  const learner = course.members.find((m) => m.role === 'learner')!.person.lmsUserId;
  const step = await agent.launch({ platform: 'canvas', courseId: course.id, userId: learner, target: 'iframe' });
  expect(step.html).toContain('id="lti-storage"');
  const page = await context.newPage();
  // On the tool's origin, so the page's stylesheet and script load as they would in the frame.
  await page.goto(`${stack.tool.url}/assets/app.css`, { timeout: TIMEOUT_MS });
  await page.setContent(step.html.replace('<head>', `<head><base href="${stack.tool.url}/">`), { timeout: TIMEOUT_MS });
  await page.getByRole('button', { name: 'Open the tool in a new window' }).waitFor({ timeout: TIMEOUT_MS });
  expect(await page.locator('#storage-wait').isHidden()).toBe(true);
  expect(await seriousViolations(page)).toEqual([]);
  await page.close();
});

test('the roster, a learner and a session, the admin pages and the student page (top-level window): no violation', async () => {
  const page = await context.newPage();
  const problems: Partial<Record<ToolPageName, string[]>> = {};
  await visitToolPages(page, stack.lms.url, async (name) => {
    problems[name] = await axeViolations(page);
  });
  const none: string[] = [];
  const everyPage = {
    roster: none,
    learner: none,
    session: none,
    sessions: none,
    audit: none,
    lookup: none,
    settings: none,
    student: none,
  };
  expect(problems).toEqual(everyPage);
  await page.close();
});

test('every focus indicator on the roster reaches 3:1 against the page behind it', async () => {
  const page = await context.newPage();
  await page.goto(`${stack.lms.url}/moodle/launch?course=2&user=3&target=window`, { timeout: TIMEOUT_MS });
  await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
  await page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })"); // the filters' fields too
  const seen = new Map<string, string>();
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const found = (await page.evaluate(FOCUS_RING)) as { what: string; problem: string } | null;
    if (found) seen.set(found.what, found.problem);
  }
  expect([...seen].filter(([, problem]) => problem !== '')).toEqual([]);
  const kinds = new Set([...seen.keys()].map((what) => what.split(' ')[0]));
  expect([...kinds].sort()).toEqual(expect.arrayContaining(['a', 'button', 'input', 'summary']));
  await page.close();
});

/**
 * In the page: the focused element's outline, as "" when it is at least 2px wide and 3:1 (WCAG relative
 * luminance) against the first opaque background behind the element, or what is wrong with it. Null when the
 * focus is in a part the browser draws inside a field (a date field's picker button): its style cannot be read.
 */
const FOCUS_RING = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body || !el.matches(':focus')) return null;
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const linear = (v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => linear(v / 255)); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  let bg = 'rgb(255, 255, 255)';
  for (let n = el.parentElement; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (rgb(c).length === 3 || rgb(c)[3] === 1) { bg = c; break; }
  }
  const s = getComputedStyle(el);
  const [hi, lo] = [lum(s.outlineColor), lum(bg)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  const what = el.tagName.toLowerCase() + ' ' + (el.getAttribute('name') || el.textContent.trim().slice(0, 30));
  if (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) return { what, problem: 'no outline of 2px or more' };
  return { what, problem: ratio < 3 ? s.outlineColor + ' on ' + bg + ' is ' + ratio.toFixed(2) + ':1' : '' };
})()`;

describe('the review workflow’s pages (after the tests above, with the demo’s review records seeded): no violation', () => {
  const CORRECTION = 'Correction: the office hours were on Thursday, not Wednesday.';
  let page: Page;
  let ltik: string;
  const url = (path: string, params: Record<string, string | string[]> = {}) => {
    const u = new URL(path, stack.tool.url);
    for (const [name, value] of Object.entries(params)) for (const v of [value].flat()) u.searchParams.append(name, v);
    u.searchParams.set('ltik', ltik);
    return u.toString();
  };
  /** Runs `act` (a form's submit); answers the POST's response once the page it leads to has loaded. */
  const posting = async (where: Page, act: () => Promise<void>): Promise<Response> => {
    const [res] = await Promise.all([
      where.waitForResponse((r) => r.request().method() === 'POST', { timeout: TIMEOUT_MS }),
      where.waitForEvent('load', { timeout: TIMEOUT_MS }),
      act(),
    ]);
    return res;
  };
  /** The first learner of the roster filtered by `review` (e.g. the one the demo left at "Concern"). */
  const learnerWith = async (review: string): Promise<string> => {
    await page.goto(url('/course', { review }), { timeout: TIMEOUT_MS });
    const href = await page.locator('table[data-testid="roster"] tbody tr:first-child th a').getAttribute('href');
    return new URL(href!, stack.tool.url).pathname;
  };

  beforeAll(async () => {
    expect(await seedDemoReviews(stack.tool.store, stack.world, stack.lms.platforms.moodle, stack.simulator.dataset)).toBeGreaterThan(0);
    page = await context.newPage();
    await page.goto(`${stack.lms.url}/moodle/launch?course=2&user=3&target=window`, { timeout: TIMEOUT_MS });
    await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
    ltik = new URL(page.url()).searchParams.get('ltik')!;
  });
  afterAll(async () => {
    await page?.close();
  });

  test('the roster as a work queue: its triage line and review column, sorted by review, and refusing an unknown review filter (422)', async () => {
    const problems: Record<string, string[]> = {};
    await page.goto(url('/course'), { timeout: TIMEOUT_MS });
    await expect(page.getByTestId('triage').isVisible()).resolves.toBe(true);
    expect(await page.locator('td[data-review]').count()).toBeGreaterThan(0);
    problems['queue order'] = await axeViolations(page);

    // Sorted by review: every review state on the first page (and the caption's way back to the queue order).
    await page.goto(url('/course', { sort_by: 'review', sort_direction: 'desc' }), { timeout: TIMEOUT_MS });
    const states = await page
      .locator('td[data-review]')
      .evaluateAll((tds) => [...new Set(tds.map((td) => td.getAttribute('data-review')))]);
    expect(states).toEqual(expect.arrayContaining(['in_review', 'no_concern', 'concern', 'referred']));
    await expect(page.getByRole('link', { name: 'back to the work-queue order' }).isVisible()).resolves.toBe(true);
    problems['sorted by review'] = await axeViolations(page);

    const res = await page.goto(url('/course', { review: 'looked_at' }), { timeout: TIMEOUT_MS });
    expect(res?.status()).toBe(422);
    expect(await page.locator('details.filters-box').getAttribute('open')).not.toBeNull();
    await expect(page.locator('#f-review .field-error').isVisible()).resolves.toBe(true);
    problems['invalid review filter'] = await axeViolations(page);
    expect(problems).toEqual({ 'queue order': [], 'sorted by review': [], 'invalid review filter': [] });
  });

  test('a learner’s review with its history, notes and a correction, just saved; a session’s marks, and a signal’s evidence', async () => {
    const problems: Record<string, string[]> = {};
    const learner = await learnerWith('concern');
    await page.goto(url(learner), { timeout: TIMEOUT_MS });
    // A correction of the learner's note, through the form.
    await page.locator('#review-corrects').selectOption({ index: 1 });
    await page.locator('#review-note').fill(CORRECTION);
    expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(303);
    await page.waitForSelector('[data-testid="review-saved"]', { timeout: TIMEOUT_MS });
    expect(await page.locator('table[data-testid="review-history"] tbody tr').count()).toBeGreaterThan(0);
    await expect(page.getByTestId('review-notes').innerText()).resolves.toContain(CORRECTION);
    await expect(page.getByTestId('note-corrects').isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('note-corrected-by').isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('review-marked').isVisible()).resolves.toBe(true);
    problems['learner'] = await axeViolations(page);

    // A session of theirs with a signal that has events behind it, marked through its form: the mark, its history, "Saved".
    const withSignals = await page
      .locator('table[data-testid="sessions"] tbody tr:has(td[data-label="Signals"] li) a[href*="/sessions/"]')
      .evaluateAll((links) => links.map((a) => a.getAttribute('href')!));
    let found = false;
    for (const href of withSignals) {
      await page.goto(new URL(href, stack.tool.url).toString(), { timeout: TIMEOUT_MS });
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
    problems['session with marks'] = await axeViolations(page);

    // One of its signals selected: the events behind it, and their marks on the activity timeline.
    await page.getByTestId('evidence-link').first().click();
    await page.waitForSelector('[data-testid="evidence"]', { timeout: TIMEOUT_MS });
    expect(new URL(page.url()).searchParams.get('signal')).toBeTruthy();
    expect(await page.locator('table[data-testid="timeline"] th', { hasText: 'Marked' }).count()).toBe(1);
    problems['session with a signal selected'] = await axeViolations(page);

    // The mark form refused (Concern needs a note): the 422 page with the mark form.
    await page.locator('#mark-choice-concern').check();
    expect((await posting(page, () => page.locator('#mark-submit').click())).status()).toBe(422);
    await expect(page.getByTestId('review-problem').isVisible()).resolves.toBe(true);
    await expect(page.locator('#mark-note').getAttribute('aria-invalid')).resolves.toBe('true');
    problems['mark refused (422)'] = await axeViolations(page);
    expect(problems).toEqual({
      learner: [],
      'session with marks': [],
      'session with a signal selected': [],
      'mark refused (422)': [],
    });
  });

  test('a write refused: a reason missing (422), a stale version (409), a wrong CSRF token (403)', async () => {
    const problems: Record<string, string[]> = {};
    await page.goto(url('/course'), { timeout: TIMEOUT_MS });
    const learner = new URL(
      (await page.locator('table[data-testid="roster"] tbody tr:first-child th a').getAttribute('href'))!,
      stack.tool.url,
    ).pathname;

    await page.goto(url(learner), { timeout: TIMEOUT_MS });
    await page.locator('#review-status-concern').check();
    await page.locator('#review-note').fill('Typed before choosing a reason.');
    expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(422);
    await expect(page.getByTestId('review-errors').isVisible()).resolves.toBe(true);
    await expect(page.locator('#review-reason').getAttribute('aria-invalid')).resolves.toBe('true');
    problems['reason missing (422)'] = await axeViolations(page);

    // Two tabs on the same learner: the first saves, the second sends a form based on the older version.
    const other = await context.newPage();
    try {
      await page.goto(url(learner), { timeout: TIMEOUT_MS });
      await other.goto(url(learner), { timeout: TIMEOUT_MS });
      await page.locator('#review-note').fill('Saved in the first tab.');
      expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(303);
      await other.locator('#review-note').fill('Typed in the second tab.');
      expect((await posting(other, () => other.locator('#review-submit').click())).status()).toBe(409);
      await expect(other.getByTestId('review-changes').innerText()).resolves.toContain('Saved in the first tab.');
      await expect(other.locator('#review-note').inputValue()).resolves.toBe('Typed in the second tab.');
      problems['stale version (409)'] = await axeViolations(other);
    } finally {
      await other.close();
    }

    await page.goto(url(learner), { timeout: TIMEOUT_MS });
    await page.evaluate(`document.querySelector('form[data-testid="review-form"] input[name="csrf"]').value = 'tampered'`);
    await page.locator('#review-note').fill('Sent with a wrong token.');
    expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(403);
    await expect(page.getByTestId('copy-note').inputValue()).resolves.toBe('Sent with a wrong token.');
    problems['wrong CSRF token (403)'] = await axeViolations(page);
    expect(problems).toEqual({ 'reason missing (422)': [], 'stale version (409)': [], 'wrong CSRF token (403)': [] });
  });

  test('the end of the queue: everyone in the list has been reviewed', async () => {
    const res = await page.goto(url('/course/next', { queue: 'review=no_concern' }), { timeout: TIMEOUT_MS });
    expect(res?.status()).toBe(200);
    await page.waitForSelector('[data-testid="queue-end"]', { timeout: TIMEOUT_MS });
    await expect(page.locator('h1').textContent()).resolves.toBe('Everyone in this list has been reviewed');
    expect(await axeViolations(page)).toEqual([]);
  });
});
