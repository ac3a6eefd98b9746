/** Formatting for view-models: dates, scores, and links that are safe to render. */

const DATE_TIME = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

export function formatDateTime(iso: string | Date | null | undefined): string {
  if (!iso) return '—';
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${DATE_TIME.format(d)} UTC`;
}

export function isoOrNull(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function formatScore(score: number | null | undefined): string {
  if (score === null || score === undefined || !Number.isFinite(score)) return '—';
  return score.toFixed(2);
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** An upstream URL becomes a link only if it is http(s); anything else is shown as text. */
export function safeHref(url: unknown): string | null {
  if (typeof url !== 'string' || url.length > 2048) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

/**
 * Characters that must not reach a page, a CSV cell or a chart from upstream: C0 controls other than
 * tab and line breaks, lone surrogates and U+FFFE/U+FFFF (XML 1.0 forbids them, so one would make a
 * whole SVG chart unparseable), and bidirectional embedding, override and isolate controls
 * (U+202A–U+202E, U+2066–U+2069: "\u202Egnp.exe" would display as "exe.png" and reorder what follows
 * it). Without them text shows in its real order.
 */
const UNSHOWABLE =
  // eslint-disable-next-line no-control-regex -- removing control characters is this pattern's purpose
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Upstream text made safe to show as text (templates and the charts still escape it); CSV cells and
 * chart labels use it too. Numbers and booleans are shown as written; an object or array (never valid
 * upstream data here) as nothing, rather than "[object Object]".
 */
export function displayText(text: unknown): string {
  const s = typeof text === 'string' ? text : typeof text === 'number' || typeof text === 'boolean' ? String(text) : '';
  return s.replace(UNSHOWABLE, '');
}

/** Long upstream strings are cut for display (the full value stays in JSON/CSV exports). */
export function clip(text: unknown, max = 200): string {
  const s = displayText(text);
  if (s.length <= max) return s;
  // Never leave half of a surrogate pair before the ellipsis.
  let end = max - 1;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}
