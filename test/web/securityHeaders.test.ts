/**
 * The origins allowed to frame the tool include those the LMSs registered by Dynamic Registration were registered from:
 * a Canvas institution shows the tool from its own domain while its issuer is canvas.instructure.com. Only active
 * registrations count: a pending one (anyone may make one at /register) or an inactive one widens nothing.
 */
import { activeOrigins, registeredFromOrigins } from '../../src/web/securityHeaders';

test('each registration’s configuration address gives its origin; configured ones and odd values give none', () => {
  expect(
    registeredFromOrigins([
      { registration: { openidConfiguration: 'https://school.instructure.com/api/lti/security/openid-configuration' } },
      { registration: { openidConfiguration: 'http://127.0.0.1:8089/mod/lti/openid-configuration.php' } },
      { registration: null },
      { registration: { openidConfiguration: 'javascript:alert(1)' } },
      { registration: { openidConfiguration: 42 } },
    ]),
  ).toEqual(['https://school.instructure.com', 'http://127.0.0.1:8089']);
});

test('only active registrations give origins; a PLATFORMS_JSON platform is always active; a platform without a registration gives none', () => {
  const platform = (issuer: string, clientId: string, auth: string) => ({ issuer, clientId, authenticationEndpoint: auth });
  const registration = (issuer: string, clientId: string, status: string, openidConfiguration?: string) => ({
    issuer,
    clientId,
    status,
    registration: openidConfiguration ? { openidConfiguration } : null,
  });
  const origins = activeOrigins(
    [
      platform('https://file.example.edu', 'f', 'https://login.file.example.edu/auth'),
      platform('https://active.example.edu', 'a', 'https://active.example.edu/auth'),
      platform('https://pending.example.edu', 'p', 'https://pending-login.example.edu/auth'),
      platform('https://inactive.example.edu', 'i', 'https://inactive.example.edu/auth'),
      platform('https://orphan.example.edu', 'o', 'https://orphan.example.edu/auth'),
      // The same issuer as the active one, another client id: its own registration decides.
      platform('https://active.example.edu', 'other', 'https://other-login.example.edu/auth'),
    ],
    [
      registration('https://active.example.edu', 'a', 'active', 'https://school.active.example.edu/c'),
      registration('https://pending.example.edu', 'p', 'pending', 'https://pending-config.example.edu/c'),
      registration('https://inactive.example.edu', 'i', 'inactive', 'https://inactive-config.example.edu/c'),
      registration('https://active.example.edu', 'other', 'pending'),
    ],
    [{ issuer: 'https://file.example.edu', clientId: 'f' }],
  );
  expect([...new Set(origins)].sort()).toEqual([
    'https://active.example.edu',
    'https://file.example.edu',
    'https://login.file.example.edu',
    'https://school.active.example.edu',
  ]);
});
