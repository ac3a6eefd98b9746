import {
  DEFAULT_THRESHOLDS,
  isValidScore,
  RISK_LEVELS,
  riskRank,
  RiskScoreError,
  riskWords,
  sessionRiskLevel,
  type RiskLevel,
} from '../../src/risk';

describe('sessionRiskLevel', () => {
  it.each([
    [0, 'low'],
    [0.39, 'low'],
    [0.3999999, 'low'],
    [0.4, 'elevated'],
    [0.55, 'elevated'],
    [0.6999999, 'elevated'],
    [0.7, 'high'],
    [0.93, 'high'],
    [1, 'high'],
  ])('default thresholds: %p → %s (lines are inclusive)', (score, level) => {
    expect(sessionRiskLevel(score, DEFAULT_THRESHOLDS)).toBe(level);
  });

  it('uses the defaults when no thresholds are given', () => {
    expect(sessionRiskLevel(0.7)).toBe('high');
  });

  it('follows custom thresholds', () => {
    const t = { high: 0.9, elevated: 0.2 };
    expect(sessionRiskLevel(0.19, t)).toBe('low');
    expect(sessionRiskLevel(0.2, t)).toBe('elevated');
    expect(sessionRiskLevel(0.7, t)).toBe('elevated');
    expect(sessionRiskLevel(0.9, t)).toBe('high');
  });

  it('with elevated at 0 every session is at least elevated', () => {
    expect(sessionRiskLevel(0, { high: 0.5, elevated: 0 })).toBe('elevated');
  });

  it.each([[Number.NaN], [-0.01], [1.01], [Number.POSITIVE_INFINITY], ['0.8' as unknown as number]])(
    'refuses the malformed score %p instead of calling it low',
    (score) => {
      expect(() => sessionRiskLevel(score)).toThrow(RiskScoreError);
      expect(isValidScore(score)).toBe(false);
    },
  );
});

describe('riskRank', () => {
  it('orders high > elevated > low > none', () => {
    const shuffled: RiskLevel[] = ['low', 'none', 'high', 'elevated'];
    expect([...shuffled].sort((a, b) => riskRank(b) - riskRank(a))).toEqual(['high', 'elevated', 'low', 'none']);
    expect(RISK_LEVELS).toEqual(['high', 'elevated', 'low', 'none']);
  });
});

describe('riskWords', () => {
  it('describes each level with the configured lines, as a signal not a verdict', () => {
    expect(riskWords('high')).toEqual({
      label: 'High',
      description: 'Bot score 0.70 or more: a signal to review the sessions behind it, not a verdict',
    });
    expect(riskWords('elevated').description).toBe('Bot score from 0.40 to below 0.70: a weaker signal for review');
    expect(riskWords('low')).toEqual({ label: 'Low', description: 'Bot score below 0.40: no strong signal' });
    expect(riskWords('none').label).toBe('No sessions');
  });

  it('names custom thresholds', () => {
    expect(riskWords('high', { high: 0.85, elevated: 0.5 }).description).toMatch(/^Bot score 0.85 or more/);
    expect(riskWords('elevated', { high: 0.85, elevated: 0.5 }).description).toMatch(/from 0.50 to below 0.85/);
  });

  it('never uses accusing words', () => {
    for (const l of RISK_LEVELS) {
      const w = riskWords(l);
      expect(`${w.label} ${w.description}`).not.toMatch(/cheat|guilty|bot detected|confirmed|fraud/i);
    }
  });

  it('gives neutral words for a value that is not a level (defensive, e.g. from a template)', () => {
    expect(riskWords('bogus' as RiskLevel).label).toBe('Unknown');
  });
});
