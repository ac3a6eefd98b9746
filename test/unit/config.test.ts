import { ConfigError, loadConfig } from '../../src/config';

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
