/**
 * The pure parts of LTI Dynamic Registration (src/lti/dynamicRegistration.ts): which configuration hosts are accepted
 * for an issuer (Instructure's hosted Canvas the one named exception), what the tool asks a Moodle and a Canvas for,
 * and the client id a registration token announces, and which addresses count as public (the exchange connects to no
 * other without ALLOW_PRIVATE_LMS_HOSTS). The exchange itself is tested over HTTP (test/integration/dynamic-registration.test.ts).
 */
import {
  CANVAS_PRIVACY_LEVEL,
  checkConfigurationHosts,
  isPublicAddress,
  NRPS_SCOPE,
  readRegistrationQuery,
  RegistrationRefusal,
  registrationTokenSubject,
  TOOL_CONFIGURATION,
  toolRegistrationRequest,
  type PlatformConfiguration,
} from '../../src/lti/dynamicRegistration';

function platform(issuer: string, registrationEndpoint: string): PlatformConfiguration {
  return {
    issuer,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    registrationEndpoint,
    authorizationServer: null,
    productFamilyCode: 'moodle',
    version: null,
  };
}

function refusalCode(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (err instanceof RegistrationRefusal) return err.code;
    throw err;
  }
}

describe('configuration hosts', () => {
  test.each([
    ['the issuer’s own host', 'https://moodle.example.edu/mod/lti/openid-configuration.php', 'https://moodle.example.edu', null],
    ['the issuer’s host, explicit default port', 'https://moodle.example.edu:443/c', 'https://moodle.example.edu', null],
    ['a path below the issuer', 'http://127.0.0.1:8089/moodle/c', 'http://127.0.0.1:8089/moodle', null],
    ['another host', 'https://evil.example/c', 'https://moodle.example.edu', 'registration_issuer_mismatch'],
    ['another port', 'http://127.0.0.1:9999/c', 'http://127.0.0.1:8089', 'registration_issuer_mismatch'],
    ['http against an https issuer', 'http://moodle.example.edu/c', 'https://moodle.example.edu', 'registration_issuer_mismatch'],
    ['a subdomain', 'https://x.moodle.example.edu/c', 'https://moodle.example.edu', 'registration_issuer_mismatch'],
    [
      'hosted Canvas, a school’s instructure.com host',
      'https://school.instructure.com/api/lti/security/openid-configuration',
      'https://canvas.instructure.com',
      null,
    ],
    ['hosted Canvas test, a school’s host', 'https://school.test.instructure.com/c', 'https://canvas.test.instructure.com', null],
    [
      'the Canvas issuer from a host that is not Instructure’s',
      'https://canvas.evil.example/c',
      'https://canvas.instructure.com',
      'registration_issuer_mismatch',
    ],
    [
      'a look-alike of instructure.com',
      'https://school.notinstructure.com/c',
      'https://canvas.instructure.com',
      'registration_issuer_mismatch',
    ],
    ['hosted Canvas over http', 'http://school.instructure.com/c', 'https://canvas.instructure.com', 'registration_issuer_mismatch'],
  ])('%s', (_name, configurationUrl, issuer, code) => {
    const url = new URL(configurationUrl);
    expect(refusalCode(() => checkConfigurationHosts(url, platform(issuer, `${url.origin}/register`)))).toBe(code);
  });

  test('the registration endpoint must be on the configuration’s host', () => {
    const url = new URL('https://moodle.example.edu/c');
    expect(
      refusalCode(() => checkConfigurationHosts(url, platform('https://moodle.example.edu', 'https://moodle.example.edu/r'))),
    ).toBeNull();
    expect(refusalCode(() => checkConfigurationHosts(url, platform('https://moodle.example.edu', 'http://10.0.0.5/r')))).toBe(
      'registration_endpoint_mismatch',
    );
  });
});

describe('the authorization, token and key set endpoints', () => {
  const canvasCloud = new URL('https://school.instructure.com/api/lti/security/openid-configuration');
  const withEndpoint = (base: PlatformConfiguration, field: 'authorizationEndpoint' | 'tokenEndpoint' | 'jwksUri', address: string) => ({
    ...base,
    [field]: address,
  });

  test.each(['authorizationEndpoint', 'tokenEndpoint', 'jwksUri'] as const)(
    '%s on another host than the configuration is refused',
    (field) => {
      const url = new URL('https://moodle.example.edu/c');
      const base = platform('https://moodle.example.edu', 'https://moodle.example.edu/r');
      expect(refusalCode(() => checkConfigurationHosts(url, base))).toBeNull();
      expect(refusalCode(() => checkConfigurationHosts(url, withEndpoint(base, field, 'https://evil.example/x')))).toBe(
        'registration_endpoint_mismatch',
      );
      expect(refusalCode(() => checkConfigurationHosts(url, withEndpoint(base, field, 'https://moodle.example.edu:8443/x')))).toBe(
        'registration_endpoint_mismatch',
      );
    },
  );

  test('hosted Canvas: Instructure’s login host and its own hosts are accepted, no other', () => {
    const base = platform('https://canvas.instructure.com', `${canvasCloud.origin}/api/lti/registrations`);
    const sso = {
      ...base,
      authorizationEndpoint: 'https://sso.canvaslms.com/api/lti/authorize_redirect',
      tokenEndpoint: 'https://sso.canvaslms.com/login/oauth2/token',
      jwksUri: 'https://sso.canvaslms.com/api/lti/security/jwks',
    };
    expect(refusalCode(() => checkConfigurationHosts(canvasCloud, sso))).toBeNull();
    expect(refusalCode(() => checkConfigurationHosts(canvasCloud, base))).toBeNull();
    for (const address of ['https://sso.canvaslms.com.evil.example/a', 'http://sso.canvaslms.com/a', 'https://evil.example/a']) {
      expect({ address, code: refusalCode(() => checkConfigurationHosts(canvasCloud, withEndpoint(sso, 'jwksUri', address))) }).toEqual({
        address,
        code: 'registration_endpoint_mismatch',
      });
    }
    // Not hosted Canvas: the login host is just another host.
    const own = new URL('https://canvas.school.edu/c');
    const selfHosted = platform('https://canvas.school.edu', 'https://canvas.school.edu/r');
    expect(
      refusalCode(() => checkConfigurationHosts(own, withEndpoint(selfHosted, 'authorizationEndpoint', 'https://sso.canvaslms.com/a'))),
    ).toBe('registration_endpoint_mismatch');
  });
});

