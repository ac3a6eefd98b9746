/**
 * A session's activity over time: one bar per timeline bucket, with time ticks, and optionally
 * marks on the time axis at given moments (the events behind a signal), counted per bucket in the table.
 */
import { scaleBand, scaleLinear } from 'd3-scale';
import type { TimelineBucket } from '../../isnotai/types';
import { cleanText, escapeXml, svgText } from './escape';
import { clampDimension, noDataSvg, svgFrame, type ChartResult } from './frame';
import { formatCount, formatDay, formatTime, plural, px } from './format';

export interface TimelineRow {
  at: string; // ISO-8601
  time: string; // "09:05 UTC" or "3 Nov 09:05 UTC" when the session spans days
  eventCount: number;
  dominantEventType: string; // cleaned, unescaped text
  activityLevel: number;
  /** How many of the marks fall in this bucket; null when the chart was drawn without marks. */
  marks: number | null;
}

/** One moment to mark on the time axis; `label` (untrusted text) says what happened then. */
export interface TimelineMark {
  at: Date;
  label: string;
}

export interface TimelineOptions {
  width?: number;
  height?: number;
  id?: string;
  title?: string;
  /**
   * Moments to mark on the time axis. A moment outside the timeline (before its first bucket, or
   * past the end of its last) is dropped, never clamped: a mark at the edge would show a moment
   * where nothing of it happened. The summary says how many were dropped.
   */
  marks?: readonly TimelineMark[];
  /** What the marks are, for the summary and the legend: "12 moments of paste_burst marked". */
  marksOf?: string;
}

