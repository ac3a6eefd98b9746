/**
 * The Names and Roles access token is cached in PostgreSQL (ltijs's accesstoken collection). When
 * the LMS stops honouring it (restarted with new state, token revoked), the tool drops it and asks
 * once for a new one; when the LMS keeps refusing, the page says the LMS refused, and what its
 * admin should check, not that the integrity service failed. Over real HTTP, with the emulator.
 */
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let browser: ReturnType<S['browser']>;
let ltik: string;
const COURSE = '2';

beforeAll(async () => {
  // No roster cache: every page asks the LMS, as it does once the cached roster has expired.
  stack = await testStack('nrpstoken', { env: { CACHE_TTL_SECONDS: '0' } });
  browser = stack.browser();
  const teacher = await browser.launch({ platform: 'moodle', courseId: COURSE, userId: '3' });
  expect(teacher.status).toBe(200);
  expect(teacher.url).toContain('/course?');
  ltik = teacher.ltik!;
});
afterAll(async () => {
  await stack?.stop();
});

const roster = () => browser.get(`${stack.tool.url}/course?limit=500&ltik=${encodeURIComponent(ltik)}`);
const learnerRows = (html: string) => (html.match(/<tr[^>]*data-user-id=/g) ?? []).length;
const learners = () =>
  stack.world.platforms
    .find((p) => p.kind === 'moodle')!
    .courses.find((c) => c.id === COURSE)!
    .members.filter((m) => m.role === 'learner').length;

test('an access token the LMS no longer honours is dropped and replaced once; the roster still shows', async () => {
  const first = await roster();
  expect(first.status).toBe(200);
  const issuedBefore = stack.lms.accessTokens.issuedCount;

  // The LMS forgets every token it issued (as after a restart); the tool's copy is still "valid".
  stack.lms.accessTokens.revokeAll();
  const after = await roster();
  expect(after.status).toBe(200);
  expect(textOf(after.html)).toContain('Course roster');
  expect(learnerRows(after.html)).toBe(learners());
  expect(stack.lms.accessTokens.issuedCount).toBe(issuedBefore + 1);

  // The new token is the one kept: the next page asks for none.
  const again = await roster();
  expect(again.status).toBe(200);
  expect(stack.lms.accessTokens.issuedCount).toBe(issuedBefore + 1);
});

test('when the LMS keeps refusing, the page names the LMS, not isnotai, and says what its admin should check', async () => {
  stack.lms.accessTokens.refuseAll = true;
  try {
    const issuedBefore = stack.lms.accessTokens.issuedCount;
    const res = await roster();
    expect(res.status).toBe(502);
    expect(res.html).toContain('<code>lms_refused_roster</code>');
    const text = textOf(res.html);
    const heading = /<h1[^>]*>([\s\S]*?)<\/h1>/.exec(res.html)?.[1] ?? '';
    expect(heading).not.toMatch(/integrity service/i);
    expect(heading).toMatch(/LMS/);
    expect(text).not.toMatch(/integrity service/i);
    // Which LMS, and what to check there.
    expect(text).toContain(stack.lms.platforms.moodle.name);
    expect(text).toMatch(/refused/);
    expect(text).toMatch(/Names and Roles/);
    expect(text).toMatch(/key ?set URL/i);
    expect(text).toContain(`${stack.tool.url}/keys`);
    expect(text).toMatch(/client id/i);
    // One new token asked for, not a loop.
    expect(stack.lms.accessTokens.issuedCount).toBe(issuedBefore + 1);

    const json = await browser.get(`${stack.tool.url}/course.json?ltik=${encodeURIComponent(ltik)}`);
    expect(json.status).toBe(502);
    expect(JSON.parse(json.html).error.code).toBe('lms_refused_roster');
  } finally {
    stack.lms.accessTokens.refuseAll = false;
  }
  // Once the LMS honours tokens again, the roster is back without a relaunch.
  const back = await roster();
  expect(back.status).toBe(200);
  expect(learnerRows(back.html)).toBe(learners());
});
