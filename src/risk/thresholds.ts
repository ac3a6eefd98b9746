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

/**
 * Checks 0 ≤ elevated < high ≤ 1 (both finite numbers) and returns a fresh, plain copy.
 * Thresholds come from settings forms and the database, so the input is typed `unknown`.
 * @throws RiskThresholdError naming what is wrong.
 */
export function validateThresholds(input: unknown): RiskThresholds {
  if (typeof input !== 'object' || input === null) {
    throw new RiskThresholdError('Risk thresholds must be an object with "high" and "elevated" numbers');
  }
  const { high, elevated } = input as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof high !== 'number' || !Number.isFinite(high)) problems.push('"high" must be a finite number');
  if (typeof elevated !== 'number' || !Number.isFinite(elevated)) problems.push('"elevated" must be a finite number');
  if (problems.length > 0) throw new RiskThresholdError(`Invalid risk thresholds: ${problems.join('; ')}`);
  const h = high as number;
  const e = elevated as number;
  if (e < 0) problems.push(`"elevated" (${e}) must be at least 0`);
  if (h > 1) problems.push(`"high" (${h}) must be at most 1`);
  if (!(e < h)) problems.push(`"elevated" (${e}) must be below "high" (${h})`);
  if (problems.length > 0) throw new RiskThresholdError(`Invalid risk thresholds: ${problems.join('; ')}`);
  return { high: h, elevated: e };
}
