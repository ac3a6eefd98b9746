/**
 * The review workflow's vocabulary and its work queue (docs/product.md "Review"), pure: statuses and their words, which
 * need a reason, the roster's queue order and its triage counts. The store (src/store/review.ts) keeps the records; the
 * web layer renders them.
 */
import { riskRank, type RiskLevel } from '../risk';

/** Stored statuses; "unreviewed" is the absence of one. */
export const REVIEW_STATUSES = ['in_review', 'no_concern', 'concern', 'referred'] as const;
export type ReviewStatusName = (typeof REVIEW_STATUSES)[number];
/** What the filters and exports say, `unreviewed` included. */
export const REVIEW_FILTER_VALUES = ['unreviewed', ...REVIEW_STATUSES] as const;
export type ReviewState = (typeof REVIEW_FILTER_VALUES)[number];

export const SESSION_MARKS = ['no_concern', 'concern'] as const;
export type SessionMarkName = (typeof SESSION_MARKS)[number];

const LABELS: Record<ReviewState, string> = {
  unreviewed: 'Not yet reviewed',
  in_review: 'In review',
  no_concern: 'No concern',
  concern: 'Concern',
  referred: 'Referred',
};

export function reviewLabel(state: ReviewState): string {
  return LABELS[state];
}

export function isReviewStatus(v: unknown): v is ReviewStatusName {
  return typeof v === 'string' && (REVIEW_STATUSES as readonly string[]).includes(v);
}

export function isSessionMark(v: unknown): v is SessionMarkName {
  return typeof v === 'string' && (SESSION_MARKS as readonly string[]).includes(v);
}

/** `concern` and `referred` must say why: they may reach a conduct office. */
export function statusNeedsReason(status: ReviewStatusName): boolean {
  return status === 'concern' || status === 'referred';
}

/** A session marked `concern` must say why, for the same reason. */
export function markNeedsNote(mark: SessionMarkName): boolean {
  return mark === 'concern';
}

/** The longest note, reason or response anyone can write. */
export const MAX_REVIEW_TEXT = 5000;

/**
 * The work queue's order (the roster's default): unreviewed high first, then unreviewed elevated, then everyone else by
 * level (high first). Ties are broken by the caller (highest score, then name). Returns a rank: lower comes first.
 */
export function queueRank(level: RiskLevel | 'unavailable', state: ReviewState): number {
  const unreviewed = state === 'unreviewed';
  if (unreviewed && level === 'high') return 0;
  if (unreviewed && level === 'elevated') return 1;
  // The rest by level: high, elevated, low, none, then the learners whose sessions could not be read.
  return 2 + (level === 'unavailable' ? 4 : 3 - riskRank(level));
}

export interface TriageCount {
  level: RiskLevel | 'unavailable';
  total: number;
  byState: Record<ReviewState, number>;
}

/** Counts per risk level × review state, highest level first; levels with nobody are left out. */
export function triageCounts(items: ReadonlyArray<{ level: RiskLevel | 'unavailable'; state: ReviewState }>): TriageCount[] {
  const order: Array<RiskLevel | 'unavailable'> = ['high', 'elevated', 'low', 'none', 'unavailable'];
  return order
    .map((level) => {
      const of = items.filter((i) => i.level === level);
      const byState = Object.fromEntries(REVIEW_FILTER_VALUES.map((s) => [s, of.filter((i) => i.state === s).length])) as Record<
        ReviewState,
        number
      >;
      return { level, total: of.length, byState };
    })
    .filter((c) => c.total > 0);
}
