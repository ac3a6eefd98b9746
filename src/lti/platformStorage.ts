/**
 * The 1EdTech LTI Client Side postMessages, platform storage: how a framed tool proves that the
 * browser posting an id_token is the one that began the login, when that browser keeps no cookie
 * for the tool at all (Safari, Firefox, some Chromium settings; partitioned cookies are not kept
 * either). The tool uses it where the LMS offers it (docs/product.md "Launching in an iframe"):
 * Canvas sends `lti_storage_target` in its login initiation; Moodle 4.4 does not.
 *
 * ltijs binds the login to the browser with a state cookie (`state<state>` = issuer) and every
 * later request to a session cookie (`<platformCode>` = user). Without cookies:
 *
 * 1. Login: the iframe check (iframe.ts) found no cookie. If the login named a storage target,
 *    ltijs's own login runs (state and nonce stored, as always); its redirect to the LMS is held
 *    back, a random secret is made for that state (PostgreSQL keeps its SHA-256, `login_state`),
 *    and the frame gets a page whose script puts the secret into the LMS's storage (`lti.put_data`,
 *    to the LMS's origin) and only then goes on to the LMS. If the LMS does not answer, the page offers the new window instead,
 *    with the login still unused.
 * 2. Launch: the id_token arrives with no state cookie. If its state has a stored secret, the frame
 *    gets a page whose script reads the value back from the LMS's storage (`lti.get_data`) and posts
 *    the id_token again with it. The value must be the secret (once: the secret is then spent);
 *    only then is ltijs given the issuer as its state cookie would have carried it, and every other
 *    check of the launch (signature, audience, nonce, expiry, deployment) runs unchanged. A forged
 *    launch posted into someone's browser fails here: their LMS storage holds no secret for it.
 * 3. Session: ltijs then redirects with a new ltik. That ltik (its SHA-256) is recorded as a
 *    cookie-less session (`storage_session`); a request carrying it and no session cookie is given the session
 *    cookie's value (the user) from that record, and ltijs verifies the ltik as usual. An ltik
 *    minted by an ordinary launch never gets this: without its cookie it is refused as before.
 *
 * Such an ltik is a bearer credential (it works from any client that has it), so it is bounded:
 * 30 minutes without use end it, and 4 hours after the launch it ends however often it is used;
 * "Sign out" ends it at once (and any other session's ltik: `signOut`); and it is honoured only
 * where the tool's own pages put it (a link's or GET form's query string, a POST form's field),
 * never from an `Authorization` header or a JSON body, which no page of the tool sends.
 */
import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import type { SessionStore } from '../store';
import { unverifiedJwtPayload } from './jwtPayload';
import { LaunchRefusal, type NewWindowForm } from './refusal';

export const STORAGE_PROOF_FIELD = 'lti_storage_proof';
/** How long after its launch a cookie-less session (an ltik recorded at a storage launch) ends. */
export const STORAGE_SESSION_TTL_SECONDS = 4 * 3600;
/** How long a cookie-less session may go unused before it ends. */
export const STORAGE_SESSION_IDLE_SECONDS = 30 * 60;
/**
 * How long a signed-out ltik stays refused. A cookie session's ltik lives as long as ltijs keeps
 * the user's id token (24 h, renewed by each new launch of that user), so this outlasts it well.
 */
export const SIGNED_OUT_TTL_SECONDS = 7 * 24 * 3600;

const TARGET_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const SECRET_PATTERN = /^[0-9a-f]{64}$/;

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

/** What is kept of a secret (and of an ltik): its SHA-256, in hex. */
export function sha256Hex(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}

/** The key under which the secret sits in the LMS's storage (per tool origin, per state). */
export function storageKey(state: string): string {
  return `isnotai_state_${sha256Hex(state).slice(0, 32)}`;
}

/** Whether a proof read back from the LMS's storage is the secret whose SHA-256 was kept (constant time). */
export function proofMatches(secretSha256: string, proof: unknown): boolean {
  if (typeof proof !== 'string' || !SECRET_PATTERN.test(proof) || !SECRET_PATTERN.test(secretSha256)) return false;
  return crypto.timingSafeEqual(Buffer.from(secretSha256, 'hex'), Buffer.from(sha256Hex(proof), 'hex'));
}

/** The claims of an ltik, unverified (ltijs verifies it; this only reads where to look). */
function ltikClaims(ltik: string): { platformCode: string; user: string } | null {
  const payload = unverifiedJwtPayload(ltik, 4096);
  if (!payload) return null;
  const { platformCode, user } = payload;
  return typeof platformCode === 'string' && typeof user === 'string' ? { platformCode, user } : null;
}

/** Records the ltik of a launch that passed the storage check as a cookie-less session. */
export async function recordStorageSession(sessions: SessionStore, ltik: string, now = Date.now()): Promise<void> {
  const claims = ltikClaims(ltik);
  if (!claims) return;
  await sessions.startSession(
    sha256Hex(ltik),
    { userId: claims.user, platformCode: claims.platformCode, issuedAt: now },
    STORAGE_SESSION_TTL_SECONDS,
  );
}

