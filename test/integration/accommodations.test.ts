/**
 * The accommodations register over real HTTP, real PostgreSQL, through the LMS emulator (docs/product.md "Accommodations",
 * docs/architecture.md "Writes"): an instructor records keyboard-only use for a learner whose high sessions carry only
 * `no_pointer_movement`, and the learner page, the session page, the roster (its triage, queue, filters and exports) and
 * the learner's own page count them Low, saying "Low (High without the accommodated signals)"; removing it restores High.
 * A TA reads the register but cannot change it, a student and another course's instructor get 403 and nothing is
 * written; a missing CSRF token is a 403 that writes nothing; a stale version is a 409 that keeps the typed text; `other`
 * needs a description; hostile text is escaped on every page and kept as typed in the JSON; an admin's accommodation for
 * every course of the LMS applies in two courses; every change has its audit row.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { buildWorld } from '../../src/dev/people';
import { buildDataset } from '../../src/dev/simulator';
import { startStack, type Stack } from '../../src/dev/stack';
import type { IsnotaiSession } from '../../src/isnotai/types';
import { createLogger } from '../../src/log';
import { openDatabase, type Store } from '../../src/store';
import { parseCsv } from '../support/csv';
import { freshDatabaseUrl } from '../support/db';
import { textOf } from '../support/stack';
import { hidden, textarea, toolClient, type Who } from '../support/tool';

let stack: Stack;
let db: Store;

const { launch, page, post } = toolClient(() => stack);
let teacher: Who, ta: Who, canvasAdmin: Who, keyboardStudent: Who;
let moodleTeacher: Who, histTeacher: Who, moodleAdmin: Who;
/** Canvas learners of BIO 101 with at least three sessions: [0] has the keyboard-only pattern below; the others are plain. */
let canvas: string[];
/** A Moodle learner of both LTI101 (course 2) and HIST210 (course 3), with the keyboard-only pattern. */
let shared: string;
/** A Moodle learner of LTI101 only. */
let lti101Only: string;

/**
 * The pattern: the first two sessions high (0.88, 0.81) with `no_pointer_movement` as their only signal, the rest low and
 * without signals. Keyboard-only use explains every signal, so the learner counts Low with it, High without it.
 */
function keyboardPattern(s: IsnotaiSession, index: number): IsnotaiSession {
  if (index === 0) return { ...s, botScore: 0.88, detectionFlags: ['no_pointer_movement'] };
  if (index === 1) return { ...s, botScore: 0.81, detectionFlags: ['no_pointer_movement'] };
  return { ...s, botScore: 0.12, detectionFlags: [] };
}

beforeAll(async () => {
  const world = buildWorld({ canvasLearners: 30, moodleExtraLearners: 40, moodleSecondCourseLearners: 25 });
  const plain = buildDataset({ world });
  const enough = (id: string) => plain.sessionsForUser(id).length >= 3;
  const canvasPlatform = world.platforms.find((p) => p.kind === 'canvas')!;
  canvas = canvasPlatform.courses
    .find((c) => c.id === '101')!
    .members.filter((m) => m.role === 'learner' && m.status !== 'Inactive')
    .map((m) => m.person.lmsUserId)
    .filter(enough)
    .slice(0, 8);
  expect(canvas).toHaveLength(8);
  const moodle = world.platforms.find((p) => p.kind === 'moodle')!;
  const learnersOf = (id: string) =>
    moodle.courses
      .find((c) => c.id === id)!
      .members.filter((m) => m.role === 'learner' && m.status !== 'Inactive')
      .map((m) => m.person.lmsUserId);
  const hist = new Set(learnersOf('3'));
  shared = learnersOf('2').filter((id) => hist.has(id) && enough(id))[0]!;
  lti101Only = learnersOf('2').filter((id) => !hist.has(id) && enough(id))[0]!;
  expect([shared, lti101Only].every(Boolean)).toBe(true);
  const patterned = new Set([canvas[0]!, shared]);
  const databaseUrl = await freshDatabaseUrl('accommodations');
  stack = await startStack({
    databaseUrl,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    encryptionKey: crypto.randomBytes(32).toString('base64url'),
    world,
    simulator: { overrides: { session: (s, index) => (patterned.has(s.userId) ? keyboardPattern(s, index) : s) } },
  });
  db = await openDatabase({ url: databaseUrl });
  const histTeacherId = moodle.courses.find((c) => c.id === '3')!.members.find((m) => m.role === 'instructor')!.person.lmsUserId;
  [teacher, ta, canvasAdmin, keyboardStudent, moodleTeacher, histTeacher, moodleAdmin] = await Promise.all([
    launch('canvas', '101', '20001'),
    launch('canvas', '101', '20002'),
    launch('canvas', '101', '1'),
    launch('canvas', '101', canvas[0]!),
    launch('moodle', '2', '3'),
    launch('moodle', '3', histTeacherId),
    launch('moodle', '2', '2'),
  ]);
});
afterAll(async () => {
  await stack?.stop();
  await db?.close();
});

