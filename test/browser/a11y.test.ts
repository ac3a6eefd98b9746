/**
 * axe-core in real Chromium on the pages people meet: the demo LMS page, the student page inside
 * its frame, a refusal page, the "open in a new window" page, the platform storage page and every page
 * of the tool in its own window. No violation may remain on the tool's pages, nor a serious or critical
 * one on the others. Focus indicators reach 3:1 against the page behind them. The review workflow's pages
 * (docs/product.md "Review") are checked too, each in the state that shows the most of it, by the walk
 * test/browser/reflow.test.ts takes too (test/browser/support/reviewPages.ts): the roster as a work queue, a learner's
 * review with history, notes and a correction, its case packet, a session's marks and a signal's evidence, the refusals
 * of a write (422, 409, the CSRF 403) and the end of the queue. So are the student's pages (test/browser/support/studentPages.ts):
 * /me in each visibility mode (full, summary, notice), their own learner page, a session with a response, and each
 * refused response (422, the CSRF 403, a session not theirs 403). (The tool's CSP forbids injected scripts, so the axe
 * contexts bypass CSP.)
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { sql } from 'kysely';
import { seedDemoReviews } from '../../src/dev/demoReviews';
import { LtiBrowser } from '../../src/dev/lms';
import { testStack } from '../support/stack';
import { axeViolations } from './support/axe';
import { blockAllFramedCookies, launchChromium, launchChromiumProfile, launchFromDemoPage, posting, TIMEOUT_MS } from './support/chromium';
import { REVIEW_PAGES, visitReviewPages, type ReviewPageName } from './support/reviewPages';
import { STUDENT_PAGES, studentsOf, visitStudentPages, type StudentPageName } from './support/studentPages';
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
    registrations: none,
    settings: none,
    'learner data': none,
    student: none,
  };
  expect(problems).toEqual(everyPage);
  await page.close();
});

test('a registration’s settings form, as shown and as refused (422): no violation', async () => {
  // The form is a registration's made by the LMS (src/web/registrations.ts): the Moodle one is made one for this test.
  const moodle = stack.lms.platforms.moodle;
  const source = (s: 'dynamic' | 'config') =>
    sql`UPDATE platform_settings SET source = ${s} WHERE issuer = ${moodle.issuer} AND client_id = ${moodle.clientId}`.execute(
      stack.tool.store.db,
    );
  await source('dynamic');
  const page = await context.newPage();
  try {
    await page.goto(`${stack.lms.url}/moodle/launch?course=2&user=2&target=window`, { timeout: TIMEOUT_MS });
    await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForSelector('form[data-testid="registration-form"]', { timeout: TIMEOUT_MS });
    const shown = await axeViolations(page);
    await page.getByLabel('Retention, in days').fill('0');
    await page.getByLabel('New isnotai API key').fill('not a key');
    const res = await posting(page, () => page.getByRole('button', { name: 'Save the settings' }).click());
    expect(res.status()).toBe(422);
    expect({ shown, refused: await axeViolations(page) }).toEqual({ shown: [], refused: [] });
  } finally {
    await page.close();
    await source('config');
  }
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

describe('the review workflow’s pages (after the tests above, with the demo’s review records seeded)', () => {
  beforeAll(async () => {
    expect(await seedDemoReviews(stack.tool.store, stack.world, stack.lms.platforms.moodle, stack.simulator.dataset)).toBeGreaterThan(0);
  });

  test('the work queue, a learner’s review, the case packet, a session’s marks and evidence, refused writes, the end of the queue: no violation', async () => {
    const page = await context.newPage();
    const problems: Partial<Record<ReviewPageName, string[]>> = {};
    try {
      await visitReviewPages(page, { lmsUrl: stack.lms.url, toolUrl: stack.tool.url }, async (where, name) => {
        problems[name] = await axeViolations(where);
      });
    } finally {
      await page.close();
    }
    expect(problems).toEqual(Object.fromEntries(REVIEW_PAGES.map((name) => [name, []])));
  });
});

describe('the student’s side (issue 13)', () => {
  test('/me with its guidance in each visibility mode, their learner page, a session with a response, refused responses: no violation', async () => {
    const moodle = stack.lms.platforms.moodle;
    const page = await context.newPage();
    const problems: Partial<Record<StudentPageName, string[]>> = {};
    try {
      await visitStudentPages(
        page,
        {
          lmsUrl: stack.lms.url,
          toolUrl: stack.tool.url,
          ...studentsOf(stack.world, stack.simulator.dataset),
          // The walk puts the platform back to "full" when it is done.
          setVisibility: async (mode) => {
            await sql`UPDATE platform_settings SET student_visibility = ${mode} WHERE issuer = ${moodle.issuer} AND client_id = ${moodle.clientId}`.execute(
              stack.tool.store.db,
            );
          },
        },
        async (where, name) => {
          problems[name] = await axeViolations(where);
        },
      );
    } finally {
      await page.close();
    }
    expect(problems).toEqual(Object.fromEntries(STUDENT_PAGES.map((name) => [name, []])));
  });
});
