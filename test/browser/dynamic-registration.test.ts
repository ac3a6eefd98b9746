/**
 * LTI Dynamic Registration in real Chromium, as Moodle runs it: the LMS page opens startltiadvregistration.php in an
 * iframe, which sends the tool's /register; the tool's page, under its real CSP (framed by the LMS, its two scripts
 * allowed), posts `{subject: "org.imsglobal.lti.close"}` and Canvas's `lti.frameResize` to the LMS page. axe finds no
 * violation on the page (docs/product.md "Installing the tool").
 */
import type { Browser } from 'playwright-core';
import { testStack } from '../support/stack';
import { axeViolations } from './support/axe';
import { launchChromium, TIMEOUT_MS } from './support/chromium';

jest.setTimeout(120_000);

let stack: Awaited<ReturnType<typeof testStack>>;
let browser: Browser;

beforeAll(async () => {
  stack = await testStack('browser_dynreg', { hosts: { tool: '127.0.0.1', lms: 'localhost' }, env: { PLATFORMS_JSON: '[]' } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const startUrl = () =>
  `${stack.lms.url}/moodle/mod/lti/startltiadvregistration.php?${new URLSearchParams({ url: `${stack.tool.url}/register` }).toString()}`;

interface Seen {
  origin: string;
  data: { subject?: string; height?: unknown };
}

test('framed by the LMS, the page tells it the tool is done and how tall it is', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${stack.lms.url}/`, { timeout: TIMEOUT_MS });
    // A string expression: the test tsconfig has no DOM types.
    await page.evaluate(`(() => {
      window.__seen = [];
      window.addEventListener('message', (e) => window.__seen.push({ origin: e.origin, data: e.data }));
      const frame = document.createElement('iframe');
      frame.name = 'registration';
      frame.src = ${JSON.stringify(startUrl())};
      document.body.appendChild(frame);
    })()`);
    await page.waitForFunction(`window.__seen.some((m) => m.data && m.data.subject === 'org.imsglobal.lti.close')`, undefined, {
      timeout: TIMEOUT_MS,
    });
    const seen = (await page.evaluate('window.__seen')) as Seen[];
    const toolOrigin = new URL(stack.tool.url).origin;
    expect(seen.filter((m) => m.data.subject === 'org.imsglobal.lti.close')).toEqual([
      { origin: toolOrigin, data: { subject: 'org.imsglobal.lti.close' } },
    ]);
    await page.waitForFunction(`window.__seen.some((m) => m.data && m.data.subject === 'lti.frameResize')`, undefined, {
      timeout: TIMEOUT_MS,
    });
    const resize = ((await page.evaluate('window.__seen')) as Seen[]).find((m) => m.data.subject === 'lti.frameResize')!;
    expect(resize.origin).toBe(toolOrigin);
    expect(typeof resize.data.height).toBe('number');
    expect(resize.data.height as number).toBeGreaterThan(100);

    // The page was shown in the frame (the CSP let the LMS frame it), and its button sends the message again.
    const frame = page.frame({ name: 'registration' })!;
    await frame.getByRole('heading', { name: /The tool is registered with Moodle at/ }).waitFor({ timeout: TIMEOUT_MS });
    await frame.getByRole('button', { name: 'Close and go back to the LMS' }).click();
    await page.waitForFunction(
      `window.__seen.filter((m) => m.data && m.data.subject === 'org.imsglobal.lti.close').length === 2`,
      undefined,
      { timeout: TIMEOUT_MS },
    );
    expect(stack.lms.toolTypes()).toHaveLength(1);
  } finally {
    await context.close();
  }
});

test('axe finds no violation on the registration page', async () => {
  const context = await browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    const res = await page.goto(startUrl(), { timeout: TIMEOUT_MS });
    expect(res?.status()).toBe(200);
    await page.getByRole('heading', { name: /The tool is registered/ }).waitFor({ timeout: TIMEOUT_MS });
    expect(await axeViolations(page)).toEqual([]);
  } finally {
    await context.close();
  }
});
