/**
 * The roster as a work queue (docs/product.md "Review", docs/lists.md "Course roster"), over real HTTP and PostgreSQL:
 * review records written through the store on the stack's own database, then the roster's triage line, default order,
 * review filter and column, its JSON and CSV, and "Next learner to review" walking the queue to its end.
 */
import { ROLE } from '../../src/dev/lms/claims';
import { DEFAULT_THRESHOLDS, learnerRiskSummary } from '../../src/risk';
import type { ReviewAuthor } from '../../src/store';
import { reviewSeeder, unisolated, type ReviewChange, type ReviewSeeder } from '../support/reviews';
import { attrValues, decodeEntities, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
type Browser = ReturnType<S['browser']>;
let stack: S;
let browser: Browser;
let ltik: string;
let reviews: ReviewSeeder;
const COURSE = '2';

const INSTRUCTOR: ReviewAuthor = { lmsUserId: '3', name: 'Teacher of LTI101', roles: [ROLE.membershipInstructor], audience: 'instructor' };
const TA: ReviewAuthor = {
  lmsUserId: '77',
  name: 'Tomás Assistant',
  roles: [ROLE.membershipTeachingAssistant, ROLE.membershipInstructor],
  audience: 'instructor',
};
/** A name as hostile as an LMS could send: a formula for the CSV, markup for the page. */
const HOSTILE: ReviewAuthor = {
  lmsUserId: '78',
  name: '=SUM(1+1) <i>Mallory</i>',
  roles: [ROLE.membershipInstructor],
  audience: 'instructor',
};

/** A name that reads right to left, with an override that would turn what follows it round. */
const BIDI: ReviewAuthor = {
  lmsUserId: '79',
  name: 'مريم \u202Egnp.exe',
  roles: [ROLE.membershipTeachingAssistant],
  audience: 'instructor',
};

type Level = 'high' | 'elevated' | 'low' | 'none';
interface Learner {
  id: string;
  name: string;
  level: Level;
  maxScore: number | null;
}
let learners: Learner[];
/** The review state the test gave each learner (absent: unreviewed). */
const states = new Map<string, string>();
const versions = new Map<string, number>();

async function write(userId: string, author: ReviewAuthor, w: Pick<ReviewChange, 'status' | 'note'>) {
  versions.set(userId, await reviews.write(userId, author, w));
  if (w.status) states.set(userId, w.status.to);
}

const url = (path: string, params: Record<string, string> | string = {}) => {
  const q = new URLSearchParams(params);
  q.set('ltik', ltik);
  return `${stack.tool.url}${path}?${q}`;
};
async function json(path: string, params: Record<string, string> | string = {}) {
  const res = await browser.get(url(path, params));
  return { status: res.status, body: JSON.parse(res.html) };
}
const stateOf = (id: string) => states.get(id) ?? 'unreviewed';
const byLevel = (level: Level) => learners.filter((l) => l.level === level).sort((a, b) => (b.maxScore ?? -1) - (a.maxScore ?? -1));

/** The work queue's order, worked out here: unreviewed high, unreviewed elevated, then everyone else by level. */
function queueOrder(list: Learner[]): string[] {
  const levels: Level[] = ['high', 'elevated', 'low', 'none'];
  const group = (l: Learner) =>
    stateOf(l.id) === 'unreviewed' && l.level === 'high'
      ? 0
      : stateOf(l.id) === 'unreviewed' && l.level === 'elevated'
        ? 1
        : 2 + levels.indexOf(l.level);
  const names = new Intl.Collator('en', { sensitivity: 'base', numeric: true });
  return [...list]
    .sort((a, b) => group(a) - group(b) || (b.maxScore ?? -1) - (a.maxScore ?? -1) || names.compare(a.name, b.name))
    .map((l) => l.id);
}

beforeAll(async () => {
  stack = await testStack('reviewqueue');
  browser = stack.browser();
  const teacher = await browser.launch({ platform: 'moodle', courseId: COURSE, userId: '3' });
  expect(teacher.status).toBe(200);
  ltik = teacher.ltik!;
  reviews = reviewSeeder(stack, 'moodle', COURSE);
  const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === COURSE)!;
  learners = course.members
    .filter((m) => m.role === 'learner')
    .map((m) => {
      const s = learnerRiskSummary(stack.simulator.dataset.sessionsForUser(m.person.lmsUserId), { thresholds: DEFAULT_THRESHOLDS });
      return { id: m.person.lmsUserId, name: m.person.name, level: s.level, maxScore: s.maxScore };
    });
  // Enough of each level for every case below.
  expect(byLevel('high').length).toBeGreaterThanOrEqual(4);
  expect(byLevel('elevated').length).toBeGreaterThanOrEqual(2);
  expect(byLevel('low').length).toBeGreaterThanOrEqual(4);
  const [h0, h1, h2] = byLevel('high');
  await write(h0!.id, INSTRUCTOR, { status: { to: 'no_concern', reason: null } });
  await write(h1!.id, INSTRUCTOR, { status: { to: 'in_review', reason: null } });
  await write(h1!.id, TA, { status: { to: 'concern', reason: 'Pasted answers in three quizzes.' } });
  // A note alone leaves the learner not yet reviewed (but shows who last wrote).
  await write(h2!.id, INSTRUCTOR, { note: { body: 'Look again after the midterm.', correctsId: null } });
  await write(byLevel('elevated')[0]!.id, HOSTILE, { status: { to: 'in_review', reason: null } });
  await write(byLevel('low')[0]!.id, INSTRUCTOR, { status: { to: 'referred', reason: 'Conduct office, case 2026-114.' } });
  await write(byLevel('low').at(-1)!.id, BIDI, { note: { body: 'A note from a right-to-left name.', correctsId: null } });
});
afterAll(async () => {
  await stack?.stop();
});

