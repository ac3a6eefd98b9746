/**
 * Students' responses as the course's staff see them (docs/product.md "Student responses"): beside the flags on the
 * learner and session pages, in the case packet, in `review.json`, in the staff's session exports, and as "N new
 * responses" on the roster. A student writes them to their own sessions (src/store/responses.ts); this file never
 * writes one, and nothing here is for the student (their own responses are shown on their own pages).
 *
 * "New" is per course: a response is new to a course's staff while its id is after the newest one that course's staff had
 * seen when one of them last opened the learner's page (`response_seen`). Opening the learner page is the only thing that
 * moves that marker (learnerResponsesView); the session page, the packet, the exports and the JSON only read it. A staff
 * launch from outside a course has no course to have seen anything: it reads every response, marks none new, and moves
 * nothing.
 *
 * The text is the student's, an untrusted party's: the pages show it escaped by the templates, without bidirectional
 * controls (displayText, as upstream text), in a block of its own direction (`dir="auto"`) that wraps however long its
 * words are; the CSV defuses formulas (src/web/lists/csv.ts); the JSON carries it exactly as stored.
 */
import type { SeenKey, StudentResponse } from '../store/responses';
import type { CourseKey } from '../store/review';
import { registerCourseOf } from './accommodationContext';
import { hrefWithLtik, learnerInRegistration, type Actor } from './actor';
import { clip, displayText, formatDateTime } from './format';
import type { CsvColumn } from './lists';
import type { StudentResponses } from './ports';
import { courseKeyOf } from './reviewAccess';

/** What the staff's views of responses read with (src/app.ts hands it in with the other page deps). */
export interface StaffResponseDeps {
  responses: StudentResponses;
}

/** The learner's responses as a staff member reads them: oldest first, and what their course's staff had seen. */
export interface StaffResponses {
  all: StudentResponse[];
  /** The newest response id the launch course's staff had seen ('0': none); null for a launch from outside a course. */
  seenThrough: string | null;
}

/**
 * The staff's launch course, keyed as their review records are (src/web/reviewAccess.ts), as `newCounts` takes it; null
 * for a launch from outside a course, which has seen nothing and marks nothing.
 */
function courseOf(actor: Actor): CourseKey | null {
  return registerCourseOf(actor) ? courseKeyOf(actor) : null;
}

/** The launch course's seen marker for the learner; null for a launch from outside a course (nothing to mark). */
export function seenKeyOf(actor: Actor, userId: string): SeenKey | null {
  const course = courseOf(actor);
  return course && { ...course, userId };
}

/** Ids are PostgreSQL bigints, sent as decimal strings: compared as numbers, never as text ("9" < "10"). */
function after(id: string, seenThrough: string): boolean {
  try {
    return BigInt(id) > BigInt(seenThrough);
  } catch {
    return false;
  }
}

/** Whether the launch course's staff had not seen the response (never, from outside a course). */
export function isNewResponse(r: StudentResponse, read: StaffResponses): boolean {
  return read.seenThrough !== null && after(r.id, read.seenThrough);
}

/** Staff only (null for a student): every response of the learner, and what the launch course's staff had seen of them. */
export async function readStaffResponses(deps: StaffResponseDeps, actor: Actor, userId: string): Promise<StaffResponses | null> {
  if (actor.audience === 'student') return null;
  const key = seenKeyOf(actor, userId);
  const [all, seenThrough] = await Promise.all([
    deps.responses.forLearner(learnerInRegistration(actor, userId)),
    key ? deps.responses.seenThrough(key) : Promise.resolve(null),
  ]);
  return { all, seenThrough };
}

/** "1 new response", "3 new responses". */
export function newResponsesText(n: number): string {
  return `${n.toLocaleString('en-GB')} new ${n === 1 ? 'response' : 'responses'}`;
}

const responsesText = (n: number) => `${n.toLocaleString('en-GB')} ${n === 1 ? 'response' : 'responses'}`;

/** The text as a page shows it: the templates escape it; bidirectional controls are dropped, as from upstream text. */
const shown = (body: string) => displayText(body);

/** Who wrote it and when, for a page (`<time datetime>`, `<bdi>` for the name). */
function metaOf(r: StudentResponse) {
  return {
    id: r.id,
    at: formatDateTime(r.at),
    iso: r.at.toISOString(),
    by: clip(r.author.name, 120),
    byId: clip(r.author.lmsUserId, 80),
  };
}

const sessionPath = (userId: string, sessionId: string) =>
  `/learners/${encodeURIComponent(userId)}/sessions/${encodeURIComponent(sessionId)}`;

/** One response for views/partials/student-responses.hbs. */
function itemView(r: StudentResponse, read: StaffResponses, link: ((sessionId: string) => string) | null) {
  return {
    ...metaOf(r),
    isNew: isNewResponse(r, read),
    sessionId: clip(r.sessionId, 80),
    sessionHref: link ? link(r.sessionId) : null,
    body: shown(r.body),
  };
}

/** The partial's frame: the count of new ones in words, and why nothing is new from outside a course. */
function sectionView(read: StaffResponses, items: ReturnType<typeof itemView>[], empty: string) {
  const fresh = items.filter((i) => i.isNew).length;
  return {
    items,
    total: items.length,
    newCount: fresh,
    newText: fresh > 0 ? `${newResponsesText(fresh)} since this course’s staff last opened the learner` : null,
    noCourse:
      read.seenThrough === null
        ? 'Responses are marked new for each course’s staff; this launch did not come from a course, so none is marked.'
        : null,
    empty,
  };
}

