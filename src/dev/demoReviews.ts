/**
 * The demo's review records (docs/product.md "Review"): a few learners of the Moodle course LTI101 already reviewed by its
 * teacher, so the roster's triage line, the review column, the learner's history and the case packet show something on
 * the first launch. Written through the real store (each write with its audit row), once: a database that already holds a
 * record for that course is left as it is.
 *
 * And the student's side (docs/product.md "Student responses", "Accommodations"): one learner of LTI101 has answered one
 * of their flagged sessions (Sam Student, whom a demo student launch lands as, when he has a flagged session; otherwise the
 * first learner of the course's list who has one that typing or pasting signals raised), and another has an accommodation
 * recorded by the teacher that explains every signal of some of their high sessions. Each is written once, through the
 * real stores with its audit row: a learner who already has a response, or an accommodation in LTI101, is left as it is.
 */
import {
  accommodatedSessionLevel,
  accommodatedSignals,
  accommodationKind,
  learnerRiskSummary,
  DEFAULT_THRESHOLDS,
  sessionRiskLevel,
} from '../risk';
import { createAccommodationStore, createResponseStore, createReviewStore, type ReviewAuthor, type ReviewWrite } from '../store';
import type { Store } from '../store';
import type { DemoWorld } from './people';
import type { PlatformRegistration } from './lms/emulator';
import { ROLE } from './lms/claims';
import type { SimDataset } from './simulator/dataset';

const COURSE_ID = '2';
const TEACHER_ID = '3';
/** The learner a demo student launch lands as (the LMS page lists him first). */
const DEMO_STUDENT_ID = '4';
const DAY_MS = 24 * 3600 * 1000;

/**
 * Seeds the records, then the student's side (seedDemoStudentSide); returns how many learners got a review record (0 when
 * the course already had some).
 */
export async function seedDemoReviews(
  store: Store,
  world: DemoWorld,
  moodle: PlatformRegistration,
  dataset: SimDataset,
  now = new Date(),
): Promise<number> {
  const seeded = await seedReviewRecords(store, world, moodle, dataset, now);
  await seedDemoStudentSide(store, world, moodle, dataset, now);
  return seeded;
}

