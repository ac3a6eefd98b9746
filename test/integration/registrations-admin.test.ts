/**
 * Registrations and their settings edited in the tool by a platform's admins (docs/product.md "Installing the tool"),
 * over real HTTP, real PostgreSQL, through the LMS emulator. The tool starts with only the emulator's Canvas in
 * PLATFORMS_JSON, marked tool-wide; the emulator's Moodle is then registered as Dynamic Registration leaves it: in ltijs,
 * and as a `dynamic`, `pending` registration with no isnotai key.
 *
 * A launch from Moodle is refused as pending; the Canvas admin (tool-wide) lists every registration and activates it; the
 * Moodle admin's pages say no key is set and link to the settings; the admin sets the key and a teacher's roster reads
 * isnotai. Bad values get a 422 with the form kept (never the key), a moved version a 409 showing what changed, a wrong
 * CSRF token a 403 that writes nothing; a teacher, a TA and an admin of another registration get 403; a PLATFORMS_JSON
 * registration is read-only. Every write has its audit row, shown with which settings changed. Deactivating one's own
 * registration asks for a confirmation and ends one's session. The key is never in a page, a JSON answer or a log line.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { sql } from 'kysely';
import { LtiBrowser, startLmsEmulator, type PlatformRegistration } from '../../src/dev/lms';
import { buildWorld } from '../../src/dev/people';
import { platformEntry } from '../../src/dev/stack';
import { DEFAULT_STRATEGY } from '../../src/lti/identity';
import { createRegistrationStore, type Registration } from '../../src/store';
import { capturingLogger, decodeEntities, tableRows, testStack, textOf } from '../support/stack';
import { hidden, toolClient, type Who } from '../support/tool';

jest.setTimeout(60_000);

const KEY = 'aik_v1_sim_pro';
/** A valid-looking key typed into a form that is refused: it must not come back either. */
const TYPED_KEY = 'aik_v1_typed_never_echoed_7f3a';

let stack: Awaited<ReturnType<typeof testStack>>;
const captured = capturingLogger('debug');
/** Every page and answer the tool sent in this file, to search for the key. */
const answers: string[] = [];
let moodleId: string;
let canvasId: string;