describe('public addresses (the only ones the exchange connects to without ALLOW_PRIVATE_LMS_HOSTS)', () => {
  test.each([
    ['8.8.8.8', true],
    ['172.32.0.1', true],
    ['2001:4860:4860::8888', true],
    ['127.0.0.1', false],
    ['127.255.0.9', false],
    ['::1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['fd12:3456::1', false],
    ['100.64.0.1', false],
    ['100.127.255.254', false],
    ['0.0.0.0', false],
    ['0.1.2.3', false],
    ['::', false],
    ['224.0.0.1', false],
    ['ff02::1', false],
    ['255.255.255.255', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:169.254.169.254', false],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::7f00:1', false],
    ['fec0::1', false],
    ['not an address', false],
  ])('%s: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

describe('what the tool asks for', () => {
  test('of a Moodle: its URLs, Names and Roles only, the domain with its port, both messages, no custom parameter', () => {
    const body = toolRegistrationRequest('http://127.0.0.1:3190', { productFamilyCode: 'moodle' });
    expect(body).toMatchObject({
      application_type: 'web',
      response_types: ['id_token'],
      grant_types: ['implicit', 'client_credentials'],
      initiate_login_uri: 'http://127.0.0.1:3190/login',
      redirect_uris: ['http://127.0.0.1:3190/'],
      jwks_uri: 'http://127.0.0.1:3190/keys',
      token_endpoint_auth_method: 'private_key_jwt',
      scope: NRPS_SCOPE,
    });
    const tool = body[TOOL_CONFIGURATION] as Record<string, unknown>;
    expect(tool.domain).toBe('127.0.0.1:3190');
    expect(tool.target_link_uri).toBe('http://127.0.0.1:3190/');
    expect(tool.claims).toEqual(['iss', 'sub', 'name', 'given_name', 'family_name', 'email']);
    expect(tool.messages).toEqual([
      { type: 'LtiResourceLinkRequest', target_link_uri: 'http://127.0.0.1:3190/' },
      { type: 'LtiDeepLinkingRequest', target_link_uri: 'http://127.0.0.1:3190/', label: expect.any(String) },
    ]);
    expect(tool.custom_parameters).toBeUndefined();
  });

  test('of a Canvas: also canvas_user_id=$Canvas.user.id and the public privacy level; a default port is left out of the domain', () => {
    const tool = toolRegistrationRequest('https://integrity.example.edu', { productFamilyCode: 'canvas' })[TOOL_CONFIGURATION] as Record<
      string,
      unknown
    >;
    expect(tool.domain).toBe('integrity.example.edu');
    expect(tool.custom_parameters).toEqual({ canvas_user_id: '$Canvas.user.id' });
    expect(tool[CANVAS_PRIVACY_LEVEL]).toBe('public');
  });
});

describe('the registration token', () => {
  const jwt = (payload: unknown) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
  test.each([
    [jwt({ sub: 'VEapiWgZxhBB6pc', scope: 'reg' }), 'VEapiWgZxhBB6pc'],
    [jwt({ scope: 'reg' }), null],
    [jwt({ sub: 42 }), null],
    [jwt({ sub: 'x'.repeat(300) }), null],
    ['an opaque token', null],
    [null, null],
  ])('%s announces %s', (token, sub) => {
    expect(registrationTokenSubject(token)).toBe(sub);
  });
});

test('the query: an http(s) configuration URL, an optional token', () => {
  expect(readRegistrationQuery({ openid_configuration: 'https://lms.example/c', registration_token: '' })).toEqual({
    openidConfiguration: new URL('https://lms.example/c'),
    registrationToken: null,
  });
  expect(refusalCode(() => readRegistrationQuery({ openid_configuration: ['https://a/c', 'https://b/c'] }))).toBe(
    'registration_request_invalid',
  );
  expect(refusalCode(() => readRegistrationQuery({ openid_configuration: 'ftp://lms.example/c' }))).toBe('registration_request_invalid');
});
