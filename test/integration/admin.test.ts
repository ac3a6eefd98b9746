/** Admin: find any student, the integration-wide session list with its filters, the audit log. */
import { request } from 'undici';
import { attrValues, decodeEntities, relHref, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let browser: ReturnType<S['browser']>;
let ltik: string;

beforeAll(async () => {
  stack = await testStack('admin');
  browser = stack.browser();
  const admin = await browser.launch({ platform: 'moodle', courseId: '2', userId: '2' });
  expect(admin.status).toBe(200);
  ltik = admin.ltik!;
});
afterAll(async () => {
  await stack?.stop();
});

const at = (path: string, params: Record<string, string> = {}) => `${stack.tool.url}${path}?${new URLSearchParams({ ...params, ltik })}`;

test('lookup reads its parameters with the lists’ rules: a repeated q, or paging it does not have, is a 422 naming it', async () => {
  for (const [query, param] of [
    ['q=stella&q=30005', 'q'],
    ['q[]=stella', 'q'],
    ['q=stella&limit=5', 'limit'],
  ] as const) {
    const res = await browser.get(`${stack.tool.url}/admin/lookup?${query}&ltik=${encodeURIComponent(ltik)}`);
    expect({ query, status: res.status }).toEqual({ query, status: 422 });
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const summary = textOf(/<div class="error-summary"[^>]*role="alert"[\s\S]*?<\/div>/.exec(res.html)?.[0] ?? '');
    expect(summary).toContain(param);
    // The form is shown again, and nothing was searched with half of what was asked.
    expect(res.html).toContain('action="/admin/lookup"');
    expect(res.html).not.toContain('data-testid="matches"');
  }
  const repeated = await browser.get(`${stack.tool.url}/admin/lookup?q=stella&q=30005&ltik=${encodeURIComponent(ltik)}`);
  expect(textOf(repeated.html)).toContain('LMS user id or name: q was given 2 times; give it once');
  expect(repeated.html).toMatch(/<input[^>]*id="f-q"[^>]*aria-invalid="true"/);
});

test('lookup by name finds the learner in the launch course; by id offers any student', async () => {
  const byName = await browser.get(at('/admin/lookup', { q: 'stella' }));
  expect(byName.status).toBe(200);
  expect(attrValues(byName.html, 'data-user-id')).toEqual(['7']);
  const byId = await browser.get(at('/admin/lookup', { q: '30005' }));
  expect(byId.html).toContain('data-testid="direct"');
});

test('the integration-wide list pages through /v1/sessions newest first', async () => {
  const all = stack.simulator.dataset.allSessions();
  const first = await browser.get(at('/admin/sessions', { limit: '20' }));
  expect(first.status).toBe(200);
  expect(attrValues(first.html, 'data-session-id')).toEqual(all.slice(0, 20).map((s) => s.id));
  const next = relHref(first.html, 'next');
  expect(next).toContain('cursor=');
  const second = await browser.get(`${stack.tool.url}${next}`);
  expect(attrValues(second.html, 'data-session-id')).toEqual(all.slice(20, 40).map((s) => s.id));
});

test('filters: bot_only, status and dates agree with filtering the full list', async () => {
  const all = stack.simulator.dataset.allSessions();
  const res = await browser.get(
    at('/admin/sessions.json', {
      bot_only: 'true',
      status: 'closed',
      created_after: '2026-11-01',
      created_before: '2026-11-15',
      limit: '100',
    }),
  );
  expect(res.status).toBe(200);
  const body = JSON.parse(res.html);
  const start = Date.parse('2026-11-01T00:00:00Z');
  const end = Date.parse('2026-11-15T23:59:59.999Z');
  const expected = all.filter(
    (s) => s.botScore >= 0.7 && s.status === 'closed' && Date.parse(s.createdAt) >= start && Date.parse(s.createdAt) <= end,
  );
  expect(body.items.map((s: { id: string }) => s.id)).toEqual(expected.slice(0, 100).map((s) => s.id));
});

test('the export of the integration-wide list walks every page of the filtered list, as its link says', async () => {
  const all = stack.simulator.dataset.allSessions();
  const from = Date.parse('2026-11-10T00:00:00Z');
  const to = Date.parse('2026-11-12T23:59:59.999Z');
  const expected = all.filter((s) => Date.parse(s.createdAt) >= from && Date.parse(s.createdAt) <= to && s.status === 'closed');
  expect(expected.length).toBeGreaterThan(100); // more than one of isnotai's pages
  const page = await browser.get(
    at('/admin/sessions', { created_after: '2026-11-10', created_before: '2026-11-12', status: 'closed', limit: '10' }),
  );
  expect(attrValues(page.html, 'data-session-id')).toHaveLength(10);
  const exports = /<p class="exports"[^>]*>([\s\S]*?)<\/p>/.exec(page.html)?.[0] ?? '';
  expect(textOf(exports)).toBe('Export every session matching these filters (at most 5,000): CSV · JSON');
  const link = (label: string) => decodeEntities(new RegExp(`href="([^"]*)">${label}<`).exec(exports)?.[1] ?? '');
  const json = await browser.get(`${stack.tool.url}${link('JSON')}`);
  expect(json.status).toBe(200);
  expect(String(json.headers['content-disposition'])).toBe('attachment; filename="all-sessions.json"');
  const body = JSON.parse(json.html);
  expect(body.items.map((s: { id: string }) => s.id)).toEqual(expected.map((s) => s.id));
  expect(body).toMatchObject({ total: expected.length, has_more: false, next_cursor: null });
  const csv = await browser.get(`${stack.tool.url}${link('CSV')}`);
  expect(String(csv.headers['content-disposition'])).toBe('attachment; filename="all-sessions.csv"');
  const lines = csv.html
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r\n/);
  expect(lines[0]).toBe('session_id,user_id,user_name,created_at,updated_at,status,bot_score,risk,flags,page_url,user_agent');
  expect(lines).toHaveLength(expected.length + 1);
});