async function seedReviewRecords(
  store: Store,
  world: DemoWorld,
  moodle: PlatformRegistration,
  dataset: SimDataset,
  now: Date,
): Promise<number> {
  const reviews = createReviewStore(store.db);
  const course = { platformIss: moodle.issuer, platformClientId: moodle.clientId, deploymentId: moodle.deploymentId, contextId: COURSE_ID };
  if ((await reviews.courseLines(course)).size > 0) return 0;
  const platform = world.platforms.find((p) => p.kind === 'moodle');
  const lti101 = platform?.courses.find((c) => c.id === COURSE_ID);
  const teacher = platform?.people.find((p) => p.lmsUserId === TEACHER_ID);
  if (!lti101 || !teacher) return 0;
  const author: ReviewAuthor = {
    lmsUserId: teacher.lmsUserId,
    name: teacher.name,
    roles: [ROLE.membershipInstructor],
    audience: 'instructor',
  };

  // The riskiest learners first, as a teacher working down the queue would have met them.
  const ranked = lti101.members
    .filter((m) => m.role === 'learner')
    .map((m) => ({ id: m.person.lmsUserId, sessions: dataset.sessionsForUser(m.person.lmsUserId) }))
    .map((l) => ({ ...l, summary: learnerRiskSummary(l.sessions, { thresholds: DEFAULT_THRESHOLDS }) }))
    .filter((l) => l.summary.level === 'high' || l.summary.level === 'elevated')
    .sort((a, b) => (b.summary.maxScore ?? 0) - (a.summary.maxScore ?? 0));
  const plans: Array<
    (userId: string, sessionId: string | undefined) => Array<Omit<ReviewWrite, 'key' | 'author' | 'expectedVersion' | 'audit'>>
  > = [
    (_u, s) => [
      { status: { to: 'concern', reason: 'Typing cadence flagged in three quizzes in a row; asked the student to come to office hours.' } },
      ...(s
        ? [{ mark: { sessionId: s, mark: 'concern' as const, note: 'Answers pasted in one burst 40 seconds after opening the quiz.' } }]
        : []),
      { note: { body: 'Student came to office hours and says they draft answers in a text editor first.', correctsId: null } },
    ],
    () => [{ status: { to: 'referred', reason: 'Referred to the academic conduct office (case 2026-114) after a concern in week 6.' } }],
    (_u, s) => [
      { status: { to: 'in_review', reason: null } },
      ...(s
        ? [{ mark: { sessionId: s, mark: 'no_concern' as const, note: 'Screen reader in use; no pointer movement is expected.' } }]
        : []),
    ],
    () => [{ status: { to: 'no_concern', reason: 'Dictation software, documented with the accessibility office.' } }],
    () => [{ note: { body: 'Worth a look after the midterm: scores rose sharply in week 9.', correctsId: null } }],
  ];
  let seeded = 0;
  for (const [i, plan] of plans.entries()) {
    const learner = ranked[i];
    if (!learner) break;
    const key = { ...course, userId: learner.id };
    const writes = plan(learner.id, learner.sessions[0]?.id);
    let version = 0;
    for (const [j, w] of writes.entries()) {
      const at = new Date(now.getTime() - (plans.length - i) * DAY_MS + j * 3600 * 1000);
      const audit = {
        platformIss: course.platformIss,
        platformClientId: course.platformClientId,
        actorUserId: author.lmsUserId,
        actorRole: author.audience,
        action: w.mark ? 'review.session_mark' : w.status ? 'review.status' : 'review.note',
        contextId: COURSE_ID,
        subjectUserId: learner.id,
        // As src/web/review.ts names them: the record's new version, and a mark's session.
        resourceId: `review v${version + 1}${w.mark ? ` session ${w.mark.sessionId}` : ''}`,
      };
      const result = await reviews.write({ ...w, key, author, expectedVersion: version, audit, at });
      if (result.outcome !== 'written') throw new Error(`seeding the demo's reviews: ${result.outcome}`);
      version = result.version;
    }
    seeded++;
  }
  return seeded;
}

/** The signals a student's own words below explain: dictation typing and the blocks it pastes. */
const DICTATION_SIGNALS = ['superhuman_typing_cadence', 'paste_burst'];

/** The accommodations a teacher records for a learner whose high sessions those signals raised, and what the teacher wrote. */
const RECORDED: ReadonlyArray<{ kind: string; detail: string }> = [
  { kind: 'keyboard_only', detail: 'Documented with the accessibility office: uses the keyboard only (no mouse) in every assessment.' },
  { kind: 'dictation', detail: 'Documented with the accessibility office: dictation software for all written work.' },
  { kind: 'screen_reader', detail: 'Documented with the accessibility office: uses a screen reader.' },
];

/**
 * One learner's response to a flagged session, and another's accommodation (see the file's comment); each only when the
 * learner has none yet. Returns what was written.
 */
