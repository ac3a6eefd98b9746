/**
 * The origins allowed to frame the tool include those the LMSs registered by Dynamic Registration were registered from:
 * a Canvas institution shows the tool from its own domain while its issuer is canvas.instructure.com.
 */
import { registeredFromOrigins } from '../../src/web/securityHeaders';

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