test('the triage line counts every learner per risk level and review state, each count a link to exactly those learners', async () => {
  // Filters narrow the list, not the triage line.
  const page = await browser.get(url('/course', { query: 'no such learner at all' }));
  expect(page.status).toBe(200);
  const triage = /<div class="queue-triage"[\s\S]*?<\/div>/.exec(page.html)?.[0] ?? '';
  const items = [...triage.matchAll(/<li data-level="([^"]+)">([\s\S]*?)<\/li>/g)].map((m) => ({
    level: m[1],
    text: textOf(m[2]!).replace(/ ,/g, ','),
    html: m[2]!,
  }));
  const words: Record<string, string> = { high: 'high', elevated: 'elevated', low: 'low', none: 'with no sessions' };
  const labels: Record<string, string> = {
    unreviewed: 'not yet reviewed',
    in_review: 'in review',
    no_concern: 'no concern',
    concern: 'concern',
    referred: 'referred',
  };
  const expected = (['high', 'elevated', 'low', 'none'] as const)
    .filter((level) => byLevel(level).length > 0)
    .map((level) => {
      const of = byLevel(level);
      const count = (s: string) => of.filter((l) => stateOf(l.id) === s).length;
      const parts = Object.keys(labels)
        .filter((s) => s === 'unreviewed' || count(s) > 0)
        .map((s) => `${count(s)} ${labels[s]}`);
      return { level, text: [`${of.length} ${words[level]}`, ...parts].join(', ') };
    });
  expect(items.map(({ level, text }) => ({ level, text }))).toEqual(expected);
  const high = byLevel('high');
  expect(items[0]!.text).toBe(`${high.length} high, ${high.length - 2} not yet reviewed, 1 no concern, 1 concern`);

  // "N not yet reviewed" of the high learners lists exactly them.
  const href = decodeEntities(/<a href="([^"]*)" data-state="unreviewed">/.exec(items[0]!.html)?.[1] ?? '');
  const params = new URLSearchParams(href.split('?')[1]);
  expect([params.getAll('risk'), params.getAll('review'), params.has('query')]).toEqual([['high'], ['unreviewed'], false]);
  const listed = await browser.get(`${stack.tool.url}${href}`);
  expect(attrValues(listed.html, 'data-user-id').sort()).toEqual(
    high
      .filter((l) => stateOf(l.id) === 'unreviewed')
      .map((l) => l.id)
      .sort(),
  );
  // The JSON form carries the same counts.
  const { body } = await json('/course.json', { limit: '1' });
  const highCounts = body.triage.find((t: { level: string }) => t.level === 'high');
  expect(highCounts).toMatchObject({
    total: high.length,
    byState: { unreviewed: high.length - 2, no_concern: 1, concern: 1, referred: 0 },
  });
});

