/**
 * Issue 14's acceptance, in order, over real HTTP with the tool started with an empty PLATFORMS_JSON (docs/product.md
 * "Installing the tool", "Placements"): an LMS admin pastes one URL; the registration is pending and its launches are
 * refused; it is activated (the first by the operator's command, which also marks it tool-wide; the next by that
 * registration's admin, in the tool); the new registration's own admin adds the isnotai API key in the tool; student,
 * instructor and admin launch; an instructor places the tool on one activity by Deep Linking, and that link opens the
 * grading view with only that activity's sessions.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { startTool } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { LtiBrowser, parseForms } from '../../src/dev/lms';
import { platformEntry } from '../../src/dev/stack';
import { MOODLE_BASE_URL } from '../../src/dev/simulator/dataset';
import { runPlatformsCommand } from '../../src/platforms';
import { learnerRiskSummary } from '../../src/risk';
import { sessionInPlacement } from '../../src/risk/placement';
import { createRegistrationStore } from '../../src/store';
import { capturingLogger, testStack, textOf } from '../support/stack';
import { hidden } from '../support/tool';

const ENCRYPTION_KEY = crypto.randomBytes(32).toString('base64url');
const API_KEY = 'aik_v1_sim_pro';
const COURSE = '2';
const ADMIN = '2';
const TEACHER = '3';
const STUDENT = '4';

let stack: Awaited<ReturnType<typeof testStack>>;
const captured = capturingLogger('debug');
/** Every answer the tool sent in this file, to search for the API key. */
const answers: string[] = [];

beforeAll(async () => {
  stack = await testStack('onboarding', { preregistered: false, encryptionKey: ENCRYPTION_KEY, logger: captured.logger });
});
afterAll(async () => {
  await stack?.stop();
});

const registrations = () => createRegistrationStore(stack.tool.store.db, { secret: ENCRYPTION_KEY });
const browser = () => new LtiBrowser({ lmsUrl: stack.lms.url });
const keep = <T extends { html: string }>(res: T): T => {
  answers.push(res.html);
  return res;
};
const toolUrl = (path: string, ltik: string, params: Record<string, string> = {}) =>
  `${stack.tool.url}${path}?${new URLSearchParams({ ...params, ltik })}`;

/** Registers the tool from the emulated Moodle, as its admin pastes TOOL_URL/register; the LMS side is activated too. */
async function register(): Promise<{ typeId: string; clientId: string; id: string }> {
  const res = keep(await browser().registerTool(`${stack.tool.url}/register`));
  expect(res.status).toBe(200);
  expect(textOf(res.html)).toContain('pending');
  const type = res.toolType!;
  // Moodle's own "Activate" (the tool type is Pending in Moodle too until then): the tool's status is separate.
  await browser().activateToolType(type.id);
  const stored = (await registrations().find(stack.lms.platforms.moodle.issuer, type.clientId))!;
  expect(stored).toMatchObject({ status: 'pending', source: 'dynamic', hasApiKey: false, deploymentIds: [type.deploymentId] });
  return { typeId: type.id, clientId: type.clientId, id: stored.id };
}

async function launch(typeId: string, userId: string) {
  const b = browser();
  const res = keep(await b.launch({ platform: 'moodle', courseId: COURSE, userId, toolTypeId: typeId }));
  return { b, res, ltik: res.ltik ?? '' };
}

async function operator(args: string[]) {
  let out = '';
  let err = '';
  const code = await runPlatformsCommand(
    { DATABASE_URL: stack.databaseUrl, ENCRYPTION_KEY },
    args,
    { out: (t) => (out += t), err: (t) => (err += t) },
    captured.logger,
  );
  return { code, out, err };
}

let first: { typeId: string; clientId: string; id: string };
let second: { typeId: string; clientId: string; id: string };

test('registered by Dynamic Registration: pending, so its launches are refused with a page that says so', async () => {
  first = await register();
  const refused = await launch(first.typeId, ADMIN);
  expect(refused.res.status).toBe(403);
  expect(refused.res.html).toContain('<code>platform_pending</code>');
  expect(textOf(refused.res.html)).toContain('the registration has not been activated yet');
});

