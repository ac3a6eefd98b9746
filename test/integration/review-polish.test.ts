/**
 * The review workflow as an instructor walks it (docs/product.md "Review"), over real HTTP and PostgreSQL: "Saved." only
 * for the viewer's own write (a crafted link cannot show a false confirmation), "Next learner to review" in that notice,
 * the roster's queue kept from the learner page to a session and back, and each session's current mark in the staff's
 * session exports (never in a student's).
 */
import { canvasContextId, ROLE } from '../../src/dev/lms';
import type { ReviewAuthor } from '../../src/store';
import { parseCsv } from '../support/csv';
import { reviewSeeder, type ReviewSeeder } from '../support/reviews';
import { attrValues, decodeEntities, testStack, textOf } from '../support/stack';
import { hidden, hiddenOrNull, toolClient, type Who } from '../support/tool';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const { launch, page: get, post } = toolClient(() => stack);
let teacher: Who, admin: Who, student: Who, canvasStudent: Who, canvasTeacher: Who;
let reviews: ReviewSeeder, canvasReviews: ReviewSeeder;
/** Moodle LTI101's learners with two sessions or more, none of them '4' (the student who launches). */
let learners: string[];
let canvasLearner: string;
/** What Canvas sends as BIO 101's `context.id`, which its review records are kept under. */
let canvasContext: string;
const COURSE = '2';

const TA: ReviewAuthor = {
  lmsUserId: '77',
  name: 'Tomás Assistant',
  roles: [ROLE.membershipTeachingAssistant, ROLE.membershipInstructor],
  audience: 'instructor',
};
const INSTRUCTOR: ReviewAuthor = { lmsUserId: '3', name: 'Teacher of LTI101', roles: [ROLE.membershipInstructor], audience: 'instructor' };

beforeAll(async () => {
  // Moodle shows students their own data in full here, as Canvas does by default: both may use the export routes.
  stack = await testStack('reviewpolish', { moodleStudentVisibility: 'full' });
  const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === COURSE)!;
  learners = course.members
    .filter((m) => m.role === 'learner' && m.person.lmsUserId !== '4')
    .map((m) => m.person.lmsUserId)
    .filter((id) => stack.simulator.dataset.sessionsForUser(id).length >= 2);
  expect(learners.length).toBeGreaterThanOrEqual(6);
  expect(stack.simulator.dataset.sessionsForUser('4').length).toBeGreaterThanOrEqual(1);
  const bio = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === '101')!;
  canvasContext = canvasContextId(bio);
  canvasLearner = bio.members
    .filter((m) => m.role === 'learner' && m.status !== 'Inactive')
    .map((m) => m.person.lmsUserId)
    .find((id) => stack.simulator.dataset.sessionsForUser(id).length >= 2)!;
  [teacher, admin, student, canvasStudent, canvasTeacher] = await Promise.all([
    launch('moodle', COURSE, '3'),
    launch('moodle', COURSE, '2'),
    launch('moodle', COURSE, '4'),
    launch('canvas', '101', canvasLearner),
    launch('canvas', '101', '20001'),
  ]);
  reviews = reviewSeeder(stack, 'moodle', COURSE);
  canvasReviews = reviewSeeder(stack, 'canvas', canvasContext);
});
afterAll(async () => {
  await stack?.stop();
});

const follow = (who: Who, href: string) => who.browser.get(`${stack.tool.url}${href}`);

const savedNotice = (html: string) => /<p class="notice review-saved"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1] ?? null;
const hrefOf = (html: string, re: RegExp) => decodeEntities(re.exec(html)?.[1] ?? '');
const paramsOf = (href: string) => new URLSearchParams(href.split('?')[1] ?? '');

