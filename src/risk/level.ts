/**
 * Risk levels and the words shown for them. A level is a signal for a human to review, never a
 * verdict, so every description says what the line is and that it calls for review.
 */
import { DEFAULT_THRESHOLDS, type RiskThresholds } from './thresholds';

/** 'none' means the learner has no sessions in the chosen window; a session is never 'none'. */
export type RiskLevel = 'high' | 'elevated' | 'low' | 'none';
export type SessionRiskLevel = Exclude<RiskLevel, 'none'>;

/** Highest first: the order used for "highest level" and default sorting. */
export const RISK_LEVELS: readonly RiskLevel[] = Object.freeze(['high', 'elevated', 'low', 'none'] as const);

export class RiskScoreError extends Error {
  readonly code = 'invalid_bot_score' as const;
  constructor(readonly score: unknown) {
    super(`Bot score must be a number from 0 to 1, got ${String(score)}`);
    this.name = 'RiskScoreError';
  }
}

/** A bot score the model can classify: a finite number within 0..1. */
export function isValidScore(score: unknown): score is number {
  return typeof score === 'number' && Number.isFinite(score) && score >= 0 && score <= 1;
}

/**
 * The level of one session. Both lines are inclusive ("at or above").
 * @throws RiskScoreError for NaN, ±Infinity or a score outside 0..1: a malformed score must never
 * turn silently into "low". (The isnotai client already rejects such scores at its boundary.)
 */
export function sessionRiskLevel(botScore: number, thresholds: RiskThresholds = DEFAULT_THRESHOLDS): SessionRiskLevel {
  if (!isValidScore(botScore)) throw new RiskScoreError(botScore);
  if (botScore >= thresholds.high) return 'high';
  if (botScore >= thresholds.elevated) return 'elevated';
  return 'low';
}

/** A number for sorting: high 3, elevated 2, low 1, none 0 (sort descending for "riskiest first"). */
export function riskRank(level: RiskLevel): number {
  switch (level) {
    case 'high':
      return 3;
    case 'elevated':
      return 2;
    case 'low':
      return 1;
    default:
      return 0;
  }
}

export interface RiskWords {
  /** Short label for badges and table cells, e.g. "High". */
  label: string;
  /** One sentence explaining the line, e.g. for a `title` or a legend. */
  description: string;
}

/** Scores are shown with two decimals everywhere, so the words match the table. */
export function formatThreshold(value: number): string {
  return value.toFixed(2);
}

/** Display words for a level, naming the configured lines. Unknown input gets neutral words. */
export function riskWords(level: RiskLevel, thresholds: RiskThresholds = DEFAULT_THRESHOLDS): RiskWords {
  const high = formatThreshold(thresholds.high);
  const elevated = formatThreshold(thresholds.elevated);
  switch (level) {
    case 'high':
      return { label: 'High', description: `Bot score ${high} or more: a signal to review the sessions behind it, not a verdict` };
    case 'elevated':
      return { label: 'Elevated', description: `Bot score from ${elevated} to below ${high}: a weaker signal for review` };
    case 'low':
      return { label: 'Low', description: `Bot score below ${elevated}: no strong signal` };
    case 'none':
      return { label: 'No sessions', description: 'No sessions were recorded in this period' };
    default:
      return { label: 'Unknown', description: 'The level could not be determined' };
  }
}
