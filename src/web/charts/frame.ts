/** The accessible SVG shell shared by every chart, and the "No data" chart. */
import { escapeXml, safeId, svgText } from './escape';
import { px } from './format';

export interface ChartResult<Row> {
  /** A complete `<svg>` element, safe to insert unescaped (`{{{svg}}}`) into a page. */
  svg: string;
  /** The same data as rows, for a table next to the chart (the text alternative for details). */
  table: Row[];
  /** One or two sentences saying what the chart shows, also used as the SVG `<desc>`. */
  summary: string;
}

export interface FrameOptions {
  id: string;
  width: number;
  height: number;
  title: string;
  summary: string;
}

/**
 * role="img" with aria-labelledby pointing at <title> and <desc> is the pattern screen readers
 * handle most consistently for inline SVG; the body is hidden from them (the table and summary
 * carry the data).
 */
export function svgFrame(opts: FrameOptions, body: string): string {
  const id = safeId(opts.id);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${px(opts.width)}" height="${px(opts.height)}" viewBox="0 0 ${px(opts.width)} ${px(opts.height)}" role="img" aria-labelledby="${id}-title ${id}-desc" font-family="system-ui, sans-serif" font-size="12">`,
    `<title id="${id}-title">${svgText(opts.title, 200)}</title>`,
    `<desc id="${id}-desc">${svgText(opts.summary, 1000)}</desc>`,
    `<g aria-hidden="true">${body}</g>`,
    '</svg>',
  ].join('');
}

export function noDataSvg(opts: FrameOptions): string {
  const w = Math.min(opts.width, 320);
  const h = 60;
  return svgFrame(
    { ...opts, width: w, height: h },
    `<rect x="0.5" y="0.5" width="${px(w - 1)}" height="${px(h - 1)}" fill="none" stroke="#8a8a8a" stroke-dasharray="4 3"/>` +
      `<text x="${px(w / 2)}" y="${px(h / 2 + 4)}" text-anchor="middle" fill="#3d3d3d">${escapeXml('No data')}</text>`,
  );
}

export function clampDimension(value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.round(value)));
}
