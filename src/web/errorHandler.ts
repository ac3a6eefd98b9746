/**
 * The last Express handler: every error becomes a page (or JSON for .json/.csv routes and API
 * clients) with a status, a stable code and a human message. Stack traces never reach a user.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../log';
import type { Actor } from './actor';
import { HttpError } from './errors';
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

export function wantsJson(req: Request): boolean {
  return /\.(json|csv)$/.test(req.path) || (req.accepts(['html', 'json']) === 'json' && !req.accepts('html'));
}

export function renderError(req: Request, res: Response, err: HttpError, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) return;
  const requestId = typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
  res.status(err.status);
  if (wantsJson(req)) {
    res.json({ error: { code: err.code, message: err.message, details: err.details ?? {} } });
    return;
  }
  res.render('pages/error', {
    title: HEADINGS[err.status] ?? 'Error',
    heading: HEADINGS[err.status] ?? 'Error',
    message: err.message,
    hints: err.hints,
    code: err.code,
    requestId,
    kind: err.status >= 500 ? 'error' : 'warn',
    ...extra,
  });
}

/** Express and body-parser signal a bad request (malformed URL encoding, body) with a 4xx status. */
function clientError(err: unknown): HttpError | null {
  const status = typeof err === 'object' && err !== null ? Number((err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode) : NaN;
  if (!Number.isInteger(status) || status < 400 || status > 499) return null;
  return new HttpError(status, 'bad_request', 'The request could not be read (a malformed address or form).');
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const actor = res.locals.actor as Actor | undefined;
    let httpErr = err instanceof HttpError ? err : (upstreamToHttp(err, actor?.audience ?? null) ?? clientError(err));
    if (!httpErr) {
      logger.error({ err, path: req.path, requestId: res.locals.requestId }, 'unhandled error');
      httpErr = new HttpError(500, 'internal_error', 'The tool hit an unexpected problem. Please try again; if it keeps happening, tell your administrator the reference below.');
    } else if (httpErr.status >= 500) {
      logger.warn({ code: httpErr.code, cause: (err as Error)?.message, path: req.path, requestId: res.locals.requestId }, 'request failed');
    }
    renderError(req, res, httpErr);
  };
}
