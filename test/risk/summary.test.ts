import { DEFAULT_THRESHOLDS, learnerRiskSummary, type SummarisableSession } from '../../src/risk';

function s(createdAt: string, botScore: number, detectionFlags: string[] = [], updatedAt = createdAt): SummarisableSession {
  return { createdAt, updatedAt, botScore, detectionFlags };
}

const T = DEFAULT_THRESHOLDS;

describe('learnerRiskSummary', () => {
  it('no sessions → none, with nulls, and says so', () => {
    const got = learnerRiskSummary([], { thresholds: T });
    expect(got).toEqual({
      level: 'none',
      levelReason: 'No sessions recorded',
      sessionCount: 0,
      sessionsInWindow: 0,
      highCount: 0,
      elevatedCount: 0,
      lowCount: 0,
      invalidScores: 0,
      maxScore: null,
      topFlags: [],
      lastActivity: null,
      levelWithoutAccommodations: null,
      explainedSessions: 0,
    });
  });

  it('the level is the highest session level, traced to counts and the max score', () => {
    const got = learnerRiskSummary(
      [
        s('2026-11-03T10:00:00Z', 0.1),
        s('2026-11-05T10:00:00Z', 0.93, ['webdriver_present', 'paste_burst']),
        s('2026-11-06T10:00:00Z', 0.7, ['paste_burst']),
        s('2026-11-07T10:00:00Z', 0.4, ['tab_switching']),
      ],
      { thresholds: T },
    );
    expect(got.level).toBe('high');
    expect(got.highCount).toBe(2);
    expect(got.elevatedCount).toBe(1);
    expect(got.lowCount).toBe(1);
    expect(got.maxScore).toBe(0.93);
    expect(got.levelReason).toBe('2 sessions at or above 0.70; highest 0.93');
    expect(got.sessionCount).toBe(4);
    expect(got.sessionsInWindow).toBe(4);
  });

  it('a score of exactly 0.4 makes the learner elevated; exactly 0.7 makes them high', () => {
    expect(learnerRiskSummary([s('2026-11-01T00:00:00Z', 0.4)], { thresholds: T }).level).toBe('elevated');
    expect(learnerRiskSummary([s('2026-11-01T00:00:00Z', 0.7)], { thresholds: T }).level).toBe('high');
    expect(learnerRiskSummary([s('2026-11-01T00:00:00Z', 0.39999)], { thresholds: T }).level).toBe('low');
  });

  it('explains elevated and low levels', () => {
    const el = learnerRiskSummary([s('2026-11-01T00:00:00Z', 0.55), s('2026-11-02T00:00:00Z', 0.2)], { thresholds: T });
    expect(el.levelReason).toBe('1 session from 0.40 to below 0.70; highest 0.55');
    const low = learnerRiskSummary([s('2026-11-01T00:00:00Z', 0.05), s('2026-11-02T00:00:00Z', 0.2)], { thresholds: T });
    expect(low.level).toBe('low');
    expect(low.levelReason).toBe('2 sessions, all below 0.40; highest 0.20');
  });

  it('applies custom thresholds', () => {
    const got = learnerRiskSummary([s('2026-11-01T00:00:00Z', 0.8)], { thresholds: { high: 0.9, elevated: 0.5 } });
    expect(got.level).toBe('elevated');
    expect(got.levelReason).toBe('1 session from 0.50 to below 0.90; highest 0.80');
  });

  describe('window', () => {
    const sessions = [
      s('2026-10-31T23:59:59.999Z', 0.95),
      s('2026-11-01T00:00:00Z', 0.5),
      s('2026-11-10T12:00:00Z', 0.1, [], '2026-11-21T00:00:00Z'),
      s('2026-11-20T00:00:00Z', 0.2),
      s('2026-11-20T00:00:00.001Z', 0.99),
    ];
    const window = { after: new Date('2026-11-01T00:00:00Z'), before: new Date('2026-11-20T00:00:00Z') };

    it('is inclusive at both ends on createdAt', () => {
      const got = learnerRiskSummary(sessions, { thresholds: T, window });
      expect(got.sessionsInWindow).toBe(3);
      expect(got.sessionCount).toBe(5);
      expect(got.level).toBe('elevated');
      expect(got.maxScore).toBe(0.5);
      // last activity of the in-window sessions includes their updatedAt
      expect(got.lastActivity).toBe('2026-11-21T00:00:00.000Z');
    });

    it('accepts one-sided windows', () => {
      expect(learnerRiskSummary(sessions, { thresholds: T, window: { after: new Date('2026-11-20T00:00:00Z') } }).sessionsInWindow).toBe(2);
      expect(learnerRiskSummary(sessions, { thresholds: T, window: { before: new Date('2026-11-01T00:00:00Z') } }).sessionsInWindow).toBe(
        2,
      );
    });

    it('sessions outside the window → none, and the reason says they exist', () => {
      const got = learnerRiskSummary(sessions, { thresholds: T, window: { after: new Date('2027-01-01T00:00:00Z') } });
      expect(got.level).toBe('none');
      expect(got.levelReason).toBe('No sessions in this period (5 sessions outside it)');
      expect(got.lastActivity).toBeNull();
    });

    it('a session with an unreadable createdAt is outside any bounded window but counted without one', () => {
      const odd = [s('not a date', 0.9)];
      expect(learnerRiskSummary(odd, { thresholds: T, window: { after: new Date(0) } }).sessionsInWindow).toBe(0);
      expect(learnerRiskSummary(odd, { thresholds: T }).level).toBe('high');
      expect(learnerRiskSummary(odd, { thresholds: T }).lastActivity).toBeNull();
    });
  });

  describe('malformed scores are excluded and counted, never silently low', () => {
    it('excludes NaN, negative and > 1 scores from the level and counts', () => {
      const got = learnerRiskSummary(
        [
          s('2026-11-01T00:00:00Z', Number.NaN),
          s('2026-11-02T00:00:00Z', -0.2),
          s('2026-11-03T00:00:00Z', 1.5),
          s('2026-11-04T00:00:00Z', 0.3),
        ],
        { thresholds: T },
      );
      expect(got.level).toBe('low');
      expect(got.invalidScores).toBe(3);
      expect(got.lowCount).toBe(1);
      expect(got.maxScore).toBe(0.3);
      expect(got.highCount + got.elevatedCount + got.lowCount + got.invalidScores).toBe(got.sessionsInWindow);
      expect(got.levelReason).toBe('1 session, all below 0.40; highest 0.30; 3 sessions with an unreadable bot score left out');
    });

    it('only malformed scores → none, with the reason saying why', () => {
      const got = learnerRiskSummary([s('2026-11-01T00:00:00Z', 7)], { thresholds: T });
      expect(got.level).toBe('none');
      expect(got.invalidScores).toBe(1);
      expect(got.maxScore).toBeNull();
      expect(got.levelReason).toBe('No session in this period has a readable bot score (1 session left out)');
    });
  });

  describe('topFlags', () => {
    it('counts sessions per flag, most frequent first, ties by name, top 3', () => {
      const got = learnerRiskSummary(
        [
          s('2026-11-01T00:00:00Z', 0.1, ['tab_switching', 'devtools_open', 'tab_switching']),
          s('2026-11-02T00:00:00Z', 0.1, ['tab_switching', 'paste_burst']),
          s('2026-11-03T00:00:00Z', 0.1, ['paste_burst', 'zeta']),
          s('2026-11-04T00:00:00Z', 0.1, ['alpha']),
        ],
        { thresholds: T },
      );
      expect(got.topFlags).toEqual([
        { flag: 'paste_burst', count: 2 },
        { flag: 'tab_switching', count: 2 },
        { flag: 'alpha', count: 1 },
      ]);
    });

    it('only counts flags of sessions in the window', () => {
      const got = learnerRiskSummary(
        [s('2026-10-01T00:00:00Z', 0.9, ['webdriver_present']), s('2026-11-02T00:00:00Z', 0.1, ['tab_switching'])],
        { thresholds: T, window: { after: new Date('2026-11-01T00:00:00Z') } },
      );
      expect(got.topFlags).toEqual([{ flag: 'tab_switching', count: 1 }]);
    });
  });

  it('lastActivity is the latest of createdAt and updatedAt', () => {
    const got = learnerRiskSummary(
      [s('2026-11-01T00:00:00Z', 0.1, [], '2026-11-09T08:00:00Z'), s('2026-11-05T00:00:00Z', 0.1, [], 'garbage')],
      { thresholds: T },
    );
    expect(got.lastActivity).toBe('2026-11-09T08:00:00.000Z');
  });
});
