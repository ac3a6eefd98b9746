/**
 * The student's side in the store, on real PostgreSQL (migration 008): responses are append-only with a double submit
 * written once, "new" counts follow what a course's staff have seen; accommodations land at the version their form was
 * based on and are removed by a later change; retention deletes what is past each registration's period and writes one
 * audit entry with the counts; an erasure deletes a learner's review data only if it is what the admin exported.
 */
import { sql } from 'kysely';
import { ACCOMMODATION_KIND_NAMES } from '../../src/risk';
import { createAuditLog, createReviewStore, type ReviewAuthor, type Store } from '../../src/store';
import { createAccommodationStore } from '../../src/store/accommodations';
import { createResponseStore } from '../../src/store/responses';
import { eraseLearnerReviewData, learnerReviewData, reviewDataCounts, sweepRetention } from '../../src/store/retention';
import { migratedStore } from './helpers';

let store: Store;
beforeAll(async () => {
  store = await migratedStore('student_side');
});
afterAll(() => store.close());

const REG = { platformIss: 'https://moodle.example.edu', platformClientId: 'client-s' };
const COURSE = { ...REG, deploymentId: 'dep-1', contextId: 'c-1' };
const TEACHER: ReviewAuthor = { lmsUserId: '3', name: 'Tina Teacher', roles: ['Instructor'], audience: 'instructor' };
const ADMIN: ReviewAuthor = { lmsUserId: '2', name: 'Ada Admin', roles: ['Administrator'], audience: 'admin' };
const audit = (action: string, subject: string) => ({
  platformIss: REG.platformIss,
  platformClientId: REG.platformClientId,
  actorUserId: 'x',
  actorRole: 'student',
  action,
  subjectUserId: subject,
});

