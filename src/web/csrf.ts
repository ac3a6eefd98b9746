/**
 * CSRF tokens bound to the launch (docs/product.md "Writes"): a form's token is an HMAC of its session's ltik under a key
 * derived from ENCRYPTION_KEY, so it is valid for that launch alone, needs no storage, and another launch's (or another
 * instance's with the same key) form cannot be replayed into this one. A missing or wrong token is a 403 and writes nothing.
 */
import crypto from 'node:crypto';
import { HttpError } from './errors';

export interface CsrfTokens {
  /** The token the forms of this launch carry (field `csrf`). */
  tokenFor(ltik: string): string;
  /** The 403 `csrf_failed` to answer unless `given` is this launch's token; null when it is. */
  refusal(ltik: string, given: unknown): HttpError | null;
}

export function csrfTokens(encryptionKey: string): CsrfTokens {
  const key = Buffer.from(crypto.hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'isnotai-lti csrf v1', 32));
  const tokenFor = (ltik: string) => crypto.createHmac('sha256', key).update(ltik).digest('base64url');
  return {
    tokenFor,
    refusal(ltik, given) {
      const expected = Buffer.from(tokenFor(ltik));
      const got = Buffer.from(typeof given === 'string' ? given : '');
      if (got.length === expected.length && crypto.timingSafeEqual(got, expected)) return null;
      return new HttpError(
        403,
        'csrf_failed',
        'This form did not come from your current session with the tool, so nothing was saved.',
        undefined,
        ['Open the page again from the tool (or relaunch it from your LMS) and send the form from there.'],
      );
    },
  };
}
