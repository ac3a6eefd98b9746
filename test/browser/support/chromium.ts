/**
 * Real Chromium for browser tests, driven by playwright-core. The Debian `chromium` package is
 * used (CI installs it; tests never download a browser). A missing browser fails the test run
 * with a clear message rather than skipping it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Frame, type Page, type Response } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const TIMEOUT_MS = 30_000;

/** Runs `act` (a form's submit); answers the POST's response once the page it leads to has loaded. */
export async function posting(where: Page, act: () => Promise<void>): Promise<Response> {
  const [res] = await Promise.all([
    where.waitForResponse((r) => r.request().method() === 'POST', { timeout: TIMEOUT_MS }),
    where.waitForEvent('load', { timeout: TIMEOUT_MS }),
    act(),
  ]);
  return res;
}

function requireChromium(): void {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}. Install it with: apt-get install -y chromium (or set CHROMIUM_PATH).`);
  }
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...ARGS, ...extraArgs], timeout: TIMEOUT_MS });
}

export interface ChromiumProfile {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Chromium on a fresh profile with these preferences (Default/Preferences), as a user or an
 * enterprise policy would set them in chrome://settings.
 */
export async function launchChromiumProfile(
  preferences: Record<string, unknown>,
  options: { bypassCSP?: boolean } = {},
): Promise<ChromiumProfile> {
  requireChromium();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isnotai-chromium-'));
  fs.mkdirSync(path.join(dir, 'Default'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'Default', 'Preferences'), JSON.stringify(preferences));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    args: ARGS,
    timeout: TIMEOUT_MS,
    ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** chrome://settings/cookies → "Block third-party cookies" (cookie_controls_mode 1; 0 allows them). */
export const BLOCK_THIRD_PARTY_COOKIES = { profile: { cookie_controls_mode: 1 } };

/**
 * "Block third-party cookies", plus a site exception that refuses every cookie of `toolHost` when
 * the top-level site is `lmsHost` — partitioned ones included. That is a browser that keeps no
 * cookie for a framed cross-site tool at all (as Safari does), while the tool's own window works.
 */
export function blockAllFramedCookies(toolHost: string, lmsHost: string): Record<string, unknown> {
  return {
    profile: { cookie_controls_mode: 1, content_settings: { exceptions: { cookies: { [`${toolHost},${lmsHost}`]: { setting: 2 } } } } },
  };
}

/**
 * Clicks "Launch as …" for a person on the demo LMS page (opening the <details> that may hide
 * them in a large course) and returns the tool's frame.
 */
export async function launchFromDemoPage(
  page: Page,
  lmsUrl: string,
  who: { platform: 'moodle' | 'canvas'; courseId: string; userId: string },
): Promise<Frame> {
  await page.goto(`${lmsUrl}/`, { timeout: TIMEOUT_MS });
  const button = page
    .locator(
      `section[aria-labelledby="platform-${who.platform}"] form:has(input[name="course"][value="${who.courseId}"]):has(input[name="user"][value="${who.userId}"]) button`,
    )
    .first();
  // A person beyond the first ones of a course is in a closed <details>: open it (a function, so that it is called).
  await button.evaluate((el: { closest(selector: string): { open: boolean } | null }) => {
    const d = el.closest('details');
    if (d) d.open = true;
  });
  await button.click({ timeout: TIMEOUT_MS });
  return toolFrame(page);
}

/** What the frame's own script could store: cookies as `document.cookie` shows them after setting two. */
export async function cookiesAFrameCanSet(frame: Frame): Promise<string> {
  // A string expression: the test tsconfig has no DOM types.
  return frame.evaluate(
    "document.cookie = 'probe_plain=1; SameSite=None; Secure; Path=/'; document.cookie = 'probe_partitioned=1; SameSite=None; Secure; Partitioned; Path=/'; document.cookie",
  );
}

/** The demo LMS page's tool frame. */
export async function toolFrame(page: Page): Promise<Frame> {
  const handle = await page.waitForSelector('iframe[name="lms-tool-frame"]', { timeout: TIMEOUT_MS });
  const frame = await handle.contentFrame();
  if (!frame) throw new Error('the tool iframe has no frame');
  return frame;
}
