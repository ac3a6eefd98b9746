/** The answer to invalid list parameters: a 422 naming each one (docs/lists.md "Errors"). */
import { HttpError } from '../errors';
import type { ListParamError } from './types';

export const INVALID_PARAMETERS = 'invalid_parameters';

export function listErrorMessage(errors: readonly ListParamError[]): string {
  if (errors.length === 0) return 'The list parameters are invalid.';
  const params = [...new Set(errors.map((e) => e.param))];
  return `Invalid list parameter${params.length === 1 ? '' : 's'} (${params.join(', ')}): ${errors.map((e) => e.message).join('; ')}.`;
}

/** For the JSON and CSV forms: `{"error":{"code":"invalid_parameters","message","details":[{param,message,value}]}}`. */
export function invalidListParameters(errors: readonly ListParamError[]): HttpError {
  return new HttpError(
    422,
    INVALID_PARAMETERS,
    listErrorMessage(errors),
    errors.map((e) => ({ ...e })),
  );
}
