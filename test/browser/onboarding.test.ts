/**
 * Issue 14 in real Chromium, on the demo LMS page alone, with the stack started as `npm run demo` starts it (the tool on
 * 127.0.0.1, cross-site in the LMS frame on localhost; the demo Moodle tool-wide): a Moodle admin registers the tool by
 * Dynamic Registration ("Register the tool"), the registration is pending and its launches refused, the tool-wide
 * Moodle's admin activates it in the tool, the new registration's own admin adds the isnotai API key, a teacher places
 * the tool on one quiz by Deep Linking ("Add to an activity") and that activity opens the grading view with only the
 * quiz's sessions (docs/product.md "Installing the tool", "Placements"). axe finds no violation on any page of the tool
 * on the way. The browser keeps the tool's real CSP: axe is evaluated in the page (support/axe.ts), never injected as a
 * script tag.
 *
 * Two pages of the tool leave at once by themselves, by their script (the registered page posts its close message on
 * load; the Deep Linking answer submits itself to the LMS): the test holds that script's request until axe has looked
 * at the page, then lets it through.
 */
import crypto from 'node:crypto';
import type { Browser, BrowserContext, Frame, Page, Route } from 'playwright-core';
import { MOODLE_BASE_URL } from '../../src/dev/simulator/dataset';
import { learnerRiskSummary } from '../../src/risk';
import { sessionInPlacement, type PlacementLens } from '../../src/risk/placement';
import { createRegistrationStore, type Registration } from '../../src/store';
import { testStack } from '../support/stack';
import { axeViolations } from './support/axe';
import { launchChromium, TIMEOUT_MS, toolFrame } from './support/chromium';

jest.setTimeout(180_000);

const ENCRYPTION_KEY = crypto.randomBytes(32).toString('base64url');
const API_KEY = 'aik_v1_sim_pro';
const COURSE = '2';
const ADMIN = '2';
const TEACHER = '3';
const TITLE = 'Quiz grading';

let stack: Awaited<ReturnType<typeof testStack>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** The LMS page's tool frame (the same frame through every launch). */
let frame: Frame;

/** What the steps learn, in their order. */
const found: { typeId?: string; clientId?: string; registration?: Registration; cmid?: string } = {};
/** The axe findings on every page of the tool, by name: all must be empty. */
const axe: Record<string, string[]> = {};

beforeAll(async () => {
  stack = await testStack('browser_onboarding', {
    hosts: { tool: '127.0.0.1', lms: 'localhost' },
    platformSettings: { moodle: { toolWide: true } },
    encryptionKey: ENCRYPTION_KEY,
  });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.goto(`${stack.lms.url}/`, { timeout: TIMEOUT_MS });
  expect(new URL(page.url()).hostname).toBe('localhost');
  frame = await toolFrame(page);
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await stack?.stop();
});

const registrations = () => createRegistrationStore(stack.tool.store.db, { secret: ENCRYPTION_KEY });

/**
 * Holds the first request matching `url` until `open()` is called: `held` resolves with it once it waits. Only that
 * request is held (the route is removed once it has gone on).
 */
async function hold(url: string | RegExp): Promise<{ held: Promise<Route>; open(): Promise<void> }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let caught!: (r: Route) => void;
  const held = new Promise<Route>((resolve) => (caught = resolve));
  let sent!: () => void;
  const gone = new Promise<void>((resolve) => (sent = resolve));
  const handler = async (route: Route) => {
    caught(route);
    await gate;
    try {
      await route.continue();
    } finally {
      sent();
    }
  };
  await page.route(url, handler, { times: 1 });
  return {
    held,
    async open() {
      release();
      await gone;
      await page.unroute(url, handler);
    },
  };
}

/**
 * Launches, in the tool frame, as Moodle does for its tool type (the new client id) from course LTI101: the LMS page
 * points its tool frame at the launch, as its own script does for "Select content".
 */
async function launchToolType(userId: string): Promise<void> {
  const url = `${stack.lms.url}/moodle/launch?${new URLSearchParams({ course: COURSE, user: userId, toolType: found.typeId!, target: 'iframe' })}`;
  await page.locator('iframe[name="lms-tool-frame"]').evaluate((el: unknown, src: string) => {
    (el as { src: string }).src = src;
  }, url);
}

/** Waits for the frame's POST (a form sent from it) and answers its status. */
async function postFromFrame(act: () => Promise<void>): Promise<number> {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.frame() === frame, { timeout: TIMEOUT_MS }),
    act(),
  ]);
  return res.status();
}

