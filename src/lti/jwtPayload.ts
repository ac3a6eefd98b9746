/** Reading launch tokens before, or beside, ltijs: which request carries an id_token, and what a JWT says unverified. */
import type { Request } from 'express';

/** The id_token an LMS posts to ltijs's app route (a launch), or null for any other request. */
export function postedIdToken(req: Request, appRoute: string): string | null {
  const body: unknown = req.body;
  if (req.method !== 'POST' || req.path !== appRoute || typeof body !== 'object' || body === null) return null;
  const idToken = (body as Record<string, unknown>).id_token;
  return typeof idToken === 'string' ? idToken : null;
}

/**
 * The payload of a compact JWT, read without checking its signature: only for tokens ltijs has
 * verified or is about to verify (an ltik, an accepted id_token), to know where to look. Null for
 * anything that is not a JWT with a JSON object payload, or is longer than `maxLength`.
 */
export function unverifiedJwtPayload(token: string, maxLength = 16_384): Record<string, unknown> | null {
  return unverifiedJwtPart(token, 1, maxLength);
}

/** The header of a compact JWT (its `kid`, `alg`), read without checking anything, as unverifiedJwtPayload. */
export function unverifiedJwtHeader(token: string, maxLength = 16_384): Record<string, unknown> | null {
  return unverifiedJwtPart(token, 0, maxLength);
}

function unverifiedJwtPart(token: string, part: 0 | 1, maxLength: number): Record<string, unknown> | null {
  if (token.length > maxLength) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[part]!, 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
