/**
 * LTI Dynamic Registration over real HTTP (docs/product.md "Installing the tool"): the LMS emulator's Moodle registers
 * the tool (GET /register → the tool reads its configuration, posts its registration, stores it pending), and the
 * refusals, each a page with its status and code and nothing stored: a configuration served from another host than
 * its issuer, a registration endpoint elsewhere, a takeover of an issuer and client id already registered (by the
 * token's announced client id before posting, and by the platform's answer after), the LMS's own bare-string
 * refusals shown as its answer, and unusable configurations. Hostile platforms are small node http servers here.
 *
 * The exchange connects only to public addresses unless ALLOW_PRIVATE_LMS_HOSTS is set (the dev stack sets it: the
 * emulator and these servers are on 127.0.0.1): without it a loopback address, literal or resolved, is refused before
 * any connection. A pending registration widens no page's CSP until it is activated; at most
 * MAX_PENDING_REGISTRATIONS wait at once.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { request } from 'undici';
import { LtiBrowser } from '../../src/dev/lms';
import { startStack, type Stack } from '../../src/dev/stack';
import { MAX_PENDING_REGISTRATIONS, NRPS_SCOPE, TOOL_CONFIGURATION } from '../../src/lti/dynamicRegistration';
import { createRegistrationStore } from '../../src/store';
import { freshDatabaseUrl } from '../support/db';
import { capturingLogger, textOf } from '../support/stack';

jest.setTimeout(60_000);

/** A platform of the test's own: it serves what `answer` says and records what it was sent. */
interface Hostile {
  url: string;
  origin: string;
  received: Array<{ method: string; path: string; authorization?: string; body: string }>;
  answer: (req: http.IncomingMessage, body: string) => { status: number; type?: string; body: string; headers?: Record<string, string> };
  close(): Promise<void>;
}

async function hostilePlatform(): Promise<Hostile> {
  const h: Hostile = {
    url: '',
    origin: '',
    received: [],
    answer: () => ({ status: 404, body: 'not found' }),
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      h.received.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, body });
      const a = h.answer(req, body);
      res.writeHead(a.status, { 'content-type': a.type ?? 'application/json', ...(a.headers ?? {}) });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  h.url = `http://127.0.0.1:${port}`;
  h.origin = h.url;
  h.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return h;
}

/** A configuration as Moodle serves it, with the given issuer and endpoints. */
function configuration(issuer: string, base: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${base}/auth`,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/certs`,
    registration_endpoint: `${base}/register-tool`,
    scopes_supported: [NRPS_SCOPE, 'openid'],
    claims_supported: ['sub', 'iss', 'name', 'email'],
    'https://purl.imsglobal.org/spec/lti-platform-configuration': {
      product_family_code: 'moodle',
      version: '4.4.12+ (Build: 20251212)',
      messages_supported: [{ type: 'LtiResourceLinkRequest' }, { type: 'LtiDeepLinkingRequest' }],
    },
    ...overrides,
  };
}

