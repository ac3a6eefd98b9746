/**
 * RFC 4180 CSV, as the tool's exports write it (src/web/lists/csv.ts): records end in CRLF, a field with a comma, a quote
 * or a line break is quoted, and a quote inside one is doubled. An optional UTF-8 byte-order mark is skipped.
 *
 * Strict, so that a malformed export fails the test reading it rather than being read some other way: a quote inside an
 * unquoted field, anything but a comma or a line end after a closing quote, a bare CR or LF outside quotes, or a quoted
 * field never closed, throws.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  /** Inside a quoted field; `closed`: its closing quote was read, so only a comma or a line end may follow. */
  let quoted = false;
  let closed = false;
  const body = text.replace(/^\uFEFF/, '');
  const fail = (i: number, what: string) => {
    throw new Error(`not RFC 4180 CSV: ${what} at character ${i} (row ${rows.length + 1}, field ${row.length + 1})`);
  };
  const endCell = () => {
    row.push(cell);
    cell = '';
    closed = false;
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
        closed = true;
      } else cell += c;
    } else if (c === ',') endCell();
    else if (c === '\r' && body[i + 1] === '\n') {
      endCell();
      rows.push(row);
      row = [];
      i++;
    } else if (closed) fail(i, `${JSON.stringify(c)} after a closing quote`);
    else if (c === '\r' || c === '\n') fail(i, 'a line break outside quotes that is not CRLF');
    else if (c === '"') {
      if (cell !== '') fail(i, 'a quote inside an unquoted field');
      quoted = true;
    } else cell += c;
  }
  if (quoted) fail(body.length, 'a quoted field never closed');
  if (cell !== '' || closed || row.length > 0) {
    endCell();
    rows.push(row);
  }
  return rows;
}
