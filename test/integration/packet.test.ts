/**
 * The case packet (docs/product.md "Review"): one printable page per learner for a conduct office, over real HTTP, the
 * LMS emulator and PostgreSQL. Its review record is seeded through the real store (each write with its audit row).
 */
import { ROLE } from '../../src/dev/lms/claims';
import { buildWorld } from '../../src/dev/people';
import { describeFlag } from '../../src/risk';
import { createAuditLog, type ReviewAuthor } from '../../src/store';
import { reviewSeeder, unisolated, type ReviewChange, type ReviewSeeder } from '../support/reviews';
import { tableRows, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
type Browser = ReturnType<S['browser']>;
let stack: S;
let reviews: ReviewSeeder;
let teacher: { browser: Browser; ltik: string };
let sessionA: string;
let sessionB: string;

const TINA: ReviewAuthor = { lmsUserId: '3', name: 'Tina Teacher', roles: [ROLE.membershipInstructor], audience: 'instructor' };
const TERRY: ReviewAuthor = { lmsUserId: '77', name: 'Terry Assistant', roles: [ROLE.membershipTeachingAssistant], audience: 'instructor' };
const HOSTILE_NOTE = 'Pasted answers in quiz 3 <script>alert(1)</script>\nSecond line of the note';
/** A learner of LTI101 whose LMS name reads right to left, with an override that would turn what follows it round. */
const BIDI_LEARNER = '6';
const BIDI_NAME = 'مريم \u202Egnp.exe';
const BIDI_AUTHOR: ReviewAuthor = {
  lmsUserId: '79',
  name: 'يوسف \u202Efdp.exe',
  roles: [ROLE.membershipInstructor],
  audience: 'instructor',
};

const at = (path: string, ltik: string) => `${stack.tool.url}${path}${path.includes('?') ? '&' : '?'}ltik=${encodeURIComponent(ltik)}`;

async function launch(platform: 'moodle' | 'canvas', courseId: string, userId: string): Promise<{ browser: Browser; ltik: string }> {
  const browser = stack.browser();
  const res = await browser.launch({ platform, courseId, userId });
  expect(res.ltik).toBeDefined();
  return { browser, ltik: res.ltik! };
}

/** Writes one change of learner 4's record in LTI101, as the review routes would (with its audit row). */
async function write(author: ReviewAuthor, change: ReviewChange) {
  await reviews.write('4', author, change);
}

async function packetAudits(actor: string): Promise<number> {
  const moodle = stack.lms.platforms.moodle;
  const page = await createAuditLog(stack.tool.store.db).list({
    limit: 100,
    subject: '4',
    actor,
    action: 'export.case_packet',
    platformIss: moodle.issuer,
    platformClientId: moodle.clientId,
  });
  return page.total;
}

beforeAll(async () => {
  const world = buildWorld();
  const bidi = world.platforms.find((p) => p.kind === 'moodle')!.people.find((p) => p.lmsUserId === BIDI_LEARNER)!;
  Object.assign(bidi, { name: BIDI_NAME, givenName: 'مريم', familyName: '\u202Egnp.exe' });
  stack = await testStack('packet', { world });
  reviews = reviewSeeder(stack, 'moodle', '2');
  const sessions = stack.simulator.dataset.sessionsForUser('4');
  sessionA = sessions[0]!.id;
  sessionB = sessions[1]!.id;
  await write(TINA, { status: { to: 'in_review', reason: null } });
  await write(TINA, { note: { body: HOSTILE_NOTE, correctsId: null } });
  await write(TINA, { mark: { sessionId: sessionA, mark: 'concern', note: 'Paste burst at the start of the quiz' } });
  await write(TERRY, { mark: { sessionId: sessionA, mark: 'no_concern', note: 'Explained: a dictation tool' } });
  await write(TERRY, { mark: { sessionId: sessionB, mark: 'no_concern', note: null } });
  const first = (await reviews.store.read(reviews.keyOf('4'))).notes[0]!;
  await write(TERRY, { note: { body: 'Correction: it was quiz 4, not quiz 3', correctsId: first.id } });
  await write(TERRY, { status: { to: 'concern', reason: 'Paste bursts in two quizzes' } });
  teacher = await launch('moodle', '2', '3');
});
afterAll(async () => {
  await stack?.stop();
});

/** Text as read: without the space textOf leaves where a tag closed before punctuation. */
const tidy = (text: string) => text.replace(/ ([:,.;)])/g, '$1');