/**
 * The learner page's "Student responses" (staff only; null for a student), and its sessions table's count per session
 * (`bySession`). Newest first: staff open the learner to read what was written since they last looked, and each entry
 * names and links its session (the session page groups them by session).
 *
 * Opening the page is what makes them seen for the launch course: the marker is read first (so the page still shows
 * which ones were new to this viewer), then moved to the newest response. From outside a course nothing is marked.
 */
export async function learnerResponsesView(deps: StaffResponseDeps, actor: Actor, userId: string, queue: string | null) {
  const read = await readStaffResponses(deps, actor, userId);
  if (!read) return null;
  const key = seenKeyOf(actor, userId);
  const newest = read.all.at(-1);
  if (key && newest && read.seenThrough !== null && after(newest.id, read.seenThrough)) await deps.responses.markSeen(key, newest.id);
  const link = (sessionId: string) => `${hrefWithLtik(sessionPath(userId, sessionId), actor.ltik, { queue })}#student-responses`;
  const items = [...read.all].reverse().map((r) => itemView(r, read, link));
  const bySession = new Map<string, { count: number; fresh: number }>();
  for (const r of read.all) {
    const c = bySession.get(r.sessionId) ?? { count: 0, fresh: 0 };
    bySession.set(r.sessionId, { count: c.count + 1, fresh: c.fresh + (isNewResponse(r, read) ? 1 : 0) });
  }
  return {
    ...sectionView(read, items, 'The learner has not written a response to any of their sessions.'),
    heading: 'Student responses',
    intro: 'What the learner wrote about their sessions, newest first. A response is the learner’s account, not a finding.',
    showSession: true,
    /** By session id, for the sessions table: "1 response", "2 responses (1 new)". */
    bySession: Object.fromEntries(
      [...bySession].map(([id, c]) => [
        id,
        { text: responsesText(c.count), fresh: c.fresh > 0 ? `${c.fresh.toLocaleString('en-GB')} new` : null, href: link(id) },
      ]),
    ),
  };
}

/** The session page's responses to this session, oldest first, beside its flags (staff only; null for a student). Marks nothing seen. */
export async function sessionResponsesView(deps: StaffResponseDeps, actor: Actor, userId: string, sessionId: string) {
  const read = await readStaffResponses(deps, actor, userId);
  if (!read) return null;
  const items = read.all.filter((r) => r.sessionId === sessionId).map((r) => itemView(r, read, null));
  return {
    ...sectionView(read, items, 'The learner has not written a response to this session.'),
    heading: 'Student responses',
    intro: 'What the learner wrote about this session, oldest first. A response is the learner’s account, not a finding.',
    showSession: false,
    bySession: null,
  };
}

/** One response in JSON (`review.json`, the session exports): exact text, ISO time, its author, and whether it is new. */
export function responseJson(r: StudentResponse, read: StaffResponses) {
  return {
    id: r.id,
    sessionId: r.sessionId,
    at: r.at.toISOString(),
    body: r.body,
    author: { name: r.author.name, lmsUserId: r.author.lmsUserId },
    new: isNewResponse(r, read),
  };
}

/** `review.json`'s `responses`: every response of the learner, oldest first. */
export function responsesJson(read: StaffResponses) {
  return read.all.map((r) => responseJson(r, read));
}

/** The responses of each session, oldest first. */
export function responsesBySession(read: StaffResponses): Map<string, StudentResponse[]> {
  const by = new Map<string, StudentResponse[]>();
  for (const r of read.all) by.set(r.sessionId, [...(by.get(r.sessionId) ?? []), r]);
  return by;
}

/** The staff's session CSV: three columns after the review marks (docs/lists.md). */
export function responseCsvColumns(read: StaffResponses): Array<CsvColumn<{ id: string }>> {
  const by = responsesBySession(read);
  return [
    { header: 'student_response_count', value: (s) => by.get(s.id)?.length ?? 0 },
    { header: 'latest_student_response', value: (s) => by.get(s.id)?.at(-1)?.body },
    { header: 'latest_student_response_at', value: (s) => by.get(s.id)?.at(-1)?.at.toISOString() },
  ];
}

/** The staff's session JSON: each session's `studentResponses`, oldest first. */
export function sessionResponsesJson(read: StaffResponses, sessionId: string) {
  return (responsesBySession(read).get(sessionId) ?? []).map((r) => responseJson(r, read));
}

/** Text as lines for the packet, each escaped by the template (the packet keeps line breaks with `<br>`, as for notes). */
const lines = (body: string) => shown(body).split('\n');

/**
 * The case packet's responses (staff only): each session's own (`bySession`, for its row in the sessions table) and every
 * response of the learner, oldest first (the packet is read as a history), each saying whether its session is among the
 * sessions the packet covers. The packet shows no "new": it is a record, not the work queue.
 */
export function packetResponses(read: StaffResponses, covered: ReadonlySet<string>) {
  const view = (r: StudentResponse) => ({
    ...metaOf(r),
    sessionId: clip(r.sessionId, 80),
    body: lines(r.body),
    covered: covered.has(r.sessionId),
  });
  const bySession = new Map<string, ReturnType<typeof view>[]>();
  for (const r of read.all) bySession.set(r.sessionId, [...(bySession.get(r.sessionId) ?? []), view(r)]);
  return { all: read.all.map(view), bySession };
}

/** The triage line's "N new responses" (null when there are none): how many, from how many learners, and the filtered roster. */
export function responsesTriageFromTotals(total: number, learners: number, href: string) {
  if (total === 0) return null;
  return {
    text: newResponsesText(total),
    learners: learners === 1 ? 'from 1 learner' : `from ${learners.toLocaleString('en-GB')} learners`,
    href,
  };
}
