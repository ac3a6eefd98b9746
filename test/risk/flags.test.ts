import { describeFlag, flagText, knownFlags, UNKNOWN_FLAG_DESCRIPTION } from '../../src/risk';

describe('detection flags', () => {
  it('describes the flags the API is known to send', () => {
    expect(describeFlag('webdriver_present')).toBe('Browser reported it is controlled by automation (navigator.webdriver)');
    for (const f of [
      'headless_browser',
      'paste_burst',
      'no_pointer_movement',
      'superhuman_typing_cadence',
      'devtools_open',
      'tab_switching',
      'automation_extension',
    ]) {
      expect(describeFlag(f)).toEqual(expect.any(String));
      expect(knownFlags()).toContain(f);
    }
  });

  it('returns null for an unknown flag and a verbatim fallback for display', () => {
    expect(describeFlag('quantum_mouse')).toBeNull();
    expect(flagText('quantum_mouse')).toEqual({ code: 'quantum_mouse', description: UNKNOWN_FLAG_DESCRIPTION, known: false });
    const hostile = '<script>alert(1)</script>';
    expect(flagText(hostile).code).toBe(hostile);
  });

  it('is not fooled by Object prototype names', () => {
    expect(describeFlag('constructor')).toBeNull();
    expect(describeFlag('__proto__')).toBeNull();
    expect(describeFlag('toString')).toBeNull();
  });

  it('marks known flags as known', () => {
    expect(flagText('paste_burst').known).toBe(true);
  });
});
