/**
 * CSV export with protection against formula injection: text cells that a spreadsheet app would run
 * as a formula get a leading apostrophe.
 *
 * Such a cell starts with = + - @ (or a tab / carriage return before one). Real numbers, and text that
 * is only a plain number like "-0.5", are left alone because they cannot be formulas. Bidi controls
 * are dropped, as on the pages.
 */
import { stringify } from 'csv-stringify/sync';
import { displayText } from '../format';

export interface CsvColumn<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
}

export interface CsvOptions {
  /** Prefix a UTF-8 byte-order mark so Excel reads accents correctly. */
  bom?: boolean;
  /** false: the rows only, no header line (the rest of a file streamed in parts). */
  header?: boolean;
}

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * Neutralises one text cell. Bidirectional controls are dropped first, exactly as the pages drop
 * them (displayText): in a spreadsheet "\u202Egnp.exe" would read "exe.png" too, and a control
 * in front of "=" must not hide a formula from the check below.
 */
export function csvSafeText(text: string): string {
  const shown = displayText(text);
  if (FORMULA_START.test(shown) && !PLAIN_NUMBER.test(shown)) return `'${shown}`;
  return shown;
}

function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return csvSafeText(String(v));
}

export function toCsv<T>(rows: readonly T[], columns: ReadonlyArray<CsvColumn<T>>, options: CsvOptions = {}): string {
  const body = rows.map((row) => columns.map((c) => cell(c.value(row))));
  const records = options.header === false ? body : [columns.map((c) => csvSafeText(c.header)), ...body];
  return stringify(records, {
    bom: options.bom ?? false,
    // RFC 4180 line ends; quote any field with a line break (csv-stringify only quotes the record delimiter itself).
    record_delimiter: 'windows',
    quoted_match: /[\r\n]/,
  });
}