/** The HTML of the first `<form … data-testid="…">` of a page (or of the `index`th). */
function formHtml(html: string, testId: string, index = 0): string {
  const forms = [...html.matchAll(new RegExp(`<form[^>]*data-testid="${testId}"[^>]*>[\\s\\S]*?</form>`, 'g'))];
  if (!forms[index]) throw new Error(`no form ${testId} #${index} in the page`);
  return forms[index][0];
}
/** The add form's fields on a staff member's learner page. */
async function addForm(who: Who, learner: string) {
  const res = await page(who, `/learners/${learner}`);
  expect(res.status).toBe(200);
  const form = formHtml(res.html, 'accommodation-form');
  return { csrf: hidden(form, 'csrf'), version: hidden(form, 'version'), form, html: res.html };
}
/** The level shown in the learner page's summary, in words. */
const learnerLevel = (html: string) =>
  textOf(/data-testid="learner-level">([\s\S]*?)<\/span><\/span>/.exec(html)![1]!).replace(/^[▲◆●○] /, '');
/** The accommodations register's section of a page. */
const panel = (html: string) => /<section[^>]*data-testid="accommodations"[\s\S]*?<\/section>/.exec(html)?.[0] ?? null;

interface RosterItem {
  userId: string;
  risk: string;
  riskWithoutAccommodations: string;
  review: { status: string };
}
async function roster(who: Who, params: Record<string, string> = {}) {
  const res = await page(who, '/course.json', { limit: '500', ...params });
  expect(res.status).toBe(200);
  return JSON.parse(res.html) as { items: RosterItem[]; triage: Array<{ level: string; total: number }> };
}
const triageTotal = (r: Awaited<ReturnType<typeof roster>>, level: string) => r.triage.find((t) => t.level === level)?.total ?? 0;

async function rows(learner: string) {
  const { rows: found } = await sql<{ id: string; kind: string; detail: string | null; removed_at: Date | null }>`
    SELECT a.id, a.kind, a.detail, a.removed_at FROM accommodation a JOIN accommodation_set s ON s.id = a.set_id
    WHERE s.user_id = ${learner} ORDER BY a.id`.execute(db.db);
  return found;
}
async function audit(learner: string) {
  const { rows: found } = await sql<{
    action: string;
    actor_user_id: string;
    actor_role: string;
    resource_id: string | null;
    context_id: string | null;
    detail: Record<string, unknown> | null;
  }>`SELECT action, actor_user_id, actor_role, resource_id, context_id, detail FROM audit_log
    WHERE subject_user_id = ${learner} AND action LIKE 'accommodation.%' ORDER BY id`.execute(db.db);
  return found;
}

const DETAIL = 'Uses the keyboard only (disability services letter 2026-14).';
const LOWERED = 'Low (High without the accommodated signals)';

