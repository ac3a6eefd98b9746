/**
 * `npm run platforms` over a real database (docs/product.md "Installing the tool"): the operator lists the
 * registrations, activates one made by Dynamic Registration (its launches then get in), deactivates it (they are
 * refused again, for ltijs's login check too), marks one tool-wide, each change audited as the operator's; bad usage is
 * exit code 2 with the usage text, an unknown id or a key that is not the tool's is exit code 1 and changes nothing.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { LtiBrowser } from '../../src/dev/lms';
import { startStack, type Stack } from '../../src/dev/stack';
import { runPlatformsCommand, PLATFORMS_USAGE } from '../../src/platforms';
import { createRegistrationStore } from '../../src/store';
import { freshDatabaseUrl } from '../support/db';
import { capturingLogger, textOf } from '../support/stack';

jest.setTimeout(60_000);

let stack: Stack;
let databaseUrl: string;
let encryptionKey: string;
let dynamic: { id: string; clientId: string; toolTypeId: string };

beforeAll(async () => {
  databaseUrl = await freshDatabaseUrl('platformscmd');
  encryptionKey = crypto.randomBytes(32).toString('base64url');
  stack = await startStack({ databaseUrl, logger: capturingLogger('silent').logger, encryptionKey });
  // One registration made by Dynamic Registration (pending), besides PLATFORMS_JSON's Moodle and Canvas.
  const admin = new LtiBrowser({ lmsUrl: stack.lms.url });
  const res = await admin.registerTool(`${stack.tool.url}/register`);
  expect(res.status).toBe(200);
  await admin.activateToolType(res.toolType!.id);
  const stored = await registrations().find(stack.lms.platforms.moodle.issuer, res.toolType!.clientId);
  dynamic = { id: stored!.id, clientId: res.toolType!.clientId, toolTypeId: res.toolType!.id };
});
afterAll(async () => {
  await stack?.stop();
});

const registrations = () => createRegistrationStore(stack.tool.store.db, { secret: encryptionKey });

async function run(args: string[], env: NodeJS.ProcessEnv = { DATABASE_URL: databaseUrl, ENCRYPTION_KEY: encryptionKey }) {
  let out = '';
  let err = '';
  const code = await runPlatformsCommand(env, args, { out: (t) => (out += t), err: (t) => (err += t) }, capturingLogger('silent').logger);
  return { code, out, err };
}

const launchDynamic = (browser = new LtiBrowser({ lmsUrl: stack.lms.url })) =>
  browser.launch({ platform: 'moodle', courseId: '2', userId: '3', toolTypeId: dynamic.toolTypeId });

async function operatorAudit(): Promise<Array<{ action: string; actor_role: string; detail: unknown }>> {
  return (
    await sql<{ action: string; actor_role: string; detail: unknown }>`
      SELECT action, actor_role, detail FROM audit_log WHERE actor_user_id = 'operator' ORDER BY id`.execute(stack.tool.store.db)
  ).rows;
}

test('list prints every registration with its status, source, kind, name, issuer, client id, API key and tool-wide', async () => {
  const { code, out, err } = await run(['list']);
  expect({ code, err }).toEqual({ code: 0, err: '' });
  const rows = out
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  expect(rows[0]).toEqual(['id', 'status', 'source', 'kind', 'name', 'issuer', 'client id', 'api key', 'tool-wide']);
  const moodle = stack.lms.platforms.moodle;
  expect(rows.slice(1)).toEqual(
    expect.arrayContaining([
      [expect.any(String), 'active', 'config', 'moodle', moodle.name, moodle.issuer, moodle.clientId, 'set', 'no'],
      [
        dynamic.id,
        'pending',
        'dynamic',
        'moodle',
        `Moodle at ${new URL(stack.lms.url).host}`,
        moodle.issuer,
        dynamic.clientId,
        'not set',
        'no',
      ],
    ]),
  );
  expect(rows).toHaveLength(4);
  expect(out).not.toContain('aik_');
});

test('activate lets the registration’s launches in; deactivate refuses them again; each audited as the operator’s', async () => {
  const pending = await launchDynamic();
  expect(pending.status).toBe(403);
  expect(pending.html).toContain('<code>platform_pending</code>');

  const activated = await run(['activate', dynamic.id]);
  expect(activated.code).toBe(0);
  expect(activated.out).toContain(`registration ${dynamic.id} (Moodle at`);
  expect(activated.out).toContain('is now active');
  expect(activated.out).toContain('It has no isnotai API key yet');
  expect((await registrations().get(dynamic.id))?.status).toBe('active');
  const teacher = new LtiBrowser({ lmsUrl: stack.lms.url });
  const launched = await launchDynamic(teacher);
  expect(launched.ltik).toBeDefined();
  // Active, but without an isnotai key: the staff page says so.
  expect(launched.html).toContain('<code>upstream_not_configured</code>');

  const again = await run(['activate', dynamic.id]);
  expect(again.code).toBe(0);
  expect(again.out).toContain('was already active; nothing changed');

  const deactivated = await run(['deactivate', dynamic.id]);
  expect(deactivated.code).toBe(0);
  expect(deactivated.out).toContain('is now inactive');
  const refused = await launchDynamic();
  expect(refused.status).toBe(403);
  expect(refused.html).toContain('<code>platform_inactive</code>');
  expect(textOf(refused.html)).toContain('has been deactivated');
  // The session opened while it was active is refused at its next page too.
  const page = await teacher.get(`${stack.tool.url}/course?ltik=${encodeURIComponent(launched.ltik!)}`);
  expect(page.status).toBe(403);

  expect(await operatorAudit()).toEqual([
    { action: 'registration.status', actor_role: 'operator', detail: { via: 'npm run platforms', changed: ['status'], status: 'active' } },
    {
      action: 'registration.status',
      actor_role: 'operator',
      detail: { via: 'npm run platforms', changed: ['status'], status: 'inactive' },
    },
  ]);
});

test('tool-wide on and off', async () => {
  const on = await run(['tool-wide', dynamic.id, 'on']);
  expect(on.code).toBe(0);
  expect(on.out).toContain('is now tool-wide');
  expect((await registrations().get(dynamic.id))?.toolWide).toBe(true);
  expect((await run(['list'])).out).toMatch(new RegExp(`^${dynamic.id}\\t.*\\tyes$`, 'm'));
  const off = await run(['tool-wide', dynamic.id, 'off']);
  expect(off.code).toBe(0);
  expect((await registrations().get(dynamic.id))?.toolWide).toBe(false);
  expect((await operatorAudit()).filter((a) => a.action === 'registration.tool_wide')).toHaveLength(2);
});

test('a registration from PLATFORMS_JSON can be changed, with a note that the next start applies the file again', async () => {
  const moodle = await registrations().find(stack.lms.platforms.moodle.issuer, stack.lms.platforms.moodle.clientId);
  const res = await run(['activate', moodle!.id]);
  expect(res.code).toBe(0);
  expect(res.out).toContain('was already active');
  expect(res.out).toContain('comes from PLATFORMS_JSON');
});

test.each([
  [[]],
  [['frobnicate']],
  [['list', 'extra']],
  [['activate']],
  [['activate', 'abc']],
  [['deactivate', '1', '2']],
  [['tool-wide', '1']],
  [['tool-wide', '1', 'maybe']],
])('bad usage %j: exit code 2 with the usage text, nothing changed', async (args) => {
  const before = await registrations().list();
  const res = await run(args as string[]);
  expect(res.code).toBe(2);
  expect(res.err).toContain(PLATFORMS_USAGE);
  expect(res.out).toBe('');
  expect(await registrations().list()).toEqual(before);
});

test('an unknown id: exit code 1 with a clear message', async () => {
  for (const args of [
    ['activate', '987654'],
    ['deactivate', '987654'],
    ['tool-wide', '987654', 'on'],
  ]) {
    const res = await run(args);
    expect(res).toEqual({ code: 1, out: '', err: 'There is no registration 987654. `npm run platforms -- list` shows them.\n' });
  }
});

test('without ENCRYPTION_KEY it is refused as bad usage; with a key that is not the tool’s, nothing is done', async () => {
  const missing = await run(['list'], { DATABASE_URL: databaseUrl, NODE_ENV: 'production' });
  expect(missing.code).toBe(2);
  expect(missing.err).toContain('ENCRYPTION_KEY: required');

  const before = await registrations().get(dynamic.id);
  const wrong = await run(['activate', dynamic.id], {
    DATABASE_URL: databaseUrl,
    ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64url'),
  });
  expect(wrong.code).toBe(1);
  expect(wrong.err).toContain('ENCRYPTION_KEY is not the key this tool’s database was written with');
  expect(await registrations().get(dynamic.id)).toEqual(before);
});
