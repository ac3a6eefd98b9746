/**
 * Retention and an admin's export-then-erase of one learner's review data (docs/product.md "Retention"), over real HTTP
 * through the LMS emulator, on real PostgreSQL. The Moodle registration keeps review data for 30 days (PLATFORMS_JSON
 * `retentionDays`), Canvas for the default 365.
 *
 * - An admin's page names the learner and counts what is held in every course of the registration, whatever course the
 *   admin launched from; the JSON export holds it all with its fingerprint and is audited; the erasure needs this launch's
 *   CSRF token, the learner's id typed, and the data the page showed (each refusal deletes nothing); then it deletes
 *   everything in one go with an audit entry carrying the counts, and the audit log is kept. Instructors and students get
 *   403 on every route; an admin of another LMS (Canvas) reads, exports and erases that LMS's data only.
 * - The sweep deletes what is past each registration's period, with the clock pinned: the admin reads its counts on the
 *   audit log; what is 31 days old goes on Moodle and what is 29 days old stays, until the sweeper (its clock injected)
 *   runs two days later.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { startTool, type RunningTool } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { LtiBrowser } from '../../src/dev/lms';
import { ROLE } from '../../src/dev/lms/claims';
import { platformEntry } from '../../src/dev/stack';
import { createLogger } from '../../src/log';
import { createAccommodationStore, createAuditLog, createResponseStore, createReviewStore, type ReviewAuthor } from '../../src/store';
import { startRetentionSweeper, sweepRetention } from '../../src/store/retention';
import { csrfTokens } from '../../src/web/csrf';
import { canonicalJson } from '../../src/web/learnerData';
import { capturingLogger, decodeEntities, tableRows, testStack, textOf } from '../support/stack';
import { hidden, toolClient, type Who } from '../support/tool';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const encryptionKey = crypto.randomBytes(32).toString('base64url');
const { launch, page, post } = toolClient(() => stack);
let admin: Who, adminElsewhere: Who, teacher: Who, student: Who, canvasAdmin: Who;

const DAY = 24 * 3600 * 1000;
/** Moodle learners of LTI101 (course 2): the one whose data is exported and erased, and two for the sweep. */
const ERASED = '5';
const SWEPT_OLD = '7';
const SWEPT_RECENT = '8';
const TEACHER: ReviewAuthor = { lmsUserId: '3', name: 'Tina Teacher', roles: [ROLE.membershipInstructor], audience: 'instructor' };

beforeAll(async () => {
  stack = await testStack('retention', { encryptionKey, platformSettings: { moodle: { retentionDays: 30 } } });
  [admin, adminElsewhere, teacher, student, canvasAdmin] = await Promise.all([
    launch('moodle', '2', '2'),
    // The same admin, launched from HIST210: the registration's data is the same.
    launch('moodle', '3', '2'),
    launch('moodle', '2', '3'),
    launch('moodle', '2', ERASED),
    launch('canvas', '101', '1'),
  ]);
});
afterAll(async () => {
  await restarted?.stop();
  await stack?.stop();
});

/** The page's list of what is held, as its lines. */
const held = (html: string) => [...html.matchAll(/<li data-count="\w+">([^<]*)<\/li>/g)].map((m) => decodeEntities(m[1]!));

const moodleReg = () => ({ platformIss: stack.lms.platforms.moodle.issuer, platformClientId: stack.lms.platforms.moodle.clientId });
const course = (contextId: string) => ({ ...moodleReg(), deploymentId: stack.lms.platforms.moodle.deploymentId, contextId });
const auditOf = (action: string, subject: string, contextId = '2') => ({
  ...moodleReg(),
  actorUserId: '3',
  actorRole: 'instructor',
  action,
  contextId,
  subjectUserId: subject,
});
const sessionOf = (userId: string, i = 0) => stack.simulator.dataset.sessionsForUser(userId)[i]?.id ?? `ses_test_${userId}_${i}`;
/** A Moodle learner's response to their first session, written from LTI101 as the form writes it. */
const respondAs = (userId: string, name: string, body: string) =>
  createResponseStore(stack.tool.store.db).write({
    key: { ...moodleReg(), userId },
    sessionId: sessionOf(userId),
    body,
    author: { lmsUserId: userId, name },
    deploymentId: stack.lms.platforms.moodle.deploymentId,
    contextId: '2',
    audit: { ...auditOf('response.write', userId), actorUserId: userId, actorRole: 'student' },
  });
