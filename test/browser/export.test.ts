/**
 * Exports as an instructor meets them in the LMS frame on a phone-sized window: the roster's export
 * links carry every learner matching the filters (not the page shown), and both CSV and JSON arrive as
 * downloads, so the frame keeps showing the roster instead of raw JSON.
 *
 * Inside a cross-site frame the download must carry the tool's partitioned cookie: with a `download`
 * attribute on the links, Chromium fetched the file without it and the download failed ("canceled").
 */
import fs from 'node:fs';
import type { Browser, Download, Frame, Page } from 'playwright-core';
import { testStack } from '../support/stack';
import { launchChromium, launchFromDemoPage, TIMEOUT_MS } from './support/chromium';

jest.setTimeout(180_000);

let stack: Awaited<ReturnType<typeof testStack>>;
let browser: Browser;

beforeAll(async () => {
  stack = await testStack('browser-export', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Clicks an export link in the frame and returns what was downloaded, as text. */
async function download(page: Page, frame: Frame, label: 'CSV' | 'JSON'): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([
    page.waitForEvent('download', { timeout: TIMEOUT_MS }) as Promise<Download>,
    frame.getByTestId('exports').getByRole('link', { name: label }).click(),
  ]);
  const failure = await file.failure();
  if (failure) throw new Error(`the ${label} download failed: ${failure} (${file.url()})`);
  const path = await file.path();
  return { name: file.suggestedFilename(), text: fs.readFileSync(path, 'utf8') };
}

test('in the LMS frame at 390×844, exporting a roster filtered to its 150 learners downloads 150 rows as CSV and as JSON', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, acceptDownloads: true });
  try {
    const page = await context.newPage();
    const frame = await launchFromDemoPage(page, stack.lms.url, { platform: 'moodle', courseId: '2', userId: '3' });
    await frame.waitForSelector('table[data-testid="roster"] tbody tr', { timeout: TIMEOUT_MS });
    // Filter as a person does: open the folded filters, tick both enrolment states, apply.
    await frame.locator('details.filters-box summary').click();
    const enrolment = frame.getByRole('group', { name: 'Enrolment in the LMS' });
    await enrolment.getByRole('checkbox', { name: 'Active', exact: true }).check();
    await enrolment.getByRole('checkbox', { name: 'Inactive (suspended or concluded)' }).check();
    await frame.getByRole('button', { name: 'Apply' }).click();
    await frame.waitForSelector('table[data-testid="roster"] tbody tr', { timeout: TIMEOUT_MS });
    expect(new URL(frame.url()).searchParams.getAll('enrollment')).toEqual(['active', 'inactive']);
    const shown = await frame.locator('table[data-testid="roster"] tbody tr').count();
    expect(shown).toBe(50);
    await expect(frame.getByTestId('exports').textContent()).resolves.toContain('Export all 150 learners matching these filters');

    const csv = await download(page, frame, 'CSV');
    expect(csv.name).toBe('roster-LTI101.csv');
    const rows = csv.text
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r\n/);
    expect(rows[0]).toMatch(/^name,email,user_id,risk,/);
    expect(rows.slice(1)).toHaveLength(150);

    const json = await download(page, frame, 'JSON');
    expect(json.name).toBe('roster-LTI101.json');
    const body = JSON.parse(json.text) as { total: number; items: Array<{ userId: string }> };
    expect(body.total).toBe(150);
    expect(new Set(body.items.map((i) => i.userId)).size).toBe(150);

    // The frame still shows the roster: nothing opened raw JSON (or CSV) inside the LMS.
    expect(new URL(frame.url()).pathname).toBe('/course');
    await expect(frame.locator('table[data-testid="roster"]').isVisible()).resolves.toBe(true);

    // An export that fails (here a filter value the tool refuses) is not a download: in the frame it is a
    // page that says what went wrong, not raw JSON.
    const failing = new URL('/course.json', frame.url());
    failing.searchParams.set('risk', 'purple');
    failing.searchParams.set('ltik', new URL(frame.url()).searchParams.get('ltik')!);
    const answer = await frame.goto(failing.toString(), { timeout: TIMEOUT_MS });
    expect(answer?.status()).toBe(422);
    expect(answer?.headers()['content-type']).toMatch(/^text\/html/);
    await expect(frame.locator('h1').textContent()).resolves.toMatch(/\S/);
    await expect(frame.locator('body').textContent()).resolves.toContain('purple');
  } finally {
    await context.close();
  }
});
