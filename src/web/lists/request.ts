/**
 * A list request as a route meets it: which form was asked for (the page, `.json`, `.csv`), the
 * parameters read with the one parser, and isnotai's refusal of a cursor turned into the same kind
 * of parameter error. The data forms answer invalid parameters with a 422 JSON error; the page is
 * shown again with its form marked (docs/lists.md "Errors").
 */
import type { Request, RequestHandler, Response, Router } from 'express';
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

/**
 * Registers a list's forms on `router`: the page at `path`, each data form at `path.json` or
 * `path.csv`. Each route knows its form from its own path, never from how the request's path ends:
 * `/learners/ada.json` is the page of the learner `ada.json`. The form is also left in
 * `res.locals.listForm`, so that an error is answered as a page or as JSON by the same rule.
 */
export function listRoutes(
  router: Router,
  path: string,
  forms: readonly ListForm[],
  handle: (form: ListForm, req: Request, res: Response) => Promise<void>,
): void {
  for (const form of forms) {
    const handler: RequestHandler = (req, res, next) => {
      res.locals.listForm = form;
      handle(form, req, res).catch(next);
    };
    router.get(form === 'html' ? path : `${path}.${form}`, handler);
  }
}

/** Whether the request is an export: a data form of a list with exports, asked without `limit` (docs/lists.md "Exports"). */
export function isExport(list: ListRequest): boolean {
  return list.form !== 'html' && list.query.limit === null;
}

export function readListRequest(req: Request, spec: ListSpec, form: ListForm): ListRequest {
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
