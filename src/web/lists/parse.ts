/**
 * The one parser of list parameters (docs/lists.md): reads a query string against a list's spec.
 *
 * Every invalid parameter produces an error naming it; all errors are collected, not just the
 * first. Parameters the list does not know are kept aside (they carry `ltik` and the like).
 */
import type { ListForm, ListParamError, ListQuery, ListQueryResult, ListSpec, RawQuery, SortDirection } from './types';

export const QUERY_MAX_LENGTH = 200;
export const LIMIT_MIN = 1;
export const LIMIT_MAX = 500;
export const DEFAULT_LIMIT = 50;
/** Bounds on a free-string filter, so a crafted URL cannot make us match 10,000 values. */
export const FILTER_MAX_VALUES = 50;
export const FILTER_VALUE_MAX_LENGTH = 200;
/** The longest isnotai cursor accepted: longer than any it issues, shorter than any URL limit. */
export const CURSOR_MAX_LENGTH = 2000;

const RESERVED = ['query', 'created_after', 'created_before', 'sort_by', 'sort_direction', 'limit', 'offset', 'cursor'] as const;

function clipValue(v: string): string {
  return v.length > 100 ? `${v.slice(0, 99)}…` : v;
}

/** The raw values of one parameter as strings; anything else (e.g. a qs-parsed object) is null. */
function rawValues(raw: unknown): string[] | null {
  if (raw === undefined) return [];
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) return raw as string[];
  return null;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

