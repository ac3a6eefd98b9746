/**
 * Rebuilds a list's query string for links (sort headers, paging, exports), keeping the
 * parameters the list does not know (notably `ltik`, so navigation works inside an LMS iframe).
 */
import type { ListQuery, SortDirection } from './types';

export interface ListQueryChanges {
  query?: string | null;
  filters?: Record<string, string[]>;
  booleans?: Record<string, boolean>;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  sortBy?: string;
  sortDirection?: SortDirection;
  /** null: no `limit` (an export link: the whole list). */
  limit?: number | null;
  offset?: number;
  cursor?: string | null;
  /** Extra parameters to set (string) or remove (null), e.g. `{ format: 'csv' }`. */
  extra?: Record<string, string | null>;
}

/**
 * `sort_by` and `sort_direction` are written for a sortable list; `limit` unless null; `offset`
 * only when not 0; `cursor` when set; filters as repeated parameters (a comma inside a free-string
 * value would otherwise be split on the way back). Returns the string without a leading "?".
 */
export function toQueryString(query: ListQuery, changes: ListQueryChanges = {}): string {
  const q = { ...query, ...Object.fromEntries(Object.entries(changes).filter(([k, v]) => k !== 'extra' && v !== undefined)) } as ListQuery;
  const params = new URLSearchParams();
  if (q.query) params.append('query', q.query);
  for (const [name, values] of Object.entries(q.filters)) for (const v of values) params.append(name, v);
  for (const [name, on] of Object.entries(q.booleans)) params.append(name, String(on));
  if (q.createdAfter) params.append('created_after', q.createdAfter.toISOString());
  if (q.createdBefore) params.append('created_before', q.createdBefore.toISOString());
  if (q.sortable) {
    params.append('sort_by', q.sortBy);
    params.append('sort_direction', q.sortDirection);
  }
  if (q.limit !== null) params.append('limit', String(q.limit));
  if (q.offset > 0) params.append('offset', String(q.offset));
  if (q.cursor) params.append('cursor', q.cursor);

  const overrides = changes.extra ?? {};
  for (const [name, v] of query.extra) if (!Object.prototype.hasOwnProperty.call(overrides, name)) params.append(name, v);
  for (const [name, v] of Object.entries(overrides)) if (v !== null) params.append(name, v);
  return params.toString();
}

/** `path?query`, for href attributes (escape it when inserting into HTML, as templates do). */
export function listHref(path: string, query: ListQuery, changes?: ListQueryChanges): string {
  const qs = toQueryString(query, changes);
  return qs ? `${path}?${qs}` : path;
}

/**
 * The link for a sortable column header: clicking the current column flips the direction; a new
 * column starts at its natural direction. Paging restarts at the first page.
 */
export function sortHref(path: string, query: ListQuery, column: string, naturalDirection: SortDirection = 'asc'): string {
  const direction: SortDirection = query.sortBy === column ? (query.sortDirection === 'asc' ? 'desc' : 'asc') : naturalDirection;
  return listHref(path, query, { sortBy: column, sortDirection: direction, offset: 0, cursor: null });
}
