/**
 * The instructor's roster over real HTTP, checked against the simulator's own data: levels and
 * counts; sorting, filters, query, window, paging; JSON and CSV agree with the page.
 */
import { learnerRiskSummary, DEFAULT_THRESHOLDS } from '../../src/risk';
import { attrValues, decodeEntities, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let teacher: Awaited<ReturnType<ReturnType<S['browser']>['launch']>>;
let browser: ReturnType<S['browser']>;
const MOODLE_COURSE = '2';

beforeAll(async () => {
  stack = await testStack('roster');
  browser = stack.browser();
  teacher = await browser.launch({ platform: 'moodle', courseId: MOODLE_COURSE, userId: '3' });
});
afterAll(async () => {
  await stack?.stop();
});

const url = (path: string, params: Record<string, string> = {}) => {
  const q = new URLSearchParams({ ...params, ltik: teacher.ltik! });
  return `${stack.tool.url}${path}?${q}`;
};
async function json(path: string, params: Record<string, string> = {}) {
  const res = await browser.get(url(path, params));
  return { status: res.status, body: JSON.parse(res.html) };
}

function expectedLearners(window?: { after?: Date; before?: Date }) {
  const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === MOODLE_COURSE)!;
  return course.members
    .filter((m) => m.role === 'learner')
    .map((m) => ({
      person: m.person,
      summary: learnerRiskSummary(stack.simulator.dataset.sessionsForUser(m.person.lmsUserId), { thresholds: DEFAULT_THRESHOLDS, window }),
    }));
}

test('an instructor launch lands on the roster of that course', () => {
  expect(teacher.status).toBe(200);
  expect(teacher.url).toContain('/course?');
  expect(teacher.html).toContain('LTI Harness Course');
});

test('every learner of the course is listed with the level and counts computed from the simulator', async () => {
  const { status, body } = await json('/course.json', { limit: '500' });
  expect(status).toBe(200);
  const expected = expectedLearners();
  expect(body.total).toBe(expected.length);
  expect(body.items).toHaveLength(expected.length);
  const byId = new Map(body.items.map((i: { userId: string }) => [i.userId, i]));
  for (const e of expected) {
    const got = byId.get(e.person.lmsUserId) as Record<string, unknown>;
    expect(got).toBeDefined();
    expect(got.risk).toBe(e.summary.level);
    expect(got.sessions).toBe(e.summary.sessionsInWindow);
    expect(got.high).toBe(e.summary.highCount);
    expect(got.elevated).toBe(e.summary.elevatedCount);
    expect(got.maxScore).toBe(e.summary.maxScore);
    expect(got.topFlags).toEqual(e.summary.topFlags);
  }
  // The teacher is not a learner; learners without sessions are listed as such, not dropped.
  expect(byId.has('3')).toBe(false);
  expect(expected.some((e) => e.summary.level === 'none')).toBe(true);
});

