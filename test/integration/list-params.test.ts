/**
 * Every list (roster, a learner's sessions, the admin session list, the audit log, a session's
 * events) reads its parameters through one parser: an out-of-range number, a repeated single
 * parameter, or an array/bracket form (`subject[]=x`) is a 422 naming the parameter, never a 500,
 * never silently ignored (which would show an unfiltered list as if it were filtered). A page sent
 * invalid values is shown again with its form, the bad fields marked and explained.
 */
import { attrValues, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
type B = ReturnType<S['browser']>;
let stack: S;
let admin: { browser: B; ltik: string };
let teacher: { browser: B; ltik: string };
let sessionId: string;
/** A user id that ends like a data form's path. */
const DOTTED = 'ada.json';

beforeAll(async () => {
  // A platform whose ids may end in `.json` (its pattern allows it), and isnotai sessions for one.
  stack = await testStack('list-params', {
    simulator: { extraUserIds: [DOTTED] },
    platformSettings: { moodle: { identityPattern: '[0-9]+|[a-z]+[.]json' } },
  });
  const launch = async (userId: string) => {
    const browser = stack.browser();
    const res = await browser.launch({ platform: 'moodle', courseId: '2', userId });
    expect(res.status).toBe(200);
    return { browser, ltik: res.ltik! };
  };
  [admin, teacher] = await Promise.all([launch('2'), launch('3')]);
  sessionId = stack.simulator.dataset.sessionsForUser('5')[0]!.id;
});
afterAll(async () => {
  await stack?.stop();
});

/** A raw query string as a client could send it (repeats and brackets included), plus the ltik. */
function url(who: { ltik: string }, path: string, query: string): string {
  return `${stack.tool.url}${path}?${query}&ltik=${encodeURIComponent(who.ltik)}`;
}

async function rejected(who: { browser: B; ltik: string }, path: string, query: string, param: string) {
  const res = await who.browser.get(url(who, path, query));
  const label = `${path}?${query}`;
  expect({ label, status: res.status }).toEqual({ label, status: 422 });
  if (/\.(json|csv)$/.test(path)) {
    const body = JSON.parse(res.html) as { error: { code: string; message: string; details: Array<{ param: string }> } };
    expect(body.error.code).toBe('invalid_parameters');
    expect({ label, params: body.error.details.map((d) => d.param) }).toEqual({ label, params: [param] });
    expect(body.error.message).toContain(param);
  } else {
    expect(res.html).toContain('invalid_parameters');
    expect(res.html).toContain(param);
  }
}

test('the audit log: out-of-range offset, subject[]=, a repeated limit', async () => {
  const all = await admin.browser.get(url(admin, '/admin/audit.json', 'limit=5'));
  expect(all.status).toBe(200);
  await rejected(admin, '/admin/audit.json', 'offset=1e20', 'offset');
  await rejected(admin, '/admin/audit.json', 'offset=100000000000000000000', 'offset');
  await rejected(admin, '/admin/audit.json', 'subject[]=x', 'subject');
  await rejected(admin, '/admin/audit.json', 'subject=x&subject=y', 'subject');
  await rejected(admin, '/admin/audit.json', 'limit=5&limit=10', 'limit');
  await rejected(admin, '/admin/audit.json', 'limit[]=5', 'limit');
  await rejected(admin, '/admin/audit.json', 'limit=2.5', 'limit');
  await rejected(admin, '/admin/audit', 'actor[a]=x', 'actor');
});

test('the admin session list: repeated, bracketed and out-of-range parameters', async () => {
  await rejected(admin, '/admin/sessions.json', 'limit=5&limit=6', 'limit');
  await rejected(admin, '/admin/sessions.json', 'limit=1e2', 'limit');
  await rejected(admin, '/admin/sessions.json', 'status[]=active', 'status');
  await rejected(admin, '/admin/sessions.json', 'bot_only=true&bot_only=false', 'bot_only');
  await rejected(admin, '/admin/sessions.json', 'cursor=a&cursor=b', 'cursor');
  await rejected(admin, '/admin/sessions.json', 'offset=50', 'offset');
  await rejected(admin, '/admin/sessions.json', 'sort_by=created_at', 'sort_by');
  // The names the list read before it spoke the one dialect are refused, naming their successors.
  for (const [old, now] of [
    ['page_size=5', 'limit'],
    ['start_date=2026-11-01', 'created_after'],
    ['end_date=2026-11-01', 'created_before'],
  ] as const) {
    await rejected(admin, '/admin/sessions.json', old, old.split('=')[0]!);
    const res = await admin.browser.get(url(admin, '/admin/sessions.json', old));
    expect(JSON.parse(res.html).error.message).toContain(`use ${now}`);
  }
});

test('the events table of a session', async () => {
  const path = `/learners/5/sessions/${encodeURIComponent(sessionId)}`;
  expect((await teacher.browser.get(url(teacher, path, 'limit=10'))).status).toBe(200);
  await rejected(teacher, path, 'limit=1&limit=2', 'limit');
  await rejected(teacher, path, 'limit=1e2', 'limit');
  await rejected(teacher, path, 'type[]=mouse_move', 'type');
  await rejected(teacher, path, 'type=mouse_move&type=2', 'type');
  await rejected(teacher, path, 'created_after=2026-11-01&created_after=2026-11-02', 'created_after');
  await rejected(teacher, path, 'page_size=10', 'page_size');
  await rejected(teacher, path, 'from=1', 'from');
});

test('the roster and a learner’s sessions (docs/lists.md lists): brackets and repeats of single parameters', async () => {
  await rejected(teacher, '/course.json', 'limit[]=5', 'limit');
  await rejected(teacher, '/course.json', 'offset=1e20', 'offset');
  await rejected(teacher, '/course.json', 'risk[]=high', 'risk');
  await rejected(teacher, '/course.csv', 'sort_by=name&sort_by=risk', 'sort_by');
  await rejected(teacher, '/learners/5/sessions.json', 'limit=1&limit=2', 'limit');
  await rejected(teacher, '/learners/5/sessions.json', 'flag[]=x', 'flag');
  await rejected(teacher, '/learners/5', 'offset=1&offset=2', 'offset');
  // The learner's sessions are held whole and page with offset: a cursor (an old link) is refused.
  await rejected(teacher, '/learners/5', 'cursor=abc', 'cursor');
  // Repeating a multi-valued filter is allowed (docs/lists.md): the same as comma-separating.
  const repeated = await teacher.browser.get(url(teacher, '/course.json', 'risk=high&risk=elevated&limit=500'));
  const commas = await teacher.browser.get(url(teacher, '/course.json', 'risk=high,elevated&limit=500'));
  expect(repeated.status).toBe(200);
  expect(JSON.parse(repeated.html).items).toEqual(JSON.parse(commas.html).items);
});

test('the student’s own sessions: a repeated, bracketed or unsupported parameter is refused, not ignored', async () => {
  const browser = stack.browser();
  const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: '5' });
  expect(res.status).toBe(200);
  const student = { browser, ltik: res.ltik! };
  expect((await browser.get(url(student, '/me', 'x=1'))).status).toBe(200);
  await rejected(student, '/me', 'offset=a&offset=b', 'offset');
  await rejected(student, '/me', 'limit[]=5', 'limit');
  await rejected(student, '/me', 'cursor=abc', 'cursor');
});

