/**
 * The demo's review records (docs/product.md "Review"): a few learners of the Moodle course LTI101 already reviewed by its
 * teacher, so the roster's triage line, the review column, the learner's history and the case packet show something on
 * the first launch. Written through the real store (each write with its audit row), once: a database that already holds a
 * record for that course is left as it is.
 */
import { learnerRiskSummary, DEFAULT_THRESHOLDS } from '../risk';
import { createReviewStore, type ReviewAuthor, type ReviewWrite } from '../store';
import type { Store } from '../store';
import type { DemoWorld } from './people';
import type { PlatformRegistration } from './lms/emulator';
import { ROLE } from './lms/claims';
import type { SimDataset } from './simulator/dataset';

const COURSE_ID = '2';
const TEACHER_ID = '3';
const DAY_MS = 24 * 3600 * 1000;

/** Seeds the records; returns how many learners got one (0 when the course already had some). */
export async function seedDemoReviews(
  store: Store,
  world: DemoWorld,
  moodle: PlatformRegistration,
  dataset: SimDataset,
  now = new Date(),
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
