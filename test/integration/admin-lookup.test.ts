/**
 * An administrator's "Find a student": a name is searched among the members the tool knows (the
 * launch course's roster, and the learners of other courses whose rosters it has read); only text
 * of the shape of the platform's user ids is offered as a user id, with a warning when no one with
 * that id is known; and a name is never offered (nor audited) as an id.
 */
import { attrValues, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let admin: ReturnType<S['browser']>;
let ltik: string;

beforeAll(async () => {
  stack = await testStack('lookup');
  admin = stack.browser();
  const a = await admin.launch({ platform: 'moodle', courseId: '2', userId: '2' });
  expect(a.status).toBe(200);
  ltik = a.ltik!;
});
afterAll(async () => {
  await stack?.stop();
});

const lookup = (q: string) => admin.get(`${stack.tool.url}/admin/lookup?${new URLSearchParams({ q, ltik })}`);

test('a name is not offered as a user id, and nothing is audited for it', async () => {
  const audited = async () =>
    JSON.parse((await admin.get(`${stack.tool.url}/admin/audit.json?${new URLSearchParams({ subject: 'Silva', ltik })}`)).html)
      .total as number;
  const res = await lookup('Silva');
  expect(res.status).toBe(200);
  expect(res.html).not.toContain('data-testid="direct"');
  expect(textOf(res.html)).toMatch(/“Silva” is not a user id of this LMS \(it maps users by “sub”: digits only\)/);
  expect(await audited()).toBe(0);
});

test('a name typed into the learner address is refused, not fetched or audited as a person', async () => {
  const audited = async () =>
    JSON.parse((await admin.get(`${stack.tool.url}/admin/audit.json?${new URLSearchParams({ subject: 'Silva', ltik })}`)).html)
      .total as number;
  const page = await admin.get(`${stack.tool.url}/learners/Silva?${new URLSearchParams({ ltik })}`);
  expect(page.status).toBe(422);
  expect(/<h1[^>]*>([^<]*)<\/h1>/.exec(page.html)?.[1]).toBe('That is not a user id of this LMS');
  expect(textOf(page.html)).toMatch(/“Silva” is not a user id of this LMS \(digits only\)/);
  const json = await admin.get(`${stack.tool.url}/learners/Silva/sessions.json?${new URLSearchParams({ ltik })}`);
  expect(json.status).toBe(422);
  expect(JSON.parse(json.html).error.code).toBe('invalid_user_id');
  expect(await audited()).toBe(0);
  // An id-shaped one still opens (the admin may look up anyone).
  expect((await admin.get(`${stack.tool.url}/learners/5?${new URLSearchParams({ ltik })}`)).status).toBe(200);
});

test('an id-shaped text no one is known by is offered with a warning that the user may not exist', async () => {
  const res = await lookup('987654');
  expect(res.html).toContain('data-testid="direct"');
  expect(textOf(res.html)).toMatch(/No one with this id is known to the tool .* such a user may not exist in the LMS/);
  const known = await lookup('5');
  expect(known.html).toContain('data-testid="direct"');
  expect(textOf(known.html)).toMatch(/The tool has seen this id before/);
});

test('a name finds a learner of another course once that course’s roster has been read, with their id', async () => {
  const moodle = stack.world.platforms.find((p) => p.kind === 'moodle')!;
  const inLaunchCourse = new Set(moodle.courses.find((c) => c.id === '2')!.members.map((m) => m.person.lmsUserId));
  const other = moodle.courses.find((c) => c.id === '3')!;
  const person = other.members.find((m) => m.role === 'learner' && !inLaunchCourse.has(m.person.lmsUserId))!.person;
  const before = await lookup(person.familyName);
  expect(attrValues(before.html, 'data-known-user-id')).not.toContain(person.lmsUserId);
  // An instructor of that course opens its roster.
  const t = stack.browser();
  const teacher = other.members.find((m) => m.role === 'instructor')!.person;
  const launched = await t.launch({ platform: 'moodle', courseId: other.id, userId: teacher.lmsUserId });
  expect((await t.get(`${stack.tool.url}/course?ltik=${encodeURIComponent(launched.ltik!)}`)).status).toBe(200);
  const after = await lookup(person.familyName);
  expect(attrValues(after.html, 'data-known-user-id')).toContain(person.lmsUserId);
  expect(after.html).toContain(`href="/learners/${person.lmsUserId}?ltik&#x3D;`);
  expect(after.html).not.toContain(person.email);
});
