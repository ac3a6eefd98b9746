/**
 * An administrator's export, then erasure, of one learner's review data (docs/product.md "Retention"): everything the tool
 * holds about the learner in the admin's LMS registration (issuer and client id), whatever course the admin launched from
 * (src/store/retention.ts `learnerReviewData`: review records with their status changes, notes and session marks in every
 * course, responses, accommodations on record, "seen" markers). The audit log is not part of it and is kept: it records
 * who saw the learner's data, and the erasure itself.
 *
 * - `GET /admin/learners/:userId/data`: the learner, the counts of what is held, the data's fingerprint, a download link
 *   and the erase form (audited `view.learner_data`).
 * - `GET /admin/learners/:userId/data.json`: the export, audited `export.learner_data` before it is sent.
 * - `POST /admin/learners/:userId/erase` (fields `fingerprint`, `confirm`, `csrf`, `ltik`), checked as the review writes
 *   are (docs/architecture.md "Writes"): admins only, the learner id, the CSRF token (403, nothing erased), the typed
 *   confirmation (422 `invalid_erase`, the form kept), then the fingerprint: the erasure runs only if the data is still the
 *   data the page showed (or the export held), in one transaction with its audit row `learner_data.erase` whose `detail`
 *   has the counts; otherwise 409 `learner_data_changed` with the counts as they are now, nothing deleted. A success is a
 *   303 to the page (`?erased=1`), which says what was erased when the newest erasure of this learner was the viewer's.
 */
import crypto from 'node:crypto';
import { Router, type Response } from 'express';
import { reviewDataCounts, type LearnerReviewData, type ReviewDataCounts } from '../store/retention';
import { actorOf, hrefWithLtik, learnerInRegistration, type Actor } from './actor';
import { auditEntryOf, auditView } from './audit';
import type { CsrfTokens } from './csrf';
import { forbidden, problemView, type FormProblem, type HttpError } from './errors';
import { clip, formatDateTime } from './format';
import { bodyOf, typed } from './formText';
import { searchKnownMembers } from './knownMembers';
import { authorise, learnerId, type LearnerDataDeps } from './learnerAccess';
import { sendJsonExport } from './lists';
import { navFor } from './nav';
import type { LearnerDataStore } from './ports';

export interface LearnerDataPageDeps extends LearnerDataDeps {
  learnerData: LearnerDataStore;
  csrf: CsrfTokens;
}

const dataPath = (userId: string) => `/admin/learners/${encodeURIComponent(userId)}/data`;
const erasePath = (userId: string) => `/admin/learners/${encodeURIComponent(userId)}/erase`;

/** The link to a learner's review data page, for an administrator; null for anyone else. */
export function learnerDataHref(actor: Actor, userId: string): string | null {
  return actor.audience === 'admin' ? hrefWithLtik(dataPath(userId), actor.ltik) : null;
}

function adminOnly(res: Response): Actor {
  const actor = actorOf(res);
  if (actor.audience !== 'admin') throw forbidden('Exporting and erasing a learner’s review data is for administrators.');
  return actor;
}

// ---------------------------------------------------------------------------------------------------------------------
// The data and its fingerprint