test('by default the roster is the work queue: unreviewed high first, then unreviewed elevated, then the rest by level', async () => {
  const { body } = await json('/course.json', { limit: '500' });
  expect(body.items.map((i: { userId: string }) => i.userId)).toEqual(queueOrder(learners));
  // The reviewed high learners come after every unreviewed elevated one.
  const ids: string[] = body.items.map((i: { userId: string }) => i.userId);
  const [h0, h1] = byLevel('high');
  const lastElevatedUnreviewed = Math.max(
    ...byLevel('elevated')
      .filter((l) => stateOf(l.id) === 'unreviewed')
      .map((l) => ids.indexOf(l.id)),
  );
  expect(ids.indexOf(h0!.id)).toBeGreaterThan(lastElevatedUnreviewed);
  expect(ids.indexOf(h1!.id)).toBeGreaterThan(lastElevatedUnreviewed);
  // The page shows the same first page, and says which order it is in.
  const page = await browser.get(url('/course', { limit: '20' }));
  expect(attrValues(page.html, 'data-user-id')).toEqual(ids.slice(0, 20));
  expect(textOf(page.html)).toContain('Learners, not yet reviewed high and elevated first');
  // Another order offers the way back to the queue's.
  const byName = await browser.get(url('/course', { sort_by: 'name' }));
  const back = decodeEntities(/<a href="([^"]*)">back to the work-queue order<\/a>/.exec(byName.html)?.[1] ?? '');
  expect(new URLSearchParams(back.split('?')[1]).get('sort_by')).toBe('queue');
  // sort_by=review groups by state in the filter's order.
  const byReview = (await json('/course.json', { limit: '500', sort_by: 'review' })).body.items.map(
    (i: { review: { status: string } }) => i.review.status,
  );
  const order = ['unreviewed', 'in_review', 'no_concern', 'concern', 'referred'];
  expect(byReview).toEqual([...byReview].sort((a: string, b: string) => order.indexOf(a) - order.indexOf(b)));
});

test('the review filter is multi-valued like the others, and refuses an unknown state with 422', async () => {
  const repeated = await json('/course.json', 'review=concern&review=referred&limit=500');
  const commas = await json('/course.json', { review: 'concern,referred', limit: '500' });
  const expected = learners.filter((l) => ['concern', 'referred'].includes(stateOf(l.id))).map((l) => l.id);
  expect(repeated.body.items.map((i: { userId: string }) => i.userId).sort()).toEqual([...expected].sort());
  expect(commas.body.items.map((i: { userId: string }) => i.userId)).toEqual(repeated.body.items.map((i: { userId: string }) => i.userId));
  const unreviewed = await json('/course.json', { review: 'UNREVIEWED', limit: '500' });
  expect(unreviewed.body.total).toBe(learners.filter((l) => stateOf(l.id) === 'unreviewed').length);

  const bad = await json('/course.json', { review: 'unreviewed,approved' });
  expect(bad.status).toBe(422);
  expect(bad.body.error).toMatchObject({ code: 'invalid_parameters', details: [{ param: 'review' }] });
  expect(bad.body.error.details[0].message).toMatch(
    /review must be one or more of unreviewed, in_review, no_concern, concern, referred; not "approved"/,
  );
  // The page marks its fieldset and keeps the valid value ticked.
  const page = await browser.get(url('/course', { review: 'unreviewed,approved' }));
  expect(page.status).toBe(422);
  expect(page.html).toMatch(/<fieldset id="f-review" aria-describedby="e-review"><legend>Review<\/legend>/);
  expect(page.html).toMatch(/name="review" aria-invalid="true" value="unreviewed" checked> Not yet reviewed/);
  expect(textOf(page.html)).toMatch(/Review: review must be one or more of/);
});

