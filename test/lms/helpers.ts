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
import { generateSigningKey, randomHex, signJwt, type SigningKey } from '../../src/dev/lms/jwt';
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