test('the operator activates the first one and marks it tool-wide (npm run platforms)', async () => {
  expect(await operator(['activate', first.id])).toMatchObject({ code: 0 });
  expect(await operator(['tool-wide', first.id, 'on'])).toMatchObject({ code: 0 });
  const listed = await operator(['list']);
  expect(listed.out).toContain(first.clientId);
  expect(await registrations().get(first.id)).toMatchObject({ status: 'active', toolWide: true });
});

test('a second registration is activated in the tool by the tool-wide registration’s admin', async () => {
  second = await register();
  expect((await launch(second.typeId, ADMIN)).res.status).toBe(403);

  const admin = await launch(first.typeId, ADMIN);
  expect(admin.res.status).toBe(200);
  expect(admin.res.url).toContain(`/admin/registrations/${first.id}?`);
  const list = keep(await admin.b.get(toolUrl('/admin/registrations', admin.ltik)));
  expect(list.status).toBe(200);
  expect(textOf(list.html)).toContain(second.clientId);
  const page = keep(await admin.b.get(toolUrl(`/admin/registrations/${second.id}`, admin.ltik)));
  expect(page.status).toBe(200);
  const status = parseForms(page.html, page.url).find((f) => f.fields.status === 'active')!;
  expect(status).toBeDefined();
  const done = keep(await admin.b.post(status.action, status.fields));
  expect(done.status).toBe(200);
  expect(await registrations().get(second.id)).toMatchObject({ status: 'active', hasApiKey: false });
  const { rows } = await sql<{ actor_user_id: string; detail: { changed: string[] } }>`
    SELECT actor_user_id, detail FROM audit_log WHERE action = 'registration.status' ORDER BY id DESC LIMIT 1`.execute(stack.tool.store.db);
  expect(rows[0]).toMatchObject({ actor_user_id: ADMIN, detail: { changed: ['status'] } });
});

test('its own admin adds the isnotai API key in the tool: a bad one is refused (422), the key is then only “set”', async () => {
  // Without a key yet, the admin's launch lands where it is added.
  const admin = await launch(second.typeId, ADMIN);
  expect(admin.res.status).toBe(200);
  expect(admin.res.url).toContain(`/admin/registrations/${second.id}?`);
  expect(textOf(admin.res.html)).toContain('No isnotai API key is stored yet');
  expect(textOf(admin.res.html)).toContain('API key: not set . Type the key');
  const page = admin.res;
  const form = parseForms(page.html, page.url).find((f) => 'apiKey' in f.fields)!;
  // The simulator stands in for the isnotai API: a custom base URL, as an institution in another region would set.
  const fields = { ...form.fields, region: 'custom', baseUrl: stack.simulator.url };
  const bad = keep(await admin.b.post(form.action, { ...fields, apiKey: 'not a key' }));
  expect(bad.status).toBe(422);
  expect(bad.html).toContain('<code>invalid_settings</code>');
  expect(textOf(bad.html)).toContain('must look like aik_v1_');
  const saved = keep(await admin.b.post(form.action, { ...fields, apiKey: API_KEY }));
  expect(saved.status).toBe(200);
  expect(textOf(saved.html)).toMatch(/Saved/);
  expect(textOf(saved.html)).toContain('API key: set . It is never shown');
  expect(saved.html).not.toContain('data-testid="registration-needs-key"');
  expect(await registrations().get(second.id)).toMatchObject({ hasApiKey: true, isnotaiBaseUrl: stack.simulator.url });
  expect(hidden(saved.html, 'version')).toBe(String((await registrations().get(second.id))!.version));
});

test('student, instructor and admin launch: each lands on their page, with the LMS’s data read with the new key', async () => {
  const student = await launch(second.typeId, STUDENT);
  expect(student.res.status).toBe(200);
  expect(student.res.url).toContain('/me?');
  expect(textOf(student.res.html)).toMatch(/session/i);

  const teacher = await launch(second.typeId, TEACHER);
  expect(teacher.res.status).toBe(200);
  expect(teacher.res.url).toContain('/course?');
  const roster = JSON.parse(keep(await teacher.b.get(toolUrl('/course.json', teacher.ltik, { limit: '500' }))).html);
  expect(roster.items.length).toBeGreaterThan(0);

  const admin = await launch(second.typeId, ADMIN);
  expect(admin.res.status).toBe(200);
  const sessions = keep(await admin.b.get(toolUrl('/admin/sessions', admin.ltik)));
  expect(sessions.status).toBe(200);
});

