/**
 * Review records over real HTTP, real PostgreSQL, through the LMS emulator (docs/product.md "Review", docs/architecture.md
 * "Writes"): an instructor sets a status and a TA of the same course reads it and adds a note; students never see any of
 * it; another course's instructor gets 403 on every route; a missing or wrong CSRF token is a 403 that writes nothing; a
 * stale version is a 409 that keeps the typed text; a double submit records one note and a reload re-posts nothing; every
 * write has its audit row; hostile text never executes or breaks a page; and a restart of the tool keeps everything.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { startTool, type RunningTool } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { platformEntry, startStack, type Stack } from '../../src/dev/stack';
import { createLogger } from '../../src/log';
import { openDatabase, type Store } from '../../src/store';
import { csrfTokens } from '../../src/web/csrf';
import { freshDatabaseUrl } from '../support/db';
import { tableRows, textOf } from '../support/stack';
import { hidden, textarea, toolClient, type Who } from '../support/tool';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const encryptionKey = crypto.randomBytes(32).toString('base64url');
let databaseUrl: string;
let stack: Stack;
let db: Store;
let restarted: RunningTool | undefined;

const { launch, page, post } = toolClient(() => stack);
let teacher: Who, ta: Who, student: Who, admin: Who, otherCourse: Who, moodleTeacher: Who, histTeacher: Who;
/** Canvas learners of BIO 101, each with sessions: one per test, so the tests do not depend on each other's records. */
let learners: string[];
let histTeacherId: string;

beforeAll(async () => {
  databaseUrl = await freshDatabaseUrl('review');
  // BIG 1000 (course 900) has Theo Lindqvist as its instructor too: the same person, another course.
  stack = await startStack({ databaseUrl, logger, encryptionKey, worldOptions: { bigCourseLearners: 3 } });
  db = await openDatabase({ url: databaseUrl });
  const bio = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === '101')!;
  learners = bio.members
    .filter((m) => m.role === 'learner' && m.status !== 'Inactive')
    .map((m) => m.person.lmsUserId)
    .filter((id) => stack.simulator.dataset.sessionsForUser(id).length >= 2)
    .slice(0, 16);
  expect(learners).toHaveLength(16);
  const hist = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === '3')!;
  histTeacherId = hist.members.find((m) => m.role === 'instructor')!.person.lmsUserId;
  [teacher, ta, student, admin, otherCourse, moodleTeacher, histTeacher] = await Promise.all([
    launch('canvas', '101', '20001'),
    launch('canvas', '101', '20002'),
    launch('canvas', '101', learners[0]!),
    launch('canvas', '101', '1'),
    launch('canvas', '900', '20001'),
    launch('moodle', '2', '3'),
    launch('moodle', '3', histTeacherId),
  ]);
});
afterAll(async () => {
  await restarted?.stop();
  await stack?.stop();
  await db?.close();
});

/** The form fields a staff member's learner page offers (the token of their launch, the version it shows). */
async function reviewForm(who: Who, learner: string) {
  const res = await page(who, `/learners/${learner}`);
  expect(res.status).toBe(200);
  return { csrf: hidden(res.html, 'csrf'), version: hidden(res.html, 'version'), html: res.html };
}
async function markForm(who: Who, learner: string, sessionId: string) {
  const res = await page(who, `/learners/${learner}/sessions/${sessionId}`);
  expect(res.status).toBe(200);
  return { csrf: hidden(res.html, 'csrf'), version: hidden(res.html, 'version'), html: res.html };
}
async function reviewJson(who: Who, learner: string) {
  const res = await page(who, `/learners/${learner}/review.json`);
  return {
    status: res.status,
    body: JSON.parse(res.html) as Record<string, unknown> & { version: number; notes: Array<Record<string, unknown>> },
  };
}
async function recordVersion(learner: string): Promise<number> {
  const { rows } = await sql<{ version: number }>`SELECT version FROM review_record WHERE user_id = ${learner}`.execute(db.db);
  return rows[0]?.version ?? 0;
}
async function reviewAudit(learner: string) {
  const { rows } = await sql<{
    action: string;
    actor_user_id: string;
    actor_role: string;
    resource_id: string | null;
    context_id: string;
    at: Date;
  }>`
    SELECT action, actor_user_id, actor_role, resource_id, context_id, at FROM audit_log
    WHERE subject_user_id = ${learner} AND action LIKE 'review.%' ORDER BY id`.execute(db.db);
  return rows;
}
const notesOf = (html: string) => [...html.matchAll(/data-note-id="(\d+)"/g)].map((m) => m[1]!);