/** An accommodation the teacher of LTI101 records for a Moodle learner with none on record yet. */
const accommodate = (userId: string, kind: string, detail: string) =>
  createAccommodationStore(stack.tool.store.db).change({
    scope: { ...moodleReg(), userId, course: { deploymentId: stack.lms.platforms.moodle.deploymentId, contextId: '2' } },
    author: TEACHER,
    expectedVersion: 0,
    add: { kind, detail },
    audit: auditOf('accommodation.add', userId),
  });

/** Rows the tool holds about a Moodle learner, table by table. */
async function rowsOf(userId: string) {
  const { platformIss } = moodleReg();
  const { rows } = await sql<{
    records: string;
    notes: string;
    responses: string;
    accommodations: string;
    erasures: string;
    audit: string;
  }>`
    SELECT
      (SELECT count(*) FROM review_record WHERE platform_iss = ${platformIss} AND user_id = ${userId}) AS records,
      (SELECT count(*) FROM review_note n JOIN review_record r ON r.id = n.record_id WHERE r.platform_iss = ${platformIss} AND r.user_id = ${userId}) AS notes,
      (SELECT count(*) FROM student_response WHERE platform_iss = ${platformIss} AND user_id = ${userId}) AS responses,
      (SELECT count(*) FROM accommodation a JOIN accommodation_set s ON s.id = a.set_id WHERE s.platform_iss = ${platformIss} AND s.user_id = ${userId}) AS accommodations,
      (SELECT count(*) FROM audit_log WHERE action = 'learner_data.erase' AND subject_user_id = ${userId}) AS erasures,
      (SELECT count(*) FROM audit_log WHERE platform_iss = ${platformIss} AND subject_user_id = ${userId}) AS audit
  `.execute(stack.tool.store.db);
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
}

