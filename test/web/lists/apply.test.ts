import { applyList, ListConfigError, type ListAdapters } from '../../../src/web/lists/apply';
import { parseListQuery } from '../../../src/web/lists/parse';
import { compareDate, compareNumber, compareText } from '../../../src/web/lists/text';
import type { ListQuery, ListSpec, RawQuery } from '../../../src/web/lists/types';

interface Learner {
  id: string;
  name: string;
  email: string;
  risk: 'high' | 'elevated' | 'low' | 'none';
  rank: number;
  maxScore: number | null;
  flags: string[];
  created: string | null;
}

const RANK = { high: 3, elevated: 2, low: 1, none: 0 } as const;
function learner(
  id: string,
  name: string,
  risk: Learner['risk'],
  maxScore: number | null,
  flags: string[] = [],
  created: string | null = '2026-11-10T00:00:00Z',
): Learner {
  return { id, name, email: `${id}@uni.example`, risk, rank: RANK[risk], maxScore, flags, created };
}

const LEARNERS: Learner[] = [
  learner('u1', 'Émilie Durand', 'high', 0.93, ['webdriver_present', 'paste_burst'], '2026-11-01T00:00:00Z'),
  learner('u2', 'Ada Lovelace', 'low', 0.1, [], '2026-11-05T00:00:00Z'),
  learner('u3', 'Björn Ångström', 'elevated', 0.55, ['tab_switching'], '2026-11-20T23:59:59.999Z'),
  learner('u4', 'Zoë Ng', 'high', 0.71, ['paste_burst'], '2026-11-21T00:00:00Z'),
  learner('u5', 'emile durand', 'none', null, [], null),
  learner('u6', 'Chen Wei', 'low', 0.1, ['tab_switching'], '2026-10-31T23:59:59.999Z'),
];

const SPEC: ListSpec = {
  sortBy: ['risk', 'max_score', 'name', 'created'],
  defaultSort: { by: 'risk', direction: 'desc' },
  sortDirections: { name: 'asc', created: 'asc' },
  filters: { risk: { allowed: ['high', 'elevated', 'low', 'none'] }, flag: {} },
  query: true,
  createdWindow: true,
};

const ADAPTERS: ListAdapters<Learner> = {
  searchText: (l) => [l.name, l.email, l.id],
  filters: { risk: (l) => l.risk, flag: (l) => l.flags },
  sorters: {
    risk: (a, b) => a.rank - b.rank || compareNumber(a.maxScore, b.maxScore),
    max_score: (a, b) => compareNumber(a.maxScore, b.maxScore),
    name: (a, b) => compareText(a.name, b.name),
    created: (a, b) => compareDate(a.created, b.created),
  },
  createdAt: (l) => (l.created ? new Date(l.created) : null),
};

function q(raw: RawQuery): ListQuery {
  const got = parseListQuery(raw, SPEC);
  if (!got.ok) throw new Error(JSON.stringify(got.errors));
  return got.value;
}
const ids = (raw: RawQuery) => applyList(LEARNERS, q(raw), ADAPTERS).items.map((l) => l.id);

describe('applyList: search', () => {
  it('is case- and accent-insensitive', () => {
    expect(ids({ query: 'emilie', sort_by: 'name' })).toEqual(['u1']);
    expect(ids({ query: 'ÉMILE', sort_by: 'name' })).toEqual(['u5']);
    expect(ids({ query: 'angstrom' })).toEqual(['u3']);
    expect(ids({ query: 'zoe' })).toEqual(['u4']);
  });
  it('matches every word, in any field and order', () => {
    expect(ids({ query: 'durand emil', sort_by: 'name' })).toEqual(['u5', 'u1']);
    expect(ids({ query: 'lovelace ada' })).toEqual(['u2']);
    expect(ids({ query: 'u6@uni' })).toEqual(['u6']);
    expect(ids({ query: 'ada nobody' })).toEqual([]);
  });
});

describe('applyList: filters and window', () => {
  it('values of one filter are alternatives; filters combine', () => {
    expect(ids({ risk: 'high,elevated', sort_by: 'name' })).toEqual(['u3', 'u1', 'u4']);
    expect(ids({ risk: 'high', flag: 'paste_burst,tab_switching', sort_by: 'name' })).toEqual(['u1', 'u4']);
    expect(ids({ risk: 'low', flag: 'tab_switching' })).toEqual(['u6']);
  });
  it('repeated and comma-separated filters give the same answer', () => {
    expect(applyList(LEARNERS, q({ risk: ['high', 'none'] }), ADAPTERS)).toEqual(applyList(LEARNERS, q({ risk: 'high,none' }), ADAPTERS));
  });
  it('the none filter finds learners without sessions', () => {
    expect(ids({ risk: 'none' })).toEqual(['u5']);
  });
  it('the window is inclusive and leaves out undated items', () => {
    expect(ids({ created_after: '2026-11-01', created_before: '2026-11-20', sort_by: 'created', sort_direction: 'asc' })).toEqual([
      'u1',
      'u2',
      'u3',
    ]);
    expect(ids({ created_after: '2026-11-21T00:00:00Z' })).toEqual(['u4']);
  });
  it('total counts matches before paging', () => {
    const page = applyList(LEARNERS, q({ risk: 'low,high', limit: '1' }), ADAPTERS);
    expect(page.total).toBe(4);
    expect(page.items).toHaveLength(1);
  });
});

