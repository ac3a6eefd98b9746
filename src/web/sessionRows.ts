/** Lists of sessions (student page, learner page, admin list): their spec, view-model rows and CSV columns. */
import type { IsnotaiSession } from '../isnotai/types';
import {
  accommodatedLevelWords,
  accommodatedSessionLevel,
  describeFlag,
  RISK_LEVELS,
  sessionRiskLevel,
  type LearnerRiskSummary,
  type RiskLevel,
  type RiskThresholds,
} from '../risk';
import { clip, formatDateTime, formatScore, isoOrNull, safeHref } from './format';
import {
  applyList,
  compareDate,
  compareNumber,
  filterFormView,
  type CsvColumn,
  type FormErrorsView,
  type ListPage,
  type ListQuery,
  type ListSpec,
  type RawQuery,
} from './lists';

/**
 * A learner's risk summary, as the summary cards show it (student and learner pages). `truncated`:
 * it covers the newest sessions of a longer history, so their count is a lower bound.
 */
export function summaryView(summary: LearnerRiskSummary, truncated = false) {
  return {
    risk: riskBadge(summary.level, summary.levelWithoutAccommodations),
    levelReason: summary.levelReason,
    sessionCount: truncated ? `more than ${summary.sessionCount.toLocaleString('en-GB')}` : summary.sessionCount,
    highCount: summary.highCount,
    elevatedCount: summary.elevatedCount,
    maxScore: formatScore(summary.maxScore),
    lastActivity: formatDateTime(summary.lastActivity),
    topFlags: summary.topFlags.map((f) => ({ flag: clip(f.flag, 80), count: f.count })),
  };
}

export interface SessionRow {
  id: string;
  createdAt: string;
  createdAtIso: string | null;
  updatedAt: string;
  status: string;
  score: string;
  risk: RiskBadge;
  /** `explained`: an accommodation on record explains the signal (src/risk/accommodations.ts). */
  flags: Array<{ code: string; description: string | null; explained: boolean }>;
  page: { text: string; href: string | null };
  userAgent: string;
  userId: string;
  userName: string;
  href?: string;
}

const SHAPES: Record<string, string> = { high: '▲', elevated: '◆', low: '●', none: '○' };

export interface RiskBadge {
  level: string;
  /** The level's word; with the score-only level when an accommodation lowered it: "Low (High without the accommodated signals)". */
  label: string;
  shape: string;
  /** The score-only level when an accommodation lowered it; null otherwise. */
  without: string | null;
}

/** A level as the pages show it (partial `risk`): shape and word, and the level without accommodations when they lowered it. */
export function riskBadge(level: string, without: string | null = null): RiskBadge {
  const lowered = without !== null && without !== level ? without : null;
  return {
    level,
    label: accommodatedLevelWords(level as RiskLevel, lowered as RiskLevel | null),
    shape: SHAPES[level] ?? '○',
    without: lowered,
  };
}

/** No accommodation on record: every signal counts. */
const NONE: ReadonlySet<string> = new Set();

/**
 * One session as a row. `accommodated`: the signals the learner's accommodations on record explain (a student's own and
 * the staff's pages pass them; the integration-wide list has no learner's register and passes none).
 */
export function sessionRow(s: IsnotaiSession, thresholds: RiskThresholds, accommodated: ReadonlySet<string> = NONE): SessionRow {
  const counted = accommodatedSessionLevel(s, thresholds, accommodated);
  return {
    id: s.id,
    createdAt: formatDateTime(s.createdAt),
    createdAtIso: isoOrNull(s.createdAt),
    updatedAt: formatDateTime(s.updatedAt),
    status: clip(s.status, 40),
    score: formatScore(s.botScore),
    risk: riskBadge(counted.level, counted.without),
    flags: s.detectionFlags
      .slice(0, 20)
      .map((f) => ({ code: clip(f, 80), description: describeFlag(f), explained: counted.explained.includes(f) })),
    page: { text: clip(s.pageUrl, 160), href: safeHref(s.pageUrl) },
    userAgent: clip(s.userAgentSummary, 120),
    userId: clip(s.userId, 80),
    userName: clip(s.userName, 120),
  };
}

/**
 * A learner's sessions as a list (the learner page, the student's own page and their JSON/CSV
 * forms): the tool holds them whole, so they page with limit/offset (docs/lists.md).
 */
