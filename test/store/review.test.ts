/**
 * The review store alone on real PostgreSQL (src/store/review.ts, docs/product.md "Review"): every write lands at the
 * version it was based on and moves the record to the next; a stale one is a conflict answered with the record as it is; a
 * double submit is recognised and written once; a correction must name a note of the same learner; and the audit row is
 * written in the same transaction as the write, so a write whose audit row fails leaves nothing behind.
 */
import { sql } from 'kysely';
import { createReviewStore, type ReviewAuthor, type ReviewKey, type ReviewStore, type ReviewWrite, type Store } from '../../src/store';
import { migratedStore } from './helpers';

let store: Store;
let reviews: ReviewStore;
beforeAll(async () => {
  store = await migratedStore('review');
  reviews = createReviewStore(store.db);
});
afterAll(() => store.close());

const COURSE = { platformIss: 'https://canvas.example.edu', platformClientId: 'client-1', deploymentId: 'dep-1', contextId: '101' };
const keyOf = (userId: string): ReviewKey => ({ ...COURSE, userId });
const TEACHER: ReviewAuthor = {
  lmsUserId: '20001',
  name: 'Theo Lindqvist',
  roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor'],
  audience: 'instructor',
};
const TA: ReviewAuthor = {
  lmsUserId: '20002',
  name: 'Tamsin Achebe',
  roles: [
    'http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant',
    'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
  ],
  audience: 'instructor',
};

function write(userId: string, author: ReviewAuthor, expectedVersion: number, change: Pick<ReviewWrite, 'status' | 'note' | 'mark'>) {
  return reviews.write({
    key: keyOf(userId),
    author,
    expectedVersion,
    ...change,
    audit: {
      platformIss: COURSE.platformIss,
      platformClientId: COURSE.platformClientId,
      actorUserId: author.lmsUserId,
      actorRole: author.audience,
      subjectUserId: userId,
      action: change.status ? 'review.status' : change.note ? 'review.note' : 'review.session_mark',
      contextId: COURSE.contextId,
    },
  });
}

const auditRows = async (subject: string) =>
  (
    await sql<{ action: string; resource_id: string; at: Date; actor_user_id: string }>`
      SELECT action, resource_id, at, actor_user_id FROM audit_log WHERE subject_user_id = ${subject} ORDER BY id`.execute(store.db)
  ).rows;

test('a learner nobody wrote about is unreviewed at version 0', async () => {
  const r = await reviews.read(keyOf('nobody'));
  expect(r).toEqual({ status: null, version: 0, statusAt: null, history: [], notes: [], sessionMarks: [] });
  expect((await reviews.courseLines(COURSE)).has('nobody')).toBe(false);
});

test('each write moves the version by one and keeps who, when, from which status and why', async () => {
  expect(await write('a', TEACHER, 0, { status: { to: 'in_review', reason: null } })).toEqual({ outcome: 'written', version: 1 });
  expect(await write('a', TA, 1, { note: { body: 'Looked at week 3.', correctsId: null } })).toEqual({ outcome: 'written', version: 2 });
  expect(
    await write('a', TEACHER, 2, {
      status: { to: 'concern', reason: 'Pasted answers' },
      note: { body: 'Asked to come in.', correctsId: null },
    }),
  ).toEqual({ outcome: 'written', version: 3 });
  expect(await write('a', TA, 3, { mark: { sessionId: 'ses_1', mark: 'concern', note: 'Burst paste' } })).toEqual({
    outcome: 'written',
    version: 4,
  });
  const r = await reviews.read(keyOf('a'));
  expect(r.status).toBe('concern');
  expect(r.version).toBe(4);
  expect(r.history.map((c) => [c.version, c.from, c.to, c.reason, c.author.lmsUserId])).toEqual([
    [1, null, 'in_review', null, '20001'],
    [3, 'in_review', 'concern', 'Pasted answers', '20001'],
  ]);
  expect(r.notes.map((n) => [n.version, n.body, n.author.name, n.author.roles])).toEqual([
    [2, 'Looked at week 3.', 'Tamsin Achebe', TA.roles],
    [3, 'Asked to come in.', 'Theo Lindqvist', TEACHER.roles],
  ]);
  expect(r.sessionMarks.map((m) => [m.version, m.sessionId, m.mark, m.note])).toEqual([[4, 'ses_1', 'concern', 'Burst paste']]);
  const line = (await reviews.courseLines(COURSE)).get('a')!;
  expect(line).toMatchObject({ status: 'concern', version: 4, lastBy: { name: 'Tamsin Achebe' } });
  // A note alone leaves the learner unreviewed.
  await write('b', TA, 0, { note: { body: 'Nothing yet.', correctsId: null } });
  expect((await reviews.read(keyOf('b'))).status).toBeNull();
  expect((await reviews.courseLines(COURSE)).get('b')!.status).toBeNull();
});

