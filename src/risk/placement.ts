/**
 * What one placement of the tool covers (docs/product.md "Placements"), as pure rules: which sessions belong to it, which
 * thresholds its levels use, and the sentence that says so at the top of its pages.
 *
 * - The page address pattern: `*` stands for any run of characters (none included); a pattern with a `*` must match the
 *   whole page address; a pattern without one matches every address that begins with it. Characters are compared as
 *   they are (no case folding, no decoding). A pattern is an http(s) address, at most MAX_PAGE_PATTERN characters.
 * - The time window: a session belongs when it was created at or after the start and before the end; either may be
 *   open.
 * - The thresholds: the placement's own when it has them, else the LMS registration's.
 *
 * The thresholds' rule is the registration's (src/settingRules.ts `thresholds`), applied where the form is read
 * (src/web/deepLinking.ts); nothing here validates them a second way.
 */
import { formatThreshold } from './level';
import type { RiskThresholds } from './thresholds';

/** The longest page address pattern kept (the database's check says the same). */
export const MAX_PAGE_PATTERN = 2000;

/** What a placement covers, as the rules below read it (src/store/placements.ts `Placement` has this shape). */
export interface PlacementLens {
  scope: 'course' | 'activity';
  /** Activity only. */
  urlPattern: string | null;
  windowStart: Date | null;
  windowEnd: Date | null;
  /** Activity only, optional: the placement's own lines. */
  thresholds: RiskThresholds | null;
}

/** A session as the rules read it. */
export interface PlacedSession {
  pageUrl: string;
  createdAt: string;
}

const codePoints = (s: string): number => [...s].length;

/** What is wrong with a page address pattern, written for the person who typed it; null when it is a valid one. */
export function pagePatternProblem(pattern: string): string | null {
  if (pattern === '') return 'Type the address of the activity’s pages.';
  if (codePoints(pattern) > MAX_PAGE_PATTERN)
    return `The pattern is ${codePoints(pattern).toLocaleString('en-GB')} characters long; at most ${MAX_PAGE_PATTERN.toLocaleString('en-GB')} are allowed.`;
  if (/\s/.test(pattern)) return 'A page address has no spaces or line breaks; remove them.';
  if (!/^https?:\/\//i.test(pattern)) return 'Start with http:// or https://, as the activity’s page address does in your browser.';
  // The address the pattern would be with each `*` standing for a letter: it must be a whole web address with a host.
  let parsed: URL;
  try {
    parsed = new URL(pattern.replace(/\*/g, 'a'));
  } catch {
    return 'This is not a web address: copy it from your browser’s address bar, with * where any text may stand.';
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '')
    return 'Start with http:// or https://, as the activity’s page address does in your browser.';
  return null;
}

/**
 * Whether `url` matches `pattern` by the rule above. Matching takes time proportional at worst to the product of the two
 * lengths (the usual wildcard walk, which goes back only to the last `*`), never exponential, whatever the pattern.
 */
export function pageMatches(pattern: string, url: string): boolean {
  if (!pattern.includes('*')) return url.startsWith(pattern);
  let p = 0;
  let u = 0;
  let star = -1;
  let resume = 0;
  while (u < url.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = u;
    } else if (p < pattern.length && pattern[p] === url[u]) {
      p++;
      u++;
    } else if (star >= 0) {
      p = star + 1;
      u = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether a session created at `createdAt` is inside [start, end); one that cannot be placed in time is not. */
export function inPlacementWindow(createdAt: string, window: Pick<PlacementLens, 'windowStart' | 'windowEnd'>): boolean {
  if (!window.windowStart && !window.windowEnd) return true;
  const t = Date.parse(createdAt);
  if (Number.isNaN(t)) return false;
  if (window.windowStart && t < window.windowStart.getTime()) return false;
  if (window.windowEnd && t >= window.windowEnd.getTime()) return false;
  return true;
}

/** Whether the session belongs to the placement: every session for the whole course; for one activity, its pages in its window. */
export function sessionInPlacement(session: PlacedSession, lens: PlacementLens): boolean {
  if (lens.scope !== 'activity' || lens.urlPattern === null) return true;
  return typeof session.pageUrl === 'string' && pageMatches(lens.urlPattern, session.pageUrl) && inPlacementWindow(session.createdAt, lens);
}

/** Whether the placement narrows anything (one activity); a placement for the whole course reads as none. */
export function narrowsSessions(lens: PlacementLens | null | undefined): lens is PlacementLens {
  return lens !== null && lens !== undefined && lens.scope === 'activity' && lens.urlPattern !== null;
}

/** The lines the placement's levels use: its own, else the registration's. */
export function placementThresholds(lens: PlacementLens | null | undefined, registration: RiskThresholds): RiskThresholds {
  return lens?.scope === 'activity' && lens.thresholds ? { ...lens.thresholds } : registration;
}

/** A time as the placement's sentence writes it by default: `2026-03-01 09:00 UTC`. */
export function utcMinute(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The sentence that says what a placement covers and which lines its levels use, e.g. “This link covers one activity:
 * sessions on pages matching https://…*cmid=7 from 2026-03-01 09:00 UTC to 2026-03-08 09:00 UTC; levels use High ≥ 0.80,
 * Elevated ≥ 0.50 (this placement’s thresholds).”
 */
export function describePlacement(lens: PlacementLens, registration: RiskThresholds, formatTime: (d: Date) => string = utcMinute): string {
  if (!narrowsSessions(lens) || lens.urlPattern === null) return 'This link covers the whole course: every session of its learners.';
  const t = placementThresholds(lens, registration);
  const whose = lens.thresholds ? 'this placement’s thresholds' : 'this LMS’s thresholds';
  return `This link covers one activity: sessions on pages ${patternWords(lens.urlPattern)}${windowWords(lens, formatTime)}; levels use High ≥ ${formatThreshold(t.high)}, Elevated ≥ ${formatThreshold(t.elevated)} (${whose}).`;
}

/** How the pattern reads: “matching …” with a `*`, “beginning with …” without one. */
export function patternWords(pattern: string): string {
  return pattern.includes('*') ? `matching ${pattern}` : `beginning with ${pattern}`;
}

/** “ from … to …”, “ from …”, “ until …” (exclusive), or nothing for an open window. */
export function windowWords(window: Pick<PlacementLens, 'windowStart' | 'windowEnd'>, formatTime: (d: Date) => string = utcMinute): string {
  const { windowStart: start, windowEnd: end } = window;
  if (start && end) return ` from ${formatTime(start)} to ${formatTime(end)}`;
  if (start) return ` from ${formatTime(start)} on`;
  if (end) return ` before ${formatTime(end)}`;
  return '';
}