/** The text of the packet's section marked data-testid=…. */
function section(html: string, testId: string): string {
  const m = new RegExp(`<section[^>]*data-testid="${testId}"[^>]*>([\\s\\S]*?)</section>`).exec(html);
  return tidy(textOf(m?.[1] ?? ''));
}

test('the teacher’s packet holds the learner, the risk summary, the sessions with their marks, the review and the viewer log', async () => {
  // The teacher looked at the learner before: the viewer log must say so.
  const learnerPage = await teacher.browser.get(at('/learners/4', teacher.ltik));
  expect(learnerPage.status).toBe(200);
  expect(learnerPage.html).toContain('data-testid="packet-link"');
  expect(learnerPage.html).toContain('/learners/4/packet?');

  const res = await teacher.browser.get(at('/learners/4/packet', teacher.ltik));
  expect(res.status).toBe(200);
  const html = res.html;
  // No script but the layout's own (Canvas's frame resize, views/assets/frame-resize.js).
  expect(html.match(/<script[^>]*>/gi)).toEqual(['<script src="/assets/frame-resize.js">']);
  expect(textOf(html)).toContain('Print it or save it as PDF with your browser’s Print command');

  const learner = section(html, 'packet-learner');
  expect(learner).toContain('Sam Student');
  expect(learner).toContain('LMS user id 4');
  expect(learner).toContain('student1@example.edu');
  expect(learner).toContain('LTI Harness Course (LTI101)');
  expect(learner).toContain('Every session read');

  const risk = section(html, 'packet-risk');
  expect(risk).toMatch(/Highest level: . (High|Elevated|Low|No sessions)/);
  expect(risk).toContain('Why:');

  // Every session of the learner, newest first, each with its newest mark and the earlier ones.
  const all = stack.simulator.dataset.sessionsForUser('4');
  const rows = [...html.matchAll(/<tr data-session-id="([^"]+)">/g)].map((m) => m[1]);
  expect(rows).toEqual(all.map((s) => s.id));
  const byId = new Map(tableRows(html, 'packet-sessions-table').map((cells, i) => [rows[i], cells.map(tidy)]));
  const markA = byId.get(sessionA)![6]!;
  expect(markA).toMatch(
    /^No concern by Terry Assistant \(Teaching assistant\), .+ UTC Explained: a dictation tool Earlier marks: Concern by Tina Teacher \(Instructor\), .+ UTC: Paste burst at the start of the quiz$/,
  );
  expect(byId.get(sessionB)![6]).toMatch(/^No concern by Terry Assistant \(Teaching assistant\), .+ UTC$/);
  // Signals: each code with its description.
  for (const s of all) {
    const cell = byId.get(s.id)![5]!;
    if (s.detectionFlags.length === 0) expect(cell).toBe('none');
    for (const f of s.detectionFlags) expect(cell).toContain(describeFlag(f) ? `${f} ${describeFlag(f)}` : f);
  }

  const review = section(html, 'packet-review');
  expect(review).toContain('Current status: Concern');
  expect(tableRows(html, 'packet-history')).toEqual([
    [expect.stringMatching(/UTC$/), 'Tina Teacher (3)', 'Instructor', 'Not yet reviewed → In review', 'none given'],
    [expect.stringMatching(/UTC$/), 'Terry Assistant (77)', 'Teaching assistant', 'In review → Concern', 'Paste bursts in two quizzes'],
  ]);
  // Notes, the hostile one escaped and kept on two lines; the correction says what it corrects.
  expect(html).toContain('Pasted answers in quiz 3 &lt;script&gt;alert(1)&lt;/script&gt;<br>Second line of the note');
  expect(review).toMatch(
    /Note 1, by Tina Teacher \(Instructor\), .+ UTC Pasted answers in quiz 3 <script>alert\(1\)<\/script> Second line of the note Corrected by note 2\./,
  );
  expect(review).toMatch(
    /Note 2 — correction of note 1, by Terry Assistant \(Teaching assistant\), .+ UTC Correction: it was quiz 4, not quiz 3/,
  );

  // The viewer log: this packet's own generation first, then the teacher's earlier view of the learner page, then the review writes.
  const log = tableRows(html, 'packet-viewer-log');
  expect(log[0]).toEqual([
    expect.stringMatching(/UTC$/),
    '3',
    'Instructor or teaching assistant',
    'Generated this learner’s case packet',
    'this course (2)',
  ]);
  expect(log[1]).toEqual([
    expect.stringMatching(/UTC$/),
    '3',
    'Instructor or teaching assistant',
    'Opened the learner’s page',
    'this course (2)',
  ]);
  expect(log.map((r) => r[3])).toEqual(
    expect.arrayContaining(['Added a review note about the learner', 'Changed the learner’s review status']),
  );
  expect(log.filter((r) => r[3] === 'Marked one of the learner’s sessions')).toHaveLength(3);
  expect(section(html, 'packet-viewers')).toContain(`${log.length} entries.`);

  expect(section(html, 'packet-generated')).toMatch(/^About this packet Generated .+ UTC by Tina Teacher \(Instructor, LMS user id 3\)\./);
});

