import { parseListQuery } from '../../../src/web/lists/parse';
import { listHref, sortHref, toQueryString } from '../../../src/web/lists/queryString';
import type { ListQuery, ListSpec, RawQuery } from '../../../src/web/lists/types';

const SPEC: ListSpec = {
  sortBy: ['risk', 'name'],
  defaultSort: { by: 'risk', direction: 'desc' },
  sortDirections: { name: 'asc' },
  filters: { risk: { allowed: ['high', 'elevated', 'low', 'none'] }, flag: {} },
  query: true,
  createdWindow: true,
};

function q(raw: RawQuery): ListQuery {
  const got = parseListQuery(raw, SPEC);
  if (!got.ok) throw new Error(JSON.stringify(got.errors));
  return got.value;
}

/** What a server would see for a link's query string. */
function reparse(qs: string): ListQuery {
  const raw: RawQuery = {};
  for (const [k, v] of new URLSearchParams(qs)) {
    const prev = raw[k];
    raw[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return q(raw);
}

describe('toQueryString', () => {
  it('round-trips every parameter, keeping ltik and other unknown parameters', () => {
    const original = q({
      query: 'Émilie D',
      risk: 'high,elevated',
      flag: ['paste_burst', 'a&b=c'],
      created_after: '2026-11-01',
      created_before: '2026-11-20T10:00:00+01:00',
      sort_by: 'name',
      sort_direction: 'desc',
      limit: '25',
      offset: '50',
      ltik: 'eyJ.abc+/=',
    });
    const qs = toQueryString(original);
    expect(reparse(qs)).toEqual(original);
    expect(new URLSearchParams(qs).get('ltik')).toBe('eyJ.abc+/=');
  });

  it('applies changes: paging, sorting, extra set and removed', () => {
    const base = q({ ltik: 'T', format: 'html', offset: '10' });
    const next = new URLSearchParams(toQueryString(base, { offset: 60, extra: { format: 'csv' } }));
    expect(next.get('offset')).toBe('60');
    expect(next.getAll('format')).toEqual(['csv']);
    expect(next.get('ltik')).toBe('T');
    const removed = new URLSearchParams(toQueryString(base, { extra: { format: null } }));
    expect(removed.has('format')).toBe(false);
  });

  it('leaves out offset 0 and absent values', () => {
    expect(toQueryString(q({}))).toBe('sort_by=risk&sort_direction=desc&limit=50');
  });

  it('can clear the query and filters', () => {
    const cleared = toQueryString(q({ query: 'x', risk: 'high' }), { query: null, filters: {} });
    expect(cleared).toBe('sort_by=risk&sort_direction=desc&limit=50');
  });
});

describe('listHref / sortHref', () => {
  it('builds a path with its query', () => {
    expect(listHref('/roster', q({ ltik: 'T' }))).toBe('/roster?sort_by=risk&sort_direction=desc&limit=50&ltik=T');
  });
  it('clicking the current column flips its direction and restarts paging', () => {
    const current = q({ sort_by: 'name', sort_direction: 'asc', offset: '100', ltik: 'T' });
    const p = new URLSearchParams(sortHref('/roster', current, 'name').split('?')[1]);
    expect(p.get('sort_direction')).toBe('desc');
    expect(p.has('offset')).toBe(false);
    expect(p.get('ltik')).toBe('T');
  });
  it('a new column starts at its natural direction', () => {
    const p = new URLSearchParams(sortHref('/roster', q({}), 'name', 'asc').split('?')[1]);
    expect(p.get('sort_by')).toBe('name');
    expect(p.get('sort_direction')).toBe('asc');
  });
});

describe('links of a cursor-paged list with one fixed order', () => {
  const CURSORED: ListSpec = { sortBy: [], defaultSort: { by: 'created_at', direction: 'desc' }, booleans: ['bot_only'], paging: 'cursor' };
  it('carry no sort parameters; carry the cursor and the booleans', () => {
    const got = parseListQuery({ cursor: 'c1', bot_only: 'true', ltik: 'T' }, CURSORED);
    if (!got.ok) throw new Error(JSON.stringify(got.errors));
    expect(toQueryString(got.value)).toBe('bot_only=true&limit=50&cursor=c1&ltik=T');
    expect(toQueryString(got.value, { cursor: null, limit: null })).toBe('bot_only=true&ltik=T');
  });
});
