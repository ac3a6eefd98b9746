/**
 * The tool's pages, reached in a top-level window as people reach them: an instructor's roster, a
 * learner and one of their sessions; an administrator's sessions list, audit log, lookup (with a
 * search that finds someone), the registrations, their own registration's settings and the review data of the learner the lookup found; a student's own page. Browser tests visit each in turn.
 */
import type { Page } from 'playwright-core';
import { TIMEOUT_MS } from './chromium';

export type ToolPageName =
  'roster' | 'learner' | 'session' | 'sessions' | 'audit' | 'lookup' | 'registrations' | 'settings' | 'learner data' | 'student';

/** The Moodle course LTI101 of the demo world: its teacher, an administrator and a student. */
const COURSE = 'moodle/launch?course=2';
const INSTRUCTOR = '3';
const ADMIN = '2';
const STUDENT = '4';

function launchUrl(lmsUrl: string, userId: string): string {
  return `${lmsUrl}/${COURSE}&user=${userId}&target=window`;
}

/** Opens each page in `page` and calls `at` with its name once it has loaded. */
export async function visitToolPages(page: Page, lmsUrl: string, at: (name: ToolPageName) => Promise<void>): Promise<void> {
  await page.goto(launchUrl(lmsUrl, INSTRUCTOR), { timeout: TIMEOUT_MS });
  await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
  const someone = (await page.locator('table[data-testid="roster"] tbody tr:first-child a').first().textContent())?.trim() ?? '';
  await at('roster');
  await page.click('table[data-testid="roster"] tbody tr:first-child a');
  await page.waitForSelector('table[data-testid="sessions"]', { timeout: TIMEOUT_MS });
  await at('learner');
  await page.click('table[data-testid="sessions"] tbody tr:first-child td:last-child a');
  await page.waitForSelector('table[data-testid="events"]', { timeout: TIMEOUT_MS });
  await at('session');

  await page.goto(launchUrl(lmsUrl, ADMIN), { timeout: TIMEOUT_MS });
  await page.waitForSelector('table[data-testid="roster"]', { timeout: TIMEOUT_MS });
  const adminPages = [
    ['sessions', 'All sessions'],
    ['audit', 'Audit log'],
    ['lookup', 'Find a student'],
    ['registrations', 'Registrations'],
    ['settings', 'Settings'],
  ] as const;
  for (const [name, label] of adminPages) {
    await page.getByRole('link', { name: label }).click();
    await page.waitForLoadState('load');
    if (name === 'lookup') {
      await page.getByRole('searchbox', { name: 'LMS user id or name' }).fill(someone);
      await page.getByRole('button', { name: 'Find' }).click();
      await page.waitForSelector('table[data-testid="matches"]', { timeout: TIMEOUT_MS });
    }
    await at(name);
  }
  // A learner's review data, to export or erase (src/web/learnerData.ts), as the lookup's first match leads to it.
  await page.getByRole('link', { name: 'Find a student' }).click();
  await page.getByRole('searchbox', { name: 'LMS user id or name' }).fill(someone);
  await page.getByRole('button', { name: 'Find' }).click();
  await page.waitForSelector('table[data-testid="matches"]', { timeout: TIMEOUT_MS });
  await page.locator('table[data-testid="matches"] tbody tr:first-child a', { hasText: 'export or erase' }).click();
  await page.waitForSelector('[data-testid="held"], [data-testid="nothing-held"]', { timeout: TIMEOUT_MS });
  await at('learner data');

  await page.goto(launchUrl(lmsUrl, STUDENT), { timeout: TIMEOUT_MS });
  await page.waitForSelector('table[data-testid="sessions"]', { timeout: TIMEOUT_MS });
  await at('student');
}
