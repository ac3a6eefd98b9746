import { exportFileName } from '../../../src/web/lists/export';
import { parseListQuery } from '../../../src/web/lists/parse';
import type { ListQuery, ListSpec, RawQuery } from '../../../src/web/lists/types';
import { columnView, exportLinks, formErrors, pagerView } from '../../../src/web/lists/view';

const SPEC: ListSpec = {
  sortBy: ['name', 'risk'],
  defaultSort: { by: 'risk', direction: 'desc' },
  sortDirections: { name: 'asc' },
  filters: { risk: { allowed: ['high', 'low'] } },
  exports: true,
};
const FIXED: ListSpec = { sortBy: [], defaultSort: { by: 'created_at', direction: 'desc' }, paging: 'cursor', exports: true };

function q(raw: RawQuery, spec: ListSpec = SPEC): ListQuery {
  const got = parseListQuery({ ltik: 'T', ...raw }, spec);
  if (!got.ok) throw new Error(JSON.stringify(got.errors));
  return got.value;
}
const params = (href: string | null) => new URLSearchParams((href ?? '').split('?')[1]);

describe('columnView', () => {
  it('marks the sorted column with aria-sort and an arrow, and only it', () => {
    const query = q({ sort_by: 'name' });
    expect(columnView('/r', query, SPEC, 'name', 'Learner')).toMatchObject({ sorted: 'ascending', mark: '▲' });
    expect(columnView('/r', query, SPEC, 'risk', 'Risk')).toMatchObject({ sorted: null, mark: null });
    expect(columnView('/r', query, SPEC, null, 'Signals')).toEqual({
      label: 'Signals',
      href: null,
      sorted: null,
      mark: null,
      className: null,
    });
  });
  it('links flip the sorted column and start another at its natural direction', () => {
    const query = q({ sort_by: 'name', offset: '50' });
    expect(params(columnView('/r', query, SPEC, 'name', 'Learner').href).get('sort_direction')).toBe('desc');
    const risk = params(columnView('/r', query, SPEC, 'risk', 'Risk').href);
    expect([risk.get('sort_by'), risk.get('sort_direction'), risk.has('offset'), risk.get('ltik')]).toEqual(['risk', 'desc', false, 'T']);
  });
  it('a fixed order is marked without a link', () => {
    expect(columnView('/s', q({}, FIXED), FIXED, 'created_at', 'Started')).toMatchObject({ href: null, sorted: 'descending', mark: '▼' });
  });
});

describe('pagerView', () => {
  const page = (offset: number, total: number, limit = 10) => ({
    items: Array(Math.min(limit, total - offset)).fill(0),
    total,
    limit,
    offset,
    has_more: offset + limit < total,
    next_offset: offset + limit < total ? offset + limit : null,
  });
  it('offset lists: first, previous and next as they apply', () => {
    expect(pagerView('/r', q({ limit: '10' }), page(0, 25)).links.map((l) => [l.text, params(l.href).get('offset')])).toEqual([
      ['Next page', '10'],
    ]);
    const middle = pagerView('/r', q({ limit: '10', offset: '20' }), page(20, 45)).links;
    expect(middle.map((l) => [l.text, l.rel, params(l.href).get('offset')])).toEqual([
      ['First page', null, null],
      ['Previous page', 'prev', '10'],
      ['Next page', 'next', '30'],
    ]);
    expect(pagerView('/r', q({ limit: '10', offset: '10' }), page(10, 15)).links.map((l) => l.text)).toEqual(['Previous page']);
  });
  it('cursor lists: first (when past it) and next', () => {
    const first = pagerView('/s', q({}, FIXED), { items: [], limit: 50, has_more: true, next_cursor: 'c2' }).links;
    expect(first.map((l) => [l.text, params(l.href).get('cursor')])).toEqual([['Next page', 'c2']]);
    const later = pagerView('/s', q({ cursor: 'c2' }, FIXED), { items: [], limit: 50, has_more: false, next_cursor: null }).links;
    expect(later.map((l) => [l.text, params(l.href).has('cursor')])).toEqual([['First page', false]]);
  });
});

describe('formErrors', () => {
  it('marks the form’s fields, lists every problem, and names what was given', () => {
    const got = parseListQuery({ limit: '0', risk: 'purple', offset: '-1' }, SPEC);
    expect(got.ok).toBe(false);
    const view = formErrors(got.ok ? [] : got.errors, { limit: 'Per page', risk: 'Risk' }, '/r?ltik=T');
    expect(view.fields).toEqual({
      risk: { id: 'e-risk', message: 'risk must be one or more of high, low; not "purple"' },
      limit: { id: 'e-limit', message: 'limit must be a whole number from 1 to 500 (you gave “0”)' },
    });
    expect(view.summary).toEqual([
      { message: 'Risk: risk must be one or more of high, low; not "purple"', href: '#f-risk' },
      { message: 'Per page: limit must be a whole number from 1 to 500 (you gave “0”)', href: '#f-limit' },
      { message: 'offset must be a whole number 0 or more (you gave “-1”)', href: null },
    ]);
    expect(view).toMatchObject({ marked: true, resetHref: '/r?ltik=T', code: 'invalid_parameters' });
  });
});

describe('exportLinks', () => {
  it('link the whole filtered, sorted list and say how much', () => {
    const links = exportLinks('/course', q({ risk: 'high', sort_by: 'name', limit: '10', offset: '20' }), 150, {
      one: 'learner',
      many: 'learners',
    });
    expect(links.text).toBe('Export all 150 learners matching these filters');
    const csv = params(links.csv);
    expect(links.csv).toMatch(/^\/course\.csv\?/);
    expect([csv.get('risk'), csv.get('sort_by'), csv.has('limit'), csv.has('offset'), csv.get('ltik')]).toEqual([
      'high',
      'name',
      false,
      false,
      'T',
    ]);
    expect(links.json).toMatch(/^\/course\.json\?/);
    expect(exportLinks('/course', q({}), 1, { one: 'learner', many: 'learners' }).text).toBe('Export the 1 learner');
  });
  it('an isnotai list says there is a ceiling instead of a count, and drops the cursor', () => {
    const links = exportLinks('/admin/sessions', q({ cursor: 'c9' }, FIXED), null, { one: 'session', many: 'sessions' }, { most: 5000 });
    expect(links.text).toBe('Export every session (at most 5,000)');
    expect(params(links.json).has('cursor')).toBe(false);
  });
  it('a list holding only the newest of a longer history never says “all”', () => {
    const noun = { one: 'session', many: 'sessions' };
    expect(exportLinks('/x', q({}), 2000, noun, { newest: 2000 }).text).toBe(
      'Export the newest 2,000 sessions (older sessions are not included)',
    );
    expect(exportLinks('/x', q({ risk: 'high' }), 1, noun, { newest: 2000 }).text).toBe(
      'Export the 1 session matching these filters among the newest 2,000 (older sessions are not included)',
    );
  });
});

describe('exportFileName', () => {
  it('keeps letters, digits, - and _', () => {
    expect(exportFileName('roster-BIO 101', 'csv')).toBe('roster-BIO_101.csv');
    expect(exportFileName('sessions-"; rm -rf', 'json')).toBe('sessions-_rm_-rf.json');
    expect(exportFileName('', 'json')).toBe('export.json');
  });
});