describe('"Saved." is the viewer’s own confirmation', () => {
  test('on the learner page: shown for the viewer’s own write at that version, never for someone else’s or a made-up one', async () => {
    const learner = learners[0]!;
    // Version 1: the TA's note.
    expect(await reviews.write(learner, TA, { note: { body: 'Seen in the lab; looked fine.', correctsId: null } })).toBe(1);
    const form = await get(teacher, `/learners/${learner}`);
    expect(form.status).toBe(200);
    expect(savedNotice(form.html)).toBeNull();
    // Version 2: the teacher's status, through the form.
    const saved = await post(teacher, `/learners/${learner}/review`, {
      status: 'in_review',
      reason: '',
      note: '',
      version: hidden(form.html, 'version'),
      csrf: hidden(form.html, 'csrf'),
    });
    expect(saved.history.map((h) => h.status)).toEqual([303, 200]);
    const landed = new URL(saved.url);
    expect([landed.searchParams.get('saved'), landed.hash]).toEqual(['2', '#review']);
    expect(textOf(savedNotice(saved.html) ?? '')).toMatch(/^Saved\./);

    // A link naming the TA's version, or anything that is not a version of this record, confirms nothing.
    for (const saved of ['1', '3', '0', 'garbage', '2x', '-2', '02', '']) {
      const res = await get(teacher, `/learners/${learner}`, { saved });
      expect(res.status).toBe(200);
      expect([saved, savedNotice(res.html)]).toEqual([saved, null]);
      expect(res.html).not.toContain('data-testid="review-saved"');
    }
    // The teacher's version, opened by someone else (the course's admin): not their confirmation either.
    const other = await get(admin, `/learners/${learner}`, { saved: '2' });
    expect(other.status).toBe(200);
    expect(savedNotice(other.html)).toBeNull();
    // Given twice, it is not one version.
    const twice = await get(teacher, `/learners/${learner}`, 'saved=2&saved=2');
    expect(savedNotice(twice.html)).toBeNull();
  });

  test('on the session page: shown for the viewer’s own mark of that session, never for someone else’s or another session’s', async () => {
    const learner = learners[1]!;
    const [s1, s2] = stack.simulator.dataset.sessionsForUser(learner);
    // Version 1: the TA's mark of s1.
    expect(await reviews.write(learner, TA, { mark: { sessionId: s1!.id, mark: 'no_concern', note: null } })).toBe(1);
    const crafted = await get(teacher, `/learners/${learner}/sessions/${s1!.id}`, { saved: '1' });
    expect(crafted.status).toBe(200);
    expect(savedNotice(crafted.html)).toBeNull();
    expect(textOf(crafted.html)).toContain('Review mark No concern');

    // Version 2: the teacher's mark of s2, through the form.
    const form = await get(teacher, `/learners/${learner}/sessions/${s2!.id}`);
    const saved = await post(teacher, `/learners/${learner}/sessions/${s2!.id}/mark`, {
      mark: 'concern',
      note: 'Forty answers in thirty seconds.',
      version: hidden(form.html, 'version'),
      csrf: hidden(form.html, 'csrf'),
    });
    expect(saved.history.map((h) => h.status)).toEqual([303, 200]);
    const landed = new URL(saved.url);
    expect([landed.pathname, landed.searchParams.get('saved'), landed.hash]).toEqual([
      `/learners/${learner}/sessions/${s2!.id}`,
      '2',
      '#marks',
    ]);
    expect(textOf(savedNotice(saved.html) ?? '')).toBe('Saved.');
    // The teacher's version on the other session's page is not a confirmation of anything there.
    const elsewhere = await get(teacher, `/learners/${learner}/sessions/${s1!.id}`, { saved: '2' });
    expect(savedNotice(elsewhere.html)).toBeNull();
    for (const v of ['garbage', '9', '1']) {
      const res = await get(teacher, `/learners/${learner}/sessions/${s2!.id}`, { saved: v });
      expect([v, savedNotice(res.html)]).toEqual([v, null]);
    }
  });

  test('a form sent again after someone else wrote: written once, and the page after it still says "Saved."', async () => {
    const learner = learners[4]!;
    const form = await get(teacher, `/learners/${learner}`);
    const sent = {
      status: '',
      reason: '',
      note: 'Asked about the pasted answers; will follow up.',
      version: hidden(form.html, 'version'),
      csrf: hidden(form.html, 'csrf'),
    };
    const first = await post(teacher, `/learners/${learner}/review`, sent);
    expect(first.history.map((h) => h.status)).toEqual([303, 200]);
    expect(textOf(savedNotice(first.html) ?? '')).toMatch(/^Saved\./);
    // The TA writes before the teacher's second submit (a double click on a slow line, a re-sent form) arrives.
    await reviews.write(learner, TA, { note: { body: 'Talked to them in the lab.', correctsId: null } });
    const again = await post(teacher, `/learners/${learner}/review`, sent);
    expect(again.history.map((h) => h.status)).toEqual([303, 200]);
    expect(textOf(savedNotice(again.html) ?? '')).toMatch(/^Saved\./);
    expect(new URL(again.url).searchParams.get('saved')).toBe(new URL(first.url).searchParams.get('saved'));
    const notes = (await reviews.store.read(reviews.keyOf(learner))).notes;
    expect(notes.map((n) => [n.author.lmsUserId, n.body])).toEqual([
      ['3', sent.note],
      ['77', 'Talked to them in the lab.'],
    ]);

    // The same for a session's mark.
    const [s1, s2] = stack.simulator.dataset.sessionsForUser(learner);
    const markPage = await get(teacher, `/learners/${learner}/sessions/${s1!.id}`);
    const mark = {
      mark: 'concern',
      note: 'Answers pasted in one go.',
      version: hidden(markPage.html, 'version'),
      csrf: hidden(markPage.html, 'csrf'),
    };
    const marked = await post(teacher, `/learners/${learner}/sessions/${s1!.id}/mark`, mark);
    expect(marked.history.map((h) => h.status)).toEqual([303, 200]);
    expect(textOf(savedNotice(marked.html) ?? '')).toBe('Saved.');
    await reviews.write(learner, TA, { mark: { sessionId: s2!.id, mark: 'no_concern', note: null } });
    const markedAgain = await post(teacher, `/learners/${learner}/sessions/${s1!.id}/mark`, mark);
    expect(markedAgain.history.map((h) => h.status)).toEqual([303, 200]);
    expect(textOf(savedNotice(markedAgain.html) ?? '')).toBe('Saved.');
    expect(new URL(markedAgain.url).searchParams.get('saved')).toBe(new URL(marked.url).searchParams.get('saved'));
    const marks = (await reviews.store.read(reviews.keyOf(learner))).sessionMarks;
    expect(marks.map((m) => [m.author.lmsUserId, m.sessionId, m.mark])).toEqual([
      ['3', s1!.id, 'concern'],
      ['77', s2!.id, 'no_concern'],
    ]);
  });
});