export async function seedDemoStudentSide(
  store: Store,
  world: DemoWorld,
  moodle: PlatformRegistration,
  dataset: SimDataset,
  now = new Date(),
): Promise<{ response: string | null; accommodation: string | null }> {
  const platform = world.platforms.find((p) => p.kind === 'moodle');
  const lti101 = platform?.courses.find((c) => c.id === COURSE_ID);
  const teacher = platform?.people.find((p) => p.lmsUserId === TEACHER_ID);
  const written: { response: string | null; accommodation: string | null } = { response: null, accommodation: null };
  if (!lti101 || !teacher) return written;
  const reg = { platformIss: moodle.issuer, platformClientId: moodle.clientId };
  const learners = lti101.members.filter((m) => m.role === 'learner').map((m) => m.person);
  const flagged = (id: string) =>
    dataset
      .sessionsForUser(id)
      .filter((s) => s.detectionFlags.some((f) => DICTATION_SIGNALS.includes(f)))
      .sort((a, b) => b.botScore - a.botScore)[0];

  // The response: the demo student's, else the first learner listed who has a session such signals raised.
  const writer = [...learners.filter((p) => p.lmsUserId === DEMO_STUDENT_ID), ...learners].find((p) => flagged(p.lmsUserId));
  const responses = createResponseStore(store.db);
  if (writer && (await responses.forLearner({ ...reg, userId: writer.lmsUserId })).length === 0) {
    const session = flagged(writer.lmsUserId)!;
    const result = await responses.write({
      key: { ...reg, userId: writer.lmsUserId },
      sessionId: session.id,
      body: 'I use dictation software because of a wrist injury; the pasted blocks are from it.',
      author: { lmsUserId: writer.lmsUserId, name: writer.name },
      deploymentId: moodle.deploymentId,
      contextId: COURSE_ID,
      audit: {
        ...reg,
        actorUserId: writer.lmsUserId,
        actorRole: 'student',
        action: 'response.write',
        contextId: COURSE_ID,
        subjectUserId: writer.lmsUserId,
      },
      at: new Date(now.getTime() - 2 * DAY_MS),
    });
    if (result.outcome === 'written') written.response = writer.lmsUserId;
  }

  // The accommodation: a learner (not the writer) whose own level one of RECORDED lowers, if any, else the one with the most
  // sessions (high ones first) it explains entirely.
  const candidates = learners
    .filter((p) => p.lmsUserId !== writer?.lmsUserId)
    .flatMap((p) =>
      RECORDED.map((r) => {
        const signals = accommodatedSignals([r.kind]);
        const sessions = dataset.sessionsForUser(p.lmsUserId);
        // Sessions it lowers (every signal explained), high ones counting first.
        const lowered = sessions.filter(
          (s) => accommodatedSessionLevel(s, DEFAULT_THRESHOLDS, signals).level !== sessionRiskLevel(s.botScore, DEFAULT_THRESHOLDS),
        );
        const explained = lowered.length + lowered.filter((s) => sessionRiskLevel(s.botScore, DEFAULT_THRESHOLDS) === 'high').length;
        // Whether it changes the learner's own level, so the pages show "Low (High without the accommodated signals)".
        const lowers =
          learnerRiskSummary(sessions, { thresholds: DEFAULT_THRESHOLDS, accommodated: signals }).levelWithoutAccommodations !== null;
        return { person: p, recorded: r, explained, lowers, maxScore: Math.max(0, ...sessions.map((s) => s.botScore)) };
      }),
    )
    .filter((c) => c.explained > 0 && accommodationKind(c.recorded.kind))
    .sort((a, b) => Number(b.lowers) - Number(a.lowers) || b.explained - a.explained || b.maxScore - a.maxScore);
  const chosen = candidates[0];
  if (chosen) {
    const accommodations = createAccommodationStore(store.db);
    const course = { deploymentId: moodle.deploymentId, contextId: COURSE_ID };
    const sets = await accommodations.forLearner({ ...reg, userId: chosen.person.lmsUserId }, course);
    if (sets.course.version === 0) {
      const result = await accommodations.change({
        scope: { ...reg, userId: chosen.person.lmsUserId, course },
        author: { lmsUserId: teacher.lmsUserId, name: teacher.name, roles: [ROLE.membershipInstructor], audience: 'instructor' },
        expectedVersion: 0,
        add: { kind: chosen.recorded.kind, detail: chosen.recorded.detail },
        audit: {
          ...reg,
          actorUserId: teacher.lmsUserId,
          actorRole: 'instructor',
          action: 'accommodation.add',
          contextId: COURSE_ID,
          subjectUserId: chosen.person.lmsUserId,
          // As src/web/accommodations.ts names it: the scope and the set's new version; the detail says where it applies.
          resourceId: 'accommodations course v1',
          detail: { scope: 'course' },
        },
        at: new Date(now.getTime() - 10 * DAY_MS),
      });
      if (result.outcome === 'written') written.accommodation = chosen.person.lmsUserId;
    }
  }
  return written;
}
