/**
 * The pages of the launch code's decisions (src/lti decides, this renders): a refusal becomes an
 * error page like any other, and a platform-storage step becomes the page whose script talks to the
 * LMS's storage.
 */
import type { Response } from 'express';
import type { StoragePage } from '../lti/platformStorage';
import type { LaunchRefusal } from '../lti/refusal';
import { HttpError } from './errors';

/** A refusal as the error page shows it, and the page's "new window" button if it offers one. */
export function refusalPage(refusal: LaunchRefusal): { httpError: HttpError; extra: Record<string, unknown> } {
  return {
    httpError: new HttpError(refusal.status, refusal.code, refusal.message, undefined, [...refusal.hints]),
    extra: refusal.newWindowForm ? { newWindowForm: refusal.newWindowForm } : {},
  };
}

/**
 * Its script is /assets/lti-storage.js (the only script of the tool); the page's CSP allows scripts
 * from the tool's own origin for it alone.
 */
export function renderStoragePage(res: Response, page: StoragePage): void {
  const csp = String(res.getHeader('Content-Security-Policy') ?? "default-src 'none'");
  res.setHeader('Content-Security-Policy', `${csp}; script-src 'self'`);
  res.set('Cache-Control', 'no-store');
  res.status(200).render('pages/platform-storage', { title: 'Opening the tool', storage: page });
}