test('1. “Register the tool”: the tool’s registered page in the LMS frame, closed by its message; the new tool type listed and activated in Moodle; pending in the tool', async () => {
  await expect(page.locator('#tool-url').inputValue()).resolves.toBe(`${stack.tool.url}/register`);
  expect(stack.lms.toolTypes()).toEqual([]);
  // The page posts its close message as soon as its script runs: held until axe has read the page.
  const closeScript = await hold(`${stack.tool.url}/assets/lti-close.js`);
  await page.locator('#register-tool').click();
  const registrationFrame = (await (await page.waitForSelector('#registration-frame')).contentFrame())!;
  await registrationFrame.getByRole('heading', { name: /The tool is registered with / }).waitFor();
  await closeScript.held;
  await expect(registrationFrame.getByTestId('registration-status').innerText()).resolves.toContain('pending');
  axe.registered = await axeViolations(registrationFrame);
  await closeScript.open();

  // Its close message: the LMS page removes the frame and lists the new tool type, Pending.
  await page.waitForSelector('#registration-frame', { state: 'detached' });
  await expect(page.locator('#registration').isHidden()).resolves.toBe(true);
  await expect(page.locator('#register-status').innerText()).resolves.toContain('The tool finished its registration');
  const card = page.locator('.tool-card[data-state="pending"]');
  await card.waitFor();
  expect(await page.locator('.tool-card').count()).toBe(1);
  found.typeId = (await card.getAttribute('data-type-id'))!;
  found.clientId = (await card.locator('dd code').first().innerText()).trim();
  expect(stack.lms.toolTypes().map((t) => ({ id: t.id, clientId: t.clientId }))).toEqual([{ id: found.typeId, clientId: found.clientId }]);

  // In the tool: a new registration, pending, made by the LMS, with no API key.
  const reg = await registrations().find(stack.lms.platforms.moodle.issuer, found.clientId);
  expect(reg).toMatchObject({ status: 'pending', source: 'dynamic', hasApiKey: false, toolWide: false, deploymentIds: [found.typeId] });
  found.registration = reg;

  // Moodle's own Activate (Manage tools): the tool type is Active in Moodle; the tool's status is its own.
  await card.getByRole('button', { name: /^Activate/ }).click();
  await page.locator(`.tool-card[data-type-id="${found.typeId}"][data-state="active"]`).waitFor();
  await expect(page.locator('#register-status').innerText()).resolves.toContain('is now Active');
  expect((await registrations().get(reg!.id))?.status).toBe('pending');
  expect(axe.registered).toEqual([]);
});

test('2. a launch of the new tool type as the Moodle admin: the tool’s page says the registration waits for activation', async () => {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.frame() === frame && r.status() === 403, { timeout: TIMEOUT_MS }),
    launchToolType(ADMIN),
  ]);
  expect(new URL(res.url()).origin).toBe(stack.tool.url);
  await frame.getByRole('heading', { name: 'This LMS’s registration is waiting to be activated' }).waitFor();
  await expect(frame.locator('[role="alert"] code').first().innerText()).resolves.toBe('platform_pending');
  await expect(frame.locator('[role="alert"]').innerText()).resolves.toContain('the registration has not been activated yet');
  axe.pending = await axeViolations(frame);
  expect(axe.pending).toEqual([]);
});

test('3. the tool-wide demo Moodle’s admin (“Launch as Admin User”) activates the new registration in the tool', async () => {
  const reg = found.registration!;
  const launch = page
    .locator(
      `section[aria-labelledby="platform-moodle"] form:has(input[name="course"][value="${COURSE}"]):has(input[name="user"][value="${ADMIN}"]) button`,
    )
    .first();
  await expect(launch.innerText()).resolves.toBe('Launch as Admin User');
  await launch.click();
  const nav = frame.getByRole('navigation', { name: 'Tool' });
  await nav.getByRole('link', { name: 'Registrations' }).click();
  await frame.waitForURL(/\/admin\/registrations\?/);
  await frame.getByTestId('tool-wide-note').waitFor();
  const row = frame.locator(`table[data-testid="registrations"] tr[data-registration="${reg.id}"]`);
  await expect(row.getByTestId('registration-status').innerText()).resolves.toContain('Pending');
  await expect(row.innerText()).resolves.toContain(found.clientId!);
  await expect(frame.getByTestId('pending-count').innerText()).resolves.toContain('1 registration is pending');
  axe.registrations = await axeViolations(frame);

  await row.getByRole('link').first().click();
  await frame.waitForURL(new RegExp(`/admin/registrations/${reg.id}\\?`));
  const activate = frame.getByRole('button', { name: 'Activate this registration' });
  await activate.waitFor();
  // Another LMS's registration: read-only for this admin, who may only change its status.
  await expect(frame.getByTestId('read-only').isVisible()).resolves.toBe(true);
  expect(await frame.locator('form[data-testid="registration-form"]').count()).toBe(0);
  axe['another registration'] = await axeViolations(frame);

  expect(await postFromFrame(() => activate.click())).toBe(303);
  await frame.getByTestId('registration-saved').waitFor();
  await expect(frame.getByTestId('registration-saved').innerText()).resolves.toContain('Saved');
  await expect(frame.locator('[data-testid="registration-summary"] [data-testid="registration-status"]').innerText()).resolves.toMatch(
    /^Active/,
  );
  await expect(frame.getByRole('button', { name: 'Deactivate this registration' }).isVisible()).resolves.toBe(true);
  axe.activated = await axeViolations(frame);
  expect(await registrations().get(reg.id)).toMatchObject({ status: 'active', hasApiKey: false });
  expect({ registrations: axe.registrations, another: axe['another registration'], activated: axe.activated }).toEqual({
    registrations: [],
    another: [],
    activated: [],
  });
});

