/**
 * A review record as the pages show it (docs/product.md "Review"): who wrote each entry and when, the notes numbered as a
 * person reads and cites them (#1, #2, … in the order they were written) with what each corrects and is corrected by,
 * the status changes and the session marks. The learner and session pages, the write's answer pages (src/web/review.ts)
 * and the case packet (src/web/packet.ts) show the same record in the same words.
 */
import { staffRoleLabel } from '../lti/roles';
import { reviewLabel, type ReviewState, type ReviewStatusName, type SessionMarkName } from '../review/status';
import type { ReviewAuthor, ReviewRecord, SessionMark, StatusChange } from '../store/review';
import { clip, formatDateTime } from './format';

export interface AuthorView {
  name: string;
  role: string;
  lmsUserId: string;
}

/** The author as the LMS named them, with their role in words. */
export function authorView(a: ReviewAuthor): AuthorView {
  return { name: clip(a.name, 120), role: staffRoleLabel(a.roles), lmsUserId: clip(a.lmsUserId, 80) };
}

/** Who wrote an entry, flat for a template: `by` (their name), `role`, `byId` (their LMS user id). */
export function byView(a: ReviewAuthor) {
  const v = authorView(a);
  return { by: v.name, role: v.role, byId: v.lmsUserId };
}

/** When an entry was written: as shown, and as ISO for `<time datetime>`. */
export function when(at: Date) {
  return { at: formatDateTime(at), iso: at.toISOString() };
}

/** The record's state: its status, or `unreviewed` without one. */
export const stateOf = (s: ReviewStatusName | null): ReviewState => s ?? 'unreviewed';

export const markLabel = (m: SessionMarkName) => (m === 'concern' ? 'Concern' : 'No concern');

/** Notes are numbered #1, #2, … in the order they were written, per learner: the numbers a person reads and cites. */
export function noteNumbers(record: ReviewRecord): Map<string, number> {
  return new Map(record.notes.map((n, i) => [n.id, i + 1]));
}

/** Every note, oldest first, numbered, with the note it corrects and the notes that correct it (each `{id, number}`). */
export function notesView(record: ReviewRecord) {
  const numbers = noteNumbers(record);
  const ref = (id: string) => ({ id, number: numbers.get(id) ?? '?' });
  return record.notes.map((n) => ({
    id: n.id,
    number: numbers.get(n.id) ?? '?',
    ...when(n.at),
    ...byView(n.author),
    body: n.body,
    corrects: n.correctsId ? ref(n.correctsId) : null,
    correctedBy: record.notes.filter((m) => m.correctsId === n.id).map((m) => ref(m.id)),
  }));
}

/** One change of the status: when, by whom, from what to what, and why. */
export function statusChangeView(c: StatusChange) {
  return {
    ...when(c.at),
    ...byView(c.author),
    from: reviewLabel(stateOf(c.from)),
    to: reviewLabel(c.to),
    reason: c.reason,
  };
}

/** One mark of a session: the mark in words (`mark`, its code), its note, when and by whom. */
export function markView(m: SessionMark) {
  return { mark: m.mark, label: markLabel(m.mark), note: m.note, ...when(m.at), ...byView(m.author) };
}
