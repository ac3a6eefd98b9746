import { createAuditLog, type AuditLog, type Store } from '../../src/store';
import { migratedStore } from './helpers';

let store: Store;
let audit: AuditLog;

beforeAll(async () => {
  store = await migratedStore('audit');
  audit = createAuditLog(store.db);
  const t0 = Date.parse('2025-03-01T10:00:00Z');
  // 25 views by instructor 7 of learners 100..104, then 5 by admin 1 of learner 100.
  for (let i = 0; i < 25; i++) {
    await audit.record({
      platformIss: 'https://moodle.example.edu',
      platformClientId: 'moodle-client',
      actorUserId: '7',
      actorRole: 'instructor',
      subjectUserId: String(100 + (i % 5)),
      action: i % 2 ? 'view.session' : 'view.sessions',
      contextId: 'course-3',
      resourceId: i % 2 ? `sess_${i}` : null,
      requestId: `req-${i}`,
      at: new Date(t0 + i * 60_000),
    });
  }
  for (let i = 0; i < 5; i++) {
    await audit.record({
      platformIss: 'https://moodle.example.edu',
      platformClientId: 'moodle-client',
      actorUserId: '1',
      actorRole: 'admin',
      subjectUserId: '100',
      action: 'view.sessions',
      at: new Date(t0 + (100 + i) * 60_000),
    });
  }
});
afterAll(() => store.close());

test('record returns the stored entry', async () => {
  const e = await audit.record({
    platformIss: 'https://canvas.example.edu',
    platformClientId: 'canvas-a',
    actorUserId: 'i-9',
    actorRole: 'instructor',
    action: 'view.roster',
    contextId: 'c-1',
  });
  expect(e).toEqual({
    id: expect.any(String),
    at: expect.any(Date),
    platformIss: 'https://canvas.example.edu',
    platformClientId: 'canvas-a',
    actorUserId: 'i-9',
    actorRole: 'instructor',
    subjectUserId: null,
    subjectUserIds: null,
    action: 'view.roster',
    contextId: 'c-1',
    resourceId: null,
    requestId: null,
    detail: null,
  });
  expect(Math.abs(e.at.getTime() - Date.now())).toBeLessThan(60_000);
});

test('an entry’s detail (a sweep’s or an erasure’s counts) is stored as JSON and read back; a detail that is not an object is refused', async () => {
  const e = await audit.record({
    platformIss: 'https://canvas.example.edu',
    platformClientId: 'canvas-a',
    actorUserId: 'system:retention',
    actorRole: 'system',
    action: 'retention.sweep',
    detail: { retentionDays: 30, responses: 2, notes: 0 },
  });
  expect(e.detail).toEqual({ retentionDays: 30, responses: 2, notes: 0 });
  const listed = await audit.list({ limit: 1, action: 'retention.sweep' });
  expect(listed.items[0]!.detail).toEqual({ retentionDays: 30, responses: 2, notes: 0 });
  await expect(
    audit.record({
      platformIss: 'https://canvas.example.edu',
      platformClientId: 'canvas-a',
      actorUserId: 'x',
      actorRole: 'system',
      action: 'retention.sweep',
      detail: [1, 2] as never,
    }),
  ).rejects.toMatchObject({ code: 'invalid_argument' });
});

test('list pages newest first with the total of what matches', async () => {
  const page1 = await audit.list({ limit: 10, actor: '7' });
  expect(page1.total).toBe(25);
  expect(page1.items).toHaveLength(10);
  expect(page1.items[0]!.requestId).toBe('req-24');
  const page3 = await audit.list({ limit: 10, offset: 20, actor: '7' });
  expect(page3.items.map((e) => e.requestId)).toEqual(['req-4', 'req-3', 'req-2', 'req-1', 'req-0']);
  expect(page3.total).toBe(25);
  const beyond = await audit.list({ limit: 10, offset: 100, actor: '7' });
  expect(beyond).toEqual({ items: [], total: 25 });
});

test('list filters by subject, since, action and course', async () => {
  expect((await audit.list({ limit: 50, subject: '100' })).total).toBe(5 + 5);
  expect((await audit.list({ limit: 50, subject: '100', actor: '1' })).total).toBe(5);
  expect((await audit.list({ limit: 50, since: new Date('2025-03-01T10:20:00Z'), actor: '7' })).total).toBe(5);
  expect((await audit.list({ limit: 50, action: 'view.session' })).total).toBe(12);
  expect((await audit.list({ limit: 50, contextId: 'course-3' })).total).toBe(25);
});

test('invalid entries and queries are refused', async () => {
  await expect(audit.list({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
  await expect(audit.list({ limit: 501 })).rejects.toMatchObject({ code: 'invalid_argument' });
  await expect(audit.list({ limit: 10, offset: -1 })).rejects.toMatchObject({ code: 'invalid_argument' });
  await expect(
    audit.record({ platformIss: 'x', platformClientId: 'c', actorUserId: '', actorRole: 'r', action: 'view.sessions' }),
  ).rejects.toMatchObject({ code: 'invalid_argument' });
  await expect(
    audit.record({ platformIss: 'x', platformClientId: 'c', actorUserId: '1', actorRole: 'r', action: 'DROP TABLE' }),
  ).rejects.toMatchObject({ code: 'invalid_argument' });
});

test('two registrations that share an issuer (Canvas institutions) each list only their own entries', async () => {
  const iss = 'https://canvas.instructure.com';
  await audit.record({
    platformIss: iss,
    platformClientId: 'inst-a',
    actorUserId: 'a1',
    actorRole: 'admin',
    subjectUserId: 's-a',
    action: 'view.session',
  });
  await audit.record({
    platformIss: iss,
    platformClientId: 'inst-b',
    actorUserId: 'b1',
    actorRole: 'admin',
    subjectUserId: 's-b',
    action: 'view.session',
  });
  const a = await audit.list({ limit: 50, platformIss: iss, platformClientId: 'inst-a' });
  expect(a.items.map((e) => e.subjectUserId)).toEqual(['s-a']);
  const b = await audit.list({ limit: 50, platformIss: iss, platformClientId: 'inst-b' });
  expect(b.items.map((e) => e.subjectUserId)).toEqual(['s-b']);
});

test('a view of many students keeps their ids once each, and a search by student finds it', async () => {
  const e = await audit.record({
    platformIss: 'https://moodle.example.edu',
    platformClientId: 'moodle-client',
    actorUserId: '7',
    actorRole: 'instructor',
    subjectUserIds: ['104', '900', '104', '901'],
    action: 'view.roster',
    contextId: 'course-9',
  });
  expect(e.subjectUserId).toBeNull();
  expect(e.subjectUserIds).toEqual(['104', '900', '901']);
  const of900 = await audit.list({ limit: 50, subject: '900' });
  expect(of900.items.map((x) => x.id)).toEqual([e.id]);
  // Student 104: their five views alone, and the roster view they appeared on.
  const of104 = await audit.list({ limit: 50, subject: '104' });
  expect(of104.total).toBe(6);
  expect(of104.items.filter((x) => x.action === 'view.roster').map((x) => x.id)).toEqual([e.id]);
  // A student id is matched whole, never as a prefix or part of another.
  expect((await audit.list({ limit: 50, subject: '90' })).total).toBe(0);
  await expect(
    audit.record({
      platformIss: 'x',
      platformClientId: 'c',
      actorUserId: '1',
      actorRole: 'r',
      action: 'view.roster',
      subjectUserIds: [''],
    }),
  ).rejects.toMatchObject({ code: 'invalid_argument' });
});
