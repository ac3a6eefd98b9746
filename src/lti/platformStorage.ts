/**
 * The 1EdTech LTI Client Side postMessages, platform storage: how a framed tool proves that the
 * browser posting an id_token is the one that began the login, when that browser keeps no cookie
 * for the tool at all (Safari, Firefox, some Chromium settings; partitioned cookies are not kept
 * either). PRODUCT.md asks for it where the LMS offers it: Canvas sends `lti_storage_target` in its
 * login initiation; Moodle 4.4 does not.
 *
 * ltijs binds the login to the browser with a state cookie (`state<state>` = issuer) and every
 * later request to a session cookie (`<platformCode>` = user). Without cookies:
 *
 * 1. Login: the iframe check (iframe.ts) found no cookie. If the login named a storage target,
 *    ltijs's own login runs (state and nonce stored, as always); its redirect to the LMS is held
 *    back, a random secret is kept for that state in PostgreSQL, and the frame gets a page whose
 *    script puts the secret into the LMS's storage (`lti.put_data`, to the LMS's origin) and only
 *    then goes on to the LMS. If the LMS does not answer, the page offers the new window instead,
 *    with the login still unused.
 * 2. Launch: the id_token arrives with no state cookie. If its state has a stored secret, the frame
 *    gets a page whose script reads the value back from the LMS's storage (`lti.get_data`) and posts
 *    the id_token again with it. The value must equal the secret (once: the secret is then spent);
 *    only then is ltijs given the issuer as its state cookie would have carried it, and every other
 *    check of the launch (signature, audience, nonce, expiry, deployment) runs unchanged. A forged
 *    launch posted into someone's browser fails here: their LMS storage holds no secret for it.
 * 3. Session: ltijs then redirects with a new ltik. That ltik (its SHA-256) is recorded as a
 *    cookie-less session for 4 hours; a request carrying it and no session cookie is given the
 *    session cookie's value (the user) from that record, and ltijs verifies the ltik as usual. An
 *    ltik minted by an ordinary launch never gets this: without its cookie it is refused as before.
 */
import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import type { JsonKeyValue, LoginParamsStore, NewWindowForm } from './iframe';
import { unverifiedJwtPayload } from './jwtPayload';

export const STORAGE_PROOF_FIELD = 'lti_storage_proof';
/** How long a cookie-less session (an ltik recorded at a storage launch) is honoured. */
export const STORAGE_SESSION_TTL_SECONDS = 4 * 3600;

const TARGET_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const SECRET_PATTERN = /^[0-9a-f]{64}$/;

export interface StoredStorageLogin {
  secret: string;
  /** The issuer of the login: what ltijs's state cookie would have held. */
  iss: string;
  /** The frame the LMS named: `_parent`, or a frame of the LMS window (Canvas: post_message_forwarding). */
  target: string;
  /** The LMS's origin: messages go only there, and answers are read only from there. */
  origin: string;
  /** 'spent' once a launch has used the secret (right or wrong). */
  status: 'waiting' | 'spent';
}

/** The storage target a login initiation names, if valid. */
export function storageTargetOf(params: Record<string, string>): string | null {
  const t = params.lti_storage_target;
  return t && TARGET_PATTERN.test(t) ? t : null;
}

/** The origin of the LMS's OIDC authorisation URL (where ltijs redirects), http(s) only. */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : null;
  } catch {
    return null;
  }
}

export function newSecret(): string {
  return crypto.randomBytes(32).toString('hex');
}

/** The key under which the secret sits in the LMS's storage (per tool origin, per state). */
export function storageKey(state: string): string {
  return `isnotai_state_${crypto.createHash('sha256').update(state).digest('hex').slice(0, 32)}`;
}

export async function saveStorageLogin(store: LoginParamsStore, state: string, login: StoredStorageLogin): Promise<void> {
  await store.save(`storage:${state}`, { ...login });
}

export async function loadStorageLogin(store: LoginParamsStore, state: string): Promise<StoredStorageLogin | null> {
  const v = await store.load(`storage:${state}`);
  if (!v || !v.secret || !v.iss || !v.target || !v.origin || (v.status !== 'waiting' && v.status !== 'spent')) return null;
  return { secret: v.secret, iss: v.iss, target: v.target, origin: v.origin, status: v.status };
}

/** Compares a proof read back from the LMS's storage with the secret, in constant time. */
export function proofMatches(secret: string, proof: unknown): boolean {
  if (typeof proof !== 'string' || !SECRET_PATTERN.test(proof) || !SECRET_PATTERN.test(secret)) return false;
  return crypto.timingSafeEqual(Buffer.from(secret, 'hex'), Buffer.from(proof, 'hex'));
}

