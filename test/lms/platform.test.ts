/**
 * Platform behaviour shared by both shapes: the auth endpoint's validation, tampering for the
 * negative launch tests, the client-credentials token endpoint, and the Canvas shape (roles,
 * identity claims, Names and Roles paging with Link headers, rlid message arrays).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWorld } from '../../src/dev/people';
import { decodeJwt, startLmsEmulator, verifyJwt, ROLE, canvasLegacyUserId, CANVAS_ISSUER, type LmsEmulator } from '../../src/dev/lms';
import { generateSigningKey, randomHex } from '../../src/dev/lms/jwt';
import {
  accessToken,
  clientAssertion,
  httpGet,
  httpPostForm,
  launchToAuth,
  loginInitiation,
  startToolKeys,
  type ToolKeys,
} from './helpers';

let emulator: LmsEmulator;
let tool: ToolKeys;
const world = buildWorld({ moodleExtraLearners: 20, canvasLearners: 60 });
const canvas = world.platforms.find((p) => p.kind === 'canvas')!;
const bio = canvas.courses[0]!;
const member = (role: string) => bio.members.find((m) => m.role === role)!.person;
const nowS = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  tool = await startToolKeys();
  emulator = await startLmsEmulator({ world, toolUrl: 'http://127.0.0.1:1' });
  // The tool's URL is known only after it starts.
  emulator.setToolUrl(`${tool.url}/`);
});
afterAll(async () => {
  await emulator.close();
  await tool.close();
});

async function jwks(platform: 'moodle' | 'canvas') {
  return JSON.parse((await httpGet(emulator.platforms[platform].jwksUrl)).text) as { keys: unknown[] };
}

describe('the authorisation endpoint', () => {
  test('uses the tool URL set after start for the login initiation and the redirect', async () => {
    const init = await loginInitiation(emulator, { platform: 'moodle', courseId: '2', userId: '4' });
    expect(init.action).toBe(`${tool.url}/login`);
    expect(init.fields.target_link_uri).toBe(`${tool.url}/`);
  });

  test.each([
    ['redirect_uri', { redirect_uri: 'http://evil.example/' }, 'invalid_request'],
    ['client_id', { client_id: 'someone-else' }, 'unauthorized_client'],
    ['response_type', { response_type: 'code' }, 'unsupported_response_type'],
    ['scope', { scope: 'profile' }, 'invalid_scope'],
    ['prompt', { prompt: 'login' }, 'invalid_request'],
    ['response_mode', { response_mode: 'query' }, 'invalid_request'],
    ['nonce', { nonce: undefined }, 'invalid_request'],
    ['login_hint', { login_hint: '5' }, 'login_required'],
    ['lti_message_hint', { lti_message_hint: '{"cmid":1,"launchid":"ltilaunch1_1"}' }, 'invalid_request'],
  ])('refuses a wrong %s with a clear 400 page', async (_name, overrides, code) => {
    const auth = await launchToAuth(emulator, { platform: 'moodle', courseId: '2', userId: '4' }, overrides);
    expect(auth.status).toBe(400);
    expect(auth.text).toContain('The LMS refused this request (400)');
    expect(auth.text).toContain(code);
    expect(auth.form).toBeUndefined();
  });

  test('a launch in progress is used once: the same message hint cannot mint a second token', async () => {
    const init = await loginInitiation(emulator, { platform: 'moodle', courseId: '2', userId: '4' });
    const ask = () =>
      httpGet(
        `${emulator.platforms.moodle.authenticationEndpoint}?${new URLSearchParams({
          response_type: 'id_token',
          response_mode: 'form_post',
          scope: 'openid',
          prompt: 'none',
          nonce: randomHex(8),
          state: 's',
          client_id: init.fields.client_id!,
          redirect_uri: init.fields.target_link_uri!,
          login_hint: init.fields.login_hint!,
          lti_message_hint: init.fields.lti_message_hint!,
        }).toString()}`,
      );
    expect((await ask()).status).toBe(200);
    expect((await ask()).status).toBe(400);
  });

  test('Moodle’s relaunch page (mod/lti/launch.php) launches the activity for the logged-in user only', async () => {
    const page = (id: string, cookie?: string) => httpGet(`${emulator.url}/moodle/mod/lti/launch.php?id=${id}`, cookie ? { cookie } : {});
    expect((await page('1')).status).toBe(401);
    const relaunch = await page('2', 'MoodleSession=4');
    expect(relaunch.status).toBe(302);
    expect(new URL(String(relaunch.headers.location), emulator.url).search).toBe('?course=2&user=4&resourceLink=2');
    expect((await page('999', 'MoodleSession=4')).status).toBe(404);
    expect((await page('x', 'MoodleSession=4')).status).toBe(400);
  });

  test('refuses to start a launch for someone not in the course, and for unknown courses', async () => {
    const histOnly = world.platforms[0]!.courses[1]!.members.find((m) => m.role === 'instructor')!.person;
    const notMember = await httpGet(emulator.launchUrl({ platform: 'moodle', courseId: '2', userId: histOnly.lmsUserId }));
    expect(notMember.status).toBe(403);
    expect(notMember.text).toContain('NOT_A_MEMBER');
    expect((await httpGet(emulator.launchUrl({ platform: 'moodle', courseId: '999', userId: '4' }))).status).toBe(404);
    expect((await httpGet(`${emulator.url}/moodle/launch?course=2&user=4&tamper=${encodeURIComponent('{"bogus":true}')}`)).status).toBe(
      400,
    );
  });
});

describe('tampering for negative launch tests', () => {
  const idTokenOf = async (tamper: object, platform: 'moodle' | 'canvas' = 'moodle') => {
    const launch =
      platform === 'moodle'
        ? { platform, courseId: '2', userId: '4', tamper }
        : { platform, courseId: bio.id, userId: member('learner').lmsUserId, tamper };
    const auth = await launchToAuth(emulator, launch as never);
    expect(auth.status).toBe(200);
    return { token: auth.form!.fields.id_token as string, nonce: auth.query.nonce };
  };

  test('signWithUnknownKey: a kid the JWKS does not hold; badSignature: the real kid, a wrong signature', async () => {
    const unknown = await idTokenOf({ signWithUnknownKey: true });
    expect(() => verifyJwt(unknown.token, awaitJwks, nowS())).toThrow(expect.objectContaining({ code: 'JWT_KID_UNKNOWN' }));
    const bad = await idTokenOf({ badSignature: true });
    expect(decodeJwt(bad.token).header.kid).toBe((awaitJwks.keys[0] as { kid: string }).kid);
    expect(() => verifyJwt(bad.token, awaitJwks, nowS())).toThrow(expect.objectContaining({ code: 'JWT_SIGNATURE' }));
    const good = await idTokenOf({});
    expect(verifyJwt(good.token, awaitJwks, nowS()).payload.sub).toBe('4');
  });

  test('audience, issuer, deployment id, expiry and nonce', async () => {
    const p = (t: string) => verifyJwt(t, awaitJwks, nowS() - 7200).payload;
    expect(p((await idTokenOf({ audience: 'not-the-tool' })).token).aud).toBe('not-the-tool');
    expect(p((await idTokenOf({ issuer: 'https://other.example' })).token).iss).toBe('https://other.example');
    expect(p((await idTokenOf({ deploymentId: '99' })).token)['https://purl.imsglobal.org/spec/lti/claim/deployment_id']).toBe('99');
    const expired = (await idTokenOf({ expired: true })).token;
    expect(() => verifyJwt(expired, awaitJwks, nowS())).toThrow(expect.objectContaining({ code: 'JWT_EXPIRED' }));
    const old = p((await idTokenOf({ ageSeconds: 30 })).token);
    expect(nowS() - (old.iat as number)).toBeGreaterThanOrEqual(29);
    expect('nonce' in p((await idTokenOf({ omitNonce: true })).token)).toBe(false);
    const init = await loginInitiation(emulator, {
      platform: 'moodle',
      courseId: '2',
      userId: '4',
      tamper: { loginIssuer: 'https://unknown.example', deploymentId: '99' },
    });
    expect(init.fields.iss).toBe('https://unknown.example');
    expect(init.fields.lti_deployment_id).toBe('99');
  });

  let awaitJwks: { keys: unknown[] };
  beforeAll(async () => {
    awaitJwks = await jwks('moodle');
  });
});

describe('the token endpoint', () => {
  const form = (assertion: string, scope = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly') => ({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
    scope,
  });

  test('grants only requested and allowed scopes to an assertion signed with the tool key', async () => {
    const p = emulator.platforms.moodle;
    const res = await httpPostForm(
      p.accesstokenEndpoint,
      form(
        clientAssertion(tool.key, p.clientId, p.accesstokenEndpoint),
        'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly https://example.com/scope/admin',
      ),
    );
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text);
    expect(Object.keys(body)).toEqual(['access_token', 'token_type', 'expires_in', 'scope']);
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
    });
  });

  test.each([
    [
      'a key the tool does not publish',
      () =>
        clientAssertion(
          generateSigningKey(tool.key.kid),
          emulator.platforms.moodle.clientId,
          emulator.platforms.moodle.accesstokenEndpoint,
        ),
    ],
    ['another client id', () => clientAssertion(tool.key, 'someone', emulator.platforms.moodle.accesstokenEndpoint)],
    ['another audience', () => clientAssertion(tool.key, emulator.platforms.moodle.clientId, 'https://elsewhere/token')],
    [
      'an expired assertion',
      () =>
        clientAssertion(tool.key, emulator.platforms.moodle.clientId, emulator.platforms.moodle.accesstokenEndpoint, { exp: nowS() - 120 }),
    ],
    [
      'no jti',
      () =>
        clientAssertion(tool.key, emulator.platforms.moodle.clientId, emulator.platforms.moodle.accesstokenEndpoint, { jti: undefined }),
    ],
  ])('refuses %s with 401 invalid_client', async (_name, make) => {
    const res = await httpPostForm(emulator.platforms.moodle.accesstokenEndpoint, form(make()));
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text).error).toBe('invalid_client');
  });

  test('refuses a reused assertion, a wrong grant type and scopes it cannot grant', async () => {
    const p = emulator.platforms.canvas;
    const assertion = clientAssertion(tool.key, p.clientId, p.accesstokenEndpoint);
    expect((await httpPostForm(p.accesstokenEndpoint, form(assertion))).status).toBe(200);
    expect(JSON.parse((await httpPostForm(p.accesstokenEndpoint, form(assertion))).text).error).toBe('invalid_client');
    const wrongGrant = await httpPostForm(p.accesstokenEndpoint, {
      ...form(clientAssertion(tool.key, p.clientId, p.accesstokenEndpoint)),
      grant_type: 'password',
    });
    expect([wrongGrant.status, JSON.parse(wrongGrant.text).error]).toEqual([400, 'unsupported_grant_type']);
    const noScope = await httpPostForm(
      p.accesstokenEndpoint,
      form(clientAssertion(tool.key, p.clientId, p.accesstokenEndpoint), 'https://example.com/x'),
    );
    expect([noScope.status, JSON.parse(noScope.text).error]).toEqual([400, 'invalid_scope']);
  });
});

describe('the Canvas shape', () => {
  const claimsOf = async (userId: string, target?: 'iframe' | 'window') => {
    const auth = await launchToAuth(emulator, { platform: 'canvas', courseId: bio.id, userId, ...(target ? { target } : {}) });
    expect(auth.status).toBe(200);
    return verifyJwt(auth.form!.fields.id_token as string, await jwks('canvas'), nowS()).payload;
  };

  test('login initiation carries Canvas fields and a signed message hint; login_hint is the LTI 1.1 id', async () => {
    const student = member('learner');
    const init = await loginInitiation(emulator, { platform: 'canvas', courseId: bio.id, userId: student.lmsUserId });
    expect(Object.keys(init.fields)).toEqual([
      'iss',
      'login_hint',
      'client_id',
      'lti_deployment_id',
      'target_link_uri',
      'lti_message_hint',
      'canvas_region',
      'canvas_environment',
      'lti_storage_target',
    ]);
    expect(init.fields.lti_storage_target).toBe('post_message_forwarding');
    expect(init.fields).toMatchObject({ iss: CANVAS_ISSUER, client_id: '10000000000001', login_hint: canvasLegacyUserId(student) });
    expect(init.fields.lti_deployment_id).toMatch(/^1:[0-9a-f]{40}$/);
    expect(decodeJwt(init.fields.lti_message_hint!).payload).toMatchObject({ context_type: 'Course', context_id: bio.id });
  });

  test('a student: opaque sub, numeric id only in the custom claim, Canvas roles and identity claims', async () => {
    const student = member('learner');
    const c = await claimsOf(student.lmsUserId);
    expect(c.iss).toBe('https://canvas.instructure.com');
    expect(c.aud).toBe('10000000000001');
    expect(c.azp).toBe('10000000000001');
    expect(c.sub).toBe(student.sub);
    expect(c.sub).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(c['https://purl.imsglobal.org/spec/lti/claim/custom']).toEqual({ canvas_user_id: student.lmsUserId, canvas_course_id: bio.id });
    expect(c['https://purl.imsglobal.org/spec/lti/claim/roles']).toEqual([
      ROLE.institutionStudent,
      ROLE.membershipLearner,
      ROLE.systemUser,
    ]);
    expect(c['https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id']).toBe(canvasLegacyUserId(student));
    expect(c['https://purl.imsglobal.org/spec/lti/claim/lti1p1']).toMatchObject({ user_id: canvasLegacyUserId(student) });
    expect(c['https://purl.imsglobal.org/spec/lti/claim/lis']).toMatchObject({ person_sourcedid: student.sourcedId });
    expect(c['https://www.instructure.com/placement']).toBe('course_navigation');
    expect(c['https://purl.imsglobal.org/spec/lti/claim/tool_platform']).toMatchObject({ product_family_code: 'canvas' });
    expect(c['https://purl.imsglobal.org/spec/lti/claim/launch_presentation']).toMatchObject({
      document_target: 'iframe',
      locale: 'en',
      height: 400,
      width: 800,
    });
    expect((c['https://purl.imsglobal.org/spec/lti/claim/context'] as { id: string }).id).toMatch(/^[0-9a-f]{40}$/);
    expect(c['https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice']).toMatchObject({
      context_memberships_url: `${emulator.url}/canvas/api/lti/courses/${bio.id}/names_and_roles`,
      service_versions: ['2.0'],
    });
    expect(c.exp as number).toBeGreaterThan(nowS() + 3000);
    expect((await claimsOf(student.lmsUserId, 'window'))['https://purl.imsglobal.org/spec/lti/claim/launch_presentation']).toMatchObject({
      document_target: 'window',
    });
  });

  test.each([
    ['instructor', [ROLE.institutionInstructor, ROLE.membershipInstructor, ROLE.systemUser]],
    ['ta', [ROLE.institutionInstructor, ROLE.membershipTeachingAssistant, ROLE.membershipInstructor, ROLE.systemUser]],
    ['designer', [ROLE.membershipContentDeveloper, ROLE.systemUser]],
    ['observer', [ROLE.membershipMentor, ROLE.systemUser]],
    ['teststudent', [ROLE.membershipLearner, ROLE.testUser, ROLE.systemUser]],
  ])('roles of a %s', async (role, expected) => {
    expect((await claimsOf(member(role).lmsUserId))['https://purl.imsglobal.org/spec/lti/claim/roles']).toEqual(expected);
  });

  test('an account admin launches from a course without being enrolled', async () => {
    const admin = canvas.admins[0]!;
    expect((await claimsOf(admin.lmsUserId))['https://purl.imsglobal.org/spec/lti/claim/roles']).toEqual([
      ROLE.institutionAdministrator,
      ROLE.systemUser,
    ]);
  });

  describe('Names and Roles', () => {
    let token: string;
    const url = () => `${emulator.url}/canvas/api/lti/courses/${bio.id}/names_and_roles`;
    const get = (u: string) => httpGet(u, { authorization: `Bearer ${token}` });
    const links = (h: string | string[] | undefined) =>
      Object.fromEntries(
        String(h ?? '')
          .split(',')
          .map((part) => {
            const m = /<([^>]+)>;\s*rel="([^"]+)"/.exec(part)!;
            return [m[2], m[1]];
          }),
      );

    beforeAll(async () => {
      token = await accessToken(emulator, 'canvas', tool.key);
    });

    test('pages 10 at a time with current/next/first/last links, and following next yields everyone once', async () => {
      const first = await get(url());
      expect(first.status).toBe(200);
      expect(first.headers['content-type']).toBe('application/vnd.ims.lti-nrps.v2.membershipcontainer+json; charset=utf-8');
      const firstLinks = links(first.headers.link);
      expect(Object.keys(firstLinks)).toEqual(['current', 'next', 'first', 'last']);
      expect(firstLinks.last).toContain('page=7&per_page=10');
      const body = JSON.parse(first.text);
      expect(body.members).toHaveLength(10);
      expect(body.context).toEqual({ id: expect.stringMatching(/^[0-9a-f]{40}$/), label: bio.label, title: bio.title });
      const seen = new Set<string>();
      let next: string | undefined = url();
      let pages = 0;
      while (next) {
        const res = await get(next);
        for (const m of JSON.parse(res.text).members) seen.add(m.user_id);
        next = links(res.headers.link).next;
        pages++;
      }
      expect(pages).toBe(7);
      expect(seen).toEqual(new Set(bio.members.map((m) => m.person.sub)));
    });

    test('members carry the lti_id, legacy id, picture and full role URIs; limit sets the page size up to 50', async () => {
      const ta = member('ta');
      const res = JSON.parse((await get(`${url()}?limit=50`)).text);
      expect(res.members).toHaveLength(50);
      const m = res.members.find((x: { user_id: string }) => x.user_id === ta.sub);
      expect(m).toEqual({
        status: 'Active',
        name: ta.name,
        picture: `${emulator.url}/canvas/images/messages/avatar-50.png`,
        given_name: ta.givenName,
        family_name: ta.familyName,
        email: ta.email,
        lis_person_sourcedid: ta.sourcedId,
        user_id: ta.sub,
        lti11_legacy_user_id: canvasLegacyUserId(ta),
        roles: [ROLE.membershipTeachingAssistant, ROLE.membershipInstructor],
      });
      expect(JSON.parse((await get(`${url()}?limit=500`)).text).members).toHaveLength(50);
      expect((await httpGet(`${emulator.url}/canvas/images/messages/avatar-50.png`)).status).toBe(200);
    });

    test('with rlid each member carries the message array with canvas_user_id; role filters', async () => {
      const rlid = (
        decodeJwt(
          (await launchToAuth(emulator, { platform: 'canvas', courseId: bio.id, userId: member('learner').lmsUserId })).form!.fields
            .id_token!,
        ).payload['https://purl.imsglobal.org/spec/lti/claim/resource_link'] as { id: string }
      ).id;
      const res = await get(`${url()}?rlid=${rlid}&limit=50`);
      const body = JSON.parse(res.text);
      expect(links(res.headers.link).next).toContain(`rlid=${rlid}`);
      for (const m of body.members) {
        const person = bio.members.find((x) => x.person.sub === m.user_id)!.person;
        expect(m.message).toEqual([
          expect.objectContaining({
            'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiResourceLinkRequest',
            'https://purl.imsglobal.org/spec/lti/claim/custom': { canvas_user_id: person.lmsUserId, canvas_course_id: bio.id },
            'https://www.instructure.com/canvas_user_id': Number(person.lmsUserId),
          }),
        ]);
      }
      expect((await get(`${url()}?rlid=not-a-link`)).status).toBe(400);
      const instructors = JSON.parse((await get(`${url()}?role=Instructor`)).text).members.map((m: { user_id: string }) => m.user_id);
      expect(instructors.sort()).toEqual([member('instructor').sub, member('ta').sub].sort());
      const mentors = JSON.parse((await get(`${url()}?role=${encodeURIComponent(ROLE.membershipMentor)}`)).text).members;
      expect(mentors.map((m: { user_id: string }) => m.user_id)).toEqual([member('observer').sub]);
      expect((await get(`${emulator.url}/canvas/api/lti/courses/404/names_and_roles`)).status).toBe(404);
    });
  });
});

test('with keyDir and a fixed port, a restarted emulator keeps its issuer and signing keys', async () => {
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lms-keys-'));
  try {
    const first = await startLmsEmulator({ world, toolUrl: tool.url, keyDir });
    const port = new URL(first.url).port;
    const kids = async (e: LmsEmulator) =>
      Promise.all((['moodle', 'canvas'] as const).map(async (k) => JSON.parse((await httpGet(e.platforms[k].jwksUrl)).text).keys[0].kid));
    const before = await kids(first);
    const issuer = first.platforms.moodle.issuer;
    await first.close();
    // Let undici's pool notice the closed keep-alive sockets before reusing the same port.
    await new Promise((r) => setTimeout(r, 50));
    const second = await startLmsEmulator({ world, toolUrl: tool.url, keyDir, port: Number(port) });
    try {
      expect(second.platforms.moodle.issuer).toBe(issuer);
      expect(await kids(second)).toEqual(before);
      const auth = await launchToAuth(second, { platform: 'moodle', courseId: '2', userId: '4' });
      expect(
        verifyJwt(
          auth.form!.fields.id_token!,
          await (async () => JSON.parse((await httpGet(second.platforms.moodle.jwksUrl)).text))(),
          nowS(),
        ).payload.sub,
      ).toBe('4');
    } finally {
      await second.close();
    }
  } finally {
    fs.rmSync(keyDir, { recursive: true, force: true });
  }
});
