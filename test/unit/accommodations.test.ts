/**
 * The accommodations rule of the risk model (src/risk/accommodations.ts, docs/product.md "Accommodations"): a session whose
 * every signal is explained by an accommodation on record counts as Low; a signal left unexplained, or no signal at all,
 * keeps the level the score gives; the learner's summary counts the counted levels and keeps the score-only one beside it,
 * so a page can say "Low (High without the accommodated signals)" and nothing is hidden.
 */
import {
  ACCOMMODATION_KINDS,
  accommodatedLevelWords,
  accommodatedReason,
  accommodatedSessionLevel,
  accommodatedSignals,
  DEFAULT_THRESHOLDS,
  describeFlag,
  learnerRiskSummary,
  RiskScoreError,
  type SummarisableSession,
} from '../../src/risk';

const T = DEFAULT_THRESHOLDS;
const KEYBOARD = accommodatedSignals(['keyboard_only']);
const DICTATION = accommodatedSignals(['dictation']);

function s(createdAt: string, botScore: number, detectionFlags: string[] = []): SummarisableSession {
  return { createdAt, updatedAt: createdAt, botScore, detectionFlags };
}

describe('the register’s list of kinds', () => {
  it('maps each kind to signals the risk model describes; `other` explains nothing by itself', () => {
    for (const k of ACCOMMODATION_KINDS) for (const signal of k.signals) expect(describeFlag(signal)).not.toBeNull();
    expect(accommodatedSignals(['other']).size).toBe(0);
    expect([...accommodatedSignals(['dictation', 'keyboard_only'])].sort()).toEqual(
      ['no_pointer_movement', 'paste_burst', 'superhuman_typing_cadence'].sort(),
    );
    // A kind the tool does not know (an old row, a typo) explains nothing rather than everything.
    expect(accommodatedSignals(['telepathy']).size).toBe(0);
  });
});

describe('accommodatedSessionLevel', () => {
  it('a high session whose every signal is explained counts as Low, and keeps High as its score-only level', () => {
    expect(accommodatedSessionLevel({ botScore: 0.91, detectionFlags: ['no_pointer_movement'] }, T, KEYBOARD)).toEqual({
      level: 'low',
      without: 'high',
      explained: ['no_pointer_movement'],
    });
    // Repeated flags count once; both of dictation's signals explained.
    expect(
      accommodatedSessionLevel(
        { botScore: 0.55, detectionFlags: ['paste_burst', 'superhuman_typing_cadence', 'paste_burst'] },
        T,
        DICTATION,
      ),
    ).toEqual({ level: 'low', without: 'elevated', explained: ['paste_burst', 'superhuman_typing_cadence'] });
  });

  it('one unexplained signal keeps the score’s level, while naming the signals that are explained', () => {
    expect(accommodatedSessionLevel({ botScore: 0.91, detectionFlags: ['no_pointer_movement', 'webdriver_present'] }, T, KEYBOARD)).toEqual(
      {
        level: 'high',
        without: 'high',
        explained: ['no_pointer_movement'],
      },
    );
  });

  it('a session with no signal keeps its level: an accommodation explains signals, never a bare score', () => {
    expect(accommodatedSessionLevel({ botScore: 0.8, detectionFlags: [] }, T, KEYBOARD)).toEqual({
      level: 'high',
      without: 'high',
      explained: [],
    });
  });

  it('without accommodations nothing changes', () => {
    expect(accommodatedSessionLevel({ botScore: 0.8, detectionFlags: ['no_pointer_movement'] }, T, new Set())).toEqual({
      level: 'high',
      without: 'high',
      explained: [],
    });
  });

  it('a score that is not a number from 0 to 1 throws, accommodated or not', () => {
    for (const botScore of [Number.NaN, 1.2, -0.1]) {
      expect(() => accommodatedSessionLevel({ botScore, detectionFlags: ['no_pointer_movement'] }, T, KEYBOARD)).toThrow(RiskScoreError);
    }
  });

  it('gives the sentence behind a lowered session, and none when nothing was lowered', () => {
    const lowered = accommodatedSessionLevel({ botScore: 0.91, detectionFlags: ['no_pointer_movement'] }, T, KEYBOARD);
    expect(accommodatedReason(lowered, T)).toBe(
      'Every signal of this session is explained by an accommodation on record, so its score (at or above 0.70) does not raise the level.',
    );
    const elevated = accommodatedSessionLevel({ botScore: 0.5, detectionFlags: ['no_pointer_movement'] }, T, KEYBOARD);
    expect(accommodatedReason(elevated, T)).toContain('(at or above 0.40)');
    const kept = accommodatedSessionLevel({ botScore: 0.91, detectionFlags: ['webdriver_present'] }, T, KEYBOARD);
    expect(accommodatedReason(kept, T)).toBeNull();
  });
});

