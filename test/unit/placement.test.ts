/**
 * The placement rules (src/risk/placement.ts, docs/product.md "Placements"): which page addresses a pattern matches, the
 * time window's edges, the thresholds a placement's levels use, and the sentence that says so.
 */
import {
  describePlacement,
  inPlacementWindow,
  MAX_PAGE_PATTERN,
  pageMatches,
  pagePatternProblem,
  placementThresholds,
  sessionInPlacement,
  type PlacementLens,
} from '../../src/risk/placement';
import { DEFAULT_THRESHOLDS } from '../../src/risk';
import { SETTING_RULES } from '../../src/settingRules';

const QUIZ = 'https://moodle.example.edu/mod/quiz/';

describe('page address patterns', () => {
  test('a Moodle quiz by its cmid: cmid=7 matches its attempt pages, not cmid=17 or cmid=70', () => {
    const p = `${QUIZ}*cmid=7`;
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=123&cmid=7`)).toBe(true);
    expect(pageMatches(p, `${QUIZ}summary.php?attempt=9&cmid=7`)).toBe(true);
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=123&cmid=17`)).toBe(false);
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=123&cmid=70`)).toBe(false);
    // The whole address must match: more after the cmid is another page.
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=123&cmid=7&page=2`)).toBe(false);
    // Another site's quiz with the same cmid is not this one.
    expect(pageMatches(p, 'https://other.example.edu/mod/quiz/attempt.php?attempt=1&cmid=7')).toBe(false);
  });

  test('without a *, a pattern matches every address that begins with it', () => {
    const p = 'https://school.instructure.com/courses/101/quizzes/7';
    expect(pageMatches(p, p)).toBe(true);
    expect(pageMatches(p, `${p}/take?user_id=5`)).toBe(true);
    // A prefix rule is a prefix rule: quiz 70 begins with it too (which is why the hint shows a * form).
    expect(pageMatches(p, 'https://school.instructure.com/courses/101/quizzes/70/take')).toBe(true);
    expect(pageMatches(p, 'https://school.instructure.com/courses/101/quizzes/')).toBe(false);
    expect(pageMatches(p, 'http://school.instructure.com/courses/101/quizzes/7')).toBe(false);
  });

  test('* stands for any run of characters, none included, anywhere; other characters are literal', () => {
    expect(pageMatches('https://a.example/*', 'https://a.example/')).toBe(true);
    expect(pageMatches('https://a.example/*/take', 'https://a.example/q/7/take')).toBe(true);
    expect(pageMatches('https://a.example/*/take', 'https://a.example/q/7/take/x')).toBe(false);
    expect(pageMatches('https://*.example/q*', 'https://b.example/q?x=1')).toBe(true);
    expect(pageMatches('https://a.example/a**b', 'https://a.example/ab')).toBe(true);
    // `?`, `.` and `+` mean themselves, not a regular expression.
    expect(pageMatches('https://a.example/view.php?id=1*', 'https://a.example/viewXphp?id=1')).toBe(false);
    expect(pageMatches('https://a.example/view.php?id=1*', 'https://a.example/view.php?id=12')).toBe(true);
    expect(pageMatches('https://a.example/a+b*', 'https://a.example/aab')).toBe(false);
  });

  test('a pattern of many stars against a long address that does not match answers at once', () => {
    const pattern = `https://a.example/${'*a'.repeat(900)}*b`;
    const url = `https://a.example/${'a'.repeat(1900)}`;
    const started = Date.now();
    expect(pageMatches(pattern, url)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('validation: an http(s) address with a host, no spaces, at most 2,000 characters', () => {
    expect(pagePatternProblem(`${QUIZ}*cmid=12`)).toBeNull();
    expect(pagePatternProblem('https://school.instructure.com/courses/101/quizzes/7*')).toBeNull();
    expect(pagePatternProblem('http://127.0.0.1:8088/mod/quiz/*')).toBeNull();
    expect(pagePatternProblem('https://*.instructure.com/courses/101/*')).toBeNull();
    expect(pagePatternProblem('')).toMatch(/Type the address/);
    expect(pagePatternProblem('moodle.example.edu/mod/quiz/*')).toMatch(/http:\/\/ or https:\/\//);
    expect(pagePatternProblem('ftp://moodle.example.edu/x')).toMatch(/http:\/\/ or https:\/\//);
    expect(pagePatternProblem('javascript:alert(1)')).toMatch(/http:\/\/ or https:\/\//);
    expect(pagePatternProblem('https://')).not.toBeNull();
    expect(pagePatternProblem(`${QUIZ} attempt`)).toMatch(/no spaces/);
    const long = `https://a.example/${'x'.repeat(MAX_PAGE_PATTERN)}`;
    expect(pagePatternProblem(long)).toMatch(/at most 2,000/);
    expect(pagePatternProblem(long.slice(0, MAX_PAGE_PATTERN))).toBeNull();
  });
});

describe('the time window', () => {
  const start = new Date('2026-03-01T09:00:00Z');
  const end = new Date('2026-03-01T11:00:00Z');
  test('[start, end): the start belongs, the end does not', () => {
    const w = { windowStart: start, windowEnd: end };
    expect(inPlacementWindow('2026-03-01T08:59:59Z', w)).toBe(false);
    expect(inPlacementWindow('2026-03-01T09:00:00Z', w)).toBe(true);
    expect(inPlacementWindow('2026-03-01T10:59:59.999Z', w)).toBe(true);
    expect(inPlacementWindow('2026-03-01T11:00:00Z', w)).toBe(false);
  });
  test('either edge may be open; an unreadable time is outside a bounded window, inside an open one', () => {
    expect(inPlacementWindow('2020-01-01T00:00:00Z', { windowStart: null, windowEnd: end })).toBe(true);
    expect(inPlacementWindow('2030-01-01T00:00:00Z', { windowStart: start, windowEnd: null })).toBe(true);
    expect(inPlacementWindow('2030-01-01T00:00:00Z', { windowStart: null, windowEnd: end })).toBe(false);
    expect(inPlacementWindow('not a time', { windowStart: start, windowEnd: null })).toBe(false);
    expect(inPlacementWindow('not a time', { windowStart: null, windowEnd: null })).toBe(true);
  });
});

describe('sessions, thresholds and the sentence', () => {
  const activity: PlacementLens = {
    scope: 'activity',
    urlPattern: `${QUIZ}*cmid=7`,
    windowStart: new Date('2026-03-01T09:00:00Z'),
    windowEnd: new Date('2026-03-08T09:00:00Z'),
    thresholds: { high: 0.8, elevated: 0.5 },
  };
  const course: PlacementLens = { scope: 'course', urlPattern: null, windowStart: null, windowEnd: null, thresholds: null };

  test('a session belongs when its page matches and it started in the window; for the whole course every session does', () => {
    const on = { pageUrl: `${QUIZ}attempt.php?attempt=1&cmid=7`, createdAt: '2026-03-02T10:00:00Z' };
    expect(sessionInPlacement(on, activity)).toBe(true);
    expect(sessionInPlacement({ ...on, createdAt: '2026-03-09T10:00:00Z' }, activity)).toBe(false);
    expect(sessionInPlacement({ ...on, pageUrl: `${QUIZ}attempt.php?attempt=1&cmid=70` }, activity)).toBe(false);
    expect(sessionInPlacement({ ...on, pageUrl: 'https://elsewhere.example/' }, course)).toBe(true);
  });

  test('the placement’s thresholds when it has them, else the registration’s; they pass the registration’s one rule', () => {
    const registration = { high: 0.7, elevated: 0.4 };
    expect(placementThresholds(activity, registration)).toEqual({ high: 0.8, elevated: 0.5 });
    expect(placementThresholds({ ...activity, thresholds: null }, registration)).toBe(registration);
    expect(placementThresholds(course, registration)).toBe(registration);
    expect(placementThresholds(null, registration)).toBe(registration);
    expect(SETTING_RULES.thresholds.safeParse(activity.thresholds).success).toBe(true);
    expect(SETTING_RULES.thresholds.safeParse({ high: 0.5, elevated: 0.8 }).success).toBe(false);
  });

  test('the sentence names the pattern, the window and whose thresholds', () => {
    expect(describePlacement(activity, DEFAULT_THRESHOLDS)).toBe(
      `This link covers one activity: sessions on pages matching ${QUIZ}*cmid=7 from 2026-03-01 09:00 UTC to 2026-03-08 09:00 UTC; levels use High ≥ 0.80, Elevated ≥ 0.50 (this placement’s thresholds).`,
    );
    expect(
      describePlacement(
        { ...activity, urlPattern: `${QUIZ}view.php?id=7`, windowStart: null, windowEnd: null, thresholds: null },
        DEFAULT_THRESHOLDS,
      ),
    ).toBe(
      `This link covers one activity: sessions on pages beginning with ${QUIZ}view.php?id=7; levels use High ≥ 0.70, Elevated ≥ 0.40 (this LMS’s thresholds).`,
    );
    expect(describePlacement(course, DEFAULT_THRESHOLDS)).toMatch(/whole course/);
  });
});