test('a response is appended, a double submit is written once, and the course counts it new until its staff open the learner', async () => {
  const responses = createResponseStore(store.db);
  const key = { ...REG, userId: 'learner-r' };
  const write = (body: string, sessionId = 's-1') =>
    responses.write({
      key,
      sessionId,
      body,
      author: { lmsUserId: '4', name: 'Sam Student' },
      deploymentId: 'dep-1',
      contextId: 'c-1',
      audit: audit('response.write', 'learner-r'),
    });
  const first = await write('I was using dictation software.');
  expect(first.outcome).toBe('written');
  const copies = await Promise.all([write('Same text twice'), write('Same text twice'), write('Same text twice')]);
  expect(copies.filter((c) => c.outcome === 'written')).toHaveLength(1);
  expect(new Set(copies.map((c) => c.id)).size).toBe(1);
  await write('Another session', 's-2');
  const all = await responses.forLearner(key);
  expect(all.map((r) => [r.sessionId, r.body])).toEqual([
    ['s-1', 'I was using dictation software.'],
    ['s-1', 'Same text twice'],
    ['s-2', 'Another session'],
  ]);
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM audit_log WHERE subject_user_id = 'learner-r'`.execute(store.db);
  expect(Number(rows[0]!.n)).toBe(3);

  expect(await responses.newCounts(COURSE, ['learner-r', 'nobody'])).toEqual(new Map([['learner-r', 3]]));
  await responses.markSeen({ ...COURSE, userId: 'learner-r' }, all[1]!.id);
  expect(await responses.newCounts(COURSE, ['learner-r'])).toEqual(new Map([['learner-r', 1]]));
  // Another course's staff have seen nothing; a mark never moves back.
  expect(await responses.newCounts({ ...COURSE, contextId: 'c-2' }, ['learner-r'])).toEqual(new Map([['learner-r', 3]]));
  await responses.markSeen({ ...COURSE, userId: 'learner-r' }, all[0]!.id);
  expect(await responses.seenThrough({ ...COURSE, userId: 'learner-r' })).toBe(all[1]!.id);
});

test('accommodations land at their version, conflict when stale, are written once on a double submit, and a removal ends them', async () => {
  const acc = createAccommodationStore(store.db);
  const scope = { ...REG, userId: 'learner-a', course: { deploymentId: 'dep-1', contextId: 'c-1' } };
  const add = (version: number, kind: string, detail: string | null = null) =>
    acc.change({ scope, author: TEACHER, expectedVersion: version, add: { kind, detail }, audit: audit('accommodation.add', 'learner-a') });
  expect(await add(0, 'dictation')).toEqual({ outcome: 'written', version: 1 });
  expect(await add(0, 'dictation')).toEqual({ outcome: 'duplicate', version: 1 });
  const stale = await add(0, 'keyboard_only');
  expect(stale.outcome).toBe('conflict');
  expect(await add(1, 'other', 'Uses a braille display')).toEqual({ outcome: 'written', version: 2 });
  await acc.change({
    scope: { ...scope, course: null },
    author: ADMIN,
    expectedVersion: 0,
    add: { kind: 'screen_reader', detail: null },
    audit: audit('accommodation.add', 'learner-a'),
  });

  const inEffect = await acc.inEffectForCourse(COURSE, ['learner-a']);
  expect(inEffect.get('learner-a')!.map((a) => [a.kind, a.scope])).toEqual([
    ['dictation', 'course'],
    ['other', 'course'],
    ['screen_reader', 'platform'],
  ]);
  // Another course sees the registration's entry only.
  expect((await acc.inEffectForCourse({ ...COURSE, contextId: 'c-2' }, ['learner-a'])).get('learner-a')!.map((a) => a.kind)).toEqual([
    'screen_reader',
  ]);

  const dictation = inEffect.get('learner-a')![0]!;
  const remove = () =>
    acc.change({
      scope,
      author: TEACHER,
      expectedVersion: 2,
      remove: { id: dictation.id },
      audit: audit('accommodation.remove', 'learner-a'),
    });
  expect(await remove()).toEqual({ outcome: 'written', version: 3 });
  expect(await remove()).toEqual({ outcome: 'duplicate', version: 3 });
  expect(
    await acc.change({
      scope,
      author: TEACHER,
      expectedVersion: 3,
      remove: { id: '999999' },
      audit: audit('accommodation.remove', 'learner-a'),
    }),
  ).toEqual({ outcome: 'unknown_accommodation' });
  const sets = await acc.forLearner({ ...REG, userId: 'learner-a' }, scope.course);
  expect(sets.course.version).toBe(3);
  expect(sets.course.entries.map((e) => [e.kind, e.removed?.by.name ?? null])).toEqual([
    ['dictation', 'Tina Teacher'],
    ['other', null],
  ]);
  expect(sets.platform.entries.map((e) => e.kind)).toEqual(['screen_reader']);
});

test('migration 008 takes every accommodation kind of the risk model, and the database refuses any other', async () => {
  const acc = createAccommodationStore(store.db);
  const scope = { ...REG, userId: 'learner-kinds', course: { deploymentId: 'dep-1', contextId: 'c-1' } };
  const add = (version: number, kind: string) =>
    acc.change({
      scope,
      author: TEACHER,
      expectedVersion: version,
      add: { kind, detail: kind === 'other' ? 'Uses a braille display' : null },
      audit: audit('accommodation.add', 'learner-kinds'),
    });
  // Each kind the forms offer (src/risk), written through the store.
  for (const [i, kind] of ACCOMMODATION_KIND_NAMES.entries()) {
    expect([kind, await add(i, kind)]).toEqual([kind, { outcome: 'written', version: i + 1 }]);
  }
  const written = await acc.forLearner({ ...REG, userId: 'learner-kinds' }, scope.course);
  expect(written.course.entries.map((e) => e.kind)).toEqual([...ACCOMMODATION_KIND_NAMES]);
  // And no other: the CHECK constraint lists exactly those kinds.
  const { rows } = await sql<{ def: string }>`
    SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
    WHERE conrelid = 'accommodation'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%kind = ANY%'`.execute(store.db);
  expect(rows).toHaveLength(1);
  const allowed = [...rows[0]!.def.matchAll(/'([^']+)'::text/g)].map((m) => m[1]!);
  expect(allowed.sort()).toEqual([...ACCOMMODATION_KIND_NAMES].sort());
  // A kind the risk model does not know: the database refuses it, and nothing is written.
  const count = ACCOMMODATION_KIND_NAMES.length;
  await expect(add(count, 'telepathy')).rejects.toMatchObject({ code: '23514', constraint: 'accommodation_kind_check' });
  const after = await acc.forLearner({ ...REG, userId: 'learner-kinds' }, scope.course);
  expect([after.course.version, after.course.entries.length]).toEqual([count, count]);
});

