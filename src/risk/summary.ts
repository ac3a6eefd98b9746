/**
 * One learner's risk summary: the highest session level in a window, with the counts, maximum
 * score, most frequent flags and last activity behind it, and a sentence (`levelReason`) that
 * traces the level to those sessions.
 */
import type { IsnotaiSession } from '../isnotai/types';
import { accommodatedSessionLevel } from './accommodations';
import { formatThreshold, isValidScore, riskRank, type RiskLevel } from './level';
import type { RiskThresholds } from './thresholds';

/** Inclusive bounds on a session's `createdAt`. */
export interface RiskWindow {
  after?: Date;
  before?: Date;
}

export interface FlagCount {
  flag: string;
  /** Number of sessions (in the window) carrying the flag; a flag repeated in one session counts once. */
  count: number;
}

/** The fields of a session the summary reads; IsnotaiSession satisfies it. */
export type SummarisableSession = Pick<IsnotaiSession, 'createdAt' | 'updatedAt' | 'botScore' | 'detectionFlags'>;

export interface LearnerRiskSummary {
  level: RiskLevel;
  /** Why the level is what it is, e.g. "2 sessions at or above 0.70; highest 0.93". */
  levelReason: string;
  /** All sessions given, before the window is applied. */
  sessionCount: number;
  /** Sessions whose createdAt falls in the window (all of them when there is no window). */
  sessionsInWindow: number;
  highCount: number;
  elevatedCount: number;
  lowCount: number;
  /**
   * In-window sessions whose botScore is not a number within 0..1. They are excluded from the
   * level and the counts above (never guessed as "low"), and named in `levelReason`.
   * Invariant: highCount + elevatedCount + lowCount + invalidScores === sessionsInWindow.
   */
  invalidScores: number;
  /** Highest valid score in the window, or null when there is none. */
  maxScore: number | null;
  /** Up to 3, most frequent first, ties by flag name. */
  topFlags: FlagCount[];
  /** ISO-8601: the latest createdAt/updatedAt of the in-window sessions, or null. */
  lastActivity: string | null;
  /**
   * The level the scores alone give, when accommodations on record lowered it (src/risk/accommodations.ts); null when
   * they did not. The counts above count the levels that count (`level`'s).
   */
  levelWithoutAccommodations: RiskLevel | null;
  /** In-window sessions whose level an accommodation lowered (every signal explained). */
  explainedSessions: number;
}

export interface LearnerRiskOptions {
  thresholds: RiskThresholds;
  window?: RiskWindow;
  /** Signals explained by the learner's accommodations on record (accommodatedSignals); none when left out. */
  accommodated?: ReadonlySet<string>;
}

const TOP_FLAGS = 3;