test('generating the packet writes its audit row (export.case_packet, subject: the learner) each time', async () => {
  const before = await packetAudits('3');
  const res = await teacher.browser.get(at('/learners/4/packet', teacher.ltik));
  expect(res.status).toBe(200);
  expect(await packetAudits('3')).toBe(before + 1);
  const moodle = stack.lms.platforms.moodle;
  const [row] = (
    await createAuditLog(stack.tool.store.db).list({
      limit: 1,
      subject: '4',
      action: 'export.case_packet',
      platformIss: moodle.issuer,
      platformClientId: moodle.clientId,
    })
  ).items;
  expect(row).toMatchObject({ actorUserId: '3', actorRole: 'instructor', subjectUserId: '4', contextId: '2' });
});

test('a window covers only its sessions; a mark outside it is counted, not listed', async () => {
  const a = stack.simulator.dataset.session(sessionA)!;
  const res = await teacher.browser.get(at(`/learners/4/packet?created_after=${a.createdAt}&created_before=${a.createdAt}`, teacher.ltik));
  expect(res.status).toBe(200);
  const rows = [...res.html.matchAll(/<tr data-session-id="([^"]+)">/g)].map((m) => m[1]);
  expect(rows).toContain(sessionA);
  expect(rows).not.toContain(sessionB);
  expect(section(res.html, 'packet-learner')).toMatch(/Sessions covered From .+ UTC to .+ UTC/);
  expect(section(res.html, 'packet-sessions')).toContain('1 marked session is outside the dates covered, not listed here.');
});

test('an invalid window is a 422 page that shows nothing of the learner and audits nothing', async () => {
  const before = await packetAudits('3');
  for (const query of ['created_after=yesterday', 'created_after=2026-11-20&created_before=2026-11-01', 'created_before=2026-02-30']) {
    const res = await teacher.browser.get(at(`/learners/4/packet?${query}`, teacher.ltik));
    expect(res.status).toBe(422);
    expect(res.html).toContain('data-testid="list-errors"');
    expect(res.html).toContain('aria-invalid="true"');
    expect(res.html).not.toContain(sessionA);
    expect(res.html).not.toContain('Pasted answers');
  }
  expect(await packetAudits('3')).toBe(before);
});

