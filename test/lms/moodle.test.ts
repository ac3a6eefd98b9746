/**
 * The Moodle shape, claim for claim against the real Moodle 4.4 captures (test/lms/fixtures/
 * moodle-4.4): login initiation, id_token header and payload, Names and Roles
 * whole and paged with its Link headers, rlid and role filters.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildWorld } from '../../src/dev/people';
import { startLmsEmulator, verifyJwt, decodeJwt, type LmsEmulator } from '../../src/dev/lms';
import { accessToken, httpGet, launchToAuth, loginInitiation, replaceDeep, startToolKeys, type ToolKeys } from './helpers';

const FIX = path.join(__dirname, 'fixtures/moodle-4.4');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIX, name), 'utf8'));
const FIX_ISS = 'http://127.0.0.1:8088';
const FIX_TOOL = 'http://127.0.0.1:3100';

let emulator: LmsEmulator;
let tool: ToolKeys;

beforeAll(async () => {
  tool = await startToolKeys();
  // No extra learners: course LTI101 then holds exactly the fixture's people.
  emulator = await startLmsEmulator({ world: buildWorld({ moodleExtraLearners: 0 }), toolUrl: tool.url });
});
afterAll(async () => {
  await emulator.close();
  await tool.close();
});

/** Puts both sides on the same hosts and blanks what differs per launch or per site. */
function normalisePayload(payload: Record<string, unknown>, iss: string, toolUrl: string): Record<string, unknown> {
  const p = replaceDeep(replaceDeep(payload, iss, 'ISS'), toolUrl, 'TOOL') as Record<string, unknown>;
  const out = structuredClone(p);
  out.nonce = 'NONCE';
  out.iat = 0;
  out.exp = (payload.exp as number) - (payload.iat as number);
  const bo = out['https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome'] as Record<string, string>;
  const sourced = JSON.parse(bo.lis_result_sourcedid as string);
  expect(Object.keys(sourced)).toEqual(['data', 'hash']);
  expect(Object.keys(sourced.data)).toEqual(['instanceid', 'userid', 'typeid', 'launchid']);
  expect(sourced.hash).toMatch(/^[0-9a-f]{64}$/);
  bo.lis_result_sourcedid = JSON.stringify({ ...sourced.data, launchid: 0 });
  const lp = out['https://purl.imsglobal.org/spec/lti/claim/launch_presentation'] as Record<string, string>;
  expect(lp.return_url).toMatch(/&sesskey=[0-9A-Za-z]{10}$/);
  lp.return_url = (lp.return_url as string).replace(/sesskey=.*$/, 'sesskey=S');
  const tp = out['https://purl.imsglobal.org/spec/lti/claim/tool_platform'] as Record<string, string>;
  expect(tp.guid).toMatch(/^[0-9a-f]{32}$/);
  tp.guid = 'G';
  tp.name = 'N';
  tp.description = 'D';
  return out;
}

describe.each([
  ['student', 'launch-student.json', '4'],
  ['teacher', 'launch-teacher.json', '3'],
  ['unenrolled site admin', 'launch-admin.json', '2'],
])('a Moodle launch as the %s', (_who, file, userId) => {
  test('sends the login initiation Moodle sends', async () => {
    const f = fixture(file);
    const init = await loginInitiation(emulator, { platform: 'moodle', courseId: '2', userId, target: 'window' });
    expect(init.method).toBe('POST');
    expect(init.action).toBe(`${tool.url}/login`);
    expect(Object.keys(init.fields)).toEqual(Object.keys(f.oidc_login_initiation.body));
    const expected = replaceDeep(
      replaceDeep(f.oidc_login_initiation.body, FIX_ISS, emulator.platforms.moodle.issuer),
      FIX_TOOL,
      tool.url,
    ) as Record<string, string>;
    expect({ ...init.fields, lti_message_hint: 'X' }).toEqual({ ...expected, lti_message_hint: 'X' });
    const hint = JSON.parse(init.fields.lti_message_hint as string);
    expect(Object.keys(hint)).toEqual(['cmid', 'launchid']);
    expect(hint.cmid).toBe(1);
    expect(hint.launchid).toMatch(/^ltilaunch1_\d+$/);
  });

  test('signs an id_token whose header and every claim match the capture', async () => {
    const f = fixture(file);
    const auth = await launchToAuth(emulator, { platform: 'moodle', courseId: '2', userId, target: 'window' });
    expect(auth.status).toBe(200);
    expect(auth.form?.action).toBe(`${tool.url}/`);
    expect(Object.keys(auth.form!.fields)).toEqual(f.redirect_post_form_fields);
    expect(auth.form!.fields.state).toBe(auth.query.state);
    const idToken = auth.form!.fields.id_token as string;

    const jwks = JSON.parse((await httpGet(emulator.platforms.moodle.jwksUrl)).text);
    expect(Object.keys(jwks.keys[0]).sort()).toEqual(Object.keys(fixture('platform.json').jwks.keys[0]).sort());
    const verified = verifyJwt(idToken, jwks, Math.floor(Date.now() / 1000));
    expect(Object.keys(verified.header)).toEqual(Object.keys(f.id_token_header));
    expect(verified.header).toEqual({ typ: 'JWT', alg: 'RS256', kid: jwks.keys[0].kid });
    expect(jwks.keys[0].kid).toMatch(/^[0-9a-f]{20}$/);

    const ours = verified.payload;
    expect(ours.nonce).toBe(auth.query.nonce);
    expect((ours.exp as number) - (ours.iat as number)).toBe(60);
    expect(Math.abs((ours.iat as number) - Date.now() / 1000)).toBeLessThan(5);
    // Same claims, same order, same values (modulo hosts and per-launch values).
    expect(Object.keys(ours)).toEqual(Object.keys(f.id_token_payload));
    expect(normalisePayload(ours, emulator.platforms.moodle.issuer, tool.url)).toEqual(
      normalisePayload(f.id_token_payload, FIX_ISS, FIX_TOOL),
    );
  });
});

