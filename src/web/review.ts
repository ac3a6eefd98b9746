/**
 * Review records on the pages (docs/product.md "Review"): the learner page's review panel and the session page's marks
 * (view-models for src/web/learner.ts), the record as JSON, and the two writes.
 *
 * A write is a plain POST form (docs/architecture.md "Writes"), checked in this order: the actor, staff only, the learner
 * id, the CSRF token bound to the launch (a 403 page that writes nothing and shows the typed text to copy), the learner's
 * access, then the fields (a 422 page with the text kept and the fields marked); a mark then checks that the session is
 * the learner's (a 503 page giving the form back as typed when isnotai cannot say just now). It lands at the version the
 * form was based on, with its audit row in the same transaction (src/store/review.ts); a stale version is a 409 page
 * showing the other person's changes and the form again. A write that lands, or a double submit of it, is a 303 to the
 * page (POST-redirect-GET), so a reload never posts again.
 */
import { Router, type Request, type Response } from 'express';
import {
  isReviewStatus,
  isSessionMark,
  markNeedsNote,
  MAX_REVIEW_TEXT,
  REVIEW_STATUSES,
  reviewLabel,
  SESSION_MARKS,
  statusNeedsReason,
  type ReviewStatusName,
  type SessionMarkName,
} from '../review/status';
import type { ReviewRecord, ReviewWrite, SessionMark } from '../store/review';
import { findLearnerSession } from './access';
import { actorOf, hrefWithLtik, type Actor } from './actor';
import { auditEntryOf, auditView } from './audit';
import type { CsrfTokens } from './csrf';
import { HttpError, problemView, type FormProblem } from './errors';
import { clip, formatDateTime } from './format';
import { bodyOf, codePoints, typed } from './formText';
import { authorise, learnerId, sessionIdOf, type LearnerDataDeps } from './learnerAccess';
import type { CsvColumn } from './lists';
import { navFor } from './nav';
import type { ReviewRecords } from './ports';
import { carriedQueue, sessionQueueView } from './queue';
import { noCourseError, requireStaff, reviewAuthorOf, reviewKeyOf } from './reviewAccess';
import { authorView, byView, markLabel, markView, noteNumbers, notesView, stateOf, statusChangeView, when } from './reviewView';
import { ROSTER_SPEC } from './course';
import { upstreamToHttp } from './upstreamErrors';
import { readStaffResponses, responsesJson, type StaffResponseDeps } from './responsesView';
import { accommodationsJson } from './accommodationView';
import { readRegister, type AccommodationDeps } from './accommodationContext';

/** What the review pages need beyond the learner pages' own dependencies (src/app.ts hands both in). */
export interface ReviewPageDeps {
  review: ReviewRecords;
  csrf: CsrfTokens;
}

const VERSION = /^(0|[1-9]\d{0,8})$/;
/** The version a form sent back for correction carries: the one it was based on, or the record's own when that was not one. */
const formVersion = (sent: string, record: ReviewRecord) => (VERSION.test(sent) ? sent : String(record.version));
const NOTE_ID = /^[1-9]\d{0,17}$/;

// ---------------------------------------------------------------------------------------------------------------------
// Reading

/** `GET /learners/:userId/review.json`: the record, each entry with its time (ISO) and author. */
export function reviewJson(record: ReviewRecord) {
  const numbers = noteNumbers(record);
  return {
    status: stateOf(record.status),
    version: record.version,
    history: record.history.map((c) => ({
      id: c.id,
      version: c.version,
      at: c.at.toISOString(),
      author: authorView(c.author),
      from: stateOf(c.from),
      to: c.to,
      reason: c.reason,
    })),
    notes: record.notes.map((n) => ({
      id: n.id,
      number: numbers.get(n.id) ?? null,
      version: n.version,
      at: n.at.toISOString(),
      author: authorView(n.author),
      body: n.body,
      correctsId: n.correctsId,
      correctedBy: record.notes.filter((m) => m.correctsId === n.id).map((m) => m.id),
    })),
    sessionMarks: record.sessionMarks.map((m) => ({
      id: m.id,
      version: m.version,
      at: m.at.toISOString(),
      author: authorView(m.author),
      sessionId: m.sessionId,
      mark: m.mark,
      note: m.note,
    })),
  };
}