/** JSON with every object's keys in order (times as ISO-8601, as JSON.stringify writes them): one text per content. */
export function canonicalJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map(norm);
    if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .filter((k) => o[k] !== undefined)
          .map((k) => [k, norm(o[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(norm(value));
}

/**
 * The fingerprint of a learner's review data: sha256 (hex) of the canonical JSON of what anyone wrote about them (review
 * records with their history, notes and marks; responses; accommodation sets). The "seen" markers are left out: staff
 * opening the learner's page moves them, and that is not a change the admin has to see again before erasing.
 */
export function reviewDataFingerprint(data: LearnerReviewData): string {
  const { reviewRecords, responses, accommodationSets } = data;
  return crypto.createHash('sha256').update(canonicalJson({ reviewRecords, responses, accommodationSets })).digest('hex');
}

const FINGERPRINT = /^[0-9a-f]{64}$/;

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`;

/** The counts in words, in the order the page lists them. */
function countLines(counts: Partial<ReviewDataCounts>, courses: number | null) {
  const n = (v: number | undefined) => v ?? 0;
  return [
    {
      key: 'reviewRecords',
      text: `${plural(n(counts.reviewRecords), 'review record', 'review records')}${courses ? ` in ${plural(courses, 'course', 'courses')}` : ''}`,
    },
    { key: 'statusChanges', text: plural(n(counts.statusChanges), 'status change', 'status changes') },
    { key: 'notes', text: plural(n(counts.notes), 'note', 'notes') },
    { key: 'sessionMarks', text: plural(n(counts.sessionMarks), 'session mark', 'session marks') },
    { key: 'responses', text: plural(n(counts.responses), 'response', 'responses') },
    { key: 'accommodations', text: plural(n(counts.accommodations), 'accommodation on record', 'accommodations on record') },
  ];
}

function totalOf(counts: ReviewDataCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** The courses (LMS course ids) the learner has review records in. */
function coursesOf(data: LearnerReviewData): string[] {
  return [...new Set(data.reviewRecords.map((r) => r.context_id))];
}

/** What the page and the answers to a write show of the data: counts, courses and the fingerprint. */
function heldView(data: LearnerReviewData) {
  const counts = reviewDataCounts(data);
  const courses = coursesOf(data);
  return {
    lines: countLines(counts, courses.length),
    courses: courses.slice(0, 50).map((c) => clip(c, 80)),
    moreCourses: courses.length > 50 ? courses.length - 50 : 0,
    seen: plural(data.responsesSeen.length, '“seen” marker', '“seen” markers'),
    total: totalOf(counts),
    empty: totalOf(counts) === 0 && data.responsesSeen.length === 0,
    fingerprint: reviewDataFingerprint(data),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The page

/** The learner's name where the tool knows it: the launch course's roster, else a roster it has read for this LMS. */
async function nameOf(deps: LearnerDataDeps, actor: Actor, userId: string): Promise<string | null> {
  const access = await authorise(deps, actor, userId);
  if (access.member?.name) return access.member.name;
  const known = await searchKnownMembers(deps.cache, actor, userId).catch(() => []);
  return known.find((m) => m.userId === userId)?.name ?? null;
}

/** Whether the newest erasure of this learner in the registration was the viewer's: its counts, for "Erased: …". */
async function erasedByViewer(deps: LearnerDataDeps, actor: Actor, userId: string) {
  const page = await deps.audit.list({
    limit: 1,
    subject: userId,
    action: 'learner_data.erase',
    platformIss: actor.platform.issuer,
    platformClientId: actor.platform.clientId,
  });
  const entry = page.items[0];
  if (!entry || entry.actorUserId !== (actor.userId ?? actor.sub)) return null;
  const d = (typeof entry.detail === 'object' && entry.detail !== null && !Array.isArray(entry.detail) ? entry.detail : {}) as Record<
    string,
    unknown
  >;
  const num = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : 0);
  const counts: ReviewDataCounts = {
    reviewRecords: num('reviewRecords'),
    statusChanges: num('statusChanges'),
    notes: num('notes'),
    sessionMarks: num('sessionMarks'),
    responses: num('responses'),
    accommodations: num('accommodations'),
  };
  return {
    // What was deleted, in words; the kinds there were none of are left out.
    text:
      countLines(counts, null)
        .filter((l) => counts[l.key as keyof ReviewDataCounts] > 0)
        .map((l) => l.text)
        .join(', ') || 'nothing (no review data was held)',
    at: formatDateTime(entry.at),
    iso: entry.at.toISOString(),
  };
}

interface EraseForm {
  confirm: string;
  fingerprint: string;
  errors: Partial<Record<'confirm' | 'fingerprint', { id: string; message: string }>>;
}

interface PageContent {
  name: string | null;
  held?: ReturnType<typeof heldView>;
  form?: EraseForm;
  problem?: FormProblem;
  erased?: Awaited<ReturnType<typeof erasedByViewer>>;
}

function render(res: Response, actor: Actor, deps: LearnerDataPageDeps, userId: string, c: PageContent): void {
  const errors = c.form?.errors ?? {};
  const summary = [
    ...(errors.confirm ? [{ href: '#erase-confirm', message: errors.confirm.message }] : []),
    ...(errors.fingerprint ? [{ href: '#erase-submit', message: errors.fingerprint.message }] : []),
  ];
  const label = c.name ? clip(c.name, 120) : `User ${clip(userId, 80)}`;
  res.status(c.problem?.status ?? 200).render('pages/admin-learner-data', {
    title: `Review data · ${clip(label, 80)}`,
    nav: navFor(actor, 'lookup'),
    who: actor.displayName,
    breadcrumbs: [
      { label: 'Find a student', href: hrefWithLtik('/admin/lookup', actor.ltik) },
      { label: clip(label, 80), href: hrefWithLtik(`/learners/${encodeURIComponent(userId)}`, actor.ltik) },
      { label: 'Review data' },
    ],
    learner: { name: c.name ? clip(c.name, 120) : null, userId: clip(userId, 255) },
    platform: { name: clip(actor.platform.name, 120), retentionDays: actor.platform.retentionDays.toLocaleString('en-GB') },
    problem: c.problem ? problemView(res, c.problem) : null,
    erased: c.erased ?? null,
    held: c.held ?? null,
    exportHref: hrefWithLtik(`${dataPath(userId)}.json`, actor.ltik),
    pageHref: hrefWithLtik(dataPath(userId), actor.ltik),
    form:
      c.form && c.held && (!c.held.empty || c.problem)
        ? {
            action: erasePath(userId),
            ltik: actor.ltik,
            csrf: deps.csrf.tokenFor(actor.ltik),
            fingerprint: c.form.fingerprint,
            confirm: c.form.confirm,
            errors,
            summary: summary.length ? summary : null,
          }
        : null,
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// The routes

export function learnerDataRouter(deps: LearnerDataPageDeps): Router {
  const r = Router();

  r.get('/admin/learners/:userId/data', async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const userId = learnerId(req, actor);
      const name = await nameOf(deps, actor, userId);
      const who = learnerInRegistration(actor, userId);
      const data = await deps.learnerData.read(who);
      await auditView(deps.audit, actor, res, 'view.learner_data', userId);
      const held = heldView(data);
      const erased = req.query.erased === '1' ? await erasedByViewer(deps, actor, userId) : null;
      render(res, actor, deps, userId, { name, held, erased, form: { confirm: '', fingerprint: held.fingerprint, errors: {} } });
    } catch (err) {
      next(err);
    }
  });

  r.get('/admin/learners/:userId/data.json', async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const userId = learnerId(req, actor);
      const who = learnerInRegistration(actor, userId);
      const data = await deps.learnerData.read(who);
      const counts = reviewDataCounts(data);
      const fingerprint = reviewDataFingerprint(data);
      // Audited before anything is sent: if the row cannot be written, the export fails.
      await deps.audit.record({
        ...auditEntryOf(actor, res, 'export.learner_data', `fingerprint ${fingerprint.slice(0, 16)}`),
        subjectUserId: userId,
        detail: { ...counts },
      });
      sendJsonExport(res, `learner-data-${userId}`, {
        exportedAt: new Date().toISOString(),
        registration: { issuer: actor.platform.issuer, clientId: actor.platform.clientId, name: actor.platform.name },
        userId,
        counts,
        fingerprint,
        fingerprintCovers: ['reviewRecords', 'responses', 'accommodationSets'],
        data,
      });
    } catch (err) {
      next(err);
    }
  });

  r.post('/admin/learners/:userId/erase', async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const userId = learnerId(req, actor);
      const body = bodyOf(req);
      const input = { confirm: typed(body.confirm), fingerprint: typed(body.fingerprint) };
      const refused: HttpError | null = deps.csrf.refusal(actor.ltik, body.csrf);
      if (refused) {
        // Nothing read, nothing erased; no form to send on with.
        return render(res, actor, deps, userId, {
          name: null,
          problem: {
            status: 403,
            code: refused.code,
            heading: 'Nothing was erased',
            message: refused.message,
            hints: refused.hints,
          },
        });
      }
      const name = await nameOf(deps, actor, userId);
      const who = learnerInRegistration(actor, userId);
      const errors: EraseForm['errors'] = {};
      if (input.confirm !== userId)
        errors.confirm = {
          id: 'erase-confirm-error',
          message:
            input.confirm === ''
              ? 'Type the learner’s user id to confirm the erasure.'
              : `“${clip(input.confirm, 40)}” is not this learner’s user id. Type it exactly as shown to confirm the erasure.`,
        };
      if (!FINGERPRINT.test(input.fingerprint))
        errors.fingerprint = {
          id: 'erase-fingerprint-error',
          message:
            'The form did not say which data it was based on. It now carries the fingerprint of the data shown here; check the counts and send it again.',
        };
      if (errors.confirm || errors.fingerprint) {
        const held = heldView(await deps.learnerData.read(who));
        return render(res, actor, deps, userId, {
          name,
          held,
          form: { confirm: input.confirm, fingerprint: errors.fingerprint ? held.fingerprint : input.fingerprint, errors },
          problem: {
            status: 422,
            code: 'invalid_erase',
            heading: 'Nothing was erased: the form needs changing',
            message: 'The field marked below says what to change.',
          },
        });
      }
      const result = await deps.learnerData.erase(
        who,
        (data) => reviewDataFingerprint(data) === input.fingerprint,
        (counts) => ({ ...auditEntryOf(actor, res, 'learner_data.erase'), subjectUserId: userId, detail: { ...counts } }),
      );
      if (result.outcome === 'changed') {
        const held = heldView(result.data);
        // Nothing left to erase (this form sent twice, or erased by someone else or by retention meanwhile): the page says so.
        if (held.total === 0) return res.redirect(303, `${hrefWithLtik(dataPath(userId), actor.ltik, { erased: 1 })}#erased`);
        return render(res, actor, deps, userId, {
          name,
          held,
          form: { confirm: input.confirm, fingerprint: held.fingerprint, errors: {} },
          problem: {
            status: 409,
            code: 'learner_data_changed',
            heading: 'Nothing was erased: the data changed',
            message:
              'Something was written about this learner since you opened this page or downloaded the export, so nothing was erased. The counts below are the data as it is now.',
            hints: ['Download the export again, check it, then erase: the form below now carries the current data’s fingerprint.'],
          },
        });
      }
      res.redirect(303, `${hrefWithLtik(dataPath(userId), actor.ltik, { erased: 1 })}#erased`);
    } catch (err) {
      next(err);
    }
  });

  return r;
}