test('the Review column says each state in words, with who (and in what role) last wrote, and when', async () => {
  const [, h1, h2] = byLevel('high');
  const page = await browser.get(url('/course', { limit: '500' }));
  const row = (id: string) => new RegExp(`<tr data-user-id="${id}">([\\s\\S]*?)</tr>`).exec(page.html)?.[1] ?? '';
  const cell = (id: string) => textOf(/<td data-label="Review"[^>]*>([\s\S]*?)<\/td>/.exec(row(id))?.[1] ?? '');
  expect(page.html).toMatch(/<th scope="col"><a href="[^"]*sort_by(?:=|&#x3D;)review[^"]*">Review<\/a><\/th>/);
  expect(cell(h1!.id)).toMatch(/^Concern Updated by Tomás Assistant \(Teaching assistant\), \d{1,2} \w{3} \d{4}, \d{2}:\d{2} UTC$/);
  expect(cell(h2!.id)).toMatch(/^Not yet reviewed Updated by Teacher of LTI101 \(Instructor\), /);
  const untouched = learners.find((l) => !versions.has(l.id))!;
  expect(cell(untouched.id)).toBe('Not yet reviewed');
  // The LMS's name for the writer is text, never markup.
  const elevated = cell(byLevel('elevated')[0]!.id);
  expect(elevated).toMatch(/^In review Updated by =SUM\(1\+1\) <i>Mallory<\/i> \(Instructor\)/);
  expect(row(byLevel('elevated')[0]!.id)).toContain('&lt;i&gt;Mallory&lt;/i&gt;');
});

test('the name of who last wrote sits in its own direction in the Review column, so it cannot turn the text after it', async () => {
  const page = await browser.get(url('/course', { limit: '500' }));
  const row = new RegExp(`<tr data-user-id="${byLevel('low').at(-1)!.id}">[\\s\\S]*?</tr>`).exec(page.html)?.[0] ?? '';
  expect(textOf(row)).toMatch(/Not yet reviewed Updated by مريم (\u202E)?gnp\.exe \(Teaching assistant\), /);
  const { shown, problems } = unisolated(`<main>${row}</main>`, 'gnp.exe');
  expect([shown, problems]).toEqual([1, []]);
});

test('JSON items carry a review object; CSV rows the review columns, defused like every other cell', async () => {
  const [, h1] = byLevel('high');
  const { body } = await json('/course.json', { limit: '500' });
  const item = (id: string) => body.items.find((i: { userId: string }) => i.userId === id);
  expect(item(h1!.id).review).toEqual({
    status: 'concern',
    label: 'Concern',
    version: 2,
    by: 'Tomás Assistant',
    byRole: 'Teaching assistant',
    at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
  });
  const untouched = learners.find((l) => !versions.has(l.id))!;
  expect(item(untouched.id).review).toEqual({
    status: 'unreviewed',
    label: 'Not yet reviewed',
    version: 0,
    by: null,
    byRole: null,
    at: null,
  });

  const csv = await browser.get(url('/course.csv', { review: 'in_review,concern', sort_by: 'name' }));
  expect(csv.status).toBe(200);
  const lines = csv.html
    .replace(/^\uFEFF/, '')
    .trim()
    .split(/\r\n/);
  expect(lines[0]).toMatch(/,enrollment,review_status,reviewed_by,reviewed_by_role,reviewed_at,new_responses$/);
  const at = (id: string) => item(id).review.at as string;
  const hostile = byLevel('elevated')[0]!;
  expect(lines.slice(1)).toHaveLength(2);
  expect(lines.find((l) => l.includes(`,${h1!.id},`))).toMatch(new RegExp(`,concern,Tomás Assistant,Teaching assistant,${at(h1!.id)},0$`));
  // The formula an LMS name could carry reaches the spreadsheet as text.
  expect(lines.find((l) => l.includes(`,${hostile.id},`))).toMatch(
    new RegExp(`,in_review,'=SUM\\(1\\+1\\) <i>Mallory</i>,Instructor,${at(hostile.id)},0$`),
  );
});

test('learner links carry the roster’s filters, order and window as one `queue`, never its paging or ltik', async () => {
  const page = await browser.get(url('/course', 'risk=high&risk=elevated&sort_by=name&created_after=2026-11-01&limit=5&offset=5'));
  const href = decodeEntities(/<tr data-user-id="[^"]+">\s*<th scope="row"><a href="([^"]*)"/.exec(page.html)?.[1] ?? '');
  const params = new URLSearchParams(href.split('?')[1]);
  expect(href).toMatch(/^\/learners\/[^/?]+\?/);
  expect(params.get('ltik')).toBe(ltik);
  expect(params.get('queue')).toBe('risk=high&risk=elevated&created_after=2026-11-01T00%3A00%3A00.000Z&sort_by=name&sort_direction=asc');
  // The learner page's breadcrumb goes back to the roster so filtered; "Next learner to review" walks it.
  const learner = await browser.get(`${stack.tool.url}${href}`);
  expect(learner.status).toBe(200);
  const crumb = decodeEntities(
    /<nav aria-label="Breadcrumb"[\s\S]*?<a href="([^"]*)"><bdi>Course roster<\/bdi><\/a>/.exec(learner.html)?.[1] ?? '',
  );
  const back = new URLSearchParams(crumb.split('?')[1]);
  expect([crumb.split('?')[0], back.getAll('risk'), back.get('sort_by'), back.get('ltik'), back.has('limit')]).toEqual([
    '/course',
    ['high', 'elevated'],
    'name',
    ltik,
    false,
  ]);
  const next = decodeEntities(
    /<a href="([^"]*)" data-testid="queue-next-link">Next learner to review in this list<\/a>/.exec(learner.html)?.[1] ?? '',
  );
  expect(new URLSearchParams(next.split('?')[1]).get('queue')).toBe(params.get('queue'));
});

