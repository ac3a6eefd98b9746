/**
 * Text for SVG. Everything inserted into chart markup goes through `svgText` (content) or
 * `escapeXml` (attribute values): upstream strings are untrusted and must come out as inert text.
 */

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
 * Characters XML 1.0 forbids (C0 controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF)
 * would make the whole SVG unparseable, so they are dropped. Bidirectional controls (U+202A–U+202E,
 * U+2066–U+2069) are dropped too: in a chart label "\u202Emoc.live" would otherwise display as
 * "evil.com"; without them the characters show in their real order.
 */
const UNSAFE_CHARS =
  // eslint-disable-next-line no-control-regex -- removing control characters is this pattern's purpose
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function cleanText(value: unknown, maxLength = 80): string {
  // An object or array from upstream shows as nothing rather than "[object Object]".
  const s = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
  const cleaned = s.replace(UNSAFE_CHARS, '').replace(/\s+/g, ' ').trim();
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
