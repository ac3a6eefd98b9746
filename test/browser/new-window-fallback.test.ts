/**
 * The "open in a new window" fallback over plain HTTP, with the LtiBrowser test agent framed by
 * the demo LMS page. The agent's `blockThirdPartyCookies` keeps Partitioned cookies (as Chromium
 * does); `blockFramedCookies` keeps none in the frame (as Safari).
 */
import { decodeEntities, LtiBrowser, parseForms } from '../../src/dev/lms';
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const SAM = { platform: 'moodle' as const, courseId: '2', userId: '4', target: 'iframe' as const };

function safariLikeBrowser(): LtiBrowser {
  return new LtiBrowser({ lmsUrl: stack.lms.url, blockFramedCookies: true });
}

beforeAll(async () => {
  stack = await testStack('fallback', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
});
afterAll(async () => {
  await stack?.stop();
});

const samIds = () =>
  stack.simulator.dataset
    .sessionsForUser('4')
    .slice(0, 25)
    .map((s) => s.id);
const idsIn = (html: string) => [...html.matchAll(/data-session-id="([^"]+)"/g)].map((m) => m[1]);

test('with partitioned cookies kept (Chromium blocking third-party cookies), the framed launch just works', async () => {
  const res = await stack.browser({ blockThirdPartyCookies: true }).launch(SAM);
  expect(res.status).toBe(200);
  expect(idsIn(res.html)).toEqual(samIds());
});

test('with no cookie kept in the frame, the frame offers a new window that completes the launch', async () => {
  const browser = safariLikeBrowser();
  const framed = await browser.launch(SAM);
  expect(framed.status).toBe(401);
  expect(framed.html).toContain('<code>launch_needs_new_window</code>');
  expect(idsIn(framed.html)).toEqual([]);
  const form = parseForms(framed.html, framed.url).find((f) => f.action.endsWith('/login'));
  expect(form).toBeDefined();
  expect(framed.html).toMatch(/<form method="post" action="\/login" target="_blank">/);
  // The LMS's own login initiation, unchanged and not yet used.
  expect(form!.fields.iss).toBe(`${stack.lms.url}/moodle`);
  expect(form!.fields.login_hint).toBe('4');
  expect(JSON.parse(form!.fields.lti_message_hint ?? '{}')).toHaveProperty('launchid');

  // target=_blank: a new top-level window, where the tool's cookies are first-party.
  const opened = await browser.post(form!.action, form!.fields, { topLevelUrl: undefined });
  expect(opened.status).toBe(200);
  expect(opened.url).toContain('/me?');
  expect(idsIn(opened.html)).toEqual(samIds());
});

test('a launch that lost its state cookie after the check is refused, with Moodle’s own launch page to open', async () => {
  const browser = stack.browser();
  const res = await browser.launch({
    ...SAM,
    target: 'window',
    rewriteForm: (form) => {
      // Between the LMS's answer and the post: the browser dropped the tool's cookies.
      if ('id_token' in form.fields) browser.jar.clear(new URL(stack.tool.url).hostname);
      return form.fields;
    },
  });
  expect(res.status).toBe(401);
  expect(res.html).toContain('<code>launch_cookie_blocked</code>');
  expect(res.ltik).toBeUndefined();
  const link = decodeEntities(/<a class="button" href="([^"]+)" target="_blank"/.exec(res.html)?.[1] ?? '');
  // lti_message_hint's cmid (the emulator's resource link id) names the activity.
  expect(link).toMatch(new RegExp(`^${stack.lms.url}/moodle/mod/lti/launch\\.php\\?id=\\d+$`));
  // Opened in a new window, Moodle's page launches the same activity again for whoever is logged
  // in to Moodle, and this time the tool's cookies are first-party.
  const again = await browser.get(link);
  expect(again.status).toBe(200);
  expect(again.url).toContain('/me?');
  expect(idsIn(again.html)).toEqual(samIds());
  // Without a Moodle session, Moodle's page asks the user to log in.
  const stranger = await stack.browser().get(link);
  expect(stranger.status).toBe(401);
  expect(stranger.html).toContain('NOT_LOGGED_IN');
});

test('a stale or forged cookie check is refused without reaching the LMS', async () => {
  const res = await stack.browser().get(`${stack.tool.url}/login?cookie_check=${'0'.repeat(32)}`);
  expect(res.status).toBe(400);
  expect(res.html).toContain('<code>launch_check_expired</code>');
  expect(res.history.every((h) => new URL(h.url).origin === stack.tool.url)).toBe(true);
  expect(textOf(res.html)).toMatch(/open the tool again/);
});