test('an unreadable queue: 422 from /course/next, a notice (and the whole roster) on the learner page', async () => {
  const bad = await browser.get(url('/course/next', { queue: 'risk=purple&sort_by=shoe_size' }));
  expect(bad.status).toBe(422);
  expect(textOf(bad.html)).toMatch(/queue: risk must be one or more of .*; queue: sort_by must be one of/);
  expect(textOf(bad.html)).toContain('invalid_parameters');
  const long = await browser.get(url('/course/next', { queue: `query=${'x'.repeat(2001)}` }));
  expect(long.status).toBe(422);
  expect(textOf(long.html)).toMatch(/queue must be at most 2000 characters/);
  const after = await browser.get(url('/course/next', { after: 'a b' }));
  expect(after.status).toBe(422);

  const someone = byLevel('low')[1]!;
  const learner = await browser.get(url(`/learners/${someone.id}`, { queue: 'risk=purple' }));
  expect(learner.status).toBe(200);
  expect(textOf(learner.html)).toContain('could not be read, so “Next learner to review” follows the whole roster');
  const next = decodeEntities(/<a href="([^"]*)" data-testid="queue-next-link">/.exec(learner.html)?.[1] ?? '');
  expect(new URLSearchParams(next.split('?')[1]).has('queue')).toBe(false);
});

test('students get 403 from /course/next and no queue on their own page; an admin gets the queue', async () => {
  const b = stack.browser();
  const student = await b.launch({ platform: 'moodle', courseId: COURSE, userId: '4' });
  expect(student.status).toBe(200);
  const res = await b.get(`${stack.tool.url}/course/next?ltik=${encodeURIComponent(student.ltik!)}`);
  expect(res.status).toBe(403);
  const own = await b.get(`${stack.tool.url}/learners/4?queue=risk%3Dhigh&ltik=${encodeURIComponent(student.ltik!)}`);
  expect(own.html).not.toContain('Next learner to review');
  // An admin launched from the course walks the same queue.
  const admin = stack.browser();
  const launched = await admin.launch({ platform: 'moodle', courseId: COURSE, userId: '2' });
  const next = await admin.get(`${stack.tool.url}/course/next?ltik=${encodeURIComponent(launched.ltik!)}`);
  expect([next.history[0]?.status, next.status]).toEqual([303, 200]);
  expect(new URL(next.url).pathname).toMatch(/^\/learners\//);
});

/** Follows the learner page's "Next learner to review": the 303 and where it lands. */
async function followNext(learnerHtml: string) {
  const href = decodeEntities(/<a href="([^"]*)" data-testid="queue-next-link">/.exec(learnerHtml)?.[1] ?? '');
  expect(href).toMatch(/^\/course\/next\?/);
  const res = await browser.get(`${stack.tool.url}${href}`);
  return { res, redirected: res.history[0]?.status, userId: /^\/learners\/([^/?]+)/.exec(new URL(res.url).pathname)?.[1] ?? null };
}

