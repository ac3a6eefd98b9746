/**
 * Moodle 4.4's Deep Linking on the emulator, against the capture in
 * fixtures/moodle-4.4/registration-and-deep-linking: "Select content" (contentitem.php's login
 * initiation and the LtiDeepLinkingRequest id_token), the return (the tool's JWT verified with the
 * keyset fetched from its registered jwks_uri; replays, forgeries and wrong claims refused), the
 * activity it makes, and that activity's launches (custom merged with $User.id substituted,
 * resource_link id, deployment id). Then the demo LMS page does the same in Chromium, and axe finds
 * nothing on its pages. Real HTTP throughout; the tool is written in the test (helpers.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildWorld } from '../../src/dev/people';
import type { Frame, Page } from 'playwright-core';
import { findAutoSubmitForm, LtiBrowser, startLmsEmulator, type LmsEmulator } from '../../src/dev/lms';
import { generateSigningKey } from '../../src/dev/lms/jwt';
import { launchChromium, TIMEOUT_MS } from '../browser/support/chromium';
import {
  clientAssertion,
  httpGet,
  httpPostForm,
  replaceDeep,
  signDeepLinkResponse,
  startMiniTool,
  type MiniTool,
  type MiniToolLaunch,
} from './helpers';

const FIX = path.join(__dirname, 'fixtures/moodle-4.4/registration-and-deep-linking');
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(FIX, name), 'utf8'));
const FIX_TOOL = 'http://127.0.0.1:3190';
const LTI = 'https://purl.imsglobal.org/spec/lti/claim';
const DL_SETTINGS = 'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings';
const AGS = 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint';

let emulator: LmsEmulator;
let tool: MiniTool;
let moodleBase: string;
let typeId: string;
let clientId: string;
/** The deep linking request the tool got (the first "Select content"). */
let request: MiniToolLaunch;
let cmid: string;

function onTool<T>(value: T, t: MiniTool): T {
  return replaceDeep(replaceDeep(value, FIX_TOOL, t.url), '127.0.0.1:3190', t.domain) as T;
}

/** The captured content item, on this test's tool. */
function capturedContentItems(t: MiniTool): Array<Record<string, unknown>> {
  return onTool(fixture('deep-linking-response.json').jwt_sent.payload['https://purl.imsglobal.org/spec/lti-dl/claim/content_items'], t);
}

function returnUrl(): string {
  return (request.claims[DL_SETTINGS] as { deep_link_return_url: string }).deep_link_return_url;
}

beforeAll(async () => {
  tool = await startMiniTool();
  emulator = await startLmsEmulator({ world: buildWorld({ moodleExtraLearners: 0 }), toolUrl: 'http://127.0.0.1:9' });
  moodleBase = `${emulator.url}/moodle`;
  const post = fixture('dynamic-registration.json').step4_registration_posts.find((p: { variant: string }) => p.variant === 'hostport');
  tool.registrationBody = () => onTool(JSON.parse(post.request.body_raw as string) as Record<string, unknown>, tool);
  tool.contentItems = capturedContentItems(tool);
  const browser = new LtiBrowser({ lmsUrl: emulator.url });
  const reg = await browser.registerTool(`${tool.url}/register`);
  typeId = reg.toolType!.id;
  clientId = reg.toolType!.clientId;
  await browser.activateToolType(typeId);
});
afterAll(async () => {
  await emulator.close();
  await tool.close();
});

