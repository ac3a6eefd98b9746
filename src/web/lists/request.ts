/**
 * A list request as a route meets it: which form was asked for (the page, `.json`, `.csv`), the
 * parameters read with the one parser, and isnotai's refusal of a cursor turned into the same kind
 * of parameter error. The data forms answer invalid parameters with a 422 JSON error; the page is
 * shown again with its form marked (docs/lists.md "Errors").
 */
import type { Request } from 'express';
import { IsnotaiApiError } from '../../isnotai/errors';
import { invalidListParameters } from './errors';
import { parseListQuery, rawQueryOf } from './parse';
import type { ListForm, ListParamError, ListQuery, ListSpec, RawQuery } from './types';

export interface ListRequest {
  form: ListForm;
  /** Every valid parameter; defaults in place of the invalid ones. */
  query: ListQuery;
  /** Null when every parameter is valid. Only ever set for the page: the data forms have thrown. */
  errors: ListParamError[] | null;
  /** The query string as sent, so a form can show an invalid value as it was typed. */
  raw: RawQuery;
}

function listFormOf(path: string): ListForm {
  return path.endsWith('.json') ? 'json' : path.endsWith('.csv') ? 'csv' : 'html';
}

export function readListRequest(req: Request, spec: ListSpec): ListRequest {
  const form = listFormOf(req.path);
  const raw = rawQueryOf(req);
  const parsed = parseListQuery(raw, spec, form);
  if (!parsed.ok && form !== 'html') throw invalidListParameters(parsed.errors);
  return { form, query: parsed.value, errors: parsed.ok ? null : parsed.errors, raw };
}

/** isnotai refused the `cursor` (forged, altered, expired, or from other filters): a parameter error, not an outage. */
export function refusedCursor(err: unknown): ListParamError | null {
  if (!(err instanceof IsnotaiApiError) || err.status !== 400 || err.code !== 'invalid_cursor') return null;
  return {
    param: 'cursor',
    message: 'cursor is not a page of this list (it may be from other filters, altered or expired); start again from the first page',
  };
}