describe('an export has its own deadline for isnotai, longer than a page’s', () => {
  let slow: S;
  let b: ReturnType<S['browser']>;
  let slowLtik: string;
  beforeAll(async () => {
    slow = await testStack('adminslow', { env: { UPSTREAM_PAGE_DEADLINE_MS: '1000', UPSTREAM_EXPORT_DEADLINE_MS: '4000' } });
    b = slow.browser();
    const a = await b.launch({ platform: 'moodle', courseId: '2', userId: '2' });
    expect(a.status).toBe(200);
    slowLtik = a.ltik!;
  });
  afterEach(() => slow?.simulator.setLatency(0));
  afterAll(async () => {
    await slow?.stop();
  });
  const exportUrl = () => `${slow.tool.url}/admin/sessions.json?ltik=${encodeURIComponent(slowLtik)}`;

  test('an export that takes longer than a page may (25 of isnotai’s pages) is answered whole', async () => {
    const all = slow.simulator.dataset.allSessions();
    expect(Math.ceil(all.length / 100)).toBeGreaterThanOrEqual(20);
    slow.simulator.setLatency(60);
    const started = Date.now();
    const res = await b.get(exportUrl());
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThan(1000);
    expect(JSON.parse(res.html).items).toHaveLength(all.length);
  });

  test('past its deadline, an export is a clear 504 that says to narrow the dates, not an outage', async () => {
    slow.simulator.setLatency(300);
    const res = await b.get(exportUrl());
    expect(res.status).toBe(504);
    const error = JSON.parse(res.html).error;
    expect(error.code).toBe('export_timed_out');
    expect(error.message).toBe('isnotai did not send the whole export within the 4 seconds the tool waits for one, so no file was made.');
    // A page of the same list keeps its own (shorter) deadline and still answers.
    slow.simulator.setLatency(0);
    const page = await b.get(`${slow.tool.url}/admin/sessions?ltik=${encodeURIComponent(slowLtik)}`);
    expect(page.status).toBe(200);
  });
});

