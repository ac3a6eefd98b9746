import { ConfigError, loadConfig } from '../../src/config';
import { DEFAULT_RETENTION_DAYS } from '../../src/store/retention';

describe('loadConfig', () => {
  test('defaults suit the embedded demo', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.tokenMaxAgeSeconds).toBe(60);
    expect(c.isnotaiBaseUrl).toBe('https://api.isnotai.com');
  });

  test('production lists every missing setting in one message', () => {
    let err: unknown;
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'eighty' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    expect(msg).toMatch(/PORT/);
    expect(msg).toMatch(/DATABASE_URL: required in production/);
    expect(msg).toMatch(/ENCRYPTION_KEY: required in production/);
    expect(msg).toMatch(/TOOL_URL: required in production/);
  });

  test('platform registrations are validated field by field', () => {
    const bad = JSON.stringify([
      {
        name: 'Moodle',
        issuer: 'https://m.example.edu',
        clientId: 'abc',
        authenticationEndpoint: 'javascript:alert(1)',
        accesstokenEndpoint: 'https://m/token',
        jwksUrl: 'https://m/certs',
        isnotai: { apiKey: 'secret' },
      },
    ]);
    expect(() => loadConfig({ PLATFORMS_JSON: bad })).toThrow(
      /PLATFORMS_JSON\.0\.authenticationEndpoint[\s\S]*PLATFORMS_JSON\.0\.isnotai\.apiKey/,
    );
    expect(() => loadConfig({ PLATFORMS_JSON: '{nope' })).toThrow(/PLATFORMS_JSON: not valid JSON/);
  });

  test('an identity mapping the tool cannot apply is refused with the reason; the four of docs/product.md "Identity" are accepted', () => {
    const p = {
      name: 'M',
      issuer: 'https://m.example.edu',
      clientId: 'abc',
      authenticationEndpoint: 'https://m/auth',
      accesstokenEndpoint: 'https://m/token',
      jwksUrl: 'https://m/certs',
      isnotai: { apiKey: 'aik_v1_x' },
    };
    expect(() => loadConfig({ PLATFORMS_JSON: JSON.stringify([{ ...p, identity: 'email' }]) })).toThrow(
      /identity: must be sub, lis_person_sourcedid, lti11_legacy_user_id or custom/,
    );
    expect(() => loadConfig({ PLATFORMS_JSON: JSON.stringify([{ ...p, identity: 'custom:' }]) })).toThrow(/identity: must be/);
    for (const identity of ['sub', 'lis_person_sourcedid', 'lti11_legacy_user_id', 'custom:canvas_user_id']) {
      expect(loadConfig({ PLATFORMS_JSON: JSON.stringify([{ ...p, identity }]) }).platforms[0]?.identity).toBe(identity);
    }
  });

  test('per-platform thresholds and identity pattern are read, and refused with the field and the reason', () => {
    const p = {
      name: 'M',
      issuer: 'https://m.example.edu',
      clientId: 'abc',
      authenticationEndpoint: 'https://m/auth',
      accesstokenEndpoint: 'https://m/token',
      jwksUrl: 'https://m/certs',
      isnotai: { apiKey: 'aik_v1_x' },
    };
    const ok = loadConfig({
      PLATFORMS_JSON: JSON.stringify([{ ...p, thresholds: { high: 0.9, elevated: 0.5 }, identityPattern: 'S[0-9]{6}' }]),
    }).platforms[0];
    expect(ok?.thresholds).toEqual({ high: 0.9, elevated: 0.5 });
    expect(ok?.identityPattern).toBe('S[0-9]{6}');
    expect(() => loadConfig({ PLATFORMS_JSON: JSON.stringify([{ ...p, thresholds: { high: 0.4, elevated: 0.6 } }]) })).toThrow(
      /PLATFORMS_JSON\.0\.thresholds\.elevated: "elevated" \(0\.6\) must be below "high" \(0\.4\)/,
    );
    expect(() => loadConfig({ PLATFORMS_JSON: JSON.stringify([{ ...p, thresholds: { high: 0.9 } }]) })).toThrow(
      /PLATFORMS_JSON\.0\.thresholds\.elevated: "elevated" must be a finite number/,
    );
    expect(() => loadConfig({ PLATFORMS_JSON: JSON.stringify([{ ...p, identityPattern: '[0-9' }]) })).toThrow(
      /PLATFORMS_JSON\.0\.identityPattern: is not a valid regular expression/,
    );
  });

  test('a platform’s retention period is 1 to 3650 whole days, refused at start-up naming the field; absent, the tool keeps 365', () => {
    const p = {
      name: 'M',
      issuer: 'https://m.example.edu',
      clientId: 'abc',
      authenticationEndpoint: 'https://m/auth',
      accesstokenEndpoint: 'https://m/token',
      jwksUrl: 'https://m/certs',
      isnotai: { apiKey: 'aik_v1_x' },
    };
    const load = (retentionDays: unknown) => loadConfig({ PLATFORMS_JSON: JSON.stringify([{ ...p, retentionDays }]) });
    for (const bad of [0, 'x', 4000, 30.5, -1, null]) {
      expect(() => load(bad)).toThrow(ConfigError);
      expect(() => load(bad)).toThrow(/PLATFORMS_JSON\.0\.retentionDays: must be a whole number of days from 1 to 3650/);
    }
    for (const ok of [1, 30, 365, 3650]) expect(load(ok).platforms[0]?.retentionDays).toBe(ok);
    // Absent from the entry: no value here, and the tool registers the default (src/bootstrap.ts, DEFAULT_RETENTION_DAYS).
    expect(loadConfig({ PLATFORMS_JSON: JSON.stringify([p]) }).platforms[0]?.retentionDays).toBeUndefined();
    expect(DEFAULT_RETENTION_DAYS).toBe(365);
  });

  test('the retention sweep runs hourly unless RETENTION_SWEEP_INTERVAL_MS says otherwise (1 s to a day)', () => {
    expect(loadConfig({}).retentionSweepIntervalMs).toBe(3_600_000);
    expect(loadConfig({ RETENTION_SWEEP_INTERVAL_MS: '60000' }).retentionSweepIntervalMs).toBe(60_000);
    expect(() => loadConfig({ RETENTION_SWEEP_INTERVAL_MS: '10' })).toThrow(/RETENTION_SWEEP_INTERVAL_MS/);
  });

  test('registrations made by an LMS are pending and reach only public hosts unless the operator says otherwise', () => {
    const base = { PLATFORMS_JSON: '[]' };
    expect(loadConfig(base)).toMatchObject({ autoActivate: false, allowPrivateLmsHosts: false });
    expect(loadConfig({ ...base, AUTO_ACTIVATE: 'true', ALLOW_PRIVATE_LMS_HOSTS: 'yes' })).toMatchObject({
      autoActivate: true,
      allowPrivateLmsHosts: true,
    });
    expect(() => loadConfig({ ...base, AUTO_ACTIVATE: 'maybe', ALLOW_PRIVATE_LMS_HOSTS: 'sure' })).toThrow(
      /AUTO_ACTIVATE: [\s\S]*ALLOW_PRIVATE_LMS_HOSTS: /,
    );
  });

  test('the error message never echoes a secret value', () => {
    try {
      loadConfig({ ENCRYPTION_KEY: 'short-secret-value' });
      throw new Error('expected failure');
    } catch (e) {
      expect((e as Error).message).toMatch(/ENCRYPTION_KEY: must be at least 32/);
      expect((e as Error).message).not.toContain('short-secret-value');
    }
  });
});
