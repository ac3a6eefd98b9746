/**
 * axe-core in real Chromium on the pages people meet: the demo LMS page, the student page inside
 * its frame, a refusal page, the "open in a new window" page and the platform storage page. No serious or critical
 * violation may remain. (The tool's CSP forbids injected scripts, so the axe contexts bypass CSP.)
 */
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { LtiBrowser } from '../../src/dev/lms';
import { testStack } from '../support/stack';
import { blockAllFramedCookies, launchChromium, launchChromiumProfile, launchFromDemoPage, TIMEOUT_MS } from './support/chromium';

jest.setTimeout(120_000);

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

const AXE_PATH = require.resolve('axe-core/axe.min.js');
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

async function seriousViolations(where: Page | Frame): Promise<string[]> {
  await where.addScriptTag({ path: AXE_PATH });
  const result = (await where.evaluate('axe.run(document).then((r) => ({ violations: r.violations, passes: r.passes.length }))')) as { violations: AxeViolation[]; passes: number };
  expect(result.passes).toBeGreaterThan(10); // axe really looked at the page
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => JSON.stringify(n.target)).slice(0, 5).join(', ')}`);
}

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

test('the instructor’s roster, a learner and a session, and the admin pages (top-level window)', async () => {
  const page = await context.newPage();
  const problems: Record<string, string[]> = {};
  await page.goto(`${stack.lms.url}/moodle/launch?course=2&user=3&target=window`, { timeout: TIMEOUT_MS });
  await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
  problems.roster = await seriousViolations(page);
  await page.click('table[data-testid="roster"] tbody tr:first-child a');
  await page.waitForSelector('table[data-testid="sessions"] figure, figure.chart, table[data-testid="sessions"]', { timeout: TIMEOUT_MS });
  problems.learner = await seriousViolations(page);
  await page.click('table[data-testid="sessions"] tbody tr:first-child td:last-child a');
  await page.waitForSelector('table[data-testid="events"]', { timeout: TIMEOUT_MS });
  problems.session = await seriousViolations(page);
  await page.goto(`${stack.lms.url}/moodle/launch?course=2&user=2&target=window`, { timeout: TIMEOUT_MS });
  await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
  for (const [name, label] of [['sessions', 'All sessions'], ['audit', 'Audit log'], ['lookup', 'Find a student'], ['settings', 'Settings']] as const) {
    await page.getByRole('link', { name: label }).click();
    await page.waitForLoadState('load');
    problems[name] = await seriousViolations(page);
  }
  expect(problems).toEqual({ roster: [], learner: [], session: [], sessions: [], audit: [], lookup: [], settings: [] });
  await page.close();
});
