/** The one list dialect (docs/lists.md) for every list the tool shows: parse, apply, link, page, export, fail. */
export type { ListPage, ListParamError, ListQuery, ListSpec, RawQuery } from './types';
export { applyList } from './apply';
export { toCsv, type CsvColumn } from './csv';
export { invalidListParameters } from './errors';
export { compareDate, compareNumber, compareText, foldText } from './text';
export {
  columnView,
  exportLinks,
  fieldValue,
  filterFormView,
  formErrors,
  isFiltered,
  pagerView,
  withLtik,
  type FormErrorsView,
} from './view';
export { sendCsvExport, sendJsonExport, withinExportDeadline } from './export';
export { isExport, listRoutes, readListRequest, refusedCursor } from './request';
