/** View-model rows for a list of sessions (student page, learner page, admin list). */
import type { IsnotaiSession } from '../isnotai/types';
import { describeFlag, riskWords, sessionRiskLevel, type LearnerRiskSummary, type RiskThresholds } from '../risk';
import { clip, formatDateTime, formatScore, isoOrNull, safeHref } from './format';

/** A learner's risk summary, as the summary cards show it (student and learner pages). */
export function summaryView(summary: LearnerRiskSummary) {
  return {
    risk: riskBadge(summary.level),
    levelReason: summary.levelReason,
    sessionCount: summary.sessionCount,
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
  risk: { level: string; label: string; shape: string };
  flags: Array<{ code: string; description: string | null }>;
  page: { text: string; href: string | null };
  userAgent: string;
  userId: string;
  userName: string;
  href?: string;
}

const SHAPES: Record<string, string> = { high: '▲', elevated: '◆', low: '●', none: '○' };

export function riskBadge(level: string): { level: string; label: string; shape: string } {
  const words = riskWords(level as Parameters<typeof riskWords>[0]);
  return { level, label: words.label, shape: SHAPES[level] ?? '○' };
}

export function sessionRow(s: IsnotaiSession, thresholds: RiskThresholds): SessionRow {
  const level = sessionRiskLevel(s.botScore, thresholds);
  return {
    id: s.id,
    createdAt: formatDateTime(s.createdAt),
    createdAtIso: isoOrNull(s.createdAt),
    updatedAt: formatDateTime(s.updatedAt),
    status: clip(s.status, 40),
    score: formatScore(s.botScore),
    risk: riskBadge(level),
    flags: s.detectionFlags.slice(0, 20).map((f) => ({ code: clip(f, 80), description: describeFlag(f) })),
    page: { text: clip(s.pageUrl, 160), href: safeHref(s.pageUrl) },
    userAgent: clip(s.userAgentSummary, 120),
    userId: clip(s.userId, 80),
    userName: clip(s.userName, 120),
  };
}
