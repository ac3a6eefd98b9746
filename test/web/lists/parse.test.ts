import { invalidListParameters, listErrorMessage } from '../../../src/web/lists/errors';
import { parseIsoBound, parseListQuery } from '../../../src/web/lists/parse';
import type { ListQuery, ListSpec, RawQuery } from '../../../src/web/lists/types';

const SPEC: ListSpec = {
  sortBy: ['risk', 'max_score', 'name', 'last_activity', 'sessions'],
  defaultSort: { by: 'risk', direction: 'desc' },
  sortDirections: { name: 'asc' },
  filters: { risk: { allowed: ['high', 'elevated', 'low', 'none'] }, flag: {}, status: { allowed: ['active', 'closed'] } },
  query: true,
  createdWindow: true,
};

function ok(raw: RawQuery, spec: ListSpec = SPEC): ListQuery {
  const got = parseListQuery(raw, spec);
  if (!got.ok) throw new Error(`expected ok, got ${JSON.stringify(got.errors)}`);
  return got.value;
}

function errs(raw: RawQuery, spec: ListSpec = SPEC) {
  const got = parseListQuery(raw, spec);
  if (got.ok) throw new Error('expected errors');
  return got.errors;
}

describe('parseListQuery: defaults', () => {
  it('an empty query string gives the spec defaults', () => {
    expect(ok({})).toEqual({
      query: null,
      filters: {},
      booleans: {},
      createdAfter: null,
      createdBefore: null,
      sortBy: 'risk',
      sortDirection: 'desc',
      sortable: true,
      limit: 50,
      offset: 0,
      cursor: null,
      extra: [],
    });
  });

  it('honours a spec default limit', () => {
    expect(ok({}, { ...SPEC, defaultLimit: 25 }).limit).toBe(25);
  });

  it('ignores unknown parameters but keeps them for links (ltik)', () => {
    const q = ok({ ltik: 'abc.def', foo: ['1', '2'], nothing: undefined });
    expect(q.extra).toEqual([
      ['ltik', 'abc.def'],
      ['foo', '1'],
      ['foo', '2'],
    ]);
  });
});

describe('query', () => {
  it('is trimmed; blank means none', () => {
    expect(ok({ query: '  Ada  ' }).query).toBe('Ada');
    expect(ok({ query: '   ' }).query).toBeNull();
  });
  it('accepts 200 characters and refuses 201', () => {
    expect(ok({ query: 'x'.repeat(200) }).query).toHaveLength(200);
    expect(errs({ query: 'x'.repeat(201) })).toEqual([
      expect.objectContaining({ param: 'query', message: 'query must be at most 200 characters (got 201)' }),
    ]);
  });
  it('is refused where the list does not support it', () => {
    expect(errs({ query: 'a' }, { ...SPEC, query: false })[0]).toMatchObject({
      param: 'query',
      message: 'query is not supported by this list',
    });
  });
  it('must be given once', () => {
    expect(errs({ query: ['a', 'b'] })[0]).toMatchObject({ param: 'query', message: 'query was given 2 times; give it once' });
  });
});

describe('multi-valued filters', () => {
  it('repeated and comma-separated forms are equivalent, and deduplicated', () => {
    const repeated = ok({ risk: ['high', 'elevated'] });
    const comma = ok({ risk: 'high,elevated' });
    const mixed = ok({ risk: ['high, elevated', 'high'] });
    expect(repeated.filters).toEqual({ risk: ['high', 'elevated'] });
    expect(comma.filters).toEqual(repeated.filters);
    expect(mixed.filters).toEqual(repeated.filters);
  });
  it('enumerated values are case-insensitive and stored lower-case', () => {
    expect(ok({ risk: 'HIGH,Low', status: 'Active' }).filters).toEqual({ risk: ['high', 'low'], status: ['active'] });
  });
  it('free-string filters keep their case', () => {
    expect(ok({ flag: 'paste_burst,Custom_Flag' }).filters).toEqual({ flag: ['paste_burst', 'Custom_Flag'] });
  });
  it('empty values mean no filter', () => {
    expect(ok({ risk: '', flag: ',,' }).filters).toEqual({});
  });
  it('names every value that is not allowed', () => {
    expect(errs({ risk: 'high,extreme,bogus' })).toEqual([
      {
        param: 'risk',
        message: 'risk must be one or more of high, elevated, low, none; not "extreme", "bogus"',
        value: 'extreme,bogus',
      },
    ]);
  });
  it('bounds free-string values', () => {
    expect(errs({ flag: 'x'.repeat(201) })[0]).toMatchObject({ param: 'flag', message: 'each flag value must be at most 200 characters' });
    const many = Array.from({ length: 51 }, (_, i) => `f${i}`).join(',');
    expect(errs({ flag: many })[0]).toMatchObject({ param: 'flag', message: 'flag accepts at most 50 values (got 51)' });
  });
  it('refuses a nested object (qs-style a[b]=1)', () => {
    expect(errs({ risk: { x: 'high' } as unknown as string })[0]).toMatchObject({ param: 'risk' });
  });
});

