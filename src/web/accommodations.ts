/**
 * The accommodations register's two writes (docs/product.md "Accommodations"): recording an accommodation for a learner
 * and removing one. Plain POST forms, as the review's (docs/architecture.md "Writes", src/web/review.ts), checked in this
 * order: the actor, who may change the register at all (students and teaching assistants: 403), the learner id, the CSRF
 * token bound to the launch (a 403 page that writes nothing and shows the typed description to copy), the learner's
 * access, the scope (a course's entries need a course: 409 `no_course`; the entries for every course of the LMS are an
 * admin's: 403), then the fields (422 `invalid_accommodation`, the form again with the text kept and the fields marked). A
 * change lands at the version of its scope's set the form was based on, with its audit row (`accommodation.add`,
 * `accommodation.remove`; subject: the learner) in the same transaction (src/store/accommodations.ts); a stale version
 * is a 409 `accommodation_conflict` page showing what changed since and the form again. A change that lands, or a double
 * submit of it, is a 303 to the learner page (`?saved=<scope>-<version>#accommodations`).
 *
 * Who changes which scope, and the versions a form carries: src/web/accommodationView.ts.
 */
import { Router, type Response } from 'express';
import { isAccommodationKind } from '../risk';
import type { Accommodation, AccommodationSet, AccommodationScope as StoreScope } from '../store/accommodations';
import { readRegister, registerCourseOf, registerEntries, type AccommodationDeps, type Register } from './accommodationContext';
import {
  addFormView,
  changesSince,
  entryView,
  formContext,
  learnerPath,
  MAX_ACCOMMODATION_DETAIL,
  mayChangeRegister,
  registerVersions,
  removeFormView,
  scopeWords,
  versionOf,
  writableScopes,
  type AccommodationScope,
  type AddField,
  type AddInput,
} from './accommodationView';
import { actorOf, hrefWithLtik, type Actor } from './actor';
import { auditEntryOf } from './audit';
import type { CsrfTokens } from './csrf';
import { forbidden, HttpError, problemView, type FormProblem } from './errors';
import { clip } from './format';
import { bodyOf, codePoints, typed } from './formText';
import { authorise, learnerId, type LearnerDataDeps } from './learnerAccess';
import { navFor } from './nav';
import { carriedQueue, sessionQueueView } from './queue';
import { noCourseError, reviewAuthorOf } from './reviewAccess';
import { ROSTER_SPEC } from './course';

/** What the register's writes need beyond the learner pages' own dependencies (src/app.ts hands both in). */
export interface AccommodationPageDeps extends AccommodationDeps {
  csrf: CsrfTokens;
}

/** An accommodation's id in a path: the store's bigserial. */
const ACCOMMODATION_ID = /^[1-9]\d{0,17}$/;

/** Students and teaching assistants: 403 before anything is read (a TA reads the register on the learner page). */
function requireRegisterWriter(actor: Actor): void {
  if (!mayChangeRegister(actor))
    throw forbidden('Accommodations are recorded by the course’s instructors or an administrator; teaching assistants can read them.');
}

/**
 * Whether the launch may change `scope`'s entries: a course's needs a launch from that course (409 `no_course`), and the
 * entries for every course of the LMS are an admin's (403).
 */
function requireScope(actor: Actor, scope: AccommodationScope): void {
  if (scope === 'platform' && actor.audience !== 'admin')
    throw forbidden(
      `Only an administrator records or removes an accommodation for every course on ${clip(actor.platform.name, 80)}; record it for this course instead.`,
    );
  if (scope === 'course' && !actor.context.id) throw noCourseError();
}

/** The store's key of the learner's set in `scope`. */
function storeScope(actor: Actor, userId: string, scope: AccommodationScope): StoreScope {
  return {
    platformIss: actor.platform.issuer,
    platformClientId: actor.platform.clientId,
    userId,
    course: scope === 'course' ? registerCourseOf(actor) : null,
  };
}

