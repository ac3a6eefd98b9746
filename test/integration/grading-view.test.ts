/**
 * The grading view over real HTTP (docs/product.md "Placements"): a staff launch of a link placed on one activity (the
 * placement made in the store, its id carried by the launch's custom parameter `placement`, as Deep Linking puts it
 * there) opens the roster restricted to the sessions on that activity's pages in its window, with levels computed with
 * its thresholds and a banner saying so; the learner pages and exports agree; the course-wide roster of the same
 * teacher, read before and after, shares no answer with it; a student launch of the same link sees all of their own
 * sessions.
 */
import { decodeJwt, type FormSubmission } from '../../src/dev/lms';
import { MOODLE_BASE_URL } from '../../src/dev/simulator/dataset';
import type { IsnotaiSession } from '../../src/isnotai/types';
import { DEFAULT_THRESHOLDS, learnerRiskSummary } from '../../src/risk';
import { sessionInPlacement, type PlacementLens } from '../../src/risk/placement';
import { createPlacementStore, type Placement } from '../../src/store';
import { parseCsv } from '../support/csv';
import { testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const COURSE = '2';
const TEACHER = '3';
/** The Moodle site administrator (src/dev/people.ts). */
const ADMIN = '2';
const CLAIM = 'https://purl.imsglobal.org/spec/lti/claim/';
const LINK = 'quiz-grading-link-1';
const THRESHOLDS = { high: 0.8, elevated: 0.5 };

let placement: Placement;
let lens: PlacementLens;
let cmid: number;

beforeAll(async () => {
  stack = await testStack('gradingview');
  // The course's most used quiz: some learners have sessions on it, some do not.
  const counts = new Map<number, number>();
  for (const l of learners()) {
    for (const s of sessionsOf(l)) {
      const m = /cmid=(\d+)$/.exec(s.pageUrl);
      if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
    }
  }
  cmid = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  // The window starts at the median start of that quiz's sessions, so that it leaves some out.
  const starts = learners()
    .flatMap((l) => sessionsOf(l))
    .filter((s) => s.pageUrl.endsWith(`&cmid=${cmid}`))
    .map((s) => Date.parse(s.createdAt))
    .sort((a, b) => a - b);
  const windowStart = new Date(starts[Math.floor(starts.length / 2)]!);
  const moodle = stack.lms.platforms.moodle;
  placement = await createPlacementStore(stack.tool.store.db).create({
    platformIss: moodle.issuer,
    platformClientId: moodle.clientId,
    deploymentId: moodle.deploymentId,
    contextId: COURSE,
    title: 'Quiz grading',
    scope: 'activity',
    urlPattern: `${MOODLE_BASE_URL}/mod/quiz/*cmid=${cmid}`,
    windowStart,
    windowEnd: null,
    thresholds: THRESHOLDS,
    createdByUserId: TEACHER,
    audit: {
      platformIss: moodle.issuer,
      platformClientId: moodle.clientId,
      actorUserId: TEACHER,
      actorRole: 'instructor',
      action: 'placement.create',
    },
  });
  lens = placement;
});
afterAll(async () => {
  await stack?.stop();
});

function learners(): string[] {
  const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === COURSE)!;
  return course.members.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
}
const sessionsOf = (userId: string): IsnotaiSession[] => [...stack.simulator.dataset.sessionsForUser(userId)];
const inActivity = (userId: string) => sessionsOf(userId).filter((s) => sessionInPlacement(s, lens));

/** The launch's id_token with the link's resource link id and custom `placement` (as the LMS sends them after Deep Linking). */
function placedLink(placementId: string | null, linkId = LINK) {
  return (form: FormSubmission): Record<string, string> => {
    if (!('id_token' in form.fields)) return form.fields;
    const p = { ...decodeJwt(form.fields.id_token!).payload };
    p[`${CLAIM}resource_link`] = { id: linkId, title: 'Quiz grading', description: '' };
    const custom = { ...((p[`${CLAIM}custom`] as Record<string, unknown> | undefined) ?? {}) };
    if (placementId) custom.placement = placementId;
    p[`${CLAIM}custom`] = custom;
    return { ...form.fields, id_token: stack.lms.signIdToken('moodle', p) };
  };
}

async function launch(userId: string, rewrite?: ReturnType<typeof placedLink>) {
  const browser = stack.browser();
  const res = await browser.launch({ platform: 'moodle', courseId: COURSE, userId, ...(rewrite ? { rewriteForm: rewrite } : {}) });
  expect(res.status).toBe(200);
  const get = (path: string, params: Record<string, string> = {}) =>
    browser.get(`${stack.tool.url}${path}?${new URLSearchParams({ ...params, ltik: res.ltik! })}`);
  const json = async (path: string, params: Record<string, string> = {}) => {
    const page = await get(path, params);
    expect(page.status).toBe(200);
    return JSON.parse(page.html);
  };
  return { res, get, json };
}

