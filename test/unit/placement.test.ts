/**
 * The placement rules (src/risk/placement.ts, docs/product.md "Placements"): which page addresses a pattern matches, the
 * time window's edges, the thresholds a placement's levels use, and the sentence that says so.
 */
import {
  describePlacement,
  inPlacementWindow,
  MAX_MATCHED_ADDRESS,
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
  test('a Moodle quiz by its cmid: every page of quiz 12 (later pages included), not cmid=120 or cmid=112', () => {
    const p = `${QUIZ}*cmid=12`;
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=5&cmid=12`)).toBe(true);
    expect(pageMatches(p, `${QUIZ}summary.php?attempt=9&cmid=12`)).toBe(true);
    // A multi-page quiz's later pages carry more after the cmid: what follows `&` is ignored.
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=5&cmid=12&page=1`)).toBe(true);
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=5&cmid=12#q3`)).toBe(true);
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=5&cmid=120`)).toBe(false);
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=5&cmid=120&page=1`)).toBe(false);
    expect(pageMatches(p, `${QUIZ}attempt.php?attempt=5&cmid=112`)).toBe(false);
    // Another site's quiz with the same cmid is not this one.
    expect(pageMatches(p, 'https://other.example.edu/mod/quiz/attempt.php?attempt=1&cmid=12')).toBe(false);
  });

  test('without a *: the address itself, and what follows a /, ?, & or #, but not quiz 70', () => {
    const p = 'https://school.instructure.com/courses/101/quizzes/7';
    expect(pageMatches(p, p)).toBe(true);
    expect(pageMatches(p, `${p}/take`)).toBe(true);
    expect(pageMatches(p, `${p}/take?user_id=5`)).toBe(true);
    expect(pageMatches(p, `${p}?x`)).toBe(true);
    expect(pageMatches(p, `${p}#top`)).toBe(true);
    expect(pageMatches(p, `${p}&x=1`)).toBe(true);
    expect(pageMatches(p, 'https://school.instructure.com/courses/101/quizzes/70')).toBe(false);
    expect(pageMatches(p, 'https://school.instructure.com/courses/101/quizzes/70/take')).toBe(false);
    expect(pageMatches(p, `${p}.html`)).toBe(false);
    expect(pageMatches(p, `${p}-b`)).toBe(false);
    expect(pageMatches(p, 'https://school.instructure.com/courses/101/quizzes/')).toBe(false);
    expect(pageMatches(p, 'http://school.instructure.com/courses/101/quizzes/7')).toBe(false);
    // Moodle's view page by id: id=7 is not id=70.
    expect(pageMatches(`${QUIZ}view.php?id=7`, `${QUIZ}view.php?id=7`)).toBe(true);
    expect(pageMatches(`${QUIZ}view.php?id=7`, `${QUIZ}view.php?id=7&forceview=1`)).toBe(true);
    expect(pageMatches(`${QUIZ}view.php?id=7`, `${QUIZ}view.php?id=70`)).toBe(false);
  });

  test('the boundary characters are exactly /, ?, & and #', () => {
    const p = 'https://a.example/q/7';
    for (const c of ['/', '?', '&', '#']) expect(pageMatches(p, `${p}${c}rest`)).toBe(true);
    for (const c of ['0', 'a', '.', '-', '_', '=', ';', '%', '+', '~', ':', '!']) expect(pageMatches(p, `${p}${c}rest`)).toBe(false);
    // The boundary follows the match, wherever a * let it end.
    expect(pageMatches('https://a.example/*/7', 'https://a.example/q/7/take')).toBe(true);
    expect(pageMatches('https://a.example/*/7', 'https://a.example/q/70/7')).toBe(true);
    expect(pageMatches('https://a.example/*/7', 'https://a.example/q/70')).toBe(false);
  });

  test('a pattern ending in * matches whatever follows, however long', () => {
    expect(pageMatches('https://a.example/*', 'https://a.example/')).toBe(true);
    expect(
      pageMatches('https://school.instructure.com/courses/101/quizzes/7*', 'https://school.instructure.com/courses/101/quizzes/70'),
    ).toBe(true);
    expect(pageMatches('https://a.example/q*', `https://a.example/q${'x'.repeat(10_000)}`)).toBe(true);
    expect(pageMatches('https://a.example/q*', 'https://b.example/q')).toBe(false);
  });

  test('* stands for any run of characters, none included, anywhere; other characters are literal', () => {
    expect(pageMatches('https://a.example/*/take', 'https://a.example/q/7/take')).toBe(true);
    expect(pageMatches('https://a.example/*/take', 'https://a.example/q/7/take/x')).toBe(true);
    expect(pageMatches('https://a.example/*/take', 'https://a.example/q/7/takeover')).toBe(false);
    expect(pageMatches('https://*.example/q*', 'https://b.example/q?x=1')).toBe(true);
    expect(pageMatches('https://a.example/a**b', 'https://a.example/ab')).toBe(true);
    expect(pageMatches('https://a.example/a*b', 'https://a.example/a')).toBe(false);
    // `?`, `.` and `+` mean themselves, not a regular expression.
    expect(pageMatches('https://a.example/view.php?id=1*', 'https://a.example/viewXphp?id=1')).toBe(false);
    expect(pageMatches('https://a.example/view.php?id=1*', 'https://a.example/view.php?id=12')).toBe(true);
    expect(pageMatches('https://a.example/a+b*', 'https://a.example/aab')).toBe(false);
    // Compared as they are: no case folding, no decoding.
    expect(pageMatches('https://a.example/Quiz', 'https://a.example/quiz')).toBe(false);
    expect(pageMatches('https://a.example/a%20b', 'https://a.example/a b')).toBe(false);
  });

  test(`only an address's first ${MAX_MATCHED_ADDRESS.toLocaleString('en-GB')} characters are read: a match must end within them`, () => {
    const head = `https://a.example/${'x'.repeat(MAX_MATCHED_ADDRESS - 30)}`;
    expect(pageMatches('https://a.example/*cmid=12', `${head}&cmid=12&page=1`)).toBe(true);
    const far = `https://a.example/${'x'.repeat(MAX_MATCHED_ADDRESS)}&cmid=12`;
    expect(pageMatches('https://a.example/*cmid=12', far)).toBe(false);
    // The cut is not an end: a match up to it still needs a boundary (or the real end) after it.
    const cut = `https://a.example/${'7'.repeat(MAX_MATCHED_ADDRESS)}`;
    expect(pageMatches('https://a.example/*7', cut)).toBe(false);
    expect(pageMatches('https://a.example/*7', `${cut.slice(0, MAX_MATCHED_ADDRESS)}/rest`)).toBe(true);
  });

  test('a pattern of many stars against a long address answers at once', () => {
    const pattern = `https://a.example/${'*a'.repeat(900)}*b`;
    const miss = `https://a.example/${'a'.repeat(MAX_MATCHED_ADDRESS * 4)}`;
    const hit = `https://a.example/${'a'.repeat(1900)}b/x`;
    const started = Date.now();
    expect(pageMatches(pattern, miss)).toBe(false);
    expect(pageMatches(pattern, hit)).toBe(true);
    expect(pageMatches(pattern, `${hit.slice(0, -2)}c`)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
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
    expect(sessionInPlacement({ ...on, pageUrl: `${QUIZ}attempt.php?attempt=1&cmid=7&page=2` }, activity)).toBe(true);
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
      `This link covers one activity: sessions on pages matching ${QUIZ}view.php?id=7; levels use High ≥ 0.70, Elevated ≥ 0.40 (this LMS’s thresholds).`,
    );
    expect(describePlacement(course, DEFAULT_THRESHOLDS)).toMatch(/whole course/);
  });
});
