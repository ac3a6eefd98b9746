/**
 * LMS registrations in the tool (docs/product.md "Installing the tool"): the admins' list of every registration with its
 * status, one registration's page with its settings form, and the two writes, its settings and its status. Who may do
 * what is src/web/access.ts; what the pages show, and the reading of the form into each setting's one rule,
 * src/web/registrationsView.ts; the store, src/store/registrations.ts.
 *
 * The writes are plain POST forms, as every write of the tool (docs/architecture.md "Writes", src/web/accommodations.ts),
 * checked in this order: an admin (403), the registration id (404), the CSRF token bound to the launch (403
 * `csrf_failed`, nothing written, the typed values shown read-only to copy), the registration and who may change it (403;
 * a PLATFORMS_JSON registration is `registration_read_only`), then the fields (422 `invalid_settings`, the form again with
 * the values kept and each field marked). A change lands only at the version the form was based on, with its audit row
 * (`registration.settings`, `registration.status`, filed under the registration changed) in the same transaction; a moved
 * version is a 409 `settings_conflict` page listing what was saved since (from the audit log) with the form again. A change
 * that lands, or a double submit of it, is a 303 to the registration's page (`?saved=<version>`), which says "Saved" and
 * what changed only when the viewer wrote that version.
 *
 * The isnotai API key is write-only: typed into an always-empty password field, encrypted by the store, never echoed (not
 * even on a 422: the reader is asked to type it again), logged or put in an audit row; pages say only "set" or "not set".
 *
 * Deactivating one's own registration ends one's own session at once (src/web/actor.ts refuses every page of an inactive
 * registration), so it asks for a confirmation and its redirect lands on a page that needs no active registration
 * (registrationLandingRouter, mounted before the actor is resolved).
 */
import { Router, type Response } from 'express';
import type { LtiIdToken } from 'ltijs';
import type { Registration, RegistrationStore } from '../store/registrations';
import { isOwnRegistration, mayChangeRegistrationStatus, mayEditRegistration, mayOpenRegistration } from './access';
import { actorOf, hrefWithLtik, type Actor } from './actor';
import { auditEntryOf } from './audit';
import type { CsrfTokens } from './csrf';
import { forbidden, HttpError, notFound, problemView, type FormProblem } from './errors';
import { clip } from './format';
import { bodyOf, typed } from './formText';
import { navFor } from './nav';
import type { AuditSink } from './ports';
import {
  changedWords,
  conflictValues,
  historyView,
  readSettings,
  registrationPath,
  registrationSummary,
  registrationValues,
  settingsFormView,
  SETTINGS_ACTION,
  STATUS_ACTION,
  storedInput,
  typedCopy,
  VERSION_MISSING,
  versionOf,
  versionWritten,
  type SettingsInput,
} from './registrationsView';

export interface RegistrationPageDeps {
  registrations: RegistrationStore;
  audit: AuditSink;
  csrf: CsrfTokens;
  /** Re-reads the active registrations' origins for the headers (framing, form posts): an activation counts at once. */
  refreshPlatformOrigins?: () => Promise<void>;
}

/** A registration's id in a path: the store's bigserial. */
const REGISTRATION_ID = /^[1-9]\d{0,17}$/;

function adminOnly(res: Response): Actor {
  const actor = actorOf(res);
  if (actor.audience !== 'admin') throw forbidden('The registrations of the tool are for administrators.');
  return actor;
}

function registrationId(raw: string | undefined): string {
  if (!raw || !REGISTRATION_ID.test(raw)) throw notFound('There is no such registration.');
  return raw;
}

async function registrationOf(deps: RegistrationPageDeps, id: string): Promise<Registration> {
  const reg = await deps.registrations.get(id);
  if (!reg) throw notFound('There is no such registration.');
  return reg;
}

const readOnlyError = () =>
  new HttpError(
    403,
    'registration_read_only',
    'This registration is set by the operator in PLATFORMS_JSON, which wins at every start, so it cannot be changed in the tool.',
    undefined,
    ['Ask the tool’s operator to change PLATFORMS_JSON and restart the tool.'],
  );

