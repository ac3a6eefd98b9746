/**
 * The cookie-less session (an ltik recorded at a platform-storage launch) is a bearer credential:
 * it is bounded (30 minutes idle, 4 hours in all), it can be signed out at once, and it is taken
 * only the way the tool's own pages send it. Cookie sessions sign out too. Over real HTTP, with a
 * browser that keeps no cookie in the LMS frame (as Safari); the stored record's times are moved
 * instead of waiting.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { decodeEntities, LtiBrowser, parseForms, type BrowserResponse } from '../../src/dev/lms';
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const COURSE = '101';
let learner: string;

beforeAll(async () => {
  stack = await testStack('sessionctl', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
  const course = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === COURSE)!;
  learner = course.members.find((m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(m.person.lmsUserId).length > 0)!
    .person.lmsUserId;
});
afterAll(async () => {
  await stack?.stop();
});

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const lmsPage = () => `${stack.lms.url}/`;
const safari = () => new LtiBrowser({ lmsUrl: stack.lms.url, blockFramedCookies: true });
const idsIn = (html: string) => [...html.matchAll(/data-session-id="([^"]+)"/g)].map((m) => m[1]);
const codeIn = (html: string) => /Reference: <code>([^<]+)<\/code>/.exec(html)?.[1];
const me = (ltik: string) => `${stack.tool.url}/me?ltik=${encodeURIComponent(ltik)}`;

function storageStep(res: BrowserResponse): Record<string, string> {
  const tag = /<div id="lti-storage"[^>]*>/.exec(res.html)?.[0];
  if (!tag) throw new Error(`no platform storage step at ${res.url} (${res.status}): ${textOf(res.html).slice(0, 300)}`);
  return Object.fromEntries([...tag.matchAll(/data-([a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, decodeEntities(m[2]!)]));
}

/** A framed Canvas launch with no cookie, through the LMS's storage (as platform-storage.test.ts). */
async function cookielessLaunch(): Promise<{ browser: LtiBrowser; page: BrowserResponse; ltik: string }> {
  const browser = safari();
  const framed = await browser.launch({ platform: 'canvas', courseId: COURSE, userId: learner, target: 'iframe' });
  const put = storageStep(framed);
  const back = await browser.get(put.next!, { topLevelUrl: lmsPage() });
  const form = parseForms(back.html, back.url).find((f) => 'id_token' in f.fields)!;
  const page = await browser.post(form.action, { ...form.fields, lti_storage_proof: put.value! }, { topLevelUrl: lmsPage() });
  expect(page.status).toBe(200);
  expect(page.url).toContain('/me?ltik=');
  expect(browser.jar.all().filter((c) => c.domain === '127.0.0.1')).toEqual([]);
  return { browser, page, ltik: page.ltik! };
}

const recordKey = (ltik: string) => crypto.createHash('sha256').update(ltik).digest('hex');

/** Moves the session's start and last use into the past (what waiting would do). */
async function age(ltik: string, times: { startedAgoMs: number; idleMs: number }): Promise<number> {
  const now = Date.now();
  const r =
    await sql`UPDATE storage_session SET issued_at = ${new Date(now - times.startedAgoMs)}, last_seen_at = ${new Date(now - times.idleMs)}
    WHERE ltik_sha256 = ${recordKey(ltik)}`.execute(stack.tool.store.db);
  expect(Number(r.numAffectedRows)).toBe(1);
  return now - times.startedAgoMs;
}

async function record(ltik: string): Promise<{ value: Record<string, unknown>; expiresAt: Date }> {
  const r = await sql<{
    issued_at: Date;
    last_seen_at: Date;
    expires_at: Date;
  }>`SELECT issued_at, last_seen_at, expires_at FROM storage_session
    WHERE ltik_sha256 = ${recordKey(ltik)}`.execute(stack.tool.store.db);
  const row = r.rows[0]!;
  return { value: { issuedAt: row.issued_at.getTime(), lastSeenAt: row.last_seen_at.getTime() }, expiresAt: row.expires_at };
}

