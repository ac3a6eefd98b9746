/**
 * The admin session list shows whatever user ids the API returns. One no LMS could have issued
 * (10,000 characters) must neither break the page nor its audit entry, and one that is markup
 * stays text on the audit page that lists it.
 */
import { testStack } from '../support/stack';

const LONG_ID = `u${'9'.repeat(9_999)}`;
const SCRIPT_ID = '<script>alert(1)</script>';
type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let ltik: string;
let browser: ReturnType<S['browser']>;

beforeAll(async () => {
  stack = await testStack('auditids', { simulator: { extraUserIds: [LONG_ID, SCRIPT_ID] } });
  browser = stack.browser();
  ltik = (await browser.launch({ platform: 'moodle', courseId: '2', userId: '2' })).ltik!;
});
afterAll(async () => {
  await stack?.stop();
});

test('a page of the session list with an absurd user id is shown and audited with the others', async () => {
  const sessions = stack.simulator.dataset.sessionsForUser(LONG_ID);
  expect(sessions.length).toBeGreaterThan(0);
  const day = sessions[0]!.createdAt.slice(0, 10);
  const res = await browser.get(
    `${stack.tool.url}/admin/sessions.json?${new URLSearchParams({ created_after: day, created_before: day, limit: '100', ltik })}`,
  );
  expect(res.status).toBe(200);
  const shown: string[] = JSON.parse(res.html).items.map((s: { userId: string }) => s.userId);
  expect(shown).toContain(LONG_ID);
  const audit = JSON.parse((await browser.get(`${stack.tool.url}/admin/audit.json?${new URLSearchParams({ actor: '2', ltik })}`)).html);
  const entry = audit.items.find((e: { action: string }) => e.action === 'view.all_sessions');
  expect([...entry.subjectUserIds].sort()).toEqual([...new Set(shown.filter((id) => id !== LONG_ID))].sort());
  const page = await browser.get(
    `${stack.tool.url}/admin/sessions?${new URLSearchParams({ created_after: day, created_before: day, limit: '100', ltik })}`,
  );
  expect(page.status).toBe(200);
});

test('a user id that is markup is listed in the audit entry as text', async () => {
  const day = stack.simulator.dataset.sessionsForUser(SCRIPT_ID)[0]!.createdAt.slice(0, 10);
  const list = await browser.get(
    `${stack.tool.url}/admin/sessions?${new URLSearchParams({ created_after: day, created_before: day, limit: '100', ltik })}`,
  );
  expect(list.status).toBe(200);
  expect(list.html).not.toContain(SCRIPT_ID);
  const audit = await browser.get(`${stack.tool.url}/admin/audit?${new URLSearchParams({ subject: SCRIPT_ID, ltik })}`);
  expect(audit.status).toBe(200);
  expect(audit.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  expect(audit.html).not.toContain(SCRIPT_ID);
  expect(audit.html).toMatch(/\d+ students/);
});
