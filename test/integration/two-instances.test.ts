/**
 * Two tool instances on one database, as behind a load balancer (docs/product.md "Scale"): a
 * launch begun on instance A (OIDC login, state cookie, nonce) completes on instance B, and the ltik it yields
 * works on both. Nothing is shared between the instances but PostgreSQL and the configuration
 * (ENCRYPTION_KEY, PLATFORMS_JSON); each has its own ltijs Provider, pool and caches.
 *
 * Cookies are keyed by host, not port (RFC 6265), so the two instances on 127.0.0.1 see the same
 * cookies, as two instances behind one host name do.
 */
import crypto from 'node:crypto';
import { startTool, type RunningTool } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { decodeEntities, findAutoSubmitForm, LtiBrowser } from '../../src/dev/lms';
import { platformEntry, startStack, type Stack } from '../../src/dev/stack';
import { createLogger } from '../../src/log';
import { freshDatabaseUrl } from '../support/db';
import { attrValues } from '../support/stack';

let stack: Stack;
let b: RunningTool;
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

beforeAll(async () => {
  const databaseUrl = await freshDatabaseUrl('twoinstances');
  const encryptionKey = crypto.randomBytes(32).toString('base64url');
  stack = await startStack({ databaseUrl, logger, encryptionKey });
  // Instance B: the same configuration as A (the stack builds A's the same way), the same database.
  // Its public address is A's, as for two instances behind one load balancer: the LMS knows one
  // tool URL, and a launch meant for it is this tool's on either instance.
  const isnotai = { apiKey: 'aik_v1_sim_pro', baseUrl: stack.simulator.url };
  const config = loadConfig({
    NODE_ENV: 'development',
    TOOL_URL: stack.tool.url,
    ENCRYPTION_KEY: encryptionKey,
    LOG_LEVEL: 'silent',
    PLATFORMS_JSON: JSON.stringify([
      platformEntry(stack.lms.platforms.moodle, isnotai),
      platformEntry(stack.lms.platforms.canvas, isnotai),
    ]),
  });
  b = await startTool({ config, logger, databaseUrl, port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await b?.stop();
  await stack?.stop();
});

const STUDENT = { platform: 'moodle' as const, courseId: '2', userId: '4' };

test('a launch begun on instance A completes on instance B, and its ltik works on both', async () => {
  const a = stack.tool;
  expect(new URL(a.url).port).not.toBe(new URL(b.url).port);
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });

  // 1. LMS → A's /login (A sets the state cookie) → LMS auth → the id_token form, not yet posted.
  let redirectUri = '';
  const begun = await browser.launch({
    ...STUDENT,
    stopBeforeTool: true,
    rewriteForm: (form) => {
      if ('id_token' in form.fields) redirectUri = form.action;
      return form.fields;
    },
  });
  expect(begun.history.some((h) => h.url.startsWith(`${a.url}/login`))).toBe(true);
  expect(new URL(redirectUri).origin).toBe(a.url);
  expect(begun.idToken).toBeDefined();

  // 2. The load balancer sends the form_post to B.
  const onB = new URL(redirectUri);
  const bUrl = new URL(b.url);
  onB.host = bUrl.host;
  const landed = await browser.post(onB.href, { id_token: begun.idToken!, state: begun.state! });
  expect(landed.status).toBe(200);
  expect(landed.url.startsWith(`${b.url}/me?`)).toBe(true);
  expect(landed.history.every((h) => h.url.startsWith(b.url))).toBe(true);
  const expected = stack.simulator.dataset
    .sessionsForUser('4')
    .slice(0, 25)
    .map((s) => s.id);
  expect(expected.length).toBeGreaterThan(0);
  expect(attrValues(landed.html, 'data-session-id')).toEqual(expected);
  const ltik = landed.ltik!;
  expect(ltik).toBeTruthy();

  // 3. Later requests with that ltik, on either instance.
  for (const base of [a.url, b.url, a.url]) {
    const page = await browser.get(`${base}/me?ltik=${encodeURIComponent(ltik)}`);
    expect(page.status).toBe(200);
    expect(attrValues(page.html, 'data-session-id')).toEqual(expected);
  }
  // A session page (another route, authorised against the same launch), on A then on B.
  const sessionHref = /href="(\/learners\/4\/sessions\/[^"]+)"/.exec(landed.html)?.[1];
  expect(sessionHref).toBeDefined();
  for (const base of [a.url, b.url]) {
    const page = await browser.get(new URL(decodeEntities(sessionHref!), base).href);
    expect(page.status).toBe(200);
    expect(page.html).toContain(expected[0]);
  }
});

