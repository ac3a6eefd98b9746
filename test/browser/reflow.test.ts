/**
 * Pages that fit (WCAG 2.2 1.4.10 Reflow): in real Chromium at 320×640 and 390×844 CSS px (phones), and at
 * 768×1024 (the narrowest width where list tables stay tables), every page of the tool lays out without a
 * horizontal page scroll, with its <details> open, and axe finds no violation at all. In the demo LMS's
 * tool frame, 600 px high, the roster shows its first learner on its first screen: its filters stay folded
 * until one is set. The review workflow's pages get the same checks, at those widths and the frame's, and the
 * roster keeps its first learner on the frame's first screen with its triage line and review column filled.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { seedDemoReviews } from '../../src/dev/demoReviews';
import { testStack } from '../support/stack';
import { axeViolations } from './support/axe';
import { launchChromium, launchFromDemoPage, TIMEOUT_MS } from './support/chromium';
import { REVIEW_PAGES, visitReviewPages, type ReviewPageName } from './support/reviewPages';
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
    expect(seen).toEqual([
      'roster',
      'learner',
      'session',
      'sessions',
      'audit',
      'lookup',
      'registrations',
      'settings',
      'learner data',
      'student',
    ]);
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
 * The review workflow's pages (docs/product.md "Review"), each in the state that shows the most of it, reached by the
 * walk test/browser/a11y.test.ts takes too (test/browser/support/reviewPages.ts): the roster as a work queue, a learner's
 * review with history, notes and a correction, its case packet, a session's marks and a signal's evidence, the refusals of
 * a write (422, 409, the CSRF 403) and the end of the queue. Pages that answer a POST cannot be loaded again, so each is
 * laid out again at every width by resizing its window; the LMS frame's own width is one of them. The case packet's wide
 * tables stay tables and scroll sideways on their own, from the keyboard too, where the page is narrower than 48rem.
 */
describe('the review workflow’s pages (after the tests above, with the demo’s review records seeded)', () => {
  let context: BrowserContext;
  let inFrame: RosterInFrame;
  let widths: Array<{ width: number; height: number }>;
  const DESKTOP = { width: 1280, height: 720 };

  beforeAll(async () => {
    expect(await seedDemoReviews(stack.tool.store, stack.world, stack.lms.platforms.moodle, stack.simulator.dataset)).toBeGreaterThan(0);
    inFrame = await rosterInTheDemoFrame();
    widths = [...VIEWPORTS, { width: inFrame.frameWidth, height: inFrame.frameHeight }];
    context = await browser.newContext({ viewport: DESKTOP, bypassCSP: true });
  });
  afterAll(async () => {
    await context?.close();
  });

  test('in the demo LMS’s tool frame, the roster with its triage line still shows its first learner on the first screen', async () => {
    expect(inFrame.triage).toBe(true);
    expectFirstLearnerOnTheFirstScreen(inFrame);
  });

  test('every page reflows without a horizontal page scroll at 320, 390 and 768 CSS px and the frame’s width, and axe finds no violation', async () => {
    const overflowing: Record<string, string> = {};
    const violations: Record<string, string[]> = {};
    const packetTables: Record<string, PacketTable[]> = {};
    const seen: ReviewPageName[] = [];
    const page = await context.newPage();
    // The same checks as every other page's, at every width, on the page `where` shows now; then back to a desktop window.
    await visitReviewPages(page, { lmsUrl: stack.lms.url, toolUrl: stack.tool.url }, async (where, name) => {
      seen.push(name);
      for (const viewport of [...widths, DESKTOP]) {
        await where.setViewportSize(viewport);
        if (name === 'case packet') packetTables[viewport.width] = await packetTablesAt(where);
        if (viewport === DESKTOP) continue;
        await where.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })");
        const overflow = await horizontalOverflow(where);
        if (overflow) overflowing[`${name} at ${viewport.width}`] = overflow;
        const found = await axeViolations(where);
        if (found.length > 0) violations[`${name} at ${viewport.width}`] = found;
      }
    });
    await page.close();

    expect(seen).toEqual(REVIEW_PAGES);
    expect({ overflowing, violations }).toEqual({ overflowing: {}, violations: {} });
    // The packet's three tables stay tables at every width, each in a region named by its caption that the keyboard
    // reaches and, where the region is narrower than its table, scrolls with an arrow key. The sessions' one (seven
    // columns) scrolls within its region below 48rem; at 768 px and wider nothing scrolls.
    const everyTable = Object.fromEntries(
      Object.entries(packetTables).map(([width, tables]) => [
        width,
        tables.map((t) => ({ display: t.display, region: t.region, keyboardScrollsIt: t.keyScrolls === t.scrolls })),
      ]),
    );
    const fine = { display: 'table', region: true, keyboardScrollsIt: true };
    expect(everyTable).toEqual(Object.fromEntries([...widths, DESKTOP].map((v) => [v.width, [fine, fine, fine]])));
    const sessionsScroll = Object.fromEntries(Object.entries(packetTables).map(([width, tables]) => [width, tables[0]!.scrolls]));
    expect(sessionsScroll).toEqual(Object.fromEntries([...widths, DESKTOP].map((v) => [v.width, v.width < 768])));
  });
});

interface PacketTable {
  /** The table's own CSS display: "table" keeps its table semantics in every browser. */
  display: string;
  /** Whether it sits in a region named by its caption that the keyboard can reach. */
  region: boolean;
  /** Whether its region is narrower than the table, so that it scrolls sideways. */
  scrolls: boolean;
  /** Whether ArrowRight on the focused region scrolls it. */
  keyScrolls: boolean;
}

/** The case packet's tables as the page shows them now, each in order; their regions scrolled back afterwards. */
async function packetTablesAt(page: Page): Promise<PacketTable[]> {
  // String expressions: the test tsconfig has no DOM types.
  const shapes = (await page.evaluate(`[...document.querySelectorAll('.packet .packet-table')].map((t) => {
    const box = t.parentElement;
    const caption = t.querySelector('caption');
    return {
      display: getComputedStyle(t).display,
      region: box.getAttribute('role') === 'region' && box.tabIndex === 0 && caption !== null && caption.id !== '' && box.getAttribute('aria-labelledby') === caption.id,
      scrolls: box.scrollWidth > box.clientWidth,
    };
  })`)) as Array<Omit<PacketTable, 'keyScrolls'>>;
  const found: PacketTable[] = [];
  for (const [i, shape] of shapes.entries()) {
    if (!shape.scrolls) {
      found.push({ ...shape, keyScrolls: false });
      continue;
    }
    const region = page.locator('.packet .packet-table').nth(i).locator('xpath=..');
    await region.focus();
    await page.keyboard.press('ArrowRight');
    // Chromium animates a key's scroll: wait for it to move (a second at most) rather than read it at once.
    const box = `document.querySelectorAll('.packet .packet-table')[${i}].parentElement`;
    const keyScrolls = await page
      .waitForFunction(`${box}.scrollLeft > 0`, undefined, { timeout: 1000 })
      .then(() => true)
      .catch(() => false);
    await page.evaluate(`${box}.scrollLeft = 0`);
    found.push({ ...shape, keyScrolls });
  }
  return found;
}
