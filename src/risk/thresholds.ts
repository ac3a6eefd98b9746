/**
 * Risk thresholds: the bot-score lines at which a session becomes "elevated" and "high".
 * Per-platform configurable; the defaults (high at the API's own `botOnly` line) and the rule are
 * in docs/product.md "Risk thresholds".
 */
import { z } from 'zod';

export interface RiskThresholds {
  /** A session with botScore ≥ high is "high". */
  high: number;
  /** A session with elevated ≤ botScore < high is "elevated". */
  elevated: number;
}

export const DEFAULT_THRESHOLDS: Readonly<RiskThresholds> = Object.freeze({ high: 0.7, elevated: 0.4 });

export interface RiskThresholdProblem {
  /** The field at fault, or null when the value is not an object at all. */
  field: 'high' | 'elevated' | null;
  message: string;
}

/**
 * What is wrong with a pair of thresholds: both finite numbers, 0 < elevated < high ≤ 1, always
 * given together. This is the one rule; the configuration (PLATFORMS_JSON) and the settings store
 * read thresholds through riskThresholdsSchema, and the database's check constraint says the same.
 * An "elevated" line at 0 would leave no session "low".
 */
export function thresholdProblems(input: unknown): RiskThresholdProblem[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return [{ field: null, message: 'must be an object with "high" and "elevated" numbers' }];
  }
  const { high, elevated } = input as Record<string, unknown>;
  const problems: RiskThresholdProblem[] = [];
  if (typeof high !== 'number' || !Number.isFinite(high)) problems.push({ field: 'high', message: '"high" must be a finite number' });
  if (typeof elevated !== 'number' || !Number.isFinite(elevated))
    problems.push({ field: 'elevated', message: '"elevated" must be a finite number' });
  if (problems.length > 0) return problems;
  const h = high as number;
  const e = elevated as number;
  if (e <= 0) problems.push({ field: 'elevated', message: `"elevated" (${e}) must be above 0` });
  if (h > 1) problems.push({ field: 'high', message: `"high" (${h}) must be at most 1` });
  if (!(e < h)) problems.push({ field: 'elevated', message: `"elevated" (${e}) must be below "high" (${h})` });
  return problems;
}

/**
 * The thresholds as the configuration (PLATFORMS_JSON `thresholds`) and the settings store
 * (`riskThresholds`) read them: thresholdProblems, each problem at its field, then a plain copy.
 */
export const riskThresholdsSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    for (const p of thresholdProblems(value)) ctx.addIssue({ code: 'custom', message: p.message, path: p.field ? [p.field] : [] });
  })
  .transform((value): RiskThresholds => {
    const { high, elevated } = value as RiskThresholds;
    return { high, elevated };
  });
