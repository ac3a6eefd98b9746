/**
 * Per-platform risk thresholds, configured in PLATFORMS_JSON (`thresholds: {high, elevated}`) and
 * applied end to end: the roster, its exports and the student's own page all use the platform's
 * lines, while another platform keeps the defaults.
 */
import crypto from 'node:crypto';
import { startTool, type RunningTool } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { platformEntry, startStack } from '../../src/dev/stack';
import { createLogger } from '../../src/log';
import { DEFAULT_THRESHOLDS, learnerRiskSummary } from '../../src/risk';
import { createPlatformSettingsRepository } from '../../src/store';
import { freshDatabaseUrl } from '../support/db';
import { testStack } from '../support/stack';

type S = Awaited<ReturnType<typeof testStack>>;
let stack: S;
const STRICT = { high: 0.9, elevated: 0.4 };

beforeAll(async () => {
  stack = await testStack('thresholds', { platformSettings: { moodle: { thresholds: STRICT } } });
});
afterAll(async () => {
  await stack?.stop();
});

const moodleCourse = () => stack.world.platforms.find((p) => p.kind === 'moodle')!.courses[0]!;
const maxScore = (userId: string) => Math.max(...stack.simulator.dataset.sessionsForUser(userId).map((s) => s.botScore));

test('a platform with high = 0.9 shows a learner whose highest score is 0.8 as elevated, on the roster and its CSV', async () => {
  const course = moodleCourse();
  const learners = course.members.filter((m) => m.role === 'learner').map((m) => m.person.lmsUserId);
  // Learners the default lines call high and the platform's call elevated.
  const between = learners.filter(
    (id) => stack.simulator.dataset.sessionsForUser(id).length > 0 && maxScore(id) >= 0.7 && maxScore(id) < 0.9,
  );
  expect(between.length).toBeGreaterThan(0);
  const teacher = course.members.find((m) => m.role === 'instructor')!.person;
  const b = stack.browser();
  const t = await b.launch({ platform: 'moodle', courseId: course.id, userId: teacher.lmsUserId });
  expect(t.status).toBe(200);
  const body = JSON.parse((await b.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(t.ltik!)}`)).html);
  const risk = new Map<string, string>(body.items.map((i: { userId: string; risk: string }) => [i.userId, i.risk]));
  for (const id of between) expect(risk.get(id)).toBe('elevated');
  for (const id of learners)
    expect(risk.get(id)).toBe(learnerRiskSummary(stack.simulator.dataset.sessionsForUser(id), { thresholds: STRICT }).level);
  const csv = (await b.get(`${stack.tool.url}/course.csv?limit=500&ltik=${encodeURIComponent(t.ltik!)}`)).html;
  // user_id, then risk.
  for (const id of between) expect(csv).toContain(`,${id},elevated,`);
});

test('the student sees their own level by the same lines', async () => {
  const course = moodleCourse();
  const id = course.members
    .map((m) => m.person.lmsUserId)
    .find((u) => stack.simulator.dataset.sessionsForUser(u).length > 0 && maxScore(u) >= 0.7 && maxScore(u) < 0.9)!;
  const res = await stack.browser().launch({ platform: 'moodle', courseId: course.id, userId: id });
  expect(res.status).toBe(200);
  expect(/Highest level<\/span><span class="v"[^>]*><span class="risk risk-(\w+)"/.exec(res.html)?.[1]).toBe('elevated');
});

test('another platform keeps the default lines', async () => {
  const canvas = stack.world.platforms.find((p) => p.kind === 'canvas')!.courses[0]!;
  const teacher = canvas.members.find((m) => m.role === 'instructor')!.person;
  const b = stack.browser();
  const t = await b.launch({ platform: 'canvas', courseId: canvas.id, userId: teacher.lmsUserId });
  const body = JSON.parse((await b.get(`${stack.tool.url}/course.json?limit=500&ltik=${encodeURIComponent(t.ltik!)}`)).html);
  for (const i of body.items as Array<{ userId: string; risk: string }>) {
    expect(i.risk).toBe(learnerRiskSummary(stack.simulator.dataset.sessionsForUser(i.userId), { thresholds: DEFAULT_THRESHOLDS }).level);
  }
});

test('thresholds taken out of the configuration go back to the defaults at the next start', async () => {
  const databaseUrl = await freshDatabaseUrl('thresholds_removed');
  const encryptionKey = crypto.randomBytes(32).toString('base64url');
  const logger = createLogger('silent');
  const first = await startStack({ databaseUrl, logger, encryptionKey, platformSettings: { moodle: { thresholds: STRICT } } });
  const moodle = first.lms.platforms.moodle;
  const thresholdsIn = async (db: RunningTool['store']['db']) =>
    (await createPlatformSettingsRepository(db, { secret: encryptionKey }).get(moodle.issuer, moodle.clientId))?.riskThresholds;
  let again: RunningTool | undefined;
  try {
    expect(await thresholdsIn(first.tool.store.db)).toEqual(STRICT);
    await first.tool.stop();
    // The same LMS registration, started again with no thresholds in its entry.
    const isnotai = { apiKey: 'aik_v1_sim_pro', baseUrl: first.simulator.url };
    const config = loadConfig({
      NODE_ENV: 'development',
      ENCRYPTION_KEY: encryptionKey,
      LOG_LEVEL: 'silent',
      PLATFORMS_JSON: JSON.stringify([platformEntry(moodle, isnotai)]),
    });
    again = await startTool({ config, logger, databaseUrl, port: 0, host: '127.0.0.1' });
    expect(await thresholdsIn(again.store.db)).toEqual(DEFAULT_THRESHOLDS);
  } finally {
    await again?.stop();
    await first.stop();
  }
});