/** The learners not yet reviewed, in the order and filters of `queue`, as the roster's JSON lists them. */
async function unreviewedIn(queue: string): Promise<string[]> {
  const { body } = await json('/course.json', `${queue}${queue ? '&' : ''}limit=500`);
  return body.items
    .filter((i: { review: { status: string } }) => i.review.status === 'unreviewed')
    .map((i: { userId: string }) => i.userId);
}

test('after a review the walk goes to the next learner not yet reviewed; moving on without one, to the one after', async () => {
  // The whole roster in its default order: the head of the queue is an unreviewed high learner.
  const head = await browser.get(url('/course/next'));
  expect(head.history[0]?.status).toBe(303);
  const [a] = await unreviewedIn('');
  expect(new URL(head.url).pathname).toBe(`/learners/${a}`);
  expect(learners.find((l) => l.id === a)!.level).toBe('high');
  // The reviewer decides about A. Reviewed, A leaves the top of the queue for "the rest", below learners not yet reviewed.
  await write(a!, INSTRUCTOR, { status: { to: 'no_concern', reason: null } });
  const [b, c, d, e] = await unreviewedIn('');
  expect(e).toBeDefined();
  const ids: string[] = (await json('/course.json', { limit: '500' })).body.items.map((i: { userId: string }) => i.userId);
  expect(ids.slice(ids.indexOf(a!) + 1).some((id) => stateOf(id) === 'unreviewed')).toBe(true);
  // Next: B, the new head of the queue (not the first unreviewed learner below A's new place).
  const toB = await followNext(head.html);
  expect([toB.redirected, toB.userId]).toEqual([303, b]);
  // Moving on without deciding (nothing written): C, then D, then E; never back to the head.
  const toC = await followNext(toB.res.html);
  expect(toC.userId).toBe(c);
  const toD = await followNext(toC.res.html);
  expect(toD.userId).toBe(d);
  const toE = await followNext(toD.res.html);
  expect(toE.userId).toBe(e);
});

test('in name order the walk goes through the names alphabetically, past a review, and wraps round to the first', async () => {
  const queue = 'sort_by=name&sort_direction=asc';
  const byName: string[] = (await json('/course.json', `${queue}&limit=500`)).body.items.map((i: { name: string }) => i.name);
  const names = new Intl.Collator('en', { sensitivity: 'base', numeric: true });
  expect(byName).toEqual([...byName].sort((x, y) => names.compare(x, y)));
  const u = await unreviewedIn(queue);
  expect(u.length).toBeGreaterThanOrEqual(5);
  const head = await browser.get(url('/course/next', { queue }));
  expect(new URL(head.url).pathname).toBe(`/learners/${u[0]}`);
  expect(new URL(head.url).searchParams.get('queue')).toBe(queue);
  const second = await followNext(head.html);
  expect(second.userId).toBe(u[1]);
  // A review does not move a learner in name order: the walk goes on after them.
  await write(u[1]!, TA, { status: { to: 'in_review', reason: null } });
  const third = await followNext(second.res.html);
  expect(third.userId).toBe(u[2]);
  const fourth = await followNext(third.res.html);
  expect(fourth.userId).toBe(u[3]);
  // From the last learner not yet reviewed, the walk starts again at the first (whom nobody has reviewed yet).
  const last = await browser.get(url(`/learners/${u.at(-1)}`, { queue }));
  expect(last.status).toBe(200);
  const wrapped = await followNext(last.html);
  expect(wrapped.userId).toBe(u[0]);
});