function validCalendar(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * ISO-8601 date or date-time. A date-only value is the start of that UTC day for `after` and
 * the end of it for `before`, so `created_after=2026-11-20&created_before=2026-11-20` is that
 * whole day. A date-time without a zone is read as UTC (HTML datetime-local inputs send none).
 */
export function parseIsoBound(value: string, bound: 'after' | 'before'): Date | null {
  const d = DATE_ONLY.exec(value);
  if (d) {
    const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
    if (!validCalendar(y, m, day)) return null;
    const start = Date.UTC(y, m - 1, day);
    return new Date(bound === 'after' ? start : start + 86_400_000 - 1);
  }
  const t = DATE_TIME.exec(value);
  if (!t) return null;
  const [y, m, day, hh, mm, ss] = [Number(t[1]), Number(t[2]), Number(t[3]), Number(t[4]), Number(t[5]), Number(t[6] ?? '0')];
  if (!validCalendar(y, m, day) || hh > 23 || mm > 59 || ss > 59) return null;
  const zone = t[8];
  if (zone && !/^z$/i.test(zone)) {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(-2));
    if (zh > 23 || zm > 59) return null;
  }
  const iso = `${t[1]}-${t[2]}-${t[3]}T${t[4]}:${t[5]}:${t[6] ?? '00'}${(t[7] ?? '').slice(0, 4)}${zone ? zone.toUpperCase() : 'Z'}`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** One plain value, trimmed; undefined when absent or blank (an empty form field), or invalid (then an error is recorded). */
function single(param: string, raw: unknown, errors: ListParamError[]): string | undefined {
  const values = rawValues(raw);
  if (values === null) {
    errors.push({ param, message: `${param} must be a plain value` });
    return undefined;
  }
  if (values.length > 1) {
    errors.push({ param, message: `${param} was given ${values.length} times; give it once`, value: clipValue(values.join(',')) });
    return undefined;
  }
  const v = values[0]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function integer(param: string, raw: string, min: number, max: number, errors: ListParamError[]): number | undefined {
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    errors.push({ param, message: `${param} must be a whole number ${range}`, value: clipValue(raw) });
    return undefined;
  }
  return n;
}

/**
 * The query string exactly as sent: every name as written, repeats as arrays. Express's default
 * parser (qs) turns `subject[]=x` into the array `['x']` and `limit[a]=5` into an object, so a
 * list reading `req.query` cannot tell a bracket form from a plain value; with this, it can.
 */
export function rawQueryOf(req: { originalUrl: string }): RawQuery {
  const at = req.originalUrl.indexOf('?');
  const out: Record<string, string | string[]> = {};
  if (at < 0) return out;
  for (const [name, value] of new URLSearchParams(req.originalUrl.slice(at + 1))) {
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** `name[]=…` or `name[key]=…` for a parameter the list knows: an error naming it (never ignored). */
function bracketErrors(rawQuery: RawQuery, known: ReadonlySet<string>, errors: ListParamError[]): void {
  const reported = new Set<string>();
  for (const name of Object.keys(rawQuery)) {
    const m = /^([^[\]]+)\[[^\]]*\]/.exec(name);
    if (!m || !known.has(m[1] as string) || reported.has(m[1] as string)) continue;
    reported.add(m[1] as string);
    errors.push({
      param: m[1] as string,
      message: `${m[1]} must be given as ${m[1]}=…, not as ${clipValue(name)}=…`,
      value: clipValue(name),
    });
  }
}

function unsupported(param: string, why: string, raw: string, errors: ListParamError[]): void {
  errors.push({ param, message: `${param} is not supported by this list${why ? `: ${why}` : ''}`, value: clipValue(raw) });
}

/** The filters: multi-valued ones repeated and/or comma-separated, trimmed, blanks dropped, deduplicated. */
function readFilters(rawQuery: RawQuery, spec: ListSpec, value: ListQuery, errors: ListParamError[]): void {
  for (const [name, filter] of Object.entries(spec.filters ?? {})) {
    let parts: string[];
    if (filter.multi === false) {
      const v = single(name, rawQuery[name], errors);
      parts = v === undefined ? [] : [v];
    } else {
      const values = rawValues(rawQuery[name]);
      if (values === null) {
        errors.push({ param: name, message: `${name} must be one or more plain values` });
        continue;
      }
      parts = values
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter((v) => v.length > 0);
    }
    if (parts.length === 0) continue;
    const allowed = filter.allowed?.map((a) => a.toLowerCase());
    const maxLength = filter.maxLength ?? FILTER_VALUE_MAX_LENGTH;
    const seen = new Set<string>();
    const bad: string[] = [];
    let why: string | null = null;
    for (const part of parts) {
      const v = allowed ? part.toLowerCase() : part;
      if (allowed && !allowed.includes(v)) bad.push(part);
      else if (!allowed && v.length > maxLength) {
        bad.push(part);
        why ??=
          filter.multi === false
            ? `${name} must be at most ${maxLength} characters`
            : `each ${name} value must be at most ${maxLength} characters`;
      } else {
        const problem = filter.check?.(v) ?? null;
        if (problem) {
          bad.push(part);
          why ??= problem;
        } else seen.add(v);
      }
    }
    // The valid values are kept even when others are not, so the page's form shows them as given.
    if (seen.size > FILTER_MAX_VALUES) {
      errors.push({ param: name, message: `${name} accepts at most ${FILTER_MAX_VALUES} values (got ${seen.size})` });
      continue;
    }
    if (seen.size > 0) value.filters[name] = [...seen];
    if (bad.length > 0) {
      const shown = bad.map((b) => `"${clipValue(b)}"`).join(', ');
      errors.push({
        param: name,
        message: allowed
          ? `${name} must be ${filter.multi === false ? 'one' : 'one or more'} of ${allowed.join(', ')}; not ${shown}`
          : (why as string),
        value: clipValue(bad.join(',')),
      });
    }
  }
}

/**
 * Reads `rawQuery` against `spec`. `form` is how the list was asked for: a data form (JSON, CSV)
 * of a list with exports, given no `limit`, is the whole list (`limit` null).
 */
export function parseListQuery(rawQuery: RawQuery, spec: ListSpec, form: ListForm = 'html'): ListQueryResult {
  const errors: ListParamError[] = [];
  const filterNames = Object.keys(spec.filters ?? {});
  const booleans = spec.booleans ?? [];
  const cursorPaged = spec.paging === 'cursor';
  const unpaged = spec.paging === 'none';
  const sortable = spec.sortBy.length > 0;
  const exportable = form !== 'html' && spec.exports === true;
  bracketErrors(rawQuery, new Set([...RESERVED, ...filterNames, ...booleans]), errors);
  const value: ListQuery = {
    query: null,
    filters: {},
    booleans: {},
    createdAfter: null,
    createdBefore: null,
    sortBy: spec.defaultSort.by,
    sortDirection: spec.defaultSort.direction,
    sortable,
    limit: exportable ? null : (spec.defaultLimit ?? DEFAULT_LIMIT),
    offset: 0,
    cursor: null,
    extra: [],
  };

  const renamed = spec.renamed ?? {};
  const known = new Set<string>([...RESERVED, ...filterNames, ...booleans]);
  for (const [param, raw] of Object.entries(rawQuery)) {
    if (Object.prototype.hasOwnProperty.call(renamed, param)) {
      errors.push({
        param,
        message: `${param} is not read any more: use ${renamed[param]}`,
        value: clipValue((rawValues(raw) ?? []).join(',')),
      });
      continue;
    }
    if (known.has(param)) continue;
    for (const v of rawValues(raw) ?? []) value.extra.push([param, v]);
  }

  const q = single('query', rawQuery.query, errors);
  if (q !== undefined) {
    if (!spec.query) unsupported('query', '', q, errors);
    else if (q.length > QUERY_MAX_LENGTH)
      errors.push({
        param: 'query',
        message: `query must be at most ${QUERY_MAX_LENGTH} characters (got ${q.length})`,
        value: clipValue(q),
      });
    else value.query = q;
  }

  readFilters(rawQuery, spec, value, errors);

  for (const name of booleans) {
    const raw = single(name, rawQuery[name], errors);
    if (raw === undefined) continue;
    const b = raw.toLowerCase();
    if (b === 'true' || b === 'false') value.booleans[name] = b === 'true';
    else errors.push({ param: name, message: `${name} must be true or false`, value: clipValue(raw) });
  }

  for (const [param, bound] of [
    ['created_after', 'after'],
    ['created_before', 'before'],
  ] as const) {
    const raw = single(param, rawQuery[param], errors);
    if (raw === undefined) continue;
    if (!spec.createdWindow) {
      unsupported(param, '', raw, errors);
      continue;
    }
    const date = parseIsoBound(raw, bound);
    if (!date) {
      errors.push({
        param,
        message: `${param} must be an ISO-8601 date (2026-11-01) or date-time (2026-11-01T09:30:00Z)`,
        value: clipValue(raw),
      });
      continue;
    }
    if (bound === 'after') value.createdAfter = date;
    else value.createdBefore = date;
  }
  if (value.createdAfter && value.createdBefore && value.createdAfter.getTime() > value.createdBefore.getTime()) {
    errors.push({
      param: 'created_before',
      message: 'created_before must not be earlier than created_after',
      value: value.createdBefore.toISOString(),
    });
    value.createdBefore = null;
  }

  const fixedOrder = `its order is fixed (${spec.defaultSort.by}, ${spec.defaultSort.direction === 'asc' ? 'ascending' : 'descending'})`;
  const sortBy = single('sort_by', rawQuery.sort_by, errors);
  if (sortBy !== undefined) {
    const s = sortBy.toLowerCase();
    if (!sortable) unsupported('sort_by', fixedOrder, sortBy, errors);
    else if (spec.sortBy.includes(s)) {
      value.sortBy = s;
      value.sortDirection = spec.sortDirections?.[s] ?? spec.defaultSort.direction;
    } else errors.push({ param: 'sort_by', message: `sort_by must be one of ${spec.sortBy.join(', ')}`, value: clipValue(sortBy) });
  }
  const dir = single('sort_direction', rawQuery.sort_direction, errors);
  if (dir !== undefined) {
    const d = dir.toLowerCase();
    if (!sortable) unsupported('sort_direction', fixedOrder, dir, errors);
    else if (d === 'asc' || d === 'desc') value.sortDirection = d satisfies SortDirection;
    else errors.push({ param: 'sort_direction', message: 'sort_direction must be asc or desc', value: clipValue(dir) });
  }

  const notPaged = 'it is not paged (it shows every match)';
  const limit = single('limit', rawQuery.limit, errors);
  if (limit !== undefined) {
    if (unpaged) unsupported('limit', notPaged, limit, errors);
    else {
      const n = integer('limit', limit, LIMIT_MIN, LIMIT_MAX, errors);
      if (n !== undefined) value.limit = n;
    }
  }
  const offset = single('offset', rawQuery.offset, errors);
  if (offset !== undefined) {
    if (unpaged) unsupported('offset', notPaged, offset, errors);
    else if (cursorPaged) unsupported('offset', 'it pages with cursor (each answer gives the next one)', offset, errors);
    else {
      const n = integer('offset', offset, 0, Number.MAX_SAFE_INTEGER, errors);
      if (n !== undefined) value.offset = n;
    }
  }
  const cursor = single('cursor', rawQuery.cursor, errors);
  if (cursor !== undefined) {
    if (!cursorPaged) unsupported('cursor', unpaged ? notPaged : 'it pages with limit and offset', cursor, errors);
    else if (cursor.length > CURSOR_MAX_LENGTH)
      errors.push({
        param: 'cursor',
        message: 'cursor is not a page of this list; start again from the first page',
        value: clipValue(cursor),
      });
    else value.cursor = cursor;
  }
  // A data form that follows a cursor is paging, not exporting: it gets a page, not the rest of the list.
  if (value.cursor !== null && value.limit === null) value.limit = spec.defaultLimit ?? DEFAULT_LIMIT;

  return errors.length > 0 ? { ok: false, errors, value } : { ok: true, value };
}
