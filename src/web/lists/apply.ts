/**
 * Applies a parsed ListQuery to items the tool holds whole: search, filters, creation window, a
 * stable sort and offset paging (or the whole list, for an export), answering as docs/lists.md says.
 */
import { foldText } from './text';
import type { ListPage, ListQuery } from './types';

export interface ListAdapters<T> {
  /** The texts `query` searches (e.g. name, email, user id). */
  searchText: (item: T) => ReadonlyArray<string | null | undefined>;
  /** One accessor per filter the spec declares; an item matches if any of its values is selected. */
  filters: Readonly<Record<string, (item: T) => string | readonly string[] | null | undefined>>;
  /** Ascending comparators per `sort_by` value; `desc` reverses them. */
  sorters: Readonly<Record<string, (a: T, b: T) => number>>;
  /** Needed when the list supports `created_after`/`created_before`. Items without a date fall outside a window. */
  createdAt?: (item: T) => Date | null;
  /**
   * Final, direction-independent tiebreak (e.g. by id) so equal keys keep one order on every
   * page. Without it, the items' input order is the tiebreak.
   */
  tiebreak?: (a: T, b: T) => number;
}

export class ListConfigError extends Error {
  readonly code = 'list_config' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ListConfigError';
  }
}

function matchesQuery(texts: ReadonlyArray<string | null | undefined>, tokens: string[]): boolean {
  const haystack = texts.filter((t): t is string => typeof t === 'string').map(foldText);
  return tokens.every((token) => haystack.some((h) => h.includes(token)));
}

/** Filter, search, window, sort and page. Pure: `items` is not modified. */
export function applyList<T>(items: readonly T[], query: ListQuery, adapters: ListAdapters<T>): ListPage<T> {
  const sorter = adapters.sorters[query.sortBy];
  if (!sorter) throw new ListConfigError(`No sorter for sort_by "${query.sortBy}"`);
  const filters = Object.entries(query.filters).map(([name, wanted]) => {
    const get = adapters.filters[name];
    if (!get) throw new ListConfigError(`No accessor for filter "${name}"`);
    return { get, wanted: new Set(wanted.map(foldText)) };
  });
  if (Object.keys(query.booleans).length > 0)
    throw new ListConfigError('true/false parameters are isnotai filters; a list held whole has none');
  const windowed = query.createdAfter !== null || query.createdBefore !== null;
  if (windowed && !adapters.createdAt) {
    throw new ListConfigError('created_after/created_before given but the list has no createdAt accessor');
  }
  const after = query.createdAfter?.getTime() ?? Number.NEGATIVE_INFINITY;
  const before = query.createdBefore?.getTime() ?? Number.POSITIVE_INFINITY;
  // Whitespace-separated words must all appear (in any field): "lovelace ada" finds "Ada Lovelace".
  const tokens = query.query ? foldText(query.query).split(/\s+/u).filter(Boolean) : [];

  const kept: Array<{ item: T; index: number }> = [];
  items.forEach((item, index) => {
    if (tokens.length > 0 && !matchesQuery(adapters.searchText(item), tokens)) return;
    for (const f of filters) {
      const raw = f.get(item);
      const values: readonly string[] = raw === null || raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw;
      if (!values.some((v) => f.wanted.has(foldText(v)))) return;
    }
    if (windowed) {
      const t = adapters.createdAt?.(item)?.getTime();
      if (t === undefined || Number.isNaN(t) || t < after || t > before) return;
    }
    kept.push({ item, index });
  });

  const sign = query.sortDirection === 'desc' ? -1 : 1;
  const tiebreak = adapters.tiebreak;
  kept.sort((a, b) => {
    const primary = sorter(a.item, b.item);
    if (primary !== 0 && !Number.isNaN(primary)) return sign * primary;
    const tie = tiebreak ? tiebreak(a.item, b.item) : 0;
    return tie !== 0 && !Number.isNaN(tie) ? tie : a.index - b.index;
  });

  const total = kept.length;
  const page = (query.limit === null ? kept.slice(query.offset) : kept.slice(query.offset, query.offset + query.limit)).map((k) => k.item);
  const end = query.offset + page.length;
  const hasMore = end < total;
  return { items: page, total, limit: query.limit, offset: query.offset, has_more: hasMore, next_offset: hasMore ? end : null };
}