test('an instructor places the tool on one activity; that link opens the grading view with only its sessions', async () => {
  const teacher = browser();
  const opened = keep(await teacher.get(stack.lms.deepLinkingUrl({ courseId: COURSE, typeId: second.typeId, userId: TEACHER })));
  expect(opened.status).toBe(200);
  const placing = parseForms(opened.html, opened.url).find((f) => 'pattern' in f.fields)!;
  const pattern = `${MOODLE_BASE_URL}/mod/quiz/*cmid=7`;
  const answer = keep(
    await teacher.post(placing.action, { ...placing.fields, title: 'Quiz 7', scope: 'activity', pattern, high: '0.8', elevated: '0.5' }),
  );
  expect(answer.status).toBe(200);
  const back = parseForms(answer.html, answer.url).find((f) => 'JWT' in f.fields)!;
  expect((await teacher.post(back.action, back.fields)).status).toBe(200);
  const activity = stack.lms.activities(COURSE).find((a) => a.name === 'Quiz 7')!;
  expect(activity).toBeDefined();

  const graded = keep(await teacher.get(stack.lms.activityLaunchUrl({ cmid: activity.cmid, userId: TEACHER })));
  expect(graded.status).toBe(200);
  expect(textOf(graded.html)).toContain(`sessions on pages matching ${pattern}`);
  const json = JSON.parse(keep(await teacher.get(toolUrl('/course.json', graded.ltik!, { limit: '500' }))).html);
  const lens = { scope: 'activity' as const, urlPattern: pattern, windowStart: null, windowEnd: null, thresholds: null };
  const course = stack.world.platforms.find((p) => p.kind === 'moodle')!.courses.find((c) => c.id === COURSE)!;
  let kept = 0;
  let all = 0;
  for (const m of course.members.filter((x) => x.role === 'learner')) {
    const theirs = stack.simulator.dataset.sessionsForUser(m.person.lmsUserId);
    const mine = theirs.filter((s) => sessionInPlacement(s, lens));
    kept += mine.length;
    all += theirs.length;
    const item = json.items.find((i: { userId: string }) => i.userId === m.person.lmsUserId);
    expect({ userId: m.person.lmsUserId, sessions: item?.sessions, risk: item?.risk }).toEqual({
      userId: m.person.lmsUserId,
      sessions: mine.length,
      risk: learnerRiskSummary(mine, { thresholds: { high: 0.8, elevated: 0.5 } }).level,
    });
  }
  // The view narrows: some sessions are the activity's, not all.
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThan(all);
});

test('the API key was in no page, JSON answer or log line, and a registration token in no log line', () => {
  expect(answers.length).toBeGreaterThan(10);
  for (const html of answers) expect(html).not.toContain(API_KEY);
  const logs = captured.lines.join('\n');
  expect(logs.length).toBeGreaterThan(0);
  expect(logs).not.toContain(API_KEY);
  expect(logs).not.toMatch(/registration_token=ey/);
});

test('an operator who later names an LMS-made registration in PLATFORMS_JSON takes it over: said in its audit log', async () => {
  const moodle = stack.lms.platforms.moodle;
  const entry = platformEntry(
    { ...moodle, clientId: second.clientId, deploymentId: '3' },
    { apiKey: API_KEY, baseUrl: stack.simulator.url },
  );
  const other = await startTool({
    config: loadConfig({ NODE_ENV: 'development', ENCRYPTION_KEY, LOG_LEVEL: 'silent', PLATFORMS_JSON: JSON.stringify([entry]) }),
    logger: captured.logger,
    databaseUrl: stack.databaseUrl,
    port: 0,
  });
  try {
    expect(await registrations().get(second.id)).toMatchObject({ source: 'config', status: 'active' });
    const { rows } = await sql<{ actor_user_id: string; resource_id: string; detail: Record<string, unknown> }>`
      SELECT actor_user_id, resource_id, detail FROM audit_log
      WHERE action = 'registration.settings' AND platform_client_id = ${second.clientId} ORDER BY id DESC LIMIT 1`.execute(
      stack.tool.store.db,
    );
    expect(rows[0]).toEqual({
      actor_user_id: 'operator',
      resource_id: `registration ${second.id}`,
      detail: { changed: ['source'], source: 'config', status: 'active' },
    });
    expect(captured.lines.some((l) => l.includes('PLATFORMS_JSON takes over a registration made by the LMS'))).toBe(true);
  } finally {
    await other.stop();
  }
});
