/**
 * Contract tests: the real client against the real simulator over a real socket, for every
 * documented parameter and error (docs/isnotai.md "The API").
 */
import {
  createIsnotaiClient,
  closeAllPools,
  IsnotaiApiError,
  IsnotaiArgumentError,
  IsnotaiResponseError,
  type IsnotaiClient,
} from '../../src/isnotai';
import { startSimulator, type RunningSimulator } from '../../src/dev/simulator';
import { collectAll, FREE_KEY, ids, PRO_KEY } from './helpers';

let sim: RunningSimulator;
let pro: IsnotaiClient;
let free: IsnotaiClient;

beforeAll(async () => {
  sim = await startSimulator();
  pro = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: 0 });
  free = createIsnotaiClient({ baseUrl: sim.url, apiKey: FREE_KEY, retries: 0 });
});
afterAll(async () => {
  await closeAllPools();
  await sim.close();
});

describe('pagination', () => {
  test.each([1, 7, 50, 100])('walking every page with pageSize %i yields each session exactly once, newest first', async (pageSize) => {
    const before = sim.requests.length;
    const walked = await collectAll(pro.iterateSessions({ pageSize }));
    const expected = ids(sim.dataset.allSessions());
    expect(expected.length).toBeGreaterThan(1000);
    expect(ids(walked)).toEqual(expected);
    expect(new Set(ids(walked)).size).toBe(walked.length);
    expect(sim.requests.length - before).toBe(Math.ceil(expected.length / pageSize));
  });

  test('a Free key asking for 500 gets pagination.limit 50, and the walk still reads everything', async () => {
    const first = await free.listSessions({ pageSize: 500 });
    expect(first.pagination.limit).toBe(50);
    expect(first.data).toHaveLength(50);
    expect(first.pagination.hasMore).toBe(true);
    const walked = await collectAll(free.iterateSessions({ pageSize: 500 }));
    expect(ids(walked)).toEqual(ids(sim.dataset.allSessions()));
  });

  test('a Pro key is clamped to 100; defaults are 50 for sessions and 100 (tier-clamped) for events', async () => {
    expect((await pro.listSessions({ pageSize: 500 })).pagination.limit).toBe(100);
    expect((await pro.listSessions()).pagination.limit).toBe(50);
    const sessionId = sim.dataset.allSessions()[0]!.id;
    expect((await pro.listEvents(sessionId)).pagination.limit).toBe(100);
    expect((await free.listEvents(sessionId)).pagination.limit).toBe(50);
  });

  test('the last page says hasMore false with a null cursor', async () => {
    const userId = '6';
    const all = sim.dataset.sessionsForUser(userId);
    const page = await pro.listUserSessions(userId, { pageSize: all.length });
    expect(page.pagination).toEqual({ hasMore: false, nextCursor: null, limit: all.length });
  });

  test("a user walk with pageSize 1 and allUserSessions both return that user's sessions", async () => {
    const expected = ids(sim.dataset.sessionsForUser('6'));
    expect(expected.length).toBeGreaterThanOrEqual(5);
    expect(ids(await collectAll(pro.iterateUserSessions('6', { pageSize: 1 })))).toEqual(expected);
    expect(ids(await pro.allUserSessions('6', { pageSize: 2 }))).toEqual(expected);
  });

  test('caps stop the walk early: maxItems and maxPages', async () => {
    const before = sim.requests.length;
    const items = await collectAll(pro.iterateSessions({ pageSize: 7 }, { maxItems: 10 }));
    expect(ids(items)).toEqual(ids(sim.dataset.allSessions().slice(0, 10)));
    expect(sim.requests.length - before).toBe(2);
    const pages = await collectAll(pro.iterateSessions({ pageSize: 7 }, { maxPages: 3 }));
    expect(pages).toHaveLength(21);
  });

  test('a user with no sessions gets an empty page, not a 404', async () => {
    const page = await pro.listUserSessions('no-such-user-424242');
    expect(page).toEqual({ data: [], pagination: { nextCursor: null, hasMore: false, limit: 50 } });
  });
});