test('an instructor records keyboard-only use: every view counts the learner Low (High without …); removing it restores High', async () => {
  const learner = canvas[0]!;
  const highSession = (await page(teacher, `/learners/${learner}/sessions.json`, { sort_by: 'bot_score', limit: '1' })).html;
  const sessionId = (JSON.parse(highSession) as { items: Array<{ id: string; risk: string }> }).items[0]!.id;

  // Before: High everywhere.
  const before = await addForm(teacher, learner);
  expect(learnerLevel(before.html)).toBe('High');
  expect(before.version).toBe('0.0');
  expect(textOf(panel(before.html)!)).toContain('None on record.');
  // The form lists each kind with the signals it explains; the instructor writes this course's entries only.
  expect(textOf(before.form)).toContain('Keyboard-only use Explains no_pointer_movement');
  expect(before.form).not.toContain('name="scope" value="platform"');
  expect(hidden(before.form, 'scope')).toBe('course');
  const rosterBefore = await roster(teacher);
  expect(rosterBefore.items.find((i) => i.userId === learner)).toMatchObject({ risk: 'high', riskWithoutAccommodations: 'high' });

  // Record it: 303 to the learner page, at the register, which says "Saved." and counts the learner Low.
  const saved = await post(teacher, `/learners/${learner}/accommodations`, {
    kind: 'keyboard_only',
    detail: DETAIL,
    scope: 'course',
    version: before.version,
    csrf: before.csrf,
  });
  expect(saved.history.map((h) => [h.method, h.status])).toEqual([
    ['POST', 303],
    ['GET', 200],
  ]);
  expect(new URL(saved.url).searchParams.get('saved')).toBe('course-1');
  expect(saved.html).toContain('data-testid="accommodation-saved"');
  expect(learnerLevel(saved.html)).toBe(LOWERED);
  expect(textOf(saved.html)).toContain('counted as low because every signal is explained by an accommodation on record');
  const register = textOf(panel(saved.html)!);
  expect(register).toContain('Keyboard-only use · for this course · recorded');
  expect(register).toContain('by Theo Lindqvist (Instructor)');
  expect(register).toContain(DETAIL);
  expect(register).toContain('Explains no_pointer_movement');
  // Each high session's row: its counted level, and the signal explained.
  const row = new RegExp(`<tr data-session-id="${sessionId}">[\\s\\S]*?</tr>`).exec(saved.html)![0];
  expect(textOf(row)).toContain(LOWERED);
  expect(textOf(row)).toContain('no_pointer_movement');
  expect(textOf(row)).toContain('explained by an accommodation on record');
  // The list's level filter selects by the counted level.
  const highOnly = await page(teacher, `/learners/${learner}/sessions.json`, { risk: 'high' });
  expect((JSON.parse(highOnly.html) as { total: number }).total).toBe(0);
  const json = JSON.parse((await page(teacher, `/learners/${learner}/sessions.json`, { sort_by: 'bot_score' })).html) as {
    items: Array<{ risk: string; riskWithoutAccommodations: string }>;
  };
  expect(json.items.slice(0, 2).map((i) => [i.risk, i.riskWithoutAccommodations])).toEqual([
    ['low', 'high'],
    ['low', 'high'],
  ]);
  const csv = parseCsv((await page(teacher, `/learners/${learner}/sessions.csv`, { sort_by: 'bot_score' })).html);
  const col = (name: string) => csv[0]!.indexOf(name);
  expect(col('risk_without_accommodations')).toBe(col('risk') + 1);
  expect([csv[1]![col('risk')], csv[1]![col('risk_without_accommodations')]]).toEqual(['low', 'high']);

  // The session page: its level, the signal explained, and the sentence behind it.
  const session = await page(teacher, `/learners/${learner}/sessions/${sessionId}`);
  expect(session.status).toBe(200);
  expect(textOf(/<ul class="summary" aria-label="This session">[\s\S]*?<\/ul>/.exec(session.html)![0])).toContain(LOWERED);
  expect(textOf(/data-testid="signals"[\s\S]*?<\/ul>/.exec(session.html)![0])).toContain(
    'no_pointer_movement Page was used without any mouse or pointer movement explained by an accommodation on record',
  );
  expect(session.html).toContain('data-testid="flag-explained">explained by an accommodation on record<');
  expect(textOf(/data-testid="accommodated-reason">([^<]*)</.exec(session.html)![1]!)).toBe(
    'Every signal of this session is explained by an accommodation on record, so its score (at or above 0.70) does not raise the level.',
  );

  // The roster: the Risk cell says both, the learner counts low in the triage, the queue and the filters; the exports carry both.
  const after = await roster(teacher);
  expect(after.items.find((i) => i.userId === learner)).toMatchObject({ risk: 'low', riskWithoutAccommodations: 'high' });
  expect(triageTotal(after, 'high')).toBe(triageTotal(rosterBefore, 'high') - 1);
  expect(triageTotal(after, 'low')).toBe(triageTotal(rosterBefore, 'low') + 1);
  expect((await roster(teacher, { risk: 'high' })).items.map((i) => i.userId)).not.toContain(learner);
  // The queue (the default order) puts every unreviewed high and elevated learner before them.
  const queue = after.items.map((i) => i.userId);
  const ahead = after.items.filter((i) => i.review.status === 'unreviewed' && (i.risk === 'high' || i.risk === 'elevated'));
  expect(queue.indexOf(learner)).toBeGreaterThanOrEqual(ahead.length);
  const html = await page(teacher, '/course', { limit: '500' });
  const cell = new RegExp(`<tr data-user-id="${learner}">[\\s\\S]*?<td data-label="Risk"[^>]*>([\\s\\S]*?)</td>`).exec(html.html)![1]!;
  expect(textOf(cell)).toContain(LOWERED);
  const rosterCsv = parseCsv((await page(teacher, '/course.csv', { limit: '500' })).html);
  const r = rosterCsv.find((line) => line.includes(learner))!;
  expect([r[rosterCsv[0]!.indexOf('risk')], r[rosterCsv[0]!.indexOf('risk_without_accommodations')]]).toEqual(['low', 'high']);

  // The TA reads the register, with no form and no button; the learner's own page counts the same, without the register.
  const taPage = await page(ta, `/learners/${learner}`);
  expect(learnerLevel(taPage.html)).toBe(LOWERED);
  expect(textOf(panel(taPage.html)!)).toContain(DETAIL);
  expect(taPage.html).not.toContain('data-testid="accommodation-form"');
  expect(taPage.html).not.toContain('data-testid="accommodation-remove"');
  expect(textOf(panel(taPage.html)!)).toContain('Teaching assistants read the register');
  const own = await page(keyboardStudent, `/learners/${learner}`);
  expect(own.status).toBe(200);
  expect(learnerLevel(own.html)).toBe(LOWERED);
  expect(panel(own.html)).toBeNull();
  expect(own.html).not.toContain(DETAIL);

  // Remove it: High again everywhere, and the entry in the history.
  const now = await page(teacher, `/learners/${learner}`);
  const remove = formHtml(now.html, 'accommodation-remove');
  const id = /\/accommodations\/(\d+)\/remove/.exec(remove)![1]!;
  const removed = await post(teacher, `/learners/${learner}/accommodations/${id}/remove`, {
    version: hidden(remove, 'version'),
    scope: hidden(remove, 'scope'),
    csrf: hidden(remove, 'csrf'),
  });
  expect(removed.history[0]).toMatchObject({ method: 'POST', status: 303 });
  expect(new URL(removed.url).searchParams.get('saved')).toBe('course-2');
  expect(learnerLevel(removed.html)).toBe('High');
  expect(textOf(panel(removed.html)!)).toContain('None on record.');
  expect(textOf(/data-testid="accommodations-removed"[\s\S]*?<\/details>/.exec(removed.html)![0])).toContain('removed');
  expect((await roster(teacher)).items.find((i) => i.userId === learner)).toMatchObject({
    risk: 'high',
    riskWithoutAccommodations: 'high',
  });
  const again = await page(teacher, `/learners/${learner}/sessions/${sessionId}`);
  expect(again.html).not.toContain('explained by an accommodation on record<');
  expect(again.html).not.toContain('data-testid="accommodated-reason"');

  // One audit row per change, subject the learner, in the launch course.
  const rowsOf = await audit(learner);
  expect(rowsOf.map((a) => [a.action, a.actor_user_id, a.actor_role, a.resource_id, a.detail])).toEqual([
    ['accommodation.add', '20001', 'instructor', 'accommodations course v1', { scope: 'course' }],
    ['accommodation.remove', '20001', 'instructor', 'accommodations course v2', { scope: 'course', accommodationId: id }],
  ]);
  expect(rowsOf.every((a) => a.context_id === rowsOf[0]!.context_id && a.context_id !== null)).toBe(true);
});