test('a stale version is a conflict answered with the record as it is now, and writes nothing', async () => {
  await write('c', TEACHER, 0, { status: { to: 'in_review', reason: null } });
  await write('c', TA, 1, { note: { body: 'Seen.', correctsId: null } });
  const before = await auditRows('c');
  const stale = await write('c', TEACHER, 1, { note: { body: 'My own view.', correctsId: null } });
  expect(stale.outcome).toBe('conflict');
  if (stale.outcome !== 'conflict') return;
  expect(stale.current.version).toBe(2);
  expect(stale.current.notes.map((n) => n.body)).toEqual(['Seen.']);
  // A version from the future, too.
  expect((await write('c', TEACHER, 7, { note: { body: 'x', correctsId: null } })).outcome).toBe('conflict');
  // Version 0 on a learner who has a record.
  expect((await write('c', TEACHER, 0, { note: { body: 'y', correctsId: null } })).outcome).toBe('conflict');
  expect((await reviews.read(keyOf('c'))).version).toBe(2);
  expect(await auditRows('c')).toEqual(before);
});

test('the same form sent twice is written once (duplicate); the same author with other content is a conflict', async () => {
  const note = { note: { body: 'Spoke with the student.', correctsId: null } };
  expect(await write('d', TEACHER, 0, note)).toEqual({ outcome: 'written', version: 1 });
  expect(await write('d', TEACHER, 0, note)).toEqual({ outcome: 'duplicate', version: 1 });
  // Someone wrote since: the re-sent form is still recognised as the one already written.
  await write('d', TA, 1, { note: { body: 'Agreed.', correctsId: null } });
  expect(await write('d', TEACHER, 0, note)).toEqual({ outcome: 'duplicate', version: 2 });
  expect((await write('d', TEACHER, 0, { note: { body: 'Spoke with the student!', correctsId: null } })).outcome).toBe('conflict');
  // Another person sending identical text is not a double submit.
  expect((await write('d', TA, 0, note)).outcome).toBe('conflict');
  expect((await reviews.read(keyOf('d'))).notes).toHaveLength(2);
  expect((await auditRows('d')).length).toBe(2);
});

test('8 writes at once at the same version: exactly one lands, the others conflict; 8 identical ones: one note', async () => {
  await write('e', TEACHER, 0, { status: { to: 'in_review', reason: null } });
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => write('e', i % 2 ? TA : TEACHER, 1, { note: { body: `Note ${i}`, correctsId: null } })),
  );
  expect(results.filter((r) => r.outcome === 'written')).toEqual([{ outcome: 'written', version: 2 }]);
  expect(results.filter((r) => r.outcome === 'conflict')).toHaveLength(7);
  expect((await reviews.read(keyOf('e'))).notes).toHaveLength(1);

  // On a learner with no record yet (version 0: the insert races, not the update).
  const fresh = await Promise.all(
    Array.from({ length: 8 }, (_, i) => write('f', TEACHER, 0, { note: { body: `First ${i}`, correctsId: null } })),
  );
  expect(fresh.filter((r) => r.outcome === 'written')).toHaveLength(1);
  expect(fresh.filter((r) => r.outcome === 'conflict')).toHaveLength(7);

  // A double (or octuple) submit racing itself: one note, the rest recognised as duplicates.
  const same = await Promise.all(Array.from({ length: 8 }, () => write('g', TA, 0, { note: { body: 'Same text', correctsId: null } })));
  expect(same.filter((r) => r.outcome === 'written')).toHaveLength(1);
  expect(same.filter((r) => r.outcome === 'duplicate')).toHaveLength(7);
  expect((await reviews.read(keyOf('g'))).notes).toHaveLength(1);
  expect(await auditRows('g')).toHaveLength(1);
});

