/**
 * Bot score over time for one learner: a dot per session on a 0–1 scale with the elevated and
 * high lines drawn and labelled. Levels are carried by marker shape and by words (legend, titles,
 * table), never by colour alone.
 */
import { scaleLinear, scaleUtc } from 'd3-scale';
import { line } from 'd3-shape';
import { DEFAULT_THRESHOLDS, isValidScore, riskWords, sessionRiskLevel, type RiskThresholds, type SessionRiskLevel } from '../../risk';
import { cleanText, escapeXml, svgText } from './escape';
import { clampDimension, noDataSvg, svgFrame, type ChartResult } from './frame';
import { formatChartScore, formatDay, formatDayYear, plural, px } from './format';

export interface ScorePoint {
  at: Date;
  score: number;
  /** When omitted, computed from the chart's thresholds (so markers always agree with the lines). */
  level?: SessionRiskLevel;
  /** What the point is, e.g. a session id or page; untrusted text, escaped. */
  label: string;
}

export interface ScoreChartOptions {
  width?: number;
  height?: number;
  thresholds?: RiskThresholds;
  /** Unique on the page; used for the title/desc ids. */
  id?: string;
  title?: string;
}

export interface ScoreTableRow {
  at: string; // ISO-8601
  date: string; // "18 Nov 2026"
  score: string; // "0.93"
  level: SessionRiskLevel;
  levelLabel: string; // "High"
  label: string; // cleaned, unescaped text (templates escape it)
}

const LEVEL_STYLE: Record<SessionRiskLevel, { colour: string; shape: string }> = {
  high: { colour: '#b3261e', shape: 'triangle' },
  elevated: { colour: '#8a5300', shape: 'diamond' },
  low: { colour: '#2e6b34', shape: 'circle' },
};

/** Marker path centred on (x, y): triangle for high, diamond for elevated, circle for low. */
function marker(level: SessionRiskLevel, x: number, y: number): string {
  const { colour } = LEVEL_STYLE[level];
  if (level === 'high') {
    return `<path d="M${px(x)},${px(y - 6)}L${px(x + 6)},${px(y + 5)}L${px(x - 6)},${px(y + 5)}Z" fill="${colour}" stroke="#fff" stroke-width="1"/>`;
  }
  if (level === 'elevated') {
    return `<path d="M${px(x)},${px(y - 6)}L${px(x + 6)},${px(y)}L${px(x)},${px(y + 6)}L${px(x - 6)},${px(y)}Z" fill="${colour}" stroke="#fff" stroke-width="1"/>`;
  }
  // Low is hollow as well as round: a second visual difference besides shape.
  return `<circle cx="${px(x)}" cy="${px(y)}" r="4.5" fill="#fff" stroke="${colour}" stroke-width="2"/>`;
}

function dateRange(from: Date, to: Date): string {
  if (formatDayYear(from) === formatDayYear(to)) return `on ${formatDayYear(from)}`;
  const sameYear = from.getUTCFullYear() === to.getUTCFullYear();
  return `from ${sameYear ? formatDay(from) : formatDayYear(from)} to ${formatDayYear(to)}`;
}