describe('an integration with more sessions than an export walks', () => {
  let big: S;
  beforeAll(async () => {
    big = await testStack('adminbig', { worldOptions: { bigCourseLearners: 1200 } });
  });
  afterAll(async () => {
    await big?.stop();
  });

  test('exporting all of it is a clear refusal that says what to do, not a cut-off file', async () => {
    expect(big.simulator.dataset.allSessions().length).toBeGreaterThan(5000);
    const b = big.browser();
    const a = await b.launch({ platform: 'moodle', courseId: '2', userId: '2' });
    const res = await b.get(`${big.tool.url}/admin/sessions.csv?ltik=${encodeURIComponent(a.ltik!)}`);
    expect(res.status).toBe(422);
    const error = JSON.parse(res.html).error;
    expect(error.code).toBe('export_too_large');
    expect(error.message).toBe('More than 5,000 sessions match these filters: too many to export at once.');
  });

  test('an export of more than 1,000 learners is audited in rows of at most 1,000 that together name every one', async () => {
    const t = big.browser();
    const teacher = await t.launch({ platform: 'canvas', courseId: '900', userId: '20001' });
    expect(teacher.status).toBe(200);
    const csv = await t.get(`${big.tool.url}/course.csv?ltik=${encodeURIComponent(teacher.ltik!)}`);
    expect(csv.status).toBe(200);
    const ids = csv.html
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r\n/)
      .slice(1)
      .map((l) => /,(\d+),(?:high|elevated|low|none|unavailable),/.exec(l)?.[1]);
    expect(ids).toHaveLength(1200);
    expect(ids.every(Boolean)).toBe(true);
    const a = big.browser();
    const admin = await a.launch({ platform: 'canvas', courseId: '101', userId: '1' });
    const audit = JSON.parse(
      (await a.get(`${big.tool.url}/admin/audit.json?${new URLSearchParams({ actor: '20001', ltik: admin.ltik! })}`)).html,
    );
    const rows = audit.items.filter((e: { action: string }) => e.action === 'export.roster_csv');
    expect(rows.map((r: { subjectUserIds: string[] }) => r.subjectUserIds.length).sort((x: number, y: number) => y - x)).toEqual([
      1000, 200,
    ]);
    expect(rows.flatMap((r: { subjectUserIds: string[] }) => r.subjectUserIds).sort()).toEqual([...ids].sort());
  });
});

test('invalid filters: 422 with details', async () => {
  const res = await browser.get(at('/admin/sessions.json', { status: 'sleeping', bot_only: 'maybe', created_after: 'soon' }));
  expect(res.status).toBe(422);
  const body = JSON.parse(res.html);
  expect(body.error.details.map((d: { param: string }) => d.param).sort()).toEqual(['bot_only', 'created_after', 'status']);
});

test('every view of a student’s data is in the audit log: who, whom, when, from which course', async () => {
  await browser.get(at('/learners/5'));
  const sessionId = stack.simulator.dataset.sessionsForUser('5')[0]!.id;
  await browser.get(at(`/learners/5/sessions/${sessionId}`));
  const res = await browser.get(at('/admin/audit.json', { subject: '5' }));
  const body = JSON.parse(res.html);
  const actions = body.items.map((e: { action: string }) => e.action);
  expect(actions).toEqual(expect.arrayContaining(['view.learner', 'view.session']));
  const entry = body.items.find((e: { action: string }) => e.action === 'view.session');
  expect(entry).toMatchObject({ actorUserId: '2', actorRole: 'admin', subjectUserId: '5', contextId: '2', resourceId: sessionId });
  expect(Date.parse(entry.at)).toBeGreaterThan(Date.now() - 60_000);
  const page = await browser.get(at('/admin/audit'));
  expect(textOf(page.html)).toMatch(/\d+ entries/);
});