test('sorting by risk puts the riskiest first; by name ascending is alphabetical', async () => {
  const { body } = await json('/course.json', { sort_by: 'max_score', sort_direction: 'desc', limit: '500' });
  const scores = body.items.map((i: { maxScore: number | null }) => i.maxScore ?? -1);
  expect(scores).toEqual([...scores].sort((a: number, b: number) => b - a));
  const byName = await json('/course.json', { sort_by: 'name', sort_direction: 'asc', limit: '500' });
  const names = byName.body.items.map((i: { name: string }) => i.name);
  expect(names).toEqual([...names].sort((a: string, b: string) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
});

test('risk filter: repeated and comma-separated forms agree, and match the computed levels', async () => {
  const a = await json('/course.json', { risk: 'high,elevated', limit: '500' });
  const q = new URLSearchParams({ ltik: teacher.ltik!, limit: '500' });
  q.append('risk', 'high');
  q.append('risk', 'elevated');
  const b = JSON.parse((await browser.get(`${stack.tool.url}/course.json?${q}`)).html);
  expect(a.body.items.map((i: { userId: string }) => i.userId)).toEqual(b.items.map((i: { userId: string }) => i.userId));
  const expected = expectedLearners().filter((e) => e.summary.level === 'high' || e.summary.level === 'elevated');
  expect(a.body.total).toBe(expected.length);
});

test('query finds a learner by name, email or id', async () => {
  const byName = await json('/course.json', { query: 'sam student' });
  expect(byName.body.items.map((i: { userId: string }) => i.userId)).toEqual(['4']);
  const byEmail = await json('/course.json', { query: 'student5@example.edu' });
  expect(byEmail.body.items.map((i: { userId: string }) => i.userId)).toEqual(['8']);
});

test('the created window changes the counts to the sessions inside it', async () => {
  const after = new Date(Date.parse('2026-11-10T00:00:00Z'));
  const { body } = await json('/course.json', { created_after: '2026-11-10', limit: '500' });
  const expected = expectedLearners({ after });
  const byId = new Map(body.items.map((i: { userId: string; sessions: number; risk: string }) => [i.userId, i]));
  for (const e of expected) {
    const got = byId.get(e.person.lmsUserId) as { sessions: number; risk: string };
    expect(got.sessions).toBe(e.summary.sessionsInWindow);
    expect(got.risk).toBe(e.summary.level);
  }
});

test('paging: limit/offset, has_more and next_offset walk the whole roster exactly once', async () => {
  const seen: string[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const { body } = await json('/course.json', { limit: '7', offset: String(offset), sort_by: 'name', sort_direction: 'asc' });
    seen.push(...body.items.map((i: { ltiUserId: string }) => i.ltiUserId));
    expect(body.has_more).toBe(body.next_offset !== null);
    offset = body.next_offset;
  }
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen.length).toBe(expectedLearners().length);
});

test('CSV and JSON carry the same learners in the same order', async () => {
  const params = { sort_by: 'risk', sort_direction: 'desc', limit: '40' };
  const { body } = await json('/course.json', params);
  const csv = await browser.get(url('/course.csv', params));
  expect(csv.status).toBe(200);
  expect(String(csv.headers['content-type'])).toMatch(/text\/csv/);
  const lines = csv.html
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r\n/);
  expect(lines[0]).toBe(
    'name,email,user_id,risk,risk_without_accommodations,sessions,high,elevated,max_score,top_flags,last_activity,level_reason,enrollment,review_status,reviewed_by,reviewed_by_role,reviewed_at,new_responses',
  );
  expect(lines.length - 1).toBe(body.items.length);
  const csvIds = lines.slice(1).map((l) => l.match(/,(\d+),(high|elevated|low|none|unavailable),/)?.[1]);
  expect(csvIds).toEqual(body.items.map((i: { userId: string }) => i.userId));
});

test('exporting a filtered roster of 150 learners gives all 150 (CSV and JSON), as the page’s link says, and downloads', async () => {
  const filters = { enrollment: 'active,inactive', sort_by: 'name', sort_direction: 'asc' };
  const page = await browser.get(url('/course', filters));
  expect(page.status).toBe(200);
  // The page shows its first 50, and offers every matching learner for export.
  expect(attrValues(page.html, 'data-user-id')).toHaveLength(50);
  const exports = /<p class="exports"[^>]*>([\s\S]*?)<\/p>/.exec(page.html)?.[0] ?? '';
  expect(textOf(exports)).toBe('Export all 150 learners matching these filters: CSV · JSON');
  const link = (label: string) => decodeEntities(new RegExp(`href="([^"]*)">${label}<`).exec(exports)?.[1] ?? '');
  expect(link('CSV')).toMatch(/^\/course\.csv\?/);
  expect(new URLSearchParams(link('CSV').split('?')[1]).has('limit')).toBe(false);

  const csv = await browser.get(`${stack.tool.url}${link('CSV')}`);
  expect(csv.status).toBe(200);
  expect(String(csv.headers['content-disposition'])).toBe('attachment; filename="roster-LTI101.csv"');
  const rows = csv.html
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r\n/)
    .slice(1);
  expect(rows).toHaveLength(150);
  const jsonExport = await browser.get(`${stack.tool.url}${link('JSON')}`);
  expect(jsonExport.status).toBe(200);
  expect(String(jsonExport.headers['content-disposition'])).toBe('attachment; filename="roster-LTI101.json"');
  expect(String(jsonExport.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(jsonExport.html);
  expect(body).toMatchObject({ total: 150, limit: null, offset: 0, has_more: false, next_offset: null });
  const ids = body.items.map((i: { userId: string }) => i.userId);
  expect(ids).toHaveLength(150);
  // In the page's order (by name), the page's 50 first.
  expect(ids.slice(0, 50)).toEqual(attrValues(page.html, 'data-user-id'));
});

test('exporting a roster narrowed by a filter gives exactly the learners that match it, every page of them', async () => {
  // Expected independently: the unfiltered export, narrowed here.
  const everyone = JSON.parse((await browser.get(url('/course.json'))).html).items as Array<{ userId: string; risk: string }>;
  expect(everyone).toHaveLength(150);
  const expected = everyone.filter((i) => i.risk === 'low' || i.risk === 'none').map((i) => i.userId);
  // More than one page of 50, and fewer than everyone.
  expect(expected.length).toBeGreaterThan(50);
  expect(expected.length).toBeLessThan(150);
  const filters = { risk: 'low,none', sort_by: 'name', sort_direction: 'asc' };
  const page = await browser.get(url('/course', filters));
  const exports = /<p class="exports"[^>]*>([\s\S]*?)<\/p>/.exec(page.html)?.[0] ?? '';
  expect(textOf(exports)).toBe(`Export all ${expected.length} learners matching these filters: CSV · JSON`);
  const link = (label: string) => decodeEntities(new RegExp(`href="([^"]*)">${label}<`).exec(exports)?.[1] ?? '');
  const body = JSON.parse((await browser.get(`${stack.tool.url}${link('JSON')}`)).html);
  expect(body.total).toBe(expected.length);
  expect(body.items.map((i: { userId: string }) => i.userId).sort()).toEqual([...expected].sort());
  const rows = (await browser.get(`${stack.tool.url}${link('CSV')}`)).html
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r\n/)
    .slice(1);
  expect(rows).toHaveLength(expected.length);
  expect(rows.map((l) => /,(\d+),(low|none),/.exec(l)?.[1]).sort()).toEqual([...expected].sort());
});