function historyView(record: ReviewRecord) {
  // Newest first: the change a reader looks for is the last one.
  return [...record.history].reverse().map(statusChangeView);
}

function statusView(record: ReviewRecord) {
  const last = record.history.at(-1);
  return {
    state: stateOf(record.status),
    label: reviewLabel(stateOf(record.status)),
    since: record.status && last ? { ...when(last.at), ...byView(last.author) } : null,
  };
}

/** The newest mark of each session: its mark. */
function currentMarks(record: ReviewRecord) {
  const latest = new Map<string, SessionMark>();
  for (const m of record.sessionMarks) latest.set(m.sessionId, m);
  return latest;
}

/**
 * Whether to say "Saved.": `saved` is the version the redirect after a write names (docs/product.md "Writes"), and only
 * an entry at that version written by the viewer themself (the same LMS user id) confirms anything. A link naming another
 * person's write, another version, or anything else shows nothing, so a crafted link cannot show a false confirmation.
 * `entries`: those the page's own form writes (the review form: a status or a note; the mark form: this session's marks).
 */
function savedByViewer(actor: Actor, given: unknown, entries: ReadonlyArray<{ version: number; author: { lmsUserId: string } }>) {
  if (typeof given !== 'string' || !VERSION.test(given)) return false;
  const version = Number(given);
  const me = reviewAuthorOf(actor).lmsUserId;
  return entries.some((e) => e.version === version && e.author.lmsUserId === me);
}

/**
 * Each session's current mark, for the staff's session exports (src/web/learner.ts), read in one go: null for a student,
 * who never sees marks (docs/product.md "Who reads and writes"); none for a staff launch from outside a course, which has
 * no record.
 */
export async function currentSessionMarks(deps: ReviewPageDeps, actor: Actor, userId: string): Promise<Map<string, SessionMark> | null> {
  if (actor.audience === 'student') return null;
  if (noCourse(actor)) return new Map();
  return currentMarks(await deps.review.read(reviewKeyOf(actor, userId)));
}

/** A session's current mark in a JSON export (`reviewMark`): the mark, its words and note, who made it, with which role, when. */
export function markJson(m: SessionMark | undefined) {
  if (!m) return null;
  const author = authorView(m.author);
  return {
    mark: m.mark,
    label: markLabel(m.mark),
    note: m.note,
    by: author.name,
    byRole: author.role,
    byId: author.lmsUserId,
    at: m.at.toISOString(),
  };
}

/** A session's current mark in a CSV export: four columns after the session's own (docs/lists.md), empty when unmarked. */
export function markCsvColumns(marks: ReadonlyMap<string, SessionMark>): Array<CsvColumn<{ id: string }>> {
  return [
    { header: 'review_mark', value: (s) => marks.get(s.id)?.mark },
    { header: 'review_mark_by', value: (s) => (marks.has(s.id) ? authorView(marks.get(s.id)!.author).name : null) },
    { header: 'review_mark_at', value: (s) => marks.get(s.id)?.at.toISOString() },
    { header: 'review_mark_note', value: (s) => marks.get(s.id)?.note },
  ];
}

/** Every entry written after `version`, oldest first: what someone else saved while a form was open. */
function changesSince(record: ReviewRecord, version: number) {
  const numbers = noteNumbers(record);
  const entries = [
    ...record.history
      .filter((c) => c.version > version)
      .map((c) => ({
        version: c.version,
        ...when(c.at),
        ...byView(c.author),
        what: `Status: ${reviewLabel(stateOf(c.from))} → ${reviewLabel(c.to)}`,
        text: c.reason,
      })),
    ...record.notes
      .filter((n) => n.version > version)
      .map((n) => ({
        version: n.version,
        ...when(n.at),
        ...byView(n.author),
        what: n.correctsId
          ? `Note #${numbers.get(n.id)}, a correction of note #${numbers.get(n.correctsId) ?? '?'}`
          : `Note #${numbers.get(n.id)}`,
        text: n.body,
      })),
    ...record.sessionMarks
      .filter((m) => m.version > version)
      .map((m) => ({
        version: m.version,
        ...when(m.at),
        ...byView(m.author),
        what: `Session ${clip(m.sessionId, 60)} marked ${markLabel(m.mark)}`,
        text: m.note,
      })),
  ];
  return entries.sort((a, b) => a.version - b.version);
}

