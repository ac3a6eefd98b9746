/**
 * Pages that fit (WCAG 2.2 1.4.10 Reflow): in real Chromium at 320×640 and 390×844 CSS px (phones), and at
 * 768×1024 (the narrowest width where list tables stay tables), every page of the tool lays out without a
 * horizontal page scroll, with its <details> open, and axe finds no violation at all. In the demo LMS's
 * tool frame, 600 px high, the roster shows its first learner on its first screen: its filters stay folded
 * until one is set.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
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

describe.each([
  { width: 320, height: 640 },
  { width: 390, height: 844 },
  { width: 768, height: 1024 },
])('at $width×$height CSS px', (viewport) => {
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

test('in the demo LMS’s 600 px-high tool frame, the roster shows its first learner on the first screen', async () => {
  // The demo page sizes the tool frame to the window's height less 6rem (src/dev/lms/demoPage.ts),
  // and at this width its frame is about as wide as it is high.
  const context = await browser.newContext({ viewport: { width: 1280, height: 600 + 96 } });
  try {
    const page = await context.newPage();
    const frame = await launchFromDemoPage(page, stack.lms.url, { platform: 'moodle', courseId: '2', userId: '3' });
    await frame.waitForSelector('table[data-testid="roster"] tbody tr', { timeout: TIMEOUT_MS });
    const seen = (await frame.evaluate(`(() => {
      const row = document.querySelector('table[data-testid="roster"] tbody tr').getBoundingClientRect();
      return { frameHeight: window.innerHeight, scrollY: window.scrollY, rowTop: Math.round(row.top), rowBottom: Math.round(row.bottom) };
    })()`)) as { frameHeight: number; scrollY: number; rowTop: number; rowBottom: number };
    expect({ frameHeight: seen.frameHeight, scrollY: seen.scrollY }).toEqual({ frameHeight: 600, scrollY: 0 });
    expect(seen.rowTop).toBeGreaterThan(0);
    expect(seen.rowBottom).toBeLessThanOrEqual(seen.frameHeight); // the whole row, not just its top edge
  } finally {
    await context.close();
  }
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