test('a learner id ending in .json is a learner id: its page, never a data form of it', async () => {
  const own = stack.simulator.dataset.sessionsForUser(DOTTED);
  expect(own.length).toBeGreaterThan(0);
  const page = await admin.browser.get(url(admin, `/learners/${DOTTED}`, 'x=1'));
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  expect(page.headers['content-disposition']).toBeUndefined();
  // The page's first page of 25, not an export of every session.
  expect(attrValues(page.html, 'data-session-id')).toEqual(own.slice(0, 25).map((s) => s.id));
  expect(textOf(page.html)).toContain(`Showing 1–${Math.min(25, own.length)} of ${own.length} matching sessions.`);
  // An invalid parameter shows the page again with its form marked, as on any learner page.
  const invalid = await admin.browser.get(url(admin, `/learners/${DOTTED}`, 'limit=many'));
  expect(invalid.status).toBe(422);
  expect(invalid.headers['content-type']).toMatch(/^text\/html/);
  expect(tagWithId(invalid.html, 'f-limit')).toContain('aria-invalid="true"');
  // And a refusal is a page too (this learner is not in the teacher's course).
  const refused = await teacher.browser.get(url(teacher, `/learners/${DOTTED}`, 'x=1'));
  expect(refused.status).toBe(403);
  expect(refused.headers['content-type']).toMatch(/^text\/html/);
  // The learner's own data forms are where they always are.
  const json = await admin.browser.get(url(admin, `/learners/${DOTTED}/sessions.json`, 'x=1'));
  expect(json.status).toBe(200);
  expect(JSON.parse(json.html).total).toBe(own.length);
});