const learnerPath = (userId: string) => `/learners/${encodeURIComponent(userId)}`;
const sessionPath = (userId: string, sessionId: string) => `${learnerPath(userId)}/sessions/${encodeURIComponent(sessionId)}`;

// ---------------------------------------------------------------------------------------------------------------------
// Forms

interface FieldError {
  id: string;
  message: string;
}

type ReviewField = 'status' | 'reason' | 'note' | 'corrects' | 'version';
type MarkField = 'mark' | 'note' | 'version';

/** What a review form was sent with, as typed (src/web/formText.ts `typed`: line ends, invisible controls removed, trimmed). */
interface ReviewInput {
  status: string;
  reason: string;
  note: string;
  corrects: string;
  version: string;
  queue: string | null;
}

interface MarkInput {
  mark: string;
  note: string;
  version: string;
  queue: string | null;
}

/** Where an error summary's link takes the keyboard: the field itself (a radio group: its first radio). */
const REVIEW_FIELD_IDS: Record<ReviewField, string> = {
  status: 'review-status',
  reason: 'review-reason',
  note: 'review-note',
  corrects: 'review-corrects',
  version: 'review-submit',
};
const MARK_FIELD_IDS: Record<MarkField, string> = { mark: 'mark-choice', note: 'mark-note', version: 'mark-submit' };

function errorsOf<F extends string>(list: Array<[F, string]>, prefix: string): Partial<Record<F, FieldError>> {
  return Object.fromEntries(list.map(([f, message]) => [f, { id: `${prefix}-${f}-error`, message }])) as Partial<Record<F, FieldError>>;
}

function summaryOf(list: Array<[string, string]>, ids: Record<string, string>) {
  return list.map(([f, message]) => ({ href: `#${ids[f] ?? 'main'}`, message }));
}

const tooLong = (what: string, s: string) =>
  `${what} is ${codePoints(s).toLocaleString('en-GB')} characters long; at most ${MAX_REVIEW_TEXT.toLocaleString('en-GB')} are kept. Shorten it and send it again.`;

interface ValidReview {
  status: ReviewStatusName | null;
  reason: string | null;
  note: string | null;
  correctsId: string | null;
  version: number;
}

function validateReview(input: ReviewInput): { ok: true; value: ValidReview } | { ok: false; errors: Array<[ReviewField, string]> } {
  const errors: Array<[ReviewField, string]> = [];
  let status: ReviewStatusName | null = null;
  if (input.status === 'unreviewed') {
    errors.push([
      'status',
      '“Not yet reviewed” is where every learner starts; it cannot be set. Choose another status or keep the current one.',
    ]);
  } else if (input.status !== '' && !isReviewStatus(input.status)) {
    errors.push(['status', `“${clip(input.status, 40)}” is not a review status. Choose one of the statuses listed.`]);
  } else if (input.status !== '') status = input.status as ReviewStatusName;
  if (codePoints(input.reason) > MAX_REVIEW_TEXT) errors.push(['reason', tooLong('The reason', input.reason)]);
  else if (status && statusNeedsReason(status) && input.reason === '')
    errors.push(['reason', `Say why you set “${reviewLabel(status)}”: it may reach a conduct office.`]);
  else if (!status && input.reason !== '' && !errors.some(([f]) => f === 'status'))
    errors.push(['reason', 'A reason goes with a new status: choose the status it explains, or move the text to the note.']);
  if (codePoints(input.note) > MAX_REVIEW_TEXT) errors.push(['note', tooLong('The note', input.note)]);
  if (input.corrects !== '' && !NOTE_ID.test(input.corrects)) errors.push(['corrects', 'Choose the note this one corrects from the list.']);
  else if (input.corrects !== '' && input.note === '') errors.push(['note', 'Write the correction: the note it corrects stays as it was.']);
  if (!VERSION.test(input.version))
    errors.push([
      'version',
      'The form did not say which version of the review it was based on. It now carries the current one; check the review and send it again.',
    ]);
  if (errors.length === 0 && !status && input.note === '') errors.push(['status', 'Choose a status or write a note: the form was empty.']);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      status,
      reason: status && input.reason !== '' ? input.reason : null,
      note: input.note === '' ? null : input.note,
      correctsId: input.corrects === '' ? null : input.corrects,
      version: Number(input.version),
    },
  };
}

