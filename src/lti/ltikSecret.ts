/**
 * ltijs signs each launch's ltik, and verifies it on every request, with `jsonwebtoken` and the ENCRYPTION_KEY as a
 * string. Given a string, jsonwebtoken first tries to read it as a PEM key (`crypto.createPublicKey` /
 * `createPrivateKey`: an OpenSSL parse that fails and throws) and only then makes it an HMAC secret
 * (`createSecretKey`) — about 1 ms of CPU per call, a tenth of a launch's (docs/performance.md).
 *
 * So the secret is made a KeyObject once: jsonwebtoken's `sign` and `verify`, as ltijs calls them (a property of the
 * module, read at each call), get that KeyObject in place of a registered ENCRYPTION_KEY string, which is what
 * jsonwebtoken itself ends up using for it (an ENCRYPTION_KEY is never a PEM key, src/config.ts). Any other secret or
 * key passes through unchanged, and every check of the token (algorithm, signature, expiry) is jsonwebtoken's, as
 * before.
 */
import crypto from 'node:crypto';
import path from 'node:path';

type JwtFunction = (token: unknown, secret: unknown, ...rest: unknown[]) => unknown;
interface JsonWebToken {
  sign: JwtFunction;
  verify: JwtFunction;
}

const secrets = new Map<string, crypto.KeyObject>();
const PATCHED = Symbol.for('isnotai-lti.ltikSecret');

/** The jsonwebtoken module ltijs loads (its own copy, if it has one). */
function ltijsJsonWebToken(): JsonWebToken & { [PATCHED]?: true } {
  const ltijsDir = path.dirname(require.resolve('ltijs/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module instance ltijs itself resolves
  return require(require.resolve('jsonwebtoken', { paths: [ltijsDir] })) as JsonWebToken & { [PATCHED]?: true };
}

/** Registers an ENCRYPTION_KEY: from now on ltijs's ltik signing and verifying use it as a KeyObject made once. */
export function keepLtikSecret(encryptionKey: string): void {
  if (!secrets.has(encryptionKey)) secrets.set(encryptionKey, crypto.createSecretKey(Buffer.from(encryptionKey)));
  const jwt = ltijsJsonWebToken();
  if (jwt[PATCHED]) return;
  const keyFor = (secret: unknown): unknown => (typeof secret === 'string' ? (secrets.get(secret) ?? secret) : secret);
  const sign = Reflect.get(jwt, 'sign') as JwtFunction;
  const verify = Reflect.get(jwt, 'verify') as JwtFunction;
  jwt.sign = (payload, secret, ...rest) => sign(payload, keyFor(secret), ...rest);
  jwt.verify = (token, secret, ...rest) => verify(token, keyFor(secret), ...rest);
  jwt[PATCHED] = true;
}

/** Whether ltijs's jsonwebtoken gets a KeyObject for this secret (tests). */
export function ltikSecretKept(encryptionKey: string): boolean {
  return secrets.has(encryptionKey) && ltijsJsonWebToken()[PATCHED] === true;
}
