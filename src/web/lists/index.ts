/** List conventions (seeds/004) for our own list surfaces: parse, apply, link, export, fail. */
export type { ListFilterSpec, ListPage, ListParamError, ListQuery, ListQueryResult, ListSpec, RawQuery, SortDirection } from './types';
export {
  DEFAULT_LIMIT,
  FILTER_MAX_VALUES,
  FILTER_VALUE_MAX_LENGTH,
  LIMIT_MAX,
  LIMIT_MIN,
  parseIsoBound,
  paramReader,
  parseListQuery,
  QUERY_MAX_LENGTH,
  rawQueryOf,
} from './parse';
export { applyList, ListConfigError, type ListAdapters } from './apply';
export { listHref, sortHref, toQueryString, type ListQueryChanges } from './queryString';
export { csvSafeText, toCsv, type CsvColumn, type CsvOptions } from './csv';
export { listErrorMessage, listErrorResponse, type ListErrorBody } from './errors';
export { compareDate, compareNumber, compareText, foldText } from './text';
