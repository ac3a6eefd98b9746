/**
 * The LMS's public keys, kept between launches. ltijs verifies each id_token with a key from the LMS's keyset
 * (a registration's `JWK_SET`: its URL) and fetches that keyset again on every launch: one more HTTP round trip from
 * the tool to the LMS in the middle of every launch, with the person waiting (docs/performance.md).
 *
 * Here a keyset is fetched once and kept for `ttlMs` (10 minutes); an id_token signed with a key id the kept keyset
 * does not hold fetches it again at once (the LMS rotated its keys), at most once per `refetchMs` per keyset, so a
 * stream of forged key ids cannot make the tool hammer the LMS. ltijs still does everything else: for the launch
 * being validated, its registration reads as `RSA_KEY` with the kept key (a KeyObject, read once, which jsonwebtoken
 * uses as it is) instead of `JWK_SET` — the same key ltijs would have fetched, from the same URL — and it checks the signature, issuer, audience, nonce, expiry and state
 * as before. Anything else (no key id, a keyset that cannot be read, a key id the LMS does not list) is left to
 * ltijs's own path, which fetches and refuses as it always has.
 *
 * How: a middleware on the id_token post notes the token's key id for that request (AsyncLocalStorage), and the
 * Database plugin ltijs is given is wrapped so that its read of the registration, within that request, answers with
 * the kept key. A key the LMS withdraws is trusted for at most `ttlMs` more (docs/security.md).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { request } from 'undici';
import { postedIdToken, unverifiedJwtHeader } from './jwtPayload';

export interface PlatformKeysOptions {
  /** How long a fetched keyset is used without asking again (default 10 minutes). */
  ttlMs?: number;
  /** Least time between two fetches of one keyset (default 30 s). */
  refetchMs?: number;
  /** Each fetch's time limit (default 5 s). */
  timeoutMs?: number;
  now?: () => number;
  /** Fetches a keyset's JSON (default: undici, no redirects, at most 256 kB). */
  fetchKeyset?: (url: string, timeoutMs: number) => Promise<unknown>;
  onFetchFailed?: (url: string, err: unknown) => void;
}

export interface PlatformKeys {
  /** On the id_token post (before ltijs's validation): notes the token's key id for this request. */
  middleware(appRoute: string): RequestHandler;
  /** ltijs's Database plugin, whose reads of a registration within such a request carry the kept key. */
  wrapPlugin<T extends object>(plugin: T): T;
  /** How many keysets were fetched (for tests and the profile). */
  fetches(): number;
}

interface Keyset {
  fetchedAt: number;
  /** key id → the public key, read once */
  keys: Map<string, crypto.KeyObject>;
}

const MAX_KEYSET_BYTES = 256 * 1024;
const MAX_KID_LENGTH = 256;

export function platformKeys(options: PlatformKeysOptions = {}): PlatformKeys {
  const ttlMs = options.ttlMs ?? 10 * 60_000;
  const refetchMs = options.refetchMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const now = options.now ?? Date.now;
  const fetchKeyset = options.fetchKeyset ?? fetchJson;
  const launchKid = new AsyncLocalStorage<string>();
  const keysets = new Map<string, Keyset>();
  const inFlight = new Map<string, Promise<Keyset | null>>();
  const attempted = new Map<string, number>();
  let fetchCount = 0;

  async function load(url: string): Promise<Keyset | null> {
    fetchCount++;
    try {
      const body = await fetchKeyset(url, timeoutMs);
      const keys = new Map<string, crypto.KeyObject>();
      const list = isRecord(body) && Array.isArray(body.keys) ? body.keys : [];
      for (const jwk of list) {
        if (!isRecord(jwk) || typeof jwk.kid !== 'string' || jwk.kid.length > MAX_KID_LENGTH) continue;
        try {
          keys.set(jwk.kid, crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' }));
        } catch {
          // A key Node cannot read is one ltijs could not use either: left out.
        }
      }
      return { fetchedAt: now(), keys };
    } catch (err) {
      options.onFetchFailed?.(url, err);
      return null;
    }
  }

  /**
   * The kept key for `kid` in the keyset at `url`: fetched when none is kept or it is older than `ttlMs`, or when it
   * lacks that key id (the LMS rotated its keys); never more than once per `refetchMs`, one fetch at a time. Null
   * when there is no such key or the keyset cannot be read (ltijs's own path then decides).
   */
  async function keyFor(url: string, kid: string): Promise<crypto.KeyObject | null> {
    const held = keysets.get(url);
    const fresh = held !== undefined && now() - held.fetchedAt < ttlMs;
    if (fresh && held.keys.has(kid)) return held.keys.get(kid)!;
    // A launch that comes while the keyset is being fetched waits for that fetch.
    let pending = inFlight.get(url);
    if (!pending && now() - (attempted.get(url) ?? -Infinity) >= refetchMs) {
      attempted.set(url, now());
      pending = load(url).finally(() => inFlight.delete(url));
      inFlight.set(url, pending);
    }
    if (pending) {
      const loaded = await pending;
      if (loaded) {
        keysets.set(url, loaded);
        return loaded.keys.get(kid) ?? null;
      }
    }
    return null;
  }

  async function withKeptKey(doc: unknown): Promise<unknown> {
    const kid = launchKid.getStore();
    if (!kid || !isRecord(doc) || !isRecord(doc.authConfig)) return doc;
    const { method, key } = doc.authConfig;
    if (method !== 'JWK_SET' || typeof key !== 'string' || !/^https?:\/\//i.test(key)) return doc;
    const publicKey = await keyFor(key, kid);
    return publicKey ? { ...doc, authConfig: { method: 'RSA_KEY', key: publicKey } } : doc;
  }

  return {
    middleware(appRoute) {
      return (req: Request, _res: Response, next: NextFunction): void => {
        const idToken = postedIdToken(req, appRoute);
        const kid = idToken ? unverifiedJwtHeader(idToken)?.kid : undefined;
        if (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH) return next();
        launchKid.run(kid, next);
      };
    },
    wrapPlugin(plugin) {
      return new Proxy(plugin, {
        get(target, prop, receiver) {
          const value: unknown = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          if (prop !== 'Get') return (value as (...a: unknown[]) => unknown).bind(target);
          return async (...args: unknown[]) => {
            const found: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (args[1] !== 'platform' || !Array.isArray(found) || !launchKid.getStore()) return found;
            return Promise.all(found.map(withKeptKey));
          };
        },
      });
    },
    fetches: () => fetchCount,
  };
}

async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await request(url, {
    method: 'GET',
    headers: { accept: 'application/json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`keyset answered ${res.statusCode}`);
  }
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_KEYSET_BYTES) {
      res.body.destroy();
      throw new Error('keyset larger than 256 kB');
    }
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
