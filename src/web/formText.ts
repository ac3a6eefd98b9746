/**
 * Text as the tool's plain POST forms send it (docs/architecture.md "Writes"), read one way by every write: the review
 * forms (src/web/review.ts), a student's response (src/web/studentResponses.ts), the accommodations register
 * (src/web/accommodations.ts) and an admin's erasure of a learner's data (src/web/learnerData.ts).
 */
import type { Request } from 'express';

/** Invisible controls PostgreSQL cannot store (NUL) or a page cannot show; tab and line feed stay. */
// eslint-disable-next-line no-control-regex -- removing control characters is this pattern's purpose
export const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * A field's text as typed: a repeated field's values joined by line ends, line ends made `\n`, invisible controls removed
 * (CONTROLS), trimmed; anything that is not text is ''.
 */
export function typed(v: unknown): string {
  const s = Array.isArray(v) ? v.filter((x) => typeof x === 'string').join('\n') : typeof v === 'string' ? v : '';
  return s.replace(/\r\n?/g, '\n').replace(CONTROLS, '').trim();
}

/** The form's fields (express's urlencoded body), or none when the request carried no form. */
export function bodyOf(req: Request): Record<string, unknown> {
  return typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
}

/** A text's length as PostgreSQL counts it, in code points: the unit every limit on typed text is checked in. */
export const codePoints = (s: string): number => [...s].length;
