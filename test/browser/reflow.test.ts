/**
 * Pages that fit (WCAG 2.2 1.4.10 Reflow): in real Chromium at 320×640 and 390×844 CSS px (phones), and at
 * 768×1024 (the narrowest width where list tables stay tables), every page of the tool lays out without a
 * horizontal page scroll, with its <details> open, and axe finds no violation at all. In the demo LMS's
 * tool frame, 600 px high, the roster shows its first learner on its first screen: its filters stay folded
 * until one is set. The review workflow's pages get the same checks, at those widths and the frame's, and the
 * roster keeps its first learner on the frame's first screen with its triage line and review column filled.
 */
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { seedDemoReviews } from '../../src/dev/demoReviews';
import { testStack } from '../support/stack';
import { axeViolations } from './support/axe';
import { launchChromium, launchFromDemoPage, TIMEOUT_MS } from './support/chromium';
import { visitToolPages, type ToolPageName } from './support/toolPages';

jest.setTimeout(240_000);

let stack: Awaited<ReturnType<typeof testStack>>;
let browser: Browser;

beforeAll(async () => {
  stack = await testStack('reflow', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** How far the page is wider than its window, e.g. "892 px wide in 375 px", or null when it fits. */
async function horizontalOverflow(page: Page): Promise<string | null> {
  const { scrollWidth, clientWidth } = (await page.evaluate(
    '({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })',
  )) as { scrollWidth: number; clientWidth: number };
  return scrollWidth <= clientWidth ? null : `${scrollWidth} px wide in ${clientWidth} px`;
}

/** Phones at their narrowest and commonest, and the narrowest width where list tables stay tables. */
const VIEWPORTS = [
  { width: 320, height: 640 },
  { width: 390, height: 844 },
  { width: 768, height: 1024 },
];

describe.each(VIEWPORTS)('at $width×$height CSS px', (viewport) => {
  let context: BrowserContext;
  beforeAll(async () => {
    context = await browser.newContext({ viewport, bypassCSP: true });
  });
  afterAll(async () => {
    await context?.close();
  });

  test('every page reflows without a horizontal page scroll, and axe finds no violation', async () => {
    const page = await context.newPage();
    const overflowing: Partial<Record<ToolPageName, string>> = {};
    const violations: Partial<Record<ToolPageName, string[]>> = {};
    const seen: ToolPageName[] = [];
    await visitToolPages(page, stack.lms.url, async (name) => {
      seen.push(name);
      // Everything a reader can open counts: the chart data tables and collapsed forms too.
      await page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })");
      const overflow = await horizontalOverflow(page);
      if (overflow) overflowing[name] = overflow;
      const found = await axeViolations(page);
      if (found.length > 0) violations[name] = found;
    });
    expect(seen).toEqual(['roster', 'learner', 'session', 'sessions', 'audit', 'lookup', 'settings', 'student']);
    expect({ overflowing, violations }).toEqual({ overflowing: {}, violations: {} });
    await page.close();
  });
});

interface RosterInFrame {
  /** Whether it shows its triage line (counts per risk level × review state). */
  triage: boolean;
  frameWidth: number;
  frameHeight: number;
  scrollY: number;
  rowTop: number;
  rowBottom: number;
}

/**
 * The teacher's roster as the demo LMS page shows it in its tool frame, 600 px high: the frame's size and where its
 * first learner's row is. The demo page sizes the frame to the window's height less 6rem (src/dev/lms/demoPage.ts), and
 * at this width its frame is about as wide as it is high.
 */
async function rosterInTheDemoFrame(): Promise<RosterInFrame> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 600 + 96 } });
  try {
    const page = await context.newPage();
    const frame = await launchFromDemoPage(page, stack.lms.url, { platform: 'moodle', courseId: '2', userId: '3' });
    await frame.waitForSelector('table[data-testid="roster"] tbody tr', { timeout: TIMEOUT_MS });
    return (await frame.evaluate(`(() => {
      const row = document.querySelector('table[data-testid="roster"] tbody tr').getBoundingClientRect();
      return { triage: document.querySelector('[data-testid="triage"]') !== null, frameWidth: window.innerWidth, frameHeight: window.innerHeight, scrollY: window.scrollY, rowTop: Math.round(row.top), rowBottom: Math.round(row.bottom) };
    })()`)) as RosterInFrame;
  } finally {
    await context.close();
  }
}

function expectFirstLearnerOnTheFirstScreen(seen: RosterInFrame): void {
  expect({ frameHeight: seen.frameHeight, scrollY: seen.scrollY }).toEqual({ frameHeight: 600, scrollY: 0 });
  expect(seen.rowTop).toBeGreaterThan(0);
  expect(seen.rowBottom).toBeLessThanOrEqual(seen.frameHeight); // the whole row, not just its top edge
}

