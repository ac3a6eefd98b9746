/**
 * Replaces ltijs's raw failures on its own routes (the keyset, the login, dynamic registration) with
 * the tool's own error (503 while the database is unreachable, else 500), and logs the cause under the
 * request id the client is given.
 *
 * ltijs answers those failures with `500 {details: {message: err.message}}`: the raw words of OpenSSL
 * ("bad decrypt") or of the database driver, sent to whoever asked. This middleware sits before those
 * routes and patches their answer.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../log';
import { DATABASE_UNAVAILABLE } from '../store/errors';
import { databaseUnavailableError, HttpError } from './errors';
import { renderError, sendErrorJson } from './errorHandler';

const INTERNAL = () =>
  new HttpError(
    500,
    'internal_error',
    'The tool hit an unexpected problem. Please try again; if it keeps happening, tell your administrator the reference below.',
  );

/** `paths`: ltijs's own routes; `machinePaths`: those answered to programs (JSON, whatever they accept). */
export function containLtijsErrors(logger: Logger, paths: readonly string[], machinePaths: readonly string[] = []) {
  const watched = new Set(paths);
  const machine = new Set(machinePaths);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!watched.has(req.path)) return next();
    const send = res.send.bind(res);
    res.send = ((body?: unknown) => {
      if (res.statusCode < 500 || typeof body !== 'object' || body === null || Buffer.isBuffer(body)) return send(body);
      res.send = send;
      const message = (body as { details?: { message?: unknown } }).details?.message;
      const cause = typeof message === 'string' ? message : '';
      const unavailable = cause.startsWith(DATABASE_UNAVAILABLE);
      logger[unavailable ? 'warn' : 'error'](
        { cause, path: req.path, requestId: res.locals.requestId },
        unavailable ? 'database unavailable' : 'ltijs route failed',
      );
      const err = unavailable ? databaseUnavailableError() : INTERNAL();
      if (machine.has(req.path)) sendErrorJson(res, err);
      else renderError(req, res, err);
      return res;
    }) as Response['send'];
    next();
  };
}
