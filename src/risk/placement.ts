/**
 * What one placement of the tool covers (docs/product.md "Placements"), as pure rules: which sessions belong to it, which
 * thresholds its levels use, and the sentence that says so at the top of its pages.
 *
 * - The page address pattern: `*` stands for any run of characters (none included); a pattern matches an address when
 *   it matches the address from its start up to the address's end, or up to one of `/`, `?`, `&`, `#` (what follows is
 *   ignored). So `…/mod/quiz/*cmid=12` matches `…/attempt.php?attempt=5&cmid=12` and `…&cmid=12&page=1` but not
 *   `…&cmid=120`; `…/courses/101/quizzes/7` matches `…/quizzes/7`, `…/quizzes/7/take` and `…/quizzes/7?x` but not
 *   `…/quizzes/70`; a pattern ending in `*` matches whatever follows. Characters are compared as they are (no case
 *   folding, no decoding). Only an address's first MAX_MATCHED_ADDRESS characters are read: a match must end within
 *   them (upstream's `pageUrl` has no length limit). A pattern is an http(s) address, at most MAX_PAGE_PATTERN
 *   characters.
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
/** How much of a page address the pattern is matched against: a match must end within its first 4,096 characters. */
export const MAX_MATCHED_ADDRESS = 4096;

/** The characters after which the rest of an address is ignored by a match (docs/product.md "Placements"). */
const BOUNDARY = new Set(['/', '?', '&', '#']);

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
 * Whether `url` matches `pattern` by the rule above, in one dynamic-programming pass (the glob table, one row per pattern
 * character): `row[i]` says whether the pattern read so far matches the address's first `i` characters; after the last
 * character it says where a match of the whole pattern may end, and one that ends at the address's end or before a
 * boundary character is a match. Time at worst proportional to the pattern's length times the address's (capped at
 * MAX_MATCHED_ADDRESS), whatever the pattern: no regular expression is built from it and nothing backtracks. Only the
 * set range `[lo, hi]` of a row is walked, so the literal text before the first `*` costs one step a character.
 */
export function pageMatches(pattern: string, url: string): boolean {
  const n = Math.min(url.length, MAX_MATCHED_ADDRESS);
  const row = new Uint8Array(n + 1);
  row[0] = 1;
  // Every set entry of `row` is in [lo, hi]; every entry outside it is 0.
  let lo = 0;
  let hi = 0;
  for (let j = 0; j < pattern.length; j++) {
    const c = pattern[j];
    if (c === '*') {
      // `*` extends every match by any run: from the first set position on, every prefix matches.
      row.fill(1, lo);
      hi = n;
      continue;
    }
    // A literal character: row[i] = previous row[i - 1] and url[i - 1] is c; walked downwards to update in place.
    const top = Math.min(hi + 1, n);
    for (let i = top; i > lo; i--) row[i] = row[i - 1] === 1 && url[i - 1] === c ? 1 : 0;
    row[lo] = 0;
    let newLo = -1;
    let newHi = -1;
    for (let i = lo + 1; i <= top; i++) {
      if (row[i] === 1) {
        if (newLo < 0) newLo = i;
        newHi = i;
      }
    }
    if (newLo < 0) return false;
    lo = newLo;
    hi = newHi;
  }
  // A trailing `*` takes the rest of the address, however long.
  if (pattern.endsWith('*')) return true;
  for (let i = lo; i <= hi; i++) {
    if (row[i] === 1 && (i === url.length || BOUNDARY.has(url[i]))) return true;
  }
  return false;
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

/** How the pattern reads: “matching …” (the rule above, with or without a `*`). */
export function patternWords(pattern: string): string {
  return `matching ${pattern}`;
}

/** “ from … to …”, “ from … on”, “ before …” (the end is exclusive), or nothing for an open window. */
export function windowWords(window: Pick<PlacementLens, 'windowStart' | 'windowEnd'>, formatTime: (d: Date) => string = utcMinute): string {
  const { windowStart: start, windowEnd: end } = window;
  if (start && end) return ` from ${formatTime(start)} to ${formatTime(end)}`;
  if (start) return ` from ${formatTime(start)} on`;
  if (end) return ` before ${formatTime(end)}`;
  return '';
}