test('after a save, the "Saved." notice offers "Next learner to review" too, the same link as the queue’s', async () => {
  const learner = learners[2]!;
  const queue = 'risk=high&risk=elevated&sort_by=name&sort_direction=asc';
  const form = await get(teacher, `/learners/${learner}`, { queue });
  const saved = await post(teacher, `/learners/${learner}/review`, {
    status: 'no_concern',
    reason: '',
    note: '',
    version: hidden(form.html, 'version'),
    csrf: hidden(form.html, 'csrf'),
    queue: hidden(form.html, 'queue'),
  });
  expect(saved.history.map((h) => h.status)).toEqual([303, 200]);
  const notice = savedNotice(saved.html);
  expect(notice).not.toBeNull();
  const inNotice = hrefOf(notice!, /<a href="([^"]*)"[^>]*>Next learner to review in this list<\/a>/);
  const inNav = hrefOf(saved.html, /<a href="([^"]*)" data-testid="queue-next-link">/);
  expect(inNav).toMatch(/^\/course\/next\?/);
  expect(inNotice).toBe(inNav);
  expect(paramsOf(inNotice).get('queue')).toBe(queue);
  // The notice sits at the start of the review section, where the redirect puts the focus.
  const section = /<section class="review" id="review"[^>]*>([\s\S]*?)<\/section>/.exec(saved.html)?.[1] ?? '';
  expect(section.indexOf('review-saved')).toBeGreaterThan(-1);
  expect(section.indexOf('review-saved')).toBeLessThan(section.indexOf('<form'));
  // The queue's own navigation keeps its link.
  expect(saved.html).toContain('data-testid="queue-nav"');
});

