/**
 * The LMS's keysets kept between launches (src/lti/platformKeys.ts), against a real HTTP keyset server: fetched once
 * and reused, fetched again when the LMS signs with a key id it does not hold (rotation) but not more than once per
 * `refetchMs`, and after `ttlMs`; a keyset that cannot be read leaves ltijs's registration as it is; and the
 * registration ltijs reads carries the kept key only within a launch whose id_token named that key.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { platformKeys } from '../../src/lti/platformKeys';

function rsaKey(kid: string) {
  const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, alg: 'RS256', use: 'sig' };
  return { jwk, pem: String(publicKey.export({ type: 'spki', format: 'pem' })) };
}

const keyA = rsaKey('a');
const keyB = rsaKey('b');
let served: unknown = { keys: [keyA.jwk] };
let status = 200;
let requests = 0;
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    requests++;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(served));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  served = { keys: [keyA.jwk] };
  status = 200;
  requests = 0;
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const idToken = (kid: string) => `${b64({ alg: 'RS256', kid })}.${b64({ iss: 'https://lms.example' })}.sig`;

/** A registration as ltijs's plugin answers it, read the way ltijs reads it, within a launch signed with `kid`. */
function harness(options: { ttlMs?: number; refetchMs?: number } = {}) {
  let t = 1_000_000;
  const failures: string[] = [];
  const keys = platformKeys({ ...options, now: () => t, onFetchFailed: (u) => failures.push(u) });
  const registration = { platformUrl: 'https://lms.example', clientId: 'c', authConfig: { method: 'JWK_SET', key: url } };
  const plugin = {
    async Get(_key: unknown, collection: string) {
      return collection === 'platform' ? [structuredClone(registration)] : false;
    },
  };
  const wrapped = keys.wrapPlugin(plugin);
  const middleware = keys.middleware('/');
  async function readWithin(kid: string | null): Promise<{ method: string; key: string }> {
    const req = { method: 'POST', path: '/', body: { id_token: kid === null ? 'not-a-jwt' : idToken(kid) } } as unknown as Request;
    return new Promise((resolve, reject) => {
      const next = (() => {
        wrapped
          .Get(false, 'platform')
          .then((found) => {
            const { method, key } = (found as Array<{ authConfig: { method: string; key: string | crypto.KeyObject } }>)[0]!.authConfig;
            // The kept key as ltijs gets it (a KeyObject), read back as PEM to compare.
            resolve({ method, key: typeof key === 'string' ? key : String(key.export({ type: 'spki', format: 'pem' })) });
          })
          .catch(reject);
      }) as NextFunction;
      middleware(req, {} as Response, next);
    });
  }
  return { keys, readWithin, wrapped, failures, advance: (ms: number) => (t += ms) };
}

test('the keyset is fetched once and its key given to ltijs as the registration’s key, launch after launch', async () => {
  const h = harness();
  for (let i = 0; i < 5; i++) expect(await h.readWithin('a')).toEqual({ method: 'RSA_KEY', key: keyA.pem });
  expect(requests).toBe(1);
});

test('launches at the same moment share one fetch', async () => {
  const h = harness();
  const all = await Promise.all(Array.from({ length: 8 }, () => h.readWithin('a')));
  expect(all.every((c) => c.key === keyA.pem)).toBe(true);
  expect(requests).toBe(1);
});

test('a key id the kept keyset lacks fetches it again (the LMS rotated its keys), at most once per refetch interval', async () => {
  const h = harness({ refetchMs: 30_000 });
  await h.readWithin('a');
  served = { keys: [keyA.jwk, keyB.jwk] };
  // Within the interval after the last fetch: not asked again, and ltijs's own path decides (its JWK_SET untouched).
  h.advance(10_000);
  expect(await h.readWithin('b')).toEqual({ method: 'JWK_SET', key: url });
  expect(requests).toBe(1);
  h.advance(25_000);
  expect(await h.readWithin('b')).toEqual({ method: 'RSA_KEY', key: keyB.pem });
  expect(requests).toBe(2);
  // A forged key id now and then costs one fetch per interval, never one per launch.
  for (let i = 0; i < 5; i++) await h.readWithin('forged');
  expect(requests).toBe(2);
});

test('a kept keyset is fetched again after its lifetime, and a key the LMS withdrew is then no longer used', async () => {
  const h = harness({ ttlMs: 600_000 });
  await h.readWithin('a');
  served = { keys: [keyB.jwk] };
  h.advance(599_000);
  expect((await h.readWithin('a')).key).toBe(keyA.pem);
  expect(requests).toBe(1);
  h.advance(2_000);
  expect(await h.readWithin('a')).toEqual({ method: 'JWK_SET', key: url });
  expect(requests).toBe(2);
});

test('a keyset that cannot be read (an error status, not JSON) leaves the registration to ltijs, and is said in the log', async () => {
  status = 500;
  const h = harness();
  expect(await h.readWithin('a')).toEqual({ method: 'JWK_SET', key: url });
  expect(h.failures).toEqual([url]);
  status = 200;
  served = 'not a keyset';
  h.advance(31_000);
  expect(await h.readWithin('a')).toEqual({ method: 'JWK_SET', key: url });
});

test('outside a launch, or for an id_token without a key id, ltijs reads its registration unchanged', async () => {
  const h = harness();
  expect(await h.readWithin(null)).toEqual({ method: 'JWK_SET', key: url });
  const found = (await h.wrapped.Get(false, 'platform')) as Array<{ authConfig: unknown }>;
  expect(found[0]!.authConfig).toEqual({ method: 'JWK_SET', key: url });
  expect(requests).toBe(0);
});
