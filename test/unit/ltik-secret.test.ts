/**
 * ltijs's ltik signing and verifying with the ENCRYPTION_KEY made a KeyObject once (src/lti/ltikSecret.ts): the
 * tokens are the same HS256 tokens, a token signed with another secret is still refused, and other secrets and keys
 * pass through unchanged.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { keepLtikSecret, ltikSecretKept } from '../../src/lti/ltikSecret';

// The jsonwebtoken ltijs calls, as ltijs resolves it.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module instance ltijs resolves, as the tool patches it
const jwt = require(require.resolve('jsonwebtoken', { paths: [path.dirname(require.resolve('ltijs/package.json'))] })) as {
  sign(payload: object, secret: unknown, options?: object): string;
  verify(token: string, secret: unknown, options?: object): Record<string, unknown>;
};

const KEY = crypto.randomBytes(32).toString('base64url');
const OTHER = crypto.randomBytes(32).toString('base64url');

/** An HS256 token made by hand (no jsonwebtoken), to compare with. */
function hs256(payload: object, secret: string): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

beforeAll(() => {
  keepLtikSecret(KEY);
});

test('ltijs’s jsonwebtoken gets the kept key for the registered secret', () => {
  expect(ltikSecretKept(KEY)).toBe(true);
  expect(ltikSecretKept(OTHER)).toBe(false);
});

test('an ltik signed with the kept key is the HS256 token the string secret gives, and verifies', () => {
  const payload = { platformUrl: 'https://lms.example', user: '4', iat: 1_900_000_000 };
  const token = jwt.sign(payload, KEY);
  expect(token).toBe(hs256(payload, KEY));
  expect(jwt.verify(token, KEY)).toMatchObject({ user: '4' });
});

test('a token signed with another secret, or altered, is refused', () => {
  const forged = hs256({ user: '5', iat: 1_900_000_000 }, OTHER);
  expect(() => jwt.verify(forged, KEY)).toThrow(/invalid signature/);
  const token = jwt.sign({ user: '4' }, KEY);
  const [h, , sig] = token.split('.');
  const altered = `${h}.${Buffer.from(JSON.stringify({ user: '5' })).toString('base64url')}.${sig}`;
  expect(() => jwt.verify(altered, KEY)).toThrow(/invalid signature/);
});

test('other secrets and keys pass through unchanged', () => {
  const other = jwt.sign({ user: '6' }, OTHER);
  expect(other).toBe(hs256({ user: '6', iat: (jwt.verify(other, OTHER) as { iat: number }).iat }, OTHER));
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rs = jwt.sign({ user: '7' }, privateKey.export({ type: 'pkcs8', format: 'pem' }), { algorithm: 'RS256' });
  expect(jwt.verify(rs, publicKey.export({ type: 'spki', format: 'pem' }))).toMatchObject({ user: '7' });
});