export const SESSION_LIST_SPEC: ListSpec = {
  sortBy: ['created_at', 'bot_score'],
  defaultSort: { by: 'created_at', direction: 'desc' },
  sortDirections: { created_at: 'desc', bot_score: 'desc' },
  filters: { risk: { allowed: RISK_LEVELS.filter((l) => l !== 'none') }, flag: {}, status: { allowed: ['active', 'closed'] } },
  query: true,
  createdWindow: true,
  defaultLimit: 25,
  exports: true,
};

/**
 * A learner's sessions, filtered, sorted and paged. `accommodated`: the signals their accommodations on record explain; the
 * `risk` filter selects by the level that counts (src/risk/accommodations.ts), as the rows show it.
 */
export function sessionListPage(
  sessions: readonly IsnotaiSession[],
  q: ListQuery,
  thresholds: RiskThresholds,
  accommodated: ReadonlySet<string> = NONE,
): ListPage<IsnotaiSession> {
  return applyList(sessions, q, {
    searchText: (s) => [s.pageUrl, s.userAgentSummary, ...s.detectionFlags, s.id],
    filters: {
      risk: (s) => accommodatedSessionLevel(s, thresholds, accommodated).level,
      flag: (s) => s.detectionFlags,
      status: (s) => s.status,
    },
    sorters: { created_at: (a, b) => compareDate(a.createdAt, b.createdAt), bot_score: (a, b) => compareNumber(a.botScore, b.botScore) },
    createdAt: (s) => new Date(s.createdAt),
    tiebreak: (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  });
}

/**
 * A session's levels in a JSON export of one learner's sessions: `risk`, the level that counts with their accommodations on
 * record, and `riskWithoutAccommodations`, the score's alone (always given: the same unless an accommodation lowered it).
 */
export function sessionRiskJson(s: IsnotaiSession, thresholds: RiskThresholds, accommodated: ReadonlySet<string>) {
  const counted = accommodatedSessionLevel(s, thresholds, accommodated);
  return { risk: counted.level, riskWithoutAccommodations: counted.without };
}

/**
 * The columns of a sessions CSV; `withLearner` adds who (the integration-wide list). `accommodated`, for one learner's
 * sessions: the signals their accommodations on record explain; `risk` is then the level that counts, and a column
 * `risk_without_accommodations` follows it with the level the score alone gives (always filled: the same as `risk` unless
 * an accommodation lowered it). The integration-wide list reads no learner's register and has neither.
 */
export function sessionCsvColumns(
  thresholds: RiskThresholds,
  withLearner = false,
  accommodated?: ReadonlySet<string>,
): Array<CsvColumn<IsnotaiSession>> {
  return [
    { header: 'session_id', value: (s) => s.id },
    ...(withLearner
      ? [
          { header: 'user_id', value: (s: IsnotaiSession) => s.userId },
          { header: 'user_name', value: (s: IsnotaiSession) => s.userName },
        ]
      : []),
    { header: 'created_at', value: (s) => s.createdAt },
    { header: 'updated_at', value: (s) => s.updatedAt },
    { header: 'status', value: (s) => s.status },
    { header: 'bot_score', value: (s) => s.botScore },
    { header: 'risk', value: (s) => accommodatedSessionLevel(s, thresholds, accommodated ?? NONE).level },
    ...(accommodated
      ? [{ header: 'risk_without_accommodations', value: (s: IsnotaiSession) => sessionRiskLevel(s.botScore, thresholds) }]
      : []),
    { header: 'flags', value: (s) => s.detectionFlags.join('; ') },
    { header: 'page_url', value: (s) => s.pageUrl },
    { header: 'user_agent', value: (s) => s.userAgentSummary },
  ];
}

/** The form of a sessions list, by parameter, with the labels its error messages use. */
export const SESSION_LIST_FIELDS = {
  query: 'Search',
  risk: 'Level',
  status: 'Status',
  flag: 'Signal',
  created_after: 'Started from',
  created_before: 'Started to',
  limit: 'Per page',
};

/** That form as the request filled it (see SESSION_LIST_FIELDS); invalid fields keep what was typed. */
export function sessionListForm(ltik: string, action: string, q: ListQuery, raw: RawQuery, errors: FormErrorsView | null) {
  return { ltik, action, ...filterFormView(q, raw, errors, ['risk', 'status']) };
}
