/**
 * Launches the tool must refuse, each with a clear page and status and never a stack trace:
 * unknown signing key, bad signature, replayed nonce, wrong audience, unknown issuer, unknown
 * deployment, expired token; plus roles the tool grants nothing to.
 */
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const STUDENT = { platform: 'moodle' as const, courseId: '2', userId: '4' };

beforeAll(async () => {
  stack = await testStack('refusals');
});
afterAll(async () => {
  await stack?.stop();
});

function expectCleanRefusal(html: string): void {
  expect(html).not.toMatch(/\bat [\w.<>]+ \(.*:\d+:\d+\)/); // no stack frames
  expect(html).not.toMatch(/node_modules|Error: /);
  expect(html).not.toContain('data-session-id');
}

test.each([
  ['a token signed by an unknown key', { signWithUnknownKey: true }, 'launch_bad_signature', /not signed by a key of the registered LMS/],
  ['a token whose signature does not verify', { badSignature: true }, 'launch_bad_signature', /not signed by a key of the registered LMS/],
  ['a token for another audience', { audience: 'some-other-tool' }, 'launch_unknown_platform', /not registered with this tool/],
  ['an expired token', { expired: true }, 'launch_expired', /had expired/],
])('%s is refused', async (_name, tamper, code, message) => {
  const res = await stack.browser().launch({ ...STUDENT, tamper });
  expect(res.status).toBe(401);
  expect(res.html).toContain(`<code>${code}</code>`);
  expect(textOf(res.html)).toMatch(message);
  expect(res.ltik).toBeUndefined();
  expectCleanRefusal(res.html);
});

test('a token issued longer ago than the accepted age is refused, though it has not expired', async () => {
  // Canvas's tokens live an hour: at 300 s old this one is still unexpired, so only the tool's
  // max-age check (TOKEN_MAX_AGE_SECONDS, 60 s by default) can refuse it.
  const canvas = stack.world.platforms.find((p) => p.kind === 'canvas')!;
  const course = canvas.courses[0]!;
  const learner = course.members.find((m) => m.role === 'learner')!.person;
  const res = await stack
    .browser()
    .launch({ platform: 'canvas', courseId: course.id, userId: learner.lmsUserId, tamper: { ageSeconds: 300 } });
  const issued = stack.lms.issuedIdTokens.at(-1)!;
  expect(issued.platform).toBe('canvas');
  expect(Number(issued.claims.exp)).toBeGreaterThan(Date.now() / 1000 + 3000);
  expect(Number(issued.claims.iat)).toBeLessThan(Date.now() / 1000 - 290);
  expect(res.status).toBe(401);
  expect(res.html).toContain('<code>launch_expired</code>');
  expect(textOf(res.html)).toMatch(/had expired/);
  expect(res.ltik).toBeUndefined();
  expectCleanRefusal(res.html);
});

test('a token whose iss differs from the login’s is refused', async () => {
  const res = await stack.browser().launch({ ...STUDENT, tamper: { issuer: 'https://evil.example' } });
  expect(res.status).toBe(401);
  expect(res.html).toContain('<code>launch_unknown_platform</code>');
  expectCleanRefusal(res.html);
});

test('a login from an unknown issuer is refused before any redirect', async () => {
  const res = await stack.browser().launch({ ...STUDENT, tamper: { loginIssuer: 'https://unknown-lms.example' } });
  expect(res.status).toBe(400);
  expect(res.html).toContain('<code>unregistered_platform</code>');
  expectCleanRefusal(res.html);
});

test('an unknown deployment is refused', async () => {
  const res = await stack.browser().launch({ ...STUDENT, tamper: { deploymentId: '999' } });
  expect(res.status).toBe(403);
  expect(res.html).toContain('<code>unknown_deployment</code>');
  expectCleanRefusal(res.html);
});

test('a replayed id_token (same nonce) is refused the second time', async () => {
  const browser = stack.browser();
  const captured = await browser.captureIdToken(STUDENT);
  const first = await browser.replay({ ...STUDENT, idToken: captured.idToken });
  expect(first.status).toBe(200);
  expect(first.html).toContain('data-session-id');
  const again = await stack.browser().replay({ ...STUDENT, idToken: captured.idToken });
  expect(again.status).toBe(401);
  expect(again.html).toContain('<code>launch_replayed</code>');
  expectCleanRefusal(again.html);
});

test('a request without a launch gets a page that says to open the tool from the LMS', async () => {
  const res = await stack.browser().get(`${stack.tool.url}/me`);
  expect(res.status).toBe(401);
  expect(textOf(res.html)).toMatch(/Open this tool from your course/);
});

test('a forged ltik is refused', async () => {
  const res = await stack.browser().get(`${stack.tool.url}/me?ltik=eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjoiNCJ9.bad`);
  expect(res.status).toBe(401);
  expectCleanRefusal(res.html);
});

test.each([
  ['a Canvas designer', 'designer'],
  ['a Canvas observer', 'observer'],
])('%s gets a clear no-access page, not someone’s data', async (_n, role) => {
  const canvas = stack.world.platforms.find((p) => p.kind === 'canvas')!;
  const course = canvas.courses[0]!;
  const person = course.members.find((m) => m.role === role)!.person;
  const res = await stack.browser().launch({ platform: 'canvas', courseId: course.id, userId: person.lmsUserId });
  expect(res.status).toBe(403);
  expect(textOf(res.html)).toMatch(/Your role in this course does not give access/);
  expectCleanRefusal(res.html);
});

test('an ltik from one launch cannot be used without that launch’s session cookie', async () => {
  const a = await stack.browser().launch(STUDENT);
  expect(a.ltik).toBeTruthy();
  const res = await stack.browser().get(`${stack.tool.url}/me?ltik=${encodeURIComponent(a.ltik!)}`);
  expect(res.status).toBe(401);
  expect(res.html).toContain('<code>session_expired</code>');
});