test('an instructor sets a status with a reason; a TA of the course sees it, adds a note, and shows as a TA', async () => {
  const learner = learners[1]!;
  const before = await reviewForm(teacher, learner);
  expect(before.version).toBe('0');
  expect(textOf(before.html)).toContain('Status: Not yet reviewed');

  const saved = await post(teacher, `/learners/${learner}/review`, {
    status: 'concern',
    reason: 'Answers pasted in one burst in quizzes 2 and 3.',
    note: '',
    version: before.version,
    csrf: before.csrf,
  });
  // POST → 303 → the learner page with "Saved", at the review panel.
  expect(saved.history.map((h) => [h.method, h.status])).toEqual([
    ['POST', 303],
    ['GET', 200],
  ]);
  expect(new URL(saved.url).searchParams.get('saved')).toBe('1');
  // `saved` names the version this write made; the notice offers the next learner to review from where the focus lands.
  expect(saved.html).toMatch(
    /<p class="notice review-saved" role="status"[^>]*>Saved\. <a href="\/course\/next\?[^"]*" data-testid="review-saved-next">Next learner to review<\/a><\/p>/,
  );
  expect(textOf(/data-testid="review-status">([^<]*)</.exec(saved.html)![1]!)).toBe('Concern');

  const seen = await reviewForm(ta, learner);
  expect(seen.version).toBe('1');
  expect(tableRows(seen.html, 'review-history')).toEqual([
    [expect.any(String), 'Theo Lindqvist (Instructor)', 'Not yet reviewed → Concern', 'Answers pasted in one burst in quizzes 2 and 3.'],
  ]);
  const noted = await post(ta, `/learners/${learner}/review`, {
    status: '',
    reason: '',
    note: 'Spoke with the student after class; they will bring their drafts.',
    version: seen.version,
    csrf: seen.csrf,
  });
  expect(noted.status).toBe(200);
  expect(noted.history[0]).toMatchObject({ method: 'POST', status: 303 });
  expect(textOf(noted.html)).toContain('Note #1 ·');
  expect(textOf(noted.html)).toContain('Tamsin Achebe (Teaching assistant) Spoke with the student after class');
  // The status is the instructor's still; the TA's note did not change it.
  expect(textOf(/data-testid="review-status">([^<]*)</.exec(noted.html)![1]!)).toBe('Concern');

  // The instructor sees the TA's note, and the JSON says who wrote what, with which role.
  const json = await reviewJson(teacher, learner);
  expect(json.status).toBe(200);
  expect(json.body).toMatchObject({
    status: 'concern',
    version: 2,
    history: [
      {
        version: 1,
        from: 'unreviewed',
        to: 'concern',
        reason: 'Answers pasted in one burst in quizzes 2 and 3.',
        author: { name: 'Theo Lindqvist', role: 'Instructor', lmsUserId: '20001' },
      },
    ],
    notes: [
      {
        number: 1,
        version: 2,
        body: 'Spoke with the student after class; they will bring their drafts.',
        correctsId: null,
        author: { name: 'Tamsin Achebe', role: 'Teaching assistant', lmsUserId: '20002' },
      },
    ],
    sessionMarks: [],
  });
  const at = (json.body.history as Array<{ at: string }>)[0]!.at;
  expect(new Date(at).toISOString()).toBe(at);

  // Each write has its audit row, at the write's own time (the same transaction), naming the new version.
  // The course is the launch's context (Canvas sends an opaque context id for course 101), the record's own.
  const audit = await reviewAudit(learner);
  const { rows: records } = await sql<{ context_id: string }>`SELECT context_id FROM review_record WHERE user_id = ${learner}`.execute(
    db.db,
  );
  const course = records[0]!.context_id;
  expect(audit.map((a) => [a.action, a.actor_user_id, a.actor_role, a.resource_id, a.context_id])).toEqual([
    ['review.status', '20001', 'instructor', 'review v1', course],
    ['review.note', '20002', 'instructor', 'review v2', course],
  ]);
  const { rows } = await sql<{ at: Date }>`SELECT c.at FROM review_status_change c JOIN review_record r ON r.id = c.record_id
    WHERE r.user_id = ${learner}`.execute(db.db);
  expect(audit[0]!.at.getTime()).toBe(rows[0]!.at.getTime());
  // Reading the JSON is audited as a view.
  const { rows: views } = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log WHERE subject_user_id = ${learner}
    AND action = 'view.review'`.execute(db.db);
  expect(Number(views[0]!.n)).toBe(1);
});

test('a status and a note in one form, a correction as a new note; nothing typed is edited away', async () => {
  const learner = learners[2]!;
  let f = await reviewForm(teacher, learner);
  let res = await post(teacher, `/learners/${learner}/review`, {
    status: 'referred',
    reason: 'Referred to the conduct office, case 2026-114.',
    note: 'The student missed week 5.',
    version: f.version,
    csrf: f.csrf,
  });
  expect(res.history[0]!.status).toBe(303);
  const [first] = notesOf(res.html);
  f = { csrf: hidden(res.html, 'csrf'), version: hidden(res.html, 'version'), html: res.html };
  res = await post(ta, `/learners/${learner}/review`, {
    note: 'It was week 6, not week 5.',
    corrects: first!,
    version: f.version,
    csrf: (await reviewForm(ta, learner)).csrf,
  });
  expect(res.history[0]!.status).toBe(303);
  const text = textOf(res.html);
  expect(text).toContain('The student missed week 5.');
  expect(text).toContain('It was week 6, not week 5.');
  expect(text).toMatch(/Note #1 · .* corrected by note #2/);
  expect(text).toMatch(/Note #2 · .* Correction of note #1/);
  // Append-only: one form, which adds; no control edits or removes a note.
  expect(res.html.match(/<form method="post" action="\/learners\/[^"]+\/review"/g)).toHaveLength(1);
  expect(res.html).not.toMatch(/name="(edit|delete|note_id)"/);
  const audit = await reviewAudit(learner);
  expect(audit.map((a) => a.action)).toEqual(['review.status_and_note', 'review.note']);
  const json = await reviewJson(admin, learner);
  expect(json.body.notes.map((n) => [n.number, n.correctsId, n.correctedBy])).toEqual([
    [1, null, [json.body.notes[1]!.id]],
    [2, first, []],
  ]);
});

test('a session mark shows on the session page, on its row of the learner page, and in the JSON; it must be the learner’s session', async () => {
  const learner = learners[3]!;
  const [s1, s2] = stack.simulator.dataset.sessionsForUser(learner);
  const f = await markForm(teacher, learner, s1!.id);
  expect(textOf(f.html)).toContain('Review mark not marked');
  // Concern without a note: 422, nothing written.
  const bare = await post(teacher, `/learners/${learner}/sessions/${s1!.id}/mark`, {
    mark: 'concern',
    note: '',
    version: f.version,
    csrf: f.csrf,
  });
  expect(bare.status).toBe(422);
  expect(textOf(bare.html)).toContain('Say what the concern is');
  expect(await recordVersion(learner)).toBe(0);

  const saved = await post(teacher, `/learners/${learner}/sessions/${s1!.id}/mark`, {
    mark: 'concern',
    note: 'Pointer still for the whole quiz, then 40 answers in 30 s.',
    version: f.version,
    csrf: f.csrf,
  });
  expect(saved.history.map((h) => h.status)).toEqual([303, 200]);
  expect(new URL(saved.url).pathname).toBe(`/learners/${learner}/sessions/${s1!.id}`);
  expect(saved.html).toContain('data-testid="review-saved"');
  expect(textOf(saved.html)).toContain('Review mark Concern');
  expect(tableRows(saved.html, 'mark-history')).toEqual([
    [expect.any(String), 'Theo Lindqvist (Instructor)', 'Concern', 'Pointer still for the whole quiz, then 40 answers in 30 s.'],
  ]);

  // The TA marks the other session "no concern" (no note needed); the learner page's rows show both.
  const g = await markForm(ta, learner, s2!.id);
  expect(
    (await post(ta, `/learners/${learner}/sessions/${s2!.id}/mark`, { mark: 'no_concern', note: '', version: g.version, csrf: g.csrf }))
      .status,
  ).toBe(200);
  const lp = await page(teacher, `/learners/${learner}`);
  const rows = tableRows(lp.html, 'sessions');
  const ids = [...lp.html.matchAll(/<tr data-session-id="([^"]+)"/g)].map((m) => m[1]);
  const markOf = (id: string) => rows[ids.indexOf(id)]![6];
  expect(markOf(s1!.id)).toBe('Concern');
  expect(markOf(s2!.id)).toBe('No concern');
  expect(lp.html).toContain('<th scope="col">Review mark</th>');
  const json = await reviewJson(ta, learner);
  expect(
    (json.body.sessionMarks as Array<Record<string, unknown>>).map((m) => [m.sessionId, m.mark, (m.author as { role: string }).role]),
  ).toEqual([
    [s1!.id, 'concern', 'Instructor'],
    [s2!.id, 'no_concern', 'Teaching assistant'],
  ]);
  expect((await reviewAudit(learner)).map((a) => [a.action, a.resource_id])).toEqual([
    ['review.session_mark', `review v1 session ${s1!.id}`],
    ['review.session_mark', `review v2 session ${s2!.id}`],
  ]);

  // Another learner's session under this learner: 403, nothing written.
  const foreign = stack.simulator.dataset.sessionsForUser(learners[4]!)[0]!;
  const h = await reviewForm(teacher, learner);
  const refused = await post(teacher, `/learners/${learner}/sessions/${foreign.id}/mark`, {
    mark: 'no_concern',
    version: h.version,
    csrf: h.csrf,
  });
  expect(refused.status).toBe(403);
  expect(await recordVersion(learner)).toBe(2);
});

test('a student gets 403 on the JSON and on every write, and sees nothing of the review on their own pages', async () => {
  const me = learners[0]!;
  // Staff review them first.
  const f = await reviewForm(teacher, me);
  await post(teacher, `/learners/${me}/review`, {
    status: 'concern',
    reason: 'STAFF-ONLY-REASON',
    note: 'STAFF-ONLY-NOTE',
    version: f.version,
    csrf: f.csrf,
  });
  const session = stack.simulator.dataset.sessionsForUser(me)[0]!;
  const m = await markForm(teacher, me, session.id);
  await post(teacher, `/learners/${me}/sessions/${session.id}/mark`, {
    mark: 'concern',
    note: 'STAFF-ONLY-MARK',
    version: m.version,
    csrf: m.csrf,
  });
  expect(await recordVersion(me)).toBe(2);

  const json = await page(student, `/learners/${me}/review.json`);
  expect(json.status).toBe(403);
  expect(JSON.parse(json.html)).toMatchObject({ error: { code: 'forbidden' } });
  for (const path of ['/me', `/learners/${me}`, `/learners/${me}/sessions/${session.id}`, `/learners/${me}/sessions.json`]) {
    const res = await page(student, path);
    expect(res.status).toBe(200);
    // A student's own forms (their response) carry a CSRF token too; no staff form (versioned, posting to review or mark) is there.
    for (const secret of ['STAFF-ONLY', 'Review mark', 'review-form', 'name="version"', '/review"', '/mark"', 'Concern'])
      expect(res.html).not.toContain(secret);
  }
  const w = await post(student, `/learners/${me}/review`, { status: 'no_concern', note: 'I did nothing wrong', version: '2', csrf: 'x' });
  expect(w.status).toBe(403);
  const wm = await post(student, `/learners/${me}/sessions/${session.id}/mark`, { mark: 'no_concern', version: '2', csrf: 'x' });
  expect(wm.status).toBe(403);
  expect(await recordVersion(me)).toBe(2);
});

test('every new route × student, instructor, TA, another course’s instructor, admin', async () => {
  const learner = learners[5]!;
  const session = stack.simulator.dataset.sessionsForUser(learner)[0]!.id;
  const tokens = csrfTokens(encryptionKey);
  // Each person's own launch's token, so a refusal here is the access rule's, not the CSRF check's.
  const cases: Array<[string, Who, boolean]> = [
    ['student', student, false],
    ['instructor', teacher, true],
    ['TA', ta, true],
    ['another course’s instructor', otherCourse, false],
    ['admin', admin, true],
  ];
  for (const [who, w, allowed] of cases) {
    const json = await page(w, `/learners/${learner}/review.json`);
    expect([who, json.status]).toEqual([who, allowed ? 200 : 403]);
    if (!allowed) expect(JSON.parse(json.html).error.code).toBe('forbidden');
    const version = String(await recordVersion(learner));
    const note = await post(w, `/learners/${learner}/review`, { note: `A note by the ${who}`, version, csrf: tokens.tokenFor(w.ltik) });
    expect([who, note.status, note.history[0]!.status]).toEqual([who, allowed ? 200 : 403, allowed ? 303 : 403]);
    const mark = await post(w, `/learners/${learner}/sessions/${session}/mark`, {
      mark: 'no_concern',
      version: String(await recordVersion(learner)),
      csrf: tokens.tokenFor(w.ltik),
    });
    expect([who, mark.history[0]!.status]).toEqual([who, allowed ? 303 : 403]);
    if (!allowed) {
      expect(note.html).not.toContain('A note by the instructor');
      expect(mark.html).not.toContain('A note by the instructor');
    }
  }
  // Three people wrote a note and a mark each; the refused wrote nothing.
  expect(await recordVersion(learner)).toBe(6);
  const json = await reviewJson(admin, learner);
  expect(json.body.notes.map((n) => [n.body, (n.author as { role: string }).role])).toEqual([
    ['A note by the instructor', 'Instructor'],
    ['A note by the TA', 'Teaching assistant'],
    ['A note by the admin', 'Administrator'],
  ]);

  // Another person, instructor of another course (Moodle HIST210), on a Moodle learner of LTI101 only.
  const moodleSession = stack.simulator.dataset.sessionsForUser('4')[0]!.id;
  expect((await page(histTeacher, '/learners/4/review.json')).status).toBe(403);
  expect((await post(histTeacher, '/learners/4/review', { note: 'x', version: '0', csrf: tokens.tokenFor(histTeacher.ltik) })).status).toBe(
    403,
  );
  expect(
    (
      await post(histTeacher, `/learners/4/sessions/${moodleSession}/mark`, {
        mark: 'no_concern',
        version: '0',
        csrf: tokens.tokenFor(histTeacher.ltik),
      })
    ).status,
  ).toBe(403);
  // Their own course's teacher may.
  expect((await page(moodleTeacher, '/learners/4/review.json')).status).toBe(200);
  expect(await recordVersion('4')).toBe(0);
});

test('a missing or wrong CSRF token gets 403, writes nothing, and shows the typed text to copy', async () => {
  const learner = learners[6]!;
  const f = await reviewForm(teacher, learner);
  const typed = 'My careful note about <b>week 7</b> that must not be lost.';
  const taToken = (await reviewForm(ta, learner)).csrf;
  for (const csrf of [undefined, '', 'forged', taToken, f.csrf.slice(0, -1) + (f.csrf.endsWith('A') ? 'B' : 'A')]) {
    const form: Record<string, string> = { status: 'concern', reason: 'A reason I typed', note: typed, version: f.version };
    if (csrf !== undefined) form.csrf = csrf;
    const res = await post(teacher, `/learners/${learner}/review`, form);
    expect(res.status).toBe(403);
    expect(res.history).toHaveLength(1);
    expect(res.html).toContain('csrf_failed');
    expect(textarea(res.html, 'id="copy-note"')).toBe(typed);
    expect(textarea(res.html, 'id="copy-reason"')).toBe('A reason I typed');
    expect(res.html).toMatch(/<textarea id="copy-note"[^>]* readonly/);
    // No form to send it on with: the page offers the way back, nothing that writes.
    expect(res.html).not.toContain('name="csrf"');
  }
  const session = stack.simulator.dataset.sessionsForUser(learner)[0]!.id;
  const mark = await post(teacher, `/learners/${learner}/sessions/${session}/mark`, {
    mark: 'concern',
    note: 'Mark text',
    version: '0',
    csrf: taToken,
  });
  expect(mark.status).toBe(403);
  expect(textarea(mark.html, 'id="copy-note"')).toBe('Mark text');
  expect(await recordVersion(learner)).toBe(0);
  expect(await reviewAudit(learner)).toEqual([]);
});

test('a stale version gets 409 with the other person’s change, the typed text back, and the current version', async () => {
  const learner = learners[7]!;
  const mine = await reviewForm(teacher, learner);
  const theirs = await reviewForm(ta, learner);
  // The TA saves first.
  await post(ta, `/learners/${learner}/review`, {
    status: 'in_review',
    note: 'Taking this one.',
    version: theirs.version,
    csrf: theirs.csrf,
  });
  const typed = { status: 'no_concern', reason: 'Dictation software, documented.', note: 'Checked with the accessibility office.' };
  const res = await post(teacher, `/learners/${learner}/review`, { ...typed, version: mine.version, csrf: mine.csrf });
  expect(res.status).toBe(409);
  expect(res.html).toContain('review_conflict');
  const text = textOf(res.html);
  expect(text).toContain('Changed since you opened the form');
  expect(text).toContain('Status: Not yet reviewed → In review');
  expect(text).toContain('Note #1 ·');
  expect(text).toContain('Tamsin Achebe (Teaching assistant) Taking this one.');
  expect(textOf(/data-testid="review-status">([^<]*)</.exec(res.html)![1]!)).toBe('In review');
  expect(textarea(res.html, 'name="reason"')).toBe(typed.reason);
  expect(textarea(res.html, 'name="note"')).toBe(typed.note);
  expect(res.html).toMatch(/<input type="radio" id="review-status-no_concern" name="status" value="no_concern" checked/);
  expect(hidden(res.html, 'version')).toBe('1');
  expect(await recordVersion(learner)).toBe(1);
  // Sent again from the 409 page, it lands.
  const again = await post(teacher, `/learners/${learner}/review`, {
    ...typed,
    version: hidden(res.html, 'version'),
    csrf: hidden(res.html, 'csrf'),
  });
  expect(again.history.map((h) => h.status)).toEqual([303, 200]);
  expect(await recordVersion(learner)).toBe(2);
  expect((await reviewAudit(learner)).map((a) => a.action)).toEqual(['review.status_and_note', 'review.status_and_note']);
});

test('a double submit records one note; a reload after the POST re-posts nothing', async () => {
  const learner = learners[8]!;
  const f = await reviewForm(teacher, learner);
  const form = { note: 'Only once, please.', version: f.version, csrf: f.csrf };
  const first = await post(teacher, `/learners/${learner}/review`, form);
  const second = await post(teacher, `/learners/${learner}/review`, form);
  for (const r of [first, second]) expect(r.history.map((h) => h.status)).toEqual([303, 200]);
  expect(notesOf(second.html)).toHaveLength(1);
  // Two at once, as a double click sends them.
  const g = await reviewForm(teacher, learner);
  const both = await Promise.all(
    [0, 1].map(() => post(teacher, `/learners/${learner}/review`, { note: 'Clicked twice.', version: g.version, csrf: g.csrf })),
  );
  expect(both.map((r) => r.history[0]!.status)).toEqual([303, 303]);
  // The reload: the page the redirect landed on, fetched again, is a GET.
  const reload = await teacher.browser.get(both[1]!.url);
  expect(reload.history).toEqual([{ method: 'GET', url: both[1]!.url, status: 200 }]);
  expect(notesOf(reload.html)).toHaveLength(2);
  expect(await recordVersion(learner)).toBe(2);
  expect((await reviewAudit(learner)).map((a) => a.action)).toEqual(['review.note', 'review.note']);
});

test('the queue parameter is carried into the redirect unchanged', async () => {
  const learner = learners[9]!;
  const queue = 'risk=high&review=unreviewed&sort_by=score&x=<&>"';
  const f = await page(teacher, `/learners/${learner}`, { queue });
  expect(hidden(f.html, 'queue')).toBe(queue);
  const res = await post(teacher, `/learners/${learner}/review`, {
    status: 'in_review',
    version: hidden(f.html, 'version'),
    csrf: hidden(f.html, 'csrf'),
    queue,
  });
  expect(res.history[0]!.status).toBe(303);
  const landed = new URL(res.url);
  expect(landed.searchParams.get('queue')).toBe(queue);
  expect(landed.searchParams.get('saved')).toBe('1');
});

describe('hostile input', () => {
  const markup = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'`{{x}}';
  const bidi = '\u202Egnp.exe \u2066isolated\u2069 \u202Bembedded';

  test('markup and bidi controls in notes and reasons are shown as text, in their own direction, and never execute', async () => {
    const learner = learners[10]!;
    const f = await reviewForm(teacher, learner);
    const res = await post(teacher, `/learners/${learner}/review`, {
      status: 'concern',
      reason: `${bidi} ${markup}`,
      note: `${markup}\n${bidi}\n${'x'.repeat(3000)}`,
      version: f.version,
      csrf: f.csrf,
    });
    expect(res.history.map((h) => h.status)).toEqual([303, 200]);
    for (const html of [res.html, (await page(ta, `/learners/${learner}`)).html]) {
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<img src=x');
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src&#x3D;x onerror&#x3D;alert(2)&gt;');
      // The text sits in containers of its own direction, so the controls in it cannot reorder the page around it.
      expect(html).toMatch(/<div class="review-text" dir="auto">&lt;script&gt;/);
      expect(html).toMatch(/<div class="review-text" dir="auto">\u202Egnp\.exe/);
      // And the page goes on after it: nothing was cut short or swallowed.
      expect(html).toContain('<h2>Bot score over time</h2>');
      expect(html).toContain('</html>');
    }
    const json = await reviewJson(ta, learner);
    expect((json.body.history as Array<{ reason: string }>)[0]!.reason).toBe(`${bidi} ${markup}`);
    expect(json.body.notes[0]!.body).toBe(`${markup}\n${bidi}\n${'x'.repeat(3000)}`);
  });

  test('10 kB strings in a note and a reason: 422 with the text kept, nothing written, the page intact', async () => {
    const learner = learners[11]!;
    const f = await reviewForm(teacher, learner);
    const big = (markup + bidi).repeat(200).slice(0, 10_240);
    const res = await post(teacher, `/learners/${learner}/review`, {
      status: 'referred',
      reason: big,
      note: big,
      version: f.version,
      csrf: f.csrf,
    });
    expect(res.status).toBe(422);
    expect(res.html).toContain('invalid_review');
    expect(textarea(res.html, 'name="reason"')).toBe(big.trim());
    expect(textarea(res.html, 'name="note"')).toBe(big.trim());
    expect(res.html).not.toContain('<script>alert');
    expect(res.html).toMatch(/<textarea id="review-reason"[^>]*aria-invalid="true"/);
    expect(res.html).toMatch(/aria-describedby="review-note-hint review-note-error"/);
    expect(textOf(res.html)).toContain(
      `The note is ${[...big.trim()].length.toLocaleString('en-GB')} characters long; at most 5,000 are kept.`,
    );
    expect(res.html).toContain('</html>');
    const mark = stack.simulator.dataset.sessionsForUser(learner)[0]!.id;
    const m = await post(teacher, `/learners/${learner}/sessions/${mark}/mark`, {
      mark: 'concern',
      note: big,
      version: f.version,
      csrf: f.csrf,
    });
    expect(m.status).toBe(422);
    expect(textarea(m.html, 'name="note"')).toBe(big.trim());
    expect(await recordVersion(learner)).toBe(0);
  });

  test('5,001 characters: 422 with the text kept; 5,000: saved', async () => {
    const learner = learners[12]!;
    const f = await reviewForm(teacher, learner);
    const over = 'é'.repeat(5001);
    const res = await post(teacher, `/learners/${learner}/review`, { note: over, version: f.version, csrf: f.csrf });
    expect(res.status).toBe(422);
    expect(textarea(res.html, 'name="note"')).toBe(over);
    expect(res.html).toMatch(/<a href="#review-note">The note is 5,001 characters long/);
    const reason = await post(teacher, `/learners/${learner}/review`, {
      status: 'concern',
      reason: over,
      version: f.version,
      csrf: f.csrf,
    });
    expect(reason.status).toBe(422);
    expect(textarea(reason.html, 'name="reason"')).toBe(over);
    expect(await recordVersion(learner)).toBe(0);
    const ok = await post(teacher, `/learners/${learner}/review`, { note: '😀'.repeat(5000), version: f.version, csrf: f.csrf });
    expect(ok.history[0]!.status).toBe(303);
    expect(await recordVersion(learner)).toBe(1);
  });

  test('an unknown status, "unreviewed", a missing reason, an empty form, a bad version or note id: 422, the fields marked', async () => {
    const learner = learners[13]!;
    const f = await reviewForm(teacher, learner);
    const cases: Array<[Record<string, string>, RegExp, string]> = [
      [{ status: 'approved', note: 'kept 1' }, /“approved” is not a review status/, 'review-status'],
      [{ status: 'unreviewed', note: 'kept 2' }, /cannot be set/, 'review-status'],
      [{ status: 'concern', reason: '   ', note: 'kept 3' }, /Say why you set “Concern”/, 'review-reason'],
      [{ status: 'referred', note: 'kept 4' }, /Say why you set “Referred”/, 'review-reason'],
      [{ reason: 'kept 5' }, /A reason goes with a new status/, 'review-reason'],
      [{}, /Choose a status or write a note/, 'review-status'],
      [{ note: 'kept 7', version: '-1' }, /did not say which version/, 'review-submit'],
      [{ note: 'kept 8', version: 'abc' }, /did not say which version/, 'review-submit'],
      [{ note: 'kept 9', corrects: '99999999' }, /not one of this learner’s notes/, 'review-corrects'],
      [{ note: 'kept 10', corrects: 'x; DROP TABLE review_note' }, /Choose the note this one corrects/, 'review-corrects'],
    ];
    for (const [form, message, field] of cases) {
      const res = await post(teacher, `/learners/${learner}/review`, { version: f.version, csrf: f.csrf, ...form });
      expect([form, res.status]).toEqual([form, 422]);
      expect(textOf(res.html)).toMatch(message);
      expect(res.html).toContain(`<a href="#${field}">`);
      if (form.note) expect(textarea(res.html, 'name="note"')).toBe(form.note);
      if (form.reason?.trim()) expect(textarea(res.html, 'name="reason"')).toBe(form.reason);
    }
    const session = stack.simulator.dataset.sessionsForUser(learner)[0]!.id;
    const m = await post(teacher, `/learners/${learner}/sessions/${session}/mark`, {
      mark: 'suspicious',
      note: 'kept',
      version: f.version,
      csrf: f.csrf,
    });
    expect(m.status).toBe(422);
    expect(textOf(m.html)).toContain('“suspicious” is not a mark');
    expect(await recordVersion(learner)).toBe(0);
  });
});