describe('filters on GET /v1/sessions agree with filtering the full list', () => {
  test('botOnly=true is exactly botScore >= 0.7', async () => {
    const got = await collectAll(pro.iterateSessions({ botOnly: true, pageSize: 100 }));
    const expected = sim.dataset.allSessions().filter((s) => s.botScore >= 0.7);
    expect(expected.length).toBeGreaterThan(10);
    expect(ids(got)).toEqual(ids(expected));
    const unfiltered = await collectAll(pro.iterateSessions({ botOnly: false, pageSize: 100 }));
    expect(unfiltered).toHaveLength(sim.dataset.allSessions().length);
  });

  test.each(['active', 'closed'])('status=%s', async (status) => {
    const got = await collectAll(pro.iterateSessions({ status, pageSize: 100 }));
    const expected = sim.dataset.allSessions().filter((s) => s.status === status);
    expect(expected.length).toBeGreaterThan(0);
    expect(ids(got)).toEqual(ids(expected));
  });

  test('startDate/endDate are inclusive on createdAt (strings and Dates)', async () => {
    const all = sim.dataset.allSessions();
    // Bounds equal to real createdAt values prove inclusivity at both ends.
    const endDate = all[200]!.createdAt;
    const startDate = all[600]!.createdAt;
    const got = await collectAll(pro.iterateSessions({ startDate, endDate: new Date(endDate), pageSize: 100 }));
    const expected = all.filter((s) => Date.parse(s.createdAt) >= Date.parse(startDate) && Date.parse(s.createdAt) <= Date.parse(endDate));
    expect(ids(got)).toEqual(ids(expected));
    expect(ids(got)).toContain(all[200]!.id);
    expect(ids(got)).toContain(all[600]!.id);
  });

  test('all filters together', async () => {
    const all = sim.dataset.allSessions();
    const startDate = '2026-10-01T00:00:00Z';
    const got = await collectAll(pro.iterateSessions({ status: 'closed', botOnly: true, startDate, pageSize: 3 }));
    const expected = all.filter((s) => s.status === 'closed' && s.botScore >= 0.7 && Date.parse(s.createdAt) >= Date.parse(startDate));
    expect(expected.length).toBeGreaterThan(3);
    expect(ids(got)).toEqual(ids(expected));
  });
});

describe('events and details', () => {
  const sessionWithMouse = () =>
    sim.dataset.allSessions().find((s) => !s.detectionFlags.includes('no_pointer_movement') && !/iPad|Android/.test(s.userAgentSummary))!;

  test('the three spellings of an event type (2, 0x02, mouse_move) return the same events', async () => {
    const s = sessionWithMouse();
    const byDecimal = await collectAll(pro.iterateEvents(s.id, { type: 2 }));
    const byDecimalString = await collectAll(pro.iterateEvents(s.id, { type: '2' }));
    const byHex = await collectAll(pro.iterateEvents(s.id, { type: '0x02' }));
    const byName = await collectAll(pro.iterateEvents(s.id, { type: 'mouse_move' }));
    const expected = sim.dataset.events(s.id)!.filter((e) => e.eventTypeName === 'mouse_move');
    expect(expected.length).toBeGreaterThan(50);
    expect(byDecimal).toEqual(expected);
    expect(byDecimalString).toEqual(expected);
    expect(byHex).toEqual(expected);
    expect(byName).toEqual(expected);
  });

  test('startTime/endTime are inclusive Unix ms bounds', async () => {
    const s = sessionWithMouse();
    const all = sim.dataset.events(s.id)!;
    const startTime = all[40]!.timestamp;
    const endTime = all[all.length - 40]!.timestamp;
    const got = await collectAll(pro.iterateEvents(s.id, { startTime, endTime, pageSize: 100 }));
    const expected = all.filter((e) => e.timestamp >= startTime && e.timestamp <= endTime);
    expect(got).toEqual(expected);
    expect(got[0]!.timestamp).toBe(startTime);
    expect(got[got.length - 1]!.timestamp).toBe(endTime);
    const typed = await collectAll(pro.iterateEvents(s.id, { type: 'keydown', startTime, endTime }));
    expect(typed).toEqual(expected.filter((e) => e.eventTypeName === 'keydown'));
  });

  test('walking all events agrees with details.eventCounts and the timeline', async () => {
    const s = sim.dataset.allSessions().find((x) => x.detectionFlags.includes('paste_burst'))!;
    const events = await collectAll(pro.iterateEvents(s.id, { pageSize: 100 }));
    const details = await pro.getSessionDetails(s.id);
    expect(details.sessionId).toBe(s.id);
    const count = (...names: string[]) => events.filter((e) => names.includes(e.eventTypeName)).length;
    expect(details.eventCounts).toEqual({
      total: events.length,
      mouse: count('mouse_move', 'mouse_click'),
      scroll: count('scroll'),
      keyboard: count('keydown', 'keypress'),
      touch: count('touch'),
      form: count('form_input', 'paste'),
    });
    expect(details.timeline.reduce((n, b) => n + b.eventCount, 0)).toBe(events.length);
    expect(count('paste')).toBeGreaterThanOrEqual(4);
    // Each bucket's count is the number of events in [bucket, next bucket).
    const starts = details.timeline.map((b) => Date.parse(b.timestamp));
    for (let i = 0; i < starts.length; i++) {
      const lo = starts[i]!;
      const hi = i + 1 < starts.length ? starts[i + 1]! : Infinity;
      expect(events.filter((e) => e.timestamp >= lo && e.timestamp < hi).length).toBe(details.timeline[i]!.eventCount);
    }
    expect(details.pageHistory.length).toBe(count('page_view'));
    expect(Date.parse(details.startTime)).toBe(Date.parse(s.createdAt));
    expect(Date.parse(details.endTime)).toBe(Date.parse(s.updatedAt));
  });
});