export function scoreOverTimeChart(points: readonly ScorePoint[], options: ScoreChartOptions = {}): ChartResult<ScoreTableRow> {
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const width = clampDimension(options.width, 640, 240, 2000);
  const height = clampDimension(options.height, 240, 140, 1200);
  const id = options.id ?? 'score-chart';
  const title = options.title ?? 'Bot score over time';

  const usable = points
    .filter((p) => p.at instanceof Date && !Number.isNaN(p.at.getTime()) && isValidScore(p.score))
    .map((p) => ({ ...p, level: p.level ?? sessionRiskLevel(p.score, thresholds) }))
    .sort((a, b) => a.at.getTime() - b.at.getTime());
  const skipped = points.length - usable.length;
  const skippedNote = skipped > 0 ? ` ${plural(skipped, 'session')} without a readable date or score not shown.` : '';

  if (usable.length === 0) {
    const summary = `No sessions to chart.${skippedNote}`;
    return { svg: noDataSvg({ id, width, height, title, summary }), table: [], summary };
  }

  const table: ScoreTableRow[] = usable.map((p) => ({
    at: p.at.toISOString(),
    date: formatDayYear(p.at),
    score: formatChartScore(p.score),
    level: p.level,
    levelLabel: riskWords(p.level, thresholds).label,
    label: cleanText(p.label, 500),
  }));

  const first = usable[0];
  const last = usable[usable.length - 1];
  const highest = usable.reduce((m, p) => (p.score > m.score ? p : m), first);
  const counts = (['high', 'elevated', 'low'] as const)
    .map((l) => [l, usable.filter((p) => p.level === l).length] as const)
    .filter(([, n]) => n > 0)
    .map(([l, n]) => `${n} ${l}`);
  const summary =
    `${plural(usable.length, 'session')} ${dateRange(first.at, last.at)}; ${counts.join(', ')}; ` +
    `highest ${formatChartScore(highest.score)} on ${formatDayYear(highest.at)}.${skippedNote}`;

  // Layout: left axis labels, right room for the threshold labels, bottom axis and legend.
  const margin = { top: 12, right: 96, bottom: 48, left: 40 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  let t0 = first.at.getTime();
  let t1 = last.at.getTime();
  if (t1 - t0 < 3_600_000) {
    // A single moment still needs a visible span on the axis.
    t0 -= 12 * 3_600_000;
    t1 += 12 * 3_600_000;
  }
  const x = scaleUtc()
    .domain([new Date(t0), new Date(t1)])
    .range([margin.left, margin.left + plotW]);
  const y = scaleLinear()
    .domain([0, 1])
    .range([margin.top + plotH, margin.top]);

  const parts: string[] = [];
  // y axis: gridlines at 0, 0.2 … 1
  for (const tick of y.ticks(5)) {
    const ty = y(tick);
    parts.push(`<line x1="${px(margin.left)}" x2="${px(margin.left + plotW)}" y1="${px(ty)}" y2="${px(ty)}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${px(margin.left - 6)}" y="${px(ty + 4)}" text-anchor="end" fill="#3d3d3d">${escapeXml(tick.toFixed(1))}</text>`);
  }
  // x axis ticks: days
  const baseline = margin.top + plotH;
  parts.push(`<line x1="${px(margin.left)}" x2="${px(margin.left + plotW)}" y1="${px(baseline)}" y2="${px(baseline)}" stroke="#6b6b6b"/>`);
  let previousLabel = '';
  for (const tick of x.ticks(Math.max(2, Math.floor(plotW / 90)))) {
    // Ticks closer than a day apart would repeat the same date; label each date once.
    if (formatDay(tick) === previousLabel) continue;
    previousLabel = formatDay(tick);
    const tx = x(tick);
    parts.push(`<line x1="${px(tx)}" x2="${px(tx)}" y1="${px(baseline)}" y2="${px(baseline + 4)}" stroke="#6b6b6b"/>`);
    parts.push(`<text x="${px(tx)}" y="${px(baseline + 16)}" text-anchor="middle" fill="#3d3d3d">${escapeXml(formatDay(tick))}</text>`);
  }
  // threshold lines, labelled with their level and value
  for (const [level, value, dash] of [
    ['high', thresholds.high, '6 3'],
    ['elevated', thresholds.elevated, '2 3'],
  ] as const) {
    const ty = y(value);
    parts.push(
      `<line class="threshold threshold-${level}" x1="${px(margin.left)}" x2="${px(margin.left + plotW)}" y1="${px(ty)}" y2="${px(ty)}" stroke="${LEVEL_STYLE[level].colour}" stroke-dasharray="${dash}"/>`,
    );
    parts.push(
      `<text x="${px(margin.left + plotW + 6)}" y="${px(ty + 4)}" fill="#1f1f1f">${escapeXml(`${riskWords(level, thresholds).label} ${formatChartScore(value)}`)}</text>`,
    );
  }
  // the line joining sessions, neutral so it does not compete with the markers
  if (usable.length > 1) {
    const path = line<(typeof usable)[number]>()
      .x((p) => x(p.at))
      .y((p) => y(p.score))(usable);
    if (path) parts.push(`<path d="${escapeXml(path)}" fill="none" stroke="#9a9a9a" stroke-width="1.5"/>`);
  }
  for (const p of usable) {
    const words = riskWords(p.level, thresholds).label;
    parts.push(
      `<g class="point point-${p.level}"><title>${svgText(`${formatDayYear(p.at)}: score ${formatChartScore(p.score)} (${words}) ${cleanLabel(p.label)}`, 200)}</title>${marker(p.level, x(p.at), y(p.score))}</g>`,
    );
  }
  // legend: shape + word for each level
  const ly = height - 10;
  let lx = margin.left;
  for (const level of ['high', 'elevated', 'low'] as const) {
    parts.push(marker(level, lx + 6, ly - 4));
    const text = `${riskWords(level, thresholds).label} (${LEVEL_STYLE[level].shape})`;
    parts.push(`<text x="${px(lx + 16)}" y="${px(ly)}" fill="#1f1f1f">${escapeXml(text)}</text>`);
    lx += 24 + text.length * 6.5;
  }

  return { svg: svgFrame({ id, width, height, title, summary }, parts.join('')), table, summary };
}

function cleanLabel(label: unknown): string {
  return typeof label === 'string' && label.trim() ? `— ${label}` : '';
}