function time(iso: unknown): number | null {
  if (typeof iso !== 'string') return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** Whether a session falls in the window (its bounds inclusive); one that cannot be placed in time is outside a bounded one. */
export function sessionInWindow(s: SummarisableSession, window: RiskWindow | undefined): boolean {
  const after = window?.after?.getTime();
  const before = window?.before?.getTime();
  const hasAfter = after !== undefined && !Number.isNaN(after);
  const hasBefore = before !== undefined && !Number.isNaN(before);
  if (!hasAfter && !hasBefore) return true;
  // A session that cannot be placed in time cannot be said to be inside a bounded window.
  const created = time(s.createdAt);
  if (created === null) return false;
  if (hasAfter && created < (after as number)) return false;
  if (hasBefore && created > (before as number)) return false;
  return true;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function topFlagCounts(sessions: readonly SummarisableSession[], limit = TOP_FLAGS): FlagCount[] {
  const counts = new Map<string, number>();
  for (const s of sessions) {
    const flags = Array.isArray(s.detectionFlags) ? s.detectionFlags : [];
    for (const flag of new Set(flags.filter((f): f is string => typeof f === 'string' && f.length > 0))) {
      counts.set(flag, (counts.get(flag) ?? 0) + 1);
    }
  }
  return (
    [...counts]
      .map(([flag, count]) => ({ flag, count }))
      // Ties by code-unit order, not locale, so the order is the same on every server.
      .sort((a, b) => b.count - a.count || (a.flag < b.flag ? -1 : a.flag > b.flag ? 1 : 0))
      .slice(0, limit)
  );
}

export function learnerRiskSummary(sessions: readonly SummarisableSession[], options: LearnerRiskOptions): LearnerRiskSummary {
  const { thresholds, window } = options;
  const accommodated = options.accommodated ?? new Set<string>();
  const windowed = sessions.filter((s) => sessionInWindow(s, window));
  let scoreOnly: RiskLevel = 'none';
  let explainedSessions = 0;
  let highCount = 0;
  let elevatedCount = 0;
  let lowCount = 0;
  let invalidScores = 0;
  let maxScore: number | null = null;
  /** The highest score of the sessions that count at their score's level, and of those an accommodation lowered. */
  let maxCounted: number | null = null;
  let maxExplained: number | null = null;
  let last: number | null = null;
  for (const s of windowed) {
    if (isValidScore(s.botScore)) {
      const counted = accommodatedSessionLevel(s, thresholds, accommodated);
      const level = counted.level;
      if (counted.level !== counted.without) {
        explainedSessions++;
        if (maxExplained === null || s.botScore > maxExplained) maxExplained = s.botScore;
      } else if (maxCounted === null || s.botScore > maxCounted) maxCounted = s.botScore;
      if (riskRank(counted.without) > riskRank(scoreOnly)) scoreOnly = counted.without;
      if (level === 'high') highCount++;
      else if (level === 'elevated') elevatedCount++;
      else lowCount++;
      if (maxScore === null || s.botScore > maxScore) maxScore = s.botScore;
    } else {
      invalidScores++;
    }
    for (const t of [time(s.createdAt), time(s.updatedAt)]) {
      if (t !== null && (last === null || t > last)) last = t;
    }
  }

  const level: RiskLevel = highCount > 0 ? 'high' : elevatedCount > 0 ? 'elevated' : lowCount > 0 ? 'low' : 'none';
  // Each sentence speaks of the sessions it counts: "highest" is theirs, never a lowered session's score.
  const top = maxCounted === null ? '' : `; highest ${maxCounted.toFixed(2)}`;
  const lowered =
    explainedSessions > 0
      ? `${plural(explainedSessions, 'session')} counted as low because every signal is explained by an accommodation on record (highest score ${(maxExplained as number).toFixed(2)})`
      : '';
  const scoredLow = lowCount - explainedSessions;
  const high = formatThreshold(thresholds.high);
  const elevated = formatThreshold(thresholds.elevated);
  let levelReason: string;
  switch (level) {
    case 'high':
      levelReason = `${plural(highCount, 'session')} at or above ${high}${top}`;
      break;
    case 'elevated':
      levelReason = `${plural(elevatedCount, 'session')} from ${elevated} to below ${high}${top}`;
      break;
    case 'low':
      levelReason = scoredLow > 0 ? `${plural(scoredLow, 'session')}, all below ${elevated}${top}` : '';
      break;
    default:
      levelReason =
        windowed.length === 0
          ? window && (window.after || window.before) && sessions.length > 0
            ? `No sessions in this period (${plural(sessions.length, 'session')} outside it)`
            : 'No sessions recorded'
          : 'No session in this period has a readable bot score';
  }
  if (lowered) levelReason = levelReason ? `${levelReason}; ${lowered}` : lowered.charAt(0).toUpperCase() + lowered.slice(1);
  if (invalidScores > 0 && level !== 'none') {
    levelReason += `; ${plural(invalidScores, 'session')} with an unreadable bot score left out`;
  } else if (invalidScores > 0) {
    levelReason += ` (${plural(invalidScores, 'session')} left out)`;
  }

  return {
    level,
    levelReason,
    sessionCount: sessions.length,
    sessionsInWindow: windowed.length,
    highCount,
    elevatedCount,
    lowCount,
    invalidScores,
    maxScore,
    topFlags: topFlagCounts(windowed),
    lastActivity: last === null ? null : new Date(last).toISOString(),
    levelWithoutAccommodations: scoreOnly !== level ? scoreOnly : null,
    explainedSessions,
  };
}
