/** The `cursor` of an upstream-paged list (the student's and a learner's sessions), read with the list rules. */
import type { Request } from 'express';
import { HttpError } from './errors';
import { listErrorMessage, paramReader, rawQueryOf } from './lists';

/** One plain value; a repeated or bracketed one is a 422 naming it; an overlong one is ignored. */
export function cursorParam(req: Request): string | undefined {
  const params = paramReader(rawQueryOf(req), ['cursor']);
  const cursor = params.cursor();
  if (params.errors.length > 0) throw new HttpError(422, 'invalid_parameters', listErrorMessage(params.errors), params.errors);
  return cursor;
}
