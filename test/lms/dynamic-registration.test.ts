/**
 * Moodle 4.4's LTI Dynamic Registration on the emulator, against the capture in
 * fixtures/moodle-4.4/registration-and-deep-linking (dynamic-registration.json): the
 * openid-configuration, startltiadvregistration.php's 302 and registration token, the registration
 * POST and Moodle's answer, Moodle's bare-string refusals, the Pending tool type and its activation,
 * and launches through the registered tool type (its client id, deployment id, login URL, redirect
 * URIs, custom parameters), token endpoint and Names and Roles included. Real HTTP throughout: the
 * tool is a small express tool written in the test (helpers.ts startMiniTool).
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildWorld } from '../../src/dev/people';
import { decodeJwt, LtiBrowser, MOODLE_CLIENT_ID, startLmsEmulator, verifyJwt, type LmsEmulator } from '../../src/dev/lms';
import { generateSigningKey, signJwt } from '../../src/dev/lms/jwt';
import { clientAssertion, httpGet, httpPostForm, loginInitiation, replaceDeep, startMiniTool, type MiniTool } from './helpers';
import { request } from 'undici';

const FIX = path.join(__dirname, 'fixtures/moodle-4.4/registration-and-deep-linking');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIX, name), 'utf8'));
const FIX_MOODLE = 'http://127.0.0.1:8089';
const FIX_TOOL = 'http://127.0.0.1:3190';
const TOOL_CONFIG = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
const LTI = 'https://purl.imsglobal.org/spec/lti/claim';
const NRPS_SCOPE = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';

let emulator: LmsEmulator;
let tool: MiniTool;
let moodleBase: string;

/** The capture's registration POST body (the accepted "hostport" one), on this test's tool. */
function capturedRegistration(t: MiniTool, variant: 'hostport' | 'hostonly' = 'hostport'): Record<string, unknown> {
  const post = (fixture('dynamic-registration.json').step4_registration_posts as Array<Record<string, unknown>>).find(
    (p) => p.variant === variant,
  ) as { request: { body_raw: string } };
  const body = JSON.parse(post.request.body_raw) as Record<string, unknown>;
  return replaceDeep(replaceDeep(body, FIX_TOOL, t.url), '127.0.0.1:3190', t.domain) as Record<string, unknown>;
}

async function freshToken(): Promise<string> {
  const res = await httpGet(emulator.registrationUrl(`${tool.url}/register`));
  expect(res.status).toBe(302);
  return new URL(String(res.headers.location)).searchParams.get('registration_token') as string;
}

async function postRegistration(body: string, token?: string): Promise<{ status: number; contentType: string; text: string }> {
  const res = await request(`${moodleBase}/mod/lti/openid-registration.php`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: res.statusCode, contentType: String(res.headers['content-type']), text: await res.body.text() };
}

beforeAll(async () => {
  tool = await startMiniTool();
  emulator = await startLmsEmulator({ world: buildWorld({ moodleExtraLearners: 0 }), toolUrl: 'http://127.0.0.1:9' });
  moodleBase = `${emulator.url}/moodle`;
});
afterAll(async () => {
  await emulator.close();
  await tool.close();
});

test('openid-configuration is the captured document with this emulator’s URLs', async () => {
  const f = fixture('dynamic-registration.json').step3_openid_configuration.response;
  const res = await httpGet(emulator.openidConfigurationUrl);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  const doc = JSON.parse(res.text) as Record<string, unknown>;
  expect(doc).toEqual(replaceDeep(f.json, FIX_MOODLE, moodleBase));
  expect(Object.keys(doc)).toEqual(Object.keys(f.json));
  expect(doc.issuer).toBe(emulator.platforms.moodle.issuer);
});

test('startltiadvregistration.php answers 302 to the tool with openid_configuration and a Moodle-signed registration token', async () => {
  const f = fixture('dynamic-registration.json').step2_initiation_request_received_by_tool;
  const res = await httpGet(emulator.registrationUrl(`${tool.url}/register`));
  expect(res.status).toBe(302);
  const location = new URL(String(res.headers.location));
  expect(`${location.origin}${location.pathname}`).toBe(`${tool.url}/register`);
  expect([...location.searchParams.keys()]).toEqual(Object.keys(f.query));
  expect(location.searchParams.get('openid_configuration')).toBe(`${moodleBase}/mod/lti/openid-configuration.php`);
  const token = location.searchParams.get('registration_token') as string;
  const jwks = JSON.parse((await httpGet(emulator.platforms.moodle.jwksUrl)).text) as { keys: unknown[] };
  const { header, payload } = verifyJwt(token, jwks, Math.floor(Date.now() / 1000));
  expect(Object.keys(header)).toEqual(Object.keys(f.registration_token.header));
  expect(header.kid).toBe((jwks.keys[0] as { kid: string }).kid);
  expect(Object.keys(payload)).toEqual(Object.keys(f.registration_token.payload));
  expect(payload.sub).toMatch(/^[A-Za-z0-9]{15}$/);
  expect(payload.scope).toBe('reg');
  expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
});

