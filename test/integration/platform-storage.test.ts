/**
 * A framed launch in a browser that keeps no cookie for the tool at all (as Safari), from an LMS
 * that offers platform storage (Canvas sends lti_storage_target), over real HTTP. The agent runs
 * no script, so the test plays the page's script and the LMS's storage: it does exactly what
 * views/assets/lti-storage.js and the demo LMS page do (test/browser/iframe-launch covers them in
 * Chromium). ltijs's own checks stay on throughout: devMode is off.
 */
import { decodeEntities, LtiBrowser, parseForms, type BrowserResponse } from '../../src/dev/lms';
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const COURSE = '101';
let learner: string;

beforeAll(async () => {
  stack = await testStack('storage', { hosts: { tool: '127.0.0.1', lms: 'localhost' } });
  const course = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === COURSE)!;
  learner = course.members.find((m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(m.person.lmsUserId).length > 0)!
    .person.lmsUserId;
});
afterAll(async () => {
  await stack?.stop();
});

const lmsPage = () => `${stack.lms.url}/`;
const safari = () => new LtiBrowser({ lmsUrl: stack.lms.url, blockFramedCookies: true });
const idsIn = (html: string) => [...html.matchAll(/data-session-id="([^"]+)"/g)].map((m) => m[1]);
const expectedIds = () =>
  stack.simulator.dataset
    .sessionsForUser(learner)
    .slice(0, 25)
    .map((s) => s.id);

