/**
 * A learner with more sessions than the tool reads (MAX_SESSIONS_PER_LEARNER, the newest 2,000):
 * the learner page, the student's own page and the exports say that older sessions are left out,
 * never "all". The simulator lists 2,050 sessions for one learner (copies of their own, older ones).
 */
import type { IsnotaiSession } from '../../src/isnotai/types';
import { MAX_SESSIONS_PER_LEARNER } from '../../src/web/upstream';
import { attrValues, decodeEntities, testStack, textOf } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
let teacher: { browser: ReturnType<S['browser']>; ltik: string };
/** The learner with a long history, and one with a short one. */
const LONG = '5';
const SHORT = '4';
const HELD = 2050;

/** `own` followed by older copies of its newest session, to `HELD` in all, newest first. */
function longHistory(own: readonly IsnotaiSession[]): IsnotaiSession[] {
  const first = own[0]!;
  const start = Date.parse(own[own.length - 1]!.createdAt);
  const older = Array.from({ length: HELD - own.length }, (_, i) => {
    const at = new Date(start - (i + 1) * 3_600_000).toISOString();
    return { ...first, id: `${first.id}-old-${String(i).padStart(4, '0')}`, createdAt: at, updatedAt: at };
  });
  return [...own, ...older];
}

let held: IsnotaiSession[] = [];

beforeAll(async () => {
  stack = await testStack('long-history', {
    simulator: {
      userSessions: (userId, own) => {
        if (userId !== LONG) return own;
        if (held.length === 0) held = longHistory(own);
        return held;
      },
    },
  });
  const browser = stack.browser();
  const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: '3' });
  expect(res.status).toBe(200);
  teacher = { browser, ltik: res.ltik! };
});
afterAll(async () => {
  await stack?.stop();
});

const url = (path: string, params: Record<string, string> = {}) =>
  `${stack.tool.url}${path}?${new URLSearchParams({ ...params, ltik: teacher.ltik })}`;

test('the learner page says older sessions are not shown, and its export links do not claim “all”', async () => {
  expect(MAX_SESSIONS_PER_LEARNER).toBe(2000);
  const page = await teacher.browser.get(url(`/learners/${LONG}`));
  expect(page.status).toBe(200);
  const notice = /<p[^>]*data-testid="truncated"[^>]*>([\s\S]*?)<\/p>/.exec(page.html)?.[1] ?? '';
  expect(textOf(notice)).toBe(
    'More than 2,000 sessions were recorded for this learner. ' +
      'Only the newest 2,000 are read: the summary, the chart and the list leave older sessions out.',
  );
  expect(textOf(/data-testid="session-count">([^<]*)</.exec(page.html)?.[1] ?? '')).toBe('more than 2,000');
  // The newest first, as isnotai lists them.
  expect(attrValues(page.html, 'data-session-id')).toEqual(held.slice(0, 25).map((s) => s.id));
  const exports = /<p class="exports"[^>]*>([\s\S]*?)<\/p>/.exec(page.html)?.[0] ?? '';
  expect(textOf(exports)).toBe('Export the newest 2,000 sessions (older sessions are not included): CSV · JSON');
  expect(textOf(exports)).not.toContain('all');

  const link = (label: string) => decodeEntities(new RegExp(`href="([^"]*)">${label}<`).exec(exports)?.[1] ?? '');
  const json = await teacher.browser.get(`${stack.tool.url}${link('JSON')}`);
  expect(json.status).toBe(200);
  const body = JSON.parse(json.html);
  expect(body).toMatchObject({ truncated: true, total: 2000, limit: null, has_more: false });
  expect(body.items.map((s: { id: string }) => s.id)).toEqual(held.slice(0, 2000).map((s) => s.id));
  const csv = await teacher.browser.get(`${stack.tool.url}${link('CSV')}`);
  expect(
    csv.html
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r\n/),
  ).toHaveLength(2001);
});

test('filtered, the export link still says it is among the newest only', async () => {
  const page = await teacher.browser.get(url(`/learners/${LONG}`, { created_after: '2000-01-01' }));
  const exports = /<p class="exports"[^>]*>([\s\S]*?)<\/p>/.exec(page.html)?.[0] ?? '';
  expect(textOf(exports)).toBe(
    'Export the 2,000 sessions matching these filters among the newest 2,000 (older sessions are not included): CSV · JSON',
  );
});

test('a learner with a short history: no notice, and the export says “all” and is not truncated', async () => {
  const own = stack.simulator.dataset.sessionsForUser(SHORT);
  const page = await teacher.browser.get(url(`/learners/${SHORT}`));
  expect(page.status).toBe(200);
  expect(page.html).not.toContain('data-testid="truncated"');
  expect(textOf(/<p class="exports"[^>]*>([\s\S]*?)<\/p>/.exec(page.html)?.[0] ?? '')).toBe(
    `Export all ${own.length} sessions: CSV · JSON`,
  );
  const json = JSON.parse((await teacher.browser.get(url(`/learners/${SHORT}/sessions.json`))).html);
  expect(json).toMatchObject({ truncated: false, total: own.length });
});

test('the student’s own page says so too', async () => {
  const browser = stack.browser();
  const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: LONG });
  expect(res.status).toBe(200);
  expect(res.url).toContain('/me?');
  const notice = /<p[^>]*data-testid="truncated"[^>]*>([\s\S]*?)<\/p>/.exec(res.html)?.[1] ?? '';
  expect(textOf(notice)).toBe(
    'More than 2,000 sessions were recorded for you. Only the newest 2,000 are read, so what is shown here leaves older sessions out.',
  );
  expect(textOf(/data-testid="session-count">([^<]*)</.exec(res.html)?.[1] ?? '')).toBe('more than 2,000');
  expect(attrValues(res.html, 'data-session-id')).toEqual(held.slice(0, 25).map((s) => s.id));
});