test('a TA, a student, another course’s instructor and an instructor asking for every course get 403, and nothing is written', async () => {
  const learner = canvas[1]!;
  const form = await addForm(teacher, learner);
  const fields = { kind: 'dictation', detail: 'Dictation software.', scope: 'course', version: form.version };

  // The TA's own page gives them a valid token; the register still refuses them.
  const taToken = hidden(formHtml((await page(ta, `/learners/${learner}`)).html, 'review-form'), 'csrf');
  const byTa = await post(ta, `/learners/${learner}/accommodations`, { ...fields, csrf: taToken });
  expect(byTa.status).toBe(403);
  expect(textOf(byTa.html)).toContain('Accommodations are recorded by the course’s instructors or an administrator');
  expect((await post(ta, `/learners/${learner}/accommodations/1/remove`, { scope: 'course', version: '0.0', csrf: taToken })).status).toBe(
    403,
  );

  const student = await launch('canvas', '101', learner);
  const byStudent = await post(student, `/learners/${learner}/accommodations`, { ...fields, csrf: 'x' });
  expect(byStudent.status).toBe(403);

  // HIST210's instructor for a learner of LTI101 only: not a learner of their course.
  const hist = await addForm(histTeacher, shared);
  const byOther = await post(histTeacher, `/learners/${lti101Only}/accommodations`, { ...fields, csrf: hist.csrf, version: '0.0' });
  expect(byOther.status).toBe(403);
  expect(textOf(byOther.html)).toContain('not a learner in the course you opened the tool from');

  // An instructor cannot record for every course of the LMS, even by sending the field.
  const platformWide = await post(teacher, `/learners/${learner}/accommodations`, { ...fields, scope: 'platform', csrf: form.csrf });
  expect(platformWide.status).toBe(403);
  expect(textOf(platformWide.html)).toContain('Only an administrator records or removes an accommodation for every course');

  expect(await rows(learner)).toEqual([]);
  expect(await rows(lti101Only)).toEqual([]);
  expect(await audit(learner)).toEqual([]);
});