test('4. the new registration’s own admin adds the isnotai API key in its settings: “Saved”, the key only “set”', async () => {
  const reg = found.registration!;
  await launchToolType(ADMIN);
  await frame.getByRole('navigation', { name: 'Tool' }).getByRole('link', { name: 'Settings' }).click();
  const form = frame.locator('form[data-testid="registration-form"]');
  await form.waitFor();
  await frame.waitForURL(new RegExp(`/admin/registrations/${reg.id}\\?`));
  await expect(form.getByTestId('api-key-state').innerText()).resolves.toBe('not set');
  axe.settings = await axeViolations(frame);

  // The simulator stands in for the isnotai API: "Another address", as an institution elsewhere would set.
  await frame.getByLabel('Another address (below)').check();
  await frame.getByLabel('Another isnotai address').fill(stack.simulator.url);
  await frame.getByLabel('New isnotai API key').fill(API_KEY);
  expect(await postFromFrame(() => frame.getByRole('button', { name: 'Save the settings' }).click())).toBe(303);
  await frame.getByTestId('registration-saved').waitFor();
  await expect(frame.getByTestId('registration-saved').innerText()).resolves.toMatch(/^Saved\./);
  await expect(frame.locator('form[data-testid="registration-form"]').getByTestId('api-key-state').innerText()).resolves.toBe('set');
  await expect(frame.getByLabel('New isnotai API key').inputValue()).resolves.toBe('');
  expect(await frame.content()).not.toContain(API_KEY);
  axe.saved = await axeViolations(frame);
  expect(await registrations().get(reg.id)).toMatchObject({ status: 'active', hasApiKey: true, isnotaiBaseUrl: stack.simulator.url });
  expect({ settings: axe.settings, saved: axe.saved }).toEqual({ settings: [], saved: [] });
});

/** Learners of LTI101 and their sessions in the simulator. */
function learners(): string[] {
  const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === COURSE)!;
  return course.members.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
}
const sessionsOf = (userId: string) => stack.simulator.dataset.sessionsForUser(userId);

/** The quiz (course module id) most of LTI101's learners' sessions are on. */
function busiestQuiz(): number {
  const counts = new Map<number, number>();
  for (const id of learners()) {
    for (const s of sessionsOf(id)) {
      const m = /\/mod\/quiz\/attempt\.php\?attempt=\d+&cmid=(\d+)$/.exec(s.pageUrl);
      if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
    }
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

let lens: PlacementLens;

test('5. “Add to an activity”: Tina Teacher selects content with the new tool; its placement form, one activity; the LMS lists the activity', async () => {
  const quiz = busiestQuiz();
  lens = {
    scope: 'activity',
    urlPattern: `${MOODLE_BASE_URL}/mod/quiz/*cmid=${quiz}`,
    windowStart: null,
    windowEnd: null,
    thresholds: { high: 0.8, elevated: 0.5 },
  };
  expect(await page.locator('#activities .activity-card').count()).toBe(0);
  await page.locator(`#dl-type-${COURSE}`).selectOption(found.typeId!);
  await expect(page.locator(`#dl-user-${COURSE}`).selectOption({ label: 'Tina Teacher' })).resolves.toEqual([TEACHER]);
  await page.getByRole('button', { name: 'Select content for LTI101' }).click();

  const form = frame.locator('form[data-testid="placement-form"]');
  await form.waitFor();
  await expect(frame.getByRole('heading', { level: 1 }).innerText()).resolves.toContain('Add the tool to your course');
  axe['placement form'] = await axeViolations(frame);

  await frame.getByLabel('Title').fill(TITLE);
  await frame.getByLabel('One activity', { exact: true }).check();
  await frame.getByLabel('Address of the activity’s pages (required for one activity)').fill(lens.urlPattern!);
  await frame.getByLabel('High line').fill('0.80');
  await frame.getByLabel('Elevated line').fill('0.50');

  // The answer submits itself to the LMS as soon as its script runs: the script is held until axe has read the page.
  const autoSubmit = await hold(`${stack.tool.url}/assets/auto-submit.js`);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/deep-linking', { timeout: TIMEOUT_MS }),
    frame.getByRole('button', { name: 'Add to the course' }).click(),
  ]);
  expect(answer.status()).toBe(200);
  await frame.getByRole('heading', { name: 'Returning to the LMS…' }).waitFor();
  await autoSubmit.held;
  await expect(frame.locator('section.notice').innerText()).resolves.toContain(`“${TITLE}” is ready.`);
  axe.answer = await axeViolations(frame);
  // Nobody presses “Return to the LMS”: the page's script sends the signed answer to the LMS.
  const [toLms] = await Promise.all([
    page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/moodle/mod/lti/contentitem_return.php', {
      timeout: TIMEOUT_MS,
    }),
    autoSubmit.open(),
  ]);
  expect(toLms.postData()).toMatch(/^JWT=ey/);

  // The LMS made the activity: its page in the frame, and the demo page lists it with its launch links.
  await frame.locator('#content-item-return').waitFor();
  const card = page.locator('#activities .activity-card', { hasText: TITLE });
  await card.waitFor();
  await expect(card.getByRole('heading', { level: 4 }).innerText()).resolves.toContain(TITLE);
  found.cmid = (await card.getAttribute('data-cmid'))!;
  expect(stack.lms.activities(COURSE).map((a) => ({ cmid: a.cmid, name: a.name, typeId: a.typeId }))).toEqual([
    { cmid: found.cmid, name: TITLE, typeId: found.typeId },
  ]);
  expect({ form: axe['placement form'], answer: axe.answer }).toEqual({ form: [], answer: [] });
});