/** The attributes of the element with `id="…"` (the first start tag carrying it), or null. */
function tagWithId(html: string, id: string): string | null {
  return new RegExp(`<[a-z]+[^>]*\\sid="${id}"[^>]*>`).exec(html)?.[0] ?? null;
}

test('an invalid filter shows the roster again: its form, the bad field marked and explained, the rest kept', async () => {
  const res = await teacher.browser.get(
    url(teacher, '/course', 'query=Sam&risk=high&risk=purple&limit=9999&enrollment=active&sort_by=nonsense'),
  );
  expect(res.status).toBe(422);
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  // The form, filled as it was sent: the valid values kept.
  expect(res.html).toContain('<form class="filters" method="get" action="/course"');
  expect(tagWithId(res.html, 'f-query')).toContain('value="Sam"');
  expect(res.html).toMatch(/name="risk"[^>]*value="high" checked/);
  expect(res.html).not.toMatch(/value="elevated" checked/);
  expect(res.html).toMatch(/name="enrollment"[^>]*value="active" checked/);
  // Each bad field is marked, tied to the message that explains it, and keeps what was typed.
  const limit = tagWithId(res.html, 'f-limit')!;
  expect(limit).toContain('aria-invalid="true"');
  expect(limit).toContain('aria-describedby="e-limit"');
  expect(limit).toContain('value="9999"');
  expect(textOf(tagWithId(res.html, 'e-limit') ? res.html.slice(res.html.indexOf('id="e-limit"')) : '')).toMatch(
    /^id="e-limit".*?limit must be a whole number from 1 to 500/,
  );
  expect(attrValues(res.html, 'aria-describedby')).toEqual(expect.arrayContaining(['e-limit', 'e-risk']));
  expect(res.html).toMatch(/<input type="checkbox" name="risk" aria-invalid="true"/);
  expect(tagWithId(res.html, 'f-query')).not.toContain('aria-invalid');
  // A summary names every problem, including the one without a field (sort_by), and links to the fields.
  const summary = /<div class="error-summary"[^>]*role="alert"[\s\S]*?<\/div>/.exec(res.html)?.[0] ?? '';
  expect(textOf(summary)).toMatch(/Per page: limit must be a whole number from 1 to 500 \(you gave “9999”\)/);
  expect(textOf(summary)).toMatch(/Risk: risk must be one or more of .*; not "purple"/);
  expect(textOf(summary)).toMatch(/sort_by must be one of/);
  expect(summary).toContain('href="#f-limit"');
  // Nothing was listed from half-valid options.
  expect(res.html).not.toContain('data-testid="roster"');
  // The same request for data stays a JSON error.
  const json = await teacher.browser.get(url(teacher, '/course.json', 'risk=purple'));
  expect(json.status).toBe(422);
  expect(JSON.parse(json.html).error).toMatchObject({ code: 'invalid_parameters', details: [{ param: 'risk' }] });
});