/** The page's instructions to its script (data attributes of #lti-storage). */
function storageStep(res: BrowserResponse): Record<string, string> {
  const tag = /<div id="lti-storage"[^>]*>/.exec(res.html)?.[0];
  if (!tag) throw new Error(`no platform storage step at ${res.url} (${res.status}): ${textOf(res.html).slice(0, 300)}`);
  return Object.fromEntries([...tag.matchAll(/data-([a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, decodeEntities(m[2]!)]));
}

/** Runs a Canvas launch up to the tool's "put" step, then lets the LMS store the value. */
async function startLaunch(browser: LtiBrowser, storage: Map<string, string>) {
  const framed = await browser.launch({ platform: 'canvas', courseId: COURSE, userId: learner, target: 'iframe' });
  const put = storageStep(framed);
  storage.set(put.key!, put.value!);
  // The script goes on to the LMS once it has stored; the LMS answers with the id_token form,
  // which the frame posts to the tool with no state cookie.
  const back = await browser.get(put.next!, { topLevelUrl: lmsPage() });
  const get = storageStep(back);
  const form = parseForms(back.html, back.url).find((f) => 'id_token' in f.fields)!;
  return { framed, put, back, get, form };
}

test('the login is bound through the LMS’s storage, and the learner sees their own sessions in the frame', async () => {
  const browser = safari();
  const storage = new Map<string, string>();
  const { framed, put, back, get, form } = await startLaunch(browser, storage);

  expect(framed.status).toBe(200);
  expect(put).toMatchObject({ mode: 'put', target: 'post_message_forwarding', origin: new URL(stack.lms.url).origin });
  expect(put.value).toMatch(/^[0-9a-f]{64}$/);
  expect(put.next!.startsWith(`${stack.lms.url}/canvas/api/lti/authorize_redirect?`)).toBe(true);
  // The only page with a script, and only the tool's own script.
  expect(String(framed.headers['content-security-policy'])).toMatch(/script-src 'self'$/);
  expect(framed.html).toContain('<script src="/assets/lti-storage.js"></script>');
  // If the LMS never answers, the unused login can still go to a new window.
  expect(framed.html).toMatch(/<form method="post" action="\/login" target="_blank">/);

  expect(back.status).toBe(200);
  expect(get).toMatchObject({ mode: 'get', key: put.key, origin: put.origin, target: 'post_message_forwarding' });
  expect(get.value).toBeUndefined();
  expect(form.action).toBe(`${stack.tool.url}/`);
  expect(Object.keys(form.fields).sort()).toEqual(['id_token', 'lti_storage_proof', 'state']);

  const launched = await browser.post(
    form.action,
    { ...form.fields, lti_storage_proof: storage.get(get.key!)! },
    { topLevelUrl: lmsPage() },
  );
  expect(launched.status).toBe(200);
  expect(launched.url).toContain('/me?ltik=');
  expect(idsIn(launched.html)).toEqual(expectedIds());
  // Not one cookie of the tool was kept: the session runs on the ltik the launch recorded.
  expect(browser.jar.all().filter((c) => c.domain === '127.0.0.1')).toEqual([]);
  const again = await browser.get(`${stack.tool.url}/me?ltik=${encodeURIComponent(launched.ltik!)}`, { topLevelUrl: lmsPage() });
  expect(again.status).toBe(200);
  expect(idsIn(again.html)).toEqual(expectedIds());

  // The same launch posted again: the secret is spent and the nonce used; refused.
  const replay = await browser.post(form.action, { ...form.fields, lti_storage_proof: storage.get(get.key!)! }, { topLevelUrl: lmsPage() });
  expect(replay.status).toBe(401);
  expect(replay.ltik).toBeUndefined();
});

test('a launch whose value from the LMS’s storage does not match is refused, and the secret is spent', async () => {
  const browser = safari();
  const storage = new Map<string, string>();
  const { get, form } = await startLaunch(browser, storage);
  const wrong = await browser.post(form.action, { ...form.fields, lti_storage_proof: 'f'.repeat(64) }, { topLevelUrl: lmsPage() });
  expect(wrong.status).toBe(401);
  expect(wrong.html).toContain('<code>launch_not_confirmed</code>');
  expect(idsIn(wrong.html)).toEqual([]);
  // Even the right value does not work after a wrong one.
  const right = await browser.post(form.action, { ...form.fields, lti_storage_proof: storage.get(get.key!)! }, { topLevelUrl: lmsPage() });
  expect(right.status).toBe(401);
  expect(right.ltik).toBeUndefined();
});

test('a launch posted into a browser whose LMS storage holds nothing for it gets no session', async () => {
  // The attacker runs the login in their own browser and gets an id_token for it...
  const attacker = safari();
  const { form } = await startLaunch(attacker, new Map());
  // ...and makes the victim's browser post it. The tool asks the victim's LMS for the value; it has
  // none, so the page's script can only fall back (it posts nothing). Posting without a value:
  const victim = safari();
  const posted = await victim.post(form.action, { id_token: form.fields.id_token!, state: form.fields.state! }, { topLevelUrl: lmsPage() });
  expect(posted.status).toBe(200);
  expect(storageStep(posted).mode).toBe('get');
  expect(posted.ltik).toBeUndefined();
  expect(idsIn(posted.html)).toEqual([]);
  // Guessing a value is refused.
  const guessed = await victim.post(form.action, { ...form.fields, lti_storage_proof: '0'.repeat(64) }, { topLevelUrl: lmsPage() });
  expect(guessed.status).toBe(401);
});

test('an ltik from an ordinary launch is still refused without its session cookie', async () => {
  const normal = stack.browser();
  const launched = await normal.launch({ platform: 'canvas', courseId: COURSE, userId: learner, target: 'window' });
  expect(launched.status).toBe(200);
  const stranger = await safari().get(`${stack.tool.url}/me?ltik=${encodeURIComponent(launched.ltik!)}`);
  expect(stranger.status).toBe(401);
  expect(idsIn(stranger.html)).toEqual([]);
});

test('an LMS without platform storage (Moodle 4.4) still gets the new-window button', async () => {
  const framed = await safari().launch({ platform: 'moodle', courseId: '2', userId: '4', target: 'iframe' });
  expect(framed.status).toBe(401);
  expect(framed.html).toContain('<code>launch_needs_new_window</code>');
  expect(framed.html).not.toContain('lti-storage');
});
