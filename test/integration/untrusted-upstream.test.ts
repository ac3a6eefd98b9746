/**
 * The upstream is not trusted to keep users apart: when GET /v1/users/4/sessions also lists user
 * 5's sessions (the simulator's `foreignSessionsIn`), no page shows them as 4's, neither to the
 * student nor to the instructor, nor in the exports; the tool logs that it dropped them (ids only).
 */
import { request } from 'undici';
import { foreignSessionsIn } from '../../src/dev/simulator';
import { attrValues, capturingLogger, testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
type B = ReturnType<S['browser']>;
let stack: S;
let teacher: { browser: B; ltik: string };
let student: { browser: B; ltik: string };
/** What the tool logged (JSON lines). */
const { logger, lines } = capturingLogger('info');

const ASKED = '4';
const OTHER = '5';

beforeAll(async () => {
  stack = await testStack('untrusted-upstream', { logger, simulator: { userSessions: foreignSessionsIn({ [ASKED]: OTHER }) } });
  const launch = async (userId: string) => {
    const browser = stack.browser();
    const res = await browser.launch({ platform: 'moodle', courseId: '2', userId });
    expect(res.status).toBe(200);
    return { browser, ltik: res.ltik! };
  };
  [teacher, student] = await Promise.all([launch('3'), launch(ASKED)]);
});
afterAll(async () => {
  await stack?.stop();
});

const at = (who: { ltik: string }, path: string, params: Record<string, string> = {}) =>
  `${stack.tool.url}${path}?${new URLSearchParams({ ...params, ltik: who.ltik })}`;
const own = () => stack.simulator.dataset.sessionsForUser(ASKED).map((s) => s.id);
const foreign = () => stack.simulator.dataset.sessionsForUser(OTHER).map((s) => s.id);

test('the simulator really mixes the other user’s sessions into the list', async () => {
  const res = await request(`${stack.simulator.url}/v1/users/${ASKED}/sessions?pageSize=100`, {
    headers: { authorization: 'Bearer aik_v1_sim_pro' },
  });
  const body = (await res.body.json()) as { data: Array<{ userId: string }> };
  expect(new Set(body.data.map((s) => s.userId))).toEqual(new Set([ASKED, OTHER]));
  expect(foreign().length).toBeGreaterThan(0);
});

test('the student’s own page shows only their sessions', async () => {
  const res = await student.browser.get(at(student, '/me'));
  expect(res.status).toBe(200);
  const shown = attrValues(res.html, 'data-session-id');
  expect(shown.length).toBeGreaterThan(0);
  expect(shown.filter((id) => !own().includes(id))).toEqual([]);
});

test('the instructor’s learner page, its JSON and CSV show only that learner’s sessions', async () => {
  const page = await teacher.browser.get(at(teacher, `/learners/${ASKED}`));
  expect(page.status).toBe(200);
  const shown = attrValues(page.html, 'data-session-id');
  expect(shown.length).toBeGreaterThan(0);
  expect(shown.filter((id) => !own().includes(id))).toEqual([]);

  const json = await teacher.browser.get(at(teacher, `/learners/${ASKED}/sessions.json`, { limit: '500' }));
  const items = (JSON.parse(json.html) as { items: Array<{ id: string; userId: string }>; total: number }).items;
  expect(items.map((i) => i.id).sort()).toEqual([...own()].sort());
  expect(new Set(items.map((i) => i.userId))).toEqual(new Set([ASKED]));

  const csv = await teacher.browser.get(at(teacher, `/learners/${ASKED}/sessions.csv`, { limit: '500' }));
  expect(csv.status).toBe(200);
  for (const id of foreign()) expect(csv.html).not.toContain(id);
  // A foreign session is not reachable as one of this learner's either.
  const other = await teacher.browser.get(at(teacher, `/learners/${ASKED}/sessions/${encodeURIComponent(foreign()[0]!)}`));
  expect(other.status).toBe(403);
});

test('the dropped sessions are logged as a warning, with ids only', () => {
  const warned = lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'isnotai returned sessions of another user; dropped');
  expect(warned.length).toBeGreaterThan(0);
  const first = warned[0]!;
  expect(first.level).toBe(40);
  expect(first.userId).toBe(ASKED);
  expect(first.foreignUserIds).toEqual([OTHER]);
  expect((first.sessionIds as string[]).every((id) => foreign().includes(id))).toBe(true);
  // Ids, counts and the endpoint: nothing else about the sessions (no URLs, names or user agents).
  expect(Object.keys(first).sort()).toEqual(
    ['component', 'dropped', 'endpoint', 'foreignUserIds', 'level', 'msg', 'service', 'sessionIds', 'time', 'userId'].sort(),
  );
});