describe('a registration through the agent, as Moodle’s “Add LTI Advantage”', () => {
  let typeId: string;
  let clientId: string;

  beforeAll(async () => {
    tool.registrationBody = () => capturedRegistration(tool);
    const browser = new LtiBrowser({ lmsUrl: emulator.url });
    const reg = await browser.registerTool(`${tool.url}/register`);
    expect(reg.status).toBe(200);
    expect(reg.html).toContain('org.imsglobal.lti.close');
    expect(reg.toolType).not.toBeNull();
    typeId = reg.toolType!.id;
    clientId = reg.toolType!.clientId;
    expect(reg.toolType).toEqual({
      id: typeId,
      clientId: reg.clientId,
      deploymentId: typeId,
      state: 'pending',
      name: 'Fixture Capture Tool',
    });
  });

  test('Moodle answers as captured: scope reordered with lineitem.readonly, no label, Moodle’s claims, version and deployment id', () => {
    const f = fixture('dynamic-registration.json').step4_registration_posts.find((p: { variant: string }) => p.variant === 'hostport');
    const registration = tool.registrations.at(-1)!;
    expect(registration.status).toBe(200);
    const answer = JSON.parse(registration.text) as Record<string, unknown>;
    const expected = replaceDeep(replaceDeep(f.response.json, FIX_TOOL, tool.url), '127.0.0.1:3190', tool.domain) as Record<
      string,
      unknown
    >;
    expected.client_id = clientId;
    (expected[TOOL_CONFIG] as Record<string, unknown>).deployment_id = typeId;
    expect(answer).toEqual(expected);
    expect(Object.keys(answer)).toEqual(Object.keys(expected));
    expect(Object.keys(answer[TOOL_CONFIG] as object)).toEqual(Object.keys(expected[TOOL_CONFIG] as object));
    expect(answer).not.toHaveProperty('registration_client_uri');
    expect(decodeJwt(registration.token).payload.sub).toBe(clientId);
  });

  test('the tool type is Pending, keeps its registration, and type 1 stays the static registration', () => {
    const type = emulator.toolType(typeId)!;
    expect(typeId).toBe('2');
    expect(type.state).toBe('pending');
    expect(type.clientId).not.toBe(MOODLE_CLIENT_ID);
    expect(type).toMatchObject({
      toolUrl: `${tool.url}/launch`,
      toolDomain: tool.domain,
      initiateLoginUri: `${tool.url}/login`,
      redirectUris: [`${tool.url}/launch`],
      jwksUri: `${tool.url}/jwks`,
      contentItem: true,
      deepLinkingUrl: `${tool.url}/launch`,
      customParameters: 'registration_param=from_registration',
      gradeSynchronization: 2,
      memberships: 1,
      sendName: 1,
      sendEmailAddr: 1,
      acceptGrades: 2,
      launchContainer: 3,
      courseVisible: 1,
    });
  });

  test('the same token again is token_already_used (401, a bare string), and no token is missing_registration_token', async () => {
    const body = JSON.stringify(capturedRegistration(tool));
    const again = await postRegistration(body, tool.registrations.at(-1)!.token);
    expect(again).toEqual({ status: 401, contentType: 'text/html; charset=utf-8', text: 'token_already_used' });
    const none = await postRegistration(body);
    expect(none).toEqual({ status: 401, contentType: 'text/html; charset=utf-8', text: 'missing_registration_token' });
    expect(emulator.toolTypes()).toHaveLength(1);
  });

  test('a Pending tool type is not launched (Moodle’s error page); the test knob launches it anyway', async () => {
    const browser = new LtiBrowser({ lmsUrl: emulator.url });
    const refused = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', toolTypeId: typeId });
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('TOOL_NOT_ACTIVE');
    expect(refused.html).toContain('Pending');
    const before = tool.launches.length;
    const forced = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', toolTypeId: typeId, ignoreToolState: true });
    expect(forced.status).toBe(200);
    expect(forced.html).toContain('Launched');
    expect(tool.launches).toHaveLength(before + 1);
  });

  test('Activate (the agent, then the emulator object) changes the state Moodle lists', async () => {
    const browser = new LtiBrowser({ lmsUrl: emulator.url });
    expect(await browser.activateToolType(typeId)).toMatchObject({ id: typeId, state: 'active' });
    expect(emulator.toolType(typeId)!.state).toBe('active');
    expect(emulator.deactivateToolType(typeId).state).toBe('pending');
    expect((await browser.toolTypes()).find((t) => t.id === typeId)!.state).toBe('pending');
    expect(emulator.activateToolType(typeId).state).toBe('active');
    const listed = JSON.parse((await httpGet(`${moodleBase}/mod/lti/tooltypes.php`)).text) as Array<Record<string, unknown>>;
    expect(listed[0]).toMatchObject({
      id: Number(typeId),
      clientid: clientId,
      deploymentid: Number(typeId),
      platformid: emulator.platforms.moodle.issuer,
    });
    expect(listed[0]!.state).toEqual({ text: 'Active', pending: false, configured: true, rejected: false, unknown: false });
  });

  test('a launch through the tool type uses its client id, deployment id, login URL, target_link_uri and custom parameters', async () => {
    const init = await loginInitiation(emulator, { platform: 'moodle', courseId: '2', userId: '4', toolTypeId: typeId });
    expect(init.action).toBe(`${tool.url}/login`);
    expect(init.fields).toMatchObject({
      iss: emulator.platforms.moodle.issuer,
      target_link_uri: `${tool.url}/launch`,
      login_hint: '4',
      client_id: clientId,
      lti_deployment_id: typeId,
    });
    const browser = new LtiBrowser({ lmsUrl: emulator.url });
    const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', toolTypeId: typeId });
    expect(res.status).toBe(200);
    const claims = tool.launches.at(-1)!.claims;
    expect(claims.aud).toBe(clientId);
    expect(claims[`${LTI}/deployment_id`]).toBe(typeId);
    expect(claims[`${LTI}/target_link_uri`]).toBe(`${tool.url}/launch`);
    expect(claims[`${LTI}/message_type`]).toBe('LtiResourceLinkRequest');
    expect(claims[`${LTI}/custom`]).toEqual({
      registration_param: 'from_registration',
      context_memberships_url: `${moodleBase}/mod/lti/services.php/CourseSection/2/bindings/${typeId}/memberships`,
    });
    expect(claims['https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice']).toEqual({
      context_memberships_url: `${moodleBase}/mod/lti/services.php/CourseSection/2/bindings/${typeId}/memberships`,
      service_versions: ['1.0', '2.0'],
    });
  });

  test('auth.php refuses a redirect_uri that is not exactly a registered one: 404 “Invalid request”', async () => {
    tool.redirectMode = 'as-is';
    try {
      // The login initiation's target_link_uri with a query, used as redirect_uri (surprise 10).
      const init = await loginInitiation(emulator, { platform: 'moodle', courseId: '2', userId: '4', toolTypeId: typeId });
      const q = new URLSearchParams({
        scope: 'openid',
        response_type: 'id_token',
        response_mode: 'form_post',
        prompt: 'none',
        client_id: clientId,
        redirect_uri: `${tool.url}/launch?item=fx-item-42`,
        login_hint: '4',
        state: 's',
        nonce: 'n',
        lti_message_hint: init.fields.lti_message_hint!,
      });
      const res = await httpGet(`${moodleBase}/mod/lti/auth.php?${q.toString()}`);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('Invalid request');
    } finally {
      tool.redirectMode = 'strip';
    }
  });

  test('the token endpoint issues the tool type’s client an access token (its keyset), and Names and Roles answers on its binding', async () => {
    const tokenUrl = emulator.platforms.moodle.accesstokenEndpoint;
    const res = await httpPostForm(tokenUrl, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion(tool.key, clientId, tokenUrl),
      scope: NRPS_SCOPE,
    });
    expect(res.status).toBe(200);
    const accessToken = (JSON.parse(res.text) as { access_token: string }).access_token;
    const members = await httpGet(`${moodleBase}/mod/lti/services.php/CourseSection/2/bindings/${typeId}/memberships`, {
      authorization: `Bearer ${accessToken}`,
    });
    expect(members.status).toBe(200);
    expect((JSON.parse(members.text) as { members: unknown[] }).members.length).toBeGreaterThan(0);
    // The static registration's binding is not this client's.
    const other = await httpGet(`${moodleBase}/mod/lti/services.php/CourseSection/2/bindings/1/memberships`, {
      authorization: `Bearer ${accessToken}`,
    });
    expect(other.status).toBe(401);
    // An assertion signed by another key does not verify against the registered jwks_uri.
    const forged = await httpPostForm(tokenUrl, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion({ ...generateSigningKey(tool.key.kid) }, clientId, tokenUrl),
      scope: NRPS_SCOPE,
    });
    expect(forged.status).toBe(401);
  });
});

