/**
 * The accommodations register as the staff's pages show it (docs/product.md "Accommodations"): the learner page's panel
 * (views/partials/accommodations-panel.hbs), the add and remove forms, the changes a 409 page lists, and the register in
 * `review.json`. The writes are src/web/accommodations.ts; which signals each kind explains, and what that does to a
 * level, is the risk model's (src/risk/accommodations.ts).
 *
 * Who changes which part of the register:
 * - an instructor of the launch course (not a teaching assistant): that course's entries (scope `course`);
 * - an admin: the entries for every course of the LMS registration (scope `platform`), and, launched from a course, that
 *   course's entries too (as an admin reads and writes a review in the course they launched from);
 * - a teaching assistant reads the register and changes nothing; a student never sees the staff's register (the student
 *   pages say only that an accommodation is on record for them).
 *
 * Each scope's set has its own version. A form carries the register's versions as the page showed them,
 * `<course>.<platform>` (`3.1`); the write lands only if the set of the scope it writes is still at that version. A bare
 * number is also read, as the version of the set written (a script's form). The redirect after a write names the set and
 * the version the write made, `saved=course-4` or `saved=platform-2`, so the review panel's own `saved` (a bare number)
 * never confirms an accommodation, nor the other way round.
 */
import { staffRoleLabel } from '../lti/roles';
import { ACCOMMODATION_KINDS, accommodationKind, describeFlag } from '../risk';
import type { Accommodation, AccommodationSet, LearnerAccommodations } from '../store/accommodations';
import { registerEntries, type Register } from './accommodationContext';
import type { Actor } from './actor';
import type { CsrfTokens } from './csrf';
import { clip, displayText } from './format';
import { carriedQueue } from './queue';
import { noCourseError } from './reviewAccess';
import { authorView, byView, when } from './reviewView';

/** The longest description kept, in characters (code points), as the database checks it (migration 008). */
export const MAX_ACCOMMODATION_DETAIL = 1000;

export type AccommodationScope = 'course' | 'platform';

export const learnerPath = (userId: string) => `/learners/${encodeURIComponent(userId)}`;

/** Whether the launch's roles make its user a teaching assistant (src/lti/roles.ts): a TA reads the register only. */
export function isTeachingAssistant(actor: Actor): boolean {
  return actor.audience === 'instructor' && staffRoleLabel(actor.roles) === 'Teaching assistant';
}

/** Whether the launch may record or remove accommodations at all: an instructor who is not a TA, or an admin. */
export function mayChangeRegister(actor: Actor): boolean {
  return actor.audience === 'admin' || (actor.audience === 'instructor' && !isTeachingAssistant(actor));
}

/** The scopes this launch may change, the default first: none for a student or a TA; a course's needs a course. */
export function writableScopes(actor: Actor): AccommodationScope[] {
  if (!mayChangeRegister(actor)) return [];
  if (actor.audience === 'admin') return actor.context.id ? ['platform', 'course'] : ['platform'];
  return actor.context.id ? ['course'] : [];
}

/** Why this launch cannot change the register (shown instead of the forms); null when it can change some of it. */
function readOnlyReason(actor: Actor): string | null {
  if (writableScopes(actor).length > 0) return null;
  if (isTeachingAssistant(actor))
    return 'Teaching assistants read the register; the course’s instructors and administrators record and remove accommodations.';
  return `Accommodations for one course are recorded from that course: ${noCourseError().message}`;
}

/** The versions a form carries: `<course>.<platform>`. */
export const registerVersions = (sets: LearnerAccommodations) => `${sets.course.version}.${sets.platform.version}`;

const ONE = /^(0|[1-9]\d{0,8})$/;
const BOTH = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

/** The version of `scope`'s set a form was based on, or null when `sent` is not a version. */
export function versionOf(sent: string, scope: AccommodationScope): number | null {
  const both = BOTH.exec(sent);
  if (both) return Number(scope === 'course' ? both[1] : both[2]);
  return ONE.test(sent) ? Number(sent) : null;
}

/** Where an entry applies, in words: "this course", or "every course on Demo Canvas". */
export function scopeWords(scope: AccommodationScope, actor: Actor): string {
  return scope === 'course' ? 'this course' : `every course on ${clip(actor.platform.name, 80)}`;
}

/** The signals a kind explains, each with the risk model's description (src/risk/flags.ts). */
function explainsView(kind: string) {
  return (accommodationKind(kind)?.signals ?? []).map((code) => ({ code, description: describeFlag(code) }));
}

