/**
 * Every view of a student's data is in the audit log with who, whom and from which course
 * (docs/product.md "Audit"): a student's own page, a learner's session exports (JSON and CSV)
 * and the roster CSV. Read back as an administrator reads it, over HTTP (/admin/audit.json).
 */
import type { AuditEntry } from '../../src/store';
import { testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let adminLtik: string;
let admin: ReturnType<S['browser']>;
const COURSE = '2';
const STUDENT = '4';
const TEACHER = '3';

beforeAll(async () => {
  stack = await testStack('auditviews');
  admin = stack.browser();
  const a = await admin.launch({ platform: 'moodle', courseId: COURSE, userId: '2' });
  expect(a.status).toBe(200);
  adminLtik = a.ltik!;
});
afterAll(async () => {
  await stack?.stop();
});

/** An entry of /admin/audit.json: the store's entry, as JSON. */
type Row = Pick<AuditEntry, 'actorUserId' | 'actorRole' | 'subjectUserId' | 'subjectUserIds' | 'action' | 'contextId' | 'platformIss'>;

async function auditOf(actor: string): Promise<Row[]> {
  const res = await admin.get(`${stack.tool.url}/admin/audit.json?${new URLSearchParams({ actor, limit: '500', ltik: adminLtik })}`);
  expect(res.status).toBe(200);
  return JSON.parse(res.html).items as Row[];
}

const pick = (r: Row) => ({
  actorUserId: r.actorUserId,
  actorRole: r.actorRole,
  subjectUserId: r.subjectUserId,
  action: r.action,
  contextId: r.contextId,
  platformIss: r.platformIss,
});

test('a student’s own page: the student, as student, about themselves, from the course', async () => {
  const before = (await auditOf(STUDENT)).length;
  const res = await stack.browser().launch({ platform: 'moodle', courseId: COURSE, userId: STUDENT });
  expect(res.status).toBe(200);
  expect(res.html).toContain('data-session-id');
  const rows = await auditOf(STUDENT);
  expect(rows.length).toBe(before + 1);
  expect(pick(rows[0]!)).toEqual({
    actorUserId: STUDENT,
    actorRole: 'student',
    subjectUserId: STUDENT,
    action: 'view.own_sessions',
    contextId: COURSE,
    platformIss: stack.lms.platforms.moodle.issuer,
  });
});

test('a learner’s session exports (JSON, CSV): the teacher, about that learner, from the course', async () => {
  const t = stack.browser();
  const launched = await t.launch({ platform: 'moodle', courseId: COURSE, userId: TEACHER });
  const before = (await auditOf(TEACHER)).length;
  const json = await t.get(`${stack.tool.url}/learners/5/sessions.json?ltik=${encodeURIComponent(launched.ltik!)}`);
  expect(json.status).toBe(200);
  const csv = await t.get(`${stack.tool.url}/learners/5/sessions.csv?ltik=${encodeURIComponent(launched.ltik!)}`);
  expect(csv.status).toBe(200);
  const all = await auditOf(TEACHER);
  const rows = all.slice(0, all.length - before);
  expect(rows.map(pick)).toEqual([
    {
      actorUserId: TEACHER,
      actorRole: 'instructor',
      subjectUserId: '5',
      action: 'export.sessions_csv',
      contextId: COURSE,
      platformIss: stack.lms.platforms.moodle.issuer,
    },
    {
      actorUserId: TEACHER,
      actorRole: 'instructor',
      subjectUserId: '5',
      action: 'view.sessions',
      contextId: COURSE,
      platformIss: stack.lms.platforms.moodle.issuer,
    },
  ]);
});

test('the roster CSV: the teacher, about exactly the learners in the file, from the course', async () => {
  const t = stack.browser();
  const launched = await t.launch({ platform: 'moodle', courseId: COURSE, userId: TEACHER });
  const before = (await auditOf(TEACHER)).length;
  const csv = await t.get(`${stack.tool.url}/course.csv?limit=40&sort_by=name&ltik=${encodeURIComponent(launched.ltik!)}`);
  expect(csv.status).toBe(200);
  const header = csv.html.split('\n')[0]!.split(',');
  const idColumn = header.indexOf('user_id');
  // Names may be quoted with commas inside; user ids are digits: read the id column from the end.
  const ids = csv.html
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => /,(\d+),(?:high|elevated|low|none|unavailable),/.exec(l)?.[1]);
  expect(idColumn).toBeGreaterThanOrEqual(0);
  expect(ids.length).toBe(40);
  const rows = await auditOf(TEACHER);
  expect(rows.length).toBe(before + 1);
  expect(pick(rows[0]!)).toEqual({
    actorUserId: TEACHER,
    actorRole: 'instructor',
    subjectUserId: null,
    action: 'export.roster_csv',
    contextId: COURSE,
    platformIss: stack.lms.platforms.moodle.issuer,
  });
  expect([...rows[0]!.subjectUserIds!].sort()).toEqual([...ids].sort());
});

test('an export of every page of the roster names every learner in it', async () => {
  const t = stack.browser();
  const launched = await t.launch({ platform: 'moodle', courseId: COURSE, userId: TEACHER });
  const csv = await t.get(`${stack.tool.url}/course.csv?enrollment=active,inactive&ltik=${encodeURIComponent(launched.ltik!)}`);
  expect(csv.status).toBe(200);
  const ids = csv.html
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => /,(\d+),(?:high|elevated|low|none|unavailable),/.exec(l)?.[1]);
  expect(ids).toHaveLength(150);
  const [row] = await auditOf(TEACHER);
  expect(row!.action).toBe('export.roster_csv');
  expect([...row!.subjectUserIds!].sort()).toEqual([...ids].sort());
});