test('risk “unavailable” has its checkbox, and setting it (or any filter) opens the folded filters', async () => {
  const folded = await browser.get(url('/course'));
  expect(folded.html).toMatch(/<details class="filters-box">/);
  const page = await browser.get(url('/course', { risk: 'unavailable' }));
  expect(page.status).toBe(200);
  expect(page.html).toMatch(/<details class="filters-box" open>/);
  expect(page.html).toMatch(/<input type="checkbox" name="risk" value="unavailable" checked> Unavailable/);
});

test('a suspended enrolment (Names and Roles status Inactive) is listed, marked, and can be filtered', async () => {
  const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === MOODLE_COURSE)!;
  const inactive = course.members.filter((m) => m.role === 'learner' && m.status === 'Inactive').map((m) => m.person.lmsUserId);
  expect(inactive).toHaveLength(1);
  const all = (await json('/course.json', { limit: '500' })).body;
  expect(all.items.filter((i: { enrollment: string }) => i.enrollment === 'inactive').map((i: { userId: string }) => i.userId)).toEqual(
    inactive,
  );
  const active = (await json('/course.json', { limit: '500', enrollment: 'active' })).body;
  expect(active.total).toBe(all.total - 1);
  expect(active.items.map((i: { userId: string }) => i.userId)).not.toContain(inactive[0]);
  const onlyInactive = (await json('/course.json', { enrollment: 'inactive' })).body;
  expect(onlyInactive.items.map((i: { userId: string }) => i.userId)).toEqual(inactive);
  expect((await json('/course.json', { enrollment: 'gone' })).status).toBe(422);

  const page = await browser.get(url('/course', { enrollment: 'inactive' }));
  expect(attrValues(page.html, 'data-user-id')).toEqual(inactive);
  expect(textOf(page.html)).toContain('inactive in the LMS');
  expect(textOf(page.html)).toContain(`(${all.total} in the course, 1 of them inactive in the LMS)`);
  const csv = await browser.get(url('/course.csv', { enrollment: 'inactive' }));
  // The enrolment column, then the review columns (nobody has reviewed this learner).
  expect(csv.html.trim().split(/\r\n/)[1]).toMatch(/,inactive,unreviewed,,,,0$/);
});

test('the HTML page shows the same first page as the JSON', async () => {
  const { body } = await json('/course.json', { limit: '20' });
  const page = await browser.get(url('/course', { limit: '20' }));
  expect(page.status).toBe(200);
  expect(attrValues(page.html, 'data-user-id')).toEqual(body.items.map((i: { userId: string }) => i.userId));
  expect(textOf(page.html)).toContain(`of ${body.total} matching learners`);
});

test('invalid parameters: 422 with every problem listed (JSON) and a readable page (HTML)', async () => {
  const { status, body } = await json('/course.json', { limit: '0', sort_by: 'shoe_size', risk: 'purple', created_after: 'yesterday' });
  expect(status).toBe(422);
  expect(body.error.code).toBe('invalid_parameters');
  const params = body.error.details.map((d: { param: string }) => d.param).sort();
  expect(params).toEqual(['created_after', 'limit', 'risk', 'sort_by']);
  const page = await browser.get(url('/course', { limit: '9999' }));
  expect(page.status).toBe(422);
  expect(textOf(page.html)).toMatch(/limit/);
});