const client = toolClient(() => stack);
const page = async (who: Who, path: string, params: Record<string, string> = {}) => {
  const res = await client.page(who, path, params);
  answers.push(res.html);
  return res;
};
const post = async (who: Who, path: string, form: Record<string, string>) => {
  const res = await client.post(who, path, form);
  answers.push(res.html);
  return res;
};
/** A launch that may land on an error page (the Moodle admin's /course without a key): its browser, ltik and answer. */
async function launchAny(platform: 'canvas' | 'moodle', courseId: string, userId: string) {
  const browser = new LtiBrowser({ lmsUrl: stack.lms.url });
  const res = await browser.launch({ platform, courseId, userId });
  answers.push(res.html);
  return { who: { browser, ltik: res.ltik ?? '' }, res };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const registrations = () => createRegistrationStore(stack.tool.store.db, { secret: ENCRYPTION_KEY });
const ENCRYPTION_KEY = crypto.randomBytes(32).toString('base64url');
const moodleNow = async (): Promise<Registration> => (await registrations().get(moodleId))!;

/** The HTML of the first `<form … data-testid="…">` of a page. */
function formHtml(html: string, testId: string): string {
  const m = new RegExp(`<form[^>]*data-testid="${testId}"[^>]*>[\\s\\S]*?</form>`).exec(html);
  if (!m) throw new Error(`no form ${testId} in the page`);
  return m[0];
}
/** A text input's value in `html`, entities decoded. */
function inputValue(html: string, name: string): string | null {
  const m = new RegExp(`<input type="(?:text|password)"[^>]*name="${name}" value="([^"]*)"`).exec(html);
  return m ? decodeEntities(m[1]!) : null;
}
/** The settings form's fields as the page fills them. */
function formFields(html: string): Record<string, string> {
  const form = formHtml(html, 'registration-form');
  const checked = (name: string) => new RegExp(`name="${name}" value="([^"]*)" checked`).exec(form)?.[1] ?? '';
  return {
    csrf: hidden(form, 'csrf'),
    version: hidden(form, 'version'),
    displayName: inputValue(form, 'displayName') ?? '',
    region: checked('region'),
    baseUrl: inputValue(form, 'baseUrl') ?? '',
    apiKey: inputValue(form, 'apiKey') ?? '',
    identity: inputValue(form, 'identity') ?? '',
    identityPattern: inputValue(form, 'identityPattern') ?? '',
    studentVisibility: checked('studentVisibility'),
    high: inputValue(form, 'high') ?? '',
    elevated: inputValue(form, 'elevated') ?? '',
    deploymentIds: decodeEntities(/<textarea[^>]*name="deploymentIds"[^>]*>([\s\S]*?)<\/textarea>/.exec(form)?.[1] ?? ''),
    retentionDays: inputValue(form, 'retentionDays') ?? '',
  };
}
async function auditRows(action: string) {
  const { rows } = await sql<{
    platform_iss: string;
    actor_user_id: string;
    actor_role: string;
    resource_id: string | null;
    detail: Record<string, unknown> | null;
  }>`SELECT platform_iss, actor_user_id, actor_role, resource_id, detail FROM audit_log WHERE action = ${action} ORDER BY id`.execute(
    stack.tool.store.db,
  );
  return rows;
}

let canvasAdmin: Who, canvasTeacher: Who, canvasTa: Who;
let moodle: PlatformRegistration;

beforeAll(async () => {
  const world = buildWorld();
  // The emulator's addresses (and so its Canvas entry) depend on its port: learn them from one started on a port that the
  // stack's emulator then takes.
  const [lmsPort, simulatorPort] = [await freePort(), await freePort()];
  const probe = await startLmsEmulator({ world, toolUrl: 'http://127.0.0.1:1', port: lmsPort });
  const canvasEntry = platformEntry(
    probe.platforms.canvas,
    { apiKey: KEY, baseUrl: `http://127.0.0.1:${simulatorPort}` },
    { toolWide: true },
  );
  await probe.close();
  stack = await testStack('registrations-admin', {
    world,
    logger: captured.logger,
    encryptionKey: ENCRYPTION_KEY,
    ports: { lms: lmsPort, simulator: simulatorPort },
    env: { PLATFORMS_JSON: JSON.stringify([canvasEntry]) },
  });
  moodle = stack.lms.platforms.moodle;
  // What Dynamic Registration leaves behind: the platform in ltijs, then a pending registration without a key.
  const ok = await stack.tool.tool.lti.registerPlatform({
    url: moodle.issuer,
    name: moodle.name,
    clientId: moodle.clientId,
    authenticationEndpoint: moodle.authenticationEndpoint,
    accesstokenEndpoint: moodle.accesstokenEndpoint,
    authConfig: { method: 'JWK_SET', key: moodle.jwksUrl },
  });
  expect(ok).toBeTruthy();
  const created = await registrations().createDynamic({
    issuer: moodle.issuer,
    clientId: moodle.clientId,
    displayName: moodle.name,
    kind: 'moodle',
    deploymentIds: [moodle.deploymentId],
    isnotaiBaseUrl: stack.simulator.url,
    identityStrategy: DEFAULT_STRATEGY.moodle,
    status: 'pending',
    registration: { test: 'registered by the test, as Dynamic Registration would' },
    audit: {
      platformIss: moodle.issuer,
      platformClientId: moodle.clientId,
      actorUserId: 'lms',
      actorRole: 'lms',
      action: 'registration.create',
    },
  });
  moodleId = created.id;
  await stack.tool.tool.refreshPlatformOrigins();
  canvasId = (await registrations().find(probeCanvasIssuer(), probeCanvasClientId()))!.id;
  [canvasAdmin, canvasTeacher, canvasTa] = await Promise.all([
    client.launch('canvas', '101', '1'),
    client.launch('canvas', '101', '20001'),
    client.launch('canvas', '101', '20002'),
  ]);
});
afterAll(async () => {
  await stack?.stop();
});

const probeCanvasIssuer = () => stack.lms.platforms.canvas.issuer;
const probeCanvasClientId = () => stack.lms.platforms.canvas.clientId;

test('a launch from the pending registration is refused, saying so', async () => {
  const { res } = await launchAny('moodle', '2', '3');
  expect(res.status).toBe(403);
  expect(res.html).toContain('platform_pending');
});

test('the tool-wide admin lists every registration, with its status, source and key in words', async () => {
  const res = await page(canvasAdmin, '/admin/registrations');
  expect(res.status).toBe(200);
  const rows = tableRows(res.html, 'registrations');
  expect(rows).toHaveLength(2);
  const [canvasRow, moodleRow] = rows;
  expect(canvasRow!.join(' | ')).toContain('Active');
  expect(canvasRow!.join(' | ')).toContain('PLATFORMS_JSON: read-only here');
  expect(canvasRow![7]).toBe('set');
  expect(canvasRow![8]).toBe('Yes');
  expect(moodleRow!.join(' | ')).toContain('Pending');
  expect(moodleRow!.join(' | ')).toContain('Registered by the LMS');
  expect(moodleRow![4]).toBe(moodle.issuer);
  expect(moodleRow![5]).toBe(moodle.clientId);
  expect(moodleRow![7]).toBe('not set');
  expect(textOf(res.html)).toContain('1 registration is pending');
});

test('teachers and teaching assistants get 403 on every registration page and write', async () => {
  for (const who of [canvasTeacher, canvasTa]) {
    for (const path of ['/admin/registrations', `/admin/registrations/${moodleId}`, '/admin/settings']) {
      expect((await page(who, path)).status).toBe(403);
    }
    const status = await post(who, `/admin/registrations/${moodleId}/status`, { status: 'active', version: '1', csrf: 'x' });
    expect(status.status).toBe(403);
    const settings = await post(who, `/admin/registrations/${canvasId}/settings`, { displayName: 'x', csrf: 'x' });
    expect(settings.status).toBe(403);
  }
  expect((await moodleNow()).status).toBe('pending');
});

test('a PLATFORMS_JSON registration is read-only, saying who sets it', async () => {
  const res = await page(canvasAdmin, '/admin/settings');
  expect(res.status).toBe(200);
  expect(res.url).toContain(`/admin/registrations/${canvasId}?`);
  expect(textOf(res.html)).toContain('Set by the operator in PLATFORMS_JSON, which wins at every start');
  expect(res.html).not.toContain('data-testid="registration-form"');
  expect(res.html).not.toContain('data-testid="registration-status-form"');
  expect(textOf(/data-testid="api-key-state">([^<]*)</.exec(res.html)![1]!)).toBe('set');
  // The page has no form: the launch's own token, from the Moodle registration's page.
  const moodlePage = await page(canvasAdmin, `/admin/registrations/${moodleId}`);
  const token = hidden(formHtml(moodlePage.html, 'registration-status-form'), 'csrf');
  const write = await post(canvasAdmin, `/admin/registrations/${canvasId}/settings`, {
    csrf: token,
    version: '1',
    displayName: 'Renamed',
  });
  expect(write.status).toBe(403);
  expect(write.html).toContain('registration_read_only');
  const status = await post(canvasAdmin, `/admin/registrations/${canvasId}/status`, {
    csrf: token,
    version: '1',
    status: 'inactive',
    confirm: 'yes',
  });
  expect(status.status).toBe(403);
  expect((await registrations().get(canvasId))!.displayName).toBe(stack.lms.platforms.canvas.name);
});

test('the tool-wide admin sees another registration read-only, and activates it (audited under that registration)', async () => {
  const res = await page(canvasAdmin, `/admin/registrations/${moodleId}`);
  expect(res.status).toBe(200);
  expect(res.html).not.toContain('data-testid="registration-form"');
  expect(textOf(res.html)).toContain('its own administrators change its settings');
  const form = formHtml(res.html, 'registration-status-form');
  expect(hidden(form, 'status')).toBe('active');
  // A wrong CSRF token: 403, nothing written.
  const forged = await post(canvasAdmin, `/admin/registrations/${moodleId}/status`, {
    csrf: 'forged',
    version: hidden(form, 'version'),
    status: 'active',
  });
  expect(forged.status).toBe(403);
  expect(forged.html).toContain('csrf_failed');
  expect((await moodleNow()).status).toBe('pending');
  const done = await post(canvasAdmin, `/admin/registrations/${moodleId}/status`, {
    csrf: hidden(form, 'csrf'),
    version: hidden(form, 'version'),
    status: 'active',
  });
  expect(done.status).toBe(200);
  expect(done.history.some((h) => h.status === 303)).toBe(true);
  expect(textOf(done.html)).toContain('Saved. Changed: status.');
  expect(textOf(done.html)).toContain('Active');
  // The double submit: written once.
  const again = await post(canvasAdmin, `/admin/registrations/${moodleId}/status`, {
    csrf: hidden(form, 'csrf'),
    version: hidden(form, 'version'),
    status: 'active',
  });
  expect(again.status).toBe(200);
  const rows = await auditRows('registration.status');
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    platform_iss: moodle.issuer,
    actor_user_id: '1',
    actor_role: 'admin',
    detail: { changed: ['status'], status: 'active', fromRegistration: canvasId },
  });
});