test('a missing CSRF token writes nothing and shows the description to copy; `other` without one, or one too long, is a 422', async () => {
  const learner = canvas[2]!;
  const form = await addForm(teacher, learner);
  const typed = 'Screen reader (NVDA); extra time 25%.';

  const noToken = await post(teacher, `/learners/${learner}/accommodations`, {
    kind: 'screen_reader',
    detail: typed,
    scope: 'course',
    version: form.version,
  });
  expect(noToken.status).toBe(403);
  expect(textOf(noToken.html)).toContain('csrf_failed');
  expect(textarea(noToken.html, 'id="copy-detail"')).toBe(typed);
  expect(noToken.html).toMatch(/<textarea id="copy-detail"[^>]*readonly/);
  expect(noToken.html).not.toContain('data-testid="accommodation-form"');
  const wrongToken = await post(teacher, `/learners/${learner}/accommodations`, {
    kind: 'screen_reader',
    detail: typed,
    scope: 'course',
    version: form.version,
    csrf: hidden(formHtml((await page(ta, `/learners/${learner}`)).html, 'review-form'), 'csrf'),
  });
  expect(wrongToken.status).toBe(403);

  const other = await post(teacher, `/learners/${learner}/accommodations`, {
    kind: 'other',
    detail: '  ',
    scope: 'course',
    version: form.version,
    csrf: form.csrf,
  });
  expect(other.status).toBe(422);
  expect(textOf(other.html)).toContain('invalid_accommodation');
  expect(other.html).toContain('data-testid="review-errors"');
  expect(other.html).toMatch(/<a href="#accommodation-detail">Describe the accommodation/);
  expect(other.html).toMatch(/<textarea id="accommodation-detail"[^>]*aria-invalid="true"/);
  // The choice is kept, and the form still carries the version it was based on.
  expect(other.html).toMatch(/<input type="radio" id="accommodation-kind-other" name="kind" value="other"[^>]*checked/);
  expect(hidden(formHtml(other.html, 'accommodation-form'), 'version')).toBe(form.version);

  const long = `${'é'.repeat(1000)}x`;
  const tooLong = await post(teacher, `/learners/${learner}/accommodations`, {
    kind: 'dictation',
    detail: long,
    scope: 'course',
    version: form.version,
    csrf: form.csrf,
  });
  expect(tooLong.status).toBe(422);
  expect(textOf(tooLong.html)).toContain('The description is 1,001 characters long; at most 1,000 are kept.');
  expect(textarea(tooLong.html, 'id="accommodation-detail"')).toBe(long);

  const noKind = await post(teacher, `/learners/${learner}/accommodations`, {
    kind: 'telepathy',
    detail: '',
    scope: 'course',
    version: form.version,
    csrf: form.csrf,
  });
  expect(noKind.status).toBe(422);
  expect(noKind.html).toMatch(/<a href="#accommodation-kind">“telepathy” is not one of the accommodations listed/);

  expect(await rows(learner)).toEqual([]);
  expect(await audit(learner)).toEqual([]);
});

