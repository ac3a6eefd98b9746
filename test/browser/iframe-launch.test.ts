/**
 * The tool inside the demo LMS's iframe, in real Chromium, cross-site (tool on 127.0.0.1, LMS on
 * localhost), as Canvas and Moodle embed it.
 *
 * What Chromium 156 does (checked here, each time):
 * - A fresh profile, and "Block third-party cookies" alike, refuse an unpartitioned
 *   `SameSite=None; Secure` cookie in the framed tool but keep a `Partitioned` one (CHIPS). The
 *   tool's cookies are partitioned, so the framed launch and the links after it work.
 * - With every cookie of the tool refused in the LMS frame (a site exception; what Safari does
 *   to third-party cookies), the tool's cookie check catches it before the LMS spends its
 *   one-time launch, and its "Open the tool in a new window" button completes the launch in a
 *   top-level window.
 */
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { testStack } from '../support/stack';
import {
  blockAllFramedCookies,
  BLOCK_THIRD_PARTY_COOKIES,
  cookiesAFrameCanSet,
  launchChromium,
  launchChromiumProfile,
  launchFromDemoPage,
  TIMEOUT_MS,
} from './support/chromium';

jest.setTimeout(120_000);

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let browser: Browser;

const SAM = { platform: 'moodle' as const, courseId: '2', userId: '4' };

beforeAll(async () => {
  stack = await testStack('browser', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

function expectedIds(userId: string, page = 0): string[] {
  return stack.simulator.dataset
    .sessionsForUser(userId)
    .slice(page * 25, page * 25 + 25)
    .map((s) => s.id);
}

async function sessionIdsIn(where: Frame | Page): Promise<string[]> {
  await where.waitForSelector('table[data-testid="sessions"]', { timeout: TIMEOUT_MS });
  const rows = await where.locator('tr[data-session-id]').all();
  return Promise.all(rows.map(async (r) => (await r.getAttribute('data-session-id')) ?? ''));
}

async function expectStudentPageInFrame(frame: Frame, userId: string, name: string): Promise<void> {
  await frame.waitForURL(/\/me\?ltik=/, { timeout: TIMEOUT_MS });
  expect(await sessionIdsIn(frame)).toEqual(expectedIds(userId));
  expect(await frame.locator('header').innerText()).toContain(name);
}

async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  return page;
}

describe('Chromium, fresh profile', () => {
  let context: BrowserContext;
  beforeEach(async () => {
    context = await browser.newContext();
  });
  afterEach(async () => {
    await context.close();
  });

  test('a framed launch shows the student’s own sessions, on partitioned cookies only', async () => {
    expect(expectedIds(SAM.userId).length).toBeGreaterThan(0);
    const page = await newPage(context);
    const frame = await launchFromDemoPage(page, stack.lms.url, SAM);
    await expectStudentPageInFrame(frame, SAM.userId, 'Sam Student');
    expect(new URL(frame.url()).origin).toBe(stack.tool.url);

    // The frame is third-party and this Chromium refuses unpartitioned cookies there.
    const set = await cookiesAFrameCanSet(frame);
    expect(set).toContain('probe_partitioned=1');
    expect(set).not.toContain('probe_plain=1');
    // The tool's session cookie lives in the LMS's partition.
    const toolCookies = (await context.cookies(stack.tool.url)).filter((c) => !c.name.startsWith('probe_'));
    expect(toolCookies.length).toBeGreaterThan(0);
    for (const c of toolCookies) expect(c.partitionKey).toBe('http://localhost');
  });

  test('a link inside the frame keeps the launch (the ltik travels in the link, the session cookie with it)', async () => {
    const page = await newPage(context);
    const frame = await launchFromDemoPage(page, stack.lms.url, SAM);
    await expectStudentPageInFrame(frame, SAM.userId, 'Sam Student');
    // Students have at most 12 sessions (one page), so follow the tool's own navigation link.
    const link = frame.getByRole('navigation', { name: 'Tool' }).getByRole('link', { name: 'My sessions' });
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^\/me\?ltik=/);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.frame() === frame && new URL(r.url()).pathname === '/me', { timeout: TIMEOUT_MS }),
      link.click(),
    ]);
    expect(response.status()).toBe(200);
    expect(await sessionIdsIn(frame)).toEqual(expectedIds(SAM.userId));
    // The LMS page around it did not move.
    expect(new URL(page.url()).origin).toBe(stack.lms.url);
  });

  test('the same link without the frame’s partitioned session cookie is refused', async () => {
    // The ltik alone is not enough: a copy of the framed URL opened as a top-level page has no
    // cookie in the top-level partition, so ltijs refuses it. Shows the cookie is really used.
    const page = await newPage(context);
    const frame = await launchFromDemoPage(page, stack.lms.url, SAM);
    await expectStudentPageInFrame(frame, SAM.userId, 'Sam Student');
    const top = await newPage(context);
    const res = await top.goto(frame.url(), { timeout: TIMEOUT_MS });
    expect(res?.status()).toBe(401);
    expect(await top.locator('code').first().innerText()).toBe('session_expired');
  });
});