/** An unsigned JWT (only its payload is read: the tool reads a token's `sub` without trusting it). */
function unsignedJwt(payload: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

const VICTIM_CLIENT = 'victim-client';
const VICTIM_KEY = 'aik_v1_victim_secret_never_shown';

let victim: Hostile;
let stack: Stack;
let databaseUrl: string;
let encryptionKey: string;
let lines: string[];

beforeAll(async () => {
  // The victim: an LMS registered from PLATFORMS_JSON, whose host a hostile platform also answers on.
  victim = await hostilePlatform();
  databaseUrl = await freshDatabaseUrl('dynreg');
  encryptionKey = crypto.randomBytes(32).toString('base64url');
  const captured = capturingLogger('info');
  lines = captured.lines;
  stack = await startStack({
    databaseUrl,
    logger: captured.logger,
    encryptionKey,
    env: {
      LOG_LEVEL: 'info',
      PLATFORMS_JSON: JSON.stringify([
        {
          name: 'Victim Moodle',
          kind: 'moodle',
          issuer: victim.origin,
          clientId: VICTIM_CLIENT,
          deploymentIds: ['1'],
          authenticationEndpoint: `${victim.origin}/mod/lti/auth.php`,
          accesstokenEndpoint: `${victim.origin}/mod/lti/token.php`,
          jwksUrl: `${victim.origin}/mod/lti/certs.php`,
          isnotai: { apiKey: VICTIM_KEY },
        },
      ]),
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await victim?.close();
});

beforeEach(() => {
  victim.received.length = 0;
  victim.answer = () => ({ status: 404, body: 'not found' });
});

const registrations = () => createRegistrationStore(stack.tool.store.db, { secret: encryptionKey });

async function register(query: Record<string, string>, init: { accept?: string; method?: 'GET' | 'POST' } = {}) {
  const res = await request(`${stack.tool.url}/register?${new URLSearchParams(query).toString()}`, {
    method: init.method ?? 'GET',
    headers: { accept: init.accept ?? 'text/html' },
  });
  const html = await res.body.text();
  return { status: res.statusCode, html, text: textOf(html), headers: res.headers };
}

function expectCode(html: string, code: string): void {
  expect(html).toContain(`<code>${code}</code>`);
}

/** The sources of one directive of an ordinary page's CSP (the 401 page of /me, as any page without a launch). */
async function ordinaryPolicy(url: string, directive: string): Promise<string[]> {
  const res = await request(`${url}/me`, { headers: { accept: 'text/html' } });
  await res.body.text();
  const policy = String(res.headers['content-security-policy']);
  return (new RegExp(`${directive} ([^;]*)`).exec(policy)?.[1] ?? '').split(' ');
}

async function ltijsPlatforms(): Promise<Array<{ platform_url: string; client_id: string }>> {
  return (
    await sql<{
      platform_url: string;
      client_id: string;
    }>`SELECT platform_url, client_id FROM lti_platform ORDER BY platform_url, client_id`.execute(stack.tool.store.db)
  ).rows;
}

async function platformStatus(issuer: string, clientId: string): Promise<boolean | null> {
  const { rows } = await sql<{ active: boolean }>`
    SELECT s.active FROM lti_platform_status s JOIN lti_platform p ON p.kid = s.id
    WHERE p.platform_url = ${issuer} AND p.client_id = ${clientId}`.execute(stack.tool.store.db);
  return rows[0]?.active ?? null;
}

describe('registration by the LMS emulator’s Moodle', () => {
  let clientId: string;
  let toolTypeId: string;
  let registrationToken: string;

  test('registers the tool pending, says what was registered, and posts the close message', async () => {
    const admin = new LtiBrowser({ lmsUrl: stack.lms.url });
    const res = await admin.registerTool(`${stack.tool.url}/register`);
    expect(res.status).toBe(200);
    expect(res.toolType).not.toBeNull();
    clientId = res.toolType!.clientId;
    toolTypeId = res.toolType!.id;
    registrationToken = res.registrationToken!;
    expect(clientId).toBe(res.clientId);

    const text = textOf(res.html);
    expect(text).toContain('The tool is registered with Moodle at');
    expect(text).toContain('Status: pending: the tool’s operator activates it');
    expect(res.html).toContain(`<code data-testid="client-id">${clientId}</code>`);
    expect(text).toContain(`Deployment id ${toolTypeId}`);
    expect(text).toContain(NRPS_SCOPE);
    expect(text).toContain('adds the isnotai API key in its Settings');
    expect(res.html).toContain('<script src="/assets/lti-close.js"></script>');
    expect(res.html).toContain('id="lti-close"');

    // Its CSP: the LMS that shows it may frame it, and its two scripts may run (and nothing else).
    const policy = String(res.headers['content-security-policy']);
    const issuer = stack.lms.platforms.moodle.issuer;
    expect(policy).toContain(new URL(issuer).origin);
    const scripts = /script-src ([^;]*)/.exec(policy)?.[1]?.split(' ').sort();
    expect(scripts).toEqual([`${stack.tool.url}/assets/frame-resize.js`, `${stack.tool.url}/assets/lti-close.js`]);
    expect(/frame-ancestors ([^;]*)/.exec(policy)?.[1]).toContain(new URL(stack.lms.url).origin);

    // Stored: pending, made by Dynamic Registration, with the deployment the LMS created, no API key.
    const stored = await registrations().find(issuer, clientId);
    expect(stored).toMatchObject({
      status: 'pending',
      source: 'dynamic',
      kind: 'moodle',
      deploymentIds: [toolTypeId],
      hasApiKey: false,
      identityStrategy: 'sub',
      toolWide: false,
    });
    expect(stored!.displayName).toBe(`Moodle at ${new URL(stack.lms.url).host}`);
    // …and pending for ltijs's own login check too.
    expect(await platformStatus(issuer, clientId)).toBe(false);
    // Audited as made by the LMS.
    const audit = await sql<{ action: string; actor_user_id: string; actor_role: string }>`
      SELECT action, actor_user_id, actor_role FROM audit_log WHERE platform_iss = ${issuer} AND platform_client_id = ${clientId}`.execute(
      stack.tool.store.db,
    );
    expect(audit.rows).toEqual([{ action: 'registration.create', actor_user_id: 'lms', actor_role: 'dynamic_registration' }]);

    // What the LMS kept: the tool's URLs, the domain with its port, Names and Roles only, Deep Linking.
    const type = stack.lms.toolType(toolTypeId)!;
    const sent = type.registrationRequest;
    expect(sent).toMatchObject({
      initiate_login_uri: `${stack.tool.url}/login`,
      redirect_uris: [`${stack.tool.url}/`],
      jwks_uri: `${stack.tool.url}/keys`,
      scope: NRPS_SCOPE,
      token_endpoint_auth_method: 'private_key_jwt',
    });
    expect((sent[TOOL_CONFIGURATION] as { domain: string }).domain).toBe(new URL(stack.tool.url).host);
    expect(type.contentItem).toBe(true);
    expect(type.state).toBe('pending');

    // The log says what happened, never the registration token.
    const log = lines.join('\n');
    expect(log).toContain('dynamic registration stored');
    expect(log).not.toContain(registrationToken);
  });

  test('a launch on the pending registration is refused with the pending page, though the LMS has activated the tool', async () => {
    await new LtiBrowser({ lmsUrl: stack.lms.url }).activateToolType(toolTypeId);
    const res = await new LtiBrowser({ lmsUrl: stack.lms.url }).launch({ platform: 'moodle', courseId: '2', userId: '4', toolTypeId });
    expect(res.status).toBe(403);
    expectCode(res.html, 'platform_pending');
    expect(textOf(res.html)).toContain('the registration has not been activated yet');
    expect(res.ltik).toBeUndefined();
  });

  test('the pending registration’s LMS may frame only its own /register page; once active, every page (after a refresh)', async () => {
    const lmsOrigin = new URL(stack.lms.url).origin;
    await stack.tool.tool.refreshPlatformOrigins();
    expect(await ordinaryPolicy(stack.tool.url, 'frame-ancestors')).toEqual([victim.origin]);
    expect(await ordinaryPolicy(stack.tool.url, 'form-action')).not.toContain(lmsOrigin);

    const pending = (await registrations().find(stack.lms.platforms.moodle.issuer, clientId))!;
    const audit = {
      platformIss: pending.issuer,
      platformClientId: pending.clientId,
      actorUserId: 'operator',
      actorRole: 'operator',
      action: 'registration.status' as const,
    };
    expect((await registrations().change(pending.id, { status: 'active' }, pending.version, audit)).kind).toBe('saved');
    await stack.tool.tool.refreshPlatformOrigins();
    expect((await ordinaryPolicy(stack.tool.url, 'frame-ancestors')).sort()).toEqual([lmsOrigin, victim.origin].sort());
    expect(await ordinaryPolicy(stack.tool.url, 'form-action')).toContain(lmsOrigin);

    // Pending again: the origins go with the next refresh.
    const active = (await registrations().get(pending.id))!;
    expect((await registrations().change(pending.id, { status: 'pending' }, active.version, audit)).kind).toBe('saved');
    await stack.tool.tool.refreshPlatformOrigins();
    expect(await ordinaryPolicy(stack.tool.url, 'frame-ancestors')).toEqual([victim.origin]);
  });

  test('the same registration token again is refused before the LMS is asked (its client id is registered)', async () => {
    const before = await ltijsPlatforms();
    const res = await register({ openid_configuration: stack.lms.openidConfigurationUrl, registration_token: registrationToken });
    expect(res.status).toBe(409);
    expectCode(res.html, 'registration_exists');
    expect(res.text).toContain(`client id ${clientId}`);
    expect(await ltijsPlatforms()).toEqual(before);
    expect(stack.lms.toolTypes()).toHaveLength(1);
  });

  test('without a registration token the emulated Moodle refuses with its bare string, shown as the LMS’s answer', async () => {
    const res = await register({ openid_configuration: stack.lms.openidConfigurationUrl });
    expect(res.status).toBe(502);
    expectCode(res.html, 'registration_refused_by_lms');
    expect(res.text).toContain('The LMS refused the tool’s registration (HTTP 401)');
    expect(res.text).toContain('The LMS answered: “missing_registration_token”');
  });
});

describe('refusals', () => {
  test('a configuration served from another host than the issuer it names is refused, naming both, and nothing is posted', async () => {
    const moodleIssuer = stack.lms.platforms.moodle.issuer;
    victim.answer = () => ({ status: 200, body: JSON.stringify(configuration(moodleIssuer, victim.url)) });
    const before = await ltijsPlatforms();
    const res = await register({ openid_configuration: `${victim.url}/openid-configuration`, registration_token: 'tok' });
    expect(res.status).toBe(400);
    expectCode(res.html, 'registration_issuer_mismatch');
    expect(res.text).toContain(`served by ${new URL(victim.url).host}`);
    expect(res.text).toContain(`(${new URL(moodleIssuer).host})`);
    expect(victim.received.map((r) => r.method)).toEqual(['GET']);
    expect(await ltijsPlatforms()).toEqual(before);
  });

  test('a configuration whose registration endpoint is on another host is refused, and nothing is posted there', async () => {
    const elsewhere = await hostilePlatform();
    try {
      victim.answer = () => ({
        status: 200,
        body: JSON.stringify(configuration(victim.origin, victim.url, { registration_endpoint: `${elsewhere.url}/register-tool` })),
      });
      const res = await register({ openid_configuration: `${victim.url}/openid-configuration` });
      expect(res.status).toBe(400);
      expectCode(res.html, 'registration_endpoint_mismatch');
      expect(res.text).toContain(new URL(elsewhere.url).host);
      expect(elsewhere.received).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  describe('a takeover of an issuer and client id already registered', () => {
    async function victimUntouched(): Promise<void> {
      const r = await registrations().find(victim.origin, VICTIM_CLIENT);
      expect(r).toMatchObject({ source: 'config', status: 'active', displayName: 'Victim Moodle', hasApiKey: true, version: 1 });
      const platform = await stack.tool.tool.lti.getPlatform(victim.origin, VICTIM_CLIENT);
      expect(platform && !Array.isArray(platform) ? await platform.platformAuthEndpoint() : null).toBe(`${victim.origin}/mod/lti/auth.php`);
      expect(await platformStatus(victim.origin, VICTIM_CLIENT)).not.toBe(false);
    }

    test('refused after the platform answers with that client id: 409, nothing replaced', async () => {
      victim.answer = (req) =>
        req.method === 'GET'
          ? { status: 200, body: JSON.stringify(configuration(victim.origin, `${victim.origin}/evil`)) }
          : { status: 200, body: JSON.stringify({ client_id: VICTIM_CLIENT, scope: NRPS_SCOPE }) };
      const before = await ltijsPlatforms();
      const res = await register({ openid_configuration: `${victim.url}/openid-configuration`, registration_token: 'opaque-token' });
      expect(res.status).toBe(409);
      expectCode(res.html, 'registration_exists');
      expect(res.text).toContain(`issuer ${victim.origin}, client id ${VICTIM_CLIENT}`);
      expect(victim.received.map((r) => r.method)).toEqual(['GET', 'POST']);
      expect(victim.received[1]!.authorization).toBe('Bearer opaque-token');
      expect(await ltijsPlatforms()).toEqual(before);
      await victimUntouched();
      expect(res.html).not.toContain(VICTIM_KEY);
    });

    test('refused before posting when the registration token announces that client id', async () => {
      victim.answer = (req) =>
        req.method === 'GET'
          ? { status: 200, body: JSON.stringify(configuration(victim.origin, victim.origin)) }
          : { status: 200, body: JSON.stringify({ client_id: VICTIM_CLIENT }) };
      const token = unsignedJwt({ sub: VICTIM_CLIENT, scope: 'reg' });
      const res = await register(
        { openid_configuration: `${victim.url}/openid-configuration`, registration_token: token },
        { accept: 'application/json' },
      );
      expect(res.status).toBe(409);
      const body = JSON.parse(res.html) as { error: { code: string } };
      expect(body.error.code).toBe('registration_exists');
      expect(victim.received.map((r) => r.method)).toEqual(['GET']);
      await victimUntouched();
      expect(res.html).not.toContain(VICTIM_KEY);
    });
  });

  test.each([
    ['domain_targetlinkuri_mismatch', 400],
    ['token_already_used', 401],
  ])('the LMS’s bare-string refusal %s (HTTP %i) is shown as its answer', async (answer, status) => {
    victim.answer = (req) =>
      req.method === 'GET'
        ? { status: 200, body: JSON.stringify(configuration(victim.origin, victim.origin)) }
        : { status, type: 'text/html; charset=utf-8', body: answer };
    const res = await register({ openid_configuration: `${victim.url}/openid-configuration`, registration_token: 'x' });
    expect(res.status).toBe(502);
    expectCode(res.html, 'registration_refused_by_lms');
    expect(res.text).toContain(`The LMS refused the tool’s registration (HTTP ${status})`);
    expect(res.text).toContain(`The LMS answered: “${answer}”`);
  });

  test('an LMS answer with markup is shown as text, clipped', async () => {
    const long = `<html><body><h1>Error</h1><script>alert(1)</script><img src=x onerror=alert(2)> ${'x'.repeat(1000)}</body></html>`;
    victim.answer = (req) =>
      req.method === 'GET'
        ? { status: 200, body: JSON.stringify(configuration(victim.origin, victim.origin)) }
        : { status: 500, type: 'text/html', body: long };
    const res = await register({ openid_configuration: `${victim.url}/openid-configuration` });
    expect(res.status).toBe(502);
    expect(res.html).not.toMatch(/<script>alert|<img src=x/);
    const shown = /The LMS answered: “([^”]*)”/.exec(res.text)?.[1] ?? '';
    expect(shown.length).toBeLessThanOrEqual(300);
    expect(shown.startsWith('Error alert(1)')).toBe(true);
  });

  test.each([
    [
      'not JSON',
      () => ({ status: 200, type: 'text/html', body: '<html>Moodle</html>' }),
      'registration_configuration_invalid',
      'it is not JSON',
    ],
    [
      'an issuer that is not an address',
      () => ({ status: 200, body: JSON.stringify(configuration('x', victim.origin)) }),
      'registration_configuration_invalid',
      'issuer must be an http(s) address',
    ],
    [
      'an endpoint that is not http(s)',
      () => ({ status: 200, body: JSON.stringify(configuration(victim.origin, victim.origin, { jwks_uri: 'javascript:alert(1)' })) }),
      'registration_configuration_invalid',
      'jwks_uri',
    ],
    [
      'a redirect',
      () => ({ status: 302, body: '', headers: { location: 'http://169.254.169.254/' } }),
      'registration_configuration_unreachable',
      'redirect',
    ],
    ['an error', () => ({ status: 500, body: 'oops' }), 'registration_configuration_unreachable', 'HTTP 500'],
  ])('a configuration answered with %s is a 502 naming what is wrong', async (_name, answer, code, words) => {
    victim.answer = answer;
    const res = await register({ openid_configuration: `${victim.url}/openid-configuration` });
    expect(res.status).toBe(502);
    expectCode(res.html, code);
    expect(res.text).toContain(words);
    expect(victim.received).toHaveLength(1);
  });

  test('a configuration missing one endpoint names it', async () => {
    const c = configuration(victim.origin, victim.origin);
    delete c.jwks_uri;
    victim.answer = () => ({ status: 200, body: JSON.stringify(c) });
    const res = await register({ openid_configuration: `${victim.url}/openid-configuration` });
    expect(res.status).toBe(502);
    expect(res.text).toContain('The LMS’s configuration cannot be used: jwks_uri is missing');
  });

  test('an LMS that cannot be reached is a 502', async () => {
    const gone = await hostilePlatform();
    await gone.close();
    const res = await register({ openid_configuration: `${gone.url}/openid-configuration` });
    expect(res.status).toBe(502);
    expectCode(res.html, 'registration_configuration_unreachable');
    // What an admin needs, not the network error (which would say how a host and port answered).
    expect(res.text).toContain('The tool could not read the LMS’s configuration: it could not be reached.');
    expect(res.text).not.toMatch(/ECONNREFUSED|refused/i);
    expect(lines.some((l) => l.includes('"cause":"ECONNREFUSED"'))).toBe(true);
  });

  test.each([
    ['no configuration address', {}, 'did not send the address of its configuration'],
    ['a javascript: address', { openid_configuration: 'javascript:alert(1)' }, 'must be an http(s) address'],
    ['not an address', { openid_configuration: 'not a url' }, 'is not a web address'],
    ['an address too long', { openid_configuration: `http://example.edu/${'a'.repeat(2100)}` }, 'longer than 2,000 characters'],
    [
      'a token too long',
      { openid_configuration: 'http://example.edu/c', registration_token: 't'.repeat(9000) },
      'longer than 8,192 characters',
    ],
  ])('a bad request (%s) is a 400', async (_name, query, words) => {
    const res = await register(query as Record<string, string>);
    expect(res.status).toBe(400);
    expectCode(res.html, 'registration_request_invalid');
    expect(res.text).toContain(words);
  });

  test('a POST to /register is refused (405), not handed to ltijs', async () => {
    const res = await register({ openid_configuration: `${victim.url}/openid-configuration` }, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expect(victim.received).toEqual([]);
  });

  test('no refusal logged the registration token', () => {
    expect(lines.join('\n')).not.toContain('opaque-token');
    expect(lines.filter((l) => l.includes('dynamic registration refused')).length).toBeGreaterThan(5);
  });
});

describe('too many registrations waiting to be activated', () => {
  const ISSUER = (n: number) => `https://pending-${n}.example.edu`;
  afterAll(async () => {
    await sql`DELETE FROM platform_settings WHERE issuer LIKE 'https://pending-%.example.edu'`.execute(stack.tool.store.db);
  });

  test(`at ${MAX_PENDING_REGISTRATIONS} pending, a new registration is a 503 before anything is fetched`, async () => {
    const pending = (await registrations().list()).filter((r) => r.status === 'pending').length;
    for (let n = pending; n < MAX_PENDING_REGISTRATIONS; n++) {
      await registrations().createDynamic({
        issuer: ISSUER(n),
        clientId: 'c',
        displayName: `Pending ${n}`,
        kind: 'other',
        deploymentIds: [],
        isnotaiBaseUrl: stack.simulator.url,
        identityStrategy: 'sub',
        status: 'pending',
        registration: { openidConfiguration: `${ISSUER(n)}/c` },
        audit: { platformIss: ISSUER(n), platformClientId: 'c', actorUserId: 'lms', actorRole: 'lms', action: 'registration.create' },
      });
    }
    victim.answer = () => ({ status: 200, body: JSON.stringify(configuration(victim.origin, victim.origin)) });
    const res = await register({ openid_configuration: `${victim.url}/openid-configuration`, registration_token: 'x' });
    expect(res.status).toBe(503);
    expectCode(res.html, 'registration_pending_limit');
    expect(res.text).toContain(`already has ${MAX_PENDING_REGISTRATIONS} registrations waiting to be activated`);
    expect(res.text).toContain('activates those they recognise and deactivates the others');
    expect(victim.received).toEqual([]);
    // None of them widened the CSP.
    await stack.tool.tool.refreshPlatformOrigins();
    expect(await ordinaryPolicy(stack.tool.url, 'frame-ancestors')).toEqual([victim.origin]);
  });
});

describe('with ALLOW_PRIVATE_LMS_HOSTS=false (a production tool’s default)', () => {
  let guarded: Stack;
  let guardedLines: string[];
  beforeAll(async () => {
    const captured = capturingLogger('info');
    guardedLines = captured.lines;
    guarded = await startStack({
      databaseUrl: await freshDatabaseUrl('dynreg_guarded'),
      logger: captured.logger,
      encryptionKey,
      env: { PLATFORMS_JSON: '[]', ALLOW_PRIVATE_LMS_HOSTS: 'false', LOG_LEVEL: 'info' },
    });
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  async function guardedRegister(configurationUrl: string) {
    const res = await request(
      `${guarded.tool.url}/register?${new URLSearchParams({ openid_configuration: configurationUrl, registration_token: 'tok' }).toString()}`,
      { headers: { accept: 'text/html' } },
    );
    const html = await res.body.text();
    return { status: res.statusCode, html, text: textOf(html) };
  }

  test.each([
    ['a loopback address', (port: number) => `http://127.0.0.1:${port}/openid-configuration`, '127.0.0.1'],
    ['a name that resolves to loopback', (port: number) => `http://localhost:${port}/openid-configuration`, 'localhost'],
    ['IPv6 loopback', (port: number) => `http://[::1]:${port}/openid-configuration`, '[::1]'],
    ['an IPv4-mapped IPv6 loopback', (port: number) => `http://[::ffff:127.0.0.1]:${port}/openid-configuration`, '[::ffff:7f00:1]'],
    ['a loopback address written in hex', (port: number) => `http://0x7f000001:${port}/openid-configuration`, '127.0.0.1'],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data', '169.254.169.254'],
    ['a private address', () => 'http://10.0.0.1/c', '10.0.0.1'],
  ])('%s is refused (400 registration_host_not_allowed), naming the host, and nothing is sent', async (_name, address, host) => {
    victim.answer = () => ({ status: 200, body: JSON.stringify(configuration(victim.origin, victim.origin)) });
    const res = await guardedRegister(address(Number(new URL(victim.url).port)));
    expect(res.status).toBe(400);
    expectCode(res.html, 'registration_host_not_allowed');
    expect(res.text).toContain(`The tool does not connect to ${host}: it is, or resolves to, a private or local network address.`);
    expect(res.text).toContain('ALLOW_PRIVATE_LMS_HOSTS');
    if (host === 'localhost') expect(res.text).not.toMatch(/127\.0\.0\.1|::1/);
    expect(victim.received).toEqual([]);
    expect(await guarded.tool.tool.lti.getAllPlatforms()).toEqual([]);
  });

  test('the emulator’s own registration (on 127.0.0.1) is refused the same way, and the LMS creates nothing', async () => {
    const res = await new LtiBrowser({ lmsUrl: guarded.lms.url }).registerTool(`${guarded.tool.url}/register`);
    expect(res.status).toBe(400);
    expectCode(res.html, 'registration_host_not_allowed');
    expect(guarded.lms.toolTypes()).toEqual([]);
    expect(guardedLines.join('\n')).toContain('registration_host_not_allowed');
  });
});

describe('a login the tool refuses', () => {
  test('from an LMS not registered: the page names the issuer, client id and deployment id it received', async () => {
    // The emulator's static Moodle registration is not in this tool's PLATFORMS_JSON.
    const moodle = stack.lms.platforms.moodle;
    const res = await new LtiBrowser({ lmsUrl: stack.lms.url }).launch({ platform: 'moodle', courseId: '2', userId: '4' });
    expect(res.status).toBe(400);
    expectCode(res.html, 'unregistered_platform');
    expect(textOf(res.html)).toContain(
      `The LMS sent: issuer ${moodle.issuer}, client id ${moodle.clientId}, deployment id ${moodle.deploymentId}.`,
    );
  });

  test('what it names is escaped and clipped', async () => {
    const hostile = `https://evil.example/<b>x</b>${'y'.repeat(400)}`;
    const res = await new LtiBrowser({ lmsUrl: stack.lms.url }).launch({
      platform: 'moodle',
      courseId: '2',
      userId: '4',
      tamper: { loginIssuer: hostile },
    });
    expect(res.status).toBe(400);
    expect(res.html).not.toContain('<b>x</b>');
    expect(res.html).toContain('&lt;b&gt;x&lt;/b&gt;');
    const named = /issuer (\S+),/.exec(textOf(res.html))?.[1] ?? '';
    expect(named.length).toBeLessThanOrEqual(200);
    expect(named.endsWith('…')).toBe(true);
  });
});

describe('with AUTO_ACTIVATE=true', () => {
  let auto: Stack;
  beforeAll(async () => {
    auto = await startStack({
      databaseUrl: await freshDatabaseUrl('dynreg_auto'),
      logger: capturingLogger('silent').logger,
      encryptionKey,
      env: { PLATFORMS_JSON: '[]', AUTO_ACTIVATE: 'true' },
    });
  });
  afterAll(async () => {
    await auto?.stop();
  });

  test('a registration starts active, for the tool and for ltijs, and its launches are not refused as pending', async () => {
    const admin = new LtiBrowser({ lmsUrl: auto.lms.url });
    const res = await admin.registerTool(`${auto.tool.url}/register`);
    expect(res.status).toBe(200);
    expect(textOf(res.html)).toContain('Status: active');
    const clientId = res.toolType!.clientId;
    const stored = await createRegistrationStore(auto.tool.store.db, { secret: encryptionKey }).find(
      auto.lms.platforms.moodle.issuer,
      clientId,
    );
    expect(stored).toMatchObject({ status: 'active', source: 'dynamic', hasApiKey: false });
    const { rows } = await sql<{ active: boolean }>`
      SELECT s.active FROM lti_platform_status s JOIN lti_platform p ON p.kid = s.id WHERE p.client_id = ${clientId}`.execute(
      auto.tool.store.db,
    );
    expect(rows).toEqual([{ active: true }]);
    await admin.activateToolType(res.toolType!.id);
    const launch = await new LtiBrowser({ lmsUrl: auto.lms.url }).launch({
      platform: 'moodle',
      courseId: '2',
      userId: '4',
      toolTypeId: res.toolType!.id,
    });
    expect(launch.html).not.toContain('platform_pending');
    expect(launch.ltik).toBeDefined();
    // The new registration has no isnotai key: its pages say so, and no key appears anywhere.
    expect(launch.status).toBe(503);
    expectCode(launch.html, 'upstream_not_configured');
  });
});