describe('created_after / created_before', () => {
  it('date-only: after = start of the UTC day, before = end of it', () => {
    const q = ok({ created_after: '2026-11-01', created_before: '2026-11-20' });
    expect(q.createdAfter?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(q.createdBefore?.toISOString()).toBe('2026-11-20T23:59:59.999Z');
  });
  it('the same date on both sides is that whole day', () => {
    const q = ok({ created_after: '2026-11-20', created_before: '2026-11-20' });
    expect(q.createdBefore!.getTime() - q.createdAfter!.getTime()).toBe(86_400_000 - 1);
  });
  it.each([
    ['2026-11-01T09:30:00Z', '2026-11-01T09:30:00.000Z'],
    ['2026-11-01T09:30:00.123456Z', '2026-11-01T09:30:00.123Z'],
    ['2026-11-01T09:30:00+02:00', '2026-11-01T07:30:00.000Z'],
    ['2026-11-01T09:30:00-0500', '2026-11-01T14:30:00.000Z'],
    ['2026-11-01T09:30', '2026-11-01T09:30:00.000Z'],
    ['2026-11-01t09:30z', '2026-11-01T09:30:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('accepts %s', (raw, iso) => {
    expect(parseIsoBound(raw, 'after')?.toISOString()).toBe(iso);
  });
  it.each([
    ['2026-02-30'],
    ['2025-02-29'],
    ['2026-13-01'],
    ['2026-11-01T24:00'],
    ['2026-11-01T10:00+25:00'],
    ['yesterday'],
    ['1730419200000'],
    ['2026-11-1'],
    ['<script>'],
  ])('refuses %s', (raw) => {
    expect(parseIsoBound(raw, 'after')).toBeNull();
    expect(errs({ created_after: raw })[0]).toMatchObject({ param: 'created_after', value: raw });
  });
  it('after must not be later than before', () => {
    expect(errs({ created_after: '2026-11-20', created_before: '2026-11-01' })).toEqual([
      expect.objectContaining({ param: 'created_before', message: 'created_before must not be earlier than created_after' }),
    ]);
  });
  it('is refused where the list has no window', () => {
    expect(errs({ created_before: '2026-11-01' }, { ...SPEC, createdWindow: false })[0]).toMatchObject({
      param: 'created_before',
      message: 'created_before is not supported by this list',
    });
  });
});

describe('sort_by / sort_direction', () => {
  it('takes allowed values, case-insensitively', () => {
    expect(ok({ sort_by: 'MAX_SCORE', sort_direction: 'ASC' })).toMatchObject({ sortBy: 'max_score', sortDirection: 'asc' });
  });
  it('a column without a direction uses its natural direction, else the default', () => {
    expect(ok({ sort_by: 'name' }).sortDirection).toBe('asc');
    expect(ok({ sort_by: 'sessions' }).sortDirection).toBe('desc');
    expect(ok({ sort_by: 'name', sort_direction: 'desc' }).sortDirection).toBe('desc');
  });
  it('refuses unknown columns and directions', () => {
    expect(errs({ sort_by: 'password', sort_direction: 'sideways' })).toEqual([
      { param: 'sort_by', message: 'sort_by must be one of risk, max_score, name, last_activity, sessions', value: 'password' },
      { param: 'sort_direction', message: 'sort_direction must be asc or desc', value: 'sideways' },
    ]);
  });
});

describe('limit / offset', () => {
  it.each([
    ['1', 1],
    ['500', 500],
    [' 20 ', 20],
  ])('limit %p → %p', (raw, n) => {
    expect(ok({ limit: raw }).limit).toBe(n);
  });
  it.each([['0'], ['501'], ['-1'], ['1.5'], ['abc'], ['1e2'], ['0x10'], ['99999999999999999999']])('refuses limit %p', (raw) => {
    expect(errs({ limit: raw })).toEqual([{ param: 'limit', message: 'limit must be a whole number from 1 to 500', value: raw }]);
  });
  it('offset 0 and large offsets are fine; negatives and fractions are not', () => {
    expect(ok({ offset: '0' }).offset).toBe(0);
    expect(ok({ offset: '100000' }).offset).toBe(100000);
    expect(errs({ offset: '-5' })).toEqual([{ param: 'offset', message: 'offset must be a whole number 0 or more', value: '-5' }]);
    expect(errs({ offset: '2.5' })[0].param).toBe('offset');
  });
  it('a blank field (an empty form input) means the default', () => {
    expect(ok({ limit: '', offset: '' })).toMatchObject({ limit: 50, offset: 0 });
  });
  it('refuses repeated scalar parameters', () => {
    expect(errs({ limit: ['10', '20'] })[0]).toMatchObject({ param: 'limit', message: 'limit was given 2 times; give it once' });
  });
});

describe('all errors are collected', () => {
  const raw: RawQuery = {
    query: 'q'.repeat(300),
    risk: 'severe',
    status: 'open',
    created_after: 'soon',
    created_before: '2026-02-31',
    sort_by: 'x',
    sort_direction: 'up',
    limit: '0',
    offset: '-1',
    ltik: 'kept',
  };

  it('names every invalid parameter, not just the first', () => {
    expect(errs(raw).map((e) => e.param)).toEqual([
      'query',
      'risk',
      'status',
      'created_after',
      'created_before',
      'sort_by',
      'sort_direction',
      'limit',
      'offset',
    ]);
  });

  it('invalidListParameters is the 422 error with every detail', () => {
    const errors = errs(raw);
    const body = invalidListParameters(errors);
    expect(body.status).toBe(422);
    expect(body.code).toBe('invalid_parameters');
    expect(body.details).toEqual(errors);
    expect(body.message).toMatch(
      /^Invalid list parameters \(query, risk, status, created_after, created_before, sort_by, sort_direction, limit, offset\): /,
    );
    expect(body.message).toContain('limit must be a whole number from 1 to 500');
    expect(JSON.parse(JSON.stringify(body.details))).toEqual(body.details);
  });

  it('one error reads naturally', () => {
    expect(listErrorMessage([{ param: 'limit', message: 'limit must be a whole number from 1 to 500' }])).toBe(
      'Invalid list parameter (limit): limit must be a whole number from 1 to 500.',
    );
  });

  it('clips very long values in details', () => {
    const e = errs({ sort_by: 'z'.repeat(10_000) })[0];
    expect(e.value!.length).toBeLessThanOrEqual(100);
  });
});

describe("with errors, the valid parameters are still read (for the page's form)", () => {
  it('keeps the valid values of a filter with an invalid one, and the other parameters', () => {
    const got = parseListQuery({ risk: 'high,purple', query: 'Ada', limit: '9999', sort_by: 'name' }, SPEC);
    expect(got.ok).toBe(false);
    expect(got.value).toMatchObject({ query: 'Ada', filters: { risk: ['high'] }, sortBy: 'name', limit: 50 });
  });
});

describe('the data forms of a list with exports', () => {
  const EXPORTING: ListSpec = { ...SPEC, exports: true };
  it('without limit: the whole list (limit null); with limit: one page', () => {
    expect(parseListQuery({}, EXPORTING, 'csv').value.limit).toBeNull();
    expect(parseListQuery({}, EXPORTING, 'json').value.limit).toBeNull();
    expect(parseListQuery({ limit: '40' }, EXPORTING, 'csv').value.limit).toBe(40);
  });
  it('the page keeps its default page size', () => {
    expect(parseListQuery({}, EXPORTING, 'html').value.limit).toBe(50);
    expect(parseListQuery({}, SPEC, 'json').value.limit).toBe(50);
  });
});

describe('a list with one fixed order, paged by isnotai cursors', () => {
  const CURSORED: ListSpec = {
    sortBy: [],
    defaultSort: { by: 'created_at', direction: 'desc' },
    filters: {
      status: { allowed: ['active', 'closed'] },
      type: { multi: false, maxLength: 10, check: (v) => (v === 'bad' ? 'type “bad” is unknown' : null) },
    },
    booleans: ['bot_only'],
    createdWindow: true,
    paging: 'cursor',
    renamed: { page_size: 'limit', start_date: 'created_after' },
  };
  it('reads cursor, booleans and single-valued filters', () => {
    expect(ok({ cursor: ' abc ', bot_only: 'TRUE', type: 'mouse_move' }, CURSORED)).toMatchObject({
      cursor: 'abc',
      booleans: { bot_only: true },
      filters: { type: ['mouse_move'] },
      sortable: false,
      sortBy: 'created_at',
      sortDirection: 'desc',
    });
  });
  it('refuses offset, sorting, a bad boolean, an overlong cursor', () => {
    expect(
      errs({ offset: '5', sort_by: 'created_at', sort_direction: 'asc', bot_only: 'maybe', cursor: 'c'.repeat(2001) }, CURSORED),
    ).toEqual([
      expect.objectContaining({ param: 'bot_only', message: 'bot_only must be true or false' }),
      expect.objectContaining({
        param: 'sort_by',
        message: 'sort_by is not supported by this list: its order is fixed (created_at, descending)',
      }),
      expect.objectContaining({ param: 'sort_direction' }),
      expect.objectContaining({
        param: 'offset',
        message: 'offset is not supported by this list: it pages with cursor (each answer gives the next one)',
      }),
      expect.objectContaining({ param: 'cursor', message: 'cursor is not a page of this list; start again from the first page' }),
    ]);
  });
  it('a single-valued filter: given once, not comma-split, checked', () => {
    expect(errs({ type: ['a', 'b'] }, CURSORED)[0]).toMatchObject({ param: 'type', message: 'type was given 2 times; give it once' });
    expect(ok({ type: 'a,b' }, CURSORED).filters).toEqual({ type: ['a,b'] });
    expect(errs({ type: 'bad' }, CURSORED)[0]).toMatchObject({ param: 'type', message: 'type “bad” is unknown', value: 'bad' });
    expect(errs({ type: 'x'.repeat(11) }, CURSORED)[0]).toMatchObject({ param: 'type', message: 'type must be at most 10 characters' });
  });
  it('an old name is an error that names its successor, never silently ignored', () => {
    expect(errs({ page_size: '10', start_date: '2026-11-01' }, CURSORED)).toEqual([
      { param: 'page_size', message: 'page_size is not read any more: use limit', value: '10' },
      { param: 'start_date', message: 'start_date is not read any more: use created_after', value: '2026-11-01' },
    ]);
  });
  it('an offset list refuses a cursor', () => {
    expect(errs({ cursor: 'abc' })[0]).toMatchObject({
      param: 'cursor',
      message: 'cursor is not supported by this list: it pages with limit and offset',
    });
  });
});

describe('a search that is not paged (paging: none)', () => {
  const SEARCH: ListSpec = {
    sortBy: [],
    defaultSort: { by: 'name', direction: 'asc' },
    filters: { q: { multi: false, maxLength: 200 } },
    paging: 'none',
  };
  it('reads its one text once, and refuses limit, offset and cursor', () => {
    expect(ok({ q: ' ada ' }, SEARCH).filters).toEqual({ q: ['ada'] });
    expect(errs({ q: ['ada', 'bob'] }, SEARCH)).toEqual([{ param: 'q', message: 'q was given 2 times; give it once', value: 'ada,bob' }]);
    expect(errs({ limit: '5', offset: '1', cursor: 'c' }, SEARCH).map((e) => e.message)).toEqual([
      'limit is not supported by this list: it is not paged (it shows every match)',
      'offset is not supported by this list: it is not paged (it shows every match)',
      'cursor is not supported by this list: it is not paged (it shows every match)',
    ]);
  });
});
