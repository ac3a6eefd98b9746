/** Shapes of our list surfaces (roster, session lists), following the conventions of seeds/004. */

export type SortDirection = 'asc' | 'desc';

export interface ListFilterSpec {
  /** Allowed values (matched case-insensitively, stored lower-case); omit for free strings such as flags. */
  allowed?: readonly string[];
}

export interface ListSpec {
  /** Allowed `sort_by` values. */
  sortBy: readonly string[];
  /** Used when `sort_by` is absent; `direction` also when `sort_direction` is absent. */
  defaultSort: { by: string; direction: SortDirection };
  /** Direction to use when `sort_by` is given without `sort_direction` (e.g. name → asc, risk → desc). */
  sortDirections?: Readonly<Record<string, SortDirection>>;
  /** Multi-valued filters by parameter name, e.g. `{ risk: { allowed: RISK_LEVELS }, flag: {} }`. */
  filters?: Readonly<Record<string, ListFilterSpec>>;
  /** Whether the free-text `query` parameter is supported. */
  query?: boolean;
  /** Whether `created_after` / `created_before` are supported. */
  createdWindow?: boolean;
  /** Default page size (1–500); 50 when omitted. */
  defaultLimit?: number;
}

export interface ListQuery {
  /** Trimmed free text, or null when absent or blank. */
  query: string | null;
  /** Only filters that were given, each deduplicated in first-seen order. */
  filters: Record<string, string[]>;
  /** Inclusive lower bound on creation time. */
  createdAfter: Date | null;
  /** Inclusive upper bound on creation time (a date-only value means the end of that UTC day). */
  createdBefore: Date | null;
  sortBy: string;
  sortDirection: SortDirection;
  limit: number;
  offset: number;
  /** Parameters the list does not know (e.g. `ltik`), kept so rebuilt links still carry them. */
  extra: Array<[string, string]>;
}

export interface ListParamError {
  /** The query parameter at fault, e.g. `limit`. */
  param: string;
  /** Why, in words a person can act on. */
  message: string;
  /** The offending value (clipped), when there was one. */
  value?: string;
}

export type ListQueryResult = { ok: true; value: ListQuery } | { ok: false; errors: ListParamError[] };

/** The seeds/004 answer shape. */
export interface ListPage<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  has_more: boolean;
  next_offset: number | null;
}

export type RawQuery = Record<string, string | string[] | undefined>;
