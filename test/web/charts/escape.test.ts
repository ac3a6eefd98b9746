import { cleanText, escapeXml, safeId, svgText } from '../../../src/web/charts';

describe('escapeXml / svgText', () => {
  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
  it('drops characters XML forbids and bidi controls, keeping the real character order', () => {
    expect(cleanText('a\u0000b\u0007c\uFFFEd')).toBe('abcd');
    expect(cleanText('\u202Emoc.live')).toBe('moc.live');
    expect(cleanText('x\u2066y\u2069z')).toBe('xyz');
    expect(cleanText('lone \uD800 surrogate')).toBe('lone surrogate');
    expect(cleanText('emoji 😀 kept')).toBe('emoji 😀 kept');
    expect(cleanText('שלום עולם')).toBe('שלום עולם');
  });
  it('collapses whitespace and clips long text on a code-point boundary', () => {
    expect(cleanText('a \n\t b')).toBe('a b');
    const clipped = cleanText('😀'.repeat(100), 10);
    expect(Array.from(clipped)).toHaveLength(10);
    expect(clipped.endsWith('…')).toBe(true);
    expect(clipped).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
  it('handles non-strings: numbers and booleans as written, anything else as nothing (one rule with the pages)', () => {
    expect(cleanText(null)).toBe('');
    expect(cleanText(42)).toBe('42');
    expect(cleanText(true)).toBe('true');
    expect(svgText({ toString: () => '<b>' })).toBe('');
    expect(cleanText(JSON.parse('{"label":"x"}'))).toBe('');
    expect(cleanText(['a', 'b'])).toBe('');
  });
  it('safeId keeps only id characters', () => {
    expect(safeId('score-chart')).toBe('score-chart');
    expect(safeId('"><script>')).toBe('script');
    expect(safeId('9abc')).toBe('c9abc');
  });
});
