/**
 * The last Express handler: every error becomes a page (or JSON for .json/.csv routes and API
 * clients) with a status, a stable code and a human message.
 *
 * Stack traces never reach a user. The launch code's refusals (src/lti/refusal.ts) arrive here too,
 * and are rendered the same way.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../log';
import type { Actor } from './actor';
import { LaunchRefusal } from '../lti/refusal';
import { isDatabaseUnavailable } from '../store/errors';
import { databaseUnavailableError, HttpError, requestIdOf, RETRY_AFTER_SECONDS } from './errors';
import { refusalPage } from './launchPages';
import { upstreamToHttp } from './upstreamErrors';

const HEADINGS: Record<number, string> = {
  400: 'That request could not be understood',
  401: 'Please open this tool from your LMS',
  403: 'You do not have access to this',
  404: 'Not found',
  422: 'Some of the options are not valid',
  500: 'Something went wrong on our side',
  502: 'The integrity service could not be used',
  503: 'The integrity service is not answering right now',
};

/** Where the status alone would blame the wrong party or say the wrong thing. */
const HEADINGS_BY_CODE: Record<string, string> = {
  // Launches: the user did open the tool from their LMS; say what happened instead.
  launch_needs_new_window: 'Open the tool in a new window',
  launch_cookie_blocked: 'Open the tool in a new window',
  session_expired: 'Your session with the tool has ended',
  launch_expired: 'The launch from your LMS had expired',
  launch_replayed: 'This launch was already used',
  launch_not_confirmed: 'The launch could not be confirmed',
  launch_check_expired: 'The launch had expired',
  launch_bad_signature: 'The launch from your LMS could not be trusted',
  launch_wrong_audience: 'The launch was meant for another tool',
  launch_unknown_platform: 'This LMS is not registered with the tool',
  launch_invalid: 'The launch from your LMS could not be validated',
  launch_target_not_this_tool: 'The launch was addressed to another site',
  launch_without_issue_time: 'The launch from your LMS could not be checked',
  launch_issued_in_future: 'The launch from your LMS is dated in the future',
  launch_unsupported_message: 'The tool cannot handle this kind of launch',
  ltik_not_accepted: 'This session works only from the tool’s own pages',
  deep_linking_session: 'This session cannot open this page',
  invalid_user_id: 'That is not a user id of this LMS',
  identity_unmapped: 'Your LMS user id could not be used',
  identity_malformed: 'Your LMS user id could not be used',
  signed_out: 'You have signed out',
  session_idle: 'Your session with the tool has ended',
  lms_refused_roster: 'Your LMS refused the tool’s request',
  nrps_unavailable: 'The LMS’s list of participants could not be read',
  nrps_not_offered: 'The LMS’s list of participants could not be read',
  nrps_invalid: 'The LMS’s list of participants could not be read',
  database_unavailable: 'The tool’s database is not answering right now',
  // Installing the tool (docs/product.md "Installing the tool"): the LMS, not the integrity service, is the other party.
  unregistered_platform: 'This LMS is not registered with the tool',
  platform_pending: 'This LMS’s registration is waiting to be activated',
  platform_inactive: 'This LMS’s registration is deactivated',
  registration_request_invalid: 'The registration request could not be understood',
  registration_configuration_unreachable: 'The LMS’s configuration could not be read',
  registration_configuration_invalid: 'The LMS’s configuration could not be used',
  registration_issuer_mismatch: 'The LMS’s configuration names another site',
  registration_endpoint_mismatch: 'The LMS’s configuration names another site',
  registration_exists: 'This LMS is already registered',
  registration_lms_unreachable: 'The LMS could not be reached',
  registration_refused_by_lms: 'The LMS refused the registration',
  registration_response_invalid: 'The LMS’s answer could not be used',
  registration_read_only: 'These settings are the operator’s',
  settings_conflict: 'Someone else changed these settings',
  // Placing the tool by Deep Linking.
  placement_not_allowed: 'Only instructors place the tool in a course',
  not_deep_linking_session: 'This session cannot place the tool',
  deep_link_return_invalid: 'The LMS’s return address could not be used',
  deep_link_type_not_accepted: 'The LMS does not accept this kind of link',
  deep_link_response_failed: 'The answer to the LMS could not be made',
};