interface ValidMark {
  mark: SessionMarkName;
  note: string | null;
  version: number;
}

function validateMark(input: MarkInput): { ok: true; value: ValidMark } | { ok: false; errors: Array<[MarkField, string]> } {
  const errors: Array<[MarkField, string]> = [];
  const mark = isSessionMark(input.mark) ? input.mark : null;
  if (!mark)
    errors.push([
      'mark',
      input.mark === ''
        ? 'Choose “No concern” or “Concern”.'
        : `“${clip(input.mark, 40)}” is not a mark. Choose “No concern” or “Concern”.`,
    ]);
  if (codePoints(input.note) > MAX_REVIEW_TEXT) errors.push(['note', tooLong('The note', input.note)]);
  else if (mark && markNeedsNote(mark) && input.note === '')
    errors.push(['note', 'Say what the concern is: it may reach a conduct office.']);
  if (!VERSION.test(input.version))
    errors.push([
      'version',
      'The form did not say which version of the review it was based on. It now carries the current one; check the marks and send it again.',
    ]);
  if (errors.length > 0 || !mark) return { ok: false, errors };
  return { ok: true, value: { mark, note: input.note === '' ? null : input.note, version: Number(input.version) } };
}

interface FormContext {
  actor: Actor;
  userId: string;
  csrf: string;
}

/** The review form's view-model: as typed (`input`), or empty at the record's version. */
function reviewFormView(
  ctx: FormContext,
  record: ReviewRecord,
  input: Partial<ReviewInput> & { version: string },
  errors: Array<[ReviewField, string]> = [],
) {
  const marks = errorsOf(errors, 'review');
  const numbers = noteNumbers(record);
  const chosen = input.status ?? '';
  const current = reviewLabel(stateOf(record.status));
  return {
    action: `${learnerPath(ctx.userId)}/review`,
    ltik: ctx.actor.ltik,
    csrf: ctx.csrf,
    version: input.version,
    queue: input.queue ?? null,
    statuses: [
      {
        value: '',
        id: 'review-status',
        label: `Keep the current status (${current})`,
        checked: !REVIEW_STATUSES.includes(chosen as never),
      },
      ...REVIEW_STATUSES.map((s) => ({
        value: s,
        id: `review-status-${s}`,
        label: statusNeedsReason(s) ? `${reviewLabel(s)} (needs a reason)` : reviewLabel(s),
        checked: chosen === s,
      })),
    ],
    reason: input.reason ?? '',
    note: input.note ?? '',
    // Offered once there is a note to correct (or when the one named was refused, so the error has its field).
    corrects:
      record.notes.length || marks.corrects
        ? [
            { value: '', label: 'Nothing: a new note', selected: !input.corrects },
            ...record.notes.map((n) => ({
              value: n.id,
              label: `Note #${numbers.get(n.id)} by ${clip(n.author.name, 60)}, ${formatDateTime(n.at)}`,
              selected: input.corrects === n.id,
            })),
          ]
        : null,
    errors: marks,
    summary: errors.length ? summaryOf(errors, REVIEW_FIELD_IDS) : null,
    max: MAX_REVIEW_TEXT.toLocaleString('en-GB'),
  };
}

