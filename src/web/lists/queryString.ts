/**
 * Rebuilds a list's query string for links (sort headers, paging, JSON/CSV links), keeping the
 * parameters the list does not know (notably `ltik`, so navigation works inside an LMS iframe).
 */
import type { ListQuery, SortDirection } from './types';

export interface ListQueryChanges {
  query?: string | null;
  filters?: Record<string, string[]>;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  sortBy?: string;
  sortDirection?: SortDirection;
  limit?: number;
  offset?: number;
  /** Extra parameters to set (string) or remove (null), e.g. `{ format: 'csv' }`. */
  extra?: Record<string, string | null>;
}

/**
 * `sort_by`, `sort_direction` and `limit` are always written; `offset` only when not 0; filters as
 * repeated parameters (a comma inside a free-string value would otherwise be split on the way back).
 * Returns the string without a leading "?".
 */
export function toQueryString(query: ListQuery, changes: ListQueryChanges = {}): string {
  const q = { ...query, ...Object.fromEntries(Object.entries(changes).filter(([k, v]) => k !== 'extra' && v !== undefined)) } as ListQuery;
  const params = new URLSearchParams();
  if (q.query) params.append('query', q.query);
  for (const [name, values] of Object.entries(q.filters)) for (const v of values) params.append(name, v);
  if (q.createdAfter) params.append('created_after', q.createdAfter.toISOString());
  if (q.createdBefore) params.append('created_before', q.createdBefore.toISOString());
  params.append('sort_by', q.sortBy);
  params.append('sort_direction', q.sortDirection);
  params.append('limit', String(q.limit));
  if (q.offset > 0) params.append('offset', String(q.offset));

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
 * column starts at its natural direction. Paging restarts at offset 0.
 */
export function sortHref(path: string, query: ListQuery, column: string, naturalDirection: SortDirection = 'asc'): string {
  const direction: SortDirection = query.sortBy === column ? (query.sortDirection === 'asc' ? 'desc' : 'asc') : naturalDirection;
  return listHref(path, query, { sortBy: column, sortDirection: direction, offset: 0 });
}