const labelOf = (kind: string) => accommodationKind(kind)?.label ?? clip(kind, 60);

/**
 * An entry's description as a page shows it: the templates escape it; bidirectional controls are dropped (displayText), as
 * from a student's response or upstream text, in its own `dir="auto"` block.
 */
const detailShown = (detail: string | null) => (detail === null ? null : displayText(detail));

/** One entry as the panel, the answer pages and the case packet show it. */
export function entryView(a: Accommodation, actor: Actor) {
  return {
    id: a.id,
    kind: a.kind,
    label: labelOf(a.kind),
    explains: explainsView(a.kind),
    detail: detailShown(a.detail),
    scope: a.scope,
    where: scopeWords(a.scope, actor),
    ...when(a.addedAt),
    ...byView(a.addedBy),
    removed: a.removed ? { ...when(a.removed.at), ...byView(a.removed.by) } : null,
  };
}

/** Every change of `scope`'s set after `version`, oldest first: what someone else saved while a form was open. */
export function changesSince(set: AccommodationSet, version: number, scope: AccommodationScope, actor: Actor) {
  const where = scopeWords(scope, actor);
  const changes = set.entries.flatMap((a) => [
    ...(a.addedVersion > version
      ? [
          {
            version: a.addedVersion,
            ...when(a.addedAt),
            ...byView(a.addedBy),
            what: `Recorded for ${where}: ${labelOf(a.kind)}`,
            text: detailShown(a.detail),
          },
        ]
      : []),
    ...(a.removed && a.removed.version > version
      ? [
          {
            version: a.removed.version,
            ...when(a.removed.at),
            ...byView(a.removed.by),
            what: `Removed for ${where}: ${labelOf(a.kind)}`,
            text: null,
          },
        ]
      : []),
  ]);
  return changes.sort((x, y) => x.version - y.version);
}

// ---------------------------------------------------------------------------------------------------------------------
// Forms

export type AddField = 'kind' | 'detail' | 'scope' | 'version';

/** Where an error summary's link takes the keyboard: the field itself (a radio group: its first radio). */
export const ADD_FIELD_IDS: Record<AddField, string> = {
  kind: 'accommodation-kind',
  detail: 'accommodation-detail',
  scope: 'accommodation-scope',
  version: 'accommodation-submit',
};

/** An add form as it was sent (each field read with src/web/formText.ts `typed`). */
export interface AddInput {
  kind: string;
  detail: string;
  scope: string;
  version: string;
  queue: string | null;
}

export interface FormContext {
  actor: Actor;
  userId: string;
  csrf: string;
}

export function formContext(csrf: CsrfTokens, actor: Actor, userId: string): FormContext {
  return { actor, userId, csrf: csrf.tokenFor(actor.ltik) };
}

/** The add form's view-model (views/partials/accommodation-add-form.hbs): empty, or as sent with its errors. */
export function addFormView(ctx: FormContext, input: AddInput, errors: Array<[AddField, string]> = []) {
  const scopes = writableScopes(ctx.actor);
  const marks = Object.fromEntries(errors.map(([f, message]) => [f, { id: `accommodation-${f}-error`, message }])) as Partial<
    Record<AddField, { id: string; message: string }>
  >;
  const chosenScope = scopes.includes(input.scope as AccommodationScope) ? input.scope : scopes[0];
  const course = ctx.actor.context;
  return {
    action: `${learnerPath(ctx.userId)}/accommodations`,
    ltik: ctx.actor.ltik,
    csrf: ctx.csrf,
    version: input.version,
    queue: input.queue,
    kinds: ACCOMMODATION_KINDS.map((k, i) => ({
      value: k.kind,
      id: i === 0 ? ADD_FIELD_IDS.kind : `accommodation-kind-${k.kind}`,
      label: k.label,
      explains: explainsView(k.kind),
      checked: input.kind === k.kind,
    })),
    detail: input.detail,
    // Offered only when the launch may write both (an admin in a course); otherwise the one it may write goes hidden.
    scopes:
      scopes.length > 1
        ? scopes.map((s, i) => ({
            value: s,
            id: i === 0 ? ADD_FIELD_IDS.scope : `accommodation-scope-${s}`,
            label:
              s === 'platform'
                ? `Every course on ${clip(ctx.actor.platform.name, 80)}`
                : `This course only${course.title ? ` (${clip(course.title, 80)})` : course.label ? ` (${clip(course.label, 40)})` : ''}`,
            checked: chosenScope === s,
          }))
        : null,
    fixedScope: scopes.length === 1 ? scopes[0] : null,
    fixedScopeWords: scopes.length === 1 ? scopeWords(scopes[0]!, ctx.actor) : null,
    errors: marks,
    summary: errors.length ? errors.map(([f, message]) => ({ href: `#${ADD_FIELD_IDS[f]}`, message })) : null,
    max: MAX_ACCOMMODATION_DETAIL.toLocaleString('en-GB'),
  };
}

