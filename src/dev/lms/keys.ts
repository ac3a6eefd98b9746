/**
 * The platforms' signing keys. Generated at start; with `keyDir` they are kept in files so that
 * a restarted demo serves the same JWKS (the tool fetches the JWKS by URL on each launch, so
 * regenerating is also fine; the stable part that matters is the issuer URL, i.e. the port).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlatformKind } from '../people';
import { generateSigningKey, randomHex, signingKeyFromPrivateJwk, type SigningKey } from './jwt';

/** Moodle's kids are 20 hex characters; Canvas's are the key's creation time. */
function newKid(kind: PlatformKind): string {
  return kind === 'moodle' ? randomHex(10) : `${new Date().toISOString().slice(0, 19)}Z`;
}

export function loadOrCreateKey(kind: PlatformKind, keyDir: string | undefined): SigningKey {
  if (!keyDir) return generateSigningKey(newKid(kind));
  const file = join(keyDir, `lms-${kind}-key.json`);
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { kid: string; privateJwk: import('node:crypto').JsonWebKey };
    return signingKeyFromPrivateJwk(stored.privateJwk, stored.kid);
  }
  const key = generateSigningKey(newKid(kind));
  mkdirSync(keyDir, { recursive: true });
  writeFileSync(file, JSON.stringify({ kid: key.kid, privateJwk: key.privateKey.export({ format: 'jwk' }) }), { mode: 0o600 });
  return key;
}