describe('applyList: sorting', () => {
  it('sorts by risk, riskiest first by default', () => {
    expect(ids({})).toEqual(['u1', 'u4', 'u3', 'u2', 'u6', 'u5']);
  });
  it('direction reverses the key but equal keys keep input order either way (stable)', () => {
    // u2 and u6 tie on max_score 0.1
    expect(ids({ sort_by: 'max_score', sort_direction: 'asc' })).toEqual(['u5', 'u2', 'u6', 'u3', 'u4', 'u1']);
    expect(ids({ sort_by: 'max_score', sort_direction: 'desc' })).toEqual(['u1', 'u4', 'u3', 'u2', 'u6', 'u5']);
  });
  it('uses the tiebreak when given, independent of direction', () => {
    const byIdDesc: ListAdapters<Learner> = { ...ADAPTERS, tiebreak: (a, b) => compareText(b.id, a.id) };
    expect(
      applyList(LEARNERS, q({ sort_by: 'max_score', sort_direction: 'asc' }), byIdDesc)
        .items.map((l) => l.id)
        .slice(1, 3),
    ).toEqual(['u6', 'u2']);
    expect(
      applyList(LEARNERS, q({ sort_by: 'max_score', sort_direction: 'desc' }), byIdDesc)
        .items.map((l) => l.id)
        .slice(3, 5),
    ).toEqual(['u6', 'u2']);
  });
  it('names sort alphabetically ignoring accents and case', () => {
    expect(ids({ sort_by: 'name' })).toEqual(['u2', 'u3', 'u6', 'u5', 'u1', 'u4']);
  });
  it('does not modify the input', () => {
    const before = LEARNERS.map((l) => l.id);
    applyList(LEARNERS, q({ sort_by: 'name', sort_direction: 'desc' }), ADAPTERS);
    expect(LEARNERS.map((l) => l.id)).toEqual(before);
  });
  it('sorting then paging: pages are consecutive slices with no repeats or gaps', () => {
    const all = ids({ sort_by: 'max_score', limit: '500' });
    const paged: string[] = [];
    for (let offset = 0; offset < 6; offset += 2) paged.push(...ids({ sort_by: 'max_score', limit: '2', offset: String(offset) }));
    expect(paged).toEqual(all);
  });
});

describe('applyList: paging math', () => {
  const page = (limit: number, offset: number) => {
    const { items, ...rest } = applyList(LEARNERS, q({ limit: String(limit), offset: String(offset) }), ADAPTERS);
    return { n: items.length, ...rest };
  };
  it('first page of several', () => {
    expect(page(2, 0)).toEqual({ n: 2, total: 6, limit: 2, offset: 0, has_more: true, next_offset: 2 });
  });
  it('a page ending exactly at the total has no more', () => {
    expect(page(2, 4)).toEqual({ n: 2, total: 6, limit: 2, offset: 4, has_more: false, next_offset: null });
    expect(page(6, 0)).toEqual({ n: 6, total: 6, limit: 6, offset: 0, has_more: false, next_offset: null });
  });
  it('one short of the end has more', () => {
    expect(page(5, 0)).toEqual({ n: 5, total: 6, limit: 5, offset: 0, has_more: true, next_offset: 5 });
    expect(page(1, 5)).toEqual({ n: 1, total: 6, limit: 1, offset: 5, has_more: false, next_offset: null });
  });
  it('a partial last page', () => {
    expect(page(4, 4)).toEqual({ n: 2, total: 6, limit: 4, offset: 4, has_more: false, next_offset: null });
  });
  it('an offset at or beyond the total gives an empty page, not an error', () => {
    expect(page(50, 6)).toEqual({ n: 0, total: 6, limit: 50, offset: 6, has_more: false, next_offset: null });
    expect(page(50, 1000)).toEqual({ n: 0, total: 6, limit: 50, offset: 1000, has_more: false, next_offset: null });
  });
  it('an empty list', () => {
    expect(applyList([], q({}), ADAPTERS)).toEqual({ items: [], total: 0, limit: 50, offset: 0, has_more: false, next_offset: null });
  });
});

describe('applyList: programming errors are loud', () => {
  it('a sort without a sorter', () => {
    expect(() => applyList(LEARNERS, { ...q({}), sortBy: 'nope' }, ADAPTERS)).toThrow(ListConfigError);
  });
  it('a filter without an accessor', () => {
    expect(() => applyList(LEARNERS, { ...q({}), filters: { status: ['active'] } }, ADAPTERS)).toThrow(/No accessor for filter "status"/);
  });
  it('a window without a createdAt accessor', () => {
    const { createdAt: _unused, ...noDate } = ADAPTERS;
    expect(() => applyList(LEARNERS, q({ created_after: '2026-11-01' }), noDate)).toThrow(ListConfigError);
  });
});

describe('comparators', () => {
  it('compareNumber puts missing values first', () => {
    expect([3, null, 1, Number.NaN, 2].sort(compareNumber)).toEqual([null, Number.NaN, 1, 2, 3]);
  });
  it('compareText is numeric-aware', () => {
    expect(['item 10', 'item 2', 'Item 1'].sort(compareText)).toEqual(['Item 1', 'item 2', 'item 10']);
  });
  it('compareDate reads ISO strings and Dates', () => {
    expect(compareDate('2026-11-02T00:00:00Z', new Date('2026-11-01T00:00:00Z'))).toBe(1);
    expect(compareDate('garbage', '2026-11-01T00:00:00Z')).toBe(-1);
  });
});
