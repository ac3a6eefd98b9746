/** The 422 answer for invalid list parameters, and its readable form for pages. */
import type { ListParamError } from './types';

export interface ListErrorBody {
  error: { code: 'invalid_parameters'; message: string; details: ListParamError[] };
}

export function listErrorMessage(errors: readonly ListParamError[]): string {
  if (errors.length === 0) return 'The list parameters are invalid.';
  const params = [...new Set(errors.map((e) => e.param))];
  return `Invalid list parameter${params.length === 1 ? '' : 's'} (${params.join(', ')}): ${errors.map((e) => e.message).join('; ')}.`;
}

export function listErrorResponse(errors: readonly ListParamError[]): ListErrorBody {
  return { error: { code: 'invalid_parameters', message: listErrorMessage(errors), details: errors.map((e) => ({ ...e })) } };
}
