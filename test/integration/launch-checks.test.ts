/**
 * Launch checks ltijs leaves out, over real HTTP with id_tokens the LMS emulator signs with its
 * real key (so ltijs itself would accept them): a `target_link_uri` that is not the tool's own, at
 * login and in the id_token; an id_token issued in the future; an unknown message type; and a
 * Deep Linking launch, which gets the placement form and a session that opens no student or staff page.
 */
import { decodeJwt, findAutoSubmitForm, type FormSubmission } from '../../src/dev/lms';
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const STUDENT = { platform: 'moodle' as const, courseId: '2', userId: '4' };
const TEACHER = { platform: 'moodle' as const, courseId: '2', userId: '3' };
const CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/';
const DL_CLAIM = 'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings';

beforeAll(async () => {
  stack = await testStack('launchchecks');
});
afterAll(async () => {
  await stack?.stop();
});

function expectCleanRefusal(html: string): void {
  expect(html).not.toMatch(/\bat [\w.<>]+ \(.*:\d+:\d+\)/);
  expect(html).not.toMatch(/node_modules|Error: /);
  expect(html).not.toContain('data-session-id');
}

/** The id_token form rewritten: its payload changed, then signed again with the LMS's real key. */
function resign(platform: 'moodle' | 'canvas', change: (payload: Record<string, unknown>) => void) {
  return (form: FormSubmission): Record<string, string> => {
    if (!('id_token' in form.fields)) return form.fields;
    const payload = { ...decodeJwt(form.fields.id_token!).payload };
    change(payload);
    return { ...form.fields, id_token: stack.lms.signIdToken(platform, payload) };
  };
}

/** The LMS's login initiation for a launch, not yet sent to the tool. */
async function loginForm(browser: ReturnType<S['browser']>, launch: typeof STUDENT) {
  const page = await browser.get(browser.launchUrl(launch), { followForms: false });
  const form = findAutoSubmitForm(page.html, page.url);
  if (!form) throw new Error('no login initiation form');
  return form;
}

describe('target_link_uri', () => {
  test('a login initiation whose target_link_uri is another site is refused before any redirect to the LMS', async () => {
    const browser = stack.browser();
    const form = await loginForm(browser, STUDENT);
    expect(form.fields.target_link_uri).toBe(`${stack.tool.url}/`);
    const res = await browser.post(form.action, { ...form.fields, target_link_uri: 'https://evil.example/' });
    expect(res.status).toBe(400);
    expect(res.html).toContain('<code>launch_target_not_this_tool</code>');
    expect(textOf(res.html)).toMatch(/asked the tool to send your sign-in to another address/);
    // The tool never asked the LMS to post the id_token to that other site.
    expect(res.history.every((h) => h.url.startsWith(stack.tool.url))).toBe(true);
    expectCleanRefusal(res.html);
  });

  test('a login initiation whose target_link_uri is another port of the same host is refused too', async () => {
    const browser = stack.browser();
    const form = await loginForm(browser, STUDENT);
    const other = new URL(stack.tool.url);
    other.port = String(Number(other.port) === 65535 ? 65534 : Number(other.port) + 1);
    const res = await browser.post(form.action, { ...form.fields, target_link_uri: `${other.origin}/` });
    expect(res.status).toBe(400);
    expect(res.html).toContain('<code>launch_target_not_this_tool</code>');
  });

  test('an id_token whose target_link_uri claim is another site is refused', async () => {
    const res = await stack
      .browser()
      .launch({ ...STUDENT, rewriteForm: resign('moodle', (p) => (p[`${CLAIM}target_link_uri`] = 'https://evil.example/')) });
    expect(res.status).toBe(401);
    expect(res.html).toContain('<code>launch_target_not_this_tool</code>');
    expect(textOf(res.html)).toMatch(/meant for another address/);
    expect(res.ltik).toBeUndefined();
    expectCleanRefusal(res.html);
  });

  test('an id_token whose target_link_uri is a page of the tool launches as usual', async () => {
    const res = await stack
      .browser()
      .launch({ ...STUDENT, rewriteForm: resign('moodle', (p) => (p[`${CLAIM}target_link_uri`] = `${stack.tool.url}/some/page?x=1`)) });
    expect(res.status).toBe(200);
    expect(res.html).toContain('data-session-id');
  });
});

describe('iat', () => {
  test('an id_token issued an hour in the future is refused', async () => {
    const res = await stack.browser().launch({
      ...STUDENT,
      rewriteForm: resign('moodle', (p) => {
        p.iat = Math.floor(Date.now() / 1000) + 3600;
        p.exp = (p.iat as number) + 60;
      }),
    });
    expect(res.status).toBe(401);
    expect(res.html).toContain('<code>launch_issued_in_future</code>');
    expect(textOf(res.html)).toMatch(/issued in the future/);
    expect(res.ltik).toBeUndefined();
    expectCleanRefusal(res.html);
  });

  test('an id_token issued 65 s in the future is refused (the line is 60 s); 30 s (clock skew) still launches', async () => {
    const at = (ahead: number) =>
      stack.browser().launch({
        ...STUDENT,
        rewriteForm: resign('moodle', (p) => {
          // Whole seconds rounded up, and 5 s above the line: the request's own latency cannot carry it back under.
          p.iat = Math.ceil(Date.now() / 1000) + ahead;
          p.exp = (p.iat as number) + 60;
        }),
      });
    const [late, skewed] = await Promise.all([at(65), at(30)]);
    expect(late.status).toBe(401);
    expect(late.html).toContain('<code>launch_issued_in_future</code>');
    expect(skewed.status).toBe(200);
    expect(skewed.html).toContain('data-session-id');
  });
});

