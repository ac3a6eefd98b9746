/** A session's activity over time: one bar per timeline bucket, with time ticks. */
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
}

export interface TimelineOptions {
  width?: number;
  height?: number;
  id?: string;
  title?: string;
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
  if (buckets.length === 0) {
    const summary = 'No activity recorded.';
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
  }));
  const total = table.reduce((s, r) => s + r.eventCount, 0);
  const busiest = table.reduce((m, r) => (r.eventCount > m.eventCount ? r : m), table[0]);
  const first = table[0];
  const last = table[table.length - 1];
  const span = table.length === 1 ? `at ${first.time}` : `from ${first.time} to ${last.time}`;
  const summary =
    `${plural(table.length, 'interval')} ${span}; ${plural(total, 'event')}` +
    (total > 0
      ? `; busiest ${busiest.time} with ${plural(busiest.eventCount, 'event')}${busiest.dominantEventType ? ` (mostly ${busiest.dominantEventType})` : ''}.`
      : '.');

  const margin = { top: 10, right: 12, bottom: 28, left: 48 };
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
  return { svg: svgFrame({ id, width, height, title, summary }, parts.join('')), table, summary };
}
