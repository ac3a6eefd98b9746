/**
 * The student view's other states: no sessions, what the platform chose to show (summary, notice),
 * an upstream outage, and an API key the upstream refuses (admins are told what to fix).
 */
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;

describe('one platform, default settings', () => {
  let stack: S;
  beforeAll(async () => {
    stack = await testStack('states');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('a student with no sessions gets a clear empty state', async () => {
    const moodle = stack.world.platforms.find((p) => p.kind === 'moodle')!;
    const learner = moodle.courses[0]!.members.find(
      (m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(m.person.lmsUserId).length === 0,
    )!;
    const res = await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: learner.person.lmsUserId });
    expect(res.status).toBe(200);
    expect(res.html).toContain('data-testid="empty"');
    expect(textOf(res.html)).toContain('No sessions have been recorded for you.');
    expect(res.html).not.toContain('data-session-id');
  });

  test('when isnotai is down the student is told to try again later, and no data is invented', async () => {
    const browser = stack.browser();
    const launched = await browser.launch({ platform: 'moodle', courseId: '2', userId: '5' });
    expect(launched.status).toBe(200);
    stack.simulator.setFaults({ errorRate503: 1 });
    try {
      // Past the cache (the first launch filled it), a new learner's page needs the API.
      const other = await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: '6' });
      expect(other.status).toBe(503);
      expect(other.html).toContain('<code>upstream_unavailable</code>');
      expect(textOf(other.html)).toMatch(/not answering right now[\s\S]*try again in a few minutes/i);
      expect(other.html).not.toContain('data-session-id');
    } finally {
      stack.simulator.setFaults({});
    }
  });
});

describe('a platform whose API key isnotai refuses', () => {
  let stack: S;
  beforeAll(async () => {
    stack = await testStack('badkey', { apiKey: 'aik_v1_revoked_key' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('an admin is told the key was refused and what to check', async () => {
    const res = await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: '2' });
    expect(res.status).toBe(502);
    expect(res.html).toContain('<code>upstream_key_rejected</code>');
    expect(textOf(res.html)).toMatch(/refused this platform’s API key \(401\)[\s\S]*Check the API key/);
    expect(res.html).not.toContain('aik_v1_revoked_key');
  });

  test('a student is told it is not their fault, without details of the key', async () => {
    const res = await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: '4' });
    expect(res.status).toBe(502);
    expect(res.html).toContain('<code>upstream_not_configured</code>');
    expect(textOf(res.html)).toMatch(/nothing is wrong with your account/);
    expect(textOf(res.html)).not.toMatch(/API key/);
  });
});

describe.each([
  ['summary', true, false],
  ['notice', false, false],
] as const)('student visibility "%s"', (visibility, showsSummary, showsSessions) => {
  let stack: S;
  beforeAll(async () => {
    stack = await testStack(`vis${visibility}`, { moodleStudentVisibility: visibility });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('the student sees only what the platform chose to show', async () => {
    const res = await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: '4' });
    expect(res.status).toBe(200);
    expect(res.html.includes('data-testid="session-count"')).toBe(showsSummary);
    expect(res.html.includes('data-session-id')).toBe(showsSessions);
    if (!showsSummary) expect(textOf(res.html)).toMatch(/Browser activity is recorded during assessments/);
    // Nor can the student reach the sessions by URL.
    const sessionId = stack.simulator.dataset.sessionsForUser('4')[0]!.id;
    const browser = stack.browser();
    const own = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4' });
    const direct = await browser.get(`${stack.tool.url}/learners/4/sessions/${sessionId}?ltik=${encodeURIComponent(own.ltik!)}`);
    expect(direct.status).toBe(403);
    expect(direct.html).not.toContain('data-event-id');
  });
});