describe('Chromium with “Block third-party cookies” on', () => {
  test('the framed launch works (partitioned cookies are not third-party cookies to Chromium)', async () => {
    const profile = await launchChromiumProfile(BLOCK_THIRD_PARTY_COOKIES);
    try {
      const page = await newPage(profile.context);
      const frame = await launchFromDemoPage(page, stack.lms.url, SAM);
      await expectStudentPageInFrame(frame, SAM.userId, 'Sam Student');
      const set = await cookiesAFrameCanSet(frame);
      expect(set).not.toContain('probe_plain=1');
      expect(set).toContain('probe_partitioned=1');
    } finally {
      await profile.close();
    }
  });
});

describe('Chromium that keeps no cookie at all for the framed tool (as Safari)', () => {
  test('the frame offers a new window, and the launch completes there', async () => {
    const profile = await launchChromiumProfile(blockAllFramedCookies('127.0.0.1', 'localhost'));
    try {
      const page = await newPage(profile.context);
      const frame = await launchFromDemoPage(page, stack.lms.url, SAM);
      const button = frame.getByRole('button', { name: 'Open the tool in a new window' });
      await button.waitFor({ timeout: TIMEOUT_MS });
      expect(await frame.locator('code').first().innerText()).toBe('launch_needs_new_window');
      // Not even a partitioned cookie survives in this frame.
      expect(await cookiesAFrameCanSet(frame)).toBe('');

      const [popup] = await Promise.all([profile.context.waitForEvent('page', { timeout: TIMEOUT_MS }), button.click()]);
      popup.setDefaultTimeout(TIMEOUT_MS);
      await popup.waitForURL(/\/me\?ltik=/, { timeout: TIMEOUT_MS });
      expect(new URL(popup.url()).origin).toBe(stack.tool.url);
      expect(await sessionIdsIn(popup)).toEqual(expectedIds(SAM.userId));
      expect(await popup.locator('header').innerText()).toContain('Sam Student');
    } finally {
      await profile.close();
    }
  });

  test('from an LMS that offers platform storage (Canvas), the launch completes inside the frame', async () => {
    const profile = await launchChromiumProfile(blockAllFramedCookies('127.0.0.1', 'localhost'));
    try {
      const course = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses[0]!;
      const member = course.members.find(
        (m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(m.person.lmsUserId).length > 0,
      )!;
      const page = await newPage(profile.context);
      // The tool's page script and the demo LMS page's storage talk through postMessage.
      const frame = await launchFromDemoPage(page, stack.lms.url, {
        platform: 'canvas',
        courseId: course.id,
        userId: member.person.lmsUserId,
      });
      await frame.waitForURL(/\/me\?ltik=/, { timeout: TIMEOUT_MS });
      await expectStudentPageInFrame(frame, member.person.lmsUserId, member.person.name);
      // No cookie of the tool exists in this browser, partitioned or not.
      expect((await profile.context.cookies(stack.tool.url)).map((c) => c.name)).toEqual([]);
      expect(await cookiesAFrameCanSet(frame)).toBe('');
      // A second page of the tool in the frame, on the ltik alone.
      await frame.goto(frame.url(), { timeout: TIMEOUT_MS });
      await expectStudentPageInFrame(frame, member.person.lmsUserId, member.person.name);
    } finally {
      await profile.close();
    }
  });
});