test('the nonce B consumed is refused when replayed on A (one nonce store for both)', async () => {
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });
  const captured = await browser.captureIdToken(STUDENT);
  const onB = new URL(captured.redirectUri);
  onB.host = new URL(b.url).host;
  const first = await browser.post(onB.href, { id_token: captured.idToken, state: captured.state });
  expect(first.status).toBe(200);
  // A fresh launch (new state, at A) that posts the already used id_token: A must refuse it.
  const again = await browser.replay({ ...STUDENT, idToken: captured.idToken });
  expect(again.status).toBe(401);
  expect(again.url.startsWith(a().url)).toBe(true);
  expect(attrValues(again.html, 'data-session-id')).toEqual([]);
});

test('a launch begun on B (login initiation sent there) completes on A', async () => {
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });
  // The LMS knows one tool URL (A's): take its login-initiation form and send it to B instead.
  const lmsPage = await browser.get(browser.launchUrl(STUDENT), { followForms: false });
  const login = findAutoSubmitForm(lmsPage.html, lmsPage.url);
  expect(login).toBeDefined();
  expect(login!.action.startsWith(`${a().url}/login`)).toBe(true);
  const loginOnB = new URL(login!.action);
  loginOnB.host = new URL(b.url).host;
  const res =
    login!.method === 'POST'
      ? await browser.post(loginOnB.href, login!.fields)
      : await browser.get(withQuery(loginOnB.href, login!.fields));
  // B set the state cookie and sent the browser to the LMS; the LMS posted the id_token to the
  // target link (A), and A validated B's state and served the page.
  expect(res.history[0]?.url.startsWith(`${b.url}/login`)).toBe(true);
  expect(res.history.some((h) => h.method === 'POST' && h.url.startsWith(a().url) && !h.url.includes('/login'))).toBe(true);
  expect(res.status).toBe(200);
  expect(res.url.startsWith(`${a().url}/me?`)).toBe(true);
  const expected = stack.simulator.dataset
    .sessionsForUser('4')
    .slice(0, 25)
    .map((s) => s.id);
  expect(attrValues(res.html, 'data-session-id')).toEqual(expected);
});

test('a login stored for its cookie check on A is taken up by B (login initiations are in the database)', async () => {
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });
  const lmsPage = await browser.get(browser.launchUrl(STUDENT), { followForms: false });
  const login = findAutoSubmitForm(lmsPage.html, lmsPage.url)!;
  // A stores the login initiation and asks the browser to come back with its cookie...
  const check = await fetch(login.action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(login.fields).toString(),
  });
  expect(check.status).toBe(303);
  browser.jar.setFromResponse(login.action, check.headers.getSetCookie());
  const checkOnB = new URL(check.headers.get('location')!, b.url);
  expect(checkOnB.pathname).toBe('/login');
  // ...and the load balancer sends it back to B, which finds the login and goes on with it.
  const res = await browser.get(checkOnB.href);
  expect(res.history[0]?.url.startsWith(`${b.url}/login?cookie_check=`)).toBe(true);
  expect(res.status).toBe(200);
  expect(res.url.startsWith(`${a().url}/me?`)).toBe(true);
  expect(attrValues(res.html, 'data-session-id')).toEqual(
    stack.simulator.dataset
      .sessionsForUser('4')
      .slice(0, 25)
      .map((s) => s.id),
  );
});

function withQuery(action: string, fields: Record<string, string>): string {
  const url = new URL(action);
  for (const [k, v] of Object.entries(fields)) url.searchParams.set(k, v);
  return url.href;
}

function a(): RunningTool {
  return stack.tool;
}