describe('errors carry the envelope', () => {
  test('a forged cursor is a typed 400 invalid_cursor', async () => {
    const page = await pro.listSessions({ pageSize: 5 });
    const real = page.pagination.nextCursor!;
    const [payload, mac] = real.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ s: 'sessions||||', o: 0 })).toString('base64url');
    for (const cursor of [`${forgedPayload}.${mac}`, 'not-a-cursor', `${payload}.AAAAAAAAAAAAAAAA`]) {
      const error = await pro.listSessions({ cursor }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IsnotaiApiError);
      expect(error).toMatchObject({
        status: 400,
        code: 'invalid_cursor',
        endpoint: 'GET /v1/sessions',
        details: { parameter: 'cursor' },
        attempts: 1,
      });
    }
  });

  test('a cursor from one list is refused on another (different filters)', async () => {
    const page = await pro.listSessions({ pageSize: 5 });
    const error = await pro.listSessions({ cursor: page.pagination.nextCursor!, botOnly: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: 'invalid_cursor' });
  });

  test('an unknown key is a typed 401, not retried', async () => {
    const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: 'aik_v1_nobody', retries: 3 });
    const before = sim.requests.length;
    const error = await client.listSessions().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IsnotaiApiError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized', attempts: 1 });
    expect(sim.requests.length - before).toBe(1);
    expect(String((error as Error).message)).not.toContain('aik_v1_nobody');
  });

  test('an unknown session is a typed 404 on events and details', async () => {
    await expect(pro.listEvents('ses_doesnotexist')).rejects.toMatchObject({
      status: 404,
      code: 'not_found',
      endpoint: 'GET /v1/sessions/{sessionId}/events',
    });
    await expect(pro.getSessionDetails('ses_doesnotexist')).rejects.toMatchObject({
      status: 404,
      code: 'not_found',
      endpoint: 'GET /v1/sessions/{sessionId}/details',
    });
  });

  test.each([
    [{ pageSize: 0 }, 'pageSize'],
    [{ status: 'archived' }, 'status'],
    [{ startDate: 'yesterday' }, 'startDate'],
    [{ startDate: '2026-11-10T00:00:00Z', endDate: '2026-11-01T00:00:00Z' }, 'startDate'],
  ])('invalid parameters %o → 400 naming %s, not retried', async (params, parameter) => {
    const client = createIsnotaiClient({ baseUrl: sim.url, apiKey: PRO_KEY, retries: 3 });
    const error = await client.listSessions(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IsnotaiApiError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_parameter', details: { parameter }, attempts: 1 });
  });

  test('an unknown event type and an inverted time window are 400s naming the parameter', async () => {
    const id = sim.dataset.allSessions()[0]!.id;
    await expect(pro.listEvents(id, { type: 'teleport' })).rejects.toMatchObject({ status: 400, details: { parameter: 'type' } });
    await expect(pro.listEvents(id, { type: '0xff' })).rejects.toMatchObject({ status: 400, details: { parameter: 'type' } });
    await expect(pro.listEvents(id, { startTime: 2000, endTime: 1000 })).rejects.toMatchObject({
      status: 400,
      details: { parameter: 'startTime' },
    });
  });

  test('a malformed upstream body is an IsnotaiResponseError naming the field', async () => {
    sim.queueFaults('malformed');
    const error = await pro.listSessions({ pageSize: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IsnotaiResponseError);
    expect((error as IsnotaiResponseError).problems.join('\n')).toMatch(/data\[0\]\.botScore: .*number/);
    sim.queueFaults('malformed');
    const details = await pro.getSessionDetails(sim.dataset.allSessions()[0]!.id).catch((e: unknown) => e);
    expect(details).toBeInstanceOf(IsnotaiResponseError);
    expect((details as Error).message).toMatch(/eventCounts\.total/);
  });
});

describe('path parameters stay in their segment', () => {
  test.each(['a/b', '../../sessions', '../sessions?botOnly=true', 'x#frag', '%2F..%2F', "o'neill & co", 'éè 中文', '...'])(
    'userId %j reaches the simulator as one segment, decoded intact',
    async (userId) => {
      const before = sim.requests.length;
      const page = await pro.listUserSessions(userId);
      const seen = sim.requests.slice(before);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.rawSegments).toHaveLength(4);
      expect(seen[0]!.rawSegments.slice(0, 2)).toEqual(['v1', 'users']);
      expect(seen[0]!.rawSegments[3]).toBe('sessions');
      expect(seen[0]!.params.userId).toBe(userId);
      expect(seen[0]!.rawUrl).not.toContain('?'); // no query was smuggled in through the id
      expect(page.data).toEqual([]);
    },
  );

  test.each(['', '.', '..'])('userId %j is refused before any request', async (userId) => {
    const before = sim.requests.length;
    await expect(pro.listUserSessions(userId)).rejects.toBeInstanceOf(IsnotaiArgumentError);
    expect(() => pro.iterateUserSessions(userId)).toThrow(IsnotaiArgumentError);
    await expect(pro.getSessionDetails(userId)).rejects.toBeInstanceOf(IsnotaiArgumentError);
    expect(sim.requests.length).toBe(before);
  });
});