test('a stale version is a 409 showing the other change, with the typed text kept; a double submit records once', async () => {
  const learner = canvas[3]!;
  const stale = await addForm(teacher, learner);
  // The admin, launched from the same course, records one for this course first.
  const adminForm = await addForm(canvasAdmin, learner);
  expect(adminForm.form).toContain('name="scope" value="platform"');
  const first = await post(canvasAdmin, `/learners/${learner}/accommodations`, {
    kind: 'rest_breaks',
    detail: 'Rest breaks every 30 minutes.',
    scope: 'course',
    version: adminForm.version,
    csrf: adminForm.csrf,
  });
  expect(new URL(first.url).searchParams.get('saved')).toBe('course-1');

  const typed = 'Dictation (Dragon), per the access plan.';
  const conflict = await post(teacher, `/learners/${learner}/accommodations`, {
    kind: 'dictation',
    detail: typed,
    scope: 'course',
    version: stale.version,
    csrf: stale.csrf,
  });
  expect(conflict.status).toBe(409);
  expect(textOf(conflict.html)).toContain('accommodation_conflict');
  const changes = textOf(/data-testid="accommodation-changes">([\s\S]*?)<\/ol>/.exec(conflict.html)![1]!);
  expect(changes).toContain('Recorded for this course: Rest breaks during assessments');
  expect(changes).toContain('Avery Admin (Administrator)');
  expect(changes).toContain('Rest breaks every 30 minutes.');
  const again = formHtml(conflict.html, 'accommodation-form');
  expect(textarea(again, 'id="accommodation-detail"')).toBe(typed);
  expect(again).toMatch(/value="dictation"[^>]*checked/);
  expect(hidden(again, 'version')).toBe('1.0');
  expect((await rows(learner)).map((r) => r.kind)).toEqual(['rest_breaks']);

  // Sent again from the 409 page, twice (a double click): one entry, one audit row, the same redirect.
  const send = () =>
    post(teacher, `/learners/${learner}/accommodations`, {
      kind: 'dictation',
      detail: typed,
      scope: 'course',
      version: '1.0',
      csrf: stale.csrf,
    });
  const [a, b] = [await send(), await send()];
  expect([a.history[0]!.status, b.history[0]!.status]).toEqual([303, 303]);
  expect(new URL(b.url).searchParams.get('saved')).toBe('course-2');
  expect(b.html).toContain('data-testid="accommodation-saved"');
  expect((await rows(learner)).map((r) => r.kind)).toEqual(['rest_breaks', 'dictation']);
  expect((await audit(learner)).map((r) => [r.action, r.actor_user_id, r.actor_role])).toEqual([
    ['accommodation.add', '1', 'admin'],
    ['accommodation.add', '20001', 'instructor'],
  ]);
  // A link naming someone else's change confirms nothing.
  const crafted = await page(teacher, `/learners/${learner}`, { saved: 'course-1' });
  expect(crafted.html).not.toContain('data-testid="accommodation-saved"');
});