test('a cookie-less session unused for more than 30 minutes is refused; each use extends it', async () => {
  const { browser, ltik } = await cookielessLaunch();

  // 29 minutes idle: still open, and this use starts a new 30 minutes.
  await age(ltik, { startedAgoMs: 2 * HOUR, idleMs: 29 * MINUTE });
  const used = await browser.get(me(ltik), { topLevelUrl: lmsPage() });
  expect(used.status).toBe(200);
  expect(idsIn(used.html).length).toBeGreaterThan(0);
  const touched = Number((await record(ltik)).value.lastSeenAt);
  expect(Math.abs(Date.now() - touched)).toBeLessThan(MINUTE);

  // Another 29 minutes: still open (58 minutes since the first of the two uses).
  await age(ltik, { startedAgoMs: 2 * HOUR, idleMs: 29 * MINUTE });
  expect((await browser.get(me(ltik), { topLevelUrl: lmsPage() })).status).toBe(200);

  // 31 minutes idle: closed, with a page that says why.
  await age(ltik, { startedAgoMs: 2 * HOUR, idleMs: 31 * MINUTE });
  const idle = await browser.get(me(ltik), { topLevelUrl: lmsPage() });
  expect(idle.status).toBe(401);
  expect(codeIn(idle.html)).toBe('session_idle');
  expect(textOf(idle.html)).toMatch(/30 minutes/);
  expect(textOf(idle.html)).toMatch(/open the tool again from your course/i);
  expect(idsIn(idle.html)).toEqual([]);
});

test('a cookie-less session ends 4 hours after the launch however often it is used', async () => {
  const { browser, ltik } = await cookielessLaunch();

  // Used a minute before the end: the record does not outlive the 4 hours.
  const started = await age(ltik, { startedAgoMs: 4 * HOUR - MINUTE, idleMs: MINUTE });
  expect((await browser.get(me(ltik), { topLevelUrl: lmsPage() })).status).toBe(200);
  expect((await record(ltik)).expiresAt.getTime()).toBeLessThanOrEqual(started + 4 * HOUR + 1000);

  // Past the 4 hours, though used a minute ago: refused.
  await age(ltik, { startedAgoMs: 4 * HOUR + 5000, idleMs: MINUTE });
  const old = await browser.get(me(ltik), { topLevelUrl: lmsPage() });
  expect(old.status).toBe(401);
  expect(codeIn(old.html)).toBe('session_expired');
  expect(textOf(old.html)).toMatch(/4 hours/);
  expect(idsIn(old.html)).toEqual([]);
});

/** The page's "Sign out" form (a POST to /signout carrying the ltik). */
function signOutForm(page: BrowserResponse) {
  expect(page.html).toMatch(/<form[^>]*method="post"[^>]*action="\/signout"[\s\S]*?<button[^>]*>Sign out<\/button>/);
  return parseForms(page.html, page.url).find((f) => f.action.endsWith('/signout'))!;
}

test('“Sign out” ends a cookie-less session at once; its ltik is then refused with a clear page', async () => {
  const { browser, page, ltik } = await cookielessLaunch();
  const form = signOutForm(page);
  expect(form.fields.ltik).toBe(ltik);

  const out = await browser.post(form.action, form.fields, { topLevelUrl: lmsPage() });
  expect(out.status).toBe(200);
  expect(out.url).toBe(`${stack.tool.url}/signed-out`);
  expect(textOf(out.html)).toMatch(/You have signed out/);
  expect(idsIn(out.html)).toEqual([]);

  for (const client of [browser, safari()]) {
    const again = await client.get(me(ltik), { topLevelUrl: lmsPage() });
    expect(again.status).toBe(401);
    expect(codeIn(again.html)).toBe('signed_out');
    expect(textOf(again.html)).toMatch(/signed out/i);
    expect(idsIn(again.html)).toEqual([]);
  }
  const json = await fetch(`${stack.tool.url}/me.json?ltik=${encodeURIComponent(ltik)}`);
  expect(json.status).toBe(401);
  expect(((await json.json()) as { error: { code: string } }).error.code).toBe('signed_out');
});

