/**
 * `upstream_cache` is only a cache: emptying it (as an operator may, or a failover to an empty
 * database replica of it) loses nothing but upstream answers, which are fetched again. Launch
 * state lives in its own tables (src/store/launchState.ts), so emptying the cache in the middle of
 * a framed login awaiting its cookie check, of a login bound through the LMS's platform storage, of
 * a cookie-less session, after a sign-out, or under a launch mapped by its LTI 1.1 user id breaks
 * none of them. Over real HTTP, as the tests of each flow drive it.
 */
import { sql } from 'kysely';
import { buildWorld } from '../../src/dev/people';
import { canvasLegacyUserId, decodeEntities, findAutoSubmitForm, LtiBrowser, parseForms, type BrowserResponse } from '../../src/dev/lms';
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const world = buildWorld();
const canvas = world.platforms.find((p) => p.kind === 'canvas')!;
const course = canvas.courses[0]!;
const learners = course.members.filter((m) => m.role === 'learner' || m.role === 'teststudent');
let learner: (typeof learners)[number]['person'];

beforeAll(async () => {
  // The LMS on another site than the tool (its frame's cookies are third-party), and Canvas mapped
  // by the LTI 1.1 user id, a launch claim ltijs does not keep.
  stack = await testStack('cacheonly', {
    world,
    hosts: { tool: '127.0.0.1', lms: 'localhost' },
    canvasIdentity: 'lti11_legacy_user_id',
    simulator: { extraUserIds: learners.map((m) => canvasLegacyUserId(m.person)) },
  });
  learner = learners.find(
    (m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(canvasLegacyUserId(m.person)).length > 0,
  )!.person;
});
afterAll(async () => {
  await stack?.stop();
});

/** What an operator's "empty the cache" does. */
async function emptyCache(): Promise<void> {
  await sql`DELETE FROM upstream_cache`.execute(stack.tool.store.db);
  const left = await sql<{ n: string }>`SELECT count(*) AS n FROM upstream_cache`.execute(stack.tool.store.db);
  expect(Number(left.rows[0]!.n)).toBe(0);
}

const lmsPage = () => `${stack.lms.url}/`;
const idsIn = (html: string) => [...html.matchAll(/data-session-id="([^"]+)"/g)].map((m) => m[1]);
const codeIn = (html: string) => /Reference: <code>([^<]+)<\/code>/.exec(html)?.[1];
const me = (ltik: string) => `${stack.tool.url}/me?ltik=${encodeURIComponent(ltik)}`;
const ownIds = () =>
  stack.simulator.dataset
    .sessionsForUser(canvasLegacyUserId(learner))
    .slice(0, 25)
    .map((s) => s.id);
const safari = () => new LtiBrowser({ lmsUrl: stack.lms.url, blockFramedCookies: true });

function storageStep(res: BrowserResponse): Record<string, string> {
  const tag = /<div id="lti-storage"[^>]*>/.exec(res.html)?.[0];
  if (!tag) throw new Error(`no platform storage step at ${res.url} (${res.status}): ${textOf(res.html).slice(0, 300)}`);
  return Object.fromEntries([...tag.matchAll(/data-([a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, decodeEntities(m[2]!)]));
}

/** A framed Canvas launch in a browser that keeps no cookie in the frame, through the LMS's storage. */
async function cookielessLaunch(
  between: () => Promise<void> = async () => undefined,
): Promise<{ browser: LtiBrowser; page: BrowserResponse }> {
  const browser = safari();
  const framed = await browser.launch({ platform: 'canvas', courseId: course.id, userId: learner.lmsUserId, target: 'iframe' });
  const put = storageStep(framed);
  await between();
  const back = await browser.get(put.next!, { topLevelUrl: lmsPage() });
  const get = storageStep(back);
  expect(get.mode).toBe('get');
  await between();
  const form = parseForms(back.html, back.url).find((f) => 'id_token' in f.fields)!;
  const page = await browser.post(form.action, { ...form.fields, lti_storage_proof: put.value! }, { topLevelUrl: lmsPage() });
  return { browser, page };
}

test('a framed login awaiting its cookie check goes on after the cache is emptied', async () => {
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });
  // The LMS's page in the frame, with its login initiation form (not yet posted).
  const lms = await browser.get(browser.launchUrl({ platform: 'moodle', courseId: '2', userId: '4', target: 'iframe' }), {
    followForms: false,
    topLevelUrl: lmsPage(),
  });
  const login = findAutoSubmitForm(lms.html, lms.url)!;
  expect(login.action).toBe(`${stack.tool.url}/login`);
  // The tool stores the login and asks the browser to come back with its cookie...
  const check = await fetch(login.action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(lms.url).origin },
    body: new URLSearchParams(login.fields).toString(),
  });
  expect(check.status).toBe(303);
  browser.jar.setFromResponse(login.action, check.headers.getSetCookie(), { topLevelUrl: lmsPage() });
  const location = new URL(check.headers.get('location')!, login.action).href;
  expect(location).toMatch(/\/login\?cookie_check=[0-9a-f]{32}$/);

  // ...and the cache is emptied before it does.
  await emptyCache();
  const page = await browser.get(location, { topLevelUrl: lmsPage() });
  expect(page.status).toBe(200);
  expect(page.url).toContain('/me?ltik=');
  expect(codeIn(page.html)).toBeUndefined();
});