test('roster → learner → session → back to the learner: "Next learner to review" still follows the roster’s filters', async () => {
  const rosterQuery = 'risk=high&risk=elevated&sort_by=name&sort_direction=asc';
  const roster = await get(teacher, '/course', rosterQuery);
  expect(roster.status).toBe(200);
  const rosterIds = [...roster.html.matchAll(/<tr data-user-id="([^"]+)">/g)].map((m) => m[1]!);
  const withSessions = rosterIds.find((id) => id !== '4' && stack.simulator.dataset.sessionsForUser(id).length >= 2)!;
  const learnerHref = hrefOf(roster.html, new RegExp(`<tr data-user-id="${withSessions}">\\s*<th scope="row"><a href="([^"]*)"`));
  const queue = paramsOf(learnerHref).get('queue');
  expect(queue).toBe(rosterQuery);

  // The learner page: its session links carry the queue, and so does its sessions filter form.
  const learnerPage = await follow(teacher, learnerHref);
  expect(learnerPage.status).toBe(200);
  const sessionHref = hrefOf(learnerPage.html, /<td><a href="([^"]*\/sessions\/[^"]*)">Open/);
  expect(sessionHref).toMatch(new RegExp(`^/learners/${withSessions}/sessions/`));
  expect(paramsOf(sessionHref).get('queue')).toBe(queue);
  const filters = /<form class="filters"[\s\S]*?<\/form>/.exec(learnerPage.html)?.[0] ?? '';
  expect(hiddenOrNull(filters, 'queue')).toBe(queue);

  // The session page: its breadcrumbs go back with the queue; its mark form carries it, and the redirect keeps it.
  const sessionPage = await follow(teacher, sessionHref);
  expect(sessionPage.status).toBe(200);
  const crumbs = /<nav aria-label="Breadcrumb"[\s\S]*?<\/nav>/.exec(sessionPage.html)?.[0] ?? '';
  const toRoster = hrefOf(crumbs, /<a href="([^"]*)"><bdi>Course roster<\/bdi><\/a>/);
  expect([toRoster.split('?')[0], paramsOf(toRoster).getAll('risk'), paramsOf(toRoster).get('sort_by')]).toEqual([
    '/course',
    ['high', 'elevated'],
    'name',
  ]);
  const toLearner = hrefOf(crumbs, /<a href="(\/learners\/[^"]*)">/);
  expect([toLearner.split('?')[0], paramsOf(toLearner).get('queue')]).toEqual([`/learners/${withSessions}`, queue]);
  const markForm = /<form[^>]*data-testid="mark-form"[\s\S]*?<\/form>/.exec(sessionPage.html)?.[0] ?? '';
  expect(hiddenOrNull(markForm, 'queue')).toBe(queue);
  // A mark refused for its fields gives the form back with the queue, and its breadcrumbs keep it too.
  const refused = await post(teacher, new URL(`${stack.tool.url}${sessionHref}`).pathname + '/mark', {
    mark: 'concern',
    note: '',
    version: hidden(markForm, 'version'),
    csrf: hidden(markForm, 'csrf'),
    queue: hidden(markForm, 'queue'),
  });
  expect(refused.status).toBe(422);
  expect(hiddenOrNull(/<form[^>]*data-testid="mark-form"[\s\S]*?<\/form>/.exec(refused.html)?.[0] ?? '', 'queue')).toBe(queue);
  const refusedCrumbs = /<nav aria-label="Breadcrumb"[\s\S]*?<\/nav>/.exec(refused.html)?.[0] ?? '';
  expect(paramsOf(hrefOf(refusedCrumbs, /<a href="([^"]*)"><bdi>Course roster<\/bdi><\/a>/)).getAll('risk')).toEqual(['high', 'elevated']);
  expect(paramsOf(hrefOf(refusedCrumbs, /<a href="(\/learners\/[^"?]*\?[^"]*)">/)).get('queue')).toBe(queue);
  const marked = await post(teacher, new URL(`${stack.tool.url}${sessionHref}`).pathname + '/mark', {
    mark: 'no_concern',
    note: '',
    version: hidden(markForm, 'version'),
    csrf: hidden(markForm, 'csrf'),
    queue: hidden(markForm, 'queue'),
  });
  expect(marked.history.map((h) => h.status)).toEqual([303, 200]);
  expect(new URL(marked.url).searchParams.get('queue')).toBe(queue);
  const backCrumbs = /<nav aria-label="Breadcrumb"[\s\S]*?<\/nav>/.exec(marked.html)?.[0] ?? '';
  const back = hrefOf(backCrumbs, /<a href="(\/learners\/[^"]*)">/);
  expect(paramsOf(back).get('queue')).toBe(queue);

  // Back on the learner page, the next learner is the roster's next one not yet reviewed, in its filters and order.
  const again = await follow(teacher, back);
  expect(again.status).toBe(200);
  const next = hrefOf(again.html, /<a href="([^"]*)" data-testid="queue-next-link">Next learner to review in this list<\/a>/);
  expect(paramsOf(next).get('queue')).toBe(queue);
  const listed = JSON.parse((await get(teacher, '/course.json', `${rosterQuery}&limit=500`)).html) as {
    items: Array<{ userId: string; review: { status: string } }>;
  };
  const ids = listed.items.map((i) => i.userId);
  const at = ids.indexOf(withSessions);
  expect(at).toBeGreaterThanOrEqual(0);
  const expected = [...listed.items.slice(at + 1), ...listed.items.slice(0, at)].find((i) => i.review.status === 'unreviewed')!;
  const landed = await follow(teacher, next);
  expect(landed.history[0]?.status).toBe(303);
  expect(new URL(landed.url).pathname).toBe(`/learners/${expected.userId}`);
  expect(new URL(landed.url).searchParams.get('queue')).toBe(queue);
});