/** The scope a form names: its own when it is one, the only one a launch may write when it names none; null otherwise. */
function scopeOf(actor: Actor, sent: string): AccommodationScope | null {
  if (sent === 'course' || sent === 'platform') return sent;
  const writable = writableScopes(actor);
  return sent === '' && writable.length === 1 ? writable[0]! : null;
}

const tooLong = (s: string) =>
  `The description is ${codePoints(s).toLocaleString('en-GB')} characters long; at most ${MAX_ACCOMMODATION_DETAIL.toLocaleString('en-GB')} are kept. Shorten it and send it again.`;

const VERSION_MISSING =
  'The form did not say which version of the register it was based on. It now carries the current one; check the register and send it again.';

interface ValidAdd {
  kind: string;
  detail: string | null;
  scope: AccommodationScope;
  version: number;
}

function validateAdd(actor: Actor, input: AddInput): { ok: true; value: ValidAdd } | { ok: false; errors: Array<[AddField, string]> } {
  const errors: Array<[AddField, string]> = [];
  if (input.kind === '') errors.push(['kind', 'Choose the accommodation or assistive technology to record.']);
  else if (!isAccommodationKind(input.kind))
    errors.push(['kind', `“${clip(input.kind, 40)}” is not one of the accommodations listed. Choose one of them.`]);
  if (codePoints(input.detail) > MAX_ACCOMMODATION_DETAIL) errors.push(['detail', tooLong(input.detail)]);
  else if (input.kind === 'other' && input.detail === '')
    errors.push([
      'detail',
      'Describe the accommodation: “Other” explains no signal by itself, so its description is what a reader goes by.',
    ]);
  const scope = scopeOf(actor, input.scope);
  if (!scope) errors.push(['scope', 'Choose where the accommodation applies: this course, or every course on this LMS.']);
  const version = scope ? versionOf(input.version, scope) : 0;
  if (version === null) errors.push(['version', VERSION_MISSING]);
  if (errors.length > 0 || !scope || version === null) return { ok: false, errors };
  return { ok: true, value: { kind: input.kind, detail: input.detail === '' ? null : input.detail, scope, version } };
}

// ---------------------------------------------------------------------------------------------------------------------
// The answer pages

/** One write being answered: who sent it, about whom, and the way back. */
interface Sent {
  res: Response;
  actor: Actor;
  userId: string;
  queue: string | null;
  back: string;
}

function renderPage(sent: Sent, name: string, problem: FormProblem, content: Record<string, unknown>): void {
  const { res, actor, userId, queue } = sent;
  // The session pages' way back up the queue (src/web/queue.ts), as the review's answer pages take it.
  const up = sessionQueueView(actor, userId, { queue: queue ?? undefined }, ROSTER_SPEC);
  res.status(problem.status).render('pages/accommodation-form', {
    title: problem.heading,
    nav: navFor(actor, 'roster'),
    who: actor.displayName,
    breadcrumbs: [
      ...(up ? [{ label: 'Course roster', href: up.rosterHref }] : []),
      { label: clip(name, 80), href: up?.learnerHref ?? hrefWithLtik(learnerPath(userId), actor.ltik) },
      { label: problem.heading },
    ],
    learner: { name: clip(name, 120), userId: clip(userId, 80) },
    problem: problemView(res, problem),
    back: sent.back,
    ...content,
  });
}

/**
 * 403: the CSRF token was missing or wrong. Nothing is written, and no form is offered: the typed description is shown
 * read-only, to copy. The learner's access is not checked yet, so the page names them by id only.
 */
function csrfPage(sent: Sent, refused: HttpError, what: 'recorded' | 'removed', detail: string): void {
  renderPage(
    sent,
    `User ${sent.userId}`,
    { status: 403, code: refused.code, heading: `Nothing was ${what}`, message: refused.message, hints: refused.hints },
    { copy: detail ? [{ id: 'copy-detail', label: 'Your description (not saved)', value: detail }] : [] },
  );
}