test('"Next learner to review" walks the queue in the roster’s order and filters, to the “everyone reviewed” page', async () => {
  // The high learners, in the default order: the first link on the filtered roster is the head of the queue.
  const roster = await browser.get(url('/course', { risk: 'high' }));
  const expected = queueOrder(byLevel('high')).filter((id) => stateOf(id) === 'unreviewed');
  expect(expected.length).toBeGreaterThanOrEqual(2);
  const first = decodeEntities(/<tr data-user-id="[^"]+">\s*<th scope="row"><a href="([^"]*)"/.exec(roster.html)?.[1] ?? '');
  let page = await browser.get(`${stack.tool.url}${first}`);
  const visited = [/^\/learners\/([^/?]+)/.exec(first)?.[1]];
  for (;;) {
    // The reviewer decides about this learner, then moves on.
    await write(visited.at(-1)!, INSTRUCTOR, { status: { to: 'no_concern', reason: null } });
    const { res, redirected, userId } = await followNext(page.html);
    if (userId === null) {
      page = res;
      break;
    }
    expect(redirected).toBe(303);
    expect(res.status).toBe(200);
    visited.push(userId);
    page = res;
    expect(visited.length).toBeLessThanOrEqual(expected.length);
  }
  expect(visited).toEqual(expected);
  expect(page.status).toBe(200);
  expect(textOf(page.html)).toContain('Everyone in this list has been reviewed');
  const back = decodeEntities(
    /<a href="([^"]*)" data-testid="queue-roster">Back to the course roster with these filters<\/a>/.exec(page.html)?.[1] ?? '',
  );
  const params = new URLSearchParams(back.split('?')[1]);
  expect([back.split('?')[0], params.getAll('risk'), params.get('ltik')]).toEqual(['/course', ['high'], ltik]);
  // The roster it leads back to has nobody left to review there.
  const after = await browser.get(`${stack.tool.url}${back}`);
  expect(attrValues(after.html, 'data-review').filter((s) => s === 'unreviewed')).toEqual([]);
});

test('in another order and filter, the walk follows that order, and never answers the learner it came from', async () => {
  // Low learners by name: the queue's own order, not the default one.
  const queue = 'risk=low&review=unreviewed&sort_by=name&sort_direction=asc';
  const { body } = await json('/course.json', `${queue}&limit=500`);
  const expected: string[] = body.items.map((i: { userId: string }) => i.userId);
  expect(expected.length).toBeGreaterThanOrEqual(3);
  // Exactly the unreviewed low learners, by name.
  expect([...expected].sort()).toEqual(
    byLevel('low')
      .filter((l) => stateOf(l.id) === 'unreviewed')
      .map((l) => l.id)
      .sort(),
  );
  const names = new Intl.Collator('en', { sensitivity: 'base', numeric: true });
  const listed: string[] = body.items.map((i: { name: string }) => i.name);
  expect(listed).toEqual([...listed].sort((a, b) => names.compare(a, b)));
  // Without `after`, the head of the queue; with it, the first learner after it who is not yet reviewed.
  const head = await browser.get(url('/course/next', { queue }));
  expect(head.history[0]?.status).toBe(303);
  expect(new URL(head.url).pathname).toBe(`/learners/${expected[0]}`);
  expect(new URL(head.url).searchParams.get('queue')).toBe(queue);
  const second = await followNext(head.html);
  expect(second.userId).toBe(expected[1]);
  await write(expected[1]!, TA, { status: { to: 'in_review', reason: null } });
  const third = await followNext(second.res.html);
  // expected[1] has left the list (it is no longer unreviewed); the walk goes on from where it stood, not from the head.
  expect(third.userId).toBe(expected[2]);
});

describe('a cold roster', () => {
  let cold: S;
  beforeAll(async () => {
    cold = await testStack('reviewqueuecold', { env: { CACHE_TTL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await cold?.stop();
  });

  test('/course/next shows the roster’s progress line, then a link to the next learner (a redirect cannot follow it)', async () => {
    const b = cold.browser();
    const t = await b.launch({ platform: 'moodle', courseId: COURSE, userId: '3' });
    const res = await b.get(`${cold.tool.url}/course/next?queue=risk%3Delevated&ltik=${encodeURIComponent(t.ltik!)}`);
    expect(res.status).toBe(200);
    expect(res.history).toHaveLength(1);
    const text = textOf(res.html);
    expect(text).toMatch(/Reading the integrity signals of 150 learners from isnotai/);
    expect(text).toContain('The next learner not yet reviewed in this list is');
    // Nobody is reviewed in this database: the head of the queue is the first elevated learner of the default order.
    const head = JSON.parse((await b.get(`${cold.tool.url}/course.json?risk=elevated&ltik=${encodeURIComponent(t.ltik!)}`)).html).items[0]
      .userId;
    const link = decodeEntities(/<p data-testid="queue-next">[\s\S]*?<a href="([^"]*)"/.exec(res.html)?.[1] ?? '');
    expect(link.startsWith(`/learners/${head}?`)).toBe(true);
    expect(new URLSearchParams(link.split('?')[1]).get('queue')).toBe('risk=elevated');
  });
});