test('POST /signout signs no one out without a valid ltik and its session: none, a forged one, or the ltik alone from another client', async () => {
  const browser = stack.browser();
  const page = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', target: 'window' });
  expect(page.status).toBe(200);
  const ltik = page.ltik!;
  const [header, payload] = ltik.split('.');
  const forged = `${header}.${payload}.${'A'.repeat(43)}`;
  const attempts: Array<[string, Record<string, string>]> = [
    ['no ltik, the session cookie alone', {}],
    ['a forged signature', { ltik: forged }],
    ['not an ltik', { ltik: 'x' }],
  ];
  for (const [how, fields] of attempts) {
    const res = await browser.post(`${stack.tool.url}/signout`, fields);
    expect([how, res.status]).toEqual([how, 401]);
    expect([how, res.url]).not.toEqual([how, `${stack.tool.url}/signed-out`]);
  }
  // Another client holding only the ltik, without the session cookie: refused too.
  const stranger = await fetch(`${stack.tool.url}/signout`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ltik }).toString(),
  });
  expect(stranger.status).toBe(401);
  // The session was never ended.
  expect((await browser.get(me(ltik))).status).toBe(200);
});

test('“Sign out” ends a cookie session too: the cookie is cleared and the ltik refused, even after a new launch', async () => {
  const browser = stack.browser();
  const page = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', target: 'window' });
  expect(page.status).toBe(200);
  const ltik = page.ltik!;
  const cookiesBefore = browser.jar.all().filter((c) => c.domain === '127.0.0.1').length;
  expect(cookiesBefore).toBeGreaterThan(0);

  const out = await browser.post(signOutForm(page).action, signOutForm(page).fields);
  expect(out.status).toBe(200);
  expect(textOf(out.html)).toMatch(/You have signed out/);
  expect(browser.jar.all().filter((c) => c.domain === '127.0.0.1').length).toBe(cookiesBefore - 1);

  const again = await browser.get(me(ltik));
  expect(again.status).toBe(401);
  expect(codeIn(again.html)).toBe('signed_out');

  // A new launch in the same browser sets the session cookie again: the new ltik works, the
  // signed-out one stays refused.
  const relaunch = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', target: 'window' });
  expect(relaunch.status).toBe(200);
  expect(relaunch.ltik).not.toBe(ltik);
  expect((await browser.get(me(ltik))).status).toBe(401);
  expect((await browser.get(me(relaunch.ltik!))).status).toBe(200);
  // Posted to the launch address with an id_token beside it (ltijs then reads the ltik first),
  // the signed-out ltik is still refused, not redirected into the tool.
  const launchUrl = `${stack.tool.url}/?ltik=${encodeURIComponent(ltik)}`;
  const smuggled = await fetch(launchUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: browser.jar.header(launchUrl, { method: 'POST' }) ?? '' },
    body: new URLSearchParams({ id_token: 'x.y.z' }).toString(),
  });
  expect(smuggled.status).toBe(401);
  expect(codeIn(await smuggled.text())).toBe('signed_out');
});

test('a cookie-less ltik is refused as `Authorization: Bearer` or in any way the tool’s pages never send it', async () => {
  const { ltik } = await cookielessLaunch();
  const attempts: Array<[string, RequestInit & { path?: string }]> = [
    ['Bearer', { headers: { authorization: `Bearer ${ltik}` } }],
    ['LTIK-AUTH-V1', { headers: { authorization: `LTIK-AUTH-V1 Token=${ltik}` } }],
    ['JSON body', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ltik }) }],
  ];
  for (const [how, init] of attempts) {
    const res = await fetch(`${stack.tool.url}/me`, init);
    const html = await res.text();
    expect([how, res.status]).toEqual([how, 401]);
    expect([how, codeIn(html)]).toEqual([how, 'ltik_not_accepted']);
    expect(idsIn(html)).toEqual([]);
  }
  // The way the tool's own links carry it still works (the refusals did not end the session).
  const linked = await fetch(me(ltik));
  expect(linked.status).toBe(200);
  expect(idsIn(await linked.text()).length).toBeGreaterThan(0);
});
