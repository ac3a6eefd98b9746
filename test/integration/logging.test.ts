/** Logs are structured and carry ids, never secrets (API keys, ltiks, tokens) or names and emails. */
import { capturingLogger, testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
/** What the tool logged (JSON lines). */
const { logger, lines } = capturingLogger('debug');

beforeAll(async () => {
  stack = await testStack('logging', { logger });
});
afterAll(async () => {
  await stack?.stop();
});

test('a day of launches and views leaves no secret and no student name or email in the logs', async () => {
  const b = stack.browser();
  const student = await b.launch({ platform: 'moodle', courseId: '2', userId: '4' });
  const t = stack.browser();
  const teacher = await t.launch({ platform: 'moodle', courseId: '2', userId: '3' });
  await t.get(`${stack.tool.url}/learners/4?ltik=${encodeURIComponent(teacher.ltik!)}`);
  await stack.browser().launch({ platform: 'moodle', courseId: '2', userId: '4', tamper: { expired: true } });
  expect(student.status).toBe(200);
  expect(lines.length).toBeGreaterThan(5);
  for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  const all = lines.join('\n');
  expect(all).toContain('"msg":"launch"');
  expect(all).toContain('"msg":"launch refused"');
  for (const secret of [student.ltik!, teacher.ltik!, 'aik_v1_sim_pro', 'id_token', 'Bearer '])
    expect(lines.filter((l) => l.includes(secret)).map((l) => l.slice(0, 400))).toEqual([]);
  for (const personal of ['Sam Student', 'student1@example.edu', 'Tina Teacher', 'teacher1@example.edu'])
    expect(all).not.toContain(personal);
});
