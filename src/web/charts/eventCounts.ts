/** Events of one session by kind, as horizontal bars each carrying its value as text. */
import { scaleLinear } from 'd3-scale';
import type { EventCounts } from '../../isnotai/types';
import { escapeXml } from './escape';
import { clampDimension, noDataSvg, svgFrame, type ChartResult } from './frame';
import { formatCount, plural, px } from './format';

export type EventKind = Exclude<keyof EventCounts, 'total'>;

export interface EventCountRow {
  kind: EventKind;
  label: string;
  count: number;
  /** "1,234" */
  countText: string;
}

export interface EventCountsOptions {
  width?: number;
  id?: string;
  title?: string;
}

const KINDS: ReadonlyArray<[EventKind, string]> = [
  ['mouse', 'Mouse'],
  ['keyboard', 'Keyboard'],
  ['scroll', 'Scroll'],
  ['touch', 'Touch'],
  ['form', 'Form'],
];

function count(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

export function eventCountsChart(counts: EventCounts | null | undefined, options: EventCountsOptions = {}): ChartResult<EventCountRow> {
  const width = clampDimension(options.width, 480, 240, 2000);
  const id = options.id ?? 'event-counts-chart';
  const title = options.title ?? 'Events by kind';
  const table: EventCountRow[] = KINDS.map(([kind, label]) => {
    const n = count(counts?.[kind]);
    return { kind, label, count: n, countText: formatCount(n) };
  });
  const sum = table.reduce((s, r) => s + r.count, 0);
  const total = Math.max(count(counts?.total), sum);
  if (sum === 0) {
    const summary =
      total > 0 ? `${plural(total, 'event')}, none of them mouse, keyboard, scroll, touch or form events.` : 'No events recorded.';
    return { svg: noDataSvg({ id, width, height: 60, title, summary }), table, summary };
  }
  const byCount = [...table].sort((a, b) => b.count - a.count);
  const summary = `${plural(total, 'event')}: ${byCount.map((r) => `${r.label.toLowerCase()} ${r.countText}`).join(', ')}.`;

  const barH = 22;
  const gap = 8;
  const margin = { top: 8, right: 64, bottom: 8, left: 80 };
  const height = margin.top + margin.bottom + table.length * (barH + gap) - gap;
  const max = Math.max(...table.map((r) => r.count));
  const x = scaleLinear()
    .domain([0, max])
    .range([0, width - margin.left - margin.right]);
  const parts: string[] = [];
  table.forEach((r, i) => {
    const top = margin.top + i * (barH + gap);
    const w = r.count > 0 ? Math.max(1, x(r.count)) : 0;
    parts.push(
      `<text x="${px(margin.left - 8)}" y="${px(top + barH / 2 + 4)}" text-anchor="end" fill="#1f1f1f">${escapeXml(r.label)}</text>`,
    );
    parts.push(`<rect class="bar bar-${r.kind}" x="${px(margin.left)}" y="${px(top)}" width="${px(w)}" height="${barH}" fill="#3b5b92"/>`);
    parts.push(`<text x="${px(margin.left + w + 6)}" y="${px(top + barH / 2 + 4)}" fill="#1f1f1f">${escapeXml(r.countText)}</text>`);
  });
  return { svg: svgFrame({ id, width, height, title, summary }, parts.join('')), table, summary };
}