/** One entry's remove button (views/partials/accommodation-remove-form.hbs). */
export function removeFormView(ctx: FormContext, a: Accommodation, version: string, queue: string | null) {
  return {
    action: `${learnerPath(ctx.userId)}/accommodations/${encodeURIComponent(a.id)}/remove`,
    ltik: ctx.actor.ltik,
    csrf: ctx.csrf,
    version,
    scope: a.scope,
    queue,
    label: labelOf(a.kind),
    where: scopeWords(a.scope, ctx.actor),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The learner page's panel

const SAVED = /^(course|platform)-(0|[1-9]\d{0,8})$/;

/**
 * Whether to say "Saved.": only for a change at the set and version the redirect names that the viewer made themself (the
 * same LMS user id), so a crafted link cannot show a false confirmation (docs/product.md "Writes").
 */
function savedByViewer(actor: Actor, given: unknown, sets: LearnerAccommodations): boolean {
  const m = typeof given === 'string' ? SAVED.exec(given) : null;
  if (!m) return false;
  const version = Number(m[2]);
  const me = actor.userId ?? actor.sub;
  return sets[m[1] as AccommodationScope].entries.some(
    (a) =>
      (a.addedVersion === version && a.addedBy.lmsUserId === me) ||
      (a.removed !== null && a.removed.version === version && a.removed.by.lmsUserId === me),
  );
}

/**
 * The register on the staff's learner page: what is in effect (with a remove button where the viewer may remove it), what
 * was removed, and the add form; read-only for a TA. Null for a student: their pages say only that an accommodation is on
 * record for them, never the staff's wording.
 */
export function accommodationPanelView(
  deps: { csrf: CsrfTokens },
  actor: Actor,
  userId: string,
  query: Record<string, unknown>,
  register: Register,
) {
  if (actor.audience === 'student') return null;
  const { sets } = register;
  const ctx = formContext(deps.csrf, actor, userId);
  const scopes = writableScopes(actor);
  const version = registerVersions(sets);
  const queue = carriedQueue(query.queue);
  return {
    saved: savedByViewer(actor, query.saved, sets),
    outsideCourse: actor.context.id
      ? null
      : `This launch did not come from a course: only the accommodations for every course on ${clip(actor.platform.name, 80)} are shown.`,
    inEffect: register.inEffect.map((a) => ({
      ...entryView(a, actor),
      remove: scopes.includes(a.scope) ? removeFormView(ctx, a, version, queue) : null,
    })),
    // Newest removal first: the change a reader looks for is the last one.
    removed: registerEntries(sets)
      .filter((a) => a.removed !== null)
      .sort((x, y) => y.removed!.at.getTime() - x.removed!.at.getTime() || Number(y.id) - Number(x.id))
      .map((a) => entryView(a, actor)),
    form: scopes.length > 0 ? addFormView(ctx, { kind: '', detail: '', scope: scopes[0]!, version, queue }) : null,
    readOnly: readOnlyReason(actor),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// review.json

/**
 * The register in `GET /learners/:userId/review.json`: every entry, in effect or removed (the course's, then the LMS's,
 * each oldest first), and each set's version, which a write form is based on.
 */
export function accommodationsJson(sets: LearnerAccommodations) {
  return {
    accommodations: registerEntries(sets).map((a) => ({
      id: a.id,
      kind: a.kind,
      label: labelOf(a.kind),
      signals: [...(accommodationKind(a.kind)?.signals ?? [])],
      detail: a.detail,
      scope: a.scope,
      addedAt: a.addedAt.toISOString(),
      addedBy: authorView(a.addedBy),
      removed: a.removed ? { at: a.removed.at.toISOString(), by: authorView(a.removed.by) } : null,
    })),
    accommodationVersions: { course: sets.course.version, platform: sets.platform.version },
  };
}