test('in the demo LMS’s 600 px-high tool frame, the roster shows its first learner on the first screen', async () => {
  expectFirstLearnerOnTheFirstScreen(await rosterInTheDemoFrame());
});

test('the roster’s filters stay folded until one is set, and open when one is set or invalid', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  try {
    const page = await context.newPage();
    await page.goto(`${stack.lms.url}/moodle/launch?course=2&user=3&target=window`, { timeout: TIMEOUT_MS });
    await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
    const filtersOpen = async () => (await page.locator('details.filters-box').getAttribute('open')) !== null;
    const roster = new URL(page.url());
    const open: Record<string, unknown> = { none: await filtersOpen() };
    for (const [name, param, value] of [
      ['risk', 'risk', 'high'],
      ['unavailable', 'risk', 'unavailable'],
      ['search', 'query', 'Lopez'],
      ['invalid', 'limit', 'many'],
    ] as const) {
      const url = new URL(roster);
      url.searchParams.set(param, value);
      await page.goto(url.toString(), { timeout: TIMEOUT_MS });
      open[name] = await filtersOpen();
    }
    expect(open).toEqual({ none: false, risk: true, unavailable: true, search: true, invalid: true });
    // The invalid one shows its error summary and the form with the marked field, not folded away.
    await expect(page.getByTestId('list-errors').isVisible()).resolves.toBe(true);
    await expect(page.getByRole('spinbutton', { name: 'Per page' }).isVisible()).resolves.toBe(true);
  } finally {
    await context.close();
  }
});

/**
 * The review workflow's pages (docs/product.md "Review"), each in the state that shows the most of it, reached as
 * test/browser/a11y.test.ts reaches them: the roster as a work queue (its triage line and review column), a learner's
 * review panel with history, notes and a correction, a session's marks and a signal's evidence, the case packet, the
 * refusals of a write (422, 409, the CSRF 403) and the end of the queue. Pages that answer a POST cannot be loaded again,
 * so each is laid out again at every width by resizing its window; the LMS frame's own width is one of them.
 */
