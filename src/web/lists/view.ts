/**
 * The parts every list page shares, as view-models: column headers that show the order, the
 * pager, the marks on the form's invalid fields, and the export links (docs/lists.md).
 */
import { INVALID_PARAMETERS } from './errors';
import { listHref, sortHref } from './queryString';
import type { CursorPage, ListPage, ListParamError, ListQuery, ListSpec, RawQuery } from './types';

/** A column header: a link when the list can be sorted by it; `sorted` feeds `aria-sort`. */
export interface ColumnView {
  label: string;
  href: string | null;
  sorted: 'ascending' | 'descending' | null;
  /** The visible arrow of the sorted column (▲ ascending, ▼ descending). */
  mark: string | null;
  className: string | null;
}

/**
 * `key` is the `sort_by` value the column stands for (null: none). On a list with one fixed order
 * the column of that order is marked too, without a link: the reader still sees how it is sorted.
 */
export function columnView(
  path: string,
  q: ListQuery,
  spec: ListSpec,
  key: string | null,
  label: string,
  className: string | null = null,
): ColumnView {
  const sortedHere = key !== null && q.sortBy === key;
  const sorted = sortedHere ? (q.sortDirection === 'asc' ? 'ascending' : 'descending') : null;
  const linked = key !== null && q.sortable && spec.sortBy.includes(key);
  return {
    label,
    href: linked ? sortHref(path, q, key, spec.sortDirections?.[key] ?? spec.defaultSort.direction) : null,
    sorted,
    mark: sorted === 'ascending' ? '▲' : sorted === 'descending' ? '▼' : null,
    className,
  };
}

export interface PagerView {
  label: string;
  links: Array<{ href: string; text: string; rel: 'prev' | 'next' | null }>;
}

/** The one pager: offset lists get first/previous/next, cursor lists (isnotai's pages) first/next. */
export function pagerView(path: string, q: ListQuery, page: ListPage<unknown> | CursorPage<unknown>, label = 'Pages'): PagerView {
  const links: PagerView['links'] = [];
  if ('next_cursor' in page) {
    if (q.cursor) links.push({ href: listHref(path, q, { cursor: null }), text: 'First page', rel: null });
    if (page.has_more && page.next_cursor)
      links.push({ href: listHref(path, q, { cursor: page.next_cursor }), text: 'Next page', rel: 'next' });
  } else {
    const limit = q.limit ?? Math.max(1, page.items.length);
    if (page.offset > 0) {
      if (page.offset > limit) links.push({ href: listHref(path, q, { offset: 0 }), text: 'First page', rel: null });
      links.push({ href: listHref(path, q, { offset: Math.max(0, page.offset - limit) }), text: 'Previous page', rel: 'prev' });
    }
    if (page.has_more && page.next_offset !== null)
      links.push({ href: listHref(path, q, { offset: page.next_offset }), text: 'Next page', rel: 'next' });
  }
  return { label, links };
}

export interface FormErrorsView {
  /** Per form field: the id of its message (for aria-describedby) and the message. */
  fields: Record<string, { id: string; message: string }>;
  /** Every problem, for the summary above the form; `href` points at its field when the form has one. */
  summary: Array<{ message: string; href: string | null }>;
  /** Whether any field of the form is marked. */
  marked: boolean;
  /** The list with none of the options (the page's path and `ltik`). */
  resetHref: string;
  code: string;
}

/**
 * Marks for a form that was sent with invalid values. `fields` maps the parameters the form has
 * to their labels; a field's input is `id="f-<param>"`, its message `id="e-<param>"`. Problems
 * with parameters the form has no field for (a hand-edited `offset`, a bad `sort_by`) are listed too.
 */
export function formErrors(errors: readonly ListParamError[], fields: Readonly<Record<string, string>>, resetHref: string): FormErrorsView {
  const byParam = new Map<string, string[]>();
  for (const e of errors) {
    // The value as given, unless the message already quotes it.
    const shown =
      e.value !== undefined && e.value !== '' && !e.message.includes(`"${e.value}"`) ? `${e.message} (you gave “${e.value}”)` : e.message;
    byParam.set(e.param, [...(byParam.get(e.param) ?? []), shown]);
  }
  const view: FormErrorsView = { fields: {}, summary: [], marked: false, resetHref, code: INVALID_PARAMETERS };
  for (const [param, messages] of byParam) {
    const message = messages.join('; ');
    const label = fields[param];
    if (label !== undefined) {
      view.fields[param] = { id: `e-${param}`, message };
      view.summary.push({ message: `${label}: ${message}`, href: `#f-${param}` });
      view.marked = true;
    } else view.summary.push({ message, href: null });
  }
  return view;
}