function ltikHash(ltik: string): string {
  return crypto.createHash('sha256').update(ltik).digest('hex');
}

/** The claims of an ltik, unverified (ltijs verifies it; this only reads where to look). */
function ltikClaims(ltik: string): { platformCode: string; user: string } | null {
  const payload = unverifiedJwtPayload(ltik, 4096);
  if (!payload) return null;
  const { platformCode, user } = payload;
  return typeof platformCode === 'string' && typeof user === 'string' ? { platformCode, user } : null;
}

/** Records the ltik of a launch that passed the storage check as a cookie-less session. */
export async function recordStorageSession(sessions: JsonKeyValue, ltik: string): Promise<void> {
  const claims = ltikClaims(ltik);
  if (!claims) return;
  await sessions.set(`storage-session:${ltikHash(ltik)}`, { user: claims.user, platformCode: claims.platformCode }, STORAGE_SESSION_TTL_SECONDS);
}

/** The new ltik in ltijs's redirect after a launch it accepted, or null (a refusal redirects without). */
export function ltikInRedirect(target: string): string | null {
  try {
    return new URL(target, 'http://tool.invalid').searchParams.get('ltik');
  } catch {
    return null;
  }
}

/** The ltik a request carries, as ltijs reads it (query, body, or `Authorization: Bearer`). */
export function ltikOf(req: Request): string | null {
  const q = (req.query as Record<string, unknown>).ltik;
  if (typeof q === 'string') return q;
  const body: unknown = req.body;
  if (typeof body === 'object' && body !== null && typeof (body as Record<string, unknown>).ltik === 'string') return (body as Record<string, string>).ltik!;
  const auth = req.get('authorization');
  const m = auth ? /^Bearer ([^\s,]+)/.exec(auth) : null;
  return m ? m[1]! : null;
}

/**
 * A request with an ltik but no session cookie: if that ltik was recorded at a storage launch, the
 * session cookie's value is supplied from the record (ltijs still verifies the ltik itself).
 */
export async function restoreStorageSession(req: Request, sessions: JsonKeyValue): Promise<void> {
  const ltik = ltikOf(req);
  if (!ltik) return;
  const claims = ltikClaims(ltik);
  if (!claims) return;
  const cookies = (req.signedCookies ?? {}) as Record<string, unknown>;
  if (cookies[claims.platformCode] !== undefined) return;
  const record = await sessions.get(`storage-session:${ltikHash(ltik)}`);
  if (typeof record !== 'object' || record === null) return;
  const { user, platformCode } = record as Record<string, unknown>;
  if (user !== claims.user || platformCode !== claims.platformCode) return;
  req.signedCookies = { ...cookies, [claims.platformCode]: user };
}

/**
 * Holds back ltijs's next redirect: `onRedirect` gets its target, and either calls `proceed` to
 * send the redirect as ltijs asked or answers otherwise. An error goes to `fail`.
 */
export function interceptRedirect(res: Response, onRedirect: (target: string, proceed: () => void) => Promise<void>, fail: (err: unknown) => void): void {
  const original = res.redirect.bind(res) as (...args: unknown[]) => void;
  res.redirect = ((...args: unknown[]) => {
    const target = args.find((a): a is string => typeof a === 'string');
    res.redirect = original as Response['redirect'];
    if (!target) return original(...args);
    onRedirect(target, () => original(...args)).catch(fail);
  }) as Response['redirect'];
}

export interface StoragePage {
  /** put: store the secret, then go to `next` (the LMS); get: read it back and post `launch`. */
  mode: 'put' | 'get';
  target: string;
  origin: string;
  key: string;
  value?: string;
  next?: string;
  /** put: the unused login, for the new-window button if the LMS does not answer. */
  newWindowForm?: NewWindowForm;
  /** get: the id_token post to repeat with the value read back. */
  launch?: NewWindowForm;
}

/**
 * The page that talks to the LMS's storage. Its script is /assets/lti-storage.js (the only script
 * of the tool); the page's CSP allows scripts from the tool's own origin for it alone.
 */
export function renderStoragePage(res: Response, page: StoragePage): void {
  const csp = String(res.getHeader('Content-Security-Policy') ?? "default-src 'none'");
  res.setHeader('Content-Security-Policy', `${csp}; script-src 'self'`);
  res.set('Cache-Control', 'no-store');
  res.status(200).render('pages/platform-storage', { title: 'Opening the tool', storage: { ...page, proofField: STORAGE_PROOF_FIELD } });
}
