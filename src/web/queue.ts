/**
 * The roster as a work queue (docs/product.md "Review", docs/lists.md "Course roster"). A learner page opened from the
 * roster carries the roster's filters, search, window and order as one parameter, `queue` (a query string of the roster's
 * own dialect), so that "Next learner to review" walks the same list without going back to it, and the breadcrumb
 * returns to the roster as it was. A queue never carries paging or the `ltik`: the walk goes through the whole list,
 * whichever page the roster was showing.
 *
 * Pure helpers: the roster's spec is handed in (src/web/course.ts owns it and the `/course/next` route).
 */
import { hrefWithLtik, type Actor } from './actor';
import { HttpError } from './errors';
import { PATH_ID } from './learnerAccess';
import type { ListParamError, ListQuery, ListSpec, RawQuery } from './lists';
import { INVALID_PARAMETERS, listErrorMessage } from './lists/errors';
import { parseListQuery, rawQueryOf } from './lists/parse';
import { toQueryString } from './lists/queryString';
import { isFiltered } from './lists/view';
import type { ReviewState } from '../review/status';

/**
 * The longest `queue` read or written: longer filters are not carried (the learner page then follows the whole roster,
 * and a review form carries none back).
 */
export const QUEUE_MAX_LENGTH = 2000;

/** What a queue may carry besides the list's filters. Paging, `ltik` and unknown names are dropped, as links drop them. */
const QUEUE_PARAMS = ['query', 'created_after', 'created_before', 'sort_by', 'sort_direction'];

/** The `queue` value for links from a roster shown with `q`; null when it would be longer than QUEUE_MAX_LENGTH. */
export function encodeQueue(q: ListQuery, spec: ListSpec): string | null {
  const params = new URLSearchParams(toQueryString({ ...q, extra: [] }, { limit: null, offset: 0, cursor: null }));
  // The default order goes without saying: shorter links, and a queue reads the same however it was reached.
  if (params.get('sort_by') === spec.defaultSort.by && params.get('sort_direction') === spec.defaultSort.direction) {
    params.delete('sort_by');
    params.delete('sort_direction');
  }
  const s = params.toString();
  return s.length <= QUEUE_MAX_LENGTH ? s : null;
}

export type QueueRead =
  { ok: true; query: ListQuery; encoded: string; filtered: boolean } | { ok: false; errors: ListParamError[]; query: ListQuery };

/**
 * Reads a `queue` parameter (as the raw query holds it). Absent or blank: the whole roster in its default order. Each
 * problem is an error on `queue`, naming the roster parameter inside it that is at fault.
 */
export function readQueue(given: RawQuery[string], spec: ListSpec): QueueRead {
  const whole = parseListQuery({}, spec).value;
  if (given === undefined || given === '') return { ok: true, query: whole, encoded: '', filtered: false };
  if (typeof given !== 'string')
    return { ok: false, query: whole, errors: [{ param: 'queue', message: `queue was given ${given.length} times; give it once` }] };
  if (given.length > QUEUE_MAX_LENGTH)
    return {
      ok: false,
      query: whole,
      errors: [{ param: 'queue', message: `queue must be at most ${QUEUE_MAX_LENGTH} characters (got ${given.length})` }],
    };
  const known = new Set([...QUEUE_PARAMS, ...Object.keys(spec.filters ?? {})]);
  const inner = Object.fromEntries(Object.entries(rawQueryOf({ originalUrl: `?${given}` })).filter(([name]) => known.has(name)));
  const parsed = parseListQuery(inner, spec);
  if (!parsed.ok) {
    return {
      ok: false,
      query: whole,
      errors: parsed.errors.map((e) => ({
        param: 'queue',
        message: `queue: ${e.message}`,
        ...(e.value !== undefined ? { value: e.value } : {}),
      })),
    };
  }
  const encoded = encodeQueue(parsed.value, spec);
  if (encoded === null)
    return { ok: false, query: whole, errors: [{ param: 'queue', message: `queue must be at most ${QUEUE_MAX_LENGTH} characters` }] };
  const q = parsed.value;
  const filtered = isFiltered(q);
  return { ok: true, query: q, encoded, filtered };
}

/** A 422 in the list dialect (docs/lists.md "Errors"), as a page with a way back, or JSON for a script. */
export function invalidQueue(errors: readonly ListParamError[]): HttpError {
  return new HttpError(
    422,
    INVALID_PARAMETERS,
    listErrorMessage(errors),
    errors.map((e) => ({ ...e })),
    ['The link was altered or cut short. Open the course roster again, choose the filters, and open a learner from it.'],
  );
}

/** `after`: the learner whose page "Next learner to review" was followed from (never the answer). */
export function readAfter(given: RawQuery[string]): { ok: true; after: string | null } | { ok: false; errors: ListParamError[] } {
  if (given === undefined || given === '') return { ok: true, after: null };
  if (typeof given !== 'string' || !PATH_ID.test(given))
    return { ok: false, errors: [{ param: 'after', message: 'after must be one user id (at most 255 characters, no spaces)' }] };
  return { ok: true, after: given };
}