describe('a hostile `queue` stays one parameter’s value on every page and redirect it reaches', () => {
  const QUEUES: Array<[string, string]> = [
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a protocol-relative URL', '//evil.example'],
    ['markup', '"><script>alert(1)</script>'],
    ['a second ltik', 'ltik=x&after=y'],
    ['2,001 characters', `query=${'a'.repeat(1995)}`],
  ];

  /** A POST as a browser's form sends it, its redirect not followed, so the `Location` is read as the tool wrote it. */
  async function postRaw(who: Who, path: string, form: Record<string, string>) {
    const target = `${stack.tool.url}${path}`;
    const cookie = who.browser.jar.header(target, { method: 'POST', initiator: target });
    const res = await fetch(target, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
      body: new URLSearchParams({ ltik: who.ltik, ...form }).toString(),
    });
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  }

  const formOf = (html: string, re: RegExp) => re.exec(html)?.[0] ?? '';
  const crumbsOf = (html: string) => formOf(html, /<nav aria-label="Breadcrumb"[\s\S]*?<\/nav>/);

  /**
   * What is wrong with one of the tool's own links (or a redirect's `Location`) made on a page opened with `queue`: it
   * must stay on the tool's origin, carry the launch's ltik once, and the queue only as the one value it was given (none
   * when it was too long to carry).
   */
  function linkProblems(href: string, who: Who, carried: string | null, learner: string): string[] {
    const problems: string[] = [];
    if (!href.startsWith('/') || href.startsWith('//')) problems.push(`not same-origin: ${href.slice(0, 120)}`);
    const params = paramsOf(href.split('#')[0]!);
    if (params.getAll('ltik').join(' ') !== who.ltik) problems.push(`ltik ${JSON.stringify(params.getAll('ltik'))}: ${href.slice(0, 120)}`);
    const queues = params.getAll('queue');
    if (queues.length > 1 || (queues.length === 1 && queues[0] !== carried))
      problems.push(`queue ${queues.length}×: ${href.slice(0, 120)}`);
    if (params.getAll('after').some((a) => a !== learner)) problems.push(`after: ${href.slice(0, 120)}`);
    return problems;
  }

  /** Every link and form field of a page opened with a hostile `queue`: nothing that is not the tool's, nothing unescaped. */
  function pageProblems(html: string, who: Who, carried: string | null, learner: string): string[] {
    const problems: string[] = [];
    if (html.includes('<script>alert(1)')) problems.push('the queue’s markup is in the page as markup');
    for (const m of html.matchAll(/\s([a-z-]+)="([^"]*)"/g))
      if (m[2]!.includes('<')) problems.push(`a raw < in ${m[1]}="${m[2]!.slice(0, 80)}"`);
    for (const raw of attrValues(html, 'href')) {
      const href = decodeEntities(raw);
      // Upstream's page links (http or https only), the page's own anchors and its stylesheet are not built from the queue.
      if (href.startsWith('#') || /^https?:\/\//.test(href) || href.startsWith('/assets/')) continue;
      problems.push(...linkProblems(href, who, carried, learner));
    }
    for (const m of html.matchAll(/<input type="hidden" name="queue" value="([^"]*)"/g))
      if (decodeEntities(m[1]!) !== carried) problems.push(`a hidden queue field: ${m[1]!.slice(0, 80)}`);
    return problems;
  }

  test.each(QUEUES)('%s: the learner and session pages, the forms, their redirects and the 422 pages', async (_, queue) => {
    const learner = learners[5]!;
    const carried = queue.length <= 2000 ? queue : null;
    const check = (what: string, html: string) => expect([what, pageProblems(html, teacher, carried, learner)]).toEqual([what, []]);

    // The learner page: its session links, its sessions filter form and its review form carry the queue as given.
    const page = await get(teacher, `/learners/${learner}`, { queue });
    expect(page.status).toBe(200);
    check('learner page', page.html);
    const sessionHrefs = [...page.html.matchAll(/<td><a href="([^"]*\/sessions\/[^"]*)">Open/g)].map((m) => decodeEntities(m[1]!));
    expect(sessionHrefs.length).toBeGreaterThanOrEqual(2);
    for (const href of sessionHrefs) expect(paramsOf(href).get('queue')).toBe(carried);
    expect(hiddenOrNull(formOf(page.html, /<form class="filters"[\s\S]*?<\/form>/), 'queue')).toBe(carried);
    const reviewForm = formOf(page.html, /<form[^>]*data-testid="review-form"[\s\S]*?<\/form>/);
    expect(hiddenOrNull(reviewForm, 'version')).not.toBeNull();
    expect(hiddenOrNull(reviewForm, 'queue')).toBe(carried);
    if (queue.includes('<script>')) {
      expect(page.html).toContain('name="queue" value="&quot;&gt;&lt;script&gt;alert(1)&lt;');
      expect(page.html).toContain('queue&#x3D;%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E&amp;ltik&#x3D;');
    }
    if (carried === null) expect(page.html).toContain('data-testid="queue-notice"');

    // The review form's redirect, and the page it lands on.
    const written = await postRaw(teacher, `/learners/${learner}/review`, {
      note: `Read with a hostile queue (${queue.slice(0, 20)}).`,
      version: hidden(reviewForm, 'version'),
      csrf: hidden(reviewForm, 'csrf'),
      queue,
    });
    expect(written.status).toBe(303);
    const location = written.location ?? '';
    expect(linkProblems(location, teacher, carried, learner)).toEqual([]);
    expect([location.split('?')[0], paramsOf(location.split('#')[0]!).get('queue'), location.split('#')[1]]).toEqual([
      `/learners/${learner}`,
      carried,
      'review',
    ]);
    const landed = await follow(teacher, location);
    expect(textOf(savedNotice(landed.html) ?? '')).toMatch(/^Saved\./);
    check('learner page after the review form', landed.html);

    // The review form refused (it was empty): the 422 page's breadcrumbs and form.
    const refused = await postRaw(teacher, `/learners/${learner}/review`, {
      note: '',
      version: hidden(reviewForm, 'version'),
      csrf: hidden(reviewForm, 'csrf'),
      queue,
    });
    expect(refused.status).toBe(422);
    check('422 page of the review form', refused.html);
    const refusedCrumbs = crumbsOf(refused.html);
    expect(
      attrValues(refusedCrumbs, 'href').map((h) => [decodeEntities(h).split('?')[0], paramsOf(decodeEntities(h)).get('queue')]),
    ).toEqual([
      ['/course', null],
      [`/learners/${learner}`, carried],
    ]);

    // The session page: its breadcrumbs, its events filter form and its mark form.
    const session = await follow(teacher, sessionHrefs[0]!);
    expect(session.status).toBe(200);
    check('session page', session.html);
    const crumbs = crumbsOf(session.html);
    expect(attrValues(crumbs, 'href')).toHaveLength(2);
    expect(decodeEntities(attrValues(crumbs, 'href')[0]!)).toBe(`/course?ltik=${teacher.ltik}`);
    expect(paramsOf(hrefOf(crumbs, /<a href="(\/learners\/[^"]*)">/)).get('queue')).toBe(carried);
    expect(hiddenOrNull(formOf(session.html, /<form class="filters"[^>]*aria-label="Filter events"[\s\S]*?<\/form>/), 'queue')).toBe(
      carried,
    );
    const markForm = formOf(session.html, /<form[^>]*data-testid="mark-form"[\s\S]*?<\/form>/);
    expect(hiddenOrNull(markForm, 'queue')).toBe(carried);

    // The mark form's redirect, and the page it lands on.
    const sessionPath = sessionHrefs[0]!.split('?')[0]!;
    const marked = await postRaw(teacher, `${sessionPath}/mark`, {
      mark: 'no_concern',
      note: '',
      version: hidden(markForm, 'version'),
      csrf: hidden(markForm, 'csrf'),
      queue,
    });
    expect(marked.status).toBe(303);
    const markLocation = marked.location ?? '';
    expect(linkProblems(markLocation, teacher, carried, learner)).toEqual([]);
    expect([markLocation.split('?')[0], paramsOf(markLocation.split('#')[0]!).get('queue'), markLocation.split('#')[1]]).toEqual([
      sessionPath,
      carried,
      'marks',
    ]);
    const markLanded = await follow(teacher, markLocation);
    expect(textOf(savedNotice(markLanded.html) ?? '')).toBe('Saved.');
    check('session page after the mark form', markLanded.html);

    // The mark form refused (a concern needs a note): the 422 page's breadcrumbs, down to the session, and its form.
    const markRefused = await postRaw(teacher, `${sessionPath}/mark`, {
      mark: 'concern',
      note: '',
      version: hidden(markForm, 'version'),
      csrf: hidden(markForm, 'csrf'),
      queue,
    });
    expect(markRefused.status).toBe(422);
    check('422 page of the mark form', markRefused.html);
    const markCrumbs = attrValues(crumbsOf(markRefused.html), 'href').map(decodeEntities);
    expect(markCrumbs.map((h) => [h.split('?')[0], paramsOf(h).get('queue')])).toEqual([
      ['/course', null],
      [`/learners/${learner}`, carried],
      [sessionPath, carried],
    ]);
  });

  test('given twice: not carried on by any link or form of the learner and session pages', async () => {
    const learner = learners[5]!;
    const twice = `queue=${encodeURIComponent('risk=high')}&queue=${encodeURIComponent('javascript:alert(1)')}`;
    const page = await get(teacher, `/learners/${learner}`, twice);
    expect(page.status).toBe(200);
    expect(pageProblems(page.html, teacher, null, learner)).toEqual([]);
    expect(page.html).toContain('data-testid="queue-notice"');
    const sessionHref = hrefOf(page.html, /<td><a href="([^"]*\/sessions\/[^"]*)">Open/);
    const session = await get(teacher, sessionHref.split('?')[0]!, twice);
    expect(session.status).toBe(200);
    expect(pageProblems(session.html, teacher, null, learner)).toEqual([]);
  });
});

describe('the learner’s session exports carry each session’s current mark, for staff only', () => {
  const NOTE = '=HYPERLINK("http://evil.example","click"), pasted';

  test('staff: CSV columns review_mark, review_mark_by, review_mark_at, review_mark_note; JSON reviewMark', async () => {
    const learner = learners[3]!;
    const sessions = stack.simulator.dataset.sessionsForUser(learner);
    const [s1, s2] = sessions;
    await reviews.write(learner, TA, { mark: { sessionId: s1!.id, mark: 'no_concern', note: null } });
    // The current mark of s1 is the newest: the teacher's concern.
    await reviews.write(learner, INSTRUCTOR, { mark: { sessionId: s1!.id, mark: 'concern', note: NOTE } });
    await reviews.write(learner, TA, { mark: { sessionId: s2!.id, mark: 'no_concern', note: null } });
    const record = await reviews.store.read(reviews.keyOf(learner));
    const atOf = (sessionId: string) =>
      record.sessionMarks
        .filter((m) => m.sessionId === sessionId)
        .at(-1)!
        .at.toISOString();

    const csv = await get(teacher, `/learners/${learner}/sessions.csv`);
    expect(csv.status).toBe(200);
    const [header, ...rows] = parseCsv(csv.html);
    // The four mark columns follow one another (the student-response columns come after them).
    const at = header!.indexOf('review_mark');
    expect(header!.slice(at, at + 4)).toEqual(['review_mark', 'review_mark_by', 'review_mark_at', 'review_mark_note']);
    expect(rows).toHaveLength(sessions.length);
    const row = (id: string) => rows.find((r) => r[0] === id)!.slice(at, at + 4);
    expect(row(s1!.id)).toEqual(['concern', 'Teacher of LTI101', atOf(s1!.id), `'${NOTE}`]);
    expect(row(s2!.id)).toEqual(['no_concern', 'Tomás Assistant', atOf(s2!.id), '']);
    for (const s of sessions.slice(2)) expect(row(s.id)).toEqual(['', '', '', '']);

    const json = await get(teacher, `/learners/${learner}/sessions.json`);
    expect(json.status).toBe(200);
    const items = (JSON.parse(json.html) as { items: Array<{ id: string; reviewMark: unknown }> }).items;
    expect(items).toHaveLength(sessions.length);
    const item = (id: string) => items.find((i) => i.id === id)!;
    expect(item(s1!.id).reviewMark).toEqual({
      mark: 'concern',
      label: 'Concern',
      note: NOTE,
      by: 'Teacher of LTI101',
      byRole: 'Instructor',
      byId: '3',
      at: atOf(s1!.id),
    });
    expect(item(s2!.id).reviewMark).toMatchObject({ mark: 'no_concern', note: null, by: 'Tomás Assistant', byRole: 'Teaching assistant' });
    for (const s of sessions.slice(2)) expect(item(s.id).reviewMark).toBeNull();
  });

  test.each([
    ['a Moodle student (full visibility)', 'moodle'],
    ['a Canvas student', 'canvas'],
  ] as const)('%s: their own exports have no mark columns or fields', async (_, platform) => {
    const who = platform === 'moodle' ? student : canvasStudent;
    const self = platform === 'moodle' ? '4' : canvasLearner;
    const seeder = platform === 'moodle' ? reviews : canvasReviews;
    const [s1] = stack.simulator.dataset.sessionsForUser(self);
    await seeder.write(self, platform === 'moodle' ? INSTRUCTOR : { ...INSTRUCTOR, lmsUserId: '20001' }, {
      mark: { sessionId: s1!.id, mark: 'concern', note: 'Staff only: pasted answers.' },
    });
    // Their teacher sees the mark in the same export.
    const staff = platform === 'moodle' ? teacher : canvasTeacher;
    const staffCsv = await get(staff, `/learners/${self}/sessions.csv`);
    expect(staffCsv.status).toBe(200);
    expect(staffCsv.html).toContain('Staff only: pasted answers.');

    const csv = await get(who, `/learners/${self}/sessions.csv`);
    expect(csv.status).toBe(200);
    const [header, ...rows] = parseCsv(csv.html);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(header!.filter((h) => h.startsWith('review'))).toEqual([]);
    expect(header!.at(-1)).toBe('user_agent');
    expect(csv.html).not.toContain('Staff only');
    expect(csv.html).not.toContain('concern');

    const json = await get(who, `/learners/${self}/sessions.json`);
    expect(json.status).toBe(200);
    const body = JSON.parse(json.html) as { items: Array<Record<string, unknown>> };
    expect(body.items.length).toBeGreaterThanOrEqual(1);
    for (const i of body.items) expect(Object.keys(i)).not.toContain('reviewMark');
    expect(json.html).not.toContain('Staff only');
  });
});
