/**
 * Access rules, enforced from the launch and never from the URL: a learner sees only themself; an
 * instructor only learners of the course they launched from; an admin anyone.
 */
import { attrValues, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
type Launched = Awaited<ReturnType<ReturnType<S['browser']>['launch']>>;
let teacher: Launched, student: Launched, admin: Launched;
let teacherBrowser: ReturnType<S['browser']>, studentBrowser: ReturnType<S['browser']>, adminBrowser: ReturnType<S['browser']>;
let otherCourseLearner: string;
let otherSession: string;
let ownLearnerSession: string;

beforeAll(async () => {
  stack = await testStack('access');
  const moodle = stack.world.platforms.find((p) => p.kind === 'moodle')!;
  const lti101 = new Set(moodle.courses.find((c) => c.id === '2')!.members.map((m) => m.person.lmsUserId));
  const hist = moodle.courses.find((c) => c.id === '3')!;
  otherCourseLearner = hist.members.find(
    (m) =>
      m.role === 'learner' && !lti101.has(m.person.lmsUserId) && stack.simulator.dataset.sessionsForUser(m.person.lmsUserId).length > 0,
  )!.person.lmsUserId;
  otherSession = stack.simulator.dataset.sessionsForUser(otherCourseLearner)[0]!.id;
  ownLearnerSession = stack.simulator.dataset.sessionsForUser('4')[0]!.id;
  teacherBrowser = stack.browser();
  studentBrowser = stack.browser();
  adminBrowser = stack.browser();
  teacher = await teacherBrowser.launch({ platform: 'moodle', courseId: '2', userId: '3' });
  student = await studentBrowser.launch({ platform: 'moodle', courseId: '2', userId: '4' });
  admin = await adminBrowser.launch({ platform: 'moodle', courseId: '2', userId: '2' });
});
afterAll(async () => {
  await stack?.stop();
});

const at = (path: string, ltik: string) => `${stack.tool.url}${path}${path.includes('?') ? '&' : '?'}ltik=${encodeURIComponent(ltik)}`;

function expectNothingOf(html: string, userId: string) {
  for (const s of stack.simulator.dataset.sessionsForUser(userId)) expect(html).not.toContain(s.id);
}

test('an instructor opens a learner of their course, and one of that learner’s sessions', async () => {
  const page = await teacherBrowser.get(at('/learners/4', teacher.ltik!));
  expect(page.status).toBe(200);
  expect(page.html).toContain('Sam Student');
  const expected = stack.simulator.dataset.sessionsForUser('4');
  expect(attrValues(page.html, 'data-session-id')).toEqual(expected.slice(0, 25).map((s) => s.id));
  const session = await teacherBrowser.get(at(`/learners/4/sessions/${ownLearnerSession}`, teacher.ltik!));
  expect(session.status).toBe(200);
  const details = stack.simulator.dataset.details(ownLearnerSession)!;
  expect(textOf(session.html)).toContain(`Events ${details.eventCounts.total}`);
});

test('an instructor gets 403 and nothing for a learner of another course, or that learner’s session', async () => {
  const page = await teacherBrowser.get(at(`/learners/${otherCourseLearner}`, teacher.ltik!));
  expect(page.status).toBe(403);
  expectNothingOf(page.html, otherCourseLearner);
  const session = await teacherBrowser.get(at(`/learners/${otherCourseLearner}/sessions/${otherSession}`, teacher.ltik!));
  expect(session.status).toBe(403);
  expectNothingOf(session.html, otherCourseLearner);
  const json = await teacherBrowser.get(at(`/learners/${otherCourseLearner}/sessions.json`, teacher.ltik!));
  expect(json.status).toBe(403);
  expect(JSON.parse(json.html).error.code).toBe('forbidden');
});

test('an instructor cannot reach another learner’s session through a learner of their own course', async () => {
  const res = await teacherBrowser.get(at(`/learners/4/sessions/${otherSession}`, teacher.ltik!));
  expect(res.status).toBe(403);
  expect(res.html).not.toContain(otherSession.slice(0, 0) + 'data-event-id');
});

test('the teacher of the course is not a learner of it: no drill-down into staff', async () => {
  const res = await teacherBrowser.get(at('/learners/3', teacher.ltik!));
  expect(res.status).toBe(403);
});

test('a learner gets 403 for anyone else, and for the roster', async () => {
  const other = await studentBrowser.get(at('/learners/5', student.ltik!));
  expect(other.status).toBe(403);
  expectNothingOf(other.html, '5');
  const roster = await studentBrowser.get(at('/course', student.ltik!));
  expect(roster.status).toBe(403);
  const csv = await studentBrowser.get(at('/course.csv', student.ltik!));
  expect(csv.status).toBe(403);
  const theirSessionUnderOwnId = await studentBrowser.get(
    at(`/learners/4/sessions/${stack.simulator.dataset.sessionsForUser('5')[0]!.id}`, student.ltik!),
  );
  expect(theirSessionUnderOwnId.status).toBe(403);
});

test('a learner can open their own session in depth', async () => {
  const res = await studentBrowser.get(at(`/learners/4/sessions/${ownLearnerSession}`, student.ltik!));
  expect(res.status).toBe(200);
  expect(res.html).toContain('data-event-id');
});

test('an admin can open any student, in any course, and their sessions', async () => {
  const res = await adminBrowser.get(at(`/learners/${otherCourseLearner}`, admin.ltik!));
  expect(res.status).toBe(200);
  expect(attrValues(res.html, 'data-session-id')[0]).toBe(otherSession);
  const s = await adminBrowser.get(at(`/learners/${otherCourseLearner}/sessions/${otherSession}`, admin.ltik!));
  expect(s.status).toBe(200);
});

test('ids that try to escape their path segment are refused', async () => {
  const res = await adminBrowser.get(at('/learners/..%2F..%2Fv1%2Fsessions', admin.ltik!));
  expect([400, 404]).toContain(res.status);
});
