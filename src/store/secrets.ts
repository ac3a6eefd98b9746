/**
 * Encrypts secrets at rest (the per-platform isnotai API key) with AES-256-GCM, under a key derived
 * by HKDF-SHA256 from a configuration secret.
 *
 * The stored form is `v1.<iv>.<tag>.<ciphertext>` (base64url), so a later key or algorithm can be
 * told apart. An optional `context` (e.g. the platform's issuer and client id) is bound as associated
 * data: a ciphertext copied onto another platform's row will not decrypt. Neither the secret, the
 * derived key nor the plaintext ever appears in an error.
 */
import crypto from 'node:crypto';

export type SecretErrorCode = 'secret_too_short' | 'secret_unreadable';

export class SecretError extends Error {
  override readonly name = 'SecretError';
  constructor(
    readonly code: SecretErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** 32 characters of configuration secret at least (e.g. `openssl rand -hex 32` gives 64). */
export const MIN_SECRET_LENGTH = 32;
const VERSION = 'v1';
const HKDF_INFO = 'isnotai-lti secrets at rest v1';
const HKDF_SALT = 'isnotai-lti';

// Derived once per configuration secret (a process has one, two while a key rotates): every request that reads an
// API key decrypts it.
const derived = new Map<string, Buffer>();

function deriveKey(masterSecret: string): Buffer {
  if (typeof masterSecret !== 'string' || masterSecret.length < MIN_SECRET_LENGTH) {
    throw new SecretError(
      'secret_too_short',
      `The secret used to encrypt stored API keys must be at least ${MIN_SECRET_LENGTH} characters`,
    );
  }
  let key = derived.get(masterSecret);
  if (!key) {
    key = Buffer.from(crypto.hkdfSync('sha256', masterSecret, HKDF_SALT, HKDF_INFO, 32));
    if (derived.size >= 8) derived.clear();
    derived.set(masterSecret, key);
  }
  return key;
}

export function encryptSecret(plaintext: string, masterSecret: string, context = ''): string {
  const key = deriveKey(masterSecret);
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
}

export function decryptSecret(stored: string, masterSecret: string, context = ''): string {
  const key = deriveKey(masterSecret);
  const parts = typeof stored === 'string' ? stored.split('.') : [];
  if (parts.length !== 4 || parts[0] !== VERSION)
    throw new SecretError('secret_unreadable', 'The stored secret is not in a format this version can read');
  const [, iv, tag, ciphertext] = parts as [string, string, string, string];
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    // Wrong secret, wrong context or tampered data: GCM cannot tell which, and neither do we.
    throw new SecretError('secret_unreadable', 'The stored secret cannot be decrypted with the configured secret');
  }
}