describe('an admin exports, then erases, one learner’s review data', () => {
  beforeAll(async () => {
    const db = stack.tool.store.db;
    const reviews = createReviewStore(db);
    const key = { ...course('2'), userId: ERASED };
    await reviews.write({
      key,
      author: TEACHER,
      expectedVersion: 0,
      status: { to: 'concern', reason: 'Pasted answers in quiz 2.' },
      note: { body: 'Asked the student to come to office hours.', correctsId: null },
      audit: auditOf('review.status_and_note', ERASED),
    });
    await reviews.write({
      key,
      author: TEACHER,
      expectedVersion: 1,
      mark: { sessionId: sessionOf(ERASED), mark: 'concern', note: 'One burst, 40 seconds in.' },
      audit: auditOf('review.session_mark', ERASED),
    });
    // A record in another course of the same LMS.
    await reviews.write({
      key: { ...course('3'), userId: ERASED },
      author: { ...TEACHER, lmsUserId: '30', name: 'Hal History' },
      expectedVersion: 0,
      note: { body: 'Worth a look after the midterm.', correctsId: null },
      audit: auditOf('review.note', ERASED, '3'),
    });
    await respondAs(ERASED, 'Sara Smith', 'I use dictation software because of a wrist injury.');
    await accommodate(ERASED, 'dictation', 'Documented with the accessibility office.');
  });

  let exported: { fingerprint: string; counts: Record<string, number> };

  test('the page names the learner and counts what is held in every course, from whichever course the admin launched', async () => {
    const res = await page(admin, `/admin/learners/${ERASED}/data`);
    expect(res.status).toBe(200);
    expect(textOf(/<h1>([\s\S]*?)<\/h1>/.exec(res.html)![1]!)).toBe('Review data of Sara Smith');
    expect(held(res.html)).toEqual([
      '2 review records in 2 courses',
      '1 status change',
      '2 notes',
      '1 session mark',
      '1 response',
      '1 accommodation on record',
    ]);
    expect(textOf(res.html)).toContain('Download as JSON');
    expect(textOf(res.html)).toContain(`To confirm, type the learner’s user id: ${ERASED}`);
    expect(textOf(res.html)).toContain('The audit log is kept: it records who saw this learner’s data');
    const fingerprint = hidden(res.html, 'fingerprint');
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(textOf(res.html)).toContain(`Fingerprint of this data: ${fingerprint}`);

    const elsewhere = await page(adminElsewhere, `/admin/learners/${ERASED}/data`);
    expect(elsewhere.status).toBe(200);
    expect(held(elsewhere.html)).toEqual(held(res.html));
    expect(hidden(elsewhere.html, 'fingerprint')).toBe(fingerprint);

    // The admin finds it from the learner's page and from "Find a student"; an instructor's learner page has no such link.
    const learnerPage = await page(admin, `/learners/${ERASED}`);
    expect(decodeEntities(/href="([^"]*)" data-testid="learner-data-link"/.exec(learnerPage.html)![1]!)).toBe(
      `/admin/learners/${ERASED}/data?ltik=${admin.ltik}`,
    );
    expect((await page(teacher, `/learners/${ERASED}`)).html).not.toContain('learner-data-link');
    const lookup = await page(admin, '/admin/lookup', { q: 'Sara Smith' });
    expect(decodeEntities(lookup.html)).toContain(`href="/admin/learners/${ERASED}/data?ltik=${admin.ltik}"`);
  });

  test('the JSON export holds every record, note, response and accommodation with its fingerprint, and is audited', async () => {
    const before = (await rowsOf(ERASED)).audit;
    const res = await page(admin, `/admin/learners/${ERASED}/data.json`);
    expect(res.status).toBe(200);
    expect(String(res.headers['content-disposition'])).toMatch(/^attachment; filename="?learner-data-5/);
    const body = JSON.parse(res.html);
    expect(body).toMatchObject({
      userId: ERASED,
      registration: { issuer: moodleReg().platformIss, clientId: moodleReg().platformClientId },
      counts: { reviewRecords: 2, statusChanges: 1, notes: 2, sessionMarks: 1, responses: 1, accommodations: 1 },
    });
    expect(Date.parse(body.exportedAt)).toBeGreaterThan(Date.now() - 60_000);
    const notes = body.data.reviewRecords.flatMap((r: { notes: Array<{ body: string }> }) => r.notes.map((n) => n.body));
    expect(notes.sort()).toEqual(['Asked the student to come to office hours.', 'Worth a look after the midterm.']);
    expect(body.data.responses.map((r: { body: string }) => r.body)).toEqual(['I use dictation software because of a wrist injury.']);
    expect(body.data.accommodationSets[0].accommodations.map((a: { kind: string }) => a.kind)).toEqual(['dictation']);
    // The fingerprint is the sha256 of the canonical JSON of what it covers, so anyone can check it against the file.
    const { reviewRecords, responses, accommodationSets } = body.data;
    expect(body.fingerprint).toBe(
      crypto.createHash('sha256').update(canonicalJson({ reviewRecords, responses, accommodationSets })).digest('hex'),
    );
    const pageNow = await page(admin, `/admin/learners/${ERASED}/data`);
    expect(hidden(pageNow.html, 'fingerprint')).toBe(body.fingerprint);
    // Audited (the export, then the page just opened), with the counts.
    const { items } = await createAuditLog(stack.tool.store.db).list({ limit: 5, ...moodleReg(), subject: ERASED });
    const entry = items.find((e) => e.action === 'export.learner_data')!;
    expect(entry).toMatchObject({ actorUserId: '2', actorRole: 'admin', subjectUserId: ERASED, detail: body.counts });
    expect((await rowsOf(ERASED)).audit).toBe(before + 2);
    exported = body;
  });

  test('an erasure without this launch’s CSRF token, with a wrong confirmation, or on data that changed deletes nothing', async () => {
    const start = await page(admin, `/admin/learners/${ERASED}/data`);
    const csrf = hidden(start.html, 'csrf');
    const before = await rowsOf(ERASED);

    const noToken = await post(admin, `/admin/learners/${ERASED}/erase`, { fingerprint: exported.fingerprint, confirm: ERASED });
    expect(noToken.status).toBe(403);
    expect(noToken.html).toContain('csrf_failed');
    expect(noToken.html).not.toContain('data-testid="erase-form"');
    // Another launch's token is no better.
    const otherToken = hidden((await page(adminElsewhere, `/admin/learners/${ERASED}/data`)).html, 'csrf');
    const wrongLaunch = await post(admin, `/admin/learners/${ERASED}/erase`, {
      fingerprint: exported.fingerprint,
      confirm: ERASED,
      csrf: otherToken,
    });
    expect(wrongLaunch.status).toBe(403);

    const typo = await post(admin, `/admin/learners/${ERASED}/erase`, { fingerprint: exported.fingerprint, confirm: '55', csrf });
    expect(typo.status).toBe(422);
    expect(typo.html).toContain('invalid_erase');
    // The form again, as typed, the field marked and the summary linking to it.
    expect(typo.html).toMatch(/<input type="text" id="erase-confirm" name="confirm" value="55"[^>]*aria-invalid="true"/);
    expect(typo.html).toContain('href="#erase-confirm"');
    expect(textOf(typo.html)).toContain('“55” is not this learner’s user id.');
    expect(hidden(typo.html, 'fingerprint')).toBe(exported.fingerprint);
    expect(held(typo.html)).toHaveLength(6);

    // A teacher writes a note after the export: the export no longer holds everything.
    await createReviewStore(stack.tool.store.db).write({
      key: { ...course('2'), userId: ERASED },
      author: TEACHER,
      expectedVersion: 2,
      note: { body: 'The student brought their drafts.', correctsId: null },
      audit: auditOf('review.note', ERASED),
    });
    const stale = await post(admin, `/admin/learners/${ERASED}/erase`, { fingerprint: exported.fingerprint, confirm: ERASED, csrf });
    expect(stale.status).toBe(409);
    expect(stale.html).toContain('learner_data_changed');
    expect(held(stale.html)).toContain('3 notes');
    const current = hidden(stale.html, 'fingerprint');
    expect(current).not.toBe(exported.fingerprint);
    expect(stale.html).toMatch(/<input type="text" id="erase-confirm" name="confirm" value="5"/);

    const after = await rowsOf(ERASED);
    expect({ ...after, audit: 0 }).toEqual({ ...before, notes: before.notes! + 1, audit: 0 });
    expect(after.erasures).toBe(0);
  });

  test('with the current fingerprint and the id typed, everything is erased at once, the audit entry has the counts, and the log is kept', async () => {
    const start = await page(admin, `/admin/learners/${ERASED}/data`);
    const form = { fingerprint: hidden(start.html, 'fingerprint'), confirm: ` ${ERASED} `, csrf: hidden(start.html, 'csrf') };
    const erased = await post(admin, `/admin/learners/${ERASED}/erase`, form);
    expect(erased.history.map((h) => [h.method, h.status])).toEqual([
      ['POST', 303],
      ['GET', 200],
    ]);
    expect(new URL(erased.url).searchParams.get('erased')).toBe('1');
    expect(textOf(/data-testid="erased">([\s\S]*?)<\/p>/.exec(erased.html)![1]!)).toMatch(
      /^Erased: 2 review records, 1 status change, 3 notes, 1 session mark, 1 response, 1 accommodation on record \(/,
    );
    expect(held(erased.html)).toEqual([
      '0 review records',
      '0 status changes',
      '0 notes',
      '0 session marks',
      '0 responses',
      '0 accommodations on record',
    ]);
    expect(erased.html).not.toContain('data-testid="erase-form"');

    const rows = await rowsOf(ERASED);
    expect(rows).toMatchObject({ records: 0, notes: 0, responses: 0, accommodations: 0, erasures: 1 });
    // The log keeps who saw the data and the erasure.
    expect(rows.audit).toBeGreaterThan(5);
    const { items } = await createAuditLog(stack.tool.store.db).list({ limit: 1, ...moodleReg(), action: 'learner_data.erase' });
    expect(items[0]).toMatchObject({
      actorUserId: '2',
      actorRole: 'admin',
      subjectUserId: ERASED,
      detail: { reviewRecords: 2, statusChanges: 1, notes: 3, sessionMarks: 1, responses: 1, accommodations: 1 },
    });

    // The teacher's view of the record: nothing.
    const json = await page(teacher, `/learners/${ERASED}/review.json`);
    expect(json.status).toBe(200);
    const record = JSON.parse(json.html);
    expect(record).toMatchObject({ status: 'unreviewed', version: 0, history: [], notes: [], sessionMarks: [] });
    expect(record.responses ?? []).toEqual([]);
    expect(record.accommodations ?? []).toEqual([]);

    // The same form sent again erases nothing more and writes no second entry.
    const again = await post(admin, `/admin/learners/${ERASED}/erase`, form);
    expect(again.history[0]).toMatchObject({ method: 'POST', status: 303 });
    expect((await rowsOf(ERASED)).erasures).toBe(1);

    // On the audit log, the erasure's counts read as words.
    const log = await page(admin, '/admin/audit', { subject: ERASED });
    const row = tableRows(log.html, 'audit').find((r) => r[3] === 'learner_data.erase')!;
    expect(row[6]).toBe('review records 2, status changes 1, notes 3, session marks 1, responses 1, accommodations 1');
  });

  test('an instructor and a student get 403 on all three routes, and nothing is erased', async () => {
    await respondAs(ERASED, 'Sara Smith', 'A new response after the erasure.');
    const fingerprint = hidden((await page(admin, `/admin/learners/${ERASED}/data`)).html, 'fingerprint');
    for (const who of [teacher, student]) {
      expect((await page(who, `/admin/learners/${ERASED}/data`)).status).toBe(403);
      const json = await page(who, `/admin/learners/${ERASED}/data.json`);
      expect(json.status).toBe(403);
      expect(json.html).not.toContain('A new response');
      const csrf = hidden((await page(teacher, `/learners/${ERASED}`)).html, 'csrf');
      const erase = await post(who, `/admin/learners/${ERASED}/erase`, { fingerprint, confirm: ERASED, csrf });
      expect(erase.status).toBe(403);
      expect(erase.html).toContain('forbidden');
    }
    expect(await rowsOf(ERASED)).toMatchObject({ responses: 1, erasures: 1 });
    const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM audit_log WHERE action IN ('export.learner_data', 'view.learner_data') AND actor_user_id <> '2'`.execute(
      stack.tool.store.db,
    );
    expect(Number(rows[0]!.n)).toBe(0);
  });

  test('an admin of another LMS (Canvas) reads, exports and erases that LMS’s data only: the Moodle learner’s rows stay', async () => {
    // Steve Stone, a Moodle learner of LTI101, with a record, a note, a response and an accommodation on Moodle.
    const other = '6';
    const db = stack.tool.store.db;
    await createReviewStore(db).write({
      key: { ...course('2'), userId: other },
      author: TEACHER,
      expectedVersion: 0,
      status: { to: 'concern', reason: 'Moodle-only reason.' },
      note: { body: 'Moodle-only note.', correctsId: null },
      audit: auditOf('review.status_and_note', other),
    });
    await respondAs(other, 'Steve Stone', 'Moodle-only response.');
    await accommodate(other, 'other', 'Moodle-only accommodation.');
    expect(await rowsOf(other)).toMatchObject({ records: 1, notes: 1, responses: 1, accommodations: 1, erasures: 0 });
    const moodlePage = await page(admin, `/admin/learners/${other}/data`);
    const moodleFingerprint = hidden(moodlePage.html, 'fingerprint');
    const before = await rowsOf(other);
    const moodleErasures = async () =>
      Number(
        (
          await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log
            WHERE action = 'learner_data.erase' AND subject_user_id = ${other} AND platform_iss = ${moodleReg().platformIss}`.execute(db)
        ).rows[0]!.n,
      );
    const none = ['0 review records', '0 status changes', '0 notes', '0 session marks', '0 responses', '0 accommodations on record'];

    // The page and the export: the Canvas registration's data of user 6, which is nothing; nothing of Moodle's.
    const shown = await page(canvasAdmin, `/admin/learners/${other}/data`);
    expect(shown.status).toBe(200);
    expect(held(shown.html)).toEqual(none);
    const exported = await page(canvasAdmin, `/admin/learners/${other}/data.json`);
    expect(exported.status).toBe(200);
    const body = JSON.parse(exported.html);
    expect(body).toMatchObject({
      registration: { issuer: stack.lms.platforms.canvas.issuer, clientId: stack.lms.platforms.canvas.clientId },
      counts: { reviewRecords: 0, statusChanges: 0, notes: 0, sessionMarks: 0, responses: 0, accommodations: 0 },
      data: { reviewRecords: [], responses: [], accommodationSets: [] },
    });
    expect(body.fingerprint).not.toBe(moodleFingerprint);
    for (const res of [shown, exported]) {
      expect(res.html).not.toContain('Moodle-only');
      expect(res.html).not.toContain('Steve Stone');
      expect(res.html).not.toContain(moodleFingerprint);
    }

    // The erasure, with the Moodle data's fingerprint and with the Canvas export's, this launch's token and the id typed.
    // (Canvas's page offers no erase form, as it holds nothing: the token is the one every form of this launch carries.)
    const csrf = csrfTokens(encryptionKey).tokenFor(canvasAdmin.ltik);
    for (const fingerprint of [moodleFingerprint, body.fingerprint as string]) {
      const erase = await post(canvasAdmin, `/admin/learners/${other}/erase`, { fingerprint, confirm: other, csrf });
      expect(erase.history[0]!.status).toBe(303);
      expect(held(erase.html)).toEqual(none);
      expect(erase.html).not.toContain('Moodle-only');
    }

    // The Moodle rows stay, every one: the Moodle admin's page shows the very data it showed (the same fingerprint).
    // (rowsOf's `erasures` counts every LMS's entries about user 6: Canvas's, of its own empty data, among them.)
    const moodleRows = ({ erasures: _everyLms, ...rows }: Record<string, number>) => rows;
    expect(moodleRows(await rowsOf(other))).toEqual(moodleRows(before));
    expect(await moodleErasures()).toBe(0);
    expect(hidden((await page(admin, `/admin/learners/${other}/data`)).html, 'fingerprint')).toBe(moodleFingerprint);

    // The Moodle admin can erase it (and does: the sweeps below count what this describe left).
    const again = await page(admin, `/admin/learners/${other}/data`);
    const erased = await post(admin, `/admin/learners/${other}/erase`, {
      fingerprint: moodleFingerprint,
      confirm: other,
      csrf: hidden(again.html, 'csrf'),
    });
    expect(erased.history[0]!.status).toBe(303);
    expect(await rowsOf(other)).toMatchObject({ records: 0, notes: 0, responses: 0, accommodations: 0 });
    expect(await moodleErasures()).toBe(1);
  });
});