test('retention deletes what is past each registration’s period, keeps what is not, and writes one audit entry with the counts', async () => {
  const reg = { platformIss: 'https://retain.example.edu', platformClientId: 'client-ret' };
  await sql`INSERT INTO platform_settings (issuer, client_id, display_name, kind, isnotai_base_url, retention_days)
    VALUES (${reg.platformIss}, ${reg.platformClientId}, 'Retain U', 'moodle', 'http://127.0.0.1:1', 30)`.execute(store.db);
  const day = 86_400_000;
  const now = Date.parse('2026-06-01T00:00:00Z');
  const responses = createResponseStore(store.db);
  const reviews = createReviewStore(store.db);
  const acc = createAccommodationStore(store.db);
  const respond = (userId: string, at: number) =>
    responses.write({
      key: { ...reg, userId },
      sessionId: 's',
      body: `answer ${at}`,
      author: { lmsUserId: userId, name: 'S' },
      deploymentId: 'd',
      contextId: 'c',
      audit: { ...audit('response.write', userId), ...reg, at: new Date(at) },
      at: new Date(at),
    });
  await respond('old', now - 40 * day);
  await respond('new', now - 10 * day);
  const course = { ...reg, deploymentId: 'd', contextId: 'c' };
  await reviews.write({
    key: { ...course, userId: 'old' },
    author: TEACHER,
    expectedVersion: 0,
    note: { body: 'old note', correctsId: null },
    audit: { ...audit('review.note', 'old'), ...reg },
    at: new Date(now - 31 * day),
  });
  await reviews.write({
    key: { ...course, userId: 'new' },
    author: TEACHER,
    expectedVersion: 0,
    status: { to: 'in_review', reason: null },
    audit: { ...audit('review.status', 'new'), ...reg },
    at: new Date(now - 29 * day),
  });
  const scope = { ...reg, userId: 'old', course: { deploymentId: 'd', contextId: 'c' } };
  await acc.change({
    scope,
    author: TEACHER,
    expectedVersion: 0,
    add: { kind: 'dictation', detail: null },
    audit: { ...audit('a', 'old'), ...reg },
    at: new Date(now - 100 * day),
  });
  await acc.change({
    scope,
    author: TEACHER,
    expectedVersion: 1,
    add: { kind: 'rest_breaks', detail: null },
    audit: { ...audit('a', 'old'), ...reg },
    at: new Date(now - 90 * day),
  });
  const rest = (await acc.forLearner(scope, scope.course)).course.entries[1]!;
  await acc.change({
    scope,
    author: TEACHER,
    expectedVersion: 2,
    remove: { id: rest.id },
    audit: { ...audit('a', 'old'), ...reg },
    at: new Date(now - 60 * day),
  });

  const swept = await sweepRetention(store.db, { now });
  const mine = swept.byPlatform.find((p) => p.platformIss === reg.platformIss)!;
  expect(mine.retentionDays).toBe(30);
  expect(mine.counts).toEqual({
    responses: 1,
    reviewRecords: 1,
    statusChanges: 0,
    notes: 1,
    sessionMarks: 0,
    accommodations: 1,
    responsesSeen: 0,
    // The old response's, the old note's and the three accommodation changes' rows.
    auditEntries: 5,
  });
  expect((await responses.forLearner({ ...reg, userId: 'old' })).length).toBe(0);
  expect((await responses.forLearner({ ...reg, userId: 'new' })).length).toBe(1);
  expect((await reviews.read({ ...course, userId: 'new' })).status).toBe('in_review');
  expect((await reviews.read({ ...course, userId: 'old' })).version).toBe(0);
  // The accommodation still in effect is kept; the one removed 60 days ago is gone.
  expect((await acc.forLearner(scope, scope.course)).course.entries.map((e) => e.kind)).toEqual(['dictation']);
  const entries = await createAuditLog(store.db).list({ limit: 10, ...reg, action: 'retention.sweep' });
  expect(entries.items).toHaveLength(1);
  expect(entries.items[0]!.detail).toMatchObject({ retentionDays: 30, responses: 1, notes: 1, reviewRecords: 1, auditEntries: 5 });
  // Nothing more to delete: no second entry.
  await sweepRetention(store.db, { now });
  expect((await createAuditLog(store.db).list({ limit: 10, ...reg, action: 'retention.sweep' })).items).toHaveLength(1);
});

