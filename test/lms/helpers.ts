/**
 * Helpers for the emulator's own tests. The tool here is NOT mocked for acceptance: these unit
 * tests drive the platform side directly, doing over real HTTP what ltijs's /login does (the
 * redirect to the auth endpoint with ltijs's exact parameters), and serve a keyset at the
 * "tool" URL so the token endpoint has something real to verify assertions against.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { request } from 'undici';
import { generateSigningKey, randomHex, signJwt, verifyJwt, type SigningKey } from '../../src/dev/lms/jwt';
import { findAutoSubmitForm, type HtmlForm } from '../../src/dev/lms/forms';
import type { LmsEmulator, LaunchRequest } from '../../src/dev/lms';

export interface ToolKeys {
  url: string;
  key: SigningKey;
  close(): Promise<void>;
}

/** A server at the "tool" URL that serves only a JWKS at /keys. */
export async function startToolKeys(): Promise<ToolKeys> {
  const key = generateSigningKey(randomHex(16));
  const app = express();
  app.get('/keys', (_req, res) => {
    res.json({ keys: [key.publicJwk] });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, key, close: () => new Promise((r) => server.close(() => r())) };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export async function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await request(url, { method: 'GET', headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export async function httpPostForm(url: string, form: Record<string, string>): Promise<HttpAnswer> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** The login initiation the LMS's launch page auto-submits to the tool. */
export async function loginInitiation(emulator: LmsEmulator, launch: LaunchRequest): Promise<HtmlForm> {
  const url = emulator.launchUrl(launch);
  const res = await httpGet(url);
  if (res.status !== 200) throw new Error(`launch page answered ${res.status}: ${res.text}`);
  const form = findAutoSubmitForm(res.text, url);
  if (!form) throw new Error('launch page has no auto-submitting form');
  return form;
}

/** What ltijs's /login sends to the platform's auth endpoint (Request.ltiAdvantageLogin). */
export function ltijsAuthQuery(init: Record<string, string>, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const q: Record<string, string | undefined> = {
    response_type: 'id_token',
    response_mode: 'form_post',
    id_token_signed_response_alg: 'RS256',
    scope: 'openid',
    client_id: init.client_id,
    redirect_uri: init.target_link_uri,
    login_hint: init.login_hint,
    nonce: randomHex(12),
    prompt: 'none',
    state: randomHex(25),
    lti_message_hint: init.lti_message_hint,
    lti_deployment_id: init.lti_deployment_id,
    ...overrides,
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined) out[k] = v;
  return out;
}

export interface AuthResult {
  status: number;
  text: string;
  form?: HtmlForm;
  query: Record<string, string>;
}

/** Launch page → (what ltijs does) → auth endpoint; returns the auth endpoint's answer. */
export async function launchToAuth(
  emulator: LmsEmulator,
  launch: LaunchRequest,
  overrides: Record<string, string | undefined> = {},
): Promise<AuthResult> {
  const init = await loginInitiation(emulator, launch);
  const platform = emulator.platforms[launch.platform];
  const query = ltijsAuthQuery(init.fields, overrides);
  const url = `${platform.authenticationEndpoint}?${new URLSearchParams(query).toString()}`;
  const res = await httpGet(url);
  const form = res.status === 200 ? findAutoSubmitForm(res.text, url) : undefined;
  return { status: res.status, text: res.text, ...(form ? { form } : {}), query };
}

/** A client assertion as ltijs's Auth.getAccessToken builds it. */
export function clientAssertion(key: SigningKey, clientId: string, aud: string, overrides: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ sub: clientId, iss: clientId, aud, jti: randomHex(12), iat: now, exp: now + 60, ...overrides }, key, {
    alg: 'RS256',
    typ: 'JWT',
  });
}

export async function accessToken(
  emulator: LmsEmulator,
  platform: 'moodle' | 'canvas',
  key: SigningKey,
  scope = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
): Promise<string> {
  const p = emulator.platforms[platform];
  const res = await httpPostForm(p.accesstokenEndpoint, {
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion(key, p.clientId, p.accesstokenEndpoint),
    scope,
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${res.text}`);
  return (JSON.parse(res.text) as { access_token: string }).access_token;
}

/** Replaces every occurrence of `from` in all strings of a JSON value. */
export function replaceDeep(value: unknown, from: string, to: string): unknown {
  if (typeof value === 'string') return value.split(from).join(to);
  if (Array.isArray(value)) return value.map((v) => replaceDeep(v, from, to));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceDeep(v, from, to)]));
  return value;
}

// A small real tool for Moodle's Dynamic Registration and Deep Linking ----------------------------

export interface MiniToolLaunch {
  idToken: string;
  claims: Record<string, unknown>;
  /** The login initiation that started it. */
  login: Record<string, string>;
}

/**
 * A tool on plain express and node:crypto (no ltijs), as the capture tool of
 * fixtures/moodle-4.4/registration-and-deep-linking was: `/register` (dynamic registration, server
 * to server, then a page that posts the close message), `/login` (OIDC initiation → the platform's
 * auth endpoint, redirect_uri = target_link_uri without its query, as ltijs does), `/launch` (verifies
 * the id_token with the platform's keyset; a deep linking request gets a content selection form),
 * `/deep-link/respond` (signs the LtiDeepLinkingResponse and auto-posts it as `JWT` to
 * deep_link_return_url) and `/jwks`.
 */
export interface MiniTool {
  url: string;
  /** host:port, the registration's `domain`. */
  domain: string;
  key: SigningKey;
  /** The registration POST body, from the platform's openid-configuration (replaceable). */
  registrationBody: (config: Record<string, unknown>) => Record<string, unknown>;
  registrations: Array<{ status: number; text: string; token: string }>;
  /** The platform's openid-configuration and the tool's client id, once registered. */
  platform?: { config: Record<string, unknown>; clientId: string };
  /** How /login builds redirect_uri: 'strip' (ltijs: target_link_uri without query) or 'as-is'. */
  redirectMode: 'strip' | 'as-is';
  launches: MiniToolLaunch[];
  /** The content items /deep-link/respond returns. */
  contentItems: Array<Record<string, unknown>>;
  /** The deep linking response JWTs the tool sent, newest last. */
  sentDeepLinkResponses: string[];
  close(): Promise<void>;
}

export function miniToolRegistration(url: string, domain: string, config: Record<string, unknown>): Record<string, unknown> {
  return {
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: `${url}/login`,
    redirect_uris: [`${url}/launch`],
    client_name: 'Mini Tool',
    jwks_uri: `${url}/jwks`,
    token_endpoint_auth_method: 'private_key_jwt',
    scope: [
      'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
      'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
      'https://purl.imsglobal.org/spec/lti-ags/scope/score',
      'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
    ].join(' '),
    'https://purl.imsglobal.org/spec/lti-tool-configuration': {
      domain,
      description: 'A tool written in the test',
      target_link_uri: `${url}/launch`,
      custom_parameters: { registration_param: 'from_registration' },
      claims: config.claims_supported,
      messages: [{ type: 'LtiDeepLinkingRequest', target_link_uri: `${url}/launch`, label: 'Mini content picker' }],
    },
  };
}

export async function startMiniTool(): Promise<MiniTool> {
  const key = generateSigningKey(`mini-${randomHex(6)}`);
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  const states = new Map<string, { nonce: string; login: Record<string, string> }>();
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const tool: MiniTool = {
    url,
    domain: `127.0.0.1:${port}`,
    key,
    registrationBody: (config) => miniToolRegistration(url, `127.0.0.1:${port}`, config),
    registrations: [],
    redirectMode: 'strip',
    launches: [],
    contentItems: [{ type: 'ltiResourceLink', title: 'Mini activity', url: `${url}/launch?item=1`, custom: { user_id_sub: '$User.id' } }],
    sentDeepLinkResponses: [],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  const page = (title: string, body: string): string =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

  app.get('/jwks', (_req, res) => {
    res.json({ keys: [key.publicJwk] });
  });

  app.get('/register', async (req, res) => {
    const configUrl = typeof req.query.openid_configuration === 'string' ? req.query.openid_configuration : '';
    const token = typeof req.query.registration_token === 'string' ? req.query.registration_token : '';
    const config = JSON.parse((await httpGet(configUrl, { accept: 'application/json' })).text) as Record<string, unknown>;
    const answer = await request(String(config.registration_endpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(tool.registrationBody(config)),
    });
    const text = await answer.body.text();
    tool.registrations.push({ status: answer.statusCode, text, token });
    if (answer.statusCode !== 200) {
      res
        .status(502)
        .type('html')
        .send(page('Registration refused', `<p>${answer.statusCode}: ${text.replace(/</g, '&lt;')}</p>`));
      return;
    }
    tool.platform = { config, clientId: String((JSON.parse(text) as Record<string, unknown>).client_id) };
    res
      .type('html')
      .send(
        page(
          'Registered',
          '<p>Registered.</p><script>(window.opener || window.parent).postMessage({subject:"org.imsglobal.lti.close"}, "*");</script>',
        ),
      );
  });

  app.all('/login', (req, res) => {
    const login = { ...(req.query as Record<string, string>), ...(req.body as Record<string, string>) };
    const config = tool.platform?.config;
    if (!config) {
      res.status(400).send('not registered');
      return;
    }
    const nonce = randomHex(12);
    const state = randomHex(16);
    states.set(state, { nonce, login });
    const target = login.target_link_uri ?? '';
    const q = new URLSearchParams({
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: login.client_id ?? '',
      redirect_uri: tool.redirectMode === 'strip' ? (target.split('?')[0] as string) : target,
      login_hint: login.login_hint ?? '',
      state,
      nonce,
      lti_message_hint: login.lti_message_hint ?? '',
    });
    res.redirect(302, `${String(config.authorization_endpoint)}?${q.toString()}`);
  });

  app.post('/launch', async (req, res) => {
    const body = req.body as Record<string, string>;
    const pending = states.get(body.state ?? '');
    const config = tool.platform?.config;
    if (!pending || !config) {
      res.status(400).type('html').send(page('Launch refused', '<p>unknown state</p>'));
      return;
    }
    states.delete(body.state ?? '');
    const jwks = JSON.parse((await httpGet(String(config.jwks_uri))).text) as { keys: unknown[] };
    const claims = verifyJwt(body.id_token ?? '', jwks, Math.floor(Date.now() / 1000)).payload;
    if (claims.nonce !== pending.nonce) {
      res.status(400).type('html').send(page('Launch refused', '<p>nonce</p>'));
      return;
    }
    tool.launches.push({ idToken: body.id_token ?? '', claims, login: pending.login });
    const index = tool.launches.length - 1;
    if (claims['https://purl.imsglobal.org/spec/lti/claim/message_type'] === 'LtiDeepLinkingRequest') {
      res
        .type('html')
        .send(
          page(
            'Pick content',
            `<form method="post" action="${url}/deep-link/respond"><input type="hidden" name="launch" value="${index}"><button type="submit">Add</button></form>`,
          ),
        );
      return;
    }
    res.type('html').send(page('Launched', `<p data-launch="${index}">launch ${index}</p>`));
  });

  app.post('/deep-link/respond', (req, res) => {
    const launch = tool.launches[Number((req.body as Record<string, string>).launch)];
    if (!launch) {
      res.status(400).send('no such launch');
      return;
    }
    const settings = launch.claims['https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings'] as Record<string, string>;
    const jwt = signDeepLinkResponse(key, launch.claims, tool.contentItems);
    tool.sentDeepLinkResponses.push(jwt);
    res
      .type('html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Returning</title></head><body><form id="f" method="post" action="${settings.deep_link_return_url}"><input type="hidden" name="JWT" value="${jwt}"></form><script>document.getElementById('f').submit();</script></body></html>`,
      );
  });
  return tool;
}

/** An LtiDeepLinkingResponse for a deep linking request's claims, as a tool signs it. */
export function signDeepLinkResponse(
  key: { kid: string; privateKey: SigningKey['privateKey'] },
  request: Record<string, unknown>,
  contentItems: Array<Record<string, unknown>>,
  overrides: Record<string, unknown> = {},
): string {
  const iat = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: request.aud,
    aud: request.iss,
    iat,
    exp: iat + 600,
    nonce: randomHex(12),
    'https://purl.imsglobal.org/spec/lti/claim/deployment_id': request['https://purl.imsglobal.org/spec/lti/claim/deployment_id'],
    'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiDeepLinkingResponse',
    'https://purl.imsglobal.org/spec/lti/claim/version': '1.3.0',
    'https://purl.imsglobal.org/spec/lti-dl/claim/msg': 'Content selected',
    'https://purl.imsglobal.org/spec/lti-dl/claim/content_items': contentItems,
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete payload[k];
    else payload[k] = v;
  }
  return signJwt(payload, key);
}