test('an id_token without an issue time is refused (ltijs’s max-age check would pass it)', async () => {
  const res = await stack.browser().launch({ ...STUDENT, rewriteForm: resign('moodle', (p) => delete p.iat) });
  expect(res.status).toBe(401);
  expect(res.html).toContain('<code>launch_without_issue_time</code>');
  expect(res.ltik).toBeUndefined();
});

test('the checks hold wherever the id_token is posted (ltijs validates one on any path)', async () => {
  const browser = stack.browser();
  const begun = await browser.launch({
    ...STUDENT,
    stopBeforeTool: true,
    rewriteForm: resign('moodle', (p) => {
      p.iat = Math.floor(Date.now() / 1000) + 3600;
      p.exp = (p.iat as number) + 60;
    }),
  });
  expect(begun.idToken).toBeDefined();
  const res = await browser.post(`${stack.tool.url}/me`, { id_token: begun.idToken!, state: begun.state! });
  expect(res.status).toBe(401);
  expect(res.html).toContain('<code>launch_issued_in_future</code>');
  expect(res.ltik).toBeUndefined();
});

describe('message type', () => {
  test('an unknown message type is refused with a page that names it', async () => {
    const res = await stack
      .browser()
      .launch({ ...STUDENT, rewriteForm: resign('moodle', (p) => (p[`${CLAIM}message_type`] = 'LtiSubmissionReviewRequest')) });
    expect(res.status).toBe(401);
    expect(res.html).toContain('<code>launch_unsupported_message</code>');
    expect(textOf(res.html)).toMatch(/LtiSubmissionReviewRequest/);
    expect(res.ltik).toBeUndefined();
    expectCleanRefusal(res.html);
  });

  test('an id_token without a message type is refused the same way', async () => {
    const res = await stack.browser().launch({ ...STUDENT, rewriteForm: resign('moodle', (p) => delete p[`${CLAIM}message_type`]) });
    expect(res.status).toBe(401);
    expect(res.html).toContain('<code>launch_unsupported_message</code>');
  });
});

describe('Deep Linking', () => {
  const deepLinking = (platform: 'moodle' | 'canvas') =>
    resign(platform, (p) => {
      p[`${CLAIM}message_type`] = 'LtiDeepLinkingRequest';
      delete p[`${CLAIM}resource_link`];
      p[DL_CLAIM] = {
        deep_link_return_url: `${stack.lms.url}/moodle/mod/lti/contentitem_return.php`,
        accept_types: ['ltiResourceLink'],
        accept_presentation_document_targets: ['iframe', 'window'],
        accept_multiple: false,
      };
    });

  test('a Deep Linking launch gets the placement form, and its session opens neither /me nor /course', async () => {
    const browser = stack.browser();
    const res = await browser.launch({ ...TEACHER, rewriteForm: deepLinking('moodle') });
    // The form (test/integration/deep-linking.test.ts covers it, and its answer to the LMS).
    expect(res.status).toBe(200);
    expect(res.html).toContain('data-testid="placement-form"');
    expect(textOf(res.html)).toMatch(/What does this placement cover\?/);
    expectCleanRefusal(res.html);
    // ltijs accepted the launch and gave it a session: it must open no page of the tool.
    expect(res.ltik).toBeTruthy();
    for (const path of ['/me', '/course', '/course.csv']) {
      const page = await browser.get(`${stack.tool.url}${path}?ltik=${encodeURIComponent(res.ltik!)}`);
      expect({ path, status: page.status }).toEqual({ path, status: 403 });
      expect(page.html).toContain('deep_linking_session');
      expect(page.html).not.toContain('data-session-id');
    }
  });

  test('the same person’s resource-link launch still works afterwards', async () => {
    const browser = stack.browser();
    await browser.launch({ ...STUDENT, rewriteForm: deepLinking('moodle') });
    const res = await browser.launch(STUDENT);
    expect(res.status).toBe(200);
    expect(res.html).toContain('data-session-id');
  });
});

describe('with TOOL_URL set', () => {
  let other: S;
  beforeAll(async () => {
    other = await testStack('launchchecks_toolurl', { env: { TOOL_URL: 'https://integrity.example.edu' } });
  });
  afterAll(async () => {
    await other?.stop();
  });

  test('the tool’s own address is TOOL_URL, not the Host the request arrived on', async () => {
    const browser = other.browser();
    const page = await browser.get(browser.launchUrl(STUDENT), { followForms: false });
    const form = findAutoSubmitForm(page.html, page.url)!;
    // The emulator names the address it reached the tool on; behind TOOL_URL that is not the tool's.
    const refused = await browser.post(form.action, form.fields);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('<code>launch_target_not_this_tool</code>');

    const again = await browser.get(browser.launchUrl(STUDENT), { followForms: false });
    const ok = findAutoSubmitForm(again.html, again.url)!;
    const res = await browser.post(ok.action, { ...ok.fields, target_link_uri: 'https://integrity.example.edu/' });
    // Accepted by the tool: it sends the browser on to the LMS with that redirect_uri.
    const toLms = res.history.find((h) => h.url.startsWith(other.lms.platforms.moodle.authenticationEndpoint));
    expect(toLms).toBeDefined();
    expect(new URL(toLms!.url).searchParams.get('redirect_uri')).toBe('https://integrity.example.edu/');
  });
});