test('a login bound through the LMS’s platform storage goes on after the cache is emptied at each step', async () => {
  const { page } = await cookielessLaunch(emptyCache);
  expect(page.status).toBe(200);
  expect(page.url).toContain('/me?ltik=');
  expect(idsIn(page.html)).toEqual(ownIds());
});

test('a cookie-less session and the LTI 1.1 id of its launch outlive an emptied cache', async () => {
  const { browser, page } = await cookielessLaunch();
  expect(page.status).toBe(200);
  await emptyCache();
  const again = await browser.get(me(page.ltik!), { topLevelUrl: lmsPage() });
  expect(again.status).toBe(200);
  expect(idsIn(again.html)).toEqual(ownIds());
});

test('a cookie session mapped by the LTI 1.1 id keeps that id after the cache is emptied', async () => {
  const browser = stack.browser();
  const first = await browser.launch({ platform: 'canvas', courseId: course.id, userId: learner.lmsUserId });
  expect(first.status).toBe(200);
  expect(idsIn(first.html)).toEqual(ownIds());
  await emptyCache();
  const again = await browser.get(me(first.ltik!));
  expect(again.status).toBe(200);
  expect(codeIn(again.html)).toBeUndefined();
  expect(idsIn(again.html)).toEqual(ownIds());
});

test('a signed-out ltik stays signed out after the cache is emptied, even beside a new session cookie', async () => {
  const browser = stack.browser();
  const page = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', target: 'window' });
  expect(page.status).toBe(200);
  const form = parseForms(page.html, page.url).find((f) => f.action.endsWith('/signout'))!;
  const out = await browser.post(form.action, form.fields);
  expect(textOf(out.html)).toMatch(/You have signed out/);
  // A new launch sets the same session cookie again; the old ltik is still refused...
  const relaunch = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', target: 'window' });
  expect(relaunch.status).toBe(200);
  expect((await browser.get(me(page.ltik!))).status).toBe(401);

  // ...and still after the cache is emptied.
  await emptyCache();
  const again = await browser.get(me(page.ltik!));
  expect(again.status).toBe(401);
  expect(codeIn(again.html)).toBe('signed_out');
  expect(idsIn(again.html)).toEqual([]);
  expect((await browser.get(me(relaunch.ltik!))).status).toBe(200);
});

test('a cookie-less session signed out stays signed out after the cache is emptied', async () => {
  const { browser, page } = await cookielessLaunch();
  expect(page.status).toBe(200);
  const form = parseForms(page.html, page.url).find((f) => f.action.endsWith('/signout'))!;
  expect((await browser.post(form.action, form.fields, { topLevelUrl: lmsPage() })).status).toBe(200);
  await emptyCache();
  const again = await browser.get(me(page.ltik!), { topLevelUrl: lmsPage() });
  expect(again.status).toBe(401);
  expect(codeIn(again.html)).toBe('signed_out');
});