test('a correction names a note of the same learner, or nothing is written (unknown_note); the corrected note stays', async () => {
  await write('h', TEACHER, 0, { note: { body: 'Wrong week.', correctsId: null } });
  await write('i', TEACHER, 0, { note: { body: 'Other learner.', correctsId: null } });
  const [wrong] = (await reviews.read(keyOf('h'))).notes;
  const [other] = (await reviews.read(keyOf('i'))).notes;
  expect(await write('h', TEACHER, 1, { note: { body: 'Fix', correctsId: other!.id } })).toEqual({ outcome: 'unknown_note' });
  expect(await write('h', TEACHER, 1, { note: { body: 'Fix', correctsId: '999999999' } })).toEqual({ outcome: 'unknown_note' });
  // A learner with no record at all.
  expect(await write('nobody-2', TEACHER, 0, { note: { body: 'Fix', correctsId: wrong!.id } })).toEqual({ outcome: 'unknown_note' });
  expect((await reviews.read(keyOf('h'))).version).toBe(1);
  expect(await write('h', TEACHER, 1, { note: { body: 'It was week 4.', correctsId: wrong!.id } })).toEqual({
    outcome: 'written',
    version: 2,
  });
  const r = await reviews.read(keyOf('h'));
  expect(r.notes.map((n) => [n.body, n.correctsId])).toEqual([
    ['Wrong week.', null],
    ['It was week 4.', wrong!.id],
  ]);
});

test('the audit row is written in the same transaction: same time, the new version; a failing audit insert writes nothing', async () => {
  await write('j', TEACHER, 0, { status: { to: 'concern', reason: 'Because' } });
  const [row] = await auditRows('j');
  const r = await reviews.read(keyOf('j'));
  expect(row).toMatchObject({ action: 'review.status', resource_id: 'review v1', actor_user_id: '20001' });
  expect(row!.at.getTime()).toBe(r.history[0]!.at.getTime());

  // An audit entry the log refuses (an action that is not one): the write is rolled back with it.
  const failing = reviews.write({
    key: keyOf('j'),
    author: TA,
    expectedVersion: 1,
    status: { to: 'referred', reason: 'Conduct office' },
    note: { body: 'Sent the file.', correctsId: null },
    mark: { sessionId: 'ses_9', mark: 'no_concern', note: null },
    audit: {
      platformIss: COURSE.platformIss,
      platformClientId: COURSE.platformClientId,
      actorUserId: '20002',
      actorRole: 'instructor',
      action: 'NOT AN ACTION',
    },
  });
  await expect(failing).rejects.toThrow(/action/);
  const after = await reviews.read(keyOf('j'));
  expect(after).toEqual(r);
  expect(await auditRows('j')).toHaveLength(1);
  // And the record still takes the next write at version 1.
  expect((await write('j', TA, 1, { note: { body: 'After the failure.', correctsId: null } })).outcome).toBe('written');
});

test('records are per course: the same learner in another course (or deployment) has a record of their own', async () => {
  await write('k', TEACHER, 0, { status: { to: 'no_concern', reason: null } });
  const other = { ...keyOf('k'), contextId: '900' };
  expect((await reviews.read(other)).version).toBe(0);
  expect((await reviews.read({ ...keyOf('k'), deploymentId: 'dep-2' })).version).toBe(0);
  expect((await reviews.read(keyOf('k'))).status).toBe('no_concern');
});
