/** Shapes of the tool's lists (roster, session lists, audit log, events), one dialect for all: docs/lists.md. */

export type SortDirection = 'asc' | 'desc';

/** How a list was asked for: the page, or one of its data forms. */
export type ListForm = 'html' | 'json' | 'csv';

export interface ListFilterSpec {
  /** Allowed values (matched case-insensitively, stored lower-case); omit for free strings such as flags. */
  allowed?: readonly string[];
  /**
   * Whether the filter takes several values (repeated and/or comma-separated; the default). A filter
   * isnotai applies itself takes one value, given once.
   */
  multi?: boolean;
  /** Longest value (default FILTER_VALUE_MAX_LENGTH). */
  maxLength?: number;
  /** Further check of one value: null when it is fine, else why not, in words a person can act on. */
  check?: (value: string) => string | null;
}

export interface ListSpec {
  /**
   * Allowed `sort_by` values. Empty: the list has one fixed order (`defaultSort`, e.g. the order
   * isnotai answers in), and `sort_by` / `sort_direction` are refused.
   */
  sortBy: readonly string[];
  /** Used when `sort_by` is absent; `direction` also when `sort_direction` is absent. */
  defaultSort: { by: string; direction: SortDirection };
  /** Direction to use when `sort_by` is given without `sort_direction` (e.g. name → asc, risk → desc). */
  sortDirections?: Readonly<Record<string, SortDirection>>;
  /** Filters by parameter name, e.g. `{ risk: { allowed: RISK_LEVELS }, flag: {} }`. */
  filters?: Readonly<Record<string, ListFilterSpec>>;
  /** Parameters that are `true` or `false` (e.g. `bot_only`). */
  booleans?: readonly string[];
  /** Whether the free-text `query` parameter is supported. */
  query?: boolean;
  /** Whether `created_after` / `created_before` are supported. */
  createdWindow?: boolean;
  /**
   * `offset` (the default): `limit` + `offset` over a list the tool holds whole. `cursor`: isnotai's
   * own pages, followed with the `cursor` it hands out; such a list has no `offset` and no `total`.
   * `none`: not paged (a search showing its matches): `limit`, `offset` and `cursor` are refused.
   */
  paging?: 'offset' | 'cursor' | 'none';
  /** Page size of the HTML page and of a data form given no `limit` (1–500); 50 when omitted. */
  defaultLimit?: number;
  /** Whether the JSON and CSV forms without `limit` are exports: the whole filtered, sorted list. */
  exports?: boolean;
  /** Names this list read before it spoke the one dialect: giving one is an error naming its successor. */
  renamed?: Readonly<Record<string, string>>;
}

export interface ListQuery {
  /** Trimmed free text, or null when absent or blank. */
  query: string | null;
  /** Only filters that were given, each deduplicated in first-seen order. */
  filters: Record<string, string[]>;
  /** Only the `true`/`false` parameters that were given. */
  booleans: Record<string, boolean>;
  /** Inclusive lower bound on creation time. */
  createdAfter: Date | null;
  /** Inclusive upper bound on creation time (a date-only value means the end of that UTC day). */
  createdBefore: Date | null;
  sortBy: string;
  sortDirection: SortDirection;
  /** False for a list with one fixed order: links then carry no `sort_by` / `sort_direction`. */
  sortable: boolean;
  /** Items per page; null for an export (the whole list). */
  limit: number | null;
  offset: number;
  /** isnotai's cursor for the page to show (cursor-paged lists only). */
  cursor: string | null;
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

/**
 * The parsed query, and the errors if any. With errors, `value` still holds every valid
 * parameter (and defaults for the invalid ones), so a page can show its form as it was filled.
 */
export type ListQueryResult = { ok: true; value: ListQuery } | { ok: false; errors: ListParamError[]; value: ListQuery };

/** One page of an offset-paged list (the seed conventions' answer); `limit` is null for an export. */
export interface ListPage<T> {
  items: T[];
  total: number;
  limit: number | null;
  offset: number;
  has_more: boolean;
  next_offset: number | null;
}

/** One page of a cursor-paged list: isnotai says whether there is more, not how many. */
export interface CursorPage<T> {
  items: T[];
  /** isnotai's effective page size (it clamps to its plan); null for an export. */
  limit: number | null;
  has_more: boolean;
  next_cursor: string | null;
}

export type RawQuery = Record<string, string | string[] | undefined>;