type Entries = ReturnType<typeof entryView>[];

/** What is in effect now, shown beside a refused form so the writer sees the register as it is. */
const inEffectNow = (register: Register, actor: Actor): Entries => register.inEffect.map((a) => entryView(a, actor));

/**
 * 409: the set the form was based on (`basedOn`) has moved on. What changed since, the register in effect now, and the form
 * again (`form`: the add form with the text kept, or the remove button while the entry is still in effect).
 */
function conflictPage(
  sent: Sent,
  name: string,
  what: 'recorded' | 'removed',
  change: { set: AccommodationSet; basedOn: number; scope: AccommodationScope },
  register: Register,
  form: Record<string, unknown>,
): void {
  const { set, basedOn, scope } = change;
  renderPage(
    sent,
    name,
    {
      status: 409,
      code: 'accommodation_conflict',
      heading: 'Someone else changed these accommodations',
      message: `Nothing was ${what}: since you opened the form, the accommodations for ${scopeWords(scope, sent.actor)} were changed (they are now at version ${set.version}). Read the changes below; your form now carries the current version, so you can send it again.`,
    },
    { changes: changesSince(set, basedOn, scope, sent.actor), register: { inEffect: inEffectNow(register, sent.actor) }, ...form },
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// The routes

export function accommodationRouter(deps: LearnerDataDeps & AccommodationPageDeps): Router {
  const r = Router();

  r.post('/learners/:userId/accommodations', async (req, res, next) => {
    try {
      const actor = actorOf(res);
      requireRegisterWriter(actor);
      const userId = learnerId(req, actor);
      const body = bodyOf(req);
      const input: AddInput = {
        kind: typed(body.kind),
        detail: typed(body.detail),
        scope: typed(body.scope),
        version: typed(body.version),
        queue: carriedQueue(body.queue),
      };
      const back = `${hrefWithLtik(learnerPath(userId), actor.ltik, { queue: input.queue })}#accommodations`;
      const sent: Sent = { res, actor, userId, queue: input.queue, back };
      const refused = deps.csrf.refusal(actor.ltik, body.csrf);
      if (refused) return csrfPage(sent, refused, 'recorded', input.detail);
      const access = await authorise(deps, actor, userId);
      const name = access.member?.name ?? `User ${userId}`;
      const named = scopeOf(actor, input.scope);
      if (named) requireScope(actor, named);
      const ctx = formContext(deps.csrf, actor, userId);
      const valid = validateAdd(actor, input);
      if (!valid.ok) {
        const register = await readRegister(deps, actor, userId);
        // The form keeps the versions it was based on when they were versions, else carries the current ones.
        const version = named && versionOf(input.version, named) !== null ? input.version : registerVersions(register.sets);
        return renderPage(
          sent,
          name,
          {
            status: 422,
            code: 'invalid_accommodation',
            heading: 'Some of the fields need changing',
            message: 'Nothing was recorded. The fields marked below say what to change; your text is kept.',
          },
          { addForm: addFormView(ctx, { ...input, version }, valid.errors), register: { inEffect: inEffectNow(register, actor) } },
        );
      }
      const v = valid.value;
      const result = await deps.accommodations.change({
        scope: storeScope(actor, userId, v.scope),
        author: reviewAuthorOf(actor),
        expectedVersion: v.version,
        add: { kind: v.kind, detail: v.detail },
        audit: {
          ...auditEntryOf(actor, res, 'accommodation.add', `accommodations ${v.scope} v${v.version + 1}`),
          subjectUserId: userId,
          // Where it applies; never what it is (the register holds that, under its own retention).
          detail: { scope: v.scope },
        },
      });
      if (result.outcome === 'conflict') {
        const register = await readRegister(deps, actor, userId);
        return conflictPage(sent, name, 'recorded', { set: result.current, basedOn: v.version, scope: v.scope }, register, {
          addForm: addFormView(ctx, { ...input, version: registerVersions(register.sets) }),
        });
      }
      if (result.outcome === 'unknown_accommodation') throw new Error('an added accommodation was answered unknown_accommodation');
      // Written, or a double submit of a change that was: the version the viewer's change made.
      const saved = result.outcome === 'duplicate' ? v.version + 1 : result.version;
      res.redirect(
        303,
        `${hrefWithLtik(learnerPath(userId), actor.ltik, { queue: input.queue, saved: `${v.scope}-${saved}` })}#accommodations`,
      );
    } catch (err) {
      next(err);
    }
  });

  r.post('/learners/:userId/accommodations/:id/remove', async (req, res, next) => {
    try {
      const actor = actorOf(res);
      requireRegisterWriter(actor);
      const userId = learnerId(req, actor);
      const id = req.params.id ?? '';
      if (!ACCOMMODATION_ID.test(id)) throw new HttpError(400, 'invalid_accommodation_id', 'That is not an accommodation of the register.');
      const body = bodyOf(req);
      const input = { scope: typed(body.scope), version: typed(body.version), queue: carriedQueue(body.queue) };
      const back = `${hrefWithLtik(learnerPath(userId), actor.ltik, { queue: input.queue })}#accommodations`;
      const sent: Sent = { res, actor, userId, queue: input.queue, back };
      const refused = deps.csrf.refusal(actor.ltik, body.csrf);
      if (refused) return csrfPage(sent, refused, 'removed', '');
      const access = await authorise(deps, actor, userId);
      const name = access.member?.name ?? `User ${userId}`;
      const register = await readRegister(deps, actor, userId);
      const entry: Accommodation | undefined = registerEntries(register.sets).find((a) => a.id === id);
      // An id that names no entry of this learner's register where the launch reads it (another learner's, another course's).
      if (!entry) throw new HttpError(404, 'unknown_accommodation', 'That accommodation is not on record for this learner here.');
      requireScope(actor, entry.scope);
      const ctx = formContext(deps.csrf, actor, userId);
      const scope = input.scope === 'course' || input.scope === 'platform' ? input.scope : null;
      const expected = scope === entry.scope ? versionOf(input.version, scope) : null;
      if (expected === null) {
        return renderPage(
          sent,
          name,
          {
            status: 422,
            code: 'invalid_accommodation',
            heading: 'The form needs sending again',
            message: `Nothing was removed. ${VERSION_MISSING}`,
          },
          {
            register: { inEffect: inEffectNow(register, actor) },
            removeForm: entry.removed ? null : removeFormView(ctx, entry, registerVersions(register.sets), input.queue),
          },
        );
      }
      const result = await deps.accommodations.change({
        scope: storeScope(actor, userId, entry.scope),
        author: reviewAuthorOf(actor),
        expectedVersion: expected,
        remove: { id },
        audit: {
          ...auditEntryOf(actor, res, 'accommodation.remove', `accommodations ${entry.scope} v${expected + 1}`),
          subjectUserId: userId,
          detail: { scope: entry.scope, accommodationId: id },
        },
      });
      if (result.outcome === 'conflict' || result.outcome === 'unknown_accommodation') {
        // Moved on since the form (or the entry already removed by someone else): what changed, and the button again while
        // the entry is still in effect.
        const now = await readRegister(deps, actor, userId);
        const set = now.sets[entry.scope];
        const still = set.entries.find((a) => a.id === id && a.removed === null);
        return conflictPage(sent, name, 'removed', { set, basedOn: expected, scope: entry.scope }, now, {
          removeForm: still ? removeFormView(ctx, still, registerVersions(now.sets), input.queue) : null,
        });
      }
      const saved = result.outcome === 'duplicate' ? expected + 1 : result.version;
      res.redirect(
        303,
        `${hrefWithLtik(learnerPath(userId), actor.ltik, { queue: input.queue, saved: `${entry.scope}-${saved}` })}#accommodations`,
      );
    } catch (err) {
      next(err);
    }
  });

  return r;
}
