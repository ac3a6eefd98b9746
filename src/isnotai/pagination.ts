/**
 * Cursor pagination as async iterators. Follows `pagination.nextCursor` while `hasMore`, never
 * assumes the page size it asked for (the tier clamp may shrink it; the effective size is in
 * `pagination.limit`), and refuses to loop: a cursor seen before, or `hasMore` without a cursor,
 * is a typed upstream error rather than an endless walk.
 */
import { IsnotaiPaginationError } from './errors';
import type { Page } from './types';

export interface PageCaps {
  /** Stop after this many pages (the walk ends quietly: the caller asked for it). */
  maxPages?: number;
  /** Stop after this many items. */
  maxItems?: number;
}

/** A hard safety net for walks without caps: an upstream that never ends is a bug, not data. */
export const HARD_PAGE_LIMIT = 10_000;

export type FetchPage<T> = (cursor: string | undefined) => Promise<Page<T>>;

export async function* paginatePages<T>(
  endpoint: string,
  fetchPage: FetchPage<T>,
  caps: PageCaps = {},
): AsyncGenerator<Page<T>, void, undefined> {
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  let items = 0;
  const maxPages = caps.maxPages ?? Infinity;
  const maxItems = caps.maxItems ?? Infinity;
  while (pages < maxPages && items < maxItems) {
    if (pages >= HARD_PAGE_LIMIT)
      throw new IsnotaiPaginationError(
        'pagination_too_many_pages',
        endpoint,
        pages,
        `more than ${HARD_PAGE_LIMIT} pages; refusing to continue`,
      );
    const page = await fetchPage(cursor);
    pages++;
    const room = maxItems - items;
    const data = page.data.length > room ? page.data.slice(0, room) : page.data;
    items += data.length;
    yield data === page.data ? page : { data, pagination: page.pagination };
    if (!page.pagination.hasMore) return;
    const next = page.pagination.nextCursor;
    if (!next) throw new IsnotaiPaginationError('pagination_missing_cursor', endpoint, pages, 'hasMore is true but nextCursor is empty');
    if (seen.has(next) || next === cursor)
      throw new IsnotaiPaginationError('pagination_repeated_cursor', endpoint, pages, 'the API returned a cursor it had already returned');
    if (cursor !== undefined) seen.add(cursor);
    seen.add(next);
    cursor = next;
  }
}

export async function* paginate<T>(endpoint: string, fetchPage: FetchPage<T>, caps: PageCaps = {}): AsyncGenerator<T, void, undefined> {
  for await (const page of paginatePages(endpoint, fetchPage, caps)) yield* page.data;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