test('a roster page and the session list are audited with the students they showed', async () => {
  const teacherBrowser = stack.browser();
  const teacher = await teacherBrowser.launch({ platform: 'moodle', courseId: '2', userId: '3' });
  const rosterJson = async (params: Record<string, string>) =>
    JSON.parse(
      (
        await teacherBrowser.get(
          `${stack.tool.url}/course.json?${new URLSearchParams({ ...params, sort_by: 'name', ltik: teacher.ltik! })}`,
        )
      ).html,
    );
  const everyone: string[] = (await rosterJson({ limit: '500' })).items.map((i: { userId: string }) => i.userId);
  const shown: string[] = (await rosterJson({ limit: '5' })).items.map((i: { userId: string }) => i.userId);
  expect(shown).toHaveLength(5);
  expect(everyone.length).toBeGreaterThan(5);

  const rosterViews = JSON.parse((await browser.get(at('/admin/audit.json', { actor: '3' }))).html).items.filter(
    (e: { action: string }) => e.action === 'view.roster',
  );
  const [latest, wholeCourse] = rosterViews;
  expect(latest).toMatchObject({ actorUserId: '3', actorRole: 'instructor', contextId: '2', subjectUserId: null });
  // Whom: the five learners that page showed, not the whole course.
  expect([...latest.subjectUserIds].sort()).toEqual([...shown].sort());
  expect([...wholeCourse.subjectUserIds].sort()).toEqual([...everyone].sort());
  // Searching the log for a learner finds the roster views that showed them, and only those.
  const viewsOf = async (userId: string) =>
    JSON.parse((await browser.get(at('/admin/audit.json', { subject: userId, actor: '3' }))).html).items.map((e: { id: string }) => e.id);
  // (The launch itself opened the roster's first page, an earlier view.)
  expect(await viewsOf(shown[0]!)).toEqual(expect.arrayContaining([latest.id, wholeCourse.id]));
  const others = await viewsOf(everyone.find((u) => !shown.includes(u))!);
  expect(others).toContain(wholeCourse.id);
  expect(others).not.toContain(latest.id);

  const list = JSON.parse((await browser.get(at('/admin/sessions.json', { limit: '10' }))).html);
  const listed = [...new Set(list.items.map((s: { userId: string }) => s.userId))].sort();
  const listView = JSON.parse((await browser.get(at('/admin/audit.json', { actor: '2' }))).html).items.find(
    (e: { action: string }) => e.action === 'view.all_sessions',
  );
  expect([...listView.subjectUserIds].sort()).toEqual(listed);

  const page = await browser.get(at('/admin/audit', { actor: '3' }));
  expect(textOf(page.html)).toContain('5 students');
  expect(textOf(page.html)).toContain(`${everyone.length} students`);
});

test('admin pages are refused to instructors and students', async () => {
  const t = stack.browser();
  const teacher = await t.launch({ platform: 'moodle', courseId: '2', userId: '3' });
  for (const path of ['/admin/lookup', '/admin/sessions', '/admin/audit', '/admin/settings']) {
    const res = await t.get(`${stack.tool.url}${path}?ltik=${encodeURIComponent(teacher.ltik!)}`);
    expect(res.status).toBe(403);
  }
});

test('audit filters are bounded: an absurd id is a 422, not a crash', async () => {
  const res = await browser.get(at('/admin/audit.json', { subject: 'x'.repeat(3000) }));
  expect(res.status).toBe(422);
  expect(JSON.parse(res.html).error.details[0].param).toBe('subject');
});

test('a malformed address or form is a 400, not a 500', async () => {
  // ltijs answers a malformed path itself (400, before any route).
  const res = await browser.get(`${stack.tool.url}/learners/%E0%A4%A?ltik=${encodeURIComponent(ltik)}`);
  expect(res.status).toBe(400);
  expect(res.html).not.toMatch(/\bat \S+ \(/);
  // A malformed JSON body reaches our error handler: a 400 page, not an "unhandled error".
  const post = await request(`${stack.tool.url}/me?ltik=${encodeURIComponent(ltik)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"broken":',
  });
  expect(post.statusCode).toBe(400);
  const body = await post.body.text();
  expect(body).toContain('bad_request');
  expect(body).not.toMatch(/SyntaxError|\bat \S+ \(/);
});

test('event window: a date-only “to” means the end of that UTC day', async () => {
  const s = stack.simulator.dataset.sessionsForUser('5')[0]!;
  const day = s.createdAt.slice(0, 10);
  const events = stack.simulator.dataset.events(s.id)!.filter((e) => new Date(e.timestamp).toISOString().slice(0, 10) === day);
  expect(events.length).toBeGreaterThan(0);
  const res = await browser.get(at(`/learners/5/sessions/${s.id}`, { created_after: day, created_before: day, limit: '500' }));
  expect(res.status).toBe(200);
  expect(attrValues(res.html, 'data-event-id').length).toBe(Math.min(events.length, 100));
});

test('the settings page never shows the API key', async () => {
  const res = await browser.get(at('/admin/settings'));
  expect(res.status).toBe(200);
  expect(res.html).not.toContain('aik_v1_');
  expect(textOf(res.html)).toContain('Identity mapping sub');
});