test('6. the activity launched as Tina Teacher from its card: the grading view, with only the quiz’s sessions', async () => {
  const card = page.locator(`#activities .activity-card[data-cmid="${found.cmid}"]`);
  await card.getByRole('link', { name: `Launch ${TITLE} as Tina Teacher` }).click();
  const banner = frame.getByTestId('placement-banner');
  await banner.waitFor();
  await frame.locator('table[data-testid="roster"]').waitFor();
  const bannerText = await banner.innerText();
  expect(bannerText).toContain(TITLE);
  expect(bannerText).toContain(`sessions on pages matching ${lens.urlPattern}`);
  expect(bannerText).toContain('High ≥ 0.80, Elevated ≥ 0.50');
  // The banner is at the top, before the roster.
  const [bannerTop, rosterTop] = await Promise.all([banner.boundingBox(), frame.locator('table[data-testid="roster"]').boundingBox()]);
  expect(bannerTop!.y).toBeLessThan(rosterTop!.y);
  axe['grading view'] = await axeViolations(frame);

  // Every learner on one page (the filters' "Per page"), each with only their sessions on the quiz's pages.
  await frame.locator('details.filters-box > summary').click();
  await frame.getByLabel('Per page').fill('500');
  await frame.getByRole('button', { name: 'Apply' }).click();
  const ids = learners();
  await frame
    .getByTestId('roster-count')
    .filter({ hasText: `Showing 1–${ids.length} of ${ids.length} matching learners` })
    .waitFor();
  await expect(frame.getByTestId('placement-banner').isVisible()).resolves.toBe(true);
  // The Sessions cell: the count, then "1 high, 0 elevated" (after a line break that a narrow frame turns into a gap).
  const shown = (await frame.locator('table[data-testid="roster"] tbody tr[data-user-id]').evaluateAll((rows) =>
    rows.map((r) => {
      const cell = r.querySelector('td[data-label="Sessions"]');
      return [r.getAttribute('data-user-id'), cell?.firstChild?.textContent ?? '', cell?.querySelector('.muted')?.textContent ?? ''];
    }),
  )) as Array<[string, string, string]>;
  const seen = Object.fromEntries(shown.map(([id, count, levels]) => [id, `${count.trim()} (${levels || 'no session'})`]));
  const expected = Object.fromEntries(
    ids.map((id) => {
      const mine = sessionsOf(id).filter((s) => sessionInPlacement(s, lens));
      const summary = learnerRiskSummary(mine, { thresholds: lens.thresholds! });
      return [id, `${mine.length} (${mine.length ? `${summary.highCount} high, ${summary.elevatedCount} elevated` : 'no session'})`];
    }),
  );
  expect(seen).toEqual(expected);
  // It narrows: some of the learners' sessions are on the quiz, not all.
  const kept = ids.reduce((n, id) => n + sessionsOf(id).filter((s) => sessionInPlacement(s, lens)).length, 0);
  const all = ids.reduce((n, id) => n + sessionsOf(id).length, 0);
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThan(all);
  expect(axe['grading view']).toEqual([]);
});