interface Item {
  userId: string;
  risk: string;
  sessions: number;
  high: number;
  elevated: number;
  maxScore: number | null;
}

function expectRoster(items: Item[], expected: (userId: string) => ReturnType<typeof learnerRiskSummary>) {
  const ids = learners();
  expect(items.map((i) => i.userId).sort()).toEqual([...ids].sort());
  for (const i of items) {
    const e = expected(i.userId);
    expect({ userId: i.userId, risk: i.risk, sessions: i.sessions, high: i.high, elevated: i.elevated, maxScore: i.maxScore }).toEqual({
      userId: i.userId,
      risk: e.level,
      sessions: e.sessionsInWindow,
      high: e.highCount,
      elevated: e.elevatedCount,
      maxScore: e.maxScore,
    });
  }
}

const courseWide = (userId: string) => learnerRiskSummary(sessionsOf(userId), { thresholds: DEFAULT_THRESHOLDS });
const activityOnly = (userId: string) => learnerRiskSummary(inActivity(userId), { thresholds: THRESHOLDS });

describe('a staff launch of the activity’s link', () => {
  test('the course-wide roster first (it warms the cache the grading view shares)', async () => {
    const plain = await launch(TEACHER);
    const body = await plain.json('/course.json', { limit: '500' });
    expect(body.placement).toBeNull();
    expect(body.thresholds).toEqual(DEFAULT_THRESHOLDS);
    expectRoster(body.items, courseWide);
    expect(plain.res.html).not.toContain('data-testid="placement-banner"');
  });

  test('the roster holds only the sessions on the activity’s pages in its window, levels with its thresholds, every learner listed', async () => {
    const graded = await launch(TEACHER, placedLink(placement.id));
    expect(graded.res.url).toContain('/course?');
    const body = await graded.json('/course.json', { limit: '500' });
    expect(body.placement).toMatchObject({ id: placement.id, scope: 'activity', urlPattern: placement.urlPattern, thresholds: THRESHOLDS });
    expect(body.thresholds).toEqual(THRESHOLDS);
    expectRoster(body.items, activityOnly);
    // It narrows something, and leaves learners without such a session listed, as having none.
    const total = learners().reduce((n, id) => n + sessionsOf(id).length, 0);
    const kept = learners().reduce((n, id) => n + inActivity(id).length, 0);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(total);
    const none = body.items.filter((i: Item) => i.risk === 'none');
    expect(none.length).toBeGreaterThan(learners().filter((id) => sessionsOf(id).length === 0).length);
    // Some learner's level differs from the course-wide one: the view is not the course's with a label on it.
    expect(learners().some((id) => activityOnly(id).level !== courseWide(id).level)).toBe(true);
  });

  test('the page says so at the top: the pattern, the window and the placement’s thresholds', async () => {
    const graded = await launch(TEACHER, placedLink(placement.id));
    const html = graded.res.html;
    expect(html).toContain('data-testid="placement-banner"');
    const banner = textOf(/<p class="notice placement-banner"[\s\S]*?<\/p>/.exec(html)![0]);
    expect(banner).toContain('Quiz grading');
    expect(banner).toContain(`This link covers one activity: sessions on pages matching ${MOODLE_BASE_URL}/mod/quiz/*cmid=${cmid} from `);
    expect(banner).toContain('levels use High ≥ 0.80, Elevated ≥ 0.50 (this placement’s thresholds)');
    // The banner comes before the roster.
    expect(html.indexOf('placement-banner')).toBeLessThan(html.indexOf('data-testid="triage"'));
  });

  test('a learner’s page and their session export agree with the roster', async () => {
    const graded = await launch(TEACHER, placedLink(placement.id));
    const who = learners().find((id) => inActivity(id).length > 0 && inActivity(id).length < sessionsOf(id).length)!;
    expect(who).toBeDefined();
    const page = await graded.get(`/learners/${encodeURIComponent(who)}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('data-testid="placement-banner"');
    const exported = await graded.json(`/learners/${encodeURIComponent(who)}/sessions.json`, { limit: '500' });
    expect(exported.items.map((s: { id: string }) => s.id).sort()).toEqual(
      inActivity(who)
        .map((s) => s.id)
        .sort(),
    );
    // Levels with the placement's lines: a session at 0.75 is Elevated here, High nowhere.
    for (const s of exported.items as Array<{ botScore: number; riskWithoutAccommodations: string }>) {
      const level = s.botScore >= 0.8 ? 'high' : s.botScore >= 0.5 ? 'elevated' : 'low';
      expect(s.riskWithoutAccommodations).toBe(level);
    }
  });

  test('every page of the launch says so (the layout’s banner): a session of the activity; one outside it is refused, saying why', async () => {
    const graded = await launch(TEACHER, placedLink(placement.id));
    const who = learners().find((id) => inActivity(id).length > 0 && inActivity(id).length < sessionsOf(id).length)!;
    const inside = inActivity(who)[0]!;
    const outside = sessionsOf(who).find((s) => !sessionInPlacement(s, lens))!;
    const page = await graded.get(`/learners/${encodeURIComponent(who)}/sessions/${encodeURIComponent(inside.id)}`);
    expect(page.status).toBe(200);
    expect(page.html.match(/data-testid="placement-banner"/g)).toHaveLength(1);
    const refused = await graded.get(`/learners/${encodeURIComponent(who)}/sessions/${encodeURIComponent(outside.id)}`);
    expect(refused.status).toBe(403);
    expect(textOf(refused.html)).toContain('That session is not one this link covers');
    expect(textOf(refused.html)).toContain('Open the tool from the course’s own link to see the others.');
    // The course-wide link opens it.
    const plain = await launch(TEACHER);
    expect((await plain.get(`/learners/${encodeURIComponent(who)}/sessions/${encodeURIComponent(outside.id)}`)).status).toBe(200);
  });

  test('an admin launching the link: the roster is the activity’s, but the registration-wide /admin pages are not an activity’s', async () => {
    const admin = await launch(ADMIN, placedLink(placement.id));
    expect((await admin.json('/course.json', { limit: '500' })).thresholds).toEqual(THRESHOLDS);
    const sessions = await admin.get('/admin/sessions');
    expect(sessions.status).toBe(200);
    expect(sessions.html).not.toContain('data-testid="placement-banner"');
    // Its levels use the registration's lines: a session scored 0.75 is High there, as it would be Elevated here.
    const csv = await admin.get('/admin/sessions.csv', { limit: '500' });
    expect(csv.status).toBe(200);
    const [head, ...rows] = parseCsv(csv.html.replace(/^\uFEFF/, ''));
    const score = head!.indexOf('bot_score');
    const risk = head!.indexOf('risk');
    const between = rows.filter((r) => Number(r[score]) >= 0.7 && Number(r[score]) < 0.8);
    expect(between.length).toBeGreaterThan(0);
    for (const r of between) expect(r[risk]).toBe('high');
  });

  test('the link is bound at its first staff launch: later launches without the custom parameter find it', async () => {
    const again = await launch(TEACHER, placedLink(null));
    const body = await again.json('/course.json', { limit: '500' });
    expect(body.placement?.id).toBe(placement.id);
    expectRoster(body.items, activityOnly);
  });

  test('the course-wide roster afterwards is still the whole course’s (no cached answer is shared)', async () => {
    const plain = await launch(TEACHER);
    const body = await plain.json('/course.json', { limit: '500' });
    expect(body.placement).toBeNull();
    expectRoster(body.items, courseWide);
  });

  test('another link naming the same placement does not take it (it is bound to its own link): that link covers the course', async () => {
    const other = await launch(TEACHER, placedLink(placement.id, 'another-link'));
    const body = await other.json('/course.json', { limit: '500' });
    expect(body.placement).toBeNull();
    expectRoster(body.items, courseWide);
  });

  test('a placement made for another course is not bound to this course’s link', async () => {
    const moodle = stack.lms.platforms.moodle;
    const elsewhere = await createPlacementStore(stack.tool.store.db).create({
      ...placement,
      contextId: 'another-course',
      createdByUserId: TEACHER,
      audit: {
        platformIss: moodle.issuer,
        platformClientId: moodle.clientId,
        actorUserId: TEACHER,
        actorRole: 'instructor',
        action: 'placement.create',
      },
    });
    const launched = await launch(TEACHER, placedLink(elsewhere.id, 'third-link'));
    const body = await launched.json('/course.json', { limit: '500' });
    expect(body.placement).toBeNull();
  });
});

test('a student launch of the same link lands on /me and sees all of their own sessions', async () => {
  const who = learners().find((id) => inActivity(id).length > 0 && inActivity(id).length < sessionsOf(id).length)!;
  const student = await launch(who, placedLink(placement.id));
  expect(student.res.url).toContain('/me?');
  expect(student.res.html).not.toContain('data-testid="placement-banner"');
  const own = await student.json(`/learners/${encodeURIComponent(who)}/sessions.json`, { limit: '500' });
  expect(own.total).toBe(sessionsOf(who).length);
});