test('the Moodle admin, without a key yet, lands on the settings, and is led there from the roster’s 503', async () => {
  const { who, res: landed } = await launchAny('moodle', '2', '2');
  expect(landed.status).toBe(200);
  expect(landed.url).toContain(`/admin/registrations/${moodleId}?`);
  expect(landed.html).toContain('data-testid="registration-needs-key"');
  const res = await page(who, '/course');
  expect(res.status).toBe(503);
  expect(res.html).toContain('upstream_not_configured');
  const link = decodeEntities(/<a href="([^"]*)" data-testid="error-link">/.exec(res.html)![1]!);
  expect(link).toContain(`/admin/registrations/${moodleId}?`);
  const settings = await who.browser.get(new URL(link, stack.tool.url).href);
  expect(settings.status).toBe(200);
  expect(formHtml(settings.html, 'registration-form')).toContain('type="password"');
  // A teacher's page names no settings page.
  const teacher = await launchAny('moodle', '2', '3');
  expect(teacher.res.status).toBe(503);
  expect(teacher.res.html).not.toContain('error-link');
});

describe('the Moodle admin’s settings', () => {
  let admin: Who;
  beforeAll(async () => {
    admin = (await launchAny('moodle', '2', '2')).who;
  });

  test('the key is set through the form; the page says “set”, never the key; a teacher’s roster then reads isnotai', async () => {
    const res = await page(admin, '/admin/settings');
    expect(res.url).toContain(`/admin/registrations/${moodleId}?`);
    const fields = formFields(res.html);
    expect(fields).toMatchObject({ apiKey: '', displayName: moodle.name, region: 'custom', baseUrl: stack.simulator.url, identity: 'sub' });
    expect(textOf(/data-testid="api-key-state">([^<]*)</.exec(res.html)![1]!)).toBe('not set');
    const saved = await post(admin, `/admin/registrations/${moodleId}/settings`, { ...fields, apiKey: KEY });
    expect(saved.status).toBe(200);
    expect(saved.history.some((h) => h.status === 303)).toBe(true);
    expect(saved.url).toContain('saved=');
    expect(textOf(saved.html)).toContain('Saved. Changed: API key.');
    expect(textOf(/data-testid="api-key-state">([^<]*)</.exec(saved.html)![1]!)).toBe('set');
    expect(inputValue(formHtml(saved.html, 'registration-form'), 'apiKey')).toBe('');
    const teacher = await client.launch('moodle', '2', '3');
    expect(teacher.html).toContain('data-testid="roster"');
    // The same form sent again: written once.
    const again = await post(admin, `/admin/registrations/${moodleId}/settings`, { ...fields, apiKey: KEY });
    expect(again.status).toBe(200);
    expect((await auditRows('registration.settings')).filter((r) => (r.detail?.changed as string[]).includes('api_key'))).toHaveLength(1);
  });

  test('bad values: 422 with the form kept, each field marked and linked, the key never echoed', async () => {
    const before = await moodleNow();
    const fields = formFields((await page(admin, `/admin/registrations/${moodleId}`)).html);
    const res = await post(admin, `/admin/registrations/${moodleId}/settings`, {
      ...fields,
      displayName: 'Moodle <b>renamed</b>',
      apiKey: TYPED_KEY,
      high: '0.3',
      elevated: '0.6',
      retentionDays: '0',
      region: 'custom',
      baseUrl: 'ftp://example.org',
      identity: 'email',
      identityPattern: '([',
      deploymentIds: '1\n2',
    });
    expect(res.status).toBe(422);
    expect(res.html).toContain('invalid_settings');
    const kept = formFields(res.html);
    expect(kept).toMatchObject({
      displayName: 'Moodle <b>renamed</b>',
      high: '0.3',
      elevated: '0.6',
      retentionDays: '0',
      apiKey: '',
      deploymentIds: '1\n2',
    });
    expect(res.html).not.toContain('<b>renamed</b>');
    expect(res.html).not.toContain(TYPED_KEY);
    expect(textOf(res.html)).toContain('The API key you typed was not kept: type it again.');
    const summary = [...res.html.matchAll(/<li><a href="#([^"]+)">/g)].map((m) => m[1]);
    expect(summary).toEqual(
      expect.arrayContaining(['reg-base-url', 'reg-identity', 'reg-identity-pattern', 'reg-elevated', 'reg-retention-days']),
    );
    for (const id of summary) expect(res.html).toContain(`id="${id}"`);
    expect(res.html).toMatch(/id="reg-retention-days"[^>]*aria-invalid="true"/);
    expect(await moodleNow()).toMatchObject({ version: before.version, displayName: before.displayName, hasApiKey: true });
    // A bad key alone: the rule's words, "type it again", and the stored key kept.
    const badKey = await post(admin, `/admin/registrations/${moodleId}/settings`, { ...fields, apiKey: 'not a key' });
    expect(badKey.status).toBe(422);
    expect(textOf(badKey.html)).toContain('The API key must look like aik_v1_');
    expect(badKey.html).not.toContain('not a key');
  });

  test('a moved version: 409 showing what changed, the typed values kept', async () => {
    const fields = formFields((await page(admin, `/admin/registrations/${moodleId}`)).html);
    const first = await post(admin, `/admin/registrations/${moodleId}/settings`, { ...fields, retentionDays: '200', high: '0.8' });
    expect(first.status).toBe(200);
    const second = await post(admin, `/admin/registrations/${moodleId}/settings`, {
      ...fields,
      displayName: 'Moodle of the faculty',
      apiKey: TYPED_KEY,
    });
    expect(second.status).toBe(409);
    expect(second.html).toContain('settings_conflict');
    expect(textOf(/data-testid="registration-changes">([\s\S]*?)<\/ol>/.exec(second.html)![1]!)).toContain(
      'changed: risk lines, retention',
    );
    const kept = formFields(second.html);
    expect(kept.displayName).toBe('Moodle of the faculty');
    expect(kept.apiKey).toBe('');
    expect(Number(kept.version)).toBe((await moodleNow()).version);
    expect(second.html).not.toContain(TYPED_KEY);
    expect((await moodleNow()).displayName).toBe(moodle.name);
    // Beside the form: what the settings changed since hold now, and the form's values, which would undo them.
    const now = tableRows(second.html, 'registration-now');
    expect(now).toEqual([
      ['high 0.8, elevated 0.4', 'high 0.7, elevated 0.4 (differs)'],
      ['200', '365 (differs)'],
    ]);
    expect(second.html).toMatch(/<th scope="row">Risk lines<\/th>/);
    // Sent again from the 409's form, keeping the other change: it lands.
    const third = await post(admin, `/admin/registrations/${moodleId}/settings`, { ...kept, high: '0.8', retentionDays: '200' });
    expect(third.status).toBe(200);
    expect(textOf(third.html)).toContain('Saved. Changed: display name.');
    expect(await moodleNow()).toMatchObject({
      displayName: 'Moodle of the faculty',
      retentionDays: 200,
      riskThresholds: { high: 0.8, elevated: 0.4 },
      hasApiKey: true,
    });
  });

  test('a wrong CSRF token: 403, nothing written, the typed values shown to copy (never the key)', async () => {
    const before = await moodleNow();
    const fields = formFields((await page(admin, `/admin/registrations/${moodleId}`)).html);
    const res = await post(admin, `/admin/registrations/${moodleId}/settings`, {
      ...fields,
      csrf: 'another-launch',
      displayName: 'Typed but refused',
      apiKey: TYPED_KEY,
    });
    expect(res.status).toBe(403);
    expect(res.html).toContain('csrf_failed');
    expect(textOf(res.html)).toContain('Typed but refused');
    expect(res.html).not.toContain(TYPED_KEY);
    expect(res.html).not.toContain('data-testid="registration-form"');
    expect((await moodleNow()).version).toBe(before.version);
  });

  test('an admin of a registration that is not tool-wide sees only their own, and another’s page is 403', async () => {
    const list = await page(admin, '/admin/registrations');
    expect(tableRows(list.html, 'registrations')).toHaveLength(1);
    expect(textOf(list.html)).toContain('1 other registration is not shown');
    expect((await page(admin, `/admin/registrations/${canvasId}`)).status).toBe(403);
    const token = hidden(formHtml((await page(admin, `/admin/registrations/${moodleId}`)).html, 'registration-form'), 'csrf');
    const status = await post(admin, `/admin/registrations/${canvasId}/status`, { csrf: token, version: '1', status: 'inactive' });
    expect(status.status).toBe(403);
  });

  test('the audit page names which settings changed, never the key', async () => {
    const res = await page(admin, '/admin/audit');
    expect(res.status).toBe(200);
    const details = tableRows(res.html, 'audit').map((r) => r.join(' | '));
    expect(details.some((d) => d.includes('registration.settings') && d.includes('changed: API key'))).toBe(true);
    expect(details.some((d) => d.includes('registration.status') && d.includes('changed: status (now active), from registration'))).toBe(
      true,
    );
    const json = await page(admin, '/admin/audit.json');
    expect(json.status).toBe(200);
    expect(json.html).toContain('registration.settings');
  });

  test('removing the stored key: the pages then say “not set” and the roster 503s again; the key is set back', async () => {
    const fields = formFields((await page(admin, `/admin/registrations/${moodleId}`)).html);
    const removed = await post(admin, `/admin/registrations/${moodleId}/settings`, { ...fields, removeKey: 'yes' });
    expect(removed.status).toBe(200);
    expect(textOf(removed.html)).toContain('Saved. Changed: API key.');
    expect((await moodleNow()).hasApiKey).toBe(false);
    const teacher = await launchAny('moodle', '2', '3');
    expect(teacher.res.status).toBe(503);
    expect(teacher.res.html).toContain('upstream_not_configured');
    const back = await post(admin, `/admin/registrations/${moodleId}/settings`, { ...formFields(removed.html), apiKey: KEY });
    expect(back.status).toBe(200);
    expect((await moodleNow()).hasApiKey).toBe(true);
  });

  test('deactivating one’s own registration asks for a confirmation, then ends the session, saying so', async () => {
    const res = await page(admin, `/admin/registrations/${moodleId}`);
    const form = formHtml(res.html, 'registration-status-form');
    expect(hidden(form, 'status')).toBe('inactive');
    const fields = { csrf: hidden(form, 'csrf'), version: hidden(form, 'version'), status: 'inactive' };
    const unconfirmed = await post(admin, `/admin/registrations/${moodleId}/status`, fields);
    expect(unconfirmed.status).toBe(422);
    expect(unconfirmed.html).toContain('confirmation_needed');
    expect((await moodleNow()).status).toBe('active');
    const done = await post(admin, `/admin/registrations/${moodleId}/status`, { ...fields, confirm: 'yes' });
    expect(done.status).toBe(200);
    expect(done.url).toContain(`/admin/registrations/${moodleId}/deactivated`);
    expect(textOf(done.html)).toContain('You deactivated Moodle of the faculty');
    expect((await moodleNow()).status).toBe('inactive');
    const after = await page(admin, `/admin/registrations/${moodleId}`);
    expect(after.status).toBe(403);
    expect(after.html).toContain('platform_inactive');
    const launch = await launchAny('moodle', '2', '3');
    expect(launch.res.status).toBe(403);
    // The tool-wide admin activates it again.
    const other = await page(canvasAdmin, `/admin/registrations/${moodleId}`);
    const again = formHtml(other.html, 'registration-status-form');
    const activated = await post(canvasAdmin, `/admin/registrations/${moodleId}/status`, {
      csrf: hidden(again, 'csrf'),
      version: hidden(again, 'version'),
      status: hidden(again, 'status'),
    });
    expect(activated.status).toBe(200);
    expect((await moodleNow()).status).toBe('active');
    await client.launch('moodle', '2', '3');
  });
});

test('the API key is in no page, JSON answer or log line', async () => {
  // Run last: every page above, the deactivation's included.
  expect(answers.some((html) => html.includes('data-testid="registration-deactivated"'))).toBe(true);
  expect(answers.length).toBeGreaterThan(20);
  for (const html of answers) {
    expect(html).not.toContain(KEY);
    expect(html).not.toContain(TYPED_KEY);
  }
  expect(captured.lines.length).toBeGreaterThan(20);
  const leaking = captured.lines.filter((l) => l.includes(KEY) || l.includes(TYPED_KEY));
  expect(leaking).toEqual([]);
});
