/**
 * End to end with the real ltijs (devMode off) on our PostgreSQL plugin: launches from the
 * emulator reach onConnect with the right `sub`, Names and Roles goes through the real
 * client-credentials exchange, and the negative launches are refused by ltijs's own checks.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Provider as ltijsSingleton, type Provider } from 'ltijs';
import { buildWorld } from '../../src/dev/people';
import { PostgresLtiDatabase, migrateToLatest, openDatabase, type Store } from '../../src/store';
import { LtiBrowser, startLmsEmulator, type LmsEmulator } from '../../src/dev/lms';
import { freshDatabaseUrl } from '../support/db';

let store: Store;
let lti: Provider;
let server: Server;
let emulator: LmsEmulator;
const world = buildWorld({ moodleExtraLearners: 0, canvasLearners: 30 });
const bio = world.platforms[1]!.courses[0]!;

beforeAll(async () => {
  store = await openDatabase({ url: await freshDatabaseUrl('lmse2e') });
  await migrateToLatest(store.db);
  emulator = await startLmsEmulator({ world, toolUrl: 'http://127.0.0.1:1' });
  const ProviderClass = (ltijsSingleton as unknown as { constructor: new () => Provider }).constructor;
  lti = new ProviderClass();
  lti.setup(
    'e2e-encryption-key',
    { plugin: new PostgresLtiDatabase(store) },
    { devMode: false, tokenMaxAge: 60, cookies: { secure: false, sameSite: 'Lax' } },
  );
  lti.onConnect(async (token, _req, res) => {
    const roster = await lti.NamesAndRoles.getMembers(token, { pages: false });
    res.json({
      sub: token.user,
      roles: token.platformContext.roles,
      custom: token.platformContext.custom,
      members: roster.members.map((m) => m.user_id),
    });
  });
  lti.onInvalidToken((_req, res) =>
    res.status(401).send(`refused: ${String((res.locals as { err?: { details?: { message?: string } } }).err?.details?.message)}`),
  );
  await lti.deploy({ serverless: true, silent: true });
  server = await new Promise<Server>((resolve) => {
    const s = lti.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  emulator.setToolUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  for (const p of [emulator.platforms.moodle, emulator.platforms.canvas]) {
    await lti.registerPlatform({
      url: p.issuer,
      name: p.name,
      clientId: p.clientId,
      authenticationEndpoint: p.authenticationEndpoint,
      accesstokenEndpoint: p.accesstokenEndpoint,
      authConfig: { method: 'JWK_SET', key: p.jwksUrl },
    });
  }
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await lti.close({ silent: true });
  await emulator.close();
  await store.close();
});

test('a Moodle launch reaches onConnect with the Moodle user id as sub, and the roster through Names and Roles', async () => {
  const browser = new LtiBrowser({ lmsUrl: emulator.url });
  const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', target: 'iframe' });
  expect(res.status).toBe(200);
  expect(res.ltik).toBeTruthy();
  const body = JSON.parse(res.html);
  expect(body.sub).toBe('4');
  expect(body.roles).toEqual(['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner']);
  expect([...body.members].sort()).toEqual(['10', '3', '4', '5', '6', '7', '8', '9']);
});

test('a Canvas launch: UUID sub, canvas_user_id in custom, and every page of the roster', async () => {
  const browser = new LtiBrowser({ lmsUrl: emulator.url });
  const ta = bio.members.find((m) => m.role === 'ta')!.person;
  const res = await browser.launch({ platform: 'canvas', courseId: bio.id, userId: ta.lmsUserId });
  expect(res.status).toBe(200);
  const body = JSON.parse(res.html);
  expect(body.sub).toBe(ta.sub);
  expect(body.custom).toMatchObject({ canvas_user_id: ta.lmsUserId });
  expect(body.members).toHaveLength(bio.members.length);
});

test('a replayed id_token is refused even inside a fresh login with a valid state cookie', async () => {
  const browser = new LtiBrowser({ lmsUrl: emulator.url });
  const first = await browser.launch({ platform: 'moodle', courseId: '2', userId: '5' });
  expect(first.status).toBe(200);
  const again = await browser.replay({ platform: 'moodle', courseId: '2', userId: '5', idToken: first.idToken! });
  expect(again.status).toBe(401);
  expect(again.html).toContain('NONCE_ALREADY_RECEIVED');
});

test('a captured, never used id_token is accepted once in another login (the nonce is what protects)', async () => {
  const browser = new LtiBrowser({ lmsUrl: emulator.url });
  const captured = await browser.captureIdToken({ platform: 'moodle', courseId: '2', userId: '6' });
  expect(captured.claims.sub).toBe('6');
  expect(captured.redirectUri).toBe(`${emulator.toolUrl}/`);
  const used = await browser.replay({ platform: 'moodle', courseId: '2', userId: '6', idToken: captured.idToken });
  expect(used.status).toBe(200);
});

test.each([
  ['signed by an unknown key', { signWithUnknownKey: true }, 'KEY_NOT_FOUND'],
  ['with a bad signature', { badSignature: true }, 'invalid signature'],
  ['for another audience', { audience: 'someone-else' }, 'UNREGISTERED_PLATFORM'],
  ['from another issuer than the login', { issuer: 'https://evil.example' }, 'ISS_CLAIM_DOES_NOT_MATCH'],
  ['expired', { expired: true }, 'jwt expired'],
])('ltijs refuses a launch %s', async (_name, tamper, message) => {
  const browser = new LtiBrowser({ lmsUrl: emulator.url });
  const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', tamper });
  expect(res.status).toBe(401);
  expect(res.html).toContain(message);
});

test('ltijs refuses an unexpired token issued longer ago than tokenMaxAge (Canvas tokens live an hour)', async () => {
  const browser = new LtiBrowser({ lmsUrl: emulator.url });
  const student = bio.members.find((m) => m.role === 'learner')!.person;
  const res = await browser.launch({ platform: 'canvas', courseId: bio.id, userId: student.lmsUserId, tamper: { ageSeconds: 120 } });
  expect(res.status).toBe(401);
  expect(res.html).toContain('TOKEN_TOO_OLD');
});

test('without the state cookie (a browser that dropped it) ltijs refuses the launch', async () => {
  const browser = new LtiBrowser({ lmsUrl: emulator.url, blockThirdPartyCookies: true });
  // The tool on localhost, framed by the LMS on 127.0.0.1: cross-site, Lax cookies are dropped.
  emulator.setToolUrl(emulator.toolUrl.replace('127.0.0.1', 'localhost'));
  try {
    const res = await browser.launch({ platform: 'moodle', courseId: '2', userId: '4', target: 'iframe' });
    expect(res.status).toBe(401);
    expect(res.html).toContain('MISSING_VALIDATION_COOKIE');
  } finally {
    emulator.setToolUrl(emulator.toolUrl.replace('localhost', '127.0.0.1'));
  }
});
