/**
 * How many steps a launch takes, over real HTTP (docs/performance.md "Where a launch's time goes"): a launch in a
 * window of its own goes to the LMS without the cookie check (the browser says it is top-level: `Sec-Fetch-Dest:
 * document`), and a learner's or instructor's launch lands on their first page in the redirect that answers the
 * id_token. A framed launch, and a login that does not say where it runs, are still checked first.
 */
import { request } from 'undici';
import { decodeJwt, findAutoSubmitForm } from '../../src/dev/lms';
import { attrValues, testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const STUDENT = { platform: 'moodle' as const, courseId: '2', userId: '4' };
const TEACHER = { platform: 'moodle' as const, courseId: '2', userId: '3' };
const ADMIN = { platform: 'moodle' as const, courseId: '2', userId: '2' };
const CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/';

beforeAll(async () => {
  stack = await testStack('launchhops');
});
afterAll(async () => {
  await stack?.stop();
});

/** Each hop as `METHOD path` for the tool, `LMS path` for the LMS; the ltik and check ids left out. */
function steps(history: Array<{ method: string; url: string }>): string[] {
  return history.map((h) => {
    const url = new URL(h.url);
    const tool = h.url.startsWith(stack.tool.url);
    const marks = ['cookie_check', 'ltik'].filter((k) => url.searchParams.has(k)).map((k) => `?${k}`);
    return tool ? `${h.method} ${url.pathname}${marks.join('')}` : `LMS ${url.pathname}`;
  });
}

/** The Moodle launch page's login initiation, not yet sent to the tool. */
async function loginInitiation() {
  const browser = stack.browser();
  const page = await browser.get(browser.launchUrl(STUDENT), { followForms: false });
  const form = findAutoSubmitForm(page.html, page.url);
  if (!form) throw new Error('no login initiation form');
  return form;
}

async function postLogin(fields: Record<string, string>, headers: Record<string, string>) {
  const form = await loginInitiation();
  const res = await request(form.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ ...form.fields, ...fields }).toString(),
  });
  await res.body.dump();
  const location = res.headers.location;
  return { status: res.statusCode, location: new URL(String(location), form.action) };
}

test('a student’s launch in a window of its own: login, the LMS, the id_token, and their page — no cookie check, no stop on the way', async () => {
  const res = await stack.browser().launch(STUDENT);
  expect(res.status).toBe(200);
  expect(steps(res.history)).toEqual(['LMS /moodle/launch', 'POST /login', 'LMS /moodle/mod/lti/auth.php', 'POST /', 'GET /me?ltik']);
  expect(attrValues(res.html, 'data-session-id').length).toBeGreaterThan(0);
});

test('an instructor’s launch lands on the roster in the same number of steps', async () => {
  const res = await stack.browser().launch(TEACHER);
  expect(res.status).toBe(200);
  expect(steps(res.history)).toEqual(['LMS /moodle/launch', 'POST /login', 'LMS /moodle/mod/lti/auth.php', 'POST /', 'GET /course?ltik']);
  expect(res.html).toContain('data-testid="roster"');
});

test('an administrator’s launch goes through the tool’s launch route, which decides their first page', async () => {
  const res = await stack.browser().launch(ADMIN);
  expect(res.status).toBe(200);
  expect(steps(res.history)).toEqual([
    'LMS /moodle/launch',
    'POST /login',
    'LMS /moodle/mod/lti/auth.php',
    'POST /',
    'GET /?ltik',
    'GET /course?ltik',
  ]);
});

test('a framed launch is checked for cookies before the LMS is asked, and still lands on the student’s page', async () => {
  const res = await stack.browser().launch({ ...STUDENT, target: 'iframe' });
  expect(res.status).toBe(200);
  expect(steps(res.history)).toEqual([
    'LMS /moodle/launch',
    'POST /login',
    'GET /login?cookie_check',
    'LMS /moodle/mod/lti/auth.php',
    'POST /',
    'GET /me?ltik',
  ]);
});

test('a login that says it is top-level goes to the LMS at once; one that says framed, or says nothing, is checked first', async () => {
  const lms = new URL(stack.lms.url);
  const top = await postLogin({}, { 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate' });
  expect(top.status).toBe(302);
  expect(top.location.origin).toBe(lms.origin);
  expect(top.location.pathname).toBe('/moodle/mod/lti/auth.php');
  expect(top.location.searchParams.get('state')).toBeTruthy();

  const unsaid: Array<Record<string, string>> = [{ 'sec-fetch-dest': 'iframe' }, { 'sec-fetch-dest': 'frame' }, {}];
  for (const headers of unsaid) {
    const checked = await postLogin({}, headers);
    expect(checked.status).toBe(303);
    expect(checked.location.origin).toBe(new URL(stack.tool.url).origin);
    expect(checked.location.pathname).toBe('/login');
    expect(checked.location.searchParams.get('cookie_check')).toMatch(/^[0-9a-f]{32}$/);
  }
});

test('a top-level login is still held to every launch check (a foreign target_link_uri is refused)', async () => {
  const res = await postLogin({ target_link_uri: 'https://evil.example/' }, { 'sec-fetch-dest': 'document' });
  expect(res.status).toBe(400);
});

test('ltijs’s launch route with the ltik (a reload, a bookmark of it) still leads to the person’s page', async () => {
  const launched = await stack.browser().launch(STUDENT);
  const again = await request(`${stack.tool.url}/?ltik=${encodeURIComponent(launched.ltik!)}`, {
    headers: { cookie: launched.cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
  });
  await again.body.dump();
  expect(again.statusCode).toBe(303);
  expect(String(again.headers.location)).toMatch(/^\/me\?ltik=/);
});

test('a Deep Linking launch keeps ltijs’s own route and gets the placement form', async () => {
  const res = await stack.browser().launch({
    ...TEACHER,
    rewriteForm: (form) => {
      if (!('id_token' in form.fields)) return form.fields;
      const p = { ...decodeJwt(form.fields.id_token!).payload };
      p[`${CLAIM}message_type`] = 'LtiDeepLinkingRequest';
      delete p[`${CLAIM}resource_link`];
      p['https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings'] = {
        deep_link_return_url: `${stack.lms.url}/moodle/mod/lti/contentitem_return.php?course=2&id=1&sesskey=fixture`,
        accept_types: ['ltiResourceLink'],
        accept_presentation_document_targets: ['iframe', 'window'],
      };
      return { ...form.fields, id_token: stack.lms.signIdToken('moodle', p) };
    },
  });
  expect(res.status).toBe(200);
  expect(steps(res.history).slice(-2)).toEqual(['POST /', 'GET /?ltik']);
  expect(res.html).toContain('data-testid="placement-form"');
});

test('the LMS’s keyset is read once, not on every launch, and a token signed with a key it does not list is refused', async () => {
  await stack.browser().launch(STUDENT);
  const before = stack.lms.keysetRequests.moodle;
  expect(before).toBeGreaterThanOrEqual(1);
  for (const userId of ['4', '5', '6']) expect((await stack.browser().launch({ ...STUDENT, userId })).status).toBe(200);
  expect(stack.lms.keysetRequests.moodle).toBe(before);

  const forged = await stack.browser().launch({
    ...STUDENT,
    rewriteForm: (form) =>
      'id_token' in form.fields
        ? { ...form.fields, id_token: stack.lms.signIdToken('moodle', decodeJwt(form.fields.id_token!).payload, { unknownKey: true }) }
        : form.fields,
  });
  expect(forged.status).toBe(401);
  expect(forged.ltik).toBeUndefined();
});
