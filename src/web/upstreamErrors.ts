/** Upstream failures, turned into pages a person can act on. */
import {
  IsnotaiAbortError,
  IsnotaiApiError,
  IsnotaiError,
  IsnotaiNetworkError,
  IsnotaiResponseError,
  IsnotaiTimeoutError,
} from '../isnotai/errors';
import type { Audience } from '../lti/roles';
import { HttpError } from './errors';

export function upstreamToHttp(err: unknown, audience: Audience | null): HttpError | null {
  if (!(err instanceof IsnotaiError)) return null;
  if (err instanceof IsnotaiApiError && err.status === 401) {
    return audience === 'admin'
      ? new HttpError(502, 'upstream_key_rejected', 'The isnotai API refused this platform’s API key (401).', undefined, [
          'Check the API key in this platform’s settings: it may have been revoked, mistyped, or belong to another region.',
          'Keys look like aik_v1_…; each LMS registration has its own.',
        ])
      : new HttpError(502, 'upstream_not_configured', 'The integrity service is not set up correctly for your LMS.', undefined, [
          'Please tell your LMS administrator; nothing is wrong with your account.',
        ]);
  }
  if (err instanceof IsnotaiApiError && err.status === 404)
    return new HttpError(404, 'not_found', 'The integrity service has no record of this.');
  if (err instanceof IsnotaiApiError && err.status === 400)
    return new HttpError(400, 'upstream_bad_request', `The integrity service refused the request: ${err.upstreamMessage}`);
  if (
    err instanceof IsnotaiTimeoutError ||
    err instanceof IsnotaiNetworkError ||
    (err instanceof IsnotaiApiError && (err.status === 429 || err.status >= 500))
  ) {
    return new HttpError(503, 'upstream_unavailable', 'The integrity service is not answering right now.', undefined, [
      'Please try again in a few minutes. Nothing was lost.',
    ]);
  }
  if (err instanceof IsnotaiAbortError) {
    // The page's overall deadline for isnotai passed (src/web/upstream.ts).
    return new HttpError(503, 'upstream_unavailable', 'The integrity service did not answer in time.', undefined, [
      'Please try again in a few minutes. Nothing was lost.',
    ]);
  }
  if (err instanceof IsnotaiResponseError) {
    return new HttpError(
      502,
      'upstream_invalid',
      'The integrity service sent data the tool could not read, so nothing is shown rather than something wrong.',
      undefined,
      ['Please try again later; if it persists, tell your administrator.'],
    );
  }
  return new HttpError(502, err.code, 'The integrity service could not be reached as configured.');
}