test('a mark whose session cannot be checked just now is not saved, and the typed note comes back in the form (503)', async () => {
  const learner = learners[15]!;
  const session = stack.simulator.dataset.sessionsForUser(learner)[0]!.id;
  const f = await markForm(teacher, learner, session);
  // The tool's copy of the learner's sessions has expired, and isnotai does not answer when the mark is sent.
  await sql`DELETE FROM upstream_cache`.execute(db.db);
  const typed = 'Forty answers in thirty seconds, then nothing for ten minutes.';
  stack.simulator.setFaults({ errorRate503: 1 });
  let res: Awaited<ReturnType<typeof post>>;
  try {
    res = await post(teacher, `/learners/${learner}/sessions/${session}/mark`, {
      mark: 'concern',
      note: typed,
      version: f.version,
      csrf: f.csrf,
    });
  } finally {
    stack.simulator.setFaults({});
  }
  expect(res.status).toBe(503);
  expect(res.history).toHaveLength(1);
  expect(res.html).toContain('upstream_unavailable');
  expect(textOf(res.html)).toContain('The session could not be checked just now, so nothing was saved.');
  // The form again, as typed, at the version it was based on.
  expect(textarea(res.html, 'name="note"')).toBe(typed);
  expect(res.html).toMatch(/<input type="radio" id="mark-choice-concern" name="mark" value="concern" checked/);
  expect(hidden(res.html, 'version')).toBe(f.version);
  expect(await recordVersion(learner)).toBe(0);
  expect(await reviewAudit(learner)).toEqual([]);
  // Sent again from that page once isnotai answers, it lands.
  const again = await post(teacher, `/learners/${learner}/sessions/${session}/mark`, {
    mark: 'concern',
    note: textarea(res.html, 'name="note"')!,
    version: hidden(res.html, 'version'),
    csrf: hidden(res.html, 'csrf'),
  });
  expect(again.history.map((h) => h.status)).toEqual([303, 200]);
  expect(tableRows(again.html, 'mark-history')).toEqual([[expect.any(String), 'Theo Lindqvist (Instructor)', 'Concern', typed]]);
});