/** 403 unless the launch may open this registration's page. */
function requireOpen(actor: Actor, reg: Registration): void {
  if (!mayOpenRegistration(actor, reg))
    throw forbidden('This is another LMS’s registration: only its own administrators, or those of a tool-wide registration, open it.');
}

/** 403 unless the launch may change this registration's settings. */
function requireEdit(actor: Actor, reg: Registration): void {
  requireOpen(actor, reg);
  if (reg.source === 'config') throw readOnlyError();
  if (!mayEditRegistration(actor, reg))
    throw forbidden('Only the administrators of this LMS change its settings; you may activate or deactivate it.');
}

function requireStatusChange(actor: Actor, reg: Registration): void {
  requireOpen(actor, reg);
  if (reg.source === 'config') throw readOnlyError();
  if (!mayChangeRegistrationStatus(actor, reg)) throw forbidden('You may not activate or deactivate this registration.');
}

/** What a form's settings input is, read from the body (the key as typed; it is checked and saved, never shown). */
function settingsInput(body: Record<string, unknown>): SettingsInput {
  return {
    displayName: typed(body.displayName),
    region: typed(body.region),
    baseUrl: typed(body.baseUrl),
    apiKey: typed(body.apiKey),
    removeKey: typed(body.removeKey) === 'yes',
    identity: typed(body.identity),
    identityPattern: typed(body.identityPattern),
    studentVisibility: typed(body.studentVisibility),
    high: typed(body.high),
    elevated: typed(body.elevated),
    deploymentIds: typed(body.deploymentIds),
    retentionDays: typed(body.retentionDays),
    version: typed(body.version),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// History

interface Written {
  version: number;
  entry: Awaited<ReturnType<AuditSink['list']>>['items'][number];
}

/** The registration's writes from its audit rows (both actions), oldest first; `actor` narrows to one writer's. */
async function historyOf(deps: RegistrationPageDeps, reg: Registration, actor?: string): Promise<Written[]> {
  const pages = await Promise.all(
    [SETTINGS_ACTION, STATUS_ACTION].map((action) =>
      deps.audit.list({ limit: 100, platformIss: reg.issuer, platformClientId: reg.clientId, action, ...(actor ? { actor } : {}) }),
    ),
  );
  return pages
    .flatMap((p) => p.items)
    .map((entry) => ({ entry, version: versionWritten(entry, reg.id) }))
    .filter((w): w is Written => w.version !== null)
    .sort((a, b) => a.version - b.version);
}

const viewerId = (actor: Actor) => actor.userId ?? actor.sub;

/** "Saved" and what changed, only for the version the redirect names when the viewer wrote it. */
async function savedNotice(deps: RegistrationPageDeps, actor: Actor, reg: Registration, query: Record<string, unknown>) {
  if (query.unchanged === '1') return { text: 'Nothing was changed: every setting already held the value sent.' };
  const version = versionOf(typeof query.saved === 'string' ? query.saved : '');
  if (version === null) return null;
  const mine = (await historyOf(deps, reg, viewerId(actor))).find((w) => w.version === version);
  if (!mine) return null;
  const detail = mine.entry.detail as Record<string, unknown> | null;
  const what = changedWords(detail?.changed);
  return { text: `Saved.${what ? ` Changed: ${what}.` : ''}` };
}

// ---------------------------------------------------------------------------------------------------------------------
// The pages

interface PageState {
  problem?: FormProblem;
  form?: ReturnType<typeof settingsFormView>;
  changes?: ReturnType<typeof historyView>[];
  nowValues?: ReturnType<typeof conflictValues>;
  confirmError?: string;
  saved?: { text: string } | null;
}

function listHref(actor: Actor) {
  return hrefWithLtik('/admin/registrations', actor.ltik);
}

function renderRegistration(res: Response, deps: RegistrationPageDeps, actor: Actor, reg: Registration, state: PageState = {}): void {
  const own = isOwnRegistration(actor, reg);
  const csrf = deps.csrf.tokenFor(actor.ltik);
  const editable = mayEditRegistration(actor, reg);
  const summary = registrationSummary(reg);
  const to = reg.status === 'active' ? 'inactive' : 'active';
  const confirm = own && to === 'inactive';
  res.status(state.problem?.status ?? 200).render('pages/registration-settings', {
    title: state.problem?.heading ?? `Settings for ${summary.name}`,
    nav: navFor(actor, own ? 'settings' : 'registrations'),
    who: actor.displayName,
    breadcrumbs: [{ label: 'Registrations', href: listHref(actor) }, { label: summary.name }],
    own,
    registration: summary,
    problem: state.problem ? problemView(res, state.problem) : null,
    saved: state.saved ?? null,
    // A registration just made by Dynamic Registration reads nothing until its key is added: say so first.
    needsKey: editable && !reg.hasApiKey && !state.problem,
    changes: state.changes ?? null,
    nowValues: state.nowValues?.length ? state.nowValues : null,
    form: editable
      ? (state.form ??
        settingsFormView(
          { action: `${registrationPath(reg.id)}/settings`, ltik: actor.ltik, csrf, hasApiKey: reg.hasApiKey, kind: reg.kind },
          storedInput(reg),
        ))
      : null,
    values: editable ? null : registrationValues(reg),
    readOnly: editable
      ? null
      : reg.source === 'config'
        ? 'Set by the operator in PLATFORMS_JSON, which wins at every start: these values are read-only here.'
        : 'This is another LMS’s registration: its own administrators change its settings. As an administrator of a tool-wide registration, you may activate or deactivate it.',
    statusForm: mayChangeRegistrationStatus(actor, reg)
      ? {
          action: `${registrationPath(reg.id)}/status`,
          ltik: actor.ltik,
          csrf,
          version: reg.version,
          to,
          label: to === 'active' ? 'Activate this registration' : 'Deactivate this registration',
          explain:
            to === 'active'
              ? `Its launches will open the tool. ${reg.hasApiKey ? '' : 'It has no isnotai API key yet: its administrators add one here.'}`.trim()
              : 'Its launches will be refused, and every session opened from it ends at once.',
          confirm: confirm ? { label: `I understand: launches from ${summary.name} stop at once, this session of mine included.` } : null,
          confirmError: state.confirmError ? { id: 'reg-confirm-error', message: state.confirmError } : null,
        }
      : null,
  });
}

/** 403 `csrf_failed`: nothing written, no form offered; what was typed (never the key) is shown read-only, to copy. */
function csrfPage(res: Response, actor: Actor, id: string, refused: HttpError, input: SettingsInput | null): void {
  const back = hrefWithLtik(registrationPath(id), actor.ltik);
  res.status(403).render('pages/registration-settings', {
    title: 'Nothing was saved',
    nav: navFor(actor, actor.platform.id === id ? 'settings' : 'registrations'),
    who: actor.displayName,
    breadcrumbs: [
      { label: 'Registrations', href: listHref(actor) },
      { label: `Registration ${id}`, href: back },
      { label: 'Nothing was saved' },
    ],
    problem: problemView(res, {
      status: 403,
      code: refused.code,
      heading: 'Nothing was saved',
      message: refused.message,
      hints: refused.hints,
    }),
    copy: input ? typedCopy(input) : null,
    keyNotKept: input && input.apiKey !== '' ? 'The API key you typed was not kept: type it again.' : null,
    back,
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// The routes

export function registrationRouter(deps: RegistrationPageDeps): Router {
  const r = Router();

  r.get('/admin/registrations', async (_req, res, next) => {
    try {
      const actor = adminOnly(res);
      const all = await deps.registrations.list();
      const shown = all.filter((reg) => actor.platform.toolWide || isOwnRegistration(actor, reg));
      const others = all.length - shown.length;
      const rows = shown.map((reg) => ({
        ...registrationSummary(reg),
        own: isOwnRegistration(actor, reg),
        href: hrefWithLtik(registrationPath(reg.id), actor.ltik),
      }));
      const pending = rows.filter((x) => x.pending).length;
      res.render('pages/registrations', {
        title: 'Registrations',
        nav: navFor(actor, 'registrations'),
        who: actor.displayName,
        toolWide: actor.platform.toolWide,
        rows,
        pending: pending
          ? `${pending.toLocaleString('en-GB')} ${pending === 1 ? 'registration is' : 'registrations are'} pending: ${pending === 1 ? 'it waits' : 'they wait'} for activation.`
          : null,
        others: others
          ? `${others.toLocaleString('en-GB')} other ${others === 1 ? 'registration is' : 'registrations are'} not shown: only the administrators of a tool-wide registration see every one.`
          : null,
      });
    } catch (err) {
      next(err);
    }
  });

  // The read-only settings page this replaces: its address leads to the launch's own registration.
  r.get('/admin/settings', (_req, res, next) => {
    try {
      const actor = adminOnly(res);
      res.redirect(303, hrefWithLtik(registrationPath(actor.platform.id), actor.ltik));
    } catch (err) {
      next(err);
    }
  });

  r.get('/admin/registrations/:id', async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const reg = await registrationOf(deps, registrationId(req.params.id));
      requireOpen(actor, reg);
      const saved = await savedNotice(deps, actor, reg, req.query as Record<string, unknown>);
      renderRegistration(res, deps, actor, reg, { saved });
    } catch (err) {
      next(err);
    }
  });

  r.post('/admin/registrations/:id/settings', async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const id = registrationId(req.params.id);
      const input = settingsInput(bodyOf(req));
      const refused = deps.csrf.refusal(actor.ltik, bodyOf(req).csrf);
      if (refused) return csrfPage(res, actor, id, refused, input);
      const reg = await registrationOf(deps, id);
      requireEdit(actor, reg);
      const ctx = {
        action: `${registrationPath(reg.id)}/settings`,
        ltik: actor.ltik,
        csrf: deps.csrf.tokenFor(actor.ltik),
        hasApiKey: reg.hasApiKey,
        kind: reg.kind,
      };
      const keyTyped = input.apiKey !== '';
      const read = readSettings(input);
      if (!read.ok) {
        // The form keeps the version it was based on when it was one, else carries the current one.
        const version = versionOf(input.version) !== null ? input.version : String(reg.version);
        return renderRegistration(res, deps, actor, reg, {
          problem: {
            status: 422,
            code: 'invalid_settings',
            heading: 'Some of the settings need changing',
            message: `Nothing was saved. The fields marked below say what to change; your values are kept${keyTyped ? ', except the API key: type it again' : ''}.`,
          },
          form: settingsFormView(ctx, { ...input, version }, read.errors, keyTyped),
        });
      }
      const result = await deps.registrations.change(id, read.changes, read.version, auditEntryOf(actor, res, SETTINGS_ACTION));
      if (result.kind === 'not_found') throw notFound('There is no such registration.');
      if (result.kind === 'conflict') {
        const current = result.current;
        const since = (await historyOf(deps, current)).filter((w) => w.version > read.version);
        return renderRegistration(res, deps, actor, current, {
          problem: {
            status: 409,
            code: 'settings_conflict',
            heading: 'Someone else changed these settings',
            message: `Nothing was saved: since you opened the form, the settings were changed (they are now at version ${current.version}). Read the changes below; your form keeps your values${keyTyped ? ' (except the API key: type it again)' : ''} and now carries the current version. Check each value the table below lists before sending it again: sending yours would replace what is there now.`,
          },
          changes: since.map((w) => historyView(w.entry, w.version)),
          nowValues: conflictValues(
            new Set(since.flatMap((w) => ((w.entry.detail as { changed?: unknown } | null)?.changed as string[] | undefined) ?? [])),
            current,
            input,
          ),
          form: settingsFormView({ ...ctx, hasApiKey: current.hasApiKey }, { ...input, version: String(current.version) }, [], keyTyped),
        });
      }
      if (result.kind === 'duplicate' && result.registration.version === read.version) {
        // Every setting already held what was sent: nothing written.
        return res.redirect(303, hrefWithLtik(registrationPath(id), actor.ltik, { unchanged: 1 }));
      }
      res.redirect(303, `${hrefWithLtik(registrationPath(id), actor.ltik, { saved: result.registration.version })}`);
    } catch (err) {
      next(err);
    }
  });

  r.post('/admin/registrations/:id/status', async (req, res, next) => {
    try {
      const actor = adminOnly(res);
      const id = registrationId(req.params.id);
      const body = bodyOf(req);
      const refused = deps.csrf.refusal(actor.ltik, body.csrf);
      if (refused) return csrfPage(res, actor, id, refused, null);
      const reg = await registrationOf(deps, id);
      requireStatusChange(actor, reg);
      const own = isOwnRegistration(actor, reg);
      const to = typed(body.status);
      const version = versionOf(typed(body.version));
      if ((to !== 'active' && to !== 'inactive') || version === null) {
        return renderRegistration(res, deps, actor, reg, {
          problem: {
            status: 422,
            code: 'invalid_settings',
            heading: 'The form needs sending again',
            message: `Nothing was changed. ${version === null ? VERSION_MISSING : 'The form did not say whether to activate or deactivate the registration; use one of the buttons below.'}`,
          },
        });
      }
      if (own && to === 'inactive' && typed(body.confirm) !== 'yes') {
        return renderRegistration(res, deps, actor, reg, {
          problem: {
            status: 422,
            code: 'confirmation_needed',
            heading: 'Confirm the deactivation',
            message:
              'Nothing was changed. Deactivating this registration refuses every launch from this LMS and ends your own session at once; tick the box below to confirm.',
          },
          confirmError: 'Tick this box to deactivate the registration.',
        });
      }
      const audit = {
        ...auditEntryOf(actor, res, STATUS_ACTION),
        // Filed under the registration changed, so its own administrators read who changed it.
        platformIss: reg.issuer,
        platformClientId: reg.clientId,
        ...(own ? {} : { detail: { fromRegistration: actor.platform.id } }),
      };
      const result = await deps.registrations.change(id, { status: to }, version, audit);
      if (result.kind === 'saved') await deps.refreshPlatformOrigins?.();
      if (result.kind === 'not_found') throw notFound('There is no such registration.');
      if (result.kind === 'conflict') {
        const current = result.current;
        const since = (await historyOf(deps, current)).filter((w) => w.version > version);
        return renderRegistration(res, deps, actor, current, {
          problem: {
            status: 409,
            code: 'settings_conflict',
            heading: 'Someone else changed this registration',
            message: `Nothing was changed: since you opened the page, the registration was changed (it is now at version ${current.version} and ${registrationSummary(current).statusLabel.toLowerCase()}). Read the changes below, then use the button again if it is still needed.`,
          },
          changes: since.map((w) => historyView(w.entry, w.version)),
        });
      }
      if (own && to === 'inactive') return res.redirect(303, hrefWithLtik(`${registrationPath(id)}/deactivated`, actor.ltik));
      res.redirect(303, hrefWithLtik(registrationPath(id), actor.ltik, { saved: result.registration.version }));
    } catch (err) {
      next(err);
    }
  });

  return r;
}

/**
 * The page an admin lands on after deactivating their own registration. It is mounted before the actor is resolved
 * (src/app.ts): the session is ltijs's valid one, but every page of an inactive registration is refused. It says so only
 * when the session's registration is this one and it is indeed not active.
 */
export function registrationLandingRouter(deps: Pick<RegistrationPageDeps, 'registrations'>): Router {
  const r = Router();
  r.get('/admin/registrations/:id/deactivated', async (req, res, next) => {
    try {
      const token = res.locals.token as LtiIdToken | undefined;
      if (!token) throw new HttpError(401, 'no_launch', 'Open this tool from your course in the LMS.');
      const reg = await deps.registrations.get(registrationId(req.params.id));
      if (!reg || reg.issuer !== token.iss || reg.clientId !== token.clientId) throw notFound('There is no such registration.');
      // Activated again since: its page opens.
      if (reg.status === 'active') return res.redirect(303, hrefWithLtik(registrationPath(reg.id), String(res.locals.ltik ?? '')));
      res.render('pages/registration-deactivated', {
        title: 'Registration deactivated',
        name: clip(reg.displayName, 120),
        id: reg.id,
      });
    } catch (err) {
      next(err);
    }
  });
  return r;
}
