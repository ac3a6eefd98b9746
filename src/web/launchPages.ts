/**
 * The pages of the launch code's decisions (src/lti decides, this renders): a refusal becomes an
 * error page like any other, and a platform-storage step becomes the page whose script talks to the
 * LMS's storage.
 */
import type { Response } from 'express';
import type { StoragePage } from '../lti/platformStorage';
import type { LaunchRefusal } from '../lti/refusal';
import { HttpError } from './errors';
import { extendPolicy } from './securityHeaders';

/** A refusal as the error page shows it, and the page's "new window" button if it offers one. */
export function refusalPage(refusal: LaunchRefusal): { httpError: HttpError; extra: Record<string, unknown> } {
  return {
    httpError: new HttpError(refusal.status, refusal.code, refusal.message, undefined, [...refusal.hints]),
    extra: refusal.newWindowForm ? { newWindowForm: refusal.newWindowForm } : {},
  };
}

/**
 * Its script is /assets/lti-storage.js (besides the layout's frame-resize.js); the page's CSP allows scripts
 * from the tool's own origin for it alone.
 */
export function renderStoragePage(res: Response, page: StoragePage): void {
  extendPolicy(res, 'script-src', ["'self'"], { replace: true });
  res.set('Cache-Control', 'no-store');
  res.status(200).render('pages/platform-storage', { title: 'Opening the tool', storage: page });
}