test('an embedded Moodle activity launches with document_target iframe and its own resource link', async () => {
  const auth = await launchToAuth(emulator, { platform: 'moodle', courseId: '2', userId: '4', target: 'iframe' });
  const claims = decodeJwt(auth.form!.fields.id_token as string).payload;
  expect(claims['https://purl.imsglobal.org/spec/lti/claim/launch_presentation']).toMatchObject({ document_target: 'iframe' });
  expect((claims['https://purl.imsglobal.org/spec/lti/claim/launch_presentation'] as { return_url: string }).return_url).toContain(
    'launch_container=3&instanceid=2',
  );
  expect(claims['https://purl.imsglobal.org/spec/lti/claim/resource_link']).toEqual({
    title: 'Harness LTI activity (embedded)',
    description: 'harness',
    id: '2',
  });
});

describe('Moodle Names and Roles', () => {
  const nrps = fixture('nrps-members.json');
  let token: string;
  const url = () => `${emulator.platforms.moodle.issuer}/mod/lti/services.php/CourseSection/2/bindings/1/memberships`;
  const asOurs = (v: unknown) => replaceDeep(v, FIX_ISS, emulator.platforms.moodle.issuer);

  beforeAll(async () => {
    token = await accessToken(emulator, 'moodle', tool.key);
  });

  test('without limit answers the whole roster at once, exactly as Moodle, with no Link header', async () => {
    const res = await httpGet(url(), {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(nrps.calls.raw_http_limit3.result.pages[0].content_type);
    expect(res.headers.link).toBeUndefined();
    expect(JSON.parse(res.text)).toEqual(asOurs(nrps.members));
  });

  test('with limit=3 pages through from=3 and from=6, Link rel="next" until the last page', async () => {
    let next: string | undefined = `${url()}?limit=3`;
    const pages: Array<{ url: string; link: string | null; body: unknown }> = [];
    while (next) {
      const res = await httpGet(next, { authorization: `Bearer ${token}` });
      expect(res.status).toBe(200);
      const link = (res.headers.link as string | undefined) ?? null;
      pages.push({ url: next, link, body: JSON.parse(res.text) });
      next = link ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
    }
    const expected = asOurs(nrps.calls.raw_http_limit3.result.pages) as Array<{ url: string; link: string | null; body: unknown }>;
    expect(pages).toEqual(expected.map((p) => ({ url: p.url, link: p.link, body: p.body })));
  });

  test('rlid adds the message array with the basic outcome; role filters by full or short name', async () => {
    const withRlid = JSON.parse((await httpGet(`${url()}?rlid=1`, { authorization: `Bearer ${token}` })).text);
    const expected = asOurs(nrps.calls.resourceLinkId.result) as { members: Array<Record<string, unknown>> };
    const strip = (ms: Array<Record<string, unknown>>) =>
      ms.map((m) => ({
        ...m,
        message: (m.message as Array<Record<string, unknown>>).map((x) => ({
          ...x,
          'https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome': 'BO',
        })),
      }));
    expect(strip(withRlid.members)).toEqual(strip(expected.members));
    const sourced = JSON.parse(
      (withRlid.members[0].message[0]['https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome'] as { lis_result_sourcedid: string })
        .lis_result_sourcedid,
    );
    expect(sourced.data).toMatchObject({ instanceid: '1', userid: '8', typeid: '1' });

    for (const role of ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner', 'Learner']) {
      const learners = JSON.parse((await httpGet(`${url()}?role=${encodeURIComponent(role)}`, { authorization: `Bearer ${token}` })).text);
      expect(learners).toEqual(asOurs(nrps.calls.role_Learner.result));
    }
  });

  test('refuses a missing or unknown token, and answers 404 for an unknown course', async () => {
    expect((await httpGet(url())).status).toBe(401);
    expect((await httpGet(url(), { authorization: 'Bearer nope' })).status).toBe(401);
    const res = await httpGet(`${emulator.platforms.moodle.issuer}/mod/lti/services.php/CourseSection/999/bindings/1/memberships`, {
      authorization: `Bearer ${token}`,
    });
    expect(res.status).toBe(404);
  });

  test('a token for the Moodle platform is not accepted by the Canvas platform', async () => {
    const res = await httpGet(`${emulator.url}/canvas/api/lti/courses/101/names_and_roles`, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
  });

  test('a token without the Names and Roles scope gets 403', async () => {
    const agsOnly = await accessToken(emulator, 'moodle', tool.key, 'https://purl.imsglobal.org/spec/lti-ags/scope/score');
    expect((await httpGet(url(), { authorization: `Bearer ${agsOnly}` })).status).toBe(403);
  });
});
