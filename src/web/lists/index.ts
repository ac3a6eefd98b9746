/** The one list dialect (docs/lists.md) for every list the tool shows: parse, apply, link, page, export, fail. */
export type { ListPage, ListParamError, ListQuery, ListSpec, RawQuery } from './types';
export { parseIsoBound, parseListQuery } from './parse';
export { applyList, ListConfigError, type ListAdapters } from './apply';
export { listHref, sortHref, toQueryString } from './queryString';
export { csvSafeText, toCsv, type CsvColumn } from './csv';
export { invalidListParameters, listErrorMessage } from './errors';
export { compareDate, compareNumber, compareText, foldText } from './text';
export { columnView, exportLinks, fieldValue, formErrors, pagerView, withLtik, type FormErrorsView } from './view';
export { exportFileName, sendCsvExport, sendJsonExport } from './export';
export { readListRequest, refusedCursor } from './request';