describe('refusals of openid-registration.php', () => {
  test('domain without the port is domain_targetlinkuri_mismatch (400), and that attempt does not use the token up', async () => {
    const token = await freshToken();
    const refused = await postRegistration(JSON.stringify(capturedRegistration(tool, 'hostonly')), token);
    expect(refused).toEqual({ status: 400, contentType: 'text/html; charset=utf-8', text: 'domain_targetlinkuri_mismatch' });
    const accepted = await postRegistration(JSON.stringify(capturedRegistration(tool)), token);
    expect(accepted.status).toBe(200);
    expect(accepted.contentType).toBe('application/json; charset=utf-8');
    expect((JSON.parse(accepted.text) as { client_id: string }).client_id).toBe(decodeJwt(token).payload.sub);
  });

  test.each([
    ['a missing required attribute', (b: Record<string, unknown>) => delete b.client_name, 'missing required attribute client_name'],
    ['no tool configuration', (b: Record<string, unknown>) => delete b[TOOL_CONFIG], `missing required attribute ${TOOL_CONFIG}`],
    ['no domain', (b: Record<string, unknown>) => delete (b[TOOL_CONFIG] as Record<string, unknown>).domain, 'missing_domain'],
    ['response_types without id_token', (b: Record<string, unknown>) => (b.response_types = ['code']), 'invalid_response_types'],
    [
      'another auth method',
      (b: Record<string, unknown>) => (b.token_endpoint_auth_method = 'client_secret_basic'),
      'invalid_token_endpoint_auth_method',
    ],
    ['another application type', (b: Record<string, unknown>) => (b.application_type = 'native'), 'invalid_application_type'],
  ])('%s is a bare 400 naming it', async (_what, change, message) => {
    const body = capturedRegistration(tool);
    change(body);
    const res = await postRegistration(JSON.stringify(body), await freshToken());
    expect(res).toEqual({ status: 400, contentType: 'text/html; charset=utf-8', text: message });
  });

  test('a body that is not JSON is a bare 400', async () => {
    const res = await postRegistration('{"application_type": "web",', await freshToken());
    expect(res.status).toBe(400);
    expect(res.contentType).toBe('text/html; charset=utf-8');
    expect(res.text).toMatch(/^invalid_registration_request/);
  });

  test('a token not signed by the platform, an expired one, or another scope is refused', async () => {
    const body = JSON.stringify(capturedRegistration(tool));
    const now = Math.floor(Date.now() / 1000);
    const forged = signJwt({ sub: 'ForgedClientId1', scope: 'reg', iat: now, exp: now + 3600 }, generateSigningKey('forged'));
    expect((await postRegistration(body, forged)).status).toBe(401);
    const jwks = JSON.parse((await httpGet(emulator.platforms.moodle.jwksUrl)).text) as { keys: Array<{ kid: string }> };
    // Signed with a key of the platform's kid that is not the platform's key: the signature fails.
    const badSignature = signJwt(
      { sub: 'ForgedClientId2', scope: 'reg', iat: now, exp: now + 3600 },
      generateSigningKey(jwks.keys[0]!.kid),
    );
    const refused = await postRegistration(body, badSignature);
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/^invalid_registration_token/);
    // Signed by the platform, but expired, or for another operation.
    const expired = emulator.signIdToken('moodle', { sub: 'ForgedClientId3', scope: 'reg', iat: now - 7200, exp: now - 3600 });
    expect(await postRegistration(body, expired)).toMatchObject({ status: 401, text: 'invalid_registration_token: the JWT has expired' });
    const update = emulator.signIdToken('moodle', { sub: 'ForgedClientId4', scope: 'reg-update', iat: now, exp: now + 3600 });
    expect(await postRegistration(body, update)).toMatchObject({ status: 403, text: 'Incorrect scope' });
    expect(emulator.toolTypes().some((t) => t.clientId.startsWith('Forged'))).toBe(false);
  });

  test('Moodle’s registration page refuses a URL that is not http(s)', async () => {
    const res = await httpGet(`${moodleBase}/mod/lti/startltiadvregistration.php?url=javascript:alert(1)`);
    expect(res.status).toBe(400);
  });
});

test('a registration the way ltijs sends it (no message target, no logo) gets Moodle’s empty strings back', async () => {
  tool.registrationBody = (config) => {
    const body = capturedRegistration(tool);
    delete body.logo_uri;
    const conf = body[TOOL_CONFIG] as Record<string, unknown>;
    conf.claims = config.claims_supported;
    conf.messages = [{ type: 'LtiResourceLinkRequest' }, { type: 'LtiDeepLinkingRequest' }];
    return body;
  };
  const browser = new LtiBrowser({ lmsUrl: emulator.url });
  const reg = await browser.registerTool(`${tool.url}/register`);
  expect(reg.toolType?.state).toBe('pending');
  const answer = JSON.parse(tool.registrations.at(-1)!.text) as Record<string, unknown>;
  expect(answer.logo_uri).toBe('');
  expect((answer[TOOL_CONFIG] as { messages: unknown }).messages).toEqual([{ type: 'LtiDeepLinkingRequest', target_link_uri: '' }]);
  expect(emulator.toolType(reg.toolType!.id)!.deepLinkingUrl).toBe('');
});
