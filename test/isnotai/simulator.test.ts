/**
 * The simulator itself, on the wire (raw HTTP, no client): the documented envelope, parameter
 * errors that say which parameter and why, and data that is deterministic and believable.
 */
import { buildWorld } from '../../src/dev/people';
import { buildDataset, startSimulator, type RunningSimulator } from '../../src/dev/simulator';
import { FREE_KEY, rawGet } from './helpers';

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.close());

describe('the wire contract', () => {
  test('401 for a missing key and for an unknown key, in the documented envelope', async () => {
    for (const key of [null, 'aik_v1_unknown']) {
      const res = await rawGet(sim.url, '/v1/sessions', key);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String), details: {} } });
    }
  });

  test.each([
    ['/v1/sessions?pageSize=abc', 'pageSize', /integer/],
    ['/v1/sessions?pageSize=0', 'pageSize', /at least 1/],
    ['/v1/sessions?pageSize=-5', 'pageSize', /integer/],
    ['/v1/sessions?botOnly=yes', 'botOnly', /true or false/],
    ['/v1/sessions?startDate=2026-13-45', 'startDate', /ISO-8601/],
    ['/v1/sessions?endDate=last%20week', 'endDate', /ISO-8601/],
    ['/v1/sessions?status=deleted', 'status', /active, closed/],
    ['/v1/sessions?cursor=xyz', 'cursor', /malformed/],
    ['/v1/users/4/sessions?pageSize=1.5', 'pageSize', /integer/],
  ])('%s → 400 naming %s', async (path, parameter, reason) => {
    const res = await rawGet(sim.url, path);
    expect(res.status).toBe(400);
    expect(res.body.error.details.parameter).toBe(parameter);
    expect(res.body.error.details.reason).toMatch(reason);
  });

  test('event parameter errors', async () => {
    const id = sim.dataset.allSessions()[0]!.id;
    const unknownType = await rawGet(sim.url, `/v1/sessions/${id}/events?type=warp`);
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.error.details).toMatchObject({ parameter: 'type', value: 'warp' });
    expect(unknownType.body.error.details.allowed).toContainEqual({ id: 2, hex: '0x02', name: 'mouse_move' });
    const badTime = await rawGet(sim.url, `/v1/sessions/${id}/events?startTime=soon`);
    expect(badTime.body.error.details.parameter).toBe('startTime');
    const inverted = await rawGet(sim.url, `/v1/sessions/${id}/events?startTime=10&endTime=5`);
    expect(inverted.status).toBe(400);
  });

  test('a free key on events gets the default 100 clamped to 50', async () => {
    const id = sim.dataset.allSessions()[0]!.id;
    const res = await rawGet(sim.url, `/v1/sessions/${id}/events`, FREE_KEY);
    expect(res.body.pagination.limit).toBe(50);
  });

  test('unknown routes are 404 in the envelope; non-GET is 405', async () => {
    const res = await rawGet(sim.url, '/v1/nothing');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

describe('the dataset', () => {
  test('is deterministic for a seed and differs for another', () => {
    const a = buildDataset();
    const b = buildDataset();
    expect(b.allSessions()).toEqual(a.allSessions());
    const id = a.allSessions()[5]!.id;
    expect(b.events(id)).toEqual(a.events(id));
    expect(buildDataset({ seed: 1 }).allSessions()[0]!.id).not.toBe(a.allSessions()[0]!.id);
  });

  test('covers both LMSs, ≥ 300 users, with a believable spread of scores and flags', () => {
    const d = sim.dataset;
    expect(d.userIds().length).toBeGreaterThanOrEqual(300);
    const all = d.allSessions();
    const high = all.filter((s) => s.botScore >= 0.7).length / all.length;
    const elevated = all.filter((s) => s.botScore >= 0.4 && s.botScore < 0.7).length / all.length;
    expect(high).toBeGreaterThan(0.01);
    expect(high).toBeLessThan(0.1);
    expect(elevated).toBeGreaterThan(0.05);
    expect(elevated).toBeLessThan(0.25);
    expect(all.some((s) => s.pageUrl.startsWith('http://127.0.0.1:8088/mod/quiz/'))).toBe(true);
    expect(all.some((s) => s.pageUrl.startsWith('https://canvas.example.edu/courses/101/quizzes/'))).toBe(true);
    expect(new Set(all.map((s) => s.status))).toEqual(new Set(['active', 'closed']));
    for (const s of all) {
      if (s.botScore < 0.4) expect(s.detectionFlags.every((f) => f === 'tab_switching' || f === 'devtools_open')).toBe(true);
      if (s.botScore >= 0.7)
        expect(
          s.detectionFlags.some((f) =>
            ['webdriver_present', 'headless_browser', 'automation_extension', 'superhuman_typing_cadence'].includes(f),
          ),
        ).toBe(true);
      expect(Date.parse(s.createdAt)).toBeLessThanOrEqual(d.now.getTime());
      expect(Date.parse(s.createdAt)).toBeGreaterThan(d.now.getTime() - 61 * 86_400_000);
    }
    // The fixture learner Sam Student (Moodle id 4) is named as Moodle named him.
    expect(d.sessionsForUser('4')[0]!.userName).toBe('Sam Student');
  });

  test('flags shape the event stream', () => {
    const d = sim.dataset;
    const noPointer = d.allSessions().find((s) => s.detectionFlags.includes('no_pointer_movement'))!;
    expect(d.events(noPointer.id)!.filter((e) => e.eventTypeName === 'mouse_move')).toHaveLength(0);
    const fast = d.allSessions().find((s) => s.detectionFlags.includes('superhuman_typing_cadence'))!;
    const keys = d
      .events(fast.id)!
      .filter((e) => e.eventTypeName === 'keydown')
      .map((e) => e.timestamp);
    const gaps = keys
      .slice(1)
      .map((t, i) => t - keys[i]!)
      .filter((g) => g < 1000);
    const median = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)]!;
    expect(median).toBeLessThan(40);
    const events = d.events(fast.id)!;
    expect(events.every((e, i) => i === 0 || e.timestamp >= events[i - 1]!.timestamp)).toBe(true);
  });

  test('a 1,000-learner course is supported', () => {
    const big = buildDataset({ world: buildWorld({ bigCourseLearners: 1000 }) });
    expect(big.userIds()).toContain('500001');
    expect(big.userIds()).toContain('501000');
    expect(big.allSessions().length).toBeGreaterThan(5000);
  });
});