describe('the review workflow’s pages (after the tests above, with the demo’s review records seeded)', () => {
  const CORRECTION = 'Correction: the office hours were on Thursday, not Wednesday.';
  let context: BrowserContext;
  let page: Page;
  let ltik: string;
  let inFrame: RosterInFrame;
  let widths: Array<{ width: number; height: number }>;
  const DESKTOP = { width: 1280, height: 720 };
  const overflowing: Record<string, string> = {};
  const violations: Record<string, string[]> = {};

  const url = (path: string, params: Record<string, string> = {}) => {
    const u = new URL(path, stack.tool.url);
    for (const [name, value] of Object.entries(params)) u.searchParams.append(name, value);
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
  /** The same checks as every other page's, at every width, on the page `where` shows now; then back to a desktop window. */
  const check = async (where: Page, name: string) => {
    for (const viewport of widths) {
      await where.setViewportSize(viewport);
      await where.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })");
      const overflow = await horizontalOverflow(where);
      if (overflow) overflowing[`${name} at ${viewport.width}`] = overflow;
      const found = await axeViolations(where);
      if (found.length > 0) violations[`${name} at ${viewport.width}`] = found;
    }
    await where.setViewportSize(DESKTOP);
  };
  const firstLearner = async (params: Record<string, string> = {}): Promise<string> => {
    await page.goto(url('/course', params), { timeout: TIMEOUT_MS });
    const href = await page.locator('table[data-testid="roster"] tbody tr:first-child th a').getAttribute('href');
    return new URL(href!, stack.tool.url).pathname;
  };

  beforeAll(async () => {
    expect(await seedDemoReviews(stack.tool.store, stack.world, stack.lms.platforms.moodle, stack.simulator.dataset)).toBeGreaterThan(0);
    inFrame = await rosterInTheDemoFrame();
    widths = [...VIEWPORTS, { width: inFrame.frameWidth, height: inFrame.frameHeight }];
    context = await browser.newContext({ viewport: DESKTOP, bypassCSP: true });
    page = await context.newPage();
    await page.goto(`${stack.lms.url}/moodle/launch?course=2&user=3&target=window`, { timeout: TIMEOUT_MS });
    await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
    ltik = new URL(page.url()).searchParams.get('ltik')!;
  });
  afterAll(async () => {
    await context?.close();
  });

  test('in the demo LMS’s tool frame, the roster with its triage line still shows its first learner on the first screen', async () => {
    expect(inFrame.triage).toBe(true);
    expectFirstLearnerOnTheFirstScreen(inFrame);
  });

  test('every page reflows without a horizontal page scroll at 320, 390 and 768 CSS px and the frame’s width, and axe finds no violation', async () => {
    const seen: string[] = [];
    const at = async (where: Page, name: string) => {
      seen.push(name);
      await check(where, name);
    };

    // The roster as a work queue, sorted by review, and refusing an unknown review filter (422).
    await page.goto(url('/course'), { timeout: TIMEOUT_MS });
    expect(await page.locator('td[data-review]').count()).toBeGreaterThan(0);
    await at(page, 'queue');
    await page.goto(url('/course', { sort_by: 'review', sort_direction: 'desc' }), { timeout: TIMEOUT_MS });
    await expect(page.getByRole('link', { name: 'back to the work-queue order' }).isVisible()).resolves.toBe(true);
    await at(page, 'queue sorted by review');
    expect((await page.goto(url('/course', { review: 'looked_at' }), { timeout: TIMEOUT_MS }))?.status()).toBe(422);
    await at(page, 'queue with an invalid filter (422)');

    // A learner's review just saved with a correction of a note: its history, notes and marks.
    const concern = await firstLearner({ review: 'concern' });
    await page.goto(url(concern), { timeout: TIMEOUT_MS });
    await page.locator('#review-corrects').selectOption({ index: 1 });
    await page.locator('#review-note').fill(CORRECTION);
    expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(303);
    await page.waitForSelector('[data-testid="review-saved"]', { timeout: TIMEOUT_MS });
    expect(await page.locator('table[data-testid="review-history"] tbody tr').count()).toBeGreaterThan(0);
    await expect(page.getByTestId('note-corrects').isVisible()).resolves.toBe(true);
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

    // A session of theirs with a signal that has events behind it, marked: its mark and history, then the evidence.
    await page.goto(learnerUrl, { timeout: TIMEOUT_MS });
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
    expect(await page.locator('table[data-testid="mark-history"] tbody tr').count()).toBeGreaterThan(0);
    await at(page, 'session with marks');
    await page.getByTestId('evidence-link').first().click();
    await page.waitForSelector('[data-testid="evidence"]', { timeout: TIMEOUT_MS });
    expect(new URL(page.url()).searchParams.get('signal')).toBeTruthy();
    await at(page, 'session with a signal selected');
    await page.locator('#mark-choice-concern').check();
    expect((await posting(page, () => page.locator('#mark-submit').click())).status()).toBe(422);
    await expect(page.getByTestId('review-problem').isVisible()).resolves.toBe(true);
    await at(page, 'mark refused (422)');

    // A write refused: a reason missing (422), a stale version (409, two tabs), a wrong CSRF token (403).
    const learner = await firstLearner();
    await page.goto(url(learner), { timeout: TIMEOUT_MS });
    await page.locator('#review-status-concern').check();
    await page.locator('#review-note').fill('Typed before choosing a reason.');
    expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(422);
    await expect(page.getByTestId('review-errors').isVisible()).resolves.toBe(true);
    await at(page, 'reason missing (422)');
    const other = await context.newPage();
    try {
      await page.goto(url(learner), { timeout: TIMEOUT_MS });
      await other.goto(url(learner), { timeout: TIMEOUT_MS });
      await page.locator('#review-note').fill('Saved in the first tab.');
      expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(303);
      await other.locator('#review-note').fill('Typed in the second tab.');
      expect((await posting(other, () => other.locator('#review-submit').click())).status()).toBe(409);
      await expect(other.getByTestId('review-changes').innerText()).resolves.toContain('Saved in the first tab.');
      await at(other, 'stale version (409)');
    } finally {
      await other.close();
    }
    await page.goto(url(learner), { timeout: TIMEOUT_MS });
    await page.evaluate(`document.querySelector('form[data-testid="review-form"] input[name="csrf"]').value = 'tampered'`);
    await page.locator('#review-note').fill('Sent with a wrong token.');
    expect((await posting(page, () => page.locator('#review-submit').click())).status()).toBe(403);
    await expect(page.getByTestId('copy-note').inputValue()).resolves.toBe('Sent with a wrong token.');
    await at(page, 'wrong CSRF token (403)');

    // The end of the queue: everyone in the list has been reviewed.
    expect((await page.goto(url('/course/next', { queue: 'review=no_concern' }), { timeout: TIMEOUT_MS }))?.status()).toBe(200);
    await page.waitForSelector('[data-testid="queue-end"]', { timeout: TIMEOUT_MS });
    await at(page, 'end of the queue');

    expect(seen).toHaveLength(13);
    expect({ overflowing, violations }).toEqual({ overflowing: {}, violations: {} });
  });
});
