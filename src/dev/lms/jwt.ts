/**
 * Compact RS256 JWTs and JWKs with node:crypto only.
 *
 * Why not `jose`: jose 6 is ESM-only, and jest's module runtime (Node 20) cannot load it, so the
 * emulator, which the tests import, signs and verifies with node:crypto directly. RS256 over
 * compact JWS is small enough to do by hand and keep exact.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** The public JWK as served in the JWKS (kty, alg, kid, e, n, use). */
  publicJwk: PublicJwk;
}

export interface PublicJwk {
  kty: 'RSA';
  alg: 'RS256';
  kid: string;
  e: string;
  n: string;
  use: 'sig';
}

export class JwtError extends Error {
  constructor(
    readonly code: 'JWT_MALFORMED' | 'JWT_ALG' | 'JWT_KID_UNKNOWN' | 'JWT_SIGNATURE' | 'JWT_EXPIRED' | 'JWT_CLAIMS',
    message: string,
  ) {
    super(message);
    this.name = 'JwtError';
  }
}

/**
 * A fresh RS256 key. The pair comes out of generateKeyPairSync as PEM text and is read back into
 * new KeyObjects: KeyObjects handed out by the key generation job share that job's lock, and on
 * Node 20 a garbage collection that finalises the job while one of them is being exported as JWK
 * deadlocks the process (seen: jest hung for good in ExportJWKRsaKey → GC → ~KeyGenJob →
 * uv_mutex_lock). Keys read from PEM have locks of their own.
 */
export function generateSigningKey(kid: string): SigningKey {
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { kid, privateKey: createPrivateKey(pair.privateKey), publicJwk: toPublicJwk(createPublicKey(pair.publicKey), kid) };
}

/** Rebuilds a signing key from a stored private JWK (the demo keeps keys across restarts). */
export function signingKeyFromPrivateJwk(jwk: JsonWebKey, kid: string): SigningKey {
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  return { kid, privateKey, publicJwk: toPublicJwk(createPublicKey(privateKey), kid) };
}

function toPublicJwk(publicKey: KeyObject, kid: string): PublicJwk {
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new Error('not an RSA key');
  return { kty: 'RSA', alg: 'RS256', kid, e: jwk.e, n: jwk.n, use: 'sig' };
}

export function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

export function signJwt(
  payload: object,
  key: { kid: string; privateKey: KeyObject },
  header: Record<string, unknown> = { typ: 'JWT', alg: 'RS256' },
): string {
  const fullHeader = { ...header, alg: 'RS256', kid: key.kid };
  const signingInput = `${base64url(JSON.stringify(fullHeader))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign('sha256', Buffer.from(signingInput), key.privateKey);
  return `${signingInput}.${base64url(signature)}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('JWT_MALFORMED', 'a JWT has three dot-separated parts');
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError('JWT_MALFORMED', 'the JWT header or payload is not base64url JSON');
  }
  if (!isRecord(header) || !isRecord(payload)) throw new JwtError('JWT_MALFORMED', 'the JWT header and payload must be JSON objects');
  return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

/** Verifies an RS256 JWT against a JWKS (by kid) and checks exp/nbf with `leewaySeconds`. */
export function verifyJwt(token: string, jwks: { keys: unknown[] }, nowSeconds: number, leewaySeconds = 5): DecodedJwt {
  const decoded = decodeJwt(token);
  if (decoded.header.alg !== 'RS256') throw new JwtError('JWT_ALG', `alg must be RS256, got ${String(decoded.header.alg)}`);
  const kid = decoded.header.kid;
  const jwk = jwks.keys.find((k): k is Record<string, unknown> => isRecord(k) && k.kid === kid && k.kty === 'RSA');
  if (!jwk) throw new JwtError('JWT_KID_UNKNOWN', `no key with kid ${String(kid)} in the keyset`);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: { kty: 'RSA', n: String(jwk.n), e: String(jwk.e) }, format: 'jwk' });
  } catch {
    throw new JwtError('JWT_KID_UNKNOWN', `the key with kid ${String(kid)} is not a usable RSA key`);
  }
  if (!verify('sha256', Buffer.from(decoded.signingInput), publicKey, decoded.signature))
    throw new JwtError('JWT_SIGNATURE', 'the JWT signature does not verify');
  const { exp, nbf } = decoded.payload;
  if (typeof exp !== 'number') throw new JwtError('JWT_CLAIMS', 'exp is required');
  if (exp + leewaySeconds < nowSeconds) throw new JwtError('JWT_EXPIRED', 'the JWT has expired');
  if (typeof nbf === 'number' && nbf - leewaySeconds > nowSeconds) throw new JwtError('JWT_CLAIMS', 'the JWT is not valid yet');
  return decoded;
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