export function activityTimelineChart(
  timeline: readonly TimelineBucket[] | null | undefined,
  options: TimelineOptions = {},
): ChartResult<TimelineRow> {
  const width = clampDimension(options.width, 640, 240, 2000);
  const height = clampDimension(options.height, 200, 120, 1200);
  const id = options.id ?? 'activity-chart';
  const title = options.title ?? 'Activity over time';

  const buckets = (timeline ?? [])
    .map((b) => ({ at: new Date(typeof b?.timestamp === 'string' ? b.timestamp : Number.NaN), b }))
    .filter(({ at }) => !Number.isNaN(at.getTime()))
    .sort((p, q) => p.at.getTime() - q.at.getTime());
  const marks = options.marks ?? null;
  const marksOf = options.marksOf ? cleanText(options.marksOf, 80) : '';
  const moments = (n: number) => `${plural(n, 'moment')}${marksOf ? ` of ${marksOf}` : ''}`;
  if (buckets.length === 0) {
    const summary = `No activity recorded.${marks && marks.length > 0 ? ` ${moments(marks.length)} could not be marked.` : ''}`;
    return { svg: noDataSvg({ id, width, height, title, summary }), table: [], summary };
  }
  const spansDays = formatDay(buckets[0].at) !== formatDay(buckets[buckets.length - 1].at);
  const when = (d: Date) => `${spansDays ? `${formatDay(d)} ` : ''}${formatTime(d)} UTC`;
  const table: TimelineRow[] = buckets.map(({ at, b }) => ({
    at: at.toISOString(),
    time: when(at),
    eventCount: typeof b.eventCount === 'number' && Number.isFinite(b.eventCount) && b.eventCount > 0 ? Math.floor(b.eventCount) : 0,
    dominantEventType: cleanText(b.dominantEventType, 60),
    activityLevel: typeof b.activityLevel === 'number' && Number.isFinite(b.activityLevel) ? b.activityLevel : 0,
    marks: marks ? 0 : null,
  }));
  const placed = marks
    ? placeMarks(
        marks,
        buckets.map(({ at }) => at.getTime()),
      )
    : [];
  for (const m of placed) (table[m.bucket] as TimelineRow).marks = ((table[m.bucket] as TimelineRow).marks ?? 0) + 1;
  const total = table.reduce((s, r) => s + r.eventCount, 0);
  const busiest = table.reduce((m, r) => (r.eventCount > m.eventCount ? r : m), table[0]);
  const first = table[0];
  const last = table[table.length - 1];
  const span = table.length === 1 ? `at ${first.time}` : `from ${first.time} to ${last.time}`;
  const summary =
    `${plural(table.length, 'interval')} ${span}; ${plural(total, 'event')}` +
    (total > 0
      ? `; busiest ${busiest.time} with ${plural(busiest.eventCount, 'event')}${busiest.dominantEventType ? ` (mostly ${busiest.dominantEventType})` : ''}.`
      : '.') +
    (marks ? ` ${marksSummary(placed.length, marks.length - placed.length, marksOf)}` : '');

  // Room above the plot for the marks' legend.
  const margin = { top: placed.length > 0 ? 24 : 10, right: 12, bottom: 28, left: 48 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = scaleBand<number>()
    .domain(table.map((_, i) => i))
    .range([margin.left, margin.left + plotW])
    .paddingInner(table.length > 60 ? 0.05 : 0.2);
  const max = Math.max(1, busiest.eventCount);
  const y = scaleLinear()
    .domain([0, max])
    .nice()
    .range([margin.top + plotH, margin.top]);
  const baseline = margin.top + plotH;
  const parts: string[] = [];
  for (const tick of y.ticks(4)) {
    if (!Number.isInteger(tick)) continue;
    parts.push(`<line x1="${px(margin.left)}" x2="${px(margin.left + plotW)}" y1="${px(y(tick))}" y2="${px(y(tick))}" stroke="#e3e3e3"/>`);
    parts.push(
      `<text x="${px(margin.left - 6)}" y="${px(y(tick) + 4)}" text-anchor="end" fill="#3d3d3d">${escapeXml(formatCount(tick))}</text>`,
    );
  }
  parts.push(`<line x1="${px(margin.left)}" x2="${px(margin.left + plotW)}" y1="${px(baseline)}" y2="${px(baseline)}" stroke="#6b6b6b"/>`);
  table.forEach((r, i) => {
    const bx = x(i) ?? margin.left;
    const by = y(r.eventCount);
    const label = `${r.time}: ${plural(r.eventCount, 'event')}${r.dominantEventType ? `, mostly ${r.dominantEventType}` : ''}`;
    parts.push(
      `<g class="bucket"><title>${svgText(label, 200)}</title><rect x="${px(bx)}" y="${px(by)}" width="${px(Math.max(1, x.bandwidth()))}" height="${px(Math.max(0, baseline - by))}" fill="#3b5b92"/></g>`,
    );
  });
  // About one time label per 80 px, always including the first bucket.
  const every = Math.max(1, Math.ceil(table.length / Math.max(1, Math.floor(plotW / 80))));
  table.forEach((r, i) => {
    if (i % every !== 0) return;
    const cx = (x(i) ?? margin.left) + x.bandwidth() / 2;
    parts.push(`<line x1="${px(cx)}" x2="${px(cx)}" y1="${px(baseline)}" y2="${px(baseline + 4)}" stroke="#6b6b6b"/>`);
    parts.push(
      `<text x="${px(cx)}" y="${px(baseline + 16)}" text-anchor="middle" fill="#3d3d3d">${escapeXml(formatTime(new Date(r.at)))}</text>`,
    );
  });
  if (placed.length > 0) {
    const stamp = (t: number) => `${spansDays ? `${formatDay(new Date(t))} ` : ''}${new Date(t).toISOString().slice(11, 19)} UTC`;
    // Marks a pixel apart are one mark (its title says how many): a page of 500 events stays a
    // readable chart, and its markup bounded by the chart's width.
    const columns = new Map<number, PlacedMark[]>();
    for (const m of placed) {
      const cx = Math.round((x(m.bucket) ?? margin.left) + m.fraction * x.bandwidth());
      columns.set(cx, [...(columns.get(cx) ?? []), m]);
    }
    for (const [cx, group] of columns) {
      const first = group[0] as PlacedMark;
      const last = group[group.length - 1] as PlacedMark;
      const labels = [...new Set(group.map((m) => cleanText(m.label, 40)).filter((l) => l !== ''))].join(', ');
      const text =
        group.length === 1
          ? `${stamp(first.at)}${labels ? `: ${labels}` : ''}`
          : `${plural(group.length, 'moment')} from ${stamp(first.at)} to ${stamp(last.at)}${labels ? `: ${labels}` : ''}`;
      parts.push(
        `<g class="mark"><title>${svgText(text, 200)}</title><line x1="${px(cx)}" x2="${px(cx)}" y1="${px(baseline - 10)}" y2="${px(baseline + 6)}" stroke="#b3261e" stroke-width="2"/></g>`,
      );
    }
    const lx = margin.left + plotW;
    parts.push(`<line x1="${px(lx - 8)}" x2="${px(lx - 8)}" y1="4" y2="16" stroke="#b3261e" stroke-width="2"/>`);
    parts.push(
      `<text x="${px(lx - 14)}" y="14" text-anchor="end" fill="#3d3d3d">${svgText(`Marked: ${moments(placed.length)}`, 120)}</text>`,
    );
  }
  return { svg: svgFrame({ id, width, height, title, summary }, parts.join('')), table, summary };
}

interface PlacedMark {
  at: number;
  label: string;
  bucket: number;
  /** Where in its bucket the moment falls, 0 (its start) to 1 (its end). */
  fraction: number;
}

/**
 * The bucket of each mark, in time order. Bucket i runs from its timestamp to the next one's; the
 * last runs one usual step (the median gap between buckets) past its start. A single bucket has no
 * known width, so every mark from its start on falls in it, drawn at its middle.
 */
function placeMarks(marks: readonly TimelineMark[], starts: readonly number[]): PlacedMark[] {
  const gaps = starts
    .slice(1)
    .map((t, i) => t - (starts[i] as number))
    .filter((g) => g > 0)
    .sort((a, b) => a - b);
  const step = gaps.length > 0 ? (gaps[Math.floor(gaps.length / 2)] as number) : null;
  const first = starts[0] as number;
  const lastStart = starts[starts.length - 1] as number;
  const end = step === null ? Number.POSITIVE_INFINITY : lastStart + step;
  const out: PlacedMark[] = [];
  for (const m of marks) {
    const at = m?.at instanceof Date ? m.at.getTime() : Number.NaN;
    if (!Number.isFinite(at) || at < first || at >= end) continue;
    // The last bucket starting at or before the moment.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((starts[mid] as number) <= at) lo = mid;
      else hi = mid - 1;
    }
    const from = starts[lo] as number;
    const to = lo + 1 < starts.length ? (starts[lo + 1] as number) : end;
    const fraction = step === null ? 0.5 : to > from ? Math.min(1, (at - from) / (to - from)) : 0;
    out.push({ at, label: typeof m.label === 'string' ? m.label : '', bucket: lo, fraction });
  }
  return out.sort((a, b) => a.at - b.at);
}

function marksSummary(placed: number, dropped: number, marksOf: string): string {
  const of = marksOf ? ` of ${marksOf}` : '';
  if (placed === 0 && dropped === 0) return `No moments${of} to mark.`;
  if (placed === 0) return `None of the ${plural(dropped, 'moment')}${of} falls within the timeline, so none is marked.`;
  const outside =
    dropped === 0
      ? ''
      : `; ${formatCount(dropped)} more ${dropped === 1 ? 'falls' : 'fall'} outside the timeline and ${dropped === 1 ? 'is' : 'are'} not marked`;
  return `${plural(placed, 'moment')}${of} marked${outside}.`;
}