test('a student gets 403, on their own packet too, and sees no packet link', async () => {
  const student = await launch('moodle', '2', '4');
  const own = await student.browser.get(at('/learners/4/packet', student.ltik));
  expect(own.status).toBe(403);
  expect(own.html).not.toContain('Pasted answers');
  const other = await student.browser.get(at('/learners/5/packet', student.ltik));
  expect(other.status).toBe(403);
  const page = await student.browser.get(at('/learners/4', student.ltik));
  expect(page.html).not.toContain('packet-link');
  expect(await packetAudits('4')).toBe(0);
});

test('another course’s instructor gets 403', async () => {
  const hist = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === '3')!;
  const histTeacher = hist.members.find((m) => m.role === 'instructor')!.person.lmsUserId;
  const other = await launch('moodle', '3', histTeacher);
  const res = await other.browser.get(at('/learners/4/packet', other.ltik));
  expect(res.status).toBe(403);
  expect(res.html).not.toContain('Pasted answers');
  expect(res.html).not.toContain(sessionA);
  expect(await packetAudits(histTeacher)).toBe(0);
});

test('an admin gets the packet of any learner; a TA gets their course’s, signed as a TA', async () => {
  const admin = await launch('moodle', '2', '2');
  const res = await admin.browser.get(at('/learners/4/packet', admin.ltik));
  expect(res.status).toBe(200);
  expect(res.html).toContain('Correction: it was quiz 4, not quiz 3');
  expect(section(res.html, 'packet-generated')).toMatch(/by Admin User \(Administrator, LMS user id 2\)/);

  const canvas = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses.find((c) => c.id === '101')!;
  const learner = canvas.members.find(
    (m) => m.role === 'learner' && stack.simulator.dataset.sessionsForUser(m.person.lmsUserId).length > 0,
  )!.person.lmsUserId;
  const ta = await launch('canvas', '101', '20002');
  const taRes = await ta.browser.get(at(`/learners/${learner}/packet`, ta.ltik));
  expect(taRes.status).toBe(200);
  expect(section(taRes.html, 'packet-review')).toContain('Current status: Not yet reviewed');
  const marks = tableRows(taRes.html, 'packet-sessions-table').map((cells) => cells[6]);
  expect(marks.length).toBe(stack.simulator.dataset.sessionsForUser(learner).length);
  expect(new Set(marks)).toEqual(new Set(['Not marked']));
  expect(section(taRes.html, 'packet-generated')).toMatch(/\(Teaching assistant, LMS user id 20002\)/);
});

test('a viewer log longer than 1,000 entries lists the newest 1,000 and says how many are left out', async () => {
  const moodle = stack.lms.platforms.moodle;
  const start = Date.now() - 30 * 24 * 3600 * 1000;
  await stack.tool.store.db
    .insertInto('audit_log')
    .values(
      Array.from({ length: 1005 }, (_, i) => ({
        at: new Date(start + i * 60_000),
        platform_iss: moodle.issuer,
        platform_client_id: moodle.clientId,
        actor_user_id: '3',
        actor_role: 'instructor',
        subject_user_id: '5',
        subject_user_ids: null,
        action: 'view.learner',
        context_id: '2',
        resource_id: null,
        request_id: null,
      })),
    )
    .execute();
  const res = await teacher.browser.get(at('/learners/5/packet', teacher.ltik));
  expect(res.status).toBe(200);
  const log = tableRows(res.html, 'packet-viewer-log');
  expect(log).toHaveLength(1000);
  expect(log[0]![3]).toBe('Generated this learner’s case packet');
  expect(section(res.html, 'packet-viewers')).toContain('The newest 1,000 of 1,006 entries are listed; 6 older entries are not.');
});

