import { sql } from 'kysely';
import {
  createPlatformSettingsRepository,
  createRegistrationStore,
  StoreError,
  type PlatformSettingsRepository,
  type Store,
} from '../../src/store';
import { loadConfig } from '../../src/config';
import { isIdentityStrategy } from '../../src/lti/identity';
import { thresholdProblems } from '../../src/risk';
import { migratedStore } from './helpers';

const SECRET = 'platform-settings-test-secret-0123456789';
const API_KEY = 'aik_v1_9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c';

let store: Store;
let repo: PlatformSettingsRepository;

beforeAll(async () => {
  store = await migratedStore('settings');
  repo = createPlatformSettingsRepository(store.db, { secret: SECRET });
});
afterAll(() => store.close());

async function rawTable(): Promise<string> {
  const { rows } = await sql<{ j: string }>`SELECT row_to_json(p)::text AS j FROM platform_settings p`.execute(store.db);
  return rows.map((r) => r.j).join('\n');
}

test('settings round-trip with defaults; the API key is not readable in the table nor in the settings', async () => {
  const saved = await repo.upsert({
    issuer: 'https://moodle.example.edu',
    clientId: 'm-client',
    displayName: 'Example Moodle',
    kind: 'moodle',
    apiKey: API_KEY,
  });
  expect(saved).toEqual({
    id: expect.stringMatching(/^\d+$/),
    issuer: 'https://moodle.example.edu',
    clientId: 'm-client',
    deploymentId: null,
    displayName: 'Example Moodle',
    kind: 'moodle',
    isnotaiBaseUrl: 'https://api.isnotai.com',
    hasApiKey: true,
    identityStrategy: 'sub',
    riskThresholds: { high: 0.7, elevated: 0.4 },
    studentVisibility: 'full',
    cacheTtlSeconds: 300,
    retentionDays: 365,
    // A registration upserted from configuration: active, the file's, any deployment.
    status: 'active',
    source: 'config',
    toolWide: false,
    deploymentIds: [],
    identityPattern: null,
    version: 1,
    registration: null,
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  });
  expect(JSON.stringify(saved)).not.toContain(API_KEY);
  expect(await repo.get('https://moodle.example.edu', 'm-client')).toEqual(saved);
  expect(await rawTable()).not.toContain(API_KEY);
  expect(await rawTable()).not.toContain('9f8e7d6c5b4a');
  expect(await repo.getApiKey('https://moodle.example.edu', 'm-client')).toBe(API_KEY);
});

test('a partial upsert changes only what it names; apiKey null removes the key', async () => {
  await repo.upsert({
    issuer: 'https://canvas.example.edu',
    clientId: '10000000000001',
    kind: 'canvas',
    displayName: 'Canvas',
    apiKey: API_KEY,
    identityStrategy: 'custom:canvas_user_id',
    riskThresholds: { high: 0.8, elevated: 0.5 },
    studentVisibility: 'summary',
    isnotaiBaseUrl: 'https://eu.api.isnotai.com/',
    cacheTtlSeconds: 60,
  });
  const updated = await repo.upsert({ issuer: 'https://canvas.example.edu', clientId: '10000000000001', displayName: 'Canvas (prod)' });
  expect(updated).toMatchObject({
    displayName: 'Canvas (prod)',
    kind: 'canvas',
    identityStrategy: 'custom:canvas_user_id',
    riskThresholds: { high: 0.8, elevated: 0.5 },
    studentVisibility: 'summary',
    isnotaiBaseUrl: 'https://eu.api.isnotai.com',
    cacheTtlSeconds: 60,
    hasApiKey: true,
  });
  expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(updated.createdAt.getTime());
  await repo.upsert({ issuer: 'https://canvas.example.edu', clientId: '10000000000001', apiKey: null });
  expect(await repo.getApiKey('https://canvas.example.edu', '10000000000001')).toBeNull();
  expect((await repo.get('https://canvas.example.edu', '10000000000001'))?.hasApiKey).toBe(false);
});

test("a deployment's own settings win over the platform-wide ones; other deployments fall back", async () => {
  const iss = 'https://multi.example.edu';
  await repo.upsert({ issuer: iss, clientId: 'c', displayName: 'Platform-wide', apiKey: 'aik_platform_key' });
  await repo.upsert({ issuer: iss, clientId: 'c', deploymentId: 'dep-2', displayName: 'Deployment 2', apiKey: 'aik_deployment_2_key' });
  expect((await repo.get(iss, 'c', 'dep-2'))?.displayName).toBe('Deployment 2');
  expect(await repo.getApiKey(iss, 'c', 'dep-2')).toBe('aik_deployment_2_key');
  expect((await repo.get(iss, 'c', 'dep-1'))?.displayName).toBe('Platform-wide');
  expect(await repo.getApiKey(iss, 'c', 'dep-1')).toBe('aik_platform_key');
  expect(await repo.get(iss, 'other-client')).toBeUndefined();
  expect(await repo.getApiKey(iss, 'other-client')).toBeNull();
});

