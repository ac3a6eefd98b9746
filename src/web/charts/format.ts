/** Number and date wording for charts, in UTC so every server draws the same chart. */

const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
const DAY_YEAR = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const TIME = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC' });
const INTEGER = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });

/** "3 Nov" */
export function formatDay(d: Date): string {
  return DAY.format(d);
}

/** "3 Nov 2026" */
export function formatDayYear(d: Date): string {
  return DAY_YEAR.format(d);
}

/** "09:05" (UTC) */
export function formatTime(d: Date): string {
  return TIME.format(d);
}

/** "1,234" */
export function formatCount(n: number): string {
  return INTEGER.format(n);
}

/** "0.93" */
export function formatChartScore(n: number): string {
  return n.toFixed(2);
}

/** Coordinates with at most 2 decimals keep the markup small and stable. */
export function px(n: number): string {
  return String(Math.round(n * 100) / 100);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
