import { eventTypeByName } from '../../src/isnotai/eventTypes';
import { describeFlag, flagEvidence, isKnownFlag } from '../../src/risk';

const KNOWN = [
  'webdriver_present',
  'headless_browser',
  'automation_extension',
  'superhuman_typing_cadence',
  'paste_burst',
  'no_pointer_movement',
  'devtools_open',
  'tab_switching',
  'copy_burst',
  'window_blur',
  'synthetic_events',
  'inconsistent_user_agent',
];

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

describe('the evidence behind a flag', () => {
  it('names the recorded event types behind each flag that has them', () => {
    expect(flagEvidence('superhuman_typing_cadence').eventTypes).toEqual(['keydown', 'keypress']);
    expect(flagEvidence('paste_burst')).toEqual({ eventTypes: ['paste', 'form_input'], note: null });
    expect(flagEvidence('tab_switching')).toEqual({ eventTypes: ['visibility', 'blur', 'focus'], note: null });
    expect(flagEvidence('window_blur')).toEqual({ eventTypes: ['blur', 'focus'], note: null });
    expect(flagEvidence('synthetic_events').eventTypes).toEqual(['mouse_click', 'keydown', 'keypress', 'form_input']);
  });

  it('every event type it names is one isnotai records', () => {
    for (const flag of KNOWN) for (const t of flagEvidence(flag).eventTypes) expect(eventTypeByName(t)?.name).toBe(t);
  });

  it('says that no_pointer_movement is about the absence of pointer events', () => {
    const { eventTypes, note } = flagEvidence('no_pointer_movement');
    expect(eventTypes).toEqual(['mouse_move', 'mouse_click', 'touch']);
    expect(note).toMatch(/absence of pointer events/);
    expect(note).toMatch(/few or none/);
  });

  it('says in words why no event stands for a flag read from the browser itself', () => {
    for (const flag of ['webdriver_present', 'headless_browser', 'automation_extension', 'devtools_open', 'inconsistent_user_agent']) {
      expect(flagEvidence(flag)).toEqual({
        eventTypes: [],
        note: 'This signal comes from the browser’s own properties, not from recorded events, so no event in the table stands for it.',
      });
    }
    expect(flagEvidence('copy_burst').eventTypes).toEqual([]);
    expect(flagEvidence('copy_burst').note).toMatch(/^isnotai records no copy events/);
  });

  it('every known flag has evidence: event types, or a note saying why not', () => {
    for (const flag of KNOWN) {
      expect(isKnownFlag(flag)).toBe(true);
      const { eventTypes, note } = flagEvidence(flag);
      expect(eventTypes.length > 0 || (note !== null && note.length > 0)).toBe(true);
    }
  });

  it('an unknown flag (or an Object prototype name) has no event types and a note saying the tool does not know', () => {
    for (const flag of ['quantum_mouse', 'constructor', '__proto__', 'toString', '<script>alert(1)</script>']) {
      expect(isKnownFlag(flag)).toBe(false);
      const { eventTypes, note } = flagEvidence(flag);
      expect(eventTypes).toEqual([]);
      expect(note).toMatch(/does not know which recorded events stand behind this signal/);
    }
  });

  it('answers a copy: changing it changes nothing for the next reader', () => {
    flagEvidence('paste_burst').eventTypes.push('scroll');
    expect(flagEvidence('paste_burst').eventTypes).toEqual(['paste', 'form_input']);
  });
});