test('invalid settings are refused with a message naming the field', async () => {
  const base = { issuer: 'https://bad.example.edu', clientId: 'c' };
  for (const [input, field] of [
    [{ ...base, kind: 'blackboard' }, 'kind'],
    [{ ...base, identityStrategy: 'email' }, 'identityStrategy'],
    [{ ...base, studentVisibility: 'everything' }, 'studentVisibility'],
    [{ ...base, isnotaiBaseUrl: 'ftp://x' }, 'isnotaiBaseUrl'],
    [{ ...base, riskThresholds: { high: 1.5, elevated: 0.4 } }, 'riskThresholds.high'],
    [{ ...base, cacheTtlSeconds: -1 }, 'cacheTtlSeconds'],
    [{ ...base, retentionDays: 0 }, 'retentionDays'],
    [{ ...base, retentionDays: 3651 }, 'retentionDays'],
  ] as const) {
    await expect(repo.upsert(input as never)).rejects.toThrow(
      expect.objectContaining({ code: 'invalid_settings', message: expect.stringContaining(field) }),
    );
  }
  // Thresholds are checked against each other, and as a pair: one line alone is not completed from the stored one.
  await repo.upsert({ ...base, riskThresholds: { high: 0.7, elevated: 0.4 } });
  const refused = await repo.upsert({ ...base, riskThresholds: { high: 0.3, elevated: 0.4 } }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(StoreError);
  const below = 'riskThresholds.elevated: "elevated" (0.4) must be below "high" (0.3)';
  expect(refused).toMatchObject({ code: 'invalid_settings', message: expect.stringContaining(below) });
  const alone = await repo.upsert({ ...base, riskThresholds: { high: 0.9 } as never }).catch((e: unknown) => e);
  const missing = 'riskThresholds.elevated: "elevated" must be a finite number';
  expect(alone).toMatchObject({ code: 'invalid_settings', message: expect.stringContaining(missing) });
  expect((await repo.get(base.issuer, base.clientId))?.riskThresholds).toEqual({ high: 0.7, elevated: 0.4 });
});

test("an encrypted key copied onto another platform's row, or read with another secret, is unreadable", async () => {
  await repo.upsert({ issuer: 'https://a.example.edu', clientId: 'a', apiKey: 'aik_key_of_a' });
  await repo.upsert({ issuer: 'https://b.example.edu', clientId: 'b', apiKey: 'aik_key_of_b' });
  await sql`UPDATE platform_settings SET api_key_encrypted = (SELECT api_key_encrypted FROM platform_settings WHERE issuer = 'https://a.example.edu')
            WHERE issuer = 'https://b.example.edu'`.execute(store.db);
  await expect(repo.getApiKey('https://b.example.edu', 'b')).rejects.toMatchObject({ code: 'secret_unreadable' });
  const otherSecret = createPlatformSettingsRepository(store.db, { secret: 'a-different-secret-that-is-long-enough' });
  await expect(otherSecret.getApiKey('https://a.example.edu', 'a')).rejects.toMatchObject({ code: 'secret_unreadable' });
  expect(() => createPlatformSettingsRepository(store.db, { secret: 'short' })).toThrow(
    expect.objectContaining({ code: 'secret_too_short' }),
  );
});

test('one rule for thresholds: PLATFORMS_JSON, the settings store, the risk model and the database agree', async () => {
  const platform = {
    name: 'M',
    issuer: 'https://m.example.edu',
    clientId: 'c',
    authenticationEndpoint: 'https://m/auth',
    accesstokenEndpoint: 'https://m/token',
    jwksUrl: 'https://m/certs',
    isnotai: { apiKey: 'aik_v1_x' },
  };
  const cases = [
    { high: 0.9, elevated: 0.4 },
    { high: 1, elevated: 0.01 },
    { high: 0.5, elevated: 0 },
    { high: 0.5, elevated: 0.5 },
    { high: 1.2, elevated: 0.4 },
    { high: 0.7, elevated: -0.1 },
    // One value alone: the configuration refused it while the store filled in the other line.
    { high: 0.9 },
    { elevated: 0.3 },
  ] as Array<{ high?: number; elevated?: number }>;
  const verdicts = [];
  for (const [i, t] of cases.entries()) {
    const byRiskModel = thresholdProblems(t).length === 0;
    let byConfig = true;
    try {
      loadConfig({ PLATFORMS_JSON: JSON.stringify([{ ...platform, thresholds: t }]) });
    } catch {
      byConfig = false;
    }
    const byStore = await repo.upsert({ issuer: `https://agree-${i}.example.edu`, clientId: 'c', riskThresholds: t as never }).then(
      () => true,
      () => false,
    );
    const byDatabase =
      await sql`INSERT INTO platform_settings (issuer, client_id, deployment_id, display_name, kind, isnotai_base_url, identity_strategy, risk_high, risk_elevated)
      VALUES (${`https://raw-${i}.example.edu`}, 'c', '', 'x', 'other', 'https://api.isnotai.com', 'sub',
        ${t.high ?? null}, ${t.elevated ?? null})`
        .execute(store.db)
        .then(
          () => true,
          () => false,
        );
    verdicts.push({ t, byRiskModel, byConfig, byStore, byDatabase });
  }
  expect(verdicts.map((v) => [v.t, v.byConfig, v.byStore, v.byDatabase])).toEqual(
    verdicts.map((v) => [v.t, v.byRiskModel, v.byRiskModel, v.byRiskModel]),
  );
  expect(verdicts.map((v) => v.byRiskModel)).toEqual([true, true, false, false, false, false, false, false]);
});

test('one rule for identity mappings: src/lti/identity.ts, PLATFORMS_JSON, the settings store and the database agree', async () => {
  const platform = {
    name: 'M',
    issuer: 'https://m.example.edu',
    clientId: 'c',
    authenticationEndpoint: 'https://m/auth',
    accesstokenEndpoint: 'https://m/token',
    jwksUrl: 'https://m/certs',
    isnotai: { apiKey: 'aik_v1_x' },
  };
  const cases: Array<[string, boolean]> = [
    ['sub', true],
    ['lis_person_sourcedid', true],
    ['lti11_legacy_user_id', true],
    ['custom:canvas_user_id', true],
    ['custom:org.example-id_2', true],
    // The configuration refused a "$" the store took, and took a name of any length the store refused.
    ['custom:a$b', true],
    [`custom:${'x'.repeat(100)}`, true],
    [`custom:${'x'.repeat(101)}`, false],
    ['custom:', false],
    ['custom:a b', false],
    ['custom:a/b', false],
    ['email', false],
    ['SUB', false],
    [' sub', false],
    ['custom:ab\n', false],
  ];
  const verdicts = [];
  for (const [i, [identity]] of cases.entries()) {
    let byConfig = true;
    try {
      loadConfig({ PLATFORMS_JSON: JSON.stringify([{ ...platform, identity }]) });
    } catch {
      byConfig = false;
    }
    const byStore = await repo.upsert({ issuer: `https://identity-${i}.example.edu`, clientId: 'c', identityStrategy: identity }).then(
      () => true,
      () => false,
    );
    const byDatabase = await sql`INSERT INTO platform_settings
        (issuer, client_id, deployment_id, display_name, kind, isnotai_base_url, identity_strategy)
      VALUES (${`https://raw-identity-${i}.example.edu`}, 'c', '', 'x', 'other', 'https://api.isnotai.com', ${identity})`
      .execute(store.db)
      .then(
        () => true,
        () => false,
      );
    verdicts.push([identity, isIdentityStrategy(identity), byConfig, byStore, byDatabase]);
  }
  expect(verdicts).toEqual(cases.map(([identity, ok]) => [identity, ok, ok, ok, ok]));
});