describe('learnerRiskSummary with accommodations', () => {
  const sessions = [
    s('2026-11-01T10:00:00Z', 0.92, ['no_pointer_movement']),
    s('2026-11-02T10:00:00Z', 0.75, ['no_pointer_movement']),
    s('2026-11-03T10:00:00Z', 0.1),
  ];

  it('every high session explained: the learner is Low, with High kept as the level without accommodations', () => {
    const got = learnerRiskSummary(sessions, { thresholds: T, accommodated: KEYBOARD });
    expect(got.level).toBe('low');
    expect(got.levelWithoutAccommodations).toBe('high');
    expect(got.explainedSessions).toBe(2);
    expect([got.highCount, got.elevatedCount, got.lowCount]).toEqual([0, 0, 3]);
    expect(got.maxScore).toBe(0.92);
    expect(got.levelReason).toBe(
      '1 session, all below 0.40; highest 0.10; 2 sessions counted as low because every signal is explained by an accommodation on record (highest score 0.92)',
    );
    expect(accommodatedLevelWords(got.level, got.levelWithoutAccommodations)).toBe('Low (High without the accommodated signals)');
  });

  it('the same sessions without accommodations are High, and nothing is said about accommodations', () => {
    const got = learnerRiskSummary(sessions, { thresholds: T });
    expect(got.level).toBe('high');
    expect(got.levelWithoutAccommodations).toBeNull();
    expect(got.explainedSessions).toBe(0);
    expect(got.levelReason).toBe('2 sessions at or above 0.70; highest 0.92');
    expect(accommodatedLevelWords(got.level, got.levelWithoutAccommodations)).toBe('High');
  });

  it('an unexplained elevated session keeps the learner Elevated (High without …)', () => {
    const got = learnerRiskSummary([...sessions, s('2026-11-04T10:00:00Z', 0.5, ['tab_switching'])], {
      thresholds: T,
      accommodated: KEYBOARD,
    });
    expect(got.level).toBe('elevated');
    expect(got.levelWithoutAccommodations).toBe('high');
    expect(got.elevatedCount).toBe(1);
    expect(accommodatedLevelWords(got.level, got.levelWithoutAccommodations)).toBe('Elevated (High without the accommodated signals)');
  });

  it('an unexplained high session keeps the learner High, and the level without accommodations is not repeated', () => {
    const got = learnerRiskSummary([...sessions, s('2026-11-04T10:00:00Z', 0.8, ['webdriver_present'])], {
      thresholds: T,
      accommodated: KEYBOARD,
    });
    expect(got.level).toBe('high');
    expect(got.levelWithoutAccommodations).toBeNull();
    expect(got.highCount).toBe(1);
    expect(got.explainedSessions).toBe(2);
    // "highest" is the score of the session that counts, not of a lowered one.
    expect(got.levelReason).toBe(
      '1 session at or above 0.70; highest 0.80; 2 sessions counted as low because every signal is explained by an accommodation on record (highest score 0.92)',
    );
    expect(accommodatedLevelWords(got.level, got.levelWithoutAccommodations)).toBe('High');
  });

  it('every session explained: the reason names only them, with their highest score', () => {
    const got = learnerRiskSummary(sessions.slice(0, 2), { thresholds: T, accommodated: KEYBOARD });
    expect(got.level).toBe('low');
    expect(got.levelReason).toBe(
      '2 sessions counted as low because every signal is explained by an accommodation on record (highest score 0.92)',
    );
  });

  it('an accommodation for other signals changes nothing', () => {
    const got = learnerRiskSummary(sessions, { thresholds: T, accommodated: DICTATION });
    expect(got.level).toBe('high');
    expect(got.levelWithoutAccommodations).toBeNull();
  });

  it('the window applies before the rule: an explained session outside it is not counted', () => {
    const got = learnerRiskSummary(sessions, {
      thresholds: T,
      accommodated: KEYBOARD,
      window: { after: new Date('2026-11-02T00:00:00Z') },
    });
    expect(got.sessionsInWindow).toBe(2);
    expect(got.explainedSessions).toBe(1);
    expect(got.level).toBe('low');
    expect(got.levelWithoutAccommodations).toBe('high');
  });

  it('an unreadable score is left out and named, never lowered', () => {
    const got = learnerRiskSummary([s('2026-11-01T10:00:00Z', Number.NaN, ['no_pointer_movement'])], {
      thresholds: T,
      accommodated: KEYBOARD,
    });
    expect(got.level).toBe('none');
    expect(got.invalidScores).toBe(1);
    expect(got.explainedSessions).toBe(0);
    expect(got.levelWithoutAccommodations).toBeNull();
  });
});

describe('accommodatedLevelWords', () => {
  it('says both levels only when an accommodation changed the level', () => {
    expect(accommodatedLevelWords('low', 'high')).toBe('Low (High without the accommodated signals)');
    expect(accommodatedLevelWords('elevated', 'high')).toBe('Elevated (High without the accommodated signals)');
    expect(accommodatedLevelWords('low', 'elevated')).toBe('Low (Elevated without the accommodated signals)');
    expect(accommodatedLevelWords('high', 'high')).toBe('High');
    expect(accommodatedLevelWords('high', null)).toBe('High');
  });
});

test('a flag that is not a signal code (an empty string) is never explained, so it keeps the session’s level', () => {
  const got = accommodatedSessionLevel({ botScore: 0.9, detectionFlags: ['no_pointer_movement', ''] }, T, KEYBOARD);
  expect(got).toEqual({ level: 'high', without: 'high', explained: ['no_pointer_movement'] });
});