test('a forged cursor shows the list again with the problem named (page), or a 422 naming it (JSON)', async () => {
  const path = `/learners/5/sessions/${encodeURIComponent(sessionId)}`;
  const page = await teacher.browser.get(url(teacher, path, 'cursor=forged&type=mouse_move'));
  expect(page.status).toBe(422);
  expect(page.html).toContain('aria-label="Filter events"');
  expect(tagWithId(page.html, 'f-type')).toContain('value="mouse_move"');
  expect(textOf(page.html)).toMatch(/cursor is not a page of this list/);
  expect(page.html).not.toContain('data-testid="events"');
  const json = await admin.browser.get(url(admin, '/admin/sessions.json', 'cursor=forged'));
  expect(json.status).toBe(422);
  expect(JSON.parse(json.html).error).toMatchObject({ code: 'invalid_parameters', details: [{ param: 'cursor' }] });
  const list = await admin.browser.get(url(admin, '/admin/sessions', 'cursor=forged&bot_only=true'));
  expect(list.status).toBe(422);
  expect(list.html).toMatch(/<select id="f-bot_only" name="bot_only">[\s\S]*?value="true" selected/);
});

test('an invalid audit filter marks its field on the audit page', async () => {
  const res = await admin.browser.get(url(admin, '/admin/audit', `subject=${'x'.repeat(300)}&actor=3`));
  expect(res.status).toBe(422);
  expect(tagWithId(res.html, 'f-subject')).toContain('aria-invalid="true"');
  expect(tagWithId(res.html, 'f-actor')).toContain('value="3"');
  expect(res.html).not.toContain('data-testid="audit"');
});

/** The header cells of a table marked data-testid=…, with their aria-sort and text. */
function headers(html: string, testId: string): Array<{ sort: string | null; text: string }> {
  const table = new RegExp(`<table[^>]*data-testid="${testId}"[^>]*>([\\s\\S]*?)</table>`).exec(html)?.[1] ?? '';
  const head = /<thead>([\s\S]*?)<\/thead>/.exec(table)?.[1] ?? '';
  return [...head.matchAll(/<th([^>]*)>([\s\S]*?)<\/th>/g)].map((m) => ({
    sort: /aria-sort="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? null,
    text: textOf(m[2] ?? ''),
  }));
}

test('the sorted column shows its direction, visibly and with aria-sort, and only that column', async () => {
  // The roster's default order is the work queue, which no one column stands for: none is marked, and the page says so.
  const byQueue = await teacher.browser.get(url(teacher, '/course', 'x=1'));
  expect(headers(byQueue.html, 'roster').filter((h) => h.sort !== null)).toEqual([]);
  expect(textOf(byQueue.html)).toContain('Learners, not yet reviewed high and elevated first');
  const byRisk = headers((await teacher.browser.get(url(teacher, '/course', 'sort_by=risk'))).html, 'roster');
  expect(byRisk.filter((h) => h.sort !== null)).toEqual([{ sort: 'descending', text: 'Risk ▼ , sorted descending' }]);
  const byName = headers((await teacher.browser.get(url(teacher, '/course', 'sort_by=name'))).html, 'roster');
  expect(byName.filter((h) => h.sort !== null)).toEqual([{ sort: 'ascending', text: 'Learner ▲ , sorted ascending' }]);
  const learner = headers(
    (await teacher.browser.get(url(teacher, '/learners/5', 'sort_by=bot_score&sort_direction=asc'))).html,
    'sessions',
  );
  expect(learner.filter((h) => h.sort !== null)).toEqual([{ sort: 'ascending', text: 'Bot score ▲ , sorted ascending' }]);
  // Lists in one fixed order mark it too (without a link to change it).
  const events = headers(
    (await teacher.browser.get(url(teacher, `/learners/5/sessions/${encodeURIComponent(sessionId)}`, 'x=1'))).html,
    'events',
  );
  expect(events.filter((h) => h.sort !== null)).toEqual([{ sort: 'ascending', text: 'Time (UTC) ▲ , sorted ascending' }]);
  const all = headers((await admin.browser.get(url(admin, '/admin/sessions', 'limit=5'))).html, 'sessions');
  expect(all.filter((h) => h.sort !== null)).toEqual([{ sort: 'descending', text: 'Started ▼ , sorted descending' }]);
  const audit = headers((await admin.browser.get(url(admin, '/admin/audit', 'limit=5'))).html, 'audit');
  expect(audit.filter((h) => h.sort !== null)).toEqual([{ sort: 'descending', text: 'When ▼ , sorted descending' }]);
});
