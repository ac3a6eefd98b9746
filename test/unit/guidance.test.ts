/**
 * What a student is told (src/risk/guidance.ts, docs/product.md "Guidance"): the platform's own lines in words, every known
 * signal with ordinary causes, their own signals first, and how to answer where they read it.
 */
import { describeFlag, innocentCauses, knownFlags, studentGuidance } from '../../src/risk';

test('the thresholds are the platform’s own, in words, and the bot score is said not to be a finding', () => {
  const g = studentGuidance({ thresholds: { high: 0.85, elevated: 0.5 }, canRespondHere: true });
  expect(g.thresholds[0]).toBe(
    'Your institution calls a session “High” when its score is 0.85 or more, and “Elevated” when it is from 0.50 to below 0.85. Below 0.50 it is “Low”.',
  );
  expect(g.botScore.join(' ')).toMatch(/does not measure whether your work is your own/);
  expect(g.nextSteps.join(' ')).toMatch(/A person reviews it/);
  expect(g.nextSteps.join(' ')).toMatch(/A signal is not a finding/);
});

test('every known signal has a description and at least one innocent cause; assistive technology is named where it trips one', () => {
  for (const flag of knownFlags()) {
    expect(describeFlag(flag)).toEqual(expect.any(String));
    expect(innocentCauses(flag).length).toBeGreaterThan(0);
  }
  expect(innocentCauses('superhuman_typing_cadence').join(' ')).toMatch(/dictation/);
  expect(innocentCauses('no_pointer_movement').join(' ')).toMatch(/screen reader/);
  expect(innocentCauses('paste_burst').join(' ')).toMatch(/your own notes/);
  expect(innocentCauses('not_a_flag')).toEqual([]);
});

test('the student’s own signals come first (unknown ones kept by code), then every other known signal once', () => {
  const g = studentGuidance({
    thresholds: { high: 0.7, elevated: 0.4 },
    theirSignals: ['paste_burst', 'mystery_signal', 'paste_burst', 'no_pointer_movement'],
    canRespondHere: true,
  });
  expect(g.signals.slice(0, 3).map((s) => s.code)).toEqual(['paste_burst', 'mystery_signal', 'no_pointer_movement']);
  expect(g.signals[1]).toEqual({ code: 'mystery_signal', description: null, innocentCauses: [] });
  expect(g.signals.map((s) => s.code).sort()).toEqual([...knownFlags(), 'mystery_signal'].sort());
});

test('how to respond: on each session where the student can, else through their instructor', () => {
  const here = studentGuidance({ thresholds: { high: 0.7, elevated: 0.4 }, canRespondHere: true });
  expect(here.howToRespond.join(' ')).toMatch(/Open a session and write your response/);
  const elsewhere = studentGuidance({ thresholds: { high: 0.7, elevated: 0.4 }, canRespondHere: false });
  expect(elsewhere.howToRespond.join(' ')).toMatch(/Ask your instructor/);
  expect(elsewhere.howToRespond.join(' ')).not.toMatch(/Open a session/);
});

test('on a session’s own page, the student is pointed at the form there, not sent to open a session', () => {
  const g = studentGuidance({ thresholds: { high: 0.7, elevated: 0.4 }, canRespondHere: true, onSession: true });
  expect(g.howToRespond[0]).toMatch(/^Write your response under “Your response” on this page:/);
  expect(g.nextSteps.join(' ')).toMatch(/the common causes are listed with each signal/);
});
