/**
 * Every list (roster, a learner's sessions, the admin session list, the audit log, a session's
 * events) reads its parameters through one parser: an out-of-range number, a repeated single
 * parameter, or an array/bracket form (`subject[]=x`) is a 422 naming the parameter, never a 500,
 * never silently ignored (which would show an unfiltered list as if it were filtered).
 */
import { testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
type B = ReturnType<S['browser']>;
let stack: S;
let admin: { browser: B; ltik: string };
let teacher: { browser: B; ltik: string };
let sessionId: string;

beforeAll(async () => {
  stack = await testStack('list-params');
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
  await rejected(admin, '/admin/sessions.json', 'page_size=5&page_size=6', 'page_size');
  await rejected(admin, '/admin/sessions.json', 'page_size=1e2', 'page_size');
  await rejected(admin, '/admin/sessions.json', 'status[]=active', 'status');
  await rejected(admin, '/admin/sessions.json', 'bot_only=true&bot_only=false', 'bot_only');
  await rejected(admin, '/admin/sessions.json', 'cursor=a&cursor=b', 'cursor');
});

test('the events table of a session', async () => {
  const path = `/learners/5/sessions/${encodeURIComponent(sessionId)}`;
  expect((await teacher.browser.get(url(teacher, path, 'page_size=10'))).status).toBe(200);
  await rejected(teacher, path, 'page_size=1&page_size=2', 'page_size');
  await rejected(teacher, path, 'page_size=1e2', 'page_size');
  await rejected(teacher, path, 'type[]=mouse_move', 'type');
  await rejected(teacher, path, 'from=1&from=2', 'from');
});

test('the roster and a learner’s sessions (seeds/004 lists): brackets and repeats of single parameters', async () => {
  await rejected(teacher, '/course.json', 'limit[]=5', 'limit');
  await rejected(teacher, '/course.json', 'offset=1e20', 'offset');
  await rejected(teacher, '/course.json', 'risk[]=high', 'risk');
  await rejected(teacher, '/course.csv', 'sort_by=name&sort_by=risk', 'sort_by');
  await rejected(teacher, '/learners/5/sessions.json', 'limit=1&limit=2', 'limit');
  await rejected(teacher, '/learners/5/sessions.json', 'flag[]=x', 'flag');
  await rejected(teacher, '/learners/5', 'cursor=a&cursor=b', 'cursor');
  // Repeating a multi-valued filter is allowed (seeds/004): the same as comma-separating.
  const repeated = await teacher.browser.get(url(teacher, '/course.json', 'risk=high&risk=elevated&limit=500'));
  const commas = await teacher.browser.get(url(teacher, '/course.json', 'risk=high,elevated&limit=500'));
  expect(repeated.status).toBe(200);
  expect(JSON.parse(repeated.html).items).toEqual(JSON.parse(commas.html).items);
});

test('the student’s own sessions: a repeated or bracketed cursor is refused, not ignored', async () => {
  const browser = stack.browser();
  const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: '5' });
  expect(res.status).toBe(200);
  const student = { browser, ltik: res.ltik! };
  expect((await browser.get(url(student, '/me', 'x=1'))).status).toBe(200);
  await rejected(student, '/me', 'cursor=a&cursor=b', 'cursor');
  await rejected(student, '/me', 'cursor[]=a', 'cursor');
});
