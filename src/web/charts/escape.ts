/**
 * Text for SVG. Everything inserted into chart markup goes through `svgText` (content) or
 * `escapeXml` (attribute values): upstream strings are untrusted and must come out as inert text.
 */
import { displayText } from '../format';

/** Escapes the five XML specials, so a value is safe both as element text and in a quoted attribute. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&#39;';
    }
  });
}

/**
 * Upstream text for a chart: the characters no page may show dropped (displayText: here it also keeps
 * the SVG parseable, as XML 1.0 forbids some of them), whitespace collapsed, clipped by code point.
 */
export function cleanText(value: unknown, maxLength = 80): string {
  const cleaned = displayText(value).replace(/\s+/g, ' ').trim();
  if (cleaned.length <= maxLength) return cleaned;
  // Count and cut by code point, so no lone surrogate is left behind.
  const codePoints = Array.from(cleaned);
  return codePoints.length <= maxLength ? cleaned : `${codePoints.slice(0, maxLength - 1).join('')}…`;
}

/** Clean, clip and escape: the one way untrusted text enters chart markup. */
export function svgText(value: unknown, maxLength = 80): string {
  return escapeXml(cleanText(value, maxLength));
}

/** An id safe for `id` / `aria-labelledby` (letters, digits, - and _; must start with a letter). */
export function safeId(value: string): string {
  const id = value.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  return /^[A-Za-z]/.test(id) ? id : `c${id}`;
}