describe('retention', () => {
  /**
   * The sweeps below run with the clock pinned well after today, so that the tool's own sweeper (running on the real
   * clock) finds nothing of this test's to delete and the counts are the pinned sweep's alone. Everything written today
   * (launches, views, the erasure above) is then long past both periods and goes too.
   */
  const NOW = Date.now() + 1000 * DAY;
  const ago = (days: number) => new Date(NOW - days * DAY);
  const canvasLearner = () =>
    stack.world.platforms
      .find((p) => p.kind === 'canvas')!
      .courses.find((c) => c.id === '101')!
      .members.find((m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(m.person.lmsUserId).length >= 2)!.person
      .lmsUserId;

  test('the settings page says how long each LMS keeps review data', async () => {
    const moodle = await page(admin, '/admin/settings');
    expect(textOf(/data-testid="retention">([^<]*)</.exec(moodle.html)![1]!)).toBe('Review data and the audit log are kept for 30 days');
    const canvas = await page(canvasAdmin, '/admin/settings');
    expect(textOf(/data-testid="retention">([^<]*)</.exec(canvas.html)![1]!)).toBe('Review data and the audit log are kept for 365 days');
  });

  test('a sweep with the clock pinned purges what is past each LMS’s period, keeps the rest, and the admin reads its counts', async () => {
    const db = stack.tool.store.db;
    const responses = createResponseStore(db);
    const reviews = createReviewStore(db);
    const respond = (reg: { platformIss: string; platformClientId: string }, userId: string, i: number, body: string, at: Date) =>
      responses.write({
        key: { ...reg, userId },
        sessionId: sessionOf(userId, i),
        body,
        author: { lmsUserId: userId, name: 'A learner' },
        deploymentId: 'd',
        contextId: '2',
        audit: { ...reg, actorUserId: userId, actorRole: 'student', action: 'response.write', subjectUserId: userId },
        at,
      });
    const reg = moodleReg();
    await respond(reg, SWEPT_OLD, 0, 'Written 31 days before the sweep.', ago(31));
    await respond(reg, SWEPT_OLD, 1, 'Written 29 days before the sweep.', ago(29));
    await reviews.write({
      key: { ...course('2'), userId: SWEPT_OLD },
      author: TEACHER,
      expectedVersion: 0,
      note: { body: 'A note last changed 31 days before the sweep.', correctsId: null },
      audit: auditOf('review.note', SWEPT_OLD),
      at: ago(31),
    });
    await reviews.write({
      key: { ...course('2'), userId: SWEPT_RECENT },
      author: TEACHER,
      expectedVersion: 0,
      note: { body: 'A note last changed 29 days before the sweep.', correctsId: null },
      audit: auditOf('review.note', SWEPT_RECENT),
      at: ago(29),
    });
    const accommodations = createAccommodationStore(db);
    const scope = (userId: string) => ({
      ...reg,
      userId,
      course: { deploymentId: stack.lms.platforms.moodle.deploymentId, contextId: '2' },
    });
    await accommodations.change({
      scope: scope(SWEPT_OLD),
      author: TEACHER,
      expectedVersion: 0,
      add: { kind: 'keyboard_only', detail: null },
      audit: auditOf('accommodation.add', SWEPT_OLD),
      at: ago(40),
    });
    const added = (await accommodations.forLearner({ ...reg, userId: SWEPT_OLD }, scope(SWEPT_OLD).course)).course.entries[0]!;
    await accommodations.change({
      scope: scope(SWEPT_OLD),
      author: TEACHER,
      expectedVersion: 1,
      remove: { id: added.id },
      audit: auditOf('accommodation.remove', SWEPT_OLD),
      at: ago(31),
    });
    // In effect, however old: kept (deleting it would raise the learner's levels without anyone deciding so).
    await accommodations.change({
      scope: scope(SWEPT_RECENT),
      author: TEACHER,
      expectedVersion: 0,
      add: { kind: 'dictation', detail: null },
      audit: auditOf('accommodation.add', SWEPT_RECENT),
      at: ago(100),
    });
    const canvas = { platformIss: stack.lms.platforms.canvas.issuer, platformClientId: stack.lms.platforms.canvas.clientId };
    const canvasId = canvasLearner();
    await respond(canvas, canvasId, 0, 'Written 366 days before the sweep.', ago(366));
    await respond(canvas, canvasId, 1, 'Written 364 days before the sweep.', ago(364));

    const expiredAudit = async (r: typeof reg, days: number) =>
      Number(
        (
          await sql<{
            n: string;
          }>`SELECT count(*) AS n FROM audit_log WHERE platform_iss = ${r.platformIss} AND platform_client_id = ${r.platformClientId}
            AND at < ${new Date(NOW - days * DAY)}`.execute(db)
        ).rows[0]!.n,
      );
    const moodleAudit = await expiredAudit(reg, 30);
    const canvasAudit = await expiredAudit(canvas, 365);
    expect(moodleAudit).toBeGreaterThan(10);

    const swept = await sweepRetention(db, { now: NOW });
    const of = (r: typeof reg) =>
      swept.byPlatform.find((p) => p.platformIss === r.platformIss && p.platformClientId === r.platformClientId);
    expect(of(reg)).toMatchObject({
      retentionDays: 30,
      counts: { responses: 2, reviewRecords: 1, notes: 1, accommodations: 1, auditEntries: moodleAudit },
    });
    expect(of(canvas)).toMatchObject({ retentionDays: 365, counts: { responses: 1, reviewRecords: 0, auditEntries: canvasAudit } });
    // A second sweep at the same time finds nothing and writes no entry.
    expect((await sweepRetention(db, { now: NOW })).byPlatform).toEqual([]);

    // The admin reads the sweep on the audit log (the newest entry: written at the pinned time), its counts in words.
    const log = await page(admin, '/admin/audit');
    const first = tableRows(log.html, 'audit')[0]!;
    expect(first[1]).toBe('system:retention (system)');
    expect(first[3]).toBe('retention.sweep');
    // Two responses: the one 31 days old, and the one written today after the erasure above; "seen" markers when the
    // staff's pages keep them.
    expect(first[6]).toMatch(
      new RegExp(
        `^kept 30 days: review records 1, notes 1, responses 2, accommodations 1, (“seen” markers \\d+, )?audit entries ${moodleAudit}$`,
      ),
    );
    const canvasLog = tableRows((await page(canvasAdmin, '/admin/audit')).html, 'audit')[0]!;
    expect(canvasLog[6]).toBe(`kept 365 days: responses 1, audit entries ${canvasAudit}`);

    // What was 31 days old is gone from the pages and the JSON; what was 29 days old is there.
    const oldData = JSON.parse((await page(admin, `/admin/learners/${SWEPT_OLD}/data.json`)).html);
    expect(oldData.data.responses.map((r: { body: string }) => r.body)).toEqual(['Written 29 days before the sweep.']);
    expect(oldData.counts).toMatchObject({ reviewRecords: 0, notes: 0, accommodations: 0 });
    expect(JSON.parse((await page(teacher, `/learners/${SWEPT_OLD}/review.json`)).html)).toMatchObject({ version: 0, notes: [] });
    const recent = JSON.parse((await page(teacher, `/learners/${SWEPT_RECENT}/review.json`)).html);
    expect(recent.notes.map((n: { body: string }) => n.body)).toEqual(['A note last changed 29 days before the sweep.']);
    expect(held((await page(admin, `/admin/learners/${SWEPT_RECENT}/data`)).html)).toEqual([
      '1 review record in 1 course',
      '0 status changes',
      '1 note',
      '0 session marks',
      '0 responses',
      '1 accommodation on record',
    ]);
    const canvasData = JSON.parse((await page(canvasAdmin, `/admin/learners/${canvasId}/data.json`)).html);
    expect(canvasData.data.responses.map((r: { body: string }) => r.body)).toEqual(['Written 364 days before the sweep.']);
  });

  test('the sweeper, its clock two days later, purges what is now 31 days old; it logs counts, never a learner', async () => {
    const { logger, lines } = capturingLogger('info');
    const stop = startRetentionSweeper(stack.tool.store.db, { intervalMs: 60_000, firstRunMs: 0, clock: () => NOW + 2 * DAY, logger });
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.includes('retention sweep deleted expired rows')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await stop();
    const logged = lines.filter((l) => l.includes('retention sweep deleted expired rows')).map((l) => JSON.parse(l));
    const moodle = logged.find((l) => l.platformIss === moodleReg().platformIss)!;
    expect(moodle).toMatchObject({ retentionDays: 30, deleted: { responses: 1, reviewRecords: 1, notes: 1 } });
    expect(lines.join('\n')).not.toContain('Written 29 days');
    expect(lines.join('\n')).not.toContain(`"userId"`);

    const oldData = JSON.parse((await page(admin, `/admin/learners/${SWEPT_OLD}/data.json`)).html);
    expect(oldData.counts.responses).toBe(0);
    expect(JSON.parse((await page(teacher, `/learners/${SWEPT_RECENT}/review.json`)).html).notes).toEqual([]);
    // The accommodation still in effect stays, however old.
    expect(JSON.parse((await page(admin, `/admin/learners/${SWEPT_RECENT}/data.json`)).html).counts.accommodations).toBe(1);
  });
});

let restarted: RunningTool | undefined;

test('a retention period taken out of the configuration goes back to 365 days at the next start', async () => {
  const moodle = stack.lms.platforms.moodle;
  await stack.tool.stop();
  const config = loadConfig({
    NODE_ENV: 'development',
    ENCRYPTION_KEY: encryptionKey,
    LOG_LEVEL: 'silent',
    PLATFORMS_JSON: JSON.stringify([platformEntry(moodle, { apiKey: 'aik_v1_sim_pro', baseUrl: stack.simulator.url })]),
  });
  restarted = await startTool({
    config,
    logger: createLogger('silent'),
    databaseUrl: stack.tool.store.pool.options.connectionString!,
    port: 0,
    host: '127.0.0.1',
  });
  stack.lms.setToolUrl(restarted.url);
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });
  const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: '2' });
  expect(res.status).toBe(200);
  const settings = await browser.get(`${restarted.url}/admin/settings?ltik=${encodeURIComponent(res.ltik!)}`);
  expect(textOf(/data-testid="retention">([^<]*)</.exec(settings.html)![1]!)).toBe('Review data and the audit log are kept for 365 days');
});
