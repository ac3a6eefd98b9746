/**
 * Errors a user can see. Each has an HTTP status, a stable code and a human message; the page
 * renderer and the JSON answers use the same three.
 */
import type { Response } from 'express';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Extra lines for the page (what to do next). */
    readonly hints: string[] = [],
    /** A link for the page (where to do it); never in a JSON answer. */
    readonly link?: { href: string; label: string },
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const forbidden = (message = 'You do not have access to this page.', hints: string[] = []) =>
  new HttpError(403, 'forbidden', message, undefined, hints);
export const notFound = (message = 'Not found.') => new HttpError(404, 'not_found', message);

/** How long a client is asked to wait (Retry-After) before trying a 503 again. */
export const RETRY_AFTER_SECONDS = 30;

/** The tool's own database is unreachable: nothing the user did, and nothing a relaunch fixes. */
export const databaseUnavailableError = () =>
  new HttpError(
    503,
    'database_unavailable',
    `The tool cannot reach its database just now. Please try again in ${RETRY_AFTER_SECONDS} seconds or so.`,
    undefined,
    ['Your session is kept and nothing was lost.'],
  );

/** This answer's request id (src/ltijsAdapter.ts sets it first): the reference an error page shows, the log files the cause under. */
export function requestIdOf(res: Response): string | null {
  return typeof res.locals.requestId === 'string' ? res.locals.requestId : null;
}

/** What a write's answer page shows above its form when the write was refused or could not land. */
export interface FormProblem {
  status: number;
  code: string;
  heading: string;
  message: string;
  hints?: string[];
}

/** A problem as the page shows it, with its reference (the request id). */
export function problemView<P extends object>(res: Response, problem: P): P & { requestId: string | null } {
  return { ...problem, requestId: requestIdOf(res) };
}
