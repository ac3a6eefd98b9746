import { DEFAULT_THRESHOLDS, RiskThresholdError, validateThresholds } from '../../src/risk';

describe('validateThresholds', () => {
  it('accepts the defaults and returns a plain copy', () => {
    const got = validateThresholds(DEFAULT_THRESHOLDS);
    expect(got).toEqual({ high: 0.7, elevated: 0.4 });
    expect(got).not.toBe(DEFAULT_THRESHOLDS);
  });

  it('defaults are the API botOnly line and 0.4, and cannot be changed in place', () => {
    expect(DEFAULT_THRESHOLDS).toEqual({ high: 0.7, elevated: 0.4 });
    expect(() => {
      (DEFAULT_THRESHOLDS as { high: number }).high = 0.1;
    }).toThrow(TypeError);
  });

  it.each([
    [{ high: 1, elevated: 0.01 }],
    [{ high: 0.5, elevated: 0.49 }],
    [{ high: 0.02, elevated: 0.01 }],
  ])('accepts the boundaries %j', (t) => {
    expect(validateThresholds(t)).toEqual(t);
  });

  it.each([
    [{ high: 0.4, elevated: 0.4 }, /must be below "high"/],
    [{ high: 0.3, elevated: 0.6 }, /must be below "high"/],
    [{ high: 1.01, elevated: 0.4 }, /"high" \(1.01\) must be at most 1/],
    [{ high: 0.7, elevated: -0.1 }, /"elevated" \(-0.1\) must be above 0/],
    // No session could be "low"; the database's check constraint refuses it too.
    [{ high: 1, elevated: 0 }, /"elevated" \(0\) must be above 0/],
    [{ high: Number.NaN, elevated: 0.4 }, /"high" must be a finite number/],
    [{ high: 0.7, elevated: Number.POSITIVE_INFINITY }, /"elevated" must be a finite number/],
    [{ high: '0.7', elevated: 0.4 }, /"high" must be a finite number/],
    [{ high: 0.7 }, /"elevated" must be a finite number/],
    [null, /must be an object/],
    ['0.7', /must be an object/],
  ])('rejects %p with a typed error naming the problem', (input, message) => {
    let caught: unknown;
    try {
      validateThresholds(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RiskThresholdError);
    expect((caught as RiskThresholdError).code).toBe('INVALID_RISK_THRESHOLDS');
    expect((caught as Error).message).toMatch(message);
  });

  it('reports several problems at once', () => {
    expect(() => validateThresholds({ high: 2, elevated: -1 })).toThrow(/above 0.*at most 1/);
  });
});