test('Canvas: roster members are mapped to numeric user ids through the custom claim (Names and Roles with rlid)', async () => {
  const canvas = stack.world.platforms.find((p) => p.kind === 'canvas')!;
  const course = canvas.courses[0]!;
  const b = stack.browser();
  const theo = await b.launch({ platform: 'canvas', courseId: course.id, userId: '20001' });
  expect(theo.status).toBe(200);
  const body = JSON.parse((await b.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(theo.ltik!)}`)).html);
  const learners = course.members.filter((m) => m.role === 'learner' || m.role === 'teststudent');
  expect(body.total).toBe(learners.length);
  const byId = new Map(body.items.map((i: { userId: string; risk: string }) => [i.userId, i.risk]));
  for (const m of learners) {
    const expected = learnerRiskSummary(stack.simulator.dataset.sessionsForUser(m.person.lmsUserId), {
      thresholds: DEFAULT_THRESHOLDS,
    }).level;
    expect(byId.get(m.person.lmsUserId)).toBe(expected);
  }
});

describe('without a cache', () => {
  let cold: S;
  beforeAll(async () => {
    cold = await testStack('rostercold', { env: { CACHE_TTL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await cold?.stop();
  });

  test('one learner’s upstream failure marks that row; the page and every other row stand', async () => {
    const b = cold.browser();
    const t = await b.launch({ platform: 'moodle', courseId: '2', userId: '3' });
    expect(t.status).toBe(200);
    // The first malformed answer spoils the integration-wide walk (the tool then reads learner by
    // learner); the second, one learner's sessions.
    cold.simulator.queueFaults('malformed', 'malformed');
    const res = await b.get(`${cold.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(t.ltik!)}`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.html);
    const failed = body.items.filter((i: { risk: string }) => i.risk === 'unavailable');
    expect(failed).toHaveLength(1);
    expect(failed[0].problem).toMatch(/could not be read/);
    expect(body.total).toBe(150);
    const page = await b.get(`${cold.tool.url}/course?limit=500&sort_by=name&ltik=${encodeURIComponent(t.ltik!)}`);
    expect(page.status).toBe(200);
  });

  test('a narrow window is read from the integration-wide list when that is cheaper, with the same result', async () => {
    const b = cold.browser();
    const t = await b.launch({ platform: 'moodle', courseId: '2', userId: '3' });
    const after = new Date('2026-11-18T00:00:00Z');
    const inWindow = cold.simulator.dataset.allSessions().filter((s) => Date.parse(s.createdAt) >= after.getTime());
    expect(inWindow.length).toBeLessThanOrEqual(300); // fits in the walk's page budget
    const before = cold.simulator.requests.length;
    const res = await b.get(`${cold.tool.url}/course.json?limit=500&created_after=2026-11-18&ltik=${encodeURIComponent(t.ltik!)}`);
    const calls = cold.simulator.requests.slice(before).map((r) => r.rawUrl);
    expect(calls.filter((u) => u.startsWith('/v1/users/'))).toEqual([]);
    expect(calls.filter((u) => u.startsWith('/v1/sessions?')).length).toBe(Math.ceil(inWindow.length / 100) || 1);
    const body = JSON.parse(res.html);
    const course = cold.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === '2')!;
    const byId = new Map(body.items.map((i: { userId: string }) => [i.userId, i]));
    for (const m of course.members.filter((x) => x.role === 'learner')) {
      const e = learnerRiskSummary(cold.simulator.dataset.sessionsForUser(m.person.lmsUserId), {
        thresholds: DEFAULT_THRESHOLDS,
        window: { after },
      });
      expect(byId.get(m.person.lmsUserId)).toMatchObject({
        risk: e.level,
        sessions: e.sessionsInWindow,
        high: e.highCount,
        maxScore: e.maxScore,
      });
    }
  });

  test('a cold roster is sent with progress first, then the whole page', async () => {
    const b = cold.browser();
    const t = await b.launch({ platform: 'moodle', courseId: '2', userId: '3' });
    // The launch itself landed on the roster: progress, then the table, in one 200 answer.
    expect(t.status).toBe(200);
    const text = textOf(t.html);
    expect(text).toMatch(/Reading the integrity signals of 150 learners from isnotai \(150 in the course\)/);
    expect(text).toMatch(/150 of 150 learners…/);
    expect(t.html.indexOf('class="progress"')).toBeLessThan(t.html.indexOf('data-testid="roster"'));
    expect(attrValues(t.html, 'data-user-id')).toHaveLength(50);
    expect(t.html.trim().endsWith('</html>')).toBe(true);
  });
});
