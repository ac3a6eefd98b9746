import { describeFlag } from '../../src/risk';

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
    }
  });

  it('returns null for an unknown flag (the page shows it verbatim, without a description)', () => {
    expect(describeFlag('quantum_mouse')).toBeNull();
    expect(describeFlag('<script>alert(1)</script>')).toBeNull();
  });

  it('is not fooled by Object prototype names', () => {
    expect(describeFlag('constructor')).toBeNull();
    expect(describeFlag('__proto__')).toBeNull();
    expect(describeFlag('toString')).toBeNull();
  });
});
