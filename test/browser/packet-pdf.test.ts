/**
 * The case packet as a conduct office receives it: opened by the course's teacher in real Chromium from the learner's
 * page, and printed with Chromium's own PDF output (the print stylesheet applies). The PDF's text has none of the tool's
 * navigation, holds the notes and the viewer log, and each section starts a new page. axe finds nothing on the page.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext } from 'playwright-core';
import { projectRoot } from '../../src/app';
import { ROLE } from '../../src/dev/lms/claims';
import type { ReviewAuthor } from '../../src/store';
import { reviewSeeder } from '../support/reviews';
import { testStack } from '../support/stack';
import { axeViolations } from './support/axe';
import { launchChromium, TIMEOUT_MS } from './support/chromium';

jest.setTimeout(120_000);

let stack: Awaited<ReturnType<typeof testStack>>;
let browser: Browser;
let context: BrowserContext;

const TINA: ReviewAuthor = { lmsUserId: '3', name: 'Tina Teacher', roles: [ROLE.membershipInstructor], audience: 'instructor' };
const NOTE = 'Met the student on 12 November; they draft answers in a text editor first.';
const CORRECTION = 'Correction: the meeting was on 13 November.';
const MARK_NOTE = 'Answers pasted in one burst soon after the quiz opened.';
const REASON = 'Paste bursts in two quizzes in a row.';

beforeAll(async () => {
  stack = await testStack('browser-packet', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
  const reviews = reviewSeeder(stack, 'moodle', '2');
  const session = stack.simulator.dataset.sessionsForUser('4')[0]!.id;
  await reviews.write('4', TINA, { status: { to: 'concern', reason: REASON } });
  await reviews.write('4', TINA, { note: { body: NOTE, correctsId: null } });
  await reviews.write('4', TINA, { mark: { sessionId: session, mark: 'concern', note: MARK_NOTE } });
  const first = (await reviews.store.read(reviews.keyOf('4'))).notes[0]!;
  await reviews.write('4', TINA, { note: { body: CORRECTION, correctsId: first.id } });
  browser = await launchChromium();
  // axe is injected into the page, which the tool's CSP (no scripts at all) would otherwise refuse.
  context = await browser.newContext({ bypassCSP: true });
});
/**
 * The text of each page of a PDF, read by pdf-parse (PDF.js) in a plain Node process: PDF.js loads its worker with a
 * dynamic import(), which jest's module sandbox refuses.
 */
async function pdfPages(pdf: Buffer): Promise<Array<{ text: string; num: number }>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'packet-pdf-'));
  const file = path.join(dir, 'packet.pdf');
  fs.writeFileSync(file, pdf);
  const script = `
    const { PDFParse } = require('pdf-parse');
    const parser = new PDFParse({ data: new Uint8Array(require('node:fs').readFileSync(process.argv[1])) });
    parser.getText().then(async (r) => { await parser.destroy(); process.stdout.write(JSON.stringify(r.pages)); });
  `;
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, file], {
      cwd: projectRoot(),
      maxBuffer: 32 * 1024 * 1024,
    });
    return JSON.parse(stdout) as Array<{ text: string; num: number }>;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.stop();
});

test('the teacher prints the case packet to PDF: no navigation, the notes, the viewer log, a new page per section', async () => {
  const page = await context.newPage();
  // The teacher launches the tool in its own window, as the demo LMS's "new window" link does, and opens the learner.
  await page.goto(`${stack.lms.url}/moodle/launch?course=2&user=3&target=window`, { timeout: TIMEOUT_MS });
  await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
  const ltik = new URL(page.url()).searchParams.get('ltik')!;
  await page.goto(`${stack.tool.url}/learners/4?ltik=${encodeURIComponent(ltik)}`, { timeout: TIMEOUT_MS });
  await page.getByRole('link', { name: 'Case packet (printable)' }).click();
  await page.waitForSelector('[data-testid="packet-generated"]', { timeout: TIMEOUT_MS });
  expect(new URL(page.url()).pathname).toBe('/learners/4/packet');
  // On screen the page still has the tool's navigation and says how to print.
  await expect(page.getByRole('navigation', { name: 'Tool' }).isVisible()).resolves.toBe(true);
  await expect(page.getByTestId('print-hint').textContent()).resolves.toContain(
    'Print it or save it as PDF with your browser’s Print command',
  );
  expect(await axeViolations(page)).toEqual([]);

  const pdf = await page.pdf({ format: 'A4' });
  const pages = await pdfPages(pdf);
  const flat = (s: string) => s.replace(/\s+/g, ' ').trim();
  const text = flat(pages.map((p) => p.text).join(' '));

  // No navigation: the tool's menu, brand, skip link, sign-out button, breadcrumbs and on-screen hints are not printed.
  for (const absent of [
    'Integrity signals',
    'Course roster',
    'Skip to content',
    'Sign out',
    'Print it or save it as PDF',
    'Back to the learner’s page',
  ])
    expect(text).not.toContain(absent);

  // The notes (the correction as such), the status's reason and the session's mark.
  expect(text).toContain(NOTE);
  expect(text).toContain(CORRECTION);
  expect(text).toMatch(/Note 2 — correction of note 1/);
  expect(text).toContain(REASON);
  expect(text).toContain(MARK_NOTE);

  // The viewer log: the teacher's view of the learner's page and this packet's generation, each with who and when.
  expect(text).toMatch(/Viewer log/);
  expect(text).toMatch(/\d{4}, \d\d:\d\d UTC 3 Instructor or teaching assistant Generated this learner’s case packet/);
  expect(text).toMatch(/\d{4}, \d\d:\d\d UTC 3 Instructor or teaching assistant Opened the learner’s page/);
  expect(text).toMatch(/Generated .+ UTC by Tina Teacher \(Instructor, LMS user id 3\)/);

  // Page breaks between the sections: each section's heading opens a page of its own.
  expect(pages.length).toBeGreaterThan(1);
  const openings = pages.map((p) => flat(p.text));
  expect(openings[0]).toMatch(/^Case packet: Sam Student Learner and course/);
  for (const heading of ['Risk summary', 'Sessions', 'Review', 'Viewer log', 'About this packet'])
    expect(openings.some((o) => o.startsWith(`${heading} `) || o === heading)).toBe(true);
  await page.close();
});