/** The new ltik in ltijs's redirect after a launch it accepted, or null (a refusal redirects without). */
export function ltikInRedirect(target: string): string | null {
  try {
    return new URL(target, 'http://tool.invalid').searchParams.get('ltik');
  } catch {
    return null;
  }
}

/**
 * The ltik ltijs will verify for this request: its server has already read it (an
 * `LTIK-AUTH-V1` header, the query, the body, or `Authorization: Bearer`, in that order).
 */
function ltikOf(req: Request): string | null {
  const token = (req as Request & { token?: unknown }).token;
  return typeof token === 'string' && token !== '' ? token : null;
}

/**
 * Whether the ltik came where the tool's own pages put it: the query string (links and GET
 * forms) or a field of a plain POST form.
 */
function sentAsToolPagesSendIt(req: Request, ltik: string): boolean {
  const q = (req.query as Record<string, unknown>).ltik;
  if (q !== undefined) return q === ltik;
  const body: unknown = req.body;
  return (
    req.method === 'POST' &&
    Boolean(req.is('application/x-www-form-urlencoded')) &&
    typeof body === 'object' &&
    body !== null &&
    (body as Record<string, unknown>).ltik === ltik
  );
}

const relaunch = 'Open the tool again from your course in the LMS.';

/**
 * Runs before ltijs checks the session of a request that carries an ltik. A signed-out ltik is
 * refused. A cookie-less session's ltik (no session cookie, a live record) is honoured only if it
 * came the way the tool's pages send it, within its idle and absolute lifetimes; each request it
 * serves extends the idle lifetime (never past the absolute one), and gets the session cookie's
 * value (the user) from the record. Returns the refusal, or null to go on to ltijs.
 */
export async function checkSession(
  req: Request,
  sessions: SessionStore,
  options: { now?: number; idleSeconds?: number } = {},
): Promise<LaunchRefusal | null> {
  const ltik = ltikOf(req);
  if (!ltik) return null;
  const claims = ltikClaims(ltik);
  if (!claims) return null;
  const hash = sha256Hex(ltik);
  const found = await sessions.lookup(hash);
  if (found.signedOut) {
    return new LaunchRefusal(401, 'signed_out', 'You signed out of the tool, so this page can no longer be opened with that session.', [
      relaunch,
    ]);
  }
  const cookies = (req.signedCookies ?? {}) as Record<string, unknown>;
  if (cookies[claims.platformCode] !== undefined) return null;
  const record = found.session;
  if (!record || record.userId !== claims.user || record.platformCode !== claims.platformCode) return null;
  if (!sentAsToolPagesSendIt(req, ltik)) {
    return new LaunchRefusal(
      401,
      'ltik_not_accepted',
      'This session is accepted only from the tool’s own pages (their links and forms), not sent in another way.',
      [relaunch],
    );
  }
  const now = options.now ?? Date.now();
  const endsAt = record.issuedAt + STORAGE_SESSION_TTL_SECONDS * 1000;
  if (now >= endsAt) {
    return new LaunchRefusal(
      401,
      'session_expired',
      `Your session with the tool has ended: it lasts at most ${STORAGE_SESSION_TTL_SECONDS / 3600} hours after you open the tool.`,
      [relaunch],
    );
  }
  const idleSeconds = options.idleSeconds ?? STORAGE_SESSION_IDLE_SECONDS;
  if (now >= record.lastSeenAt + idleSeconds * 1000) {
    return new LaunchRefusal(
      401,
      'session_idle',
      `Your session with the tool ended after ${Math.round(idleSeconds / 60)} minutes without use.`,
      [relaunch],
    );
  }
  await sessions.touchSession(hash, now, endsAt);
  req.signedCookies = { ...cookies, [claims.platformCode]: record.userId };
  return null;
}

/** The name of ltijs's session cookie for this ltik (its platform code), or null. */
export function sessionCookieName(ltik: string): string | null {
  return ltikClaims(ltik)?.platformCode ?? null;
}

/** Ends the session of this ltik at once: it is refused from now on, cookie or not. */
export async function signOut(sessions: SessionStore, ltik: string, now = Date.now()): Promise<void> {
  await sessions.signOut(sha256Hex(ltik), now, SIGNED_OUT_TTL_SECONDS);
}

/**
 * Holds back ltijs's next redirect: `onRedirect` gets its target, and either calls `proceed` to
 * send the redirect as ltijs asked or answers otherwise. An error goes to `fail`.
 */
export function interceptRedirect(
  res: Response,
  onRedirect: (target: string, proceed: () => void) => Promise<void>,
  fail: (err: unknown) => void,
): void {
  const original = res.redirect.bind(res) as (...args: unknown[]) => void;
  res.redirect = ((...args: unknown[]) => {
    const target = args.find((a): a is string => typeof a === 'string');
    res.redirect = original as Response['redirect'];
    if (!target) return original(...args);
    onRedirect(target, () => original(...args)).catch(fail);
  }) as Response['redirect'];
}

/**
 * The page that talks to the LMS's storage, as the launch code decides it; src/web renders it
 * (views/pages/platform-storage.hbs, whose script is /assets/lti-storage.js).
 */
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
  /** The form field the value read back is posted in. */
  proofField: string;
}

/** Shows a storage page (src/web/launchPages.ts renders it). */
export type ShowStoragePage = (res: Response, page: StoragePage) => void;