test('the viewer log of a course’s staff holds the views from that course only; an admin’s, those from the whole LMS', async () => {
  const moodle = stack.world.platforms.find((p) => p.kind === 'moodle')!;
  const hist = moodle.courses.find((c) => c.id === '3')!;
  const lti101 = new Set(
    moodle.courses
      .find((c) => c.id === '2')!
      .members.filter((m) => m.role === 'learner')
      .map((m) => m.person.lmsUserId),
  );
  // A learner of both LTI101 and HIST210, whom HIST210's instructor opens from their own course.
  const shared = hist.members.find((m) => m.role === 'learner' && lti101.has(m.person.lmsUserId))!.person.lmsUserId;
  const histTeacher = hist.members.find((m) => m.role === 'instructor')!.person.lmsUserId;
  const other = await launch('moodle', '3', histTeacher);
  expect((await other.browser.get(at(`/learners/${shared}`, other.ltik))).status).toBe(200);
  const byHist = (rows: string[][]) => rows.filter((r) => r[1] === histTeacher);

  // LTI101's teacher: neither HIST210's staff nor what they did there.
  const mine = await teacher.browser.get(at(`/learners/${shared}/packet`, teacher.ltik));
  expect(mine.status).toBe(200);
  const mineRows = tableRows(mine.html, 'packet-viewer-log');
  expect(byHist(mineRows)).toEqual([]);
  expect(new Set(mineRows.map((r) => r[4]))).toEqual(new Set(['this course (2)']));
  expect(section(mine.html, 'packet-viewers')).toMatch(
    /^Viewer log Views from this course: who opened this learner’s data from this course/,
  );

  // An admin (launched from LTI101 too) sees every course of this LMS, HIST210's view included.
  const admin = await launch('moodle', '2', '2');
  const theirs = await admin.browser.get(at(`/learners/${shared}/packet`, admin.ltik));
  expect(theirs.status).toBe(200);
  expect(byHist(tableRows(theirs.html, 'packet-viewer-log'))).toEqual([
    [expect.stringMatching(/UTC$/), histTeacher, 'Instructor or teaching assistant', 'Opened the learner’s page', '3'],
  ]);
  expect(section(theirs.html, 'packet-viewers')).toMatch(
    /^Viewer log Views across this LMS: who opened this learner’s data from any course/,
  );
});

test('names, notes, reasons and marks sit in their own direction, so right-to-left text and overrides cannot turn the page', async () => {
  const learner = BIDI_LEARNER;
  const session = stack.simulator.dataset.sessionsForUser(learner)[0]!.id;
  await reviews.write(learner, BIDI_AUTHOR, {
    status: { to: 'concern', reason: 'سبب \u202Ersn.exe' },
    note: { body: 'ملاحظة \u202Enote.exe\nسطر ثان', correctsId: null },
  });
  await reviews.write(learner, BIDI_AUTHOR, { mark: { sessionId: session, mark: 'concern', note: 'علامة \u202Emrk.exe' } });
  const res = await teacher.browser.get(at(`/learners/${learner}/packet`, teacher.ltik));
  expect(res.status).toBe(200);
  // The learner's name, the author's, the reason, the note and the mark's note: each shown, each in its own direction.
  for (const needle of ['gnp.exe', 'fdp.exe', 'rsn.exe', 'note.exe', 'mrk.exe', 'سطر ثان']) {
    const { shown, problems } = unisolated(res.html, needle);
    expect({ needle, shown: shown > 0, problems }).toEqual({ needle, shown: true, problems: [] });
  }
  // The roster's row of the learner: the name there is in its own direction too.
  const roster = await teacher.browser.get(at('/course?limit=500', teacher.ltik));
  const row = new RegExp(`<tr data-user-id="${learner}">[\\s\\S]*?</tr>`).exec(roster.html)?.[0] ?? '';
  expect(unisolated(`<main>${row}</main>`, 'fdp.exe')).toEqual({ shown: 1, problems: [] });
});