describe('“Select content” and the return, as Moodle 4.4', () => {
  test('contentitem.php auto-submits the login initiation Moodle sends for a deep linking request', async () => {
    const f = fixture('deep-linking-request.json').step2_oidc_login_initiation_received_by_tool.form;
    const res = await httpGet(emulator.deepLinkingUrl({ courseId: '2', typeId, userId: '3' }));
    expect(res.status).toBe(200);
    const browser = new LtiBrowser({ lmsUrl: emulator.url });
    expect(browser.deepLinkUrl({ courseId: '2', typeId, userId: '3' })).toBe(
      emulator.deepLinkingUrl({ courseId: '2', typeId, userId: '3' }),
    );
    const form = findAutoSubmitForm(res.text, emulator.deepLinkingUrl({ courseId: '2', typeId, userId: '3' }))!;
    expect(form.action).toBe(`${tool.url}/login`);
    expect(Object.keys(form.fields)).toEqual(Object.keys(f));
    expect(form.fields).toMatchObject({
      iss: emulator.platforms.moodle.issuer,
      target_link_uri: `${tool.url}/launch`,
      login_hint: '3',
      client_id: clientId,
      lti_deployment_id: typeId,
    });
    expect(form.fields.lti_message_hint).toMatch(/^\{"launchid":"ltilaunch_ContentItemSelectionRequest\d+"\}$/);
  });

  test('the LtiDeepLinkingRequest id_token is shaped as captured', async () => {
    const f = fixture('deep-linking-request.json').payload;
    const browser = new LtiBrowser({ lmsUrl: emulator.url });
    const page = await browser.deepLink({ courseId: '2', typeId, userId: '3' });
    expect(page.status).toBe(200);
    expect(page.html).toContain('Pick content');
    request = tool.launches.at(-1)!;
    const claims = request.claims;
    expect(Object.keys(claims)).toEqual(Object.keys(f));
    expect(claims).toMatchObject({
      iss: emulator.platforms.moodle.issuer,
      aud: clientId,
      sub: '3',
      [`${LTI}/deployment_id`]: typeId,
      [`${LTI}/target_link_uri`]: `${tool.url}/launch`,
      [`${LTI}/message_type`]: 'LtiDeepLinkingRequest',
      [`${LTI}/roles`]: f[`${LTI}/roles`],
      [`${LTI}/launch_presentation`]: { locale: 'en' },
      [`${LTI}/custom`]: { registration_param: 'from_registration' },
      [`${LTI}/version`]: '1.3.0',
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
    expect(claims[AGS]).toEqual({ scope: f[AGS].scope, lineitems: `${moodleBase}/mod/lti/services.php/2/lineitems?type_id=${typeId}` });
    const settings = claims[DL_SETTINGS] as Record<string, unknown>;
    expect(Object.keys(settings)).toEqual(Object.keys(f[DL_SETTINGS]));
    expect({ ...settings, deep_link_return_url: 'R' }).toEqual({ ...f[DL_SETTINGS], deep_link_return_url: 'R' });
    expect(settings.deep_link_return_url).toMatch(
      new RegExp(`^${moodleBase.replace(/[.]/g, '\\.')}/mod/lti/contentitem_return\\.php\\?course=2&id=${typeId}&sesskey=[A-Za-z0-9]{10}$`),
    );
    for (const absent of [
      `${LTI}/resource_link`,
      'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice',
      'https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome',
    ])
      expect(claims).not.toHaveProperty([absent]);
  });

  test('the tool’s response makes an activity from the content item, shown with launch links', async () => {
    const browser = new LtiBrowser({ lmsUrl: emulator.url });
    const picker = await browser.deepLink({ courseId: '2', typeId, userId: '3', title: '' });
    request = tool.launches.at(-1)!;
    const done = await browser.submitForm(picker);
    expect(done.status).toBe(200);
    expect(done.url).toBe(returnUrl());
    expect(done.html).toContain('Activity added to LTI101');
    expect(done.html).toContain('Fixture Deep Linked Activity');
    const [activity] = emulator.activities('2');
    expect(activity).toBeDefined();
    cmid = activity!.cmid;
    expect(activity).toMatchObject({
      cmid: '5',
      instanceId: '5',
      courseId: '2',
      typeId,
      name: 'Fixture Deep Linked Activity',
      intro: 'Created by the fixture tool via deep linking',
      toolUrl: `${tool.url}/launch?item=fx-item-42`,
      // As Moodle stores instructorcustomparameters.
      customParameters: 'item_id=fx-item-42\r\nchapter=7\r\nuser_id_sub=$User.id',
      lineItem: { scoreMaximum: 10, label: 'Fixture score', resourceId: 'fx-item-42', tag: 'fixture-grade' },
      createdBy: '3',
    });
    expect(done.html).toContain(`<dd data-field="cmid">${cmid}</dd>`);
    expect(done.html).toContain(`href="/moodle/mod/lti/view.php?id=${cmid}&amp;user=4"`);
    const responses = emulator.deepLinkResponses();
    expect(responses.at(-1)).toMatchObject({ typeId, courseId: '2', userId: '3', jwt: tool.sentDeepLinkResponses.at(-1), cmids: [cmid] });
    expect(responses.at(-1)!.header.kid).toBe(tool.key.kid);
  });

  test('a replayed response is refused: the same JWT, or another with the same nonce', async () => {
    const count = emulator.activities().length;
    const again = await httpPostForm(returnUrl(), { JWT: tool.sentDeepLinkResponses.at(-1)! });
    expect(again.status).toBe(409);
    expect(again.text).toContain('deep_link_replayed');
    const nonce = emulator.deepLinkResponses().at(-1)!.payload.nonce;
    const sameNonce = signDeepLinkResponse(tool.key, request.claims, tool.contentItems, { nonce, iat: Math.floor(Date.now() / 1000) - 1 });
    const res = await httpPostForm(returnUrl(), { JWT: sameNonce });
    expect(res.status).toBe(409);
    expect(res.text).toContain(`the nonce ${String(nonce)} was already used`);
    expect(emulator.activities()).toHaveLength(count);
  });

  test.each([
    ['signed by another key with the registered kid', 'jwt_signature', 401, { key: 'forged' }],
    ['signed by a key the keyset does not hold', 'jwt_kid_unknown', 401, { key: 'unknown' }],
    ['expired', 'jwt_expired', 401, { overrides: { iat: 1000, exp: 1060 } }],
    ['from another client (iss)', 'jwt_claims', 400, { overrides: { iss: 'someone-else' } }],
    ['for another platform (aud)', 'jwt_claims', 400, { overrides: { aud: 'https://elsewhere.example' } }],
    ['for another deployment', 'jwt_claims', 400, { overrides: { [`${LTI}/deployment_id`]: '1' } }],
    ['of another message type', 'jwt_claims', 400, { overrides: { [`${LTI}/message_type`]: 'LtiResourceLinkRequest' } }],
    ['without a nonce', 'jwt_claims', 400, { overrides: { nonce: undefined } }],
    ['without an ltiResourceLink item', 'no_content_items', 400, { items: [{ type: 'link', url: 'https://example.org' }] }],
  ] as const)('a response %s is refused (%s)', async (_what, code, status, how) => {
    const count = emulator.activities().length;
    const key =
      'key' in how ? (how.key === 'forged' ? generateSigningKey(tool.key.kid) : generateSigningKey('not-in-the-keyset')) : tool.key;
    const items = 'items' in how ? [...how.items] : tool.contentItems;
    const jwt = signDeepLinkResponse(key, request.claims, items, 'overrides' in how ? { ...how.overrides } : {});
    const res = await httpPostForm(returnUrl(), { JWT: jwt });
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain(code);
    expect(emulator.activities()).toHaveLength(count);
  });

  test('a return without JWT, or with a sesskey Moodle did not hand out, is refused', async () => {
    expect((await httpPostForm(returnUrl(), {})).status).toBe(400);
    const bad = returnUrl().replace(/sesskey=[^&]+/, 'sesskey=XXXXXXXXXX');
    const res = await httpPostForm(bad, { JWT: signDeepLinkResponse(tool.key, request.claims, tool.contentItems) });
    expect(res.status).toBe(403);
    expect(res.text).toContain('invalid_sesskey');
  });

  test('only a teacher (or admin) may select content, and only with an active tool type', async () => {
    const student = await httpGet(emulator.deepLinkingUrl({ courseId: '2', typeId, userId: '4' }));
    expect(student.status).toBe(403);
    expect(student.text).toContain('NO_PERMISSION');
    expect((await httpGet(emulator.deepLinkingUrl({ courseId: '2', typeId, userId: '2' }))).status).toBe(200);
    expect((await httpGet(emulator.deepLinkingUrl({ courseId: '2', typeId: '99', userId: '3' }))).status).toBe(404);
    emulator.deactivateToolType(typeId);
    try {
      const pending = await httpGet(emulator.deepLinkingUrl({ courseId: '2', typeId, userId: '3' }));
      expect(pending.status).toBe(403);
      expect(pending.text).toContain('TOOL_NOT_ACTIVE');
      expect((await httpGet(emulator.deepLinkingUrl({ courseId: '2', typeId, userId: '3', ignoreToolState: true }))).status).toBe(200);
    } finally {
      emulator.activateToolType(typeId);
    }
  });
});

describe('launching the activity made by deep linking', () => {
  test.each([
    ['student', '4', 'student1', 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'],
    ['teacher', '3', 'teacher1', 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor'],
  ])('as the %s: the captured claims, custom merged with $User.id substituted', async (_who, userId, fixtureUser, role) => {
    const f = fixture('launch-after-deep-link.json')[fixtureUser];
    const browser = new LtiBrowser({ lmsUrl: emulator.url });
    const res = await browser.launch({ activity: cmid, userId });
    expect(res.status).toBe(200);
    expect(res.html).toContain('Launched');
    const launch = tool.launches.at(-1)!;
    expect(Object.keys(launch.login)).toEqual(Object.keys(f.oidc_login_initiation_received_by_tool.form));
    expect(launch.login).toMatchObject({
      target_link_uri: `${tool.url}/launch?item=fx-item-42`,
      login_hint: userId,
      client_id: clientId,
      lti_deployment_id: typeId,
    });
    expect(launch.login.lti_message_hint).toMatch(new RegExp(`^\\{"cmid":${cmid},"launchid":"ltilaunch${cmid}_\\d+"\\}$`));
    const claims = launch.claims;
    expect(Object.keys(claims)).toEqual(Object.keys(f.payload));
    expect(claims.aud).toBe(clientId);
    expect(claims.sub).toBe(userId);
    expect(claims[`${LTI}/deployment_id`]).toBe(typeId);
    expect(claims[`${LTI}/roles`]).toEqual([role]);
    expect(claims[`${LTI}/message_type`]).toBe('LtiResourceLinkRequest');
    expect(claims[`${LTI}/target_link_uri`]).toBe(`${tool.url}/launch?item=fx-item-42`);
    expect(claims[`${LTI}/resource_link`]).toEqual({
      title: 'Fixture Deep Linked Activity',
      description: 'Created by the fixture tool via deep linking',
      id: cmid,
    });
    const memberships = `${moodleBase}/mod/lti/services.php/CourseSection/2/bindings/${typeId}/memberships`;
    expect(claims[`${LTI}/custom`]).toEqual({
      item_id: 'fx-item-42',
      chapter: '7',
      user_id_sub: userId,
      registration_param: 'from_registration',
      context_memberships_url: memberships,
    });
    expect(Object.keys(claims[`${LTI}/custom`] as object)).toEqual(Object.keys(f.payload[`${LTI}/custom`]));
    expect(claims[AGS]).toEqual({
      scope: f.payload[AGS].scope,
      lineitems: `${moodleBase}/mod/lti/services.php/2/lineitems?type_id=${typeId}`,
      lineitem: `${moodleBase}/mod/lti/services.php/2/lineitems/${Number(cmid) + 1}/lineitem?type_id=${typeId}`,
    });
    expect(claims[`${LTI}/launch_presentation`]).toMatchObject({ locale: 'en', document_target: 'iframe' });
    expect((claims[`${LTI}/launch_presentation`] as { return_url: string }).return_url).toContain(`launch_container=3&instanceid=${cmid}&`);
  });

  test('the agent captures the id_token without posting it, and a replay posts it again', async () => {
    const browser = new LtiBrowser({ lmsUrl: emulator.url });
    const captured = await browser.captureIdToken({ activity: cmid, userId: '5' });
    expect(captured.redirectUri).toBe(`${tool.url}/launch`);
    expect(captured.claims[`${LTI}/resource_link`]).toMatchObject({ id: cmid });
    const fresh = await browser.launch({ activity: cmid, userId: '5' });
    expect(fresh.status).toBe(200);
    const replayed = await browser.replay({ activity: cmid, userId: '5', idToken: fresh.idToken! });
    expect(replayed.status).toBe(400);
  });

  test('a tool that sends the activity URL with its query as redirect_uri gets Moodle’s 404 “Invalid request”', async () => {
    tool.redirectMode = 'as-is';
    try {
      const res = await new LtiBrowser({ lmsUrl: emulator.url }).launch({ activity: cmid, userId: '4' });
      expect(res.status).toBe(404);
      expect(res.html).toContain('Invalid request');
    } finally {
      tool.redirectMode = 'strip';
    }
  });

  test('Names and Roles for the tool type accepts the activity’s resource link id (rlid)', async () => {
    const tokenUrl = emulator.platforms.moodle.accesstokenEndpoint;
    const token = await httpPostForm(tokenUrl, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion(tool.key, clientId, tokenUrl),
      scope: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
    });
    expect(token.status).toBe(200);
    const res = await httpGet(`${moodleBase}/mod/lti/services.php/CourseSection/2/bindings/${typeId}/memberships?rlid=${cmid}`, {
      authorization: `Bearer ${(JSON.parse(token.text) as { access_token: string }).access_token}`,
    });
    expect(res.status).toBe(200);
  });

  test('Moodle’s relaunch page (launch.php?id=<cmid>) goes to view.php for whoever is logged in', async () => {
    const res = await httpGet(`${moodleBase}/mod/lti/launch.php?id=${cmid}`, { cookie: 'MoodleSession=4' });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`/moodle/mod/lti/view.php?id=${cmid}&user=4`);
  });
});

test('the demo LMS page registers, activates, selects content and lists the activity, in Chromium; axe finds nothing', async () => {
  const own = await startMiniTool();
  const lms = await startLmsEmulator({ world: buildWorld({ moodleExtraLearners: 0 }), toolUrl: own.url });
  const chromium = await launchChromium();
  const axe = async (page: Page | Frame): Promise<string[]> => {
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    return (await page.evaluate(
      `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => v.id + ' (' + v.nodes.length + ') ' + JSON.stringify(v.nodes.map((n) => n.target))))`,
    )) as string[];
  };
  try {
    const page = await chromium.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    await page.goto(`${lms.url}/`);
    expect(await page.inputValue('#tool-url')).toBe(`${own.url}/register`);
    await page.click('#register-tool');
    // The tool posts the close message to its parent: the iframe goes, the Pending card comes.
    await page.waitForSelector('.tool-card[data-state="pending"]');
    expect(await page.$('#registration-frame')).toBeNull();
    const type = lms.toolTypes()[0]!;
    expect(type.state).toBe('pending');
    expect(await axe(page)).toEqual([]);
    await page.click(`.tool-card[data-type-id="${type.id}"] button[data-action="activate"]`);
    await page.waitForSelector('.tool-card[data-state="active"]');
    expect(lms.toolType(type.id)!.state).toBe('active');
    // Select content as the teacher of LTI101: the tool's picker opens in the tool frame.
    await page.selectOption('#dl-user-2', '3');
    await page.click('button[data-action="select-content"][data-course="2"]');
    const frame = page.frame({ name: 'lms-tool-frame' })!;
    await frame.waitForSelector('text=Pick content');
    await frame.click('button[type="submit"]');
    await frame.waitForSelector('#content-item-return');
    expect(await axe(frame)).toEqual([]);
    // The return page tells the demo page, which lists the activity with launch links.
    await page.waitForSelector('#activities .activity-card[data-cmid="5"]');
    expect(await axe(page)).toEqual([]);
    await page.click('#activities .activity-card[data-cmid="5"] a[href*="user=4"]');
    await frame.waitForSelector('text=Launched');
    expect(own.launches.at(-1)!.claims[`${LTI}/resource_link`]).toMatchObject({ id: '5', title: 'Mini activity' });
    // An error page (the same response again: refused as a replay).
    const alone = await chromium.newPage();
    const refused = await httpPostForm(returnUrlOf(own), { JWT: own.sentDeepLinkResponses.at(-1)! });
    expect(refused.status).toBe(409);
    await alone.setContent(refused.text);
    expect(await axe(alone)).toEqual([]);
  } finally {
    await chromium.close();
    await lms.close();
    await own.close();
  }
}, 90_000);

function returnUrlOf(t: MiniTool): string {
  const dl = t.launches.find((l) => l.claims[`${LTI}/message_type`] === 'LtiDeepLinkingRequest')!;
  return (dl.claims[DL_SETTINGS] as { deep_link_return_url: string }).deep_link_return_url;
}
