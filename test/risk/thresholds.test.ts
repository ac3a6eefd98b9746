import { DEFAULT_THRESHOLDS, thresholdProblems } from '../../src/risk';
import { riskThresholdsSchema } from '../../src/risk/thresholds';

/** What the configuration and the settings store make of a value: the thresholds, or every problem in one message. */
function read(input: unknown): { high: number; elevated: number } | string {
  const r = riskThresholdsSchema.safeParse(input);
  return r.success ? r.data : r.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ');
}

describe('the thresholds rule', () => {
  it('accepts the defaults and returns a plain copy', () => {
    const got = read(DEFAULT_THRESHOLDS);
    expect(got).toEqual({ high: 0.7, elevated: 0.4 });
    expect(got).not.toBe(DEFAULT_THRESHOLDS);
    expect(read({ high: 0.9, elevated: 0.4, low: 0.1 })).toEqual({ high: 0.9, elevated: 0.4 });
  });

  it('defaults are the API botOnly line and 0.4, and cannot be changed in place', () => {
    expect(DEFAULT_THRESHOLDS).toEqual({ high: 0.7, elevated: 0.4 });
    expect(() => {
      (DEFAULT_THRESHOLDS as { high: number }).high = 0.1;
    }).toThrow(TypeError);
  });

  it.each([[{ high: 1, elevated: 0.01 }], [{ high: 0.5, elevated: 0.49 }], [{ high: 0.02, elevated: 0.01 }]])('accepts %j', (t) => {
    expect(thresholdProblems(t)).toEqual([]);
    expect(read(t)).toEqual(t);
  });

  it.each([
    [{ high: 0.4, elevated: 0.4 }, /^elevated: "elevated" \(0.4\) must be below "high"/],
    [{ high: 0.3, elevated: 0.6 }, /^elevated: "elevated" \(0.6\) must be below "high"/],
    [{ high: 1.01, elevated: 0.4 }, /^high: "high" \(1.01\) must be at most 1/],
    [{ high: 0.7, elevated: -0.1 }, /^elevated: "elevated" \(-0.1\) must be above 0/],
    // No session could be "low"; the database's check constraint refuses it too.
    [{ high: 1, elevated: 0 }, /^elevated: "elevated" \(0\) must be above 0/],
    [{ high: Number.NaN, elevated: 0.4 }, /^high: "high" must be a finite number/],
    [{ high: 0.7, elevated: Number.POSITIVE_INFINITY }, /^elevated: "elevated" must be a finite number/],
    [{ high: '0.7', elevated: 0.4 }, /^high: "high" must be a finite number/],
    // The two lines are one setting: one alone is refused, never completed from elsewhere.
    [{ high: 0.7 }, /^elevated: "elevated" must be a finite number/],
    [null, /^\(value\): must be an object/],
    ['0.7', /^\(value\): must be an object/],
  ])('refuses %p, naming the field and the problem', (input, message) => {
    expect(read(input)).toMatch(message);
  });

  it('reports several problems at once', () => {
    expect(thresholdProblems({ high: 2, elevated: -1 }).map((p) => p.field)).toEqual(['elevated', 'high']);
    expect(read({ high: 2, elevated: -1 })).toMatch(/above 0.*at most 1/);
  });
});