function markFormView(
  ctx: FormContext,
  sessionId: string,
  input: Partial<MarkInput> & { version: string },
  errors: Array<[MarkField, string]> = [],
) {
  return {
    action: `${sessionPath(ctx.userId, sessionId)}/mark`,
    ltik: ctx.actor.ltik,
    csrf: ctx.csrf,
    version: input.version,
    queue: input.queue ?? null,
    marks: SESSION_MARKS.map((m) => ({
      value: m,
      id: m === SESSION_MARKS[0] ? 'mark-choice' : `mark-choice-${m}`,
      label: markNeedsNote(m) ? `${markLabel(m)} (needs a note)` : markLabel(m),
      checked: input.mark === m,
    })),
    note: input.note ?? '',
    errors: errorsOf(errors, 'mark'),
    summary: errors.length ? summaryOf(errors, MARK_FIELD_IDS) : null,
    max: MAX_REVIEW_TEXT.toLocaleString('en-GB'),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The pages' view-models (src/web/learner.ts renders them)

/** Reviews are kept per course: a staff launch from outside a course has none to show (why, or null when it has one). */
function noCourse(actor: Actor): string | null {
  return actor.context.id ? null : noCourseError().message;
}

/**
 * The learner page's review panel: the status, its history, the notes, the marked sessions and the form; null for a
 * student, who never sees staff status or notes (docs/product.md "Review").
 */
export async function learnerReviewView(deps: ReviewPageDeps, actor: Actor, userId: string, req: Request) {
  if (actor.audience === 'student') return null;
  const unavailable = noCourse(actor);
  if (unavailable) return { unavailable };
  const record = await deps.review.read(reviewKeyOf(actor, userId));
  const ctx = { actor, userId, csrf: deps.csrf.tokenFor(actor.ltik) };
  const marks = currentMarks(record);
  const queue = carriedQueue(req.query.queue);
  return {
    status: statusView(record),
    saved: savedByViewer(actor, req.query.saved, [...record.history, ...record.notes]),
    history: historyView(record),
    notes: notesView(record),
    marked: [...marks.values()].map((m) => ({
      sessionId: clip(m.sessionId, 80),
      href: hrefWithLtik(sessionPath(userId, m.sessionId), actor.ltik, { queue }),
      ...markView(m),
    })),
    /** By session id: the sessions table's "Review mark" column. */
    sessionMarks: Object.fromEntries([...marks].map(([id, m]) => [id, markView(m)])),
    form: reviewFormView(ctx, record, { version: String(record.version), queue }),
  };
}

/** The session page's marks: this session's current mark, its history and the form; null for a student. */
export async function sessionMarksView(deps: ReviewPageDeps, actor: Actor, userId: string, sessionId: string, req: Request) {
  if (actor.audience === 'student') return null;
  const unavailable = noCourse(actor);
  if (unavailable) return { unavailable };
  const record = await deps.review.read(reviewKeyOf(actor, userId));
  const ctx = { actor, userId, csrf: deps.csrf.tokenFor(actor.ltik) };
  const mine = record.sessionMarks.filter((m) => m.sessionId === sessionId);
  const current = mine.at(-1);
  return {
    current: current ? markView(current) : null,
    history: [...mine].reverse().map(markView),
    saved: savedByViewer(actor, req.query.saved, mine),
    form: markFormView(ctx, sessionId, { version: String(record.version), queue: carriedQueue(req.query.queue) }),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The routes

/** The form a write's answer page gives back: the review form, or a session's mark form. */
type FormBack = { reviewForm: ReturnType<typeof reviewFormView> } | { markForm: ReturnType<typeof markFormView> };

/** One write being answered: who sent it, about whom, the page it came from, and (for a mark) the session. */
interface Sent {
  res: Response;
  actor: Actor;
  userId: string;
  back: string;
  /** The roster's queue the form carried (carriedQueue): the breadcrumbs go back with it. */
  queue: string | null;
  /** Absent for the review form. */
  sessionId?: string;
}

/** "Your review" or "Your mark": the answer pages say which form was not saved. */
const whatOf = (sent: Sent) => (sent.sessionId ? 'mark' : 'review');

function renderFormPage(
  sent: Sent,
  name: string,
  problem: FormProblem,
  content: Partial<FormBack> & {
    changes?: ReturnType<typeof changesSince>;
    current?: ReturnType<typeof statusView>;
    copy?: Array<{ id: string; label: string; value: string }>;
  },
): void {
  const { res, actor, userId, sessionId, queue } = sent;
  // The session page's own way back up the queue (src/web/queue.ts), so the two cannot drift apart.
  const up = sessionQueueView(actor, userId, { queue: queue ?? undefined }, ROSTER_SPEC);
  const crumbs = [
    ...(up ? [{ label: 'Course roster', href: up.rosterHref }] : []),
    { label: clip(name, 80), href: up?.learnerHref ?? hrefWithLtik(learnerPath(userId), actor.ltik) },
    ...(sessionId
      ? [{ label: `Session ${clip(sessionId, 40)}`, href: hrefWithLtik(sessionPath(userId, sessionId), actor.ltik, { queue }) }]
      : []),
    { label: problem.heading },
  ];
  res.status(problem.status).render('pages/review-form', {
    title: problem.heading,
    nav: navFor(actor, 'roster'),
    who: actor.displayName,
    breadcrumbs: crumbs,
    learner: { name: clip(name, 120), userId: clip(userId, 80) },
    problem: problemView(res, problem),
    back: sent.back,
    sessionId,
    ...content,
  });
}

/**
 * 403: the CSRF token was missing or wrong. Nothing is written, and no form is offered to send the text on with: the
 * typed text is shown read-only, to copy. The learner's access is not checked yet, so the page names them by id only.
 */
function csrfPage(sent: Sent, refused: HttpError, typed: { reason?: string; note: string }): void {
  renderFormPage(
    sent,
    `User ${sent.userId}`,
    { status: 403, code: refused.code, heading: `Your ${whatOf(sent)} was not saved`, message: refused.message, hints: refused.hints },
    {
      copy: [
        ...(typed.reason ? [{ id: 'copy-reason', label: 'Your reason (not saved)', value: typed.reason }] : []),
        ...(typed.note ? [{ id: 'copy-note', label: 'Your note (not saved)', value: typed.note }] : []),
      ],
    },
  );
}

/** 422: the form again with the text as typed, each field with its error and a summary linking to it. */
function invalidPage(sent: Sent, name: string, form: FormBack, current?: ReturnType<typeof statusView>): void {
  renderFormPage(
    sent,
    name,
    {
      status: 422,
      code: 'invalid_review',
      heading: 'Some of the fields need changing',
      message: 'Nothing was saved. The fields marked below say what to change; your text is kept.',
    },
    { ...form, ...(current ? { current } : {}) },
  );
}

/** 409: what others saved since the form's version, the status now, and the form again at the current version. */
function conflictPage(sent: Sent, name: string, current: ReviewRecord, basedOn: number, form: FormBack): void {
  const changed = sent.sessionId ? 'the learner’s review' : 'the review';
  renderFormPage(
    sent,
    name,
    {
      status: 409,
      code: 'review_conflict',
      heading: 'Someone else changed this review',
      message: `Nothing of yours was saved: since you opened the form, ${changed} was changed (it is now at version ${current.version}). Read the changes below; your text is kept in the form, which now carries the current version, so you can send it again.`,
    },
    { changes: changesSince(current, basedOn), current: statusView(current), ...form },
  );
}

/** 503 (or 502): isnotai could not say whether the session is the learner's. Nothing is written; the form comes back. */
function uncheckedPage(sent: Sent, name: string, failure: HttpError, form: FormBack): void {
  renderFormPage(
    sent,
    name,
    {
      status: failure.status,
      code: failure.code,
      heading: `Your ${whatOf(sent)} was not saved`,
      message: `The session could not be checked just now, so nothing was saved. ${failure.message} Your ${whatOf(sent)} and note are kept in the form below: send it again in a few minutes.`,
    },
    form,
  );
}

/**
 * The version the redirect after a write names in `saved` (savedByViewer): the one the viewer's write made. For a double
 * submit that is the version their identical first write made (expectedVersion + 1), not the record's version now, which
 * names someone else's entry when another person wrote in between (and would then show no "Saved." for a write that landed).
 */
function savedVersion(result: { outcome: 'written' | 'duplicate'; version: number }, expectedVersion: number): number {
  return result.outcome === 'duplicate' ? expectedVersion + 1 : result.version;
}

/** A write's audit row (docs/product.md "Writes"): its subject is the learner, its resource the record's new version. */
function auditEntry(actor: Actor, res: Response, userId: string, action: string, version: number) {
  return { ...auditEntryOf(actor, res, action, `review v${version}`), subjectUserId: userId };
}

/**
 * Whether the session is the learner's, as the session page checks it (findLearnerSession). Throws 403 when it is not;
 * answers the failure when isnotai cannot say.
 */
async function checkSession(deps: LearnerDataDeps, actor: Actor, userId: string, sessionId: string): Promise<HttpError | null> {
  try {
    await findLearnerSession(await deps.upstreamFor(actor), userId, sessionId, actor.placement !== null);
    return null;
  } catch (err) {
    const failure = upstreamToHttp(err, actor.audience);
    if (failure && failure.status >= 500) return failure;
    throw err;
  }
}

export function reviewRouter(deps: LearnerDataDeps & ReviewPageDeps & StaffResponseDeps & AccommodationDeps): Router {
  const r = Router();

  r.get('/learners/:userId/review.json', async (req, res, next) => {
    try {
      const actor = actorOf(res);
      requireStaff(actor);
      const userId = learnerId(req, actor);
      await authorise(deps, actor, userId);
      const record = await deps.review.read(reviewKeyOf(actor, userId));
      // The learner's responses, each saying whether this course's staff had seen it; reading them marks nothing seen.
      const responses = await readStaffResponses(deps, actor, userId);
      // The accommodations register where the launch reads it, removed entries included (src/web/accommodationView.ts).
      const register = await readRegister(deps, actor, userId);
      await auditView(deps.audit, actor, res, 'view.review', userId);
      res.json({
        ...reviewJson(record),
        responses: responses ? responsesJson(responses) : [],
        ...accommodationsJson(register.sets),
      });
    } catch (err) {
      next(err);
    }
  });

  r.post('/learners/:userId/review', async (req, res, next) => {
    try {
      const actor = actorOf(res);
      requireStaff(actor);
      const userId = learnerId(req, actor);
      const body = bodyOf(req);
      const input: ReviewInput = {
        status: typed(body.status),
        reason: typed(body.reason),
        note: typed(body.note),
        corrects: typed(body.corrects),
        version: typed(body.version),
        queue: carriedQueue(body.queue),
      };
      const sent: Sent = {
        res,
        actor,
        userId,
        queue: input.queue,
        back: hrefWithLtik(learnerPath(userId), actor.ltik, { queue: input.queue }),
      };
      const refused = deps.csrf.refusal(actor.ltik, body.csrf);
      if (refused) return csrfPage(sent, refused, input);
      const access = await authorise(deps, actor, userId);
      const name = access.member?.name ?? `User ${userId}`;
      const key = reviewKeyOf(actor, userId);
      const ctx = { actor, userId, csrf: deps.csrf.tokenFor(actor.ltik) };
      const invalid = async (errors: Array<[ReviewField, string]>) => {
        const record = await deps.review.read(key);
        const version = formVersion(input.version, record);
        invalidPage(sent, name, { reviewForm: reviewFormView(ctx, record, { ...input, version }, errors) }, statusView(record));
      };
      const valid = validateReview(input);
      if (!valid.ok) return await invalid(valid.errors);
      const v = valid.value;
      const action = v.status && v.note ? 'review.status_and_note' : v.status ? 'review.status' : 'review.note';
      const write: ReviewWrite = {
        key,
        author: reviewAuthorOf(actor),
        expectedVersion: v.version,
        ...(v.status ? { status: { to: v.status, reason: v.reason } } : {}),
        ...(v.note ? { note: { body: v.note, correctsId: v.correctsId } } : {}),
        audit: auditEntry(actor, res, userId, action, v.version + 1),
      };
      const result = await deps.review.write(write);
      if (result.outcome === 'unknown_note')
        return await invalid([['corrects', 'That note is not one of this learner’s notes. Choose it from the list.']]);
      if (result.outcome === 'conflict') {
        const current = result.current;
        const form = reviewFormView(ctx, current, { ...input, version: String(current.version) });
        return conflictPage(sent, name, current, v.version, { reviewForm: form });
      }
      // Written, or a double submit of a write that was: `saved` names the version the viewer's write made (savedVersion).
      const saved = savedVersion(result, v.version);
      res.redirect(303, `${hrefWithLtik(learnerPath(userId), actor.ltik, { queue: input.queue, saved })}#review`);
    } catch (err) {
      next(err);
    }
  });

  r.post('/learners/:userId/sessions/:sessionId/mark', async (req, res, next) => {
    try {
      const actor = actorOf(res);
      requireStaff(actor);
      const userId = learnerId(req, actor);
      const sessionId = sessionIdOf(req);
      const body = bodyOf(req);
      const input: MarkInput = {
        mark: typed(body.mark),
        note: typed(body.note),
        version: typed(body.version),
        queue: carriedQueue(body.queue),
      };
      const sent: Sent = {
        res,
        actor,
        userId,
        sessionId,
        queue: input.queue,
        back: hrefWithLtik(sessionPath(userId, sessionId), actor.ltik, { queue: input.queue }),
      };
      const refused = deps.csrf.refusal(actor.ltik, body.csrf);
      if (refused) return csrfPage(sent, refused, input);
      const access = await authorise(deps, actor, userId);
      const name = access.member?.name ?? `User ${userId}`;
      const key = reviewKeyOf(actor, userId);
      const ctx = { actor, userId, csrf: deps.csrf.tokenFor(actor.ltik) };
      // The fields before the session: a form refused for its fields, or because isnotai is not answering, comes back as
      // typed; the note is never lost to a failure upstream.
      const valid = validateMark(input);
      if (!valid.ok) {
        const record = await deps.review.read(key);
        const version = formVersion(input.version, record);
        return invalidPage(sent, name, { markForm: markFormView(ctx, sessionId, { ...input, version }, valid.errors) });
      }
      const failure = await checkSession(deps, actor, userId, sessionId);
      if (failure) return uncheckedPage(sent, name, failure, { markForm: markFormView(ctx, sessionId, input) });
      const v = valid.value;
      const result = await deps.review.write({
        key,
        author: reviewAuthorOf(actor),
        expectedVersion: v.version,
        mark: { sessionId, mark: v.mark, note: v.note },
        audit: {
          ...auditEntry(actor, res, userId, 'review.session_mark', v.version + 1),
          resourceId: `review v${v.version + 1} session ${clip(sessionId, 255)}`,
        },
      });
      if (result.outcome === 'conflict') {
        const current = result.current;
        const form = markFormView(ctx, sessionId, { ...input, version: String(current.version) });
        return conflictPage(sent, name, current, v.version, { markForm: form });
      }
      // A mark corrects no note: the store answers this only for a note's `correctsId`.
      if (result.outcome === 'unknown_note') throw new Error('a session mark was answered unknown_note');
      // As for the review form: the version the viewer's mark made, also for a double submit.
      const saved = savedVersion(result, v.version);
      res.redirect(303, `${hrefWithLtik(sessionPath(userId, sessionId), actor.ltik, { queue: input.queue, saved })}#marks`);
    } catch (err) {
      next(err);
    }
  });

  return r;
}