/** `q` carrying this launch's `ltik` in its links (the request may have carried it in a header instead). */
export function withLtik(q: ListQuery, ltik: string): ListQuery {
  return { ...q, extra: [...q.extra.filter(([k]) => k !== 'ltik'), ['ltik', ltik]] };
}

/** What a text field shows: the value as typed when it was invalid (so it can be corrected), else `valid`. */
export function fieldValue(raw: RawQuery, errors: FormErrorsView | null, param: string, valid: string): string {
  if (!errors?.fields[param]) return valid;
  const given = raw[param];
  return (Array.isArray(given) ? given.join(',') : (given ?? '')).slice(0, 500);
}

/**
 * The fields a filter form of the sessions kind shares (the roster's and a learner's sessions): the
 * search, signal, date window, page size and order as the request gave them, the ticked values of the
 * multi-valued filters named in `checkboxes`, and the marks of invalid fields (which keep what was typed).
 */
export function filterFormView<C extends string>(q: ListQuery, raw: RawQuery, errors: FormErrorsView | null, checkboxes: readonly C[]) {
  const ticked = Object.fromEntries(
    checkboxes.map((name) => [name, Object.fromEntries((q.filters[name] ?? []).map((v) => [v, true]))]),
  ) as Record<C, Record<string, true>>;
  return {
    ...ticked,
    query: fieldValue(raw, errors, 'query', q.query ?? ''),
    flag: fieldValue(raw, errors, 'flag', (q.filters.flag ?? []).join(',')),
    createdAfter: q.createdAfter?.toISOString().slice(0, 10) ?? '',
    createdBefore: q.createdBefore?.toISOString().slice(0, 10) ?? '',
    limit: fieldValue(raw, errors, 'limit', String(q.limit ?? '')),
    sortBy: q.sortBy,
    sortDirection: q.sortDirection,
    errors: errors?.fields ?? {},
  };
}

/** Whether the list is narrowed by anything but paging and order (a folded filter form then opens). */
export function isFiltered(q: ListQuery): boolean {
  return (
    q.query !== null ||
    Object.keys(q.filters).length > 0 ||
    Object.keys(q.booleans).length > 0 ||
    q.createdAfter !== null ||
    q.createdBefore !== null
  );
}

export interface ExportLinksView {
  text: string;
  csv: string | null;
  json: string;
}

/**
 * Links to the exports of what the list shows: the whole filtered, sorted list, every page, in
 * `path`.csv and `path`.json. `total` is null where it is not known before reading (isnotai's lists).
 * `newest`: the list holds only the newest that many of a longer history (a learner's sessions
 * past the cap), so the links say so instead of "all".
 */
export function exportLinks(
  path: string,
  q: ListQuery,
  total: number | null,
  noun: { one: string; many: string },
  options: { csv?: boolean; most?: number; newest?: number } = {},
): ExportLinksView {
  const whole = { limit: null, offset: 0, cursor: null } as const;
  const matching = isFiltered(q) ? ' matching these filters' : '';
  const count = (n: number) => n.toLocaleString('en-GB');
  let text: string;
  if (total === null) text = `Export every ${noun.one}${matching}${options.most ? ` (at most ${count(options.most)})` : ''}`;
  else if (options.newest !== undefined) {
    const older = `(older ${noun.many} are not included)`;
    const these = total === 1 ? `the 1 ${noun.one}` : `the ${count(total)} ${noun.many}`;
    text = matching
      ? `Export ${these}${matching} among the newest ${count(options.newest)} ${older}`
      : `Export the newest ${count(total)} ${noun.many} ${older}`;
  } else text = `Export ${total === 1 ? `the 1 ${noun.one}` : `all ${count(total)} ${noun.many}`}${matching}`;
  return { text, csv: options.csv === false ? null : listHref(`${path}.csv`, q, whole), json: listHref(`${path}.json`, q, whole) };
}
