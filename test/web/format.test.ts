import { clip, displayText } from '../../src/web/format';

describe('displayText: the one rule for upstream text on pages, in CSV cells and in charts', () => {
  it('drops control characters, bidirectional controls, lone surrogates and U+FFFE/U+FFFF, and keeps real text', () => {
    expect(displayText('a\u0000b\u0007c\uFFFEd\uFFFF')).toBe('abcd');
    expect(displayText('\u202Egnp.exe')).toBe('gnp.exe');
    expect(displayText('lone \uD800 and \uDC00 halves')).toBe('lone  and  halves');
    expect(displayText('tab\tand\nline kept, 😀, שלום')).toBe('tab\tand\nline kept, 😀, שלום');
  });
  it('shows numbers and booleans as written and anything else as nothing, never "[object Object]"', () => {
    expect(displayText(3.5)).toBe('3.5');
    expect(displayText(false)).toBe('false');
    expect(displayText(null)).toBe('');
    expect(displayText({ a: 1 })).toBe('');
    expect(clip(['x'])).toBe('');
  });
});