test('PLATFORMS_JSON wins: a registration made by the LMS that the file later names becomes the operator’s, active', async () => {
  const registrations = createRegistrationStore(store.db, { secret: SECRET });
  // What ltijs's registerPlatform stores before the registration is made.
  await sql`INSERT INTO lti_platform (platform_url, client_id, kid) VALUES ('https://lms.example.edu', 'dyn-1', 'kid-dyn-1')`.execute(
    store.db,
  );
  const made = await registrations.createDynamic({
    issuer: 'https://lms.example.edu',
    clientId: 'dyn-1',
    displayName: 'Moodle at lms.example.edu',
    kind: 'moodle',
    deploymentIds: ['7'],
    isnotaiBaseUrl: 'https://api.isnotai.com',
    identityStrategy: 'sub',
    status: 'pending',
    registration: { openidConfiguration: 'https://lms.example.edu/mod/lti/openid-configuration.php' },
    audit: {
      platformIss: 'https://lms.example.edu',
      platformClientId: 'dyn-1',
      actorUserId: 'lms',
      actorRole: 'dynamic_registration',
      action: 'registration.create',
    },
  });
  expect(made).toMatchObject({ source: 'dynamic', status: 'pending' });
  // What src/bootstrap.ts writes for a PLATFORMS_JSON entry at start.
  await repo.upsert({
    issuer: 'https://lms.example.edu',
    clientId: 'dyn-1',
    displayName: 'Our Moodle',
    apiKey: API_KEY,
    source: 'config',
    status: 'active',
    deploymentIds: ['7', '8'],
  });
  expect(await registrations.get(made.id)).toMatchObject({
    id: made.id,
    source: 'config',
    status: 'active',
    displayName: 'Our Moodle',
    hasApiKey: true,
    deploymentIds: ['7', '8'],
  });
  // ltijs's own status row (read at login) follows, as src/bootstrap.ts syncs it after applying the file.
  expect(await ltijsActive()).toBe(false);
  await registrations.syncLtijsStatus('https://lms.example.edu', 'dyn-1');
  expect(await ltijsActive()).toBe(true);
});

async function ltijsActive(): Promise<boolean | undefined> {
  const { rows } = await sql<{ active: boolean }>`SELECT s.active FROM lti_platform_status s JOIN lti_platform p ON p.kid = s.id
    WHERE p.platform_url = 'https://lms.example.edu' AND p.client_id = 'dyn-1'`.execute(store.db);
  return rows[0]?.active;
}