test('an erasure deletes a learner’s review data in every course only if it is what was exported, with its audit row', async () => {
  const reg = { platformIss: 'https://erase.example.edu', platformClientId: 'client-e' };
  const who = { ...reg, userId: 'gone' };
  await createResponseStore(store.db).write({
    key: who,
    sessionId: 's',
    body: 'my answer',
    author: { lmsUserId: 'gone', name: 'G' },
    deploymentId: 'd',
    contextId: 'c',
    audit: { ...audit('response.write', 'gone'), ...reg },
  });
  await createReviewStore(store.db).write({
    key: { ...reg, deploymentId: 'd', contextId: 'c', userId: 'gone' },
    author: TEACHER,
    expectedVersion: 0,
    note: { body: 'n', correctsId: null },
    audit: { ...audit('review.note', 'gone'), ...reg },
  });
  const exported = await learnerReviewData(store.db, who);
  expect(reviewDataCounts(exported)).toMatchObject({ reviewRecords: 1, notes: 1, responses: 1 });
  const same = JSON.stringify(exported);
  const entry = (counts: object) => ({ ...audit('learner_data.erase', 'gone'), ...reg, detail: { ...counts } });
  // Something new since the export: nothing is deleted.
  await createResponseStore(store.db).write({
    key: who,
    sessionId: 's',
    body: 'a second answer',
    author: { lmsUserId: 'gone', name: 'G' },
    deploymentId: 'd',
    contextId: 'c',
    audit: { ...audit('response.write', 'gone'), ...reg },
  });
  const refused = await eraseLearnerReviewData(store.db, who, (d) => JSON.stringify(d) === same, entry);
  expect(refused.outcome).toBe('changed');
  const now = JSON.stringify(await learnerReviewData(store.db, who));
  const erased = await eraseLearnerReviewData(store.db, who, (d) => JSON.stringify(d) === now, entry);
  expect(erased).toEqual({ outcome: 'erased', counts: expect.objectContaining({ responses: 2, notes: 1, reviewRecords: 1 }) });
  expect(reviewDataCounts(await learnerReviewData(store.db, who))).toEqual({
    reviewRecords: 0,
    statusChanges: 0,
    notes: 0,
    sessionMarks: 0,
    responses: 0,
    accommodations: 0,
  });
  const log = await createAuditLog(store.db).list({ limit: 5, ...reg, action: 'learner_data.erase' });
  expect(log.items[0]!.detail).toMatchObject({ responses: 2, notes: 1 });
});

test('an erasure that finds a row written after its check deletes nothing, and says the data changed', async () => {
  const reg = { platformIss: 'https://erase-race.example.edu', platformClientId: 'client-r' };
  const who = { ...reg, userId: 'racer' };
  const responses = createResponseStore(store.db);
  const respond = (body: string) =>
    responses.write({
      key: who,
      sessionId: 's',
      body,
      author: { lmsUserId: 'racer', name: 'R' },
      deploymentId: 'd',
      contextId: 'c',
      audit: { ...audit('response.write', 'racer'), ...reg },
    });
  await respond('first answer');
  const entry = (counts: object) => ({ ...audit('learner_data.erase', 'racer'), ...reg, detail: { ...counts } });
  // The check passes; then, before the deletes, another connection commits a second response.
  const result = await eraseLearnerReviewData(
    store.db,
    who,
    async (d) => {
      expect(d.responses).toHaveLength(1);
      await respond('written while the erasure ran');
      return true;
    },
    entry,
  );
  expect(result.outcome).toBe('changed');
  expect((await responses.forLearner(who)).map((r) => r.body)).toEqual(['first answer', 'written while the erasure ran']);
  expect((await createAuditLog(store.db).list({ limit: 5, ...reg, action: 'learner_data.erase' })).items).toHaveLength(0);
});

test('a sweep while another instance is sweeping does nothing', async () => {
  const reg = { platformIss: 'https://busy.example.edu', platformClientId: 'client-b' };
  await createResponseStore(store.db).write({
    key: { ...reg, userId: 'u' },
    sessionId: 's',
    body: 'old',
    author: { lmsUserId: 'u', name: 'U' },
    deploymentId: 'd',
    contextId: 'c',
    audit: { ...audit('response.write', 'u'), ...reg },
    at: new Date('2020-01-01T00:00:00Z'),
  });
  await store.db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended('isnotai-lti retention sweep', 8))`.execute(trx);
    await expect(sweepRetention(store.db, { now: Date.parse('2026-06-01T00:00:00Z') })).resolves.toEqual({ byPlatform: [], skipped: true });
  });
  expect(await createResponseStore(store.db).forLearner({ ...reg, userId: 'u' })).toHaveLength(1);
  const swept = await sweepRetention(store.db, { now: Date.parse('2026-06-01T00:00:00Z') });
  expect(swept.byPlatform.find((p) => p.platformIss === reg.platformIss)?.counts.responses).toBe(1);
});
