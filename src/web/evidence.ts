/**
 * The evidence behind a session's signals: each detection flag links to the moments it is about
 * (the events table narrowed to the flag's event types with `signal=<flag>`, and marks on the
 * activity timeline), or says in words why no recorded event stands for it (src/risk/flags.ts).
 *
 * isnotai filters events by one type at a time and tells no totals, so the events behind a flag
 * are the first page of each of its types, merged in time order; the page says which types and
 * how many of each it shows, and links to the full list of any type that has more.
 */
import type { IsnotaiEvent, Page, TimelineBucket } from '../isnotai/types';
import { describeFlag, flagEvidence, isKnownFlag } from '../risk';
import { chartView } from './chartView';
import { activityTimelineChart, type TimelineOptions } from './charts';
import { clip } from './format';
import type { ListParamError, ListQuery, RawQuery } from './lists';
import { listHref } from './lists/queryString';
import type { UpstreamApi } from './ports';

/** The signal whose events the table shows, or null (the whole list). */
export function signalOf(q: ListQuery): string | null {
  return q.filters.signal?.[0] ?? null;
}

/** Whether a parameter was given a non-blank value (valid or not). */
function given(raw: RawQuery, name: string): boolean {
  const v = raw[name];
  return (Array.isArray(v) ? v : [v]).some((x) => typeof x === 'string' && x.trim() !== '');
}

/**
 * What the list's spec cannot check about `signal`: it must be a flag of this session or one the tool
 * knows, and it stands alone (it chooses the types and shows the first page of each, so neither
 * `type` nor `cursor` has a meaning beside it). Returns `errors` with these added, or null when none.
 */
export function withSignalErrors(
  errors: ListParamError[] | null,
  q: ListQuery,
  raw: RawQuery,
  sessionFlags: readonly string[],
): ListParamError[] | null {
  const out = [...(errors ?? [])];
  const signal = signalOf(q);
  if (signal !== null && !sessionFlags.includes(signal) && !isKnownFlag(signal)) {
    const own = sessionFlags.slice(0, 5).map((f) => clip(f, 40));
    out.push({
      param: 'signal',
      message:
        own.length > 0
          ? `signal must be one of this session’s signals (${own.join(', ')}${sessionFlags.length > own.length ? ', …' : ''}) or a signal this tool knows`
          : 'signal must be a signal this tool knows, such as paste_burst (this session has no signals)',
      value: clip(signal, 100),
    });
  }
  if (given(raw, 'signal') && given(raw, 'type'))
    out.push({
      param: 'signal',
      message: 'signal and type cannot be combined: a signal shows the events of its own types; remove one of them',
    });
  if (given(raw, 'signal') && given(raw, 'cursor'))
    out.push({
      param: 'cursor',
      message:
        'cursor cannot be used with signal, which shows the first page of each of its event types; follow the link of a type for its next pages',
    });
  return out.length > 0 ? out : null;
}

export interface SignalEvents {
  flag: string;
  /** The events of every type of the flag, in time order, as one page with no next one. */
  page: Page<IsnotaiEvent>;
  /** Per event type, in the flag's order: how many are shown, and whether isnotai has more. */
  perType: Array<{ type: string; shown: number; more: boolean }>;
}

/**
 * The first page of each of the flag's event types within the list's time window (`limit` per
 * type), merged by timestamp. A flag without event types asks isnotai nothing.
 */
export async function signalEvents(
  upstream: Pick<UpstreamApi, 'eventsPage'>,
  sessionId: string,
  flag: string,
  q: ListQuery,
): Promise<SignalEvents> {
  const types = flagEvidence(flag).eventTypes;
  const pages = await Promise.all(
    types.map((type) =>
      upstream.eventsPage(sessionId, {
        pageSize: q.limit ?? undefined,
        type,
        startTime: q.createdAfter?.getTime(),
        endTime: q.createdBefore?.getTime(),
      }),
    ),
  );
  const data = pages
    .flatMap((p) => p.data)
    .sort((a, b) => a.timestamp - b.timestamp || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  const limit = pages.reduce((m, p) => Math.max(m, p.pagination.limit), 0) || (q.limit ?? 100);
  return {
    flag,
    page: { data, pagination: { nextCursor: null, hasMore: false, limit } },
    perType: types.map((type, i) => ({ type, shown: pages[i]?.data.length ?? 0, more: pages[i]?.pagination.hasMore === true })),
  };
}

/** `links` narrowed to the events behind `flag`, or to one event type, or to none: the first page, at the events. */
function signalHref(base: string, links: ListQuery, filters: Record<string, string[]>): string {
  return `${listHref(base, links, { filters, cursor: null })}#events`;
}

export interface FlagView {
  code: string;
  description: string | null;
  /** The events table showing the events behind the flag; null when no event type stands for it. */
  href: string | null;
  /** Each of its event types alone, in the whole list (every page). */
  types: Array<{ name: string; href: string }>;
  note: string | null;
  /** Whether the table below shows this flag's events now (and the timeline marks them). */
  current: boolean;
  /** Whether an accommodation on record explains it (src/risk/accommodations.ts). */
  explained: boolean;
}

/** The session's signals (the first 20, as the session row shows them), each with its evidence. */
export function flagViews(
  flags: readonly string[],
  base: string,
  links: ListQuery,
  current: string | null,
  accommodated: ReadonlySet<string>,
): FlagView[] {
  return flags.slice(0, 20).map((flag) => {
    const { eventTypes, note } = flagEvidence(flag);
    return {
      code: clip(flag, 80),
      description: describeFlag(flag),
      href: eventTypes.length > 0 ? signalHref(base, links, { signal: [flag] }) : null,
      types: eventTypes.map((name) => ({ name, href: signalHref(base, links, { type: [name] }) })),
      note,
      current: flag === current,
      explained: accommodated.has(flag),
    };
  });
}

/** The line above the events table while it shows a signal's events. */
export function signalLineView(shown: SignalEvents, base: string, links: ListQuery) {
  const { note } = flagEvidence(shown.flag);
  const total = shown.perType.reduce((n, t) => n + t.shown, 0);
  return {
    flag: clip(shown.flag, 80),
    description: describeFlag(shown.flag),
    total,
    types: shown.perType.map((t) => ({
      name: t.type,
      text: t.more
        ? `first ${t.shown.toLocaleString('en-GB')} shown`
        : `${t.shown.toLocaleString('en-GB')} ${t.shown === 1 ? 'event' : 'events'}`,
      more: t.more,
      href: signalHref(base, links, { type: [t.type] }),
    })),
    note,
    allHref: signalHref(base, links, {}),
  };
}

/** The timeline's marks while the table shows a signal's events: one per event shown. */
function timelineMarks(shown: SignalEvents | null): Pick<TimelineOptions, 'marks' | 'marksOf'> {
  if (!shown || shown.perType.length === 0) return {};
  return {
    marks: shown.page.data.map((e) => ({ at: new Date(e.timestamp), label: e.eventTypeName })),
    marksOf: shown.flag,
  };
}

/** The session page's activity timeline, marking the events the table shows for a signal (`marked`: its table has a column for them). */
export function sessionTimeline(timeline: readonly TimelineBucket[], shown: SignalEvents | null) {
  const marks = timelineMarks(shown);
  return {
    ...chartView(activityTimelineChart(timeline, { title: 'Activity over the session', id: 'timeline-chart', ...marks })),
    marked: marks.marks !== undefined,
  };
}