test('a restart of the tool keeps everything', async () => {
  const learner = learners[14]!;
  // Something to keep: an instructor's status with its reason, then a TA's note.
  const f0 = await reviewForm(teacher, learner);
  const set = await post(teacher, `/learners/${learner}/review`, {
    status: 'concern',
    reason: 'Answers pasted in one burst.',
    version: f0.version,
    csrf: f0.csrf,
  });
  expect(set.history[0]!.status).toBe(303);
  const g0 = await reviewForm(ta, learner);
  const noted = await post(ta, `/learners/${learner}/review`, {
    note: 'Spoke with the student after class.',
    version: g0.version,
    csrf: g0.csrf,
  });
  expect(noted.history[0]!.status).toBe(303);
  const before = await reviewJson(teacher, learner);
  expect(before.body.version).toBe(2);
  await stack.tool.stop();
  const isnotai = { apiKey: 'aik_v1_sim_pro', baseUrl: stack.simulator.url };
  const config = loadConfig({
    NODE_ENV: 'development',
    ENCRYPTION_KEY: encryptionKey,
    LOG_LEVEL: 'silent',
    PLATFORMS_JSON: JSON.stringify([
      platformEntry(stack.lms.platforms.moodle, isnotai),
      platformEntry(stack.lms.platforms.canvas, isnotai),
    ]),
  });
  restarted = await startTool({ config, logger, databaseUrl, port: 0, host: '127.0.0.1' });
  stack.lms.setToolUrl(restarted.url);
  // The pages below are asked of the new process (`url` builds on stack.tool).
  stack.tool = restarted;
  // A fresh launch of the TA on the new process reads the same record, and can write at its version.
  const again = await launch('canvas', '101', '20002');
  const after = await reviewJson(again, learner);
  expect(after.body).toEqual(before.body);
  const f = await reviewForm(again, learner);
  expect(f.version).toBe('2');
  expect(textOf(f.html)).toContain('Spoke with the student after class');
  const res = await post(again, `/learners/${learner}/review`, { note: 'After the restart.', version: f.version, csrf: f.csrf });
  expect(res.history.map((h) => h.status)).toEqual([303, 200]);
  expect((await reviewAudit(learner)).map((a) => a.action)).toEqual(['review.status', 'review.note', 'review.note']);
});