test('hostile free text is escaped on the learner page and in the packet, and kept as typed in review.json', async () => {
  const learner = canvas[4]!;
  const hostile = '<script>alert(1)</script> "><img src=x onerror=alert(2)> =HYPERLINK("http://evil.example") \u202Egnp.exe';
  const form = await addForm(teacher, learner);
  const saved = await post(teacher, `/learners/${learner}/accommodations`, {
    kind: 'other',
    detail: hostile,
    scope: 'course',
    version: form.version,
    csrf: form.csrf,
  });
  expect(saved.status).toBe(200);
  for (const html of [saved.html, (await page(teacher, `/learners/${learner}/packet`)).html]) {
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // Isolated in its own direction, so U+202E cannot reorder the page around it.
    expect(html).toMatch(/dir="auto"[^>]*>[^<]*&lt;script&gt;alert\(1\)/);
  }
  const packet = (await page(teacher, `/learners/${learner}/packet`)).html;
  expect(textOf(/data-testid="packet-accommodations"[\s\S]*?<\/section>/.exec(packet)![0])).toMatch(
    /Other \(describe it\) , for this course; recorded by Theo Lindqvist \(Instructor\)/,
  );

  const json = await page(teacher, `/learners/${learner}/review.json`);
  expect(json.status).toBe(200);
  expect(String(json.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(json.html) as {
    accommodations: Array<Record<string, unknown>>;
    accommodationVersions: { course: number; platform: number };
  };
  expect(body.accommodations).toEqual([
    {
      id: expect.any(String),
      kind: 'other',
      label: 'Other (describe it)',
      signals: [],
      detail: hostile,
      scope: 'course',
      addedAt: expect.any(String),
      addedBy: { name: 'Theo Lindqvist', role: 'Instructor', lmsUserId: '20001' },
      removed: null,
    },
  ]);
  expect(body.accommodationVersions).toEqual({ course: 1, platform: 0 });
  // A student never reads the staff's register.
  expect((await page(keyboardStudent, `/learners/${canvas[0]!}/review.json`)).status).toBe(403);
});

test('an admin’s accommodation for every course of the LMS applies in both courses of the learner; only an admin removes it', async () => {
  const before = await page(histTeacher, `/learners/${shared}`);
  expect(learnerLevel(before.html)).toBe('High');
  const form = await addForm(moodleAdmin, shared);
  // An admin in a course chooses: every course of the LMS (the default) or this course.
  expect(form.form).toMatch(/<input type="radio" id="accommodation-scope" name="scope" value="platform" checked>/);
  const saved = await post(moodleAdmin, `/learners/${shared}/accommodations`, {
    kind: 'keyboard_only',
    detail: '',
    scope: 'platform',
    version: form.version,
    csrf: form.csrf,
  });
  expect(new URL(saved.url).searchParams.get('saved')).toBe('platform-1');

  // LTI101's teacher and HIST210's teacher both count the learner Low, and see where it applies.
  for (const who of [moodleTeacher, histTeacher]) {
    const learnerPage = await page(who, `/learners/${shared}`);
    expect(learnerLevel(learnerPage.html)).toBe(LOWERED);
    expect(textOf(panel(learnerPage.html)!)).toContain('Keyboard-only use · for every course on Demo Moodle 4.4');
    // An instructor may not remove an entry for every course.
    expect(learnerPage.html).not.toContain('data-testid="accommodation-remove"');
    expect((await roster(who)).items.find((i) => i.userId === shared)).toMatchObject({ risk: 'low', riskWithoutAccommodations: 'high' });
  }
  const entry = (await rows(shared))[0]!;
  const teacherForm = await addForm(moodleTeacher, shared);
  const refused = await post(moodleTeacher, `/learners/${shared}/accommodations/${entry.id}/remove`, {
    scope: 'platform',
    version: teacherForm.version,
    csrf: teacherForm.csrf,
  });
  expect(refused.status).toBe(403);
  expect((await rows(shared))[0]!.removed_at).toBeNull();

  const adminPage = await page(moodleAdmin, `/learners/${shared}`);
  const remove = formHtml(adminPage.html, 'accommodation-remove');
  const removed = await post(moodleAdmin, `/learners/${shared}/accommodations/${entry.id}/remove`, {
    scope: hidden(remove, 'scope'),
    version: hidden(remove, 'version'),
    csrf: hidden(remove, 'csrf'),
  });
  expect(new URL(removed.url).searchParams.get('saved')).toBe('platform-2');
  expect(learnerLevel((await page(histTeacher, `/learners/${shared}`)).html)).toBe('High');
  expect((await audit(shared)).map((a) => [a.action, a.actor_role, a.detail?.scope])).toEqual([
    ['accommodation.add', 'admin', 'platform'],
    ['accommodation.remove', 'admin', 'platform'],
  ]);
});

test('hostile free text is escaped, and kept as typed, on the 422 and 409 answers of the register’s form', async () => {
  const hostile = '<script>alert(1)</script> "><img src=x onerror=alert(1)> \u202Egnp.exe';
  /** Nothing of the text is markup, and each U+202E is inside an element isolated in its own direction. */
  const defused = (what: string, html: string) => {
    const problems = [];
    if (html.includes('<script>alert(1)')) problems.push('a script element');
    if (html.includes('<img src=x') || html.includes('"><img')) problems.push('an img element');
    if (!html.includes('&lt;script&gt;alert(1)&lt;/script&gt;')) problems.push('no escaped text');
    const overrides = html.split('\u202E').length - 1;
    const isolated = [...html.matchAll(/dir="auto"[^>]*>[^<]*\u202E/g)].length;
    if (overrides === 0 || isolated !== overrides) problems.push(`${isolated} of ${overrides} U+202E isolated`);
    expect([what, problems]).toEqual([what, []]);
  };

  // 422: a description one character too long, the hostile text in it.
  const learner = canvas[5]!;
  const form = await addForm(teacher, learner);
  const long = `${hostile}${'x'.repeat(1001 - [...hostile].length)}`;
  const tooLong = await post(teacher, `/learners/${learner}/accommodations`, {
    kind: 'other',
    detail: long,
    scope: 'course',
    version: form.version,
    csrf: form.csrf,
  });
  expect(tooLong.status).toBe(422);
  expect(textOf(tooLong.html)).toContain('The description is 1,001 characters long; at most 1,000 are kept.');
  defused('422', tooLong.html);
  expect(textarea(tooLong.html, 'id="accommodation-detail"')).toBe(long);
  expect(await rows(learner)).toEqual([]);

  // 409: the admin's change (hostile) landed first; the teacher's stale form (hostile too) shows both.
  const stale = await addForm(teacher, canvas[6]!);
  const adminForm = await addForm(canvasAdmin, canvas[6]!);
  const first = await post(canvasAdmin, `/learners/${canvas[6]!}/accommodations`, {
    kind: 'other',
    detail: `Admin: ${hostile}`,
    scope: 'course',
    version: adminForm.version,
    csrf: adminForm.csrf,
  });
  expect(first.history[0]!.status).toBe(303);
  const conflict = await post(teacher, `/learners/${canvas[6]!}/accommodations`, {
    kind: 'other',
    detail: `Teacher: ${hostile}`,
    scope: 'course',
    version: stale.version,
    csrf: stale.csrf,
  });
  expect(conflict.status).toBe(409);
  defused('409', conflict.html);
  // The other change as recorded, shown without its override (as every page shows stored text); the typed text as typed.
  const changes = /data-testid="accommodation-changes">([\s\S]*?)<\/ol>/.exec(conflict.html)![1]!;
  expect(textOf(changes)).toContain(`Admin: ${hostile.replace('\u202E', '')}`);
  expect(changes).not.toContain('\u202E');
  expect(textarea(formHtml(conflict.html, 'accommodation-form'), 'id="accommodation-detail"')).toBe(`Teacher: ${hostile}`);
  expect((await rows(canvas[6]!)).map((r) => r.detail)).toEqual([`Admin: ${hostile}`]);
});