/** Temporary conditions: the client is told when to try again. */
const RETRY_LATER = new Set(['database_unavailable', 'upstream_unavailable']);

export function wantsJson(req: Request): boolean {
  // A person who followed a link (an export link in the LMS frame, whose answer downloads only when it
  // succeeds) gets a page to read and act on, never raw JSON; scripts and API clients do not navigate.
  if (req.get('sec-fetch-mode') === 'navigate') return false;
  // A list's route says which form it serves (src/web/lists/request.ts): `/learners/ada.json` is a page.
  const form: unknown = req.res?.locals.listForm;
  if (form === 'json' || form === 'csv') return true;
  const dataPath = form === undefined && /\.(json|csv)$/.test(req.path);
  return dataPath || (req.accepts(['html', 'json']) === 'json' && !req.accepts('html'));
}

/** Status, and for a temporary condition when to try again: what every error answer starts with. */
function errorStatus(res: Response, err: HttpError): void {
  res.status(err.status);
  if (err.status === 503 && RETRY_LATER.has(err.code) && !res.getHeader('Retry-After'))
    res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
}

/** The JSON error answer; `request_id` is what the log files the cause under. */
export function sendErrorJson(res: Response, err: HttpError): void {
  const requestId = requestIdOf(res);
  errorStatus(res, err);
  res.json({
    error: { code: err.code, message: err.message, details: err.details ?? {}, ...(requestId ? { request_id: requestId } : {}) },
  });
}

export function renderError(req: Request, res: Response, err: HttpError, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) return;
  const requestId = requestIdOf(res) ?? undefined;
  errorStatus(res, err);
  if (wantsJson(req)) {
    sendErrorJson(res, err);
    return;
  }
  const heading = HEADINGS_BY_CODE[err.code] ?? HEADINGS[err.status] ?? 'Error';
  res.render('pages/error', {
    title: heading,
    heading,
    message: err.message,
    hints: err.hints,
    code: err.code,
    requestId,
    kind: err.status >= 500 ? 'error' : 'warn',
    link: err.link ?? null,
    ...extra,
  });
}

/** Express and body-parser signal a bad request (malformed URL encoding, body) with a 4xx status. */
function clientError(err: unknown): HttpError | null {
  const status =
    typeof err === 'object' && err !== null
      ? Number((err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode)
      : NaN;
  if (!Number.isInteger(status) || status < 400 || status > 499) return null;
  return new HttpError(status, 'bad_request', 'The request could not be read (a malformed address or form).');
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof LaunchRefusal) {
      const { httpError, extra } = refusalPage(err);
      return renderError(req, res, httpError, extra);
    }
    const actor = res.locals.actor as Actor | undefined;
    let httpErr = err instanceof HttpError ? err : (upstreamToHttp(err, actor?.audience ?? null) ?? clientError(err));
    if (!httpErr && isDatabaseUnavailable(err)) {
      logger.warn(
        { code: 'database_unavailable', cause: (err as Error)?.message, path: req.path, requestId: res.locals.requestId },
        'database unavailable',
      );
      httpErr = databaseUnavailableError();
    } else if (!httpErr) {
      logger.error({ err, path: req.path, requestId: res.locals.requestId }, 'unhandled error');
      httpErr = new HttpError(
        500,
        'internal_error',
        'The tool hit an unexpected problem. Please try again; if it keeps happening, tell your administrator the reference below.',
      );
    } else if (httpErr.status >= 500) {
      logger.warn(
        { code: httpErr.code, cause: (err as Error)?.message, path: req.path, requestId: res.locals.requestId },
        'request failed',
      );
    }
    renderError(req, res, httpErr);
  };
}
