/**
 * The identity mapping (docs/product.md "Identity") end to end: a mapping declares the shape of a
 * valid id (Canvas's user id: digits, by default), and a value of another shape gets a page naming the
 * mapping and the problem, never an empty "no sessions recorded" page; a roster member with such
 * an id is marked "id not usable", not "no sessions". And the `lis_person_sourcedid` mapping,
 * applied alike to a launch and to the roster.
 */
import { learnerRiskSummary, DEFAULT_THRESHOLDS } from '../../src/risk';
import { buildWorld } from '../../src/dev/people';
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
const CUSTOM_CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/custom';
const idsIn = (html: string) => [...html.matchAll(/data-session-id="([^"]+)"/g)].map((m) => m[1]);

describe('Canvas, mapped by custom:canvas_user_id (digits)', () => {
  let stack: S;
  beforeAll(async () => {
    stack = await testStack('idshape');
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const canvasCourse = () => stack.world.platforms.find((p) => p.kind === 'canvas')!.courses[0]!;
  const student = () => canvasCourse().members.find((m) => m.role === 'learner')!.person;

  test.each([
    ['abc', /sent “abc”, which is not an id of that mapping \(digits only\)/, 'identity_malformed'],
    ['$Canvas.user.id', /sent the unfilled variable “\$Canvas\.user\.id” instead of an id/, 'identity_malformed'],
    ['', /maps users by “custom:canvas_user_id”, and the launch did not carry it/, 'identity_unmapped'],
  ])('a canvas_user_id of %p gets a page naming the mapping and the problem, not “no sessions”', async (value, problem, code) => {
    const res = await stack.browser().launch({
      platform: 'canvas',
      courseId: canvasCourse().id,
      userId: student().lmsUserId,
      tamper: { setClaims: { [CUSTOM_CLAIM]: { canvas_user_id: value, canvas_course_id: canvasCourse().id } } },
    });
    expect(res.status).toBe(422);
    expect(res.html).toContain(`<code>${code}</code>`);
    const text = textOf(res.html);
    expect(text).toMatch(/Your LMS user id could not be used/);
    expect(text).toMatch(problem);
    expect(text).not.toMatch(/no sessions/i);
    expect(res.html).not.toContain('data-session-id');
  });

  test('the numeric id still opens the student’s own sessions', async () => {
    const res = await stack.browser().launch({ platform: 'canvas', courseId: canvasCourse().id, userId: student().lmsUserId });
    expect(res.status).toBe(200);
    expect(idsIn(res.html)).toEqual(
      stack.simulator.dataset
        .sessionsForUser(student().lmsUserId)
        .slice(0, 25)
        .map((s) => s.id),
    );
  });
});

describe('Moodle mapped by lis_person_sourcedid; Canvas with a declared id pattern', () => {
  let stack: S;
  const world = buildWorld();
  const moodle = world.platforms.find((p) => p.kind === 'moodle')!;
  const moodleCourse = moodle.courses[0]!;
  const moodleLearners = moodleCourse.members.filter((m) => m.role === 'learner');
  beforeAll(async () => {
    stack = await testStack('sourcedid', {
      world,
      // The integration knows Moodle's learners by their SIS ids.
      simulator: { extraUserIds: moodleLearners.map((m) => m.person.sourcedId) },
      platformSettings: { moodle: { identity: 'lis_person_sourcedid' }, canvas: { identityPattern: '3000[1-5]' } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('a student sees the sessions recorded under their sourcedid, not under their Moodle id', async () => {
    const person = moodleLearners.map((m) => m.person).find((p) => stack.simulator.dataset.sessionsForUser(p.sourcedId).length > 0)!;
    const res = await stack.browser().launch({ platform: 'moodle', courseId: moodleCourse.id, userId: person.lmsUserId });
    expect(res.status).toBe(200);
    expect(res.url).toContain('/me?');
    const expected = stack.simulator.dataset
      .sessionsForUser(person.sourcedId)
      .slice(0, 25)
      .map((s) => s.id);
    expect(expected.length).toBeGreaterThan(0);
    expect(idsIn(res.html)).toEqual(expected);
    const byMoodleId = new Set(stack.simulator.dataset.sessionsForUser(person.lmsUserId).map((s) => s.id));
    expect(idsIn(res.html).filter((id) => byMoodleId.has(id!))).toEqual([]);
  });

  test('the roster maps every member by the same sourcedid, with levels from those sessions', async () => {
    const teacher = moodleCourse.members.find((m) => m.role === 'instructor')!.person;
    const b = stack.browser();
    const t = await b.launch({ platform: 'moodle', courseId: moodleCourse.id, userId: teacher.lmsUserId });
    expect(t.status).toBe(200);
    const body = JSON.parse((await b.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(t.ltik!)}`)).html);
    expect(body.total).toBe(moodleLearners.length);
    const byId = new Map<string, string>(body.items.map((i: { userId: string; risk: string }) => [i.userId, i.risk]));
    for (const m of moodleLearners) {
      expect(byId.get(m.person.sourcedId)).toBe(
        learnerRiskSummary(stack.simulator.dataset.sessionsForUser(m.person.sourcedId), { thresholds: DEFAULT_THRESHOLDS }).level,
      );
    }
  });

  test('a roster member whose id fails the declared pattern is “id not usable”, never “no sessions”', async () => {
    const canvasCourse = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses[0]!;
    const teacher = canvasCourse.members.find((m) => m.role === 'instructor')!.person;
    const b = stack.browser();
    const t = await b.launch({ platform: 'canvas', courseId: canvasCourse.id, userId: teacher.lmsUserId });
    expect(t.status).toBe(200);
    const body = JSON.parse((await b.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(t.ltik!)}`)).html);
    const items = body.items as Array<{ userId: string | null; ltiUserId: string; risk: string; problem: string | null; name: string }>;
    const usable = items.filter((i) => i.userId !== null);
    expect(usable.map((i) => i.userId).sort()).toEqual(['30001', '30002', '30003', '30004', '30005']);
    const unusable = items.filter((i) => i.userId === null);
    expect(unusable.length).toBe(items.length - 5);
    for (const i of unusable) {
      expect(i.risk).toBe('unavailable');
      expect(i.problem).toMatch(
        /^Id not usable: This platform maps users by “custom:canvas_user_id”, and the LMS sent “\d+”, which is not an id of that mapping \(the pattern 3000\[1-5\]\)\./,
      );
    }
    const page = await b.get(`${stack.tool.url}/course?limit=500&ltik=${encodeURIComponent(t.ltik!)}`);
    expect(textOf(page.html)).toContain(`${unusable[0]!.name}`);
    expect(textOf(page.html)).toMatch(/Id not usable/);
  });
});
