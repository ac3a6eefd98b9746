import { csvSafeText, toCsv, type CsvColumn } from '../../../src/web/lists/csv';

/** A strict RFC 4180 reader (CRLF records, "" escapes), to check what a spreadsheet would load. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else if (c === '\n' || c === '\r') {
      throw new Error(`bare line break at ${i}: a field with a line break was not quoted`);
    } else {
      field += c;
      i++;
    }
  }
  if (field !== '' || row.length > 0) throw new Error('last record not terminated with CRLF');
  return rows;
}

interface Row {
  name: string;
  score: number | null;
  delta: number;
  note: string | null;
}
const COLUMNS: Array<CsvColumn<Row>> = [
  { header: 'Name', value: (r) => r.name },
  { header: 'Max score', value: (r) => r.score },
  { header: 'Delta', value: (r) => r.delta },
  { header: 'Note', value: (r) => r.note },
];

describe('toCsv', () => {
  it('writes a header and one record per row', () => {
    const csv = toCsv([{ name: 'Ada', score: 0.93, delta: -0.5, note: null }], COLUMNS);
    expect(readCsv(csv)).toEqual([
      ['Name', 'Max score', 'Delta', 'Note'],
      ['Ada', '0.93', '-0.5', ''],
    ]);
    expect(csv.charCodeAt(0)).not.toBe(0xfeff);
  });

  it('adds a UTF-8 BOM for Excel on request, and keeps accents', () => {
    const csv = toCsv([{ name: 'Émilie Ångström', score: null, delta: 0, note: 'ok' }], COLUMNS, { bom: true });
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(Buffer.from(csv, 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(readCsv(csv.slice(1))[1][0]).toBe('Émilie Ångström');
  });

  it.each([['=HYPERLINK("http://evil.example","x")'], ['+cmd|" /C calc"!A0'], ['-2+3'], ['@SUM(A1:A2)'], ['\t=1+1'], ['\r=1+1'], ['-']])(
    'neutralises the formula %j with a leading apostrophe',
    (hostile) => {
      const [, record] = readCsv(toCsv([{ name: hostile, score: 0, delta: 0, note: hostile }], COLUMNS));
      expect(record[0]).toBe(`'${hostile}`);
      expect(record[3]).toBe(`'${hostile}`);
    },
  );

  it('leaves negative numbers as numbers, whether numbers or plain numeric text', () => {
    const [, record] = readCsv(toCsv([{ name: '-12.5', score: -0.25, delta: -3, note: '-1e3' }], COLUMNS));
    expect(record).toEqual(['-12.5', '-0.25', '-3', '-1e3']);
  });

  it('does not touch text that merely contains those characters', () => {
    expect(csvSafeText('a=b')).toBe('a=b');
    expect(csvSafeText('user@example.com')).toBe('user@example.com');
  });

  it('quotes commas, quotes and line breaks so records stay intact', () => {
    const tricky = 'a, "b"\nc\r\nd';
    const rows = readCsv(toCsv([{ name: tricky, score: 1, delta: 0, note: '<script>alert(1)</script>' }], COLUMNS));
    expect(rows).toHaveLength(2);
    expect(rows[1][0]).toBe(tricky);
    expect(rows[1][3]).toBe('<script>alert(1)</script>');
  });

  it('writes non-finite numbers as empty cells', () => {
    const [, record] = readCsv(toCsv([{ name: 'x', score: Number.NaN, delta: Number.POSITIVE_INFINITY, note: null }], COLUMNS));
    expect(record).toEqual(['x', '', '', '']);
  });

  it('an empty list is just the header', () => {
    expect(readCsv(toCsv([], COLUMNS))).toEqual([['Name', 'Max score', 'Delta', 'Note']]);
  });
});

describe('toCsv: bidirectional controls', () => {
  it('drops them from every text cell, as the pages do, before the formula check', () => {
    const rows = [{ a: '\u202Egnp.exe', b: '\u2066=HYPERLINK("http://evil")\u2069' }];
    const text = toCsv(rows, [
      { header: 'a', value: (r) => r.a },
      { header: 'b\u202E', value: (r) => r.b },
    ]);
    expect(readCsv(text)).toEqual([
      ['a', 'b'],
      ['gnp.exe', `'=HYPERLINK("http://evil")`],
    ]);
  });
});
