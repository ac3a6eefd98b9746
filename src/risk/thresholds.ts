/**
 * Risk thresholds: the bot-score lines at which a session becomes "elevated" and "high".
 * Per-platform configurable; the defaults follow PRODUCT.md (high at the API's own `botOnly` line).
 */

export interface RiskThresholds {
  /** A session with botScore ≥ high is "high". */
  high: number;
  /** A session with elevated ≤ botScore < high is "elevated". */
  elevated: number;
}

export const DEFAULT_THRESHOLDS: Readonly<RiskThresholds> = Object.freeze({ high: 0.7, elevated: 0.4 });

export type RiskThresholdErrorCode = 'INVALID_RISK_THRESHOLDS';

export class RiskThresholdError extends Error {
  readonly code: RiskThresholdErrorCode = 'INVALID_RISK_THRESHOLDS';
  constructor(message: string) {
    super(message);
    this.name = 'RiskThresholdError';
  }
}

export interface RiskThresholdProblem {
  /** The field at fault, or null when the value is not an object at all. */
  field: 'high' | 'elevated' | null;
  message: string;
}

/**
 * What is wrong with a pair of thresholds: both finite numbers, 0 < elevated < high ≤ 1. This is
 * the one rule; the configuration (PLATFORMS_JSON), the settings store and the database's check
 * constraint all say the same. An "elevated" line at 0 would leave no session "low".
 */
export function thresholdProblems(input: unknown): RiskThresholdProblem[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ field: null, message: 'must be an object with "high" and "elevated" numbers' }];
  }
  const { high, elevated } = input as Record<string, unknown>;
  const problems: RiskThresholdProblem[] = [];
  if (typeof high !== 'number' || !Number.isFinite(high)) problems.push({ field: 'high', message: '"high" must be a finite number' });
  if (typeof elevated !== 'number' || !Number.isFinite(elevated)) problems.push({ field: 'elevated', message: '"elevated" must be a finite number' });
  if (problems.length > 0) return problems;
  const h = high as number;
  const e = elevated as number;
  if (e <= 0) problems.push({ field: 'elevated', message: `"elevated" (${e}) must be above 0` });
  if (h > 1) problems.push({ field: 'high', message: `"high" (${h}) must be at most 1` });
  if (!(e < h)) problems.push({ field: 'elevated', message: `"elevated" (${e}) must be below "high" (${h})` });
  return problems;
}

/**
 * Checks the thresholds (thresholdProblems) and returns a fresh, plain copy. Thresholds come from
 * configuration, settings forms and the database, so the input is typed `unknown`.
 * @throws RiskThresholdError naming what is wrong.
 */
export function validateThresholds(input: unknown): RiskThresholds {
  const problems = thresholdProblems(input);
  if (problems.length > 0) {
    const object = problems.length === 1 && problems[0]!.field === null;
    throw new RiskThresholdError(object ? `Risk thresholds ${problems[0]!.message}` : `Invalid risk thresholds: ${problems.map((p) => p.message).join('; ')}`);
  }
  const { high, elevated } = input as RiskThresholds;
  return { high, elevated };
}