/**
 * The next learner to review after `after` (docs/lists.md "Course roster"): walking the queue's list (`order` applies its
 * filters and order) on from where `after` stands in it, the first learner not yet reviewed, wrapping round to the start;
 * never `after` itself. Without `after`, or when it is not in the list, the first learner not yet reviewed.
 *
 * `after` is placed where it stood while it was being reviewed: as not yet reviewed. Setting a status moves a learner in
 * the work-queue order (from "not yet reviewed, high" to the rest, below learners of lower levels not yet reviewed); counted
 * from there, the walk would skip everyone still waiting above. So after a review the walk goes on with the learner who
 * was next (with the default order, the new head of the queue), and moving on without one goes to the learner after.
 */
export function nextInQueue<T extends { userId: string | null; review: { status: ReviewState } }>(
  items: readonly T[],
  after: string | null,
  order: (items: T[]) => readonly T[],
): T | null {
  const asWhenOpened = items.map((i): T =>
    after !== null && i.userId === after ? { ...i, review: { ...i.review, status: 'unreviewed' } } : i,
  );
  const list = order(asWhenOpened);
  const at = after === null ? -1 : list.findIndex((i) => i.userId === after);
  const walk = at < 0 ? list : [...list.slice(at + 1), ...list.slice(0, at)];
  return walk.find((i) => i.userId !== null && i.userId !== after && i.review.status === 'unreviewed') ?? null;
}

/** A learner's page, opened from the queue (it carries the queue on). */
export function learnerInQueueHref(actor: Actor, userId: string, encoded: string): string {
  return hrefWithLtik(`/learners/${encodeURIComponent(userId)}`, actor.ltik, { queue: encoded });
}

/** The roster with the queue's filters and order (its first page). */
export function rosterOfQueueHref(actor: Actor, encoded: string): string {
  const params = new URLSearchParams(encoded);
  params.set('ltik', actor.ltik);
  return `/course?${params.toString()}`;
}

/**
 * The `queue` a staff page was opened with, carried on as given to the pages below it and back (the learner's session
 * pages, the review and mark forms and the redirects after them), each of which reads it again itself. Null without one,
 * given twice, or longer than the roster writes one (QUEUE_MAX_LENGTH).
 */
export function carriedQueue(given: unknown): string | null {
  return typeof given === 'string' && given.length > 0 && given.length <= QUEUE_MAX_LENGTH ? given : null;
}

/**
 * A staff page's list query for its own links (sorting, paging, exports), with the `queue` kept only as carriedQueue keeps
 * it. The list dialect passes a parameter it does not know on as given (docs/lists.md), so without this a queue given twice,
 * or longer than QUEUE_MAX_LENGTH, would go on in those links while the page's other links and forms drop it.
 */
export function withCarriedQueue(q: ListQuery): ListQuery {
  const given = q.extra.filter(([name]) => name === 'queue').map(([, value]) => value);
  // One value, of a length the roster writes: kept where it stood; otherwise none.
  const keep = given.length === 1 && carriedQueue(given[0]) !== null;
  return keep || given.length === 0 ? q : { ...q, extra: q.extra.filter(([name]) => name !== 'queue') };
}

export interface LearnerQueueView {
  /** The `queue` to carry on to this learner's session pages (carriedQueue). */
  queue: string | null;
  /** `GET /course/next`, skipping this learner. */
  nextHref: string;
  /** Back to the roster as it was (the breadcrumb). */
  rosterHref: string;
  /** Whether the queue is narrower than the whole roster. */
  filtered: boolean;
  /** Set when the `queue` given could not be read: the links then follow the whole roster. */
  notice: string | null;
}

/**
 * The learner page's queue navigation (staff only; null for a student). An unreadable `queue` does not cost the learner
 * page: it is shown with a notice, and its links follow the whole roster in the work-queue order.
 */
export function learnerQueueView(actor: Actor, userId: string, raw: RawQuery, spec: ListSpec): LearnerQueueView | null {
  if (actor.audience === 'student') return null;
  const read = readQueue(raw.queue, spec);
  const encoded = read.ok ? read.encoded : '';
  return {
    queue: carriedQueue(raw.queue),
    nextHref: hrefWithLtik('/course/next', actor.ltik, { queue: encoded, after: userId }),
    rosterHref: rosterOfQueueHref(actor, encoded),
    filtered: read.ok && read.filtered,
    notice: read.ok
      ? null
      : 'The roster filters this page was opened with could not be read, so “Next learner to review” follows the whole roster in its work-queue order.',
  };
}

export interface SessionQueueView {
  /** The `queue` to carry on (the mark form, the redirect after it, the events' filter form): carriedQueue. */
  queue: string | null;
  /** The breadcrumb back to the roster with the queue's filters and order. */
  rosterHref: string;
  /** The breadcrumb back to the learner page, which reads the queue again (and says so when it cannot). */
  learnerHref: string;
}

/**
 * The session page's way back up the queue (staff only; null for a student): read as the learner page reads it, so
 * that going down to a session and back keeps "Next learner to review" on the roster's filters and order.
 */
export function sessionQueueView(actor: Actor, userId: string, raw: RawQuery, spec: ListSpec): SessionQueueView | null {
  if (actor.audience === 'student') return null;
  const read = readQueue(raw.queue, spec);
  const queue = carriedQueue(raw.queue);
  return {
    queue,
    rosterHref: rosterOfQueueHref(actor, read.ok ? read.encoded : ''),
    learnerHref: learnerInQueueHref(actor, userId, queue ?? ''),
  };
}
